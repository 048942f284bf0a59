// SPDX-License-Identifier: MIT
#include "agent/report/metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "agent/report/status.h"

static void help(FILE *f, const char *name, const char *type, const char *text)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* The last shred's time, and whether every disk's last shred read back
 * blank (the record keeps one entry per disk). */
static void write_shred_metrics(FILE *f, const struct status *st)
{
	bool verified = true;

	if (!st->n_shreds)
		return;
	for (size_t i = 0; i < st->n_shreds; i++)
		verified &= st->shreds[i].verified;
	help(f, "scratchcrypt_last_shred_timestamp_seconds", "gauge",
	     "When the last shred recorded ended (the shred record).");
	fprintf(f, "scratchcrypt_last_shred_timestamp_seconds %lld\n", st->shreds[0].time);
	help(f, "scratchcrypt_last_shred_verified", "gauge",
	     "1 when every recorded disk read back blank after its last shred, 0 when one did not.");
	fprintf(f, "scratchcrypt_last_shred_verified %d\n", verified);
}

static int write_metrics(FILE *f, const struct status *st, const char *command, int exit_code)
{
	help(f, "scratchcrypt_disk_state", "gauge",
	     "1 for the state each role is in (os, temp, scratch), 0 for the others.");
	for (size_t i = 0; i < st->n_rows; i++)
		for (int s = 0; s < _DISK_STATE_MAX; s++)
			fprintf(f, "scratchcrypt_disk_state{role=\"%s\",state=\"%s\"} %d\n",
				disk_role_to_string(st->rows[i].role), disk_state_to_string(s),
				st->rows[i].state == (enum disk_state)s);
	help(f, "scratchcrypt_disk_encrypted", "gauge",
	     "1 when the role's disks are encrypted, with the key source as a label.");
	for (size_t i = 0; i < st->n_rows; i++)
		fprintf(f, "scratchcrypt_disk_encrypted{role=\"%s\",key_source=\"%s\"} %d\n",
			disk_role_to_string(st->rows[i].role),
			st->rows[i].key_source ? st->rows[i].key_source : "",
			st->rows[i].state == STATE_ENCRYPTED);
	help(f, "scratchcrypt_disk_devices", "gauge", "How many block devices each role has.");
	for (size_t i = 0; i < st->n_rows; i++)
		fprintf(f, "scratchcrypt_disk_devices{role=\"%s\"} %zu\n",
			disk_role_to_string(st->rows[i].role), st->rows[i].n_devices);
	help(f, "scratchcrypt_cmk_supported", "gauge",
	     "Customer-managed keys are not supported for OS and temp disks: always 0.");
	for (size_t i = 0; i < st->n_rows; i++)
		fprintf(f, "scratchcrypt_cmk_supported{role=\"%s\"} 0\n",
			disk_role_to_string(st->rows[i].role));
	help(f, "scratchcrypt_node_info", "gauge", "The node's role and configured key source.");
	fprintf(f, "scratchcrypt_node_info{role=\"%s\",key_source=\"%s\"} 1\n",
		node_role_to_string(st->node_role), key_source_to_string(st->key_source));
	write_shred_metrics(f, st);
	help(f, "scratchcrypt_last_run_exit_code", "gauge", "Exit code of the last run of a command.");
	fprintf(f, "scratchcrypt_last_run_exit_code{command=\"%s\"} %d\n", command, exit_code);
	help(f, "scratchcrypt_last_run_timestamp_seconds", "gauge", "When that run ended.");
	fprintf(f, "scratchcrypt_last_run_timestamp_seconds{command=\"%s\"} %lld\n", command,
		(long long)time(NULL));
	return ferror(f) ? -EIO : 0;
}

/* The textfile directory, opened without following a last symlink: it must
 * be root's and writable by nobody else, or whoever can write it could
 * point our file at any other. -EPERM when it is not; -ENOENT when there is
 * no node_exporter here. */
static int open_textfile_dir(const char *dir, int *dirfd)
{
	struct stat sb;
	int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOTDIR || errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &sb) < 0 || sb.st_uid != 0 || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return -EPERM;
	}
	*dirfd = fd;
	return 0;
}

int metrics_write(const struct cfg *c, const char *command, int exit_code,
		  const struct detection *det)
{
	char dir[4096], tmp[300];
	const char *base;
	struct status st;
	int dfd = -1, fd = -1, r;
	FILE *f = NULL;

	if (!c->metrics_textfile || !*c->metrics_textfile)
		return 0;
	snprintf(dir, sizeof(dir), "%s", c->metrics_textfile);
	*strrchr(dir, '/') = '\0';
	base = strrchr(c->metrics_textfile, '/') + 1;
	r = open_textfile_dir(dir, &dfd);
	if (r == -ENOENT)
		return 0; /* no node_exporter here */
	if (r == -EPERM)
		return log_warn_errno(r, "not writing %s: %s is not a directory that only root can write",
				      c->metrics_textfile, dir[0] ? dir : "/");
	if (r < 0)
		return log_warn_errno(r, "not writing %s: cannot open %s: %m", c->metrics_textfile, dir);
	if (det && det->v)
		status_from_detection(c, det, &st);
	else
		r = status_collect(c, &sys_paths_default, &st);
	if (r < 0) {
		close(dfd);
		return log_warn_errno(r, "cannot collect the status for %s: %m", c->metrics_textfile);
	}
	/* A new file of our own, never one that was there: O_EXCL, O_NOFOLLOW. */
	snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", base, (int)getpid());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST && unlinkat(dfd, tmp, 0) == 0)
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		r = log_warn_errno(-errno, "cannot write %s/%s: %m", dir, tmp);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	(void)fchmod(fd, 0644);
	r = write_metrics(f, &st, command, exit_code);
	if (fflush(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, base) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dfd, tmp, 0);
		log_warn_errno(r, "cannot write %s: %m", c->metrics_textfile);
	}
out:
	close(dfd);
	return r;
}
