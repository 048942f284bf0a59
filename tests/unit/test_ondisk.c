// SPDX-License-Identifier: MIT
/* agent/ondisk/: the format's records, what each release made of them
 * (tests/ondisk/golden/vN, which every later release must read), and the
 * refusal of a newer format's. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/ondisk/claim.h"
#include "agent/ondisk/names.h"
#include "agent/ondisk/token.h"

#define GOLDEN SRCDIR "/tests/ondisk/golden"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

/* Every golden version's records hold the same values. */
static void check_golden_token(const struct sc_token *t, unsigned format)
{
	assert_int_equal(t->format, format);
	assert_int_equal(t->role, ROLE_SCRATCH);
	assert_int_equal(t->index, 1);
	assert_int_equal(t->members, 2);
	assert_int_equal(t->key_source, KEY_SOURCE_HBI);
	assert_int_equal(t->state, TOKEN_READY);
	assert_string_equal(t->serial, "SCNVMEB");
	assert_int_equal(t->size, 256ull * 1024 * 1024);
	assert_int_equal(t->created, 1764806400);
}

static const char golden_kid[] = "https://scvault.vault.azure.net/keys/tempdisk/0123456789abcdef0123456789abcdef";

static void check_golden_records(unsigned format)
{
	struct sc_token t;
	struct sc_claim c;
	struct sc_hbi_token h;
	char path[256], *json, *block;
	size_t n;

	snprintf(path, sizeof(path), GOLDEN "/v%u/token.json", format);
	json = slurp(path, NULL);
	assert_int_equal(token_from_json(json, &t), 0);
	check_golden_token(&t, format);
	free(json);

	snprintf(path, sizeof(path), GOLDEN "/v%u/hbi-token.json", format);
	json = slurp(path, NULL);
	assert_int_equal(token_hbi_parse(json, &h), 0);
	assert_int_equal(h.format, format);
	assert_string_equal(h.kid, golden_kid);
	assert_int_equal(strlen(h.wrapped), 342);
	/* Format 2 seals the token (an HMAC-SHA256 in base64url); 1 does not. */
	assert_int_equal(strlen(h.mac), format >= 2 ? 43 : 0);
	token_hbi_clear(&h);
	free(json);

	snprintf(path, sizeof(path), GOLDEN "/v%u/claim.bin", format);
	block = slurp(path, &n);
	assert_int_equal(n, ONDISK_CLAIM_SIZE);
	assert_int_equal(claim_parse(block, &c), 1);
	assert_string_equal(c.serial, "SCNVMEB");
	assert_int_equal(c.size, 256ull * 1024 * 1024);
	assert_int_equal(c.format, format);
	free(block);
}

static void test_golden_records(void **state)
{
	(void)state;
	for (unsigned v = 1; v <= ONDISK_FORMAT_VERSION; v++)
		check_golden_records(v);
}

/* Each version's header, read the way detection reads a disk
 * (libcryptsetup on the file: no device-mapper needed). */
static void test_golden_headers(void **state)
{
	(void)state;
	for (unsigned v = 1; v <= ONDISK_FORMAT_VERSION; v++) {
		char path[] = "/tmp/sc-test-ondisk-XXXXXX", cmd[512];
		struct sc_hbi_token h;
		struct sc_token t;
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		close(fd);
		snprintf(cmd, sizeof(cmd), "xz -dc %s/v%u/header.img.xz > %s", GOLDEN, v, path);
		if (system(cmd) != 0) {
			unlink(path);
			fail_msg("cannot decompress the golden header (%s)", cmd);
		}
		assert_int_equal(token_read(path, &t), 0);
		check_golden_token(&t, v);
		assert_int_equal(token_hbi_read(path, &h), 0);
		assert_string_equal(h.kid, golden_kid);
		assert_int_equal(h.format, v);
		token_hbi_clear(&h);
		unlink(path);
	}
}

/* What this release writes, it reads back, saying its format. */
static void test_round_trip(void **state)
{
	struct sc_token t = { .role = ROLE_TEMP, .index = 0, .members = 1,
			      .key_source = KEY_SOURCE_SYSTEM, .state = TOKEN_NEW,
			      .created = 42, .serial = "res", .size = 4096 }, back;
	struct sc_claim c = { .serial = "res", .size = 4096, .created = 42 }, cback;
	char block[ONDISK_CLAIM_SIZE], *json = token_to_json(&t);
	struct sc_hbi_token h;

	(void)state;
	assert_non_null(strstr(json, "\"format\":2"));
	assert_int_equal(token_from_json(json, &back), 0);
	assert_int_equal(back.format, ONDISK_FORMAT_VERSION);
	assert_string_equal(back.serial, "res");
	assert_int_equal(back.state, TOKEN_NEW);
	free(json);
	json = token_hbi_to_json("https://v.vault.azure.net/keys/k/1", "abc", "mac");
	assert_non_null(strstr(json, "\"format\":2"));
	assert_int_equal(token_hbi_parse(json, &h), 0);
	assert_string_equal(h.wrapped, "abc");
	assert_string_equal(h.mac, "mac");
	assert_int_equal(h.format, 2);
	token_hbi_clear(&h);
	free(json);
	claim_format(&c, block);
	assert_int_equal(claim_parse(block, &cback), 1);
	assert_string_equal(cback.serial, "res");
	assert_int_equal(cback.size, 4096);
	assert_int_equal(cback.format, ONDISK_FORMAT_VERSION);
}

/* A newer format's records are refused as such (never read as garbage,
 * never taken for blank); a bad version is not a version. */
static void test_newer_format(void **state)
{
	struct sc_token t;
	struct sc_claim c;
	char block[ONDISK_CLAIM_SIZE] = "SCRATCHCRYPT-CLAIM-3\nserial=a\nsize=1\ncreated=1\n";
	struct sc_hbi_token h;

	(void)state;
	assert_int_equal(token_from_json("{\"type\":\"scratchcrypt\",\"format\":3}", &t), -EPROTONOSUPPORT);
	assert_int_equal(t.format, 3);
	assert_int_equal(token_from_json("{\"type\":\"scratchcrypt\",\"format\":\"2\"}", &t), -EBADMSG);
	assert_int_equal(token_from_json("{\"type\":\"scratchcrypt\",\"format\":0}", &t), -EBADMSG);
	assert_int_equal(token_hbi_parse("{\"type\":\"scratchcrypt-hbi\",\"format\":7,\"kid\":\"k\","
					 "\"wrapped_key\":\"w\"}", &h), -EPROTONOSUPPORT);
	assert_int_equal(h.format, 7);
	assert_int_equal(claim_parse(block, &c), -EPROTONOSUPPORT);
	assert_int_equal(c.format, 3);
	memcpy(block, "SCRATCHCRYPT-CLAIM-x", 20);
	assert_int_equal(claim_parse(block, &c), 0);
}

/* Mapping names and subsystems: what status and stop find again. */
static void test_names(void **state)
{
	char buf[64];
	enum disk_role role;
	unsigned index, members;

	(void)state;
	ondisk_member_name(buf, sizeof(buf), ROLE_SCRATCH, 1, 2);
	assert_string_equal(buf, "scratchcrypt-scratch-1");
	assert_int_equal(ondisk_mapping_role(buf), ROLE_SCRATCH);
	assert_false(ondisk_is_top(buf));
	ondisk_member_name(buf, sizeof(buf), ROLE_TEMP, 0, 1);
	assert_string_equal(buf, "scratchcrypt-temp");
	assert_true(ondisk_is_top(buf));
	assert_int_equal(ondisk_mapping_role("scratchcryptx-temp"), -EINVAL);
	ondisk_subsystem(buf, sizeof(buf), ROLE_SCRATCH, 1, 2);
	assert_string_equal(buf, "scratch 1/2");
	assert_int_equal(ondisk_subsystem_parse(buf, &role, &index, &members), 0);
	assert_int_equal(index, 1);
	assert_int_equal(ondisk_subsystem_parse("scratch 2/2", &role, &index, &members), -EINVAL);
}

static void test_subsystem_roundtrip(void **state)
{
	char buf[48];
	enum disk_role role;
	unsigned idx, n;

	(void)state;
	ondisk_subsystem(buf, sizeof(buf), ROLE_SCRATCH, 2, 4);
	assert_string_equal(buf, "scratch 2/4");
	assert_int_equal(ondisk_subsystem_parse(buf, &role, &idx, &n), 0);
	assert_int_equal(role, ROLE_SCRATCH);
	assert_int_equal(idx, 2);
	assert_int_equal(n, 4);
	assert_int_equal(ondisk_subsystem_parse("os 0/1", &role, &idx, &n), -EINVAL);
	assert_int_equal(ondisk_subsystem_parse("temp 2/2", &role, &idx, &n), -EINVAL);
	assert_int_equal(ondisk_subsystem_parse("", &role, &idx, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_records),
		cmocka_unit_test(test_golden_headers),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_newer_format),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_subsystem_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
