// SPDX-License-Identifier: MIT
#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static enum log_level max_level = LOG_LVL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };

void log_set_level(enum log_level lvl)
{
	max_level = lvl;
}

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	char msg[1024];

	if (lvl > max_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One write per line, so that lines from two threads never mix. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "scratchcrypt: %s%s\n", prefix[lvl], msg);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

int log_errno(enum log_level lvl, int r, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	errno = r < 0 ? -r : r;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
	errno = saved;
	return r;
}

int reason_set(struct reason *why, int r, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!why)
		return r;
	errno = r < 0 ? -r : r;
	va_start(ap, fmt);
	vsnprintf(why->text, sizeof(why->text), fmt, ap);
	va_end(ap);
	errno = saved;
	return r;
}

int log_reason(enum log_level lvl, int r, const struct reason *why, const char *fallback)
{
	if (why && why->text[0])
		log_msg(lvl, "%s", why->text);
	else
		log_errno(lvl, r, "%s: %m", fallback);
	return r;
}
