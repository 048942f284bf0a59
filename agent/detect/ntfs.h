/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>

/* The only user of libntfs-3g: lists the names in an NTFS volume's root
 * directory, read-only, leaving out NTFS's own $-files, "." and DOS 8.3
 * aliases. *names is a malloc'd vector of malloc'd strings.
 *
 * The volume is anyone's who could write the disk, so libntfs-3g parses it
 * in a child of its own: no capabilities, no new privileges, no network,
 * at most NTFS_TIME_LIMIT_S seconds of CPU and of wall time, limited
 * memory, and at most NTFS_MAX_NAMES names. -E2BIG when the root lists
 * more (a resource disk as Azure makes it lists one), -ETIMEDOUT when the
 * child ran out of time, -ECHILD when it died. */
#define NTFS_MAX_NAMES 64
#define NTFS_TIME_LIMIT_S 10
int ntfs_list_root(const char *devnode, char ***names, size_t *n);
/* The same in this process, without the confinement: the child's work,
 * and the fuzz target's (tests/fuzz/fuzz_ntfs.c). */
int ntfs_list_root_here(const char *devnode, char ***names, size_t *n);
void ntfs_names_free(char **names, size_t n);
