// SPDX-License-Identifier: MIT
#include "agent/setup/runstate.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int lock_fd = -1;

const char *runstate_dir(void)
{
	const char *d = getenv("SCRATCHCRYPT_RUNTIME_DIR");

	return d && *d ? d : "/run/scratchcrypt";
}

int runstate_ensure_dir(void)
{
	if (mkdir(runstate_dir(), 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int runstate_lock(unsigned timeout_s)
{
	char path[512];
	int r = runstate_ensure_dir();

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/lock", runstate_dir());
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0)
		return -errno;
	for (unsigned waited = 0;; waited++) {
		if (flock(lock_fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK || waited >= timeout_s * 10) {
			r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
			close(lock_fd);
			lock_fd = -1;
			return r;
		}
		usleep(100 * 1000);
	}
}

void runstate_unlock(void)
{
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
}

static void state_path(char *buf, size_t size)
{
	snprintf(buf, size, "%s/state.json", runstate_dir());
}

static struct json_object *load_all(char *path, size_t size)
{
	struct json_object *all;

	state_path(path, size);
	all = json_object_from_file(path);
	if (!all || !json_object_is_type(all, json_type_object)) {
		json_object_put(all);
		all = json_object_new_object();
	}
	return all;
}

static int save_all(const char *path, struct json_object *all)
{
	char tmp[520];
	int r;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	r = json_object_to_file_ext(tmp, all, JSON_C_TO_STRING_PLAIN) < 0 ? -EIO : 0;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	return r;
}

/* The role's entry, created when missing; other fields are kept. */
static struct json_object *entry_of(struct json_object *all, enum disk_role role)
{
	struct json_object *entry;

	if (!json_object_object_get_ex(all, disk_role_to_string(role), &entry) ||
	    !json_object_is_type(entry, json_type_object)) {
		entry = json_object_new_object();
		json_object_object_add(all, disk_role_to_string(role), entry);
	}
	return entry;
}

int runstate_set(enum disk_role role, enum disk_state state, const char *note)
{
	char path[512];
	struct json_object *all, *entry;
	int r = runstate_ensure_dir();

	if (r < 0)
		return r;
	all = load_all(path, sizeof(path));
	entry = entry_of(all, role);
	json_object_object_add(entry, "state", json_object_new_string(disk_state_to_string(state)));
	json_object_object_add(entry, "note", json_object_new_string(note ? note : ""));
	json_object_object_add(entry, "time", json_object_new_int64((int64_t)time(NULL)));
	r = save_all(path, all);
	json_object_put(all);
	return r;
}

int runstate_mark(enum disk_role role, const char *what)
{
	char path[512];
	struct json_object *all;
	int r = runstate_ensure_dir();

	if (r < 0)
		return r;
	all = load_all(path, sizeof(path));
	json_object_object_add(entry_of(all, role), what, json_object_new_int64((int64_t)time(NULL)));
	r = save_all(path, all);
	json_object_put(all);
	return r;
}

long long runstate_time(enum disk_role role, const char *what)
{
	char path[512];
	struct json_object *all = load_all(path, sizeof(path)), *entry, *f;
	long long t = 0;

	if (json_object_object_get_ex(all, disk_role_to_string(role), &entry) &&
	    json_object_object_get_ex(entry, what, &f))
		t = json_object_get_int64(f);
	json_object_put(all);
	return t;
}

int runstate_get(enum disk_role role, enum disk_state *state, char *note, size_t note_size,
		 long long *when)
{
	char path[512];
	struct json_object *all, *entry, *f;
	int r = -ENOENT;

	state_path(path, sizeof(path));
	all = json_object_from_file(path);
	if (!all)
		return -ENOENT;
	if (json_object_object_get_ex(all, disk_role_to_string(role), &entry) &&
	    json_object_object_get_ex(entry, "state", &f)) {
		int s = disk_state_from_string(json_object_get_string(f));
		if (s >= 0) {
			*state = s;
			r = 0;
			if (note && json_object_object_get_ex(entry, "note", &f))
				snprintf(note, note_size, "%s", json_object_get_string(f));
			if (when && json_object_object_get_ex(entry, "time", &f))
				*when = json_object_get_int64(f);
		}
	}
	json_object_put(all);
	return r;
}
