// SPDX-License-Identifier: MIT
#include "agent/detect/ntfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* libntfs-3g's headers expect its build's config.h; say what glibc has. */
#define HAVE_STDARG_H 1
#define HAVE_STDDEF_H 1
#define HAVE_STDIO_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_TIME_H 1
#define HAVE_ENDIAN_H 1
#define HAVE_BYTESWAP_H 1
#define HAVE_SYS_PARAM_H 1
#define HAVE_MNTENT_H 1
#include <sys/stat.h>
#include <ntfs-3g/types.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/volume.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/unistr.h>

struct listing {
	char **v;
	size_t n;
	int err;
};

static int fill(void *dirent, const ntfschar *name, const int name_len, const int name_type,
		const s64 pos, const MFT_REF mref, const unsigned dt_type)
{
	struct listing *l = dirent;
	char *s = NULL, **nv;

	(void)pos;
	(void)dt_type;
	if (name_type == FILE_NAME_DOS)
		return 0;
	if (ntfs_ucstombs(name, name_len, &s, 0) < 0)
		return l->err = -EILSEQ, -1;
	/* NTFS's metafiles live in the first 16 MFT records. */
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || (MREF(mref) < 16 && s[0] == '$')) {
		free(s);
		return 0;
	}
	if (l->n >= NTFS_MAX_NAMES) {
		free(s);
		return l->err = -E2BIG, -1;
	}
	nv = realloc(l->v, (l->n + 1) * sizeof(char *));
	if (!nv) {
		free(s);
		return l->err = -ENOMEM, -1;
	}
	l->v = nv;
	l->v[l->n++] = s;
	return 0;
}

void ntfs_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int ntfs_list_root_here(const char *devnode, char ***names, size_t *n)
{
	struct listing l = { 0 };
	ntfs_volume *vol;
	ntfs_inode *root;
	s64 pos = 0;
	int r = 0;

	/* The library logs to stderr by default; errors come back as codes. */
	ntfs_log_set_handler(ntfs_log_handler_null);
	vol = ntfs_mount(devnode, NTFS_MNT_RDONLY);
	if (!vol)
		return errno ? -errno : -EIO;
	root = ntfs_inode_open(vol, FILE_root);
	if (!root) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	if (ntfs_readdir(root, &pos, &l, fill) < 0 && !l.err)
		r = errno ? -errno : -EIO;
	if (l.err)
		r = l.err;
	ntfs_inode_close(root);
out:
	ntfs_umount(vol, FALSE);
	if (r < 0) {
		ntfs_names_free(l.v, l.n);
		return r;
	}
	*names = l.v;
	*n = l.n;
	return 0;
}

/* The child: confined, then the listing, sent as "N\0name\0name\0..." or
 * "-ERRNO\0". */
static void confine(void)
{
	struct rlimit cpu = { NTFS_TIME_LIMIT_S, NTFS_TIME_LIMIT_S + 1 }, as = { 512 << 20, 512 << 20 },
		      none = { 0, 0 };
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	(void)setrlimit(RLIMIT_CPU, &cpu);
#ifndef __SANITIZE_ADDRESS__ /* ASan's shadow alone is terabytes of address space */
	(void)setrlimit(RLIMIT_AS, &as);
#else
	(void)as;
#endif
	(void)setrlimit(RLIMIT_FSIZE, &none);
	(void)setrlimit(RLIMIT_CORE, &none);
	alarm(NTFS_TIME_LIMIT_S);
	/* The block device is root's and readable by its owner: opening it
	 * needs no capability. */
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		(void)prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	(void)syscall(SYS_capset, &h, d);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static void child(const char *devnode, int out)
{
	char **names = NULL, head[24];
	size_t n = 0;
	int r;

	confine();
	r = ntfs_list_root_here(devnode, &names, &n);
	snprintf(head, sizeof(head), "%d", r < 0 ? r : (int)n);
	if (write(out, head, strlen(head) + 1) < 0)
		_exit(1);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (write(out, names[i], strlen(names[i]) + 1) < 0)
			_exit(1);
	_exit(0);
}

/* What the child sent, read within the time limit. */
static int receive(int in, char **buf, size_t *len)
{
	struct pollfd p = { .fd = in, .events = POLLIN };
	size_t cap = 4096, used = 0;
	char *b = malloc(cap);

	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t got;

		if (poll(&p, 1, (NTFS_TIME_LIMIT_S + 2) * 1000) <= 0) {
			free(b);
			return -ETIMEDOUT;
		}
		if (used == cap) {
			char *nb = cap < (1 << 20) ? realloc(b, cap * 2) : NULL;

			if (!nb) {
				free(b);
				return -E2BIG;
			}
			b = nb;
			cap *= 2;
		}
		got = read(in, b + used, cap - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		used += (size_t)got;
	}
	*buf = b;
	*len = used;
	return 0;
}

static int parse(const char *buf, size_t len, char ***names, size_t *n)
{
	const char *p = buf, *end = buf + len;
	long count;
	char **v;

	if (!len || !memchr(buf, '\0', len))
		return -ECHILD;
	count = strtol(p, NULL, 10);
	if (count < 0)
		return (int)count;
	if (count > NTFS_MAX_NAMES)
		return -EPROTO;
	v = calloc((size_t)count + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	p += strlen(p) + 1;
	for (long i = 0; i < count; i++) {
		const char *z = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;

		if (!z || !(v[i] = strdup(p))) {
			ntfs_names_free(v, (size_t)i);
			return z ? -ENOMEM : -ECHILD;
		}
		p = z + 1;
	}
	*names = v;
	*n = (size_t)count;
	return 0;
}

int ntfs_list_root(const char *devnode, char ***names, size_t *n)
{
	int fds[2], status = 0, r;
	char *buf = NULL;
	size_t len = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fds[0]);
		close(fds[1]);
		return r;
	}
	if (pid == 0) {
		close(fds[0]);
		child(devnode, fds[1]);
	}
	close(fds[1]);
	r = receive(fds[0], &buf, &len);
	close(fds[0]);
	if (r == -ETIMEDOUT)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && WIFSIGNALED(status))
		r = WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGALRM ? -ETIMEDOUT : -ECHILD;
	if (r == 0)
		r = parse(buf, len, names, n);
	free(buf);
	return r;
}
