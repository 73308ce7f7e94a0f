/* SPDX-License-Identifier: MIT */
#include "common/args.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"

/* Set by the build to <source root>/data-cache, where tools/fetch-data.sh
 * puts its files, so a freshly built example finds the data without flags. */
#ifndef EX_SOURCE_DATA_DIR
#define EX_SOURCE_DATA_DIR "data-cache"
#endif

#define DEFAULT_SEED 1
#define MAX_EXTRA 8

enum { OPT_DATA = 1000, OPT_OUT, OPT_QUICK, OPT_SEED, OPT_EXTRA };

const char *ex_default_data_dir(void)
{
    const char *env = getenv("SAE_DATA");
    return env && *env ? env : EX_SOURCE_DATA_DIR;
}

static void usage(FILE *to, const char *name, const char *about, const ex_extra_opt *extra,
                  int n_extra)
{
    fprintf(to,
            "usage: %s [--data DIR] [--out DIR] [--quick] [--seed N] [--help]\n"
            "%s\n"
            "\n"
            "  --data DIR  data folder (default: %s;\n"
            "              set SAE_DATA to change it, fill it with tools/fetch-data.sh)\n"
            "  --out DIR   where pictures and results.json go (default: out/%s)\n"
            "  --quick     a short run to check that everything works\n"
            "  --seed N    seed for the data split, initialisation and sampling (default: %d)\n",
            name, about, ex_default_data_dir(), name, DEFAULT_SEED);
    for (int i = 0; i < n_extra; i++)
        fprintf(to, "  %s\n", extra[i].help);
    fprintf(to, "  --help      this text\n");
}

static int bad(const char *name, const char *about, const ex_extra_opt *extra, int n_extra,
               const char *fmt, const char *what)
{
    fprintf(stderr, "%s: ", name);
    fprintf(stderr, fmt, what);
    fputs("\n\n", stderr);
    usage(stderr, name, about, extra, n_extra);
    return 2;
}

int ex_args_parse_extra(ex_args *args, int argc, char **argv, const char *name,
                        const char *about, const ex_extra_opt *extra, int n_extra,
                        const char *(*name_of)(void))
{
    memset(args, 0, sizeof *args);
    args->data_dir = ex_default_data_dir();
    args->seed = DEFAULT_SEED;
    const char *out = NULL;
    if (n_extra > MAX_EXTRA)
        n_extra = MAX_EXTRA;
    struct option longopts[5 + MAX_EXTRA + 1] = {
        {"data", required_argument, NULL, OPT_DATA}, {"out", required_argument, NULL, OPT_OUT},
        {"quick", no_argument, NULL, OPT_QUICK},     {"seed", required_argument, NULL, OPT_SEED},
        {"help", no_argument, NULL, 'h'}};
    for (int i = 0; i < n_extra; i++)
        longopts[5 + i] = (struct option){extra[i].name,
                                          extra[i].value ? required_argument : no_argument, NULL,
                                          OPT_EXTRA + i};
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            usage(stdout, name_of ? name_of() : name, about, extra, n_extra);
            return 0;
        case OPT_QUICK:
            args->quick = 1;
            break;
        case OPT_DATA:
            if (!*optarg)
                return bad(name, about, extra, n_extra, "%s needs a folder", "--data");
            args->data_dir = optarg;
            break;
        case OPT_OUT:
            if (!*optarg)
                return bad(name, about, extra, n_extra, "%s needs a folder", "--out");
            out = optarg;
            break;
        case OPT_SEED: {
            char *end = NULL;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 10);
            /* strtoull accepts "-1" as a huge number; a seed is never
             * negative, so refuse a sign outright. */
            if (!*optarg || *end || errno || optarg[0] == '-' || optarg[0] == '+' ||
                s > (unsigned long long)INT64_MAX)
                return bad(name, about, extra, n_extra,
                           "--seed wants a whole number >= 0, not '%s'", optarg);
            args->seed = (uint64_t)s;
            break;
        }
        case ':':
            return bad(name, about, extra, n_extra, "%s needs a value", argv[optind - 1]);
        case '?':
            return bad(name, about, extra, n_extra, "unknown argument '%s'", argv[optind - 1]);
        default:
            if (opt >= OPT_EXTRA && opt < OPT_EXTRA + n_extra) {
                const ex_extra_opt *e = &extra[opt - OPT_EXTRA];
                if (e->value)
                    *e->value = optarg;
                if (e->flag)
                    *e->flag = 1;
            }
            break;
        }
    }
    if (optind < argc)
        return bad(name, about, extra, n_extra, "unknown argument '%s'", argv[optind]);
    if (name_of)
        name = name_of();
    snprintf(args->out_buf, sizeof args->out_buf, "out/%s", name);
    args->out_dir = out ? out : args->out_buf;
    if (ex_mkdir_p(args->out_dir) != EX_OK) {
        fprintf(stderr, "%s: %s\n", name, ex_error_detail());
        return 1;
    }
    return -1;
}

int ex_args_parse(ex_args *args, int argc, char **argv, const char *name, const char *about)
{
    return ex_args_parse_extra(args, argc, argv, name, about, NULL, 0, NULL);
}
