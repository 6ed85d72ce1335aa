// SPDX-License-Identifier: GPL-2.0-only
/* print_on_level for programs that use the plugin's code outside CRIU. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "rdma_log.h"

static unsigned int tool_loglevel(void)
{
	const char *v = getenv("CRIU_RDMA_LOGLEVEL");

	return v ? (unsigned int)atoi(v) : LOG_INFO;
}

void print_on_level(unsigned int loglevel, const char *format, ...)
{
	va_list ap;

	if (loglevel != LOG_MSG && loglevel > tool_loglevel())
		return;
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
}
