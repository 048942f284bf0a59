/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "agent/ondisk/format.h"
#include "base/strtab.h"

/* "temp 0/2": the LUKS2 subsystem of member `index` of `members`. */
void ondisk_subsystem(char *buf, size_t size, enum disk_role role, unsigned index, unsigned members);
/* Mapping names: "scratchcrypt-temp" for a role's volume, and
 * "scratchcrypt-scratch-0" for member 0 of a volume of several disks. */
/* The role and place a subsystem string names; -EINVAL for another. */
int ondisk_subsystem_parse(const char *s, enum disk_role *role, unsigned *index, unsigned *members);
void ondisk_top_name(char *buf, size_t size, enum disk_role role);
void ondisk_member_name(char *buf, size_t size, enum disk_role role, unsigned index,
		       unsigned members);
/* The role a mapping name belongs to, or -EINVAL for a name not ours. */
int ondisk_mapping_role(const char *name);
bool ondisk_is_top(const char *name);
