// SPDX-License-Identifier: MIT
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "agent/config.h"
#include "agent/tags.h"
#include "agent/detect/detect.h"
#include "agent/detect/nvmeid.h"
#include "agent/events.h"
#include "agent/setup/lifecycle.h"
#include "agent/report/metrics.h"
#include "base/log.h"
#include "agent/setup/runstate.h"
#include "base/safemem.h"
#include "agent/report/status.h"
#include "dm/dm.h"
#include "keyfetch/keyfetch.h"

#define LOCK_TIMEOUT_S 300

struct args {
	const char *argv0;
	const char *config;
	bool config_given;
	bool json;
	bool force;
	bool keep;
	bool once;
	const char *key_url;
	const char *phase;  /* boot-phase --is */
	const char *device; /* nvme-id --device */
	const char *command;
};

struct verb {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(struct cfg *c, const struct args *a);
	bool config;  /* reads the configuration */
	bool policy;  /* refused when the key-source policy is not met */
	bool network; /* may talk to IMDS or Key Vault */
};

static const struct verb *verbs(void);

static void usage(FILE *f)
{
	fprintf(f, "Usage: scratchcrypt [-c FILE] [--json] COMMAND\n"
		   "\n"
		   "Encrypts a node's local temp and scratch disks with dm-crypt.\n"
		   "\n"
		   "Commands:\n");
	for (const struct verb *v = verbs(); v->name; v++) {
		char head[64];

		snprintf(head, sizeof(head), "%s%s%s", v->name, v->args[0] ? " " : "", v->args);
		fprintf(f, "  %-22s %s\n", head, v->help);
	}
	fprintf(f, "\n"
		   "Options:\n"
		   "  -c, --config FILE  configuration file (default " CFG_DEFAULT_PATH ")\n"
		   "      --json         machine-readable output (detect, status)\n"
		   "      --force        start: also format candidates holding foreign data\n"
		   "      --keep         stop: close without shredding (reboot path)\n"
		   "      --key URL      rewrap: https://VAULT.vault.azure.net/keys/NAME[/VERSION]\n"
		   "      --once         watch-events: poll once\n"
		   "      --is PHASE     boot-phase: exit 0 if the configuration's phase is PHASE, else 1\n"
		   "      --device PATH  nvme-id: the NVMe namespace to ask\n"
		   "  -v, --verbose      more messages\n"
		   "  -q, --quiet        errors only\n"
		   "  -h, --help         this text\n"
		   "\n"
		   "Exit codes: 0 done, 64 usage, 65 a disk was refused, 69 service unavailable,\n"
		   "70 internal error, 73 cannot create or mount, 75 try again, 78 bad configuration.\n"
		   "See scratchcrypt(8).\n");
}

/* How long status and detect wait for instance-metadata tags. */
#define TAGS_QUICK_S 2

/* The one place where errors become exit codes. */
static int exit_code(int r)
{
	switch (-r) {
	case 0:
		return EX_OK;
	case EMEDIUMTYPE:
		return EX_DATAERR;
	case EPERM:
	case EXDEV:
	case EACCES:
	case ENOKEY:
	case EKEYREJECTED:
	case EKEYREVOKED:
		return EX_CONFIG;
	case EBADMSG:
		return EX_PROTOCOL;
	case EHOSTDOWN:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ECONNREFUSED:
	case ETIMEDOUT:
	case ENOTCONN:
		return EX_UNAVAILABLE;
	case EAGAIN:
	case EBUSY:
	case EINTR:
		return EX_TEMPFAIL;
	case ENOMEM:
	case EINVAL:
	case EFAULT:
	case ENOTRECOVERABLE:
		return EX_SOFTWARE;
	default:
		return EX_CANTCREAT;
	}
}

/* Options that belong to one command. */
static int check_command_options(const struct args *a)
{
	const struct {
		bool given;
		const char *option, *command;
	} only[] = {
		{ a->force, "--force", "start" },
		{ a->keep, "--keep", "stop" },
		{ a->key_url != NULL, "--key", "rewrap" },
		{ a->once, "--once", "watch-events" },
		{ a->phase != NULL, "--is", "boot-phase" },
		{ a->device != NULL, "--device", "nvme-id" },
	};
	for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++)
		if (only[i].given && strcmp(a->command, only[i].command) != 0) {
			fprintf(stderr, "scratchcrypt: %s goes with %s, not %s\n", only[i].option,
				only[i].command, a->command);
			return -EX_USAGE;
		}
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	enum { OPT_JSON = 256, OPT_FORCE, OPT_KEEP, OPT_VERSION, OPT_KEY, OPT_ONCE, OPT_IS, OPT_DEVICE };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "is", required_argument, NULL, OPT_IS },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->config = CFG_DEFAULT_PATH;
	while ((c = getopt_long(argc, argv, "c:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			a->config_given = true;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		case OPT_KEEP:
			a->keep = true;
			break;
		case OPT_KEY:
			a->key_url = optarg;
			break;
		case OPT_ONCE:
			a->once = true;
			break;
		case OPT_IS:
			a->phase = optarg;
			break;
		case OPT_DEVICE:
			a->device = optarg;
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'q':
			log_set_level(LOG_LVL_ERROR);
			break;
		case 'h':
			usage(stdout);
			return 1;
		case OPT_VERSION:
			a->command = "version";
			return 0;
		default:
			usage(stderr);
			return -EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "scratchcrypt: %s\n\n",
			optind == argc ? "a command is needed" : "only one command at a time");
		usage(stderr);
		return -EX_USAGE;
	}
	a->command = argv[optind];

	return check_command_options(a);
}

static int print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return EX_OK;
}

static int cmd_detect(struct cfg *c, const struct args *a)
{
	struct detect_opts o = { .paths = &sys_paths_default, .force = a->force };
	struct detection det;
	int r = detect_run(c, &o, &det);

	if (r < 0) {
		log_error_errno(r, "cannot detect disks: %m");
		return exit_code(r);
	}
	lc_inspect(c, &det);
	if (a->json)
		print_json(detection_to_json(&det));
	else
		detection_print_table(&det, stdout);
	detection_free(&det);
	return EX_OK;
}

static int cmd_status(struct cfg *c, const struct args *a)
{
	struct status st;
	int r;

	/* Without device-mapper nothing can be seen as mapped: say so, never
	 * "absent" with 0. */
	if (dm_available() < 0) {
		static const char why[] = "device-mapper cannot be queried (is dm-mod loaded, is there "
					  "a /dev/mapper/control?): cannot tell what is encrypted";

		/* What the configuration says is still known; no disk rows. */
		memset(&st, 0, sizeof(st));
		st.node_role = c->role;
		st.key_source = c->key_source;
		if (a->json) {
			struct json_object *o = status_to_json(&st);

			json_object_object_add(o, "error", json_object_new_string(why));
			print_json(o);
		}
		log_error("%s", why);
		return EX_UNAVAILABLE;
	}
	r = status_collect(c, &sys_paths_default, &st);
	if (r < 0) {
		log_error_errno(r, "cannot collect the status: %m");
		return exit_code(r);
	}
	if (a->json)
		return print_json(status_to_json(&st));
	status_print_table(&st, stdout);
	return EX_OK;
}

enum lc_command { LC_START, LC_STOP, LC_REWRAP };

static int cmd_lifecycle(const struct cfg *c, const struct args *a, enum lc_command cmd)
{
	struct lc_opts o = { .paths = &sys_paths_default, .force = a->force, .keep = a->keep };
	struct lc_result res;
	int r;

	safe_harden_process();
	r = runstate_lock(LOCK_TIMEOUT_S);
	if (r < 0) {
		log_error_errno(r, "cannot take the lock in %s: %s", runstate_dir(),
				r == -EAGAIN ? "another scratchcrypt is still running" : "%m");
		return exit_code(r);
	}
	r = cmd == LC_START ? lc_start(c, &o, &res)
	    : cmd == LC_STOP ? lc_stop(c, &o, &res)
			     : lc_rewrap(c, &o, a->key_url, &res);
	runstate_unlock();
	if (r < 0)
		r = exit_code(r);
	else if (cmd == LC_START && res.refused) {
		log_error("%u disk%s refused; see 'scratchcrypt status'", res.refused,
			  res.refused == 1 ? " was" : "s were");
		r = EX_DATAERR;
	}
	(void)metrics_write(c, cmd == LC_START ? "start" : cmd == LC_STOP ? "stop" : "rewrap", r);
	return r;
}

static int cmd_watch_events(struct cfg *c, const struct args *a)
{
	struct lc_opts o = { .paths = &sys_paths_default };

	safe_harden_process();
	return exit_code(events_watch(c, &o, a->once));
}

static int cmd_start(struct cfg *c, const struct args *a)
{
	return cmd_lifecycle(c, a, LC_START);
}

static int cmd_stop(struct cfg *c, const struct args *a)
{
	return cmd_lifecycle(c, a, LC_STOP);
}

static int cmd_rewrap(struct cfg *c, const struct args *a)
{
	return cmd_lifecycle(c, a, LC_REWRAP);
}

static int cmd_version(struct cfg *c, const struct args *a)
{
	(void)c;
	(void)a;
	printf("scratchcrypt %s\n", SCRATCHCRYPT_VERSION);
	return EX_OK;
}

/* Which boot unit sets the disks up: scratchcrypt.service before
 * local-fs.target ("early") for system keys, scratchcrypt-online.service
 * after network-online.target ("online") when the key or the tags come from
 * the network. The units ask with --is in ExecCondition=, where 1 skips the
 * unit. A configuration that does not load counts as early, so that the
 * early unit runs start and fails visibly with 78. */
static int cmd_boot_phase(struct cfg *c, const struct args *a)
{
	const char *phase = "early";

	if (cfg_load(c, a->config) == 0 && (c->key_source == KEY_SOURCE_HBI || c->imds_tags))
		phase = "online";
	if (!a->phase) {
		puts(phase);
		return EX_OK;
	}
	if (strcmp(a->phase, "early") != 0 && strcmp(a->phase, "online") != 0) {
		fprintf(stderr, "scratchcrypt: --is takes early or online, not '%s'\n", a->phase);
		return EX_USAGE;
	}
	return strcmp(a->phase, phase) == 0 ? EX_OK : 1;
}

/* For udev's IMPORT{program}: what the NVMe controller says of a namespace
 * (Azure's NVMe Direct Disk v2), as KEY=value lines; nothing when it says
 * nothing. The rule names local disks by the platform's index with it. */
static int cmd_nvme_id(struct cfg *c, const struct args *a)
{
	struct sys_disk d = { 0 };
	const char *base;

	(void)c;
	if (!a->device) {
		fprintf(stderr, "scratchcrypt: nvme-id needs --device /dev/nvmeXnY\n");
		return EX_USAGE;
	}
	base = strrchr(a->device, '/');
	base = base ? base + 1 : a->device;
	if (strncmp(base, "nvme", 4) != 0 || strlen(base) >= sizeof(d.name)) {
		fprintf(stderr, "scratchcrypt: nvme-id: %s is not an NVMe namespace\n", a->device);
		return EX_USAGE;
	}
	snprintf(d.name, sizeof(d.name), "%s", base);
	snprintf(d.devnode, sizeof(d.devnode), "/dev/%s", base);
	nvme_identify(&sys_paths_default, &d);
	if (d.platform.type[0])
		printf("SCRATCHCRYPT_PLATFORM_TYPE=%s\n", d.platform.type);
	if (d.platform.index >= 0)
		printf("SCRATCHCRYPT_PLATFORM_INDEX=%d\n", d.platform.index);
	return EX_OK;
}

#ifdef SCRATCHCRYPT_CRASHPOINTS
static int cmd_crash_points(struct cfg *c, const struct args *a)
{
	(void)c;
	(void)a;
	for (const struct lc_step *s = lc_steps; s->name; s++)
		printf("%s %s\t%s\n", s->command, s->name, s->what);
	return EX_OK;
}
#endif

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
	{ "watch-events", "[--once]", "shred on a Terminate or Preempt scheduled event",
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

static const struct verb *verbs(void)
{
	return verb_table;
}

static const struct verb *find_verb(const char *name)
{
	for (const struct verb *v = verbs(); v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

static int load_config(struct cfg *c, const struct args *a, const struct verb *v)
{
	char msg[512];
	int r = cfg_load(c, a->config);

	if (r < 0 && !(r == -ENOENT && !a->config_given)) {
		log_error("%s", c->error);
		return EX_CONFIG;
	}
	/* What the configuration alone decides is refused before any call. */
	if (v->policy && cfg_check_policy(c, msg, sizeof(msg)) < 0) {
		log_error("%s: %s", a->config, msg);
		return EX_CONFIG;
	}
	if (c->imds_tags && v->policy) {
		/* Commands that only report never wait out the retries. */
		r = tags_apply(c, v->network ? c->hbi.retry_cap_s : TAGS_QUICK_S);
		/* A bad tag value is a bad configuration, for every command. */
		if (r < 0 && (v->network || r == -EPERM))
			return exit_code(r);
		if (r < 0)
			log_warn("showing the configuration's role and key source instead of the tags'");
		else if (cfg_check_policy(c, msg, sizeof(msg)) < 0) {
			log_error("%s: %s (from the instance-metadata tags)", a->config, msg);
			return EX_CONFIG;
		}
	}
	return EX_OK;
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
	if (r == EX_OK && v->network && kf_global_init() < 0)
		r = EX_SOFTWARE;
	if (r == EX_OK)
		r = v->run(&c, &a);
	cfg_free(&c);
	return r;
}
