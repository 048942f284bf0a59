// SPDX-License-Identifier: MIT
#include "agent/setup/keysource.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/safemem.h"
#include "agent/ondisk/token.h"
#include "base/crashpoint.h"

struct hbi {
	struct kf_session *s;
	struct kf_key_info key;
	/* The key names whose tokens this run accepts: the configured key,
	 * and for rewrap the key it moves to (so that a stopped rewrap can be
	 * run again). A token for any other key is refused, even in the same
	 * vault: its public half is all anyone needs to make one. */
	char accept[2][128];
};

void keysource_kf_config(const struct cfg *c, bool vault, unsigned retry_cap_s,
			 struct kf_config *kc)
{
	*kc = (struct kf_config){ .imds_endpoint = c->hbi.imds_endpoint, .retry_cap_s = retry_cap_s };
	if (!vault)
		return;
	kc->client_id = c->hbi.client_id;
	kc->msi_res_id = c->hbi.msi_res_id;
	kc->vault_url = c->hbi.vault_url;
	kc->ca_bundle = c->hbi.ca_bundle;
	kc->retry_cap_s = c->hbi.retry_cap_s;
}

int hbi_open(const struct cfg *c, const char *key_url, struct hbi **out, struct reason *why)
{
	struct kf_config kc;
	char vault[256], want[256], name[128], version[64];
	struct reason whykey = { "" };
	struct kf_error e;
	struct hbi *h;
	int r;

	keysource_kf_config(c, true, 0, &kc);
	if (key_url) {
		char d1[8], d2[8];
		r = kf_parse_key_url(key_url, vault, sizeof(vault), name, sizeof(name), version,
				     sizeof(version));
		if (r < 0)
			return reason_set(why, -EINVAL, "%s is not a Key Vault key URL "
					  "(https://VAULT.vault.azure.net/keys/NAME[/VERSION])",
					  key_url);
		(void)kf_parse_key_url(c->hbi.vault_url, want, sizeof(want), d1, sizeof(d1), d2,
				       sizeof(d2));
		if (strcmp(vault, want) != 0)
			return reason_set(why, -EXDEV,
					  "%s is in vault %s, but the disks' key is in vault %s: a key "
					  "can only be updated to a key in the same Key Vault",
					  key_url, vault, want);
	} else {
		snprintf(name, sizeof(name), "%s", c->hbi.key_name);
		snprintf(version, sizeof(version), "%s", c->hbi.key_version ? c->hbi.key_version : "");
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	snprintf(h->accept[0], sizeof(h->accept[0]), "%s", c->hbi.key_name);
	snprintf(h->accept[1], sizeof(h->accept[1]), "%s", name);
	r = kf_session_new(&kc, NULL, &h->s);
	if (r < 0) {
		reason_set(why, r, "cannot start a key-service session: %m");
		goto out;
	}
	r = kf_get_key(h->s, name, version, &h->key, &e);
	if (r < 0) {
		kf_error_reason(why, r, "cannot get the HBI key", &e);
		goto out;
	}
	r = kf_check_key(&h->key, &whykey);
	if (r < 0) {
		reason_set(why, r, "the HBI key cannot be used: %s", whykey.text);
		goto out;
	}
	*out = h;
	h = NULL;
out:
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

int hbi_wrap(struct hbi *h, const void *key, size_t len, char **token, struct reason *why)
{
	struct kf_error e;
	char *wrapped = NULL;
	int r;

	r = kf_wrap(h->s, &h->key, key, len, &wrapped, &e);
	if (r < 0)
		return kf_error_reason(why, r, "cannot wrap the volume key", &e);
	*token = token_hbi_to_json(h->key.kid, wrapped);
	free(wrapped);
	return *token ? 0 : -ENOMEM;
}

int hbi_disk_kid(const char *dev, char *kid, size_t size)
{
	return token_hbi_read(dev, kid, size, NULL);
}

/* The token's kid must name the configured vault and an accepted key. */
static int hbi_check_kid(const struct hbi *h, const char *kid, struct reason *why)
{
	char vault[256], want[256], name[128], version[64], d1[128], d2[64];
	if (kf_parse_key_url(kid, vault, sizeof(vault), name, sizeof(name), version, sizeof(version)) < 0 ||
	    kf_parse_key_url(h->key.kid, want, sizeof(want), d1, sizeof(d1), d2, sizeof(d2)) < 0)
		return reason_set(why, -EKEYREJECTED, "its HBI token names no Key Vault key");
	if (strcmp(vault, want) != 0)
		return reason_set(why, -EKEYREJECTED,
				  "its HBI token names a key in vault %s, not in the configured vault %s",
				  vault, want);
	if (strcmp(name, h->accept[0]) != 0 && strcmp(name, h->accept[1]) != 0)
		return reason_set(why, -EKEYREJECTED,
				  "its HBI token names key '%s', not the configured key '%s'", name,
				  h->accept[0]);
	return 0;
}

int hbi_unwrap_disk(struct hbi *h, const char *dev, void **key, size_t *len, struct reason *why)
{
	struct kf_error e;
	char kid[512], *wrapped = NULL, what[320];
	int r = token_hbi_read(dev, kid, sizeof(kid), &wrapped);

	if (r < 0)
		return reason_set(why, r, "%s: no readable %s token in its LUKS2 header: %m", dev,
				  TOKEN_HBI_TYPE);
	r = hbi_check_kid(h, kid, why);
	if (r < 0) {
		free(wrapped);
		return r;
	}
	r = kf_unwrap(h->s, kid, wrapped, key, len, &e);
	free(wrapped);
	if (r < 0) {
		snprintf(what, sizeof(what), "%s: cannot unwrap its volume key", dev);
		return kf_error_reason(why, r, what, &e);
	}
	/* dm-crypt keys are 16 to 64 bytes; the header's digest checks the rest. */
	if (*len < 16 || *len > 64) {
		reason_set(why, -EBADMSG, "%s: %s unwrapped a %zu-byte key; a volume key is 16 to 64 bytes",
			   dev, kid, *len);
		safe_free(*key);
		*key = NULL;
		return -EBADMSG;
	}
	return 0;
}

int hbi_rewrap_disk(struct hbi *h, const char *dev, struct reason *why)
{
	void *key = NULL;
	size_t len = 0;
	char *token = NULL;
	int r = hbi_unwrap_disk(h, dev, &key, &len, why);

	if (r < 0)
		return r;
	crash_point("rewrap-unwrap");
	r = hbi_wrap(h, key, len, &token, why);
	safe_free(key);
	if (r < 0)
		return r;
	r = token_hbi_write(dev, token);
	free(token);
	if (r < 0)
		return reason_set(why, r, "%s: cannot write the new %s token: %m", dev, TOKEN_HBI_TYPE);
	crash_point("rewrap-write-token");
	return 0;
}
