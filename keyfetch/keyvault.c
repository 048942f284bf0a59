// SPDX-License-Identifier: MIT
/* Key Vault: get key, wrapkey, unwrapkey, and key URLs. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/safemem.h"
#include "keyfetch/session.h"

static int check_in_vault(struct kf_session *s, const char *kid, struct kf_error *err)
{
	char vault[256], want[256], name[128], ver[64];
	char dummy[128];

	if (!kf_session_config(s)->vault_url) {
		kf_set_error(err, kid, 0, "", "this session has no vault");
		return -EXDEV;
	}
	if (kf_parse_key_url(kid, vault, sizeof(vault), name, sizeof(name), ver, sizeof(ver)) < 0 ||
	    kf_parse_key_url(kf_session_config(s)->vault_url, want, sizeof(want), dummy, sizeof(dummy), dummy,
			     sizeof(dummy)) != -ENOENT) {
		kf_set_error(err, kid, 0, "", "not a Key Vault key URL");
		return -EBADMSG;
	}
	if (strcmp(vault, want) != 0) {
		kf_set_error(err, kid, 0, "", "the key is not in the configured vault");
		snprintf(err->message, sizeof(err->message),
			 "the key is in %s, not in the configured vault %s", vault, want);
		return -EXDEV;
	}
	return 0;
}

/* kid is name's key, and version's when one was asked for. Key Vault's
 * names are case-insensitive. */
static bool names_key(const char *kid, const char *name, const char *version)
{
	char vault[256], n[128], v[64];

	if (kf_parse_key_url(kid, vault, sizeof(vault), n, sizeof(n), v, sizeof(v)) < 0 || !v[0])
		return false;
	return strcasecmp(n, name) == 0 && (!version || !*version || strcmp(v, version) == 0);
}

int kf_get_key(struct kf_session *s, const char *name, const char *version,
	       struct kf_key_info *info, struct kf_error *err)
{
	struct body b = { 0 };
	char url[2048];
	int r;

	*err = (struct kf_error){ 0 };
	memset(info, 0, sizeof(*info));
	r = kf_get_token(s, err);
	if (r < 0)
		return r;
	snprintf(url, sizeof(url), "%s/keys/%s%s%s?" KV_API, kf_session_config(s)->vault_url, name,
		 version && *version ? "/" : "", version ? version : "");
	r = kf_request(s, url, NULL, false, &b, err);
	if (r < 0)
		return r;
	r = kf_parse_key(b.data, b.len, info);
	if (r < 0) {
		kf_set_error(err, url, 200, "", "the get-key response has no key.kid");
		goto out;
	}
	/* The reply must be about the key asked for, in the vault asked: the
	 * next requests go to its kid. */
	r = check_in_vault(s, info->kid, err) < 0 ? -EBADMSG : 0;
	if (r == 0 && !names_key(info->kid, name, version)) {
		char msg[sizeof(err->message)];

		snprintf(msg, sizeof(msg), "the get-key response is about %.200s, not key '%.64s'%s%.40s",
			 info->kid, name, version && *version ? " version " : "", version ? version : "");
		kf_set_error(err, url, 200, "", msg);
		r = -EBADMSG;
	}
out:
	body_free(&b);
	return r;
}

int kf_check_key(const struct kf_key_info *k, struct reason *why)
{
	const char *rl = k->recovery_level;

	if (strcmp(k->kty, "RSA") != 0 && strcmp(k->kty, "RSA-HSM") != 0)
		return reason_set(why, -EKEYREJECTED, "%s is a %s key, not RSA", k->kid,
				  k->kty[0] ? k->kty : "untyped");
	if (k->modulus_bits < 2048)
		return reason_set(why, -EKEYREJECTED,
				  "%s: its RSA modulus has %u bits; at least 2048 are needed", k->kid,
				  k->modulus_bits);
	if (!k->wrap_key || !k->unwrap_key)
		return reason_set(why, -EKEYREJECTED, "%s: key_ops lacks %s", k->kid,
				  !k->wrap_key && !k->unwrap_key ? "wrapKey and unwrapKey"
				  : !k->wrap_key ? "wrapKey" : "unwrapKey");
	if (!k->enabled)
		return reason_set(why, -EKEYREJECTED, "%s is disabled", k->kid);
	/* Purge protection: Recoverable or CustomizedRecoverable, optionally
	 * +ProtectedSubscription; "+Purgeable" means soft delete only. */
	if ((strncmp(rl, "Recoverable", 11) != 0 && strncmp(rl, "CustomizedRecoverable", 21) != 0) ||
	    strstr(rl, "Purgeable"))
		return reason_set(why, -EKEYREJECTED,
				  "%s: recoveryLevel is '%s'; the vault needs soft delete and purge "
				  "protection", k->kid, rl[0] ? rl : "(missing)");
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
	r = kf_get_token(s, err);
	if (r < 0)
		return r;
	snprintf(url, sizeof(url), "%s/%s?" KV_API, kid, op);
	body = safe_alloc(n);
	if (!body)
		return -ENOMEM;
	snprintf(body, n, "{\"alg\":\"RSA-OAEP-256\",\"value\":\"%s\"}", value);
	r = kf_request(s, url, body, false, resp, err);
	safe_free(body);
	return r;
}

int kf_wrap(struct kf_session *s, const struct kf_key_info *key, const void *volume_key,
	    size_t key_len, char **wrapped, struct kf_error *err)
{
	const char *kid = key->kid;
	struct body b = { 0 };
	char *value = kf_b64url_encode(volume_key, key_len);
	void *bin;
	size_t n;
	int r;

	*err = (struct kf_error){ 0 };
	if (!value)
		return -ENOMEM;
	r = key_op(s, kid, "wrapkey", value, &b, err);
	safe_free(value);
	if (r < 0)
		return r;
	r = kf_parse_op_reply(b.data, b.len, kid, &value);
	body_free(&b);
	if (r < 0) {
		kf_set_error(err, kid, 200, "", "the wrapkey response has no base64url value for this key");
		return r;
	}
	/* An RSA-OAEP ciphertext is exactly as long as the modulus. Anything
	 * else would be written to the disk and never unwrap again. */
	r = kf_b64url_decode(value, &bin, &n);
	if (r == 0) {
		safe_free(bin);
		if (n != (key->modulus_bits + 7) / 8) {
			char msg[160];

			snprintf(msg, sizeof(msg), "the wrapped key is %zu bytes; RSA-OAEP with a %u-bit key "
				 "gives %u", n, key->modulus_bits, (key->modulus_bits + 7) / 8);
			kf_set_error(err, kid, 200, "", msg);
			r = -EBADMSG;
		}
	}
	if (r < 0) {
		safe_free(value);
		return r;
	}
	/* A wrapped key is no secret: the caller gets ordinary memory. */
	*wrapped = strdup(value);
	safe_free(value);
	return *wrapped ? 0 : -ENOMEM;
}

int kf_unwrap(struct kf_session *s, const char *kid, const char *wrapped, void **key,
	      size_t *key_len, struct kf_error *err)
{
	struct body b = { 0 };
	char *value;
	int r;

	*err = (struct kf_error){ 0 };
	r = key_op(s, kid, "unwrapkey", wrapped, &b, err);
	if (r < 0)
		return r;
	r = kf_parse_op_reply(b.data, b.len, kid, &value);
	body_free(&b);
	if (r < 0) {
		kf_set_error(err, kid, 200, "", "the unwrapkey response has no base64url value for this key");
		return r;
	}
	r = kf_b64url_decode(value, key, key_len);
	safe_free(value);
	if (r < 0)
		kf_set_error(err, kid, 200, "", "the unwrapped value is not base64url");
	return r;
}

