/* SPDX-License-Identifier: MIT */
#pragma once

/* Inside dm/ only. libcryptsetup and libdevmapper print to stderr unless
 * told otherwise: their lines go to the project's log instead, at debug
 * level, once for the process. What a caller needs to know reaches it as
 * -errno and a struct reason, and the agent logs that once. */
void dm_liblog_init(void);
/* A library's line, its trailing newline dropped, at debug level. */
void dm_liblog_line(const char *lib, const char *msg);
