/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The only user of libblkid: what signatures a device carries. */

enum probe_kind {
	PROBE_BLANK,      /* no signature and the first MiB reads as zeros */
	PROBE_NONZERO,    /* no signature, but data: never ours to format */
	PROBE_SIGNATURE,  /* a filesystem, RAID, crypto or other signature */
	PROBE_PTABLE,     /* a partition table */
	PROBE_AMBIVALENT, /* several signatures at once */
	PROBE_UNREAD,     /* not read: not a candidate (start and stop read only those) */
	PROBE_FAILED,     /* could not be read (error says why): never written */
};

#define PROBE_MAX_PARTS 8
#define PROBE_HEAD_BYTES (1024 * 1024)

struct probe_part {
	unsigned partno;
	uint64_t start, size; /* bytes */
	char type[32];        /* signature inside the partition, "" if none */
	char label[64];
};

struct probe_result {
	enum probe_kind kind;
	int error;          /* PROBE_FAILED: the errno */
	char type[32];      /* "ext4", "crypto_LUKS", "LVM2_member", ... */
	char usage[16];     /* "filesystem", "raid", "crypto", "other" */
	char label[64];
	char subsystem[64]; /* LUKS2 subsystem */
	char version[16];
	char pttype[16];    /* "dos", "gpt" */
	size_t n_parts;
	struct probe_part parts[PROBE_MAX_PARTS];
};

int probe_device(const char *devnode, struct probe_result *out);
/* One line for an operator: "an ext4 filesystem (label 'data')". */
void probe_describe(const struct probe_result *p, char *buf, size_t size);
