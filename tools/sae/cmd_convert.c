/* SPDX-License-Identifier: MIT */
/* sae convert IN OUT: a model (a libsae file of any version the library
 * reads, or another tool's SAE that sae_model_import reads) to a libsae
 * file of the current format, or with --to to a SAELens or sparsify folder
 * (sae_model_export); a data file (any format the readers take) to a
 * float32 .npy, which every subcommand and numpy read without options. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char convert_help[] =
    "Usage: sae convert [OPTIONS] IN OUT\n"
    "A model IN is loaded and written as OUT: IN is a libsae model file (any\n"
    "format version the library reads) or another tool's SAE (a SAELens or\n"
    "sparsify folder, a Gemma Scope params.npz or params.safetensors, a Llama\n"
    "Scope folder). Any other IN is a data file: its rows are written to OUT as\n"
    "a float32 .npy (rows x values). OUT is written atomically.\n\n"
    "      --to FORMAT       what a model is written as: libsae (a model file in\n"
    "                        the current version; the default), saelens or\n"
    "                        sparsify (the folder OUT, created if absent)\n"
    "  -h, --help            this help\n\n" CLI_DATA_HELP;

enum { OPT_TO = CLI_OPT_FIRST_FREE };

static int is_model(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    unsigned char h[8];
    int ok = fread(h, 1, 8, fp) == 8 && h[0] != 0x93;
    fclose(fp);
    if (!ok)
        return 0;
    /* A safetensors file whose metadata says libsae. */
    uint64_t size;
    cJSON *root = cli_safetensors_header(NULL, path, &size);
    if (!root)
        return 0;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(m, "format");
    int yes = cJSON_IsString(f) && strcmp(f->valuestring, "libsae") == 0;
    cJSON_Delete(root);
    return yes;
}

static int convert_data(const char *cmd, const char *in, const char *out, const sd_options_t *dopt)
{
    sd_set_t set;
    int rc = cli_data_open(cmd, &set, &in, 1, dopt);
    if (rc != CLI_OK)
        return rc;
    enum { CHUNK = 4096 };
    size_t c = set.rows < CHUNK ? set.rows : CHUNK;
    float *x = malloc(c * set.dim * sizeof *x);
    cli_out_t o = {0};
    if (!x) {
        rc = cli_fail(cmd, "out of memory");
        goto done;
    }
    if (cli_out_open(&o, out) < 0 || cli_npy_header(o.fp, "<f4", set.rows, set.dim) < 0) {
        rc = cli_fail(cmd, "cannot write %s: %s", out, strerror(errno));
        goto done;
    }
    for (size_t r = 0; r < set.rows; r += c) {
        size_t n = set.rows - r < c ? set.rows - r : c;
        if (sd_set_read(&set, r, n, x) < 0 ||
            fwrite(x, sizeof *x, n * set.dim, o.fp) != n * set.dim) {
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
    sd_set_close(&set);
    return rc;
}

int cmd_convert(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"to", required_argument, NULL, OPT_TO},
                                             CLI_DATA_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    const char *cmd = "convert", *to = NULL;
    sd_options_t dopt = {0};
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        int d = cli_data_option(cmd, opt, optarg, &dopt);
        if (d < 0)
            return CLI_USAGE;
        if (d)
            continue;
        if (opt == 'h') {
            fputs(convert_help, stdout);
            return CLI_OK;
        }
        if (opt == OPT_TO) {
            if (strcmp(optarg, "libsae") != 0 && strcmp(optarg, "saelens") != 0 &&
                strcmp(optarg, "sparsify") != 0)
                return cli_usage(cmd, "--to takes libsae, saelens or sparsify, not '%s'", optarg);
            to = optarg;
            continue;
        }
        if (opt == ':')
            return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
    }
    if (argc - optind != 2)
        return cli_usage(cmd, "IN and OUT are needed");
    const char *in = argv[optind], *out = argv[optind + 1];
    if (strcmp(in, out) == 0)
        return cli_usage(cmd, "IN and OUT are the same file");
    char weights[4096];
    if (to || (dopt.format == SD_FMT_AUTO &&
               (is_model(in) || cli_foreign_format(in, weights, sizeof weights)))) {
        sae_model_t *model = NULL;
        int rc = cli_model_load(cmd, in, &model);
        if (rc != CLI_OK)
            return rc;
        if (!to || strcmp(to, "libsae") == 0) {
            if (sae_model_save(model, out) != SAE_OK)
                rc = cli_fail(cmd, "%s", sae_model_errmsg(model));
        } else if (sae_model_export(model, out, to) != SAE_OK) {
            rc = cli_fail(cmd, "%s", sae_last_error());
        }
        sae_model_free(model);
        return rc;
    }
    return convert_data(cmd, in, out, &dopt);
}
