// SPDX-License-Identifier: MIT
/* Warnings of a detection, which every file of agent/detect/ may add. */
#include <stdarg.h>
#include <stdio.h>

#include "agent/detect/detect-internal.h"

void detect_warn(struct detection *det, const char *fmt, ...)
{
	va_list ap;

	if (det->n_warnings >= sizeof(det->warnings) / sizeof(det->warnings[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(det->warnings[det->n_warnings++], sizeof(det->warnings[0]), fmt, ap);
	va_end(ap);
}
