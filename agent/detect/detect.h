/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "agent/config.h"
#include "base/strtab.h"
#include "agent/detect/probe.h"
#include "agent/detect/sysfs.h"

enum content {
	CONTENT_BLANK,
	CONTENT_PRISTINE_TEMP, /* Azure's fresh resource-disk layout */
	CONTENT_OURS,          /* scratchcrypt's header or claim (ownership.c) */
	CONTENT_FOREIGN,       /* someone's data */
};

struct verdict {
	struct sys_disk disk;
	struct probe_result probe;
	enum disk_role role;
	enum disk_action action;
	enum content content;
	char reason[384];
	char identity[160]; /* why the hardware makes it a temp or scratch disk */
	bool in_use; /* mounted, swap, held by another mapping, read-only */
	unsigned probe_timeout_ms; /* PROBE_FAILED because no answer came in this long */
	/* For CONTENT_OURS, from scratchcrypt's token (ownership.c): where the
	 * disk belongs, its key source and its state (enum token_state). */
	enum key_source ours_key_source;
	unsigned ours_index, ours_members;
	int ours_state;
};

struct detection {
	struct verdict *v;
	size_t n;
	/* Set when the resource disk is still claimed by another agent. */
	char warnings[8][384];
	size_t n_warnings;
	/* [disks] devices entries that name no disk here (in warnings) */
	size_t n_unlisted;
};

struct detect_opts {
	const struct sys_paths *paths;
	bool force; /* format disks with foreign data; never the OS disk or one in use */
	/* Read only the disks the hardware makes temp or scratch candidates
	 * (start, stop, rewrap, status): a node's data disks are never
	 * opened, and node start does not wait for them. detect reads all. */
	bool candidates_only;
	/* How long each disk's probe may take ([disks] probe_timeout_s); 0:
	 * DETECT_PROBE_TIMEOUT_MS. A disk that does not answer in time is
	 * refused, named, and holds up nothing else. */
	unsigned probe_timeout_ms;
};

#define DETECT_PROBE_TIMEOUT_MS 4000

/* A LUKS2 header labelled "scratchcrypt": a hint, never an identity. */
bool detect_has_our_label(const struct probe_result *p);

/* What each disk is, by the hardware and its content (the seam the unit
 * tests replace). */
int detect_scan(const struct cfg *c, const struct detect_opts *o, struct detection *out);
/* detect_scan, then whose each candidate is (agent/detect/ownership.c): a
 * candidate carrying our claim or header is ours (content CONTENT_OURS,
 * its token's place, key source and state), and one set up under another
 * key source is refused until it is deprovisioned. The one place that
 * decides ownership. */
int detect_run(const struct cfg *c, const struct detect_opts *o, struct detection *out);
void detection_free(struct detection *d);

