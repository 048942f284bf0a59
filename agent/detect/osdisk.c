// SPDX-License-Identifier: MIT
/* The disks the system runs from: never candidates, whatever is on them. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "agent/detect/detect-internal.h"

static void mark_os(struct detection *det, const struct sys_view *sv, const struct sys_disk *d,
		    const char *why)
{
	struct verdict *v = &det->v[d - sv->disks];

	v->role = ROLE_OS;
	snprintf(v->reason, sizeof(v->reason), "%s", why);
}

/* The disks under device major:minor (through dm, md and partitions);
 * how many. */
static size_t mark_under(const struct detect_opts *o, struct sys_view *sv, struct detection *det,
			 unsigned major, unsigned minor, const char *why)
{
	struct sys_disk *under[8];
	size_t n = sys_disks_under(o->paths, sv, major, minor, under, 8);

	for (size_t j = 0; j < n; j++)
		mark_os(det, sv, under[j], why);
	return n;
}

/* The disks under a path's filesystem, or under the block device it is. */
static size_t mark_under_path(const struct detect_opts *o, struct sys_view *sv,
			      struct detection *det, const char *path, const char *why)
{
	struct stat st;
	dev_t dev;

	if (stat(path, &st) < 0)
		return 0;
	dev = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
	return mark_under(o, sv, det, major(dev), minor(dev), why);
}

/* A ZFS pool's member disks: libblkid labels each zfs_member with the
 * pool's name. */
static void mark_zfs_pool(struct sys_view *sv, struct detection *det, const char *dataset,
			  const char *why)
{
	size_t n = strcspn(dataset, "/");

	for (size_t i = 0; i < det->n; i++) {
		const struct probe_result *p = &det->v[i].probe;
		bool member = !strcmp(p->type, "zfs_member") && strlen(p->label) == n &&
			      !strncmp(p->label, dataset, n);

		for (size_t k = 0; !member && k < p->n_parts; k++)
			member = !strcmp(p->parts[k].type, "zfs_member") &&
				 strlen(p->parts[k].label) == n && !strncmp(p->parts[k].label, dataset, n);
		if (member)
			mark_os(det, sv, &sv->disks[i], why);
	}
}

/* The disks under the filesystems the system runs from, whatever they are:
 * a block device (ext4, xfs, also through dm and md), btrfs (whose mount
 * shows an anonymous device: its source names a member), a ZFS dataset
 * (its pool's members), overlay (the filesystems of its upper and lower
 * directories). */
void detect_mark_os_disks(const struct detect_opts *o, struct sys_view *sv, struct detection *det)
{
	static const char *const os_mounts[] = { "/", "/boot", "/boot/efi", "/usr" };
	char kname[64], why[300];

	for (size_t i = 0; i < sv->n_mounts; i++) {
		const struct sys_mount *m = &sv->mounts[i];

		for (size_t k = 0; k < sizeof(os_mounts) / sizeof(os_mounts[0]); k++) {
			if (strcmp(m->target, os_mounts[k]) != 0)
				continue;
			snprintf(why, sizeof(why), "holds %s", os_mounts[k]);
			mark_under(o, sv, det, m->major, m->minor, why);
			if (!strncmp(m->source, "/dev/", 5)) {
				char dev[PATH_MAX];
				struct sys_disk *d;

				snprintf(dev, sizeof(dev), "%s%s", o->paths->dev, m->source + 4);
				/* /dev/NAME is also the kernel's name for it. */
				if (!mark_under_path(o, sv, det, dev, why) &&
				    (d = sys_find_by_kname(sv, strrchr(m->source, '/') + 1)))
					mark_os(det, sv, d, why);
			}
			if (!strcmp(m->fstype, "zfs"))
				mark_zfs_pool(sv, det, m->source, why);
			if (!strcmp(m->fstype, "overlay"))
				for (char *opt = strstr(m->options, "dir="); opt; opt = strstr(opt + 1, "dir=")) {
					char dir[PATH_MAX];
					size_t len = strcspn(opt + 4, ",:");

					snprintf(dir, sizeof(dir), "%.*s", (int)len, opt + 4);
					mark_under_path(o, sv, det, dir, why);
				}
		}
	}
	if (sys_resolve_link(o->paths, "disk/azure/root", kname, sizeof(kname)) == 0) {
		struct sys_disk *d = sys_find_by_kname(sv, kname);
		if (d)
			mark_os(det, sv, d, "Azure OS disk (/dev/disk/azure/root)");
	}
}
