/* SPDX-License-Identifier: MIT */
/* The command line every example shares, parsed with getopt_long:
 *   --data DIR   data folder (default: $SAE_DATA, else the fetch script's
 *                cache next to the source tree)
 *   --out DIR    where pictures and results.json go (default
 *                out/<example>; created)
 *   --quick      a short run, for smoke tests and CI
 *   --seed N     seed for data splits, initialisation and sampling
 *   --help
 * plus options of a program's own (ex_args_parse_extra). */
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

/* An option of one program: a flag (value NULL: *flag set to 1) or an
 * option with a value (*value set to it). */
typedef struct ex_extra_opt {
    const char *name;  /* without the dashes: "cifar" */
    const char *help;  /* one line for --help: "--cifar DIR  CIFAR-10 ..." */
    const char **value;
    int *flag;
} ex_extra_opt;

/* Parses argv. Returns -1 when the program should go on, otherwise the
 * exit status to leave with: 0 after --help, 2 after a usage error (the
 * usage has then been printed to stderr), 1 when --out cannot be created.
 * name is the example's name, about a one-line description. */
int ex_args_parse(ex_args *args, int argc, char **argv, const char *name, const char *about);
/* The same with n_extra options of the program's own. name_of may rename
 * the program after parsing (NULL: keep name), e.g. for a variant flag;
 * it is called before --out's default is made. */
int ex_args_parse_extra(ex_args *args, int argc, char **argv, const char *name,
                        const char *about, const ex_extra_opt *extra, int n_extra,
                        const char *(*name_of)(void));

/* The default data folder: $SAE_DATA when set and not empty, else the
 * data-cache folder of the source tree this program was built from. */
const char *ex_default_data_dir(void);

#endif /* EX_ARGS_H */
