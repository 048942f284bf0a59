// SPDX-License-Identifier: MIT
/* rewrap: per HBI disk, unwrap its volume key and write a token with the
 * key wrapped anew. The token is replaced in one header update, so a run
 * stopped at any point leaves each disk with the old or the new token, and
 * running it again finishes. */
#include <errno.h>
#include <string.h>

#include "agent/setup/keysource.h"
#include "agent/setup/plan.h"
#include "agent/setup/runstate.h"
#include "base/crashpoint.h"

int lc_rewrap(const struct cfg *c, const struct lc_opts *o, const char *key_url,
	      struct lc_result *res)
{
	struct detect_opts dopts = { .paths = o->paths, .candidates_only = true,
				     .probe_timeout_ms = c->probe_timeout_s * 1000 };
	struct reason why = { "" };
	struct detection det;
	struct hbi *h = NULL;
	unsigned todo = 0;
	int r, first_err = 0;

	memset(res, 0, sizeof(*res));
	if (c->key_source != KEY_SOURCE_HBI) {
		log_error("rewrap needs key_source = hbi: system-managed keys are not wrapped");
		return -EPERM;
	}
	r = detect_run(c, &dopts, &det);
	if (r < 0)
		return log_error_errno(r, "cannot detect disks: %m");
	for (size_t i = 0; i < det.n; i++)
		todo += det.v[i].content == CONTENT_OURS && det.v[i].ours_key_source == KEY_SOURCE_HBI &&
			det.v[i].ours_state == TOKEN_READY;
	if (!todo) {
		log_info("no HBI disks to rewrap");
		goto out;
	}
	r = hbi_open(c, key_url, &h, &why);
	if (r < 0) {
		first_err = log_reason(LOG_LVL_ERROR, r, &why, "cannot reach the HBI key");
		goto out;
	}
	for (size_t i = 0; i < det.n; i++) {
		const struct verdict *v = &det.v[i];

		if (v->content != CONTENT_OURS || v->ours_key_source != KEY_SOURCE_HBI ||
		    v->ours_state != TOKEN_READY)
			continue;
		why.text[0] = '\0';
		r = hbi_rewrap_disk(h, &v->disk, &why);
		if (r < 0) {
			first_err = first_err ?: log_reason(LOG_LVL_ERROR, r, &why, v->disk.devnode);
			continue;
		}
		res->set_up++;
		log_info("%s: volume key now wrapped by %s", v->disk.devnode, hbi_kid(h));
	}
out:
	hbi_close(h);
	res->det = det;
	crash_point("rewrap-done");
	return first_err;
}
