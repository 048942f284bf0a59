// SPDX-License-Identifier: MIT
#include "agent/events.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/handoff.h"
#include "agent/report/metrics.h"
#include "base/log.h"
#include "agent/setup/keysource.h"
#include "agent/setup/runstate.h"
#include "keyfetch/keyfetch.h"

#define LOCK_TIMEOUT_S 300
/* What the watcher waits for the shred unit: its lock wait and the shred. */
#define HANDOFF_TIMEOUT_S 900

int events_parse(const char *json, const char *vm_name, struct sched_doc *doc)
{
	struct json_object *o = kf_json_object(json, json ? strlen(json) : 0), *list, *inc;
	size_t len;

	memset(doc, 0, sizeof(*doc));
	doc->incarnation = -1;
	if (!o || !json_object_object_get_ex(o, "Events", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		json_object_put(o);
		return -EBADMSG;
	}
	if (json_object_object_get_ex(o, "DocumentIncarnation", &inc) &&
	    json_object_is_type(inc, json_type_int))
		doc->incarnation = json_object_get_int64(inc);
	len = json_object_array_length(list);
	doc->ev = calloc(len ? len : 1, sizeof(*doc->ev));
	if (!doc->ev) {
		json_object_put(o);
		return -ENOMEM;
	}
	for (size_t i = 0; i < len; i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *res;
		struct sched_event *x = &doc->ev[doc->n];
		const char *id = kf_json_string(e, "EventId"), *type = kf_json_string(e, "EventType"),
			   *status = kf_json_string(e, "EventStatus");
		size_t ours = 0, others = 0;

		if (!id || !id[0] || !type || !status)
			continue;
		/* An id too long to name back to IMDS is still shredded for
		 * (the Resources decide), but never acknowledged. */
		x->id_cut = strlen(id) >= sizeof(x->id);
		if (x->id_cut)
			log_warn("scheduled event %.40s...: its EventId has %zu characters; it is acted on "
				 "but not acknowledged", id, strlen(id));
		snprintf(x->id, sizeof(x->id), "%s", id);
		snprintf(x->type, sizeof(x->type), "%s", type);
		snprintf(x->status, sizeof(x->status), "%s", status);
		if (json_object_object_get_ex(e, "Resources", &res) &&
		    json_object_is_type(res, json_type_array))
			for (size_t k = 0; k < json_object_array_length(res); k++) {
				struct json_object *r = json_object_array_get_idx(res, k);

				/* By length and bytes: "vm1\u0000x" is not vm1. */
				if (vm_name && json_object_is_type(r, json_type_string) &&
				    (size_t)json_object_get_string_len(r) == strlen(vm_name) &&
				    strncasecmp(json_object_get_string(r), vm_name, strlen(vm_name)) == 0)
					ours++;
				else
					others++;
			}
		/* No Resources: shred to be safe, but never release it for others. */
		x->for_us = ours || !others;
		x->only_us = ours && !others;
		doc->n++;
	}
	json_object_put(o);
	return 0;
}

void events_doc_free(struct sched_doc *doc)
{
	free(doc->ev);
	memset(doc, 0, sizeof(*doc));
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

bool events_must_shred(const struct sched_event *e, bool hbi)
{
	bool going = strcmp(e->type, "Terminate") == 0 || strcmp(e->type, "Preempt") == 0 ||
		     (hbi && strcmp(e->type, "Redeploy") == 0);

	return e->for_us && going &&
	       (strcmp(e->status, "Scheduled") == 0 || strcmp(e->status, "Started") == 0);
}

bool events_may_ack(const struct sched_event *e)
{
	return e->only_us && !e->id_cut && strcmp(e->status, "Scheduled") == 0;
}

static int session(const struct cfg *c, bool first, struct kf_session **s)
{
	unsigned cap = c->events_poll_s * 5 < 30 ? c->events_poll_s * 5 : 30;
	struct kf_config kc;

	/* The first call turns the service on and may take two minutes. */
	keysource_kf_config(c, false, first ? EVENTS_FIRST_CALL_S + cap : cap, &kc);
	kc.request_timeout_s = first ? EVENTS_FIRST_CALL_S : 0;
	return kf_session_new(&kc, NULL, s);
}

static int log_kf_error(enum log_level lvl, int r, const char *what, const struct kf_error *e)
{
	struct reason why = { "" };

	return log_reason(lvl, kf_error_reason(&why, r, what, e), &why, what);
}

static int vm_name(struct kf_session *s, char *name, size_t size)
{
	struct json_object *o, *compute;
	struct kf_error e;
	char *json = NULL;
	const char *n;
	int r = kf_imds_get(s, "/metadata/instance?api-version=2021-02-01", &json, &e);

	if (r < 0)
		return log_kf_error(LOG_LVL_ERROR, r, "cannot read instance metadata", &e);
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
	r = runstate_lock_preempt("shred", LOCK_TIMEOUT_S);
	if (r < 0)
		return log_error_errno(r, "cannot take the lock: %m");
	r = lc_stop(c, &so, &res);
	runstate_unlock();
	(void)metrics_write(c, "shred", r < 0 ? 1 : 0, &res.det);
	lc_result_free(&res);
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
	if (r < 0) {
		char what[128];

		snprintf(what, sizeof(what), "cannot acknowledge event %s", e->id);
		return log_kf_error(LOG_LVL_ERROR, r, what, &err);
	}
	log_info("scheduled event %s acknowledged", e->id);
	return 0;
}

/* What the watch carries from one poll to the next. */
struct watch {
	struct events_seen handled;
	long long done_incarnation; /* every event of it handled */
	bool first;
	char name[256];
	const char *handoff; /* events_opts */
};

/* Shreds for each event of the document that asks for it, then
 * acknowledges what may be acknowledged; *all_done when nothing is left
 * to retry. Returns the last error, or 0. */
static int handle_events(const struct cfg *c, const struct lc_opts *o, struct kf_session *s,
			 const struct sched_doc *doc, struct watch *w, bool *all_done)
{
	struct events_seen *handled = &w->handled;
	bool hbi = c->key_source == KEY_SOURCE_HBI;
	int r = 0;

	for (size_t i = 0; i < doc->n; i++) {
		const struct sched_event *ev = &doc->ev[i];

		if (!events_must_shred(ev, hbi))
			continue;
		/* Unprivileged: the shred unit shreds and acknowledges. */
		if (w->handoff) {
			if (events_seen(handled, ev->id))
				continue;
			r = handoff_request(w->handoff, ev->id, HANDOFF_TIMEOUT_S);
			if (r < 0)
				*all_done = false;
			else
				events_remember(handled, ev->id);
			continue;
		}
		/* Shred first, acknowledge after: never let the VM go with
		 * readable disks. A failed shred is retried. */
		if (!events_seen(handled, ev->id)) {
			r = shred_for(c, o, ev);
			if (r < 0) {
				*all_done = false;
				continue;
			}
			events_remember(handled, ev->id);
		}
		if (events_may_ack(ev))
			r = ack(s, ev);
		else if (strcmp(ev->status, "Scheduled") == 0)
			log_info("scheduled event %s names other VMs too: not acknowledged, so that "
				 "theirs keep their full NotBefore", ev->id);
		if (r < 0)
			*all_done = false;
	}
	return r;
}


/* One poll: read the document and act on it. */
static int poll_once(const struct cfg *c, const struct lc_opts *o, struct watch *w,
		     struct kf_session *s)
{
	struct sched_doc doc = { 0 };
	struct kf_error e;
	char *json = NULL;
	bool all_done = true;
	int r = 0;

	if (!w->name[0] && (r = vm_name(s, w->name, sizeof(w->name))) < 0)
		goto out;
	r = kf_imds_get(s, EVENTS_PATH, &json, &e);
	if (r < 0) {
		log_kf_error(LOG_LVL_WARN, r, "cannot read scheduled events", &e);
		goto out;
	}
	w->first = false;
	r = events_parse(json, w->name, &doc);
	free(json);
	if (r < 0) {
		log_warn_errno(r, "scheduled events: an answer that is not an events document");
		goto out;
	}
	/* The document changes only with its incarnation. */
	if (doc.incarnation >= 0 && doc.incarnation == w->done_incarnation)
		goto out;
	r = handle_events(c, o, s, &doc, w, &all_done);
	if (all_done)
		w->done_incarnation = doc.incarnation;
out:
	events_doc_free(&doc);
	return r;
}

int events_watch(const struct cfg *c, const struct lc_opts *o, const struct events_opts *eo)
{
	struct watch w = { .done_incarnation = -2, .first = true, .handoff = eo->handoff };
	int r = 0;

	log_info("watching scheduled events every %u s%s%s", c->events_poll_s,
		 eo->handoff ? "; shreds through " : "", eo->handoff ? eo->handoff : "");
	for (;; sleep(c->events_poll_s)) {
		struct kf_session *s = NULL;

		r = session(c, w.first, &s);
		if (r == 0)
			r = poll_once(c, o, &w, s);
		kf_session_free(s);
		if (eo->once && eo->reply)
			handoff_reply(stdout, r);
		if (eo->once || (r < 0 && !s))
			return r;
	}
}
