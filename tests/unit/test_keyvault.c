// SPDX-License-Identifier: MIT
/* Key Vault: key URLs and the vault's resource (keyfetch/parse.c), and the
 * key policy (kf_check_key, keyfetch/keyvault.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keyfetch/keyfetch.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_url),
		cmocka_unit_test(test_vault_resource),
		cmocka_unit_test(test_key_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
