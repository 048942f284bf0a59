// SPDX-License-Identifier: MIT
/* Drives keyfetch against a key service, for the integration tests:
 *   kfprobe IMDS VAULT CA CAP_S KEYNAME roundtrip|foreign
 * Prints "OK ..." or "ERR errno=NAME status=N code=C endpoint=E message=M". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/safemem.h"
#include "keyfetch/keyfetch.h"

static int report(int r, const struct kf_error *e)
{
	printf("ERR errno=%s status=%ld code=%s endpoint=%s message=%s\n",
	       r == -EHOSTUNREACH ? "EHOSTUNREACH" : r == -EACCES ? "EACCES" : r == -ENOKEY ? "ENOKEY"
	       : r == -EKEYREJECTED ? "EKEYREJECTED" : r == -EBADMSG ? "EBADMSG"
	       : r == -EXDEV ? "EXDEV" : "OTHER",
	       e->http_status, e->code, e->endpoint, e->message);
	return 1;
}

int main(int argc, char **argv)
{
	struct kf_config c = { 0 };
	struct kf_session *s;
	struct kf_key_info k;
	struct kf_error e = { 0 };
	unsigned char key[64];
	struct reason why = { "" };
	char *wrapped = NULL;
	void *back = NULL;
	size_t back_len = 0;
	int r, rc = 1;

	if (argc != 7)
		return fprintf(stderr, "usage: kfprobe IMDS VAULT CA CAP KEY roundtrip|foreign\n"), 2;
	c.imds_endpoint = argv[1];
	c.vault_url = argv[2];
	c.ca_bundle = argv[3];
	c.retry_cap_s = (unsigned)atoi(argv[4]);
	kf_global_init();
	if (kf_session_new(&c, NULL, &s) < 0)
		return 2;
	if (strcmp(argv[6], "foreign") == 0) {
		/* A kid in another vault must not get our token. */
		r = kf_unwrap(s, "https://other.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef",
			      "AAAA", &back, &back_len, &e);
		rc = r < 0 ? report(r, &e) : (printf("OK unexpected\n"), 0);
		goto out;
	}
	r = kf_get_key(s, argv[5], NULL, &k, &e);
	if (r < 0) {
		rc = report(r, &e);
		goto out;
	}
	r = kf_check_key(&k, &why);
	if (r < 0) {
		printf("ERR errno=EKEYREJECTED status=200 code= endpoint=%s message=%s\n", k.kid, why.text);
		goto out;
	}
	for (int i = 0; i < 64; i++)
		key[i] = (unsigned char)(i * 7 + 3);
	r = kf_wrap(s, &k, key, sizeof(key), &wrapped, &e);
	if (r == 0)
		r = kf_unwrap(s, k.kid, wrapped, &back, &back_len, &e);
	if (r < 0) {
		rc = report(r, &e);
		goto out;
	}
	if (back_len != 64 || memcmp(back, key, 64) != 0) {
		printf("ERR errno=MISMATCH status=0 code= endpoint= message=the unwrapped key differs\n");
		goto out;
	}
	printf("OK kid=%s wrapped_len=%zu\n", k.kid, strlen(wrapped));
	rc = 0;
out:
	/* Everything freed, so that the ASan build's leak check means something. */
	safe_free(back);
	free(wrapped);
	kf_session_free(s);
	kf_global_cleanup();
	return rc;
}
