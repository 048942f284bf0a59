// SPDX-License-Identifier: MIT
/* libFuzzer: a key service's error body. */
#include "keyfetch/keyfetch.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char code[96], msg[384];

	fuzz_init();
	kf_parse_error_body((const char *)data, size, code, sizeof(code), msg, sizeof(msg));
	return 0;
}
