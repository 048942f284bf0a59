/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>

#include "agent/detect/sysfs.h"
#include "base/strtab.h"

/* Shreds owed. A disk that goes away while its volume is mapped (pulled,
 * its controller reset or removed) cannot be wiped by stop. stop then
 * fails naming it, and records the shred it owes, by the UUID of the LUKS2
 * header on it, in the state directory (it survives a reboot):
 * /var/lib/scratchcrypt/owed/UUID. When a disk with that header is seen
 * again, start, stop and the hotplug unit shred it before anything uses
 * it, and the record goes. status lists what is owed, and calls a volume
 * with a member gone "degraded". */

struct lost_member {
	char mapping[80];  /* "scratchcrypt-scratch-1" */
	char device[24];   /* what the mapping sat on, "259:1" */
	char luks_uuid[40];
	enum disk_role role;
	long long since;   /* a record's time; 0 for a member found now */
};

#define OWED_MAX 32

/* The crypt mappings of ours whose disk is gone: how many (at most max),
 * or -errno. */
int owed_lost_members(const struct sys_paths *p, struct lost_member *out, size_t max);
int owed_record(const struct lost_member *m);
/* The records: how many (at most max), or -errno. */
int owed_list(struct lost_member *out, size_t max);
/* 1 with *m filled when dev carries a header whose shred is owed, else 0. */
int owed_match(const char *dev, struct lost_member *m);
int owed_clear(const char *luks_uuid);

/* An unfinished stop. A stop that shreds records its intent, and the roles
 * it shreds, in the state directory (synced) before it marks the first
 * disk: /var/lib/scratchcrypt/stop-unfinished. The record goes when every
 * disk is shredded; when some fail, it is written again with their roles
 * alone. One left behind (a power cut, a kill, a failed wipe) means key
 * material may still be on a disk: status says the shred is unfinished,
 * and the next start or stop shreds what is ours on the disks first. */
int owed_stop_begin(const bool roles[_DISK_ROLE_MAX]);
int owed_stop_end(void);
/* 1 with *since and roles when a stop did not finish, else 0. */
int owed_stop_pending(long long *since, bool roles[_DISK_ROLE_MAX]);
