// SPDX-License-Identifier: MIT
/* The Azure resource disk: the names udev gives it, and its pristine layout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "agent/detect/detect-internal.h"
#include "agent/detect/ntfs.h"

/* Azure's pristine resource disk, by cloud-init's rule (can_dev_be_reformatted
 * in its Azure datasource): MBR or GPT; one partition, or two with the NTFS
 * one second (disks over 2 TiB: GPT, a Microsoft reserved partition first);
 * that NTFS holding nothing but the platform's warning file and "System
 * Volume Information", compared without case. The label is not checked, as
 * cloud-init does not. Stricter than cloud-init: a first partition of two
 * must carry no signature at all (the reserved partition carries none). */
bool detect_pristine_resource(const struct sys_paths *paths, const struct sys_disk *d,
			      const struct probe_result *p)
{
	const struct probe_part *ntfs;
	char node[128], **names = NULL;
	size_t n = 0;
	bool ok = true;
	int r;

	if (p->kind != PROBE_PTABLE || (strcmp(p->pttype, "dos") != 0 && strcmp(p->pttype, "gpt") != 0) ||
	    p->n_parts < 1 || p->n_parts > 2 || d->n_parts != p->n_parts)
		return false;
	ntfs = &p->parts[p->n_parts - 1];
	if (strcmp(ntfs->type, "ntfs") != 0 || (p->n_parts == 2 && p->parts[0].type[0]))
		return false;
	/* The kernel's partition of that number: sda2, nvme0n1p2 (sysfs lists
	 * them in no particular order). */
	node[0] = '\0';
	for (size_t i = 0; i < d->n_parts; i++) {
		char a[48], b[48];

		snprintf(a, sizeof(a), "%s%u", d->name, ntfs->partno);
		snprintf(b, sizeof(b), "%sp%u", d->name, ntfs->partno);
		if (strcmp(d->parts[i].name, a) == 0 || strcmp(d->parts[i].name, b) == 0)
			snprintf(node, sizeof(node), "%s/%s", paths->dev, d->parts[i].name);
	}
	if (!node[0])
		return false;
	r = ntfs_list_root(node, &names, &n);
	if (r < 0) {
		/* Taken as holding someone's files: the disk is not pristine. */
		if (r == -E2BIG)
			log_warn("%s: its NTFS root lists more than %d names: taken as holding "
				 "someone's files", node, NTFS_MAX_NAMES);
		else
			log_warn("%s: cannot list its NTFS root (%s): taken as holding someone's files",
				 node, r == -ETIMEDOUT ? "the check ran out of time" : strerror(-r));
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], AZURE_WARNING_FILE) != 0 &&
		    strcasecmp(names[i], "System Volume Information") != 0)
			ok = false;
	ntfs_names_free(names, n);
	return ok;
}

/* /dev/disk/azure/resource and the other names the platform's and the
 * image's udev rules give the resource disk. */
bool detect_is_resource_link(const struct detect_opts *o, const struct sys_view *sv,
			     const struct sys_disk *d)
{
	static const char *const links[] = { "disk/scratchcrypt/resource", "disk/azure/resource",
					     "disk/cloud/azure_resource" };
	char kname[64];

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (sys_resolve_link(o->paths, links[i], kname, sizeof(kname)) < 0)
			continue;
		const struct sys_disk *t = sys_find_by_kname((struct sys_view *)sv, kname);
		if (t && strcmp(t->name, d->name) == 0)
			return true;
	}
	return false;
}
