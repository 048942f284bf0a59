// SPDX-License-Identifier: MIT
/* libFuzzer: the claim block at the end of a disk's first MiB, which
 * anyone who can write the disk controls. */
#include <errno.h>

#include "agent/ondisk/claim.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The parser gets a whole block, as claim_read hands it. */
	char block[ONDISK_CLAIM_SIZE] = { 0 };
	struct sc_claim c;
	int r;

	fuzz_init();
	memcpy(block, data, size < sizeof(block) ? size : sizeof(block));
	r = claim_parse(block, &c);
	if (r == 1 && (c.format < 1 || c.format > ONDISK_FORMAT_VERSION ||
		       !memchr(c.serial, '\0', sizeof(c.serial)) || strchr(c.serial, '\n')))
		abort();
	if (r == -EPROTONOSUPPORT && c.format <= ONDISK_FORMAT_VERSION)
		abort();
	if (r != 1 && r != 0 && r != -EPROTONOSUPPORT)
		abort();
	return 0;
}
