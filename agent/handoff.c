// SPDX-License-Identifier: MIT
#include "agent/handoff.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/exitcode.h"
#include "base/log.h"

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Reads the answer to its end; the last "result" line counts. */
static int read_result(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t got;
	char *line;
	int code;

	while (n < size - 1 && (got = read(fd, buf + n, size - 1 - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		n += (size_t)got;
	}
	buf[n] = '\0';
	line = strstr(buf, "result ");
	for (char *next; line && (next = strstr(line + 1, "\nresult "));)
		line = next + 1;
	if (!line)
		return -EPROTO;
	if (strncmp(line, "result ok\n", 10) == 0)
		return 0;
	if (sscanf(line, "result error %d", &code) == 1)
		return code ? -EIO : -EPROTO;
	return -EPROTO;
}

int handoff_request(const char *socket_path, const char *event_id, unsigned timeout_s)
{
	struct timeval tv = { .tv_sec = timeout_s };
	char line[300], answer[512];
	int fd = connect_to(socket_path), n, r;

	if (fd < 0)
		return log_error_errno(fd, "scheduled event %s: cannot ask %s to shred: %m", event_id,
				       socket_path);
	n = snprintf(line, sizeof(line), "shred %.256s\n", event_id);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, line, (size_t)n) != n) {
		r = -errno;
		close(fd);
		return log_error_errno(r, "scheduled event %s: cannot send the request to %s: %m",
				       event_id, socket_path);
	}
	(void)shutdown(fd, SHUT_WR);
	r = read_result(fd, answer, sizeof(answer));
	close(fd);
	if (r == -EIO)
		return log_error_errno(r, "scheduled event %s: the shred through %s failed (see "
				       "scratchcrypt-shred@.service in the journal); asking again at the "
				       "next poll", event_id, socket_path);
	if (r < 0)
		return log_error_errno(r, "scheduled event %s: no result from %s: %s", event_id,
				       socket_path, r == -EPROTO ? "the answer has no result line" : strerror(-r));
	log_info("scheduled event %s: %s shredded the local disks and acknowledged what may be",
		 event_id, socket_path);
	return 0;
}

void handoff_read_request(int fd)
{
	char req[300];
	size_t n = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	/* Read to the end: a socket closed with unread bytes resets the
	 * watcher's side before it reads the answer. */
	while (poll(&p, 1, 2000) > 0) {
		char sink[256];
		ssize_t got = read(fd, n < sizeof(req) - 1 ? req + n : sink,
				   n < sizeof(req) - 1 ? sizeof(req) - 1 - n : sizeof(sink));

		if (got <= 0)
			break;
		if (n < sizeof(req) - 1)
			n += (size_t)got;
	}
	req[n] = '\0';
	req[strcspn(req, "\n")] = '\0';
	log_info("a shred request (\"%.80s\"): reading the scheduled events", req);
}

void handoff_reply(FILE *f, int r)
{
	if (r == 0)
		fputs("result ok\n", f);
	else
		fprintf(f, "result error %d\n", exit_code_of(r));
	fflush(f);
}
