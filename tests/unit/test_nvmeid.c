// SPDX-License-Identifier: MIT
/* agent/detect/nvmeid.c: what an NVMe controller says of a namespace. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/detect/nvmeid.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nvme_vs_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
