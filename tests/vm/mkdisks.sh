#!/bin/bash
# SPDX-License-Identifier: MIT
# Makes the pristine disk images the VM scenarios start from, in DIR:
#   resource.img  Azure's resource-disk layout: MBR, one NTFS partition
#                 labelled "Temporary Storage" holding only
#                 DATALOSS_WARNING_README.txt (mkntfs, ntfscp)
#   ext4-data.img an ext4 filesystem with files (someone's data)
#   os.img        a small ext4 filesystem the guest mounts at /boot
#   state.img     an empty ext4 filesystem: the node's /var/lib/scratchcrypt,
#                 which outlives a reboot as the OS disk does (the node key)
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

truncate -s 16M "$dir/state.img"
mkfs.ext4 -q -F -L sc-state "$dir/state.img"

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

# A resource disk over 2 TiB comes as GPT: a Microsoft reserved partition
# first, the NTFS one second (here small, the layout is what counts), with
# the warning file's name in lower case (cloud-init compares without case).
truncate -s 256M "$dir/resource-gpt.img"
printf 'label: gpt\nstart=2048, size=32768, type=E3C9E316-0B5C-4DB8-817D-F92DF00215AE\nstart=34816, size=409600, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n' |
	sfdisk -q "$dir/resource-gpt.img"
rm -f "$tmp/part3.img"
truncate -s $(( 409600 * 512 )) "$tmp/part3.img"
mkntfs -q -F -Q -s 512 -L "Temporary Storage" -p 34816 -H 255 -S 63 "$tmp/part3.img" >/dev/null 2>&1
ntfscp -q "$tmp/part3.img" "$tmp/warn.txt" dataloss_warning_readme.txt
dd if="$tmp/part3.img" of="$dir/resource-gpt.img" bs=512 seek=34816 conv=notrunc,sparse status=none

python3 "$(dirname "$0")/mkhostile.py" "$dir"
