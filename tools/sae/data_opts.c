/* SPDX-License-Identifier: MIT */
/* The data-file options every subcommand shares, and loading rows. */
#include "cli.h"

#include <stdlib.h>

int cli_data_option(const char *cmd, int opt, const char *arg, sd_options_t *o)
{
    uint64_t v;
    switch (opt) {
    case CLI_OPT_FORMAT:
        if (sd_format_parse(arg, &o->format) < 0) {
            cli_usage(cmd, "--format: %s", sd_errmsg());
            return -1;
        }
        return 1;
    case CLI_OPT_DIM:
        if (cli_parse_size(cmd, "--dim", arg, 1, (uint64_t)1 << 40, &v) < 0)
            return -1;
        o->dim = (size_t)v;
        return 1;
    case CLI_OPT_DTYPE:
        if (sd_dtype_parse(arg, &o->raw_dtype) < 0 ||
            (o->raw_dtype != SD_F32 && o->raw_dtype != SD_BF16)) {
            cli_usage(cmd, "--dtype: '%s' is not f32 or bf16", arg);
            return -1;
        }
        return 1;
    case CLI_OPT_TENSOR:
        o->tensor = arg;
        return 1;
    case CLI_OPT_SCALE_U8:
        o->scale_u8 = 1;
        return 1;
    default:
        return 0;
    }
}

int cli_data_open(const char *cmd, sd_set_t *set, const char *const *paths, size_t n,
                  const sd_options_t *o)
{
    if (sd_set_open(set, paths, n, o) < 0)
        return cli_fail(cmd, "%s", sd_errmsg());
    return CLI_OK;
}

int cli_data_load(const char *cmd, const sd_set_t *set, float **out)
{
    *out = NULL;
    if (set->dim > SIZE_MAX / sizeof(float) / set->rows)
        return cli_fail(cmd, "%zu rows of %zu values do not fit in memory", set->rows, set->dim);
    float *x = malloc(set->rows * set->dim * sizeof(float));
    if (!x)
        return cli_fail(cmd, "%zu rows of %zu values (%zu MB) do not fit in memory", set->rows,
                        set->dim, set->rows * set->dim * sizeof(float) >> 20);
    if (sd_set_read(set, 0, set->rows, x) < 0) {
        free(x);
        return cli_fail(cmd, "%s", sd_errmsg());
    }
    *out = x;
    return CLI_OK;
}
