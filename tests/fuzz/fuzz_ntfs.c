// SPDX-License-Identifier: MIT
/* libFuzzer: the resource disk's NTFS, as libntfs-3g parses it for the
 * listing of its root (agent/detect/ntfs.c), in this process. The input
 * replaces the MFT of a small NTFS volume as mkntfs makes it (NTFS_TEMPLATE,
 * made at build time, tests/fuzz/CMakeLists.txt): the records, attributes
 * and the root's index that the listing walks. The volume is a memfd. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/detect/ntfs.h"
#include "tests/fuzz/fuzz.h"

static unsigned char *tmpl;
static size_t tmpl_len, mft_off;
static int fd = -1;
static char path[64];

static void load_template(void)
{
	FILE *f = fopen(NTFS_TEMPLATE, "rb");
	static unsigned char buf[4 << 20];

	if (!f)
		abort();
	tmpl_len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	tmpl = buf;
	/* The boot sector: bytes per sector, sectors per cluster, $MFT's LCN. */
	uint64_t lcn = 0;
	for (int i = 7; i >= 0; i--)
		lcn = lcn << 8 | tmpl[0x30 + i];
	mft_off = (size_t)lcn * (size_t)(tmpl[0x0b] | tmpl[0x0c] << 8) * tmpl[0x0d];
	if (tmpl_len < 4096 || mft_off >= tmpl_len)
		abort();
	fd = memfd_create("ntfs", 0);
	if (fd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **names = NULL;
	size_t n = 0;

	fuzz_init();
	if (!tmpl)
		load_template();
	if (size > tmpl_len - mft_off)
		size = tmpl_len - mft_off;
	if (pwrite(fd, tmpl, tmpl_len, 0) != (ssize_t)tmpl_len ||
	    pwrite(fd, data, size, (off_t)mft_off) != (ssize_t)size)
		abort();
	if (ntfs_list_root_here(path, &names, &n) == 0) {
		if (n > NTFS_MAX_NAMES)
			abort();
		ntfs_names_free(names, n);
	}
	return 0;
}
