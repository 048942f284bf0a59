// SPDX-License-Identifier: MIT
/* The value parsers of the config keys: each reads one value into the field
 * of struct cfg it is given (see the table in config.c). */
#include "agent/cfgvalue.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && r == 0; tok = strtok_r(NULL, ",", &save)) {
		char *t = trim(tok);

		if (*t)
			r = strv_push(&l, t);
	}
	if (r < 0)
		goto out;
	strv_free(out);
	*out = l;
	l = (struct strv){ 0 };
out:
	free(copy);
	strv_free(&l);
	return r;
}

int cfg_parse_bool(const char *v, bool *out)
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
bool cfg_cipher_key_bits_ok(const char *cipher, unsigned bits)
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

/* Value parsers: each reads value into the struct cfg field it is given. */
int cfgv_role(const char *v, void *f)
{
	int r = node_role_from_string(v);

	return r < 0 ? r : (*(enum node_role *)f = r, 0);
}

int cfgv_key_source(const char *v, void *f)
{
	int r = key_source_from_string(v);

	return r < 0 ? r : (*(enum key_source *)f = r, 0);
}

int cfgv_fs(const char *v, void *f)
{
	int r = fs_type_from_string(v);

	return r < 0 ? r : (*(enum fs_type *)f = r, 0);
}

int cfgv_bool(const char *v, void *f)
{
	return cfg_parse_bool(v, f);
}

int cfgv_devices(const char *v, void *f)
{
	struct strv *l = f;
	int r = parse_list(v, l);

	for (size_t i = 0; r == 0 && i < l->n; i++)
		if (strncmp(l->v[i], "/dev/", 5) != 0)
			r = -EINVAL;
	return r;
}

int cfgv_list(const char *v, void *f)
{
	return parse_list(v, f);
}

int cfgv_abs_path(const char *v, void *f)
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
bool cfg_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' || !strcmp(dir, "/"));
}

/* Where a volume may be mounted: anywhere but the system's own trees. */
int cfgv_mount_point(const char *v, void *f)
{
	static const char *const system_dirs[] = { "/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/usr" };

	if (!normalised(v) || strlen(v) >= PATH_MAX)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		if (cfg_path_under(v, system_dirs[i]))
			return -EINVAL;
	return set_str(f, v);
}

int cfgv_string(const char *v, void *f)
{
	return set_str(f, v);
}

/* Key Vault's own rules: a name of 1 to 127 letters, digits and dashes; a
 * version of 32 hex digits. */
int cfgv_key_name(const char *v, void *f)
{
	size_t n = strlen(v);

	if (n < 1 || n > 127 || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != n)
		return -EINVAL;
	return set_str(f, v);
}

int cfgv_key_version(const char *v, void *f)
{
	size_t n = strlen(v);

	if (n && (n != 32 || strspn(v, "0123456789abcdefABCDEF") != n))
		return -EINVAL;
	return set_str(f, v);
}

int cfgv_cipher(const char *v, void *f)
{
	if (!cfg_cipher_key_bits_ok(v, 256) && !cfg_cipher_key_bits_ok(v, 128))
		return -EINVAL;
	return set_str(f, v);
}

int cfgv_key_bits(const char *v, void *f)
{
	unsigned u;

	if (parse_uint(v, 128, 512, &u) < 0 || (u != 128 && u != 256 && u != 512))
		return -EINVAL;
	*(unsigned *)f = u;
	return 0;
}

int cfgv_sector_size(const char *v, void *f)
{
	unsigned u;

	if (parse_uint(v, 512, 4096, &u) < 0 || (u & (u - 1)))
		return -EINVAL;
	*(unsigned *)f = u;
	return 0;
}

/* "auto" is 0: fs_ext4_cluster_size() picks by the disk's size. */
int cfgv_cluster_size(const char *v, void *f)
{
	unsigned u;

	if (strcmp(v, "auto") == 0) {
		*(unsigned *)f = 0;
		return 0;
	}
	if (parse_uint(v, 4096, 1048576, &u) < 0 || (u & (u - 1)))
		return -EINVAL;
	*(unsigned *)f = u;
	return 0;
}

int cfgv_textfile(const char *v, void *f)
{
	size_t len = strlen(v);

	const char *base = strrchr(v, '/');

	/* An absolute path to a .prom file, with no "." or ".." on the way. */
	if (len && (v[0] != '/' || len < 6 || strcmp(v + len - 5, ".prom") != 0 ||
		    strstr(v, "/./") || strstr(v, "/../") || strstr(v, "//") || !base || base[1] == '.'))
		return -EINVAL;
	return set_str(f, v);
}

int cfgv_seconds(const char *v, void *f)
{
	return parse_uint(v, 1, 3600, f) < 0 ? -EINVAL : 0;
}

int cfgv_vault_url(const char *v, void *f)
{
	return set_vault_url(f, v);
}

int cfgv_http(const char *v, void *f)
{
	return set_http_url(f, v);
}
