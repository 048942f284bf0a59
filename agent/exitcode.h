/* SPDX-License-Identifier: MIT */
#pragma once

/* The one table from -errno to the documented exit codes (sysexits.h;
 * scratchcrypt(8), EXIT STATUS): 0 for 0, and a refused disk (65), bad
 * configuration or a key the platform refuses (78), a service that cannot
 * be reached (69), a reply that is not valid (76), a retry (75), a bug
 * (70), and anything the system refused to do (73). */
int exit_code_of(int r);
