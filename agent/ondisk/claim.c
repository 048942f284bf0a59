// SPDX-License-Identifier: MIT
#include "agent/ondisk/claim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* "SCRATCHCRYPT-CLAIM-<format>\n" starts every claim (doc/ondisk-format.md);
 * the lines after it are the same in every format so far. */
#define CLAIM_PREFIX "SCRATCHCRYPT-CLAIM-"

/* The format of the claim in block, and where its lines begin: 0 when it is
 * none, or -errno. */
static int claim_format_of(const char *block, unsigned *format, const char **body)
{
	const char *p = block + strlen(CLAIM_PREFIX);
	unsigned v = 0;
	size_t digits = 0;

	if (memcmp(block, CLAIM_PREFIX, strlen(CLAIM_PREFIX)) != 0)
		return 0;
	for (; digits < 6 && p[digits] >= '0' && p[digits] <= '9'; digits++)
		v = v * 10 + (unsigned)(p[digits] - '0');
	if (!digits || p[digits] != '\n' || v == 0)
		return 0;
	*format = v;
	*body = p + digits + 1;
	return v > ONDISK_FORMAT_VERSION ? -EPROTONOSUPPORT : 1;
}

void claim_format(const struct sc_claim *c, char *block)
{
	/* Everything in the first 512 bytes: a sector is written whole even
	 * when the power fails. */
	memset(block, 0, ONDISK_CLAIM_SIZE);
	snprintf(block, 512, CLAIM_PREFIX "%u\nserial=%s\nsize=%llu\ncreated=%lld\n",
		 ONDISK_FORMAT_VERSION, c->serial, (unsigned long long)c->size, c->created);
}

int claim_parse(const char *block, struct sc_claim *c)
{
	char serial[64] = "";
	unsigned long long size;
	long long created;
	const char *p = NULL;
	unsigned format = 0;
	int r;

	memset(c, 0, sizeof(*c));
	r = claim_format_of(block, &format, &p);
	c->format = format;
	if (r <= 0)
		return r;
	if (!memchr(block, '\0', 512))
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
