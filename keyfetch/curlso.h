/* SPDX-License-Identifier: MIT */
#pragma once
/* Internal to keyfetch/: libcurl, loaded when a session first needs it.
 * libcurl brings 30 of the agent's 45 shared libraries; a node with system
 * keys never talks to a key service, so its boot does not load them (as
 * systemd does with its optional libraries). Only http.c calls these. */
#include <curl/curl.h>

struct curl_fns {
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *curl);
	void (*easy_reset)(CURL *curl);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	CURLcode (*easy_perform)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	char *(*easy_escape)(CURL *curl, const char *s, int len);
	void (*free)(void *p);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
};

/* libcurl.so.4, loaded and curl_global_init()ed once (thread-safe); NULL
 * when it cannot be, after logging why. */
const struct curl_fns *curl_fns(void);
