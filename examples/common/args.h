/* SPDX-License-Identifier: MIT */
/* The command line every example shares:
 *   --data DIR   data folder (default: $SAE_DATA, else the fetch script's
 *                cache next to the source tree)
 *   --out DIR    where pictures and results.json go (default
 *                out/<example>; created)
 *   --quick      a short run, for smoke tests and CI
 *   --seed N     seed for data splits, initialisation and sampling
 *   --help */
#ifndef EX_ARGS_H
#define EX_ARGS_H

#include <stdint.h>

typedef struct ex_args {
    const char *data_dir;
    const char *out_dir;
    int quick;
    uint64_t seed;
    char out_buf[1024]; /* holds the default out/<example> */
} ex_args;

/* Parses argv. Returns -1 when the program should go on, otherwise the
 * exit status to leave with: 0 after --help, 2 after a usage error (the
 * usage has then been printed to stderr), 1 when --out cannot be created.
 * name is the example's name, about a one-line description. */
int ex_args_parse(ex_args *args, int argc, char **argv, const char *name, const char *about);

/* The default data folder: $SAE_DATA when set and not empty, else the
 * data-cache folder of the source tree this program was built from. */
const char *ex_default_data_dir(void);

#endif /* EX_ARGS_H */
