// SPDX-License-Identifier: MIT
/* The unit tests' one fake kernel (fakekernel.h). */
#include "tests/unit/fakekernel.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/detect/ntfs.h"
#include "agent/detect/nvmeid.h"
#include "agent/ondisk/claim.h"
#include "agent/ondisk/token.h"
#include "agent/setup/disk.h"
#include "agent/setup/fs.h"
#include "base/workers.h"
#include "dm/dm.h"

struct fake_kernel fk;
struct cfg cfg;
char rundir[64];


static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The fake kernel and disks: mappings (with device numbers), mounts, and
 * per disk its claim, its header and its scratchcrypt token. */

int fk_hdr_find(const char *dev)
{
	for (size_t i = 0; i < fk.n_hdr; i++)
		if (strcmp(fk.hdr[i].dev, dev) == 0)
			return (int)i;
	return -1;
}

/* The disk whose header image is this file. */
static int image_find(const char *path)
{
	for (size_t i = 0; i < fk.n_hdr; i++)
		if (fk.hdr[i].image[0] && strcmp(fk.hdr[i].image, path) == 0)
			return (int)i;
	return -1;
}

int fk_map_find(const char *name)
{
	if (strncmp(name, "/dev/mapper/", 12) == 0)
		name += 12;
	for (size_t i = 0; i < fk.n_maps; i++)
		if (strcmp(fk.maps[i].name, name) == 0)
			return (int)i;
	return -1;
}

int fk_map_add(const char *name, const char *dev, const char *type, bool live)
{
	size_t i = fk.n_maps++;

	memset(&fk.maps[i], 0, sizeof(fk.maps[i]));
	snprintf(fk.maps[i].name, sizeof(fk.maps[0].name), "%s", name);
	snprintf(fk.maps[i].dev, sizeof(fk.maps[0].dev), "%s", dev);
	snprintf(fk.maps[i].type, sizeof(fk.maps[0].type), "%s", type);
	fk.maps[i].minor = ++fk.next_minor;
	fk.maps[i].live = live;
	return (int)i;
}

int __real_detect_scan(const struct cfg *c, const struct detect_opts *o, struct detection *out);

int __wrap_detect_scan(const struct cfg *c, const struct detect_opts *o, struct detection *out)
{
	fk.scans++;
	if (!fk.scan)
		return __real_detect_scan(c, o, out);
	memset(out, 0, sizeof(*out));
	out->v = calloc(fk.n_disks + 1, sizeof(*out->v));
	memcpy(out->v, fk.disks, fk.n_disks * sizeof(*fk.disks));
	out->n = fk.n_disks;
	/* What libblkid would see now: a header labelled scratchcrypt, which
	 * detect_run (ownership.c) accepts only when its token names this disk. */
	for (size_t i = 0; i < out->n; i++) {
		int h = fk_hdr_find(out->v[i].disk.devnode);

		if (h >= 0 && fk.hdr[h].present) {
			struct probe_result *p = &out->v[i].probe;

			out->v[i].content = CONTENT_FOREIGN;
			out->v[i].action = ACTION_REFUSE;
			p->kind = PROBE_SIGNATURE;
			snprintf(p->type, sizeof(p->type), "crypto_LUKS");
			snprintf(p->label, sizeof(p->label), "%s", ONDISK_LUKS_LABEL);
		} else if (h >= 0 && fk.hdr[h].claimed) {
			/* A claim alone: data in the first MiB, no signature. */
			out->v[i].probe.kind = PROBE_NONZERO;
		}
	}
	return 0;
}

int __wrap_dm_available(void)
{
	return fk.no_dm ? -ENXIO : 0;
}

int __wrap_dm_query(const char *name, struct dm_state *st, struct strv *devices)
{
	int i;

	pthread_mutex_lock(&lock);
	i = fk_map_find(name);
	memset(st, 0, sizeof(*st));
	if (i >= 0) {
		st->exists = true;
		st->major = 254;
		st->minor = fk.maps[i].minor;
		st->live_table = fk.maps[i].live;
		if (fk.maps[i].live)
			snprintf(st->target, sizeof(st->target), "%s", fk.maps[i].type);
		if (fk.maps[i].live && strcmp(fk.maps[i].type, "crypt") == 0)
			st->sectors = (1 << 30) / 512;
		for (size_t k = 0; devices && k < fk.maps[i].n_members; k++)
			strv_push(devices, fk.maps[i].members[k]);
	}
	pthread_mutex_unlock(&lock);
	return 0;
}

int __wrap_dm_luks_header_build(const char *hdr_file, const char *dev,
				const struct dm_crypt_params *p, const void *key, size_t key_len,
				const char *const *tokens, struct reason *why)
{
	int i = fk_hdr_find(dev);

	(void)why;
	assert_true(i >= 0);
	assert_int_equal(p->data_offset, 1024 * 1024);
	assert_int_equal(key_len, p->key_bytes);
	assert_string_equal(p->cipher, "aes-xts-plain64");
	assert_true(p->no_read_workqueue && p->no_write_workqueue);
	assert_true(fk.hdr[i].claimed); /* the claim comes first */
	memcpy(fk.keys[fk.n_keys++], key, key_len < 64 ? key_len : 64);
	fk.hdr[i].pending_sector = p->sector_size;
	snprintf(fk.hdr[i].image, sizeof(fk.hdr[i].image), "%s", hdr_file);
	/* The scratchcrypt token is in the header from the start. */
	assert_non_null(tokens);
	assert_non_null(tokens[0]);
	snprintf(fk.hdr[i].image_token, sizeof(fk.hdr[i].image_token), "%s", tokens[0]);
	return 65536;
}

int __wrap_disk_header_place(const char *dev, const char *hdr_file, uint64_t size)
{
	int i = fk_hdr_find(dev);

	assert_int_equal(size, 65536);
	assert_int_equal(image_find(hdr_file), i); /* this disk's own header */
	if (i == fk.fail_format_on)
		return -EIO;
	fk.formats++;
	fk.hdr[i].present = true;
	fk.hdr[i].sector = fk.hdr[i].pending_sector;
	/* One write: the header with the tokens added to its image. */
	memcpy(fk.hdr[i].token, fk.hdr[i].image_token, sizeof(fk.hdr[i].token));
	return 0;
}

/* The disk is as detected, unless a test changes it under us. */

int __wrap_disk_recheck(const struct verdict *v, int *fd, struct reason *why)
{
	if (fk.changed_dev && strcmp(v->disk.devnode, fk.changed_dev) == 0)
		return reason_set(why, -EMEDIUMTYPE, "%s changed since it was detected; left untouched",
				  v->disk.devnode);
	*fd = -1;
	return 0;
}

int __wrap_disk_claim_write(const char *dev, const struct sc_claim *c)
{
	(void)c;
	fk.hdr[fk_hdr_find(dev)].claimed = true;
	return 0;
}

int __wrap_claim_read(const char *dev, struct sc_claim *c)
{
	int i = fk_hdr_find(dev);

	fk.claim_reads++;
	memset(c, 0, sizeof(*c));
	if (i < 0 || !fk.hdr[i].claimed)
		return 0;
	c->size = fk.hdr[i].claim_size;
	for (size_t d = 0; d < fk.n_disks; d++)
		if (strcmp(fk.disks[d].disk.devnode, dev) == 0) {
			c->size = c->size ?: fk.disks[d].disk.size_bytes;
			snprintf(c->serial, sizeof(c->serial), "%s", fk.disks[d].disk.serial);
		}
	return 1;
}

int __wrap_disk_claim_clear(const char *dev)
{
	fk.hdr[fk_hdr_find(dev)].claimed = false;
	return 0;
}

int __wrap_disk_header_wipe(const char *dev)
{
	int i = fk_hdr_find(dev);

	assert_true(i >= 0);
	/* The intent is on the disk before anything is wiped. */
	if (fk.hdr[i].present && fk.hdr[i].token[0])
		assert_non_null(strstr(fk.hdr[i].token, "\"state\":\"shredding\""));
	if (i == fk.fail_wipe_on)
		return -EIO;
	fk.hdr[i].present = false;
	fk.wipes++;
	return 0;
}

/* What stop reads back: blank unless a header or a claim is still there
 * (or the test says the wipe did not reach the disk). */
int __wrap_disk_head_blank(const char *dev, uint64_t *at)
{
	int i = fk_hdr_find(dev);

	*at = 0;
	return i >= 0 && (fk.hdr[i].present || fk.hdr[i].claimed || fk.hdr[i].stale) ? 0 : 1;
}

void __real_sys_read_serial(const struct sys_paths *p, const char *kname, char *buf, size_t size);

/* The fake disks' serials, for code that reads the real sysfs; a fixture
 * tree (fakesys.h) is read for real. */
void __wrap_sys_read_serial(const struct sys_paths *p, const char *kname, char *buf, size_t size)
{
	if (p != &sys_paths_default)
		return __real_sys_read_serial(p, kname, buf, size);
	snprintf(buf, size, "%s", "");
	for (size_t i = 0; i < fk.n_disks; i++) {
		const char *dev = fk.disks[i].disk.devnode, *name = strrchr(dev, '/');

		if (strcmp(name ? name + 1 : dev, kname) == 0)
			snprintf(buf, size, "%s", fk.disks[i].disk.serial);
	}
}

int __wrap_disk_discard_data(const char *dev)
{
	(void)dev;
	fk.discards++;
	return 0;
}

int __wrap_dm_luks_activate(const char *dev, const char *name, const struct dm_crypt_params *p,
			    const void *key, size_t key_len, struct reason *why)
{
	(void)p;
	(void)key;
	(void)key_len;
	(void)why;
	pthread_mutex_lock(&lock);
	assert_true(fk.hdr[fk_hdr_find(dev)].present);
	assert_non_null(strstr(fk.hdr[fk_hdr_find(dev)].token, "scratchcrypt")); /* token before use */
	fk_map_add(name, dev, "crypt", true);
	pthread_mutex_unlock(&lock);
	return 0;
}

/* The fake kernel lives in this process: the jobs run here, in order, as
 * workers_run() does them with one at a time (tests/unit/test_workers.c
 * tests the processes). */
int __real_workers_run(size_t n, unsigned max, worker_job job, void *arg, const char *const *labels,
		       size_t *failed, struct reason *why);
size_t __real_workers_run_all(size_t n, unsigned max, worker_job job, void *arg,
			      const char *const *labels, int *results, struct reason *whys);

int __wrap_workers_run(size_t n, unsigned max, worker_job job, void *arg, const char *const *labels,
		       size_t *failed, struct reason *why)
{
	if (!fk.inline_workers)
		return __real_workers_run(n, max, job, arg, labels, failed, why);
	fk.worker_jobs += (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		int r = job(i, arg, why);

		if (r < 0) {
			*failed = i;
			return r;
		}
	}
	return 0;
}

size_t __wrap_workers_run_all(size_t n, unsigned max, worker_job job, void *arg,
			      const char *const *labels, int *results, struct reason *whys)
{
	size_t failed = 0;

	if (!fk.inline_workers)
		return __real_workers_run_all(n, max, job, arg, labels, results, whys);
	fk.worker_jobs += (unsigned)n;
	fk.all_jobs += (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		results[i] = job(i, arg, &whys[i]);
		failed += results[i] < 0;
	}
	return failed;
}

/* The fake kernel's headers carry no UUID: no shred is ever owed here. */
int __wrap_dm_luks_uuid(const char *dev, char *uuid, size_t size)
{
	(void)dev;
	(void)uuid;
	(void)size;
	return -ENODEV;
}

int __wrap_dm_crypt_info(const char *name, struct dm_crypt_info *info)
{
	int i = fk_map_find(name);

	if (i < 0 || strcmp(fk.maps[i].type, "crypt"))
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	snprintf(info->device, sizeof(info->device), "%s", fk.maps[i].dev);
	snprintf(info->cipher, sizeof(info->cipher), "aes-xts-plain64");
	info->key_bits = 512;
	info->sector_size = 4096;
	info->size_bytes = 1 << 30;
	return 0;
}

int __wrap_dm_create_empty(const char *name, const char *uuid)
{
	(void)uuid;
	assert_int_equal(fk_map_find(name), -1);
	fk_map_add(name, "", "striped", false);
	return 0;
}

int __wrap_dm_load_stripe(const char *name, const struct strv *members, uint64_t chunk,
			  uint64_t sectors)
{
	int s = fk_map_find(name);

	assert_true(s >= 0);
	assert_int_equal(chunk, 512);
	assert_int_equal(sectors, (1 << 30) / 512);
	fk.stripe_members[0] = '\0';
	fk.maps[s].n_members = 0;
	for (size_t i = 0; i < members->n; i++) {
		int m = fk_map_find(members->v[i]);

		assert_true(m >= 0);
		strcat(fk.stripe_members, members->v[i]);
		strcat(fk.stripe_members, " ");
		snprintf(fk.maps[s].members[fk.maps[s].n_members++], 16, "254:%u", fk.maps[m].minor);
	}
	return 0;
}

int __wrap_dm_resume(const char *name)
{
	int s = fk_map_find(name);

	assert_true(s >= 0);
	fk.maps[s].live = true;
	return 0;
}

int __wrap_dm_luks_token_get(const char *dev, const char *type, char **json)
{
	int i = fk_hdr_find(dev);

	for (size_t b = 0; i < 0 && b < fk.n_blk; b++)
		if (strcmp(fk.blk[b].dev, dev) == 0 && fk.blk[b].token) {
			if (strcmp(type, TOKEN_TYPE) != 0)
				return -ENOENT;
			*json = strdup(fk.blk[b].token);
			return 0;
		}
	if (i < 0 || !fk.hdr[i].present)
		return -ENODEV;
	if (strcmp(type, TOKEN_TYPE) != 0 || !fk.hdr[i].token[0])
		return -ENOENT;
	*json = strdup(fk.hdr[i].token);
	return 0;
}

int __wrap_dm_luks_token_set(const char *dev, const char *type, const char *json)
{
	int i = fk_hdr_find(dev);

	if (i < 0 || !fk.hdr[i].present)
		return -ENODEV;
	assert_string_equal(type, TOKEN_TYPE);
	snprintf(fk.hdr[i].token, sizeof(fk.hdr[i].token), "%s", json);
	return 0;
}

int __wrap_dm_luks_token_edit(const char *dev, const char *type, dm_token_edit_fn edit, void *arg)
{
	char *json, *out = NULL;
	int r = __wrap_dm_luks_token_get(dev, type, &json);

	if (r < 0)
		return r;
	r = edit(json, &out, arg);
	free(json);
	if (r > 0)
		r = __wrap_dm_luks_token_set(dev, type, out);
	free(out);
	return r;
}

int __wrap_dm_list(const char *prefix, struct strv *names)
{
	memset(names, 0, sizeof(*names));
	for (size_t i = 0; i < fk.n_maps; i++)
		if (strncmp(fk.maps[i].name, prefix, strlen(prefix)) == 0)
			strv_push(names, fk.maps[i].name);
	return 0;
}

static int unmap(const char *name)
{
	int i = fk_map_find(name);

	if (i < 0)
		return 0;
	for (size_t k = 0; k < fk.n_mounts; k++)
		if (strstr(fk.mounts[k].dev, name))
			fail_msg("%s removed while mounted", name);
	snprintf(fk.removed[fk.n_removed++], 80, "%s", name);
	fk.maps[i] = fk.maps[--fk.n_maps];
	return 0;
}

int __wrap_dm_crypt_deactivate(const char *name, bool wipe_if_busy, struct reason *why)
{
	(void)wipe_if_busy;
	(void)why;
	return unmap(name);
}

int __wrap_dm_remove(const char *name, bool deferred)
{
	(void)deferred;
	return unmap(name);
}

int __wrap_fs_mkfs(enum fs_type type, const char *dev, const char *label, unsigned ext4_cluster_size)
{
	(void)label;
	(void)ext4_cluster_size;
	assert_int_equal(type, FS_EXT4);
	assert_true(fk_map_find(dev) >= 0);
	fk.mkfs++;
	return 0;
}

int __wrap_fs_mount(const char *dev, const char *target, enum fs_type type)
{
	(void)type;
	fk.mount_calls++;
	snprintf(fk.mounts[fk.n_mounts].dev, 128, "%s", dev);
	snprintf(fk.mounts[fk.n_mounts].target, 256, "%s", target);
	fk.n_mounts++;
	return 0;
}

int __wrap_fs_mounts_of(const char *dev, char (*targets)[256], size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < fk.n_mounts && n < max; i++)
		if (strcmp(fk.mounts[i].dev, dev) == 0)
			snprintf(targets[n++], 256, "%s", fk.mounts[i].target);
	return (int)n;
}

int __wrap_fs_mount_state(const char *dev, const char *target)
{
	for (size_t i = 0; i < fk.n_mounts; i++)
		if (strcmp(fk.mounts[i].target, target) == 0)
			return dev && strcmp(fk.mounts[i].dev, dev) == 0 ? FS_AT_DEV
			       : fk_map_find(fk.mounts[i].dev) >= 0	       ? FS_AT_OTHER
									       : FS_AT_GONE;
	return FS_AT_NOTHING;
}

int __wrap_fs_umount(const char *target, bool detach)
{
	(void)detach;
	for (size_t i = 0; i < fk.n_mounts; i++)
		if (strcmp(fk.mounts[i].target, target) == 0) {
			fk.mounts[i] = fk.mounts[--fk.n_mounts];
			return 0;
		}
	return 0;
}

int __wrap_fs_write_warning(const char *mp)
{
	(void)mp;
	fk.warnings++;
	return 0;
}

int __wrap_fs_has_warning(const char *mp)
{
	(void)mp;
	return 0;
}

void fk_cleanup(void)
{
	char cmd[128];

	cfg_free(&cfg);
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
	assert_int_equal(system(cmd), 0);
}

int fk_setup_os_node(void **state)
{
	(void)state;
	fk_reset();
	fk_verdict("/dev/sda", ROLE_OS, ACTION_SKIP, CONTENT_FOREIGN, "holds /");
	return 0;
}

int fk_teardown(void **state)
{
	(void)state;
	fk_cleanup();
	return 0;
}

static struct fk_probe_log *probes;

void fk_reset(void)
{
	char path[128];

	snprintf(rundir, sizeof(rundir), "/tmp/sc-test-XXXXXX");
	assert_non_null(mkdtemp(rundir));
	setenv("SCRATCHCRYPT_RUNTIME_DIR", rundir, 1);
	snprintf(path, sizeof(path), "%s/state", rundir);
	setenv("SCRATCHCRYPT_STATE_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/journal.socket", rundir);
	setenv("SCRATCHCRYPT_JOURNAL_SOCKET", path, 1);
	cfg_init(&cfg);
	memset(&fk, 0, sizeof(fk));
	if (!probes) {
		probes = mmap(NULL, sizeof(*probes), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		assert_true(probes != MAP_FAILED);
	}
	memset(probes, 0, sizeof(*probes));
	fk.probes = probes;
	fk.scan = true;
	fk.inline_workers = true;
	fk.fail_format_on = -1;
	fk.fail_wipe_on = -1;
}

struct fk_hdr *fk_hdr(const char *dev)
{
	int i = fk_hdr_find(dev);

	if (i >= 0)
		return &fk.hdr[i];
	assert_true(fk.n_hdr < sizeof(fk.hdr) / sizeof(fk.hdr[0]));
	memset(&fk.hdr[fk.n_hdr], 0, sizeof(fk.hdr[0]));
	snprintf(fk.hdr[fk.n_hdr].dev, sizeof(fk.hdr[0].dev), "%s", dev);
	return &fk.hdr[fk.n_hdr++];
}

void fk_token(const char *dev, const char *json)
{
	struct fk_hdr *h = fk_hdr(dev);

	h->present = true;
	snprintf(h->token, sizeof(h->token), "%s", json);
}

struct verdict *fk_disk(const char *dev, enum disk_role role, enum disk_action action, uint64_t size)
{
	struct verdict *v = &fk.disks[fk.n_disks++];

	memset(v, 0, sizeof(*v));
	snprintf(v->disk.devnode, sizeof(v->disk.devnode), "%s", dev);
	snprintf(v->disk.serial, sizeof(v->disk.serial), "SN-%s", strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev);
	v->disk.size_bytes = size;
	v->disk.logical_block_size = 512;
	v->role = role;
	v->action = action;
	v->content = action == ACTION_REFUSE ? CONTENT_FOREIGN : CONTENT_BLANK;
	(void)fk_hdr(dev);
	return v;
}

struct verdict *fk_verdict(const char *dev, enum disk_role role, enum disk_action action,
			   enum content content, const char *reason)
{
	struct verdict *v = fk_disk(dev, role, action, 0);

	v->content = content;
	snprintf(v->reason, sizeof(v->reason), "%s", reason);
	return v;
}

void fk_mount(const char *dev, const char *target)
{
	snprintf(fk.mounts[fk.n_mounts].dev, sizeof(fk.mounts[0].dev), "%s", dev);
	snprintf(fk.mounts[fk.n_mounts].target, sizeof(fk.mounts[0].target), "%s", target);
	fk.n_mounts++;
}

struct fk_blk *fk_blk(const char *dev)
{
	struct fk_blk *b;

	for (size_t i = 0; i < fk.n_blk; i++)
		if (strcmp(fk.blk[i].dev, dev) == 0)
			return &fk.blk[i];
	assert_true(fk.n_blk < sizeof(fk.blk) / sizeof(fk.blk[0]));
	b = &fk.blk[fk.n_blk++];
	memset(b, 0, sizeof(*b));
	snprintf(b->dev, sizeof(b->dev), "%s", dev);
	return b;
}

int __wrap_probe_device(const char *devnode, struct probe_result *out)
{
	size_t at = __atomic_fetch_add(&fk.probes->n, 1, __ATOMIC_SEQ_CST);

	if (at < 32)
		snprintf(fk.probes->dev[at], sizeof(fk.probes->dev[0]), "%s", devnode);
	for (size_t i = 0; i < fk.n_blk; i++)
		if (strcmp(fk.blk[i].dev, devnode) == 0) {
			while (fk.blk[i].probe_stalls)
				pause();
			*out = fk.blk[i].probe;
			return -fk.blk[i].probe_error;
		}
	memset(out, 0, sizeof(*out));
	out->kind = PROBE_BLANK;
	return 0;
}

int __wrap_ntfs_list_root(const char *devnode, char ***names, size_t *n)
{
	for (size_t i = 0; i < fk.n_blk; i++) {
		char part[80], *copy, *save = NULL;

		/* The listing is the NTFS partition's: the last one. */
		snprintf(part, sizeof(part), "%s%zu", fk.blk[i].dev,
			 fk.blk[i].probe.n_parts ? fk.blk[i].probe.n_parts : 1);
		if (strcmp(part, devnode) != 0 || !fk.blk[i].ntfs_names)
			continue;
		copy = strdup(fk.blk[i].ntfs_names);
		*names = calloc(8, sizeof(char *));
		*n = 0;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			(*names)[(*n)++] = strdup(t);
		free(copy);
		return 0;
	}
	return -EIO;
}

int __wrap_nvme_vs_read(const char *devnode, unsigned nsid, char *buf, size_t size)
{
	(void)nsid;
	for (size_t i = 0; i < fk.n_vs; i++)
		if (strcmp(fk.vs[i].dev, devnode) == 0 && fk.vs[i].vs) {
			memset(buf, 0, size);
			memcpy(buf, fk.vs[i].vs, strlen(fk.vs[i].vs));
			return 0;
		}
	return -ENOTTY;
}
