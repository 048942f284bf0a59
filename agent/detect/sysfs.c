// SPDX-License-Identifier: MIT
#include "agent/detect/sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const struct sys_paths sys_paths_default = {
	.sysfs = "/sys",
	.dev = "/dev",
	.mountinfo = "/proc/self/mountinfo",
	.swaps = "/proc/swaps",
	.etc = "/etc",
	.units = SC_SYSTEMDSYSTEMUNITDIR,
	.udev_rules = SC_UDEVRULESDIR,
	.run_udev_rules = "/run/udev/rules.d",
};

static int read_attr(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t len;

	buf[0] = '\0';
	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	fclose(f);
	len = strlen(buf);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	/* sysfs pads SCSI vendor and model with spaces on the left too */
	size_t lead = strspn(buf, " ");
	if (lead)
		memmove(buf, buf + lead, len - lead + 1);
	return 0;
}

int sys_read_attrf(char *buf, size_t size, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return read_attr(path, buf, size);
}

static int parse_devno(const char *s, unsigned *major, unsigned *minor)
{
	return sscanf(s, "%u:%u", major, minor) == 2 ? 0 : -EINVAL;
}

static bool skip_kname(const char *n)
{
	static const char *const virt[] = { "loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd" };

	for (size_t i = 0; i < sizeof(virt) / sizeof(virt[0]); i++)
		if (strncmp(n, virt[i], strlen(virt[i])) == 0)
			return true;
	return false;
}

static void add_holders(const struct sys_paths *p, struct sys_disk *d, const char *dir)
{
	DIR *h = opendir(dir);
	struct dirent *e;

	if (!h)
		return;
	while ((e = readdir(h)) && d->n_holders < SYS_MAX_HOLDERS) {
		char name[128];

		if (e->d_name[0] == '.')
			continue;
		/* dm holders by their mapping name, which says whose they are */
		if (sys_read_attrf(name, sizeof(name), "%s/block/%s/dm/name", p->sysfs, e->d_name) < 0 ||
		    !name[0])
			snprintf(name, sizeof(name), "%s", e->d_name);
		snprintf(d->holders[d->n_holders++], sizeof(d->holders[0]), "%s", name);
	}
	closedir(h);
}

/* The SCSI address's LUN: the device directory is named H:C:T:L. */
static bool scsi_lun(const char *devdir, unsigned *lun)
{
	const char *base = strrchr(devdir, '/');
	unsigned h, c, t;

	return base && sscanf(base + 1, "%u:%u:%u:%u", &h, &c, &t, lun) == 4;
}

/* What the Hyper-V host says the disk is: the VMBus device the SCSI disk
 * hangs off, found by walking up from its device directory. Gen1 VMs give
 * the resource disk a VMBus device id beginning 00000000-0001; Gen2 VMs put
 * it at LUN 1 of the controller that also holds the OS disk. */
static void vmbus_identity(const struct sys_paths *p, struct sys_disk *d)
{
	char link[PATH_MAX], dev[PATH_MAX], id[64], cls[64];
	unsigned lun = 0;
	bool have_lun;

	snprintf(link, sizeof(link), "%s/block/%s/device", p->sysfs, d->name);
	if (!realpath(link, dev))
		return;
	have_lun = scsi_lun(dev, &lun);
	for (int depth = 0; depth < 8; depth++) {
		char *slash = strrchr(dev, '/');

		if (!slash || slash == dev || strlen(dev) <= strlen(p->sysfs))
			return;
		*slash = '\0';
		if (sys_read_attrf(id, sizeof(id), "%s/device_id", dev) < 0)
			continue;
		sys_read_attrf(cls, sizeof(cls), "%s/class_id", dev);
		snprintf(d->vmbus_id, sizeof(d->vmbus_id), "%s", id);
		if (strlen(id) > 14 && strncasecmp(id + 1, VMBUS_GEN1_RESOURCE_PREFIX,
						   strlen(VMBUS_GEN1_RESOURCE_PREFIX)) == 0)
			d->resource_disk = true;
		else if ((!strcasecmp(id, VMBUS_GEN2_OS_CONTROLLER) ||
			  !strcasecmp(cls, VMBUS_GEN2_OS_CONTROLLER)) && have_lun && lun == 1)
			d->resource_disk = true;
		return;
	}
}

void sys_read_serial(const struct sys_paths *p, const char *kname, char *buf, size_t size)
{
	static const char *const attrs[] = { "device/serial", "device/wwid", "wwid" };

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (sys_read_attrf(buf, size, "%s/block/%s/%s", p->sysfs, kname, attrs[i]) == 0 && buf[0])
			return;
	buf[0] = '\0';
}

static int scan_disk(const struct sys_paths *p, const char *kname, struct sys_disk *d)
{
	char path[PATH_MAX], buf[64];
	DIR *dir;
	struct dirent *e;

	memset(d, 0, sizeof(*d));
	d->platform.index = -1;
	snprintf(d->name, sizeof(d->name), "%s", kname);
	snprintf(d->devnode, sizeof(d->devnode), "%s/%s", p->dev, kname);
	if (sys_read_attrf(buf, sizeof(buf), "%s/block/%s/dev", p->sysfs, kname) < 0 ||
	    parse_devno(buf, &d->major, &d->minor) < 0)
		return -ENODEV;
	if (sys_read_attrf(buf, sizeof(buf), "%s/block/%s/size", p->sysfs, kname) == 0)
		d->size_bytes = strtoull(buf, NULL, 10) * 512;
	if (sys_read_attrf(buf, sizeof(buf), "%s/block/%s/queue/logical_block_size", p->sysfs,
		       kname) == 0)
		d->logical_block_size = (unsigned)strtoul(buf, NULL, 10);
	if (!d->logical_block_size)
		d->logical_block_size = 512;
	if (sys_read_attrf(buf, sizeof(buf), "%s/block/%s/ro", p->sysfs, kname) == 0)
		d->ro = buf[0] == '1';
	sys_read_attrf(d->vendor, sizeof(d->vendor), "%s/block/%s/device/vendor", p->sysfs, kname);
	sys_read_attrf(d->model, sizeof(d->model), "%s/block/%s/device/model", p->sysfs, kname);
	sys_read_serial(p, kname, d->serial, sizeof(d->serial));
	if (strncmp(kname, "nvme", 4) == 0)
		d->transport = TRANSPORT_NVME;
	else if (strncmp(kname, "sd", 2) == 0)
		d->transport = TRANSPORT_SCSI;
	else
		d->transport = TRANSPORT_OTHER;
	if (d->transport == TRANSPORT_SCSI)
		vmbus_identity(p, d);

	snprintf(path, sizeof(path), "%s/block/%s/holders", p->sysfs, kname);
	add_holders(p, d, path);

	snprintf(path, sizeof(path), "%s/block/%s", p->sysfs, kname);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)) && d->n_parts < SYS_MAX_PARTS) {
		struct sys_part *pt;
		char sub[PATH_MAX];

		if (strncmp(e->d_name, kname, strlen(kname)) != 0)
			continue;
		if (sys_read_attrf(buf, sizeof(buf), "%s/%s/partition", path, e->d_name) < 0)
			continue;
		pt = &d->parts[d->n_parts];
		snprintf(pt->name, sizeof(pt->name), "%s", e->d_name);
		if (sys_read_attrf(buf, sizeof(buf), "%s/%s/dev", path, e->d_name) < 0 ||
		    parse_devno(buf, &pt->major, &pt->minor) < 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s/holders", path, e->d_name);
		add_holders(p, d, sub);
		d->n_parts++;
	}
	closedir(dir);
	return 0;
}

static int cmp_disk(const void *a, const void *b)
{
	const struct sys_disk *x = a, *y = b;
	size_t lx = strlen(x->name), ly = strlen(y->name);

	/* nvme2n1 before nvme10n1 */
	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->name, y->name);
}

int sys_scan(const struct sys_paths *p, struct sys_view *v)
{
	char path[PATH_MAX];
	DIR *dir;
	struct dirent *e;
	int r;

	memset(v, 0, sizeof(*v));
	snprintf(path, sizeof(path), "%s/block", p->sysfs);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		struct sys_disk *nd;

		if (e->d_name[0] == '.' || skip_kname(e->d_name))
			continue;
		nd = realloc(v->disks, (v->n_disks + 1) * sizeof(*nd));
		if (!nd) {
			closedir(dir);
			sys_view_free(v);
			return -ENOMEM;
		}
		v->disks = nd;
		if (scan_disk(p, e->d_name, &v->disks[v->n_disks]) == 0)
			v->n_disks++;
	}
	closedir(dir);
	if (v->n_disks)
		qsort(v->disks, v->n_disks, sizeof(*v->disks), cmp_disk);
	r = sys_read_mounts(p, v);
	if (r == 0)
		r = sys_read_swaps(p, v);
	if (r < 0)
		sys_view_free(v);
	return r;
}

struct sys_disk *sys_find_by_kname(struct sys_view *v, const char *kname)
{
	for (size_t i = 0; i < v->n_disks; i++) {
		struct sys_disk *d = &v->disks[i];

		if (strcmp(d->name, kname) == 0)
			return d;
		for (size_t j = 0; j < d->n_parts; j++)
			if (strcmp(d->parts[j].name, kname) == 0)
				return d;
	}
	return NULL;
}

static struct sys_disk *find_by_devno(struct sys_view *v, unsigned major, unsigned minor)
{
	for (size_t i = 0; i < v->n_disks; i++) {
		struct sys_disk *d = &v->disks[i];

		if (d->major == major && d->minor == minor)
			return d;
		for (size_t j = 0; j < d->n_parts; j++)
			if (d->parts[j].major == major && d->parts[j].minor == minor)
				return d;
	}
	return NULL;
}

size_t sys_disks_under(const struct sys_paths *p, struct sys_view *v, unsigned major,
		       unsigned minor, struct sys_disk **out, size_t max)
{
	struct sys_disk *d = find_by_devno(v, major, minor);
	char path[PATH_MAX], kname[64], buf[64];
	DIR *dir;
	struct dirent *e;
	size_t n = 0;
	ssize_t len;

	if (d) {
		if (max)
			out[0] = d;
		return max ? 1 : 0;
	}
	/* A stacked device (dm, md): walk its slaves. */
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u", p->sysfs, major, minor);
	len = readlink(path, buf, sizeof(buf) - 1);
	if (len < 0)
		return 0;
	buf[len] = '\0';
	snprintf(kname, sizeof(kname), "%s", strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf);
	snprintf(path, sizeof(path), "%s/block/%s/slaves", p->sysfs, kname);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((e = readdir(dir)) && n < max) {
		unsigned ma, mi;

		if (e->d_name[0] == '.')
			continue;
		if (sys_read_attrf(buf, sizeof(buf), "%s/class/block/%s/dev", p->sysfs, e->d_name) < 0 ||
		    parse_devno(buf, &ma, &mi) < 0)
			continue;
		n += sys_disks_under(p, v, ma, mi, out + n, max - n);
	}
	closedir(dir);
	return n;
}

int sys_resolve_link(const struct sys_paths *p, const char *rel, char *kname, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t len;
	const char *base;

	snprintf(path, sizeof(path), "%s/%s", p->dev, rel);
	len = readlink(path, target, sizeof(target) - 1);
	if (len < 0)
		return -errno;
	target[len] = '\0';
	base = strrchr(target, '/');
	snprintf(kname, size, "%s", base ? base + 1 : target);
	return 0;
}
