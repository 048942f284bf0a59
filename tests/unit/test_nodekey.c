// SPDX-License-Identifier: MIT
/* agent/setup/nodekey.c: HBI headers this node can prove it made. The
 * forgery of issue 28: anyone with the vault key's public half wraps a key
 * of their choosing (real RSA-OAEP-256 here) and writes a token naming the
 * disk; the node key's MAC refuses it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "agent/setup/nodekey.h"
#include "base/safemem.h"
#include "keyfetch/keyfetch.h"

#define GOLDEN SRCDIR "/tests/ondisk/golden"
#define KID "https://scvault.vault.azure.net/keys/tempdisk/0123456789abcdef0123456789abcdef"
#define SERIAL "SCRES"
#define SIZE (256ull << 20)

static char dir[] = "/tmp/sc-test-nodekey-XXXXXX";

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("SCRATCHCRYPT_STATE_DIR", dir, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* What the forger does with the public half only: RSA-OAEP-256 of a key
 * they chose, in base64url. */
static char *wrap_with_public_half(EVP_PKEY *pub, const unsigned char *key, size_t len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	unsigned char out[512];
	size_t n = sizeof(out);

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_encrypt(ctx, out, &n, key, len), 1);
	EVP_PKEY_CTX_free(ctx);
	return kf_b64url_encode(out, n);
}

static void parse(const char *json, struct sc_hbi_token *t)
{
	assert_int_equal(token_hbi_parse(json, t), 0);
}

static void test_public_key_forgery_refused(void **state)
{
	EVP_PKEY *vault_key = EVP_RSA_gen(2048);
	unsigned char chosen[64], other_node[NODEKEY_LEN];
	char *wrapped, *json, mac[64];
	struct sc_hbi_token t;
	struct reason why = { "" };
	void *key = NULL;

	(void)state;
	assert_non_null(vault_key);
	assert_int_equal(nodekey_load(true, &key, &why), 0);
	memset(chosen, 0xa5, sizeof(chosen));
	wrapped = wrap_with_public_half(vault_key, chosen, sizeof(chosen));

	/* A token of format 1 shape: no mac at all. */
	json = token_hbi_to_json(KID, wrapped, "");
	parse(json, &t);
	assert_int_equal(nodekey_verify(key, "/dev/sdb", SERIAL, SIZE, &t, &why), -EMEDIUMTYPE);
	assert_non_null(strstr(why.text, "carries no proof that this node made it"));
	assert_non_null(strstr(why.text, "scratchcrypt stop"));
	token_hbi_clear(&t);
	free(json);

	/* Sealed under a key the forger made up. */
	safe_random(other_node, sizeof(other_node));
	assert_int_equal(nodekey_seal(other_node, SERIAL, SIZE, KID, wrapped, mac, sizeof(mac)), 0);
	json = token_hbi_to_json(KID, wrapped, mac);
	parse(json, &t);
	why.text[0] = '\0';
	assert_int_equal(nodekey_verify(key, "/dev/sdb", SERIAL, SIZE, &t, &why), -EMEDIUMTYPE);
	assert_non_null(strstr(why.text, "/dev/sdb: its HBI header was not made on this node"));
	assert_non_null(strstr(why.text, SERIAL));
	token_hbi_clear(&t);
	free(json);
	safe_free(wrapped);
	safe_free(key);
	EVP_PKEY_free(vault_key);
}

/* This node's own token verifies, for that disk only and that wrapped key
 * only. */
static void test_own_token_bound_to_disk(void **state)
{
	struct sc_hbi_token t;
	struct reason why = { "" };
	char mac[64], *json;
	void *key = NULL;

	(void)state;
	assert_int_equal(nodekey_load(true, &key, &why), 0);
	assert_int_equal(nodekey_seal(key, SERIAL, SIZE, KID, "d3JhcHBlZA", mac, sizeof(mac)), 0);
	json = token_hbi_to_json(KID, "d3JhcHBlZA", mac);
	parse(json, &t);
	assert_int_equal(nodekey_verify(key, "/dev/sdb", SERIAL, SIZE, &t, &why), 0);
	assert_int_equal(nodekey_verify(key, "/dev/sdc", "SCOTHER", SIZE, &t, &why), -EMEDIUMTYPE);
	assert_int_equal(nodekey_verify(key, "/dev/sdb", SERIAL, SIZE + 4096, &t, &why), -EMEDIUMTYPE);
	free(t.wrapped);
	t.wrapped = strdup("b3RoZXI");
	assert_int_equal(nodekey_verify(key, "/dev/sdb", SERIAL, SIZE, &t, &why), -EMEDIUMTYPE);
	token_hbi_clear(&t);
	free(json);
	safe_free(key);
}

/* The MAC's input is part of the format: the golden v2 token verifies under
 * its test node key (tests/ondisk/golden/v2/node.key). */
static void test_golden_v2_mac(void **state)
{
	unsigned char nk[NODEKEY_LEN];
	char json[4096] = "";
	struct sc_hbi_token t;
	struct reason why = { "" };
	FILE *f = fopen(GOLDEN "/v2/node.key", "rb");

	(void)state;
	assert_non_null(f);
	assert_int_equal(fread(nk, 1, sizeof(nk), f), sizeof(nk));
	fclose(f);
	f = fopen(GOLDEN "/v2/hbi-token.json", "rb");
	assert_non_null(f);
	assert_true(fread(json, 1, sizeof(json) - 1, f) > 0);
	fclose(f);
	parse(json, &t);
	assert_int_equal(nodekey_verify(nk, "/dev/nvme1n1", "SCNVMEB", SIZE, &t, &why), 0);
	token_hbi_clear(&t);
}

/* The node key: made once, root-only, refused when anyone else could read
 * or replace it. */
static void test_load(void **state)
{
	struct reason why = { "" };
	char path[512], link[600];
	struct stat st;
	void *a = NULL, *b = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s", nodekey_path());
	(void)unlink(path);
	assert_int_equal(nodekey_load(false, &a, &why), -ENOKEY);
	assert_non_null(strstr(why.text, path));
	assert_int_equal(nodekey_load(true, &a, &why), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	assert_int_equal(st.st_size, NODEKEY_LEN);
	assert_int_equal(nodekey_load(true, &b, &why), 0);
	assert_memory_equal(a, b, NODEKEY_LEN); /* made once, then read */
	safe_free(b);
	b = NULL;
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(nodekey_load(false, &b, &why), -EPERM);
	assert_non_null(strstr(why.text, "only root can read"));
	assert_int_equal(chmod(path, 0400), 0);
	snprintf(link, sizeof(link), "%s.real", path);
	assert_int_equal(rename(path, link), 0);
	assert_int_equal(symlink(link, path), 0);
	assert_true(nodekey_load(false, &b, &why) < 0);
	assert_null(b);
	safe_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_key_forgery_refused),
		cmocka_unit_test(test_own_token_bound_to_disk),
		cmocka_unit_test(test_golden_v2_mac),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
