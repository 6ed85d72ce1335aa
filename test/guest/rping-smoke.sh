#!/bin/sh
# Soft-RoCE sanity in one guest: rping to our own address through rxe0.
set -e
rdma link show
rping -s -a "$CRR_IP" -C 3 > /tmp/rping-server.log 2>&1 &
sleep 1
timeout 30 rping -c -a "$CRR_IP" -C 3 -v
wait
