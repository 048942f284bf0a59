#!/bin/sh
# SPDX-License-Identifier: MIT
# call-cycles.sh LIB.a...: fails when two object files of a library call
# each other (A uses a symbol B defines and B one A defines). What both
# need belongs in a lower file of its own. Run after each library is built.
set -eu
status=0
for lib in "$@"; do
	# "object defined|undefined symbol" for every object of the archive.
	nm -A --defined-only "$lib" 2>/dev/null | awk -F'[: ]+' '$(NF-1) ~ /^[TDRBC]$/ { print $2, $NF }' | sort -u >"$lib.defs"
	nm -A --undefined-only "$lib" 2>/dev/null | awk -F'[: ]+' '{ print $2, $NF }' | sort -u >"$lib.uses"
	# object-that-uses object-that-defines, once per pair
	pairs=$(awk 'NR == FNR { def[$2] = $1; next } ($2 in def) && def[$2] != $1 { print $1, def[$2] }' \
		"$lib.defs" "$lib.uses" | sort -u)
	rm -f "$lib.defs" "$lib.uses"
	cycles=$(printf '%s\n' "$pairs" | awk 'NF == 2 { seen[$1 " " $2] = 1 } END { for (p in seen) { split(p, a, " "); if ((a[2] " " a[1]) in seen && a[1] < a[2]) print a[1] " <-> " a[2] } }')
	if [ -n "$cycles" ]; then
		printf '%s: these files call each other:\n%s\n' "${lib##*/}" "$cycles" >&2
		status=1
	fi
done
exit $status
