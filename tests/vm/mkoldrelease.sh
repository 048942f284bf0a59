#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the scratchcrypt binary of an earlier release, from this
# repository's history, for the upgrade tests:
#   mkoldrelease.sh SRC REV OUT   ->   OUT/scratchcrypt
# REV is a commit (tests/vm/themes/upgrade.py names it; the tag v0.1.0
# marks it). Built once per REV. Exit 77 when the clone is shallow and
# lacks REV.
set -euo pipefail
src=$1 rev=$2 out=$3
[ -e "$out/.built-$rev" ] && exit 0
if ! git -C "$src" cat-file -e "$rev^{commit}" 2>/dev/null; then
	if [ "$(git -C "$src" rev-parse --is-shallow-repository 2>/dev/null)" = true ]; then
		echo "mkoldrelease: this clone is shallow and lacks $rev (git fetch --unshallow)" >&2
		exit 77
	fi
	echo "mkoldrelease: $rev is not in $src's history" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$out/src"
git -C "$src" archive "$rev" | tar -x -C "$out/src"
cmake -S "$out/src" -B "$out/build" -DSCRATCHCRYPT_WERROR=OFF -DSCRATCHCRYPT_CRASHPOINTS=OFF \
	-DBUILD_TESTING=OFF >"$out/cmake.log"
cmake --build "$out/build" -j2 --target scratchcrypt >"$out/build.log"
cp "$out/build/scratchcrypt" "$out/scratchcrypt"
touch "$out/.built-$rev"
