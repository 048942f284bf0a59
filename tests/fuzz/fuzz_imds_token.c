// SPDX-License-Identifier: MIT
/* libFuzzer: IMDS's managed-identity token response. */
#include "base/safemem.h"
#include "keyfetch/keyfetch.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *t = NULL;

	fuzz_init();
	if (kf_parse_token((const char *)data, size, &t) == 0 && !t)
		abort();
	safe_free(t);
	return 0;
}
