// SPDX-License-Identifier: MIT
#include "agent/report/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "agent/report/status.h"

static void help(FILE *f, const char *name, const char *type, const char *text)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static int write_metrics(FILE *f, const struct status *st, const char *command, int exit_code)
{
	help(f, "scratchcrypt_disk_state", "gauge",
	     "1 for the state each role is in (os, temp, scratch), 0 for the others.");
	for (size_t i = 0; i < st->n_rows; i++)
		for (int s = 0; s < _DISK_STATE_MAX; s++)
			fprintf(f, "scratchcrypt_disk_state{role=\"%s\",state=\"%s\"} %d\n",
				disk_role_to_string(st->rows[i].role), disk_state_to_string(s),
				st->rows[i].state == (enum disk_state)s);
	help(f, "scratchcrypt_disk_encrypted", "gauge",
	     "1 when the role's disks are encrypted, with the key source as a label.");
	for (size_t i = 0; i < st->n_rows; i++)
		fprintf(f, "scratchcrypt_disk_encrypted{role=\"%s\",key_source=\"%s\"} %d\n",
			disk_role_to_string(st->rows[i].role),
			st->rows[i].key_source ? st->rows[i].key_source : "",
			st->rows[i].state == STATE_ENCRYPTED);
	help(f, "scratchcrypt_disk_devices", "gauge", "How many block devices each role has.");
	for (size_t i = 0; i < st->n_rows; i++)
		fprintf(f, "scratchcrypt_disk_devices{role=\"%s\"} %zu\n",
			disk_role_to_string(st->rows[i].role), st->rows[i].n_devices);
	help(f, "scratchcrypt_cmk_supported", "gauge",
	     "Customer-managed keys are not supported for OS and temp disks: always 0.");
	for (size_t i = 0; i < st->n_rows; i++)
		fprintf(f, "scratchcrypt_cmk_supported{role=\"%s\"} 0\n",
			disk_role_to_string(st->rows[i].role));
	help(f, "scratchcrypt_node_info", "gauge", "The node's role and configured key source.");
	fprintf(f, "scratchcrypt_node_info{role=\"%s\",key_source=\"%s\"} 1\n",
		node_role_to_string(st->node_role), key_source_to_string(st->key_source));
	help(f, "scratchcrypt_last_run_exit_code", "gauge", "Exit code of the last run of a command.");
	fprintf(f, "scratchcrypt_last_run_exit_code{command=\"%s\"} %d\n", command, exit_code);
	help(f, "scratchcrypt_last_run_timestamp_seconds", "gauge", "When that run ended.");
	fprintf(f, "scratchcrypt_last_run_timestamp_seconds{command=\"%s\"} %lld\n", command,
		(long long)time(NULL));
	return ferror(f) ? -EIO : 0;
}

int metrics_write(const struct cfg *c, const char *command, int exit_code)
{
	char dir[4096], tmp[4200];
	struct status st;
	struct stat sb;
	FILE *f;
	int r;

	if (!c->metrics_textfile || !*c->metrics_textfile)
		return 0;
	snprintf(dir, sizeof(dir), "%s", c->metrics_textfile);
	*strrchr(dir, '/') = '\0';
	if (stat(dir[0] ? dir : "/", &sb) < 0 || !S_ISDIR(sb.st_mode))
		return 0; /* no node_exporter here */
	r = status_collect(c, &sys_paths_default, &st);
	if (r < 0)
		return log_warn_errno(r, "cannot collect the status for %s: %m", c->metrics_textfile);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", c->metrics_textfile, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return log_warn_errno(-errno, "cannot write %s: %m", tmp);
	(void)fchmod(fileno(f), 0644);
	r = write_metrics(f, &st, command, exit_code);
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, c->metrics_textfile) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return log_warn_errno(r, "cannot write %s: %m", c->metrics_textfile);
	}
	return 0;
}
