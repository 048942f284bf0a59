// SPDX-License-Identifier: MIT
/* Status rows from observed state, and the schema-1 JSON. */
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

/* The observed world. */
static struct verdict world[8];
static size_t n_world;
static const char *mapped[4];     /* mappings that exist */
static const char *mounted_top;   /* /dev/mapper/X mounted at mounted_at */
static const char *mounted_at;

static unsigned scans; /* how many detections ran */

int __wrap_detect_scan(const struct cfg *c, const struct detect_opts *o, struct detection *out)
{
	(void)c;
	(void)o;
	scans++;
	memset(out, 0, sizeof(*out));
	out->v = calloc(n_world + 1, sizeof(*out->v));
	memcpy(out->v, world, n_world * sizeof(*world));
	out->n = n_world;
	return 0;
}

static bool is_mapped(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (mapped[i] && strcmp(mapped[i], name) == 0)
			return true;
	return false;
}

int __wrap_dm_query(const char *name, struct dm_state *st, struct strv *devices)
{
	(void)devices;
	memset(st, 0, sizeof(*st));
	st->exists = st->live_table = is_mapped(name);
	return 0;
}

int __wrap_dm_luks_token_get(const char *dev, const char *type, char **json)
{
	(void)dev;
	(void)type;
	(void)json;
	return -ENODEV;
}

int __wrap_dm_crypt_info(const char *name, struct dm_crypt_info *info)
{
	if (!is_mapped(name))
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	snprintf(info->cipher, sizeof(info->cipher), "aes-xts-plain64");
	info->key_bits = 512;
	info->sector_size = 4096;
	return 0;
}

int __wrap_fs_mounts_of(const char *dev, char (*targets)[256], size_t max)
{
	if (mounted_top && strcmp(dev, mounted_top) == 0 && max) {
		snprintf(targets[0], 256, "%s", mounted_at);
		return 1;
	}
	return 0;
}

static void add(const char *dev, enum disk_role role, enum disk_action action,
		enum content content, const char *reason)
{
	struct verdict *v = &world[n_world++];

	memset(v, 0, sizeof(*v));
	snprintf(v->disk.devnode, sizeof(v->disk.devnode), "%s", dev);
	v->role = role;
	v->action = action;
	v->content = content;
	snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

static char rundir[64];
static struct cfg cfg;

static int setup(void **state)
{
	(void)state;
	snprintf(rundir, sizeof(rundir), "/tmp/sc-test-status-XXXXXX");
	assert_non_null(mkdtemp(rundir));
	setenv("SCRATCHCRYPT_RUNTIME_DIR", rundir, 1);
	n_world = 0;
	memset(mapped, 0, sizeof(mapped));
	mounted_top = mounted_at = NULL;
	cfg_init(&cfg);
	add("/dev/sda", ROLE_OS, ACTION_SKIP, CONTENT_FOREIGN, "holds /");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	cfg_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
	return system(cmd);
}

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
	add("/dev/sdb", ROLE_TEMP, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	add("/dev/nvme0n1", ROLE_SCRATCH, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	add("/dev/nvme1n1", ROLE_SCRATCH, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	add("/dev/nvme2n1", ROLE_SCRATCH, ACTION_REFUSE, CONTENT_FOREIGN, "holds ext4");
	mapped[0] = "scratchcrypt-temp";
	mapped[1] = "scratchcrypt-scratch";
	mapped[2] = "scratchcrypt-scratch-0";
	mounted_top = "/dev/mapper/scratchcrypt-scratch";
	mounted_at = "/mnt/scratch";
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
	add("/dev/nvme0n1", ROLE_TEMP, ACTION_REFUSE, CONTENT_FOREIGN, "holds xfs");
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	assert_int_equal(row(&st, ROLE_TEMP)->state, STATE_REFUSED);
	assert_int_equal(row(&st, ROLE_SCRATCH)->state, STATE_ABSENT);

	/* What stop recorded wins over what the blank disks look like. */
	assert_int_equal(runstate_set(ROLE_TEMP, STATE_SHREDDED, ""), 0);
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	assert_int_equal(row(&st, ROLE_TEMP)->state, STATE_SHREDDED);

	assert_int_equal(runstate_set(ROLE_SCRATCH, STATE_ERROR, "start failed: Input/output error"), 0);
	add("/dev/nvme1n1", ROLE_SCRATCH, ACTION_ENCRYPT, CONTENT_BLANK, "blank");
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	assert_int_equal(row(&st, ROLE_SCRATCH)->state, STATE_ERROR);
	assert_non_null(strstr(row(&st, ROLE_SCRATCH)->note, "Input/output error"));
}

static void test_not_encrypted(void **state)
{
	struct status st;

	(void)state;
	add("/dev/nvme1n1", ROLE_TEMP, ACTION_ENCRYPT, CONTENT_BLANK, "blank");
	assert_int_equal(status_collect(&cfg, &sys_paths_default, &st), 0);
	assert_int_equal(row(&st, ROLE_TEMP)->state, STATE_NOT_ENCRYPTED);
	assert_non_null(strstr(row(&st, ROLE_TEMP)->note, "scratchcrypt start"));
}

static void test_json_schema(void **state)
{
	struct status st;
	struct json_object *j, *disks, *d, *f;

	(void)state;
	add("/dev/sdb", ROLE_TEMP, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	mapped[0] = "scratchcrypt-temp";
	mounted_top = "/dev/mapper/scratchcrypt-temp";
	mounted_at = "/mnt/resource";
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
	add("/dev/sdb", ROLE_TEMP, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	mapped[0] = "scratchcrypt-temp";
	mounted_top = "/dev/mapper/scratchcrypt-temp";
	mounted_at = "/mnt/resource";
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

static void test_metrics(void **state)
{
	char path[128], buf[8192];
	FILE *f;
	size_t n;

	(void)state;
	add("/dev/sdb", ROLE_TEMP, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	mapped[0] = "scratchcrypt-temp";
	mounted_top = "/dev/mapper/scratchcrypt-temp";
	mounted_at = "/mnt/resource";
	snprintf(path, sizeof(path), "%s/scratchcrypt.prom", rundir);
	free(cfg.metrics_textfile);
	cfg.metrics_textfile = strdup(path);
	/* From what the command detected: no second detection. */
	struct detection det;
	struct detect_opts o = { .candidates_only = true };

	assert_int_equal(detect_run(&cfg, &o, &det), 0);
	scans = 0;
	assert_int_equal(metrics_write(&cfg, "start", 0, &det), 0);
	assert_int_equal(scans, 0);
	detection_free(&det);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, "scratchcrypt_disk_state{role=\"temp\",state=\"encrypted\"} 1\n"));
	assert_non_null(strstr(buf, "scratchcrypt_disk_state{role=\"temp\",state=\"refused\"} 0\n"));
	assert_non_null(strstr(buf, "scratchcrypt_disk_encrypted{role=\"temp\",key_source=\"system-managed\"} 1\n"));
	assert_non_null(strstr(buf, "scratchcrypt_disk_state{role=\"scratch\",state=\"absent\"} 1\n"));
	assert_non_null(strstr(buf, "scratchcrypt_cmk_supported{role=\"os\"} 0\n"));
	assert_non_null(strstr(buf, "scratchcrypt_last_run_exit_code{command=\"start\"} 0\n"));
	assert_non_null(strstr(buf, "# TYPE scratchcrypt_disk_state gauge"));
	/* Regression: a symlink planted where the file goes is replaced, never
	 * followed, and a directory others can write gets nothing. */
	char victim[160], cmd[400];
	struct stat sb;

	snprintf(victim, sizeof(victim), "%s/victim", rundir);
	f = fopen(victim, "w");
	fputs("keep me", f);
	fclose(f);
	assert_int_equal(chmod(victim, 0600), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(metrics_write(&cfg, "start", 0, NULL), 0);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(stat(victim, &sb), 0);
	assert_int_equal(sb.st_size, 7);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(chmod(rundir, 01777), 0);
	assert_int_equal(metrics_write(&cfg, "stop", 0, NULL), -EPERM);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_null(strstr(buf, "command=\"stop\""));
	assert_int_equal(chmod(rundir, 0755), 0);
	snprintf(cmd, sizeof(cmd), "%s/link-dir", rundir);
	assert_int_equal(symlink(rundir, cmd), 0);
	free(cfg.metrics_textfile);
	snprintf(buf, sizeof(buf), "%s/scratchcrypt.prom", cmd);
	cfg.metrics_textfile = strdup(buf);
	assert_int_equal(metrics_write(&cfg, "stop", 0, NULL), -EPERM);

	/* No directory, no file, no error: node_exporter is not on every node. */
	free(cfg.metrics_textfile);
	cfg.metrics_textfile = strdup("/nonexistent/dir/scratchcrypt.prom");
	assert_int_equal(metrics_write(&cfg, "start", 0, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_encrypted_with_a_refused_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_states_without_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_encrypted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test(test_control_characters_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
