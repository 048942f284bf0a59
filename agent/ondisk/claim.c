// SPDX-License-Identifier: MIT
#include "agent/ondisk/claim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Version 1 of the claim; a claim of another version is not one this
 * release knows (doc/ondisk-format.md). */
#define CLAIM_MAGIC "SCRATCHCRYPT-CLAIM-1\n"

void claim_format(const struct sc_claim *c, char *block)
{
	/* Everything in the first 512 bytes: a sector is written whole even
	 * when the power fails. */
	memset(block, 0, ONDISK_CLAIM_SIZE);
	snprintf(block, 512, CLAIM_MAGIC "serial=%s\nsize=%llu\ncreated=%lld\n", c->serial,
		 (unsigned long long)c->size, c->created);
}

int claim_parse(const char *block, struct sc_claim *c)
{
	char serial[64] = "";
	unsigned long long size;
	long long created;
	const char *p = block + strlen(CLAIM_MAGIC);

	memset(c, 0, sizeof(*c));
	if (memcmp(block, CLAIM_MAGIC, strlen(CLAIM_MAGIC)) != 0 || !memchr(block, '\0', 512))
		return 0;
	if (strncmp(p, "serial=", 7) != 0)
		return 0;
	p += 7;
	for (size_t i = 0; *p && *p != '\n' && i < sizeof(serial) - 1; i++)
		serial[i] = *p++;
	if (sscanf(p, "\nsize=%llu\ncreated=%lld\n", &size, &created) != 2)
		return 0;
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	c->size = size;
	c->created = created;
	return 1;
}

int claim_read(const char *dev, struct sc_claim *c)
{
	char block[ONDISK_CLAIM_SIZE];
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	memset(c, 0, sizeof(*c));
	if (fd < 0)
		return -errno;
	n = pread(fd, block, sizeof(block), ONDISK_CLAIM_OFFSET);
	close(fd);
	if (n < 0)
		return -errno;
	if (n != sizeof(block))
		return 0;
	return claim_parse(block, c);
}
