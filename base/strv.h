/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* A growable list of malloc'd strings. A zeroed struct strv is empty. */
struct strv {
	char **v;
	size_t n;
};

int strv_push(struct strv *l, const char *s);
bool strv_contains(const struct strv *l, const char *s);
void strv_free(struct strv *l);
