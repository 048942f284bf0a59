// SPDX-License-Identifier: MIT
#include "agent/ondisk/token.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dm/dm.h"

static const char *const state_names[_TOKEN_STATE_MAX] = {
	[TOKEN_NEW] = "new",
	[TOKEN_READY] = "ready",
	[TOKEN_SHREDDING] = "shredding",
};

const char *token_state_to_string(enum token_state s)
{
	return s < _TOKEN_STATE_MAX ? state_names[s] : "?";
}

int token_state_from_string(const char *s)
{
	for (int i = 0; s && i < _TOKEN_STATE_MAX; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -EINVAL;
}

static char *to_string(struct json_object *o)
{
	char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

	json_object_put(o);
	return s;
}

char *token_to_json(const struct sc_token *t)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(TOKEN_TYPE));
	json_object_object_add(o, "keyslots", json_object_new_array());
	json_object_object_add(o, "format", json_object_new_int(ONDISK_FORMAT_VERSION));
	json_object_object_add(o, "key_source",
			       json_object_new_string(key_source_to_string(t->key_source)));
	json_object_object_add(o, "role", json_object_new_string(disk_role_to_string(t->role)));
	json_object_object_add(o, "index", json_object_new_int((int)t->index));
	json_object_object_add(o, "members", json_object_new_int((int)t->members));
	json_object_object_add(o, "created", json_object_new_int64(t->created));
	json_object_object_add(o, "state", json_object_new_string(token_state_to_string(t->state)));
	/* Read by scratchcrypt 0.1, which knew only this flag. */
	json_object_object_add(o, "fs_ready", json_object_new_boolean(t->state == TOKEN_READY));
	json_object_object_add(o, "serial", json_object_new_string(t->serial));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)t->size));
	return to_string(o);
}

static const char *get_string(struct json_object *o, const char *key)
{
	struct json_object *f;

	if (!json_object_object_get_ex(o, key, &f) || !json_object_is_type(f, json_type_string))
		return NULL;
	return json_object_get_string(f);
}

static bool get_int(struct json_object *o, const char *key, int64_t *v)
{
	struct json_object *f;

	if (!json_object_object_get_ex(o, key, &f) || !json_object_is_type(f, json_type_int))
		return false;
	*v = json_object_get_int64(f);
	return true;
}

/* The format version a token records: 1 when it records none (format 1
 * made them so); -EPROTONOSUPPORT above ONDISK_FORMAT_VERSION. */
static int format_of(struct json_object *o, unsigned *format)
{
	struct json_object *f;
	int64_t v;

	*format = 1;
	if (!json_object_object_get_ex(o, "format", &f))
		return 0;
	if (!get_int(o, "format", &v) || v < 1 || v > INT32_MAX)
		return -EBADMSG;
	*format = (unsigned)v;
	return v > ONDISK_FORMAT_VERSION ? -EPROTONOSUPPORT : 0;
}

static int token_state_of(struct json_object *o)
{
	struct json_object *f;
	const char *s = get_string(o, "state");

	if (s)
		return token_state_from_string(s);
	if (json_object_object_get_ex(o, "fs_ready", &f) && json_object_is_type(f, json_type_boolean))
		return json_object_get_boolean(f) ? TOKEN_READY : TOKEN_NEW;
	return TOKEN_NEW;
}

int token_from_json(const char *json, struct sc_token *t)
{
	struct json_object *o = json ? json_tokener_parse(json) : NULL;
	const char *type, *s;
	int64_t v;
	int k, r = -EBADMSG;

	memset(t, 0, sizeof(*t));
	if (!o || !json_object_is_type(o, json_type_object))
		goto out;
	type = get_string(o, "type");
	if (!type || strcmp(type, TOKEN_TYPE) != 0)
		goto out;
	r = format_of(o, &t->format);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	k = key_source_from_string(get_string(o, "key_source"));
	t->key_source = k < 0 ? KEY_SOURCE_SYSTEM : (enum key_source)k;
	k = disk_role_from_string(get_string(o, "role"));
	t->role = k < 0 ? ROLE_UNKNOWN : (enum disk_role)k;
	if (get_int(o, "index", &v) && v >= 0 && v < 64)
		t->index = (unsigned)v;
	if (get_int(o, "members", &v) && v > 0 && v <= 64)
		t->members = (unsigned)v;
	if (get_int(o, "created", &v))
		t->created = v;
	if (get_int(o, "size", &v) && v > 0)
		t->size = (uint64_t)v;
	s = get_string(o, "serial");
	snprintf(t->serial, sizeof(t->serial), "%s", s ? s : "");
	k = token_state_of(o);
	if (k < 0)
		goto out;
	t->state = (enum token_state)k;
	r = 0;
out:
	json_object_put(o);
	return r;
}

int token_read(const char *dev, struct sc_token *t)
{
	char *json = NULL;
	int r = dm_luks_token_get(dev, TOKEN_TYPE, &json);

	if (r < 0)
		return r;
	r = token_from_json(json, t);
	free(json);
	return r;
}

int token_write(const char *dev, const struct sc_token *t)
{
	char *json = token_to_json(t);
	int r;

	if (!json)
		return -ENOMEM;
	r = dm_luks_token_set(dev, TOKEN_TYPE, json);
	free(json);
	return r;
}

static int set_state(const char *json, char **out, void *arg)
{
	enum token_state state = *(const enum token_state *)arg;
	struct sc_token t;
	int r = token_from_json(json, &t);

	if (r < 0 || t.state == state)
		return r;
	t.state = state;
	*out = token_to_json(&t);
	return *out ? 1 : -ENOMEM;
}

/* One load of the header: each mark at start and stop is one read and one
 * write of the disk's metadata. */
int token_set_state(const char *dev, enum token_state state)
{
	return dm_luks_token_edit(dev, TOKEN_TYPE, set_state, &state);
}

void token_hbi_clear(struct sc_hbi_token *t)
{
	free(t->wrapped);
	memset(t, 0, sizeof(*t));
}

char *token_hbi_to_json(const char *kid, const char *wrapped, const char *mac)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(TOKEN_HBI_TYPE));
	json_object_object_add(o, "keyslots", json_object_new_array());
	json_object_object_add(o, "format", json_object_new_int(ONDISK_FORMAT_VERSION));
	json_object_object_add(o, "kid", json_object_new_string(kid));
	json_object_object_add(o, "alg", json_object_new_string("RSA-OAEP-256"));
	json_object_object_add(o, "wrapped_key", json_object_new_string(wrapped));
	json_object_object_add(o, "mac_alg", json_object_new_string("HMAC-SHA256"));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	json_object_object_add(o, "created", json_object_new_int64((int64_t)time(NULL)));
	return to_string(o);
}

char *token_hbi_mac_input(unsigned format, const char *serial, uint64_t size, const char *kid,
			  const char *wrapped)
{
	char *s = NULL;

	if (asprintf(&s, "scratchcrypt-hbi-token\nformat=%u\nserial=%s\nsize=%llu\nkid=%s\n"
		     "wrapped_key=%s\n", format, serial, (unsigned long long)size, kid,
		     wrapped) < 0)
		return NULL;
	return s;
}

int token_hbi_parse(const char *json, struct sc_hbi_token *t)
{
	struct json_object *o = json ? json_tokener_parse(json) : NULL;
	const char *k = NULL, *w = NULL, *m = NULL;
	int r = -EBADMSG;

	memset(t, 0, sizeof(*t));
	if (o && json_object_is_type(o, json_type_object)) {
		r = format_of(o, &t->format);
		if (r < 0) {
			json_object_put(o);
			return r;
		}
		r = -EBADMSG;
		k = get_string(o, "kid");
		w = get_string(o, "wrapped_key");
		m = get_string(o, "mac");
	}
	if (k && k[0] && strlen(k) < sizeof(t->kid) && w && w[0] &&
	    (!m || strlen(m) < sizeof(t->mac))) {
		snprintf(t->kid, sizeof(t->kid), "%s", k);
		snprintf(t->mac, sizeof(t->mac), "%s", m ? m : "");
		t->wrapped = strdup(w);
		r = t->wrapped ? 0 : -ENOMEM;
	}
	json_object_put(o);
	return r;
}

int token_hbi_read(const char *dev, struct sc_hbi_token *t)
{
	char *json = NULL;
	int r = dm_luks_token_get(dev, TOKEN_HBI_TYPE, &json);

	memset(t, 0, sizeof(*t));
	if (r < 0)
		return r;
	r = token_hbi_parse(json, t);
	free(json);
	return r;
}

int token_hbi_write(const char *dev, const char *json)
{
	return dm_luks_token_set(dev, TOKEN_HBI_TYPE, json);
}
