// SPDX-License-Identifier: MIT
/* IMDS: managed-identity tokens, instance tags, Scheduled Events paths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/safemem.h"
#include "keyfetch/session.h"

int kf_imds_get(struct kf_session *s, const char *path, char **json, struct kf_error *err)
{
	struct body b = { 0 };
	char url[1024];
	int r;

	*err = (struct kf_error){ 0 };
	snprintf(url, sizeof(url), "%s%s", kf_session_config(s)->imds_endpoint, path);
	r = kf_request(s, url, NULL, true, &b, err);
	if (r < 0)
		return r;
	*json = strdup(b.data ? b.data : "");
	body_free(&b);
	return *json ? 0 : -ENOMEM;
}

int kf_imds_post(struct kf_session *s, const char *path, const char *body, struct kf_error *err)
{
	struct body b = { 0 };
	char url[1024];
	int r;

	*err = (struct kf_error){ 0 };
	snprintf(url, sizeof(url), "%s%s", kf_session_config(s)->imds_endpoint, path);
	r = kf_request(s, url, body, true, &b, err);
	body_free(&b);
	return r;
}

int kf_imds_tags(struct kf_session *s, void (*fn)(void *ctx, const char *name, const char *value),
		 void *ctx, struct kf_error *err)
{
	static const char path[] = "/metadata/instance?api-version=2021-02-01";
	char *json = NULL;
	int r;

	r = kf_imds_get(s, path, &json, err);
	if (r < 0)
		return r;
	r = kf_parse_tags(json, strlen(json), fn, ctx);
	free(json);
	if (r < 0)
		kf_set_error(err, path, 200, "", "the instance metadata has no compute.tagsList");
	return r;
}

/* Sends the token only to the configured vault. */
