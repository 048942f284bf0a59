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
#include "dm/liblog.h"

/* Every task waits for udev when udev runs, and creates /dev/mapper nodes
 * itself when it does not (early boot, the test VM). */
static struct dm_task *task_new(int type, const char *name)
{
	struct dm_task *dmt;

	dm_liblog_init();
	dmt = dm_task_create(type);

	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	/* A crypt table holds its key in hex when the keyring was not used:
	 * the kernel and libdevmapper then wipe the buffers it passed through. */
	if (type == DM_DEVICE_TABLE && !dm_task_secure_data(dmt)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

static int dev_strv(struct dm_task *dmt, struct strv *out)
{
	struct dm_deps *deps = dm_task_get_deps(dmt);
	char s[32];
	int r = 0;

	for (uint32_t i = 0; deps && r == 0 && i < deps->count; i++) {
		snprintf(s, sizeof(s), "%u:%u", major(deps->device[i]), minor(deps->device[i]));
		r = strv_push(out, s);
	}
	return r;
}

/* "striped <n> <chunk> <dev> <offset> ...": the devices, in order. */
static int striped_devices(const char *params, struct strv *out)
{
	char dev[32];
	unsigned n, k = 0;
	int used = 0, r = 0;

	if (!params || sscanf(params, "%u %*u %n", &n, &used) != 1)
		return -EBADMSG;
	params += used;
	for (; r == 0 && k < n; k++) {
		if (sscanf(params, "%31s %*u %n", dev, &used) != 1)
			return -EBADMSG;
		params += used;
		r = strv_push(out, dev);
	}
	return r;
}

int dm_query(const char *name, struct dm_state *st, struct strv *devices)
{
	struct dm_task *dmt;
	struct dm_info info;
	uint64_t start, length;
	char *type = NULL, *params;
	int r;

	memset(st, 0, sizeof(*st));
	dmt = task_new(DM_DEVICE_INFO, name);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt) || !dm_task_get_info(dmt, &info)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	if (info.exists)
		snprintf(st->uuid, sizeof(st->uuid), "%s", dm_task_get_uuid(dmt) ?: "");
	dm_task_destroy(dmt);
	if (!info.exists)
		return 0;
	st->exists = true;
	st->major = (unsigned)info.major;
	st->minor = (unsigned)info.minor;
	st->live_table = info.live_table;
	st->inactive_table = info.inactive_table;
	st->suspended = info.suspended;
	st->deferred_remove = info.deferred_remove;
	st->open_count = info.open_count;
	if (!info.live_table)
		return 0;
	dmt = task_new(DM_DEVICE_TABLE, name);
	if (!dmt)
		return -ENOMEM;
	r = 0;
	if (dm_task_run(dmt)) {
		void *next = NULL;

		do {
			next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
			if (!st->target[0])
				snprintf(st->target, sizeof(st->target), "%s", type ?: "");
			st->sectors += length;
			/* A stripe's devices in its table's order, which is the
			 * data's layout (a crypt table's parameters hold a key:
			 * they are never read here). */
			if (devices && r == 0 && type && strcmp(type, "striped") == 0)
				r = striped_devices(params, devices);
		} while (next);
	}
	dm_task_destroy(dmt);
	if (!devices || r < 0 || strcmp(st->target, "striped") == 0)
		return r;
	dmt = task_new(DM_DEVICE_DEPS, name);
	if (!dmt)
		return -ENOMEM;
	r = dm_task_run(dmt) ? dev_strv(dmt, devices) : -EIO;
	dm_task_destroy(dmt);
	return r;
}

/* Runs a task that changes a mapping, waiting for udev where it runs. */
static int task_run_cookie(struct dm_task *dmt)
{
	uint32_t cookie = 0;
	int r = 0;

	if (!dm_task_set_cookie(dmt, &cookie, 0) || !dm_task_run(dmt))
		r = dm_task_get_errno(dmt) ? -dm_task_get_errno(dmt) : -EIO;
	(void)dm_udev_wait(cookie);
	return r;
}

int dm_create_empty(const char *name, const char *uuid)
{
	struct dm_task *dmt = task_new(DM_DEVICE_CREATE, name);
	int r;

	if (!dmt)
		return -ENOMEM;
	/* No udev cookie: the kernel sends no event for a mapping without a
	 * table, so a wait for one would never end. The resume waits. */
	if (!dm_task_set_uuid(dmt, uuid))
		r = -ENOMEM;
	else
		r = dm_task_run(dmt) ? 0 : dm_task_get_errno(dmt) ? -dm_task_get_errno(dmt) : -EIO;
	dm_task_destroy(dmt);
	return r;
}

int dm_load_stripe(const char *name, const struct strv *members, uint64_t chunk_sectors,
		   uint64_t member_sectors)
{
	uint64_t per = member_sectors - member_sectors % chunk_sectors;
	struct dm_task *dmt;
	char *params;
	size_t len = 64;
	int off, r = 0;

	if (members->n < 2 || per == 0)
		return -EINVAL;
	for (size_t i = 0; i < members->n; i++)
		len += strlen(members->v[i]) + 4;
	params = malloc(len);
	if (!params)
		return -ENOMEM;
	off = snprintf(params, len, "%zu %" PRIu64, members->n, chunk_sectors);
	for (size_t i = 0; i < members->n; i++)
		off += snprintf(params + off, len - (size_t)off, " %s 0", members->v[i]);
	dmt = task_new(DM_DEVICE_RELOAD, name);
	if (!dmt)
		r = -ENOMEM;
	else if (!dm_task_add_target(dmt, 0, per * members->n, "striped", params) ||
		 !dm_task_run(dmt))
		r = dm_task_get_errno(dmt) ? -dm_task_get_errno(dmt) : -EIO;
	if (dmt)
		dm_task_destroy(dmt);
	free(params);
	return r;
}

int dm_resume(const char *name)
{
	struct dm_task *dmt = task_new(DM_DEVICE_RESUME, name);
	int r;

	if (!dmt)
		return -ENOMEM;
	r = task_run_cookie(dmt);
	dm_task_destroy(dmt);
	return r;
}

int dm_remove(const char *name, bool deferred)
{
	struct dm_state st;
	struct dm_task *dmt;
	int r = dm_query(name, &st, NULL);

	if (r < 0 || !st.exists)
		return r;
	dmt = task_new(DM_DEVICE_REMOVE, name);
	if (!dmt)
		return -ENOMEM;
	if (deferred)
		(void)dm_task_deferred_remove(dmt);
	r = task_run_cookie(dmt);
	dm_task_destroy(dmt);
	return r == -EIO ? -EBUSY : r;
}

int dm_available(void)
{
	char version[64];

	dm_liblog_init();
	return dm_driver_version(version, sizeof(version)) ? 0 : -ENXIO;
}

int dm_crypt_key_in_keyring(const char *name)
{
	struct dm_task *dmt = task_new(DM_DEVICE_TABLE, name);
	uint64_t start, length;
	char *type = NULL, *params = NULL;
	const char *key;
	int r = -ENODEV;

	if (!dmt)
		return -ENOMEM;
	if (dm_task_run(dmt)) {
		(void)dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
		/* "<cipher> <key> <iv_offset> <device> <offset> ...": only the
		 * key's first character is looked at. */
		key = params ? strchr(params, ' ') : NULL;
		if (type && strcmp(type, "crypt") == 0 && key)
			r = key[1] == ':';
	}
	dm_task_destroy(dmt);
	return r;
}

int dm_target_available(const char *target)
{
	struct dm_task *dmt = task_new(DM_DEVICE_LIST_VERSIONS, NULL);
	struct dm_versions *v, *last;
	int r = 0;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	v = dm_task_get_versions(dmt);
	do {
		last = v;
		if (v && strcmp(v->name, target) == 0)
			r = 1;
		v = v ? (struct dm_versions *)((char *)v + v->next) : NULL;
	} while (v && last != v && r == 0);
	dm_task_destroy(dmt);
	return r;
}

int dm_list(const char *prefix, struct strv *names)
{
	struct dm_task *dmt = task_new(DM_DEVICE_LIST, NULL);
	struct dm_names *node;
	unsigned next = 0;
	int r = 0;

	memset(names, 0, sizeof(*names));
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
				r = strv_push(names, node->name);
			next = node->next;
		} while (r == 0 && next);
	}
	dm_task_destroy(dmt);
	if (r < 0)
		strv_free(names);
	return r;
}

int dm_table(const char *name, char *buf, size_t size)
{
	struct dm_task *dmt = task_new(DM_DEVICE_TABLE, name);
	uint64_t start, length;
	char *type, *params;
	void *next = NULL;
	size_t off = 0;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -ENODEV;
	}
	buf[0] = '\0';
	do {
		next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
		if (type && off < size)
			off += (size_t)snprintf(buf + off, size - off, "%s%" PRIu64 " %" PRIu64 " %s %s",
						off ? "\n" : "", start, length, type, params ?: "");
	} while (next);
	dm_task_destroy(dmt);
	return 0;
}
