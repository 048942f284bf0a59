// SPDX-License-Identifier: MIT
/* The volume steps of start: the stripe over the members, the filesystem,
 * the mount and the warning, each after a look at what is already there. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/setup/fs.h"
#include "agent/setup/plan.h"
#include "base/crashpoint.h"
#include "dm/dm.h"

static int mapping_devno(const char *name, char *buf, size_t size)
{
	struct dm_state st;
	int r = dm_query(name, &st, NULL);

	if (r < 0 || !st.exists)
		return r < 0 ? r : -ENODEV;
	snprintf(buf, size, "%u:%u", st.major, st.minor);
	return 0;
}

/* A live stripe is kept only when its table lists exactly this volume's
 * members, in their places (the table's order is the data's layout; the
 * kernel's list of dependencies has an order of its own). */
int plan_observe_stripe(const struct volume *vol, struct reason *why)
{
	struct dm_state st;
	char devno[32];
	struct strv on = { 0 };
	bool same;
	int r = plan_clear_half_state(vol->top, why);

	if (r < 0 || vol->n < 2)
		return r;
	r = dm_query(vol->top, &st, &on);
	same = r == 0 && st.exists && on.n == vol->n && strcmp(st.target, "striped") == 0;
	for (size_t i = 0; same && i < vol->n; i++)
		same = mapping_devno(vol->m[i].name, devno, sizeof(devno)) == 0 &&
		       strcmp(on.v[i], devno) == 0;
	strv_free(&on);
	if (r < 0 || !st.exists || same)
		return r;
	if (st.open_count > 0)
		return reason_set(why, -EBUSY, "%s does not sit on this volume's disks and is in use; "
				  "run 'scratchcrypt stop'", vol->topdev);
	log_info("%s does not sit on this volume's disks; making it again", vol->topdev);
	r = dm_remove(vol->top, false);
	return r < 0 ? reason_set(why, r, "cannot remove %s: %m", vol->topdev) : 0;
}

int plan_assemble_stripe(const struct volume *vol, struct reason *why)
{
	struct strv members = { 0 };
	struct dm_state st;
	char uuid[128], path[128];
	uint64_t min = UINT64_MAX;
	int r = dm_query(vol->top, &st, NULL);

	if (r < 0 || vol->n < 2 || (st.exists && st.live_table))
		return r < 0 ? reason_set(why, r, "cannot query %s: %m", vol->topdev) : 0;
	for (size_t i = 0; i < vol->n; i++) {
		struct dm_state ms = { 0 };

		snprintf(path, sizeof(path), "/dev/mapper/%s", vol->m[i].name);
		r = strv_push(&members, path);
		if (r == 0)
			r = dm_query(vol->m[i].name, &ms, NULL);
		if (r == 0 && (!ms.live_table || strcmp(ms.target, "crypt") != 0))
			r = -ENODEV;
		if (r < 0) {
			strv_free(&members);
			return reason_set(why, r, "cannot size %s: %m", path);
		}
		if (ms.sectors < min)
			min = ms.sectors;
	}
	log_info("%s: striping %zu disks into %s", disk_role_to_string(vol->role), vol->n, vol->topdev);
	snprintf(uuid, sizeof(uuid), "SCRATCHCRYPT-STRIPE-%s", vol->top);
	r = st.exists ? 0 : dm_create_empty(vol->top, uuid);
	if (r == 0 && !st.exists)
		crash_point("create-stripe");
	if (r == 0) {
		r = dm_load_stripe(vol->top, &members, STRIPE_CHUNK_SECTORS, min);
		if (r == 0)
			crash_point("load-stripe");
	}
	if (r == 0)
		r = dm_resume(vol->top);
	strv_free(&members);
	if (r < 0)
		return reason_set(why, r, "cannot create the stripe %s: %m", vol->topdev);
	crash_point("assemble-stripe");
	return 0;
}

/* The tokens say whether mkfs finished: a start stopped during mkfs makes
 * the filesystem again, and an HBI volume reopened keeps its own. */
int plan_volume_ready(const struct volume *vol)
{
	bool ready = true;
	struct sc_token t;

	for (size_t i = 0; i < vol->n; i++) {
		int r;

		if (vol->m[i].mode == MEMBER_FORMAT) {
			ready = false;
			continue;
		}
		/* A member that cannot be read now (its disk gone since it was
		 * opened) says nothing: never a reason to make a filesystem
		 * over what may be data. */
		r = token_read(vol->m[i].v->disk.devnode, &t);
		if (r < 0)
			return r;
		ready &= t.state == TOKEN_READY;
	}
	return ready;
}

int plan_mkfs_and_mark_ready(const struct cfg *c, const struct volume *vol,
				    struct reason *why)
{
	char label[16];
	int r;

	snprintf(label, sizeof(label), "sc-%s", disk_role_to_string(vol->role));
	log_info("%s: making %s on %s", disk_role_to_string(vol->role), fs_type_to_string(c->fs),
		 vol->topdev);
	r = fs_mkfs(c->fs, vol->topdev, label, c->ext4_cluster_size);
	if (r < 0)
		return reason_set(why, r, "mkfs.%s failed on %s", fs_type_to_string(c->fs), vol->topdev);
	crash_point("mkfs");
	for (size_t i = 0; i < vol->n; i++) {
		r = token_set_state(vol->m[i].v->disk.devnode, TOKEN_READY);
		if (r < 0)
			return reason_set(why, r, "%s: cannot update the scratchcrypt token: %m",
					  vol->m[i].v->disk.devnode);
	}
	crash_point("mark-ready");
	return 0;
}

/* 1 when the volume is mounted at its mount point already. Something else
 * mounted there is left alone and refused; a mount over a device that is
 * gone is what an interrupted run left behind, and is detached. */
int plan_observe_mount(const struct volume *vol, struct reason *why)
{
	int r = fs_mount_state(vol->topdev, vol->mount_point);

	switch (r) {
	case FS_AT_NOTHING:
		return 0;
	case FS_AT_DEV:
		return 1;
	case FS_AT_OTHER:
		return reason_set(why, -EBUSY, "another device is mounted at %s; scratchcrypt will "
				  "not mount over it", vol->mount_point);
	case FS_AT_GONE:
		log_info("%s holds a mount of a device that is gone; detaching it", vol->mount_point);
		r = fs_umount(vol->mount_point, true);
		return r < 0 ? reason_set(why, r, "cannot detach %s: %m", vol->mount_point) : 0;
	default:
		return reason_set(why, r, "cannot read the mount table: %m");
	}
}

int plan_mount(const struct cfg *c, const struct volume *vol, struct reason *why)
{
	int r = fs_mount(vol->topdev, vol->mount_point, c->fs);

	if (r < 0)
		return reason_set(why, r, "cannot mount %s at %s: %m", vol->topdev, vol->mount_point);
	crash_point("mount");
	return 0;
}

void plan_write_warning(const struct volume *vol)
{
	int r;

	if (fs_has_warning(vol->mount_point))
		return;
	r = fs_write_warning(vol->mount_point);
	if (r < 0)
		log_warn_errno(r, "cannot write the data-loss warning in %s: %m", vol->mount_point);
	else
		crash_point("write-warning");
}

