// SPDX-License-Identifier: MIT
#include "agent/ondisk/names.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void ondisk_subsystem(char *buf, size_t size, enum disk_role role, unsigned index, unsigned members)
{
	snprintf(buf, size, "%s %u/%u", disk_role_to_string(role), index, members);
}

int ondisk_subsystem_parse(const char *s, enum disk_role *role, unsigned *index, unsigned *members)
{
	char r[16];
	int rr;

	if (sscanf(s, "%15s %u/%u", r, index, members) != 3 || *index >= *members ||
	    *members > 64)
		return -EINVAL;
	rr = disk_role_from_string(r);
	if (rr != ROLE_TEMP && rr != ROLE_SCRATCH)
		return -EINVAL;
	*role = rr;
	return 0;
}

void ondisk_top_name(char *buf, size_t size, enum disk_role role)
{
	snprintf(buf, size, DM_MAPPING_PREFIX "%s", disk_role_to_string(role));
}

void ondisk_member_name(char *buf, size_t size, enum disk_role role, unsigned index,
		       unsigned members)
{
	if (members == 1)
		ondisk_top_name(buf, size, role);
	else
		snprintf(buf, size, DM_MAPPING_PREFIX "%s-%u", disk_role_to_string(role), index);
}

int ondisk_mapping_role(const char *name)
{
	const char *rest;

	if (strncmp(name, DM_MAPPING_PREFIX, strlen(DM_MAPPING_PREFIX)) != 0)
		return -EINVAL;
	rest = name + strlen(DM_MAPPING_PREFIX);
	for (int role = ROLE_TEMP; role <= ROLE_SCRATCH; role++) {
		const char *s = disk_role_to_string(role);
		size_t len = strlen(s);

		if (strncmp(rest, s, len) == 0 && (rest[len] == '\0' || rest[len] == '-'))
			return role;
	}
	return -EINVAL;
}

bool ondisk_is_top(const char *name)
{
	int role = ondisk_mapping_role(name);
	char top[64];

	if (role < 0)
		return false;
	ondisk_top_name(top, sizeof(top), role);
	return strcmp(top, name) == 0;
}
