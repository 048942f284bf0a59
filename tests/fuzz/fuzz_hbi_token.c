// SPDX-License-Identifier: MIT
/* libFuzzer: the scratchcrypt-hbi token in a disk's LUKS2 header. */
#include "agent/ondisk/token.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), kid[512], *w = NULL;

	fuzz_init();
	if (s && token_hbi_parse(s, kid, sizeof(kid), &w) == 0 && !w)
		abort();
	free(w);
	free(s);
	return 0;
}
