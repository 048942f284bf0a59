// SPDX-License-Identifier: MIT
/* The lifecycle steps against a fake kernel: dm, mkfs and mount sit behind
 * the dm/ and fs seams, and the fake keeps the state they would change. */
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/setup/fs.h"
#include "agent/setup/lifecycle.h"
#include "base/log.h"
#include "agent/setup/runstate.h"
#include "agent/setup/disk.h"
#include "agent/ondisk/token.h"
#include "dm/dm.h"
#include "base/workers.h"

#define MAXN 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The fake kernel and disks: mappings (with device numbers), mounts, and
 * per disk its claim, its header and its scratchcrypt token. */
static struct {
	struct verdict disks[MAXN];
	size_t n_disks;
	struct {
		char name[80], dev[256], type[16];
		unsigned minor;
		bool live;
		char members[MAXN][16];
		size_t n_members;
	} maps[MAXN];
	size_t n_maps;
	unsigned next_minor;
	struct { char dev[128], target[256]; } mounts[MAXN];
	size_t n_mounts;
	struct {
		char dev[64];
		char token[512];
		char image[256], image_token[512]; /* the header made under /run */
		bool present, claimed;
		uint64_t claim_size; /* 0: this disk's */
		unsigned sector, pending_sector;
	} hdr[MAXN];
	unsigned char keys[MAXN][64];
	size_t n_keys;
	int fail_format_on; /* index into disks, -1 for none */
	int fail_wipe_on; /* the same, for the header wipe */
	unsigned formats, mkfs, mount_calls, wipes, discards, warnings, worker_jobs, all_jobs;
	unsigned claim_reads; /* claim_read calls */
	char removed[16][80];
	size_t n_removed;
	char stripe_members[256];
} w;

static int hdr_find(const char *dev)
{
	for (size_t i = 0; i < w.n_disks; i++)
		if (strcmp(w.hdr[i].dev, dev) == 0)
			return (int)i;
	return -1;
}

/* The disk whose header image is this file. */
static int image_find(const char *path)
{
	for (size_t i = 0; i < w.n_disks; i++)
		if (w.hdr[i].image[0] && strcmp(w.hdr[i].image, path) == 0)
			return (int)i;
	return -1;
}

static int map_find(const char *name)
{
	if (strncmp(name, "/dev/mapper/", 12) == 0)
		name += 12;
	for (size_t i = 0; i < w.n_maps; i++)
		if (strcmp(w.maps[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int map_add(const char *name, const char *dev, const char *type, bool live)
{
	size_t i = w.n_maps++;

	memset(&w.maps[i], 0, sizeof(w.maps[i]));
	snprintf(w.maps[i].name, sizeof(w.maps[0].name), "%s", name);
	snprintf(w.maps[i].dev, sizeof(w.maps[0].dev), "%s", dev);
	snprintf(w.maps[i].type, sizeof(w.maps[0].type), "%s", type);
	w.maps[i].minor = ++w.next_minor;
	w.maps[i].live = live;
	return (int)i;
}

int __wrap_detect_scan(const struct cfg *c, const struct detect_opts *o, struct detection *out)
{
	(void)c;
	(void)o;
	memset(out, 0, sizeof(*out));
	out->v = calloc(w.n_disks + 1, sizeof(*out->v));
	memcpy(out->v, w.disks, w.n_disks * sizeof(*w.disks));
	out->n = w.n_disks;
	/* What libblkid would see now: a header labelled scratchcrypt, which
	 * detect_run (ownership.c) accepts only when its token names this disk. */
	for (size_t i = 0; i < out->n; i++)
		if (w.hdr[i].present) {
			struct probe_result *p = &out->v[i].probe;

			out->v[i].content = CONTENT_FOREIGN;
			out->v[i].action = ACTION_REFUSE;
			p->kind = PROBE_SIGNATURE;
			snprintf(p->type, sizeof(p->type), "crypto_LUKS");
			snprintf(p->label, sizeof(p->label), "%s", ONDISK_LUKS_LABEL);
		} else if (w.hdr[i].claimed) {
			/* A claim alone: data in the first MiB, no signature. */
			out->v[i].probe.kind = PROBE_NONZERO;
		}
	return 0;
}

int __wrap_dm_query(const char *name, struct dm_state *st, struct strv *devices)
{
	int i;

	pthread_mutex_lock(&lock);
	i = map_find(name);
	memset(st, 0, sizeof(*st));
	if (i >= 0) {
		st->exists = true;
		st->major = 254;
		st->minor = w.maps[i].minor;
		st->live_table = w.maps[i].live;
		if (w.maps[i].live)
			snprintf(st->target, sizeof(st->target), "%s", w.maps[i].type);
		if (w.maps[i].live && strcmp(w.maps[i].type, "crypt") == 0)
			st->sectors = (1 << 30) / 512;
		for (size_t k = 0; devices && k < w.maps[i].n_members; k++)
			strv_push(devices, w.maps[i].members[k]);
	}
	pthread_mutex_unlock(&lock);
	return 0;
}

int __wrap_dm_luks_header_build(const char *hdr_file, const char *dev,
				const struct dm_crypt_params *p, const void *key, size_t key_len,
				const char *const *tokens, struct reason *why)
{
	int i = hdr_find(dev);

	(void)why;
	assert_true(i >= 0);
	assert_int_equal(p->data_offset, 1024 * 1024);
	assert_int_equal(key_len, p->key_bytes);
	assert_string_equal(p->cipher, "aes-xts-plain64");
	assert_true(p->no_read_workqueue && p->no_write_workqueue);
	assert_true(w.hdr[i].claimed); /* the claim comes first */
	memcpy(w.keys[w.n_keys++], key, key_len < 64 ? key_len : 64);
	w.hdr[i].pending_sector = p->sector_size;
	snprintf(w.hdr[i].image, sizeof(w.hdr[i].image), "%s", hdr_file);
	/* The scratchcrypt token is in the header from the start. */
	assert_non_null(tokens);
	assert_non_null(tokens[0]);
	snprintf(w.hdr[i].image_token, sizeof(w.hdr[i].image_token), "%s", tokens[0]);
	return 65536;
}

int __wrap_disk_header_place(const char *dev, const char *hdr_file, uint64_t size)
{
	int i = hdr_find(dev);

	assert_int_equal(size, 65536);
	assert_int_equal(image_find(hdr_file), i); /* this disk's own header */
	if (i == w.fail_format_on)
		return -EIO;
	w.formats++;
	w.hdr[i].present = true;
	w.hdr[i].sector = w.hdr[i].pending_sector;
	/* One write: the header with the tokens added to its image. */
	memcpy(w.hdr[i].token, w.hdr[i].image_token, sizeof(w.hdr[i].token));
	return 0;
}

/* The disk is as detected, unless a test changes it under us. */
static const char *changed_dev;

int __wrap_disk_recheck(const struct verdict *v, int *fd, struct reason *why)
{
	if (changed_dev && strcmp(v->disk.devnode, changed_dev) == 0)
		return reason_set(why, -EMEDIUMTYPE, "%s changed since it was detected; left untouched",
				  v->disk.devnode);
	*fd = -1;
	return 0;
}

int __wrap_disk_claim_write(const char *dev, const struct sc_claim *c)
{
	(void)c;
	w.hdr[hdr_find(dev)].claimed = true;
	return 0;
}

int __wrap_claim_read(const char *dev, struct sc_claim *c)
{
	int i = hdr_find(dev);

	w.claim_reads++;
	memset(c, 0, sizeof(*c));
	if (i < 0 || !w.hdr[i].claimed)
		return 0;
	c->size = w.hdr[i].claim_size ?: w.disks[i].disk.size_bytes;
	return 1;
}

int __wrap_disk_claim_clear(const char *dev)
{
	w.hdr[hdr_find(dev)].claimed = false;
	return 0;
}

int __wrap_disk_header_wipe(const char *dev)
{
	int i = hdr_find(dev);

	assert_true(i >= 0);
	/* The intent is on the disk before anything is wiped. */
	if (w.hdr[i].present && w.hdr[i].token[0])
		assert_non_null(strstr(w.hdr[i].token, "\"state\":\"shredding\""));
	if (i == w.fail_wipe_on)
		return -EIO;
	w.hdr[i].present = false;
	w.wipes++;
	return 0;
}

int __wrap_disk_discard_data(const char *dev)
{
	(void)dev;
	w.discards++;
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
	assert_true(w.hdr[hdr_find(dev)].present);
	assert_non_null(strstr(w.hdr[hdr_find(dev)].token, "scratchcrypt")); /* token before use */
	map_add(name, dev, "crypt", true);
	pthread_mutex_unlock(&lock);
	return 0;
}

/* The fake kernel lives in this process: the jobs run here, in order, as
 * workers_run() does them with one at a time (tests/unit/test_workers.c
 * tests the processes). */
int __wrap_workers_run(size_t n, unsigned max, worker_job job, void *arg, const char *const *labels,
		       size_t *failed, struct reason *why)
{
	(void)max;
	(void)labels;
	w.worker_jobs += (unsigned)n;
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

	(void)max;
	(void)labels;
	w.worker_jobs += (unsigned)n;
	w.all_jobs += (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		results[i] = job(i, arg, &whys[i]);
		failed += results[i] < 0;
	}
	return failed;
}

int __wrap_dm_crypt_info(const char *name, struct dm_crypt_info *info)
{
	int i = map_find(name);

	if (i < 0 || strcmp(w.maps[i].type, "crypt"))
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	snprintf(info->device, sizeof(info->device), "%s", w.maps[i].dev);
	info->size_bytes = 1 << 30;
	return 0;
}

int __wrap_dm_create_empty(const char *name, const char *uuid)
{
	(void)uuid;
	assert_int_equal(map_find(name), -1);
	map_add(name, "", "striped", false);
	return 0;
}

int __wrap_dm_load_stripe(const char *name, const struct strv *members, uint64_t chunk,
			  uint64_t sectors)
{
	int s = map_find(name);

	assert_true(s >= 0);
	assert_int_equal(chunk, 512);
	assert_int_equal(sectors, (1 << 30) / 512);
	w.stripe_members[0] = '\0';
	w.maps[s].n_members = 0;
	for (size_t i = 0; i < members->n; i++) {
		int m = map_find(members->v[i]);

		assert_true(m >= 0);
		strcat(w.stripe_members, members->v[i]);
		strcat(w.stripe_members, " ");
		snprintf(w.maps[s].members[w.maps[s].n_members++], 16, "254:%u", w.maps[m].minor);
	}
	return 0;
}

int __wrap_dm_resume(const char *name)
{
	int s = map_find(name);

	assert_true(s >= 0);
	w.maps[s].live = true;
	return 0;
}

int __wrap_dm_luks_token_get(const char *dev, const char *type, char **json)
{
	int i = hdr_find(dev);

	if (i < 0 || !w.hdr[i].present)
		return -ENODEV;
	if (strcmp(type, TOKEN_TYPE) != 0 || !w.hdr[i].token[0])
		return -ENOENT;
	*json = strdup(w.hdr[i].token);
	return 0;
}

int __wrap_dm_luks_token_set(const char *dev, const char *type, const char *json)
{
	int i = hdr_find(dev);

	if (i < 0 || !w.hdr[i].present)
		return -ENODEV;
	assert_string_equal(type, TOKEN_TYPE);
	snprintf(w.hdr[i].token, sizeof(w.hdr[i].token), "%s", json);
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
	for (size_t i = 0; i < w.n_maps; i++)
		if (strncmp(w.maps[i].name, prefix, strlen(prefix)) == 0)
			strv_push(names, w.maps[i].name);
	return 0;
}

static int unmap(const char *name)
{
	int i = map_find(name);

	if (i < 0)
		return 0;
	for (size_t k = 0; k < w.n_mounts; k++)
		if (strstr(w.mounts[k].dev, name))
			fail_msg("%s removed while mounted", name);
	snprintf(w.removed[w.n_removed++], 80, "%s", name);
	w.maps[i] = w.maps[--w.n_maps];
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
	assert_true(map_find(dev) >= 0);
	w.mkfs++;
	return 0;
}

int __wrap_fs_mount(const char *dev, const char *target, enum fs_type type)
{
	(void)type;
	w.mount_calls++;
	snprintf(w.mounts[w.n_mounts].dev, 128, "%s", dev);
	snprintf(w.mounts[w.n_mounts].target, 256, "%s", target);
	w.n_mounts++;
	return 0;
}

int __wrap_fs_mounts_of(const char *dev, char (*targets)[256], size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < w.n_mounts && n < max; i++)
		if (strcmp(w.mounts[i].dev, dev) == 0)
			snprintf(targets[n++], 256, "%s", w.mounts[i].target);
	return (int)n;
}

int __wrap_fs_mount_state(const char *dev, const char *target)
{
	for (size_t i = 0; i < w.n_mounts; i++)
		if (strcmp(w.mounts[i].target, target) == 0)
			return dev && strcmp(w.mounts[i].dev, dev) == 0 ? FS_AT_DEV
			       : map_find(w.mounts[i].dev) >= 0	       ? FS_AT_OTHER
									       : FS_AT_GONE;
	return FS_AT_NOTHING;
}

int __wrap_fs_umount(const char *target, bool detach)
{
	(void)detach;
	for (size_t i = 0; i < w.n_mounts; i++)
		if (strcmp(w.mounts[i].target, target) == 0) {
			w.mounts[i] = w.mounts[--w.n_mounts];
			return 0;
		}
	return 0;
}

int __wrap_fs_write_warning(const char *mp)
{
	(void)mp;
	w.warnings++;
	return 0;
}

int __wrap_fs_has_warning(const char *mp)
{
	(void)mp;
	return 0;
}

static void disk(const char *dev, enum disk_role role, enum disk_action action, uint64_t size)
{
	struct verdict *v = &w.disks[w.n_disks];

	memset(v, 0, sizeof(*v));
	snprintf(v->disk.devnode, sizeof(v->disk.devnode), "%s", dev);
	v->disk.size_bytes = size;
	v->disk.logical_block_size = 512;
	v->role = role;
	v->action = action;
	v->content = action == ACTION_REFUSE ? CONTENT_FOREIGN : CONTENT_BLANK;
	snprintf(w.hdr[w.n_disks].dev, sizeof(w.hdr[0].dev), "%s", dev);
	w.n_disks++;
}

static char rundir[64];
static struct cfg cfg;
static struct lc_opts opts;

/* lc_start and lc_stop, their detection freed (the CLI hands it to the
 * metrics first). */
static int start_run(struct lc_result *res)
{
	int r = lc_start(&cfg, &opts, res);

	assert_true(r < 0 || res->det.v);
	lc_result_free(res);
	return r;
}

static int stop_run(struct lc_result *res)
{
	int r = lc_stop(&cfg, &opts, res);

	lc_result_free(res);
	return r;
}

static int setup(void **state)
{
	(void)state;
	memset(&w, 0, sizeof(w));
	w.fail_format_on = -1;
	w.fail_wipe_on = -1;
	snprintf(rundir, sizeof(rundir), "/tmp/sc-test-lc-XXXXXX");
	assert_non_null(mkdtemp(rundir));
	setenv("SCRATCHCRYPT_RUNTIME_DIR", rundir, 1);
	cfg_init(&cfg);
	opts = (struct lc_opts){ .paths = &sys_paths_default };
	disk("/dev/sdb", ROLE_TEMP, ACTION_ENCRYPT, 1ULL << 30);
	disk("/dev/nvme0n1", ROLE_SCRATCH, ACTION_ENCRYPT, 1ULL << 30);
	disk("/dev/nvme1n1", ROLE_SCRATCH, ACTION_ENCRYPT, 1ULL << 30);
	disk("/dev/nvme2n1", ROLE_SCRATCH, ACTION_REFUSE, 1ULL << 30);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	cfg_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
	return system(cmd);
}

static bool token_fs_ready(int i)
{
	struct json_object *o = json_tokener_parse(w.hdr[i].token), *f;
	bool r = o && json_object_object_get_ex(o, "fs_ready", &f) && json_object_get_boolean(f);

	json_object_put(o);
	return r;
}

static void test_fresh_start(void **state)
{
	struct lc_result res;
	enum disk_state st;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.set_up, 2);
	assert_int_equal(res.refused, 1);
	assert_int_equal(w.formats, 3); /* never the refused disk */
	assert_false(w.hdr[3].present);
	/* Blank disks: no claim or header of ours can be on them to read. */
	assert_int_equal(w.claim_reads, 0);
	/* Fresh, distinct, non-zero 512-bit keys. */
	for (size_t i = 0; i < w.n_keys; i++) {
		static const unsigned char zero[64];
		assert_memory_not_equal(w.keys[i], zero, 64);
		for (size_t k = 0; k < i; k++)
			assert_memory_not_equal(w.keys[i], w.keys[k], 64);
	}
	assert_true(map_find("scratchcrypt-temp") >= 0);
	assert_true(map_find("scratchcrypt-scratch-0") >= 0);
	assert_true(map_find("scratchcrypt-scratch-1") >= 0);
	assert_string_equal(w.stripe_members,
			    "/dev/mapper/scratchcrypt-scratch-0 /dev/mapper/scratchcrypt-scratch-1 ");
	assert_int_equal(w.mkfs, 2);
	assert_int_equal(w.warnings, 2);
	/* A worker's job: every member after a volume's first (its first, set
	 * up here, loads the libraries for the others). */
	assert_int_equal(w.worker_jobs, 1);
	assert_true(token_fs_ready(0));
	assert_true(token_fs_ready(1));
	assert_non_null(strstr(w.hdr[1].token, "\"key_source\":\"system\""));
	assert_int_equal(w.hdr[0].sector, 4096);
	char t[4][256];
	assert_int_equal(__wrap_fs_mounts_of("/dev/mapper/scratchcrypt-temp", t, 4), 1);
	assert_string_equal(t[0], "/mnt/resource");
	assert_int_equal(__wrap_fs_mounts_of("/dev/mapper/scratchcrypt-scratch", t, 4), 1);
	assert_string_equal(t[0], "/mnt/scratch");
	assert_int_equal(runstate_get(ROLE_SCRATCH, &st, NULL, 0, NULL), 0);
	assert_int_equal(st, STATE_ENCRYPTED);

	/* The second start changes nothing. */
	unsigned formats = w.formats, mkfs = w.mkfs, mounts = w.mount_calls;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.already, 2);
	assert_int_equal(res.set_up, 0);
	assert_int_equal(w.formats, formats);
	assert_int_equal(w.mkfs, mkfs);
	assert_int_equal(w.mount_calls, mounts);
	assert_int_equal(w.claim_reads, 3); /* each disk of ours */
}

static void test_resume_after_kill(void **state)
{
	struct lc_result res;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	/* Killed during mkfs: mapped, the token says mkfs did not finish. */
	w.n_mounts = 0;
	assert_int_equal(token_set_state(w.hdr[0].dev, TOKEN_NEW), 0);
	unsigned formats = w.formats, mkfs = w.mkfs;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(w.formats, formats); /* the open mappings are kept */
	assert_int_equal(w.mkfs, mkfs + 1);   /* temp: mkfs again; scratch: just mount */
	assert_int_equal(w.n_mounts, 2);
	assert_true(token_fs_ready(0));
}

static void test_format_failure(void **state)
{
	struct lc_result res;
	enum disk_state st;
	char note[256];

	(void)state;
	w.fail_format_on = 2; /* nvme1n1 */
	assert_int_equal(start_run(&res), -EIO);
	assert_int_equal(res.set_up, 1); /* temp is still set up */
	assert_int_equal(map_find("scratchcrypt-scratch"), -1);
	assert_int_equal(w.mkfs, 1);
	assert_int_equal(runstate_get(ROLE_SCRATCH, &st, note, sizeof(note), NULL), 0);
	assert_int_equal(st, STATE_ERROR);
	assert_non_null(strstr(note, "Input/output error"));
	/* Once the disk works, a start finishes the job. */
	w.fail_format_on = -1;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.set_up, 1);
	assert_int_equal(res.already, 1);
	assert_true(map_find("scratchcrypt-scratch") >= 0);
}

static void test_mapping_on_another_disk(void **state)
{
	struct lc_result res;

	(void)state;
	snprintf(w.maps[0].name, 80, "scratchcrypt-temp");
	snprintf(w.maps[0].dev, 256, "/dev/sdz");
	snprintf(w.maps[0].type, 16, "crypt");
	w.maps[0].live = true;
	w.n_maps = 1;
	assert_int_equal(start_run(&res), -EEXIST);
	assert_false(w.hdr[0].present);
}

static void test_stop_shreds(void **state)
{
	struct lc_result res;
	enum disk_state st;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(w.n_mounts, 0);
	assert_int_equal(w.n_maps, 0);
	assert_int_equal(w.wipes, 3);
	assert_int_equal(w.discards, 3);
	assert_int_equal(res.shredded, 3);
	/* Three disks marked, three members closed and three disks shredded,
	 * by workers. */
	assert_int_equal(w.all_jobs, 9);
	/* The stripe goes before its members. */
	int stripe = -1, member = -1;
	for (size_t i = 0; i < w.n_removed; i++) {
		if (strcmp(w.removed[i], "scratchcrypt-scratch") == 0)
			stripe = (int)i;
		if (strncmp(w.removed[i], "scratchcrypt-scratch-", 21) == 0 && member < 0)
			member = (int)i;
	}
	assert_true(stripe >= 0 && member > stripe);
	assert_int_equal(runstate_get(ROLE_TEMP, &st, NULL, 0, NULL), 0);
	assert_int_equal(st, STATE_SHREDDED);
	/* Idempotent. */
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(w.wipes, 3);
}

/* A disk whose header cannot be wiped does not keep the others from being
 * shredded; stop fails, names it, and a second stop finishes it. */
static void test_stop_shreds_the_others(void **state)
{
	struct lc_result res;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	w.fail_wipe_on = 1;
	assert_int_equal(stop_run(&res), -EIO);
	assert_int_equal(res.shredded, 2);
	assert_false(w.hdr[0].present);
	assert_true(w.hdr[1].present);
	assert_false(w.hdr[2].present);
	assert_int_equal(w.n_maps, 0);
	w.fail_wipe_on = -1;
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(res.shredded, 1);
	assert_false(w.hdr[1].present);
}

static void test_stop_keep_and_no_discard(void **state)
{
	struct lc_result res;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	opts.keep = true;
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(w.n_maps, 0);
	assert_int_equal(w.n_mounts, 0);
	assert_int_equal(w.wipes, 0);
	assert_true(w.hdr[0].present);
	/* A later stop, after a reboot, still shreds what is on the disks. */
	opts.keep = false;
	cfg.shred_discard = false;
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(w.wipes, 3);
	assert_int_equal(w.discards, 0);
}

static void test_sector_size_fallback(void **state)
{
	struct lc_result res;

	(void)state;
	w.disks[0].disk.size_bytes = (1ULL << 30) + 1024; /* not a multiple of 4096 */
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(w.hdr[0].sector, 1024);
	assert_int_equal(w.hdr[1].sector, 4096);
}

static void test_claimed_disk_is_redone(void **state)
{
	struct lc_result res;

	(void)state;
	/* Stopped between the claim and the header: libblkid sees data it does
	 * not know, the claim says it is ours. */
	w.disks[2].content = CONTENT_FOREIGN;
	w.disks[2].action = ACTION_REFUSE;
	snprintf(w.disks[2].reason, sizeof(w.disks[2].reason),
		 "holds data without a known signature that scratchcrypt did not write");
	w.hdr[2].claimed = true;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.refused, 1); /* nvme2n1 only */
	assert_int_equal(w.formats, 3);
	assert_true(map_find("scratchcrypt-scratch-1") >= 0);
}

static void test_claim_of_another_disk_is_not_ours(void **state)
{
	struct lc_result res;

	(void)state;
	/* A claim naming another disk (a copied image): still refused. */
	w.disks[2].content = CONTENT_FOREIGN;
	w.disks[2].action = ACTION_REFUSE;
	w.hdr[2].claimed = true;
	w.hdr[2].claim_size = 2ULL << 30;
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.refused, 2);
	assert_false(w.hdr[2].present);
}

static void test_half_made_mappings_are_cleared(void **state)
{
	struct lc_result res;

	(void)state;
	/* A mapping created without a table, and a stripe never resumed. */
	map_add("scratchcrypt-temp", "", "crypt", false);
	map_add("scratchcrypt-scratch", "", "striped", false);
	assert_int_equal(start_run(&res), 0);
	assert_int_equal(res.set_up, 2);
	assert_string_equal(w.removed[0], "scratchcrypt-temp");
	assert_string_equal(w.removed[1], "scratchcrypt-scratch");
	assert_true(w.maps[map_find("scratchcrypt-temp")].live);
	assert_true(w.maps[map_find("scratchcrypt-scratch")].live);
}

static void test_stop_marks_before_it_wipes(void **state)
{
	struct lc_result res;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	opts.keep = true;
	assert_int_equal(stop_run(&res), 0);
	assert_non_null(strstr(w.hdr[0].token, "\"state\":\"ready\"")); /* --keep: no intent */
	opts.keep = false;
	assert_int_equal(stop_run(&res), 0); /* the wipe asserts the mark */
	assert_int_equal(w.wipes, 3);
	for (int i = 0; i < 3; i++)
		assert_false(w.hdr[i].claimed);
}

static void test_start_after_a_cut_off_stop(void **state)
{
	struct lc_result res;

	(void)state;
	assert_int_equal(start_run(&res), 0);
	/* A stop marked the volumes and was cut off before it unmounted. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(token_set_state(w.hdr[i].dev, TOKEN_SHREDDING), 0);
	assert_int_equal(start_run(&res), -EBUSY);
	assert_int_equal(stop_run(&res), 0);
	assert_int_equal(w.wipes, 3);
}

/* A disk that changes between detection and the first write (another
 * process wrote to it while HBI keys were fetched) is left untouched. */
static void test_disk_changed_before_first_write(void **state)
{
	struct lc_result res;

	(void)state;
	changed_dev = w.disks[0].disk.devnode;
	assert_int_equal(start_run(&res), -EMEDIUMTYPE);
	changed_dev = NULL;
	assert_false(w.hdr[0].claimed);
	assert_false(w.hdr[0].present);
}

/* Regression: an HBI token whose wrapped_key is null crashed start. */
static void test_hostile_tokens(void **state)
{
	static const char *const bad[] = {
		"", "null", "[]", "{", "{\"kid\":\"k\",\"wrapped_key\":null}",
		"{\"kid\":null,\"wrapped_key\":\"x\"}", "{\"kid\":\"k\",\"wrapped_key\":7}",
		"{\"kid\":\"k\",\"wrapped_key\":\"\"}", "{\"kid\":[],\"wrapped_key\":{}}",
	};
	struct sc_token t;
	char kid[64], *wrapped = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(token_hbi_parse(bad[i], kid, sizeof(kid), &wrapped), -EBADMSG);
		assert_int_equal(token_from_json(bad[i], &t), -EBADMSG);
	}
	assert_int_equal(token_hbi_parse(NULL, kid, sizeof(kid), &wrapped), -EBADMSG);
	assert_null(wrapped);
	assert_int_equal(token_hbi_parse("{\"kid\":\"k\",\"wrapped_key\":\"w\"}", kid, sizeof(kid),
					 &wrapped), 0);
	assert_string_equal(wrapped, "w");
	free(wrapped);
	/* Wrong types in our own token are absent values, never a crash. */
	assert_int_equal(token_from_json("{\"type\":\"scratchcrypt\",\"role\":null,\"index\":\"1\","
					 "\"members\":-3,\"serial\":7,\"size\":null,\"state\":\"ready\"}", &t), 0);
	assert_int_equal(t.members, 0);
	assert_string_equal(t.serial, "");
}

/* Regression: a FIFO by the warning file's name on a reopened HBI
 * filesystem blocked start; a symlink there must not be followed. */
int __real_fs_write_warning(const char *mount_point);
static void test_warning_file_is_never_followed(void **state)
{
	char dir[] = "/tmp/sc-test-warning-XXXXXX", path[128], victim[128], cmd[160];
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/" ONDISK_WARNING_FILE, dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(__real_fs_write_warning(dir), -EEXIST);
	assert_int_equal(unlink(path), 0);
	f = fopen(victim, "w");
	fputs("mine", f);
	fclose(f);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(__real_fs_write_warning(dir), -EEXIST);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(__real_fs_write_warning(dir), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size > 100);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* ext4_cluster_size = auto: 4 KiB blocks where mkfs is cheap anyway, and
 * never more than 1024 block groups to make on a bigger disk. */
static void test_ext4_cluster_by_size(void **state)
{
	static const struct {
		uint64_t size;
		unsigned cluster;
	} want[] = {
		{ 256ULL << 20, 4096 },  { 16ULL << 30, 4096 },        { 128ULL << 30, 4096 },
		{ (128ULL << 30) + 4096, 8192 }, { 256ULL << 30, 8192 }, { 1ULL << 40, 32768 },
		{ 1920383410176ULL, 65536 },  /* a 1.92 TB local NVMe disk */
		{ 3840755982336ULL, 131072 }, /* 3.84 TB */
		{ 4ULL << 40, 131072 },         { 1ULL << 50, 1048576 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		unsigned c = fs_ext4_cluster_size(want[i].size);

		if (c != want[i].cluster)
			fail_msg("%llu bytes: cluster %u, expected %u", (unsigned long long)want[i].size, c,
				 want[i].cluster);
		if (c < 1048576 && want[i].size > 1024ULL * 32768 * c)
			fail_msg("%llu bytes: more than 1024 groups", (unsigned long long)want[i].size);
	}
}

int main(void)
{
	log_set_level(LOG_LVL_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ext4_cluster_by_size),
		cmocka_unit_test_setup_teardown(test_fresh_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_changed_before_first_write, setup, teardown),
		cmocka_unit_test(test_hostile_tokens),
		cmocka_unit_test(test_warning_file_is_never_followed),
		cmocka_unit_test_setup_teardown(test_format_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapping_on_another_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_shreds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_shreds_the_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_keep_and_no_discard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sector_size_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claimed_disk_is_redone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_of_another_disk_is_not_ours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_made_mappings_are_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_marks_before_it_wipes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_after_a_cut_off_stop, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
