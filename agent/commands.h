/* SPDX-License-Identifier: MIT */
/* Internal to the CLI: its parsed arguments and the verbs' commands. */
#pragma once
#include <stdbool.h>

#include "agent/config.h"

struct args {
	const char *config;
	bool config_given;
	bool json;
	bool force;         /* start */
	bool keep;          /* stop */
	bool once;          /* watch-events */
	bool reply;         /* watch-events --once: the result on stdout */
	const char *handoff; /* watch-events: shred through this socket */
	const char *key_url; /* rewrap --key */
	const char *phase;  /* boot-phase --is */
	const char *device; /* nvme-id --device */
	const char *command;
};

/* Each returns an exit code. */
int cmd_detect(struct cfg *c, const struct args *a);
int cmd_status(struct cfg *c, const struct args *a);
int cmd_watch_events(struct cfg *c, const struct args *a);
int cmd_start(struct cfg *c, const struct args *a);
int cmd_stop(struct cfg *c, const struct args *a);
int cmd_rewrap(struct cfg *c, const struct args *a);
int cmd_adopt(struct cfg *c, const struct args *a);
int cmd_version(struct cfg *c, const struct args *a);
int cmd_boot_phase(struct cfg *c, const struct args *a);
int cmd_nvme_id(struct cfg *c, const struct args *a);
#ifdef SCRATCHCRYPT_CRASHPOINTS
int cmd_crash_points(struct cfg *c, const struct args *a);
#endif
