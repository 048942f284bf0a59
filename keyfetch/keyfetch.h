/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "base/log.h"

/* keyfetch/: the client of IMDS (managed-identity tokens) and Key Vault
 * (get key, wrapkey, unwrapkey). Nothing here prints. Tokens, keys and the
 * bodies that carry them live in safe memory and are wiped after use.
 *
 * Errors: 0 or -errno, with what went wrong in struct kf_error:
 *   -EHOSTUNREACH  the service could not be reached or kept failing until
 *                  retry_cap_s ran out (fail closed)
 *   -EACCES        the service refused us (400, 401, 403)
 *   -ENOKEY        the key does not exist (404 KeyNotFound)
 *   -EKEYREJECTED  the key does not meet the platform's requirements
 *   -EBADMSG       the service answered something we cannot use: not the
 *                  JSON it documents, a body over 64 KiB, a redirect, a
 *                  wrapped key that is not the size of the RSA modulus
 *   -EXDEV         a key URL outside the configured vault */

struct kf_config {
	const char *imds_endpoint; /* "http://169.254.169.254" */
	const char *client_id;     /* optional */
	const char *msi_res_id;    /* optional */
	const char *vault_url;     /* "https://myvault.vault.azure.net"; NULL: IMDS only */
	const char *ca_bundle;     /* optional; verification is always on */
	unsigned retry_cap_s;
	unsigned request_timeout_s; /* one request's limit; 0: 30 s */
};

struct kf_error {
	char endpoint[512]; /* the URL without its query */
	long http_status;   /* 0: no HTTP answer */
	char code[96];      /* Key Vault's error.code, or curl's error */
	char message[384];
};

/* The one sentence the agent logs for a failed call: "what: endpoint: HTTP
 * status code: message"; returns r. Every kf_ call that takes a kf_error
 * fills it, on every failure. */
int kf_error_reason(struct reason *why, int r, const char *what, const struct kf_error *e);

struct kf_key_info {
	char kid[512];
	char kty[16];
	bool wrap_key, unwrap_key, enabled;
	char recovery_level[64];
	unsigned modulus_bits; /* of "n"; 0 when absent or not base64url */
};

struct kf_clock {
	double (*now)(void *ctx);            /* seconds, monotonic */
	void (*sleep)(void *ctx, double s);
	double (*random01)(void *ctx);       /* jitter */
	void *ctx;
};
extern const struct kf_clock kf_real_clock;

struct kf_session;

/* Loads libcurl and runs curl_global_init(), once: a session does so
 * itself when first needed; -ELIBACC when libcurl cannot be loaded. */
int kf_global_init(void);
void kf_global_cleanup(void);
/* The retry cap runs from here: every request of the session shares it. */
int kf_session_new(const struct kf_config *c, const struct kf_clock *clock, struct kf_session **s);
void kf_session_free(struct kf_session *s);

int kf_get_key(struct kf_session *s, const char *name, const char *version,
	       struct kf_key_info *info, struct kf_error *err);
/* Checks what the platform requires of the key: RSA of 2048 bits or more,
 * wrapKey and unwrapKey, enabled, and a recoveryLevel with purge protection. */
int kf_check_key(const struct kf_key_info *info, struct reason *why);
/* RSA-OAEP-256 wrap through {kid}/wrapkey with the key kf_get_key gave;
 * *wrapped is base64url, malloc'd, and decodes to exactly the modulus size. */
int kf_wrap(struct kf_session *s, const struct kf_key_info *key, const void *volume_key,
	    size_t key_len, char **wrapped, struct kf_error *err);
/* {kid}/unwrapkey; *key comes from safe_alloc(). */
int kf_unwrap(struct kf_session *s, const char *kid, const char *wrapped, void **key,
	      size_t *key_len, struct kf_error *err);

/* IMDS GET or POST of path ("/metadata/scheduledevents?api-version=..."),
 * with Metadata: true and the session's retries. *json is malloc'd. */
int kf_imds_get(struct kf_session *s, const char *path, char **json, struct kf_error *err);
int kf_imds_post(struct kf_session *s, const char *path, const char *body, struct kf_error *err);

/* Instance-metadata tags (compute.tagsList): calls fn for each name/value. */
int kf_imds_tags(struct kf_session *s, void (*fn)(void *ctx, const char *name, const char *value),
		 void *ctx, struct kf_error *err);

/* The token resource for a vault's cloud: https://vault.usgovcloudapi.net
 * for *.vault.usgovcloudapi.net, https://vault.azure.cn for *.vault.azure.cn,
 * and the public cloud's https://vault.azure.net for any other vault. */
const char *kf_vault_resource(const char *vault_url);

/* "https://v.vault.azure.net/keys/name/version": the vault part, lower-case,
 * and name and version (version may be ""). */
int kf_parse_key_url(const char *url, char *vault, size_t vault_size, char *name,
		     size_t name_size, char *version, size_t version_size);

/* base64url without padding. kf_b64url_decode's output comes from safe_alloc(). */
char *kf_b64url_encode(const void *data, size_t len); /* safe_alloc() */
int kf_b64url_decode(const char *text, void **out, size_t *out_len);

/* Untrusted JSON: the whole of data (len bytes, not NUL-terminated) as one
 * object, or NULL; a member that must be a string, or NULL. */
struct json_object;
struct json_object *kf_json_object(const char *data, size_t len);
const char *kf_json_string(struct json_object *o, const char *key);

/* The services' replies, parsed without I/O (keyfetch/parse.c). Any byte
 * string gives 0 or -EBADMSG. Secrets come back in safe memory. */
int kf_parse_token(const char *body, size_t len, char **token);
int kf_parse_key(const char *body, size_t len, struct kf_key_info *info);
/* A wrapkey or unwrapkey reply: its base64url "value", answered for kid
 * (or a version of it) when the reply names one. */
int kf_parse_op_reply(const char *body, size_t len, const char *kid, char **value);
int kf_parse_tags(const char *body, size_t len,
		  void (*fn)(void *ctx, const char *name, const char *value), void *ctx);
void kf_parse_error_body(const char *body, size_t len, char *code, size_t code_size, char *msg,
			 size_t msg_size);
/* One header line, not NUL-terminated: "Retry-After: 5" in delta-seconds;
 * -ENOENT for another header. */
int kf_parse_retry_after(const char *line, size_t len, double *seconds);

/* The retry schedule, as documented for IMDS and Key Vault. */
bool kf_retryable(long http_status); /* 0: a connection error */
double kf_backoff(unsigned retry, double retry_after_s, double random01);
/* Runs attempt() until it succeeds, fails for good, or the cap would be
 * passed by the next wait. attempt returns 0, or -EAGAIN with *status and
 * *retry_after set for a retryable answer, or another -errno. */
int kf_retry_run(const struct kf_clock *clock, double deadline,
		 int (*attempt)(void *ctx, long *status, double *retry_after), void *ctx,
		 unsigned *attempts);
