// SPDX-License-Identifier: MIT
#include "agent/report/status.h"

#include <string.h>
#include <time.h>

#include "agent/setup/fs.h"
#include "agent/setup/keysource.h"
#include "agent/setup/lifecycle.h"
#include "agent/setup/runstate.h"
#include "agent/ondisk/token.h"
#include "dm/dm.h"
#include "agent/ondisk/names.h"

#define CMK_NOTE "Customer-managed keys are not supported for OS and temp disks."

static void os_row(const struct cfg *c, const struct detection *det, struct status_row *r)
{
	r->role = ROLE_OS;
	for (size_t i = 0; i < det->n && r->n_devices < STATUS_MAX_DEVICES; i++)
		if (det->v[i].role == ROLE_OS)
			snprintf(r->devices[r->n_devices++], sizeof(r->devices[0]), "%s",
				 det->v[i].disk.devnode);
	r->state = STATE_ENCRYPTED;
	r->key_source = "platform-managed";
	snprintf(r->mount_point, sizeof(r->mount_point), "/");
	snprintf(r->note, sizeof(r->note), "%s " CMK_NOTE,
		 c->role == NODE_SERVERLESS
			 ? "Encrypted in Azure Storage by the platform with Microsoft-managed keys; "
			   "the node is ephemeral and its OS disk is deleted on scale-down. Azure Disk "
			   "Encryption is not supported for the OS disk."
			 : "Encrypted by the platform with Microsoft-managed keys in Microsoft-managed "
			   "storage accounts.");
}

static void hbi_fields(const struct detection *det, enum disk_role role, struct status_row *r)
{
	char kid[512];

	for (size_t i = 0; i < det->n; i++) {
		const struct verdict *v = &det->v[i];

		if (v->role != role || v->content != CONTENT_OURS ||
		    hbi_disk_kid(v->disk.devnode, kid, sizeof(kid)) < 0)
			continue;
		(void)kf_parse_key_url(kid, r->vault, sizeof(r->vault), r->key_name,
				       sizeof(r->key_name), r->key_version, sizeof(r->key_version));
		break;
	}
	r->last_unwrap = runstate_time(role, "last_unwrap");
}

/* What the last run's failure was (it stays until a run succeeds). */
static void last_error(enum disk_role role, struct status_row *r)
{
	char note[512], line[600];
	enum disk_state rs;

	if (runstate_get(role, &rs, note, sizeof(note), NULL) == 0 && rs == STATE_ERROR && note[0]) {
		snprintf(line, sizeof(line), "The last run failed: %s", note);
		status_note_append(r, line);
	}
}

/* The row of a volume whose mapping exists: 1 when it does. */
static int mapped_row(enum disk_role role, enum key_source ks, struct status_row *r)
{
	char top[64], member[80], dev[128], targets[4][256], note[512];
	struct dm_crypt_info info;
	struct dm_state dmst;
	bool exists;
	int n;

	ondisk_top_name(top, sizeof(top), role);
	snprintf(dev, sizeof(dev), "/dev/mapper/%s", top);
	exists = dm_query(top, &dmst, NULL) == 0 && dmst.exists;
	if (exists) {
		ondisk_member_name(member, sizeof(member), role, 0, 2);
		if (dm_crypt_info(top, &info) == 0 || dm_crypt_info(member, &info) == 0) {
			snprintf(r->cipher, sizeof(r->cipher), "%s", info.cipher);
			r->key_bits = info.key_bits;
			r->sector_size = info.sector_size;
		}
		snprintf(r->mapping, sizeof(r->mapping), "%s", dev);
		status_row_members(role, r);
		n = fs_mounts_of(dev, targets, 4);
		if (status_row_degraded(role, r))
			;
		else if (n > 0) {
			r->state = STATE_ENCRYPTED;
			snprintf(r->mount_point, sizeof(r->mount_point), "%s", targets[0]);
			status_note_append(r, role == ROLE_TEMP && ks == KEY_SOURCE_SYSTEM
				    ? "Key generated at start, held only in kernel memory; "
				      "lost at shutdown by design." : "");
		} else {
			r->state = STATE_ERROR;
			snprintf(note, sizeof(note), "%s is open but not mounted; run 'scratchcrypt start'.", dev);
			status_note_append(r, note);
			last_error(role, r);
		}
		if (role == ROLE_TEMP)
			status_note_append(r, CMK_NOTE);
		return 1;
	}
	return 0;
}

/* The role's disks into r (devices, refused ones with their reasons);
 * returns how many are refused, *members how many are not, and *ks the key
 * source the disks of ours record. */
static size_t gather_disks(const struct detection *det, enum disk_role role, struct status_row *r,
			   int *members, enum key_source *ks)
{
	char note[512];
	size_t refused = 0;

	for (size_t i = 0; i < det->n; i++) {
		const struct verdict *v = &det->v[i];

		if (v->role != role)
			continue;
		if (v->content == CONTENT_OURS)
			*ks = v->ours_key_source;
		if (v->action == ACTION_REFUSE) {
			refused++;
			if (r->n_refused < STATUS_MAX_DEVICES) {
				snprintf(r->refused[r->n_refused], sizeof(r->refused[0]), "%s",
					 v->disk.devnode);
				snprintf(r->refused_reason[r->n_refused++], sizeof(r->refused_reason[0]),
					 "%s", v->reason);
			}
			snprintf(note, sizeof(note), "Refused: %s.", v->reason);
			status_note_append(r, note);
			continue;
		}
		(*members)++;
		if (r->n_devices < STATUS_MAX_DEVICES)
			snprintf(r->devices[r->n_devices++], sizeof(r->devices[0]), "%s",
				 v->disk.devnode);
	}
	return refused;
}

static void role_row(const struct cfg *c, const struct detection *det, enum disk_role role,
		     struct status_row *r)
{
	char note[512];
	enum disk_state rs;
	enum key_source ks = c->key_source;
	int members = 0;
	size_t refused;

	r->role = role;
	refused = gather_disks(det, role, r, &members, &ks);
	r->key_source = key_source_to_status(ks);
	if (ks == KEY_SOURCE_HBI)
		hbi_fields(det, role, r);
	snprintf(r->cipher, sizeof(r->cipher), "%s", c->cipher);
	r->key_bits = c->key_bits;
	r->sector_size = c->sector_size;

	if (mapped_row(role, ks, r))
		return status_row_unfinished(role, r);
	/* What the last start or stop did, unless the disks say otherwise. */
	if (runstate_get(role, &rs, note, sizeof(note), NULL) == 0 &&
	    (rs == STATE_SHREDDED || rs == STATE_ERROR)) {
		r->state = rs;
		status_note_append(r, rs == STATE_SHREDDED
			    ? "Shredded by 'scratchcrypt stop': key destroyed, header wiped." : note);
		return status_row_unfinished(role, r);
	}
	if (refused) {
		r->state = STATE_REFUSED;
		return status_row_unfinished(role, r);
	}
	if (!members) {
		r->state = STATE_ABSENT;
		status_note_append(r, role == ROLE_TEMP ? "No resource disk or local NVMe disk found."
			    : "No separate local NVMe scratch disks.");
		return;
	}
	r->state = STATE_NOT_ENCRYPTED;
	status_note_append(r, "Found but not set up; run 'scratchcrypt start'.");
	status_row_unfinished(role, r);
}

void status_from_detection(const struct cfg *c, const struct detection *det, struct status *st)
{
	int n;

	memset(st, 0, sizeof(*st));
	st->node_role = c->role;
	st->key_source = c->key_source;
	os_row(c, det, &st->rows[0]);
	role_row(c, det, ROLE_TEMP, &st->rows[1]);
	role_row(c, det, ROLE_SCRATCH, &st->rows[2]);
	st->n_rows = 3;
	(void)shredrec_list(st->shreds, SHREDREC_MAX, &st->n_shreds);
	n = owed_list(st->owed, OWED_MAX);
	st->n_owed = n < 0 ? 0 : (size_t)n;
	status_collect_unfinished(st);
}

int status_collect(const struct cfg *c, const struct sys_paths *p, struct status *st)
{
	/* Status shows the temp and scratch disks alone: nothing else is read. */
	struct detect_opts o = { .paths = p, .candidates_only = true,
				 .probe_timeout_ms = c->probe_timeout_s * 1000 };
	struct detection det;
	int r;

	memset(st, 0, sizeof(*st));
	r = detect_run(c, &o, &det);
	if (r < 0)
		return r;
	status_from_detection(c, &det, st);
	detection_free(&det);
	return 0;
}

static struct json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

struct json_object *status_to_json(const struct status *st)
{
	struct json_object *root = json_object_new_object(), *node = json_object_new_object();
	struct json_object *disks = json_object_new_array();

	json_object_object_add(root, "schema", json_object_new_int(STATUS_SCHEMA));
	json_object_object_add(node, "role", json_object_new_string(node_role_to_string(st->node_role)));
	json_object_object_add(node, "key_source",
			       json_object_new_string(key_source_to_string(st->key_source)));
	json_object_object_add(root, "node", node);
	for (size_t i = 0; i < st->n_rows; i++) {
		const struct status_row *r = &st->rows[i];
		struct json_object *d = json_object_new_object(), *devs = json_object_new_array();

		json_object_object_add(d, "role", json_object_new_string(disk_role_to_string(r->role)));
		for (size_t k = 0; k < r->n_devices; k++)
			json_object_array_add(devs, json_object_new_string(r->devices[k]));
		json_object_object_add(d, "devices", devs);
		devs = json_object_new_array();
		for (size_t k = 0; k < r->n_refused; k++) {
			struct json_object *x = json_object_new_object();

			json_object_object_add(x, "device", json_object_new_string(r->refused[k]));
			json_object_object_add(x, "reason", json_object_new_string(r->refused_reason[k]));
			json_object_array_add(devs, x);
		}
		json_object_object_add(d, "refused", devs);
		json_object_object_add(d, "state", json_object_new_string(disk_state_to_string(r->state)));
		json_object_object_add(d, "key_source", str_or_null(r->key_source));
		json_object_object_add(d, "cipher", str_or_null(r->cipher));
		json_object_object_add(d, "key_bits", r->key_bits ? json_object_new_int((int)r->key_bits) : NULL);
		json_object_object_add(d, "sector_size",
				       r->sector_size ? json_object_new_int((int)r->sector_size) : NULL);
		json_object_object_add(d, "mapping", str_or_null(r->mapping));
		json_object_object_add(d, "mount_point", str_or_null(r->mount_point));
		json_object_object_add(d, "cmk_supported", json_object_new_boolean(0));
		json_object_object_add(d, "note", json_object_new_string(r->note));
		if (r->key_source && strcmp(r->key_source, "hbi") == 0) {
			char when[32];

			json_object_object_add(d, "vault", str_or_null(r->vault));
			json_object_object_add(d, "key_name", str_or_null(r->key_name));
			json_object_object_add(d, "key_version", str_or_null(r->key_version));
			json_object_object_add(d, "last_unwrap",
					       r->last_unwrap ? json_object_new_string(status_iso_time(r->last_unwrap, when, sizeof(when)))
							      : NULL);
		}
		json_object_array_add(disks, d);
	}
	json_object_object_add(root, "disks", disks);
	json_object_object_add(root, "shreds", status_shreds_to_json(st));
	json_object_object_add(root, "owed_shreds", status_owed_to_json(st));
	json_object_object_add(root, "unfinished_stop", status_unfinished_to_json(st));
	return root;
}

static void join_devices(const struct status_row *r, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < r->n_devices && off < size; k++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", k ? "," : "", r->devices[k]);
	if (!r->n_devices)
		snprintf(buf, size, "-");
}

void status_print_table(const struct status *st, FILE *f)
{
	char devs[512];
	int w = (int)strlen("DEVICES");

	for (size_t i = 0; i < st->n_rows; i++) {
		join_devices(&st->rows[i], devs, sizeof(devs));
		if ((int)strlen(devs) > w)
			w = (int)strlen(devs);
	}
	print_line(f, "node: %s, key source: %s", node_role_to_string(st->node_role),
		key_source_to_string(st->key_source));
	fputc('\n', f);
	print_line(f, "%-8s %-14s %-17s %-*s  %s", "ROLE", "STATE", "KEY SOURCE", w, "DEVICES", "MOUNT");
	for (size_t i = 0; i < st->n_rows; i++) {
		const struct status_row *r = &st->rows[i];

		join_devices(r, devs, sizeof(devs));
		print_line(f, "%-8s %-14s %-17s %-*s  %s", disk_role_to_string(r->role),
			disk_state_to_string(r->state), r->key_source ?: "-", w, devs,
			r->mount_point[0] ? r->mount_point : "-");
	}
	fputc('\n', f);
	for (size_t i = 0; i < st->n_rows; i++) {
		const struct status_row *r = &st->rows[i];

		if (r->mapping[0])
			print_line(f, "%s: %s, %s, %u-bit key, %u-byte sectors",
				disk_role_to_string(r->role), r->mapping, r->cipher, r->key_bits,
				r->sector_size);
		if (r->vault[0]) {
			char when[32];

			print_line(f, "%s: HBI key %s in vault %s, version %s; last unwrapped %s",
				disk_role_to_string(r->role), r->key_name, r->vault,
				r->key_version[0] ? r->key_version : "(current)",
				r->last_unwrap ? status_iso_time(r->last_unwrap, when, sizeof(when)) : "never");
		}
		if (r->note[0])
			print_line(f, "%s: %s", disk_role_to_string(r->role), r->note);
	}
	status_print_shreds(st, f);
	status_print_owed(st, f);
}

struct json_object *detection_to_json(const struct detection *d)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	struct json_object *warn = json_object_new_array();

	json_object_object_add(root, "schema", json_object_new_int(STATUS_SCHEMA));
	for (size_t i = 0; i < d->n; i++) {
		const struct verdict *v = &d->v[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "device", json_object_new_string(v->disk.devnode));
		json_object_object_add(o, "role", json_object_new_string(disk_role_to_string(v->role)));
		json_object_object_add(o, "action", json_object_new_string(disk_action_to_string(v->action)));
		json_object_object_add(o, "reason", json_object_new_string(v->reason));
		json_object_object_add(o, "model", str_or_null(v->disk.model));
		json_object_object_add(o, "serial", str_or_null(v->disk.serial));
		json_object_object_add(o, "size_bytes", json_object_new_int64((int64_t)v->disk.size_bytes));
		json_object_object_add(o, "identity", str_or_null(v->identity));
		json_object_object_add(o, "platform_index", v->disk.platform.index >= 0 ?
				       json_object_new_int(v->disk.platform.index) : NULL);
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "disks", arr);
	for (size_t i = 0; i < d->n_warnings; i++)
		json_object_array_add(warn, json_object_new_string(d->warnings[i]));
	json_object_object_add(root, "warnings", warn);
	return root;
}

void detection_print_table(const struct detection *d, FILE *f)
{
	print_line(f, "%-16s %-8s %-8s %-28s %s", "DEVICE", "ROLE", "ACTION", "MODEL", "REASON");
	for (size_t i = 0; i < d->n; i++) {
		const struct verdict *v = &d->v[i];

		print_line(f, "%-16s %-8s %-8s %-28.28s %s", v->disk.devnode,
			disk_role_to_string(v->role), disk_action_to_string(v->action),
			v->disk.model[0] ? v->disk.model : "-", v->reason);
	}
	for (size_t i = 0; i < d->n_warnings; i++)
		print_line(f, "warning: %s", d->warnings[i]);
}
