/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strtab.h"

/* The shred record: for each disk stop shredded, what was wiped, that it
 * was read back and found blank, whether the data was discarded, and when.
 * It lives in the state directory (/var/lib/scratchcrypt/shred/, one file
 * per disk serial, or $SCRATCHCRYPT_STATE_DIR/shred/), so it survives a
 * reboot; status shows it, the journal gets it with MESSAGE_ID
 * SHREDREC_MESSAGE_ID, and the Prometheus textfile its time and result. */

#define SHREDREC_MESSAGE_ID "9c6d0a4e5b2f4f1e8a3d7c2b1e0f6a58"
#define SHREDREC_MAX 16

enum shred_discard { SHRED_DISCARD_OFF, SHRED_DISCARD_DONE, SHRED_DISCARD_UNSUPPORTED,
		     SHRED_DISCARD_FAILED };

struct shred_rec {
	char serial[64];
	char device[64];
	enum disk_role role;
	long long time;        /* seconds since the epoch */
	uint64_t wiped_bytes;  /* from offset 0: both LUKS2 headers, tokens, keyslots, claim */
	bool verified;         /* read back past the page cache: all zero */
	enum shred_discard discard;
};

const char *shred_discard_to_string(enum shred_discard d);
const char *shredrec_dir(void);
/* Writes r atomically (a new file, synced, renamed into place). */
int shredrec_write(const struct shred_rec *r);
/* Every record, newest first; 0 or -errno (none: 0 records). */
int shredrec_list(struct shred_rec *out, size_t max, size_t *n);
/* Sends r to the journal (the native protocol; $SCRATCHCRYPT_JOURNAL_SOCKET
 * or /run/systemd/journal/socket). Best effort: 0, or -errno when there is
 * no journal to take it. */
int shredrec_journal(const struct shred_rec *r);
