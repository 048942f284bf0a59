// SPDX-License-Identifier: MIT
/* Scheduled-events documents, as IMDS documents them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/events.h"

static const char doc[] =
	"{\"DocumentIncarnation\":2,\"Events\":["
	"{\"EventId\":\"602d9444-d2cd-49c7-8624-8643e7171297\",\"EventType\":\"Terminate\","
	"\"ResourceType\":\"VirtualMachine\",\"Resources\":[\"node-0\"],\"EventStatus\":\"Scheduled\","
	"\"NotBefore\":\"Mon, 19 Sep 2016 18:29:47 GMT\",\"Description\":\"\",\"EventSource\":\"Platform\","
	"\"DurationInSeconds\":-1},"
	"{\"EventId\":\"e2\",\"EventType\":\"Preempt\",\"Resources\":[\"NODE-0\",\"node-1\"],\"EventStatus\":\"Scheduled\"},"
	"{\"EventId\":\"e3\",\"EventType\":\"Terminate\",\"Resources\":[\"node-1\"],\"EventStatus\":\"Scheduled\"},"
	"{\"EventId\":\"e4\",\"EventType\":\"Reboot\",\"Resources\":[\"node-0\"],\"EventStatus\":\"Scheduled\"},"
	"{\"EventId\":\"e5\",\"EventType\":\"Freeze\",\"Resources\":[],\"EventStatus\":\"Scheduled\"},"
	"{\"EventId\":\"e6\",\"EventType\":\"Terminate\",\"Resources\":[\"node-0\"],\"EventStatus\":\"Started\"},"
	"{\"EventId\":\"e7\",\"EventType\":\"Redeploy\",\"Resources\":[\"node-0\"],\"EventStatus\":\"Scheduled\"}"
	"]}";

static void test_parse(void **state)
{
	struct sched_doc d;

	(void)state;
	assert_int_equal(events_parse(doc, "node-0", &d), 0);
	assert_int_equal(d.n, 7);
	assert_int_equal(d.incarnation, 2);
	assert_string_equal(d.ev[0].id, "602d9444-d2cd-49c7-8624-8643e7171297");
	assert_string_equal(d.ev[0].type, "Terminate");
	assert_true(d.ev[0].for_us && d.ev[0].only_us);
	assert_true(events_must_shred(&d.ev[0], false));  /* Terminate for us */
	assert_true(events_may_ack(&d.ev[0]));            /* ... and us alone */
	assert_true(events_must_shred(&d.ev[1], false));  /* Preempt, names us among others */
	assert_false(events_may_ack(&d.ev[1]));           /* ... so others keep their NotBefore */
	assert_false(events_must_shred(&d.ev[2], false)); /* another VM */
	assert_false(events_must_shred(&d.ev[3], false)); /* a reboot keeps the disks */
	assert_false(events_must_shred(&d.ev[4], false)); /* freeze */
	assert_true(events_must_shred(&d.ev[5], false));  /* already Started: still shred */
	assert_false(events_may_ack(&d.ev[5]));           /* nothing left to release */
	assert_false(events_must_shred(&d.ev[6], false)); /* redeploy, system keys: re-keyed anyway */
	assert_true(events_must_shred(&d.ev[6], true));   /* redeploy in HBI mode: the data stays behind */
	events_doc_free(&d);
}

static void test_bad_documents(void **state)
{
	struct sched_doc d;

	(void)state;
	assert_int_equal(events_parse("", "n", &d), -EBADMSG);
	assert_int_equal(events_parse("{\"Events\":{}}", "n", &d), -EBADMSG);
	assert_int_equal(events_parse("[1,2]", "n", &d), -EBADMSG);
	assert_int_equal(events_parse("{\"DocumentIncarnation\":0,\"Events\":[]}", "n", &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(d.incarnation, 0);
	events_doc_free(&d);
	/* An event without an id is skipped. */
	assert_int_equal(events_parse("{\"Events\":[{\"EventType\":\"Terminate\"}]}", "n", &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(d.incarnation, -1);
	events_doc_free(&d);
	/* No Resources: shredded for, never acknowledged for others. */
	assert_int_equal(events_parse("{\"Events\":[{\"EventId\":\"a\",\"EventType\":\"Preempt\","
				      "\"EventStatus\":\"Scheduled\"}]}", "n", &d), 0);
	assert_true(events_must_shred(&d.ev[0], false));
	assert_false(events_may_ack(&d.ev[0]));
	events_doc_free(&d);
}

/* Any number of events: the 100th is seen like the first. */
static void test_many_events(void **state)
{
	char buf[16384], *p = buf;
	struct sched_doc d;

	(void)state;
	p += sprintf(p, "{\"DocumentIncarnation\":7,\"Events\":[");
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "%s{\"EventId\":\"e%d\",\"EventType\":\"%s\",\"Resources\":[\"n\"],"
			     "\"EventStatus\":\"Scheduled\"}", i ? "," : "", i, i == 99 ? "Terminate" : "Freeze");
	sprintf(p, "]}");
	assert_int_equal(events_parse(buf, "n", &d), 0);
	assert_int_equal(d.n, 100);
	assert_true(events_must_shred(&d.ev[99], false));
	assert_false(events_must_shred(&d.ev[0], false));
	events_doc_free(&d);
}

/* Regression: JSON null or numbers where strings belong were printed with
 * "%s" from a NULL pointer; a NULL or empty reply crashed the tokenizer. */
static void test_hostile_documents(void **state)
{
	struct sched_doc d;

	(void)state;
	assert_int_equal(events_parse(NULL, "n", &d), -EBADMSG);
	assert_int_equal(events_parse("{\"Events\":[]} x", "n", &d), -EBADMSG);
	assert_int_equal(events_parse("{\"Events\":[{\"EventId\":null,\"EventType\":\"Terminate\","
				      "\"EventStatus\":\"Scheduled\"}]}", "n", &d), 0);
	assert_int_equal(d.n, 0);
	events_doc_free(&d);
	assert_int_equal(events_parse("{\"Events\":[{\"EventId\":\"a\",\"EventType\":null,"
				      "\"EventStatus\":\"Scheduled\"}]}", "n", &d), 0);
	assert_int_equal(d.n, 0);
	events_doc_free(&d);
	assert_int_equal(events_parse("{\"DocumentIncarnation\":\"x\",\"Events\":[{\"EventId\":\"a\","
				      "\"EventType\":\"Terminate\",\"EventStatus\":\"Scheduled\","
				      "\"Resources\":[null,7,\"n\"]}]}", "n", &d), 0);
	assert_int_equal(d.n, 1);
	assert_true(events_must_shred(&d.ev[0], false));
	assert_false(events_may_ack(&d.ev[0])); /* null and 7 are not this VM */
	events_doc_free(&d);
	assert_int_equal(events_parse("{\"Events\":[null,7,\"x\",[]]}", "n", &d), 0);
	assert_int_equal(d.n, 0);
	events_doc_free(&d);
	/* Regression: a name with a NUL in it compared equal to this VM's. */
	assert_int_equal(events_parse("{\"Events\":[{\"EventId\":\"a\",\"EventType\":\"Terminate\","
				      "\"EventStatus\":\"Scheduled\",\"Resources\":[\"n\\u0000x\"]}]}", "n", &d), 0);
	assert_int_equal(d.n, 1);
	assert_false(d.ev[0].for_us);
	events_doc_free(&d);
	/* Regression: an EventId of over 80 characters was dropped, without a
	 * shred or a word; it is shredded for, and not acknowledged. */
	char text[512];
	snprintf(text, sizeof(text), "{\"Events\":[{\"EventId\":\"%0200d\",\"EventType\":\"Terminate\","
		 "\"EventStatus\":\"Scheduled\",\"Resources\":[\"n\"]}]}", 7);
	assert_int_equal(events_parse(text, "n", &d), 0);
	assert_int_equal(d.n, 1);
	assert_true(events_must_shred(&d.ev[0], false));
	assert_false(events_may_ack(&d.ev[0]));
	events_doc_free(&d);
}

/* Regression: past 32 handled events, watch-events read beyond its list. */
static void test_seen_wraps(void **state)
{
	struct events_seen h = { 0 };
	char id[16];

	(void)state;
	for (int i = 0; i < 3 * EVENTS_REMEMBERED + 5; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		assert_false(events_seen(&h, id));
		events_remember(&h, id);
		assert_true(events_seen(&h, id));
	}
	assert_true(events_seen(&h, "e100"));
	assert_false(events_seen(&h, "e0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_bad_documents),
		cmocka_unit_test(test_many_events),
		cmocka_unit_test(test_hostile_documents),
		cmocka_unit_test(test_seen_wraps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
