// SPDX-License-Identifier: MIT
/* base/safemem.c: key buffers are locked in memory, left out of core dumps,
 * and unmapped on free. ASan makes mlock a no-op, so this runs in the plain
 * build (make check runs every unit test there too) and skips under ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/safemem.h"

/* VmLck of this process, in KiB. */
static long locked_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* The VmFlags of the mapping that holds p, from /proc/self/smaps. */
static bool mapping_flags(const void *p, char *flags, size_t size)
{
	char line[512];
	bool in = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "re");
	uintptr_t a = (uintptr_t)p;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = a >= lo && a < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, size, "%s", line + 8);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static void test_locked_not_dumped_unmapped(void **state)
{
	struct rlimit lim = { 1 << 20, 1 << 20 };
	char flags[256];
	long before;
	void *p;

	(void)state;
#ifdef __SANITIZE_ADDRESS__
	skip(); /* ASan's mlock does nothing */
#endif
	if (getrlimit(RLIMIT_MEMLOCK, &lim) == 0 && lim.rlim_cur < (1 << 20)) {
		lim.rlim_cur = lim.rlim_max = 1 << 20;
		if (setrlimit(RLIMIT_MEMLOCK, &lim) < 0)
			skip(); /* an unprivileged run with a small limit */
	}
	before = locked_kib();
	p = safe_alloc(64);
	assert_non_null(p);
	memset(p, 0x5a, 64);
	assert_true(locked_kib() >= before + 4);
	assert_true(mapping_flags(p, flags, sizeof(flags)));
	assert_non_null(strstr(flags, " lo")); /* locked */
	assert_non_null(strstr(flags, " dd")); /* not in core dumps */
	assert_non_null(strstr(flags, " dc")); /* not in forks */
	safe_free(p);
	assert_int_equal(locked_kib(), before);
	assert_false(mapping_flags(p, flags, sizeof(flags)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locked_not_dumped_unmapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
