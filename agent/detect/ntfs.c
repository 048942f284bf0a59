// SPDX-License-Identifier: MIT
#include "agent/detect/ntfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int ntfs_list_root(const char *devnode, char ***names, size_t *n)
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
