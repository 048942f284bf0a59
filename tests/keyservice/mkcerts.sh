#!/bin/sh
# SPDX-License-Identifier: MIT
# A throwaway CA and a server certificate for the Key Vault emulator.
# Usage: mkcerts.sh DIR HOSTNAME...  -> DIR/ca.pem DIR/server.pem DIR/server.key,
# and DIR/other.pem DIR/other.key: from the same CA, for another name.
set -eu
dir=$1; shift
san="IP:127.0.0.1"
for h in "$@"; do san="$san,DNS:$h"; done
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=scratchcrypt test CA" \
	-keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$dir/server.key" \
	-out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$dir/ext.cnf"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
	-days 2 -extfile "$dir/ext.cnf" -out "$dir/server.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=wrong.example.net" -keyout "$dir/other.key" \
	-out "$dir/other.csr" 2>/dev/null
printf 'subjectAltName=DNS:wrong.example.net\nextendedKeyUsage=serverAuth\n' >"$dir/other.cnf"
openssl x509 -req -in "$dir/other.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
	-days 2 -extfile "$dir/other.cnf" -out "$dir/other.pem" 2>/dev/null
# A second CA that signed nothing: a client trusting only it must refuse.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=unrelated CA" \
	-keyout "$dir/other-ca.key" -out "$dir/other-ca.pem" 2>/dev/null
