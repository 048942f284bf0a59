/* SPDX-License-Identifier: MIT */
#pragma once
#include "agent/config.h"
#include "agent/detect/detect.h"

/* Writes the status as a Prometheus textfile-collector file for
 * node_exporter ([metrics] textfile), atomically, from det: what the
 * command detected (NULL when it detected nothing: then it detects once
 * here). Does nothing when the setting is empty or its directory does not
 * exist. */
int metrics_write(const struct cfg *c, const char *command, int exit_code,
		  const struct detection *det);
