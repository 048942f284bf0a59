// SPDX-License-Identifier: MIT
/* The steps of one member of a volume, each of which can be repeated:
 * claim, add-token and write-header (a disk being formatted), activate.
 * start.c runs them, the members after a volume's first each in a worker
 * process of its own. */
#include <errno.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/ondisk/names.h"
#include "agent/setup/disk.h"
#include "agent/setup/keysource.h"
#include "agent/setup/plan.h"
#include "agent/setup/runstate.h"
#include "base/crashpoint.h"
#include "base/safemem.h"
#include "dm/dm.h"

static unsigned pick_sector_size(const struct cfg *c, const struct sys_disk *d)
{
	unsigned s = c->sector_size;

	/* No smaller than the device's logical block, and dividing its size. */
	while (s > 512 && (s < d->logical_block_size || d->size_bytes % s))
		s /= 2;
	return s < d->logical_block_size ? d->logical_block_size : s;
}

static void crypt_params(const struct cfg *c, const struct sys_disk *d, const char *subsystem,
			 struct dm_crypt_params *p)
{
	memset(p, 0, sizeof(*p));
	p->cipher = c->cipher;
	p->key_bytes = c->key_bits / 8;
	p->sector_size = pick_sector_size(c, d);
	p->no_read_workqueue = c->no_read_workqueue;
	p->no_write_workqueue = c->no_write_workqueue;
	p->allow_discards = c->allow_discards;
	p->subsystem = subsystem;
	p->data_offset = ONDISK_DATA_OFFSET;
}

static int step_claim(const struct member *m, struct reason *why)
{
	struct sc_claim claim = { .size = m->v->disk.size_bytes, .created = (long long)time(NULL) };
	int r;

	int excl = -1;

	snprintf(claim.serial, sizeof(claim.serial), "%s", m->v->disk.serial);
	/* The HBI key calls sit between detection and here: look again. A disk
	 * already claimed by us was judged by its claim, read just now. */
	if (m->v->content != CONTENT_OURS) {
		r = disk_recheck(m->v, &excl, why);
		if (r < 0)
			return r;
	}
	r = disk_claim_write(m->v->disk.devnode, &claim);
	if (excl >= 0)
		close(excl);
	if (r < 0)
		return reason_set(why, r, "%s: cannot write the claim: %m", m->v->disk.devnode);
	crash_point("claim");
	return 0;
}

static char *member_token_json(const struct cfg *c, const struct volume *vol, const struct member *m)
{
	struct sc_token t = {
		.role = vol->role, .index = m->index, .members = (unsigned)vol->n,
		.key_source = c->key_source, .state = TOKEN_NEW, .created = (long long)time(NULL),
		.size = m->v->disk.size_bytes,
	};

	snprintf(t.serial, sizeof(t.serial), "%s", m->v->disk.serial);
	return token_to_json(&t);
}

/* The header, its tokens in it, is made in a file under /run, in one
 * libcryptsetup context; the disk then gets it in one synced write. */
/* Whether the runtime directory's filesystem (/run, a small tmpfs) has no
 * room for a header image. */
static bool run_is_full(void)
{
	struct statvfs sv;

	return statvfs(runstate_dir(), &sv) == 0 &&
	       (uint64_t)sv.f_bavail * sv.f_frsize < 2 * ONDISK_DATA_OFFSET;
}

static int step_add_token(const struct cfg *c, const struct volume *vol, const struct member *m,
			  const struct dm_crypt_params *p, const char *hdr, struct reason *why)
{
	const char *dev = m->v->disk.devnode;
	char *json = member_token_json(c, vol, m);
	const char *tokens[] = { json, m->hbi_token, NULL };
	int r;

	if (!json)
		return -ENOMEM;
	log_info("%s: writing LUKS2 header (%s, %zu-bit key, %u-byte sectors)", dev, p->cipher,
		 m->key_len * 8, p->sector_size);
	r = runstate_ensure_dir();
	if (r == 0)
		r = dm_luks_header_build(hdr, dev, p, m->key, m->key_len, tokens, why);
	free(json);
	if (r < 0 && run_is_full())
		return reason_set(why, -ENOSPC, "%s: cannot build the LUKS2 header in %s: that "
				  "filesystem is full (No space left on device); free space in /run",
				  dev, runstate_dir());
	if (r < 0)
		return why->text[0] ? r : reason_set(why, r, "%s: cannot build the LUKS2 header: %m", dev);
	crash_point("add-token");
	return r;
}

static int step_write_header(const struct cfg *c, const struct volume *vol, const struct member *m,
			     const struct dm_crypt_params *p, struct reason *why)
{
	const char *dev = m->v->disk.devnode;
	char hdr[512];
	int size, r;

	snprintf(hdr, sizeof(hdr), "%s/header-%s", runstate_dir(), m->name);
	size = step_add_token(c, vol, m, p, hdr, why);
	r = size < 0 ? size : disk_header_place(dev, hdr, (uint64_t)size);
	(void)unlink(hdr);
	if (r < 0)
		return size < 0 ? r : reason_set(why, r, "%s: cannot write the LUKS2 header: %m", dev);
	crash_point("write-header");
	return 0;
}

static int step_activate(const struct member *m, const struct dm_crypt_params *p, struct reason *why)
{
	const char *dev = m->v->disk.devnode;
	int r = dm_luks_activate(dev, m->name, p, m->key, m->key_len, why);
	char kid[512];

	if (r == -EPERM && hbi_disk_kid(dev, kid, sizeof(kid)) == 0)
		return reason_set(why, -EKEYREVOKED, "%s: the key that %s unwrapped does not match "
				  "the LUKS2 header's digest; the disk stays closed", dev, kid);
	if (r == -EPERM)
		return reason_set(why, -EKEYREVOKED, "%s: the key does not match the LUKS2 header's "
				  "digest; the disk stays closed", dev);
	if (r < 0 && dm_target_available("crypt") == 0)
		return reason_set(why, -ENXIO, "%s: cannot activate /dev/mapper/%s: the kernel has no "
				  "dm-crypt target; load the dm_crypt module (modprobe dm_crypt)", dev, m->name);
	if (r < 0) {
		char lib[sizeof(why->text)];

		snprintf(lib, sizeof(lib), "%s", why->text);
		return reason_set(why, r, "%s: cannot activate /dev/mapper/%s: %s%s%m", dev, m->name,
				  lib, lib[0] ? ": " : "");
	}
	crash_point("activate");
	return 0;
}

int plan_member_setup(const struct cfg *c, const struct volume *vol, const struct member *m,
		      struct reason *why)
{
	struct dm_crypt_params p;
	char subsystem[48];
	int r = 0;

	ondisk_subsystem(subsystem, sizeof(subsystem), vol->role, m->index, (unsigned)vol->n);
	crypt_params(c, &m->v->disk, subsystem, &p);
	if (m->mode == MEMBER_FORMAT) {
		r = step_claim(m, why);
		if (r == 0)
			r = step_write_header(c, vol, m, &p, why);
	}
	return r < 0 ? r : step_activate(m, &p, why);
}
