// SPDX-License-Identifier: MIT
/* libFuzzer: Key Vault's wrapkey and unwrapkey responses. */
#include "base/safemem.h"
#include "keyfetch/keyfetch.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = NULL;

	fuzz_init();
	(void)kf_parse_op_reply((const char *)data, size, "https://v.vault.azure.net/keys/k/0123", &v);
	safe_free(v);
	return 0;
}
