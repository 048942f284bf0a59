// SPDX-License-Identifier: MIT
/* A role's row: its note, and what is owed in it (owed.h): a member gone,
 * a stop that did not finish. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "agent/report/status.h"
#include "agent/ondisk/names.h"
#include "agent/setup/owed.h"
#include "dm/dm.h"

void status_note_append(struct status_row *r, const char *arg)
{
	size_t len = strlen(r->note);

	if (!arg || !*arg)
		return;
	if (len && len < sizeof(r->note) - 2) {
		r->note[len++] = ' ';
		r->note[len] = '\0';
	}
	snprintf(r->note + len, sizeof(r->note) - len, "%s", arg);
}

/* A volume with a member whose disk is gone: it cannot be read in full,
 * and that disk cannot be shredded until it is back (owed.h). */
bool status_row_degraded(enum disk_role role, struct status_row *r)
{
	struct lost_member lost[OWED_MAX];
	char note[512];
	int n = owed_lost_members(&sys_paths_default, lost, OWED_MAX);
	bool any = false;

	for (int i = 0; i < n; i++) {
		if (lost[i].role != role)
			continue;
		any = true;
		snprintf(note, sizeof(note), "Degraded: the disk under %s (%s) is gone; the volume "
			 "cannot be read in full. 'scratchcrypt stop' shreds the rest and records the "
			 "shred that disk owes.", lost[i].mapping, lost[i].device);
		status_note_append(r, note);
	}
	if (any)
		r->state = STATE_DEGRADED;
	return any;
}

/* A stop that began shredding the role's disks and did not finish
 * (owed.h): said over whatever else the row says. */
void status_row_unfinished(enum disk_role role, struct status_row *r)
{
	bool roles[_DISK_ROLE_MAX];
	char note[512], when[40];
	long long since;

	if (owed_stop_pending(&since, roles) != 1 || !roles[role])
		return;
	snprintf(note, sizeof(note), "Shred unfinished: a 'scratchcrypt stop' began shredding these "
		 "disks at %s and did not finish (a power cut, a kill or a failed wipe); key material "
		 "may still be on them. Run 'scratchcrypt stop' to finish it ('scratchcrypt start' "
		 "finishes it first too).", since ? status_iso_time(since, when, sizeof(when)) : "an unknown time");
	r->state = STATE_SHRED_UNFINISHED;
	status_note_append(r, note);
}

/* A mapped volume's devices are its members' disks, as the mappings say
 * (a disk of the role that is not in the volume, blank or back after a
 * shred, is not one of them). */
void status_row_members(enum disk_role role, struct status_row *r)
{
	struct dm_crypt_info info;
	char name[80];
	size_t n = 0;

	ondisk_top_name(name, sizeof(name), role);
	if (dm_crypt_info(name, &info) == 0 && info.device[0]) {
		snprintf(r->devices[n++], sizeof(r->devices[0]), "%s", info.device);
	} else {
		for (unsigned i = 0; i < STATUS_MAX_DEVICES; i++) {
			ondisk_member_name(name, sizeof(name), role, i, 2);
			if (dm_crypt_info(name, &info) == 0 && info.device[0])
				snprintf(r->devices[n++], sizeof(r->devices[0]), "%s", info.device);
		}
	}
	if (n)
		r->n_devices = n;
}
