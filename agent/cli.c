// SPDX-License-Identifier: MIT
/* The command line: the verbs and the options as tables that drive
 * parsing, dispatch and help (the man page's list is checked against
 * them), and the one mapping from errors to exit codes. */
#include "agent/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>

#include "agent/commands.h"
#include "agent/config.h"
#include "agent/exitcode.h"
#include "agent/tags.h"
#include "base/log.h"
#include "base/workers.h"

struct verb {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(struct cfg *c, const struct args *a);
	bool config;  /* reads the configuration */
	bool policy;  /* refused when the key-source policy is not met */
	bool network; /* may talk to IMDS or Key Vault */
};

/* stop always runs: deprovisioning is never blocked by policy. */
static const struct verb verb_table[] = {
	{ "detect", "", "list every block device with its role, action and reason", cmd_detect,
	  true, true, false },
	{ "start", "[--force]", "encrypt, format and mount the temp and scratch disks", cmd_start,
	  true, true, true },
	{ "stop", "[--keep]", "unmount, close and crypto-shred them (--keep: close only)", cmd_stop,
	  true, false, true },
	{ "status", "", "what is encrypted, and with which key source", cmd_status, true, true,
	  false },
	{ "rewrap", "[--key URL]", "HBI: wrap the volume keys with another key or key version",
	  cmd_rewrap, true, true, true },
	{ "adopt", "", "after an upgrade: seal the older-format HBI headers of open volumes",
	  cmd_adopt, true, false, false },
	{ "watch-events", "[--once [--reply]] [--handoff SOCKET]",
	  "shred on a Terminate or Preempt scheduled event",
	  cmd_watch_events, true, true, true },
	{ "boot-phase", "[--is PHASE]", "which boot unit sets the disks up: early or online",
	  cmd_boot_phase, false, false, false },
	{ "nvme-id", "--device PATH", "udev: the platform's type and index of a local NVMe disk",
	  cmd_nvme_id, false, false, false },
	{ "version", "", "print the version", cmd_version, false, false, false },
#ifdef SCRATCHCRYPT_CRASHPOINTS
	{ "crash-points", "", "test build: the named steps a test can stop at", cmd_crash_points,
	  false, false, false },
#endif
	{ NULL, NULL, NULL, NULL, false, false, false },
};

/* The options: a flag or a string of struct args, and the one verb each
 * goes with (NULL: any). */
struct option_def {
	const char *name;
	char short_name;
	const char *arg; /* NULL: a flag */
	size_t offset;
	const char *verb;
	const char *help;
};

#define FLAG(n, s, field, verb, help) { n, s, NULL, offsetof(struct args, field), verb, help }
#define STRING(n, s, arg, field, verb, help) { n, s, arg, offsetof(struct args, field), verb, help }

static const struct option_def option_table[] = {
	STRING("config", 'c', "FILE", config, NULL, "configuration file (default " CFG_DEFAULT_PATH ")"),
	FLAG("json", 0, json, NULL, "machine-readable output (detect, status)"),
	FLAG("force", 0, force, "start", "start: also format candidates holding foreign data"),
	FLAG("keep", 0, keep, "stop", "stop: close without shredding (reboot path)"),
	STRING("key", 0, "URL", key_url, "rewrap", "rewrap: https://VAULT.vault.azure.net/keys/NAME[/VERSION]"),
	FLAG("once", 0, once, "watch-events", "watch-events: poll once"),
	FLAG("reply", 0, reply, "watch-events", "watch-events --once: end with a result line (the shred unit)"),
	STRING("handoff", 0, "SOCKET", handoff, "watch-events",
	       "watch-events: shred through this socket (" "/run/scratchcrypt-shred.sock" ")"),
	STRING("is", 0, "PHASE", phase, "boot-phase", "boot-phase: exit 0 if the configuration's phase is PHASE, else 1"),
	STRING("device", 0, "PATH", device, "nvme-id", "nvme-id: the NVMe namespace to ask"),
	{ NULL, 0, NULL, 0, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: scratchcrypt [-c FILE] [--json] COMMAND\n\n"
		   "Encrypts a node's local temp and scratch disks with dm-crypt.\n\nCommands:\n");
	for (const struct verb *v = verb_table; v->name; v++) {
		char head[64];

		snprintf(head, sizeof(head), "%s%s%s", v->name, v->args[0] ? " " : "", v->args);
		fprintf(f, "  %-24s %s\n", head, v->help);
	}
	fprintf(f, "\nOptions:\n");
	for (const struct option_def *o = option_table; o->name; o++) {
		char head[64], s[8] = "    ";

		if (o->short_name)
			snprintf(s, sizeof(s), "-%c, ", o->short_name);
		snprintf(head, sizeof(head), "%s--%s%s%s", s, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-20s %s\n", head, o->help);
	}
	fprintf(f, "  -v, --verbose        more messages\n"
		   "  -q, --quiet          errors only\n"
		   "  -h, --help           this text\n\n"
		   "Exit codes: 0 done, 64 usage, 65 a disk was refused, 69 service unavailable,\n"
		   "70 internal error, 73 cannot create or mount, 75 try again, 76 a service's reply\n"
		   "is not valid, 78 bad configuration. See scratchcrypt(8).\n");
}

/* How long status and detect wait for instance-metadata tags. */
#define TAGS_QUICK_S 2

/* An option given with a verb it does not go with is a usage error. */
static int check_command_options(const struct args *a, const bool *given)
{
	for (size_t i = 0; option_table[i].name; i++)
		if (given[i] && option_table[i].verb && strcmp(a->command, option_table[i].verb) != 0) {
			fprintf(stderr, "scratchcrypt: --%s goes with %s, not %s\n", option_table[i].name,
				option_table[i].verb, a->command);
			return -EX_USAGE;
		}
	return 0;
}

#define N_OPTIONS (sizeof(option_table) / sizeof(option_table[0]) - 1)
enum { OPT_VERSION = 256, OPT_TABLE = 512 };

static void build_options(struct option *opts, char *shorts)
{
	static const struct option fixed[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
	};
	size_t n = 0;

	strcpy(shorts, "vqh");
	for (size_t i = 0; i < N_OPTIONS; i++, n++) {
		const struct option_def *o = &option_table[i];

		opts[n] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL,
					   o->short_name ? o->short_name : OPT_TABLE + (int)i };
		if (o->short_name)
			sprintf(shorts + strlen(shorts), "%c%s", o->short_name, o->arg ? ":" : "");
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		opts[n++] = fixed[i];
	opts[n] = (struct option){ 0 };
}

/* Which table entry a getopt_long result is, or -1. */
static int table_index(int c)
{
	if (c >= OPT_TABLE && c < OPT_TABLE + (int)N_OPTIONS)
		return c - OPT_TABLE;
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (option_table[i].short_name && option_table[i].short_name == c)
			return (int)i;
	return -1;
}

/* 0: run a->command; 1: done (help); -EX_USAGE. */
static int parse_args(int argc, char **argv, struct args *a)
{
	struct option opts[N_OPTIONS + 5];
	bool given[N_OPTIONS] = { false };
	char shorts[32];
	int c, i;

	memset(a, 0, sizeof(*a));
	a->config = CFG_DEFAULT_PATH;
	build_options(opts, shorts);
	while ((c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		if ((i = table_index(c)) >= 0) {
			char *field = (char *)a + option_table[i].offset;

			given[i] = true;
			if (option_table[i].arg)
				*(const char **)field = optarg;
			else
				*(bool *)field = true;
		} else if (c == 'v' || c == 'q') {
			log_set_level(c == 'v' ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
		} else if (c == 'h') {
			usage(stdout);
			return 1;
		} else if (c == OPT_VERSION) {
			a->command = "version";
			return 0;
		} else {
			usage(stderr);
			return -EX_USAGE;
		}
	}
	a->config_given = given[0];
	if (optind != argc - 1) {
		fprintf(stderr, "scratchcrypt: %s\n\n",
			optind == argc ? "a command is needed" : "only one command at a time");
		usage(stderr);
		return -EX_USAGE;
	}
	a->command = argv[optind];
	return check_command_options(a, given);
}

static const struct verb *find_verb(const char *name)
{
	for (const struct verb *v = verb_table; v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

static int load_config(struct cfg *c, const struct args *a, const struct verb *v)
{
	struct reason why = { "" };
	int r = cfg_load(c, a->config, &why);

	if (r < 0 && !(r == -ENOENT && !a->config_given)) {
		log_error("%s", why.text);
		return EX_CONFIG;
	}
	/* What the configuration alone decides is refused before any call. */
	if (v->policy && cfg_check_policy(c, &why) < 0) {
		log_error("%s: %s", a->config, why.text);
		return EX_CONFIG;
	}
	if (c->imds_tags && v->policy) {
		/* Commands that only report never wait out the retries. */
		r = tags_apply(c, v->network ? c->hbi.retry_cap_s : TAGS_QUICK_S);
		/* A bad tag value is a bad configuration, for every command. */
		if (r < 0 && (v->network || r == -EPERM))
			return exit_code_of(r);
		if (r < 0)
			log_warn("showing the configuration's role and key source instead of the tags'");
		else if (cfg_check_policy(c, &why) < 0) {
			log_error("%s: %s (from the instance-metadata tags)", a->config, why.text);
			return EX_CONFIG;
		}
	}
	return EX_OK;
}

/* make bench reads this: scratchcrypt's own peak, without mkfs's, with
 * what its disk workers held at most on top of it. */
static void log_peak_memory(const char *verb)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		log_debug("%s: peak resident memory %ld KiB (this process %ld KiB, its disk workers "
			  "at most %ld KiB more)", verb, ru.ru_maxrss + workers_peak_kib(), ru.ru_maxrss,
			  workers_peak_kib());
}

int cli_main(int argc, char **argv)
{
	const struct verb *v;
	struct args a;
	struct cfg c;
	int r;

	r = parse_args(argc, argv, &a);
	if (r)
		return r > 0 ? EX_OK : -r;
	v = find_verb(a.command);
	if (!v) {
		fprintf(stderr, "scratchcrypt: unknown command '%s'\n\n", a.command);
		usage(stderr);
		return EX_USAGE;
	}
	cfg_init(&c);
	r = v->config ? load_config(&c, &a, v) : EX_OK;
	if (r == EX_OK)
		r = v->run(&c, &a);
	cfg_free(&c);
	log_peak_memory(v->name);
	return r;
}
