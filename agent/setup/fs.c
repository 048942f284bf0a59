// SPDX-License-Identifier: MIT
#include "agent/setup/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/detect/sysfs.h"
#include "agent/ondisk/format.h"
#include "base/log.h"
#include "base/workers.h"

extern char **environ;

static const char warning_text[] =
	"WARNING: THIS IS A TEMPORARY DISK.\n"
	"\n"
	"Any data stored on this drive is SUBJECT TO LOSS and THERE IS NO WAY TO RECOVER IT.\n"
	"It is encrypted by scratchcrypt with a key that is destroyed when the node is\n"
	"deprovisioned. Do not use it to store data that you cannot afford to lose.\n";

/* Waits for the tool (mkfs) within the workers' deadline, saying every
 * WORKERS_PROGRESS_S what it still waits for; past the deadline the tool is
 * killed: -ETIMEDOUT. Without a deadline (or a pidfd), it just waits. */
static int wait_deadline(pid_t pid, char *const argv[], int *status)
{
	unsigned deadline = workers_deadline();
	int pfd = deadline ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	time_t t0 = time(NULL);
	const char *what = argv[0], *on = what;

	for (size_t i = 1; argv[i]; i++)
		on = argv[i];
	while (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		long left = (long)deadline - (long)(time(NULL) - t0);
		int r;

		if (left <= 0) {
			(void)kill(pid, SIGKILL);
			close(pfd);
			(void)waitpid(pid, NULL, WNOHANG);
			log_error("%s on %s did not finish within %u s (its disk stalls?); it was killed",
				  what, on, deadline);
			return -ETIMEDOUT;
		}
		r = poll(&p, 1, (int)(left < WORKERS_PROGRESS_S ? left : WORKERS_PROGRESS_S) * 1000);
		if (r > 0)
			break;
		if (r == 0)
			log_info("still running %s on %s (%ld s)", what, on, (long)(time(NULL) - t0));
		else if (errno != EINTR)
			break;
	}
	if (pfd >= 0)
		close(pfd);
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, r;

	/* mkfs gets stdin, stdout and stderr, and no other descriptor of
	 * ours: not the key service's sockets, not the lock. */
	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return -r;
	r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (r == 0)
		r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	r = wait_deadline(pid, argv, &status);
	if (r < 0)
		return r;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return -EIO;
}

/* What mkfs writes before the mount is on the node's start path, so each
 * filesystem's metadata is made the same size whatever the disk's (make
 * bench measures it, bench/README.md "Node start" weighs it against fio):
 *  - xfs: the log at its floor, 64 MiB, which mkfs zeroes through dm-crypt
 *    (by default it grows to 2 GiB on 4 TiB); -K: no discard of the disk.
 *  - ext4: a block group spans 32768 clusters, so with 4 KiB blocks a
 *    4 TiB disk has 32768 groups whose descriptors, bitmaps and checksums
 *    mkfs makes. Above 128 GiB the clusters grow with the disk (bigalloc)
 *    and the groups stay at most 1024. Two backup superblocks, not one per
 *    sparse group (sparse_super2); no resize inode (a temp disk never
 *    grows in place); inode tables and journal initialised lazily by the
 *    kernel; no discard. A cluster is the smallest allocation, even for a
 *    small file: ext4_cluster_size = 4096 keeps 4 KiB on any disk. */
#define EXT4_MAX_GROUPS 1024
#define EXT4_CLUSTERS_PER_GROUP 32768

unsigned fs_ext4_cluster_size(uint64_t size)
{
	unsigned cluster = 4096;

	while (cluster < 1048576 && size > (uint64_t)EXT4_MAX_GROUPS * EXT4_CLUSTERS_PER_GROUP * cluster)
		cluster *= 2;
	return cluster;
}

static int device_size(const char *dev, uint64_t *size)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, BLKGETSIZE64, size) < 0)
		r = -errno;
	close(fd);
	return r;
}

int fs_mkfs(enum fs_type type, const char *dev, const char *label, unsigned ext4_cluster_size)
{
	char cluster[16];
	uint64_t size;

	if (type == FS_XFS) {
		char *const argv[] = { "mkfs.xfs", "-q", "-f", "-K", "-l", "size=64m", "-L", (char *)label,
				       (char *)dev, NULL };
		return run(argv);
	}
	if (!ext4_cluster_size) {
		int r = device_size(dev, &size);

		if (r < 0)
			return r;
		ext4_cluster_size = fs_ext4_cluster_size(size);
	}
	snprintf(cluster, sizeof(cluster), "%u", ext4_cluster_size);
	if (ext4_cluster_size > 4096) {
		char *const argv[] = { "mkfs.ext4", "-q", "-F", "-m", "0", "-O",
				       "bigalloc,sparse_super2,^resize_inode", "-C", cluster, "-E",
				       "lazy_itable_init=1,lazy_journal_init=1,nodiscard", "-L", (char *)label,
				       (char *)dev, NULL };
		return run(argv);
	}
	char *const argv[] = { "mkfs.ext4", "-q", "-F", "-m", "0", "-O", "sparse_super2,^resize_inode",
			       "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", "-L", (char *)label,
			       (char *)dev, NULL };
	return run(argv);
}

static int mkdir_p(const char *path)
{
	char buf[4096];

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* ext4 with lazy_itable_init leaves its inode tables unwritten, and by
 * default the kernel's ext4lazyinit thread zeroes them after the mount: on
 * the raw disk a cheap WRITE ZEROES, through dm-crypt real writes of
 * encrypted zeroes, 8 GiB of them on a 1 or 4 TiB disk, competing with the
 * node's first jobs. noinit_itable skips that: with metadata_csum the kernel
 * and e2fsck read no inode past each group's itable_unused. */
int fs_mount(const char *dev, const char *target, enum fs_type type)
{
	const char *data = type == FS_EXT4 ? "noinit_itable" : NULL;
	int r = mkdir_p(target);

	if (r < 0)
		return r;
	if (mount(dev, target, fs_type_to_string(type), MS_NOSUID | MS_NODEV, data) < 0)
		return -errno;
	return 0;
}

int fs_mounts_of(const char *dev, char (*targets)[256], size_t max)
{
	struct sys_view v = { 0 };
	struct stat st;
	size_t n = 0;
	int r;

	if (stat(dev, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	r = sys_scan_mounts(&sys_paths_default, &v);
	if (r < 0)
		return r;
	for (size_t i = 0; i < v.n_mounts && n < max; i++)
		if (v.mounts[i].major == major(st.st_rdev) && v.mounts[i].minor == minor(st.st_rdev))
			snprintf(targets[n++], 256, "%s", v.mounts[i].target);
	sys_view_free(&v);
	return (int)n;
}

/* 1 with the device number of what is mounted at target, 0 if nothing. */
static int fs_mount_source(const char *target, unsigned *major_out, unsigned *minor_out)
{
	struct sys_view v = { 0 };
	int r = sys_scan_mounts(&sys_paths_default, &v), found = 0;

	if (r < 0)
		return r;
	/* The last mount at target is the one in view. */
	for (size_t i = 0; i < v.n_mounts; i++)
		if (strcmp(v.mounts[i].target, target) == 0) {
			*major_out = v.mounts[i].major;
			*minor_out = v.mounts[i].minor;
			found = 1;
		}
	sys_view_free(&v);
	return found;
}

int fs_mount_state(const char *dev, const char *target)
{
	unsigned maj, min;
	char sys[64];
	struct stat st;
	int r = fs_mount_source(target, &maj, &min);

	if (r <= 0)
		return r < 0 ? r : FS_AT_NOTHING;
	if (dev && stat(dev, &st) == 0 && major(st.st_rdev) == maj && minor(st.st_rdev) == min)
		return FS_AT_DEV;
	if (maj == 0)
		return FS_AT_OTHER; /* tmpfs, overlay: not a block device at all */
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", maj, min);
	return access(sys, F_OK) == 0 ? FS_AT_OTHER : FS_AT_GONE;
}

int fs_umount(const char *target, bool detach)
{
	if (umount2(target, UMOUNT_NOFOLLOW | (detach ? MNT_DETACH : 0)) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOENT)
		return 0; /* not mounted any more */
	return -errno;
}

int fs_has_warning(const char *mount_point)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/" ONDISK_WARNING_FILE, mount_point);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int fs_write_warning(const char *mount_point)
{
	struct stat st;
	int dfd, fd, r = 0;

	/* The filesystem may hold what its users put there: a FIFO, a symlink
	 * or a directory by this name is left alone, and nothing blocks. */
	dfd = open(mount_point, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = openat(dfd, ONDISK_WARNING_FILE, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		    0444);
	close(dfd);
	if (fd < 0)
		return errno == ELOOP || errno == EISDIR || errno == ENXIO ? -EEXIST : -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EEXIST;
	}
	if (ftruncate(fd, 0) < 0 ||
	    write(fd, warning_text, sizeof(warning_text) - 1) != (ssize_t)(sizeof(warning_text) - 1))
		r = -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	return r;
}

