/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>

/* Buffers for key material: pages of their own, locked in memory where
 * RLIMIT_MEMLOCK allows, left out of core dumps and forks, wiped and
 * unmapped on free. Everything that holds a key, a token or a key-bearing
 * HTTP body comes from here. */
void *safe_alloc(size_t size);
/* The same, but mapped in the workers this process forks (base/workers.h),
 * which read it in the very pages this process keeps locked: MAP_SHARED, so
 * a worker's write could not make an unlocked copy either. */
void *safe_alloc_shared(size_t size);
void safe_free(void *p);
/* len bytes from the kernel's random pool (getrandom), or -errno. */
int safe_random(void *buf, size_t len);
/* Wipes a buffer that did not come from safe_alloc(). */
void safe_wipe(void *p, size_t size);
/* No core dumps (PR_SET_DUMPABLE 0, RLIMIT_CORE 0) and freed heap filled
 * (M_PERTURB); called before any key exists. No mlockall(): it would pin
 * every thread stack and arena. */
void safe_harden_process(void);
