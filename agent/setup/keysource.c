// SPDX-License-Identifier: MIT
#include "agent/setup/keysource.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ondisk/token.h"
#include "agent/setup/nodekey.h"
#include "base/crashpoint.h"
#include "base/safemem.h"

struct hbi {
	struct kf_session *s;
	struct kf_key_info key;
	/* The key names whose tokens this run accepts: the configured key,
	 * and for rewrap the key it moves to (so that a stopped rewrap can be
	 * run again). A token for any other key is refused, even in the same
	 * vault: its public half is all anyone needs to make one. */
	char accept[2][128];
	void *nodekey; /* loaded when first needed (nodekey.h) */
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
	safe_free(h->nodekey);
	free(h);
}

const char *hbi_kid(const struct hbi *h)
{
	return h->key.kid;
}

/* The node key, made on the first wrap when the node has none. */
static int need_nodekey(struct hbi *h, bool create, struct reason *why)
{
	return h->nodekey ? 0 : nodekey_load(create, &h->nodekey, why);
}

int hbi_wrap(struct hbi *h, const struct sys_disk *d, const void *key, size_t len, char **token,
	     struct reason *why)
{
	struct kf_error e;
	char *wrapped = NULL, mac[64];
	int r = need_nodekey(h, true, why);

	if (r < 0)
		return r;
	r = kf_wrap(h->s, &h->key, key, len, &wrapped, &e);
	if (r < 0)
		return kf_error_reason(why, r, "cannot wrap the volume key", &e);
	r = nodekey_seal(h->nodekey, d->serial, d->size_bytes, h->key.kid, wrapped, mac, sizeof(mac));
	*token = r < 0 ? NULL : token_hbi_to_json(h->key.kid, wrapped, mac);
	free(wrapped);
	if (r < 0)
		return reason_set(why, r, "%s: cannot seal its HBI token: %m", d->devnode);
	return *token ? 0 : -ENOMEM;
}

int hbi_disk_kid(const char *dev, char *kid, size_t size)
{
	struct sc_hbi_token t;
	int r = token_hbi_read(dev, &t);

	if (r == 0)
		snprintf(kid, size, "%s", t.kid);
	token_hbi_clear(&t);
	return r;
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

/* dev's HBI token, when this node sealed it for this disk and it names an
 * accepted key. */
static int hbi_trusted_token(struct hbi *h, const struct sys_disk *d, struct sc_hbi_token *t,
			     struct reason *why)
{
	struct reason whykey = { "" };
	int r = token_hbi_read(d->devnode, t);

	if (r < 0)
		return reason_set(why, r, "%s: no readable %s token in its LUKS2 header: %m",
				  d->devnode, TOKEN_HBI_TYPE);
	r = need_nodekey(h, false, &whykey);
	if (r < 0)
		return reason_set(why, r == -ENOKEY ? -EMEDIUMTYPE : r,
				  "%s: its HBI header cannot be checked: %s. It was made on another "
				  "node, or this node's OS disk was replaced; run 'scratchcrypt stop' to "
				  "shred it", d->devnode, whykey.text);
	r = nodekey_verify(h->nodekey, d->devnode, d->serial, d->size_bytes, t, why);
	return r < 0 ? r : hbi_check_kid(h, t->kid, why);
}

int hbi_unwrap_disk(struct hbi *h, const struct sys_disk *d, void **key, size_t *len,
		    struct reason *why)
{
	struct kf_error e;
	struct sc_hbi_token t;
	char what[320];
	int r = hbi_trusted_token(h, d, &t, why);

	if (r < 0) {
		token_hbi_clear(&t);
		return r;
	}
	r = kf_unwrap(h->s, t.kid, t.wrapped, key, len, &e);
	if (r < 0) {
		snprintf(what, sizeof(what), "%s: cannot unwrap its volume key", d->devnode);
		r = kf_error_reason(why, r, what, &e);
	}
	if (r == 0 && (*len < 16 || *len > 64)) {
		/* dm-crypt keys are 16 to 64 bytes; the header's digest checks the rest. */
		reason_set(why, -EBADMSG, "%s: %s unwrapped a %zu-byte key; a volume key is 16 "
			   "to 64 bytes", d->devnode, t.kid, *len);
		safe_free(*key);
		*key = NULL;
		r = -EBADMSG;
	}
	token_hbi_clear(&t);
	return r;
}

int hbi_rewrap_disk(struct hbi *h, const struct sys_disk *d, struct reason *why)
{
	const char *dev = d->devnode;
	void *key = NULL;
	size_t len = 0;
	char *token = NULL;
	int r = hbi_unwrap_disk(h, d, &key, &len, why);

	if (r < 0)
		return r;
	crash_point("rewrap-unwrap");
	r = hbi_wrap(h, d, key, len, &token, why);
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
