/* SPDX-License-Identifier: MIT */
#pragma once
#include "agent/config.h"

/* [node] imds_tags = true: the node role and the HBI flag from the
 * instance-metadata tags (CFG_TAG_ROLE, CFG_TAG_HBI). Logs what went wrong;
 * returns 0 or -errno. */
/* Retries within retry_cap_s seconds. */
int tags_apply(struct cfg *c, unsigned retry_cap_s);
