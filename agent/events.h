/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "agent/config.h"
#include "agent/setup/lifecycle.h"

/* IMDS Scheduled Events: on Terminate or Preempt for this VM (and, in HBI
 * mode, Redeploy, which moves the VM off its local disks), whether
 * Scheduled or already Started, shred the local disks. Then acknowledge the
 * event (StartRequests), but only one that names this VM alone: an
 * acknowledgement releases the event for every VM in its Resources. */

#define EVENTS_PATH "/metadata/scheduledevents?api-version=2020-07-01"
/* The first call after boot may take this long to answer (Microsoft's
 * documentation: up to two minutes). */
#define EVENTS_FIRST_CALL_S 120

struct sched_event {
	char id[80];
	char type[32];
	char status[32];
	bool for_us;  /* Resources names this VM, or names none */
	bool only_us; /* Resources names this VM and no other */
	bool id_cut;  /* the EventId did not fit id: shredded for, never acknowledged */
};

struct sched_doc {
	long long incarnation; /* DocumentIncarnation; -1 when absent */
	size_t n;
	struct sched_event *ev; /* malloc'd, any number */
};

/* Parses a scheduled-events document (any number of events); 0 or -EBADMSG
 * (then doc is empty). events_doc_free() it either way. */
int events_parse(const char *json, const char *vm_name, struct sched_doc *doc);
void events_doc_free(struct sched_doc *doc);
/* The events already shredded for, so that each is acknowledged but
 * shredded for once; the oldest are forgotten past EVENTS_REMEMBERED. */
#define EVENTS_REMEMBERED 32
struct events_seen {
	char id[EVENTS_REMEMBERED][80];
	size_t n; /* ever remembered */
};
bool events_seen(const struct events_seen *h, const char *id);
void events_remember(struct events_seen *h, const char *id);

/* Whether this event means the local disks are about to go away (hbi: the
 * node's key source is HBI, whose data a Redeploy would also leave behind). */
bool events_must_shred(const struct sched_event *e, bool hbi);
/* Whether this VM may acknowledge it: Scheduled, and for this VM alone. */
bool events_may_ack(const struct sched_event *e);
struct events_opts {
	bool once;           /* a single poll */
	bool reply;          /* with once: the result on stdout (handoff.h) */
	const char *handoff; /* shred through this socket (handoff.h) instead of here */
};
/* The loop. Returns only on error, or after one poll with once. */
int events_watch(const struct cfg *c, const struct lc_opts *o, const struct events_opts *eo);
