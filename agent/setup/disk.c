// SPDX-License-Identifier: MIT
#include "agent/setup/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Writes len bytes at off through the page cache, then makes them durable. */
static int write_synced(const char *dev, const void *buf, size_t len, uint64_t off)
{
	int fd = open(dev, O_WRONLY | O_CLOEXEC);
	size_t done = 0;
	int r = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int disk_claim_write(const char *dev, const struct sc_claim *c)
{
	char block[TOKEN_CLAIM_SIZE];

	token_claim_format(c, block);
	return write_synced(dev, block, sizeof(block), TOKEN_CLAIM_OFFSET);
}

int disk_claim_read(const char *dev, struct sc_claim *c)
{
	char block[TOKEN_CLAIM_SIZE];
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, block, sizeof(block), TOKEN_CLAIM_OFFSET);
	close(fd);
	if (n < 0)
		return -errno;
	if (n != sizeof(block))
		return 0;
	return token_claim_parse(block, c);
}

int disk_claim_clear(const char *dev)
{
	static const char zero[TOKEN_CLAIM_SIZE];

	return write_synced(dev, zero, sizeof(zero), TOKEN_CLAIM_OFFSET);
}

int disk_header_place(const char *dev, const char *hdr_file, uint64_t size)
{
	char *buf;
	ssize_t n;
	int fd, r;

	if (size > TOKEN_CLAIM_OFFSET)
		return -EFBIG;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	fd = open(hdr_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	n = pread(fd, buf, size, 0);
	r = n < 0 ? -errno : (uint64_t)n != size ? -EIO : 0;
	close(fd);
	if (r == 0)
		r = write_synced(dev, buf, size, 0);
out:
	free(buf);
	return r;
}

int disk_header_wipe(const char *dev)
{
	char *zero = calloc(1, TOKEN_CLAIM_OFFSET);
	int r;

	if (!zero)
		return -ENOMEM;
	r = write_synced(dev, zero, TOKEN_CLAIM_OFFSET, 0);
	free(zero);
	return r;
}

int disk_discard_data(const char *dev)
{
	uint64_t size, range[2];
	int fd = open(dev, O_WRONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		r = -errno;
	else if (size > TOKEN_DATA_OFFSET) {
		range[0] = TOKEN_DATA_OFFSET;
		range[1] = size - TOKEN_DATA_OFFSET;
		if (ioctl(fd, BLKDISCARD, range) < 0)
			r = -errno;
	}
	close(fd);
	return r;
}
