/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strtab.h"

/* Everything scratchcrypt writes to a disk besides the data, and the names
 * of its mappings: one home for the format.
 *
 * On every disk it sets up, in this order:
 *   1. a claim: one block near the end of the first MiB that names the disk
 *      (serial and size). It is written and synced before anything else and
 *      cleared last when the disk is shredded, so a disk that scratchcrypt
 *      began to format or shred is still recognised as its own after a
 *      killed process or a power loss;
 *   2. a LUKS2 header without keyslots (label "scratchcrypt"), data at 1 MiB;
 *   3. the "scratchcrypt" token: role, place, key source, the disk's
 *      identity and the state of the volume (new, ready, shredding);
 *   4. in HBI mode, the "scratchcrypt-hbi" token: the wrapped volume key. */

#define TOKEN_TYPE "scratchcrypt"
#define TOKEN_HBI_TYPE "scratchcrypt-hbi"

#define TOKEN_DATA_OFFSET (1024 * 1024)
#define TOKEN_CLAIM_SIZE 4096
#define TOKEN_CLAIM_OFFSET (TOKEN_DATA_OFFSET - TOKEN_CLAIM_SIZE)

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
};

/* Both return malloc'd JSON, or NULL when out of memory. */
char *token_to_json(const struct sc_token *t);
/* -EBADMSG when json is not a scratchcrypt token. */
int token_from_json(const char *json, struct sc_token *t);
/* The token on dev: -ENODEV without our header, -ENOENT without a token. */
int token_read(const char *dev, struct sc_token *t);
int token_write(const char *dev, const struct sc_token *t);
int token_set_state(const char *dev, enum token_state state);

char *token_hbi_to_json(const char *kid, const char *wrapped);
/* kid, and the wrapped key (malloc'd) when wrapped is not NULL. */
/* The HBI token's kid and wrapped key; -EBADMSG for any other JSON. */
int token_hbi_parse(const char *json, char *kid, size_t kid_size, char **wrapped);
int token_hbi_read(const char *dev, char *kid, size_t kid_size, char **wrapped);
int token_hbi_write(const char *dev, const char *json);

struct sc_claim {
	char serial[64];
	uint64_t size;
	long long created;
};
/* Fills a TOKEN_CLAIM_SIZE block. */
void token_claim_format(const struct sc_claim *c, char *block);
/* 1 and *c filled when block holds a claim, 0 when it does not. */
int token_claim_parse(const char *block, struct sc_claim *c);

/* Mapping names: "scratchcrypt-temp" for a role's volume, and
 * "scratchcrypt-scratch-0" for member 0 of a volume of several disks. */
void token_top_name(char *buf, size_t size, enum disk_role role);
void token_member_name(char *buf, size_t size, enum disk_role role, unsigned index,
		       unsigned members);
/* The role a mapping name belongs to, or -EINVAL for a name not ours. */
int token_mapping_role(const char *name);
bool token_is_top(const char *name);
