// SPDX-License-Identifier: MIT
#include "agent/setup/owed.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/ondisk/names.h"
#include "agent/setup/runstate.h"
#include "base/strv.h"
#include "dm/dm.h"

static void owed_path(char *buf, size_t size, const char *uuid)
{
	snprintf(buf, size, "%s/owed/%s", runstate_state_dir(), uuid);
}

/* "CRYPT-LUKS2-<32 hex>-<name>" -> "8-4-4-4-12". */
static int uuid_of_mapping(const char *dm_uuid, char *out, size_t size)
{
	const char *h = dm_uuid + strlen("CRYPT-LUKS2-");

	if (strncmp(dm_uuid, "CRYPT-LUKS2-", 12) != 0 || strlen(h) < 33 || h[32] != '-' || size < 37)
		return -EINVAL;
	for (int i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)h[i]))
			return -EINVAL;
	snprintf(out, size, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
	return 0;
}

/* Whether the block device MAJ:MIN is still there. */
static bool device_present(const struct sys_paths *p, const char *devt)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/dev/block/%s", p->sysfs, devt);
	return access(path, F_OK) == 0;
}

int owed_lost_members(const struct sys_paths *p, struct lost_member *out, size_t max)
{
	struct strv maps = { 0 };
	size_t n = 0;
	int r = dm_list(DM_MAPPING_PREFIX, &maps);

	for (size_t i = 0; r >= 0 && i < maps.n && n < max; i++) {
		struct strv devs = { 0 };
		struct dm_state st;
		struct lost_member *m = &out[n];

		if (dm_query(maps.v[i], &st, &devs) == 0 && strcmp(st.target, "crypt") == 0 &&
		    devs.n == 1 && !device_present(p, devs.v[0])) {
			memset(m, 0, sizeof(*m));
			snprintf(m->mapping, sizeof(m->mapping), "%s", maps.v[i]);
			snprintf(m->device, sizeof(m->device), "%s", devs.v[0]);
			(void)uuid_of_mapping(st.uuid, m->luks_uuid, sizeof(m->luks_uuid));
			r = ondisk_mapping_role(maps.v[i]);
			m->role = r < 0 ? ROLE_UNKNOWN : (enum disk_role)r;
			r = 0;
			n++;
		}
		strv_free(&devs);
	}
	strv_free(&maps);
	return r < 0 ? r : (int)n;
}

int owed_record(const struct lost_member *m)
{
	char path[600];
	struct json_object *o;
	int r;

	if (!m->luks_uuid[0])
		return -EINVAL;
	r = runstate_state_mkdir("owed");
	if (r < 0)
		return r;
	owed_path(path, sizeof(path), m->luks_uuid);
	o = json_object_new_object();
	json_object_object_add(o, "luks_uuid", json_object_new_string(m->luks_uuid));
	json_object_object_add(o, "role", json_object_new_string(disk_role_to_string(m->role)));
	json_object_object_add(o, "mapping", json_object_new_string(m->mapping));
	json_object_object_add(o, "device", json_object_new_string(m->device));
	json_object_object_add(o, "since", json_object_new_int64(m->since ? m->since : (long long)time(NULL)));
	r = runstate_write_json(path, o);
	json_object_put(o);
	return r;
}

static void copy_string(struct json_object *o, const char *key, char *dst, size_t size)
{
	struct json_object *f;
	const char *s;

	if (json_object_object_get_ex(o, key, &f) && (s = json_object_get_string(f)))
		snprintf(dst, size, "%s", s);
}

static int read_record(const char *path, struct lost_member *m)
{
	struct json_object *o = json_object_from_file(path), *f;
	int role;

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	memset(m, 0, sizeof(*m));
	copy_string(o, "luks_uuid", m->luks_uuid, sizeof(m->luks_uuid));
	copy_string(o, "mapping", m->mapping, sizeof(m->mapping));
	copy_string(o, "device", m->device, sizeof(m->device));
	role = json_object_object_get_ex(o, "role", &f) ? disk_role_from_string(json_object_get_string(f)) : -1;
	m->role = role < 0 ? ROLE_UNKNOWN : (enum disk_role)role;
	if (json_object_object_get_ex(o, "since", &f))
		m->since = json_object_get_int64(f);
	json_object_put(o);
	return m->luks_uuid[0] ? 0 : -EBADMSG;
}

int owed_list(struct lost_member *out, size_t max)
{
	char dir[560], path[900];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/owed", runstate_state_dir());
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.' || strchr(e->d_name, '.'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (read_record(path, &out[n]) == 0)
			n++;
	}
	closedir(d);
	return (int)n;
}

int owed_match(const char *dev, struct lost_member *m)
{
	char uuid[40], path[600];

	if (dm_luks_uuid(dev, uuid, sizeof(uuid)) < 0)
		return 0;
	owed_path(path, sizeof(path), uuid);
	return access(path, F_OK) == 0 && read_record(path, m) == 0 ? 1 : 0;
}

int owed_clear(const char *luks_uuid)
{
	char path[600];

	owed_path(path, sizeof(path), luks_uuid);
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static void stop_path(char *buf, size_t size)
{
	snprintf(buf, size, "%s/stop-unfinished", runstate_state_dir());
}

int owed_stop_begin(const bool roles[_DISK_ROLE_MAX])
{
	bool before[_DISK_ROLE_MAX];
	struct json_object *o, *a;
	long long since = 0;
	char path[600];
	int r = runstate_state_mkdir(NULL);

	if (r < 0)
		return r;
	/* A stop again after one that did not finish: the first one's time. */
	if (owed_stop_pending(&since, before) != 1 || since <= 0)
		since = (long long)time(NULL);
	stop_path(path, sizeof(path));
	o = json_object_new_object();
	a = json_object_new_array();
	for (int role = 0; role < _DISK_ROLE_MAX; role++)
		if (roles[role])
			json_object_array_add(a, json_object_new_string(disk_role_to_string(role)));
	json_object_object_add(o, "since", json_object_new_int64(since));
	json_object_object_add(o, "roles", a);
	r = runstate_write_json(path, o);
	json_object_put(o);
	return r;
}

int owed_stop_end(void)
{
	char path[600];

	stop_path(path, sizeof(path));
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int owed_stop_pending(long long *since, bool roles[_DISK_ROLE_MAX])
{
	struct json_object *o, *f;
	char path[600];

	stop_path(path, sizeof(path));
	if (access(path, F_OK) < 0)
		return 0;
	*since = 0;
	for (int role = 0; role < _DISK_ROLE_MAX; role++)
		roles[role] = false;
	o = json_object_from_file(path);
	/* Unreadable, it still says a stop did not finish: every role then. */
	if (!o || !json_object_object_get_ex(o, "roles", &f) || !json_object_is_type(f, json_type_array)) {
		for (int role = ROLE_TEMP; role <= ROLE_SCRATCH; role++)
			roles[role] = true;
	} else {
		for (size_t i = 0; i < json_object_array_length(f); i++) {
			int role = disk_role_from_string(json_object_get_string(json_object_array_get_idx(f, i)));

			if (role >= 0 && role < _DISK_ROLE_MAX)
				roles[role] = true;
		}
	}
	if (o && json_object_object_get_ex(o, "since", &f))
		*since = json_object_get_int64(f);
	json_object_put(o);
	return 1;
}
