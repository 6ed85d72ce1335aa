#!/bin/sh
# Source guest of the two-host test: export 32 MiB over rxe0 and wait until
# the target guest has read and verified it.
set -e
timeout 240 build/test/tools/rdma-read-check serve "$CRR_IP" 7472 32
