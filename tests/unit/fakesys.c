// SPDX-License-Identifier: MIT
/* The fake kernel's sysfs side (fakesys.h). */
#include "tests/unit/fakesys.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/setup/plan.h"

char root[64];
struct sys_paths paths;
char sysfs[128], devdir[128], mountinfo[128], swaps[128], etcdir[128], unitdir[128], rulesdir[128], runrulesdir[128];

/* The devices read since the last run_detect, space-separated in the
 * detection's order (the fake kernel logs them as the threads probe). */
char probed[1024];

void put(const char *rel, const char *content)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

void link_dev(const char *rel, const char *target)
{
	char path[512];

	put("dev/disk/.keep", "");
	snprintf(path, sizeof(path), "%s/dev/%s", root, rel);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdir(dir, 0755);
	assert_int_equal(symlink(target, path), 0);
}

/* A disk in the fixture sysfs. */
void disk(const char *name, const char *devno, const char *vendor, const char *model,
		 const char *serial)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sys/block/%s/dev", name);
	put(rel, devno);
	snprintf(rel, sizeof(rel), "sys/block/%s/size", name);
	put(rel, "2097152\n"); /* 1 GiB */
	snprintf(rel, sizeof(rel), "sys/block/%s/ro", name);
	put(rel, "0\n");
	snprintf(rel, sizeof(rel), "sys/block/%s/queue/logical_block_size", name);
	put(rel, "512\n");
	snprintf(rel, sizeof(rel), "sys/block/%s/holders/.keep", name);
	put(rel, "");
	snprintf(rel, sizeof(rel), "sys/block/%s/device/model", name);
	put(rel, model);
	if (vendor) {
		snprintf(rel, sizeof(rel), "sys/block/%s/device/vendor", name);
		put(rel, vendor);
	}
	snprintf(rel, sizeof(rel), "sys/block/%s/device/serial", name);
	put(rel, serial);
}

/* A Hyper-V SCSI disk: its device directory hangs off a VMBus device with
 * this device id, at this LUN. */
void vmbus_disk(const char *name, const char *devno, const char *device_id, unsigned lun,
		       const char *serial)
{
	char rel[256], dev[256], target[512], link[512];

	disk(name, devno, "Msft", "Virtual Disk", serial);
	snprintf(dev, sizeof(dev), "sys/devices/vmbus/%s/host0/target0:0:%u/0:0:0:%u", device_id, lun, lun);
	snprintf(rel, sizeof(rel), "sys/devices/vmbus/%s/device_id", device_id);
	put(rel, device_id);
	snprintf(rel, sizeof(rel), "%s/model", dev);
	put(rel, "Virtual Disk");
	snprintf(rel, sizeof(rel), "%s/vendor", dev);
	put(rel, "Msft");
	snprintf(rel, sizeof(rel), "%s/wwid", dev);
	put(rel, serial);
	snprintf(link, sizeof(link), "%s/sys/block/%s/device", root, name);
	snprintf(target, sizeof(target), "rm -rf %s", link);
	assert_int_equal(system(target), 0);
	snprintf(target, sizeof(target), "%s/%s", root, dev);
	assert_int_equal(symlink(target, link), 0);
}


void partition(const char *disk_name, const char *name, const char *devno)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sys/block/%s/%s/partition", disk_name, name);
	put(rel, "1\n");
	snprintf(rel, sizeof(rel), "sys/block/%s/%s/dev", disk_name, name);
	put(rel, devno);
}

void holder(const char *disk_name, const char *dm, const char *dm_name)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sys/block/%s/holders/%s", disk_name, dm);
	put(rel, "");
	snprintf(rel, sizeof(rel), "sys/block/%s/dm/name", dm);
	put(rel, dm_name);
}

struct fk_blk *fake(const char *dev, enum probe_kind kind, const char *type)
{
	struct fk_blk *f = &fk.blk[fk.n_blk++];

	memset(f, 0, sizeof(*f));
	snprintf(f->dev, sizeof(f->dev), "%s/%s", devdir, dev);
	f->probe.kind = kind;
	if (type) {
		snprintf(f->probe.type, sizeof(f->probe.type), "%s", type);
		snprintf(f->probe.usage, sizeof(f->probe.usage), "filesystem");
	}
	return f;
}

void pristine_resource(const char *dev, const char *listing)
{
	struct fk_blk *f = fake(dev, PROBE_PTABLE, NULL);

	snprintf(f->probe.pttype, sizeof(f->probe.pttype), "dos");
	f->probe.n_parts = 1;
	f->probe.parts[0].partno = 1;
	snprintf(f->probe.parts[0].type, sizeof(f->probe.parts[0].type), "ntfs");
	snprintf(f->probe.parts[0].label, sizeof(f->probe.parts[0].label), "Temporary Storage");
	f->ntfs_names = listing;
}

/* A temp disk over 2 TiB: GPT, a Microsoft reserved partition (no
 * signature) first, the NTFS partition second. */
struct fk_blk *gpt_resource(const char *dev, const char *listing)
{
	struct fk_blk *f = fake(dev, PROBE_PTABLE, NULL);

	snprintf(f->probe.pttype, sizeof(f->probe.pttype), "gpt");
	f->probe.n_parts = 2;
	f->probe.parts[0].partno = 1;
	f->probe.parts[1].partno = 2;
	snprintf(f->probe.parts[1].type, sizeof(f->probe.parts[1].type), "ntfs");
	snprintf(f->probe.parts[1].label, sizeof(f->probe.parts[1].label), "Temporary Storage");
	f->ntfs_names = listing;
	return f;
}

/* Our header, with a token that records the disk it was made on. */
void ours(const char *dev, const char *role, unsigned index, unsigned members,
		 const char *key_source, const char *serial)
{
	static char tokens[8][512];
	static int nt;
	struct fk_blk *f = fake(dev, PROBE_SIGNATURE, "crypto_LUKS");

	snprintf(f->probe.label, sizeof(f->probe.label), "scratchcrypt");
	snprintf(f->probe.subsystem, sizeof(f->probe.subsystem), "%s %u/%u", role, index, members);
	snprintf(tokens[nt % 8], sizeof(tokens[0]),
		 "{\"type\":\"scratchcrypt\",\"keyslots\":[],\"key_source\":\"%s\",\"state\":\"ready\","
		 "\"role\":\"%s\",\"index\":%u,\"members\":%u,\"serial\":\"%s\",\"size\":1073741824}",
		 key_source, role, index, members, serial);
	f->token = tokens[nt++ % 8];
}

int sys_setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/sc-test-detect-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(sysfs, sizeof(sysfs), "%s/sys", root);
	snprintf(devdir, sizeof(devdir), "%s/dev", root);
	snprintf(mountinfo, sizeof(mountinfo), "%s/mountinfo", root);
	snprintf(swaps, sizeof(swaps), "%s/swaps", root);
	snprintf(etcdir, sizeof(etcdir), "%s/etc", root);
	snprintf(unitdir, sizeof(unitdir), "%s/units", root);
	snprintf(rulesdir, sizeof(rulesdir), "%s/udevrules", root);
	snprintf(runrulesdir, sizeof(runrulesdir), "%s/runrules", root);
	paths = (struct sys_paths){ sysfs, devdir, mountinfo, swaps, etcdir, unitdir, rulesdir, runrulesdir };
	put("sys/block/.keep", "");
	put("dev/.keep", "");
	/* The OS disk holds / through its first partition. */
	disk("vda", "254:0\n", "0x1af4", "", "");
	partition("vda", "vda1", "254:1\n");
	put("mountinfo", "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
			 "23 22 0:5 / /dev rw shared:2 - devtmpfs udev rw\n");
	put("swaps", "Filename\tType\tSize\tUsed\tPriority\n");
	fk_reset();
	fk.scan = false; /* detection in full, over the sysfs tree above */
	fake("vda", PROBE_PTABLE, NULL);
	return 0;
}

int sys_teardown(void **state)
{
	char cmd[128];

	(void)state;
	detection_free(&det);
	fk_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

struct detection det;
const char *nvme_glob; /* replaces the default nvme_models when set */

unsigned sys_probe_timeout_ms;

const struct verdict *run_detect_opts(bool force, bool candidates_only)
{
	struct detect_opts o = { .paths = &paths, .force = force, .candidates_only = candidates_only,
				 .probe_timeout_ms = sys_probe_timeout_ms };

	detection_free(&det);
	cfg_free(&cfg);
	cfg_init(&cfg);
	if (nvme_glob) {
		strv_free(&cfg.nvme_models);
		assert_int_equal(strv_push(&cfg.nvme_models, nvme_glob), 0);
	}
	probed[0] = '\0';
	fk.probes->n = 0;
	assert_int_equal(detect_run(&cfg, &o, &det), 0);
	assert_true(fk.probes->n < 32);
	for (size_t i = 0; i < det.n; i++)
		for (size_t j = 0; j < fk.probes->n; j++)
			if (strcmp(fk.probes->dev[j], det.v[i].disk.devnode) == 0)
				snprintf(probed + strlen(probed), sizeof(probed) - strlen(probed), "%s ",
					 det.v[i].disk.name);
	return det.v;
}

const struct verdict *run_detect(bool force)
{
	return run_detect_opts(force, false);
}

const struct verdict *find(const char *name)
{
	char dev[128];

	snprintf(dev, sizeof(dev), "%s/%s", devdir, name);
	for (size_t i = 0; i < det.n; i++)
		if (strcmp(det.v[i].disk.devnode, dev) == 0)
			return &det.v[i];
	fail_msg("no verdict for %s", name);
	return NULL;
}

void expect(const char *name, enum disk_role role, enum disk_action action,
		   const char *reason_part)
{
	const struct verdict *v = find(name);

	if (v->role != role || v->action != action || !strstr(v->reason, reason_part))
		fail_msg("%s: got %s/%s '%s', expected %s/%s with '%s'", name,
			 disk_role_to_string(v->role), disk_action_to_string(v->action), v->reason,
			 disk_role_to_string(role), disk_action_to_string(action), reason_part);
}

/* VM families, each as its disks show up in sysfs (the OS, resource, data
 * and local disks that azure-vm-utils' doc/disk-identification.md lists
 * for that size). */

/* / on this partition of this disk; the default vda is not there. */
void os_root_on(const char *part, const char *devno)
{
	char line[256], cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/sys/block/vda", root);
	assert_int_equal(system(cmd), 0);
	snprintf(line, sizeof(line), "22 1 %s / / rw,relatime shared:1 - ext4 /dev/%s rw\n", devno, part);
	put("mountinfo", line);
}

/* An NVMe namespace: its model, serial and nsid in sysfs, and what its
 * controller says in the vendor-specific identify bytes (NULL: nothing). */
void nvme_ns(const char *name, const char *devno, const char *model, const char *serial,
		    unsigned nsid, const char *vs)
{
	char rel[256], val[16];

	disk(name, devno, NULL, model, serial);
	snprintf(rel, sizeof(rel), "sys/block/%s/nsid", name);
	snprintf(val, sizeof(val), "%u\n", nsid);
	put(rel, val);
	snprintf(fk.vs[fk.n_vs].dev, sizeof(fk.vs[0].dev), "%s/%s", devdir, name);
	fk.vs[fk.n_vs++].vs = vs;
}


const char *member_name(const struct volume *vol, size_t i)
{
	assert_true(i < vol->n);
	return vol->m[i].v->disk.name;
}

/* A SCSI OS disk holding / (sda) and a pristine resource disk (sdb), on
 * the VMBus devices and LUNs of a generation's layout. */
void scsi_os_and_resource(const char *os_id, const char *res_id, unsigned res_lun)
{
	vmbus_disk("sda", "8:0\n", os_id, 0, "os");
	partition("sda", "sda1", "8:1\n");
	os_root_on("sda1", "8:1");
	vmbus_disk("sdb", "8:16\n", res_id, res_lun, "res");
	partition("sdb", "sdb1", "8:17\n");
	pristine_resource("sdb", "DATALOSS_WARNING_README.txt,System Volume Information");
}
