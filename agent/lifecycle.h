/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>

#include "agent/config.h"
#include "agent/detect.h"

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
};

/* Both return 0 or -errno; a refusal is not an error here (see res). */
int lc_start(const struct cfg *c, const struct lc_opts *o, struct lc_result *res);
int lc_stop(const struct cfg *c, const struct lc_opts *o, struct lc_result *res);

/* Wraps every HBI disk's volume key again, with key_url's key (a new key or
 * key version in the same vault) or the configured key. */
int lc_rewrap(const struct cfg *c, const struct lc_opts *o, const char *key_url,
	      struct lc_result *res);

/* "/dev/mapper/scratchcrypt-temp" and friends. */
void lc_top_name(char *buf, size_t size, enum disk_role role);
const char *lc_mount_point(const struct cfg *c, enum disk_role role);
