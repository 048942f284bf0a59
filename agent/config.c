// SPDX-License-Identifier: MIT
#include "agent/config.h"
#include "agent/cfgvalue.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stddef.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void cfg_init(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->role = NODE_COMPUTE_INSTANCE;
	c->key_source = KEY_SOURCE_SYSTEM;
	c->nvme_models.v = calloc(3, sizeof(char *));
	if (c->nvme_models.v) {
		c->nvme_models.v[0] = strdup("Microsoft NVMe Direct Disk*");
		c->nvme_models.n = 1;
	}
	c->temp_mount = strdup("/mnt/resource");
	c->scratch_mount = strdup("/mnt/scratch");
	c->fs = FS_EXT4;
	c->ext4_cluster_size = 0; /* auto */
	c->cipher = strdup("aes-xts-plain64");
	c->key_bits = 512;
	c->sector_size = 4096;
	c->no_read_workqueue = true;
	c->no_write_workqueue = true;
	c->allow_discards = false;
	c->shred_discard = true;
	c->metrics_textfile = strdup("/var/lib/prometheus/node-exporter/scratchcrypt.prom");
	c->events_poll_s = 2;
	c->hbi.imds_endpoint = strdup("http://169.254.169.254");
	c->hbi.retry_cap_s = 90;
	c->probe_timeout_s = 4;
	c->step_timeout_s = 120;
}

void cfg_free(struct cfg *c)
{
	strv_free(&c->devices);
	strv_free(&c->nvme_models);
	free(c->temp_mount);
	free(c->scratch_mount);
	free(c->cipher);
	free(c->metrics_textfile);
	free(c->hbi.vault_url);
	free(c->hbi.key_name);
	free(c->hbi.key_version);
	free(c->hbi.client_id);
	free(c->hbi.msi_res_id);
	free(c->hbi.ca_bundle);
	free(c->hbi.imds_endpoint);
}

struct parse_ctx {
	struct cfg *c;
	char msg[256]; /* first error, without the line */
	FILE *f;
	int line;      /* lines read so far */
	int long_line; /* the first line longer than inih takes, or 0 */
};

#define MOUNT_POINT_HELP \
	"must be a normalised absolute path, not / and not in /proc, /sys, /dev, /run, /boot, /etc or /usr"

#define K(sec, key, parser, field, help) \
	{ sec, key, parser, offsetof(struct cfg, field), help }

static const struct cfg_key keys[] = {
	K("node", "role", cfgv_role, role, "must be compute-instance or serverless"),
	K("node", "key_source", cfgv_key_source, key_source, "must be system, hbi or customer"),
	K("node", "imds_tags", cfgv_bool, imds_tags, "must be true or false"),
	K("disks", "devices", cfgv_devices, devices, "must be a comma-separated list of /dev paths"),
	K("disks", "nvme_models", cfgv_list, nvme_models, "must be a comma-separated list of model globs"),
	K("disks", "probe_timeout_s", cfgv_seconds, probe_timeout_s, "must be a number of seconds from 1 to 3600"),
	K("disks", "step_timeout_s", cfgv_seconds, step_timeout_s, "must be a number of seconds from 1 to 3600"),
	K("temp", "mount_point", cfgv_mount_point, temp_mount, MOUNT_POINT_HELP),
	K("scratch", "mount_point", cfgv_mount_point, scratch_mount, MOUNT_POINT_HELP),
	K("filesystem", "type", cfgv_fs, fs, "must be ext4 or xfs"),
	K("filesystem", "ext4_cluster_size", cfgv_cluster_size, ext4_cluster_size,
	  "must be auto or a power of two from 4096 (no bigalloc) to 1048576 bytes"),
	K("crypt", "cipher", cfgv_cipher, cipher,
	  "must be aes-xts-plain64, serpent-xts-plain64, twofish-xts-plain64, "
	  "aes-cbc-essiv:sha256 or xchacha{12,20},aes-adiantum-plain64"),
	K("crypt", "key_bits", cfgv_key_bits, key_bits, "must be 128, 256 or 512"),
	K("crypt", "sector_size", cfgv_sector_size, sector_size, "must be 512, 1024, 2048 or 4096"),
	K("crypt", "no_read_workqueue", cfgv_bool, no_read_workqueue, "must be true or false"),
	K("crypt", "no_write_workqueue", cfgv_bool, no_write_workqueue, "must be true or false"),
	K("crypt", "allow_discards", cfgv_bool, allow_discards, "must be true or false"),
	K("shred", "discard", cfgv_bool, shred_discard, "must be true or false"),
	K("metrics", "textfile", cfgv_textfile, metrics_textfile,
	  "must be empty or an absolute path ending in .prom"),
	K("events", "poll_s", cfgv_seconds, events_poll_s, "must be a number of seconds from 1 to 3600"),
	K("hbi", "vault_url", cfgv_vault_url, hbi.vault_url,
	  "must be a vault's https:// URL, without a path (a trailing slash is fine)"),
	K("hbi", "key_name", cfgv_key_name, hbi.key_name,
	  "must be 1 to 127 letters, digits and dashes (Key Vault's rule)"),
	K("hbi", "key_version", cfgv_key_version, hbi.key_version,
	  "must be empty (the current version) or 32 hex digits"),
	K("hbi", "client_id", cfgv_string, hbi.client_id, "a managed identity's client id"),
	K("hbi", "msi_res_id", cfgv_string, hbi.msi_res_id, "a managed identity's resource id"),
	K("hbi", "ca_bundle", cfgv_abs_path, hbi.ca_bundle, "must be an absolute path"),
	K("hbi", "imds_endpoint", cfgv_http, hbi.imds_endpoint, "must be an http:// or https:// URL"),
	K("hbi", "retry_cap_s", cfgv_seconds, hbi.retry_cap_s, "must be a number of seconds from 1 to 3600"),
	{ NULL, NULL, NULL, 0, NULL },
};

const struct cfg_key *cfg_keys(void)
{
	return keys;
}

static int apply(struct cfg *c, const char *section, const char *name, const char *value,
		 const char **why)
{
	bool known_section = false;

	for (const struct cfg_key *k = keys; k->section; k++) {
		if (strcmp(k->section, section) != 0)
			continue;
		known_section = true;
		if (strcmp(k->name, name) == 0) {
			*why = k->help;
			return k->parse(value, (char *)c + k->offset);
		}
	}
	*why = known_section ? "unknown key" : "unknown section";
	return -EINVAL;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	const char *why;

	if (apply(p->c, section, name, value, &why) == 0)
		return 1;
	if (!p->msg[0])
		snprintf(p->msg, sizeof(p->msg), "[%s] %s = '%s': %s", section, name, value, why);
	return 0;
}

/* inih's reader, one line at a time. Debian's libinih splits a line
 * longer than its buffer and reads the tail as a line of its own, so a
 * long comment could become a live key: such a line ends the parse. */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse_ctx *p = stream;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, p->f);

	if (n < 0 || p->long_line) {
		free(line);
		return NULL;
	}
	p->line++;
	if (n >= size) {
		p->long_line = p->line;
		free(line);
		return NULL;
	}
	memcpy(buf, line, (size_t)n + 1);
	free(line);
	return buf;
}

/* What no single key can check. */
static int check_together(const struct cfg *c, const char *path, struct reason *why)
{
	const char *t = c->temp_mount, *s = c->scratch_mount;

	if (!cfg_cipher_key_bits_ok(c->cipher, c->key_bits)) {
		return reason_set(why, -EINVAL, "%s: [crypt] key_bits = %u does not fit cipher %s",
				  path, c->key_bits, c->cipher);
	}
	if (cfg_path_under(t, s) || cfg_path_under(s, t)) {
		return reason_set(why, -EINVAL,
				  "%s: [temp] mount_point = %s and [scratch] mount_point = %s must be "
				  "distinct and not inside each other", path, t, s);
	}
	return 0;
}

int cfg_load(struct cfg *c, const char *path, struct reason *why)
{
	struct parse_ctx p = { .c = c };
	FILE *f;
	int line;

	f = fopen(path, "re");
	if (!f) {
		return reason_set(why, -errno, "%s: cannot open: %m", path);
	}
	p.f = f;
	line = ini_parse_stream(read_line, &p, handler, &p);
	fclose(f);
	if (p.long_line && (line == 0 || line > p.long_line)) {
		return reason_set(why, -EINVAL, "%s:%d: the line is too long (the limit is %d characters)",
				  path, p.long_line, INI_MAX_LINE - 2);
	}
	if (line == 0)
		return check_together(c, path, why);
	if (line > 0 && !p.msg[0])
		snprintf(p.msg, sizeof(p.msg), "syntax error");
	return reason_set(why, -EINVAL, "%s:%d: %s", path, line, p.msg);
}

int cfg_check_policy(const struct cfg *c, struct reason *why)
{
	if (c->key_source == KEY_SOURCE_CUSTOMER) {
		return reason_set(why, -EPERM,
				  "key_source = customer: customer-managed keys are not supported for OS "
				  "and temp disks; use system (serverless and compute instances) or hbi "
				  "(compute instances of HBI workspaces, Microsoft-managed key)");
	}
	if (c->key_source == KEY_SOURCE_HBI && c->role == NODE_SERVERLESS) {
		return reason_set(why, -EPERM,
				  "key_source = hbi on a serverless node: temp-disk encryption on "
				  "serverless compute is limited to system-managed keys; use key_source = "
				  "system");
	}
	if (c->key_source == KEY_SOURCE_HBI && (!c->hbi.vault_url || !c->hbi.key_name)) {
		return reason_set(why, -EPERM, "key_source = hbi needs [hbi] vault_url and key_name");
	}
	return 0;
}

bool cfg_nvme_model_matches(const struct cfg *c, const char *model)
{
	for (size_t i = 0; i < c->nvme_models.n; i++)
		if (fnmatch(c->nvme_models.v[i], model, 0) == 0)
			return true;
	return false;
}

int cfg_apply_tag(struct cfg *c, const char *name, const char *value, struct reason *why)
{
	bool hbi;
	int r;

	if (strcmp(name, CFG_TAG_ROLE) == 0) {
		r = node_role_from_string(value);
		if (r < 0) {
			return reason_set(why, -EINVAL, "instance-metadata tag %s = '%s': must be "
					  "compute-instance or serverless", name, value);
		}
		c->role = r;
	} else if (strcmp(name, CFG_TAG_HBI) == 0) {
		if (cfg_parse_bool(value, &hbi) < 0) {
			return reason_set(why, -EINVAL,
					  "instance-metadata tag %s = '%s': must be true or false", name, value);
		}
		if (hbi && c->key_source == KEY_SOURCE_SYSTEM)
			c->key_source = KEY_SOURCE_HBI;
		else if (!hbi && c->key_source == KEY_SOURCE_HBI)
			c->key_source = KEY_SOURCE_SYSTEM;
	}
	return 0;
}
