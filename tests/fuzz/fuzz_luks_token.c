// SPDX-License-Identifier: MIT
/* libFuzzer: the scratchcrypt token in a disk's LUKS2 header. */
#include <errno.h>

#include "agent/ondisk/token.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	struct sc_token t;
	int r;

	fuzz_init();
	r = s ? token_from_json(s, &t) : 0;
	if (r == 0 && s && (t.index >= 64 || t.members > 64 || t.format > ONDISK_FORMAT_VERSION))
		abort();
	if (r == -EPROTONOSUPPORT && t.format <= ONDISK_FORMAT_VERSION)
		abort();
	free(s);
	return 0;
}
