#!/bin/sh
# In one guest: an RDMA READ between two of our own processes through rxe0,
# using the plugin's connection and control-protocol code.
set -e
tool=build/test/tools/rdma-read-check
port=7471
$tool serve "$CRR_IP" $port 64 > /tmp/serve.log 2>&1 &
server=$!
# (filling 64 MiB under emulation can take longer than a fixed sleep: wait until it listens)
for _ in $(seq 300); do grep -q "^serving" /tmp/serve.log 2>/dev/null && break; sleep 0.1; done
timeout 120 $tool read "$CRR_IP" $port
wait $server
cat /tmp/serve.log
grep -q "peer closed" /tmp/serve.log
