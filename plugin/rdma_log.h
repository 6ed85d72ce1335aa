/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging through CRIU's own log (print_on_level, exported by the criu
 * binary), so plugin messages land in criu's log file with its levels.
 * Standalone tools link tool_log.c, which provides print_on_level on stderr.
 */
#ifndef __CRIU_RDMA_LOG_H__
#define __CRIU_RDMA_LOG_H__

#ifndef LOG_PREFIX
#define LOG_PREFIX "rdma: "
#endif

#include <stdbool.h>
#include "log.h" /* CRIU's, from the patched tree */

#endif
