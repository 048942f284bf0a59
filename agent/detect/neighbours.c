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

/* Whether udev reads rules from PATH: a link to /dev/null masks, and a file
 * with only comments and blank lines (as the one scratchcrypt installs in
 * place of cloud-init's) has none. */
static bool udev_file_has_rules(const char *path)
{
	char target[64], line[512];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	bool rules = false;
	FILE *f;

	if (n > 0) {
		target[n] = '\0';
		if (strcmp(target, "/dev/null") == 0)
			return false;
	}
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!rules && fgets(line, sizeof(line), f)) {
		const char *c = line + strspn(line, " \t");

		rules = *c != '#' && *c != '\n' && *c != '\0';
	}
	fclose(f);
	return rules;
}

/* cloud-init's 66-azure-ephemeral.rules as udev reads it: the first of
 * /etc, /run and the packages' directory that has the name decides.
 * scratchcrypt-neighbours.service masks it in /run at boot. */
static bool cloud_init_rule_active(const struct sys_paths *p, const char *etc_rule)
{
	const char *dirs[] = { p->run_udev_rules, p->udev_rules };
	char path[512];
	struct stat st;

	if (lstat(etc_rule, &st) == 0)
		return udev_file_has_rules(etc_rule);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!dirs[i])
			continue;
		snprintf(path, sizeof(path), "%s/66-azure-ephemeral.rules", dirs[i]);
		if (lstat(path, &st) == 0)
			return udev_file_has_rules(path);
	}
	return false;
}

/* scratchcrypt's drop-in runs WALinuxAgent's daemon on a copy of
 * waagent.conf with ResourceDisk.Format=n (neighbours/walinuxagent.conf.in);
 * a drop-in of the same name in /etc replaces it. */
static bool waagent_dropin(const struct sys_paths *p)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/systemd/system/walinuxagent.service.d/50-scratchcrypt.conf", p->etc);
	if (access(path, F_OK) == 0)
		return file_has_line(path, "ExecStart=/usr/sbin/waagent -daemon -configuration-path:");
	if (!p->units)
		return false;
	snprintf(path, sizeof(path), "%s/walinuxagent.service.d/50-scratchcrypt.conf", p->units);
	return access(path, F_OK) == 0;
}

/* WALinuxAgent and cloud-init also claim the resource disk; the package's
 * neighbours/ files turn them off, and detect says when that did not
 * happen (scratchcrypt built and copied by hand, or a file removed). */
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
	if (!waagent_dropin(o->paths)) {
		if (file_has_line(path, "ResourceDisk.Format=y"))
			detect_warn(det, "WALinuxAgent still formats the resource disk: set ResourceDisk.Format=n in "
				    "%s, or reinstall scratchcrypt (its walinuxagent.service drop-in is missing)", path);
		if (file_has_line(path, "ResourceDisk.EnableSwap=y"))
			detect_warn(det, "WALinuxAgent still puts swap on the resource disk: set "
				    "ResourceDisk.EnableSwap=n in %s", path);
	}

	snprintf(path, sizeof(path), "%s/cloud/cloud.cfg", o->paths->etc);
	if (access(path, F_OK) != 0)
		return;
	/* Its Azure datasource merges disk_setup for ephemeral0 with
	 * overwrite: true, ranked above cloud.cfg.d: only a resource disk
	 * without the /dev/disk/cloud/azure_resource link is safe from it.
	 * scratchcrypt-neighbours.service masks the rule in /run; an admin may
	 * mask it in /etc. */
	snprintf(dir, sizeof(dir), "%s/udev/rules.d/66-azure-ephemeral.rules", o->paths->etc);
	if (cloud_init_rule_active(o->paths, dir))
		detect_warn(det, "cloud-init's Azure datasource may repartition the resource disk under the "
			  "mapping (its built-in disk_setup has overwrite: true and ranks above "
			  "cloud.cfg.d): mask its udev rule with 'ln -s /dev/null %s', or start "
			  "scratchcrypt-neighbours.service, which masks it in /run at boot", dir);
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
			  "[[ephemeral0, null]]\" under %s (the package's 90-scratchcrypt.cfg)", dir);
}
