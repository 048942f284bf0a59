// SPDX-License-Identifier: MIT
/* Detection verdicts from fixture sysfs trees and the fake kernel's block
 * devices (fakekernel.h: what libblkid, libntfs-3g and the controllers say). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
#include "tests/unit/fakesys.h"

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
	struct fk_blk *f;

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
	fk.n_blk = 0;
	gpt_resource("sda", "DATALOSS_WARNING_README.txt,results.csv");
	run_detect(false);
	expect("sda", ROLE_TEMP, ACTION_REFUSE, "ntfs");
	expect("nvme0n1", ROLE_SCRATCH, ACTION_ENCRYPT, "blank");
	fk.n_blk = 0;
	f = gpt_resource("sda", "DATALOSS_WARNING_README.txt");
	snprintf(f->probe.parts[0].type, sizeof(f->probe.parts[0].type), "ext4");
	run_detect(false);
	expect("sda", ROLE_TEMP, ACTION_REFUSE, "ext4");
	/* Three partitions are never pristine. */
	fk.n_blk = 0;
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
	fk.n_blk = 0;
	pristine_resource("sda", "DataLoss_Warning_ReadMe.TXT");
	snprintf(fk.blk[0].probe.parts[0].label, sizeof(fk.blk[0].probe.parts[0].label), "Temporary");
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

/* Regression: a disk whose first sector could not be read (EIO) was
 * reported as holding foreign data, and --force made it a format target.
 * It is refused naming the I/O error, with --force too. */
static void test_unreadable_disk_is_refused(void **state)
{
	(void)state;
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	fake("nvme0n1", PROBE_BLANK, NULL)->probe_error = EIO;
	disk("nvme1n1", "259:1\n", NULL, NVME, "b");
	run_detect(false);
	expect("nvme0n1", ROLE_TEMP, ACTION_REFUSE, "cannot be read (Input/output error); left untouched");
	assert_null(strstr(find("nvme0n1")->reason, "did not write"));
	expect("nvme1n1", ROLE_TEMP, ACTION_ENCRYPT, "blank");
	run_detect(true);
	expect("nvme0n1", ROLE_TEMP, ACTION_REFUSE, "cannot be read (Input/output error); left untouched, even with --force");
}

/* A disk that does not answer its probe holds up nothing else: it is
 * refused after the deadline, naming it, with --force too; the others are
 * judged as usual, and detection returns. */
static void test_stalled_disk_is_refused_in_time(void **state)
{
	struct timespec t0, t1;

	(void)state;
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	fake("nvme0n1", PROBE_BLANK, NULL)->probe_stalls = true;
	disk("nvme1n1", "259:1\n", NULL, NVME, "b");
	sys_probe_timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_detect(false);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	expect("nvme0n1", ROLE_TEMP, ACTION_REFUSE, "did not answer a read within 300 ms");
	expect("nvme1n1", ROLE_TEMP, ACTION_ENCRYPT, "blank");
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 3000);
	run_detect(true);
	expect("nvme0n1", ROLE_TEMP, ACTION_REFUSE, "left untouched, even with --force");
	sys_probe_timeout_ms = 0;
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
	struct fk_blk *f = fake("nvme1n1", PROBE_PTABLE, NULL);
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
		cmocka_unit_test_setup_teardown(test_standard_node, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_start_reads_only_candidates, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_eight_local_disks_probed_once_each, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_nvme_takes_temp_role_without_resource_disk, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_resource_disk_over_2tib, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_nvme_accelerator_disks, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_used_resource_disk, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_cloud_init_link_to_partition, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_in_use_is_refused, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_mount_table_alone, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_signatures_are_refused, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_disk_is_refused, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_stalled_disk_is_refused_in_time, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_os_disk_whatever_the_root, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_explicit_devices, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_family_gen1_scsi_temp, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_family_gen2_scsi_temp, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_family_scsi_temp_and_local_nvme, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_family_nvme_only_v6, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_family_accelerator_os_and_data, sys_setup, sys_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
