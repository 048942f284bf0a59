/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* dm/: every use of libcryptsetup and libdevmapper. Nothing here prints:
 * functions return 0 or -errno, and dm_last_error() holds the library's last
 * error message for the caller's log line. */

#define DM_LUKS_LABEL "scratchcrypt"

struct dm_crypt_params {
	const char *cipher;   /* "aes-xts-plain64" */
	size_t key_bytes;
	unsigned sector_size; /* 512..4096 */
	bool no_read_workqueue;
	bool no_write_workqueue;
	bool allow_discards;
	const char *subsystem; /* LUKS2 subsystem, identifies the disk's place */
};

struct dm_crypt_info {
	char cipher[64];      /* "aes-xts-plain64" */
	unsigned key_bits;
	unsigned sector_size;
	char device[256];     /* backing device */
	uint64_t size_bytes;
};

const char *dm_last_error(void);

/* Writes a LUKS2 header without keyslots for the volume key `key`, and
 * attaches the tokens, a NULL-terminated list of JSON objects that each carry
 * "type" and "keyslots". Runs no PBKDF over a passphrase. */
int dm_luks_format(const char *dev, const struct dm_crypt_params *p, const void *key,
		   size_t key_len, const char *const *tokens);
/* Activates dev as /dev/mapper/name with the volume key, which is checked
 * against the header's digest. */
int dm_luks_activate(const char *dev, const char *name, const struct dm_crypt_params *p,
		     const void *key, size_t key_len);
/* Reads the JSON of the first token of token_type; -ENOENT if none, and
 * -ENODEV if dev holds no LUKS2 header. *json is malloc'd. */
int dm_luks_token_get(const char *dev, const char *token_type, char **json);
/* Replaces the first token of the JSON's type with token_json. */
int dm_luks_token_set(const char *dev, const char *token_json);
/* Zeroes the LUKS2 header area, both copies and the keyslot area; -ENODEV
 * when dev holds no LUKS2 header with our label (nothing is written). */
int dm_luks_wipe_header(const char *dev);

int dm_crypt_info(const char *name, struct dm_crypt_info *info);
/* Removes a crypt mapping; the kernel wipes its copy of the key. With
 * `wipe_if_busy`, a mapping still open has its key wiped (suspend) and is
 * removed once closed. */
int dm_crypt_deactivate(const char *name, bool wipe_if_busy);

/* libdevmapper. */
int dm_exists(const char *name);               /* 1, 0 or -errno */
int dm_stripe_create(const char *name, const char *const *members, size_t n,
		     uint64_t chunk_sectors, uint64_t member_sectors);
int dm_remove(const char *name, bool deferred);
/* Names of all mappings whose name starts with prefix. */
int dm_list(const char *prefix, char ***names, size_t *n);
/* Target type of the first table line, e.g. "crypt" or "striped". */
int dm_target_type(const char *name, char *type, size_t size);
/* Block devices (as "MAJ:MIN") the mapping sits on. */
int dm_deps(const char *name, char ***devs, size_t *n);
int dm_table(const char *name, char *buf, size_t size);
void dm_strv_free(char **v, size_t n);
