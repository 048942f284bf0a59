/* SPDX-License-Identifier: MIT */
#pragma once
/* One fake kernel for the unit tests: the disks (as detection would judge
 * them, with what is written on each: claim, header, tokens), the
 * device-mapper table, the mounts, and the process's workers, behind the
 * seams that dm/, agent/setup/disk.c, fs.c and base/workers.c are. A test
 * built with sc_unit_test(NAME FAKE_KERNEL) gets every seam of
 * FAKE_KERNEL_WRAPS (tests/CMakeLists.txt) replaced by fakekernel.c, and
 * sets the world up with the helpers below. Detection runs for real over
 * the fake disks' verdicts (fk.scan) or fully (the sysfs tree of
 * tests/unit/fakesys.h, with fk.scan false). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/detect/detect.h"
#include "agent/detect/probe.h"

#define FK_MAXN 8

struct fk_map {
	char name[80], dev[256], type[16];
	unsigned minor;
	bool live;
	char members[FK_MAXN][16];
	size_t n_members;
};

/* What is written on a disk. */
struct fk_hdr {
	char dev[64];
	char token[512];
	char image[256], image_token[512]; /* the header made under /run */
	bool present, claimed;
	bool stale; /* the wipe does not reach the disk: read back, it is not blank */
	uint64_t claim_size; /* 0: this disk's */
	unsigned sector, pending_sector;
};

/* A block device as libblkid, libntfs-3g and the NVMe controller see it,
 * for detection run in full. */
struct fk_blk {
	char dev[64];
	struct probe_result probe;
	const char *ntfs_names; /* comma-separated root listing of its last partition */
	const char *token;      /* a scratchcrypt token in its header, or NULL */
	int probe_error;        /* reading it fails with this errno */
	bool probe_stalls;      /* reading it never returns */
};

/* What an NVMe controller says in Identify Namespace's vendor-specific
 * bytes, by device node; NULL: the ioctl fails. */
struct fk_vs {
	char dev[64];
	const char *vs;
};

struct fake_kernel {
	bool scan;           /* detect_scan returns fk.disks instead of scanning */
	bool inline_workers; /* workers_run runs the jobs here, in order */
	struct verdict disks[FK_MAXN];
	size_t n_disks;
	struct fk_map maps[FK_MAXN];
	size_t n_maps;
	unsigned next_minor;
	struct { char dev[128], target[256]; } mounts[FK_MAXN];
	size_t n_mounts;
	struct fk_hdr hdr[16];
	size_t n_hdr;
	struct fk_blk blk[16];
	size_t n_blk;
	struct fk_vs vs[16];
	size_t n_vs;
	/* The devices probed (by the detection's probe processes: in memory
	 * shared with them, fk_reset maps it). */
	struct fk_probe_log { size_t n; char dev[32][64]; } *probes;
	unsigned char keys[FK_MAXN][64];
	size_t n_keys;
	int fail_format_on; /* index into disks, -1 for none */
	int fail_wipe_on;   /* the same, for the header wipe */
	const char *changed_dev; /* disk_recheck finds this one changed */
	bool no_dm;              /* the kernel has no device-mapper */
	unsigned formats, mkfs, mount_calls, wipes, discards, warnings, worker_jobs, all_jobs;
	unsigned claim_reads, scans;
	char removed[16][80];
	size_t n_removed;
	char stripe_members[256];
};
extern struct fake_kernel fk;
/* The configuration under test, and the runtime directory (a fresh one
 * per test: SCRATCHCRYPT_RUNTIME_DIR). */
extern struct cfg cfg;
extern char rundir[64];

/* An empty world: no disk, mapping or mount; scans and workers faked; the
 * default configuration and a new runtime directory. */
void fk_reset(void);
/* Frees the configuration and removes the runtime directory. */
void fk_cleanup(void);
/* cmocka fixtures: a node whose OS disk (/dev/sda) holds /, and the
 * cleanup after any fk_reset(). */
int fk_setup_os_node(void **state);
int fk_teardown(void **state);
/* A disk as detection judged it (for fk.scan), blank. */
struct verdict *fk_disk(const char *dev, enum disk_role role, enum disk_action action, uint64_t size);
/* A disk as detection judged it, with its content and reason. */
struct verdict *fk_verdict(const char *dev, enum disk_role role, enum disk_action action,
			   enum content content, const char *reason);
/* What is written on dev (added when new). */
struct fk_hdr *fk_hdr(const char *dev);
int fk_hdr_find(const char *dev);
/* dev's header carries json as its scratchcrypt token. */
void fk_token(const char *dev, const char *json);
/* A block device for detection in full. */
struct fk_blk *fk_blk(const char *dev);
int fk_map_find(const char *name);
int fk_map_add(const char *name, const char *dev, const char *type, bool live);
void fk_mount(const char *dev, const char *target);
