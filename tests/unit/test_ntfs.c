// SPDX-License-Identifier: MIT
/* agent/detect/ntfs.c on real NTFS images (mkntfs, ntfscp): the listing
 * runs in a confined child, bounded in names, and without the privileges
 * root has: a volume only a capability could open is not opened there. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/detect/ntfs.h"

static char dir[] = "/tmp/sc-test-ntfs-XXXXXX";


/* An NTFS image at dir/NAME with `files` files in its root. */
static void image(const char *name, int files)
{
	char path[256];

	char cmd[600];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(cmd, sizeof(cmd), "truncate -s 4M %s && mkntfs -q -F -Q -s 512 -H 255 -S 63 %s >/dev/null 2>&1",
		 path, path);
	assert_int_equal(system(cmd), 0);
	for (int i = 0; i < files; i++) {
		snprintf(cmd, sizeof(cmd), "echo %d >%s/f && ntfscp -q %s %s/f file-%03d.txt >/dev/null 2>&1",
			 i, dir, path, dir, i);
		assert_int_equal(system(cmd), 0);
	}
}

static int setup(void **state)
{
	(void)state;
	if (system("command -v mkntfs >/dev/null && command -v ntfscp >/dev/null") != 0)
		return -1;
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void test_lists_root(void **state)
{
	char path[256], **names = NULL;
	size_t n = 0;

	(void)state;
	image("two.img", 2);
	snprintf(path, sizeof(path), "%s/two.img", dir);
	assert_int_equal(ntfs_list_root(path, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "file-000.txt");
	assert_string_equal(names[1], "file-001.txt");
	ntfs_names_free(names, n);
}

/* A root that lists more than the limit is not listed to its end. */
static void test_bounded(void **state)
{
	char path[256], **names = NULL;
	size_t n = 0;

	(void)state;
	image("many.img", NTFS_MAX_NAMES + 1);
	snprintf(path, sizeof(path), "%s/many.img", dir);
	assert_int_equal(ntfs_list_root(path, &names, &n), -E2BIG);
	assert_int_equal(ntfs_list_root_here(path, &names, &n), -E2BIG);
}

/* The child has no capabilities: a volume that root reaches only through
 * CAP_DAC_OVERRIDE (another owner's, mode 0600) is refused there, and
 * read in this process. Skipped when not root. */
static void test_no_capabilities(void **state)
{
	char path[256], cmd[600], **names = NULL;
	size_t n = 0;

	(void)state;
	if (geteuid() != 0)
		skip();
	image("theirs.img", 1);
	snprintf(path, sizeof(path), "%s/theirs.img", dir);
	snprintf(cmd, sizeof(cmd), "chown 54321:54321 %s && chmod 0600 %s", path, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(ntfs_list_root_here(path, &names, &n), 0);
	ntfs_names_free(names, n);
	assert_true(ntfs_list_root(path, &names, &n) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists_root),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_no_capabilities),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
