// SPDX-License-Identifier: MIT
/* A fleet's boot storm against one vault, with scratchcrypt's own key-service
 * client: NODES threads start at once, and each does what an HBI start does
 * on new disks (an IMDS token, get key, one wrap per disk), in a session of
 * its own (its own TLS connection and retry cap).
 *   kfstorm IMDS VAULT CA CAP_S KEY NODES DISKS
 * Prints one line per node: "NODE i ok|ERR seconds", the seconds from the
 * common start until the node had its keys. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyfetch/keyfetch.h"

struct node {
	const struct kf_config *c;
	const char *key_name;
	unsigned disks;
	pthread_barrier_t *go;
	const struct timespec *t0;
	double seconds;
	int r;
	struct kf_error e;
};

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *run_node(void *arg)
{
	struct node *n = arg;
	struct kf_session *s = NULL;
	struct kf_key_info k;
	unsigned char key[64];
	char *wrapped = NULL;
	int r;

	memset(key, 0x5a, sizeof(key));
	pthread_barrier_wait(n->go);
	r = kf_session_new(n->c, NULL, &s);
	if (r == 0)
		r = kf_get_key(s, n->key_name, NULL, &k, &n->e);
	for (unsigned i = 0; r == 0 && i < n->disks; i++) {
		r = kf_wrap(s, &k, key, sizeof(key), &wrapped, &n->e);
		free(wrapped);
		wrapped = NULL;
	}
	n->seconds = since(n->t0);
	n->r = r;
	kf_session_free(s);
	return NULL;
}

int main(int argc, char **argv)
{
	struct kf_config c = { 0 };
	pthread_barrier_t go;
	struct timespec t0;
	struct node *nodes;
	pthread_t *threads;
	unsigned n, disks;
	int failed = 0;

	if (argc != 8)
		return fprintf(stderr, "usage: kfstorm IMDS VAULT CA CAP_S KEY NODES DISKS\n"), 2;
	c.imds_endpoint = argv[1];
	c.vault_url = argv[2];
	c.ca_bundle = argv[3];
	c.retry_cap_s = (unsigned)atoi(argv[4]);
	n = (unsigned)atoi(argv[6]);
	disks = (unsigned)atoi(argv[7]);
	if (n == 0 || n > 10000 || disks == 0)
		return fprintf(stderr, "kfstorm: 1 to 10000 nodes, at least 1 disk\n"), 2;
	kf_global_init();
	nodes = calloc(n, sizeof(*nodes));
	threads = calloc(n, sizeof(*threads));
	if (!nodes || !threads || pthread_barrier_init(&go, NULL, n + 1) != 0)
		return 2;
	for (unsigned i = 0; i < n; i++) {
		pthread_attr_t attr;

		nodes[i] = (struct node){ .c = &c, .key_name = argv[5], .disks = disks, .go = &go, .t0 = &t0 };
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		if (pthread_create(&threads[i], &attr, run_node, &nodes[i]) != 0)
			return fprintf(stderr, "kfstorm: cannot start node %u\n", i), 2;
		pthread_attr_destroy(&attr);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_barrier_wait(&go);
	for (unsigned i = 0; i < n; i++) {
		pthread_join(threads[i], NULL);
		if (nodes[i].r == 0) {
			printf("NODE %u ok %.3f\n", i, nodes[i].seconds);
		} else {
			failed++;
			printf("NODE %u ERR %.3f status=%ld code=%s endpoint=%s\n", i, nodes[i].seconds,
			       nodes[i].e.http_status, nodes[i].e.code, nodes[i].e.endpoint);
		}
	}
	pthread_barrier_destroy(&go);
	free(nodes);
	free(threads);
	kf_global_cleanup();
	return failed ? 1 : 0;
}
