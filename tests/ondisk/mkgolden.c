// SPDX-License-Identifier: MIT
/* Writes the golden vectors of the on-disk format as this release makes
 * them (doc/ondisk-format.md): every later release must read them, or
 * refuse them with the message the format names.
 *   mkgolden DIR
 * DIR/token.json, hbi-token.json (sealed with node.key, a test vector, from
 * format 2), claim.bin, and header.img: a LUKS2
 * header as scratchcrypt builds it for member 1 of 2 of the scratch
 * volume, with both tokens in it. A release that changes the format adds
 * tests/ondisk/golden/vN; the older directories stay as they are. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/ondisk/claim.h"
#include "agent/ondisk/names.h"
#include "agent/ondisk/token.h"
#include "agent/setup/nodekey.h"
#include "dm/dm.h"

static int put(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		return perror(path), -1;
	return 0;
}

int main(int argc, char **argv)
{
	/* The serial and size of QEMU's NVMe disk SCNVMEB in the vm tests. */
	struct sc_token t = { .role = ROLE_SCRATCH, .index = 1, .members = 2,
			      .key_source = KEY_SOURCE_HBI, .state = TOKEN_READY,
			      .created = 1764806400, .serial = "SCNVMEB",
			      .size = 256ull * 1024 * 1024 };
	struct sc_claim cl = { .serial = "SCNVMEB", .size = 256ull * 1024 * 1024,
			       .created = 1764806400 };
	/* A wrapped key is RSA-OAEP output, 256 bytes for RSA-2048, in
	 * base64url: any 342 characters of it parse. */
	char wrapped[343], block[ONDISK_CLAIM_SIZE], subsystem[48], hdr[512], mac[64];
	const char *kid = "https://scvault.vault.azure.net/keys/tempdisk/0123456789abcdef0123456789abcdef";
	unsigned char key[64], nodekey[NODEKEY_LEN];
	struct dm_crypt_params p = { .cipher = "aes-xts-plain64", .key_bytes = sizeof(key),
				     .sector_size = 4096, .allow_discards = true,
				     .no_read_workqueue = true, .no_write_workqueue = true,
				     .subsystem = subsystem, .data_offset = ONDISK_DATA_OFFSET };
	struct reason why = { "" };
	char *json, *hbi;

	if (argc != 2)
		return fprintf(stderr, "usage: mkgolden DIR\n"), 2;
	for (size_t i = 0; i < sizeof(wrapped) - 1; i++)
		wrapped[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i % 64];
	wrapped[sizeof(wrapped) - 1] = '\0';
	memset(key, 0x5c, sizeof(key)); /* test vectors: these keys guard nothing */
	memset(nodekey, 0x4e, sizeof(nodekey));
	if (nodekey_seal(nodekey, t.serial, t.size, kid, wrapped, mac, sizeof(mac)) < 0 ||
	    put(argv[1], "node.key", nodekey, sizeof(nodekey)))
		return 1;
	json = token_to_json(&t);
	hbi = token_hbi_to_json(kid, wrapped, mac);
	claim_format(&cl, block);
	ondisk_subsystem(subsystem, sizeof(subsystem), t.role, t.index, t.members);
	if (!json || !hbi || put(argv[1], "token.json", json, strlen(json)) ||
	    put(argv[1], "hbi-token.json", hbi, strlen(hbi)) ||
	    put(argv[1], "claim.bin", block, sizeof(block)))
		return 1;
	snprintf(hdr, sizeof(hdr), "%s/header.img", argv[1]);
	const char *tokens[] = { json, hbi, NULL };
	if (dm_luks_header_build(hdr, hdr, &p, key, sizeof(key), tokens, &why) < 0)
		return fprintf(stderr, "header: %s\n", why.text), 1;
	free(json);
	free(hbi);
	return 0;
}
