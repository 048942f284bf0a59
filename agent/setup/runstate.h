/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>

#include "base/strtab.h"

/* /run/scratchcrypt: the lock, and what the last start or stop did for each
 * role (what cannot be observed on the disks: shredded, or why it failed).
 * SCRATCHCRYPT_RUNTIME_DIR overrides the directory, for tests. */

const char *runstate_dir(void);
/* Creates the directory (0700) when missing. */
int runstate_ensure_dir(void);
/* Takes the lock, waiting at most timeout_s; -EAGAIN when still held. */
int runstate_lock(unsigned timeout_s);
void runstate_unlock(void);
int runstate_set(enum disk_role role, enum disk_state state, const char *note);
/* Records the time of an event ("last_unwrap") for role. */
int runstate_mark(enum disk_role role, const char *what);
/* Its time, or 0 when never recorded. */
long long runstate_time(enum disk_role role, const char *what);
/* -ENOENT when nothing is recorded for role. */
int runstate_get(enum disk_role role, enum disk_state *state, char *note, size_t note_size,
		 long long *when);
