// SPDX-License-Identifier: MIT
/* The one NVMe admin command scratchcrypt sends: Identify Namespace. In a
 * file of its own, so that unit tests can replace it (-Wl,--wrap). */
#include <errno.h>
#include <fcntl.h>
#include <linux/nvme_ioctl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "agent/detect/nvmeid.h"

#define NVME_ADMIN_IDENTIFY 0x06
#define NVME_IDENTIFY_SIZE 4096

int nvme_vs_read(const char *devnode, unsigned nsid, char *buf, size_t size)
{
	struct nvme_admin_cmd cmd = { 0 };
	uint8_t *data;
	int fd, r = 0;

	if (posix_memalign((void **)&data, 4096, NVME_IDENTIFY_SIZE) != 0)
		return -ENOMEM;
	memset(data, 0, NVME_IDENTIFY_SIZE);
	fd = open(devnode, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	cmd.opcode = NVME_ADMIN_IDENTIFY;
	cmd.nsid = nsid;
	cmd.addr = (uintptr_t)data;
	cmd.data_len = NVME_IDENTIFY_SIZE;
	cmd.cdw10 = 0; /* CNS 0: the namespace */
	if (ioctl(fd, NVME_IOCTL_ADMIN_CMD, &cmd) < 0)
		r = -errno;
	else
		memcpy(buf, data + NVME_VS_OFFSET, size < NVME_VS_SIZE ? size : NVME_VS_SIZE);
	close(fd);
out:
	free(data);
	return r;
}
