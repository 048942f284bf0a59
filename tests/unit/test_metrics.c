// SPDX-License-Identifier: MIT
/* agent/report/metrics.c: the Prometheus textfile, from what the command
 * already detected, written where only root can write and never through
 * a planted link (the fake kernel, fakekernel.h). */
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

#include "agent/report/metrics.h"
#include "tests/unit/fakekernel.h"

static void test_metrics(void **state)
{
	char path[128], buf[8192];
	FILE *f;
	size_t n;

	(void)state;
	fk_verdict("/dev/sdb", ROLE_TEMP, ACTION_ENCRYPT, CONTENT_OURS, "set up");
	fk_map_add("scratchcrypt-temp", "", "crypt", true);
	fk_mount("/dev/mapper/scratchcrypt-temp", "/mnt/resource");
	snprintf(path, sizeof(path), "%s/scratchcrypt.prom", rundir);
	free(cfg.metrics_textfile);
	cfg.metrics_textfile = strdup(path);
	/* From what the command detected: no second detection. */
	struct detection det;
	struct detect_opts o = { .candidates_only = true };

	assert_int_equal(detect_run(&cfg, &o, &det), 0);
	fk.scans = 0;
	assert_int_equal(metrics_write(&cfg, "start", 0, &det), 0);
	assert_int_equal(fk.scans, 0);
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
		cmocka_unit_test_setup_teardown(test_metrics, fk_setup_os_node, fk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
