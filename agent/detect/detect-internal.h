/* SPDX-License-Identifier: MIT */
/* Shared by the files of agent/detect/ only. */
#pragma once
#include "agent/detect/detect.h"

/* The file Azure leaves on a fresh resource disk's NTFS. */
#define AZURE_WARNING_FILE "DATALOSS_WARNING_README.txt"

/* Adds a warning to det (at most as many as det->warnings holds). */
void detect_warn(struct detection *det, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Marks the disks holding /, /boot, /boot/efi, /usr (through dm, md,
 * partitions, btrfs, ZFS and overlay) and /dev/disk/azure/root as ROLE_OS. */
void detect_mark_os_disks(const struct detect_opts *o, struct sys_view *sv, struct detection *det);

/* Warns when WALinuxAgent or cloud-init could still format, repartition or
 * mount the resource disk. */
void detect_warn_other_agents(const struct detect_opts *o, struct detection *det);

/* resource.c: the resource disk's udev names (/dev/disk/azure/resource and
 * the others) resolve to d. */
bool detect_is_resource_link(const struct detect_opts *o, const struct sys_view *sv,
			     const struct sys_disk *d);
/* resource.c: d holds Azure's pristine resource-disk layout, as probed. */
bool detect_pristine_resource(const struct sys_paths *paths, const struct sys_disk *d,
			      const struct probe_result *p);

/* probeall.c: probe_device on each of devnodes[0..n), each in a process of
 * its own, all at once: out[i] and rs[i] (0 or -errno; -ETIMEDOUT when no
 * answer came within timeout_ms). -ENOMEM when it cannot fan out. */
int detect_probe_devices(const char *const *devnodes, size_t n, unsigned timeout_ms,
			 struct probe_result *out, int *rs);
