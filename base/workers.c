// SPDX-License-Identifier: MIT
#include "base/workers.h"

#include <dirent.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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
	long long t0; /* when it started, ms */
};

static long peak_kib;
static unsigned deadline_s;

void workers_set_deadline(unsigned seconds)
{
	deadline_s = seconds;
}

unsigned workers_deadline(void)
{
	return deadline_s;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

/* A worker needs no socket of the run's: the key service's TLS sessions
 * (and anything else network) stay with the parent. Device and file
 * descriptors stay open, libdevmapper's control fd among them. */
static void close_sockets(int keep)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	struct stat st;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (fd > 2 && fd != keep && fd != dirfd(d) && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
			close(fd);
	}
	closedir(d);
}

static void worker_main(size_t i, worker_job job, void *arg, int fd, pid_t parent)
{
	struct worker_msg msg = { 0 };

	/* Dies with the run: a run killed at any point leaves no worker that
	 * goes on writing to a disk while the next run looks at it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(EXIT_FAILURE);
	close_sockets(fd);
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
	w->t0 = now_ms();
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

/* How long to wait for the next result: until the first deadline or the
 * next progress line, in ms; -1: no deadline. */
static int wait_ms(const struct worker *run, size_t n_run, long long next_note)
{
	long long first = next_note;

	if (!deadline_s)
		return -1;
	for (size_t k = 0; k < n_run; k++)
		if (run[k].t0 + deadline_s * 1000LL < first)
			first = run[k].t0 + deadline_s * 1000LL;
	first -= now_ms();
	return first < 0 ? 0 : first > INT_MAX ? INT_MAX : (int)first;
}

/* The first worker of run[] whose result is there (or that is gone), or
 * n_run when the wait ended for a deadline or a progress line. */
static size_t wait_any(const struct worker *run, size_t n_run, long long next_note)
{
	struct pollfd pfd[WORKERS_MAX];
	int r;

	for (size_t k = 0; k < n_run; k++)
		pfd[k] = (struct pollfd){ .fd = run[k].fd, .events = POLLIN };
	while ((r = poll(pfd, n_run, wait_ms(run, n_run, next_note))) < 0)
		if (errno != EINTR)
			return 0; /* then read() waits for the first */
	for (size_t k = 0; r > 0 && k < n_run; k++)
		if (pfd[k].revents)
			return k;
	return n_run;
}

/* One run of n jobs: what was asked, and how it goes. */
struct batch {
	size_t n;
	unsigned max;
	worker_job job;
	void *arg;
	const char *const *labels;
	bool all;               /* every job runs, whatever the others did */
	int *results;           /* each job's result, or NULL */
	struct reason *whys;    /* each failed job's reason, or NULL */
	struct reason *why;     /* the first failure's reason, or NULL */
	struct worker run[WORKERS_MAX];
	size_t n_run, next, first_i;
	int first_r;
	unsigned most;
	long most_kib;
	long long next_note; /* when to say again what is still running, ms */
};

/* Job i ended with r: the lowest-numbered failure is the one reported. */
static void record(struct batch *b, size_t i, int r, const struct reason *w_why)
{
	if (b->results)
		b->results[i] = r;
	if (b->whys && r < 0)
		b->whys[i] = *w_why;
	if (r >= 0 || (b->first_r < 0 && b->first_i < i))
		return;
	b->first_r = r;
	b->first_i = i;
	if (b->why)
		*b->why = *w_why;
}

/* Starts jobs up to the limit; false when a worker could not be started
 * (recorded as that job's failure). */
static bool start_more(struct batch *b)
{
	while ((b->all || b->first_r == 0) && b->next < b->n && b->n_run < b->max) {
		struct reason w_why = { "" };
		int r = spawn(&b->run[b->n_run], b->next, b->job, b->arg);

		if (r < 0) {
			reason_set(&w_why, r, "cannot start a worker process for %s: %m", b->labels[b->next]);
			record(b, b->next, r, &w_why);
			if (b->all)
				b->next++;
			return false;
		}
		b->next++;
		b->n_run++;
		b->most = b->n_run > b->most ? (unsigned)b->n_run : b->most;
	}
	return true;
}

/* The workers past their deadline are killed, and their jobs fail; the
 * others, every WORKERS_PROGRESS_S, are named as still running. */
static void overdue(struct batch *b)
{
	long long now = now_ms();

	for (size_t k = 0; k < b->n_run;) {
		struct worker *w = &b->run[k];
		struct reason w_why = { "" };

		if (now < w->t0 + deadline_s * 1000LL) {
			k++;
			continue;
		}
		(void)kill(w->pid, SIGKILL);
		close(w->fd);
		/* Reaped now if it is gone; one in a disk's I/O, when it returns. */
		(void)waitpid(w->pid, NULL, WNOHANG);
		reason_set(&w_why, -ETIMEDOUT, "%s did not finish within %u s (its disk stalls?); its "
			   "worker was killed", b->labels[w->i], deadline_s);
		record(b, w->i, -ETIMEDOUT, &w_why);
		*w = b->run[--b->n_run];
		if (!b->all)
			b->next = b->n;
	}
	if (now >= b->next_note) {
		for (size_t k = 0; k < b->n_run; k++)
			log_info("still working on %s (%lld s)", b->labels[b->run[k].i],
				 (now - b->run[k].t0) / 1000);
		b->next_note = now + WORKERS_PROGRESS_S * 1000LL;
	}
}

/* Waits for one running worker and records how its job ended. */
static void reap_one(struct batch *b)
{
	struct reason w_why = { "" };
	size_t k = wait_any(b->run, b->n_run, b->next_note);
	long kib = 0;
	int r;

	if (k == b->n_run) {
		overdue(b);
		return;
	}
	r = reap(&b->run[k], b->labels[b->run[k].i], &kib, &w_why);

	record(b, b->run[k].i, r, &w_why);
	b->most_kib = kib > b->most_kib ? kib : b->most_kib;
	b->run[k] = b->run[--b->n_run];
	if (r == -ECHILD && crash_point_fired())
		follow_crash(b->run, b->n_run);
	if (b->first_r < 0 && !b->all)
		b->next = b->n;
}

static int run(struct batch *b, size_t *failed)
{
	b->next_note = now_ms() + WORKERS_PROGRESS_S * 1000LL;
	if (b->n == 1 && !deadline_s) {
		b->first_r = b->job(0, b->arg, b->whys ? &b->whys[0] : b->why);
		if (b->results)
			b->results[0] = b->first_r;
		*failed = 0;
		return b->first_r;
	}
	if (crash_point_armed() || b->max < 1)
		b->max = 1;
	if (b->max > WORKERS_MAX)
		b->max = WORKERS_MAX;
	while (b->next < b->n || b->n_run) {
		(void)start_more(b);
		if (!b->n_run) {
			if (b->all && b->next < b->n)
				continue;
			break;
		}
		reap_one(b);
	}
	if ((long)b->most * b->most_kib > peak_kib)
		peak_kib = (long)b->most * b->most_kib;
	*failed = b->first_i;
	return b->first_r;
}

int workers_run(size_t n, unsigned max, worker_job job, void *arg, const char *const *labels,
		size_t *failed, struct reason *why)
{
	struct batch b = { .n = n, .max = max, .job = job, .arg = arg, .labels = labels, .why = why };

	return run(&b, failed);
}

size_t workers_run_all(size_t n, unsigned max, worker_job job, void *arg, const char *const *labels,
		       int *results, struct reason *whys)
{
	struct reason first = { "" };
	struct batch b = { .n = n, .max = max, .job = job, .arg = arg, .labels = labels, .all = true,
			   .results = results, .whys = whys, .why = &first };
	size_t failed, count = 0;

	(void)run(&b, &failed);
	for (size_t i = 0; i < n; i++)
		count += results[i] < 0;
	return count;
}
