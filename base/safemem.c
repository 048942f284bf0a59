// SPDX-License-Identifier: MIT
#include "base/safemem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

struct safe_hdr {
	size_t size;
	uint64_t pad; /* keeps the payload 16-byte aligned */
};

void *safe_alloc(size_t size)
{
	struct safe_hdr *h = malloc(sizeof(*h) + size);

	if (!h)
		return NULL;
	h->size = size;
	(void)mlock(h, sizeof(*h) + size); /* best effort; mlockall() covers us too */
	memset(h + 1, 0, size);
	return h + 1;
}

void safe_free(void *p)
{
	struct safe_hdr *h;

	if (!p)
		return;
	h = (struct safe_hdr *)p - 1;
	explicit_bzero(p, h->size);
	(void)munlock(h, sizeof(*h) + h->size);
	free(h);
}

void safe_wipe(void *p, size_t size)
{
	if (p)
		explicit_bzero(p, size);
}

void safe_harden_process(void)
{
	(void)prctl(PR_SET_DUMPABLE, 0);
	(void)mlockall(MCL_CURRENT | MCL_FUTURE);
}
