// SPDX-License-Identifier: MIT
/* agent/setup/disk: how the data area's discard is split into pieces that
 * go out at once. The discard itself is the vm suite's (vm.shred_discard). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/setup/disk.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

/* The pieces cover [start, start + len) exactly, in order, none empty, each
 * but the last whole MiBs; returns how many. */
static size_t split_checked(uint64_t start, uint64_t len)
{
	uint64_t r[DISCARD_PIECES_MAX + 1][2];
	size_t n = disk_discard_split(start, len, r, DISCARD_PIECES_MAX);
	uint64_t at = start;

	assert_in_range(n, 1, DISCARD_PIECES_MAX);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r[i][0], at);
		assert_true(r[i][1] > 0);
		if (i + 1 < n)
			assert_int_equal(r[i][1] % DISCARD_ALIGN, 0);
		at += r[i][1];
	}
	assert_int_equal(at, start + len);
	return n;
}

static void test_small_is_one_range(void **state)
{
	(void)state;
	/* A 16 GiB disk past its first MiB, and anything under two pieces. */
	assert_int_equal(split_checked(MiB, 16 * GiB - MiB), 1);
	assert_int_equal(split_checked(MiB, 512), 1);
	assert_int_equal(split_checked(MiB, 2 * DISCARD_PIECE_MIN - 512), 1);
}

static void test_large_is_many(void **state)
{
	(void)state;
	assert_int_equal(split_checked(MiB, 2 * DISCARD_PIECE_MIN), 2);
	assert_int_equal(split_checked(MiB, 256 * GiB - MiB), 3);
	assert_int_equal(split_checked(MiB, 1 * TiB - MiB), DISCARD_PIECES_MAX);
	assert_int_equal(split_checked(MiB, 4 * TiB - MiB), DISCARD_PIECES_MAX);
	assert_int_equal(split_checked(MiB, 64 * TiB - 4096), DISCARD_PIECES_MAX);
}

/* Every size in steps that are not whole MiBs, from under one piece to far
 * over the most pieces: always an exact cover. */
static void test_every_size_is_covered(void **state)
{
	(void)state;
	for (uint64_t len = 512; len < 20 * TiB; len = len * 3 / 2 + 512)
		(void)split_checked(MiB, len);
}

static void test_nothing_to_discard(void **state)
{
	uint64_t r[DISCARD_PIECES_MAX][2];

	(void)state;
	assert_int_equal(disk_discard_split(MiB, 0, r, DISCARD_PIECES_MAX), 0);
	assert_int_equal(disk_discard_split(MiB, TiB, r, 0), 0);
	/* Fewer slots than pieces: no more than there are. */
	assert_int_equal(disk_discard_split(MiB, 4 * TiB, r, 2), 2);
	assert_int_equal(r[1][0] + r[1][1], MiB + 4 * TiB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_is_one_range),
		cmocka_unit_test(test_large_is_many),
		cmocka_unit_test(test_every_size_is_covered),
		cmocka_unit_test(test_nothing_to_discard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
