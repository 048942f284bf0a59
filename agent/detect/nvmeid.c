// SPDX-License-Identifier: MIT
#include "agent/detect/nvmeid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_index(const char *v, size_t n, int *out)
{
	int x = 0;

	if (n == 0 || n > 4)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EBADMSG;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return 0;
}

static void copy_value(char *dst, size_t size, const char *v, size_t n)
{
	snprintf(dst, size, "%.*s", (int)(n < size ? n : size - 1), v);
}

int nvme_vs_parse(const char *vs, size_t len, struct sys_platform_id *out)
{
	const char *end = memchr(vs, '\0', len), *p = vs;
	struct sys_platform_id id = { .index = -1 };

	if (len > 0 && vs[0] == '\0')
		return -ENODATA;
	if (!end)
		return -EBADMSG;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p)), *eq;
		const char *stop = comma ? comma : end;
		size_t klen, vlen;

		eq = memchr(p, '=', (size_t)(stop - p));
		if (!eq || eq == p)
			return -EBADMSG;
		klen = (size_t)(eq - p);
		vlen = (size_t)(stop - eq - 1);
		for (const char *c = p; c < stop; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				return -EBADMSG;
		if (klen == 4 && !memcmp(p, "type", 4))
			copy_value(id.type, sizeof(id.type), eq + 1, vlen);
		else if (klen == 5 && !memcmp(p, "index", 5) && parse_index(eq + 1, vlen, &id.index) < 0)
			return -EBADMSG;
		else if (klen == 4 && !memcmp(p, "name", 4))
			copy_value(id.name, sizeof(id.name), eq + 1, vlen);
		p = comma ? comma + 1 : end;
	}
	*out = id;
	return 0;
}

void nvme_identify(const struct sys_paths *p, struct sys_disk *d)
{
	char buf[16], *vs;
	unsigned nsid;

	memset(&d->platform, 0, sizeof(d->platform));
	d->platform.index = -1;
	if (sys_read_attrf(buf, sizeof(buf), "%s/block/%s/nsid", p->sysfs, d->name) < 0 ||
	    sscanf(buf, "%u", &nsid) != 1 || nsid == 0)
		return;
	vs = calloc(1, NVME_VS_SIZE);
	if (vs && nvme_vs_read(d->devnode, nsid, vs, NVME_VS_SIZE) == 0)
		(void)nvme_vs_parse(vs, NVME_VS_SIZE, &d->platform);
	free(vs);
}

bool nvme_is_remote(const struct sys_disk *d)
{
	return strncasecmp(d->model, "MSFT NVMe Accelerator", 21) == 0 ||
	       !strcmp(d->platform.type, "os") || !strcmp(d->platform.type, "data");
}

void nvme_local_identity(const struct sys_disk *d, char *buf, size_t size)
{
	const struct sys_platform_id *id = &d->platform;

	if (id->index >= 0)
		snprintf(buf, size, "local NVMe disk (%s, platform index %d%s%s)", d->model, id->index,
			 id->name[0] ? ", " : "", id->name);
	else
		snprintf(buf, size, "local NVMe disk (%s)", d->model);
}
