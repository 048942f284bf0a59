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
	struct json_object *o = kf_json_object(json, json ? strlen(json) : 0), *list;
	size_t n = 0;

	if (!o || !json_object_object_get_ex(o, "Events", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		json_object_put(o);
		return -EBADMSG;
	}
	for (size_t i = 0; i < json_object_array_length(list) && n < max; i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *res;
		struct sched_event *x = &ev[n];
		const char *id = kf_json_string(e, "EventId"), *type = kf_json_string(e, "EventType"),
			   *status = kf_json_string(e, "EventStatus");

		memset(x, 0, sizeof(*x));
		/* An event we could not name back to IMDS is not one we act on. */
		if (!id || !id[0] || strlen(id) >= sizeof(x->id) || !type || !status)
			continue;
		snprintf(x->id, sizeof(x->id), "%s", id);
		snprintf(x->type, sizeof(x->type), "%s", type);
		snprintf(x->status, sizeof(x->status), "%s", status);
		x->for_us = true;
		if (json_object_object_get_ex(e, "Resources", &res) &&
		    json_object_is_type(res, json_type_array) && json_object_array_length(res)) {
			x->for_us = false;
			for (size_t k = 0; k < json_object_array_length(res); k++) {
				struct json_object *r = json_object_array_get_idx(res, k);

				if (vm_name && json_object_is_type(r, json_type_string) &&
				    strcasecmp(json_object_get_string(r), vm_name) == 0)
					x->for_us = true;
			}
		}
		n++;
	}
	json_object_put(o);
	return (int)n;
}

bool events_seen(const struct events_seen *h, const char *id)
{
	size_t n = h->n < EVENTS_REMEMBERED ? h->n : EVENTS_REMEMBERED;

	for (size_t i = 0; i < n; i++)
		if (strcmp(h->id[i], id) == 0)
			return true;
	return false;
}

void events_remember(struct events_seen *h, const char *id)
{
	snprintf(h->id[h->n % EVENTS_REMEMBERED], sizeof(h->id[0]), "%s", id);
	h->n++;
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
	struct json_object *o, *compute;
	struct kf_error e;
	char *json = NULL;
	const char *n;
	int r = kf_imds_get(s, "/metadata/instance?api-version=2021-02-01", &json, &e);

	if (r < 0)
		return log_error_errno(r, "cannot read instance metadata: %s: HTTP %ld %s %s",
				       e.endpoint, e.http_status, e.code, e.message);
	o = kf_json_object(json, json ? strlen(json) : 0);
	free(json);
	r = -EBADMSG;
	if (o && json_object_object_get_ex(o, "compute", &compute) &&
	    (n = kf_json_string(compute, "name")) && n[0] && strlen(n) < size) {
		snprintf(name, size, "%s", n);
		r = 0;
	} else {
		log_error("instance metadata has no compute.name: cannot tell which events are this VM's");
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
	struct json_object *o = json_object_new_object(), *list = json_object_new_array(),
			   *req = json_object_new_object();
	struct kf_error err;
	int r;

	/* The id came from IMDS: json-c quotes it. */
	json_object_object_add(req, "EventId", json_object_new_string(e->id));
	json_object_array_add(list, req);
	json_object_object_add(o, "StartRequests", list);
	r = kf_imds_post(s, EVENTS_PATH, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), &err);
	json_object_put(o);
	if (r < 0)
		return log_error_errno(r, "cannot acknowledge event %s: %s: HTTP %ld %s %s", e->id,
				       err.endpoint, err.http_status, err.code, err.message);
	log_info("scheduled event %s acknowledged", e->id);
	return 0;
}

int events_watch(const struct cfg *c, const struct lc_opts *o, bool once)
{
	struct events_seen handled = { 0 };
	char name[256] = "";
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
			if (!events_must_shred(&ev[i]))
				continue;
			/* Shred first, acknowledge after: never let the VM go
			 * with readable disks. A failed shred is retried. */
			if (!events_seen(&handled, ev[i].id)) {
				r = shred_for(c, o, &ev[i]);
				if (r < 0)
					continue;
				events_remember(&handled, ev[i].id);
			}
			r = ack(s, &ev[i]);
		}
next:
		kf_session_free(s);
		if (once)
			return r;
	}
}
