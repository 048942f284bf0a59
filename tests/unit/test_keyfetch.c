// SPDX-License-Identifier: MIT
/* keyfetch without a network: base64url, key URLs, the key policy and the
 * retry schedule against a fake clock. */
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

static void test_b64url(void **state)
{
	static const struct {
		const char *plain, *enc;
	} v[] = { { "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		  { "foob", "Zm9vYg" }, { "\xfb\xff\xfe", "-__-" }, { "\xff\xef", "_-8" } };

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *e = kf_b64url_encode(v[i].plain, strlen(v[i].plain));
		void *d;
		size_t n;

		assert_string_equal(e, v[i].enc);
		assert_int_equal(kf_b64url_decode(e, &d, &n), 0);
		assert_int_equal(n, strlen(v[i].plain));
		assert_memory_equal(d, v[i].plain, n);
		safe_free(e);
		safe_free(d);
	}
	unsigned char key[64];
	for (int i = 0; i < 64; i++)
		key[i] = (unsigned char)(i * 37 + 11);
	char *e = kf_b64url_encode(key, 64);
	void *d;
	size_t n;
	assert_int_equal(strlen(e), 86);
	assert_null(strpbrk(e, "+/="));
	assert_int_equal(kf_b64url_decode(e, &d, &n), 0);
	assert_int_equal(n, 64);
	assert_memory_equal(d, key, 64);
	safe_free(e);
	safe_free(d);
	/* Regression (fuzzer): non-canonical trailing bits. */
	assert_int_equal(kf_b64url_decode("Zm0vqFn", &d, &n), -EBADMSG);
	assert_int_equal(kf_b64url_decode("Zh", &d, &n), -EBADMSG);
	/* Not base64url: padding, standard alphabet, impossible length. */
	assert_int_equal(kf_b64url_decode("Zg==", &d, &n), -EBADMSG);
	assert_int_equal(kf_b64url_decode("a+b/", &d, &n), -EBADMSG);
	assert_int_equal(kf_b64url_decode("abcde", &d, &n), -EBADMSG);
}

static void test_key_url(void **state)
{
	char vault[128], name[64], ver[64];

	(void)state;
	assert_int_equal(kf_parse_key_url("https://MyVault.vault.azure.net/keys/k1/78deebed173b48e48f55abf87ed4cf71",
					  vault, sizeof(vault), name, sizeof(name), ver, sizeof(ver)), 0);
	assert_string_equal(vault, "myvault.vault.azure.net");
	assert_string_equal(name, "k1");
	assert_string_equal(ver, "78deebed173b48e48f55abf87ed4cf71");
	assert_int_equal(kf_parse_key_url("https://v.vault.azure.net/keys/k2", vault, sizeof(vault),
					  name, sizeof(name), ver, sizeof(ver)), 0);
	assert_string_equal(name, "k2");
	assert_string_equal(ver, "");
	assert_int_equal(kf_parse_key_url("https://v.vault.azure.net", vault, sizeof(vault), name,
					  sizeof(name), ver, sizeof(ver)), -ENOENT);
	assert_int_equal(kf_parse_key_url("http://v.vault.azure.net/keys/k", vault, sizeof(vault),
					  name, sizeof(name), ver, sizeof(ver)), -EINVAL);
	assert_int_equal(kf_parse_key_url("https://v.vault.azure.net/secrets/k", vault, sizeof(vault),
					  name, sizeof(name), ver, sizeof(ver)), -EINVAL);
	assert_int_equal(kf_parse_key_url("https://evil@v.vault.azure.net/keys/k", vault,
					  sizeof(vault), name, sizeof(name), ver, sizeof(ver)), -EINVAL);
	assert_int_equal(kf_parse_key_url("https://v.vault.azure.net/keys/k/v/extra", vault,
					  sizeof(vault), name, sizeof(name), ver, sizeof(ver)), -EINVAL);
}

/* The token's resource follows the vault's cloud. */
static void test_vault_resource(void **state)
{
	(void)state;
	assert_string_equal(kf_vault_resource("https://v.vault.azure.net"), "https://vault.azure.net");
	assert_string_equal(kf_vault_resource("https://v.vault.usgovcloudapi.net"),
			    "https://vault.usgovcloudapi.net");
	assert_string_equal(kf_vault_resource("https://V.Vault.Azure.CN"), "https://vault.azure.cn");
	assert_string_equal(kf_vault_resource("https://v.vault.azure.cn:443"), "https://vault.azure.cn");
	/* A suffix only counts as a suffix. */
	assert_string_equal(kf_vault_resource("https://vault.azure.cn.evil.example"),
			    "https://vault.azure.net");
	assert_string_equal(kf_vault_resource("https://localhost:8443"), "https://vault.azure.net");
	assert_string_equal(kf_vault_resource(NULL), "https://vault.azure.net");
}

static void test_key_policy(void **state)
{
	static const struct {
		const char *kty, *rl;
		bool wrap, unwrap, enabled;
		int want;
		const char *why;
		unsigned bits; /* 0: 2048 */
	} t[] = {
		{ "RSA", "Recoverable", true, true, true, 0, NULL, 0 },
		{ "RSA-HSM", "CustomizedRecoverable", true, true, true, 0, NULL, 0 },
		{ "RSA", "Recoverable+ProtectedSubscription", true, true, true, 0, NULL, 0 },
		{ "RSA", "CustomizedRecoverable+ProtectedSubscription", true, true, true, 0, NULL, 0 },
		{ "RSA", "Purgeable", true, true, true, -EKEYREJECTED, "purge protection", 0 },
		{ "RSA", "Recoverable+Purgeable", true, true, true, -EKEYREJECTED, "purge protection", 0 },
		{ "RSA", "CustomizedRecoverable+Purgeable", true, true, true, -EKEYREJECTED, "purge protection", 0 },
		{ "RSA", "", true, true, true, -EKEYREJECTED, "(missing)", 0 },
		{ "EC", "Recoverable", true, true, true, -EKEYREJECTED, "not RSA", 0 },
		{ "oct", "Recoverable", true, true, true, -EKEYREJECTED, "not RSA", 0 },
		{ "RSA", "Recoverable", false, true, true, -EKEYREJECTED, "lacks wrapKey", 0 },
		{ "RSA", "Recoverable", true, false, true, -EKEYREJECTED, "lacks unwrapKey", 0 },
		{ "RSA", "Recoverable", false, false, true, -EKEYREJECTED, "wrapKey and unwrapKey", 0 },
		{ "RSA", "Recoverable", true, true, false, -EKEYREJECTED, "disabled", 0 },
		{ "RSA", "Recoverable", true, true, true, -EKEYREJECTED, "1024 bits", 1024 },
		{ "RSA", "Recoverable", true, true, true, -EKEYREJECTED, "0 bits", 1 },
		{ "RSA-HSM", "Recoverable", true, true, true, 0, NULL, 4096 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct kf_key_info k = { .wrap_key = t[i].wrap, .unwrap_key = t[i].unwrap,
					 .enabled = t[i].enabled,
					 .modulus_bits = t[i].bits == 1 ? 0 : t[i].bits ? t[i].bits : 2048 };
		snprintf(k.kid, sizeof(k.kid), "https://v.vault.azure.net/keys/k/1");
		snprintf(k.kty, sizeof(k.kty), "%s", t[i].kty);
		snprintf(k.recovery_level, sizeof(k.recovery_level), "%s", t[i].rl);
		struct reason why = { "" };
		int r = kf_check_key(&k, &why);
		if (r != t[i].want || (t[i].why && !strstr(why.text, t[i].why)))
			fail_msg("case %zu (%s, %s): r=%d why='%s'", i, t[i].kty, t[i].rl, r, why.text);
	}
}

/* A fake clock: time passes only when the code sleeps. */
struct fake {
	double now;
	double sleeps[32];
	unsigned n_sleeps;
	/* attempt script: statuses to return, 200 = success */
	long script[32];
	double retry_after[32];
	unsigned n_script, pos;
};

static double f_now(void *c) { return ((struct fake *)c)->now; }
static void f_sleep(void *c, double s)
{
	struct fake *f = c;
	f->sleeps[f->n_sleeps++] = s;
	f->now += s;
}
static double f_rand(void *c) { (void)c; return 0.5; } /* no jitter */

static int f_attempt(void *c, long *status, double *retry_after)
{
	struct fake *f = c;
	long s = f->pos < f->n_script ? f->script[f->pos] : 500;

	*retry_after = f->pos < f->n_script ? f->retry_after[f->pos] : 0;
	f->pos++;
	f->now += 0.1; /* each request takes a little time */
	*status = s;
	if (s == 200)
		return 0;
	return kf_retryable(s) ? -EAGAIN : -EACCES;
}

static void test_backoff_schedule(void **state)
{
	(void)state;
	/* Documented: about 0, 2, 6, 14, 30 s, then 30. */
	assert_true(kf_backoff(1, 0, 0.5) == 2);
	assert_true(kf_backoff(2, 0, 0.5) == 6);
	assert_true(kf_backoff(3, 0, 0.5) == 14);
	assert_true(kf_backoff(4, 0, 0.5) == 30);
	assert_true(kf_backoff(9, 0, 0.5) == 30);
	/* Jitter stays within +-20%. */
	assert_true(kf_backoff(2, 0, 0.0) >= 4.8 && kf_backoff(2, 0, 0.999) <= 7.2);
	/* Retry-After wins when longer, not when shorter. */
	assert_true(kf_backoff(1, 10, 0.5) == 10);
	assert_true(kf_backoff(3, 1, 0.5) == 14);
	assert_true(kf_retryable(0) && kf_retryable(404) && kf_retryable(410) && kf_retryable(429) &&
		    kf_retryable(500) && kf_retryable(503));
	assert_false(kf_retryable(400) || kf_retryable(401) || kf_retryable(403));
}

static void test_retry_run(void **state)
{
	const struct kf_clock clock = { f_now, f_sleep, f_rand, NULL };
	struct fake f = { .script = { 500, 410, 429, 200 }, .retry_after = { 0, 0, 5, 0 }, .n_script = 4 };
	unsigned attempts;

	(void)state;
	struct kf_clock c = clock;
	c.ctx = &f;
	assert_int_equal(kf_retry_run(&c, 90, f_attempt, &f, &attempts), 0);
	assert_int_equal(attempts, 4);
	assert_int_equal(f.n_sleeps, 3);
	assert_true(f.sleeps[0] == 2 && f.sleeps[1] == 6);
	assert_true(f.sleeps[2] == 14); /* Retry-After 5 < 14 */

	/* Honour a long Retry-After. */
	struct fake g = { .script = { 429, 200 }, .retry_after = { 20, 0 }, .n_script = 2 };
	c.ctx = &g;
	assert_int_equal(kf_retry_run(&c, 90, f_attempt, &g, &attempts), 0);
	assert_true(g.sleeps[0] == 20);

	/* Other 4xx are not retried. */
	struct fake h = { .script = { 403 }, .n_script = 1 };
	c.ctx = &h;
	assert_int_equal(kf_retry_run(&c, 90, f_attempt, &h, &attempts), -EACCES);
	assert_int_equal(attempts, 1);
	assert_int_equal(h.n_sleeps, 0);

	/* A service that keeps failing: give up before passing the cap, having
	 * waited 2+6+14+30+30 = 82 s, since another 30 s would pass 90. */
	struct fake d = { .n_script = 0 };
	c.ctx = &d;
	assert_int_equal(kf_retry_run(&c, 90, f_attempt, &d, &attempts), -EHOSTUNREACH);
	assert_int_equal(attempts, 6);
	assert_true(d.now <= 90);
	assert_true(d.sleeps[4] == 30);

	/* A short cap. */
	struct fake e = { .n_script = 0 };
	c.ctx = &e;
	assert_int_equal(kf_retry_run(&c, 5, f_attempt, &e, &attempts), -EHOSTUNREACH);
	assert_int_equal(attempts, 2);
	assert_true(e.now <= 5);
}

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
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_key_url),
		cmocka_unit_test(test_vault_resource),
		cmocka_unit_test(test_key_policy),
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_retry_run),
		cmocka_unit_test(test_parse_empty_and_broken),
		cmocka_unit_test(test_parse_key),
		cmocka_unit_test(test_parse_op_reply),
		cmocka_unit_test(test_parse_tags),
		cmocka_unit_test(test_parse_error_body),
		cmocka_unit_test(test_retry_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
