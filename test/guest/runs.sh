#!/bin/bash
# Sourced by guest tests that run several migrations in a row:
#   run NAME [VAR=VALUE]... COMMAND [ARG]...
# runs COMMAND with the variables set, prints "=== NAME", then "ok: NAME" or
# "FAILED: NAME"; a failure sets rc=1 and the next run still goes.  The
# test ends with `exit $rc`.
rc=0
run() {
	local name=$1
	shift
	echo "=== $name"
	if env "$@"; then
		echo "ok: $name"
	else
		echo "FAILED: $name"
		rc=1
	fi
}
