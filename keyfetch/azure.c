// SPDX-License-Identifier: MIT
/* IMDS and Key Vault over libcurl: the only user of curl.h. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/safemem.h"
#include "keyfetch/keyfetch.h"

#define KV_API "api-version=7.4"
#define IMDS_TOKEN_PATH "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
#define MAX_BODY (64 * 1024)

struct kf_session {
	struct kf_config c;
	const struct kf_clock *clock;
	double deadline;
	CURL *curl;
	char *token; /* safe memory */
};

/* A response body: key material may be in it, so safe memory. */
struct body {
	char *data;
	size_t len, cap;
};

static void body_free(struct body *b)
{
	safe_free(b->data);
	memset(b, 0, sizeof(*b));
}

static size_t on_data(char *ptr, size_t size, size_t n, void *user)
{
	struct body *b = user;
	size_t add = size * n;

	if (b->len + add + 1 > MAX_BODY)
		return 0;
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *nd;

		while (cap < b->len + add + 1)
			cap *= 2;
		nd = safe_alloc(cap);
		if (!nd)
			return 0;
		if (b->data)
			memcpy(nd, b->data, b->len);
		safe_free(b->data);
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

static size_t on_header(char *buf, size_t size, size_t n, void *user)
{
	double *retry_after = user;
	size_t len = size * n;

	if (len > 12 && strncasecmp(buf, "Retry-After:", 12) == 0)
		*retry_after = strtod(buf + 12, NULL);
	return len;
}

int kf_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
}

int kf_session_new(const struct kf_config *c, const struct kf_clock *clock, struct kf_session **out)
{
	struct kf_session *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->c = *c;
	s->clock = clock ? clock : &kf_real_clock;
	s->deadline = s->clock->now(s->clock->ctx) + c->retry_cap_s;
	s->curl = curl_easy_init();
	if (!s->curl) {
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void kf_session_free(struct kf_session *s)
{
	if (!s)
		return;
	curl_easy_cleanup(s->curl);
	safe_free(s->token);
	free(s);
}

static void set_error(struct kf_error *e, const char *url, long status, const char *code,
		      const char *message)
{
	const char *q = strchr(url, '?');

	snprintf(e->endpoint, sizeof(e->endpoint), "%.*s", q ? (int)(q - url) : (int)strlen(url), url);
	e->http_status = status;
	snprintf(e->code, sizeof(e->code), "%s", code ? code : "");
	snprintf(e->message, sizeof(e->message), "%s", message ? message : "");
}

/* Fills err from an error body {"error":{"code":..,"message":..,"innererror":{"code":..}}}. */
static void error_from_body(struct kf_error *e, const char *url, long status, const struct body *b)
{
	struct json_object *o = b->data ? json_tokener_parse(b->data) : NULL, *err, *f, *inner;
	char code[96] = "", msg[384] = "";

	if (o && json_object_object_get_ex(o, "error", &err)) {
		if (json_object_is_type(err, json_type_object)) {
			if (json_object_object_get_ex(err, "code", &f))
				snprintf(code, sizeof(code), "%s", json_object_get_string(f));
			if (json_object_object_get_ex(err, "innererror", &inner) &&
			    json_object_object_get_ex(inner, "code", &f))
				snprintf(code + strlen(code), sizeof(code) - strlen(code), "/%s",
					 json_object_get_string(f));
			if (json_object_object_get_ex(err, "message", &f))
				snprintf(msg, sizeof(msg), "%s", json_object_get_string(f));
		} else {
			/* IMDS: {"error":"invalid_request","error_description":"..."} */
			snprintf(code, sizeof(code), "%s", json_object_get_string(err));
			if (json_object_object_get_ex(o, "error_description", &f))
				snprintf(msg, sizeof(msg), "%s", json_object_get_string(f));
		}
	}
	json_object_put(o);
	set_error(e, url, status, code, msg);
}

struct request {
	struct kf_session *s;
	const char *method, *url;
	const char *body; /* may carry key material; not copied by curl */
	bool metadata;    /* IMDS: Metadata: true, never a proxy */
	struct body resp;
	long status;
	struct kf_error *err;
};

/* One HTTP exchange. Returns 0 on 2xx, -EAGAIN when it may be retried. */
static int attempt(void *ctx, long *status, double *retry_after)
{
	struct request *rq = ctx;
	struct kf_session *s = rq->s;
	struct curl_slist *hdrs = NULL;
	char *auth = NULL;
	double left = s->deadline - s->clock->now(s->clock->ctx);
	CURLcode cc;
	int r;

	body_free(&rq->resp);
	curl_easy_reset(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_URL, rq->url);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->c.ca_bundle)
		curl_easy_setopt(s->curl, CURLOPT_CAINFO, s->c.ca_bundle);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)((left < 1 ? 1 : left > 30 ? 30 : left) * 1000));
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &rq->resp);
	curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, retry_after);
	if (rq->metadata) {
		curl_easy_setopt(s->curl, CURLOPT_NOPROXY, "*");
		hdrs = curl_slist_append(hdrs, "Metadata: true");
	} else {
		size_t n = strlen(s->token) + 32;
		auth = safe_alloc(n);
		if (!auth)
			return -ENOMEM;
		snprintf(auth, n, "Authorization: Bearer %s", s->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (rq->body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(rq->body));
	}
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(s->curl);
	/* curl copied the Authorization header: wipe its copy too. */
	for (struct curl_slist *h = hdrs; h; h = h->next)
		safe_wipe(h->data, strlen(h->data));
	curl_slist_free_all(hdrs);
	safe_free(auth);

	if (cc != CURLE_OK) {
		set_error(rq->err, rq->url, 0, curl_easy_strerror(cc), "no answer");
		*status = 0;
		/* A certificate that does not verify is no outage: never retried. */
		if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
		    cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CONNECT_ERROR)
			return cc == CURLE_SSL_CONNECT_ERROR ? -EAGAIN : -EACCES;
		return -EAGAIN;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &rq->status);
	*status = rq->status;
	if (rq->status >= 200 && rq->status < 300)
		return 0;
	error_from_body(rq->err, rq->url, rq->status, &rq->resp);
	/* 404 from Key Vault is KeyNotFound; from IMDS it means "updating". */
	if (rq->status == 404 && !rq->metadata)
		return -ENOKEY;
	if (kf_retryable(rq->status))
		return -EAGAIN;
	r = -EACCES;
	return r;
}

static int request(struct kf_session *s, const char *method, const char *url, const char *body,
		   bool metadata, struct body *resp, struct kf_error *err)
{
	struct request rq = { .s = s, .method = method, .url = url, .body = body,
			      .metadata = metadata, .err = err };
	unsigned attempts = 0;
	int r;

	memset(err, 0, sizeof(*err));
	r = kf_retry_run(s->clock, s->deadline, attempt, &rq, &attempts);
	if (r == -EHOSTUNREACH)
		snprintf(err->message + strlen(err->message),
			 sizeof(err->message) - strlen(err->message),
			 "%sgave up after %u attempts within retry_cap_s=%u",
			 err->message[0] ? "; " : "", attempts, s->c.retry_cap_s);
	if (r < 0) {
		body_free(&rq.resp);
		return r;
	}
	*resp = rq.resp;
	return 0;
}

/* Copies a string member into safe memory and wipes json-c's copy. */
static char *take_secret(struct json_object *o, const char *key)
{
	struct json_object *f;
	const char *v;
	char *out;
	size_t len;

	if (!json_object_object_get_ex(o, key, &f) || !json_object_is_type(f, json_type_string))
		return NULL;
	v = json_object_get_string(f);
	len = strlen(v);
	out = safe_alloc(len + 1);
	if (out)
		memcpy(out, v, len);
	safe_wipe((char *)v, len);
	return out;
}

static int get_token(struct kf_session *s, struct kf_error *err)
{
	struct body b = { 0 };
	struct json_object *o;
	char url[2048];
	char *esc = NULL;
	int r;

	if (s->token)
		return 0;
	snprintf(url, sizeof(url), "%s%s", s->c.imds_endpoint, IMDS_TOKEN_PATH);
	if (s->c.client_id || s->c.msi_res_id) {
		const char *v = s->c.client_id ? s->c.client_id : s->c.msi_res_id;
		esc = curl_easy_escape(s->curl, v, 0);
		snprintf(url + strlen(url), sizeof(url) - strlen(url), "&%s=%s",
			 s->c.client_id ? "client_id" : "msi_res_id", esc ? esc : "");
		curl_free(esc);
	}
	r = request(s, "GET", url, NULL, true, &b, err);
	if (r < 0)
		return r;
	o = json_tokener_parse(b.data);
	s->token = o ? take_secret(o, "access_token") : NULL;
	json_object_put(o);
	body_free(&b);
	if (!s->token || !s->token[0]) {
		set_error(err, url, 200, "", "the token response has no access_token");
		return -EBADMSG;
	}
	return 0;
}

int kf_imds_get(struct kf_session *s, const char *path, char **json, struct kf_error *err)
{
	struct body b = { 0 };
	char url[1024];
	int r;

	snprintf(url, sizeof(url), "%s%s", s->c.imds_endpoint, path);
	r = request(s, "GET", url, NULL, true, &b, err);
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

	snprintf(url, sizeof(url), "%s%s", s->c.imds_endpoint, path);
	r = request(s, "POST", url, body, true, &b, err);
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
		set_error(err, path, 200, "", "the instance metadata has no compute.tagsList");
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
static int check_in_vault(struct kf_session *s, const char *kid, struct kf_error *err)
{
	char vault[256], want[256], name[128], ver[64];
	char dummy[128];

	if (!s->c.vault_url) {
		set_error(err, kid, 0, "", "this session has no vault");
		return -EXDEV;
	}
	if (kf_parse_key_url(kid, vault, sizeof(vault), name, sizeof(name), ver, sizeof(ver)) < 0 ||
	    kf_parse_key_url(s->c.vault_url, want, sizeof(want), dummy, sizeof(dummy), dummy,
			     sizeof(dummy)) != -ENOENT) {
		set_error(err, kid, 0, "", "not a Key Vault key URL");
		return -EBADMSG;
	}
	if (strcmp(vault, want) != 0) {
		set_error(err, kid, 0, "", "the key is not in the configured vault");
		snprintf(err->message, sizeof(err->message),
			 "the key is in %s, not in the configured vault %s", vault, want);
		return -EXDEV;
	}
	return 0;
}

int kf_get_key(struct kf_session *s, const char *name, const char *version,
	       struct kf_key_info *info, struct kf_error *err)
{
	struct json_object *o = NULL, *key, *attr, *f;
	struct body b = { 0 };
	char url[2048];
	int r;

	memset(info, 0, sizeof(*info));
	r = get_token(s, err);
	if (r < 0)
		return r;
	snprintf(url, sizeof(url), "%s/keys/%s%s%s?" KV_API, s->c.vault_url, name,
		 version && *version ? "/" : "", version ? version : "");
	r = request(s, "GET", url, NULL, false, &b, err);
	if (r < 0)
		return r;
	o = json_tokener_parse(b.data);
	if (!o || !json_object_object_get_ex(o, "key", &key) ||
	    !json_object_object_get_ex(key, "kid", &f)) {
		set_error(err, url, 200, "", "the get-key response has no key.kid");
		r = -EBADMSG;
		goto out;
	}
	snprintf(info->kid, sizeof(info->kid), "%s", json_object_get_string(f));
	if (json_object_object_get_ex(key, "kty", &f))
		snprintf(info->kty, sizeof(info->kty), "%s", json_object_get_string(f));
	if (json_object_object_get_ex(key, "key_ops", &f) && json_object_is_type(f, json_type_array))
		for (size_t i = 0; i < json_object_array_length(f); i++) {
			const char *op = json_object_get_string(json_object_array_get_idx(f, i));
			info->wrap_key |= op && !strcmp(op, "wrapKey");
			info->unwrap_key |= op && !strcmp(op, "unwrapKey");
		}
	if (json_object_object_get_ex(o, "attributes", &attr)) {
		info->enabled = json_object_object_get_ex(attr, "enabled", &f) && json_object_get_boolean(f);
		if (json_object_object_get_ex(attr, "recoveryLevel", &f))
			snprintf(info->recovery_level, sizeof(info->recovery_level), "%s",
				 json_object_get_string(f));
	}
	r = check_in_vault(s, info->kid, err);
out:
	json_object_put(o);
	body_free(&b);
	return r;
}

int kf_check_key(const struct kf_key_info *k, char *why, size_t size)
{
	const char *rl = k->recovery_level;

	if (strcmp(k->kty, "RSA") != 0 && strcmp(k->kty, "RSA-HSM") != 0)
		return snprintf(why, size, "%s is a %s key, not RSA", k->kid, k->kty[0] ? k->kty : "untyped"),
		       -EKEYREJECTED;
	if (!k->wrap_key || !k->unwrap_key)
		return snprintf(why, size, "%s: key_ops lacks %s", k->kid,
				!k->wrap_key && !k->unwrap_key ? "wrapKey and unwrapKey"
				: !k->wrap_key ? "wrapKey" : "unwrapKey"),
		       -EKEYREJECTED;
	if (!k->enabled)
		return snprintf(why, size, "%s is disabled", k->kid), -EKEYREJECTED;
	/* Purge protection: Recoverable or CustomizedRecoverable, optionally
	 * +ProtectedSubscription; "+Purgeable" means soft delete only. */
	if ((strncmp(rl, "Recoverable", 11) != 0 && strncmp(rl, "CustomizedRecoverable", 21) != 0) ||
	    strstr(rl, "Purgeable"))
		return snprintf(why, size,
				"%s: recoveryLevel is '%s'; the vault needs soft delete and purge protection",
				k->kid, rl[0] ? rl : "(missing)"),
		       -EKEYREJECTED;
	return 0;
}

static int key_op(struct kf_session *s, const char *kid, const char *op, const char *value,
		  struct body *resp, struct kf_error *err)
{
	size_t n = strlen(value) + 64;
	char url[2048], *body;
	int r;

	r = check_in_vault(s, kid, err);
	if (r < 0)
		return r;
	r = get_token(s, err);
	if (r < 0)
		return r;
	snprintf(url, sizeof(url), "%s/%s?" KV_API, kid, op);
	body = safe_alloc(n);
	if (!body)
		return -ENOMEM;
	snprintf(body, n, "{\"alg\":\"RSA-OAEP-256\",\"value\":\"%s\"}", value);
	r = request(s, "POST", url, body, false, resp, err);
	safe_free(body);
	return r;
}

int kf_wrap(struct kf_session *s, const char *kid, const void *key, size_t key_len,
	    char **wrapped, struct kf_error *err)
{
	struct body b = { 0 };
	struct json_object *o, *f;
	char *value = kf_b64url_encode(key, key_len);
	int r;

	if (!value)
		return -ENOMEM;
	r = key_op(s, kid, "wrapkey", value, &b, err);
	safe_free(value);
	if (r < 0)
		return r;
	o = json_tokener_parse(b.data);
	if (o && json_object_object_get_ex(o, "value", &f) && json_object_is_type(f, json_type_string))
		*wrapped = strdup(json_object_get_string(f));
	else {
		set_error(err, kid, 200, "", "the wrapkey response has no value");
		r = -EBADMSG;
	}
	json_object_put(o);
	body_free(&b);
	return r;
}

int kf_unwrap(struct kf_session *s, const char *kid, const char *wrapped, void **key,
	      size_t *key_len, struct kf_error *err)
{
	struct body b = { 0 };
	struct json_object *o;
	char *value;
	int r;

	r = key_op(s, kid, "unwrapkey", wrapped, &b, err);
	if (r < 0)
		return r;
	o = json_tokener_parse(b.data);
	value = o ? take_secret(o, "value") : NULL;
	json_object_put(o);
	body_free(&b);
	if (!value) {
		set_error(err, kid, 200, "", "the unwrapkey response has no value");
		return -EBADMSG;
	}
	r = kf_b64url_decode(value, key, key_len);
	safe_free(value);
	if (r < 0)
		set_error(err, kid, 200, "", "the unwrapped value is not base64url");
	return r;
}

int kf_parse_key_url(const char *url, char *vault, size_t vault_size, char *name,
		     size_t name_size, char *version, size_t version_size)
{
	const char *host, *slash, *p;
	size_t n;

	if (strncasecmp(url, "https://", 8) != 0)
		return -EINVAL;
	host = url + 8;
	slash = strchr(host, '/');
	n = slash ? (size_t)(slash - host) : strlen(host);
	if (!n || n >= vault_size || memchr(host, '@', n) || memchr(host, '?', n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		vault[i] = (char)tolower((unsigned char)host[i]);
	vault[n] = '\0';
	name[0] = version[0] = '\0';
	if (!slash || !slash[1])
		return -ENOENT; /* a vault URL, no key */
	if (strncmp(slash, "/keys/", 6) != 0)
		return -EINVAL;
	p = slash + 6;
	n = strcspn(p, "/?");
	if (!n || n >= name_size)
		return -EINVAL;
	snprintf(name, name_size, "%.*s", (int)n, p);
	p += n;
	if (*p == '/' && p[1] && p[1] != '?') {
		n = strcspn(p + 1, "/?");
		if (n >= version_size)
			return -EINVAL;
		snprintf(version, version_size, "%.*s", (int)n, p + 1);
		p += 1 + n;
	}
	if (*p == '/')
		p++;
	return *p == '\0' ? 0 : -EINVAL;
}
