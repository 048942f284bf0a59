// SPDX-License-Identifier: MIT
#include "agent/config.h"

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

/* A vault as the portal shows it, "https://NAME.vault.azure.net/": kept
 * as "https://name.vault.azure.net", so that request paths are /keys/...
 * and kids compare. A path, query, user or empty host is refused. */
static int set_vault_url(char **dst, const char *v)
{
	size_t n;
	char *u;

	if (strncasecmp(v, "https://", 8) != 0 || strpbrk(v, " \t?#@"))
		return -EINVAL;
	n = strcspn(v + 8, "/");
	if (!n || strspn(v + 8 + n, "/") != strlen(v + 8 + n))
		return -EINVAL;
	if (asprintf(&u, "https://%.*s", (int)n, v + 8) < 0)
		return -ENOMEM;
	for (char *p = u + 8; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	free(*dst);
	*dst = u;
	return 0;
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
	FILE *f;
	int line;      /* lines read so far */
	int long_line; /* the first line longer than inih takes, or 0 */
};

/* Value parsers: each reads value into the struct cfg field it is given. */
static int p_role(const char *v, void *f)
{
	int r = node_role_from_string(v);

	return r < 0 ? r : (*(enum node_role *)f = r, 0);
}

static int p_key_source(const char *v, void *f)
{
	int r = key_source_from_string(v);

	return r < 0 ? r : (*(enum key_source *)f = r, 0);
}

static int p_fs(const char *v, void *f)
{
	int r = fs_type_from_string(v);

	return r < 0 ? r : (*(enum fs_type *)f = r, 0);
}

static int p_bool(const char *v, void *f)
{
	return parse_bool(v, f);
}

static int p_devices(const char *v, void *f)
{
	struct strv *l = f;
	int r = parse_list(v, l);

	for (size_t i = 0; r == 0 && i < l->n; i++)
		if (strncmp(l->v[i], "/dev/", 5) != 0)
			r = -EINVAL;
	return r;
}

static int p_list(const char *v, void *f)
{
	return parse_list(v, f);
}

static int p_abs_path(const char *v, void *f)
{
	return set_abs_path(f, v);
}

/* A normalised absolute path: no empty, "." or ".." components, no
 * trailing slash. */
static bool normalised(const char *v)
{
	if (v[0] != '/' || !v[1] || v[strlen(v) - 1] == '/' || strstr(v, "//"))
		return false;
	for (const char *c = v; c; c = strchr(c + 1, '/'))
		if (!strncmp(c, "/./", 3) || !strcmp(c, "/.") || !strncmp(c, "/../", 4) || !strcmp(c, "/.."))
			return false;
	return true;
}

/* Whether path is dir or lies under it. */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' || !strcmp(dir, "/"));
}

/* Where a volume may be mounted: anywhere but the system's own trees. */
static int p_mount_point(const char *v, void *f)
{
	static const char *const system_dirs[] = { "/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/usr" };

	if (!normalised(v) || strlen(v) >= PATH_MAX)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		if (path_under(v, system_dirs[i]))
			return -EINVAL;
	return set_str(f, v);
}

static int p_string(const char *v, void *f)
{
	return set_str(f, v);
}

/* Key Vault's own rules: a name of 1 to 127 letters, digits and dashes; a
 * version of 32 hex digits. */
static int p_key_name(const char *v, void *f)
{
	size_t n = strlen(v);

	if (n < 1 || n > 127 || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != n)
		return -EINVAL;
	return set_str(f, v);
}

static int p_key_version(const char *v, void *f)
{
	size_t n = strlen(v);

	if (n && (n != 32 || strspn(v, "0123456789abcdefABCDEF") != n))
		return -EINVAL;
	return set_str(f, v);
}

static int p_cipher(const char *v, void *f)
{
	if (!cipher_key_bits_ok(v, 256) && !cipher_key_bits_ok(v, 128))
		return -EINVAL;
	return set_str(f, v);
}

static int p_key_bits(const char *v, void *f)
{
	unsigned u;

	if (parse_uint(v, 128, 512, &u) < 0 || (u != 128 && u != 256 && u != 512))
		return -EINVAL;
	*(unsigned *)f = u;
	return 0;
}

static int p_sector_size(const char *v, void *f)
{
	unsigned u;

	if (parse_uint(v, 512, 4096, &u) < 0 || (u & (u - 1)))
		return -EINVAL;
	*(unsigned *)f = u;
	return 0;
}

static int p_textfile(const char *v, void *f)
{
	size_t len = strlen(v);

	const char *base = strrchr(v, '/');

	/* An absolute path to a .prom file, with no "." or ".." on the way. */
	if (len && (v[0] != '/' || len < 6 || strcmp(v + len - 5, ".prom") != 0 ||
		    strstr(v, "/./") || strstr(v, "/../") || strstr(v, "//") || !base || base[1] == '.'))
		return -EINVAL;
	return set_str(f, v);
}

static int p_seconds(const char *v, void *f)
{
	return parse_uint(v, 1, 3600, f) < 0 ? -EINVAL : 0;
}

static int p_vault_url(const char *v, void *f)
{
	return set_vault_url(f, v);
}

static int p_http(const char *v, void *f)
{
	return set_http_url(f, v);
}

#define MOUNT_POINT_HELP \
	"must be a normalised absolute path, not / and not in /proc, /sys, /dev, /run, /boot, /etc or /usr"

#define K(sec, key, parser, field, help) \
	{ sec, key, parser, offsetof(struct cfg, field), help }

static const struct cfg_key keys[] = {
	K("node", "role", p_role, role, "must be compute-instance or serverless"),
	K("node", "key_source", p_key_source, key_source, "must be system, hbi or customer"),
	K("node", "imds_tags", p_bool, imds_tags, "must be true or false"),
	K("disks", "devices", p_devices, devices, "must be a comma-separated list of /dev paths"),
	K("disks", "nvme_models", p_list, nvme_models, "must be a comma-separated list of model globs"),
	K("temp", "mount_point", p_mount_point, temp_mount, MOUNT_POINT_HELP),
	K("scratch", "mount_point", p_mount_point, scratch_mount, MOUNT_POINT_HELP),
	K("filesystem", "type", p_fs, fs, "must be ext4 or xfs"),
	K("crypt", "cipher", p_cipher, cipher,
	  "must be aes-xts-plain64, serpent-xts-plain64, twofish-xts-plain64, "
	  "aes-cbc-essiv:sha256 or xchacha{12,20},aes-adiantum-plain64"),
	K("crypt", "key_bits", p_key_bits, key_bits, "must be 128, 256 or 512"),
	K("crypt", "sector_size", p_sector_size, sector_size, "must be 512, 1024, 2048 or 4096"),
	K("crypt", "no_read_workqueue", p_bool, no_read_workqueue, "must be true or false"),
	K("crypt", "no_write_workqueue", p_bool, no_write_workqueue, "must be true or false"),
	K("crypt", "allow_discards", p_bool, allow_discards, "must be true or false"),
	K("shred", "discard", p_bool, shred_discard, "must be true or false"),
	K("metrics", "textfile", p_textfile, metrics_textfile,
	  "must be empty or an absolute path ending in .prom"),
	K("events", "poll_s", p_seconds, events_poll_s, "must be a number of seconds from 1 to 3600"),
	K("hbi", "vault_url", p_vault_url, hbi.vault_url,
	  "must be a vault's https:// URL, without a path (a trailing slash is fine)"),
	K("hbi", "key_name", p_key_name, hbi.key_name,
	  "must be 1 to 127 letters, digits and dashes (Key Vault's rule)"),
	K("hbi", "key_version", p_key_version, hbi.key_version,
	  "must be empty (the current version) or 32 hex digits"),
	K("hbi", "client_id", p_string, hbi.client_id, "a managed identity's client id"),
	K("hbi", "msi_res_id", p_string, hbi.msi_res_id, "a managed identity's resource id"),
	K("hbi", "ca_bundle", p_abs_path, hbi.ca_bundle, "must be an absolute path"),
	K("hbi", "imds_endpoint", p_http, hbi.imds_endpoint, "must be an http:// or https:// URL"),
	K("hbi", "retry_cap_s", p_seconds, hbi.retry_cap_s, "must be a number of seconds from 1 to 3600"),
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
static int check_together(struct cfg *c, const char *path)
{
	const char *t = c->temp_mount, *s = c->scratch_mount;

	if (!cipher_key_bits_ok(c->cipher, c->key_bits)) {
		snprintf(c->error, sizeof(c->error), "%s: [crypt] key_bits = %u does not fit cipher %s",
			 path, c->key_bits, c->cipher);
		return -EINVAL;
	}
	if (path_under(t, s) || path_under(s, t)) {
		snprintf(c->error, sizeof(c->error),
			 "%s: [temp] mount_point = %s and [scratch] mount_point = %s must be distinct "
			 "and not inside each other", path, t, s);
		return -EINVAL;
	}
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
	p.f = f;
	line = ini_parse_stream(read_line, &p, handler, &p);
	fclose(f);
	if (p.long_line && (line == 0 || line > p.long_line)) {
		snprintf(c->error, sizeof(c->error), "%s:%d: the line is too long (the limit is %d characters)",
			 path, p.long_line, INI_MAX_LINE - 2);
		return -EINVAL;
	}
	if (line == 0)
		return check_together(c, path);
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
