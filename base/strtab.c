// SPDX-License-Identifier: MIT
#include "base/strtab.h"

#include <errno.h>
#include <string.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static int lookup(const char *const *table, int n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (table[i] && strcmp(table[i], s) == 0)
			return i;
	return -EINVAL;
}

#define DEFINE_STRING_TABLE(name, type, ...)                                  \
	static const char *const name##_table[] = { __VA_ARGS__ };           \
	const char *name##_to_string(type v)                                  \
	{                                                                     \
		return (unsigned)v < ELEMENTSOF(name##_table) ? name##_table[v] : NULL; \
	}

#define DEFINE_FROM_STRING(name)                                              \
	int name##_from_string(const char *s)                                 \
	{                                                                     \
		return lookup(name##_table, ELEMENTSOF(name##_table), s);     \
	}

DEFINE_STRING_TABLE(node_role, enum node_role, "compute-instance", "serverless")
DEFINE_FROM_STRING(node_role)
DEFINE_STRING_TABLE(key_source, enum key_source, "system", "hbi", "customer")
DEFINE_FROM_STRING(key_source)
DEFINE_STRING_TABLE(fs_type, enum fs_type, "ext4", "xfs")
DEFINE_FROM_STRING(fs_type)
DEFINE_STRING_TABLE(disk_role, enum disk_role, "os", "temp", "scratch", "data", "unknown")
DEFINE_FROM_STRING(disk_role)
DEFINE_STRING_TABLE(disk_action, enum disk_action, "encrypt", "skip", "refuse")
DEFINE_STRING_TABLE(disk_state, enum disk_state, "encrypted", "not-encrypted", "absent",
		    "refused", "shredded", "error", "degraded", "shred-unfinished")
DEFINE_FROM_STRING(disk_state)

const char *key_source_to_status(enum key_source v)
{
	switch (v) {
	case KEY_SOURCE_SYSTEM:
		return "system-managed";
	case KEY_SOURCE_HBI:
		return "hbi";
	case KEY_SOURCE_CUSTOMER:
		return "customer-managed";
	default:
		return NULL;
	}
}
