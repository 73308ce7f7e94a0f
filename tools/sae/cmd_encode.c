/* SPDX-License-Identifier: MIT */
/* sae encode: the codes of data rows, as a float32 .npy [rows x code_dim],
 * or with --binary K the K-winners-take-all codes as a uint8 .npy (one 0/1
 * byte a unit). Rows go through in chunks, so memory stays bounded. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char encode_help[] =
    "Usage: sae encode --model MODEL --data FILE... --out CODES.npy [OPTIONS]\n"
    "Writes the codes of the data's rows (float32 .npy, rows x code units).\n\n"
    "  -m, --model MODEL     the model file\n"
    "  -d, --data FILE       a data file; several are read in order\n"
    "  -o, --out CODES.npy   the output (written atomically)\n"
    "      --binary K        K-winners-take-all binary codes instead (uint8 .npy,\n"
    "                        1 for each row's K largest units; 0 = the config's encode.k)\n"
    "      --chunk N         rows encoded at a time (default 1024)\n"
    "  -h, --help            this help\n\n" CLI_DATA_HELP;

enum { OPT_BINARY = CLI_OPT_FIRST_FREE, OPT_CHUNK };

int cmd_encode(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'}, {"data", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},   {"binary", required_argument, NULL, OPT_BINARY},
        {"chunk", required_argument, NULL, OPT_CHUNK}, {"help", no_argument, NULL, 'h'},
        CLI_DATA_LONGOPTS,                        {NULL, 0, NULL, 0}};
    const char *cmd = "encode", *model_path = NULL, *out = NULL;
    const char **data = calloc((size_t)argc, sizeof *data);
    size_t n_data = 0;
    uint64_t k = 0, chunk = 1024;
    int binary = 0, rc = CLI_USAGE, opt;
    sd_options_t dopt = {0};
    sd_set_t set = {0};
    sae_model_t *model = NULL;
    float *x = NULL, *code = NULL;
    uint8_t *bits = NULL;
    cli_out_t o = {0};
    if (!data)
        return cli_fail(cmd, "out of memory");
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":m:d:o:h", longopts, NULL)) != -1) {
        int d = cli_data_option(cmd, opt, optarg, &dopt);
        if (d < 0)
            goto done;
        if (d)
            continue;
        switch (opt) {
        case 'm': model_path = optarg; break;
        case 'd': data[n_data++] = optarg; break;
        case 'o': out = optarg; break;
        case OPT_BINARY:
            if (cli_parse_size(cmd, "--binary", optarg, 0, 1u << 30, &k) < 0)
                goto done;
            binary = 1;
            break;
        case OPT_CHUNK:
            if (cli_parse_size(cmd, "--chunk", optarg, 1, 1u << 24, &chunk) < 0)
                goto done;
            break;
        case 'h':
            fputs(encode_help, stdout);
            rc = CLI_OK;
            goto done;
        case ':':
            cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
            goto done;
        default:
            cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
            goto done;
        }
    }
    if (optind < argc) {
        cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
        goto done;
    }
    if (!model_path || n_data == 0 || !out) {
        cli_usage(cmd, "--model, --data and --out are required");
        goto done;
    }
    if ((rc = cli_model_load(cmd, model_path, &model)) != CLI_OK)
        goto done;
    size_t in = sae_model_input_dim(model), units = sae_model_code_dim(model);
    if (binary && k > units) {
        rc = cli_usage(cmd, "--binary %llu: the model has %zu code units",
                       (unsigned long long)k, units);
        goto done;
    }
    if ((rc = cli_data_open(cmd, &set, data, n_data, &dopt)) != CLI_OK)
        goto done;
    if (set.dim != in) {
        rc = cli_fail(cmd, "the data's rows hold %zu values, the model takes %zu", set.dim, in);
        goto done;
    }
    size_t c = chunk < set.rows ? (size_t)chunk : set.rows;
    x = malloc(c * in * sizeof *x);
    code = malloc(c * units * sizeof *code);
    bits = binary ? malloc(c * units) : NULL;
    if (!x || !code || (binary && !bits)) {
        rc = cli_fail(cmd, "out of memory");
        goto done;
    }
    if (cli_out_open(&o, out) < 0 ||
        cli_npy_header(o.fp, binary ? "|u1" : "<f4", set.rows, units) < 0) {
        rc = cli_fail(cmd, "cannot write %s: %s", out, strerror(errno));
        goto done;
    }
    for (size_t r = 0; r < set.rows; r += c) {
        size_t n = set.rows - r < c ? set.rows - r : c;
        sae_status_t s;
        if (sd_set_read(&set, r, n, x) < 0) {
            rc = cli_fail(cmd, "%s", sd_errmsg());
            goto done;
        }
        s = binary ? sae_model_encode_binary(model, x, n, (size_t)k, bits)
                   : sae_model_encode(model, x, n, code);
        if (s != SAE_OK) {
            rc = cli_fail(cmd, "rows %zu..%zu: %s", r, r + n - 1, sae_model_errmsg(model));
            goto done;
        }
        size_t bytes = n * units * (binary ? 1 : sizeof(float));
        if (fwrite(binary ? (void *)bits : (void *)code, 1, bytes, o.fp) != bytes) {
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
    free(x);
    free(code);
    free(bits);
    sd_set_close(&set);
    sae_model_free(model);
    free(data);
    return rc;
}
