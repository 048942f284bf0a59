/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdint.h>

#include "agent/ondisk/format.h"

/* The claim: one block at ONDISK_CLAIM_OFFSET that names the disk it was
 * written on. It is the first thing written and the last cleared, so a
 * disk scratchcrypt began to format or shred is still known as its own.
 * It confirms an identity the hardware gave; it never grants one. */
struct sc_claim {
	char serial[64];
	uint64_t size;
	long long created;
	unsigned format; /* the format version that wrote it */
};
/* Fills a ONDISK_CLAIM_SIZE block. */
void claim_format(const struct sc_claim *c, char *block);
/* 1 and *c filled when block holds a claim, 0 when it does not;
 * -EPROTONOSUPPORT, with c->format set, for a claim of a newer format. */
int claim_parse(const char *block, struct sc_claim *c);

/* 1 with *c filled when dev carries a claim, 0 when not, or -errno
 * (-EPROTONOSUPPORT as claim_parse). */
int claim_read(const char *dev, struct sc_claim *c);
