#!/bin/sh
# 256 MiB patterned area, lazily migrated over RDMA, read back in random order.
exec test/guest/lazy-migrate.sh rdma 256
