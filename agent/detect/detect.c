// SPDX-License-Identifier: MIT
#include "agent/detect/detect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdarg.h>
#include <unistd.h>

#include "agent/detect/detect-internal.h"
#include "agent/detect/nvmeid.h"
#include "agent/ondisk/format.h"
#include "dm/dm.h"

static bool is_our_holder(const char *name)
{
	return strncmp(name, DM_MAPPING_PREFIX, strlen(DM_MAPPING_PREFIX)) == 0;
}

static const char *disk_mount(const struct sys_view *v, const struct sys_disk *d)
{
	for (size_t i = 0; i < v->n_mounts; i++) {
		const struct sys_mount *m = &v->mounts[i];

		if (m->major == d->major && m->minor == d->minor)
			return m->target;
		for (size_t j = 0; j < d->n_parts; j++)
			if (m->major == d->parts[j].major && m->minor == d->parts[j].minor)
				return m->target;
	}
	return NULL;
}

static const char *disk_swap(const struct sys_view *v, const struct sys_disk *d)
{
	for (size_t i = 0; i < v->n_swaps; i++) {
		const char *base = strrchr(v->swaps[i], '/');

		base = base ? base + 1 : v->swaps[i];
		if (strcmp(base, d->name) == 0)
			return v->swaps[i];
		for (size_t j = 0; j < d->n_parts; j++)
			if (strcmp(base, d->parts[j].name) == 0)
				return v->swaps[i];
	}
	return NULL;
}

/* A LUKS2 header labelled scratchcrypt is only a hint: anyone who can
 * write the disk can write one. detect_run decides (ownership.c), from the claim or the
 * token and the disk's identity, whether it is ours. */
bool detect_has_our_label(const struct probe_result *p)
{
	return p->kind == PROBE_SIGNATURE && strcmp(p->type, "crypto_LUKS") == 0 &&
	       strcmp(p->label, ONDISK_LUKS_LABEL) == 0;
}

/* [disks] devices names block devices through any path: /dev/sdb,
 * /dev/disk/azure/resource, /dev/disk/by-id/... Each resolves, through its
 * symlinks, to one device number. */
static int resolve_listed(const struct sys_paths *paths, const char *entry, char *kname,
			  size_t size, dev_t *rdev)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", paths->dev, entry + strlen("/dev"));
	if (!realpath(path, real) || stat(real, &st) < 0)
		return -errno;
	snprintf(kname, size, "%s", strrchr(real, '/') + 1);
	*rdev = S_ISBLK(st.st_mode) ? st.st_rdev : 0;
	return 0;
}

static bool same_device(dev_t rdev, const char *kname, const struct sys_disk *d)
{
	return rdev ? major(rdev) == d->major && minor(rdev) == d->minor : strcmp(kname, d->name) == 0;
}

static bool device_listed(const struct cfg *c, const struct detect_opts *o, const struct sys_disk *d)
{
	for (size_t i = 0; i < c->devices.n; i++) {
		char kname[NAME_MAX + 1];
		dev_t rdev;

		if (resolve_listed(o->paths, c->devices.v[i], kname, sizeof(kname), &rdev) < 0)
			continue;
		if (same_device(rdev, kname, d))
			return true;
	}
	return false;
}

static void check_listed(const struct cfg *c, const struct detect_opts *o, struct detection *det)
{
	for (size_t i = 0; i < c->devices.n; i++) {
		char kname[NAME_MAX + 1];
		bool found = false;
		dev_t rdev;
		int r = resolve_listed(o->paths, c->devices.v[i], kname, sizeof(kname), &rdev);

		for (size_t k = 0; r == 0 && k < det->n; k++)
			found |= same_device(rdev, kname, &det->v[k].disk);
		if (!found) {
			det->n_unlisted++;
			detect_warn(det, "[disks] devices: %s is not a disk on this node (%s)", c->devices.v[i],
			     r < 0 ? strerror(-r) : "not a whole local disk");
		}
	}
}

/* Whether the candidate is in use (mounted, swap, held, read-only), with
 * the reason in v. */
static bool in_use(const struct sys_view *sv, struct verdict *v)
{
	const char *where;

	if ((where = disk_mount(sv, &v->disk))) {
		snprintf(v->reason, sizeof(v->reason), "%s has a filesystem mounted at %s",
			 v->disk.devnode, where);
		return true;
	}
	if ((where = disk_swap(sv, &v->disk))) {
		snprintf(v->reason, sizeof(v->reason), "%s holds active swap %s", v->disk.devnode,
			 where);
		return true;
	}
	for (size_t i = 0; i < v->disk.n_holders; i++)
		if (!is_our_holder(v->disk.holders[i])) {
			snprintf(v->reason, sizeof(v->reason),
				 "%s is in use by device-mapper or md device '%s'", v->disk.devnode,
				 v->disk.holders[i]);
			return true;
		}
	if (v->disk.ro) {
		snprintf(v->reason, sizeof(v->reason), "%s is read-only", v->disk.devnode);
		return true;
	}
	return false;
}

/* The safety half of a verdict: may scratchcrypt write to this candidate? */
static void judge_candidate(const struct detect_opts *o,
			    const struct sys_view *sv, struct verdict *v)
{
	char what[256];

	v->action = ACTION_REFUSE;
	v->in_use = in_use(sv, v);
	if (v->in_use)
		return;
	if (v->probe.kind == PROBE_FAILED) {
		/* What cannot be read cannot be judged: not even --force
		 * writes to it. */
		if (v->probe_timeout_ms)
			snprintf(v->reason, sizeof(v->reason), "%s did not answer a read within %u ms "
				 "(stalled or going away); left untouched%s", v->disk.devnode,
				 v->probe_timeout_ms, o->force ? ", even with --force" : "");
		else
			snprintf(v->reason, sizeof(v->reason), "%s cannot be read (%s); left untouched%s",
				 v->disk.devnode, strerror(v->probe.error), o->force ? ", even with --force" : "");
		return;
	}

	switch (v->content) {
	case CONTENT_BLANK:
		v->action = ACTION_ENCRYPT;
		snprintf(v->reason, sizeof(v->reason), "blank");
		return;
	case CONTENT_PRISTINE_TEMP:
		v->action = ACTION_ENCRYPT;
		snprintf(v->reason, sizeof(v->reason),
			 "Azure's pristine resource-disk layout (an NTFS partition holding "
			 "only " AZURE_WARNING_FILE ")");
		return;
	case CONTENT_OURS:
		v->action = ACTION_ENCRYPT;
		snprintf(v->reason, sizeof(v->reason), "set up by scratchcrypt");
		return;
	case CONTENT_FOREIGN:
		probe_describe(&v->probe, what, sizeof(what));
		if (o->force) {
			v->action = ACTION_ENCRYPT;
			snprintf(v->reason, sizeof(v->reason), "holds %s; --force: it will be overwritten",
				 what);
			return;
		}
		snprintf(v->reason, sizeof(v->reason),
			 "%s holds %s that scratchcrypt did not write; left untouched",
			 v->disk.devnode, what);
		return;
	}
}

/* What is on each disk, as libblkid sees it: every disk, or with
 * candidates_only the temp and scratch candidates alone, each in a process
 * of its own (probeall.c), within the probe deadline. */
static void probe_all(const struct detect_opts *o, struct detection *out)
{
	const char **devs = calloc(out->n ?: 1, sizeof(*devs));
	struct probe_result *res = calloc(out->n ?: 1, sizeof(*res));
	int *rs = calloc(out->n ?: 1, sizeof(*rs));
	size_t *at = calloc(out->n ?: 1, sizeof(*at)), n = 0;
	unsigned timeout_ms = o->probe_timeout_ms ?: DETECT_PROBE_TIMEOUT_MS;

	for (size_t i = 0; i < out->n; i++) {
		struct verdict *v = &out->v[i];
		bool candidate = v->role == ROLE_TEMP || v->role == ROLE_SCRATCH;

		v->content = CONTENT_FOREIGN;
		if (o->candidates_only && !candidate) {
			v->probe.kind = PROBE_UNREAD;
			continue;
		}
		if (devs && at)
			devs[n] = v->disk.devnode, at[n++] = i;
	}
	if (!devs || !res || !rs || !at || detect_probe_devices(devs, n, timeout_ms, res, rs) < 0) {
		/* No memory to fan out: each here, in turn, without a deadline. */
		for (size_t k = 0; k < n; k++)
			rs[k] = rs && res ? probe_device(devs[k], &res[k]) : -ENOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		struct verdict *v = &out->v[at[k]];

		v->probe = res[k];
		if (rs[k] < 0) {
			/* Unreadable or silent: not ours to judge, and never ours
			 * to write. */
			memset(&v->probe, 0, sizeof(v->probe));
			v->probe.kind = PROBE_FAILED;
			v->probe.error = -rs[k];
			v->probe_timeout_ms = rs[k] == -ETIMEDOUT ? timeout_ms : 0;
		} else if (v->probe.kind == PROBE_BLANK) {
			v->content = CONTENT_BLANK;
		}
	}
	free(devs);
	free(res);
	free(rs);
	free(at);

	/* The resource disk's NTFS is read with libntfs-3g, one at a time. */
	for (size_t i = 0; i < out->n; i++) {
		struct verdict *v = &out->v[i];

		if (v->role == ROLE_TEMP && v->probe.kind != PROBE_FAILED &&
		    detect_pristine_resource(o->paths, &v->disk, &v->probe))
			v->content = CONTENT_PRISTINE_TEMP;
	}
}

/* The temp or scratch role of one disk that is not the OS disk: only what
 * the hardware says, never what is written on the disk. */
static void assign_role(const struct cfg *c, const struct detect_opts *o, const struct sys_view *sv,
			struct verdict *v)
{
	if (c->devices.n) {
		/* Explicit devices replace detection. */
		if (device_listed(c, o, &v->disk)) {
			v->role = ROLE_TEMP;
			snprintf(v->identity, sizeof(v->identity), "listed in [disks] devices");
		}
	} else if (v->disk.transport == TRANSPORT_SCSI && v->disk.resource_disk) {
		v->role = ROLE_TEMP;
		snprintf(v->identity, sizeof(v->identity), "Azure resource disk (VMBus %s)",
			 v->disk.vmbus_id);
	} else if (detect_is_resource_link(o, sv, &v->disk)) {
		v->role = ROLE_TEMP;
		snprintf(v->identity, sizeof(v->identity), "Azure resource disk (/dev/disk/azure/resource)");
	} else if (v->disk.transport == TRANSPORT_NVME && nvme_is_remote(&v->disk)) {
		/* Azure Boost's remote disks (OS and data disks on NVMe): never
		 * local storage, whatever nvme_models says. */
		snprintf(v->identity, sizeof(v->identity), "remote NVMe disk (%s%s%s)", v->disk.model,
			 v->disk.platform.type[0] ? ", the controller says type=" : "",
			 v->disk.platform.type);
	} else if (v->disk.transport == TRANSPORT_NVME && cfg_nvme_model_matches(c, v->disk.model)) {
		v->role = ROLE_SCRATCH;
		nvme_local_identity(&v->disk, v->identity, sizeof(v->identity));
	}
}

static void assign_roles(const struct cfg *c, const struct detect_opts *o, const struct sys_view *sv,
			 struct detection *out)
{
	bool have_temp = false;

	for (size_t i = 0; i < out->n; i++) {
		if (out->v[i].role == ROLE_OS)
			continue;
		assign_role(c, o, sv, &out->v[i]);
		have_temp |= out->v[i].role == ROLE_TEMP;
	}
	/* Sizes without a SCSI resource disk: the local NVMe disks are the temp
	 * storage. The hardware decides this, so it is the same every boot. */
	if (!have_temp)
		for (size_t i = 0; i < out->n; i++)
			if (out->v[i].role == ROLE_SCRATCH)
				out->v[i].role = ROLE_TEMP;
}

static void judge_all(const struct detect_opts *o, const struct sys_view *sv, struct detection *out)
{
	char what[256];

	for (size_t i = 0; i < out->n; i++) {
		struct verdict *v = &out->v[i];

		if (v->role == ROLE_TEMP || v->role == ROLE_SCRATCH) {
			judge_candidate(o, sv, v);
		} else if (v->role != ROLE_OS && !v->reason[0]) {
			probe_describe(&v->probe, what, sizeof(what));
			v->role = v->content == CONTENT_BLANK || v->probe.kind == PROBE_UNREAD
					  ? ROLE_UNKNOWN
					  : ROLE_DATA;
			snprintf(v->reason, sizeof(v->reason), "%s; not a local temp or scratch disk",
				 what);
		}
	}
}

int detect_scan(const struct cfg *c, const struct detect_opts *o, struct detection *out)
{
	struct sys_view sv;
	int r;

	memset(out, 0, sizeof(*out));
	r = sys_scan(o->paths, &sv);
	if (r < 0)
		return r;
	out->v = calloc(sv.n_disks ? sv.n_disks : 1, sizeof(*out->v));
	if (!out->v) {
		sys_view_free(&sv);
		return -ENOMEM;
	}
	out->n = sv.n_disks;
	for (size_t i = 0; i < sv.n_disks; i++) {
		out->v[i].disk = sv.disks[i];
		if (sv.disks[i].transport == TRANSPORT_NVME)
			nvme_identify(o->paths, &out->v[i].disk);
		out->v[i].role = ROLE_UNKNOWN;
		out->v[i].action = ACTION_SKIP;
	}
	/* Roles come from the hardware alone, so they are known before any
	 * disk is read; the OS disks are marked again once the probes show
	 * ZFS pools' members. */
	detect_mark_os_disks(o, &sv, out);
	assign_roles(c, o, &sv, out);
	probe_all(o, out);
	detect_mark_os_disks(o, &sv, out);
	judge_all(o, &sv, out);
	check_listed(c, o, out);
	detect_warn_other_agents(o, out);
	sys_view_free(&sv);
	return 0;
}

void detection_free(struct detection *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}
