// SPDX-License-Identifier: MIT
#include "agent/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum log_level max_level = LOG_LVL_INFO;
static char last_error[512];
static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };

void log_set_level(enum log_level lvl) { max_level = lvl; }

const char *log_last_error(void)
{
	return last_error;
}

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	char msg[sizeof(last_error)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (lvl == LOG_LVL_ERROR)
		memcpy(last_error, msg, sizeof(msg));
	if (lvl > max_level)
		return;
	fprintf(stderr, "scratchcrypt: %s%s\n", prefix[lvl], msg);
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
