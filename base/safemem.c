// SPDX-License-Identifier: MIT
#include "base/safemem.h"

#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

/* Each buffer has pages of its own: locking and unlocking one never
 * touches another's, and its pages are kept out of core dumps. */
struct safe_hdr {
	size_t size;     /* what the caller asked for */
	size_t map_size; /* the whole mapping */
};
#define SAFE_HDR_SIZE 16 /* keeps the payload 16-byte aligned */

_Static_assert(sizeof(struct safe_hdr) <= SAFE_HDR_SIZE, "safe_hdr fits its slot");

static void *alloc_pages(size_t size, bool shared)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t map_size;
	struct safe_hdr *h;

	if (size > SIZE_MAX - SAFE_HDR_SIZE - page)
		return NULL;
	map_size = (SAFE_HDR_SIZE + size + page - 1) / page * page;
	h = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
		 (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	if (h == MAP_FAILED)
		return NULL;
	(void)madvise(h, map_size, MADV_DONTDUMP);
	if (!shared)
		(void)madvise(h, map_size, MADV_DONTFORK);
	(void)mlock(h, map_size); /* best effort: RLIMIT_MEMLOCK may say no */
	h->size = size;
	h->map_size = map_size;
	return (char *)h + SAFE_HDR_SIZE;
}

void *safe_alloc(size_t size)
{
	return alloc_pages(size, false);
}

void *safe_alloc_shared(size_t size)
{
	return alloc_pages(size, true);
}

void safe_free(void *p)
{
	struct safe_hdr *h;
	size_t map_size;

	if (!p)
		return;
	h = (struct safe_hdr *)((char *)p - SAFE_HDR_SIZE);
	map_size = h->map_size;
	explicit_bzero(p, h->size);
	(void)munlock(h, map_size);
	(void)munmap(h, map_size);
}

void safe_wipe(void *p, size_t size)
{
	if (p)
		explicit_bzero(p, size);
}

void safe_harden_process(void)
{
	static const struct rlimit no_core = { 0, 0 };

	(void)prctl(PR_SET_DUMPABLE, 0);
	(void)setrlimit(RLIMIT_CORE, &no_core);
	/* Libraries keep their own copies of what passes through them (curl's
	 * and OpenSSL's buffers, json-c's tokenizer): glibc fills every freed
	 * heap block, so none outlives its free. */
	(void)mallopt(M_PERTURB, 0x5a);
}

int safe_random(void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = getrandom((char *)buf + got, len - got, 0);

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}
