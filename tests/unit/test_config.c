// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/config.h"

/* What the last call under test said was wrong. */
static struct reason why;

static char path[64];

static int load(struct cfg *c, const char *text)
{
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/sc-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	cfg_init(c);
	int r = cfg_load(c, path, &why);
	unlink(path);
	return r;
}

static void test_defaults(void **state)
{
	struct cfg c;

	(void)state;
	cfg_init(&c);
	assert_int_equal(c.role, NODE_COMPUTE_INSTANCE);
	assert_int_equal(c.key_source, KEY_SOURCE_SYSTEM);
	assert_string_equal(c.temp_mount, "/mnt/resource");
	assert_string_equal(c.scratch_mount, "/mnt/scratch");
	assert_int_equal(c.fs, FS_EXT4);
	assert_int_equal(c.ext4_cluster_size, 0); /* auto */
	assert_string_equal(c.cipher, "aes-xts-plain64");
	assert_int_equal(c.key_bits, 512);
	assert_int_equal(c.sector_size, 4096);
	assert_true(c.no_read_workqueue);
	assert_true(c.no_write_workqueue);
	assert_false(c.allow_discards);
	assert_true(c.shred_discard);
	assert_int_equal(c.devices.n, 0);
	assert_true(cfg_nvme_model_matches(&c, "Microsoft NVMe Direct Disk"));
	assert_true(cfg_nvme_model_matches(&c, "Microsoft NVMe Direct Disk v2"));
	assert_false(cfg_nvme_model_matches(&c, "QEMU NVMe Ctrl"));
	assert_int_equal(c.hbi.retry_cap_s, 90);
	cfg_free(&c);
}

static void test_missing_file(void **state)
{
	struct cfg c;

	(void)state;
	cfg_init(&c);
	assert_int_equal(cfg_load(&c, "/nonexistent/scratchcrypt.conf", &why), -ENOENT);
	assert_non_null(strstr(why.text, "/nonexistent/scratchcrypt.conf"));
	cfg_free(&c);
}

static void test_every_key(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(load(&c,
			      "; the example, with every key changed\n"
			      "[node]\n"
			      "role = serverless\n"
			      "key_source = system ; inline comment\n"
			      "[disks]\n"
			      "devices = /dev/nvme0n1, /dev/nvme1n1\n"
			      "nvme_models = QEMU NVMe Ctrl, Other*\n"
			      "[temp]\n"
			      "mount_point = /mnt/tmp disk\n"
			      "[scratch]\n"
			      "mount_point = /scratch\n"
			      "[filesystem]\n"
			      "type = xfs\n"
			      "ext4_cluster_size = 4096\n"
			      "[crypt]\n"
			      "cipher = aes-xts-plain64\n"
			      "key_bits = 256\n"
			      "sector_size = 512\n"
			      "no_read_workqueue = false\n"
			      "no_write_workqueue = no\n"
			      "allow_discards = yes\n"
			      "[shred]\n"
			      "discard = off\n"
			      "[hbi]\n"
			      "vault_url = https://MyVault.vault.azure.net/\n"
			      "key_name = temp-disk\n"
			      "key_version = 78deebed173b48e48f55abf87ed4cf71\n"
			      "client_id = 11111111-2222-3333-4444-555555555555\n"
			      "msi_res_id = /subscriptions/x/identity\n"
			      "ca_bundle = /etc/ssl/certs/ca.pem\n"
			      "imds_endpoint = http://127.0.0.1:8080\n"
			      "retry_cap_s = 30\n"),
			 0);
	assert_int_equal(c.role, NODE_SERVERLESS);
	assert_int_equal(c.devices.n, 2);
	assert_string_equal(c.devices.v[1], "/dev/nvme1n1");
	assert_int_equal(c.nvme_models.n, 2);
	assert_true(cfg_nvme_model_matches(&c, "QEMU NVMe Ctrl"));
	assert_true(cfg_nvme_model_matches(&c, "Other disk"));
	assert_false(cfg_nvme_model_matches(&c, "Microsoft NVMe Direct Disk"));
	assert_string_equal(c.temp_mount, "/mnt/tmp disk");
	assert_string_equal(c.scratch_mount, "/scratch");
	assert_int_equal(c.fs, FS_XFS);
	assert_int_equal(c.ext4_cluster_size, 4096);
	assert_int_equal(c.key_bits, 256);
	assert_int_equal(c.sector_size, 512);
	assert_false(c.no_read_workqueue);
	assert_false(c.no_write_workqueue);
	assert_true(c.allow_discards);
	assert_false(c.shred_discard);
	assert_string_equal(c.hbi.vault_url, "https://myvault.vault.azure.net");
	assert_string_equal(c.hbi.key_name, "temp-disk");
	assert_string_equal(c.hbi.key_version, "78deebed173b48e48f55abf87ed4cf71");
	assert_string_equal(c.hbi.client_id, "11111111-2222-3333-4444-555555555555");
	assert_string_equal(c.hbi.msi_res_id, "/subscriptions/x/identity");
	assert_string_equal(c.hbi.ca_bundle, "/etc/ssl/certs/ca.pem");
	assert_string_equal(c.hbi.imds_endpoint, "http://127.0.0.1:8080");
	assert_int_equal(c.hbi.retry_cap_s, 30);
	cfg_free(&c);
}

/* Each bad line, and what the error must name. */
static const struct {
	const char *text;
	const char *needle;
} bad[] = {
	{ "[node]\nrole = gpu\n", ":2: [node] role = 'gpu'" },
	{ "[node]\nkey_source = mine\n", "[node] key_source" },
	{ "[disks]\ndevices = nvme0n1\n", "[disks] devices" },
	{ "[temp]\nmount_point = relative\n", "[temp] mount_point" },
	{ "[temp]\nmount_point = /\n", "[temp] mount_point" },
	{ "[scratch]\nmount_point = /a/../b\n", "[scratch] mount_point" },
	{ "[filesystem]\ntype = btrfs\n", "[filesystem] type" },
	{ "[filesystem]\next4_cluster_size = 2048\n", "[filesystem] ext4_cluster_size" },
	{ "[filesystem]\next4_cluster_size = automatic\n", "[filesystem] ext4_cluster_size" },
	{ "[filesystem]\next4_cluster_size = 65535\n", "[filesystem] ext4_cluster_size" },
	{ "[filesystem]\next4_cluster_size = 2097152\n", "[filesystem] ext4_cluster_size" },
	{ "[crypt]\ncipher = rot13\n", "[crypt] cipher" },
	{ "[crypt]\nkey_bits = 384\n", "[crypt] key_bits" },
	{ "[crypt]\nkey_bits = -512\n", "[crypt] key_bits" },
	{ "[crypt]\nkey_bits = 512x\n", "[crypt] key_bits" },
	{ "[crypt]\nsector_size = 3000\n", "[crypt] sector_size" },
	{ "[crypt]\nsector_size = 8192\n", "[crypt] sector_size" },
	{ "[crypt]\nno_read_workqueue = maybe\n", "[crypt] no_read_workqueue" },
	{ "[crypt]\nno_write_workqueue = 2\n", "[crypt] no_write_workqueue" },
	{ "[crypt]\nallow_discards = \n", "[crypt] allow_discards" },
	{ "[shred]\ndiscard = sometimes\n", "[shred] discard" },
	{ "[hbi]\nvault_url = http://v.vault.azure.net\n", "[hbi] vault_url" },
	{ "[hbi]\nvault_url = https://v.vault.azure.net/keys/k\n", "[hbi] vault_url" },
	{ "[hbi]\nvault_url = https://user@v.vault.azure.net\n", "[hbi] vault_url" },
	{ "[hbi]\nvault_url = https:///\n", "[hbi] vault_url" },
	{ "[hbi]\nkey_name = \n", "[hbi] key_name" },
	{ "[hbi]\nca_bundle = ca.pem\n", "[hbi] ca_bundle" },
	{ "[hbi]\nimds_endpoint = ftp://x\n", "[hbi] imds_endpoint" },
	{ "[hbi]\nretry_cap_s = 0\n", "[hbi] retry_cap_s" },
	{ "[hbi]\nretry_cap_s = 99999\n", "[hbi] retry_cap_s" },
	{ "[node]\ncolour = blue\n", "[node] colour = 'blue': unknown key" },
	{ "[nodes]\nrole = serverless\n", "unknown section" },
	{ "[node]\nthis line has no equals sign\n", ":2: syntax error" },
	{ "[crypt]\ncipher = aes-cbc-essiv:sha256\n", "key_bits = 512 does not fit" },
	/* Mount points: never the system's own trees, always normalised. */
	{ "[temp]\nmount_point = /etc\n", "[temp] mount_point" },
	{ "[temp]\nmount_point = /proc/x\n", "[temp] mount_point" },
	{ "[temp]\nmount_point = /mnt/..\n", "[temp] mount_point" },
	{ "[scratch]\nmount_point = /mnt/./scratch\n", "[scratch] mount_point" },
	{ "[scratch]\nmount_point = /mnt//scratch\n", "[scratch] mount_point" },
	{ "[scratch]\nmount_point = /mnt/scratch/\n", "[scratch] mount_point" },
	{ "[scratch]\nmount_point = /usr/local/scratch\n", "[scratch] mount_point" },
	{ "[scratch]\nmount_point = /run/x\n", "[scratch] mount_point" },
	{ "[scratch]\nmount_point = /boot\n", "[scratch] mount_point" },
	{ "[scratch]\nmount_point = /sys\n", "[scratch] mount_point" },
	{ "[scratch]\nmount_point = /dev/shm/x\n", "[scratch] mount_point" },
	{ "[temp]\nmount_point = /mnt/x\n[scratch]\nmount_point = /mnt/x\n", "must be distinct" },
	{ "[temp]\nmount_point = /mnt\n", "not inside each other" },
	{ "[temp]\nmount_point = /data\n[scratch]\nmount_point = /data/scratch\n", "not inside each other" },
	{ "[metrics]\ntextfile = /var/lib/x/../../etc/x.prom\n", "[metrics] textfile" },
	{ "[metrics]\ntextfile = /var/lib/x/.hidden.prom\n", "[metrics] textfile" },
	{ "[disks]\ndevices = /dev/sdb, sdc\n", "[disks] devices" },
	/* Regression: libinih split a line over 200 characters and read its
	 * tail as a key of its own. */
	{ "[node]\n; a long comment that goes on and on and on and on and on and on and on and on and on "
	  "and on and on and on and on and on and on and on and on and on and on and on and on and on and "
	  "on                     key_source = customer\n", ":2: the line is too long" },
	{ "[node]\nrole = serverless\n\n[hbi]\nvault_url = https://v.vault.azure.net/"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	  ":5: the line is too long" },
};

/* Container storage goes on scratch: paths outside the system's trees stay allowed. */
static void test_mount_points_allowed(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(load(&c, "[temp]\nmount_point = /mnt/resource\n[scratch]\n"
				  "mount_point = /var/lib/containerd\n"), 0);
	assert_string_equal(c.scratch_mount, "/var/lib/containerd");
	cfg_free(&c);
	assert_int_equal(load(&c, "[temp]\nmount_point = /mnt/res\n[scratch]\nmount_point = /mnt/resource\n"), 0);
	cfg_free(&c);
	assert_int_equal(load(&c, "[scratch]\nmount_point = /usrdata\n"), 0);
	cfg_free(&c);
}

static void test_bad_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg c;
		int r = load(&c, bad[i].text);

		if (r != -EINVAL || !strstr(why.text, bad[i].needle) || !strstr(why.text, path))
			fail_msg("config %zu (%s): r=%d, error '%s' lacks '%s'", i, bad[i].text, r,
				 why.text, bad[i].needle);
		cfg_free(&c);
	}
}

static void test_policy(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(load(&c, "[node]\nkey_source = customer\n"), 0);
	assert_int_equal(cfg_check_policy(&c, &why), -EPERM);
	assert_non_null(strstr(why.text, "not supported for OS and temp disks"));
	cfg_free(&c);

	assert_int_equal(load(&c, "[node]\nrole = serverless\nkey_source = hbi\n[hbi]\n"
				  "vault_url = https://v.vault.azure.net\nkey_name = k\n"), 0);
	assert_int_equal(cfg_check_policy(&c, &why), -EPERM);
	assert_non_null(strstr(why.text, "system-managed"));
	cfg_free(&c);

	assert_int_equal(load(&c, "[node]\nkey_source = hbi\n"), 0);
	assert_int_equal(cfg_check_policy(&c, &why), -EPERM);
	assert_non_null(strstr(why.text, "vault_url"));
	cfg_free(&c);

	assert_int_equal(load(&c, "[node]\nkey_source = hbi\n[hbi]\n"
				  "vault_url = https://v.vault.azure.net\nkey_name = k\n"), 0);
	assert_int_equal(cfg_check_policy(&c, &why), 0);
	cfg_free(&c);

	assert_int_equal(load(&c, "[node]\nrole = serverless\n"), 0);
	assert_int_equal(cfg_check_policy(&c, &why), 0);
	cfg_free(&c);
}

static void test_imds_tags(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(load(&c, "[node]\nimds_tags = true\n"), 0);
	assert_true(c.imds_tags);
	assert_int_equal(cfg_apply_tag(&c, "hbi_workspace", "true", &why), 0);
	assert_int_equal(c.key_source, KEY_SOURCE_HBI);
	assert_int_equal(cfg_apply_tag(&c, "hbi_workspace", "false", &why), 0);
	assert_int_equal(c.key_source, KEY_SOURCE_SYSTEM);
	assert_int_equal(cfg_apply_tag(&c, "scratchcrypt-node-role", "serverless", &why), 0);
	assert_int_equal(c.role, NODE_SERVERLESS);
	assert_int_equal(cfg_apply_tag(&c, "owner", "someone", &why), 0); /* other tags are ignored */
	assert_int_equal(cfg_apply_tag(&c, "scratchcrypt-node-role", "gpu", &why), -EINVAL);
	assert_non_null(strstr(why.text, "scratchcrypt-node-role = 'gpu'"));
	assert_int_equal(cfg_apply_tag(&c, "hbi_workspace", "maybe", &why), -EINVAL);
	/* customer stays customer, and is refused by the policy */
	c.key_source = KEY_SOURCE_CUSTOMER;
	assert_int_equal(cfg_apply_tag(&c, "hbi_workspace", "true", &why), 0);
	assert_int_equal(c.key_source, KEY_SOURCE_CUSTOMER);
	cfg_free(&c);
}

static char *slurp(const char *file)
{
	FILE *f = fopen(file, "re");
	char *buf = calloc(1, 1 << 20);

	assert_non_null(f);
	assert_non_null(buf);
	assert_true(fread(buf, 1, (1 << 20) - 1, f) > 0);
	fclose(f);
	return buf;
}

/* Every key of the table parses, is refused with its own help when bad,
 * and is documented in the man page and the example config. */
static void test_key_table(void **state)
{
	char *man = slurp(SRCDIR "/doc/scratchcrypt.conf.5");
	char *example = slurp(SRCDIR "/doc/scratchcrypt.conf");
	char text[512], needle[128];
	struct cfg c;
	unsigned n = 0;

	(void)state;
	for (const struct cfg_key *k = cfg_keys(); k->section; k++, n++) {
		snprintf(needle, sizeof(needle), ".B %s\n", k->name);
		if (!strstr(man, needle))
			fail_msg("[%s] %s is not in scratchcrypt.conf(5)", k->section, k->name);
		snprintf(needle, sizeof(needle), "[%s]", k->section);
		if (!strstr(example, needle) || !strstr(example, k->name))
			fail_msg("[%s] %s is not in the example config", k->section, k->name);
		/* A value no key accepts: a path, a number and a URL at once fails all. */
		snprintf(text, sizeof(text), "[%s]\n%s = -1 not:valid\n", k->section, k->name);
		if (strcmp(k->name, "client_id") == 0 ||
		    strcmp(k->name, "msi_res_id") == 0 || strcmp(k->name, "nvme_models") == 0)
			continue; /* free text */
		if (load(&c, text) == 0)
			fail_msg("[%s] %s accepted '-1 not:valid'", k->section, k->name);
		if (!strstr(why.text, k->help))
			fail_msg("[%s] %s: the error does not say what is valid: %s", k->section, k->name,
				 why.text);
		cfg_free(&c);
	}
	assert_true(n >= 25);
	free(man);
	free(example);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_mount_points_allowed),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_imds_tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
