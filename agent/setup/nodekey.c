// SPDX-License-Identifier: MIT
#include "agent/setup/nodekey.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/setup/runstate.h"
#include "base/safemem.h"
#include "keyfetch/keyfetch.h"

const char *nodekey_path(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/node.key", runstate_state_dir());
	return path;
}

static int read_key(int fd, void *key, struct reason *why)
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return reason_set(why, -errno, "cannot stat %s: %m", nodekey_path());
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) ||
	    st.st_size != NODEKEY_LEN)
		return reason_set(why, -EPERM, "%s is not a %d-byte file only root can read "
				  "(mode %04o, owner %u, %lld bytes); the HBI disks' headers cannot "
				  "be checked", nodekey_path(), NODEKEY_LEN,
				  (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
				  (long long)st.st_size);
	n = pread(fd, key, NODEKEY_LEN, 0);
	if (n != NODEKEY_LEN)
		return reason_set(why, n < 0 ? -errno : -EIO, "cannot read %s: %m", nodekey_path());
	return 0;
}

/* A new key in a file of its own, linked into place: a crash leaves no
 * half-written key, and two creators end with the first one's. */
static int create_key(struct reason *why)
{
	char tmp[560];
	unsigned char k[NODEKEY_LEN];
	int fd, r = runstate_state_mkdir(NULL);

	if (r < 0)
		return reason_set(why, r, "cannot make %s: %m", runstate_state_dir());
	snprintf(tmp, sizeof(tmp), "%s.new-%ld", nodekey_path(), (long)getpid());
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
	if (fd < 0)
		return reason_set(why, -errno, "cannot create %s: %m", tmp);
	r = safe_random(k, sizeof(k));
	if (r == 0 && write(fd, k, sizeof(k)) != (ssize_t)sizeof(k))
		r = -EIO;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	safe_wipe(k, sizeof(k));
	close(fd);
	if (r == 0 && link(tmp, nodekey_path()) < 0 && errno != EEXIST)
		r = -errno;
	(void)unlink(tmp);
	if (r < 0)
		return reason_set(why, r, "cannot write %s: %m", nodekey_path());
	return 0;
}

int nodekey_load(bool create, void **out, struct reason *why)
{
	void *key;
	int fd, r;

	fd = open(nodekey_path(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		r = create_key(why);
		if (r < 0)
			return r;
		log_info("made this node's key for HBI headers: %s", nodekey_path());
		fd = open(nodekey_path(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0 && errno == ENOENT)
		return reason_set(why, -ENOKEY, "this node has no key for HBI headers (%s)",
				  nodekey_path());
	if (fd < 0)
		return reason_set(why, -errno, "cannot open %s: %m", nodekey_path());
	key = safe_alloc(NODEKEY_LEN);
	r = key ? read_key(fd, key, why) : -ENOMEM;
	close(fd);
	if (r < 0) {
		safe_free(key);
		return r;
	}
	*out = key;
	return 0;
}

/* The MAC of t's format, kid and wrapped key for the disk (serial, size). */
static int mac_of(const void *key, const char *serial, uint64_t size, const struct sc_hbi_token *t,
		  char *mac, size_t mac_size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	char *input = token_hbi_mac_input(t->format, serial, size, t->kid, t->wrapped), *text;
	int r = -ENOMEM;

	if (!input)
		return -ENOMEM;
	if (!HMAC(EVP_sha256(), key, NODEKEY_LEN, (const unsigned char *)input, strlen(input), md,
		  &md_len))
		r = -EIO;
	else if ((text = kf_b64url_encode(md, md_len))) {
		r = strlen(text) < mac_size ? 0 : -ENOBUFS;
		if (r == 0)
			snprintf(mac, mac_size, "%s", text);
		safe_free(text);
	}
	free(input);
	return r;
}

int nodekey_seal(const void *key, const char *serial, uint64_t size, const char *kid,
		 const char *wrapped, char *mac, size_t mac_size)
{
	struct sc_hbi_token t = { .format = ONDISK_FORMAT_VERSION, .wrapped = (char *)wrapped };

	if (strlen(kid) >= sizeof(t.kid))
		return -ENAMETOOLONG;
	snprintf(t.kid, sizeof(t.kid), "%s", kid);
	return mac_of(key, serial, size, &t, mac, mac_size);
}

int nodekey_verify(const void *key, const char *dev, const char *serial, uint64_t size,
		   const struct sc_hbi_token *t, struct reason *why)
{
	char want[64];
	int r;

	if (!t->mac[0])
		return reason_set(why, -EMEDIUMTYPE,
				  "%s: its HBI token is of format %u and carries no proof that this "
				  "node made it; only a volume that was open when scratchcrypt was "
				  "upgraded is trusted ('scratchcrypt adopt'). Run 'scratchcrypt stop' "
				  "to shred the disk; the next start sets it up anew", dev, t->format);
	r = mac_of(key, serial, size, t, want, sizeof(want));
	if (r < 0)
		return reason_set(why, r, "%s: cannot check its HBI token: %m", dev);
	if (strlen(want) != strlen(t->mac) || CRYPTO_memcmp(want, t->mac, strlen(want)) != 0)
		return reason_set(why, -EMEDIUMTYPE,
				  "%s: its HBI header was not made on this node (its token's MAC does "
				  "not match %s for serial %s): anyone with the vault key's public "
				  "half can wrap a key, so it is refused and left untouched. Run "
				  "'scratchcrypt stop' to shred it", dev, nodekey_path(), serial);
	return 0;
}
