#!/bin/bash
# SPDX-License-Identifier: MIT
# make check's last part: this machine's tests (ctest in BUILD, with
# CTEST_ARGS) and the other Debian suite's (tools/suite-check.sh) at once,
# each emulated node on a core of its own, then the bench's short form alone,
# since its ratios are timed side by side in one emulated node and share the
# machine with nothing.
#
#   check-suites.sh BUILD OTHER_SUITE [CTEST_ARGS...]
#
# The other suite's log goes to BUILD-OTHER_SUITE/suite-check.log and is
# printed when both are done. Exit status: 0 when all three passed.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: check-suites.sh BUILD OTHER_SUITE [CTEST_ARGS...]" >&2; exit 64; }
build=$1 suite=$2
shift 2
bench='^vm\.bench_short$'
log=$build-$suite/suite-check.log
mkdir -p "$build-$suite"
echo "check-suites: $suite's suite runs meanwhile; its log is $log, printed when it ends"
./tools/suite-check.sh "$suite" "$build-$suite" >"$log" 2>&1 &
other=$!
trap 'kill $other 2>/dev/null' INT TERM
(cd "$build" && ctest --output-on-failure -E "$bench" "$@")
host_rc=$?
echo "check-suites: this machine's tests are done (exit $host_rc); waiting for $suite's"
wait "$other"
other_rc=$?
echo "check-suites: ---- $suite ($log) ----"
cat "$log"
echo "check-suites: ---- end of $suite ----"
(cd "$build" && ctest --output-on-failure -R "$bench")
bench_rc=$?
echo "check-suites: this machine: exit $host_rc; $suite: exit $other_rc; bench: exit $bench_rc"
[ "$host_rc" = 0 ] && [ "$other_rc" = 0 ] && [ "$bench_rc" = 0 ]
