// SPDX-License-Identifier: MIT
#include "base/crashpoint.h"

#ifdef SCRATCHCRYPT_CRASHPOINTS
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#endif

#define DEBUG_EXIT_PORT 0xf4 /* QEMU -device isa-debug-exit,iobase=0xf4 */

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned seen;

static void power_cut(void)
{
#if defined(__x86_64__) || defined(__i386__)
	if (ioperm(DEBUG_EXIT_PORT, 1, 1) == 0)
		outb(0x31, DEBUG_EXIT_PORT); /* QEMU exits with (0x31 << 1) | 1 = 99 */
#endif
}

void crash_point(const char *step)
{
	const char *at = getenv("SCRATCHCRYPT_CRASH_AT"), *mode, *hash;
	unsigned want = 1, n;
	size_t len;

	if (!at || !*at)
		return;
	hash = strchr(at, '#');
	len = hash ? (size_t)(hash - at) : strlen(at);
	if (hash)
		want = (unsigned)strtoul(hash + 1, NULL, 10);
	if (strlen(step) != len || strncmp(step, at, len) != 0)
		return;
	pthread_mutex_lock(&count_lock);
	n = ++seen;
	pthread_mutex_unlock(&count_lock);
	if (n != want)
		return;
	fprintf(stderr, "scratchcrypt: crash point %s#%u reached\n", step, n);
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
