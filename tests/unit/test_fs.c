// SPDX-License-Identifier: MIT
/* agent/setup/fs.c: the data-loss warning file, written only as a new
 * regular file, and the ext4 cluster size by disk size. */
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

#include "agent/ondisk/format.h"
#include "agent/setup/fs.h"

static void test_warning_file_is_never_followed(void **state)
{
	char dir[] = "/tmp/sc-test-warning-XXXXXX", path[128], victim[128], cmd[160];
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/" ONDISK_WARNING_FILE, dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(fs_write_warning(dir), -EEXIST);
	assert_int_equal(unlink(path), 0);
	f = fopen(victim, "w");
	fputs("mine", f);
	fclose(f);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(fs_write_warning(dir), -EEXIST);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(fs_write_warning(dir), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size > 100);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_ext4_cluster_by_size(void **state)
{
	static const struct {
		uint64_t size;
		unsigned cluster;
	} want[] = {
		{ 256ULL << 20, 4096 },  { 16ULL << 30, 4096 },        { 128ULL << 30, 4096 },
		{ (128ULL << 30) + 4096, 8192 }, { 256ULL << 30, 8192 }, { 1ULL << 40, 32768 },
		{ 1920383410176ULL, 65536 },  /* a 1.92 TB local NVMe disk */
		{ 3840755982336ULL, 131072 }, /* 3.84 TB */
		{ 4ULL << 40, 131072 },         { 1ULL << 50, 1048576 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		unsigned c = fs_ext4_cluster_size(want[i].size);

		if (c != want[i].cluster)
			fail_msg("%llu bytes: cluster %u, expected %u", (unsigned long long)want[i].size, c,
				 want[i].cluster);
		if (c < 1048576 && want[i].size > 1024ULL * 32768 * c)
			fail_msg("%llu bytes: more than 1024 groups", (unsigned long long)want[i].size);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warning_file_is_never_followed),
		cmocka_unit_test(test_ext4_cluster_by_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
