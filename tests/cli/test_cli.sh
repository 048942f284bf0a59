#!/bin/bash
# SPDX-License-Identifier: MIT
# The CLI contract that other tools depend on: usage errors give 64, bad
# configuration gives 78 naming the file, the line and the key. None of these
# reach a disk, so they run on the build machine.
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SCRATCHCRYPT_RUNTIME_DIR=$tmp/run
passed=0 failed=0

# expect WANT_RC NEEDLE ARGS...: NEEDLE must appear in stdout+stderr ("" for any).
expect() {
	local want=$1 needle=$2 out rc
	shift 2
	out=$("$bin" "$@" 2>&1)
	rc=$?
	if [ "$rc" != "$want" ] || { [ -n "$needle" ] && [[ "$out" != *"$needle"* ]]; }; then
		echo "FAIL: scratchcrypt $* exited $rc (want $want), output: $out (want '$needle')"
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
}

expect 64 "a command is needed"
expect 64 "unknown command 'frobnicate'" frobnicate
expect 64 "" --bogus status
expect 64 "only one command" start stop
expect 64 "--keep goes with stop" --keep start
expect 64 "--force goes with start" stop --force
expect 64 "--once goes with watch-events" status --once
expect 64 "--key goes with rewrap" start --key https://v.vault.azure.net/keys/k
expect 0 "Usage: scratchcrypt" --help
expect 0 "scratchcrypt 0." version
expect 0 "scratchcrypt 0." --version
expect 78 "$tmp/missing.conf: cannot open" -c "$tmp/missing.conf" status
# Without device-mapper (here: a /dev where no device node opens, so this
# holds on a machine with dm too), status exits 69 with one message, the
# agent's: libdevmapper's and libcryptsetup's own lines go to the debug log.
# Regression: it said "absent" and exited 0; then it printed four raw lines
# of libdevmapper's before its own.
nodm() { unshare --mount sh -c 'mount -t tmpfs -o nodev,mode=755 none /dev && exec "$@"' nodm "$@"; }
: >"$tmp/empty.conf"
out=$(nodm "$bin" -c "$tmp/empty.conf" status 2>&1)
rc=$?
if [ "$rc" = 69 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
	[[ "$out" == "scratchcrypt: error: device-mapper cannot be queried"* ]]; then
	passed=$((passed + 1))
else
	echo "FAIL: status without device-mapper exited $rc (want 69, one line), output: $out"
	failed=$((failed + 1))
fi
out=$(nodm "$bin" -v -c "$tmp/empty.conf" status 2>&1)
if [[ "$out" == *"libdevmapper: "* ]]; then
	passed=$((passed + 1))
else
	echo "FAIL: status -v without device-mapper does not show libdevmapper's lines: $out"
	failed=$((failed + 1))
fi

bad() { # bad NAME NEEDLE CONTENT
	printf '%b' "$3" >"$tmp/$1.conf"
	for cmd in detect start status; do
		expect 78 "$2" -c "$tmp/$1.conf" $cmd
	done
}
bad role "$tmp/role.conf:2: [node] role = 'gpu'" '[node]\nrole = gpu\n'
bad source "[node] key_source = 'byok'" '[node]\nkey_source = byok\n'
bad section "$tmp/section.conf:2: [secret] key = 'x': unknown section" '[secret]\nkey = x\n'
bad key "$tmp/key.conf:3: [crypt] iterations = '1000': unknown key" '[crypt]\ncipher = aes-xts-plain64\niterations = 1000\n'
bad sector "[crypt] sector_size = '3000'" '[crypt]\nsector_size = 3000\n'
bad fs "[filesystem] type = 'btrfs'" '[filesystem]\ntype = btrfs\n'
bad bool "[shred] discard = 'perhaps'" '[shred]\ndiscard = perhaps\n'
bad mount "[temp] mount_point = 'mnt'" '[temp]\nmount_point = mnt\n'
bad devices "[disks] devices = 'sdb'" '[disks]\ndevices = sdb\n'
bad cmk "customer-managed keys are not supported for OS and temp disks" '[node]\nkey_source = customer\n'
bad serverless "limited to system-managed keys" '[node]\nrole = serverless\nkey_source = hbi\n[hbi]\nvault_url = https://v.vault.azure.net\nkey_name = k\n'
bad hbi_incomplete "needs [hbi] vault_url and key_name" '[node]\nkey_source = hbi\n'

# rewrap only makes sense for HBI disks.
printf '[node]\nkey_source = system\n' >"$tmp/system.conf"
expect 78 "rewrap needs key_source = hbi" -c "$tmp/system.conf" rewrap
bad metrics "[metrics] textfile = 'metrics.txt'" '[metrics]\ntextfile = metrics.txt\n'
bad poll "[events] poll_s = '0'" '[events]\npoll_s = 0\n'

# Every verb the help lists (the verbs table) is in scratchcrypt(8), and a
# verb the table lacks is a usage error.
man=$(dirname "$0")/../../doc/scratchcrypt.8
for verb in $("$bin" --help | awk '/^Commands:/ {on = 1; next} on && NF == 0 {on = 0} on {print $1}'); do
	[ "$verb" = crash-points ] && continue # test builds only
	if grep -q "^\.B $verb\b\|^\.BR $verb\b\|^\.TP.*$verb" "$man" || grep -q "^\\fB$verb\\fR\|\\fB$verb\\fR" "$man"; then
		passed=$((passed + 1))
	else
		echo "FAIL: verb '$verb' is not in scratchcrypt(8)"
		failed=$((failed + 1))
	fi
done
expect 64 "unknown command 'frobnicate'" frobnicate

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
