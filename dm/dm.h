/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "base/strv.h"

/* dm/: every use of libcryptsetup and libdevmapper. Nothing here prints:
 * functions return 0 or -errno, and where a library has more to say, it
 * goes into the caller's struct reason (which may be NULL). */

#define DM_LUKS_LABEL "scratchcrypt"
/* Every mapping scratchcrypt makes starts with this (agent/ondisk/token.h
 * has the names). */
#define DM_MAPPING_PREFIX "scratchcrypt-"

struct dm_crypt_params {
	const char *cipher;   /* "aes-xts-plain64" */
	size_t key_bytes;
	unsigned sector_size; /* 512..4096 */
	bool no_read_workqueue;
	bool no_write_workqueue;
	bool allow_discards;
	const char *subsystem; /* LUKS2 subsystem, identifies the disk's place */
	uint64_t data_offset;  /* bytes before the data, for a header being built */
};

struct dm_crypt_info {
	char cipher[64];      /* "aes-xts-plain64" */
	unsigned key_bits;
	unsigned sector_size;
	char device[256];     /* backing device */
	uint64_t size_bytes;
};

/* What the kernel shows of a mapping, including every half state an
 * interrupted create or remove can leave behind. */
struct dm_state {
	bool exists;
	unsigned major, minor;
	bool live_table;     /* a table is loaded and in use */
	bool inactive_table; /* a table is loaded but not resumed */
	bool suspended;
	bool deferred_remove;
	int open_count;
	char target[16];     /* first target of the live table: "crypt", "striped" */
	char uuid[130];      /* the mapping's device-mapper UUID ("CRYPT-LUKS2-...") */
	uint64_t sectors;    /* the live table's length, in 512-byte sectors */
};

/* Builds, in the regular file hdr_file (which it sizes), a LUKS2 header for
 * dev without keyslots, for the volume key `key`, with its data starting at
 * p->data_offset bytes, and with the tokens given as JSON (NULL-terminated, or
 * NULL for none). Nothing is written to dev: placing the header there is
 * the caller's step. Returns the header's size in bytes, or -errno. */
int dm_luks_header_build(const char *hdr_file, const char *dev, const struct dm_crypt_params *p,
			 const void *key, size_t key_len, const char *const *tokens,
			 struct reason *why);
/* Activates dev as /dev/mapper/name with the volume key, handed to the
 * kernel through the keyring. -EPERM: the key does not match the header. */
int dm_luks_activate(const char *dev, const char *name, const struct dm_crypt_params *p,
		     const void *key, size_t key_len, struct reason *why);
/* The JSON of the first token of token_type; -ENOENT if none, -ENODEV if
 * dev holds no LUKS2 header with our label. *json is malloc'd. */
int dm_luks_token_get(const char *dev, const char *token_type, char **json);
/* Replaces the first token of token_type with json (adds one if none). */
int dm_luks_token_set(const char *dev, const char *token_type, const char *json);
/* Read, change and write back the first token of token_type, from one load
 * of the header: edit(json, &out, arg) returns 1 with a malloc'd *out to
 * write, 0 to leave the header as it is, or -errno. Errors as for
 * dm_luks_token_get. */
typedef int (*dm_token_edit_fn)(const char *json, char **out, void *arg);
int dm_luks_token_edit(const char *dev, const char *token_type, dm_token_edit_fn edit, void *arg);

int dm_crypt_info(const char *name, struct dm_crypt_info *info);
/* The UUID of dev's LUKS2 header ("8-4-4-4-12"); -ENODEV without one. */
int dm_luks_uuid(const char *dev, char *uuid, size_t size);
/* Removes a crypt mapping; the kernel wipes its copy of the key. With
 * wipe_if_busy, a mapping still open has its key wiped (suspend) and is
 * removed once closed. */
int dm_crypt_deactivate(const char *name, bool wipe_if_busy, struct reason *why);

/* libdevmapper. What is known of mapping `name` (st->exists false when
 * there is none); with devices, also "MAJ:MIN" of each device its live
 * table sits on (a stripe's in its table's order; another's in the
 * kernel's order of its dependencies), which the caller frees with
 * strv_free. */
int dm_query(const char *name, struct dm_state *st, struct strv *devices);
/* A mapping in three observable steps: created without a table, its table
 * loaded (inactive), then resumed (live). */
int dm_create_empty(const char *name, const char *uuid);
int dm_load_stripe(const char *name, const struct strv *members, uint64_t chunk_sectors,
		   uint64_t member_sectors);
int dm_resume(const char *name);
int dm_remove(const char *name, bool deferred);
/* Names of all mappings whose name starts with prefix. */
/* 0 when the kernel's device-mapper answers (dm-mod loaded, a
 * /dev/mapper/control to talk to), -ENXIO when not. */
int dm_available(void);
/* 1 when the live table of crypt mapping `name` refers to its key in the
 * kernel keyring (":SIZE:logon:..."), 0 when it holds the key, -errno. The
 * table is read with libdevmapper's secure-data flag and never copied. */
int dm_crypt_key_in_keyring(const char *name);
/* 1 when the kernel has the device-mapper target (loaded or built in), 0
 * when not, -errno when device-mapper cannot be asked. */
int dm_target_available(const char *target);
int dm_list(const char *prefix, struct strv *names);
int dm_table(const char *name, char *buf, size_t size);
