// SPDX-License-Identifier: MIT
/* libFuzzer: base64url text (wrapped keys). */
#include "base/safemem.h"
#include "keyfetch/keyfetch.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), *again;
	void *out = NULL;
	size_t n = 0;

	fuzz_init();
	if (s && kf_b64url_decode(s, &out, &n) == 0) {
		/* What decodes encodes back to the same text. */
		again = kf_b64url_encode(out, n);
		if (!again || strcmp(again, s) != 0)
			abort();
		safe_free(again);
		safe_free(out);
	}
	free(s);
	return 0;
}
