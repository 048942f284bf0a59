/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "agent/detect/sysfs.h"

/* What an Azure NVMe controller says of a namespace in the vendor-specific
 * part of Identify Namespace (bytes 384..4095): comma-separated key=value
 * pairs ending in a NUL, "type=local,index=1,name=nvme-440G-1" on Microsoft
 * NVMe Direct Disk v2 (azure-vm-utils' doc/disk-identification.md). */
#define NVME_VS_OFFSET 384
#define NVME_VS_SIZE 3712

/* Parses len bytes of vendor-specific data into d->platform. Returns 0,
 * -ENODATA when the data starts with a NUL (the controller does not say),
 * or -EBADMSG when it is not key=value pairs with a NUL within len, or an
 * index is not a number from 0 to 9999. Pure: any bytes are safe. */
int nvme_vs_parse(const char *vs, size_t len, struct sys_platform_id *out);

/* Identify Namespace for namespace nsid of devnode, through the kernel's
 * admin-command ioctl; copies the vendor-specific bytes into buf
 * (NVME_VS_SIZE). 0 or -errno. The seam the unit tests replace. */
int nvme_vs_read(const char *devnode, unsigned nsid, char *buf, size_t size);

/* Fills d->platform for an NVMe namespace from its controller, when the
 * controller says anything; leaves it empty otherwise. */
void nvme_identify(const struct sys_paths *p, struct sys_disk *d);
/* A remote NVMe namespace: the Accelerator's model, or one its controller
 * says is an OS or a data disk. */
bool nvme_is_remote(const struct sys_disk *d);
/* "local NVMe disk (MODEL, platform index N, NAME)" for status and detect. */
void nvme_local_identity(const struct sys_disk *d, char *buf, size_t size);
