// SPDX-License-Identifier: MIT
/* libFuzzer: scratchcrypt.conf, read as the agent reads it (from a file). */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/config.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct cfg c;
	int fd = memfd_create("scratchcrypt.conf", 0);

	fuzz_init();
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	cfg_init(&c);
	(void)cfg_load(&c, path, NULL);
	cfg_free(&c);
	close(fd);
	return 0;
}
