/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "agent/config.h"
#include "agent/detect/sysfs.h"
#include "base/log.h"
#include "keyfetch/keyfetch.h"

/* The HBI key source: volume keys wrapped by a Microsoft-managed Key Vault
 * key, fetched with the node's managed identity. The wrapped key lives in
 * the scratchcrypt-hbi token (token.h); the plaintext key never reaches the
 * disk. Errors come back as -errno with the detail in *why. */

struct hbi;

/* The key-service configuration, built here only: IMDS (tags, Scheduled
 * Events) with retry_cap_s, and with vault also the managed identity, the
 * vault, its CA bundle and the [hbi] retry cap. */
void keysource_kf_config(const struct cfg *c, bool vault, unsigned retry_cap_s,
			 struct kf_config *kc);

/* Opens a session and fetches and checks the configured key (or key_url's,
 * when given). Logs what went wrong. */
int hbi_open(const struct cfg *c, const char *key_url, struct hbi **h, struct reason *why);
void hbi_close(struct hbi *h);
const char *hbi_kid(const struct hbi *h);
/* Wraps key for disk d; *token is the JSON of the HBI token (malloc'd),
 * sealed with the node key (nodekey.h; made here when the node has none). */
int hbi_wrap(struct hbi *h, const struct sys_disk *d, const void *key, size_t len, char **token,
	     struct reason *why);
/* Unwraps d's key; *key comes from safe_alloc(). A token this node did not
 * seal for d's serial and size is refused (-EMEDIUMTYPE) before the vault
 * is asked. */
int hbi_unwrap_disk(struct hbi *h, const struct sys_disk *d, void **key, size_t *len,
		    struct reason *why);
/* The kid recorded on dev; -ENOENT when dev has no HBI token. */
int hbi_disk_kid(const char *dev, char *kid, size_t size);
/* Unwraps dev's volume key and wraps it again with h's key; the volume key
 * and the data stay as they are. */
int hbi_rewrap_disk(struct hbi *h, const struct sys_disk *d, struct reason *why);
/* A keyfetch error in one line: endpoint, status, code, message. */
