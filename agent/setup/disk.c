// SPDX-License-Identifier: MIT
#include "agent/setup/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "agent/ondisk/format.h"
#include "base/log.h"
#include "base/workers.h"

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

int disk_recheck(const struct verdict *v, int *fd_out, struct reason *why)
{
	const struct sys_disk *d = &v->disk;
	struct probe_result now;
	char serial[64];
	struct stat st;
	uint64_t size;
	int fd, r;

	/* O_EXCL: no mount, mapping or other exclusive user can take the disk
	 * while this is open, and none holds it now. */
	fd = open(d->devnode, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return reason_set(why, -errno, "%s: cannot open it exclusively before the first write: %m",
				  d->devnode);
	r = -EMEDIUMTYPE;
	if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || major(st.st_rdev) != d->major ||
	    minor(st.st_rdev) != d->minor) {
		reason_set(why, r, "%s is no longer the block device %u:%u that was detected", d->devnode,
			   d->major, d->minor);
		goto out;
	}
	if (ioctl(fd, BLKGETSIZE64, &size) < 0 || size != d->size_bytes) {
		reason_set(why, r, "%s changed size since it was detected", d->devnode);
		goto out;
	}
	/* The number is the detected disk's, so its kernel name still is. */
	sys_read_serial(&sys_paths_default, d->name, serial, sizeof(serial));
	if (strcmp(serial, d->serial) != 0) {
		reason_set(why, r, "%s now reports serial '%s', not '%s'", d->devnode, serial, d->serial);
		goto out;
	}
	/* What is on it must be what detection judged, byte for byte as far
	 * as libblkid can tell. */
	if (probe_device(d->devnode, &now) < 0 || now.kind != v->probe.kind ||
	    strcmp(now.type, v->probe.type) != 0 || strcmp(now.pttype, v->probe.pttype) != 0 ||
	    now.n_parts != v->probe.n_parts || strcmp(now.label, v->probe.label) != 0) {
		reason_set(why, r, "%s changed since it was detected; left untouched", d->devnode);
		goto out;
	}
	r = 0;
	*fd_out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int disk_claim_write(const char *dev, const struct sc_claim *c)
{
	char block[ONDISK_CLAIM_SIZE];

	claim_format(c, block);
	return write_synced(dev, block, sizeof(block), ONDISK_CLAIM_OFFSET);
}

int disk_claim_clear(const char *dev)
{
	static const char zero[ONDISK_CLAIM_SIZE];

	return write_synced(dev, zero, sizeof(zero), ONDISK_CLAIM_OFFSET);
}

int disk_header_place(const char *dev, const char *hdr_file, uint64_t size)
{
	char *buf;
	ssize_t n;
	int fd, r;

	if (size > ONDISK_CLAIM_OFFSET)
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
	char *zero = calloc(1, ONDISK_CLAIM_OFFSET);
	int r;

	if (!zero)
		return -ENOMEM;
	r = write_synced(dev, zero, ONDISK_CLAIM_OFFSET, 0);
	free(zero);
	return r;
}

int disk_head_blank(const char *dev, uint64_t *at)
{
	unsigned char *buf = NULL;
	ssize_t n = 0;
	int fd, r = 1;

	fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (posix_memalign((void **)&buf, 4096, ONDISK_DATA_OFFSET) != 0) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t got = 0; got < ONDISK_DATA_OFFSET; got += (size_t)n) {
		n = pread(fd, buf + got, ONDISK_DATA_OFFSET - got, (off_t)got);
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto out;
		}
	}
	for (size_t i = 0; i < ONDISK_DATA_OFFSET && r == 1; i++)
		if (buf[i]) {
			*at = i;
			r = 0;
		}
out:
	free(buf);
	close(fd);
	return r;
}

/* In pieces, so that a long discard says how far it is every
 * WORKERS_PROGRESS_S, and ends, having done what it could, at half the
 * workers' deadline (the header is wiped before: the data is shredded
 * anyway). */
#define DISCARD_CHUNK (64ULL << 30)

int disk_discard_data(const char *dev)
{
	unsigned deadline = workers_deadline();
	time_t t0 = time(NULL), noted = t0;
	uint64_t size, range[2], at = ONDISK_DATA_OFFSET;
	int fd = open(dev, O_WRONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		r = -errno;
	while (r == 0 && at < size) {
		time_t now = time(NULL);

		if (deadline && now - t0 >= (time_t)deadline / 2) {
			log_warn("%s: discard stopped after %ld s at %llu of %llu GiB", dev, (long)(now - t0),
				 (unsigned long long)(at >> 30), (unsigned long long)(size >> 30));
			r = -ETIMEDOUT;
			break;
		}
		if (now - noted >= WORKERS_PROGRESS_S) {
			log_info("%s: discarding, %llu of %llu GiB", dev, (unsigned long long)(at >> 30),
				 (unsigned long long)(size >> 30));
			noted = now;
		}
		range[0] = at;
		range[1] = size - at < DISCARD_CHUNK ? size - at : DISCARD_CHUNK;
		if (ioctl(fd, BLKDISCARD, range) < 0)
			r = -errno;
		at += range[1];
	}
	close(fd);
	return r;
}
