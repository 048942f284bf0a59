/* SPDX-License-Identifier: MIT */
#pragma once
/* A standard node on the fake kernel (fakekernel.h) for the start and stop
 * tests: the resource disk (temp), two blank local NVMe disks (scratch)
 * and one holding foreign data, each 1 GiB. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "agent/setup/lifecycle.h"
#include "tests/unit/fakekernel.h"

static struct lc_opts opts;

static int setup(void **state)
{
	(void)state;
	fk_reset();
	opts = (struct lc_opts){ .paths = &sys_paths_default };
	fk_disk("/dev/sdb", ROLE_TEMP, ACTION_ENCRYPT, 1ULL << 30);
	fk_disk("/dev/nvme0n1", ROLE_SCRATCH, ACTION_ENCRYPT, 1ULL << 30);
	fk_disk("/dev/nvme1n1", ROLE_SCRATCH, ACTION_ENCRYPT, 1ULL << 30);
	fk_disk("/dev/nvme2n1", ROLE_SCRATCH, ACTION_REFUSE, 1ULL << 30);
	return 0;
}

/* lc_start and lc_stop, their detection freed (the CLI hands it to the
 * metrics first). */
static inline int start_run(struct lc_result *res)
{
	int r = lc_start(&cfg, &opts, res);

	assert_true(r < 0 || res->det.v);
	lc_result_free(res);
	return r;
}

static inline int stop_run(struct lc_result *res)
{
	int r = lc_stop(&cfg, &opts, res);

	lc_result_free(res);
	return r;
}

/* Whether disk i's token says its filesystem is made. */
static inline bool token_fs_ready(int i)
{
	struct json_object *o = json_tokener_parse(fk.hdr[i].token), *f;
	bool r = o && json_object_object_get_ex(o, "fs_ready", &f) && json_object_get_boolean(f);

	json_object_put(o);
	return r;
}
