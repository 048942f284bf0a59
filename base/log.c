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

size_t str_escape(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	if (!size)
		return 0;
	for (; *src && n + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;

		if (c >= 0x20 && c != 0x7f) {
			dst[n++] = (char)c;
			continue;
		}
		if (n + 5 > size)
			break;
		n += (size_t)snprintf(dst + n, size - n, "\\x%02x", c);
	}
	dst[n] = '\0';
	return n;
}

void print_line(FILE *f, const char *fmt, ...)
{
	char msg[2048], out[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	str_escape(out, sizeof(out), msg);
	fprintf(f, "%s\n", out);
}

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	char msg[1024], out[2048];

	if (lvl > max_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Labels, service replies and file names are other people's bytes:
	 * nothing reaches the terminal as a control sequence. */
	str_escape(out, sizeof(out), msg);
	/* One write per line, so that lines from two threads never mix. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "scratchcrypt: %s%s\n", prefix[lvl], out);
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
