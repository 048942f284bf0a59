// SPDX-License-Identifier: MIT
/* sockact PATH CMD [ARGS...]: what systemd does for a socket unit with
 * Accept=yes, for the vm tests (their guest has no systemd): listens on
 * the Unix socket PATH (mode 0666), and runs CMD once per connection with
 * the connection as its stdin and stdout. Runs until killed.
 * sockact -c PATH LINE: a client, as anyone on the node could be: sends
 * LINE and prints the answer. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int client(struct sockaddr_un *sa, const char *line)
{
	char buf[4096];
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0)
		return perror(sa->sun_path), 1;
	if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0)
		return perror("write"), 1;
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (argc == 4 && strcmp(argv[1], "-c") == 0 && strlen(argv[2]) < sizeof(sa.sun_path)) {
		strcpy(sa.sun_path, argv[2]);
		return client(&sa, argv[3]);
	}
	if (argc < 3 || strlen(argv[1]) >= sizeof(sa.sun_path))
		return fprintf(stderr, "usage: sockact PATH CMD [ARGS...]\n"), 2;
	strcpy(sa.sun_path, argv[1]);
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(argv[1], 0666) < 0 ||
	    listen(fd, 8) < 0)
		return perror(argv[1]), 1;
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			continue;
		if (fork() == 0) {
			close(fd);
			dup2(c, 0);
			dup2(c, 1);
			close(c);
			execvp(argv[2], argv + 2);
			perror(argv[2]);
			_exit(127);
		}
		close(c);
	}
}
