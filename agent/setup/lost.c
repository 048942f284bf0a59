// SPDX-License-Identifier: MIT
/* start, when a volume's member is gone (a disk pulled or its controller
 * removed, at any step of an earlier start or while mapped): a volume that
 * is not mounted is taken down, its mappings closed and the gone disks'
 * shreds owed (owed.h), so that the disks that are there are set up again
 * (system keys: a new volume on them; HBI: what their headers allow) and no
 * header is ever written on a disk that still has a live mapping. A mounted
 * one is in use: it is left as it is, and start names the member and fails
 * (69: a retry cannot help; 'scratchcrypt stop' shreds the rest). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/ondisk/names.h"
#include "agent/setup/fs.h"
#include "agent/setup/owed.h"
#include "agent/setup/plan.h"
#include "base/strv.h"
#include "dm/dm.h"

static bool volume_mounted(enum disk_role role)
{
	char top[64], dev[128], targets[2][256];

	ondisk_top_name(top, sizeof(top), role);
	snprintf(dev, sizeof(dev), "/dev/mapper/%s", top);
	return fs_mounts_of(dev, targets, 2) > 0;
}

/* The role's mappings, stripe first, closed: 0, or the first failure. */
static int take_down(enum disk_role role)
{
	struct strv maps = { 0 };
	int r = dm_list(DM_MAPPING_PREFIX, &maps), first = 0;

	for (int pass = 0; r >= 0 && pass < 2; pass++)
		for (size_t i = 0; i < maps.n; i++) {
			struct reason why = { "" };
			struct dm_state st;
			bool top = ondisk_is_top(maps.v[i]);

			if (ondisk_mapping_role(maps.v[i]) != (int)role || dm_query(maps.v[i], &st, NULL) < 0 ||
			    !st.exists)
				continue;
			if (pass == 0 && top && strcmp(st.target, "crypt") != 0)
				r = dm_remove(maps.v[i], false);
			else if (pass == 1 && strcmp(st.target, "crypt") == 0)
				r = dm_crypt_deactivate(maps.v[i], true, &why);
			else
				continue;
			if (r < 0)
				first = first ?: log_error_errno(r, "cannot close /dev/mapper/%s: %m", maps.v[i]);
			else
				log_info("closed /dev/mapper/%s", maps.v[i]);
			r = 0;
		}
	strv_free(&maps);
	return r < 0 ? r : first;
}

/* One role's volume with a member gone: true when it is left as it is
 * (mounted, or its mappings held open). */
static bool settle_role(const struct cfg *c, const struct lost_member *lost, int n, enum disk_role role)
{
	bool mounted = volume_mounted(role);

	for (int i = 0; i < n; i++) {
		const char *r = disk_role_to_string(role);

		if (lost[i].role != role)
			continue;
		if (mounted)
			log_error("%s: mounted, but the disk under %s (%s) is gone: the volume cannot be "
				  "read in full; 'scratchcrypt stop' shreds the rest and records the shred "
				  "that disk owes", r, lost[i].mapping, lost[i].device);
		/* System keys die with the mappings: the gone disk holds nothing
		 * anyone can read, and its header is owed a shred. An HBI
		 * volume's data opens again when the disk is back: nothing is
		 * owed, nothing is redone over it. */
		else if (c->key_source == KEY_SOURCE_HBI)
			log_warn("%s: the disk under %s (%s) is gone; the volume, not mounted, is closed "
				 "and kept: it opens again with its data when that disk is back", r,
				 lost[i].mapping, lost[i].device);
		else {
			log_warn("%s: the disk under %s (%s) is gone; the volume, not mounted, is taken "
				 "down and set up again on the disks that are here; that disk's shred is owed",
				 r, lost[i].mapping, lost[i].device);
			if (owed_record(&lost[i]) < 0)
				log_warn("%s: cannot record the shred it owes", lost[i].mapping);
		}
	}
	/* A mapping that cannot be closed (held open): left as a mounted one is. */
	return mounted || take_down(role) < 0;
}

void plan_settle_lost(const struct cfg *c, const struct sys_paths *p, bool degraded_in_use[_DISK_ROLE_MAX])
{
	struct lost_member lost[OWED_MAX];
	int n = owed_lost_members(p, lost, OWED_MAX);

	for (int role = 0; role < _DISK_ROLE_MAX; role++) {
		bool any = false;

		for (int i = 0; i < n; i++)
			any |= lost[i].role == (enum disk_role)role;
		degraded_in_use[role] = any && (role == ROLE_TEMP || role == ROLE_SCRATCH) &&
					settle_role(c, lost, n, role);
	}
}
