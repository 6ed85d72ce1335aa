#!/bin/sh
# 256 MiB patterned area, lazily migrated over RDMA, read back in random order;
# the transport selected by its name (--lazy-pages-transport rdma), not --rdma.
CRR_RDMA_SELECT=option exec test/guest/lazy-migrate.sh rdma 256
