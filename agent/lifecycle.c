// SPDX-License-Identifier: MIT
#include "agent/lifecycle.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <time.h>

#include "agent/fs.h"
#include "agent/keysource.h"
#include "agent/log.h"
#include "agent/runstate.h"
#include "agent/safemem.h"
#include "dm/dm.h"

#define MAX_MEMBERS 16
#define STRIPE_CHUNK_SECTORS 512 /* 256 KiB */

struct group {
	enum disk_role role;
	const char *mount_point;
	char top[64];
	size_t n;
	struct verdict *m[MAX_MEMBERS];
};

enum job_mode {
	JOB_KEEP,   /* the mapping is open already */
	JOB_FORMAT, /* a fresh key and a fresh header */
	JOB_REOPEN, /* HBI: unwrap the key the header's token holds */
};

struct member_job {
	const struct cfg *c;
	const struct group *g;
	const struct verdict *v;
	unsigned index;
	char name[80];
	enum job_mode mode;
	void *key; /* safe memory */
	size_t key_len;
	char *hbi_token;
	int r;
};

/* Opened on first need, so that a node already set up never waits for the
 * key service. */
struct keyctx {
	struct hbi *hbi;
	int hbi_error; /* the key service failed once: every role fails closed */
};

void lc_top_name(char *buf, size_t size, enum disk_role role)
{
	snprintf(buf, size, SC_MAPPING_PREFIX "%s", disk_role_to_string(role));
}

const char *lc_mount_point(const struct cfg *c, enum disk_role role)
{
	return role == ROLE_TEMP ? c->temp_mount : c->scratch_mount;
}

static void member_name(const struct group *g, unsigned i, char *buf, size_t size)
{
	if (g->n == 1)
		snprintf(buf, size, "%s", g->top);
	else
		snprintf(buf, size, "%s-%u", g->top, i);
}

static unsigned pick_sector_size(const struct cfg *c, const struct sys_disk *d)
{
	unsigned s = c->sector_size;

	/* The device must allow it: no smaller than its logical block, and
	 * dividing its size. */
	while (s > 512 && (s < d->logical_block_size || d->size_bytes % s))
		s /= 2;
	return s < d->logical_block_size ? d->logical_block_size : s;
}

static void crypt_params(const struct cfg *c, const struct sys_disk *d,
			 struct dm_crypt_params *p)
{
	memset(p, 0, sizeof(*p));
	p->cipher = c->cipher;
	p->key_bytes = c->key_bits / 8;
	p->sector_size = pick_sector_size(c, d);
	p->no_read_workqueue = c->no_read_workqueue;
	p->no_write_workqueue = c->no_write_workqueue;
	p->allow_discards = c->allow_discards;
}

static char *token_json(const struct cfg *c, enum disk_role role, unsigned index, unsigned members)
{
	struct json_object *o = json_object_new_object();
	char *s;

	json_object_object_add(o, "type", json_object_new_string(SC_TOKEN_TYPE));
	json_object_object_add(o, "keyslots", json_object_new_array());
	json_object_object_add(o, "key_source",
			       json_object_new_string(key_source_to_string(c->key_source)));
	json_object_object_add(o, "role", json_object_new_string(disk_role_to_string(role)));
	json_object_object_add(o, "index", json_object_new_int((int)index));
	json_object_object_add(o, "members", json_object_new_int((int)members));
	json_object_object_add(o, "created", json_object_new_int64((int64_t)time(NULL)));
	json_object_object_add(o, "fs_ready", json_object_new_boolean(0));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static int random_key(void *key, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = getrandom((char *)key + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

/* Runs in a thread per disk: keys are ready, only the disk work is left. */
static void *member_work(void *arg)
{
	struct member_job *j = arg;
	struct dm_crypt_params p;
	char subsystem[48], *tok = NULL;
	const char *tokens[3] = { NULL };
	const char *dev = j->v->disk.devnode;
	int r = 0;

	crypt_params(j->c, &j->v->disk, &p);
	sc_subsystem(subsystem, sizeof(subsystem), j->g->role, j->index, (unsigned)j->g->n);
	p.subsystem = subsystem;
	if (j->mode == JOB_FORMAT) {
		tok = token_json(j->c, j->g->role, j->index, (unsigned)j->g->n);
		if (!tok) {
			r = -ENOMEM;
			goto out;
		}
		tokens[0] = tok;
		tokens[1] = j->hbi_token;
		log_info("%s: %s: writing LUKS2 header (%s, %zu-bit key, %u-byte sectors)",
			 disk_role_to_string(j->g->role), dev, p.cipher, p.key_bytes * 8, p.sector_size);
		r = dm_luks_format(dev, &p, j->key, j->key_len, tokens);
		if (r < 0) {
			log_error_errno(r, "%s: cannot write the LUKS2 header: %s%s%m", dev,
					dm_last_error(), *dm_last_error() ? ": " : "");
			goto out;
		}
	}
	r = dm_luks_activate(dev, j->name, &p, j->key, j->key_len);
	if (r == -EPERM) {
		r = -EKEYREVOKED;
		log_error("%s: the unwrapped key does not match the LUKS2 header's digest; the disk "
			  "stays closed", dev);
	} else if (r < 0)
		log_error_errno(r, "%s: cannot activate /dev/mapper/%s: %s%s%m", dev, j->name,
				dm_last_error(), *dm_last_error() ? ": " : "");
out:
	free(tok);
	j->r = r;
	return NULL;
}

/* The keys, in this thread: a fresh one per disk, wrapped in HBI mode, or
 * the HBI disk's own one, unwrapped. Network calls stay serial. */
static int member_key(struct keyctx *k, struct member_job *j)
{
	const struct cfg *c = j->c;
	int r;

	if (k->hbi_error)
		return k->hbi_error;
	if (c->key_source == KEY_SOURCE_HBI && !k->hbi) {
		r = hbi_open(c, NULL, &k->hbi);
		if (r < 0)
			return k->hbi_error = r;
	}
	if (j->mode == JOB_REOPEN) {
		r = hbi_unwrap_disk(k->hbi, j->v->disk.devnode, &j->key, &j->key_len);
		if (r < 0)
			return r;
		if (j->key_len != c->key_bits / 8)
			log_info("%s: its key has %zu bits (configured: %u); the disk keeps it",
				 j->v->disk.devnode, j->key_len * 8, c->key_bits);
		return 0;
	}
	j->key_len = c->key_bits / 8;
	j->key = safe_alloc(j->key_len);
	if (!j->key)
		return -ENOMEM;
	r = random_key(j->key, j->key_len);
	if (r < 0)
		return r;
	if (c->key_source == KEY_SOURCE_HBI)
		return hbi_wrap(k->hbi, j->key, j->key_len, &j->hbi_token);
	return 0;
}

/* An existing mapping is kept only when it sits on the disk we expect. */
static int check_existing(struct member_job *j)
{
	struct dm_crypt_info info;
	int r = dm_crypt_info(j->name, &info);

	if (r < 0)
		return log_error_errno(r, "/dev/mapper/%s exists but cannot be inspected: %m", j->name);
	if (strcmp(info.device, j->v->disk.devnode) != 0) {
		log_error("/dev/mapper/%s sits on %s, not on %s; run 'scratchcrypt stop' first",
			  j->name, info.device, j->v->disk.devnode);
		return -EEXIST;
	}
	return 0;
}

static int token_fs_ready(const struct verdict *v, bool *ready)
{
	struct json_object *o, *f;
	char *json = NULL;
	int r = dm_luks_token_get(v->disk.devnode, SC_TOKEN_TYPE, &json);

	*ready = false;
	if (r < 0)
		return r;
	o = json_tokener_parse(json);
	if (o && json_object_object_get_ex(o, "fs_ready", &f))
		*ready = json_object_get_boolean(f);
	json_object_put(o);
	free(json);
	return 0;
}

static int token_mark_fs_ready(const struct verdict *v)
{
	struct json_object *o;
	char *json = NULL;
	int r = dm_luks_token_get(v->disk.devnode, SC_TOKEN_TYPE, &json);

	if (r < 0)
		return r;
	o = json_tokener_parse(json);
	free(json);
	if (!o)
		return -EINVAL;
	json_object_object_add(o, "fs_ready", json_object_new_boolean(1));
	r = dm_luks_token_set(v->disk.devnode, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return r;
}

static bool mounted_at(const char *dev, const char *mount_point)
{
	char targets[8][256];
	int n = fs_mounts_of(dev, targets, 8);

	for (int i = 0; i < n; i++)
		if (strcmp(targets[i], mount_point) == 0)
			return true;
	return false;
}

/* HBI disks keep their data, so a stripe is reopened only as it was made:
 * the same disks, each in its place. A new disk among them means the data
 * cannot be put back together; that is for the operator to decide. */
static int check_membership(const struct group *g, const struct member_job *jobs)
{
	unsigned reopen = 0, format = 0;

	for (unsigned i = 0; i < g->n; i++) {
		reopen += jobs[i].mode != JOB_FORMAT;
		format += jobs[i].mode == JOB_FORMAT;
		if (jobs[i].mode == JOB_REOPEN &&
		    (jobs[i].v->ours_members != g->n || jobs[i].v->ours_index != i)) {
			log_error("%s was disk %u of %u of the %s volume, but %zu disks are there now; "
				  "run 'scratchcrypt stop' to deprovision them first",
				  jobs[i].v->disk.devnode, jobs[i].v->ours_index, jobs[i].v->ours_members,
				  disk_role_to_string(g->role), g->n);
			return -EMEDIUMTYPE;
		}
	}
	if (reopen && format) {
		log_error("the %s volume mixes disks that hold HBI data with new ones; "
			  "run 'scratchcrypt stop' to deprovision them first",
			  disk_role_to_string(g->role));
		return -EMEDIUMTYPE;
	}
	return 0;
}

static int group_start(const struct cfg *c, struct keyctx *k, struct group *g)
{
	struct member_job jobs[MAX_MEMBERS] = { 0 };
	pthread_t th[MAX_MEMBERS];
	bool started[MAX_MEMBERS] = { false }, fresh = false, reopened = false, ready = false;
	const char *role = disk_role_to_string(g->role);
	char topdev[128], label[16];
	int r = 0;

	snprintf(topdev, sizeof(topdev), "/dev/mapper/%s", g->top);
	if (mounted_at(topdev, g->mount_point)) {
		log_info("%s: already encrypted and mounted at %s", role, g->mount_point);
		return 1;
	}

	for (unsigned i = 0; i < g->n; i++) {
		struct member_job *j = &jobs[i];

		j->c = c;
		j->g = g;
		j->v = g->m[i];
		j->index = i;
		member_name(g, i, j->name, sizeof(j->name));
		r = dm_exists(j->name);
		if (r < 0)
			return log_error_errno(r, "cannot query device-mapper for %s: %m", j->name);
		if (r == 1) {
			j->mode = JOB_KEEP;
			r = check_existing(j);
			if (r < 0)
				return r;
			continue;
		}
		j->mode = c->key_source == KEY_SOURCE_HBI && j->v->content == CONTENT_OURS ? JOB_REOPEN
											 : JOB_FORMAT;
	}
	r = c->key_source == KEY_SOURCE_HBI ? check_membership(g, jobs) : 0;
	for (unsigned i = 0; r == 0 && i < g->n; i++)
		if (jobs[i].mode != JOB_KEEP)
			r = member_key(k, &jobs[i]);

	/* Each disk its own key and mapping, set up in parallel. */
	for (unsigned i = 0; r == 0 && i < g->n; i++) {
		if (jobs[i].mode == JOB_KEEP)
			continue;
		if (pthread_create(&th[i], NULL, member_work, &jobs[i]) == 0)
			started[i] = true;
		else
			member_work(&jobs[i]);
	}
	for (unsigned i = 0; i < g->n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		if (jobs[i].r < 0 && r == 0)
			r = jobs[i].r;
		fresh |= jobs[i].mode == JOB_FORMAT && jobs[i].r == 0;
		reopened |= jobs[i].mode == JOB_REOPEN && jobs[i].r == 0;
		safe_free(jobs[i].key);
		free(jobs[i].hbi_token);
	}
	if (r < 0)
		return r;
	if (reopened)
		(void)runstate_mark(g->role, "last_unwrap");

	if (g->n > 1) {
		r = dm_exists(g->top);
		if (r < 0)
			return log_error_errno(r, "cannot query device-mapper for %s: %m", g->top);
		if (r == 0) {
			const char *members[MAX_MEMBERS];
			char paths[MAX_MEMBERS][128];
			uint64_t min = UINT64_MAX;

			for (unsigned i = 0; i < g->n; i++) {
				struct dm_crypt_info info;

				snprintf(paths[i], sizeof(paths[i]), "/dev/mapper/%s", jobs[i].name);
				members[i] = paths[i];
				r = dm_crypt_info(jobs[i].name, &info);
				if (r < 0)
					return log_error_errno(r, "cannot size %s: %m", paths[i]);
				if (info.size_bytes / 512 < min)
					min = info.size_bytes / 512;
			}
			log_info("%s: striping %zu disks into %s", role, g->n, topdev);
			r = dm_stripe_create(g->top, members, g->n, STRIPE_CHUNK_SECTORS, min);
			if (r < 0)
				return log_error_errno(r, "cannot create the stripe %s: %m", topdev);
		}
	}

	/* The header's token says whether mkfs finished, so a start killed
	 * during mkfs makes the filesystem again instead of mounting half of
	 * one, and an HBI disk that was reopened keeps its filesystem. */
	if (!fresh) {
		r = token_fs_ready(g->m[0], &ready);
		if (r < 0)
			return log_error_errno(r, "%s: cannot read the scratchcrypt token: %m",
					       g->m[0]->disk.devnode);
	}
	if (!ready) {
		snprintf(label, sizeof(label), "sc-%s", role);
		log_info("%s: making %s on %s", role, fs_type_to_string(c->fs), topdev);
		r = fs_mkfs(c->fs, topdev, label);
		if (r < 0)
			return log_error_errno(r, "mkfs.%s failed on %s", fs_type_to_string(c->fs), topdev);
		r = token_mark_fs_ready(g->m[0]);
		if (r < 0)
			return log_error_errno(r, "%s: cannot update the scratchcrypt token: %m",
					       g->m[0]->disk.devnode);
	}
	r = fs_mount(topdev, g->mount_point, c->fs);
	if (r < 0)
		return log_error_errno(r, "cannot mount %s at %s: %m", topdev, g->mount_point);
	r = fs_write_warning(g->mount_point);
	if (r < 0)
		log_warn_errno(r, "cannot write the data-loss warning in %s: %m", g->mount_point);
	log_info("%s: encrypted (%s key) and mounted at %s%s", role,
		 key_source_to_status(c->key_source), g->mount_point,
		 reopened ? ", data kept" : "");
	return 0;
}

static void build_groups(const struct cfg *c, struct detection *det, struct group g[2],
			 unsigned *refused)
{
	*refused = 0;
	for (int k = 0; k < 2; k++) {
		memset(&g[k], 0, sizeof(g[k]));
		g[k].role = k == 0 ? ROLE_TEMP : ROLE_SCRATCH;
		g[k].mount_point = lc_mount_point(c, g[k].role);
		lc_top_name(g[k].top, sizeof(g[k].top), g[k].role);
	}
	for (size_t i = 0; i < det->n; i++) {
		struct verdict *v = &det->v[i];
		struct group *gr;

		if (v->role != ROLE_TEMP && v->role != ROLE_SCRATCH)
			continue;
		if (v->action == ACTION_REFUSE) {
			(*refused)++;
			continue;
		}
		gr = &g[v->role == ROLE_TEMP ? 0 : 1];
		if (gr->n < MAX_MEMBERS)
			gr->m[gr->n++] = v;
	}
	/* Disks set up before take the places their headers record, whatever
	 * order the kernel named them in this boot. */
	for (int k = 0; k < 2; k++) {
		struct verdict *placed[MAX_MEMBERS] = { NULL };
		bool ok = g[k].n > 1;

		for (size_t i = 0; ok && i < g[k].n; i++) {
			struct verdict *v = g[k].m[i];

			ok = v->content == CONTENT_OURS && v->ours_members == g[k].n &&
			     v->ours_index < g[k].n && !placed[v->ours_index];
			if (ok)
				placed[v->ours_index] = v;
		}
		if (ok)
			memcpy(g[k].m, placed, g[k].n * sizeof(placed[0]));
	}
}

int lc_start(const struct cfg *c, const struct lc_opts *o, struct lc_result *res)
{
	struct detect_opts dopts = { .paths = o->paths, .force = o->force };
	struct keyctx keys = { 0 };
	struct detection det;
	struct group g[2];
	int r, first_err = 0;

	memset(res, 0, sizeof(*res));
	r = detect_run(c, &dopts, &det);
	if (r < 0)
		return log_error_errno(r, "cannot detect disks: %m");
	for (size_t i = 0; i < det.n_warnings; i++)
		log_warn("%s", det.warnings[i]);
	build_groups(c, &det, g, &res->refused);
	for (size_t i = 0; i < det.n; i++)
		if (det.v[i].action == ACTION_REFUSE)
			log_error("refusing %s: %s", det.v[i].disk.devnode, det.v[i].reason);

	for (int k = 0; k < 2; k++) {
		if (!g[k].n)
			continue;
		r = group_start(c, &keys, &g[k]);
		if (r == 1) {
			res->already++;
			continue;
		}
		if (r < 0) {
			/* Fail closed: the disks stay as they were, and status says why. */
			(void)runstate_set(g[k].role, STATE_ERROR, log_last_error());
			if (!first_err)
				first_err = r;
			continue;
		}
		res->set_up++;
		(void)runstate_set(g[k].role, STATE_ENCRYPTED, "");
	}
	hbi_close(keys.hbi);
	for (size_t i = 0; i < det.n; i++) {
		struct verdict *v = &det.v[i];
		if (v->action == ACTION_REFUSE && (v->role == ROLE_TEMP || v->role == ROLE_SCRATCH) &&
		    !g[v->role == ROLE_TEMP ? 0 : 1].n)
			(void)runstate_set(v->role, STATE_REFUSED, v->reason);
	}
	detection_free(&det);
	return first_err;
}

int lc_rewrap(const struct cfg *c, const struct lc_opts *o, const char *key_url,
	      struct lc_result *res)
{
	struct detect_opts dopts = { .paths = o->paths };
	struct detection det;
	struct hbi *h = NULL;
	unsigned todo = 0;
	int r, first_err = 0;

	memset(res, 0, sizeof(*res));
	if (c->key_source != KEY_SOURCE_HBI) {
		log_error("rewrap needs key_source = hbi: system-managed keys are not wrapped");
		return -EPERM;
	}
	r = detect_run(c, &dopts, &det);
	if (r < 0)
		return log_error_errno(r, "cannot detect disks: %m");
	for (size_t i = 0; i < det.n; i++)
		todo += det.v[i].content == CONTENT_OURS && det.v[i].ours_key_source == KEY_SOURCE_HBI;
	if (!todo) {
		log_info("no HBI disks to rewrap");
		goto out;
	}
	r = hbi_open(c, key_url, &h);
	if (r < 0) {
		first_err = r;
		goto out;
	}
	for (size_t i = 0; i < det.n; i++) {
		const struct verdict *v = &det.v[i];

		if (v->content != CONTENT_OURS || v->ours_key_source != KEY_SOURCE_HBI)
			continue;
		r = hbi_rewrap_disk(h, v->disk.devnode);
		if (r < 0) {
			first_err = first_err ?: r;
			continue;
		}
		res->set_up++;
		log_info("%s: volume key now wrapped by %s", v->disk.devnode, hbi_kid(h));
	}
out:
	hbi_close(h);
	detection_free(&det);
	return first_err;
}

static bool is_top(const char *name)
{
	char top[64];

	for (int role = ROLE_TEMP; role <= ROLE_SCRATCH; role++) {
		lc_top_name(top, sizeof(top), role);
		if (strcmp(name, top) == 0)
			return true;
	}
	return false;
}

static int close_mapping_mounts(const char *name, bool keep)
{
	char dev[128], targets[8][256];
	int n, r;

	snprintf(dev, sizeof(dev), "/dev/mapper/%s", name);
	n = fs_mounts_of(dev, targets, 8);
	for (int i = n - 1; i >= 0; i--) {
		log_info("unmounting %s", targets[i]);
		r = fs_umount(targets[i]);
		if (r == -EBUSY && !keep) {
			/* Deprovisioning: detach it; the key is wiped below anyway. */
			log_warn("%s is busy; detaching it, and its key is wiped now", targets[i]);
			r = umount2(targets[i], MNT_DETACH) < 0 ? -errno : 0;
		}
		if (r < 0)
			return log_error_errno(r, "cannot unmount %s: %m", targets[i]);
	}
	return 0;
}

static void mark_role(const char *name, bool *roles)
{
	const char *rest = name + strlen(SC_MAPPING_PREFIX);

	for (int role = ROLE_TEMP; role <= ROLE_SCRATCH; role++) {
		const char *s = disk_role_to_string(role);
		size_t len = strlen(s);

		if (strncmp(rest, s, len) == 0 && (rest[len] == '\0' || rest[len] == '-'))
			roles[role] = true;
	}
}

static int stop_mappings(bool keep, char (*devs)[256], size_t *n_devs, bool *roles)
{
	char **names = NULL, type[32];
	size_t n = 0;
	int r, first_err = 0;

	*n_devs = 0;
	r = dm_list(SC_MAPPING_PREFIX, &names, &n);
	if (r < 0)
		return log_error_errno(r, "cannot list device-mapper devices: %m");
	/* Tops first (mounts, stripes), then the crypt members. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			if ((pass == 0) != is_top(names[i]))
				continue;
			r = close_mapping_mounts(names[i], keep);
			if (r < 0) {
				first_err = first_err ?: r;
				continue;
			}
			if (dm_target_type(names[i], type, sizeof(type)) < 0)
				continue;
			mark_role(names[i], roles);
			if (strcmp(type, "crypt") == 0) {
				struct dm_crypt_info info;

				if (dm_crypt_info(names[i], &info) == 0 && *n_devs < MAX_MEMBERS * 2)
					snprintf(devs[(*n_devs)++], 256, "%s", info.device);
				log_info("closing /dev/mapper/%s", names[i]);
				r = dm_crypt_deactivate(names[i], !keep);
			} else {
				log_info("removing /dev/mapper/%s", names[i]);
				r = dm_remove(names[i], !keep);
			}
			if (r < 0) {
				log_error_errno(r, "cannot remove /dev/mapper/%s: %s%s%m", names[i],
						dm_last_error(), *dm_last_error() ? ": " : "");
				first_err = first_err ?: r;
			}
		}
	dm_strv_free(names, n);
	return first_err;
}

static int shred_disk(const struct cfg *c, const char *dev)
{
	int r = dm_luks_wipe_header(dev);

	if (r == -ENODEV)
		return 0; /* not ours, or already wiped */
	if (r < 0)
		return log_error_errno(r, "%s: cannot wipe the LUKS2 header: %m", dev);
	log_info("%s: header wiped, the data can no longer be decrypted", dev);
	if (c->shred_discard) {
		r = fs_discard(dev);
		if (r == 0)
			log_info("%s: discarded", dev);
		else if (r != -EOPNOTSUPP)
			log_warn_errno(r, "%s: discard failed (the data is shredded anyway): %m", dev);
	}
	return 1;
}

int lc_stop(const struct cfg *c, const struct lc_opts *o, struct lc_result *res)
{
	struct detect_opts dopts = { .paths = o->paths };
	struct detection det;
	char devs[MAX_MEMBERS * 2][256];
	size_t n_devs;
	bool roles[_DISK_ROLE_MAX] = { false };
	int r, first_err;

	memset(res, 0, sizeof(*res));
	first_err = stop_mappings(o->keep, devs, &n_devs, roles);
	if (o->keep)
		return first_err;

	/* Every disk with our header, open before or not: a stop after a
	 * crash or a reboot still shreds. */
	r = detect_run(c, &dopts, &det);
	if (r < 0)
		return log_error_errno(r, "cannot detect disks: %m");
	for (size_t i = 0; i < det.n; i++) {
		struct verdict *v = &det.v[i];

		if (v->content != CONTENT_OURS)
			continue;
		r = shred_disk(c, v->disk.devnode);
		if (r < 0)
			first_err = first_err ?: r;
		else if (r > 0) {
			res->shredded++;
			roles[v->role] = true;
		}
	}
	for (size_t i = 0; i < n_devs; i++) {
		r = shred_disk(c, devs[i]);
		if (r < 0)
			first_err = first_err ?: r;
		else
			res->shredded += (unsigned)r;
	}
	for (int role = ROLE_TEMP; role <= ROLE_SCRATCH; role++)
		if (roles[role])
			(void)runstate_set(role, first_err ? STATE_ERROR : STATE_SHREDDED,
					   first_err ? "stop did not finish; run it again" : "");
	detection_free(&det);
	return first_err;
}
