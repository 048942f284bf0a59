/* SPDX-License-Identifier: MIT */
#pragma once

/* The command line: verbs, options and exit codes, driven by one table. */
int cli_main(int argc, char **argv);
