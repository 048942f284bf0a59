// SPDX-License-Identifier: MIT
/* agent/setup/start.c (with plan.c, member.c and volume.c) against the fake
 * kernel (fakekernel.h): dm, the disk writes, mkfs and mount sit behind
 * their seams, and the fake keeps the state they would change. */
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/setup/fs.h"
#include "agent/setup/lifecycle.h"
#include "base/log.h"
#include "agent/setup/runstate.h"
#include "agent/setup/disk.h"
#include "agent/ondisk/token.h"
#include "dm/dm.h"
#include "base/workers.h"
#include "tests/unit/lcnode.h"

static void test_fresh_start(void **state)
{
	struct lc_result res;
	enum disk_state st;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.set_up, 2);
	assert_int_equal(res.refused, 1);
	assert_int_equal(fk.formats, 3); /* never the refused disk */
	assert_false(fk.hdr[3].present);
	/* Blank disks: no claim or header of ours can be on them to read. */
	assert_int_equal(fk.claim_reads, 0);
	/* Fresh, distinct, non-zero 512-bit keys. */
	for (size_t i = 0; i < fk.n_keys; i++) {
		static const unsigned char zero[64];
		assert_memory_not_equal(fk.keys[i], zero, 64);
		for (size_t k = 0; k < i; k++)
			assert_memory_not_equal(fk.keys[i], fk.keys[k], 64);
	}
	assert_true(fk_map_find("scratchcrypt-temp") >= 0);
	assert_true(fk_map_find("scratchcrypt-scratch-0") >= 0);
	assert_true(fk_map_find("scratchcrypt-scratch-1") >= 0);
	assert_string_equal(fk.stripe_members,
			    "/dev/mapper/scratchcrypt-scratch-0 /dev/mapper/scratchcrypt-scratch-1 ");
	assert_int_equal(fk.mkfs, 2);
	assert_int_equal(fk.warnings, 2);
	/* A worker's job: every member after a volume's first (its first, set
	 * up here, loads the libraries for the others). */
	assert_int_equal(fk.worker_jobs, 1);
	assert_true(token_fs_ready(0));
	assert_true(token_fs_ready(1));
	assert_non_null(strstr(fk.hdr[1].token, "\"key_source\":\"system\""));
	assert_int_equal(fk.hdr[0].sector, 4096);
	char t[4][256];
	assert_int_equal(fs_mounts_of("/dev/mapper/scratchcrypt-temp", t, 4), 1);
	assert_string_equal(t[0], "/mnt/resource");
	assert_int_equal(fs_mounts_of("/dev/mapper/scratchcrypt-scratch", t, 4), 1);
	assert_string_equal(t[0], "/mnt/scratch");
	assert_int_equal(runstate_get(ROLE_SCRATCH, &st, NULL, 0, NULL), 0);
	assert_int_equal(st, STATE_ENCRYPTED);

	/* The second start changes nothing. */
	unsigned formats = fk.formats, mkfs = fk.mkfs, mounts = fk.mount_calls;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.already, 2);
	assert_int_equal(res.set_up, 0);
	assert_int_equal(fk.formats, formats);
	assert_int_equal(fk.mkfs, mkfs);
	assert_int_equal(fk.mount_calls, mounts);
	assert_int_equal(fk.claim_reads, 3); /* each disk of ours */
}

static void test_resume_after_kill(void **state)
{
	struct lc_result res;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	/* Killed during mkfs: mapped, the token says mkfs did not finish. */
	fk.n_mounts = 0;
	assert_int_equal(token_set_state(fk.hdr[0].dev, TOKEN_NEW), 0);
	unsigned formats = fk.formats, mkfs = fk.mkfs;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(fk.formats, formats); /* the open mappings are kept */
	assert_int_equal(fk.mkfs, mkfs + 1);   /* temp: mkfs again; scratch: just mount */
	assert_int_equal(fk.n_mounts, 2);
	assert_true(token_fs_ready(0));
}

/* A stripe is judged by its table: the same members in the same places is
 * the same stripe (kept), the same members in other places is another
 * layout of the data (made again). */
static void test_stripe_judged_by_its_table(void **state)
{
	struct lc_result res;
	int s;
	char first[16];

	(void)state;
	assert_int_equal(start_run(&res), 0);
	fk.n_mounts = 0; /* a reboot of sorts: mapped, not mounted */
	fk.n_removed = 0;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(fk.n_removed, 0);
	s = fk_map_find("scratchcrypt-scratch");
	assert_true(s >= 0 && fk.maps[s].n_members == 2);
	snprintf(first, sizeof(first), "%s", fk.maps[s].members[0]);
	snprintf(fk.maps[s].members[0], sizeof(fk.maps[s].members[0]), "%s", fk.maps[s].members[1]);
	snprintf(fk.maps[s].members[1], sizeof(fk.maps[s].members[1]), "%s", first);
	fk.n_mounts = 0;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(fk.n_removed, 1);
	assert_string_equal(fk.removed[0], "scratchcrypt-scratch");
}

/* Without device-mapper, start names the module to load and touches no
 * disk. */
static void test_no_device_mapper(void **state)
{
	struct lc_result res;

	(void)state;
	fk.no_dm = true;
	assert_int_equal(start_run(&res), -ENXIO);
	assert_int_equal(fk.formats, 0);
	assert_int_equal(fk.claim_reads, 0);
	assert_false(fk.hdr[0].claimed);
}

static void test_format_failure(void **state)
{
	struct lc_result res;
	enum disk_state st;
	char note[256];

	(void)state;
	fk.fail_format_on = 2; /* nvme1n1 */
	assert_int_equal(start_run(&res), -EIO);
	assert_int_equal(res.set_up, 1); /* temp is still set up */
	assert_int_equal(fk_map_find("scratchcrypt-scratch"), -1);
	assert_int_equal(fk.mkfs, 1);
	assert_int_equal(runstate_get(ROLE_SCRATCH, &st, note, sizeof(note), NULL), 0);
	assert_int_equal(st, STATE_ERROR);
	assert_non_null(strstr(note, "Input/output error"));
	/* Once the disk works, a start finishes the job. */
	fk.fail_format_on = -1;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.set_up, 1);
	assert_int_equal(res.already, 1);
	assert_true(fk_map_find("scratchcrypt-scratch") >= 0);
}

static void test_mapping_on_another_disk(void **state)
{
	struct lc_result res;

	(void)state;
	snprintf(fk.maps[0].name, 80, "scratchcrypt-temp");
	snprintf(fk.maps[0].dev, 256, "/dev/sdz");
	snprintf(fk.maps[0].type, 16, "crypt");
	fk.maps[0].live = true;
	fk.n_maps = 1;
	assert_int_equal(start_run(&res), -EEXIST);
	assert_false(fk.hdr[0].present);
}

static void test_sector_size_fallback(void **state)
{
	struct lc_result res;

	(void)state;
	fk.disks[0].disk.size_bytes = (1ULL << 30) + 1024; /* not a multiple of 4096 */
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(fk.hdr[0].sector, 1024);
	assert_int_equal(fk.hdr[1].sector, 4096);
}

static void test_claimed_disk_is_redone(void **state)
{
	struct lc_result res;

	(void)state;
	/* Stopped between the claim and the header: libblkid sees data it does
	 * not know, the claim says it is ours. */
	fk.disks[2].content = CONTENT_FOREIGN;
	fk.disks[2].action = ACTION_REFUSE;
	snprintf(fk.disks[2].reason, sizeof(fk.disks[2].reason),
		 "holds data without a known signature that scratchcrypt did not write");
	fk.hdr[2].claimed = true;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.refused, 1); /* nvme2n1 only */
	assert_int_equal(fk.formats, 3);
	assert_true(fk_map_find("scratchcrypt-scratch-1") >= 0);
}

static void test_claim_of_another_disk_is_not_ours(void **state)
{
	struct lc_result res;

	(void)state;
	/* A claim naming another disk (a copied image): still refused. */
	fk.disks[2].content = CONTENT_FOREIGN;
	fk.disks[2].action = ACTION_REFUSE;
	fk.hdr[2].claimed = true;
	fk.hdr[2].claim_size = 2ULL << 30;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.refused, 2);
	assert_false(fk.hdr[2].present);
}

static void test_half_made_mappings_are_cleared(void **state)
{
	struct lc_result res;

	(void)state;
	/* A mapping created without a table, and a stripe never resumed. */
	fk_map_add("scratchcrypt-temp", "", "crypt", false);
	fk_map_add("scratchcrypt-scratch", "", "striped", false);
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.set_up, 2);
	assert_string_equal(fk.removed[0], "scratchcrypt-temp");
	assert_string_equal(fk.removed[1], "scratchcrypt-scratch");
	assert_true(fk.maps[fk_map_find("scratchcrypt-temp")].live);
	assert_true(fk.maps[fk_map_find("scratchcrypt-scratch")].live);
}

static void test_start_after_a_cut_off_stop(void **state)
{
	struct lc_result res;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	/* A stop marked the volumes and was cut off before it unmounted. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(token_set_state(fk.hdr[i].dev, TOKEN_SHREDDING), 0);
	assert_int_equal(start_run(&res), -EBUSY);
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(fk.wipes, 3);
}

/* A disk that changes between detection and the first write (another
 * process wrote to it while HBI keys were fetched) is left untouched. */
static void test_disk_changed_before_first_write(void **state)
{
	struct lc_result res;

	(void)state;
	fk.changed_dev = fk.disks[0].disk.devnode;
	assert_int_equal(start_run(&res), -EMEDIUMTYPE);
	fk.changed_dev = NULL;
	assert_false(fk.hdr[0].claimed);
	assert_false(fk.hdr[0].present);
}

/* Regression: an HBI token whose wrapped_key is null crashed start. */
static void test_hostile_tokens(void **state)
{
	static const char *const bad[] = {
		"", "null", "[]", "{", "{\"kid\":\"k\",\"wrapped_key\":null}",
		"{\"kid\":null,\"wrapped_key\":\"x\"}", "{\"kid\":\"k\",\"wrapped_key\":7}",
		"{\"kid\":\"k\",\"wrapped_key\":\"\"}", "{\"kid\":[],\"wrapped_key\":{}}",
	};
	struct sc_token t;
	struct sc_hbi_token h;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(token_hbi_parse(bad[i], &h), -EBADMSG);
		assert_null(h.wrapped);
		assert_int_equal(token_from_json(bad[i], &t), -EBADMSG);
	}
	assert_int_equal(token_hbi_parse(NULL, &h), -EBADMSG);
	assert_null(h.wrapped);
	/* A mac that is not a string, or too long, is no token. */
	assert_int_equal(token_hbi_parse("{\"kid\":\"k\",\"wrapped_key\":\"w\",\"mac\":\""
					 "0123456789012345678901234567890123456789012345678901234567890123\"}", &h),
			 -EBADMSG);
	assert_int_equal(token_hbi_parse("{\"kid\":\"k\",\"wrapped_key\":\"w\"}", &h), 0);
	assert_string_equal(h.wrapped, "w");
	assert_string_equal(h.mac, "");
	token_hbi_clear(&h);
	/* Wrong types in our own token are absent values, never a crash. */
	assert_int_equal(token_from_json("{\"type\":\"scratchcrypt\",\"role\":null,\"index\":\"1\","
					 "\"members\":-3,\"serial\":7,\"size\":null,\"state\":\"ready\"}", &t), 0);
	assert_int_equal(t.members, 0);
	assert_string_equal(t.serial, "");
}

/* Regression: a FIFO by the warning file's name on a reopened HBI
 * filesystem blocked start; a symlink there must not be followed. */
int __real_fs_write_warning(const char *mount_point);
/* ext4_cluster_size = auto: 4 KiB blocks where mkfs is cheap anyway, and
 * never more than 1024 block groups to make on a bigger disk. */
int main(void)
{
	log_set_level(LOG_LVL_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_start, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_kill, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_disk_changed_before_first_write, setup, fk_teardown),
		cmocka_unit_test(test_hostile_tokens),
		cmocka_unit_test_setup_teardown(test_stripe_judged_by_its_table, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_no_device_mapper, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_format_failure, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_mapping_on_another_disk, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_sector_size_fallback, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_claimed_disk_is_redone, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_claim_of_another_disk_is_not_ours, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_half_made_mappings_are_cleared, setup, fk_teardown),
		cmocka_unit_test_setup_teardown(test_start_after_a_cut_off_stop, setup, fk_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
