// SPDX-License-Identifier: MIT
/* Every disk's probe in a process of its own, all at once: a node with 8
 * local NVMe disks waits for the slowest, not for the sum, and a disk that
 * does not answer (a stalled controller, a disk pulled mid-read) holds up
 * nothing but itself. After the deadline a disk with no answer is
 * PROBE_FAILED with ETIMEDOUT, never judged and never written, and its
 * process is killed (it goes when its read returns). The results come back
 * through memory shared with the probes; a probe's index through a pipe
 * says it is done, so a late one is never read. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/detect/detect-internal.h"
#include "agent/detect/probe.h"

struct slot {
	struct probe_result res;
	int r;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void probe_child(const char *devnode, struct slot *s, int fd, pid_t parent, unsigned idx)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(EXIT_FAILURE);
	s->r = probe_device(devnode, &s->res);
	if (write(fd, &idx, sizeof(idx)) != (ssize_t)sizeof(idx))
		_exit(EXIT_FAILURE);
	_exit(EXIT_SUCCESS);
}

/* Reads the indices of the probes that are done until all are or the
 * deadline passes; done[i] says which. */
static void collect(int fd, size_t n, bool *done, unsigned timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - now_ms();
		unsigned idx;
		ssize_t k;
		int pr;

		if (left <= 0)
			return;
		pr = poll(&p, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return;
		k = read(fd, &idx, sizeof(idx));
		if (k == 0)
			return; /* every probe gone: the rest died without an answer */
		if (k == (ssize_t)sizeof(idx) && idx < n && !done[idx]) {
			done[idx] = true;
			got++;
		}
	}
}

int detect_probe_devices(const char *const *devnodes, size_t n, unsigned timeout_ms,
			 struct probe_result *out, int *rs)
{
	struct slot *slots = mmap(NULL, (n ?: 1) * sizeof(*slots), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t *pids = calloc(n ?: 1, sizeof(*pids)), parent = getpid();
	bool *done = calloc(n ?: 1, sizeof(*done));
	int fds[2] = { -1, -1 };

	if (slots == MAP_FAILED || !pids || !done || pipe2(fds, O_CLOEXEC) < 0) {
		if (slots != MAP_FAILED)
			munmap(slots, (n ?: 1) * sizeof(*slots));
		free(pids);
		free(done);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(fds[0]);
			probe_child(devnodes[i], &slots[i], fds[1], parent, (unsigned)i);
		}
		if (pids[i] < 0) /* no process for it: probed here */
			slots[i].r = probe_device(devnodes[i], &slots[i].res), done[i] = true;
	}
	close(fds[1]);
	collect(fds[0], n, done, timeout_ms);
	close(fds[0]);
	for (size_t i = 0; i < n; i++) {
		if (done[i]) {
			out[i] = slots[i].res;
			rs[i] = slots[i].r;
		} else {
			memset(&out[i], 0, sizeof(out[i]));
			rs[i] = -ETIMEDOUT;
			if (pids[i] > 0)
				kill(pids[i], SIGKILL);
		}
		/* One stuck in a read is left to go when the read returns. */
		if (pids[i] > 0)
			(void)waitpid(pids[i], NULL, done[i] ? 0 : WNOHANG);
	}
	munmap(slots, (n ?: 1) * sizeof(*slots));
	free(pids);
	free(done);
	return 0;
}
