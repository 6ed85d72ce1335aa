#!/bin/sh
# The same workload over CRIU's own TCP page server (the reference).
exec test/guest/lazy-migrate.sh tcp 64
