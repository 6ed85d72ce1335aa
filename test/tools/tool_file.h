/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the test and bench workloads share: the word pattern they fill their
 * memory with and check it against, and the way they tell their driver
 * something (a file in DIR that appears whole, as its driver polls for it).
 */
#ifndef CRR_TOOL_FILE_H
#define CRR_TOOL_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * A word's content from its address: a page read from the wrong place, or a
 * zero page, never matches.  @salt tells apart workloads (or tasks) that
 * hold different data at the same addresses.
 */
static inline uint64_t tool_pattern(uint64_t va, uint64_t salt)
{
	return (va * 0x9e3779b97f4a7c15ULL) ^ salt;
}

/* lazy-pattern's and lazy-remap's salt: rogue-peer looks for their bytes in what a READ returns */
#define TOOL_LAZY_PATTERN_SALT 0xa5a5c3c3f0f00ff0ULL

/* Writes DIR/NAME through a rename, so that a reader never sees it half written; exits 3 on failure. */
static inline void tool_put(const char *dir, const char *name, const char *text)
{
	char tmp[4096], path[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(tmp, "w");
	if (!f)
		exit(3);
	fputs(text, f);
	if (fclose(f) || rename(tmp, path))
		exit(3);
}

#endif
