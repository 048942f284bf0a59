#!/bin/bash
# SPDX-License-Identifier: MIT
# Publishes an image made by build-image.sh --vhd as a version of an Azure
# Compute Gallery image definition, the only kind of image Azure places on
# every size: NVMe-only sizes (the v6 families, whose temp disks are NVMe)
# run only images tagged DiskControllerTypes=SCSI,NVMe, and Trusted Launch
# needs a gallery image with a security type that supports it. A managed
# image (az image create) has neither.
#
#   publish-gallery.sh -g RESOURCE_GROUP -l LOCATION -r GALLERY -i DEFINITION
#       -a STORAGE_ACCOUNT -c CONTAINER -V VERSION [-p PUBLISHER] [-o OFFER]
#       [-s SKU] [-t "REGION ..."] VHD
#
# It creates the gallery and the image definition when they do not exist
# (generation 2, x64, Linux, generalized; features
# DiskControllerTypes=SCSI,NVMe and SecurityType=TrustedLaunchSupported) and
# refuses an existing definition that lacks those features, since they can't
# be changed after creation. It uploads VHD as a page blob and makes image
# version VERSION from it, replicated to the target regions (default
# LOCATION). Uses the Azure CLI on PATH, logged in (az login). Exit codes:
# 0 published, 64 usage, 65 an existing definition without the features,
# 69 an az call failed (its error is shown).
set -euo pipefail
usage() {
	echo "usage: publish-gallery.sh -g RESOURCE_GROUP -l LOCATION -r GALLERY -i DEFINITION -a STORAGE_ACCOUNT -c CONTAINER -V VERSION [-p PUBLISHER] [-o OFFER] [-s SKU] [-t \"REGION ...\"] VHD" >&2
	exit 64
}
rg="" loc="" gallery="" def="" account="" container="" version=""
publisher=scratchcrypt offer=scratchcrypt-debian sku="" regions=""
while getopts "g:l:r:i:a:c:V:p:o:s:t:" opt; do
	case $opt in
	g) rg=$OPTARG ;; l) loc=$OPTARG ;; r) gallery=$OPTARG ;; i) def=$OPTARG ;;
	a) account=$OPTARG ;; c) container=$OPTARG ;; V) version=$OPTARG ;;
	p) publisher=$OPTARG ;; o) offer=$OPTARG ;; s) sku=$OPTARG ;; t) regions=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 1 ] || usage
vhd=$1
for v in rg loc gallery def account container version; do
	[ -n "${!v}" ] || { echo "publish-gallery: a value for $v is needed" >&2; usage; }
done
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
	{ echo "publish-gallery: version '$version' is not MAJOR.MINOR.PATCH, as the gallery requires" >&2; exit 64; }
[ -r "$vhd" ] || { echo "publish-gallery: cannot read $vhd" >&2; exit 64; }
size=$(stat -c %s "$vhd")
# A fixed VHD: a whole number of MiB plus its 512-byte footer.
[ $(((size - 512) % 1048576)) = 0 ] ||
	{ echo "publish-gallery: $vhd is not a fixed-size VHD of whole MiB ($size bytes); make it with build-image.sh --vhd" >&2; exit 64; }
sku=${sku:-$def}
regions=${regions:-$loc}
features="DiskControllerTypes=SCSI,NVMe SecurityType=TrustedLaunchSupported"

az_() {
	local out
	if ! out=$(az "$@" 2>&1); then
		echo "publish-gallery: az $1 $2 $3 failed: $out" >&2
		exit 69
	fi
	printf '%s' "$out"
}

if ! az sig show -g "$rg" -r "$gallery" -o none 2>/dev/null; then
	echo "publish-gallery: creating gallery $gallery"
	az_ sig create -g "$rg" -r "$gallery" -l "$loc" -o none
fi
if az sig image-definition show -g "$rg" -r "$gallery" -i "$def" -o none 2>/dev/null; then
	show() { az_ sig image-definition show -g "$rg" -r "$gallery" -i "$def" --query "$1" -o tsv; }
	gen=$(show hyperVGeneration)
	ctl=$(show "features[?name=='DiskControllerTypes'].value | [0]")
	sec=$(show "features[?name=='SecurityType'].value | [0]")
	if [ "$gen" != V2 ] || [[ ",${ctl// /}," != *",SCSI,"* || ",${ctl// /}," != *",NVMe,"* ]] ||
		[[ "$sec" != TrustedLaunchSupported && "$sec" != TrustedLaunch && "$sec" != TrustedLaunchAndConfidentialVmSupported ]]; then
		echo "publish-gallery: image definition $def exists with generation '$gen', disk controllers '$ctl', security type '$sec'; Azure places it on every size only with V2, SCSI,NVMe and a Trusted Launch type, which can't be changed: use a new definition name" >&2
		exit 65
	fi
else
	echo "publish-gallery: creating image definition $def ($features)"
	az_ sig image-definition create -g "$rg" -r "$gallery" -i "$def" -l "$loc" \
		--publisher "$publisher" --offer "$offer" --sku "$sku" \
		--os-type Linux --os-state Generalized --hyper-v-generation V2 --architecture x64 \
		--features "$features" -o none
fi

blob=$def-$version.vhd
echo "publish-gallery: uploading $vhd as page blob $container/$blob"
az_ storage blob upload --auth-mode login --account-name "$account" --container-name "$container" \
	--name "$blob" --file "$vhd" --type page --overwrite false -o none
url=$(az_ storage blob url --auth-mode login --account-name "$account" --container-name "$container" \
	--name "$blob" -o tsv)
account_id=$(az_ storage account show -g "$rg" -n "$account" --query id -o tsv)
echo "publish-gallery: creating image version $version"
# shellcheck disable=SC2086
az_ sig image-version create -g "$rg" -r "$gallery" -i "$def" -e "$version" -l "$loc" \
	--os-vhd-uri "$url" --os-vhd-storage-account "$account_id" --target-regions $regions -o none
az_ sig image-version show -g "$rg" -r "$gallery" -i "$def" -e "$version" --query id -o tsv
echo
