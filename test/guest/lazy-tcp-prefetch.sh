#!/bin/sh
# A backward scan over CRIU's TCP page server, the pull held back: the
# prefetch is CRIU's, transport-neutral.
CRR_BG_DELAY=15000 CRR_EXPECT_PREFETCH=1 exec test/guest/lazy-migrate.sh tcp 64 lazy-pattern rscan
