/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/ondisk/format.h"
#include "base/strtab.h"

/* The tokens in scratchcrypt's LUKS2 header (doc/ondisk-format.md). */

#define TOKEN_TYPE "scratchcrypt"
#define TOKEN_HBI_TYPE "scratchcrypt-hbi"

enum token_state {
	TOKEN_NEW,       /* header written, the filesystem not made yet */
	TOKEN_READY,     /* mkfs finished: the volume may hold data */
	TOKEN_SHREDDING, /* stop began to shred it: never to be opened again */
	_TOKEN_STATE_MAX
};
const char *token_state_to_string(enum token_state s);
int token_state_from_string(const char *s);

struct sc_token {
	enum disk_role role;
	unsigned index, members;
	enum key_source key_source;
	enum token_state state;
	long long created;
	char serial[64]; /* the disk it was made on */
	uint64_t size;
	unsigned format; /* the format version that wrote it (1 when unsaid) */
};

/* Both return malloc'd JSON, or NULL when out of memory. */
char *token_to_json(const struct sc_token *t);
/* -EBADMSG when json is not a scratchcrypt token; -EPROTONOSUPPORT, with
 * t->format set, for a token of a format newer than this release's. */
int token_from_json(const char *json, struct sc_token *t);
/* The token on dev: -ENODEV without our header, -ENOENT without a token. */
int token_read(const char *dev, struct sc_token *t);
int token_write(const char *dev, const struct sc_token *t);
int token_set_state(const char *dev, enum token_state state);

/* The HBI token (format 2): the wrapped volume key, the Key Vault key that
 * wrapped it, and this node's proof that it made the token: an HMAC-SHA256,
 * under the node key (setup/nodekey.h), of token_hbi_mac_input(). Format 1
 * tokens have no mac. */
struct sc_hbi_token {
	unsigned format;
	char kid[512];
	char mac[64]; /* base64url; "" when the token has none */
	char *wrapped; /* base64url, malloc'd */
};
void token_hbi_clear(struct sc_hbi_token *t);

char *token_hbi_to_json(const char *kid, const char *wrapped, const char *mac);
/* What the mac covers: a domain tag, the token's format, the disk's serial
 * and size (as the hardware gives them), the kid and the wrapped key.
 * malloc'd. */
char *token_hbi_mac_input(unsigned format, const char *serial, uint64_t size, const char *kid,
			  const char *wrapped);
/* -EBADMSG for any other JSON, -EPROTONOSUPPORT (t->format set) for a newer
 * format's; t is cleared first and must be cleared after. */
int token_hbi_parse(const char *json, struct sc_hbi_token *t);
int token_hbi_read(const char *dev, struct sc_hbi_token *t);
int token_hbi_write(const char *dev, const char *json);
