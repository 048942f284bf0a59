/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "base/strtab.h"

/* /run/scratchcrypt: the lock, and what the last start or stop did for each
 * role (what cannot be observed on the disks: shredded, or why it failed).
 * SCRATCHCRYPT_RUNTIME_DIR overrides the directory, for tests. */

const char *runstate_dir(void);
/* Creates the directory (0700) when missing. */
int runstate_ensure_dir(void);
/* /var/lib/scratchcrypt, on the OS disk: what must survive a reboot (the
 * node key, the shred records). SCRATCHCRYPT_STATE_DIR overrides it. */
const char *runstate_state_dir(void);
/* mkdir -p of the state directory (0755) and sub in it (0700; sub may be
 * NULL). */
int runstate_state_mkdir(const char *sub);
/* Writes o to path atomically: a new file, synced, renamed into place, and
 * the directory synced (it survives a power cut as the old or the new). */
struct json_object;
int runstate_write_json(const char *path, struct json_object *o);
/* Takes the lock for command ("start", "stop", "shred", ...), waiting at
 * most timeout_s; -EAGAIN when still held. The lock file names its holder. */
int runstate_lock(const char *command, unsigned timeout_s);
/* Who holds the lock, as its file says; -ENOENT when it says nothing. */
int runstate_lock_holder(pid_t *pid, char *command, size_t size);
/* For a shred that cannot wait (a scheduled event): when a start, rewrap
 * or adopt holds the lock, it is stopped (SIGTERM, to its process group
 * when it leads one); then the lock is waited for, at most timeout_s. A
 * stop holding it is waited for. */
int runstate_lock_preempt(const char *command, unsigned timeout_s);
void runstate_unlock(void);
int runstate_set(enum disk_role role, enum disk_state state, const char *note);
/* Records the time of an event ("last_unwrap") for role. */
int runstate_mark(enum disk_role role, const char *what);
/* Its time, or 0 when never recorded. */
long long runstate_time(enum disk_role role, const char *what);
/* -ENOENT when nothing is recorded for role. */
int runstate_get(enum disk_role role, enum disk_state *state, char *note, size_t note_size,
		 long long *when);
