// SPDX-License-Identifier: MIT
/* LD_PRELOAD for vm.key_not_in_keyring: libcryptsetup as on a system whose
 * kernel keyring it cannot use (a seccomp filter on add_key(2), a kernel
 * without it). It then puts the volume key itself into the dm table; the
 * check after activation (dm/crypt.c) must see that, tear the mapping down
 * and fail. Only the request to use the keyring is changed. */
#include <dlfcn.h>

struct crypt_device;

int crypt_volume_key_keyring(struct crypt_device *cd, int enable)
{
	int (*real)(struct crypt_device *, int) =
		(int (*)(struct crypt_device *, int))dlsym(RTLD_NEXT, "crypt_volume_key_keyring");

	(void)enable;
	return real ? real(cd, 0) : 0;
}
