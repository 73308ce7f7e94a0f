/* SPDX-License-Identifier: MIT */
/* sae decode: rows from codes [rows x code_dim] (any data file; .npy from
 * sae encode), written as a float32 .npy [rows x input_dim]. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char decode_help[] =
    "Usage: sae decode --model MODEL --codes CODES.npy --out X.npy [OPTIONS]\n"
    "Writes the decoder's output for each row of codes (float32 .npy).\n\n"
    "  -m, --model MODEL     the model file\n"
    "  -C, --codes FILE      codes, rows x code units (float32, or uint8 0/1 from\n"
    "                        'sae encode --binary')\n"
    "  -o, --out X.npy       the output (written atomically)\n"
    "      --chunk N         rows decoded at a time (default 1024)\n"
    "  -h, --help            this help\n\n" CLI_DATA_HELP;

enum { OPT_CHUNK = CLI_OPT_FIRST_FREE };

int cmd_decode(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'}, {"codes", required_argument, NULL, 'C'},
        {"out", required_argument, NULL, 'o'},   {"chunk", required_argument, NULL, OPT_CHUNK},
        {"help", no_argument, NULL, 'h'},        CLI_DATA_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *cmd = "decode", *model_path = NULL, *codes = NULL, *out = NULL;
    uint64_t chunk = 1024;
    int rc = CLI_USAGE, opt;
    sd_options_t dopt = {0};
    sd_set_t set = {0};
    sae_model_t *model = NULL;
    float *code = NULL, *x = NULL;
    cli_out_t o = {0};
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":m:C:o:h", longopts, NULL)) != -1) {
        int d = cli_data_option(cmd, opt, optarg, &dopt);
        if (d < 0)
            return CLI_USAGE;
        if (d)
            continue;
        switch (opt) {
        case 'm': model_path = optarg; break;
        case 'C': codes = optarg; break;
        case 'o': out = optarg; break;
        case OPT_CHUNK:
            if (cli_parse_size(cmd, "--chunk", optarg, 1, 1u << 24, &chunk) < 0)
                return CLI_USAGE;
            break;
        case 'h':
            fputs(decode_help, stdout);
            return CLI_OK;
        case ':':
            return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!model_path || !codes || !out)
        return cli_usage(cmd, "--model, --codes and --out are required");
    if ((rc = cli_model_load(cmd, model_path, &model)) != CLI_OK)
        goto done;
    size_t in = sae_model_input_dim(model), units = sae_model_code_dim(model);
    if ((rc = cli_data_open(cmd, &set, &codes, 1, &dopt)) != CLI_OK)
        goto done;
    if (set.dim != units) {
        rc = cli_fail(cmd, "%s: codes of %zu units, the model has %zu", codes, set.dim, units);
        goto done;
    }
    size_t c = chunk < set.rows ? (size_t)chunk : set.rows;
    code = malloc(c * units * sizeof *code);
    x = malloc(c * in * sizeof *x);
    if (!code || !x) {
        rc = cli_fail(cmd, "out of memory");
        goto done;
    }
    if (cli_out_open(&o, out) < 0 || cli_npy_header(o.fp, "<f4", set.rows, in) < 0) {
        rc = cli_fail(cmd, "cannot write %s: %s", out, strerror(errno));
        goto done;
    }
    for (size_t r = 0; r < set.rows; r += c) {
        size_t n = set.rows - r < c ? set.rows - r : c;
        if (sd_set_read(&set, r, n, code) < 0) {
            rc = cli_fail(cmd, "%s", sd_errmsg());
            goto done;
        }
        if (sae_model_decode(model, code, n, x) != SAE_OK) {
            rc = cli_fail(cmd, "rows %zu..%zu: %s", r, r + n - 1, sae_model_errmsg(model));
            goto done;
        }
        if (fwrite(x, sizeof *x, n * in, o.fp) != n * in) {
            rc = cli_fail(cmd, "cannot write %s: %s", out, strerror(errno));
            goto done;
        }
    }
    if (cli_out_commit(&o) < 0) {
        rc = cli_fail(cmd, "cannot write %s: %s", out, strerror(errno));
        goto done;
    }
    rc = CLI_OK;
done:
    cli_out_abort(&o);
    free(code);
    free(x);
    sd_set_close(&set);
    sae_model_free(model);
    return rc;
}
