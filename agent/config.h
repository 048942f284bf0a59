/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "base/log.h"
#include "base/strtab.h"
#include "base/strv.h"

#define CFG_DEFAULT_PATH "/etc/scratchcrypt/scratchcrypt.conf"

struct cfg {
	enum node_role role;
	enum key_source key_source;
	bool imds_tags; /* role and HBI flag from instance-metadata tags */
	struct strv devices;
	struct strv nvme_models;
	unsigned probe_timeout_s; /* each disk's probe; one that does not answer is refused */
	unsigned step_timeout_s;  /* each disk's steps in start and stop, and mkfs */
	char *temp_mount;
	char *scratch_mount;
	enum fs_type fs;
	unsigned ext4_cluster_size; /* bytes; 4096: no bigalloc; 0: by the disk's size */
	char *cipher;
	unsigned key_bits;
	unsigned sector_size;
	bool no_read_workqueue;
	bool no_write_workqueue;
	bool allow_discards;
	bool shred_discard;
	char *metrics_textfile; /* "" disables */
	unsigned events_poll_s;
	struct {
		char *vault_url;
		char *key_name;
		char *key_version;
		char *client_id;
		char *msi_res_id;
		char *ca_bundle;
		char *imds_endpoint;
		unsigned retry_cap_s;
	} hbi;
};

/* Every key of the file: the parser, the tests and the documentation walk
 * this one table. */
struct cfg_key {
	const char *section;
	const char *name;
	int (*parse)(const char *value, void *field); /* 0 or -errno */
	size_t offset;                                /* of the field in struct cfg */
	const char *help;                             /* what a valid value is */
};
/* NULL-terminated. */
const struct cfg_key *cfg_keys(void);

void cfg_init(struct cfg *c);
void cfg_free(struct cfg *c);
/* Returns 0, -ENOENT when the file is missing (c keeps defaults), or
 * -EINVAL; why says "FILE:LINE: [section] key = 'value': what is wrong". */
int cfg_load(struct cfg *c, const char *path, struct reason *why);
/* Checks the documented key-source policy. Returns 0 or -EPERM, with a
 * sentence for the operator in why. */
int cfg_check_policy(const struct cfg *c, struct reason *why);
bool cfg_nvme_model_matches(const struct cfg *c, const char *model);

/* The instance-metadata tags that override [node] when imds_tags = true. */
#define CFG_TAG_ROLE "scratchcrypt-node-role" /* compute-instance | serverless */
#define CFG_TAG_HBI "hbi_workspace"           /* true: key_source = hbi */
/* Applies one tag; -EINVAL for a bad value, saying why. */
int cfg_apply_tag(struct cfg *c, const char *name, const char *value, struct reason *why);
