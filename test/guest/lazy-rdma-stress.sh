#!/bin/sh
# Threads, fork, mremap and MADV_DONTNEED while pages are still remote, over
# RDMA, selected by the 'rdma' key of a CRIU config file (not the flag).
CRR_RDMA_VIA_CONFIG=1 exec test/guest/lazy-migrate.sh rdma 64 lazy-stress
