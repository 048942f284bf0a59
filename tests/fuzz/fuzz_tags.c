// SPDX-License-Identifier: MIT
/* libFuzzer: the instance metadata's tags. */
#include "keyfetch/keyfetch.h"
#include "tests/fuzz/fuzz.h"

static void on_tag(void *ctx, const char *name, const char *value)
{
	(void)ctx;
	if (!name || !value)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	(void)kf_parse_tags((const char *)data, size, on_tag, NULL);
	return 0;
}
