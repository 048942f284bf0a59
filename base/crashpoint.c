// SPDX-License-Identifier: MIT
#include "base/crashpoint.h"

#ifdef SCRATCHCRYPT_CRASHPOINTS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#endif

#define DEBUG_EXIT_PORT 0xf4 /* QEMU -device isa-debug-exit,iobase=0xf4 */

/* Counted across this process and its workers (base/workers.c), which
 * share the page: the second disk's step is the second reached by any. */
struct crash_count {
	unsigned seen;
	unsigned fired;
};
static struct crash_count own_count, *count = &own_count;

static void power_cut(void)
{
#if defined(__x86_64__) || defined(__i386__)
	if (ioperm(DEBUG_EXIT_PORT, 1, 1) == 0)
		outb(0x31, DEBUG_EXIT_PORT); /* QEMU exits with (0x31 << 1) | 1 = 99 */
#endif
}

/* SCRATCHCRYPT_STEP_TIMES=1: each step's end on stderr, in seconds since
 * the process started (make bench shows where start's time goes). */
static struct timespec process_start;

__attribute__((constructor)) static void note_process_start(void)
{
	void *shared;

	clock_gettime(CLOCK_MONOTONIC, &process_start);
	if (!crash_point_armed())
		return;
	shared = mmap(NULL, sizeof(*count), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared != MAP_FAILED)
		count = shared;
}

bool crash_point_armed(void)
{
	const char *at = getenv("SCRATCHCRYPT_CRASH_AT");

	return at && *at;
}

bool crash_point_fired(void)
{
	return __atomic_load_n(&count->fired, __ATOMIC_SEQ_CST) != 0;
}

static void step_time(const char *step)
{
	struct timespec t;

	if (!getenv("SCRATCHCRYPT_STEP_TIMES"))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	fprintf(stderr, "scratchcrypt: step %s at %.3f s\n", step,
		(double)(t.tv_sec - process_start.tv_sec) +
			(double)(t.tv_nsec - process_start.tv_nsec) / 1e9);
}

void crash_point(const char *step)
{
	const char *at = getenv("SCRATCHCRYPT_CRASH_AT"), *mode, *hash;
	unsigned want = 1, n;
	size_t len;

	step_time(step);
	if (!at || !*at)
		return;
	hash = strchr(at, '#');
	len = hash ? (size_t)(hash - at) : strlen(at);
	if (hash)
		want = (unsigned)strtoul(hash + 1, NULL, 10);
	if (strlen(step) != len || strncmp(step, at, len) != 0)
		return;
	n = __atomic_add_fetch(&count->seen, 1, __ATOMIC_SEQ_CST);
	if (n != want)
		return;
	__atomic_store_n(&count->fired, 1, __ATOMIC_SEQ_CST);
	fprintf(stderr, "scratchcrypt: crash point %s#%u reached (pid %d)\n", step, n, (int)getpid());
	fflush(stderr);
	mode = getenv("SCRATCHCRYPT_CRASH_MODE");
	if (mode && strcmp(mode, "power") == 0)
		power_cut();
	if (mode && strcmp(mode, "pause") == 0) {
		/* A test looks at the process here, then sends SIGCONT. */
		raise(SIGSTOP);
		return;
	}
	kill(getpid(), SIGKILL);
	pause();
}
#endif
