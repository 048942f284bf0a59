/* SPDX-License-Identifier: MIT */
#pragma once
/* Shared by the libFuzzer targets of tests/fuzz/, one file each. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The agent's errors would flood the fuzzer's output. */
static inline void fuzz_init(void)
{
	log_set_level(LOG_LVL_ERROR);
}

/* The input as a NUL-terminated string (inputs with a NUL stop there, as
 * in a file read by the agent); NULL when out of memory. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}
