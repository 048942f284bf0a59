#!/bin/sh
# SPDX-License-Identifier: MIT
# include-check.sh SRCDIR: fails when a file includes a header of a layer
# above its own (doc/architecture.md). Layers, each with what it may
# include besides itself:
#   base                    -
#   dm, keyfetch            base
#   config (agent/config.*, agent/cfgvalue.*)   base; cfgvalue not config
#   ondisk                  base dm
#   detect                  base dm config ondisk
#   setup                   base dm keyfetch config ondisk detect
#   report                  ... setup
#   agent (the CLI, events) everything; commands.c not cli.h
set -eu
cd "$1"
layer() {
	case $1 in
	base/*) echo base ;;
	dm/*) echo dm ;;
	keyfetch/*) echo keyfetch ;;
	agent/cfgvalue.*) echo cfgvalue ;;
	agent/config.*) echo config ;;
	agent/ondisk/*) echo ondisk ;;
	agent/detect/*) echo detect ;;
	agent/setup/*) echo setup ;;
	agent/report/*) echo report ;;
	agent/cli.* | agent/main.c) echo cli ;;
	agent/*) echo agent ;;
	*) echo other ;;
	esac
}
allowed() {
	case $1 in
	base) echo "base" ;;
	dm) echo "base dm" ;;
	keyfetch) echo "base keyfetch" ;;
	cfgvalue) echo "base cfgvalue" ;;
	config) echo "base cfgvalue config" ;;
	ondisk) echo "base dm ondisk" ;;
	detect) echo "base dm cfgvalue config ondisk detect" ;;
	setup) echo "base dm keyfetch cfgvalue config ondisk detect setup" ;;
	report) echo "base dm keyfetch cfgvalue config ondisk detect setup report" ;;
	agent) echo "base dm keyfetch cfgvalue config ondisk detect setup report agent" ;;
	cli) echo "base dm keyfetch cfgvalue config ondisk detect setup report agent cli" ;;
	esac
}
bad=0
for f in $(find base dm keyfetch agent -name '*.[ch]' | sort); do
	from=$(layer "$f")
	ok=" $(allowed "$from") "
	for inc in $(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		to=$(layer "$inc")
		[ "$to" = other ] && continue
		case $ok in
		*" $to "*) ;;
		*)
			echo "$f: includes $inc: $from may not include $to (a layer above it or beside it)" >&2
			bad=1
			;;
		esac
	done
done
exit $bad
