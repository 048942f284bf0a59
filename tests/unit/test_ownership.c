// SPDX-License-Identifier: MIT
/* agent/detect/ownership.c: whose a disk is, from its claim and token,
 * which only confirm what the hardware says (the fake kernel, fakesys.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/fakesys.h"

#define NVME "Microsoft NVMe Direct Disk"

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

/* A disk a later release set up (format 3) is left as it is: this release
 * cannot know what the newer records mean, so it neither opens nor remakes
 * it, even on its own hardware identity. */
static void test_newer_format_refused(void **state)
{
	(void)state;
	/* Without a resource disk, the first NVMe disk is temp. */
	disk("nvme0n1", "259:0\n", NULL, NVME, "a");
	ours("nvme0n1", "temp", 0, 1, "system", "a");
	fk.blk[fk.n_blk - 1].token = "{\"type\":\"scratchcrypt\",\"format\":3,\"role\":\"temp\","
				   "\"index\":0,\"members\":1,\"serial\":\"a\",\"size\":1073741824}";
	run_detect(false);
	expect("nvme0n1", ROLE_TEMP, ACTION_REFUSE, "on-disk format 3, newer than this release reads (2)");
	/* The same disk with a format-1 token (an older release's) is ours again. */
	fk.blk[fk.n_blk - 1].token = "{\"type\":\"scratchcrypt\",\"format\":1,\"role\":\"temp\","
				   "\"key_source\":\"system\",\"state\":\"ready\",\"index\":0,"
				   "\"members\":1,\"serial\":\"a\",\"size\":1073741824}";
	run_detect(false);
	expect("nvme0n1", ROLE_TEMP, ACTION_ENCRYPT, "set up by scratchcrypt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_our_own_disks, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_forged_headers, sys_setup, sys_teardown),
		cmocka_unit_test_setup_teardown(test_newer_format_refused, sys_setup, sys_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
