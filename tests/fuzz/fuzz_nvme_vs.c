// SPDX-License-Identifier: MIT
/* libFuzzer: an NVMe namespace's vendor-specific identify bytes, exactly
 * as the controller hands them (no NUL added). */
#include "agent/detect/nvmeid.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sys_platform_id id;

	fuzz_init();
	if (nvme_vs_parse((const char *)data, size, &id) == 0 &&
	    (strlen(id.type) >= sizeof(id.type) || strlen(id.name) >= sizeof(id.name) || id.index > 9999))
		abort();
	return 0;
}
