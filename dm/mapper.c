// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "dm/dm.h"

/* libdevmapper prints its errors by default; keep the last one for the
 * caller instead (dm_last_error() in crypt.c reads libcryptsetup's). */
static void dm_log_cb(int level, const char *file, int line, int dm_errno_or_class,
		      const char *f, ...)
{
	(void)level;
	(void)file;
	(void)line;
	(void)dm_errno_or_class;
	(void)f;
}

static void dm_log_init_quiet(void)
{
	dm_log_with_errno_init(dm_log_cb);
}

static void quiet_once(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, dm_log_init_quiet);
}

/* Every task waits for udev when udev runs, and creates /dev/mapper nodes
 * itself when it does not (early boot, the test VM). */
static struct dm_task *task_new(int type, const char *name)
{
	struct dm_task *dmt;

	quiet_once();
	dmt = dm_task_create(type);

	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

/* Runs a task of `type` on an existing mapping; -ENODEV when it does not exist. */
static int task_run_info(int type, const char *name, struct dm_task **out)
{
	struct dm_task *dmt;
	struct dm_info info;

	/* DM_DEVICE_INFO succeeds for a missing name and says so in info. */
	dmt = task_new(DM_DEVICE_INFO, name);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt) || !dm_task_get_info(dmt, &info)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	dm_task_destroy(dmt);
	if (!info.exists)
		return -ENODEV;
	if (type == DM_DEVICE_INFO) {
		*out = NULL;
		return 0;
	}
	dmt = task_new(type, name);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	*out = dmt;
	return 0;
}

int dm_exists(const char *name)
{
	struct dm_task *dmt;
	int r = task_run_info(DM_DEVICE_INFO, name, &dmt);

	if (r == -ENODEV)
		return 0;
	return r < 0 ? r : 1;
}

int dm_stripe_create(const char *name, const char *const *members, size_t n,
		     uint64_t chunk_sectors, uint64_t member_sectors)
{
	struct dm_task *dmt;
	uint32_t cookie = 0;
	char *params;
	size_t len = 64;
	uint64_t per = member_sectors - member_sectors % chunk_sectors;
	int r = 0;

	if (n < 2 || per == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		len += strlen(members[i]) + 4;
	params = malloc(len);
	if (!params)
		return -ENOMEM;
	int off = snprintf(params, len, "%zu %" PRIu64, n, chunk_sectors);
	for (size_t i = 0; i < n; i++)
		off += snprintf(params + off, len - off, " %s 0", members[i]);

	dmt = task_new(DM_DEVICE_CREATE, name);
	if (!dmt) {
		free(params);
		return -ENOMEM;
	}
	char uuid[128];
	snprintf(uuid, sizeof(uuid), "SCRATCHCRYPT-STRIPE-%s", name);
	if (!dm_task_set_uuid(dmt, uuid) ||
	    !dm_task_add_target(dmt, 0, per * n, "striped", params) ||
	    !dm_task_set_cookie(dmt, &cookie, 0) || !dm_task_run(dmt))
		r = -EIO;
	(void)dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	free(params);
	return r;
}

int dm_remove(const char *name, bool deferred)
{
	struct dm_task *dmt;
	uint32_t cookie = 0;
	int r;

	r = dm_exists(name);
	if (r <= 0)
		return r;
	dmt = task_new(DM_DEVICE_REMOVE, name);
	if (!dmt)
		return -ENOMEM;
	if (deferred)
		(void)dm_task_deferred_remove(dmt);
	r = 0;
	if (!dm_task_set_cookie(dmt, &cookie, 0) || !dm_task_run(dmt))
		r = dm_task_get_errno(dmt) ? -dm_task_get_errno(dmt) : -EBUSY;
	(void)dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	return r;
}

void dm_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

int dm_list(const char *prefix, char ***names, size_t *n)
{
	struct dm_task *dmt = task_new(DM_DEVICE_LIST, NULL);
	struct dm_names *node;
	unsigned next = 0;
	int r = 0;

	*names = NULL;
	*n = 0;
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	node = dm_task_get_names(dmt);
	if (node && node->dev) {
		do {
			node = (struct dm_names *)((char *)node + next);
			if (strncmp(node->name, prefix, strlen(prefix)) == 0)
				r = strv_push(names, n, node->name);
			next = node->next;
		} while (r == 0 && next);
	}
	dm_task_destroy(dmt);
	if (r < 0) {
		dm_strv_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return r;
}

int dm_table(const char *name, char *buf, size_t size)
{
	struct dm_task *dmt;
	uint64_t start, length;
	char *type, *params;
	void *next = NULL;
	size_t off = 0;
	int r = task_run_info(DM_DEVICE_TABLE, name, &dmt);

	if (r < 0)
		return r;
	buf[0] = '\0';
	do {
		next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
		if (type && off < size)
			off += snprintf(buf + off, size - off, "%s%" PRIu64 " %" PRIu64 " %s %s",
					off ? "\n" : "", start, length, type, params ?: "");
	} while (next);
	dm_task_destroy(dmt);
	return 0;
}

int dm_target_type(const char *name, char *type_out, size_t size)
{
	struct dm_task *dmt;
	uint64_t start, length;
	char *type = NULL, *params;
	int r = task_run_info(DM_DEVICE_TABLE, name, &dmt);

	if (r < 0)
		return r;
	(void)dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
	snprintf(type_out, size, "%s", type ?: "");
	dm_task_destroy(dmt);
	return 0;
}

int dm_deps(const char *name, char ***devs, size_t *n)
{
	struct dm_task *dmt = task_new(DM_DEVICE_DEPS, name);
	struct dm_deps *deps;
	int r = 0;

	*devs = NULL;
	*n = 0;
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt) || !(deps = dm_task_get_deps(dmt))) {
		dm_task_destroy(dmt);
		return -ENODEV;
	}
	for (uint32_t i = 0; r == 0 && i < deps->count; i++) {
		char s[32];
		snprintf(s, sizeof(s), "%u:%u", major(deps->device[i]),
			 minor(deps->device[i]));
		r = strv_push(devs, n, s);
	}
	dm_task_destroy(dmt);
	return r;
}
