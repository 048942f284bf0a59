/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>

/* Messages for a person, one line each, on stderr. Safe to call from any
 * thread. The agent logs once, where it decides what to do; lower layers
 * hand their detail up in a struct reason instead of printing. */

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level lvl);
/* Copies src with control characters (below 0x20, and 0x7f) written as
 * \xNN; returns the length written. */
size_t str_escape(char *dst, size_t size, const char *src);
/* One line for a person: formatted, control characters escaped. */
void print_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs with %m bound to -r and returns r, so callers can write
 * return log_error_errno(r, "...: %m"). */
int log_errno(enum log_level lvl, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_error_errno(r, ...) log_errno(LOG_LVL_ERROR, (r), __VA_ARGS__)
#define log_warn_errno(r, ...) log_errno(LOG_LVL_WARN, (r), __VA_ARGS__)

/* The one way error detail travels up: a function returns -errno and, when
 * it was given one, fills a reason with a sentence naming what failed. */
struct reason {
	char text[512];
};

/* Formats into why (which may be NULL) with %m bound to -r; returns r. */
int reason_set(struct reason *why, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Logs why at lvl, or "fallback: %m" when why is empty; returns r. */
int log_reason(enum log_level lvl, int r, const struct reason *why, const char *fallback);
