/* SPDX-License-Identifier: MIT */
/* For agent/config.c only: the parsers its key table points at. */
#pragma once
#include <stdbool.h>

#include "base/strtab.h"
#include "base/strv.h"

/* true, yes, on, 1 or false, no, off, 0 (any case): 0 or -EINVAL. */
int cfg_parse_bool(const char *v, bool *out);
/* The ciphers known to work with dm-crypt, with their key sizes. */
bool cfg_cipher_key_bits_ok(const char *cipher, unsigned bits);
/* Value parsers: 0, or -EINVAL when the value breaks the key's help text. */
int cfgv_role(const char *v, void *f);
int cfgv_key_source(const char *v, void *f);
int cfgv_fs(const char *v, void *f);
int cfgv_bool(const char *v, void *f);
int cfgv_devices(const char *v, void *f);
int cfgv_list(const char *v, void *f);
int cfgv_abs_path(const char *v, void *f);
/* path is dir or inside it. */
bool cfg_path_under(const char *path, const char *dir);
int cfgv_mount_point(const char *v, void *f);
int cfgv_string(const char *v, void *f);
int cfgv_key_name(const char *v, void *f);
int cfgv_key_version(const char *v, void *f);
int cfgv_cipher(const char *v, void *f);
int cfgv_key_bits(const char *v, void *f);
int cfgv_sector_size(const char *v, void *f);
int cfgv_cluster_size(const char *v, void *f);
int cfgv_textfile(const char *v, void *f);
int cfgv_seconds(const char *v, void *f);
int cfgv_vault_url(const char *v, void *f);
int cfgv_http(const char *v, void *f);
