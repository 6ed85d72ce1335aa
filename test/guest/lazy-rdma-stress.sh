#!/bin/sh
# Threads, fork, mremap and MADV_DONTNEED while pages are still remote, over RDMA.
exec test/guest/lazy-migrate.sh rdma 64 lazy-stress
