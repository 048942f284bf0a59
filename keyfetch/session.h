/* SPDX-License-Identifier: MIT */
#pragma once
/* Internal to keyfetch/: the HTTP session that imds.c and keyvault.c share.
 * Only http.c includes curl.h. */
#include <stdbool.h>
#include <stddef.h>

#include "keyfetch/keyfetch.h"

#define KV_API "api-version=7.4"
#define IMDS_TOKEN_PATH "/metadata/identity/oauth2/token?api-version=2018-02-01&resource="

/* A response body: key material may be in it, so safe memory. */
struct body {
	char *data;
	size_t len, cap;
	bool too_big; /* the service sent more than MAX_BODY */
};

void body_free(struct body *b);
const struct kf_config *kf_session_config(const struct kf_session *s);
/* The session's access token (safe memory), or NULL; kf_session_set_token
 * takes ownership of token. */
const char *kf_session_token(const struct kf_session *s);
void kf_session_set_token(struct kf_session *s, char *token);
/* One request with the session's retries: a POST of body, or a GET when
 * body is NULL; *resp is the 2xx body. */
int kf_request(struct kf_session *s, const char *url, const char *body,
	       bool metadata, struct body *resp, struct kf_error *err);
/* The IMDS access token for Key Vault, fetched once per session. */
int kf_get_token(struct kf_session *s, struct kf_error *err);
void kf_set_error(struct kf_error *e, const char *url, long status, const char *code,
		  const char *message);
