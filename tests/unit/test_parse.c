// SPDX-License-Identifier: MIT
/* keyfetch/parse.c: what the key services answer, as documented and
 * broken: tokens, keys, wrap and unwrap replies, tags, error bodies,
 * Retry-After. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/safemem.h"
#include "keyfetch/keyfetch.h"

#define P(s) s, sizeof(s) - 1

/* Regression: an empty 2xx body reached json_tokener_parse(NULL). */
static void test_parse_empty_and_broken(void **state)
{
	static const char *const bad[] = {
		"", " ", "null", "[]", "\"x\"", "{", "{\"access_token\":\"a\"", "{} {}",
		"{\"access_token\":\"a\"}x", "{\"access_token\":null}", "{\"access_token\":7}",
		"{\"access_token\":\"\"}", "{\"access_token\":\"a\\r\\nX-Evil: 1\"}",
	};
	struct kf_key_info k;
	char *t = NULL, code[32], msg[32];

	(void)state;
	assert_int_equal(kf_parse_token(NULL, 0, &t), -EBADMSG);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(kf_parse_token(bad[i], strlen(bad[i]), &t), -EBADMSG);
		assert_int_equal(kf_parse_key(bad[i], strlen(bad[i]), &k), -EBADMSG);
		assert_int_equal(kf_parse_op_reply(bad[i], strlen(bad[i]), NULL, &t), -EBADMSG);
		kf_parse_error_body(bad[i], strlen(bad[i]), code, sizeof(code), msg, sizeof(msg));
	}
	assert_null(t);
	/* Regression (fuzzer): a body is not NUL-terminated; nothing may read
	 * past its length (ASan in make check sees it). */
	static const char text[] = "{\"error\":\"invalid_request\"}  ";
	char *exact = malloc(sizeof(text) - 1);
	memcpy(exact, text, sizeof(text) - 1);
	kf_parse_error_body(exact, sizeof(text) - 1, code, sizeof(code), msg, sizeof(msg));
	assert_string_equal(code, "invalid_request");
	free(exact);
	/* Bytes after the length given are not the body. */
	assert_int_equal(kf_parse_token("{\"access_token\":\"tok\"}garbage", 22, &t), 0);
	assert_string_equal(t, "tok");
	safe_free(t);
}

static void test_parse_key(void **state)
{
	struct kf_key_info k;

	(void)state;
	assert_int_equal(kf_parse_key(P("{\"key\":{\"kid\":\"https://v.vault.azure.net/keys/k/1\","
					"\"kty\":\"RSA\",\"key_ops\":[\"wrapKey\",null,7,\"unwrapKey\"]},"
					"\"attributes\":{\"enabled\":true,\"recoveryLevel\":\"Recoverable\"}}"),
				      &k), 0);
	assert_string_equal(k.kid, "https://v.vault.azure.net/keys/k/1");
	assert_true(k.wrap_key && k.unwrap_key && k.enabled);
	assert_int_equal(k.modulus_bits, 0); /* no "n" */
	/* "n" is the modulus, big-endian: leading zero bytes do not count. */
	assert_int_equal(kf_parse_key(P("{\"key\":{\"kid\":\"https://v.vault.azure.net/keys/k/1\","
					"\"n\":\"AAGAAA\"}}"), &k), 0);
	assert_int_equal(k.modulus_bits, 16 + 1);
	assert_int_equal(kf_parse_key(P("{\"key\":{\"kid\":\"https://v.vault.azure.net/keys/k/1\","
					"\"n\":\"not base64!\"}}"), &k), 0);
	assert_int_equal(k.modulus_bits, 0);
	/* Wrong types are absent values, never a crash or a yes. */
	assert_int_equal(kf_parse_key(P("{\"key\":{\"kid\":\"x\",\"kty\":null,\"key_ops\":\"wrapKey\"},"
					"\"attributes\":{\"enabled\":\"true\",\"recoveryLevel\":3}}"), &k), 0);
	assert_string_equal(k.kty, "");
	assert_false(k.wrap_key || k.enabled);
	assert_int_equal(kf_parse_key(P("{\"key\":{\"kid\":null}}"), &k), -EBADMSG);
	assert_int_equal(kf_parse_key(P("{\"key\":[]}"), &k), -EBADMSG);
}

static void test_parse_op_reply(void **state)
{
	static const char kid[] = "https://v.vault.azure.net/keys/k/1";
	char *v = NULL;

	(void)state;
	assert_int_equal(kf_parse_op_reply(P("{\"kid\":\"https://v.vault.azure.net/keys/k/1\","
					     "\"value\":\"Zm9v\"}"), kid, &v), 0);
	assert_string_equal(v, "Zm9v");
	safe_free(v);
	/* A version under a kid asked for without one. */
	assert_int_equal(kf_parse_op_reply(P("{\"kid\":\"https://v.vault.azure.net/keys/k/2\","
					     "\"value\":\"Zm9v\"}"), "https://v.vault.azure.net/keys/k", &v), 0);
	safe_free(v);
	/* Another key's answer, null, not base64url, padded. */
	assert_int_equal(kf_parse_op_reply(P("{\"kid\":\"https://v.vault.azure.net/keys/other/1\","
					     "\"value\":\"Zm9v\"}"), kid, &v), -EBADMSG);
	assert_int_equal(kf_parse_op_reply(P("{\"kid\":\"https://v.vault.azure.net/keys/k/1/x\","
					     "\"value\":\"Zm9v\"}"), "https://v.vault.azure.net/keys/k", &v),
			 -EBADMSG);
	assert_int_equal(kf_parse_op_reply(P("{\"value\":null}"), kid, &v), -EBADMSG);
	assert_int_equal(kf_parse_op_reply(P("{\"value\":\"Zm9v!\"}"), kid, &v), -EBADMSG);
	assert_int_equal(kf_parse_op_reply(P("{\"value\":\"Zg==\"}"), kid, &v), -EBADMSG);
	assert_int_equal(kf_parse_op_reply(P("{\"value\":\"Z\"}"), kid, &v), -EBADMSG);
}

struct tags {
	int n;
	char last[64];
};

static void on_tag(void *ctx, const char *name, const char *value)
{
	struct tags *t = ctx;

	t->n++;
	snprintf(t->last, sizeof(t->last), "%s=%s", name, value);
}

/* Regression: a tag whose name or value is null was passed on as NULL. */
static void test_parse_tags(void **state)
{
	struct tags t = { 0 };

	(void)state;
	assert_int_equal(kf_parse_tags(P("{\"compute\":{\"tagsList\":[{\"name\":null,\"value\":\"x\"},"
					 "{\"name\":\"a\",\"value\":null},{\"name\":\"a\"},7,null,"
					 "{\"name\":\"hbi_workspace\",\"value\":\"true\"}]}}"),
				       on_tag, &t), 0);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.last, "hbi_workspace=true");
	assert_int_equal(kf_parse_tags(P("{\"compute\":null}"), on_tag, &t), -EBADMSG);
	assert_int_equal(kf_parse_tags(NULL, 0, on_tag, &t), -EBADMSG);
}

static void test_parse_error_body(void **state)
{
	char code[64], msg[64];

	(void)state;
	kf_parse_error_body(P("{\"error\":{\"code\":\"Forbidden\",\"message\":\"no\","
			      "\"innererror\":{\"code\":\"ForbiddenByPolicy\"}}}"),
			    code, sizeof(code), msg, sizeof(msg));
	assert_string_equal(code, "Forbidden/ForbiddenByPolicy");
	assert_string_equal(msg, "no");
	kf_parse_error_body(P("{\"error\":\"invalid_request\",\"error_description\":\"bad\"}"), code,
			    sizeof(code), msg, sizeof(msg));
	assert_string_equal(code, "invalid_request");
	kf_parse_error_body(P("{\"error\":{\"code\":null,\"message\":[1]}}"), code, sizeof(code), msg,
			    sizeof(msg));
	assert_string_equal(code, "");
	assert_string_equal(msg, "");
}

/* Regression: a whitespace-only Retry-After was read past curl's buffer,
 * which is not NUL-terminated. */
static void test_retry_after(void **state)
{
	char line[32];
	double d = -1;

	(void)state;
	memcpy(line, "Retry-After:     ", 17);
	memset(line + 17, 'A', sizeof(line) - 17);
	assert_int_equal(kf_parse_retry_after(line, 17, &d), -EBADMSG);
	assert_int_equal(kf_parse_retry_after(P("retry-after: 7\r\n"), &d), 0);
	assert_true(d == 7);
	memcpy(line, "Retry-After: 12", 15);
	memset(line + 15, '9', sizeof(line) - 15);
	assert_int_equal(kf_parse_retry_after(line, 15, &d), 0);
	assert_true(d == 12);
	assert_int_equal(kf_parse_retry_after(P("Retry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n"), &d),
			 -EBADMSG);
	assert_int_equal(kf_parse_retry_after(P("Retry-After: 1e9\r\n"), &d), -EBADMSG);
	assert_int_equal(kf_parse_retry_after(P("Retry-After: 999999999\r\n"), &d), -EBADMSG);
	assert_int_equal(kf_parse_retry_after(P("Content-Type: x\r\n"), &d), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_empty_and_broken),
		cmocka_unit_test(test_parse_key),
		cmocka_unit_test(test_parse_op_reply),
		cmocka_unit_test(test_parse_tags),
		cmocka_unit_test(test_parse_error_body),
		cmocka_unit_test(test_retry_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
