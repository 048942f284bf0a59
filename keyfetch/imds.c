// SPDX-License-Identifier: MIT
/* IMDS: managed-identity tokens, instance tags, Scheduled Events paths. */
#include <errno.h>
#include <json-c/json.h>
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

	snprintf(url, sizeof(url), "%s%s", kf_session_config(s)->imds_endpoint, path);
	r = kf_request(s, url, body, true, &b, err);
	body_free(&b);
	return r;
}

int kf_imds_tags(struct kf_session *s, void (*fn)(void *ctx, const char *name, const char *value),
		 void *ctx, struct kf_error *err)
{
	static const char path[] = "/metadata/instance?api-version=2021-02-01";
	struct json_object *o, *compute, *list;
	char *json = NULL;
	int r;

	r = kf_imds_get(s, path, &json, err);
	if (r < 0)
		return r;
	o = json_tokener_parse(json);
	free(json);
	if (!o || !json_object_object_get_ex(o, "compute", &compute) ||
	    !json_object_object_get_ex(compute, "tagsList", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		json_object_put(o);
		kf_set_error(err, path, 200, "", "the instance metadata has no compute.tagsList");
		return -EBADMSG;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *t = json_object_array_get_idx(list, i), *n, *v;

		if (json_object_object_get_ex(t, "name", &n) && json_object_object_get_ex(t, "value", &v))
			fn(ctx, json_object_get_string(n), json_object_get_string(v));
	}
	json_object_put(o);
	return 0;
}

/* Sends the token only to the configured vault. */
