/* SPDX-License-Identifier: MIT */
#pragma once

#include "dm/dm.h"

/* agent/ondisk/: everything scratchcrypt writes to a disk besides the
 * data, and the names it gives what it makes: one home for the format,
 * specified in doc/ondisk-format.md. detect/ reads it to decide whose a
 * disk is; setup/ writes it. Nothing else knows its layout.
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
 *   4. in HBI mode, the "scratchcrypt-hbi" token: the wrapped volume key,
 *      and (from format 2) this node's MAC over it and the disk's identity.
 *
 * A disk's records say which version of the format made them; a release
 * reads every version up to its own (tests/ondisk/golden/vN) and refuses,
 * leaving the disk untouched, a version above it. */

/* The format this release writes and the highest it reads.
 *   1: the first.
 *   2: the HBI token carries a MAC under the node key (token.h); an HBI
 *      token of format 1 is trusted only by 'scratchcrypt adopt', for a
 *      volume open when the node was upgraded. */
#define ONDISK_FORMAT_VERSION 2

/* The first MiB is scratchcrypt's: the LUKS2 header (both copies, the
 * tokens, no keyslots), then the claim in its last 4 KiB; data starts at
 * 1 MiB. */
#define ONDISK_DATA_OFFSET (1024 * 1024)
#define ONDISK_CLAIM_SIZE 4096
#define ONDISK_CLAIM_OFFSET (ONDISK_DATA_OFFSET - ONDISK_CLAIM_SIZE)

/* The LUKS2 label of every header scratchcrypt makes; dm/ checks it when it
 * loads one (the LUKS2 layer's name for it, DM_LUKS_LABEL). */
#define ONDISK_LUKS_LABEL DM_LUKS_LABEL

/* The file at the root of every filesystem scratchcrypt makes, telling the
 * user that the disk is emptied at every deprovision. */
#define ONDISK_WARNING_FILE "DATALOSS_WARNING_README.txt"
