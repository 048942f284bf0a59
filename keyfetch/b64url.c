// SPDX-License-Identifier: MIT
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/safemem.h"
#include "keyfetch/keyfetch.h"

/* The result may carry key material: it comes from safe memory. */
char *kf_b64url_encode(const void *data, size_t len)
{
	size_t cap = 4 * ((len + 2) / 3) + 1;
	char *out = safe_alloc(cap);
	int n;

	if (!out)
		return NULL;
	n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	for (int i = 0; i < n; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out;
}

/* The value of one base64url character (the text is checked already). */
static unsigned sextet(char c)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

	return (unsigned)(strchr(alphabet, c) - alphabet);
}

int kf_b64url_decode(const char *text, void **out, size_t *out_len)
{
	size_t len = strlen(text), padded = (len + 3) / 4 * 4, pad = padded - len;
	char *tmp;
	unsigned char *bin;
	int n;

	if (pad == 3 || strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789-_") != len)
		return -EBADMSG;
	/* Canonical only: the bits past the last byte are zero, so that one
	 * value has one text (found by the fuzzer: "Zm0vqFn"). */
	if ((pad == 1 && (sextet(text[len - 1]) & 0x3)) || (pad == 2 && (sextet(text[len - 1]) & 0xf)))
		return -EBADMSG;
	tmp = safe_alloc(padded + 1);
	bin = safe_alloc(padded / 4 * 3 + 1);
	if (!tmp || !bin) {
		safe_free(tmp);
		safe_free(bin);
		return -ENOMEM;
	}
	for (size_t i = 0; i < len; i++)
		tmp[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
	memset(tmp + len, '=', pad);
	n = padded ? EVP_DecodeBlock(bin, (unsigned char *)tmp, (int)padded) : 0;
	safe_free(tmp);
	if (n < 0) {
		safe_free(bin);
		return -EBADMSG;
	}
	*out = bin;
	*out_len = (size_t)n - pad; /* EVP_DecodeBlock counts the padding */
	return 0;
}
