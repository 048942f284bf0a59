/* SPDX-License-Identifier: MIT */
#pragma once

/* Every state and role has one spelling, shared by the config parser, the
 * JSON output and the table. *_from_string() returns -EINVAL when unknown. */

enum node_role { NODE_COMPUTE_INSTANCE, NODE_SERVERLESS, _NODE_ROLE_MAX };
enum key_source { KEY_SOURCE_SYSTEM, KEY_SOURCE_HBI, KEY_SOURCE_CUSTOMER, _KEY_SOURCE_MAX };
enum fs_type { FS_EXT4, FS_XFS, _FS_TYPE_MAX };
enum disk_role { ROLE_OS, ROLE_TEMP, ROLE_SCRATCH, ROLE_DATA, ROLE_UNKNOWN, _DISK_ROLE_MAX };
enum disk_action { ACTION_ENCRYPT, ACTION_SKIP, ACTION_REFUSE, _DISK_ACTION_MAX };
enum disk_state {
	STATE_ENCRYPTED, STATE_NOT_ENCRYPTED, STATE_ABSENT, STATE_REFUSED,
	STATE_SHREDDED, STATE_ERROR, STATE_DEGRADED, STATE_SHRED_UNFINISHED, _DISK_STATE_MAX
};

const char *node_role_to_string(enum node_role v);
int node_role_from_string(const char *s);
const char *key_source_to_string(enum key_source v);
int key_source_from_string(const char *s);
/* How status names a key source: "system-managed", "hbi". */
const char *key_source_to_status(enum key_source v);
const char *fs_type_to_string(enum fs_type v);
int fs_type_from_string(const char *s);
const char *disk_role_to_string(enum disk_role v);
int disk_role_from_string(const char *s);
const char *disk_action_to_string(enum disk_action v);
const char *disk_state_to_string(enum disk_state v);
int disk_state_from_string(const char *s);
