// SPDX-License-Identifier: GPL-2.0-only
/*
 * A lazy dump driven through CRIU's RPC, as runc drives it, with the
 * lazy-pages transport set in the request's lazy_pages_transport field
 * (TRANSPORT "-": not set) and optionally a configuration file named in
 * config_file, as runc names /etc/criu/runc.conf:
 *
 *   rpc-lazy-dump CRIU PID IMGDIR TRANSPORT ADDRESS PORT [CONFIG]
 *
 * Runs 'CRIU swrk', sends the dump request (log: IMGDIR/dump.log, level 4)
 * and prints the response.  Exits 0 if the dump succeeded, 1 if CRIU
 * answered that it failed, 2 if it could not ask, 3 if CRIU did not answer
 * within 30 s (it is killed: a CRIU that ignored the transport serves over
 * TCP and would wait for a lazy-pages daemon forever).  Plugins come from
 * $CRIU_LIBS_DIR (RPC has no --libdir).  Built by test/run-all.sh against
 * the patched CRIU's images/rpc.pb-c.c.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "rpc.pb-c.h"

#define MAX_MSG 4096

static pid_t criu_pid;

static void timed_out(int sig)
{
	(void)sig;
	kill(criu_pid, SIGKILL);
	_exit(3);
}

int main(int argc, char **argv)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuOpts opts = CRIU_OPTS__INIT;
	CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;
	CriuResp *resp;
	unsigned char buf[MAX_MSG];
	char fdstr[16];
	int sk[2], dirfd, status, ret;
	size_t len;
	ssize_t n;
	pid_t pid;

	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: %s CRIU PID IMGDIR TRANSPORT|- ADDRESS PORT [CONFIG]\n", argv[0]);
		return 2;
	}
	dirfd = open(argv[3], O_DIRECTORY);
	if (dirfd < 0 || socketpair(AF_LOCAL, SOCK_SEQPACKET, 0, sk)) {
		perror("rpc-lazy-dump: set-up");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("rpc-lazy-dump: fork");
		return 2;
	}
	if (pid == 0) {
		close(sk[0]);
		snprintf(fdstr, sizeof(fdstr), "%d", sk[1]);
		execl(argv[1], argv[1], "swrk", fdstr, (char *)NULL);
		perror("rpc-lazy-dump: exec");
		_exit(2);
	}
	close(sk[1]);
	criu_pid = pid;
	signal(SIGALRM, timed_out);
	alarm(30);

	opts.images_dir_fd = dirfd;
	opts.has_pid = 1;
	opts.pid = atoi(argv[2]);
	opts.has_lazy_pages = 1;
	opts.lazy_pages = 1;
	if (strcmp(argv[4], "-"))
		opts.lazy_pages_transport = argv[4];
	if (argc == 8)
		opts.config_file = argv[7];
	opts.has_log_level = 1;
	opts.log_level = 4;
	opts.log_file = "dump.log";
	ps.address = argv[5];
	ps.has_port = 1;
	ps.port = atoi(argv[6]);
	opts.ps = &ps;
	req.type = CRIU_REQ_TYPE__DUMP;
	req.opts = &opts;

	len = criu_req__get_packed_size(&req);
	if (len > sizeof(buf)) {
		fprintf(stderr, "rpc-lazy-dump: request too large\n");
		return 2;
	}
	criu_req__pack(&req, buf);
	if (write(sk[0], buf, len) != (ssize_t)len) {
		perror("rpc-lazy-dump: send");
		return 2;
	}
	n = read(sk[0], buf, sizeof(buf));
	if (n <= 0) {
		perror("rpc-lazy-dump: no response");
		return 2;
	}
	resp = criu_resp__unpack(NULL, n, buf);
	if (!resp) {
		fprintf(stderr, "rpc-lazy-dump: bad response\n");
		return 2;
	}
	printf("rpc-lazy-dump: success=%d cr_errno=%d\n", resp->success, resp->has_cr_errno ? resp->cr_errno : 0);
	ret = resp->success ? 0 : 1;
	criu_resp__free_unpacked(resp, NULL);
	close(sk[0]);
	waitpid(pid, &status, 0);
	return ret;
}
