// SPDX-License-Identifier: MIT
/* The services' replies, as bytes in and values out. Nothing here does I/O,
 * so the unit tests and the fuzz targets (tests/fuzz/) call these directly.
 * A reply is untrusted: any byte string gives 0 or -EBADMSG, never a crash. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/safemem.h"
#include "keyfetch/keyfetch.h"

/* The body is not NUL-terminated: never strspn() it. */
static bool only_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* The whole body as one JSON object, or NULL: empty, truncated, trailing
 * bytes, another type, or deeper than any reply we read. */
struct json_object *kf_json_object(const char *data, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	if (!data || !len || len > INT_MAX)
		return NULL;
	tok = json_tokener_new_ex(16);
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, data, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (end > len)
		end = len;
	if (json_tokener_get_error(tok) != json_tokener_success || !o ||
	    !json_object_is_type(o, json_type_object) || !only_space(data + end, len - end)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static struct json_object *get_string(struct json_object *o, const char *key)
{
	struct json_object *f;

	if (!o || !json_object_object_get_ex(o, key, &f) || !json_object_is_type(f, json_type_string))
		return NULL;
	return f;
}

/* A member that must be a string; NULL for any other type, none, or a
 * string with "\u0000" in it (C would read only the part before it). */
const char *kf_json_string(struct json_object *o, const char *key)
{
	struct json_object *f = get_string(o, key);
	const char *v = f ? json_object_get_string(f) : NULL;

	if (!v || strlen(v) != (size_t)json_object_get_string_len(f))
		return NULL;
	return v;
}

static struct json_object *get_object(struct json_object *o, const char *key)
{
	struct json_object *f;

	if (!o || !json_object_object_get_ex(o, key, &f) || !json_object_is_type(f, json_type_object))
		return NULL;
	return f;
}

/* Copies a string member into safe memory and wipes json-c's copy, all of
 * it, even when it is refused. */
static char *take_secret(struct json_object *o, const char *key)
{
	struct json_object *f = get_string(o, key);
	const char *v = kf_json_string(o, key);
	char *out = NULL;

	if (v) {
		out = safe_alloc(strlen(v) + 1);
		if (out)
			memcpy(out, v, strlen(v));
	}
	if (f)
		safe_wipe((char *)json_object_get_string(f), (size_t)json_object_get_string_len(f));
	return out;
}

int kf_parse_token(const char *body, size_t len, char **token)
{
	struct json_object *o = kf_json_object(body, len);
	char *t = take_secret(o, "access_token");

	json_object_put(o);
	if (!t || !t[0] || strpbrk(t, "\r\n")) {
		safe_free(t);
		return -EBADMSG;
	}
	*token = t;
	return 0;
}

/* The size of an RSA modulus given as base64url of its big-endian bytes. */
static unsigned modulus_bits(const char *n)
{
	unsigned char *d;
	size_t len, i = 0;
	unsigned bits = 0;

	if (!n || kf_b64url_decode(n, (void **)&d, &len) < 0)
		return 0;
	while (i < len && d[i] == 0)
		i++;
	if (i < len) {
		bits = (unsigned)(len - i - 1) * 8;
		for (unsigned char top = d[i]; top; top >>= 1)
			bits++;
	}
	safe_free(d);
	return bits;
}

int kf_parse_key(const char *body, size_t len, struct kf_key_info *info)
{
	struct json_object *o = kf_json_object(body, len), *key = get_object(o, "key"),
			   *attr = get_object(o, "attributes"), *ops, *f;
	const char *kid = kf_json_string(key, "kid"), *v;
	int r = -EBADMSG;

	memset(info, 0, sizeof(*info));
	if (!kid || !kid[0] || strlen(kid) >= sizeof(info->kid))
		goto out;
	snprintf(info->kid, sizeof(info->kid), "%s", kid);
	if ((v = kf_json_string(key, "kty")))
		snprintf(info->kty, sizeof(info->kty), "%s", v);
	if (json_object_object_get_ex(key, "key_ops", &ops) && json_object_is_type(ops, json_type_array))
		for (size_t i = 0; i < json_object_array_length(ops); i++) {
			f = json_object_array_get_idx(ops, i);
			if (!json_object_is_type(f, json_type_string))
				continue;
			info->wrap_key |= strcmp(json_object_get_string(f), "wrapKey") == 0;
			info->unwrap_key |= strcmp(json_object_get_string(f), "unwrapKey") == 0;
		}
	info->enabled = attr && json_object_object_get_ex(attr, "enabled", &f) &&
			json_object_is_type(f, json_type_boolean) && json_object_get_boolean(f);
	if ((v = kf_json_string(attr, "recoveryLevel")))
		snprintf(info->recovery_level, sizeof(info->recovery_level), "%s", v);
	info->modulus_bits = modulus_bits(kf_json_string(key, "n"));
	r = 0;
out:
	json_object_put(o);
	return r;
}

/* base64url text that decodes: what a wrapkey reply carries. */
static bool is_b64url(const char *s)
{
	void *d;
	size_t n;

	if (!s || !s[0] || kf_b64url_decode(s, &d, &n) < 0)
		return false;
	safe_free(d);
	return true;
}

/* Key Vault answers with the kid of the key version it used: the one asked
 * for, or a version under it when it was asked without one. */
static bool same_key(const char *asked, const char *answered)
{
	size_t n = strlen(asked);

	if (!answered)
		return true;
	return strcmp(asked, answered) == 0 ||
	       (strncmp(asked, answered, n) == 0 && answered[n] == '/' && answered[n + 1] &&
		!strchr(answered + n + 1, '/'));
}

int kf_parse_op_reply(const char *body, size_t len, const char *kid, char **value)
{
	struct json_object *o = kf_json_object(body, len);
	char *v = take_secret(o, "value");
	int r = 0;

	if (!v || !is_b64url(v) || (kid && !same_key(kid, kf_json_string(o, "kid"))))
		r = -EBADMSG;
	json_object_put(o);
	if (r < 0) {
		safe_free(v);
		return r;
	}
	*value = v;
	return 0;
}

int kf_parse_tags(const char *body, size_t len,
		  void (*fn)(void *ctx, const char *name, const char *value), void *ctx)
{
	struct json_object *o = kf_json_object(body, len), *list;
	int r = -EBADMSG;

	if (!json_object_object_get_ex(get_object(o, "compute"), "tagsList", &list) ||
	    !json_object_is_type(list, json_type_array))
		goto out;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *t = json_object_array_get_idx(list, i);
		const char *n = kf_json_string(t, "name"), *v = kf_json_string(t, "value");

		/* A tag of another shape is no tag of ours. */
		if (n && v)
			fn(ctx, n, v);
	}
	r = 0;
out:
	json_object_put(o);
	return r;
}

void kf_parse_error_body(const char *body, size_t len, char *code, size_t code_size, char *msg,
			 size_t msg_size)
{
	struct json_object *o = kf_json_object(body, len), *err = get_object(o, "error");
	const char *c, *m, *inner;

	code[0] = msg[0] = '\0';
	if (err) {
		/* Key Vault: {"error":{"code":..,"message":..,"innererror":{"code":..}}} */
		c = kf_json_string(err, "code");
		inner = kf_json_string(get_object(err, "innererror"), "code");
		m = kf_json_string(err, "message");
		snprintf(code, code_size, "%s%s%s", c ? c : "", inner ? "/" : "", inner ? inner : "");
	} else {
		/* IMDS: {"error":"invalid_request","error_description":"..."} */
		c = kf_json_string(o, "error");
		m = kf_json_string(o, "error_description");
		snprintf(code, code_size, "%s", c ? c : "");
	}
	snprintf(msg, msg_size, "%s", m ? m : "");
	json_object_put(o);
}

int kf_parse_retry_after(const char *line, size_t len, double *seconds)
{
	static const char name[] = "Retry-After:";
	char v[32], *end;
	double d;
	size_t n;

	if (len < sizeof(name) - 1 || strncasecmp(line, name, sizeof(name) - 1) != 0)
		return -ENOENT;
	line += sizeof(name) - 1;
	len -= sizeof(name) - 1;
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	for (n = 0; n < len && n < sizeof(v) - 1 && line[n] >= '0' && line[n] <= '9'; n++)
		v[n] = line[n];
	v[n] = '\0';
	/* Only delta-seconds: an HTTP date or anything else is ignored. */
	if (!n || (n < len && line[n] != '\r' && line[n] != '\n' && line[n] != ' '))
		return -EBADMSG;
	d = strtod(v, &end);
	if (*end || !isfinite(d) || d > 86400)
		return -EBADMSG;
	*seconds = d;
	return 0;
}

const char *kf_vault_resource(const char *vault_url)
{
	static const struct {
		const char *suffix, *resource;
	} clouds[] = {
		{ ".vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net" },
		{ ".vault.azure.cn", "https://vault.azure.cn" },
	};
	char vault[256], d1[8], d2[8];

	if (vault_url && kf_parse_key_url(vault_url, vault, sizeof(vault), d1, sizeof(d1), d2,
					  sizeof(d2)) == -ENOENT) {
		/* The host, without a port. */
		vault[strcspn(vault, ":")] = '\0';
		for (size_t i = 0; i < sizeof(clouds) / sizeof(clouds[0]); i++) {
			size_t n = strlen(vault), m = strlen(clouds[i].suffix);

			if (n > m && strcmp(vault + n - m, clouds[i].suffix) == 0)
				return clouds[i].resource;
		}
	}
	return "https://vault.azure.net";
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
