/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/enums.h"

/* Filesystems, mounts and block-device ioctls on the agent's side. */

/* mkfs with settings whose run time does not grow with the disk. */
int fs_mkfs(enum fs_type type, const char *dev, const char *label);
int fs_mount(const char *dev, const char *target, enum fs_type type);
/* Mount points at which dev (by device number) is mounted; returns count. */
int fs_mounts_of(const char *dev, char (*targets)[256], size_t max);
int fs_umount(const char *target);
int fs_write_warning(const char *mount_point);
int fs_discard(const char *dev);
int fs_size(const char *dev, uint64_t *bytes);
