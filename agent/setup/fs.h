/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strtab.h"

/* Filesystems and mounts: every mkfs, mount and unmount goes through here. */


/* mkfs with settings whose run time does not grow with the disk.
 * ext4_cluster_size 0: fs_ext4_cluster_size() of the device's size. */
int fs_mkfs(enum fs_type type, const char *dev, const char *label, unsigned ext4_cluster_size);
/* ext4's cluster for a filesystem of size bytes when the configuration says
 * auto: 4 KiB (no bigalloc) up to 128 GiB, then doubled with the size, so
 * that there are never more than 1024 block groups to make. */
unsigned fs_ext4_cluster_size(uint64_t size);
int fs_mount(const char *dev, const char *target, enum fs_type type);
/* Mount points at which dev (by device number) is mounted; returns count. */
int fs_mounts_of(const char *dev, char (*targets)[256], size_t max);
enum fs_mount_at {
	FS_AT_NOTHING, /* nothing is mounted at the target */
	FS_AT_DEV,     /* dev is */
	FS_AT_OTHER,   /* another device is */
	FS_AT_GONE,    /* a device that no longer exists is (an interrupted run's) */
};
/* What is mounted at target, compared with dev (which may be NULL). */
int fs_mount_state(const char *dev, const char *target);
/* 0 when target is not mounted (any more); detach: lazily, even if busy. */
int fs_umount(const char *target, bool detach);
int fs_write_warning(const char *mount_point);
/* 1 when the warning is there as a regular file. */
int fs_has_warning(const char *mount_point);
