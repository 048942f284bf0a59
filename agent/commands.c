// SPDX-License-Identifier: MIT
/* What each verb of the CLI does (the table in cli.c dispatches here). */
#include "agent/commands.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "agent/detect/detect.h"
#include "agent/detect/nvmeid.h"
#include "agent/events.h"
#include "agent/exitcode.h"
#include "agent/handoff.h"
#include "agent/report/metrics.h"
#include "agent/report/status.h"
#include "agent/setup/lifecycle.h"
#include "agent/setup/runstate.h"
#include "base/log.h"
#include "base/safemem.h"
#include "base/workers.h"
#include "dm/dm.h"

#define LOCK_TIMEOUT_S 300

static int print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return EX_OK;
}

int cmd_detect(struct cfg *c, const struct args *a)
{
	struct detect_opts o = { .paths = &sys_paths_default, .force = a->force,
				 .probe_timeout_ms = c->probe_timeout_s * 1000 };
	struct detection det;
	int r = detect_run(c, &o, &det);

	if (r < 0) {
		log_error_errno(r, "cannot detect disks: %m");
		return exit_code_of(r);
	}
	if (a->json)
		print_json(detection_to_json(&det));
	else
		detection_print_table(&det, stdout);
	detection_free(&det);
	return EX_OK;
}

int cmd_status(struct cfg *c, const struct args *a)
{
	struct status st;
	int r;

	/* Without device-mapper nothing can be seen as mapped: say so, never
	 * "absent" with 0. */
	if (dm_available() < 0) {
		static const char why[] = "device-mapper cannot be queried (is dm-mod loaded, is there "
					  "a /dev/mapper/control?): cannot tell what is encrypted";

		/* What the configuration says is still known; no disk rows. */
		memset(&st, 0, sizeof(st));
		st.node_role = c->role;
		st.key_source = c->key_source;
		if (a->json) {
			struct json_object *o = status_to_json(&st);

			json_object_object_add(o, "error", json_object_new_string(why));
			print_json(o);
		}
		log_error("%s", why);
		return EX_UNAVAILABLE;
	}
	r = status_collect(c, &sys_paths_default, &st);
	if (r < 0) {
		log_error_errno(r, "cannot collect the status: %m");
		return exit_code_of(r);
	}
	if (a->json)
		return print_json(status_to_json(&st));
	status_print_table(&st, stdout);
	return EX_OK;
}

enum lc_command { LC_START, LC_STOP, LC_REWRAP, LC_ADOPT };
static const char *const lc_names[] = { "start", "stop", "rewrap", "adopt" };

static int cmd_lifecycle(const struct cfg *c, const struct args *a, enum lc_command cmd)
{
	struct lc_opts o = { .paths = &sys_paths_default, .force = a->force, .keep = a->keep };
	struct lc_result res;
	int r;

	safe_harden_process();
	r = runstate_lock(lc_names[cmd], LOCK_TIMEOUT_S);
	if (r < 0) {
		log_error_errno(r, "cannot take the lock in %s: %s", runstate_dir(),
				r == -EAGAIN ? "another scratchcrypt is still running" : "%m");
		return exit_code_of(r);
	}
	/* Every disk operation ends by its deadline (base/workers.h). */
	workers_set_deadline(c->step_timeout_s);
	r = cmd == LC_START ? lc_start(c, &o, &res)
	    : cmd == LC_STOP ? lc_stop(c, &o, &res)
	    : cmd == LC_ADOPT ? lc_adopt(c, &o, &res)
			      : lc_rewrap(c, &o, a->key_url, &res);
	runstate_unlock();
	if (r < 0)
		r = exit_code_of(r);
	else if (cmd == LC_START && res.refused) {
		log_error("%u disk%s refused; see 'scratchcrypt status'", res.refused,
			  res.refused == 1 ? " was" : "s were");
		r = EX_DATAERR;
	}
	(void)metrics_write(c, lc_names[cmd], r, &res.det);
	lc_result_free(&res);
	return r;
}

int cmd_watch_events(struct cfg *c, const struct args *a)
{
	struct lc_opts o = { .paths = &sys_paths_default };

	struct events_opts eo = { .once = a->once, .reply = a->reply, .handoff = a->handoff };

	safe_harden_process();
	if (a->once && a->reply)
		handoff_read_request(STDIN_FILENO);
	return exit_code_of(events_watch(c, &o, &eo));
}

int cmd_start(struct cfg *c, const struct args *a)
{
	return cmd_lifecycle(c, a, LC_START);
}

int cmd_stop(struct cfg *c, const struct args *a)
{
	return cmd_lifecycle(c, a, LC_STOP);
}

int cmd_rewrap(struct cfg *c, const struct args *a)
{
	return cmd_lifecycle(c, a, LC_REWRAP);
}

int cmd_adopt(struct cfg *c, const struct args *a)
{
	return cmd_lifecycle(c, a, LC_ADOPT);
}

int cmd_version(struct cfg *c, const struct args *a)
{
	(void)c;
	(void)a;
	printf("scratchcrypt %s\n", SCRATCHCRYPT_VERSION);
	return EX_OK;
}

/* Which boot unit sets the disks up: scratchcrypt.service before
 * local-fs.target ("early") for system keys, scratchcrypt-online.service
 * after network-online.target ("online") when the key or the tags come from
 * the network. The units ask with --is in ExecCondition=, where 1 skips the
 * unit. A configuration that does not load counts as early, so that the
 * early unit runs start and fails visibly with 78. */
int cmd_boot_phase(struct cfg *c, const struct args *a)
{
	const char *phase = "early";

	if (cfg_load(c, a->config, NULL) == 0 && (c->key_source == KEY_SOURCE_HBI || c->imds_tags))
		phase = "online";
	if (!a->phase) {
		puts(phase);
		return EX_OK;
	}
	if (strcmp(a->phase, "early") != 0 && strcmp(a->phase, "online") != 0) {
		fprintf(stderr, "scratchcrypt: --is takes early or online, not '%s'\n", a->phase);
		return EX_USAGE;
	}
	return strcmp(a->phase, phase) == 0 ? EX_OK : 1;
}

/* For udev's IMPORT{program}: what the NVMe controller says of a namespace
 * (Azure's NVMe Direct Disk v2), as KEY=value lines; nothing when it says
 * nothing. The rule names local disks by the platform's index with it. */
int cmd_nvme_id(struct cfg *c, const struct args *a)
{
	struct sys_disk d = { 0 };
	const char *base;

	(void)c;
	if (!a->device) {
		fprintf(stderr, "scratchcrypt: nvme-id needs --device /dev/nvmeXnY\n");
		return EX_USAGE;
	}
	base = strrchr(a->device, '/');
	base = base ? base + 1 : a->device;
	if (strncmp(base, "nvme", 4) != 0 || strlen(base) >= sizeof(d.name)) {
		fprintf(stderr, "scratchcrypt: nvme-id: %s is not an NVMe namespace\n", a->device);
		return EX_USAGE;
	}
	snprintf(d.name, sizeof(d.name), "%s", base);
	snprintf(d.devnode, sizeof(d.devnode), "/dev/%s", base);
	nvme_identify(&sys_paths_default, &d);
	if (d.platform.type[0])
		printf("SCRATCHCRYPT_PLATFORM_TYPE=%s\n", d.platform.type);
	if (d.platform.index >= 0)
		printf("SCRATCHCRYPT_PLATFORM_INDEX=%d\n", d.platform.index);
	return EX_OK;
}

#ifdef SCRATCHCRYPT_CRASHPOINTS
int cmd_crash_points(struct cfg *c, const struct args *a)
{
	(void)c;
	(void)a;
	for (const struct lc_step *s = lc_steps; s->name; s++)
		printf("%s %s\t%s\n", s->command, s->name, s->what);
	return EX_OK;
}
#endif
