// SPDX-License-Identifier: MIT
/* Whose a disk is, decided once: detect_scan() says what each disk is by
 * the hardware and its content, and this adds what only scratchcrypt's own
 * records (agent/ondisk/) can say. Setup, stop, rewrap, status and the CLI
 * read the verdict; none of them asks again. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/detect/detect.h"
#include "agent/ondisk/claim.h"
#include "agent/ondisk/token.h"

/* A claim or a token names the disk it was made on: a copy of another
 * disk's header on this one does not make it ours. Only the hardware's
 * answers count, and a token without them is no token of ours. */
static bool same_disk(const struct verdict *v, const char *serial, uint64_t size)
{
	return size == v->disk.size_bytes && strcmp(serial, v->disk.serial) == 0;
}

/* Why a token on a disk of ours by hardware is not ours after all; NULL
 * when it matches the disk, its role and a place in a volume. */
static const char *token_mismatch(const struct verdict *v, const struct sc_token *t)
{
	if (!t->size && !t->serial[0])
		return "it records no disk identity (a header of scratchcrypt 0.1, or forged)";
	if (!same_disk(v, t->serial, t->size))
		return "it was made on another disk (serial or size differ)";
	if (t->role != v->role)
		return "it records another role than this disk's";
	if (!t->members || t->index >= t->members)
		return "it records no place in a volume";
	return NULL;
}

/* A later release's disk: what its records mean is not ours to guess. */
static void refuse_newer(struct verdict *v, unsigned format)
{
	v->content = CONTENT_FOREIGN;
	v->action = ACTION_REFUSE;
	snprintf(v->reason, sizeof(v->reason),
		 "%s carries scratchcrypt's on-disk format %u, newer than this release reads (%d); "
		 "left untouched: install the scratchcrypt that made it",
		 v->disk.devnode, format, ONDISK_FORMAT_VERSION);
}

/* Neither claim nor token names this disk: a header labelled ours is
 * someone's copy or forgery, and says so in the refusal. */
static void refuse_not_ours(struct verdict *v, const char *mismatch)
{
	if (v->content == CONTENT_FOREIGN && detect_has_our_label(&v->probe) &&
	    v->action == ACTION_REFUSE && !v->in_use)
		snprintf(v->reason, sizeof(v->reason),
			 "%s carries a scratchcrypt header that is not this disk's: %s; left untouched",
			 v->disk.devnode, mismatch ? mismatch : "it has no readable scratchcrypt token");
}

static void inspect_one(const struct cfg *c, struct verdict *v)
{
	struct sc_claim claim;
	struct sc_token tok;
	const char *mismatch = NULL;
	bool claimed, header = false;
	int rc, rt;

	/* Our claim and both copies of our header lie in the first MiB, which
	 * detection read as zeros: nothing of ours is there to read. */
	if (v->probe.kind == PROBE_BLANK)
		return;
	/* A disk that could not be read, or did not answer in time, is not read
	 * again here: it is refused as it is (detect.c). */
	if (v->probe.kind == PROBE_FAILED)
		return;
	rc = claim_read(v->disk.devnode, &claim);
	rt = token_read(v->disk.devnode, &tok);
	if (rc == -EPROTONOSUPPORT || rt == -EPROTONOSUPPORT)
		return refuse_newer(v, rt == -EPROTONOSUPPORT ? tok.format : claim.format);
	claimed = rc == 1 && same_disk(v, claim.serial, claim.size);
	if (rt == 0) {
		mismatch = token_mismatch(v, &tok);
		header = !mismatch;
	}
	if (!claimed && !header)
		return refuse_not_ours(v, mismatch);
	if (claimed && mismatch) {
		/* Our claim, but a header that is not ours on top: someone wrote
		 * over a disk we began; refuse rather than guess. */
		v->content = CONTENT_FOREIGN;
		v->action = ACTION_REFUSE;
		snprintf(v->reason, sizeof(v->reason),
			 "%s: scratchcrypt's claim is on it, but its header's token does not match: %s",
			 v->disk.devnode, mismatch);
		return;
	}
	v->content = CONTENT_OURS;
	v->ours_state = header ? (int)tok.state : TOKEN_NEW;
	v->ours_key_source = header ? tok.key_source : c->key_source;
	if (header) {
		v->ours_index = tok.index;
		v->ours_members = tok.members;
	}
	/* A volume that may hold data under another key source waits for a
	 * deprovision; one never finished holds nothing and is redone. */
	if (header && tok.state == TOKEN_READY && tok.key_source != c->key_source) {
		v->action = ACTION_REFUSE;
		snprintf(v->reason, sizeof(v->reason),
			 "set up by scratchcrypt with key source %s, but key_source is %s; "
			 "run 'scratchcrypt stop' to deprovision it first",
			 key_source_to_string(tok.key_source), key_source_to_string(c->key_source));
		return;
	}
	if (v->in_use)
		return; /* mounted, swap, held, read-only: still refused */
	v->action = ACTION_ENCRYPT;
	snprintf(v->reason, sizeof(v->reason), "set up by scratchcrypt (%s key, %s)",
		 key_source_to_status(v->ours_key_source),
		 header ? token_state_to_string(tok.state) : "claimed, header not finished");
}

static void inspect(const struct cfg *c, struct detection *det)
{
	for (size_t i = 0; i < det->n; i++) {
		struct verdict *v = &det->v[i];

		if (v->role == ROLE_TEMP || v->role == ROLE_SCRATCH)
			inspect_one(c, v);
	}
}

int detect_run(const struct cfg *c, const struct detect_opts *o, struct detection *out)
{
	int r = detect_scan(c, o, out);

	if (r == 0)
		inspect(c, out);
	return r;
}
