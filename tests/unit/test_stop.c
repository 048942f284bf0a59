// SPDX-License-Identifier: MIT
/* agent/setup/stop.c: the shred, and stop --keep, on the fake kernel. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>

#include "agent/report/status.h"
#include "agent/setup/owed.h"
#include "agent/setup/runstate.h"
#include "agent/setup/shredrec.h"
#include "tests/unit/lcnode.h"

static void test_stop_shreds(void **state)
{
	struct lc_result res;
	enum disk_state st;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(fk.n_mounts, 0);
	assert_int_equal(fk.n_maps, 0);
	assert_int_equal(fk.wipes, 3);
	assert_int_equal(fk.discards, 3);
	assert_int_equal(res.shredded, 3);
	/* Three disks marked, three members closed and three disks shredded,
	 * by workers. */
	assert_int_equal(fk.all_jobs, 9);
	/* The stripe goes before its members. */
	int stripe = -1, member = -1;
	for (size_t i = 0; i < fk.n_removed; i++) {
		if (strcmp(fk.removed[i], "scratchcrypt-scratch") == 0)
			stripe = (int)i;
		if (strncmp(fk.removed[i], "scratchcrypt-scratch-", 21) == 0 && member < 0)
			member = (int)i;
	}
	assert_true(stripe >= 0 && member > stripe);
	assert_int_equal(runstate_get(ROLE_TEMP, &st, NULL, 0, NULL), 0);
	assert_int_equal(st, STATE_SHREDDED);
	/* Idempotent. */
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(fk.wipes, 3);
}

/* A disk whose header cannot be wiped does not keep the others from being
 * shredded; stop fails, names it, and a second stop finishes it. */
static void test_stop_shreds_the_others(void **state)
{
	struct lc_result res;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	fk.fail_wipe_on = 1;
	assert_int_equal(stop_run(&res), -EIO);
	assert_int_equal(res.shredded, 2);
	assert_false(fk.hdr[0].present);
	assert_true(fk.hdr[1].present);
	assert_false(fk.hdr[2].present);
	assert_int_equal(fk.n_maps, 0);
	fk.fail_wipe_on = -1;
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(res.shredded, 1);
	assert_false(fk.hdr[1].present);
}

/* A stop that does not finish leaves its record on the OS disk: status
 * says the shred is unfinished, for the role whose disk was not shredded
 * alone, and the next start shreds that disk before anything else. */
static void test_stop_unfinished(void **state)
{
	static struct status st;
	bool roles[_DISK_ROLE_MAX];
	struct lc_result res;
	long long since;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(owed_stop_pending(&since, roles), 0);
	fk.fail_wipe_on = 1; /* /dev/nvme0n1, a scratch member */
	assert_int_equal(stop_run(&res), -EIO);
	assert_int_equal(owed_stop_pending(&since, roles), 1);
	assert_true(since > 0);
	assert_true(roles[ROLE_SCRATCH]);
	assert_false(roles[ROLE_TEMP]);
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	/* The temp disk was shredded, and its row says so. */
	assert_int_equal(st.rows[1].state, STATE_SHREDDED);
	assert_int_equal(st.rows[2].state, STATE_SHRED_UNFINISHED);
	assert_non_null(strstr(st.rows[2].note, "Run 'scratchcrypt stop' to finish it"));
	assert_int_equal(st.unfinished_stop, since);
	struct json_object *j = status_to_json(&st), *u, *f;
	assert_true(json_object_object_get_ex(j, "unfinished_stop", &u) && u);
	assert_true(json_object_object_get_ex(u, "since", &f) && json_object_get_string(f)[0] == '2');
	json_object_put(j);
	/* The next start shreds what the stop left, then sets up anew. */
	fk.fail_wipe_on = -1;
	int wipes = fk.wipes;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(fk.wipes, wipes + 1);
	assert_int_equal(owed_stop_pending(&since, roles), 0);
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	assert_int_equal(st.rows[2].state, STATE_ENCRYPTED);
	assert_int_equal(st.unfinished_stop, 0);
	/* And a stop that finishes leaves no record. */
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(owed_stop_pending(&since, roles), 0);
}

static void test_stop_keep_and_no_discard(void **state)
{
	struct lc_result res;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	opts.keep = true;
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(fk.n_maps, 0);
	assert_int_equal(fk.n_mounts, 0);
	assert_int_equal(fk.wipes, 0);
	assert_true(fk.hdr[0].present);
	/* A later stop, after a reboot, still shreds what is on the disks. */
	opts.keep = false;
	cfg.shred_discard = false;
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(fk.wipes, 3);
	assert_int_equal(fk.discards, 0);
}

static void test_stop_marks_before_it_wipes(void **state)
{
	struct lc_result res;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	opts.keep = true;
	assert_int_equal(stop_run(&res), 0);
	assert_non_null(strstr(fk.hdr[0].token, "\"state\":\"ready\"")); /* --keep: no intent */
	opts.keep = false;
	assert_int_equal(stop_run(&res), 0); /* the wipe asserts the mark */
	assert_int_equal(fk.wipes, 3);
	for (int i = 0; i < 3; i++)
		assert_false(fk.hdr[i].claimed);
}

/* The journal as stop reaches it: a datagram socket at
 * SCRATCHCRYPT_JOURNAL_SOCKET (fk_reset's path). */
static int journal_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", getenv("SCRATCHCRYPT_JOURNAL_SOCKET"));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Each shredded disk leaves a record: read back blank, with its serial,
 * what was wiped and whether it was discarded; the journal gets each with
 * the record's MESSAGE_ID. */
static void test_stop_records_the_shred(void **state)
{
	struct shred_rec recs[SHREDREC_MAX];
	struct lc_result res;
	char msg[2048];
	size_t n;
	int fd = journal_open(), got = 0;
	ssize_t len;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(shredrec_list(recs, SHREDREC_MAX, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(shredrec_list(recs, SHREDREC_MAX, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_true(recs[i].verified);
		assert_int_equal(recs[i].wiped_bytes, 1024 * 1024);
		assert_int_equal(recs[i].discard, SHRED_DISCARD_DONE);
		assert_true(recs[i].time > 0);
		assert_true(strncmp(recs[i].serial, "SN-", 3) == 0);
		assert_true(recs[i].role == ROLE_TEMP || recs[i].role == ROLE_SCRATCH);
	}
	while ((len = recv(fd, msg, sizeof(msg) - 1, 0)) > 0) {
		msg[len] = '\0';
		assert_non_null(strstr(msg, "MESSAGE_ID=" SHREDREC_MESSAGE_ID "\n"));
		assert_non_null(strstr(msg, "SCRATCHCRYPT_VERIFIED=1\n"));
		assert_non_null(strstr(msg, "SCRATCHCRYPT_SERIAL=SN-"));
		got++;
	}
	assert_int_equal(got, 3);
	close(fd);
}

/* A wipe that does not reach the disk: read back, the disk is not blank;
 * stop fails, naming it, and the record says the shred is not verified. */
static void test_stop_unverified_shred_fails(void **state)
{
	struct shred_rec recs[SHREDREC_MAX];
	struct lc_result res;
	size_t n, unverified = 0;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	fk_hdr("/dev/nvme1n1")->stale = true;
	assert_true(stop_run(&res) < 0);
	assert_int_equal(shredrec_list(recs, SHREDREC_MAX, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		if (!recs[i].verified) {
			unverified++;
			assert_string_equal(recs[i].device, "/dev/nvme1n1");
		}
	assert_int_equal(unverified, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stop_records_the_shred, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_stop_unverified_shred_fails, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_stop_shreds, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_stop_shreds_the_others, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_stop_unfinished, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_stop_keep_and_no_discard, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_stop_marks_before_it_wipes, setup, fk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
