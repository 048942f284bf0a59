// SPDX-License-Identifier: MIT
/* libFuzzer: Key Vault's get-key response. */
#include "keyfetch/keyfetch.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kf_key_info k;

	fuzz_init();
	(void)kf_parse_key((const char *)data, size, &k);
	return 0;
}
