#!/bin/sh
# SPDX-License-Identifier: MIT
# The build's layer checks catch what they are for: an include of a layer
# above (tools/include-check.sh) and two files calling each other
# (tools/call-cycles.sh). The build runs both on the real tree.
set -eu
tools=$(cd "$(dirname "$0")/../../tools" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$tmp/tree/dm" "$tmp/tree/agent/setup" "$tmp/tree/base" "$tmp/tree/keyfetch"
printf '#include "base/log.h"\n' >"$tmp/tree/dm/ok.c"
"$tools/include-check.sh" "$tmp/tree" || fail "a downward include was refused"
printf '#include "agent/setup/plan.h"\n' >"$tmp/tree/dm/up.c"
out=$("$tools/include-check.sh" "$tmp/tree" 2>&1) && fail "dm including agent/setup passed"
case $out in *"dm/up.c: includes agent/setup/plan.h"*) ;; *) fail "no file named: $out" ;; esac

printf 'int b(void);\nint a(void) { return b(); }\n' >"$tmp/a.c"
printf 'int a(void);\nint b(void) { return 1; }\nint c(void) { return a(); }\n' >"$tmp/b.c"
printf 'int a(void);\nint d(void) { return a(); }\n' >"$tmp/d.c"
cc -c -o "$tmp/a.o" "$tmp/a.c" && cc -c -o "$tmp/b.o" "$tmp/b.c" && cc -c -o "$tmp/d.o" "$tmp/d.c"
ar rcs "$tmp/libok.a" "$tmp/a.o" "$tmp/d.o"
"$tools/call-cycles.sh" "$tmp/libok.a" 2>/dev/null || fail "a one-way call was refused"
ar rcs "$tmp/libcycle.a" "$tmp/a.o" "$tmp/b.o"
out=$("$tools/call-cycles.sh" "$tmp/libcycle.a" 2>&1) && fail "a.c and b.c calling each other passed"
case $out in *"a.o <-> b.o"*) ;; *) fail "the pair is not named: $out" ;; esac
echo "layer checks: ok"
