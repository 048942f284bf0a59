/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdint.h>

#include "agent/detect/detect.h"
#include "agent/ondisk/claim.h"
#include "base/log.h"

/* Raw writes to a disk's first MiB, each synced before it returns, so that
 * each is one observable step: the claim, the header, the wipe. */

/* Right before the first write to a disk: opens it exclusively (kept open in
 * *fd until the caller has written) and checks it is still the device that
 * was detected: same number, size and serial, and the same content as
 * libblkid saw. -EMEDIUMTYPE with the difference in *why otherwise. */
int disk_recheck(const struct verdict *v, int *fd, struct reason *why);
int disk_claim_write(const char *dev, const struct sc_claim *c);
int disk_claim_clear(const char *dev);
/* Copies the header built in hdr_file (size bytes) to the start of dev. */
int disk_header_place(const char *dev, const char *hdr_file, uint64_t size);
/* Zeroes the first MiB up to the claim: both header copies, the tokens and
 * the keyslot area. */
int disk_header_wipe(const char *dev);
/* Reads the first MiB back from the disk itself (O_DIRECT: not from the
 * page cache the wipe went through): 1 when every byte is zero, 0 with the
 * first other byte's offset in *at, or -errno. */
int disk_head_blank(const char *dev, uint64_t *at);
/* Discards the data area, past the first MiB; -EOPNOTSUPP if the disk
 * cannot. */
int disk_discard_data(const char *dev);
