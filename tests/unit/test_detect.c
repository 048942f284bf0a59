// SPDX-License-Identifier: MIT
/* Detection verdicts from fixture sysfs trees and fake probe results. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/detect/detect.h"
#include "agent/detect/ntfs.h"
#include "agent/detect/nvmeid.h"
#include "agent/setup/plan.h"
#include "agent/setup/lifecycle.h"
#include "dm/dm.h"
#include "agent/ondisk/names.h"

static char root[64];
static struct sys_paths paths;
static char sysfs[128], devdir[128], mountinfo[128], swaps[128], etcdir[128], unitdir[128], rulesdir[128], runrulesdir[128];

/* Fake disk contents, by device node. */
struct fake {
	char dev[64];
	struct probe_result probe;
	const char *ntfs_names; /* comma-separated root listing of partition 1 */
	const char *token;      /* our LUKS2 token */
};
static struct fake fakes[16];
static size_t n_fakes;

/* The devices read since the last run_detect, space-separated in the
 * detection's order: detection probes in several threads, in no fixed
 * order, so each probe is counted under a lock and listed afterwards. */
static char probed[1024];
static char probe_log[32][64];
static size_t n_probe_log;
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;

int __wrap_probe_device(const char *devnode, struct probe_result *out)
{
	pthread_mutex_lock(&probe_lock);
	if (n_probe_log < 32)
		snprintf(probe_log[n_probe_log++], sizeof(probe_log[0]), "%s", devnode);
	pthread_mutex_unlock(&probe_lock);
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

		/* The listing is the NTFS partition's: the last one. */
		snprintf(part, sizeof(part), "%s%zu", fakes[i].dev,
			 fakes[i].probe.n_parts ? fakes[i].probe.n_parts : 1);
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

/* What each fake NVMe controller says in Identify Namespace's
 * vendor-specific bytes, by device node; NULL: the ioctl fails. */
struct fake_vs {
	char dev[64];
	const char *vs;
};
static struct fake_vs vs_fakes[16];
static size_t n_vs_fakes;

int __wrap_nvme_vs_read(const char *devnode, unsigned nsid, char *buf, size_t size)
{
	(void)nsid;
	for (size_t i = 0; i < n_vs_fakes; i++)
		if (strcmp(vs_fakes[i].dev, devnode) == 0 && vs_fakes[i].vs) {
			memset(buf, 0, size);
			memcpy(buf, vs_fakes[i].vs, strlen(vs_fakes[i].vs));
			return 0;
		}
	return -ENOTTY;
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

/* A Hyper-V SCSI disk: its device directory hangs off a VMBus device with
 * this device id, at this LUN. */
static void vmbus_disk(const char *name, const char *devno, const char *device_id, unsigned lun,
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

#define GEN1_RESOURCE "{00000000-0001-8899-0000-000000000000}"
#define GEN1_OS "{00000000-0000-8899-0000-000000000000}"
#define GEN2_CONTROLLER "{f8b3781a-1e82-4818-a1c3-63d806ec15bb}"

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

/* A temp disk over 2 TiB: GPT, a Microsoft reserved partition (no
 * signature) first, the NTFS partition second. */
static struct fake *gpt_resource(const char *dev, const char *listing)
{
	struct fake *f = fake(dev, PROBE_PTABLE, NULL);

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
static void ours(const char *dev, const char *role, unsigned index, unsigned members,
		 const char *key_source, const char *serial)
{
	static char tokens[8][512];
	static int nt;
	struct fake *f = fake(dev, PROBE_SIGNATURE, "crypto_LUKS");

	snprintf(f->probe.label, sizeof(f->probe.label), "scratchcrypt");
	snprintf(f->probe.subsystem, sizeof(f->probe.subsystem), "%s %u/%u", role, index, members);
	snprintf(tokens[nt % 8], sizeof(tokens[0]),
		 "{\"type\":\"scratchcrypt\",\"keyslots\":[],\"key_source\":\"%s\",\"state\":\"ready\","
		 "\"role\":\"%s\",\"index\":%u,\"members\":%u,\"serial\":\"%s\",\"size\":1073741824}",
		 key_source, role, index, members, serial);
	f->token = tokens[nt++ % 8];
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
	n_fakes = 0;
	n_vs_fakes = 0;
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
static const char *nvme_glob; /* replaces the default nvme_models when set */

static const struct verdict *run_detect_opts(bool force, bool candidates_only)
{
	struct detect_opts o = { .paths = &paths, .force = force, .candidates_only = candidates_only };

	detection_free(&det);
	cfg_free(&cfg);
	cfg_init(&cfg);
	if (nvme_glob) {
		strv_free(&cfg.nvme_models);
		assert_int_equal(strv_push(&cfg.nvme_models, nvme_glob), 0);
	}
	probed[0] = '\0';
	n_probe_log = 0;
	assert_int_equal(detect_run(&cfg, &o, &det), 0);
	assert_true(n_probe_log < 32);
	for (size_t i = 0; i < det.n; i++)
		for (size_t j = 0; j < n_probe_log; j++)
			if (strcmp(probe_log[j], det.v[i].disk.devnode) == 0)
				snprintf(probed + strlen(probed), sizeof(probed) - strlen(probed), "%s ",
					 det.v[i].disk.name);
	return det.v;
}

static const struct verdict *run_detect(bool force)
{
	return run_detect_opts(force, false);
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

/* A Gen1 node: the pristine resource disk, an xfs data disk, a blank and
 * an ext4 local NVMe disk, and an NVMe disk of another model. */
static void standard_disks(void)
{
	vmbus_disk("sda", "8:0\n", GEN1_RESOURCE, 0, "res");
	partition("sda", "sda1", "8:1\n");
	pristine_resource("sda", "DATALOSS_WARNING_README.txt,System Volume Information");
	disk("sdb", "8:16\n", "Msft", "Virtual Disk", "data");
	fake("sdb", PROBE_SIGNATURE, "xfs");
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	disk("nvme2n1", "259:2\n", NULL, NVME, "c");
	fake("nvme2n1", PROBE_SIGNATURE, "ext4");
	disk("nvme3n1", "259:3\n", NULL, "Some Other NVMe", "d");
}

static void test_standard_node(void **state)
{
	(void)state;
	standard_disks();
	disk("nvme1n1", "259:1\n", NULL, NVME " v2", "b");
	disk("loop0", "7:0\n", NULL, "", "");

	run_detect(false);
	assert_int_equal(det.n, 7); /* loop0 left out */
	expect("vda", ROLE_OS, ACTION_SKIP, "holds /");
	expect("sda", ROLE_TEMP, ACTION_ENCRYPT, "pristine resource-disk layout");
	assert_non_null(strstr(find("sda")->identity, "VMBus " GEN1_RESOURCE));
	expect("sdb", ROLE_DATA, ACTION_SKIP, "xfs");
	expect("nvme0n1", ROLE_SCRATCH, ACTION_ENCRYPT, "blank");
	expect("nvme1n1", ROLE_SCRATCH, ACTION_ENCRYPT, "blank");
	expect("nvme2n1", ROLE_SCRATCH, ACTION_REFUSE, "ext4");
	expect("nvme3n1", ROLE_UNKNOWN, ACTION_SKIP, "blank");
	/* Sorted like people count: nvme2n1 before nvme10n1. */
	assert_string_equal(det.v[0].disk.name, "sda");
}

/* start, stop and rewrap read only the candidates: the OS and data disks
 * and unknown NVMe are never opened, and the candidates' verdicts are the
 * ones a full detect gives. */
static void test_start_reads_only_candidates(void **state)
{
	(void)state;
	standard_disks();
	run_detect_opts(false, true);
	assert_string_equal(probed, "sda nvme0n1 nvme2n1 ");
	expect("vda", ROLE_OS, ACTION_SKIP, "holds /");
	expect("sda", ROLE_TEMP, ACTION_ENCRYPT, "pristine resource-disk layout");
	expect("sdb", ROLE_UNKNOWN, ACTION_SKIP, "not read");
	expect("nvme0n1", ROLE_SCRATCH, ACTION_ENCRYPT, "blank");
	expect("nvme2n1", ROLE_SCRATCH, ACTION_REFUSE, "ext4");
	expect("nvme3n1", ROLE_UNKNOWN, ACTION_SKIP, "not read");
	/* detect itself reads every disk. */
	run_detect(false);
	assert_string_equal(probed, "sda sdb vda nvme0n1 nvme2n1 nvme3n1 ");
	expect("sdb", ROLE_DATA, ACTION_SKIP, "xfs");
}

/* Eight local NVMe disks, as on the largest GPU sizes: the probes run in
 * threads, and each disk is read once and judged on its own contents. */
static void test_eight_local_disks_probed_once_each(void **state)
{
	static const char *const types[] = { NULL, "ext4", NULL, "xfs", NULL, "btrfs", NULL, "swap" };
	char name[16], devno[16], serial[4], expected[256] = "";

	(void)state;
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "nvme%dn1", i);
		snprintf(devno, sizeof(devno), "259:%d\n", i);
		snprintf(serial, sizeof(serial), "s%d", i);
		disk(name, devno, NULL, NVME, serial);
		if (types[i])
			fake(name, PROBE_SIGNATURE, types[i]);
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected), "%s ", name);
	}
	for (int round = 0; round < 20; round++) {
		run_detect_opts(false, true);
		assert_string_equal(probed, expected);
		for (int i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "nvme%dn1", i);
			if (types[i])
				expect(name, ROLE_TEMP, ACTION_REFUSE, types[i]);
			else
				expect(name, ROLE_TEMP, ACTION_ENCRYPT, "blank");
		}
	}
}

/* A VM whose OS and data disks are Azure Boost NVMe Accelerator namespaces
 * and whose local disks are NVMe Direct (v6 sizes): the remote ones are
 * never candidates, even when nvme_models matches everything. */
static void test_nvme_accelerator_disks(void **state)
{
	(void)state;
	disk("nvme1n1", "259:4\n", NULL, "MSFT NVMe Accelerator v1.0", "remote-data");
	disk("nvme2n1", "259:5\n", NULL, NVME " v2", "local-0");
	disk("nvme3n1", "259:6\n", NULL, NVME " v2", "local-1");
	nvme_glob = "*";
	run_detect(false);
	nvme_glob = NULL;
	expect("nvme1n1", ROLE_UNKNOWN, ACTION_SKIP, "blank");
	assert_non_null(strstr(find("nvme1n1")->identity, "remote NVMe disk"));
	expect("nvme2n1", ROLE_TEMP, ACTION_ENCRYPT, "blank");
	expect("nvme3n1", ROLE_TEMP, ACTION_ENCRYPT, "blank");
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

/* cloud-init's rule: GPT with the reserved partition first (disks over
 * 2 TiB), names compared without case, the label not required. Such a disk
 * keeps the temp role: local NVMe disks never take it. */
static void test_resource_disk_over_2tib(void **state)
{
	struct fake *f;

	(void)state;
	vmbus_disk("sda", "8:0\n", GEN1_RESOURCE, 0, "res");
	partition("sda", "sda1", "8:1\n");
	partition("sda", "sda2", "8:2\n");
	gpt_resource("sda", "dataloss_warning_readme.txt,SYSTEM VOLUME INFORMATION");
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	run_detect(false);
	expect("sda", ROLE_TEMP, ACTION_ENCRYPT, "pristine resource-disk layout");
	expect("nvme0n1", ROLE_SCRATCH, ACTION_ENCRYPT, "blank");

	/* A user's file on it, or a signature in the first partition: refused. */
	n_fakes = 0;
	gpt_resource("sda", "DATALOSS_WARNING_README.txt,results.csv");
	run_detect(false);
	expect("sda", ROLE_TEMP, ACTION_REFUSE, "ntfs");
	expect("nvme0n1", ROLE_SCRATCH, ACTION_ENCRYPT, "blank");
	n_fakes = 0;
	f = gpt_resource("sda", "DATALOSS_WARNING_README.txt");
	snprintf(f->probe.parts[0].type, sizeof(f->probe.parts[0].type), "ext4");
	run_detect(false);
	expect("sda", ROLE_TEMP, ACTION_REFUSE, "ext4");
	/* Three partitions are never pristine. */
	n_fakes = 0;
	f = gpt_resource("sda", "DATALOSS_WARNING_README.txt");
	f->probe.n_parts = 3;
	partition("sda", "sda3", "8:3\n");
	run_detect(false);
	expect("sda", ROLE_TEMP, ACTION_REFUSE, "gpt");
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
	/* The label is not checked (cloud-init does not), the names are. */
	n_fakes = 0;
	pristine_resource("sda", "DataLoss_Warning_ReadMe.TXT");
	snprintf(fakes[0].probe.parts[0].label, sizeof(fakes[0].probe.parts[0].label), "Temporary");
	run_detect(false);
	expect("sda", ROLE_TEMP, ACTION_ENCRYPT, "pristine");
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

/* fs.c asks only what is mounted: the same mounts as a whole scan, and
 * no disk read for them. */
static void test_mount_table_alone(void **state)
{
	struct sys_view all, mounts;

	(void)state;
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	put("mountinfo", "22 1 254:1 / / rw - ext4 /dev/vda1 rw\n"
			 "30 22 259:0 / /mnt/my\\040data rw - ext4 /dev/nvme0n1 rw\n");
	assert_int_equal(sys_scan(&paths, &all), 0);
	assert_int_equal(sys_scan_mounts(&paths, &mounts), 0);
	assert_true(all.n_disks >= 1);
	assert_int_equal(mounts.n_disks, 0);
	assert_int_equal(mounts.n_mounts, 2);
	assert_int_equal(mounts.n_mounts, all.n_mounts);
	assert_string_equal(mounts.mounts[1].target, "/mnt/my data");
	assert_int_equal(mounts.mounts[1].major, 259);
	assert_int_equal(mounts.mounts[1].minor, 0);
	sys_view_free(&all);
	sys_view_free(&mounts);
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
	vmbus_disk("sda", "8:0\n", GEN1_RESOURCE, 0, "res");
	ours("sda", "temp", 0, 1, "system", "res");
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	ours("nvme0n1", "scratch", 0, 2, "system", "a");
	disk("nvme1n1", "259:1\n", NULL, NVME, "b");
	ours("nvme1n1", "scratch", 1, 2, "hbi", "b");
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

/* Regression: a disk's role came from its header. A forged scratchcrypt
 * header makes no disk a candidate, and on a candidate it must name the
 * disk it is on, in its role. */
static void test_forged_headers(void **state)
{
	(void)state;
	/* An iSCSI LUN or a data disk: same vendor, no resource-disk identity. */
	disk("sdb", "8:16\n", "Msft", "Virtual Disk", "lun");
	ours("sdb", "scratch", 0, 1, "system", "lun");
	disk("sdc", "8:32\n", "LIO-ORG", "iscsi-lun", "x");
	ours("sdc", "temp", 0, 1, "hbi", "x");
	/* The OS controller's LUN 0 and 2 on Gen2, and Gen1's OS disk id. */
	vmbus_disk("sdd", "8:48\n", GEN2_CONTROLLER, 0, "os2");
	vmbus_disk("sde", "8:64\n", GEN1_OS, 0, "os1");
	/* Local disks carrying headers copied from, or made for, another disk. */
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	ours("nvme0n1", "scratch", 0, 1, "system", "some-other-disk");
	disk("nvme1n1", "259:1\n", NULL, NVME, "b");
	ours("nvme1n1", "temp", 0, 1, "system", "b");
	vmbus_disk("sda", "8:0\n", GEN2_CONTROLLER, 1, "res2");
	ours("sda", "temp", 0, 1, "system", "res2");
	run_detect(false);
	expect("sdb", ROLE_DATA, ACTION_SKIP, "crypto_LUKS");
	expect("sdc", ROLE_DATA, ACTION_SKIP, "crypto_LUKS");
	assert_int_not_equal(find("sdd")->role, ROLE_TEMP);
	assert_int_not_equal(find("sde")->role, ROLE_TEMP);
	expect("nvme0n1", ROLE_SCRATCH, ACTION_REFUSE, "another disk");
	expect("nvme1n1", ROLE_SCRATCH, ACTION_REFUSE, "another role");
	/* Gen2: the resource disk is LUN 1 of the OS disk's controller. */
	expect("sda", ROLE_TEMP, ACTION_ENCRYPT, "set up by scratchcrypt");
}

/* A disk a later release set up (format 2) is left as it is: this release
 * cannot know what the newer records mean, so it neither opens nor remakes
 * it, even on its own hardware identity. */
static void test_newer_format_refused(void **state)
{
	(void)state;
	/* Without a resource disk, the first NVMe disk is temp. */
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	ours("nvme0n1", "temp", 0, 1, "system", "a");
	fakes[n_fakes - 1].token = "{\"type\":\"scratchcrypt\",\"format\":2,\"role\":\"temp\","
				   "\"index\":0,\"members\":1,\"serial\":\"a\",\"size\":1073741824}";
	run_detect(false);
	expect("nvme0n1", ROLE_TEMP, ACTION_REFUSE, "on-disk format 2, newer than this release reads (1)");
	/* The same disk with a format-1 token is ours again. */
	fakes[n_fakes - 1].token = "{\"type\":\"scratchcrypt\",\"format\":1,\"role\":\"temp\","
				   "\"key_source\":\"system\",\"state\":\"ready\",\"index\":0,"
				   "\"members\":1,\"serial\":\"a\",\"size\":1073741824}";
	run_detect(false);
	expect("nvme0n1", ROLE_TEMP, ACTION_ENCRYPT, "set up by scratchcrypt");
}

/* Regression: a btrfs or ZFS / was not seen as the OS disk, and its disk
 * could be taken for scratch. (overlay follows its directories' st_dev,
 * which fixture trees cannot point at a fixture disk.) */
static void test_os_disk_whatever_the_root(void **state)
{
	(void)state;
	/* btrfs: the mount shows an anonymous device; its source names sda2. */
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	partition("nvme0n1", "nvme0n1p2", "259:2\n");
	put("mountinfo", "22 1 0:31 / / rw,relatime shared:1 - btrfs /dev/nvme0n1p2 rw,subvol=/@\n");
	run_detect(false);
	expect("nvme0n1", ROLE_OS, ACTION_SKIP, "holds /");

	/* ZFS: the source is a dataset; the pool's members carry its name. */
	disk("nvme1n1", "259:1\n", NULL, NVME, "b");
	struct fake *f = fake("nvme1n1", PROBE_PTABLE, NULL);
	f->probe.n_parts = 1;
	snprintf(f->probe.parts[0].type, sizeof(f->probe.parts[0].type), "zfs_member");
	snprintf(f->probe.parts[0].label, sizeof(f->probe.parts[0].label), "rpool");
	put("mountinfo", "22 1 0:31 / / rw,relatime shared:1 - zfs rpool/ROOT/debian rw,xattr\n");
	run_detect(false);
	expect("nvme1n1", ROLE_OS, ACTION_SKIP, "holds /");
}

static void test_explicit_devices(void **state)
{
	struct detect_opts o = { .paths = &paths };

	(void)state;
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	disk("vdb", "254:16\n", NULL, "", "b");
	detection_free(&det);
	cfg_free(&cfg);
	cfg_init(&cfg);
	/* Entries name devices through any link: resolved to the device. */
	put("dev/vdb", "");
	put("dev/vdc", "");
	disk("vdc", "254:32\n", NULL, "", "c");
	link_dev("disk/azure/resource", "../../vdc");
	cfg.devices.v = calloc(4, sizeof(char *));
	cfg.devices.v[0] = strdup("/dev/vdb");
	cfg.devices.v[1] = strdup("/dev/disk/azure/resource");
	cfg.devices.n = 2;
	assert_int_equal(detect_run(&cfg, &o, &det), 0);
	expect("vdb", ROLE_TEMP, ACTION_ENCRYPT, "blank");
	expect("vdc", ROLE_TEMP, ACTION_ENCRYPT, "blank");
	expect("nvme0n1", ROLE_UNKNOWN, ACTION_SKIP, "not a local temp or scratch disk");
	expect("vda", ROLE_OS, ACTION_SKIP, "holds /");
	assert_int_equal(det.n_unlisted, 0);

	/* Regression: an entry that names nothing was silently matched by
	 * nothing, and start did nothing with exit 0. */
	cfg.devices.v[2] = strdup("/dev/disk/by-id/nothing-here");
	cfg.devices.n = 3;
	detection_free(&det);
	assert_int_equal(detect_run(&cfg, &o, &det), 0);
	assert_int_equal(det.n_unlisted, 1);
	assert_non_null(strstr(det.warnings[det.n_warnings - 1], "/dev/disk/by-id/nothing-here"));
}

static void test_other_agents_claiming_the_disk(void **state)
{
	(void)state;
	disk("sda", "8:0\n", "Msft", "Virtual Disk", "res");
	link_dev("disk/azure/resource", "../../sda");
	put("etc/waagent.conf", "ResourceDisk.Format=y\nResourceDisk.EnableSwap=y\n");
	put("etc/cloud/cloud.cfg", "mounts:\n");
	put("etc/cloud/cloud.cfg.d/10-azure.cfg", "datasource_list: [ Azure ]\n");
	put("udevrules/66-azure-ephemeral.rules", "SYMLINK+=\"disk/cloud/$env{fabric_name}\"\n");
	run_detect(false);
	assert_int_equal(det.n_warnings, 4);
	assert_non_null(strstr(det.warnings[0], "ResourceDisk.Format=n"));
	assert_non_null(strstr(det.warnings[1], "ResourceDisk.EnableSwap=n"));
	assert_non_null(strstr(det.warnings[2], "repartition"));
	assert_non_null(strstr(det.warnings[2], "udev/rules.d/66-azure-ephemeral.rules"));
	assert_non_null(strstr(det.warnings[3], "ephemeral0"));
	/* A hand-edited waagent.conf silences them; a same-named rules file
	 * that still has rules in it is no mask. */
	put("etc/waagent.conf", "ResourceDisk.Format=n\nResourceDisk.EnableSwap=n\n");
	put("etc/cloud/cloud.cfg.d/90-scratchcrypt.cfg", "mounts:\n  - [ ephemeral0, null ]\n");
	put("etc/udev/rules.d/66-azure-ephemeral.rules",
	    "# edited\nENV{DEVTYPE}==\"disk\", SYMLINK+=\"disk/cloud/azure_resource\"\n");
	run_detect(false);
	assert_int_equal(det.n_warnings, 1);
	assert_non_null(strstr(det.warnings[0], "repartition"));
	/* The package's files: waagent.conf as Debian ships it, the drop-in
	 * that runs the daemon on a copy with Format=n, the comment-only mask. */
	put("etc/waagent.conf", "ResourceDisk.Format=y\nResourceDisk.EnableSwap=y\n");
	put("units/walinuxagent.service.d/50-scratchcrypt.conf", "[Service]\n");
	put("etc/udev/rules.d/66-azure-ephemeral.rules", "# Installed by scratchcrypt.\n\n");
	run_detect(false);
	assert_int_equal(det.n_warnings, 0);
	/* An admin's same-named drop-in in /etc that does not use the copy. */
	put("etc/systemd/system/walinuxagent.service.d/50-scratchcrypt.conf", "[Service]\nExecStart=\n");
	run_detect(false);
	assert_int_equal(det.n_warnings, 2);
	assert_non_null(strstr(det.warnings[0], "ResourceDisk.Format=n"));
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/etc/systemd/system/walinuxagent.service.d/50-scratchcrypt.conf", root);
		assert_int_equal(unlink(p), 0);
	}
	put("etc/udev/rules.d/66-azure-ephemeral.rules", "ENV{X}=\"1\"\n");
	run_detect(false);
	assert_int_equal(det.n_warnings, 1);
	/* scratchcrypt-neighbours.service's mask in /run, with no file in
	 * /etc: cloud-init's rule is off; without the mask it is on again. */
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/etc/udev/rules.d/66-azure-ephemeral.rules", root);
		assert_int_equal(unlink(p), 0);
		put("runrules/.keep", "");
		snprintf(p, sizeof(p), "%s/runrules/66-azure-ephemeral.rules", root);
		assert_int_equal(symlink("/dev/null", p), 0);
		run_detect(false);
		assert_int_equal(det.n_warnings, 0);
		assert_int_equal(unlink(p), 0);
		run_detect(false);
		assert_int_equal(det.n_warnings, 1);
		assert_non_null(strstr(det.warnings[0], "scratchcrypt-neighbours.service"));
	}
	put("etc/udev/rules.d/66-azure-ephemeral.rules", "ENV{X}=\"1\"\n");
	{
		char mask[512];

		snprintf(mask, sizeof(mask), "%s/etc/udev/rules.d/66-azure-ephemeral.rules", root);
		assert_int_equal(unlink(mask), 0);
		assert_int_equal(symlink("/dev/null", mask), 0);
	}
	run_detect(false);
	assert_int_equal(det.n_warnings, 0);
}

static void test_subsystem_roundtrip(void **state)
{
	char buf[48];
	enum disk_role role;
	unsigned idx, n;

	(void)state;
	ondisk_subsystem(buf, sizeof(buf), ROLE_SCRATCH, 2, 4);
	assert_string_equal(buf, "scratch 2/4");
	assert_int_equal(ondisk_subsystem_parse(buf, &role, &idx, &n), 0);
	assert_int_equal(role, ROLE_SCRATCH);
	assert_int_equal(idx, 2);
	assert_int_equal(n, 4);
	assert_int_equal(ondisk_subsystem_parse("os 0/1", &role, &idx, &n), -EINVAL);
	assert_int_equal(ondisk_subsystem_parse("temp 2/2", &role, &idx, &n), -EINVAL);
	assert_int_equal(ondisk_subsystem_parse("", &role, &idx, &n), -EINVAL);
}

/* Identify Namespace's vendor-specific bytes, as NVMe Direct Disk v2 fills
 * them (azure-vm-utils' doc/disk-identification.md), and what is not that. */
static void test_nvme_vs_parse(void **state)
{
	struct sys_platform_id id;
	char big[NVME_VS_SIZE];

	(void)state;
	assert_int_equal(nvme_vs_parse("type=local,index=1,name=nvme-440G-1", 36, &id), 0);
	assert_string_equal(id.type, "local");
	assert_int_equal(id.index, 1);
	assert_string_equal(id.name, "nvme-440G-1");
	assert_int_equal(nvme_vs_parse("type=data,lun=4,name=data-db", 29, &id), 0);
	assert_string_equal(id.type, "data");
	assert_int_equal(id.index, -1);
	assert_int_equal(nvme_vs_parse("type=os", 8, &id), 0);
	assert_string_equal(id.type, "os");
	/* A NUL first: the controller does not say. */
	memset(big, 0, sizeof(big));
	assert_int_equal(nvme_vs_parse(big, sizeof(big), &id), -ENODATA);
	/* No NUL within the field, no '=', a bad index, control bytes. */
	memset(big, 'a', sizeof(big));
	assert_int_equal(nvme_vs_parse(big, sizeof(big), &id), -EBADMSG);
	assert_int_equal(nvme_vs_parse("type", 5, &id), -EBADMSG);
	assert_int_equal(nvme_vs_parse("=x", 3, &id), -EBADMSG);
	assert_int_equal(nvme_vs_parse("type=local,index=x", 19, &id), -EBADMSG);
	assert_int_equal(nvme_vs_parse("type=local,index=", 18, &id), -EBADMSG);
	assert_int_equal(nvme_vs_parse("type=local,index=123456", 24, &id), -EBADMSG);
	assert_int_equal(nvme_vs_parse("type=lo\ncal", 12, &id), -EBADMSG);
	/* An over-long name is cut, never overrun. */
	memset(big, 'n', sizeof(big));
	memcpy(big, "name=", 5);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(nvme_vs_parse(big, sizeof(big), &id), 0);
	assert_int_equal(strlen(id.name), sizeof(id.name) - 1);
}

/* VM families, each as its disks show up in sysfs (the OS, resource, data
 * and local disks that azure-vm-utils' doc/disk-identification.md lists
 * for that size). */

/* / on this partition of this disk; the default vda is not there. */
static void os_root_on(const char *part, const char *devno)
{
	char line[256], cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/sys/block/vda", root);
	assert_int_equal(system(cmd), 0);
	snprintf(line, sizeof(line), "22 1 %s / / rw,relatime shared:1 - ext4 /dev/%s rw\n", devno, part);
	put("mountinfo", line);
}

/* An NVMe namespace: its model, serial and nsid in sysfs, and what its
 * controller says in the vendor-specific identify bytes (NULL: nothing). */
static void nvme_ns(const char *name, const char *devno, const char *model, const char *serial,
		    unsigned nsid, const char *vs)
{
	char rel[256], val[16];

	disk(name, devno, NULL, model, serial);
	snprintf(rel, sizeof(rel), "sys/block/%s/nsid", name);
	snprintf(val, sizeof(val), "%u\n", nsid);
	put(rel, val);
	snprintf(vs_fakes[n_vs_fakes].dev, sizeof(vs_fakes[0].dev), "%s/%s", devdir, name);
	vs_fakes[n_vs_fakes++].vs = vs;
}

#define GEN2_DATA_CONTROLLER "{f8b3781b-1e82-4818-a1c3-63d806ec15bb}"
#define NVME_ACCEL "MSFT NVMe Accelerator v1.0"

static const char *member_name(const struct volume *vol, size_t i)
{
	assert_true(i < vol->n);
	return vol->m[i].v->disk.name;
}

/* A SCSI OS disk holding / (sda) and a pristine resource disk (sdb), on
 * the VMBus devices and LUNs of a generation's layout. */
static void scsi_os_and_resource(const char *os_id, const char *res_id, unsigned res_lun)
{
	vmbus_disk("sda", "8:0\n", os_id, 0, "os");
	partition("sda", "sda1", "8:1\n");
	os_root_on("sda1", "8:1");
	vmbus_disk("sdb", "8:16\n", res_id, res_lun, "res");
	partition("sdb", "sdb1", "8:17\n");
	pristine_resource("sdb", "DATALOSS_WARNING_README.txt,System Volume Information");
}

/* Standard_D2ds_v4, generation 1: the OS disk on VMBus 00000000-0000-...,
 * the resource disk on 00000000-0001-..., data disks on the SCSI
 * controller. */
static void test_family_gen1_scsi_temp(void **state)
{
	(void)state;
	scsi_os_and_resource(GEN1_OS, GEN1_RESOURCE, 1);
	vmbus_disk("sdc", "8:32\n", GEN2_DATA_CONTROLLER, 0, "data0");
	fake("sdc", PROBE_SIGNATURE, "xfs");
	vmbus_disk("sdd", "8:48\n", GEN2_DATA_CONTROLLER, 1, "data1");
	run_detect(false);
	expect("sda", ROLE_OS, ACTION_SKIP, "holds /");
	expect("sdb", ROLE_TEMP, ACTION_ENCRYPT, "pristine resource-disk layout");
	expect("sdc", ROLE_DATA, ACTION_SKIP, "xfs");
	expect("sdd", ROLE_UNKNOWN, ACTION_SKIP, "blank");
}

/* Standard_D2ds_v5, generation 2: OS disk and resource disk are LUN 0 and
 * LUN 1 of one controller; a blank data disk is no candidate. */
static void test_family_gen2_scsi_temp(void **state)
{
	(void)state;
	scsi_os_and_resource(GEN2_CONTROLLER, GEN2_CONTROLLER, 1);
	vmbus_disk("sdc", "8:32\n", GEN2_DATA_CONTROLLER, 0, "data0");
	run_detect(false);
	expect("sda", ROLE_OS, ACTION_SKIP, "holds /");
	expect("sdb", ROLE_TEMP, ACTION_ENCRYPT, "pristine resource-disk layout");
	assert_non_null(strstr(find("sdb")->identity, GEN2_CONTROLLER));
	expect("sdc", ROLE_UNKNOWN, ACTION_SKIP, "blank");
}

/* Standard_L8s_v3: a SCSI resource disk and four NVMe Direct Disk (v1)
 * local disks whose controllers say nothing: the resource disk is temp,
 * the NVMe disks scratch, striped in the kernel's order. */
static void test_family_scsi_temp_and_local_nvme(void **state)
{
	struct volume vol[2];
	unsigned refused;

	(void)state;
	scsi_os_and_resource(GEN2_CONTROLLER, GEN2_CONTROLLER, 1);
	nvme_ns("nvme0n1", "259:0\n", NVME, "f0451a1ba53a00000001", 1, NULL);
	nvme_ns("nvme1n1", "259:1\n", NVME, "f0451a1ba53a00000002", 1, NULL);
	nvme_ns("nvme2n1", "259:2\n", NVME, "f0451a1ba53a00000003", 1, "");
	nvme_ns("nvme3n1", "259:3\n", NVME, "f0451a1ba53a00000004", 1, "");
	run_detect(false);
	expect("sdb", ROLE_TEMP, ACTION_ENCRYPT, "pristine");
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "nvme%dn1", i);
		expect(name, ROLE_SCRATCH, ACTION_ENCRYPT, "blank");
		assert_int_equal(find(name)->disk.platform.index, -1);
	}
	plan_volumes(&cfg, &det, vol, &refused);
	assert_int_equal(vol[0].n, 1);
	assert_string_equal(member_name(&vol[0], 0), "sdb");
	assert_int_equal(vol[1].n, 4);
	for (size_t i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "nvme%zun1", i);
		assert_string_equal(member_name(&vol[1], i), name);
	}
}

/* An NVMe-only v6 size: OS and data disks are NVMe Accelerator namespaces,
 * the local disks NVMe Direct Disk v2 whose controllers give each its
 * platform index. No resource disk: the local disks are the temp volume,
 * its members in the platform's order whatever the kernel's. A namespace
 * whose controller says it is a data disk is never a candidate. */
static void test_family_nvme_only_v6(void **state)
{
	struct volume vol[2];
	unsigned refused;

	(void)state;
	nvme_ns("nvme0n1", "259:0\n", NVME_ACCEL, "os", 1, "type=os");
	partition("nvme0n1", "nvme0n1p1", "259:1\n");
	os_root_on("nvme0n1p1", "259:1");
	nvme_ns("nvme0n2", "259:2\n", NVME_ACCEL, "data", 2, "type=data,lun=0,name=data-db");
	nvme_ns("nvme1n1", "259:3\n", NVME " v2", "ebeb91bd841bceb90002", 1,
		"type=local,index=2,name=nvme-440G-2");
	nvme_ns("nvme2n1", "259:4\n", NVME " v2", "ebeb91bd841bceb90001", 1,
		"type=local,index=1,name=nvme-440G-1");
	nvme_ns("nvme3n1", "259:5\n", NVME " v2", "says-data", 1, "type=data,lun=1");
	run_detect(false);
	expect("nvme0n1", ROLE_OS, ACTION_SKIP, "holds /");
	expect("nvme0n2", ROLE_UNKNOWN, ACTION_SKIP, "blank");
	assert_non_null(strstr(find("nvme0n2")->identity, "remote NVMe disk"));
	expect("nvme3n1", ROLE_UNKNOWN, ACTION_SKIP, "blank");
	assert_non_null(strstr(find("nvme3n1")->identity, "type=data"));
	expect("nvme1n1", ROLE_TEMP, ACTION_ENCRYPT, "blank");
	expect("nvme2n1", ROLE_TEMP, ACTION_ENCRYPT, "blank");
	assert_non_null(strstr(find("nvme2n1")->identity, "platform index 1, nvme-440G-1"));
	plan_volumes(&cfg, &det, vol, &refused);
	assert_int_equal(vol[0].n, 2);
	assert_string_equal(member_name(&vol[0], 0), "nvme2n1");
	assert_string_equal(member_name(&vol[0], 1), "nvme1n1");
	assert_string_equal(vol[0].m[0].name, "scratchcrypt-temp-0");
	assert_int_equal(vol[1].n, 0);
}

/* Standard_E2bs_v5 with the NVMe disk controller: OS and four data disks
 * on one NVMe Accelerator controller, no local disks at all: nothing is a
 * candidate, even with nvme_models matching every model. */
static void test_family_accelerator_os_and_data(void **state)
{
	(void)state;
	nvme_ns("nvme0n1", "259:0\n", NVME_ACCEL, "acc", 1, "");
	partition("nvme0n1", "nvme0n1p1", "259:1\n");
	os_root_on("nvme0n1p1", "259:1");
	for (unsigned i = 2; i <= 5; i++) {
		char name[16], devno[16];

		snprintf(name, sizeof(name), "nvme0n%u", i);
		snprintf(devno, sizeof(devno), "259:%u\n", i + 1);
		nvme_ns(name, devno, NVME_ACCEL, "acc", i, NULL);
	}
	nvme_glob = "*";
	run_detect(false);
	nvme_glob = NULL;
	expect("nvme0n1", ROLE_OS, ACTION_SKIP, "holds /");
	for (size_t i = 0; i < det.n; i++)
		assert_true(det.v[i].role != ROLE_TEMP && det.v[i].role != ROLE_SCRATCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_standard_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_reads_only_candidates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eight_local_disks_probed_once_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvme_takes_temp_role_without_resource_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resource_disk_over_2tib, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvme_accelerator_disks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_used_resource_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cloud_init_link_to_partition, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_use_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount_table_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signatures_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_our_own_disks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_format_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_os_disk_whatever_the_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_agents_claiming_the_disk, setup, teardown),
		cmocka_unit_test(test_subsystem_roundtrip),
		cmocka_unit_test(test_nvme_vs_parse),
		cmocka_unit_test_setup_teardown(test_family_gen1_scsi_temp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_family_gen2_scsi_temp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_family_scsi_temp_and_local_nvme, setup, teardown),
		cmocka_unit_test_setup_teardown(test_family_nvme_only_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_family_accelerator_os_and_data, setup, teardown),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	detection_free(&det);
	cfg_free(&cfg);
	return r;
}
