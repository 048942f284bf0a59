/* SPDX-License-Identifier: MIT */
#pragma once
#include <json-c/json.h>
#include <stdio.h>

#include "agent/config.h"
#include "agent/detect/detect.h"
#include "agent/setup/owed.h"
#include "agent/setup/shredrec.h"

#define STATUS_SCHEMA 1
#define STATUS_MAX_DEVICES 16

struct status_row {
	enum disk_role role;
	size_t n_devices; /* the volume's disks: never a refused one */
	char devices[STATUS_MAX_DEVICES][64];
	size_t n_refused; /* disks of this role that were refused, and why */
	char refused[STATUS_MAX_DEVICES][64];
	char refused_reason[STATUS_MAX_DEVICES][256];
	enum disk_state state;
	const char *key_source;  /* "platform-managed", "system-managed", "hbi" */
	char cipher[64];         /* "" when not known */
	unsigned key_bits;
	unsigned sector_size;
	char mapping[128];       /* "" when none */
	char mount_point[256];   /* "" when none */
	char note[1024];
	/* HBI: where the key that wraps the volume keys lives. */
	char vault[256];
	char key_name[128];
	char key_version[64];
	long long last_unwrap; /* 0: never */
};

struct status {
	enum node_role node_role;
	enum key_source key_source;
	size_t n_rows;
	struct status_row rows[3]; /* os, temp, scratch */
	/* The shred record, newest first (agent/setup/shredrec.h). */
	size_t n_shreds;
	struct shred_rec shreds[SHREDREC_MAX];
	/* Shreds owed by disks that went away (agent/setup/owed.h). */
	size_t n_owed;
	struct lost_member owed[OWED_MAX];
	/* When the stop that did not finish began; 0 when none did (owed.h). */
	long long unfinished_stop;
};

/* Everything is observed: mappings, mounts, headers, and what the last
 * start or stop recorded in the runtime directory. */
int status_collect(const struct cfg *c, const struct sys_paths *p, struct status *st);
/* The same from a detection already made (of candidates, by start, stop or
 * rewrap): mappings, mounts and the runtime directory are observed now. */
void status_from_detection(const struct cfg *c, const struct detection *det, struct status *st);
struct json_object *status_to_json(const struct status *st);
/* The shred record in words (after the table) and as JSON ("shreds"). */
void status_print_shreds(const struct status *st, FILE *f);
struct json_object *status_shreds_to_json(const struct status *st);
/* The shreds owed, in words and as JSON ("owed_shreds"). */
void status_print_owed(const struct status *st, FILE *f);
struct json_object *status_owed_to_json(const struct status *st);
const char *status_iso_time(long long t, char *buf, size_t size);
/* What is owed, in a role's row (shreds.c): a member gone ("degraded";
 * true when so), a stop that did not finish ("shred-unfinished"). */
void status_note_append(struct status_row *r, const char *arg);
bool status_row_degraded(enum disk_role role, struct status_row *r);
void status_row_unfinished(enum disk_role role, struct status_row *r);
void status_row_members(enum disk_role role, struct status_row *r);
/* The unfinished stop (owed.h), in st and as JSON ("unfinished_stop"). */
void status_collect_unfinished(struct status *st);
struct json_object *status_unfinished_to_json(const struct status *st);
void status_print_table(const struct status *st, FILE *f);

struct json_object *detection_to_json(const struct detection *d);
void detection_print_table(const struct detection *d, FILE *f);
