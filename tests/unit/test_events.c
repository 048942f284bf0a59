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
	struct sched_event ev[16];
	int n;

	(void)state;
	n = events_parse(doc, "node-0", ev, 16);
	assert_int_equal(n, 7);
	assert_string_equal(ev[0].id, "602d9444-d2cd-49c7-8624-8643e7171297");
	assert_string_equal(ev[0].type, "Terminate");
	assert_true(ev[0].for_us);
	assert_true(events_must_shred(&ev[0]));  /* Terminate for us */
	assert_true(events_must_shred(&ev[1]));  /* Preempt, names us among others */
	assert_false(events_must_shred(&ev[2])); /* another VM */
	assert_false(events_must_shred(&ev[3])); /* a reboot keeps the disks */
	assert_false(events_must_shred(&ev[4])); /* freeze */
	assert_false(events_must_shred(&ev[5])); /* already started */
	assert_false(events_must_shred(&ev[6])); /* redeploy: not in the shred list */
}

static void test_bad_documents(void **state)
{
	struct sched_event ev[4];

	(void)state;
	assert_int_equal(events_parse("", "n", ev, 4), -EBADMSG);
	assert_int_equal(events_parse("{\"Events\":{}}", "n", ev, 4), -EBADMSG);
	assert_int_equal(events_parse("[1,2]", "n", ev, 4), -EBADMSG);
	assert_int_equal(events_parse("{\"DocumentIncarnation\":0,\"Events\":[]}", "n", ev, 4), 0);
	/* An event without an id is skipped. */
	assert_int_equal(events_parse("{\"Events\":[{\"EventType\":\"Terminate\"}]}", "n", ev, 4), 0);
}

/* Regression: JSON null or numbers where strings belong were printed with
 * "%s" from a NULL pointer; a NULL or empty reply crashed the tokenizer. */
static void test_hostile_documents(void **state)
{
	struct sched_event ev[4];

	(void)state;
	assert_int_equal(events_parse(NULL, "n", ev, 4), -EBADMSG);
	assert_int_equal(events_parse("{\"Events\":[]} x", "n", ev, 4), -EBADMSG);
	assert_int_equal(events_parse("{\"Events\":[{\"EventId\":null,\"EventType\":\"Terminate\","
				      "\"EventStatus\":\"Scheduled\"}]}", "n", ev, 4), 0);
	assert_int_equal(events_parse("{\"Events\":[{\"EventId\":\"a\",\"EventType\":null,"
				      "\"EventStatus\":\"Scheduled\"}]}", "n", ev, 4), 0);
	assert_int_equal(events_parse("{\"Events\":[{\"EventId\":\"a\",\"EventType\":\"Terminate\","
				      "\"EventStatus\":\"Scheduled\",\"Resources\":[null,7,\"n\"]}]}",
				      "n", ev, 4), 1);
	assert_true(events_must_shred(&ev[0]));
	assert_int_equal(events_parse("{\"Events\":[null,7,\"x\",[]]}", "n", ev, 4), 0);
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
		cmocka_unit_test(test_hostile_documents),
		cmocka_unit_test(test_seen_wraps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
