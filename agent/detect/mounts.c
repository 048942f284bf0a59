// SPDX-License-Identifier: MIT
/* What is mounted and what is swap: /proc/self/mountinfo and /proc/swaps. */
#include "agent/detect/sysfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Undoes mountinfo's octal escapes (\040 for a space). */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else
			*w++ = *s;
	}
	*w = '\0';
}

int sys_read_mounts(const struct sys_paths *p, struct sys_view *v)
{
	FILE *f = fopen(p->mountinfo, "re");
	char line[4096];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct sys_mount m = { 0 }, *nm;
		char target[256], rest[2048], *sep;

		if (sscanf(line, "%*d %*d %u:%u %*s %255s %2047[^\n]", &m.major, &m.minor, target,
			   rest) != 4)
			continue;
		unescape(target);
		snprintf(m.target, sizeof(m.target), "%s", target);
		sep = strstr(rest, " - ");
		if (sep)
			sscanf(sep + 3, "%31s %255s %1023s", m.fstype, m.source, m.options);
		unescape(m.source);
		nm = realloc(v->mounts, (v->n_mounts + 1) * sizeof(*nm));
		if (!nm) {
			fclose(f);
			return -ENOMEM;
		}
		v->mounts = nm;
		v->mounts[v->n_mounts++] = m;
	}
	fclose(f);
	return 0;
}

int sys_read_swaps(const struct sys_paths *p, struct sys_view *v)
{
	FILE *f = fopen(p->swaps, "re");
	char line[1024];

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char name[256], (*ns)[256];

		if (line[0] != '/' || sscanf(line, "%255s", name) != 1)
			continue;
		unescape(name);
		ns = realloc(v->swaps, (v->n_swaps + 1) * sizeof(*ns));
		if (!ns) {
			fclose(f);
			return -ENOMEM;
		}
		v->swaps = ns;
		snprintf(v->swaps[v->n_swaps++], sizeof(v->swaps[0]), "%s", name);
	}
	fclose(f);
	return 0;
}

int sys_scan_mounts(const struct sys_paths *p, struct sys_view *v)
{
	int r;

	memset(v, 0, sizeof(*v));
	r = sys_read_mounts(p, v);
	if (r < 0)
		sys_view_free(v);
	return r;
}

void sys_view_free(struct sys_view *v)
{
	free(v->disks);
	free(v->mounts);
	free(v->swaps);
	memset(v, 0, sizeof(*v));
}
