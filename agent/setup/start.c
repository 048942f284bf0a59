// SPDX-License-Identifier: MIT
/* start: for each volume, look at what the kernel and the disks show, then
 * take the steps that are left, each of which can be repeated:
 *   per member: claim, add-token, write-header (new disks), activate; the
 *   members after a volume's first each in a worker process (base/workers.h);
 *   per volume (volume.c): create-, load-, assemble-stripe, mkfs, mark-ready, mount,
 *   write-warning. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/setup/disk.h"
#include "agent/setup/fs.h"
#include "agent/setup/keysource.h"
#include "agent/setup/owed.h"
#include "agent/setup/plan.h"
#include "agent/setup/runstate.h"
#include "base/crashpoint.h"
#include "base/safemem.h"
#include "base/workers.h"
#include "dm/dm.h"
#include "agent/ondisk/names.h"

/* Opened on first need, so that a node already set up never waits for the
 * key service; after one failure every volume fails closed. */
struct keyctx {
	struct hbi *hbi;
	int error;
	struct reason why;
};

/* Observe: what each member's mapping shows decides what is left to do. */
static int observe_member(const struct cfg *c, struct member *m, struct reason *why)
{
	struct dm_crypt_info info;
	int r = plan_clear_half_state(m->name, why);

	if (r < 0)
		return r;
	r = dm_crypt_info(m->name, &info);
	if (r == 0) {
		if (strcmp(info.device, m->v->disk.devnode) != 0)
			return reason_set(why, -EEXIST,
					  "/dev/mapper/%s sits on %s, not on %s; run 'scratchcrypt stop' first",
					  m->name, info.device, m->v->disk.devnode);
		m->mode = MEMBER_KEEP;
		return 0;
	}
	m->mode = c->key_source == KEY_SOURCE_HBI && m->v->content == CONTENT_OURS &&
			  m->v->ours_state == TOKEN_READY
		  ? MEMBER_REOPEN
		  : MEMBER_FORMAT;
	return 0;
}

/* HBI volumes keep their data, so one is reopened only as it was made: the
 * same disks, each in its place, and never mixed with new ones. */
static int check_membership(const struct volume *vol, struct reason *why)
{
	unsigned with_data = 0, fresh = 0;

	for (size_t i = 0; i < vol->n; i++) {
		const struct member *m = &vol->m[i];

		fresh += m->mode == MEMBER_FORMAT;
		with_data += m->mode != MEMBER_FORMAT && m->v->ours_state == TOKEN_READY;
		if (m->mode == MEMBER_REOPEN && (m->v->ours_members != vol->n || m->v->ours_index != i))
			return reason_set(why, -EMEDIUMTYPE,
					  "%s was disk %u of %u of the %s volume, but %zu disks are "
					  "there now; run 'scratchcrypt stop' to deprovision them first",
					  m->v->disk.devnode, m->v->ours_index, m->v->ours_members,
					  disk_role_to_string(vol->role), vol->n);
	}
	if (with_data && fresh)
		return reason_set(why, -EMEDIUMTYPE,
				  "the %s volume mixes disks that hold HBI data with new ones; run "
				  "'scratchcrypt stop' to deprovision them first",
				  disk_role_to_string(vol->role));
	return 0;
}

/* Keys, one disk at a time: network calls stay serial. */
static int member_key(const struct cfg *c, struct keyctx *k, struct member *m, struct reason *why)
{
	int r;

	if (k->error) {
		*why = k->why;
		return k->error;
	}
	if (c->key_source == KEY_SOURCE_HBI && !k->hbi) {
		r = hbi_open(c, NULL, &k->hbi, &k->why);
		if (r < 0) {
			*why = k->why;
			return k->error = r;
		}
	}
	if (m->mode == MEMBER_REOPEN) {
		void *unwrapped;

		r = hbi_unwrap_disk(k->hbi, &m->v->disk, &unwrapped, &m->key_len, why);
		if (r < 0)
			return r;
		/* Into pages the member's worker can read. */
		m->key = safe_alloc_shared(m->key_len);
		if (m->key)
			memcpy(m->key, unwrapped, m->key_len);
		safe_free(unwrapped);
		return m->key ? 0 : -ENOMEM;
	}
	m->key_len = c->key_bits / 8;
	m->key = safe_alloc_shared(m->key_len);
	if (!m->key)
		return -ENOMEM;
	r = safe_random(m->key, m->key_len);
	if (r < 0)
		return reason_set(why, r, "cannot get random bytes for a key: %m");
	if (c->key_source == KEY_SOURCE_HBI)
		return hbi_wrap(k->hbi, &m->v->disk, m->key, m->key_len, &m->hbi_token, why);
	return 0;
}

struct setup_job {
	const struct cfg *c;
	const struct volume *vol;
	size_t todo[PLAN_MAX_MEMBERS]; /* the members that are not kept */
	const char *labels[PLAN_MAX_MEMBERS];
};

static int setup_one(size_t i, void *arg, struct reason *why)
{
	const struct setup_job *j = arg;

	return plan_member_setup(j->c, j->vol, &j->vol->m[j->todo[i]], why);
}

static int setup_one_more(size_t i, void *arg, struct reason *why)
{
	return setup_one(i + 1, arg, why);
}

/* The members after the first each in a worker of its own: one disk's
 * claim, header and activation do not wait for another's. The keys are all
 * here already, fetched one at a time. */
static int members_setup(const struct cfg *c, const struct volume *vol, struct reason *why)
{
	struct setup_job j = { .c = c, .vol = vol };
	size_t n = 0, failed;
	int r;

	for (size_t i = 0; i < vol->n; i++)
		if (vol->m[i].mode != MEMBER_KEEP) {
			j.labels[n] = vol->m[i].v->disk.devnode;
			j.todo[n++] = i;
		}
	if (!n)
		return 0;
	/* The first here: the libraries' one-time set-up (crypto backend,
	 * device-mapper versions) is then done once, and inherited. */
	r = setup_one(0, &j, why);
	if (r < 0 || n == 1)
		return r;
	return workers_run(n - 1, workers_default_max(), setup_one_more, &j, j.labels + 1, &failed, why);
}

static void members_free(struct volume *vol)
{
	for (size_t i = 0; i < vol->n; i++) {
		safe_free(vol->m[i].key);
		vol->m[i].key = NULL;
		free(vol->m[i].hbi_token);
		vol->m[i].hbi_token = NULL;
	}
}

static int volume_open(const struct cfg *c, struct keyctx *k, struct volume *vol,
		       bool *reopened, struct reason *why)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < vol->n; i++)
		r = observe_member(c, &vol->m[i], why);
	if (r == 0 && c->key_source == KEY_SOURCE_HBI)
		r = check_membership(vol, why);
	for (size_t i = 0; r == 0 && i < vol->n; i++)
		if (vol->m[i].mode != MEMBER_KEEP)
			r = member_key(c, k, &vol->m[i], why);
	if (r == 0)
		r = members_setup(c, vol, why);
	for (size_t i = 0; i < vol->n; i++)
		*reopened |= vol->m[i].mode == MEMBER_REOPEN;
	members_free(vol);
	return r;
}

/* 1: already set up and mounted; 0: set up by this run; -errno with *why. */
static int volume_start(const struct cfg *c, struct keyctx *k, struct volume *vol, struct reason *why)
{
	const char *role = disk_role_to_string(vol->role);
	bool reopened = false;
	int r = plan_observe_mount(vol, why);

	for (size_t i = 0; r == 1 && i < vol->n; i++)
		if (vol->m[i].v->ours_state == TOKEN_SHREDDING)
			return reason_set(why, -EBUSY, "%s: a 'scratchcrypt stop' was cut off while "
					  "shredding this volume; run 'scratchcrypt stop' to finish it",
					  vol->topdev);
	if (r == 1) {
		plan_write_warning(vol);
		log_info("%s: already encrypted and mounted at %s", role, vol->mount_point);
		return 1;
	}
	if (r == 0 && vol->n > 1)
		r = plan_observe_stripe(vol, why);
	if (r == 0)
		r = volume_open(c, k, vol, &reopened, why);
	if (r == 0 && reopened)
		(void)runstate_mark(vol->role, "last_unwrap");
	if (r == 0)
		r = plan_assemble_stripe(vol, why);
	if (r == 0) {
		int ready = plan_volume_ready(vol);

		if (ready < 0)
			r = reason_set(why, ready, "%s: a member's token cannot be read now (%m): its disk may be "
				       "gone; no filesystem is made over what may be data", vol->topdev);
		else if (!ready)
			r = plan_mkfs_and_mark_ready(c, vol, why);
	}
	if (r == 0)
		r = plan_mount(c, vol, why);
	if (r < 0)
		return r;
	plan_write_warning(vol);
	log_info("%s: encrypted (%s key) and mounted at %s%s", role, key_source_to_status(c->key_source),
		 vol->mount_point, reopened ? ", data kept" : "");
	return 0;
}

void lc_result_free(struct lc_result *res)
{
	detection_free(&res->det);
}

/* Disks back whose shred is owed, and after a stop that did not finish,
 * every disk of ours that is not in use (owed.h): shredded before anything
 * uses them. Returns how many. */
static int settle_owed(const struct cfg *c, const struct detection *det)
{
	bool roles[_DISK_ROLE_MAX], all = true;
	long long since = 0;
	bool unfinished = owed_stop_pending(&since, roles) == 1;
	struct lost_member m;
	int n = 0, r;

	for (size_t i = 0; i < det->n; i++) {
		const struct verdict *v = &det->v[i];
		bool owed = v->content == CONTENT_OURS && owed_match(v->disk.devnode, &m) == 1;

		if (v->content != CONTENT_OURS || !(owed || unfinished))
			continue;
		if (v->in_use) {
			all = false;
			continue;
		}
		if (owed)
			log_info("%s: the disk of %s is back, and its shred is owed: shredding it first",
				 v->disk.devnode, m.mapping);
		else
			log_info("%s: a 'scratchcrypt stop' did not finish shredding it: shredding it first",
				 v->disk.devnode);
		r = plan_shred_disk(c, v->disk.devnode, v->role);
		n += r == 1;
		all &= r == 1;
	}
	if (unfinished && all && owed_stop_end() == 0)
		log_info("the unfinished stop's shred is done");
	return n;
}

/* What start works on: the disks, after the shreds they owe. */
static int detect_settled(const struct cfg *c, const struct detect_opts *dopts,
			  struct detection *det)
{
	int r = detect_run(c, dopts, det);

	if (r == 0 && settle_owed(c, det) > 0) {
		detection_free(det);
		r = detect_run(c, dopts, det);
	}
	return r;
}

/* Each volume set up in turn, whatever the other's fate; what each came to
 * goes into the run state. Returns the first failure. */
static int start_volumes(const struct cfg *c, struct keyctx *keys, struct volume vol[2],
			 const bool degraded[_DISK_ROLE_MAX], struct lc_result *res)
{
	int r, first_err = 0;

	for (int k = 0; k < 2; k++) {
		struct reason why = { "" };

		if (!vol[k].n)
			continue;
		if (degraded[vol[k].role]) {
			(void)runstate_set(vol[k].role, STATE_DEGRADED, "mounted, but a member's disk is gone: "
					   "'scratchcrypt stop' shreds the rest");
			first_err = first_err ?: -ENXIO;
			continue;
		}
		r = volume_start(c, keys, &vol[k], &why);
		if (r == 1) {
			res->already++;
			continue;
		}
		if (r < 0) {
			/* Fail closed: the disks stay closed, and status says why. */
			log_reason(LOG_LVL_ERROR, r, &why, disk_role_to_string(vol[k].role));
			(void)runstate_set(vol[k].role, STATE_ERROR, why.text);
			first_err = first_err ?: r;
			continue;
		}
		res->set_up++;
		(void)runstate_set(vol[k].role, STATE_ENCRYPTED, "");
	}
	return first_err;
}

int lc_start(const struct cfg *c, const struct lc_opts *o, struct lc_result *res)
{
	struct detect_opts dopts = { .paths = o->paths, .force = o->force, .candidates_only = true,
				     .probe_timeout_ms = c->probe_timeout_s * 1000 };
	struct keyctx keys = { 0 };
	struct detection det;
	struct volume vol[2];
	bool degraded[_DISK_ROLE_MAX];
	int r, first_err = 0;

	memset(res, 0, sizeof(*res));
	if (dm_available() < 0)
		return log_error_errno(-ENXIO, "device-mapper is not available (no /dev/mapper/control "
				       "that answers): load the dm_mod module (modprobe dm_mod)");
	plan_settle_lost(c, o->paths, degraded);
	r = detect_settled(c, &dopts, &det);
	if (r < 0)
		return log_error_errno(r, "cannot detect disks: %m");
	for (size_t i = 0; i < det.n_warnings; i++)
		log_warn("%s", det.warnings[i]);
	if (det.n_unlisted) {
		/* The configuration names a disk that is not here: do nothing
		 * rather than something else. */
		log_error("[disks] devices names %zu disk%s that %s not on this node; nothing was set up",
			  det.n_unlisted, det.n_unlisted == 1 ? "" : "s", det.n_unlisted == 1 ? "is" : "are");
		detection_free(&det);
		return -EPERM;
	}
	for (size_t i = 0; i < det.n; i++)
		if (det.v[i].action == ACTION_REFUSE &&
		    (det.v[i].role == ROLE_TEMP || det.v[i].role == ROLE_SCRATCH))
			log_error("refusing %s: %s", det.v[i].disk.devnode, det.v[i].reason);
	plan_volumes(c, &det, vol, &res->refused);
	first_err = start_volumes(c, &keys, vol, degraded, res);
	hbi_close(keys.hbi);
	for (size_t i = 0; i < det.n; i++) {
		const struct verdict *v = &det.v[i];

		if (v->action == ACTION_REFUSE && (v->role == ROLE_TEMP || v->role == ROLE_SCRATCH) &&
		    !vol[v->role == ROLE_TEMP ? 0 : 1].n)
			(void)runstate_set(v->role, STATE_REFUSED, v->reason);
	}
	res->det = det;
	return first_err;
}
