// SPDX-License-Identifier: MIT
#include "agent/setup/runstate.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

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

const char *runstate_state_dir(void)
{
	const char *d = getenv("SCRATCHCRYPT_STATE_DIR");

	return d && *d ? d : "/var/lib/scratchcrypt";
}

int runstate_state_mkdir(const char *sub)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/", runstate_state_dir());
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	snprintf(path, sizeof(path), "%s/%s", runstate_state_dir(), sub ? sub : "");
	if (sub && mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int runstate_write_json(const char *path, struct json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char tmp[1024], dir[1024];
	const char *slash = strrchr(path, '/');
	int fd, r = 0;

	if (!text || !slash || (size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= sizeof(tmp))
		return -EINVAL;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	/* The rename itself is on the disk too. */
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}

/* The lock file says who holds it: "PID COMMAND\n". */
static void record_holder(const char *command)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "%ld %s\n", (long)getpid(), command);

	if (ftruncate(lock_fd, 0) == 0)
		(void)!pwrite(lock_fd, line, (size_t)n, 0);
}

static int lock_open(void)
{
	char path[512];
	int r = runstate_ensure_dir();

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/lock", runstate_dir());
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	return lock_fd < 0 ? -errno : 0;
}

int runstate_lock(const char *command, unsigned timeout_s)
{
	int r = lock_open();

	if (r < 0)
		return r;
	for (unsigned waited = 0;; waited++) {
		if (flock(lock_fd, LOCK_EX | LOCK_NB) == 0) {
			record_holder(command);
			return 0;
		}
		if (errno != EWOULDBLOCK || waited >= timeout_s * 10) {
			r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
			close(lock_fd);
			lock_fd = -1;
			return r;
		}
		usleep(100 * 1000);
	}
}

int runstate_lock_holder(pid_t *pid, char *command, size_t size)
{
	char path[512], line[96] = "";
	long p = 0;
	int fd, n;

	snprintf(path, sizeof(path), "%s/lock", runstate_dir());
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = (int)read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0 || sscanf(line, "%ld %31s", &p, command) != 2 || p <= 1 || size < 32)
		return -ENOENT;
	*pid = (pid_t)p;
	return 0;
}

/* Whether pid runs scratchcrypt still: a holder's line is read while it
 * may be going, and its pid reused. By its executable (its comm may be
 * "exe", after main's re-exec). */
static bool is_scratchcrypt(pid_t pid)
{
	char path[64], exe[512];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	return strncmp(base, "scratchcrypt", 12) == 0 && (base[12] == '\0' || base[12] == ' ');
}

int runstate_lock_preempt(const char *command, unsigned timeout_s)
{
	char holder[32];
	pid_t pid;
	int r = runstate_lock(command, 0);

	if (r != -EAGAIN)
		return r;
	if (runstate_lock_holder(&pid, holder, sizeof(holder)) == 0 && is_scratchcrypt(pid) &&
	    (strcmp(holder, "start") == 0 || strcmp(holder, "rewrap") == 0 ||
	     strcmp(holder, "adopt") == 0)) {
		/* A start killed at any step converges (the crash tests), and
		 * stop finishes what it left; its workers die with it
		 * (PR_SET_PDEATHSIG), its mkfs with its process group. */
		log_warn("%s cannot wait for the running %s (pid %ld): stopping it", command, holder,
			 (long)pid);
		pid_t target = getpgid(pid) == pid ? -pid : pid;

		(void)kill(target, SIGTERM);
		(void)kill(target, SIGCONT); /* a stopped start gets it too */
	}
	return runstate_lock(command, timeout_s);
}

void runstate_unlock(void)
{
	if (lock_fd >= 0 && ftruncate(lock_fd, 0) < 0)
		log_debug("cannot clear the lock's holder: %m");
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
