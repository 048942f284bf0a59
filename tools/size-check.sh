#!/bin/sh
# SPDX-License-Identifier: MIT
# size-check.sh SRCDIR: the agent's sources stay readable: no file over
# 400 lines, no function body over 60, no function with more than 7
# parameters (pass a struct), and one cleanup idiom: the only label is
# "out:", which every exit that has something to release goes through
# (cryptsetup's convention). Prints each offender; fails if there is one.
set -eu
cd "$1"
files=$(find base dm keyfetch agent -name '*.c' | sort)
bad=0
for f in $files; do
	n=$(wc -l <"$f")
	if [ "$n" -gt 400 ]; then
		echo "$f: $n lines (the limit is 400)"
		bad=1
	fi
done
if grep -nE '^[a-z_]+:[[:space:]]*$' $files | grep -v ':out:[[:space:]]*$'; then
	echo "(labels other than out: above)"
	bad=1
fi
# A definition starts at column 0 and its body is the lines between "{"
# and "}" at column 0 (the tree's style).
awk '
	FNR == 1 { sig = ""; inbody = 0 }
	/^[a-z_].*\(/ && !/;[[:space:]]*$/ && !inbody { sig = $0; line = FNR; collecting = !/\)[[:space:]]*$/; next }
	collecting { sig = sig " " $0; if ($0 ~ /\)[[:space:]]*$/) collecting = 0; next }
	/^\{/ && sig != "" { inbody = 1; start = FNR; next }
	/^\}/ && inbody {
		inbody = 0
		len = FNR - start - 1
		params = sig; sub(/^[^(]*\(/, "", params); sub(/\)[^)]*$/, "", params)
		np = (params == "void" || params == "") ? 0 : gsub(/,/, ",", params) + 1
		name = sig; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
		if (len > 60) { printf "%s:%d: %s: %d lines (the limit is 60)\n", FILENAME, line, name, len; bad = 1 }
		if (np > 7) { printf "%s:%d: %s: %d parameters (the limit is 7)\n", FILENAME, line, name, np; bad = 1 }
		sig = ""
	}
	END { exit bad }
' $files || bad=1
exit $bad
