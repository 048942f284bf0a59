/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>

/* Buffers for key material: locked in memory where possible and wiped on
 * free. Everything that holds a key, a token or a key-bearing HTTP body
 * comes from here. */
void *safe_alloc(size_t size);
void safe_free(void *p);
/* Wipes a buffer that did not come from safe_alloc(). */
void safe_wipe(void *p, size_t size);
/* mlockall() and no core dumps; called before any key exists. */
void safe_harden_process(void);
