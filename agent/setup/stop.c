// SPDX-License-Identifier: MIT
/* stop: mark-shredding, unmount, remove-stripe, deactivate each member,
 * then (unless --keep) wipe-header, discard and record-shred on each disk.
 * Members are closed, and disks shredded, each in a worker process
 * (base/workers.h), and every one is tried even when another fails.
 * Marking first makes the intent durable: a volume whose stop was cut off
 * is never opened again, only finished. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/setup/disk.h"
#include "agent/setup/fs.h"
#include "agent/setup/owed.h"
#include "agent/setup/plan.h"
#include "agent/setup/runstate.h"
#include "agent/setup/shredrec.h"
#include "base/crashpoint.h"
#include "base/workers.h"
#include "dm/dm.h"
#include "agent/ondisk/names.h"

struct shred_list {
	struct strv devs;
	int dev_role[32]; /* each of devs' role */
	bool roles[_DISK_ROLE_MAX];
};

static void add_disk(struct shred_list *l, const char *dev, int role)
{
	if (role == ROLE_TEMP || role == ROLE_SCRATCH)
		l->roles[role] = true;
	if (dev[0] && !strv_contains(&l->devs, dev) && l->devs.n < 32 && strv_push(&l->devs, dev) == 0)
		l->dev_role[l->devs.n - 1] = role;
}

static bool is_lost(const char *mapping, const struct lost_member *lost, int n_lost)
{
	for (int i = 0; i < n_lost; i++)
		if (strcmp(lost[i].mapping, mapping) == 0)
			return true;
	return false;
}

/* Every disk that is ours by its claim or header, and every disk under a
 * mapping of ours right now, but for the lost members' (owed, not here). */
static int collect_disks(const struct cfg *c, const struct lc_opts *o, const struct strv *maps,
			 const struct lost_member *lost, int n_lost, struct shred_list *l,
			 struct detection *det)
{
	struct detect_opts dopts = { .paths = o->paths, .candidates_only = true,
				     .probe_timeout_ms = c->probe_timeout_s * 1000 };
	struct dm_crypt_info info;
	int r = detect_run(c, &dopts, det);

	if (r < 0)
		return log_error_errno(r, "cannot detect disks: %m");
	for (size_t i = 0; i < det->n; i++)
		if (det->v[i].content == CONTENT_OURS && !det->v[i].in_use)
			add_disk(l, det->v[i].disk.devnode, det->v[i].role);
	for (size_t i = 0; i < maps->n; i++)
		if (!is_lost(maps->v[i], lost, n_lost) && dm_crypt_info(maps->v[i], &info) == 0)
			add_disk(l, info.device, ondisk_mapping_role(maps->v[i]));
	return 0;
}

/* job on each of items, each in a worker, and every one whatever another
 * did, so that what can be done is. The jobs say what went wrong
 * themselves; a worker that died or was stopped at its deadline cannot, so
 * it is named here, at lvl.
 * Returns the first failure, adds to *done the jobs that returned 1, and
 * with each_r, gives each job's result there. */
static int each_in_workers(const struct strv *items, worker_job job, void *arg,
			   enum log_level lvl, unsigned *done, int *each_r)
{
	size_t n = items->n;
	int *results = calloc(n ?: 1, sizeof(*results));
	struct reason *whys = calloc(n ?: 1, sizeof(*whys));
	bool workers = results && whys;
	int first_err = 0;

	if (workers && n)
		(void)workers_run_all(n, workers_default_max(), job, arg,
				      (const char *const *)items->v, results, whys);
	for (size_t i = 0; i < n; i++) {
		struct reason why = { "" };
		/* Without memory for the workers' results: each here, in turn. */
		int r = workers ? results[i] : job(i, arg, &why);

		/* A worker that died, or was stopped at its deadline, could
		 * not say so itself. */
		if (r == -ECHILD || r == -ETIMEDOUT)
			log_reason(lvl, r, workers ? &whys[i] : &why, items->v[i]);
		first_err = first_err ?: (r < 0 ? r : 0);
		*done += r > 0;
		if (each_r)
			each_r[i] = r;
	}
	free(results);
	free(whys);
	return first_err;
}

static int mark_one(size_t i, void *arg, struct reason *why)
{
	const struct strv *devs = arg;
	int r = token_set_state(devs->v[i], TOKEN_SHREDDING);

	(void)why;
	if (r < 0 && r != -ENODEV && r != -ENOENT)
		log_warn_errno(r, "%s: cannot mark it as being shredded (the shred goes on): %m",
			       devs->v[i]);
	return 0;
}

/* Every disk's mark, each in a worker, is on the disk before the first
 * unmount. */
static void step_mark_shredding(const struct shred_list *l)
{
	unsigned none = 0;

	(void)each_in_workers(&l->devs, mark_one, (void *)&l->devs, LOG_LVL_WARN, &none, NULL);
	crash_point("mark-shredding");
}

/* Mounts of our mappings, and mounts at our mount points of devices that
 * are gone. */
static int step_unmount(const struct cfg *c, const struct strv *maps, bool keep)
{
	char dev[128], targets[8][256];
	int r, first_err = 0;

	for (size_t i = 0; i < maps->n; i++) {
		snprintf(dev, sizeof(dev), "/dev/mapper/%s", maps->v[i]);
		for (int n = fs_mounts_of(dev, targets, 8) - 1; n >= 0; n--) {
			log_info("unmounting %s", targets[n]);
			r = fs_umount(targets[n], false);
			if (r == -EBUSY && !keep) {
				/* Deprovisioning: detach it; its key is wiped below anyway. */
				log_warn("%s is busy; detaching it, and its key is wiped now", targets[n]);
				r = fs_umount(targets[n], true);
			}
			if (r < 0)
				first_err = first_err ?: log_error_errno(r, "cannot unmount %s: %m", targets[n]);
		}
	}
	for (int role = ROLE_TEMP; role <= ROLE_SCRATCH; role++) {
		const char *mp = lc_mount_point(c, role);

		if (fs_mount_state(NULL, mp) == FS_AT_GONE && fs_umount(mp, true) == 0)
			log_info("detached %s, a mount of a device that is gone", mp);
	}
	if (!first_err)
		crash_point("unmount");
	return first_err;
}

/* 0 when removed or not there; with top, 1 for a one-disk volume's crypt
 * mapping, which is closed as a member. */
static int remove_mapping(const char *name, bool keep, bool top)
{
	struct reason why = { "" };
	struct dm_state st;
	int r = dm_query(name, &st, NULL);
	bool crypt = r == 0 && strcmp(st.target, "crypt") == 0;

	if (r < 0 || !st.exists)
		return r;
	if (top && crypt)
		return 1; /* a volume of one disk: closed with the members */
	log_info("%s /dev/mapper/%s", crypt ? "closing" : "removing", name);
	r = crypt ? dm_crypt_deactivate(name, !keep, &why) : dm_remove(name, !keep);
	if (r < 0)
		return log_reason(LOG_LVL_ERROR, r, &why, name);
	crash_point(top ? "remove-stripe" : "deactivate");
	return 0;
}

struct remove_job {
	const struct strv *names;
	bool keep;
};

static int remove_one(size_t i, void *arg, struct reason *why)
{
	const struct remove_job *j = arg;

	(void)why; /* remove_mapping says what went wrong itself */
	return remove_mapping(j->names->v[i], j->keep, false);
}

/* Tops (stripes) first, then the crypt members, each in a worker: one
 * member's flush and removal does not wait for another's. */
static int step_remove_mappings(const struct strv *maps, bool keep)
{
	struct strv members = { 0 };
	struct remove_job j = { .names = &members, .keep = keep };
	unsigned none = 0;
	int r, first_err = 0;

	for (size_t i = 0; i < maps->n; i++) {
		r = ondisk_is_top(maps->v[i]) ? remove_mapping(maps->v[i], keep, true) : 1;
		if (r == 1 && strv_push(&members, maps->v[i]) < 0)
			r = remove_mapping(maps->v[i], keep, false);
		first_err = first_err ?: (r < 0 ? r : 0);
	}
	/* Even under a stripe that stays, a member's key is dropped. */
	r = each_in_workers(&members, remove_one, &j, LOG_LVL_ERROR, &none, NULL);
	strv_free(&members);
	return first_err ?: r;
}

/* 1 when dev was shredded now, 0 when there was nothing of ours on it. */
/* The shred's proof: the first MiB read back from the disk, all zero, in a
 * record that outlives the node's run, and in the journal. */
static int record_shred(const char *dev, int role, enum shred_discard discard)
{
	struct shred_rec rec = { .role = role < 0 ? ROLE_UNKNOWN : role, .time = (long long)time(NULL),
				 .wiped_bytes = ONDISK_DATA_OFFSET, .discard = discard };
	const char *name = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
	uint64_t at = 0;
	int r = disk_head_blank(dev, &at), w;

	snprintf(rec.device, sizeof(rec.device), "%s", dev);
	sys_read_serial(&sys_paths_default, name, rec.serial, sizeof(rec.serial));
	rec.verified = r == 1;
	w = shredrec_write(&rec);
	if (w < 0)
		log_warn_errno(w, "%s: cannot write the shred record in %s: %m", dev, shredrec_dir());
	(void)shredrec_journal(&rec);
	if (r < 0)
		return log_error_errno(r, "%s: cannot read the first MiB back to verify the shred: %m", dev);
	if (r == 0)
		return log_error_errno(-EIO, "%s: read back after the shred, byte %llu of its first MiB "
				       "is not zero: the shred is not verified", dev, (unsigned long long)at);
	log_info("%s: read back: the first MiB is blank; shred recorded in %s", dev, shredrec_dir());
	return 0;
}

int plan_shred_disk(const struct cfg *c, const char *dev, int role)
{
	enum shred_discard discard = SHRED_DISCARD_OFF;
	struct lost_member owed;
	bool was_owed = owed_match(dev, &owed) == 1;
	int r = disk_header_wipe(dev);

	if (r == -ENOENT || r == -ENODEV || r == -ENXIO)
		return log_error_errno(-ENXIO, "%s: the disk is gone: it could not be shredded; the shred "
				       "is unfinished, and is done when the disk is seen again (start or stop)", dev);
	if (r < 0)
		return log_error_errno(r, "%s: cannot wipe the LUKS2 header: %m", dev);
	crash_point("wipe-header");
	log_info("%s: header wiped, the data can no longer be decrypted", dev);
	if (c->shred_discard) {
		r = disk_discard_data(dev);
		discard = r == 0 ? SHRED_DISCARD_DONE : r == -EOPNOTSUPP ? SHRED_DISCARD_UNSUPPORTED
									  : SHRED_DISCARD_FAILED;
		if (r == 0)
			log_info("%s: discarded", dev);
		else if (r != -EOPNOTSUPP)
			log_warn_errno(r, "%s: discard failed (the data is shredded anyway): %m", dev);
		crash_point("discard");
	}
	r = disk_claim_clear(dev);
	if (r < 0)
		return log_error_errno(r, "%s: cannot clear the claim: %m", dev);
	crash_point("record-shred");
	r = record_shred(dev, role, discard);
	if (r == 0 && was_owed && owed_clear(owed.luks_uuid) == 0)
		log_info("%s: the shred owed since it went away as %s is done", dev, owed.mapping);
	return r < 0 ? r : 1;
}

struct shred_job {
	const struct cfg *c;
	const struct strv *devs;
	const int *roles;
};

static int shred_one(size_t i, void *arg, struct reason *why)
{
	const struct shred_job *j = arg;

	(void)why; /* plan_shred_disk says what went wrong itself */
	return plan_shred_disk(j->c, j->devs->v[i], j->roles[i]);
}

/* The members whose disk went away: their shred is owed, recorded, and
 * this stop fails naming each. */
static int owe_lost(const struct lost_member *lost, int n)
{
	int r = 0;

	for (int i = 0; i < n; i++) {
		int w = owed_record(&lost[i]);

		log_error("%s: its disk (%s, LUKS2 UUID %s) is gone: it could not be shredded. The "
			  "shred is owed%s, and is done when the disk is seen again (start, stop or "
			  "hotplug)", lost[i].mapping, lost[i].device,
			  lost[i].luks_uuid[0] ? lost[i].luks_uuid : "unknown",
			  w < 0 ? " (but cannot be recorded)" : ", recorded in the state directory");
		(void)runstate_set(lost[i].role, STATE_ERROR, "a member's disk was gone at stop: its "
				   "shred is owed until it is back ('scratchcrypt status')");
		r = -ENXIO;
	}
	return r;
}

/* Each disk shredded, each in a worker; what each role's disks came to
 * goes into the run state, and the unfinished-stop record goes, or keeps
 * the roles that are still owed. */
static int step_shred(const struct cfg *c, const struct shred_list *l, unsigned *shredded)
{
	struct shred_job j = { .c = c, .devs = &l->devs, .roles = l->dev_role };
	bool failed[_DISK_ROLE_MAX] = { false };
	char note[160];
	int each_r[32] = { 0 }, r;

	r = each_in_workers(&l->devs, shred_one, &j, LOG_LVL_ERROR, shredded, each_r);
	for (size_t i = 0; i < l->devs.n; i++)
		if (each_r[i] < 0 && l->dev_role[i] >= 0 && l->dev_role[i] < _DISK_ROLE_MAX)
			failed[l->dev_role[i]] = true;
	for (int role = ROLE_TEMP; role <= ROLE_SCRATCH; role++) {
		if (!l->roles[role])
			continue;
		snprintf(note, sizeof(note), "stop did not finish shredding the %s disks; run "
			 "'scratchcrypt stop' again", disk_role_to_string(role));
		(void)runstate_set(role, failed[role] ? STATE_ERROR : STATE_SHREDDED, failed[role] ? note : "");
	}
	if (!r)
		(void)owed_stop_end();
	else if (owed_stop_begin(failed) < 0)
		log_warn("cannot record in %s which shreds are unfinished", runstate_state_dir());
	return r;
}

int lc_stop(const struct cfg *c, const struct lc_opts *o, struct lc_result *res)
{
	struct lost_member lost[OWED_MAX];
	struct shred_list l = { 0 };
	struct strv maps = { 0 };
	int r, first_err, n_lost = 0;

	memset(res, 0, sizeof(*res));
	r = dm_list(DM_MAPPING_PREFIX, &maps);
	if (r < 0)
		return log_error_errno(r, "cannot list device-mapper devices: %m");
	if (!o->keep) {
		n_lost = owed_lost_members(o->paths, lost, OWED_MAX);
		n_lost = n_lost < 0 ? 0 : n_lost;
		r = collect_disks(c, o, &maps, lost, n_lost, &l, &res->det);
		if (r < 0)
			goto out;
		/* The intent, on the OS disk, before the first disk changes:
		 * a stop cut off from here on is seen as unfinished. */
		r = l.devs.n ? owed_stop_begin(l.roles) : 0;
		if (r < 0)
			log_warn_errno(r, "cannot record this stop in %s (the shred goes on): %m",
				       runstate_state_dir());
		step_mark_shredding(&l);
	}
	first_err = step_unmount(c, &maps, o->keep);
	if (!first_err)
		first_err = step_remove_mappings(&maps, o->keep);
	if (o->keep || first_err) {
		r = first_err;
		goto out;
	}
	first_err = step_shred(c, &l, &res->shredded);
	r = owe_lost(lost, n_lost);
	r = first_err ?: r;
out:
	strv_free(&l.devs);
	strv_free(&maps);
	return r;
}
