/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the kernel says about block devices, mounts and swaps. Every path is
 * relative to a root that tests point at a fixture tree. */

struct sys_paths {
	const char *sysfs;     /* "/sys" */
	const char *dev;       /* "/dev" */
	const char *mountinfo; /* "/proc/self/mountinfo" */
	const char *swaps;     /* "/proc/swaps" */
	const char *etc;       /* "/etc": other agents' configuration */
	const char *units;     /* systemd's system unit directory: the drop-ins
				* scratchcrypt puts on other agents' units */
	const char *udev_rules; /* where packages put udev rules */
	const char *run_udev_rules; /* "/run/udev/rules.d": runtime overrides */
};
extern const struct sys_paths sys_paths_default;

enum transport { TRANSPORT_NVME, TRANSPORT_SCSI, TRANSPORT_OTHER };

/* The Hyper-V identities of the resource disk (WALinuxAgent's and
 * azure-vm-utils' udev rules encode the same). */
#define VMBUS_GEN1_RESOURCE_PREFIX "00000000-0001-"
#define VMBUS_GEN2_OS_CONTROLLER "{f8b3781a-1e82-4818-a1c3-63d806ec15bb}"

#define SYS_MAX_PARTS 16
#define SYS_MAX_HOLDERS 8

struct sys_part {
	char name[32];
	unsigned major, minor;
};

/* What the platform's controller says a disk is, where it says anything
 * (Azure's NVMe Direct Disk v2: type=local, index=N, name=...). */
struct sys_platform_id {
	char type[16];  /* "local", "os", "data"; "" when not said */
	int index;      /* the platform's index among the local disks, or -1 */
	char name[64];
};

struct sys_disk {
	char name[32];     /* "nvme0n1" */
	char devnode[64];  /* "/dev/nvme0n1" */
	unsigned major, minor;
	enum transport transport;
	char vendor[64];
	char model[64];
	char serial[64];   /* NVMe or virtio serial, else the SCSI WWID */
	char vmbus_id[64]; /* the VMBus device it hangs off, if any */
	bool resource_disk; /* the VMBus identity of Azure's resource disk */
	struct sys_platform_id platform; /* NVMe: from Identify Namespace */
	uint64_t size_bytes;
	unsigned logical_block_size;
	bool ro;
	size_t n_parts;
	struct sys_part parts[SYS_MAX_PARTS];
	size_t n_holders;
	char holders[SYS_MAX_HOLDERS][128]; /* dm names, or kernel names */
};

struct sys_mount {
	unsigned major, minor;
	char target[256];
	char source[256];
	char fstype[32];
	char options[1024]; /* the superblock's: overlay's lowerdir=, upperdir= */
};

struct sys_view {
	struct sys_disk *disks;
	size_t n_disks;
	struct sys_mount *mounts;
	size_t n_mounts;
	char (*swaps)[256];
	size_t n_swaps;
};

/* Disks backed by hardware: loop, ram, zram, dm and md devices are left out. */
int sys_scan(const struct sys_paths *p, struct sys_view *v);
/* The mount table alone, without reading a disk's attributes: v->disks is empty. */
int sys_scan_mounts(const struct sys_paths *p, struct sys_view *v);
/* mounts.c: add the mount table's entries, or the active swaps, to v. */
int sys_read_mounts(const struct sys_paths *p, struct sys_view *v);
int sys_read_swaps(const struct sys_paths *p, struct sys_view *v);
void sys_view_free(struct sys_view *v);
/* The disk whose whole device or partition has this kernel name. */
struct sys_disk *sys_find_by_kname(struct sys_view *v, const char *kname);
/* The disks under device major:minor, following dm slaves and partitions. */
size_t sys_disks_under(const struct sys_paths *p, struct sys_view *v, unsigned major,
		       unsigned minor, struct sys_disk **out, size_t max);
/* The disk's serial: NVMe and virtio say it; SCSI disks have a WWID. */
void sys_read_serial(const struct sys_paths *p, const char *kname, char *buf, size_t size);
/* A sysfs attribute at the printf-formatted path, trimmed of the padding
 * and newline sysfs adds; 0 or -errno (buf is "" then). */
int sys_read_attrf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Where a udev symlink points, as a kernel name ("sdb1"); -ENOENT if absent. */
int sys_resolve_link(const struct sys_paths *p, const char *rel, char *kname, size_t size);
