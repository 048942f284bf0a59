// SPDX-License-Identifier: MIT
/* libFuzzer: IMDS's Scheduled Events document. */
#include "agent/events.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	struct sched_doc doc;

	fuzz_init();
	if (s) {
		(void)events_parse(s, "node-0", &doc);
		for (size_t i = 0; i < doc.n; i++)
			if (doc.ev[i].only_us && !doc.ev[i].for_us)
				abort();
		events_doc_free(&doc);
	}
	free(s);
	return 0;
}
