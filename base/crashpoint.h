/* SPDX-License-Identifier: MIT */
#pragma once

/* Named steps at which a test build stops on purpose, so that the tests can
 * prove that every step is safe to be interrupted. Only a build configured
 * with -DSCRATCHCRYPT_CRASHPOINTS=ON has them; release builds compile every
 * call away, and that build refuses to install.
 *
 * SCRATCHCRYPT_CRASH_AT=STEP or STEP#N: stop right after the first (or Nth)
 * time STEP is done. SCRATCHCRYPT_CRASH_MODE: "kill" (default, SIGKILL of
 * the whole process; a worker's step takes the run that started it too),
 * "power" (the test VM's isa-debug-exit device: QEMU
 * exits at once, as if the power was cut) or "pause" (SIGSTOP, for a test
 * to look at the process; it goes on after SIGCONT). SCRATCHCRYPT_STEP_TIMES=1
 * prints when each step ends (make bench). */

#include <stdbool.h>

#ifdef SCRATCHCRYPT_CRASHPOINTS
void crash_point(const char *step);
/* SCRATCHCRYPT_CRASH_AT is set: base/workers.c runs one worker at a time. */
bool crash_point_armed(void);
/* A crash point has fired in this process or one of its workers. */
bool crash_point_fired(void);
#else
static inline void crash_point(const char *step)
{
	(void)step;
}
static inline bool crash_point_armed(void)
{
	return false;
}
static inline bool crash_point_fired(void)
{
	return false;
}
#endif
