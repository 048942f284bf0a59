// SPDX-License-Identifier: MIT
/* keyfetch/b64url.c: base64url both ways, and what it refuses. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
