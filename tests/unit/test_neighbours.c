// SPDX-License-Identifier: MIT
/* agent/detect/neighbours.c: WALinuxAgent, cloud-init and azure-vm-utils
 * still claiming the resource disk, or kept off it (fakesys.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/fakesys.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_other_agents_claiming_the_disk, sys_setup, sys_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
