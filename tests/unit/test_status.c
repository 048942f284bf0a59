// SPDX-License-Identifier: MIT
/* Status rows from observed state (the fake kernel, fakekernel.h), and the
 * schema-1 JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/setup/fs.h"
#include "agent/report/metrics.h"
#include "base/log.h"
#include "agent/setup/runstate.h"
#include "agent/report/status.h"
#include "dm/dm.h"
#include "tests/unit/fakekernel.h"

static const struct status_row *row(const struct status *st, enum disk_role role)
{
	for (size_t i = 0; i < st->n_rows; i++)
		if (st->rows[i].role == role)
			return &st->rows[i];
	fail_msg("no row for %s", disk_role_to_string(role));
	return NULL;
}

static void test_encrypted_with_a_refused_member(void **state)
{
	struct status st;

	(void)state;
	fk_verdict("/dev/sdb", ROLE_TEMP, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	fk_verdict("/dev/nvme0n1", ROLE_SCRATCH, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	fk_verdict("/dev/nvme1n1", ROLE_SCRATCH, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	fk_verdict("/dev/nvme2n1", ROLE_SCRATCH, ACTION_REFUSE, CONTENT_FOREIGN, "holds ext4");
	fk_map_add("scratchcrypt-temp", "", "crypt", true);
	fk_map_add("scratchcrypt-scratch", "", "crypt", true);
	fk_map_add("scratchcrypt-scratch-0", "", "crypt", true);
	fk_mount("/dev/mapper/scratchcrypt-scratch", "/mnt/scratch");
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);

	const struct status_row *os = row(&st, ROLE_OS), *t = row(&st, ROLE_TEMP),
				*s = row(&st, ROLE_SCRATCH);
	assert_int_equal(os->state, STATE_ENCRYPTED);
	assert_string_equal(os->key_source, "platform-managed");
	assert_non_null(strstr(os->note, "Customer-managed keys are not supported for OS and temp disks"));
	assert_int_equal(os->n_devices, 1);

	/* Mapped but not mounted is an error the operator must see. */
	assert_int_equal(t->state, STATE_ERROR);
	assert_non_null(strstr(t->note, "not mounted"));
	assert_null(strstr(t->note, "The last run failed"));
	/* and with it, why the last run failed, until a run succeeds. */
	assert_int_equal(runstate_set(ROLE_TEMP, STATE_ERROR, "mkfs.ext4 on /dev/mapper/scratchcrypt-temp "
				      "failed: Input/output error"), 0);
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	assert_non_null(strstr(t->note, "not mounted"));
	assert_non_null(strstr(t->note, "The last run failed: mkfs.ext4 on /dev/mapper/scratchcrypt-temp failed"));

	assert_int_equal(s->state, STATE_ENCRYPTED);
	assert_string_equal(s->key_source, "system-managed");
	assert_string_equal(s->mapping, "/dev/mapper/scratchcrypt-scratch");
	assert_string_equal(s->mount_point, "/mnt/scratch");
	/* The volume's disks only; the refused one in its own list. */
	assert_int_equal(s->n_devices, 2);
	for (size_t i = 0; i < s->n_devices; i++)
		assert_string_not_equal(s->devices[i], "/dev/nvme2n1");
	assert_int_equal(s->n_refused, 1);
	assert_string_equal(s->refused[0], "/dev/nvme2n1");
	assert_string_equal(s->refused_reason[0], "holds ext4");
	assert_non_null(strstr(s->note, "Refused: holds ext4"));
	assert_int_equal(s->sector_size, 4096);
}

static void test_states_without_mappings(void **state)
{
	struct status st;

	(void)state;
	fk_verdict("/dev/nvme0n1", ROLE_TEMP, ACTION_REFUSE, CONTENT_FOREIGN, "holds xfs");
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	assert_int_equal(row(&st, ROLE_TEMP)->state, STATE_REFUSED);
	assert_int_equal(row(&st, ROLE_SCRATCH)->state, STATE_ABSENT);

	/* What stop recorded wins over what the blank disks look like. */
	assert_int_equal(runstate_set(ROLE_TEMP, STATE_SHREDDED, ""), 0);
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	assert_int_equal(row(&st, ROLE_TEMP)->state, STATE_SHREDDED);

	assert_int_equal(runstate_set(ROLE_SCRATCH, STATE_ERROR, "start failed: Input/output error"), 0);
	fk_verdict("/dev/nvme1n1", ROLE_SCRATCH, ACTION_ENCRYPT, CONTENT_BLANK, "blank");
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	assert_int_equal(row(&st, ROLE_SCRATCH)->state, STATE_ERROR);
	assert_non_null(strstr(row(&st, ROLE_SCRATCH)->note, "Input/output error"));
}

static void test_not_encrypted(void **state)
{
	struct status st;

	(void)state;
	fk_verdict("/dev/nvme1n1", ROLE_TEMP, ACTION_ENCRYPT, CONTENT_BLANK, "blank");
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	assert_int_equal(row(&st, ROLE_TEMP)->state, STATE_NOT_ENCRYPTED);
	assert_non_null(strstr(row(&st, ROLE_TEMP)->note, "scratchcrypt start"));
}

static void test_json_schema(void **state)
{
	struct status st;
	struct json_object *j, *disks, *d, *f;

	(void)state;
	fk_verdict("/dev/sdb", ROLE_TEMP, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	fk_map_add("scratchcrypt-temp", "", "crypt", true);
	fk_mount("/dev/mapper/scratchcrypt-temp", "/mnt/resource");
	cfg.role = NODE_SERVERLESS;
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	j = status_to_json(&st);

	assert_true(json_object_object_get_ex(j, "schema", &f));
	assert_int_equal(json_object_get_int(f), 1);
	assert_true(json_object_object_get_ex(j, "node", &f));
	assert_string_equal(json_object_get_string(json_object_object_get(f, "role")), "serverless");
	assert_string_equal(json_object_get_string(json_object_object_get(f, "key_source")), "system");
	assert_true(json_object_object_get_ex(j, "disks", &disks));
	assert_int_equal(json_object_array_length(disks), 3);
	for (size_t i = 0; i < 3; i++) {
		static const char *const keys[] = { "role", "devices", "refused", "state", "key_source", "cipher",
						    "key_bits", "sector_size", "mapping", "mount_point",
						    "cmk_supported", "note" };
		d = json_object_array_get_idx(disks, i);
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!json_object_object_get_ex(d, keys[k], &f))
				fail_msg("disk %zu lacks '%s'", i, keys[k]);
		assert_true(json_object_object_get_ex(d, "cmk_supported", &f));
		assert_true(json_object_is_type(f, json_type_boolean));
		assert_false(json_object_get_boolean(f));
	}
	d = json_object_array_get_idx(disks, 1);
	assert_string_equal(json_object_get_string(json_object_object_get(d, "role")), "temp");
	assert_string_equal(json_object_get_string(json_object_object_get(d, "state")), "encrypted");
	assert_string_equal(json_object_get_string(json_object_object_get(d, "key_source")), "system-managed");
	assert_string_equal(json_object_get_string(json_object_object_get(d, "cipher")), "aes-xts-plain64");
	assert_int_equal(json_object_get_int(json_object_object_get(d, "key_bits")), 512);
	assert_string_equal(json_object_get_string(json_object_object_get(d, "mapping")),
			    "/dev/mapper/scratchcrypt-temp");
	assert_string_equal(json_object_get_string(json_object_object_get(d, "mount_point")), "/mnt/resource");
	f = json_object_object_get(d, "devices");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(f, 0)), "/dev/sdb");
	d = json_object_array_get_idx(disks, 0);
	assert_non_null(strstr(json_object_get_string(json_object_object_get(d, "note")),
			       "Azure Disk Encryption is not supported"));
	/* A row that has no mapping says null, not "". */
	d = json_object_array_get_idx(disks, 2);
	assert_true(json_object_object_get_ex(d, "mapping", &f));
	assert_null(f);
	json_object_put(j);
}

static void test_table(void **state)
{
	struct status st;
	char buf[8192] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	(void)state;
	fk_verdict("/dev/sdb", ROLE_TEMP, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	fk_map_add("scratchcrypt-temp", "", "crypt", true);
	fk_mount("/dev/mapper/scratchcrypt-temp", "/mnt/resource");
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	status_print_table(&st, f);
	fclose(f);
	assert_non_null(strstr(buf, "temp     encrypted      system-managed    /dev/sdb"));
	assert_non_null(strstr(buf, "/mnt/resource"));
	assert_non_null(strstr(buf, "not supported for OS and temp disks"));
	assert_non_null(strstr(buf, "aes-xts-plain64, 512-bit key, 4096-byte sectors"));
}

/* A disk label or a service reply with escape sequences never reaches the
 * terminal as one. */
static void test_control_characters_escaped(void **state)
{
	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	print_line(f, "label '%s'", "\x1b]0;owned\x07\x1b[2Jx\ty\r");
	fclose(f);
	assert_string_equal(buf, "label '\\x1b]0;owned\\x07\\x1b[2Jx\\x09y\\x0d'\n");
	/* Cut short, never in the middle of an escape. */
	char small[6];
	assert_int_equal(str_escape(small, sizeof(small), "ab\x1b" "cdef"), 2);
	assert_string_equal(small, "ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_encrypted_with_a_refused_member, fk_setup_os_node, fk_teardown),
		cmocka_unit_test_setup_teardown(test_states_without_mappings, fk_setup_os_node, fk_teardown),
		cmocka_unit_test_setup_teardown(test_not_encrypted, fk_setup_os_node, fk_teardown),
		cmocka_unit_test_setup_teardown(test_json_schema, fk_setup_os_node, fk_teardown),
		cmocka_unit_test_setup_teardown(test_table, fk_setup_os_node, fk_teardown),
		cmocka_unit_test(test_control_characters_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
