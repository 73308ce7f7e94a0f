/* SPDX-License-Identifier: MIT */
/* Stopping an example program on a libsae error. Header-only (static
 * inline): unlike the rest of examples/common it calls libsae, and only
 * the programs that include it link the library. */
#ifndef EX_SAE_CHECK_H
#define EX_SAE_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include <sae.h>

/* Prints "prog: what: status (msg)" on stderr, "-" for an empty msg. */
static inline void ex_print_sae_error(const char *prog, sae_status_t st, const char *what,
                                      const char *msg)
{
    fprintf(stderr, "%s: %s: %s (%s)\n", prog, what, sae_status_str(st), msg && *msg ? msg : "-");
}

/* Returns when st is SAE_OK; otherwise prints as ex_print_sae_error does
 * and exits with status 1. */
static inline void ex_check_sae(const char *prog, sae_status_t st, const char *what,
                                const char *msg)
{
    if (st == SAE_OK)
        return;
    ex_print_sae_error(prog, st, what, msg);
    exit(1);
}

#endif /* EX_SAE_CHECK_H */
