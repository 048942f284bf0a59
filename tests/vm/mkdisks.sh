#!/bin/bash
# SPDX-License-Identifier: MIT
# Makes the pristine disk images the VM scenarios start from, in DIR:
#   resource.img  Azure's resource-disk layout: MBR, one NTFS partition
#                 labelled "Temporary Storage" holding only
#                 DATALOSS_WARNING_README.txt (mkntfs, ntfscp)
#   ext4-data.img an ext4 filesystem with files (someone's data)
#   os.img        a small ext4 filesystem the guest mounts at /boot
# and the hostile layouts of mkhostile.py.
set -euo pipefail
dir=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Resource disk: 256 MiB, partition from sector 2048 to the end.
truncate -s 256M "$dir/resource.img"
echo 'start=2048, type=7' | sfdisk -q "$dir/resource.img"
part_sectors=$(( 256 * 2048 - 2048 ))
truncate -s $(( part_sectors * 512 )) "$tmp/part.img"
mkntfs -q -F -Q -s 512 -L "Temporary Storage" -p 2048 -H 255 -S 63 "$tmp/part.img" >/dev/null 2>&1
printf 'WARNING: THIS IS A TEMPORARY DISK.\r\n\r\nAny data stored on this drive is SUBJECT TO LOSS and THERE IS NO WAY TO RECOVER IT.\r\n' >"$tmp/warn.txt"
ntfscp -q "$tmp/part.img" "$tmp/warn.txt" DATALOSS_WARNING_README.txt
dd if="$tmp/part.img" of="$dir/resource.img" bs=1M seek=1 conv=notrunc,sparse status=none

# Someone's data.
mkdir -p "$tmp/data/projects"
for i in 1 2 3; do
	echo "precious customer record $i" >"$tmp/data/projects/record-$i.txt"
done
truncate -s 64M "$dir/ext4-data.img"
mkfs.ext4 -q -F -L userdata -d "$tmp/data" "$dir/ext4-data.img"

truncate -s 32M "$dir/os.img"
mkdir -p "$tmp/os"
echo "vmlinuz placeholder" >"$tmp/os/vmlinuz"
mkfs.ext4 -q -F -L boot -d "$tmp/os" "$dir/os.img"

# A disk that starts with data no signature describes.
truncate -s 64M "$dir/random-head.img"
head -c 4096 /dev/urandom | dd of="$dir/random-head.img" bs=4096 seek=16 conv=notrunc status=none

# An empty GPT.
truncate -s 64M "$dir/gpt.img"
echo 'label: gpt' | sfdisk -q "$dir/gpt.img"

# A resource disk someone has used: a file of theirs beside the warning.
cp --sparse=always "$dir/resource.img" "$tmp/res.img"
dd if="$tmp/res.img" of="$tmp/part2.img" bs=1M skip=1 status=none
echo "my results" >"$tmp/results.csv"
ntfscp -q "$tmp/part2.img" "$tmp/results.csv" results.csv
cp --sparse=always "$dir/resource.img" "$dir/resource-used.img"
dd if="$tmp/part2.img" of="$dir/resource-used.img" bs=1M seek=1 conv=notrunc,sparse status=none

python3 "$(dirname "$0")/mkhostile.py" "$dir"
