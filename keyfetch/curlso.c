// SPDX-License-Identifier: MIT
#include "keyfetch/curlso.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#include "base/log.h"

#define LIBCURL "libcurl.so.4"

static struct curl_fns fns;
static const struct curl_fns *loaded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const struct {
	const char *name;
	size_t offset;
} syms[] = {
	{ "curl_easy_init", offsetof(struct curl_fns, easy_init) },
	{ "curl_easy_cleanup", offsetof(struct curl_fns, easy_cleanup) },
	{ "curl_easy_reset", offsetof(struct curl_fns, easy_reset) },
	{ "curl_easy_setopt", offsetof(struct curl_fns, easy_setopt) },
	{ "curl_easy_getinfo", offsetof(struct curl_fns, easy_getinfo) },
	{ "curl_easy_perform", offsetof(struct curl_fns, easy_perform) },
	{ "curl_easy_strerror", offsetof(struct curl_fns, easy_strerror) },
	{ "curl_easy_escape", offsetof(struct curl_fns, easy_escape) },
	{ "curl_free", offsetof(struct curl_fns, free) },
	{ "curl_slist_append", offsetof(struct curl_fns, slist_append) },
	{ "curl_slist_free_all", offsetof(struct curl_fns, slist_free_all) },
};

static void load(void)
{
	CURLcode (*global_init)(long flags);
	void *h = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		log_error("cannot load %s, which talking to IMDS and Key Vault needs: %s", LIBCURL,
			  dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *p = dlsym(h, syms[i].name);

		if (!p) {
			log_error("%s has no %s: %s", LIBCURL, syms[i].name, dlerror());
			return;
		}
		*(void **)((char *)&fns + syms[i].offset) = p;
	}
	*(void **)&global_init = dlsym(h, "curl_global_init");
	if (!global_init || global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("%s: curl_global_init failed", LIBCURL);
		return;
	}
	/* Never unloaded: libcurl keeps global state until the process ends. */
	loaded = &fns;
}

const struct curl_fns *curl_fns(void)
{
	pthread_once(&once, load);
	return loaded;
}
