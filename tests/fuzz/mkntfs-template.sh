#!/bin/sh
# SPDX-License-Identifier: MIT
# mkntfs-template.sh OUT: a 2 MiB NTFS volume as Azure's resource disk has
# one (label, the data-loss warning file), 512-byte clusters, for fuzz_ntfs.
set -eu
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 2M "$tmp/v.img"
mkntfs -q -F -Q -s 512 -c 512 -H 255 -S 63 -L "Temporary Storage" "$tmp/v.img" >/dev/null 2>&1
printf 'WARNING: THIS IS A TEMPORARY DISK.\r\n' >"$tmp/w.txt"
ntfscp -q "$tmp/v.img" "$tmp/w.txt" DATALOSS_WARNING_README.txt
mv "$tmp/v.img" "$out"
