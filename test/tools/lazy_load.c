// SPDX-License-Identifier: GPL-2.0-only
/*
 * lazy-load DIR TASKS THREADS MIB: many tasks, many threads, all faulting
 * at once -- the load a lazy migration must survive without a lost wake-up.
 *
 * The parent forks TASKS children; each fills MIB of its own anonymous
 * memory with a pattern of its index and each word's address.  Once all
 * are filled the parent writes DIR/ready and every child waits for
 * DIR/check.  Then each child starts THREADS threads that all read every
 * page of the child's memory, each in its own random order, so several
 * threads fault on the same page at the same moment.  A child exits 0 only
 * if every thread saw every byte right; the parent writes DIR/result
 * ("OK ..." or "FAIL ...") once every child has ended, and exits 0 on OK.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool_file.h"

static uint64_t *mem;
static size_t pages, page_words;
static unsigned int task_index;

static uint64_t pattern(uint64_t va)
{
	return tool_pattern(va, 0x5bd1e9955bd1e995ULL * (task_index + 1));
}

/* One thread: every page, in an order of its own; the number of bad words. */
static void *reader(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x2545f4914f6cdd1dULL + task_index + 1, bad = 0;
	size_t *order = malloc(pages * sizeof(*order)), i;

	if (!order)
		return (void *)(uintptr_t)1;
	for (i = 0; i < pages; i++)
		order[i] = i;
	for (i = pages - 1; i > 0; i--) {
		size_t j, t;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		j = seed % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < pages; i++) {
		const uint64_t *p = mem + order[i] * page_words;
		size_t w;

		for (w = 0; w < page_words; w++)
			bad += p[w] != pattern((uintptr_t)&p[w]);
	}
	free(order);
	return (void *)(uintptr_t)bad;
}

static int child(const char *dir, unsigned int threads, size_t len, int ready_fd)
{
	pthread_t *tids = calloc(threads, sizeof(*tids));
	char check[4096];
	uint64_t bad = 0;
	size_t i;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || !tids)
		return 3;
	madvise(mem, len, MADV_NOHUGEPAGE);
	for (i = 0; i < len / 8; i++)
		mem[i] = pattern((uintptr_t)&mem[i]);
	if (write(ready_fd, "r", 1) != 1)
		return 3;
	close(ready_fd);

	snprintf(check, sizeof(check), "%s/check", dir);
	while (access(check, F_OK))
		usleep(20000);
	for (i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, reader, (void *)(uintptr_t)i))
			return 3;
	for (i = 0; i < threads; i++) {
		void *ret;

		pthread_join(tids[i], &ret);
		bad += (uintptr_t)ret;
	}
	if (bad)
		fprintf(stderr, "task %u: %llu bad words\n", task_index, (unsigned long long)bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned int tasks, threads, i, failed = 0;
	size_t len;
	char msg[256];
	int sync[2];

	if (argc != 5)
		return 2;
	tasks = (unsigned int)strtoul(argv[2], NULL, 10);
	threads = (unsigned int)strtoul(argv[3], NULL, 10);
	len = strtoul(argv[4], NULL, 10) << 20;
	page_words = (size_t)sysconf(_SC_PAGESIZE) / 8;
	pages = len / (page_words * 8);
	if (!tasks || !threads || !pages || pipe(sync))
		return 2;
	for (i = 0; i < tasks; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 3;
		if (pid == 0) {
			task_index = i;
			close(sync[0]);
			_exit(child(argv[1], threads, len, sync[1]));
		}
	}
	close(sync[1]);
	for (i = 0; i < tasks; i++)
		if (read(sync[0], msg, 1) != 1)
			return 3;
	snprintf(msg, sizeof(msg), "ready %u tasks\n", tasks);
	tool_put(argv[1], "ready", msg);

	for (i = 0; i < tasks; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	if (failed)
		snprintf(msg, sizeof(msg), "FAIL: %u of %u tasks saw wrong memory or died\n", failed, tasks);
	else
		snprintf(msg, sizeof(msg), "OK %u tasks x %u threads verified %zu pages each\n", tasks, threads, pages);
	tool_put(argv[1], "result", msg);
	return failed ? 1 : 0;
}
