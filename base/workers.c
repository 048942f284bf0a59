// SPDX-License-Identifier: MIT
#include "base/workers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/crashpoint.h"

#define WORKERS_MAX 8

/* What a worker writes back, in one write: under PIPE_BUF, so whole. */
struct worker_msg {
	int r;
	long private_kib;
	struct reason why;
};
_Static_assert(sizeof(struct worker_msg) <= PIPE_BUF, "a worker's result is written whole");

struct worker {
	pid_t pid;
	int fd; /* the read end of its result pipe */
	size_t i;
};

static long peak_kib;

unsigned workers_default_max(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus < 2 ? 2 : cpus > WORKERS_MAX ? WORKERS_MAX : (unsigned)cpus;
}

long workers_peak_kib(void)
{
	return peak_kib;
}

/* Pages this process alone holds: what it adds to its parent's. */
static long private_kib(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	char line[128];
	long kib, sum = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Private_Clean: %ld kB", &kib) == 1 ||
		    sscanf(line, "Private_Dirty: %ld kB", &kib) == 1)
			sum += kib;
	fclose(f);
	return sum;
}

static void worker_main(size_t i, worker_job job, void *arg, int fd, pid_t parent)
{
	struct worker_msg msg = { 0 };

	/* Dies with the run: a run killed at any point leaves no worker that
	 * goes on writing to a disk while the next run looks at it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(EXIT_FAILURE);
	msg.r = job(i, arg, &msg.why);
	msg.private_kib = private_kib();
	if (write(fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		_exit(EXIT_FAILURE);
	/* Not exit(): the parent's atexit handlers and stdio buffers are its own. */
	_exit(EXIT_SUCCESS);
}

static int spawn(struct worker *w, size_t i, worker_job job, void *arg)
{
	pid_t parent = getpid();
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	w->pid = fork();
	if (w->pid < 0) {
		int r = -errno;

		close(p[0]);
		close(p[1]);
		return r;
	}
	if (w->pid == 0) {
		close(p[0]);
		worker_main(i, job, arg, p[1], parent);
	}
	close(p[1]);
	w->fd = p[0];
	w->i = i;
	return 0;
}

/* A worker stopped at a crash point: the whole run stops there, as it
 * would have without workers, once no other worker is left running. */
static void follow_crash(struct worker *run, size_t n_run)
{
	for (size_t k = 0; k < n_run; k++)
		(void)kill(run[k].pid, SIGKILL);
	for (size_t k = 0; k < n_run; k++)
		(void)waitpid(run[k].pid, NULL, 0);
	kill(getpid(), SIGKILL);
	pause();
}

/* Collects one finished worker: its result, or why it has none. */
static int reap(struct worker *w, const char *label, long *kib, struct reason *why)
{
	struct worker_msg msg;
	ssize_t got;
	int status;

	do
		got = read(w->fd, &msg, sizeof(msg));
	while (got < 0 && errno == EINTR);
	close(w->fd);
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof(msg)) {
		*kib = msg.private_kib;
		if (msg.r < 0)
			*why = msg.why;
		return msg.r;
	}
	if (WIFSIGNALED(status))
		return reason_set(why, -ECHILD, "the worker process for %s died of signal %d (%s)",
				  label, WTERMSIG(status), strsignal(WTERMSIG(status)));
	return reason_set(why, -ECHILD, "the worker process for %s exited %d without a result",
			  label, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* The first worker of run[] whose result is there (or that is gone). */
static size_t wait_any(const struct worker *run, size_t n_run)
{
	struct pollfd pfd[WORKERS_MAX];

	for (size_t k = 0; k < n_run; k++)
		pfd[k] = (struct pollfd){ .fd = run[k].fd, .events = POLLIN };
	while (poll(pfd, n_run, -1) < 0)
		if (errno != EINTR)
			return 0; /* then read() waits for the first */
	for (size_t k = 0; k < n_run; k++)
		if (pfd[k].revents)
			return k;
	return 0;
}

static void note_failure(int r, size_t i, const struct reason *w_why, int *first_r, size_t *first_i,
			 struct reason *why)
{
	if (r >= 0 || (*first_r < 0 && *first_i < i))
		return;
	*first_r = r;
	*first_i = i;
	if (why)
		*why = *w_why;
}

/* all: every job runs, whatever the others did, and results[i] gets each
 * one's result; otherwise none starts after a failure. */
static int run(size_t n, unsigned max, worker_job job, void *arg, const char *const *labels,
	       bool all, int *results, struct reason *whys, size_t *failed, struct reason *why)
{
	struct worker run[WORKERS_MAX];
	size_t n_run = 0, next = 0, first_i = 0;
	unsigned most = 0;
	long most_kib = 0;
	int first_r = 0;

	if (n == 1) {
		first_r = job(0, arg, whys ? &whys[0] : why);
		if (results)
			results[0] = first_r;
		*failed = 0;
		return first_r;
	}
	if (crash_point_armed() || max < 1)
		max = 1;
	if (max > WORKERS_MAX)
		max = WORKERS_MAX;
	while (next < n || n_run) {
		struct reason w_why = { "" };
		long kib = 0;
		size_t k;
		int r;

		while ((all || first_r == 0) && next < n && n_run < max) {
			r = spawn(&run[n_run], next, job, arg);
			if (r < 0) {
				reason_set(&w_why, r, "cannot start a worker process for %s: %m", labels[next]);
				note_failure(r, next, &w_why, &first_r, &first_i, why);
				if (results)
					results[next] = r;
				if (whys)
					whys[next] = w_why;
				if (all)
					next++;
				break;
			}
			next++;
			n_run++;
			most = n_run > most ? (unsigned)n_run : most;
		}
		if (!n_run) {
			if (all && next < n)
				continue;
			break;
		}
		k = wait_any(run, n_run);
		r = reap(&run[k], labels[run[k].i], &kib, &w_why);
		note_failure(r, run[k].i, &w_why, &first_r, &first_i, why);
		if (results)
			results[run[k].i] = r;
		if (whys && r < 0)
			whys[run[k].i] = w_why;
		most_kib = kib > most_kib ? kib : most_kib;
		run[k] = run[--n_run];
		if (r == -ECHILD && crash_point_fired())
			follow_crash(run, n_run);
		if (first_r < 0 && !all)
			next = n;
	}
	if ((long)most * most_kib > peak_kib)
		peak_kib = (long)most * most_kib;
	*failed = first_i;
	return first_r;
}

int workers_run(size_t n, unsigned max, worker_job job, void *arg, const char *const *labels,
		size_t *failed, struct reason *why)
{
	return run(n, max, job, arg, labels, false, NULL, NULL, failed, why);
}

size_t workers_run_all(size_t n, unsigned max, worker_job job, void *arg, const char *const *labels,
		       int *results, struct reason *whys)
{
	struct reason first = { "" };
	size_t failed, count = 0;

	(void)run(n, max, job, arg, labels, true, results, whys, &failed, &first);
	for (size_t i = 0; i < n; i++)
		count += results[i] < 0;
	return count;
}
