// SPDX-License-Identifier: MIT
/* libFuzzer targets for everything scratchcrypt parses that others write.
 * One source, one target per FUZZ_* definition (tests/fuzz/CMakeLists.txt):
 * config, token, imds_token, key, op_reply, tags, error_body, retry_after,
 * b64url, events, luks_token, hbi_token, nvme_vs. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/detect/nvmeid.h"
#include "agent/events.h"
#include "agent/ondisk/token.h"
#include "base/log.h"
#include "base/safemem.h"
#include "keyfetch/keyfetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (inputs with a NUL stop there, as
 * in a file read by the agent). */
static char *as_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

static void on_tag(void *ctx, const char *name, const char *value)
{
	(void)ctx;
	if (!name || !value)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	char *s = NULL;

	log_set_level(LOG_LVL_ERROR);
#if defined(FUZZ_CONFIG)
	{
		char path[64];
		struct cfg c;
		int fd = memfd_create("scratchcrypt.conf", 0);

		if (fd < 0 || write(fd, data, size) != (ssize_t)size)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		cfg_init(&c);
		(void)cfg_load(&c, path, NULL);
		cfg_free(&c);
		close(fd);
	}
#elif defined(FUZZ_IMDS_TOKEN)
	char *t = NULL;
	if (kf_parse_token(body, size, &t) == 0 && !t)
		abort();
	safe_free(t);
#elif defined(FUZZ_KEY)
	struct kf_key_info k;
	(void)kf_parse_key(body, size, &k);
#elif defined(FUZZ_OP_REPLY)
	char *v = NULL;
	(void)kf_parse_op_reply(body, size, "https://v.vault.azure.net/keys/k/0123", &v);
	safe_free(v);
#elif defined(FUZZ_TAGS)
	(void)kf_parse_tags(body, size, on_tag, NULL);
#elif defined(FUZZ_ERROR_BODY)
	char code[96], msg[384];
	kf_parse_error_body(body, size, code, sizeof(code), msg, sizeof(msg));
#elif defined(FUZZ_RETRY_AFTER)
	double d;
	if (kf_parse_retry_after(body, size, &d) == 0 && !(d >= 0 && d <= 86400))
		abort();
#elif defined(FUZZ_B64URL)
	void *out = NULL;
	size_t n = 0;
	s = as_string(data, size);
	if (s && kf_b64url_decode(s, &out, &n) == 0) {
		/* What decodes encodes back to the same text. */
		char *again = kf_b64url_encode(out, n);
		if (!again || strcmp(again, s) != 0)
			abort();
		safe_free(again);
		safe_free(out);
	}
#elif defined(FUZZ_EVENTS)
	struct sched_doc doc;
	s = as_string(data, size);
	if (s) {
		(void)events_parse(s, "node-0", &doc);
		for (size_t i = 0; i < doc.n; i++)
			if (doc.ev[i].only_us && !doc.ev[i].for_us)
				abort();
		events_doc_free(&doc);
	}
#elif defined(FUZZ_LUKS_TOKEN)
	struct sc_token t;
	s = as_string(data, size);
	if (s && token_from_json(s, &t) == 0 && (t.index >= 64 || t.members > 64))
		abort();
#elif defined(FUZZ_HBI_TOKEN)
	char kid[512], *w = NULL;
	s = as_string(data, size);
	if (s && token_hbi_parse(s, kid, sizeof(kid), &w) == 0 && !w)
		abort();
	free(w);
#elif defined(FUZZ_NVME_VS)
	/* The bytes exactly as the controller hands them, no NUL added. */
	struct sys_platform_id id;
	if (nvme_vs_parse((const char *)data, size, &id) == 0 &&
	    (strlen(id.type) >= sizeof(id.type) || strlen(id.name) >= sizeof(id.name) || id.index > 9999))
		abort();
#else
#error "define one FUZZ_* target"
#endif
	free(s);
	return 0;
}
