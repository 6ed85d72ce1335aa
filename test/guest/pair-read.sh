#!/bin/sh
# Target guest of the two-host test: connect to the source guest with rdma_cm
# and READ its exported memory across the virtual wire, verifying every byte.
# The source may still be booting: retry the connection for a while.
for i in $(seq 1 40); do
	if timeout 120 build/test/tools/rdma-read-check read "$CRR_PEER" 7472; then
		exit 0
	fi
	echo "attempt $i failed, retrying"
	sleep 2
done
exit 1
