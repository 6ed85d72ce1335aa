#!/bin/sh
# Runs guest tests one after another inside one booted guest (one boot is
# ~15 s under TCG, so tests share it).  Each test gets its own log in
# $CRR_OUT and a timeout; the exit status is non-zero if any test failed.
#   suite.sh TEST...      (paths relative to the repository)
failed=0
for t in "$@"; do
	name=$(basename "$t" .sh)
	start=$(date +%s)
	if timeout -k 5 "${CRR_TEST_TIMEOUT:-900}" "$t" > "$CRR_OUT/$name.log" 2>&1; then
		res=PASS
	else
		res="FAIL($?)"
		failed=1
	fi
	echo "$res $name $(( $(date +%s) - start ))s"
	if [ "$res" != PASS ]; then
		echo "--- last lines of $name.log:"
		tail -n 40 "$CRR_OUT/$name.log"
		echo "---"
	fi
done
exit $failed
