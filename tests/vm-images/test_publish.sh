#!/bin/bash
# SPDX-License-Identifier: MIT
# vm-images/publish-gallery.sh against a stand-in az on PATH (tests/vm-images/az,
# which records every call and keeps the resources it made): the image
# definition Azure places on every size (generation 2, SCSI and NVMe disk
# controllers, Trusted Launch supported), the VHD as a page blob, the image
# version from it; an existing definition is reused only when it has those
# features; nothing is uploaded after a refusal; a failed az call is named.
set -u
here=$(cd "$(dirname "$0")" && pwd)
publish=$here/../../vm-images/publish-gallery.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PATH=$here:$PATH AZ_LOG=$tmp/calls AZ_STATE=$tmp/state.json
passed=0 failed=0
expect() { if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1"; cat "$tmp/out" 2>/dev/null; fi; }
# calls PATTERN: how many recorded calls match (a jq-free grep on the JSON lines).
calls() { grep -c -e "$1" "$AZ_LOG" 2>/dev/null || true; }
truncate -s $((64 * 1048576 + 512)) "$tmp/image.vhd"
args=(-g rg1 -l westeurope -r scgallery -i scratchcrypt-debian13 -a scstore -c images)

"$publish" "${args[@]}" -V 1.0.0 -t "westeurope northeurope" "$tmp/image.vhd" >"$tmp/out" 2>&1
expect "first publish exits 0" "[ $? = 0 ]"
expect "it creates the gallery" "[ \$(calls '^\[\"sig\", \"create\"') = 1 ]"
def=$(grep '^\["sig", "image-definition", "create"' "$AZ_LOG")
expect "the definition is generation 2" "grep -q '\"--hyper-v-generation\", \"V2\"' <<<'$def'"
expect "the definition has SCSI and NVMe disk controllers and supports Trusted Launch" \
	"grep -q '\"--features\", \"DiskControllerTypes=SCSI,NVMe SecurityType=TrustedLaunchSupported\"' <<<'$def'"
expect "the definition is a generalized Linux x64 image" \
	"grep -q '\"--os-type\", \"Linux\", \"--os-state\", \"Generalized\"' <<<'$def' && grep -q '\"--architecture\", \"x64\"' <<<'$def'"
expect "the VHD goes up as a page blob" \
	"grep '^\[\"storage\", \"blob\", \"upload\"' '$AZ_LOG' | grep -q '\"--type\", \"page\"'"
ver=$(grep '^\["sig", "image-version", "create"' "$AZ_LOG")
expect "the version is made from the uploaded blob" \
	"grep -q '\"--os-vhd-uri\", \"https://scstore.blob.core.windows.net/images/scratchcrypt-debian13-1.0.0.vhd\"' <<<'$ver'"
expect "the version is replicated to the regions asked" "grep -q '\"--target-regions\", \"westeurope\", \"northeurope\"' <<<'$ver'"
expect "it prints the version's id" "grep -q '/images/scratchcrypt-debian13/versions/1.0.0$' '$tmp/out'"
expect "no managed image" "[ \$(calls '\"image\", \"create\"') = 0 ]"

: >"$AZ_LOG"
"$publish" "${args[@]}" -V 1.0.1 "$tmp/image.vhd" >"$tmp/out" 2>&1
expect "a second version into the same definition exits 0" "[ $? = 0 ]"
expect "it reuses the definition" "[ \$(calls '\"image-definition\", \"create\"') = 0 ] && [ \$(calls '\"sig\", \"create\"') = 0 ]"
expect "and makes version 1.0.1" "[ \$(calls '\"-e\", \"1.0.1\"') -ge 1 ]"

# A definition made before, without NVMe: refused, nothing uploaded.
: >"$AZ_LOG"
az sig image-definition create -g rg1 -r scgallery -i old-scsi-only -l westeurope --publisher p --offer o \
	--sku s --os-type Linux --hyper-v-generation V2 --features SecurityType=TrustedLaunchSupported -o none
"$publish" -g rg1 -l westeurope -r scgallery -i old-scsi-only -a scstore -c images -V 1.0.0 "$tmp/image.vhd" >"$tmp/out" 2>&1
expect "a definition without NVMe is refused with 65" "[ $? = 65 ]"
expect "the refusal names the controllers" "grep -q \"disk controllers ''\" '$tmp/out' && grep -q 'new definition' '$tmp/out'"
expect "nothing is uploaded after the refusal" "[ \$(calls '\"storage\", \"blob\", \"upload\"') = 0 ]"

# Not a fixed VHD of whole MiB: 64 before any az call.
: >"$AZ_LOG"
truncate -s 1000000 "$tmp/bad.vhd"
"$publish" "${args[@]}" -V 1.0.2 "$tmp/bad.vhd" >"$tmp/out" 2>&1
expect "a VHD that is not fixed-size is refused with 64" "[ $? = 64 ] && grep -q 'not a fixed-size VHD' '$tmp/out'"
expect "without calling az" "[ ! -s '$AZ_LOG' ]"
"$publish" "${args[@]}" -V 1.0 "$tmp/image.vhd" >"$tmp/out" 2>&1
expect "a version that is not MAJOR.MINOR.PATCH is refused with 64" "[ $? = 64 ]"

# az fails: 69, naming the call and az's error.
AZ_FAIL="storage blob upload" "$publish" "${args[@]}" -V 1.0.3 "$tmp/image.vhd" >"$tmp/out" 2>&1
expect "a failed upload exits 69" "[ $? = 69 ]"
expect "naming the call and az's error" "grep -q 'az storage blob upload failed: ERROR: (AuthorizationFailed)' '$tmp/out'"
expect "and no version is made" "! az sig image-version show -g rg1 -r scgallery -i scratchcrypt-debian13 -e 1.0.3 -o none 2>/dev/null"

echo "publish-gallery: $passed passed, $failed failed"
[ "$failed" = 0 ]
