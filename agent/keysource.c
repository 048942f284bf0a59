// SPDX-License-Identifier: MIT
#include "agent/keysource.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/log.h"
#include "agent/safemem.h"
#include "dm/dm.h"

struct hbi {
	struct kf_session *s;
	struct kf_key_info key;
};

int hbi_log_error(int r, const char *what, const struct kf_error *e)
{
	if (e->http_status)
		return log_error_errno(r, "%s: %s: HTTP %ld%s%s%s%s", what, e->endpoint,
				       e->http_status, e->code[0] ? " " : "", e->code,
				       e->message[0] ? ": " : "", e->message);
	return log_error_errno(r, "%s: %s: %s%s%s", what, e->endpoint[0] ? e->endpoint : "-",
			       e->code[0] ? e->code : "", e->code[0] && e->message[0] ? ": " : "",
			       e->message);
}

int hbi_open(const struct cfg *c, const char *key_url, struct hbi **out)
{
	struct kf_config kc = {
		.imds_endpoint = c->hbi.imds_endpoint,
		.client_id = c->hbi.client_id,
		.msi_res_id = c->hbi.msi_res_id,
		.vault_url = c->hbi.vault_url,
		.ca_bundle = c->hbi.ca_bundle,
		.retry_cap_s = c->hbi.retry_cap_s,
	};
	char vault[256], want[256], name[128], version[64], why[640];
	struct kf_error e;
	struct hbi *h;
	int r;

	if (key_url) {
		char d1[8], d2[8];
		r = kf_parse_key_url(key_url, vault, sizeof(vault), name, sizeof(name), version,
				     sizeof(version));
		if (r < 0)
			return log_error_errno(-EINVAL, "%s is not a Key Vault key URL "
					       "(https://VAULT.vault.azure.net/keys/NAME[/VERSION])",
					       key_url);
		(void)kf_parse_key_url(c->hbi.vault_url, want, sizeof(want), d1, sizeof(d1), d2,
				       sizeof(d2));
		if (strcmp(vault, want) != 0) {
			log_error("%s is in vault %s, but the disks' key is in vault %s: a key can "
				  "only be updated to a key in the same Key Vault",
				  key_url, vault, want);
			return -EXDEV;
		}
	} else {
		snprintf(name, sizeof(name), "%s", c->hbi.key_name);
		snprintf(version, sizeof(version), "%s", c->hbi.key_version ? c->hbi.key_version : "");
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = kf_session_new(&kc, NULL, &h->s);
	if (r < 0)
		goto fail;
	r = kf_get_key(h->s, name, version, &h->key, &e);
	if (r < 0) {
		hbi_log_error(r, "cannot get the HBI key", &e);
		goto fail;
	}
	r = kf_check_key(&h->key, why, sizeof(why));
	if (r < 0) {
		log_error("the HBI key cannot be used: %s", why);
		goto fail;
	}
	*out = h;
	return 0;
fail:
	hbi_close(h);
	return r;
}

void hbi_close(struct hbi *h)
{
	if (!h)
		return;
	kf_session_free(h->s);
	free(h);
}

const char *hbi_kid(const struct hbi *h)
{
	return h->key.kid;
}

int hbi_wrap(struct hbi *h, const void *key, size_t len, char **token)
{
	struct json_object *o;
	struct kf_error e;
	char *wrapped = NULL;
	int r;

	r = kf_wrap(h->s, h->key.kid, key, len, &wrapped, &e);
	if (r < 0)
		return hbi_log_error(r, "cannot wrap the volume key", &e);
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(HBI_TOKEN_TYPE));
	json_object_object_add(o, "keyslots", json_object_new_array());
	json_object_object_add(o, "kid", json_object_new_string(h->key.kid));
	json_object_object_add(o, "alg", json_object_new_string("RSA-OAEP-256"));
	json_object_object_add(o, "wrapped_key", json_object_new_string(wrapped));
	json_object_object_add(o, "created", json_object_new_int64((int64_t)time(NULL)));
	*token = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	free(wrapped);
	return *token ? 0 : -ENOMEM;
}

static int read_token(const char *dev, char *kid, size_t kid_size, char **wrapped)
{
	struct json_object *o, *f;
	char *json = NULL;
	int r = dm_luks_token_get(dev, HBI_TOKEN_TYPE, &json);

	if (r < 0)
		return r;
	o = json_tokener_parse(json);
	free(json);
	r = -EBADMSG;
	if (o && json_object_object_get_ex(o, "kid", &f)) {
		snprintf(kid, kid_size, "%s", json_object_get_string(f));
		r = 0;
		if (wrapped) {
			r = -EBADMSG;
			if (json_object_object_get_ex(o, "wrapped_key", &f) &&
			    (*wrapped = strdup(json_object_get_string(f))))
				r = 0;
		}
	}
	json_object_put(o);
	return r;
}

int hbi_disk_kid(const char *dev, char *kid, size_t size)
{
	return read_token(dev, kid, size, NULL);
}

int hbi_unwrap_disk(struct hbi *h, const char *dev, void **key, size_t *len)
{
	struct kf_error e;
	char kid[512], *wrapped = NULL, what[320];
	int r = read_token(dev, kid, sizeof(kid), &wrapped);

	if (r < 0)
		return log_error_errno(r, "%s: no readable %s token in its LUKS2 header: %m", dev,
				       HBI_TOKEN_TYPE);
	r = kf_unwrap(h->s, kid, wrapped, key, len, &e);
	free(wrapped);
	if (r < 0) {
		snprintf(what, sizeof(what), "%s: cannot unwrap its volume key", dev);
		return hbi_log_error(r, what, &e);
	}
	return 0;
}

int hbi_rewrap_disk(struct hbi *h, const char *dev)
{
	void *key = NULL;
	size_t len = 0;
	char *token = NULL;
	int r = hbi_unwrap_disk(h, dev, &key, &len);

	if (r < 0)
		return r;
	r = hbi_wrap(h, key, len, &token);
	safe_free(key);
	if (r < 0)
		return r;
	r = dm_luks_token_set(dev, token);
	free(token);
	if (r < 0)
		return log_error_errno(r, "%s: cannot write the new %s token: %m", dev, HBI_TOKEN_TYPE);
	return 0;
}
