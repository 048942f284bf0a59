// SPDX-License-Identifier: MIT
/* libFuzzer: a Retry-After header's value. */
#include "keyfetch/keyfetch.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double d;

	fuzz_init();
	if (kf_parse_retry_after((const char *)data, size, &d) == 0 && !(d >= 0 && d <= 86400))
		abort();
	return 0;
}
