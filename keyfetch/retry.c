// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "keyfetch/keyfetch.h"

static double real_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void real_sleep(void *ctx, double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - floor(s)) * 1e9) };

	(void)ctx;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double real_random01(void *ctx)
{
	unsigned v = 0;

	(void)ctx;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		return 0.5;
	return (double)v / 4294967296.0;
}

const struct kf_clock kf_real_clock = { real_now, real_sleep, real_random01, NULL };

bool kf_retryable(long status)
{
	return status == 0 || status == 404 || status == 410 || status == 429 || status >= 500;
}

/* Microsoft's IMDS guidance: about 0, 2, 6, 14 and 30 s between attempts,
 * then 30 s. Jitter of +-20% keeps a fleet that booted together apart, and
 * a Retry-After from the service wins when it asks for longer. */
double kf_backoff(unsigned retry, double retry_after_s, double random01)
{
	static const double base[] = { 0, 2, 6, 14, 30 };
	double d = retry < 5 ? base[retry] : 30;

	d *= 0.8 + 0.4 * random01;
	if (retry_after_s > d)
		d = retry_after_s;
	return d;
}

int kf_retry_run(const struct kf_clock *clock, double deadline,
		 int (*attempt)(void *ctx, long *status, double *retry_after), void *ctx,
		 unsigned *attempts)
{
	unsigned retry = 0;

	for (;;) {
		long status = 0;
		double retry_after = 0, delay;
		int r = attempt(ctx, &status, &retry_after);

		retry++;
		if (attempts)
			*attempts = retry;
		if (r != -EAGAIN)
			return r;
		delay = kf_backoff(retry, retry_after, clock->random01(clock->ctx));
		if (clock->now(clock->ctx) + delay > deadline)
			return -EHOSTUNREACH; /* fail closed */
		clock->sleep(clock->ctx, delay);
	}
}
