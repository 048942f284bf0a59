// SPDX-License-Identifier: MIT
#include "agent/events.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "agent/report/metrics.h"
#include "agent/setup/runstate.h"
#include "keyfetch/keyfetch.h"

#define MAX_EVENTS 32
#define LOCK_TIMEOUT_S 300

int events_parse(const char *json, const char *vm_name, struct sched_event *ev, size_t max)
{
	struct json_object *o = json_tokener_parse(json), *list, *f;
	size_t n = 0;

	if (!o || !json_object_object_get_ex(o, "Events", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		json_object_put(o);
		return -EBADMSG;
	}
	for (size_t i = 0; i < json_object_array_length(list) && n < max; i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *res;
		struct sched_event *x = &ev[n];

		memset(x, 0, sizeof(*x));
		if (!json_object_object_get_ex(e, "EventId", &f))
			continue;
		snprintf(x->id, sizeof(x->id), "%s", json_object_get_string(f));
		if (json_object_object_get_ex(e, "EventType", &f))
			snprintf(x->type, sizeof(x->type), "%s", json_object_get_string(f));
		if (json_object_object_get_ex(e, "EventStatus", &f))
			snprintf(x->status, sizeof(x->status), "%s", json_object_get_string(f));
		x->for_us = true;
		if (json_object_object_get_ex(e, "Resources", &res) &&
		    json_object_is_type(res, json_type_array) && json_object_array_length(res)) {
			x->for_us = false;
			for (size_t k = 0; k < json_object_array_length(res); k++) {
				const char *r = json_object_get_string(json_object_array_get_idx(res, k));
				if (vm_name && r && strcasecmp(r, vm_name) == 0)
					x->for_us = true;
			}
		}
		n++;
	}
	json_object_put(o);
	return (int)n;
}

bool events_must_shred(const struct sched_event *e)
{
	return e->for_us && strcmp(e->status, "Scheduled") == 0 &&
	       (strcmp(e->type, "Terminate") == 0 || strcmp(e->type, "Preempt") == 0);
}

static int session(const struct cfg *c, struct kf_session **s)
{
	struct kf_config kc = {
		.imds_endpoint = c->hbi.imds_endpoint,
		.retry_cap_s = c->events_poll_s * 5 < 30 ? c->events_poll_s * 5 : 30,
	};
	return kf_session_new(&kc, NULL, s);
}

static int vm_name(struct kf_session *s, char *name, size_t size)
{
	struct json_object *o, *compute, *f;
	struct kf_error e;
	char *json = NULL;
	int r = kf_imds_get(s, "/metadata/instance?api-version=2021-02-01", &json, &e);

	if (r < 0)
		return log_error_errno(r, "cannot read instance metadata: %s: HTTP %ld %s %s",
				       e.endpoint, e.http_status, e.code, e.message);
	o = json_tokener_parse(json);
	free(json);
	r = -EBADMSG;
	if (o && json_object_object_get_ex(o, "compute", &compute) &&
	    json_object_object_get_ex(compute, "name", &f)) {
		snprintf(name, size, "%s", json_object_get_string(f));
		r = 0;
	}
	json_object_put(o);
	return r;
}

static int shred_for(const struct cfg *c, const struct lc_opts *o, const struct sched_event *e)
{
	struct lc_opts so = *o;
	struct lc_result res;
	int r;

	so.keep = false;
	log_info("scheduled event %s: %s; shredding the local disks", e->id, e->type);
	r = runstate_lock(LOCK_TIMEOUT_S);
	if (r < 0)
		return log_error_errno(r, "cannot take the lock: %m");
	r = lc_stop(c, &so, &res);
	runstate_unlock();
	(void)metrics_write(c, "shred", r < 0 ? 1 : 0);
	return r;
}

static int ack(struct kf_session *s, const struct sched_event *e)
{
	struct kf_error err;
	char body[160];
	int r;

	snprintf(body, sizeof(body), "{\"StartRequests\":[{\"EventId\":\"%s\"}]}", e->id);
	r = kf_imds_post(s, EVENTS_PATH, body, &err);
	if (r < 0)
		return log_error_errno(r, "cannot acknowledge event %s: %s: HTTP %ld %s %s", e->id,
				       err.endpoint, err.http_status, err.code, err.message);
	log_info("scheduled event %s acknowledged", e->id);
	return 0;
}

int events_watch(const struct cfg *c, const struct lc_opts *o, bool once)
{
	char name[256] = "", handled[MAX_EVENTS][80];
	size_t n_handled = 0;
	int r = 0;

	log_info("watching scheduled events every %u s", c->events_poll_s);
	for (;; sleep(c->events_poll_s)) {
		struct sched_event ev[MAX_EVENTS];
		struct kf_session *s = NULL;
		struct kf_error e;
		char *json = NULL;
		int n;

		r = session(c, &s);
		if (r < 0)
			return r;
		if (!name[0] && (r = vm_name(s, name, sizeof(name))) < 0)
			goto next;
		r = kf_imds_get(s, EVENTS_PATH, &json, &e);
		if (r < 0) {
			log_warn_errno(r, "cannot read scheduled events: %s: HTTP %ld %s %s", e.endpoint,
				       e.http_status, e.code, e.message);
			goto next;
		}
		n = events_parse(json, name, ev, MAX_EVENTS);
		free(json);
		if (n < 0) {
			r = log_warn_errno(n, "scheduled events: an answer that is not an events document");
			goto next;
		}
		for (int i = 0; i < n; i++) {
			bool seen = false;

			if (!events_must_shred(&ev[i]))
				continue;
			for (size_t k = 0; k < n_handled; k++)
				seen |= strcmp(handled[k], ev[i].id) == 0;
			/* Shred first, acknowledge after: never let the VM go
			 * with readable disks. A failed shred is retried. */
			if (!seen) {
				r = shred_for(c, o, &ev[i]);
				if (r < 0)
					continue;
				snprintf(handled[n_handled++ % MAX_EVENTS], 80, "%s", ev[i].id);
			}
			r = ack(s, &ev[i]);
		}
next:
		kf_session_free(s);
		if (once)
			return r;
	}
}
