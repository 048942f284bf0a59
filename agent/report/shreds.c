// SPDX-License-Identifier: MIT
/* The shred record (agent/setup/shredrec.h) as status shows it. */
#include "agent/report/status.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *status_iso_time(long long t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
	return buf;
}

void status_print_shreds(const struct status *st, FILE *f)
{
	char when[32];

	if (!st->n_shreds)
		return;
	fputc('\n', f);
	print_line(f, "Shred record (%s):", shredrec_dir());
	for (size_t i = 0; i < st->n_shreds; i++) {
		const struct shred_rec *r = &st->shreds[i];

		print_line(f, "  %s %s (%s, serial %s): %llu bytes wiped, %s; discard: %s",
			   status_iso_time(r->time, when, sizeof(when)), r->device,
			   disk_role_to_string(r->role), r->serial[0] ? r->serial : "-",
			   (unsigned long long)r->wiped_bytes,
			   r->verified ? "read back blank" : "NOT verified: read back, it is not blank",
			   shred_discard_to_string(r->discard));
	}
}

struct json_object *status_shreds_to_json(const struct status *st)
{
	struct json_object *arr = json_object_new_array();
	char when[32];

	for (size_t i = 0; i < st->n_shreds; i++) {
		const struct shred_rec *r = &st->shreds[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "device", json_object_new_string(r->device));
		json_object_object_add(o, "serial", json_object_new_string(r->serial));
		json_object_object_add(o, "role", json_object_new_string(disk_role_to_string(r->role)));
		json_object_object_add(o, "time", json_object_new_string(status_iso_time(r->time, when,
										     sizeof(when))));
		json_object_object_add(o, "wiped_bytes", json_object_new_int64((int64_t)r->wiped_bytes));
		json_object_object_add(o, "verified", json_object_new_boolean(r->verified));
		json_object_object_add(o, "discard",
				       json_object_new_string(shred_discard_to_string(r->discard)));
		json_object_array_add(arr, o);
	}
	return arr;
}

void status_print_owed(const struct status *st, FILE *f)
{
	char since[32];

	if (st->unfinished_stop) {
		fputc('\n', f);
		print_line(f, "Shred unfinished: a 'scratchcrypt stop' began at %s and did not finish; "
			   "run 'scratchcrypt stop'.", st->unfinished_stop > 0
			   ? status_iso_time(st->unfinished_stop, since, sizeof(since)) : "an unknown time");
	}
	if (!st->n_owed)
		return;
	fputc('\n', f);
	print_line(f, "Shreds owed (a disk went away before stop could shred it; done when it is back):");
	for (size_t i = 0; i < st->n_owed; i++) {
		const struct lost_member *m = &st->owed[i];

		print_line(f, "  since %s: %s (%s), was %s, LUKS2 UUID %s",
			   status_iso_time(m->since, since, sizeof(since)), m->mapping,
			   disk_role_to_string(m->role), m->device, m->luks_uuid);
	}
}

struct json_object *status_owed_to_json(const struct status *st)
{
	struct json_object *arr = json_object_new_array();
	char since[32];

	for (size_t i = 0; i < st->n_owed; i++) {
		const struct lost_member *m = &st->owed[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "mapping", json_object_new_string(m->mapping));
		json_object_object_add(o, "role", json_object_new_string(disk_role_to_string(m->role)));
		json_object_object_add(o, "device", json_object_new_string(m->device));
		json_object_object_add(o, "luks_uuid", json_object_new_string(m->luks_uuid));
		json_object_object_add(o, "since", json_object_new_string(status_iso_time(m->since, since,
										       sizeof(since))));
		json_object_array_add(arr, o);
	}
	return arr;
}

void status_collect_unfinished(struct status *st)
{
	bool roles[_DISK_ROLE_MAX];

	if (owed_stop_pending(&st->unfinished_stop, roles) != 1)
		st->unfinished_stop = 0;
	else if (!st->unfinished_stop)
		st->unfinished_stop = -1; /* unfinished, its time unknown */
}

struct json_object *status_unfinished_to_json(const struct status *st)
{
	struct json_object *o;
	char since[40];

	if (!st->unfinished_stop)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "since", st->unfinished_stop > 0
			       ? json_object_new_string(status_iso_time(st->unfinished_stop, since, sizeof(since)))
			       : NULL);
	return o;
}
