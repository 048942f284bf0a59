// SPDX-License-Identifier: MIT
#include "agent/setup/plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/setup/disk.h"
#include "dm/dm.h"
#include "agent/ondisk/names.h"

const struct lc_step lc_steps[] = {
	{ "start", "claim", "the claim is on the disk, nothing else yet" },
	{ "start", "add-token", "the header, with the scratchcrypt token (and the HBI token), is made "
				"under /run; the disk holds only the claim" },
	{ "start", "write-header", "the LUKS2 header, its tokens in it, is on the disk" },
	{ "start", "activate", "a member's crypt mapping is open" },
	{ "start", "create-stripe", "the stripe exists without a table" },
	{ "start", "load-stripe", "the stripe's table is loaded but not live" },
	{ "start", "assemble-stripe", "the stripe is live" },
	{ "start", "mkfs", "the filesystem is made" },
	{ "start", "mark-ready", "every member's token says ready" },
	{ "start", "mount", "the volume is mounted" },
	{ "start", "write-warning", "the data-loss warning is written" },
	{ "stop", "mark-shredding", "every disk's token says shredding" },
	{ "stop", "unmount", "the volumes are unmounted" },
	{ "stop", "remove-stripe", "a stripe is removed" },
	{ "stop", "deactivate", "a crypt mapping is closed and its key gone" },
	{ "stop", "wipe-header", "a disk's header area is zeroed" },
	{ "stop", "discard", "a disk's data area is discarded" },
	{ "stop", "record-shred", "a disk's claim is cleared: it reads as blank" },
	{ "rewrap", "rewrap-unwrap", "a disk's volume key is unwrapped" },
	{ "rewrap", "rewrap-write-token", "a disk's token holds the key wrapped anew" },
	{ "rewrap", "rewrap-done", "every disk rewrapped, the key session closed" },
	{ NULL, NULL, NULL },
};

const char *lc_mount_point(const struct cfg *c, enum disk_role role)
{
	return role == ROLE_TEMP ? c->temp_mount : c->scratch_mount;
}

static int cmp_platform_index(const void *a, const void *b)
{
	const struct verdict *x = *(const struct verdict *const *)a, *y = *(const struct verdict *const *)b;

	return (x->disk.platform.index > y->disk.platform.index) -
	       (x->disk.platform.index < y->disk.platform.index);
}

/* New volumes take their members in the platform's order of its local
 * disks (NVMe Direct Disk v2 says each one's index) when every member has
 * an index of its own; otherwise in the kernel's order. */
static void order_by_platform_index(struct verdict **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (list[i]->disk.platform.index < 0)
			return;
		for (size_t j = 0; j < i; j++)
			if (list[j]->disk.platform.index == list[i]->disk.platform.index)
				return;
	}
	qsort(list, n, sizeof(*list), cmp_platform_index);
}

static void place_members(struct volume *vol, struct verdict **list, size_t n)
{
	const struct verdict *placed[PLAN_MAX_MEMBERS] = { NULL };
	bool ok = n > 1;

	/* Disks set up before take the places their headers record, whatever
	 * order the kernel named them in this boot. */
	for (size_t i = 0; ok && i < n; i++) {
		const struct verdict *v = list[i];

		ok = v->content == CONTENT_OURS && v->ours_members == n && v->ours_index < n &&
		     !placed[v->ours_index];
		if (ok)
			placed[v->ours_index] = v;
	}
	if (!ok)
		order_by_platform_index(list, n);
	vol->n = n;
	for (size_t i = 0; i < n; i++) {
		struct member *m = &vol->m[i];

		m->v = ok ? placed[i] : list[i];
		m->index = (unsigned)i;
		ondisk_member_name(m->name, sizeof(m->name), vol->role, (unsigned)i, (unsigned)n);
	}
}

void plan_volumes(const struct cfg *c, struct detection *det, struct volume vol[2],
		  unsigned *refused)
{
	struct verdict *list[2][PLAN_MAX_MEMBERS];
	size_t n[2] = { 0, 0 };

	*refused = 0;
	for (size_t i = 0; i < det->n; i++) {
		struct verdict *v = &det->v[i];
		int k = v->role == ROLE_TEMP ? 0 : 1;

		if (v->role != ROLE_TEMP && v->role != ROLE_SCRATCH)
			continue;
		if (v->action == ACTION_REFUSE) {
			(*refused)++;
			continue;
		}
		if (n[k] < PLAN_MAX_MEMBERS)
			list[k][n[k]++] = v;
	}
	for (int k = 0; k < 2; k++) {
		memset(&vol[k], 0, sizeof(vol[k]));
		vol[k].role = k == 0 ? ROLE_TEMP : ROLE_SCRATCH;
		vol[k].mount_point = lc_mount_point(c, vol[k].role);
		ondisk_top_name(vol[k].top, sizeof(vol[k].top), vol[k].role);
		snprintf(vol[k].topdev, sizeof(vol[k].topdev), "/dev/mapper/%s", vol[k].top);
		place_members(&vol[k], list[k], n[k]);
	}
}

int plan_clear_half_state(const char *name, struct reason *why)
{
	struct dm_state st;
	int r = dm_query(name, &st, NULL);

	if (r < 0)
		return reason_set(why, r, "cannot query device-mapper for %s: %m", name);
	if (!st.exists || (st.live_table && !st.suspended))
		return 0;
	if (st.open_count > 0)
		return reason_set(why, -EBUSY,
				  "/dev/mapper/%s is %s and still held open; run 'scratchcrypt stop'",
				  name, st.suspended ? "suspended" : "without a live table");
	log_info("/dev/mapper/%s was left %s by an interrupted run; removing it", name,
		 !st.live_table ? "without a live table" : st.suspended ? "suspended" : "with an inactive table");
	r = dm_remove(name, false);
	if (r < 0)
		return reason_set(why, r, "cannot remove the half-made /dev/mapper/%s: %m", name);
	return 1;
}
