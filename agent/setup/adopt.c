// SPDX-License-Identifier: MIT
/* adopt: the upgrade from format 1, whose HBI tokens carry no MAC. A
 * format-1 header is trusted once, and only while its volume is open: the
 * kernel's mapping shows that the release before this one checked and
 * opened it on this node. Each such token is sealed with the node key
 * (nodekey.h) and written again as format 2, in one header update; then
 * the scratchcrypt token and the claim are written again as format 2 too,
 * so that the release before, given the disk, refuses it as newer. The
 * wrapped key and the data stay as they are, and Key Vault is not asked.
 * Each step is done again only when still needed, so a stopped adopt run
 * again finishes. Headers that are not open are left to start, which
 * refuses them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ondisk/names.h"
#include "agent/ondisk/token.h"
#include "agent/setup/disk.h"
#include "agent/setup/lifecycle.h"
#include "agent/setup/nodekey.h"
#include "base/safemem.h"

/* Whether a scratchcrypt mapping sits on the disk now. */
static bool is_open(const struct sys_disk *d)
{
	for (size_t i = 0; i < d->n_holders; i++)
		if (ondisk_mapping_role(d->holders[i]) >= 0)
			return true;
	return false;
}

/* The HBI token sealed, when it is not yet. */
static int seal_token(const struct sys_disk *d, struct sc_hbi_token *t, void **nodekey,
		      struct reason *why)
{
	char mac[64], *json = NULL;
	int r = 0;

	if (!*nodekey)
		r = nodekey_load(true, nodekey, why);
	if (r == 0)
		r = nodekey_seal(*nodekey, d->serial, d->size_bytes, t->kid, t->wrapped, mac, sizeof(mac));
	if (r == 0)
		json = token_hbi_to_json(t->kid, t->wrapped, mac);
	r = r < 0 ? r : json ? token_hbi_write(d->devnode, json) : -ENOMEM;
	free(json);
	if (r < 0 && !why->text[0])
		reason_set(why, r, "%s: cannot write its sealed HBI token: %m", d->devnode);
	return r;
}

/* The scratchcrypt token and the claim in this release's format. */
static int rewrite_records(const struct sys_disk *d, struct reason *why)
{
	struct sc_token t;
	struct sc_claim c;
	int r = token_read(d->devnode, &t);

	if (r == 0 && t.format < ONDISK_FORMAT_VERSION)
		r = token_write(d->devnode, &t);
	if (r < 0)
		return reason_set(why, r, "%s: cannot write its scratchcrypt token again: %m", d->devnode);
	r = claim_read(d->devnode, &c);
	if (r == 1 && c.format < ONDISK_FORMAT_VERSION)
		r = disk_claim_write(d->devnode, &c);
	return r < 0 ? reason_set(why, r, "%s: cannot write its claim again: %m", d->devnode) : 0;
}

static int adopt_disk(const struct sys_disk *d, void **nodekey, bool *done, struct reason *why)
{
	struct sc_hbi_token t;
	int r = token_hbi_read(d->devnode, &t);

	*done = false;
	if (r < 0)
		goto out;
	if (!is_open(d) && !t.mac[0]) {
		r = reason_set(why, -EMEDIUMTYPE, "%s: its HBI token is of format %u and its volume "
			       "is not open, so nothing shows that this node made it; it stays as it "
			       "is, and start refuses it ('scratchcrypt stop' shreds it)",
			       d->devnode, t.format);
		goto out;
	}
	if (!t.mac[0]) {
		r = seal_token(d, &t, nodekey, why);
		*done = r == 0;
	}
	if (r == 0 && is_open(d))
		r = rewrite_records(d, why);
out:
	token_hbi_clear(&t);
	return r == -ENOENT || r == -ENODEV ? 0 : r;
}

int lc_adopt(const struct cfg *c, const struct lc_opts *o, struct lc_result *res)
{
	struct detect_opts dopts = { .paths = o->paths, .candidates_only = true,
				     .probe_timeout_ms = c->probe_timeout_s * 1000 };
	void *nodekey = NULL;
	int r, first_err = 0;

	memset(res, 0, sizeof(*res));
	r = detect_run(c, &dopts, &res->det);
	if (r < 0)
		return log_error_errno(r, "cannot detect disks: %m");
	for (size_t i = 0; i < res->det.n; i++) {
		const struct verdict *v = &res->det.v[i];
		struct reason why = { "" };
		bool done;

		if (v->content != CONTENT_OURS || v->ours_key_source != KEY_SOURCE_HBI)
			continue;
		r = adopt_disk(&v->disk, &nodekey, &done, &why);
		if (r < 0) {
			res->refused++;
			first_err = first_err ?: log_reason(LOG_LVL_ERROR, r, &why, v->disk.devnode);
		} else if (done) {
			res->set_up++;
			log_info("%s: its open HBI volume's token is now sealed by this node (format %d)",
				 v->disk.devnode, ONDISK_FORMAT_VERSION);
		}
	}
	safe_free(nodekey);
	if (!res->set_up && !first_err)
		log_info("no open HBI volume with a token of an older format");
	return first_err;
}
