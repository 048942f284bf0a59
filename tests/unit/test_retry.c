// SPDX-License-Identifier: MIT
/* keyfetch/retry.c: the backoff schedule, and the capped retry against a
 * fake clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keyfetch/keyfetch.h"
#include "keyfetch/session.h"

/* A fake clock: time passes only when the code sleeps. */
struct fake {
	double now;
	double sleeps[32];
	unsigned n_sleeps;
	/* attempt script: statuses to return, 200 = success */
	long script[32];
	double retry_after[32];
	unsigned n_script, pos;
};

static double f_now(void *c) { return ((struct fake *)c)->now; }
static void f_sleep(void *c, double s)
{
	struct fake *f = c;
	f->sleeps[f->n_sleeps++] = s;
	f->now += s;
}
static double f_rand(void *c) { (void)c; return 0.5; } /* no jitter */

static int f_attempt(void *c, long *status, double *retry_after)
{
	struct fake *f = c;
	long s = f->pos < f->n_script ? f->script[f->pos] : 500;

	*retry_after = f->pos < f->n_script ? f->retry_after[f->pos] : 0;
	f->pos++;
	f->now += 0.1; /* each request takes a little time */
	*status = s;
	if (s == 200)
		return 0;
	return kf_retryable(s) ? -EAGAIN : -EACCES;
}

static void test_backoff_schedule(void **state)
{
	(void)state;
	/* Documented: about 0, 2, 6, 14, 30 s, then 30. */
	assert_true(kf_backoff(1, 0, 0.5) == 2);
	assert_true(kf_backoff(2, 0, 0.5) == 6);
	assert_true(kf_backoff(3, 0, 0.5) == 14);
	assert_true(kf_backoff(4, 0, 0.5) == 30);
	assert_true(kf_backoff(9, 0, 0.5) == 30);
	/* Jitter stays within +-20%. */
	assert_true(kf_backoff(2, 0, 0.0) >= 4.8 && kf_backoff(2, 0, 0.999) <= 7.2);
	/* Retry-After wins when longer, not when shorter. */
	assert_true(kf_backoff(1, 10, 0.5) == 10);
	assert_true(kf_backoff(3, 1, 0.5) == 14);
	assert_true(kf_retryable(0) && kf_retryable(404) && kf_retryable(410) && kf_retryable(429) &&
		    kf_retryable(500) && kf_retryable(503));
	assert_false(kf_retryable(400) || kf_retryable(401) || kf_retryable(403));
}

static void test_retry_run(void **state)
{
	const struct kf_clock clock = { f_now, f_sleep, f_rand, NULL };
	struct fake f = { .script = { 500, 410, 429, 200 }, .retry_after = { 0, 0, 5, 0 }, .n_script = 4 };
	unsigned attempts;

	(void)state;
	struct kf_clock c = clock;
	c.ctx = &f;
	assert_int_equal(kf_retry_run(&c, 90, f_attempt, &f, &attempts), 0);
	assert_int_equal(attempts, 4);
	assert_int_equal(f.n_sleeps, 3);
	assert_true(f.sleeps[0] == 2 && f.sleeps[1] == 6);
	assert_true(f.sleeps[2] == 14); /* Retry-After 5 < 14 */

	/* Honour a long Retry-After. */
	struct fake g = { .script = { 429, 200 }, .retry_after = { 20, 0 }, .n_script = 2 };
	c.ctx = &g;
	assert_int_equal(kf_retry_run(&c, 90, f_attempt, &g, &attempts), 0);
	assert_true(g.sleeps[0] == 20);

	/* Other 4xx are not retried. */
	struct fake h = { .script = { 403 }, .n_script = 1 };
	c.ctx = &h;
	assert_int_equal(kf_retry_run(&c, 90, f_attempt, &h, &attempts), -EACCES);
	assert_int_equal(attempts, 1);
	assert_int_equal(h.n_sleeps, 0);

	/* A service that keeps failing: give up before passing the cap, having
	 * waited 2+6+14+30+30 = 82 s, since another 30 s would pass 90. */
	struct fake d = { .n_script = 0 };
	c.ctx = &d;
	assert_int_equal(kf_retry_run(&c, 90, f_attempt, &d, &attempts), -EHOSTUNREACH);
	assert_int_equal(attempts, 6);
	assert_true(d.now <= 90);
	assert_true(d.sleeps[4] == 30);

	/* A short cap. */
	struct fake e = { .n_script = 0 };
	c.ctx = &e;
	assert_int_equal(kf_retry_run(&c, 5, f_attempt, &e, &attempts), -EHOSTUNREACH);
	assert_int_equal(attempts, 2);
	assert_true(e.now <= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_retry_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
