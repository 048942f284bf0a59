/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "agent/config.h"
#include "agent/setup/lifecycle.h"

/* IMDS Scheduled Events: on Terminate or Preempt for this VM, shred the
 * local disks, then acknowledge the event (StartRequests) so the platform
 * can go ahead. */

#define EVENTS_PATH "/metadata/scheduledevents?api-version=2020-07-01"

struct sched_event {
	char id[80];
	char type[32];
	char status[32];
	bool for_us; /* Resources names this VM (or is empty) */
};

/* Parses a scheduled-events document; returns how many events, or -EBADMSG. */
int events_parse(const char *json, const char *vm_name, struct sched_event *ev, size_t max);
/* The events already shredded for, so that each is acknowledged but
 * shredded for once; the oldest are forgotten past EVENTS_REMEMBERED. */
#define EVENTS_REMEMBERED 32
struct events_seen {
	char id[EVENTS_REMEMBERED][80];
	size_t n; /* ever remembered */
};
bool events_seen(const struct events_seen *h, const char *id);
void events_remember(struct events_seen *h, const char *id);

/* Whether this event means the local disks are about to go away. */
bool events_must_shred(const struct sched_event *e);
/* The loop; with once, a single poll. Returns only on error or once. */
int events_watch(const struct cfg *c, const struct lc_opts *o, bool once);
