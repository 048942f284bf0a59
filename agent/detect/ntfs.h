/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>

/* The only user of libntfs-3g: lists the names in an NTFS volume's root
 * directory, read-only, leaving out NTFS's own $-files, "." and DOS 8.3
 * aliases. *names is a malloc'd vector of malloc'd strings. */
int ntfs_list_root(const char *devnode, char ***names, size_t *n);
void ntfs_names_free(char **names, size_t n);
