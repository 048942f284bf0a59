// SPDX-License-Identifier: MIT
#include "agent/setup/shredrec.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/setup/runstate.h"

static const char *const discard_names[] = {
	[SHRED_DISCARD_OFF] = "off",
	[SHRED_DISCARD_DONE] = "discarded",
	[SHRED_DISCARD_UNSUPPORTED] = "unsupported",
	[SHRED_DISCARD_FAILED] = "failed",
};

const char *shred_discard_to_string(enum shred_discard d)
{
	return d <= SHRED_DISCARD_FAILED ? discard_names[d] : "?";
}

static int discard_from_string(const char *s)
{
	for (int i = 0; s && i <= SHRED_DISCARD_FAILED; i++)
		if (strcmp(s, discard_names[i]) == 0)
			return i;
	return -EINVAL;
}

const char *shredrec_dir(void)
{
	static char dir[512];

	snprintf(dir, sizeof(dir), "%s/shred", runstate_state_dir());
	return dir;
}

static int ensure_dirs(void)
{
	return runstate_state_mkdir("shred");
}

/* A file name from the serial: what a disk's serial says is input. */
static void file_name(const struct shred_rec *r, char *buf, size_t size)
{
	const char *id = r->serial[0] ? r->serial : r->device;
	const char *slash = strrchr(id, '/');
	size_t n = 0;

	for (const char *p = slash ? slash + 1 : id; *p && n + 6 < size; p++, n++)
		buf[n] = (isalnum((unsigned char)*p) || *p == '-' || *p == '.') && !(n == 0 && *p == '.')
			 ? *p : '_';
	snprintf(buf + n, size - n, ".json");
}

static struct json_object *to_json(const struct shred_rec *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "serial", json_object_new_string(r->serial));
	json_object_object_add(o, "device", json_object_new_string(r->device));
	json_object_object_add(o, "role", json_object_new_string(disk_role_to_string(r->role)));
	json_object_object_add(o, "time", json_object_new_int64(r->time));
	json_object_object_add(o, "wiped_bytes", json_object_new_int64((int64_t)r->wiped_bytes));
	json_object_object_add(o, "verified", json_object_new_boolean(r->verified));
	json_object_object_add(o, "discard", json_object_new_string(shred_discard_to_string(r->discard)));
	return o;
}

int shredrec_write(const struct shred_rec *r)
{
	char name[96], path[700];
	struct json_object *o;
	int ret = ensure_dirs();

	if (ret < 0)
		return ret;
	file_name(r, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", shredrec_dir(), name);
	o = to_json(r);
	ret = runstate_write_json(path, o);
	json_object_put(o);
	return ret;
}

static bool from_json(const char *text, struct shred_rec *r)
{
	struct json_object *o = json_tokener_parse(text), *f;
	bool ok = o && json_object_is_type(o, json_type_object);

	memset(r, 0, sizeof(*r));
	if (ok && json_object_object_get_ex(o, "serial", &f))
		snprintf(r->serial, sizeof(r->serial), "%s", json_object_get_string(f));
	if (ok && json_object_object_get_ex(o, "device", &f))
		snprintf(r->device, sizeof(r->device), "%s", json_object_get_string(f));
	if (ok && json_object_object_get_ex(o, "role", &f)) {
		int role = disk_role_from_string(json_object_get_string(f));

		r->role = role < 0 ? ROLE_UNKNOWN : (enum disk_role)role;
	}
	ok = ok && json_object_object_get_ex(o, "time", &f) && json_object_is_type(f, json_type_int);
	if (ok)
		r->time = json_object_get_int64(f);
	if (ok && json_object_object_get_ex(o, "wiped_bytes", &f))
		r->wiped_bytes = (uint64_t)json_object_get_int64(f);
	if (ok && json_object_object_get_ex(o, "verified", &f))
		r->verified = json_object_get_boolean(f);
	if (ok && json_object_object_get_ex(o, "discard", &f)) {
		int d = discard_from_string(json_object_get_string(f));

		r->discard = d < 0 ? SHRED_DISCARD_FAILED : (enum shred_discard)d;
	}
	json_object_put(o);
	return ok;
}

static int newest_first(const void *a, const void *b)
{
	const struct shred_rec *x = a, *y = b;

	return (y->time > x->time) - (y->time < x->time);
}

int shredrec_list(struct shred_rec *out, size_t max, size_t *n)
{
	DIR *d = opendir(shredrec_dir());
	struct dirent *e;
	char path[700], text[2048];

	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) && *n < max) {
		size_t len = strlen(e->d_name);
		ssize_t got;
		int fd;

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", shredrec_dir(), e->d_name);
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		got = read(fd, text, sizeof(text) - 1);
		close(fd);
		text[got > 0 ? got : 0] = '\0';
		if (from_json(text, &out[*n]))
			(*n)++;
	}
	closedir(d);
	qsort(out, *n, sizeof(*out), newest_first);
	return 0;
}

/* KEY=VALUE\n, the value's control characters dropped (one line each). */
static size_t field(char *buf, size_t size, size_t off, const char *key, const char *value)
{
	int n = snprintf(buf + off, off < size ? size - off : 0, "%s=", key);

	off += n > 0 ? (size_t)n : 0;
	for (const char *p = value; *p && off + 1 < size; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			buf[off++] = *p;
	if (off < size)
		buf[off++] = '\n';
	return off;
}

int shredrec_journal(const struct shred_rec *r)
{
	const char *path = getenv("SCRATCHCRYPT_JOURNAL_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[512], num[32], buf[2048];
	size_t off = 0;
	int fd, ret = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path && *path ? path : "/run/systemd/journal/socket");
	snprintf(msg, sizeof(msg), "%s (%s): shredded: %llu bytes wiped%s, discard %s", r->device,
		 r->serial[0] ? r->serial : "no serial", (unsigned long long)r->wiped_bytes,
		 r->verified ? " and read back blank" : ", NOT verified blank",
		 shred_discard_to_string(r->discard));
	off = field(buf, sizeof(buf), off, "MESSAGE", msg);
	off = field(buf, sizeof(buf), off, "MESSAGE_ID", SHREDREC_MESSAGE_ID);
	off = field(buf, sizeof(buf), off, "PRIORITY", r->verified ? "5" : "3");
	off = field(buf, sizeof(buf), off, "SYSLOG_IDENTIFIER", "scratchcrypt");
	off = field(buf, sizeof(buf), off, "SCRATCHCRYPT_DEVICE", r->device);
	off = field(buf, sizeof(buf), off, "SCRATCHCRYPT_SERIAL", r->serial);
	off = field(buf, sizeof(buf), off, "SCRATCHCRYPT_ROLE", disk_role_to_string(r->role));
	snprintf(num, sizeof(num), "%llu", (unsigned long long)r->wiped_bytes);
	off = field(buf, sizeof(buf), off, "SCRATCHCRYPT_WIPED_BYTES", num);
	off = field(buf, sizeof(buf), off, "SCRATCHCRYPT_VERIFIED", r->verified ? "1" : "0");
	off = field(buf, sizeof(buf), off, "SCRATCHCRYPT_DISCARD", shred_discard_to_string(r->discard));
	snprintf(num, sizeof(num), "%lld", r->time);
	off = field(buf, sizeof(buf), off, "SCRATCHCRYPT_SHRED_TIME", num);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, buf, off, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}
