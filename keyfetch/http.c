// SPDX-License-Identifier: MIT
/* The HTTP session over libcurl: the only user of curl.h. */
#include <ctype.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/safemem.h"
#include "keyfetch/curlso.h"
#include "keyfetch/session.h"

#define MAX_BODY (64 * 1024)

struct kf_session {
	const struct curl_fns *curl_fns; /* libcurl's functions */
	struct kf_config c;
	const struct kf_clock *clock;
	double deadline;
	CURL *curl;
	char *token; /* safe memory */
};


void body_free(struct body *b)
{
	safe_free(b->data);
	memset(b, 0, sizeof(*b));
}

static size_t on_data(char *ptr, size_t size, size_t n, void *user)
{
	struct body *b = user;
	size_t add = size * n;

	if (b->len + add + 1 > MAX_BODY) {
		b->too_big = true;
		return 0;
	}
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

	/* curl's header line is not NUL-terminated. */
	(void)kf_parse_retry_after(buf, len, retry_after);
	return len;
}

/* OpenSSL wipes each record's plaintext from its buffers once read. */
static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *user)
{
	(void)curl;
	(void)user;
	SSL_CTX_set_options(ssl_ctx, SSL_OP_CLEANSE_PLAINTEXT);
	return CURLE_OK;
}

int kf_global_init(void)
{
	return curl_fns() ? 0 : -ELIBACC;
}

void kf_global_cleanup(void)
{
	/* libcurl stays loaded and initialised until the process ends. */
}

int kf_session_new(const struct kf_config *c, const struct kf_clock *clock, struct kf_session **out)
{
	struct kf_session *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->curl_fns = curl_fns();
	if (!s->curl_fns) {
		free(s);
		return -ELIBACC;
	}
	s->c = *c;
	s->clock = clock ? clock : &kf_real_clock;
	s->deadline = s->clock->now(s->clock->ctx) + c->retry_cap_s;
	s->curl = s->curl_fns->easy_init();
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
	s->curl_fns->easy_cleanup(s->curl);
	safe_free(s->token);
	free(s);
}

void kf_set_error(struct kf_error *e, const char *url, long status, const char *code,
		  const char *message)
{
	const char *q = strchr(url, '?');

	snprintf(e->endpoint, sizeof(e->endpoint), "%.*s", q ? (int)(q - url) : (int)strlen(url), url);
	e->http_status = status;
	snprintf(e->code, sizeof(e->code), "%s", code ? code : "");
	snprintf(e->message, sizeof(e->message), "%s", message ? message : "");
}

static void error_from_body(struct kf_error *e, const char *url, long status, const struct body *b)
{
	char code[96], msg[384];

	kf_parse_error_body(b->data, b->len, code, sizeof(code), msg, sizeof(msg));
	kf_set_error(e, url, status, code, msg);
}

int kf_error_reason(struct reason *why, int r, const char *what, const struct kf_error *e)
{
	if (e->http_status)
		return reason_set(why, r, "%s: %s: HTTP %ld%s%s%s%s", what, e->endpoint,
				  e->http_status, e->code[0] ? " " : "", e->code,
				  e->message[0] ? ": " : "", e->message);
	return reason_set(why, r, "%s: %s: %s%s%s", what, e->endpoint[0] ? e->endpoint : "-",
			  e->code[0] ? e->code : "", e->code[0] && e->message[0] ? ": " : "",
			  e->message);
}

struct request {
	struct kf_session *s;
	const char *url;
	const char *body; /* may carry key material; not copied by curl */
	bool metadata;    /* IMDS: Metadata: true, never a proxy */
	struct body resp;
	long status;
	struct kf_error *err;
};

/* One HTTP exchange. Returns 0 on 2xx, -EAGAIN when it may be retried. */
/* The options every request shares: verified TLS, no redirects, no
 * signals, a timeout within what is left of the retry cap. */
static void set_common_options(struct request *rq, double *retry_after)
{
	struct kf_session *s = rq->s;
	double left = s->deadline - s->clock->now(s->clock->ctx);
	double most = s->c.request_timeout_s ? s->c.request_timeout_s : 30;

	s->curl_fns->easy_reset(s->curl);
	s->curl_fns->easy_setopt(s->curl, CURLOPT_URL, rq->url);
	s->curl_fns->easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	s->curl_fns->easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	s->curl_fns->easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
	s->curl_fns->easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	s->curl_fns->easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	s->curl_fns->easy_setopt(s->curl, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	if (s->c.ca_bundle)
		s->curl_fns->easy_setopt(s->curl, CURLOPT_CAINFO, s->c.ca_bundle);
	s->curl_fns->easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	s->curl_fns->easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)((left < 1 ? 1 : left > most ? most : left) * 1000));
	s->curl_fns->easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_data);
	s->curl_fns->easy_setopt(s->curl, CURLOPT_WRITEDATA, &rq->resp);
	s->curl_fns->easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header);
	s->curl_fns->easy_setopt(s->curl, CURLOPT_HEADERDATA, retry_after);
}

/* What a failed transfer or a non-2xx answer means for the retry loop. */
static int classify(struct request *rq, CURLcode cc, long *status)
{
	if (cc == CURLE_WRITE_ERROR && rq->resp.too_big) {
		/* No reply of these services is near this size: no retry. */
		kf_set_error(rq->err, rq->url, 0, "", "the answer is larger than 64 KiB; "
			     "no reply of this service is");
		*status = 0;
		return -EBADMSG;
	}
	if (cc != CURLE_OK) {
		kf_set_error(rq->err, rq->url, 0, rq->s->curl_fns->easy_strerror(cc), "no answer");
		*status = 0;
		/* A certificate that does not verify is no outage: never retried. */
		if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
		    cc == CURLE_SSL_CERTPROBLEM)
			return -EACCES;
		return -EAGAIN;
	}
	rq->s->curl_fns->easy_getinfo(rq->s->curl, CURLINFO_RESPONSE_CODE, &rq->status);
	*status = rq->status;
	if (rq->status >= 200 && rq->status < 300)
		return 0;
	if (rq->status >= 300 && rq->status < 400) {
		char *to = NULL, msg[384];

		/* The token goes to the configured host only: never followed. */
		rq->s->curl_fns->easy_getinfo(rq->s->curl, CURLINFO_REDIRECT_URL, &to);
		snprintf(msg, sizeof(msg), "redirected to %.300s; scratchcrypt follows no redirects",
			 to ? to : "(no Location)");
		kf_set_error(rq->err, rq->url, rq->status, "", msg);
		return -EBADMSG;
	}
	error_from_body(rq->err, rq->url, rq->status, &rq->resp);
	/* 404 from Key Vault is KeyNotFound; from IMDS it means "updating". */
	if (rq->status == 404 && !rq->metadata)
		return -ENOKEY;
	return kf_retryable(rq->status) ? -EAGAIN : -EACCES;
}

static int attempt(void *ctx, long *status, double *retry_after)
{
	struct request *rq = ctx;
	struct kf_session *s = rq->s;
	struct curl_slist *hdrs = NULL;
	char *auth = NULL;
	CURLcode cc;

	body_free(&rq->resp);
	set_common_options(rq, retry_after);
	if (rq->metadata) {
		s->curl_fns->easy_setopt(s->curl, CURLOPT_NOPROXY, "*");
		hdrs = s->curl_fns->slist_append(hdrs, "Metadata: true");
	} else {
		size_t n = strlen(s->token) + 32;

		auth = safe_alloc(n);
		if (!auth)
			return -ENOMEM;
		snprintf(auth, n, "Authorization: Bearer %s", s->token);
		hdrs = s->curl_fns->slist_append(hdrs, auth);
	}
	if (rq->body) {
		hdrs = s->curl_fns->slist_append(hdrs, "Content-Type: application/json");
		s->curl_fns->easy_setopt(s->curl, CURLOPT_POSTFIELDS, rq->body);
		s->curl_fns->easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(rq->body));
	}
	s->curl_fns->easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
	cc = s->curl_fns->easy_perform(s->curl);
	/* curl copied the Authorization header: wipe its copy too. */
	for (struct curl_slist *h = hdrs; h; h = h->next)
		safe_wipe(h->data, strlen(h->data));
	s->curl_fns->slist_free_all(hdrs);
	safe_free(auth);
	return classify(rq, cc, status);
}

int kf_request(struct kf_session *s, const char *url, const char *body,
		   bool metadata, struct body *resp, struct kf_error *err)
{
	struct request rq = { .s = s, .url = url, .body = body,
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

int kf_get_token(struct kf_session *s, struct kf_error *err)
{
	struct body b = { 0 };
	char url[2048];
	char *esc = NULL;
	int r;

	if (s->token)
		return 0;
	esc = s->curl_fns->easy_escape(s->curl, kf_vault_resource(s->c.vault_url), 0);
	snprintf(url, sizeof(url), "%s%s%s", s->c.imds_endpoint, IMDS_TOKEN_PATH, esc ? esc : "");
	s->curl_fns->free(esc);
	if (s->c.client_id || s->c.msi_res_id) {
		const char *v = s->c.client_id ? s->c.client_id : s->c.msi_res_id;
		esc = s->curl_fns->easy_escape(s->curl, v, 0);
		snprintf(url + strlen(url), sizeof(url) - strlen(url), "&%s=%s",
			 s->c.client_id ? "client_id" : "msi_res_id", esc ? esc : "");
		s->curl_fns->free(esc);
	}
	r = kf_request(s, url, NULL, true, &b, err);
	if (r < 0)
		return r;
	r = kf_parse_token(b.data, b.len, &s->token);
	body_free(&b);
	if (r < 0)
		kf_set_error(err, url, 200, "", "the token response has no usable access_token");
	return r;
}

const struct kf_config *kf_session_config(const struct kf_session *s)
{
	return &s->c;
}

const char *kf_session_token(const struct kf_session *s)
{
	return s->token;
}

void kf_session_set_token(struct kf_session *s, char *token)
{
	safe_free(s->token);
	s->token = token;
}
