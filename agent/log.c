// SPDX-License-Identifier: MIT
#include "agent/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static enum log_level max_level = LOG_LVL_INFO;
static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };

void log_set_level(enum log_level lvl) { max_level = lvl; }

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	if (lvl > max_level)
		return;
	fprintf(stderr, "scratchcrypt: %s", prefix[lvl]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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
