// SPDX-License-Identifier: MIT
#include "base/strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int strv_push(struct strv *l, const char *s)
{
	char **nv = realloc(l->v, (l->n + 1) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	l->v = nv;
	nv[l->n] = strdup(s);
	if (!nv[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

bool strv_contains(const struct strv *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

void strv_free(struct strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
