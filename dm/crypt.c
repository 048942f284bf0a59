// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm/dm.h"
#include "dm/liblog.h"

/* libdevmapper, under libcryptsetup's activation, keeps process-wide state
 * (udev cookies, the control fd): one activation at a time. */
static pthread_mutex_t activate_lock = PTHREAD_MUTEX_INITIALIZER;

/* libcryptsetup's last error line goes to the caller's reason; every line
 * to the debug log. */
static void log_cb(int level, const char *msg, void *usrptr)
{
	struct reason *why = usrptr;
	size_t len;

	dm_liblog_line("libcryptsetup", msg);
	if (level != CRYPT_LOG_ERROR || !why)
		return;
	snprintf(why->text, sizeof(why->text), "%s", msg);
	len = strlen(why->text);
	while (len && why->text[len - 1] == '\n')
		why->text[--len] = '\0';
}

static int ctx_open(struct crypt_device **cd, const char *dev, struct reason *why)
{
	int r;

	dm_liblog_init();
	r = crypt_init(cd, dev);

	if (r < 0)
		return r;
	crypt_set_log_callback(*cd, log_cb, why);
	return 0;
}

/* "aes-xts-plain64" -> "aes", "xts-plain64". */
static int split_cipher(const char *spec, char *cipher, size_t csz, char *mode, size_t msz)
{
	const char *dash = strchr(spec, '-');

	if (!dash || (size_t)(dash - spec) >= csz || strlen(dash + 1) >= msz)
		return -EINVAL;
	snprintf(cipher, csz, "%.*s", (int)(dash - spec), spec);
	snprintf(mode, msz, "%s", dash + 1);
	return 0;
}

static uint32_t activate_flags(const struct dm_crypt_params *p)
{
	uint32_t f = 0;

	if (p->no_read_workqueue)
		f |= CRYPT_ACTIVATE_NO_READ_WORKQUEUE;
	if (p->no_write_workqueue)
		f |= CRYPT_ACTIVATE_NO_WRITE_WORKQUEUE;
	if (p->allow_discards)
		f |= CRYPT_ACTIVATE_ALLOW_DISCARDS;
	return f;
}

int dm_luks_header_build(const char *hdr_file, const char *dev, const struct dm_crypt_params *p,
			 const void *key, size_t key_len,
			 const char *const *tokens, struct reason *why)
{
	struct crypt_device *cd = NULL;
	/* The key is random, so the digest needs no slow PBKDF: skip the
	 * benchmark, which also keeps node start fast. */
	struct crypt_pbkdf_type pbkdf = {
		.type = CRYPT_KDF_PBKDF2,
		.hash = "sha256",
		.iterations = 1000,
		.flags = CRYPT_PBKDF_NO_BENCHMARK,
	};
	struct crypt_params_luks2 params = {
		.sector_size = p->sector_size,
		.label = DM_LUKS_LABEL,
		.subsystem = p->subsystem,
	};
	/* 16 KiB of JSON per copy, and the smallest keyslot area: there are
	 * no keyslots. */
	const uint64_t metadata = 16384, keyslots = 4096 * 8, size = 2 * metadata + keyslots;
	char cipher[32], mode[64];
	int fd, r;

	r = split_cipher(p->cipher, cipher, sizeof(cipher), mode, sizeof(mode));
	if (r < 0)
		return reason_set(why, r, "bad cipher '%s'", p->cipher);
	fd = open(hdr_file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return reason_set(why, -errno, "cannot create %s: %m", hdr_file);
	r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return reason_set(why, r, "cannot size %s: %m", hdr_file);
	dm_liblog_init();
	r = crypt_init_data_device(&cd, hdr_file, dev);
	if (r < 0)
		return reason_set(why, r, "cannot open %s: %m", dev);
	crypt_set_log_callback(cd, log_cb, why);
	r = crypt_set_pbkdf_type(cd, &pbkdf);
	if (r == 0)
		r = crypt_set_metadata_size(cd, metadata, keyslots);
	if (r == 0)
		r = crypt_set_data_offset(cd, p->data_offset / 512);
	if (r == 0)
		r = crypt_format(cd, CRYPT_LUKS2, cipher, mode, NULL, key, key_len, &params);
	/* In the context that made the header: no reload for each token. */
	for (size_t i = 0; r >= 0 && tokens && tokens[i]; i++)
		r = crypt_token_json_set(cd, CRYPT_ANY_TOKEN, tokens[i]);
	crypt_free(cd);
	return r < 0 ? r : (int)size;
}

int dm_luks_activate(const char *dev, const char *name, const struct dm_crypt_params *p,
		     const void *key, size_t key_len, struct reason *why)
{
	struct crypt_device *cd = NULL;
	int r;

	r = ctx_open(&cd, dev, why);
	if (r < 0)
		return r;
	r = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (r < 0)
		goto out;
	/* Hand the key to the kernel through the keyring, so that it is not
	 * in the dm table; and check that it was. */
	r = crypt_volume_key_keyring(cd, 1);
	if (r < 0) {
		reason_set(why, -ENXIO, "%s: the kernel keyring cannot be used for the volume key "
			   "(%s); not activated", dev, strerror(-r));
		r = -ENXIO;
		goto out;
	}
	pthread_mutex_lock(&activate_lock);
	r = crypt_activate_by_volume_key(cd, name, key, key_len, activate_flags(p));
	pthread_mutex_unlock(&activate_lock);
	if (r >= 0 && dm_crypt_key_in_keyring(name) != 1) {
		/* A hex key in the table is readable by anyone who may read
		 * tables: fail closed. */
		(void)crypt_deactivate(cd, name);
		r = reason_set(why, -ENXIO, "%s: the dm table of /dev/mapper/%s holds the key itself, "
			       "not a kernel keyring reference (is request_key(2) blocked?); torn down",
			       dev, name);
	}
out:
	crypt_free(cd);
	return r;
}

static int load_ours(struct crypt_device **cd, const char *dev)
{
	const char *label;
	int r;

	r = ctx_open(cd, dev, NULL);
	if (r < 0)
		return r;
	r = crypt_load(*cd, CRYPT_LUKS2, NULL);
	if (r < 0) {
		crypt_free(*cd);
		*cd = NULL;
		return r == -EINVAL ? -ENODEV : r;
	}
	label = crypt_get_label(*cd);
	if (!label || strcmp(label, DM_LUKS_LABEL) != 0) {
		crypt_free(*cd);
		*cd = NULL;
		return -ENODEV;
	}
	return 0;
}

static int token_find(struct crypt_device *cd, const char *token_type)
{
	const char *type;

	for (int t = 0; t < 32; t++) {
		if (crypt_token_status(cd, t, &type) == CRYPT_TOKEN_INACTIVE)
			continue;
		if (type && strcmp(type, token_type) == 0)
			return t;
	}
	return -ENOENT;
}

int dm_luks_token_get(const char *dev, const char *token_type, char **json)
{
	struct crypt_device *cd = NULL;
	const char *j;
	int r, t;

	r = load_ours(&cd, dev);
	if (r < 0)
		return r;
	t = token_find(cd, token_type);
	if (t < 0) {
		r = t;
		goto out;
	}
	r = crypt_token_json_get(cd, t, &j);
	if (r < 0)
		goto out;
	*json = strdup(j);
	r = *json ? 0 : -ENOMEM;
out:
	crypt_free(cd);
	return r;
}

/* A token is a promise about the disk (ready, shredding): durable before
 * the caller goes on. */
static int sync_device(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int dm_luks_token_set(const char *dev, const char *token_type, const char *json)
{
	struct crypt_device *cd = NULL;
	int r, t;

	r = load_ours(&cd, dev);
	if (r < 0)
		return r;
	t = token_find(cd, token_type);
	r = crypt_token_json_set(cd, t < 0 ? CRYPT_ANY_TOKEN : t, json);
	crypt_free(cd);
	return r < 0 ? r : sync_device(dev);
}

int dm_luks_token_edit(const char *dev, const char *token_type, dm_token_edit_fn edit, void *arg)
{
	struct crypt_device *cd = NULL;
	const char *j;
	char *out = NULL;
	int r, t;

	r = load_ours(&cd, dev);
	if (r < 0)
		return r;
	t = token_find(cd, token_type);
	r = t < 0 ? t : crypt_token_json_get(cd, t, &j);
	if (r >= 0)
		r = edit(j, &out, arg);
	if (r > 0)
		r = crypt_token_json_set(cd, t, out);
	free(out);
	crypt_free(cd);
	return r < 0 ? r : r > 0 ? sync_device(dev) : 0;
}

/* A header without keyslots does not record the key size, but the table of
 * a keyring-activated mapping does (":64:logon:..."). A table with the key
 * in hex is never read: it would bring the key into this process. */
static unsigned keyring_key_bits(const char *name)
{
	char table[1024], *key;
	unsigned bytes = 0;

	if (dm_table(name, table, sizeof(table)) < 0)
		return 0;
	/* "START LEN crypt CIPHER KEY ..." */
	key = strstr(table, " crypt ");
	if (key)
		key = strchr(key + 7, ' ');
	if (key && key[1] == ':')
		bytes = (unsigned)strtoul(key + 2, NULL, 10);
	explicit_bzero(table, sizeof(table));
	return bytes * 8;
}

int dm_crypt_info(const char *name, struct dm_crypt_info *info)
{
	struct crypt_device *cd = NULL;
	struct crypt_active_device act;
	const char *c, *m;
	int r;

	memset(info, 0, sizeof(*info));
	dm_liblog_init();
	r = crypt_init_by_name(&cd, name);
	if (r < 0)
		return r;
	c = crypt_get_cipher(cd);
	m = crypt_get_cipher_mode(cd);
	if (c && m)
		snprintf(info->cipher, sizeof(info->cipher), "%s-%s", c, m);
	info->key_bits = crypt_get_volume_key_size(cd) * 8;
	info->sector_size = crypt_get_sector_size(cd);
	snprintf(info->device, sizeof(info->device), "%s", crypt_get_device_name(cd) ?: "");
	r = crypt_get_active_device(cd, name, &act);
	if (r == 0)
		info->size_bytes = act.size * 512;
	if (r == 0 && !info->key_bits)
		info->key_bits = keyring_key_bits(name);
	crypt_free(cd);
	return r;
}

int dm_luks_uuid(const char *dev, char *uuid, size_t size)
{
	struct crypt_device *cd = NULL;
	const char *u;
	int r;

	dm_liblog_init();
	r = crypt_init(&cd, dev);
	if (r == 0)
		r = crypt_load(cd, CRYPT_LUKS2, NULL);
	u = r == 0 ? crypt_get_uuid(cd) : NULL;
	if (r == 0 && (!u || strlen(u) >= size))
		r = -ENODEV;
	if (r == 0)
		snprintf(uuid, size, "%s", u);
	crypt_free(cd);
	return r < 0 ? (r == -EINVAL ? -ENODEV : r) : 0;
}

int dm_crypt_deactivate(const char *name, bool wipe_if_busy, struct reason *why)
{
	struct crypt_device *cd = NULL;
	int r;

	dm_liblog_init();
	r = crypt_init_by_name(&cd, name);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return r;
	crypt_set_log_callback(cd, log_cb, why);
	r = crypt_deactivate(cd, name);
	if (r == -EBUSY && wipe_if_busy) {
		/* Still open: drop the key from the kernel now, remove later. */
		r = crypt_suspend(cd, name);
		if (r >= 0)
			r = crypt_deactivate_by_name(cd, name, CRYPT_DEACTIVATE_DEFERRED);
	}
	crypt_free(cd);
	return r < 0 ? r : 0;
}
