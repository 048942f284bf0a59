#!/bin/sh
# SPDX-License-Identifier: MIT
# run-fuzz.sh BUILD_DIR SECONDS: runs every fuzz target in BUILD_DIR for
# SECONDS each, starting from its committed corpus. New inputs go to a
# scratch directory, so the tree stays as it is; a crash leaves its input
# in BUILD_DIR/fuzz-artifacts and fails the run.
set -eu
build=$1 seconds=$2
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build/fuzz-artifacts"
for bin in "$build"/tests/fuzz/fuzz_*; do
	t=${bin##*/fuzz_}
	work=$(mktemp -d)
	echo "fuzz: $t for ${seconds}s"
	if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=0 -artifact_prefix="$build/fuzz-artifacts/$t-" \
		"$work" "$here/tests/fuzz/corpus/$t" >"$build/fuzz-artifacts/$t.log" 2>&1; then
		tail -40 "$build/fuzz-artifacts/$t.log"
		echo "fuzz: $t FAILED; its input is in $build/fuzz-artifacts/" >&2
		rm -rf "$work"
		exit 1
	fi
	grep -E "^#[0-9]+.*DONE" "$build/fuzz-artifacts/$t.log" | tail -1 || true
	rm -rf "$work"
done
