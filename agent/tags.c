// SPDX-License-Identifier: MIT
#include "agent/tags.h"

#include <errno.h>

#include "agent/setup/keysource.h"
#include "base/log.h"
#include "keyfetch/keyfetch.h"

struct tag_ctx {
	struct cfg *c;
	struct reason why;
	int r;
};

static void on_tag(void *ctx, const char *name, const char *value)
{
	struct tag_ctx *t = ctx;

	if (t->r == 0 && cfg_apply_tag(t->c, name, value, &t->why) < 0)
		t->r = -EPERM;
}

/* [node] imds_tags: the node role and the HBI flag from instance metadata. */
int tags_apply(struct cfg *c, unsigned retry_cap_s)
{
	struct kf_config kc;
	struct tag_ctx t = { .c = c };
	struct kf_session *s = NULL;
	struct kf_error e = { 0 };
	struct reason why = { "" };
	int r;

	keysource_kf_config(c, false, retry_cap_s, &kc);
	r = kf_global_init();
	if (r < 0)
		return log_error_errno(r, "cannot read instance-metadata tags (imds_tags = true): "
				       "libcurl cannot be loaded: %m");
	r = kf_session_new(&kc, NULL, &s);
	if (r < 0)
		return log_error_errno(r, "cannot read instance-metadata tags (imds_tags = true): %m");
	r = kf_imds_tags(s, on_tag, &t, &e);
	kf_session_free(s);
	if (r < 0)
		return log_reason(LOG_LVL_ERROR, kf_error_reason(&why, r, "cannot read instance-metadata "
							 "tags (imds_tags = true)", &e), &why, "");
	if (t.r < 0)
		log_error("%s", t.why.text);
	return t.r;
}

