/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdio.h>

/* The unprivileged Scheduled Events watcher does not shred: it asks
 * scratchcrypt-shred.socket, whose instance (scratchcrypt-shred@.service,
 * root) reads the events from IMDS itself, shreds for those that ask for
 * it and acknowledges them. A request carries no authority: whoever can
 * connect can only make root look at IMDS again.
 *
 * The request is one line, "shred EVENT-ID\n"; the answer ends with
 * "result ok\n" or "result error EXIT\n", written by the instance
 * (watch-events --once --reply). */

#define HANDOFF_SOCKET "/run/scratchcrypt-shred.sock"

/* Sends the request for event_id and waits, at most timeout_s, for the
 * result: 0 when the instance shredded and acknowledged, else -errno
 * (logged, naming the socket). */
int handoff_request(const char *socket_path, const char *event_id, unsigned timeout_s);
/* The instance's side: reads the request from fd (to its end, at most a
 * line, a few seconds) and logs it. What it asks changes nothing: the
 * instance reads the events from IMDS itself. */
void handoff_read_request(int fd);
/* The instance's answer, from the run's result r (0 or -errno). */
void handoff_reply(FILE *f, int r);
