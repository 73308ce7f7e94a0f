/* SPDX-License-Identifier: MIT */
#include "common/args.h"

#include <errno.h>
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

const char *ex_default_data_dir(void)
{
    const char *env = getenv("SAE_DATA");
    return env && *env ? env : EX_SOURCE_DATA_DIR;
}

static void usage(FILE *to, const char *name, const char *about)
{
    fprintf(to,
            "usage: %s [--data DIR] [--out DIR] [--quick] [--seed N] [--help]\n"
            "%s\n"
            "\n"
            "  --data DIR  data folder (default: %s;\n"
            "              set SAE_DATA to change it, fill it with tools/fetch-data.sh)\n"
            "  --out DIR   where pictures and results.json go (default: out/%s)\n"
            "  --quick     a short run to check that everything works\n"
            "  --seed N    seed for the data split, initialisation and sampling (default: %d)\n"
            "  --help      this text\n",
            name, about, ex_default_data_dir(), name, DEFAULT_SEED);
}

/* Accepts "--opt VALUE" and "--opt=VALUE"; *i moves past what was used. */
static const char *option_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    const char *a = argv[*i];
    if (strncmp(a, opt, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

static int bad(const char *name, const char *about, const char *fmt, const char *what)
{
    fprintf(stderr, "%s: ", name);
    fprintf(stderr, fmt, what);
    fputs("\n\n", stderr);
    usage(stderr, name, about);
    return 2;
}

int ex_args_parse(ex_args *args, int argc, char **argv, const char *name, const char *about)
{
    memset(args, 0, sizeof *args);
    args->data_dir = ex_default_data_dir();
    args->seed = DEFAULT_SEED;
    snprintf(args->out_buf, sizeof args->out_buf, "out/%s", name);
    args->out_dir = args->out_buf;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, name, about);
            return 0;
        } else if (strcmp(a, "--quick") == 0) {
            args->quick = 1;
        } else if ((v = option_value(argc, argv, &i, "--data")) != NULL) {
            if (!*v)
                return bad(name, about, "%s needs a folder", "--data");
            args->data_dir = v;
        } else if ((v = option_value(argc, argv, &i, "--out")) != NULL) {
            if (!*v)
                return bad(name, about, "%s needs a folder", "--out");
            args->out_dir = v;
        } else if ((v = option_value(argc, argv, &i, "--seed")) != NULL) {
            char *end = NULL;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            /* strtoull accepts "-1" as a huge number; a seed is never
             * negative, so refuse a sign outright. */
            if (!*v || *end || errno || v[0] == '-' || v[0] == '+' ||
                s > (unsigned long long)INT64_MAX)
                return bad(name, about, "--seed wants a whole number >= 0, not '%s'", v);
            args->seed = (uint64_t)s;
        } else {
            return bad(name, about, "unknown argument '%s'", a);
        }
    }
    if (ex_mkdir_p(args->out_dir) != EX_OK) {
        fprintf(stderr, "%s: %s\n", name, ex_error_detail());
        return 1;
    }
    return -1;
}
