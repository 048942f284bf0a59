// SPDX-License-Identifier: MIT
/* base/workers: real processes. What the jobs did is seen through a page
 * shared with them, since their own memory is theirs. */
#include <errno.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/workers.h"

#define N 8

static struct shared {
	unsigned ran[N];
	pid_t pid[N];
	unsigned running, most;
} *sh;

static const char *const labels[N] = { "/dev/d0", "/dev/d1", "/dev/d2", "/dev/d3",
				       "/dev/d4", "/dev/d5", "/dev/d6", "/dev/d7" };
static int in_parent;

static int setup(void **state)
{
	(void)state;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	in_parent = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	munmap(sh, sizeof(*sh));
	return 0;
}

/* Waits, at most 10 s, for cond over the shared page: a deadline for a
 * broken runner, never what a passing run depends on. */
#define WAIT_FOR(cond)                                                                    \
	do {                                                                              \
		for (int ms_ = 0; !(cond) && ms_ < 10000; ms_++)                           \
			usleep(1000);                                                     \
	} while (0)

/* Fails at i == 2 and i == 4, each with its own reason. */
static int fail_two_and_four(size_t i, void *arg, struct reason *why)
{
	(void)arg;
	__atomic_add_fetch(&sh->ran[i], 1, __ATOMIC_SEQ_CST);
	sh->pid[i] = getpid();
	if (i == 2 || i == 4)
		return reason_set(why, i == 2 ? -EIO : -ENOSPC, "job %zu failed", i);
	return 0;
}

static void test_lowest_failure_is_reported(void **state)
{
	struct reason why = { "" };
	size_t failed = 99;

	(void)state;
	assert_int_equal(workers_run(6, 3, fail_two_and_four, NULL, labels, &failed, &why), -EIO);
	assert_int_equal(failed, 2);
	assert_string_equal(why.text, "job 2 failed");
	/* Each job that ran ran once, in a process other than this one. */
	for (size_t i = 0; i < 6; i++) {
		assert_true(sh->ran[i] <= 1);
		if (sh->ran[i])
			assert_int_not_equal(sh->pid[i], getpid());
	}
	assert_int_equal(sh->ran[0] + sh->ran[1] + sh->ran[2], 3);
}

static void test_nothing_starts_after_a_failure(void **state)
{
	struct reason why = { "" };
	size_t failed;

	(void)state;
	/* One at a time: 0, 1, 2 (fails); 3 to 5 never start. */
	assert_int_equal(workers_run(6, 1, fail_two_and_four, NULL, labels, &failed, &why), -EIO);
	assert_int_equal(failed, 2);
	assert_int_equal(sh->ran[0] + sh->ran[1] + sh->ran[2], 3);
	assert_int_equal(sh->ran[3] + sh->ran[4] + sh->ran[5], 0);
}

/* stop: every disk is shredded that can be, whatever another did. */
static void test_all_run_despite_failures(void **state)
{
	struct reason whys[6];
	int results[6];

	(void)state;
	for (unsigned max = 1; max <= 3; max += 2) {
		memset(sh, 0, sizeof(*sh));
		memset(results, 0x55, sizeof(results));
		assert_int_equal(workers_run_all(6, max, fail_two_and_four, NULL, labels, results, whys), 2);
		for (size_t i = 0; i < 6; i++) {
			assert_int_equal(sh->ran[i], 1);
			assert_int_not_equal(sh->pid[i], getpid());
		}
		assert_int_equal(results[0] | results[1] | results[3] | results[5], 0);
		assert_int_equal(results[2], -EIO);
		assert_int_equal(results[4], -ENOSPC);
		assert_string_equal(whys[2].text, "job 2 failed");
		assert_string_equal(whys[4].text, "job 4 failed");
	}
}

/* Each job waits for a second one to be running. */
static int meet(size_t i, void *arg, struct reason *why)
{
	unsigned now = __atomic_add_fetch(&sh->running, 1, __ATOMIC_SEQ_CST), most;

	(void)arg;
	(void)why;
	__atomic_add_fetch(&sh->ran[i], 1, __ATOMIC_SEQ_CST);
	while ((most = __atomic_load_n(&sh->most, __ATOMIC_SEQ_CST)) < now &&
	       !__atomic_compare_exchange_n(&sh->most, &most, now, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST))
		;
	WAIT_FOR(__atomic_load_n(&sh->most, __ATOMIC_SEQ_CST) >= 2);
	__atomic_sub_fetch(&sh->running, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void test_at_most_max_at_once(void **state)
{
	struct reason why = { "" };
	size_t failed;

	(void)state;
	assert_int_equal(workers_run(N, 2, meet, NULL, labels, &failed, &why), 0);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(sh->ran[i], 1);
	assert_int_equal(sh->most, 2);
	/* Two at a time, each with pages of its own on top of this process's. */
	assert_true(workers_peak_kib() > 0);
}

static int die_at_one(size_t i, void *arg, struct reason *why)
{
	(void)arg;
	(void)why;
	/* Not cmocka's handler, which would run the tests on in the worker. */
	if (i == 1) {
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
	}
	return 0;
}

static void test_a_worker_that_dies_is_a_failure(void **state)
{
	struct reason why = { "" };
	size_t failed;

	(void)state;
	assert_int_equal(workers_run(3, 2, die_at_one, NULL, labels, &failed, &why), -ECHILD);
	assert_int_equal(failed, 1);
	assert_non_null(strstr(why.text, "/dev/d1"));
	assert_non_null(strstr(why.text, "signal 15"));
}

static void test_all_names_each_dead_worker(void **state)
{
	struct reason whys[3];
	int results[3];

	(void)state;
	assert_int_equal(workers_run_all(3, 2, die_at_one, NULL, labels, results, whys), 1);
	assert_int_equal(results[0], 0);
	assert_int_equal(results[1], -ECHILD);
	assert_int_equal(results[2], 0);
	assert_non_null(strstr(whys[1].text, "/dev/d1"));
	assert_non_null(strstr(whys[1].text, "signal 15"));
}

static int here(size_t i, void *arg, struct reason *why)
{
	(void)why;
	in_parent = (int)i + 1;
	return *(int *)arg;
}

static void test_one_job_runs_here(void **state)
{
	struct reason why = { "" };
	int ret = -EAGAIN;
	size_t failed = 9;

	(void)state;
	assert_int_equal(workers_run(1, 4, here, &ret, labels, &failed, &why), -EAGAIN);
	assert_int_equal(failed, 0);
	assert_int_equal(in_parent, 1); /* this process's memory: no fork */
}

static int block(size_t i, void *arg, struct reason *why)
{
	(void)arg;
	(void)why;
	__atomic_store_n(&sh->pid[i], getpid(), __ATOMIC_SEQ_CST);
	while (pause() < 0)
		;
	return 0;
}

static int stall_at_zero(size_t i, void *arg, struct reason *why)
{
	(void)arg;
	(void)why;
	while (i == 0)
		pause();
	return 0;
}

/* With a deadline, a job that does not end (its disk stalls) is killed and
 * named, the others end as usual, and the run returns; a single job runs
 * in a worker then, so that it can be stopped too. */
static void test_deadline_stops_a_stalled_job(void **state)
{
	struct reason whys[2] = { { "" }, { "" } }, why = { "" };
	int results[2] = { 1, 1 }, ret = 0;
	struct timespec t0, t1;
	size_t failed;

	(void)state;
	workers_set_deadline(1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(workers_run_all(2, 2, stall_at_zero, NULL, labels, results, whys), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(results[0], -ETIMEDOUT);
	assert_non_null(strstr(whys[0].text, "/dev/d0 did not finish within 1 s"));
	assert_int_equal(results[1], 0);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	in_parent = 0;
	assert_int_equal(workers_run(1, 4, here, &ret, labels, &failed, &why), 0);
	assert_int_equal(in_parent, 0); /* in a worker */
	assert_int_equal(workers_run(1, 4, stall_at_zero, NULL, labels, &failed, &why), -ETIMEDOUT);
	workers_set_deadline(0);
}

/* A run killed while its workers work takes them with it. */
static void test_workers_die_with_the_run(void **state)
{
	pid_t run;
	int status;

	(void)state;
	/* Orphans come to this process, which can then wait for them. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	run = fork();
	assert_true(run >= 0);
	if (run == 0) {
		struct reason why;
		size_t failed;

		workers_run(2, 2, block, NULL, labels, &failed, &why);
		_exit(0);
	}
	WAIT_FOR(__atomic_load_n(&sh->pid[0], __ATOMIC_SEQ_CST) &&
		 __atomic_load_n(&sh->pid[1], __ATOMIC_SEQ_CST));
	assert_true(sh->pid[0] > 0 && sh->pid[1] > 0);
	assert_int_equal(kill(run, SIGKILL), 0);
	assert_int_equal(waitpid(run, &status, 0), run);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(waitpid(sh->pid[i], &status, 0), sh->pid[i]);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);
	}
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

/* The job's view of its descriptors: -EEXIST when it holds a socket. */
static int holds_no_socket(size_t i, void *arg, struct reason *why)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	struct stat st;
	int r = 0;

	(void)i;
	(void)arg;
	(void)why;
	while (d && (e = readdir(d)))
		if (atoi(e->d_name) > 2 && fstat(atoi(e->d_name), &st) == 0 && S_ISSOCK(st.st_mode))
			r = -EEXIST;
	if (d)
		closedir(d);
	return r;
}

/* A worker inherits no socket of the run's (the key service's TLS
 * sessions stay with the parent). */
static void test_workers_hold_no_socket(void **state)
{
	struct reason whys[3];
	int results[3], sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(workers_run_all(3, 3, holds_no_socket, NULL, labels, results, whys), 0);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workers_hold_no_socket),
		cmocka_unit_test_setup_teardown(test_lowest_failure_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_starts_after_a_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_run_despite_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_at_most_max_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_worker_that_dies_is_a_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_names_each_dead_worker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_job_runs_here, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_stops_a_stalled_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workers_die_with_the_run, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
