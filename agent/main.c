// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli.h"

/* glibc keeps small freed blocks in a per-thread cache (tcache) without the
 * M_PERTURB fill, so a token that passed through curl or json-c could stay
 * in freed heap. These tunables, read only when a process starts, turn the
 * cache off and fill every freed block from the first allocation on. The
 * systemd units set them already (Environment=), which spares the boot a
 * second exec: under an emulator, a quarter of a second. */
#define TUNABLES SC_GLIBC_TUNABLES
#define TUNED_ENV "SCRATCHCRYPT_MALLOC_TUNED"

int main(int argc, char **argv)
{
	const char *have = getenv("GLIBC_TUNABLES");

	if (!getenv(TUNED_ENV) && (!have || !strstr(have, TUNABLES))) {
		setenv("GLIBC_TUNABLES", TUNABLES, 1);
		setenv(TUNED_ENV, "1", 1);
		execv("/proc/self/exe", argv);
		/* No /proc: run as we are; M_PERTURB still covers most frees. */
	}
	/* Tools scratchcrypt runs (mkfs) need neither. */
	unsetenv("GLIBC_TUNABLES");
	unsetenv(TUNED_ENV);
	return cli_main(argc, argv);
}
