// SPDX-License-Identifier: MIT
/* Detection verdicts from fixture sysfs trees and fake probe results. */
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

#include "agent/detect/detect.h"
#include "agent/detect/ntfs.h"
#include "agent/setup/lifecycle.h"
#include "dm/dm.h"

static char root[64];
static struct sys_paths paths;
static char sysfs[128], devdir[128], mountinfo[128], swaps[128], etcdir[128];

/* Fake disk contents, by device node. */
struct fake {
	char dev[64];
	struct probe_result probe;
	const char *ntfs_names; /* comma-separated root listing of partition 1 */
	const char *token;      /* our LUKS2 token */
};
static struct fake fakes[16];
static size_t n_fakes;

int __wrap_probe_device(const char *devnode, struct probe_result *out)
{
	for (size_t i = 0; i < n_fakes; i++)
		if (strcmp(fakes[i].dev, devnode) == 0) {
			*out = fakes[i].probe;
			return 0;
		}
	memset(out, 0, sizeof(*out));
	out->kind = PROBE_BLANK;
	return 0;
}

int __wrap_ntfs_list_root(const char *devnode, char ***names, size_t *n)
{
	for (size_t i = 0; i < n_fakes; i++) {
		char part[80];

		snprintf(part, sizeof(part), "%s1", fakes[i].dev);
		if (strcmp(part, devnode) != 0 || !fakes[i].ntfs_names)
			continue;
		char *copy = strdup(fakes[i].ntfs_names), *save = NULL;
		*names = calloc(8, sizeof(char *));
		*n = 0;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			(*names)[(*n)++] = strdup(t);
		free(copy);
		return 0;
	}
	return -EIO;
}

int __wrap_dm_luks_token_get(const char *dev, const char *type, char **json)
{
	(void)type;
	for (size_t i = 0; i < n_fakes; i++)
		if (strcmp(fakes[i].dev, dev) == 0 && fakes[i].token) {
			*json = strdup(fakes[i].token);
			return 0;
		}
	return -ENOENT;
}

static void put(const char *rel, const char *content)
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

static void link_dev(const char *rel, const char *target)
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
static void disk(const char *name, const char *devno, const char *vendor, const char *model,
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

static void partition(const char *disk_name, const char *name, const char *devno)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sys/block/%s/%s/partition", disk_name, name);
	put(rel, "1\n");
	snprintf(rel, sizeof(rel), "sys/block/%s/%s/dev", disk_name, name);
	put(rel, devno);
}

static void holder(const char *disk_name, const char *dm, const char *dm_name)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sys/block/%s/holders/%s", disk_name, dm);
	put(rel, "");
	snprintf(rel, sizeof(rel), "sys/block/%s/dm/name", dm);
	put(rel, dm_name);
}

static struct fake *fake(const char *dev, enum probe_kind kind, const char *type)
{
	struct fake *f = &fakes[n_fakes++];

	memset(f, 0, sizeof(*f));
	snprintf(f->dev, sizeof(f->dev), "%s/%s", devdir, dev);
	f->probe.kind = kind;
	if (type) {
		snprintf(f->probe.type, sizeof(f->probe.type), "%s", type);
		snprintf(f->probe.usage, sizeof(f->probe.usage), "filesystem");
	}
	return f;
}

static void pristine_resource(const char *dev, const char *listing)
{
	struct fake *f = fake(dev, PROBE_PTABLE, NULL);

	snprintf(f->probe.pttype, sizeof(f->probe.pttype), "dos");
	f->probe.n_parts = 1;
	f->probe.parts[0].partno = 1;
	snprintf(f->probe.parts[0].type, sizeof(f->probe.parts[0].type), "ntfs");
	snprintf(f->probe.parts[0].label, sizeof(f->probe.parts[0].label), "Temporary Storage");
	f->ntfs_names = listing;
}

static void ours(const char *dev, const char *subsystem, const char *key_source)
{
	static char tokens[8][256];
	static int nt;
	struct fake *f = fake(dev, PROBE_SIGNATURE, "crypto_LUKS");

	snprintf(f->probe.label, sizeof(f->probe.label), "scratchcrypt");
	snprintf(f->probe.subsystem, sizeof(f->probe.subsystem), "%s", subsystem);
	snprintf(tokens[nt], sizeof(tokens[nt]),
		 "{\"type\":\"scratchcrypt\",\"keyslots\":[],\"key_source\":\"%s\",\"state\":\"ready\"}",
		 key_source);
	f->token = tokens[nt++];
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/sc-test-detect-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(sysfs, sizeof(sysfs), "%s/sys", root);
	snprintf(devdir, sizeof(devdir), "%s/dev", root);
	snprintf(mountinfo, sizeof(mountinfo), "%s/mountinfo", root);
	snprintf(swaps, sizeof(swaps), "%s/swaps", root);
	snprintf(etcdir, sizeof(etcdir), "%s/etc", root);
	paths = (struct sys_paths){ sysfs, devdir, mountinfo, swaps, etcdir };
	put("sys/block/.keep", "");
	put("dev/.keep", "");
	/* The OS disk holds / through its first partition. */
	disk("vda", "254:0\n", "0x1af4", "", "");
	partition("vda", "vda1", "254:1\n");
	put("mountinfo", "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
			 "23 22 0:5 / /dev rw shared:2 - devtmpfs udev rw\n");
	put("swaps", "Filename\tType\tSize\tUsed\tPriority\n");
	n_fakes = 0;
	fake("vda", PROBE_PTABLE, NULL);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct cfg cfg;
static struct detection det;

static const struct verdict *run_detect(bool force)
{
	struct detect_opts o = { .paths = &paths, .force = force };

	detection_free(&det);
	cfg_free(&cfg);
	cfg_init(&cfg);
	assert_int_equal(detect_run(&cfg, &o, &det), 0);
	lc_inspect(&cfg, &det);
	return det.v;
}

static const struct verdict *find(const char *name)
{
	char dev[128];

	snprintf(dev, sizeof(dev), "%s/%s", devdir, name);
	for (size_t i = 0; i < det.n; i++)
		if (strcmp(det.v[i].disk.devnode, dev) == 0)
			return &det.v[i];
	fail_msg("no verdict for %s", name);
	return NULL;
}

static void expect(const char *name, enum disk_role role, enum disk_action action,
		   const char *reason_part)
{
	const struct verdict *v = find(name);

	if (v->role != role || v->action != action || !strstr(v->reason, reason_part))
		fail_msg("%s: got %s/%s '%s', expected %s/%s with '%s'", name,
			 disk_role_to_string(v->role), disk_action_to_string(v->action), v->reason,
			 disk_role_to_string(role), disk_action_to_string(action), reason_part);
}

#define NVME "Microsoft NVMe Direct Disk"

static void test_standard_node(void **state)
{
	(void)state;
	disk("sda", "8:0\n", "Msft    ", "Virtual Disk    ", "res");
	partition("sda", "sda1", "8:1\n");
	pristine_resource("sda", "DATALOSS_WARNING_README.txt,System Volume Information");
	disk("sdb", "8:16\n", "Msft", "Virtual Disk", "data");
	fake("sdb", PROBE_SIGNATURE, "xfs");
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	disk("nvme1n1", "259:1\n", NULL, NVME " v2", "b");
	disk("nvme2n1", "259:2\n", NULL, NVME, "c");
	fake("nvme2n1", PROBE_SIGNATURE, "ext4");
	disk("nvme3n1", "259:3\n", NULL, "Some Other NVMe", "d");
	disk("loop0", "7:0\n", NULL, "", "");

	run_detect(false);
	assert_int_equal(det.n, 7); /* loop0 left out */
	expect("vda", ROLE_OS, ACTION_SKIP, "holds /");
	expect("sda", ROLE_TEMP, ACTION_ENCRYPT, "pristine resource-disk layout");
	expect("sdb", ROLE_DATA, ACTION_SKIP, "xfs");
	expect("nvme0n1", ROLE_SCRATCH, ACTION_ENCRYPT, "blank");
	expect("nvme1n1", ROLE_SCRATCH, ACTION_ENCRYPT, "blank");
	expect("nvme2n1", ROLE_SCRATCH, ACTION_REFUSE, "ext4");
	expect("nvme3n1", ROLE_UNKNOWN, ACTION_SKIP, "blank");
	/* Sorted like people count: nvme2n1 before nvme10n1. */
	assert_string_equal(det.v[0].disk.name, "sda");
}

static void test_nvme_takes_temp_role_without_resource_disk(void **state)
{
	(void)state;
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	disk("nvme1n1", "259:1\n", NULL, NVME, "b");
	run_detect(false);
	expect("nvme0n1", ROLE_TEMP, ACTION_ENCRYPT, "blank");
	expect("nvme1n1", ROLE_TEMP, ACTION_ENCRYPT, "blank");
}

static void test_used_resource_disk(void **state)
{
	(void)state;
	/* Without a udev link, a used NTFS disk is just someone's data... */
	disk("sda", "8:0\n", "Msft", "Virtual Disk", "res");
	partition("sda", "sda1", "8:1\n");
	pristine_resource("sda", "DATALOSS_WARNING_README.txt,results.csv");
	run_detect(false);
	expect("sda", ROLE_DATA, ACTION_SKIP, "ntfs");
	/* ...with WALinuxAgent's link it is the temp disk, and refused. */
	link_dev("disk/azure/resource", "../../sda");
	run_detect(false);
	expect("sda", ROLE_TEMP, ACTION_REFUSE, "ntfs 'Temporary Storage'");
}

static void test_cloud_init_link_to_partition(void **state)
{
	(void)state;
	disk("sdb", "8:16\n", "Msft", "Virtual Disk", "res");
	partition("sdb", "sdb1", "8:17\n");
	link_dev("disk/cloud/azure_resource", "../../sdb1");
	run_detect(false);
	expect("sdb", ROLE_TEMP, ACTION_ENCRYPT, "blank");
}

static void test_in_use_is_refused(void **state)
{
	(void)state;
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	disk("nvme1n1", "259:1\n", NULL, NVME, "b");
	partition("nvme1n1", "nvme1n1p1", "259:5\n");
	disk("nvme2n1", "259:2\n", NULL, NVME, "c");
	disk("nvme3n1", "259:3\n", NULL, NVME, "d");
	holder("nvme2n1", "dm-3", "vg0-lv0");
	disk("nvme4n1", "259:4\n", NULL, NVME, "e");
	holder("nvme4n1", "dm-4", "scratchcrypt-temp-0");
	put("mountinfo", "22 1 254:1 / / rw - ext4 /dev/vda1 rw\n"
			 "30 22 259:0 / /mnt/my\\040data rw - ext4 /dev/nvme0n1 rw\n");
	put("swaps", "Filename\tType\tSize\tUsed\tPriority\n"
		     "/dev/nvme1n1p1   partition\t1024\t0\t-2\n");
	put("sys/block/nvme3n1/ro", "1\n");
	run_detect(true); /* not even --force touches a disk in use */
	expect("nvme0n1", ROLE_TEMP, ACTION_REFUSE, "mounted at /mnt/my data");
	expect("nvme1n1", ROLE_TEMP, ACTION_REFUSE, "swap /dev/nvme1n1p1");
	expect("nvme2n1", ROLE_TEMP, ACTION_REFUSE, "vg0-lv0");
	expect("nvme3n1", ROLE_TEMP, ACTION_REFUSE, "read-only");
	expect("nvme4n1", ROLE_TEMP, ACTION_ENCRYPT, "blank"); /* held by our own mapping */
}

static void test_signatures_are_refused(void **state)
{
	static const char *const types[] = { "LVM2_member", "linux_raid_member", "zfs_member", "swap" };
	char name[16];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "nvme%dn1", i);
		char devno[16];
		snprintf(devno, sizeof(devno), "259:%d\n", i);
		disk(name, devno, NULL, NVME, "x");
		fake(name, PROBE_SIGNATURE, types[i]);
	}
	disk("nvme4n1", "259:4\n", NULL, NVME, "y");
	fake("nvme4n1", PROBE_NONZERO, NULL);
	disk("nvme5n1", "259:5\n", NULL, NVME, "z");
	fake("nvme5n1", PROBE_AMBIVALENT, NULL);
	run_detect(false);
	expect("nvme0n1", ROLE_TEMP, ACTION_REFUSE, "LVM2_member");
	expect("nvme1n1", ROLE_TEMP, ACTION_REFUSE, "linux_raid_member");
	expect("nvme2n1", ROLE_TEMP, ACTION_REFUSE, "zfs_member");
	expect("nvme3n1", ROLE_TEMP, ACTION_REFUSE, "swap");
	expect("nvme4n1", ROLE_TEMP, ACTION_REFUSE, "without a known signature");
	expect("nvme5n1", ROLE_TEMP, ACTION_REFUSE, "conflicting signatures");
	/* --force overrides content, and says so. */
	run_detect(true);
	expect("nvme0n1", ROLE_TEMP, ACTION_ENCRYPT, "--force");
}

static void test_our_own_disks(void **state)
{
	(void)state;
	/* After a reboot the resource disk carries our header, not its layout. */
	disk("sda", "8:0\n", "Msft", "Virtual Disk", "res");
	ours("sda", "temp 0/1", "system");
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	ours("nvme0n1", "scratch 0/2", "system");
	disk("nvme1n1", "259:1\n", NULL, NVME, "b");
	ours("nvme1n1", "scratch 1/2", "hbi");
	disk("sdb", "8:16\n", "Msft", "Virtual Disk", "other");
	fake("sdb", PROBE_SIGNATURE, "crypto_LUKS"); /* someone else's LUKS */
	run_detect(false);
	expect("sda", ROLE_TEMP, ACTION_ENCRYPT, "set up by scratchcrypt");
	expect("nvme0n1", ROLE_SCRATCH, ACTION_ENCRYPT, "set up by scratchcrypt");
	assert_int_equal(find("nvme0n1")->ours_members, 2);
	/* Never reopened under another key source. */
	expect("nvme1n1", ROLE_SCRATCH, ACTION_REFUSE, "deprovision");
	expect("sdb", ROLE_DATA, ACTION_SKIP, "crypto_LUKS");
}

static void test_explicit_devices(void **state)
{
	struct detect_opts o = { .paths = &paths };
	char dev[128];

	(void)state;
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	disk("vdb", "254:16\n", NULL, "", "b");
	detection_free(&det);
	cfg_free(&cfg);
	cfg_init(&cfg);
	snprintf(dev, sizeof(dev), "%s/vdb", devdir);
	cfg.devices.v = calloc(2, sizeof(char *));
	cfg.devices.v[0] = strdup(dev);
	cfg.devices.n = 1;
	assert_int_equal(detect_run(&cfg, &o, &det), 0);
	expect("vdb", ROLE_TEMP, ACTION_ENCRYPT, "blank");
	expect("nvme0n1", ROLE_UNKNOWN, ACTION_SKIP, "not a local temp or scratch disk");
	expect("vda", ROLE_OS, ACTION_SKIP, "holds /");
}

static void test_other_agents_claiming_the_disk(void **state)
{
	(void)state;
	disk("sda", "8:0\n", "Msft", "Virtual Disk", "res");
	link_dev("disk/azure/resource", "../../sda");
	put("etc/waagent.conf", "ResourceDisk.Format=y\nResourceDisk.EnableSwap=y\n");
	put("etc/cloud/cloud.cfg", "mounts:\n");
	put("etc/cloud/cloud.cfg.d/10-azure.cfg", "datasource_list: [ Azure ]\n");
	run_detect(false);
	assert_int_equal(det.n_warnings, 3);
	assert_non_null(strstr(det.warnings[0], "ResourceDisk.Format=n"));
	assert_non_null(strstr(det.warnings[1], "ResourceDisk.EnableSwap=n"));
	assert_non_null(strstr(det.warnings[2], "ephemeral0"));
	/* The image recipe's settings silence them. */
	put("etc/waagent.conf", "ResourceDisk.Format=n\nResourceDisk.EnableSwap=n\n");
	put("etc/cloud/cloud.cfg.d/90-scratchcrypt.cfg", "mounts:\n  - [ ephemeral0, null ]\n");
	run_detect(false);
	assert_int_equal(det.n_warnings, 0);
}

static void test_subsystem_roundtrip(void **state)
{
	char buf[48];
	enum disk_role role;
	unsigned idx, n;

	(void)state;
	sc_subsystem(buf, sizeof(buf), ROLE_SCRATCH, 2, 4);
	assert_string_equal(buf, "scratch 2/4");
	assert_int_equal(sc_subsystem_parse(buf, &role, &idx, &n), 0);
	assert_int_equal(role, ROLE_SCRATCH);
	assert_int_equal(idx, 2);
	assert_int_equal(n, 4);
	assert_int_equal(sc_subsystem_parse("os 0/1", &role, &idx, &n), -EINVAL);
	assert_int_equal(sc_subsystem_parse("temp 2/2", &role, &idx, &n), -EINVAL);
	assert_int_equal(sc_subsystem_parse("", &role, &idx, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_standard_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvme_takes_temp_role_without_resource_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_used_resource_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cloud_init_link_to_partition, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_use_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signatures_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_our_own_disks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_agents_claiming_the_disk, setup, teardown),
		cmocka_unit_test(test_subsystem_roundtrip),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	detection_free(&det);
	cfg_free(&cfg);
	return r;
}
