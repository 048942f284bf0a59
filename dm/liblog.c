// SPDX-License-Identifier: MIT
#include <libcryptsetup.h>
#include <libdevmapper.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "dm/liblog.h"

void dm_liblog_line(const char *lib, const char *msg)
{
	size_t len = strlen(msg);

	while (len && msg[len - 1] == '\n')
		len--;
	if (len)
		log_debug("%s: %.*s", lib, (int)len, msg);
}

/* libcryptsetup's lines from calls without a context, and libdevmapper's
 * once libcryptsetup has put its own handler in (which forwards here). */
static void crypt_line(int level, const char *msg, void *usrptr)
{
	(void)level;
	(void)usrptr;
	dm_liblog_line("libcryptsetup", msg);
}

static void dm_line(int level, const char *file, int line, int dm_errno_or_class, const char *f, ...)
{
	char msg[512];
	va_list ap;

	(void)level;
	(void)file;
	(void)line;
	(void)dm_errno_or_class;
	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	dm_liblog_line("libdevmapper", msg);
}

static void init(void)
{
	crypt_set_log_callback(NULL, crypt_line, NULL);
	dm_log_with_errno_init(dm_line);
}

void dm_liblog_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, init);
}
