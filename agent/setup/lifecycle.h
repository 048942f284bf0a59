/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>

#include "agent/config.h"
#include "agent/detect/detect.h"

/* start, stop and rewrap, each a plan of steps over what the kernel and
 * the disks show. Every run looks, does the next step, and looks again, so
 * a run that was killed, or a node that lost power, at any step converges
 * when the command runs again. */

struct lc_opts {
	const struct sys_paths *paths;
	bool force; /* start: overwrite foreign data on candidates */
	bool keep;  /* stop: close without shredding */
};

struct lc_result {
	unsigned refused;  /* candidates left untouched */
	unsigned set_up;   /* roles set up by this run */
	unsigned already;  /* roles that were already set up */
	unsigned shredded; /* disks shredded by this run */
	/* What the run detected (none: det.v is NULL), kept so that what comes
	 * after it (the metrics) need not detect again. */
	struct detection det;
};
void lc_result_free(struct lc_result *res);

/* All return 0 or -errno; a refusal is not an error here (see res). Each
 * logs what went wrong, once, and records it for status. */
int lc_start(const struct cfg *c, const struct lc_opts *o, struct lc_result *res);
int lc_stop(const struct cfg *c, const struct lc_opts *o, struct lc_result *res);
/* Wraps every HBI disk's volume key again, with key_url's key (a new key or
 * key version in the same vault) or the configured key. */
int lc_rewrap(const struct cfg *c, const struct lc_opts *o, const char *key_url,
	      struct lc_result *res);

/* Seals, with the node key, the format-1 HBI token of every disk whose
 * volume is open now (after an upgrade); refuses those not open. */
int lc_adopt(const struct cfg *c, const struct lc_opts *o, struct lc_result *res);

const char *lc_mount_point(const struct cfg *c, enum disk_role role);

/* The named steps, in the order a run takes them, for the tests that stop
 * at each one (see base/crashpoint.h). */
struct lc_step {
	const char *command; /* "start", "stop", "rewrap" */
	const char *name;
	const char *what;
};
extern const struct lc_step lc_steps[];
