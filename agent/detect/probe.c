// SPDX-License-Identifier: MIT
#include "agent/detect/probe.h"

#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void lookup(blkid_probe pr, const char *name, char *out, size_t size)
{
	const char *v = NULL;

	out[0] = '\0';
	if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v)
		snprintf(out, size, "%s", v);
}

static int head_is_zero(int fd)
{
	static const size_t chunk = 64 * 1024;
	unsigned char *buf = malloc(chunk);
	int r = 1;

	if (!buf)
		return -ENOMEM;
	for (size_t off = 0; r == 1 && off < PROBE_HEAD_BYTES; off += chunk) {
		ssize_t n = pread(fd, buf, chunk, (off_t)off);

		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		/* Zero when each byte equals the next and the first is 0:
		 * memcmp's vector loop, not one byte at a time. */
		if (buf[0] || memcmp(buf, buf + 1, (size_t)n - 1) != 0)
			r = 0;
	}
	free(buf);
	return r;
}

static void probe_partition(int fd, struct probe_part *part)
{
	blkid_probe pr = blkid_new_probe();

	part->type[0] = part->label[0] = '\0';
	if (!pr)
		return;
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)part->start, (blkid_loff_t)part->size) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL);
		if (blkid_do_safeprobe(pr) == 0) {
			lookup(pr, "TYPE", part->type, sizeof(part->type));
			lookup(pr, "LABEL", part->label, sizeof(part->label));
		}
	}
	blkid_free_probe(pr);
}

static void probe_partitions(blkid_probe pr, int fd, struct probe_result *out)
{
	blkid_partlist pl = blkid_probe_get_partitions(pr);

	if (pl) {
		int np = blkid_partlist_numof_partitions(pl);

		for (int i = 0; i < np && out->n_parts < PROBE_MAX_PARTS; i++) {
			blkid_partition p = blkid_partlist_get_partition(pl, i);
			struct probe_part *pp = &out->parts[out->n_parts++];

			pp->partno = (unsigned)blkid_partition_get_partno(p);
			pp->start = (uint64_t)blkid_partition_get_start(p) * 512;
			pp->size = (uint64_t)blkid_partition_get_size(p) * 512;
			probe_partition(fd, pp);
		}
		if (np > PROBE_MAX_PARTS)
			out->n_parts = (size_t)np; /* counted, not all described */
	}
}

int probe_device(const char *devnode, struct probe_result *out)
{
	blkid_probe pr;
	int fd, r;

	memset(out, 0, sizeof(*out));
	fd = open(devnode, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	pr = blkid_new_probe();
	if (!pr) {
		close(fd);
		return -ENOMEM;
	}
	r = blkid_probe_set_device(pr, fd, 0, 0);
	if (r < 0) {
		r = -EIO;
		goto out;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL |
					      BLKID_SUBLKS_USAGE | BLKID_SUBLKS_VERSION);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);

	r = blkid_do_safeprobe(pr);
	if (r == -2) {
		out->kind = PROBE_AMBIVALENT;
		r = 0;
		goto out;
	}
	if (r < 0) {
		r = -EIO;
		goto out;
	}
	if (r == 1) {
		r = head_is_zero(fd);
		if (r >= 0) {
			out->kind = r ? PROBE_BLANK : PROBE_NONZERO;
			r = 0;
		}
		goto out;
	}
	r = 0;
	lookup(pr, "TYPE", out->type, sizeof(out->type));
	lookup(pr, "USAGE", out->usage, sizeof(out->usage));
	lookup(pr, "LABEL", out->label, sizeof(out->label));
	lookup(pr, "SUBSYSTEM", out->subsystem, sizeof(out->subsystem));
	lookup(pr, "VERSION", out->version, sizeof(out->version));
	lookup(pr, "PTTYPE", out->pttype, sizeof(out->pttype));
	out->kind = out->type[0] ? PROBE_SIGNATURE : PROBE_PTABLE;

	if (out->pttype[0])
		probe_partitions(pr, fd, out);
out:
	blkid_free_probe(pr);
	close(fd);
	return r;
}

void probe_describe(const struct probe_result *p, char *buf, size_t size)
{
	switch (p->kind) {
	case PROBE_BLANK:
		snprintf(buf, size, "blank");
		break;
	case PROBE_NONZERO:
		snprintf(buf, size, "data without a known signature in its first MiB");
		break;
	case PROBE_AMBIVALENT:
		snprintf(buf, size, "several conflicting signatures");
		break;
	case PROBE_UNREAD:
		snprintf(buf, size, "not read");
		break;
	case PROBE_FAILED:
		snprintf(buf, size, "a disk that cannot be read (%s)", strerror(p->error));
		break;
	case PROBE_SIGNATURE:
		if (p->label[0])
			snprintf(buf, size, "the signature of %s (%s, label '%s')", p->type,
				 p->usage[0] ? p->usage : "other", p->label);
		else
			snprintf(buf, size, "the signature of %s (%s)", p->type,
				 p->usage[0] ? p->usage : "other");
		break;
	case PROBE_PTABLE: {
		size_t n = p->n_parts < PROBE_MAX_PARTS ? p->n_parts : PROBE_MAX_PARTS;
		int off = snprintf(buf, size, "a %s partition table with %zu partition%s", p->pttype,
				   p->n_parts, p->n_parts == 1 ? "" : "s");
		for (size_t i = 0; i < n && off > 0 && (size_t)off < size; i++)
			off += snprintf(buf + off, size - off, "%s%u: %s%s%s%s", i ? ", " : " (",
					p->parts[i].partno,
					p->parts[i].type[0] ? p->parts[i].type : "no signature",
					p->parts[i].label[0] ? " '" : "", p->parts[i].label,
					p->parts[i].label[0] ? "'" : "");
		if (n && off > 0 && (size_t)off < size)
			snprintf(buf + off, size - off, ")");
		break;
	}
	}
}
