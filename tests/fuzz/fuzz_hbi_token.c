// SPDX-License-Identifier: MIT
/* libFuzzer: the scratchcrypt-hbi token in a disk's LUKS2 header. */
#include "agent/ondisk/token.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	struct sc_hbi_token t = { 0 };

	fuzz_init();
	if (s && token_hbi_parse(s, &t) == 0 && (!t.wrapped || !t.kid[0]))
		abort();
	token_hbi_clear(&t);
	free(s);
	return 0;
}
