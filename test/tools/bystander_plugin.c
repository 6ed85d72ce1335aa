// SPDX-License-Identifier: GPL-2.0-only
/*
 * A CRIU plugin that provides no lazy-pages transport, like a device
 * plugin: the lazy-pages daemon and the page server must not initialise
 * it.  Each init appends the stage to $CRR_BYSTANDER_MARK, so a test sees
 * where CRIU initialised it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "criu-plugin.h"

static int bystander_init(int stage)
{
	const char *mark = getenv("CRR_BYSTANDER_MARK");
	FILE *f;

	if (!mark)
		return 0;
	f = fopen(mark, "a");
	if (!f)
		return -1;
	fprintf(f, "init %d\n", stage);
	return fclose(f) ? -1 : 0;
}

static void bystander_fini(int stage, int ret)
{
	(void)stage;
	(void)ret;
}

static int bystander_post_forking(void)
{
	return 0;
}

CR_PLUGIN_REGISTER("bystander", bystander_init, bystander_fini)

CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__POST_FORKING, bystander_post_forking)
