/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdarg.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs with %m bound to -r and returns r, so callers can write
 * return log_error_errno(r, "...: %m"). */
int log_errno(enum log_level lvl, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The last error logged, for the runtime state that status shows. */
const char *log_last_error(void);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_error_errno(r, ...) log_errno(LOG_LVL_ERROR, (r), __VA_ARGS__)
#define log_warn_errno(r, ...) log_errno(LOG_LVL_WARN, (r), __VA_ARGS__)
