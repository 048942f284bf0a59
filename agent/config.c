// SPDX-License-Identifier: MIT
#include "agent/config.h"

#include <errno.h>
#include <fnmatch.h>
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

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static int parse_list(const char *value, struct strv *out)
{
	char *copy = strdup(value), *save = NULL, *tok;
	struct strv l = { 0 };

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *t = trim(tok);

		if (*t && strv_push(&l, t) < 0)
			goto oom;
	}
	free(copy);
	strv_free(out);
	*out = l;
	return 0;
oom:
	free(copy);
	strv_free(&l);
	return -ENOMEM;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

static int parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long n;

	if (!*v || *v == '-' || *v == '+')
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

static int set_str(char **dst, const char *v)
{
	char *n = strdup(v);

	if (!n)
		return -ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

static int set_abs_path(char **dst, const char *v)
{
	if (v[0] != '/' || strlen(v) >= PATH_MAX || strstr(v, "/../") || strcmp(v, "/") == 0)
		return -EINVAL;
	return set_str(dst, v);
}

static int set_https_url(char **dst, const char *v)
{
	if (strncmp(v, "https://", 8) != 0 || !v[8] || strpbrk(v, " \t?#"))
		return -EINVAL;
	return set_str(dst, v);
}

static int set_http_url(char **dst, const char *v)
{
	if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) || strpbrk(v, " \t?#"))
		return -EINVAL;
	return set_str(dst, v);
}

/* The ciphers that are known to work with dm-crypt and their key sizes. */
static bool cipher_key_bits_ok(const char *cipher, unsigned bits)
{
	if (!strcmp(cipher, "aes-xts-plain64") || !strcmp(cipher, "serpent-xts-plain64") ||
	    !strcmp(cipher, "twofish-xts-plain64"))
		return bits == 256 || bits == 512;
	if (!strcmp(cipher, "aes-cbc-essiv:sha256"))
		return bits == 128 || bits == 256;
	if (!strcmp(cipher, "xchacha12,aes-adiantum-plain64") ||
	    !strcmp(cipher, "xchacha20,aes-adiantum-plain64"))
		return bits == 256;
	return false;
}

struct parse_ctx {
	struct cfg *c;
	char msg[256]; /* first error, without the line */
};

#define MATCH(s, n) (strcmp(section, s) == 0 && strcmp(name, n) == 0)

static int apply(struct cfg *c, const char *section, const char *name, const char *value,
		 const char **why)
{
	int r;
	unsigned u;

	*why = "bad value";
	if (MATCH("node", "role")) {
		*why = "must be compute-instance or serverless";
		return (r = node_role_from_string(value)) < 0 ? r : (c->role = r, 0);
	}
	if (MATCH("node", "key_source")) {
		*why = "must be system, hbi or customer";
		return (r = key_source_from_string(value)) < 0 ? r : (c->key_source = r, 0);
	}
	if (MATCH("node", "imds_tags")) {
		*why = "must be true or false";
		return parse_bool(value, &c->imds_tags);
	}
	if (MATCH("disks", "devices")) {
		*why = "must be a comma-separated list of /dev paths";
		r = parse_list(value, &c->devices);
		for (size_t i = 0; r == 0 && i < c->devices.n; i++)
			if (strncmp(c->devices.v[i], "/dev/", 5) != 0)
				r = -EINVAL;
		return r;
	}
	if (MATCH("disks", "nvme_models")) {
		*why = "must be a comma-separated list of model globs";
		return parse_list(value, &c->nvme_models);
	}
	if (MATCH("temp", "mount_point")) {
		*why = "must be an absolute path other than /";
		return set_abs_path(&c->temp_mount, value);
	}
	if (MATCH("scratch", "mount_point")) {
		*why = "must be an absolute path other than /";
		return set_abs_path(&c->scratch_mount, value);
	}
	if (MATCH("filesystem", "type")) {
		*why = "must be ext4 or xfs";
		return (r = fs_type_from_string(value)) < 0 ? r : (c->fs = r, 0);
	}
	if (MATCH("crypt", "cipher")) {
		*why = "must be aes-xts-plain64, serpent-xts-plain64, twofish-xts-plain64, "
		       "aes-cbc-essiv:sha256 or xchacha{12,20},aes-adiantum-plain64";
		if (!cipher_key_bits_ok(value, 256) && !cipher_key_bits_ok(value, 128))
			return -EINVAL;
		return set_str(&c->cipher, value);
	}
	if (MATCH("crypt", "key_bits")) {
		*why = "must be 128, 256 or 512";
		if ((r = parse_uint(value, 128, 512, &u)) < 0 || (u != 128 && u != 256 && u != 512))
			return -EINVAL;
		c->key_bits = u;
		return 0;
	}
	if (MATCH("crypt", "sector_size")) {
		*why = "must be 512, 1024, 2048 or 4096";
		if (parse_uint(value, 512, 4096, &u) < 0 || (u & (u - 1)))
			return -EINVAL;
		c->sector_size = u;
		return 0;
	}
	*why = "must be true or false";
	if (MATCH("crypt", "no_read_workqueue"))
		return parse_bool(value, &c->no_read_workqueue);
	if (MATCH("crypt", "no_write_workqueue"))
		return parse_bool(value, &c->no_write_workqueue);
	if (MATCH("crypt", "allow_discards"))
		return parse_bool(value, &c->allow_discards);
	if (MATCH("shred", "discard"))
		return parse_bool(value, &c->shred_discard);
	*why = "must be empty or an absolute path ending in .prom";
	if (MATCH("metrics", "textfile")) {
		size_t len = strlen(value);
		if (len && (value[0] != '/' || len < 6 || strcmp(value + len - 5, ".prom") != 0))
			return -EINVAL;
		return set_str(&c->metrics_textfile, value);
	}
	*why = "must be a number of seconds from 1 to 3600";
	if (MATCH("events", "poll_s"))
		return parse_uint(value, 1, 3600, &c->events_poll_s) < 0 ? -EINVAL : 0;
	*why = "must be an https:// URL";
	if (MATCH("hbi", "vault_url"))
		return set_https_url(&c->hbi.vault_url, value);
	*why = "must not be empty";
	if (MATCH("hbi", "key_name"))
		return *value ? set_str(&c->hbi.key_name, value) : -EINVAL;
	if (MATCH("hbi", "key_version"))
		return set_str(&c->hbi.key_version, value);
	if (MATCH("hbi", "client_id"))
		return set_str(&c->hbi.client_id, value);
	if (MATCH("hbi", "msi_res_id"))
		return set_str(&c->hbi.msi_res_id, value);
	*why = "must be an absolute path";
	if (MATCH("hbi", "ca_bundle"))
		return set_abs_path(&c->hbi.ca_bundle, value);
	*why = "must be an http:// or https:// URL";
	if (MATCH("hbi", "imds_endpoint"))
		return set_http_url(&c->hbi.imds_endpoint, value);
	*why = "must be a number of seconds from 1 to 3600";
	if (MATCH("hbi", "retry_cap_s"))
		return parse_uint(value, 1, 3600, &c->hbi.retry_cap_s) < 0 ? -EINVAL : 0;

	*why = "unknown key";
	if (strcmp(section, "node") && strcmp(section, "disks") && strcmp(section, "temp") &&
	    strcmp(section, "scratch") && strcmp(section, "filesystem") && strcmp(section, "crypt") &&
	    strcmp(section, "shred") && strcmp(section, "hbi") && strcmp(section, "metrics") &&
	    strcmp(section, "events"))
		*why = "unknown section";
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

int cfg_load(struct cfg *c, const char *path)
{
	struct parse_ctx p = { .c = c };
	FILE *f;
	int line;

	f = fopen(path, "re");
	if (!f) {
		int r = -errno;
		snprintf(c->error, sizeof(c->error), "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	line = ini_parse_file(f, handler, &p);
	fclose(f);
	if (line == 0) {
		if (!cipher_key_bits_ok(c->cipher, c->key_bits)) {
			snprintf(c->error, sizeof(c->error),
				 "%s: [crypt] key_bits = %u does not fit cipher %s", path,
				 c->key_bits, c->cipher);
			return -EINVAL;
		}
		return 0;
	}
	if (line > 0 && !p.msg[0])
		snprintf(p.msg, sizeof(p.msg), "syntax error");
	snprintf(c->error, sizeof(c->error), "%s:%d: %s", path, line, p.msg);
	return -EINVAL;
}

int cfg_check_policy(const struct cfg *c, char *msg, size_t msg_size)
{
	if (c->key_source == KEY_SOURCE_CUSTOMER) {
		snprintf(msg, msg_size,
			 "key_source = customer: customer-managed keys are not supported for OS and "
			 "temp disks; use system (serverless and compute instances) or hbi "
			 "(compute instances of HBI workspaces, Microsoft-managed key)");
		return -EPERM;
	}
	if (c->key_source == KEY_SOURCE_HBI && c->role == NODE_SERVERLESS) {
		snprintf(msg, msg_size,
			 "key_source = hbi on a serverless node: temp-disk encryption on serverless "
			 "compute is limited to system-managed keys; use key_source = system");
		return -EPERM;
	}
	if (c->key_source == KEY_SOURCE_HBI && (!c->hbi.vault_url || !c->hbi.key_name)) {
		snprintf(msg, msg_size,
			 "key_source = hbi needs [hbi] vault_url and key_name");
		return -EPERM;
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

int cfg_apply_tag(struct cfg *c, const char *name, const char *value)
{
	bool hbi;
	int r;

	if (strcmp(name, CFG_TAG_ROLE) == 0) {
		r = node_role_from_string(value);
		if (r < 0) {
			snprintf(c->error, sizeof(c->error),
				 "instance-metadata tag %s = '%s': must be compute-instance or serverless",
				 name, value);
			return -EINVAL;
		}
		c->role = r;
	} else if (strcmp(name, CFG_TAG_HBI) == 0) {
		if (parse_bool(value, &hbi) < 0) {
			snprintf(c->error, sizeof(c->error),
				 "instance-metadata tag %s = '%s': must be true or false", name, value);
			return -EINVAL;
		}
		if (hbi && c->key_source == KEY_SOURCE_SYSTEM)
			c->key_source = KEY_SOURCE_HBI;
		else if (!hbi && c->key_source == KEY_SOURCE_HBI)
			c->key_source = KEY_SOURCE_SYSTEM;
	}
	return 0;
}
