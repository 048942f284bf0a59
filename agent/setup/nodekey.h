/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "agent/ondisk/token.h"
#include "base/log.h"

/* The node key: 32 random bytes in the state directory on the OS disk
 * (/var/lib/scratchcrypt/node.key, root-only), never on a temp disk. HBI
 * tokens carry an HMAC-SHA256 under it (token_hbi_mac_input), so a header
 * is opened only on the node that made it: anyone can wrap a key with the
 * vault key's public half, but only this node can seal the token.
 * Errors come back as -errno with the detail in *why. */

#define NODEKEY_LEN 32

/* The node key's path. */
const char *nodekey_path(void);
/* Reads the node key into *key (safe_alloc); with create, makes it when
 * there is none. -ENOKEY when there is none; -EPERM when the file is not a
 * root-only regular file of NODEKEY_LEN bytes. */
int nodekey_load(bool create, void **key, struct reason *why);
/* The token's mac (base64url) for dev's identity, into mac[64]. */
int nodekey_seal(const void *key, const char *serial, uint64_t size, const char *kid,
		 const char *wrapped, char *mac, size_t mac_size);
/* 0 when t was sealed by this node for the disk (serial, size); otherwise
 * -EMEDIUMTYPE, *why naming dev and saying what to do. */
int nodekey_verify(const void *key, const char *dev, const char *serial, uint64_t size,
		   const struct sc_hbi_token *t, struct reason *why);
