/* SPDX-License-Identifier: MIT */
#pragma once
/* Internal to agent/setup: the volumes a run works on. */
#include <stdbool.h>
#include <stddef.h>

#include "agent/setup/lifecycle.h"
#include "agent/ondisk/token.h"
#include "base/log.h"

#define PLAN_MAX_MEMBERS 16
#define STRIPE_CHUNK_SECTORS 512 /* 256 KiB */

enum member_mode {
	MEMBER_KEEP,   /* its mapping is open and healthy */
	MEMBER_FORMAT, /* claim, a fresh key and a fresh header */
	MEMBER_REOPEN, /* HBI: unwrap the key its token holds */
};

struct member {
	const struct verdict *v;
	unsigned index;
	char name[80]; /* its mapping */
	enum member_mode mode;
	void *key;     /* safe memory */
	size_t key_len;
	char *hbi_token;
};

struct volume {
	enum disk_role role;
	const char *mount_point;
	char top[64];
	char topdev[128];
	size_t n;
	struct member m[PLAN_MAX_MEMBERS];
};

/* The two volumes, temp and scratch, with their members in the places
 * their headers record. */
void plan_volumes(const struct cfg *c, struct detection *det, struct volume vol[2],
		  unsigned *refused);
/* Tears down a mapping the kernel holds in a half state (no table, an
 * inactive table, suspended): 1 when it did, 0 when it was healthy or absent. */
int plan_clear_half_state(const char *name, struct reason *why);

/* One member's steps (member.c): claim, add-token, write-header for a disk
 * being formatted, then activate. */
int plan_member_setup(const struct cfg *c, const struct volume *vol, const struct member *m,
		      struct reason *why);

/* The volume steps (volume.c). Each looks first, so each can be repeated. */
int plan_observe_mount(const struct volume *vol, struct reason *why); /* 1: mounted */
int plan_observe_stripe(const struct volume *vol, struct reason *why);
int plan_assemble_stripe(const struct volume *vol, struct reason *why);
/* 1: every member says ready; 0: not; -errno: a member cannot be read. */
int plan_volume_ready(const struct volume *vol);
int plan_mkfs_and_mark_ready(const struct cfg *c, const struct volume *vol, struct reason *why);
int plan_mount(const struct cfg *c, const struct volume *vol, struct reason *why);
/* stop's shred of one disk (wipe-header, discard, record-shred, read
 * back), also for a disk whose shred is owed (owed.h): 1 when shredded. */
int plan_shred_disk(const struct cfg *c, const char *dev, int role);
void plan_write_warning(const struct volume *vol);

/* lost.c: volumes with a member whose disk is gone. One not mounted is
 * taken down (mappings closed; with system keys the gone disks' shreds
 * owed, an HBI volume kept to open again when they are back), before start
 * detects the disks. A mounted one, or one whose mappings cannot be closed, is left,
 * named, and marked in degraded_in_use: start does not touch that role. */
void plan_settle_lost(const struct cfg *c, const struct sys_paths *p, bool degraded_in_use[_DISK_ROLE_MAX]);
