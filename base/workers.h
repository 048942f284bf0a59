/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>

#include "base/log.h"

/* One job per disk, each in a process of its own, as systemd runs one
 * systemd-cryptsetup per volume: libcryptsetup and libdevmapper keep
 * process-wide state and are not safe to call from two threads, but two
 * processes may set up two disks at once.
 *
 * A worker dies with the process that started it (PR_SET_PDEATHSIG), so a
 * killed run leaves nothing behind that races the next one. It reads what
 * the parent had at fork; its own changes to memory are lost, and only the
 * job's result and *why come back. A key it needs must come from
 * safe_alloc_shared(): safe_alloc()'s pages are not mapped in a child. */

/* job(i, arg, why): 0 or -errno with *why. */
typedef int (*worker_job)(size_t i, void *arg, struct reason *why);

/* Runs job for each i < n, at most max at once (1 while a crash point is
 * armed, so that the second disk's step is the second one reached); n == 1
 * runs in this process. No job starts after one fails. Returns 0, or the
 * failure of the lowest i that failed, its *why, and *failed = i. A worker
 * that dies without reporting fails with -ECHILD ("the worker process for
 * labels[i] died of signal N"). A worker stopped at a crash point takes
 * this process with it. */
int workers_run(size_t n, unsigned max, worker_job job, void *arg, const char *const *labels,
		size_t *failed, struct reason *why);

/* As workers_run, but every job runs whatever the others do (stop shreds
 * every disk it can): results[i] is job i's result and, when it failed,
 * whys[i] its reason (n of each). Returns how many failed. */
size_t workers_run_all(size_t n, unsigned max, worker_job job, void *arg, const char *const *labels,
		       int *results, struct reason *whys);

/* Each job's deadline, in seconds (0, the default: none). A worker that
 * has not answered by then is killed (SIGKILL: one stuck in a disk's
 * uninterruptible I/O goes when that returns) and its job fails with
 * -ETIMEDOUT: "LABEL did not finish within N s". Meanwhile, every
 * WORKERS_PROGRESS_S, it says which jobs it still waits for. With a
 * deadline even a single job runs in a worker. */
#define WORKERS_PROGRESS_S 10
void workers_set_deadline(unsigned seconds);
unsigned workers_deadline(void);

/* How many workers to run at once: the online CPUs, at least 2, at most 8. */
unsigned workers_default_max(void);

/* The most memory the workers of this process held at one time: the most
 * that ran at once times the largest one's private memory, in KiB (an
 * upper bound; make bench adds it to the parent's own peak). */
long workers_peak_kib(void);
