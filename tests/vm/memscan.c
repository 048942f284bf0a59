// SPDX-License-Identifier: MIT
/* memscan PID HEX...: reads every readable mapping of a stopped process
 * through /proc/PID/mem and reports each needle (given in hex) found, with
 * the mapping it is in. Exit 0: none found; 1: some found; 2: error.
 * The vm suite runs it inside the guest against a paused scratchcrypt. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NEEDLES 64

struct needle {
	unsigned char *b;
	size_t n;
	const char *hex;
};

static int unhex(const char *h, struct needle *nd)
{
	size_t n = strlen(h) / 2;

	if (!n || strlen(h) % 2 || !(nd->b = malloc(n)))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (sscanf(h + 2 * i, "%2hhx", &nd->b[i]) != 1)
			return -1;
	nd->n = n;
	nd->hex = h;
	return 0;
}

int main(int argc, char **argv)
{
	struct needle nd[MAX_NEEDLES];
	char path[64], line[512];
	int n = argc - 2, found = 0, mem;
	size_t scanned = 0;
	FILE *maps;

	if (argc < 3 || n > MAX_NEEDLES)
		return fprintf(stderr, "usage: memscan PID HEX...\n"), 2;
	for (int i = 0; i < n; i++)
		if (unhex(argv[i + 2], &nd[i]) < 0)
			return fprintf(stderr, "memscan: bad hex %s\n", argv[i + 2]), 2;
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	mem = open(path, O_RDONLY);
	if (!maps || mem < 0)
		return perror("memscan"), 2;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end;
		char perms[8], *buf;
		size_t len;
		ssize_t got;

		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 || perms[0] != 'r' ||
		    strstr(line, "[vvar]") || strstr(line, "[vsyscall]"))
			continue;
		len = end - start;
		buf = malloc(len);
		if (!buf)
			return 2;
		got = pread(mem, buf, len, (off_t)start);
		if (got > 0) {
			scanned += (size_t)got;
			for (int i = 0; i < n; i++)
				if (memmem(buf, (size_t)got, nd[i].b, nd[i].n)) {
					printf("FOUND %s in %s", nd[i].hex, line);
					found = 1;
				}
		}
		free(buf);
	}
	printf("memscan: %zu bytes read, %s\n", scanned, found ? "secrets found" : "none found");
	return found;
}
