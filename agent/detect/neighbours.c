// SPDX-License-Identifier: MIT
/* The other agents that claim the resource disk (WALinuxAgent, cloud-init):
 * detect says, naming the file, when the image did not turn them off. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/detect/detect-internal.h"

static bool file_has_line(const char *path, const char *prefix)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strncmp(line, prefix, strlen(prefix)) == 0;
	fclose(f);
	return found;
}

/* A udev rule is masked by a same-named link to /dev/null (or an empty
 * file) in /etc/udev/rules.d. */
static bool udev_rule_masked(const char *path)
{
	char target[64];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	struct stat st;

	if (n > 0) {
		target[n] = '\0';
		return strcmp(target, "/dev/null") == 0;
	}
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

/* WALinuxAgent and cloud-init also claim the resource disk; the image
 * recipe turns them off, and detect says when that did not happen. */
void detect_warn_other_agents(const struct detect_opts *o, struct detection *det)
{
	char path[512], dir[512];
	bool have_temp = false, cloudinit_off = false;
	struct dirent *e;
	DIR *d;

	for (size_t i = 0; i < det->n; i++)
		have_temp |= det->v[i].role == ROLE_TEMP;
	if (!have_temp || !o->paths->etc)
		return;
	snprintf(path, sizeof(path), "%s/waagent.conf", o->paths->etc);
	if (file_has_line(path, "ResourceDisk.Format=y"))
		detect_warn(det, "WALinuxAgent still formats the resource disk: set ResourceDisk.Format=n in %s", path);
	if (file_has_line(path, "ResourceDisk.EnableSwap=y"))
		detect_warn(det, "WALinuxAgent still puts swap on the resource disk: set ResourceDisk.EnableSwap=n in %s", path);

	snprintf(path, sizeof(path), "%s/cloud/cloud.cfg", o->paths->etc);
	if (access(path, F_OK) != 0)
		return;
	/* Its Azure datasource merges disk_setup for ephemeral0 with
	 * overwrite: true, ranked above cloud.cfg.d: only a resource disk
	 * without the /dev/disk/cloud/azure_resource link is safe from it. */
	snprintf(dir, sizeof(dir), "%s/udev/rules.d/66-azure-ephemeral.rules", o->paths->etc);
	if (!udev_rule_masked(dir))
		detect_warn(det, "cloud-init's Azure datasource may repartition the resource disk under the "
			  "mapping (its built-in disk_setup has overwrite: true and ranks above "
			  "cloud.cfg.d): mask its udev rule with 'ln -s /dev/null %s'", dir);
	snprintf(dir, sizeof(dir), "%s/cloud/cloud.cfg.d", o->paths->etc);
	d = opendir(dir);
	while (d && (e = readdir(d)) && !cloudinit_off) {
		char cfg[1024];

		snprintf(cfg, sizeof(cfg), "%s/%s", dir, e->d_name);
		cloudinit_off = file_has_line(cfg, "  - [ ephemeral0, null ]") ||
				file_has_line(cfg, "  - [ephemeral0, null]");
	}
	if (d)
		closedir(d);
	if (!cloudinit_off)
		detect_warn(det, "cloud-init may still mount the resource disk (ephemeral0): add \"mounts: "
			  "[[ephemeral0, null]]\" under %s (the image recipe's 90-scratchcrypt.cfg)", dir);
}
