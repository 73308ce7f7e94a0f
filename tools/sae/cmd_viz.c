/* SPDX-License-Identifier: MIT */
/* sae viz: PNG pictures of a model, drawn with the examples' cairo module
 * (examples/common/plot.h):
 *   atoms.png             decoder atoms as tiles, when rows are images
 *                         (--image-shape CxHxW, or a square input)
 *   encoder_filters.png   encoder rows the same way (untied models)
 *   firing_frequency.png  with --data: histogram of log10 of each latent's
 *                         firing frequency over the rows, dead ones apart
 *   loss_curves.png       with --log: loss, reconstruction and each term
 *                         per step, from a `sae train --log` file */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "viz.h"
#include "common/fileio.h"
#include "common/font.h"
#include "common/plot.h"

static const char viz_help[] =
    "Usage: sae viz --model MODEL --out DIR [--data FILE...] [--log FILE.jsonl] [OPTIONS]\n"
    "Draws PNG pictures of a model into DIR: its atoms (and encoder filters) as\n"
    "tiles when rows are images, with --data the latents' firing-frequency\n"
    "histogram (log10), with --log the loss curves of a 'sae train --log' file.\n\n"
    "  -m, --model MODEL       the model file\n"
    "  -o, --out DIR           the folder for the pictures (created)\n"
    "  -d, --data FILE         rows to measure firing frequencies on\n"
    "      --log FILE.jsonl    a training log (sae train --log)\n"
    "      --image-shape CxHxW rows as images: 1 (gray) or 3 (colour) channels\n"
    "                          (default: 1 x S x S when the input size is a square)\n"
    "      --max-atoms N       tiles drawn at most (default 256)\n"
    "  -h, --help              this help\n\n" CLI_DATA_HELP;

enum { OPT_LOG = CLI_OPT_FIRST_FREE, OPT_SHAPE, OPT_MAX };

static int parse_shape(const char *s, size_t *c, size_t *h, size_t *w)
{
    unsigned long a, b, d;
    char tail;
    if (sscanf(s, "%lux%lux%lu%c", &a, &b, &d, &tail) != 3 || !a || !b || !d || a > 4096 ||
        b > 4096 || d > 4096)
        return -1;
    *c = a;
    *h = b;
    *w = d;
    return 0;
}

static int tiles(const char *cmd, const char *path, const char *title, const float *rows, size_t n,
                 size_t c, size_t h, size_t w)
{
    size_t cols = (size_t)ceil(sqrt((double)n)), gw, gh;
    int zoom = (int)(h > 48 || w > 48 ? 1 : 48 / (h > w ? h : w));
    ex_tiles_size(n, w, h, cols, zoom, &gw, &gh);
    size_t title_h = 40;
    size_t width = gw + 20 < 480 ? 480 : gw + 20;
    ex_canvas cv;
    if (ex_canvas_init(&cv, width, gh + title_h + 10, EX_RGB(255, 255, 255)) != EX_OK)
        return cli_fail(cmd, "%s: %s", path, ex_error_detail());
    ex_canvas_fill(&cv, 10 - 1, (long)title_h - 1, (long)gw + 2, (long)gh + 2, EX_RGB(90, 90, 90));
    if (c == 3)
        ex_tiles_draw_rgb(&cv, 10, (long)title_h, rows, n, w, h, cols, zoom);
    else
        ex_tiles_draw(&cv, 10, (long)title_h, rows, n, w, h, cols, zoom, EX_TILE_PER_TILE);
    ex_font_draw(&cv, 10, 10, title, EX_RGB(40, 40, 40), 2);
    ex_status st = ex_canvas_save(&cv, path);
    ex_canvas_free(&cv);
    if (st != EX_OK)
        return cli_fail(cmd, "%s", ex_error_detail());
    printf("%s\n", path);
    return CLI_OK;
}

static int draw_atoms(const char *cmd, sae_model_t *model, const char *dir, const char *shape,
                      size_t max_atoms)
{
    size_t in = sae_model_input_dim(model), units = sae_model_code_dim(model), c = 1, h, w;
    if (sae_model_layer_count(model) > 0) {
        fprintf(stderr, "sae viz: a layered model: no atoms drawn\n");
        return CLI_OK;
    }
    if (shape) {
        if (parse_shape(shape, &c, &h, &w) < 0 || (c != 1 && c != 3))
            return cli_usage(cmd, "--image-shape: '%s' is not CxHxW with C 1 or 3", shape);
        if (c * h * w != in)
            return cli_usage(cmd, "--image-shape %s holds %zu values, the model's rows %zu", shape,
                             c * h * w, in);
    } else {
        h = w = (size_t)llround(sqrt((double)in));
        if (h * w != in) {
            fprintf(stderr,
                    "sae viz: rows of %zu values are not square images: no atoms drawn "
                    "(give --image-shape CxHxW)\n",
                    in);
            return CLI_OK;
        }
    }
    size_t n = units < max_atoms ? units : max_atoms;
    static const char *const names[2] = {"decoder.weight", "encoder.weight"};
    static const char *const files[2] = {"atoms.png", "encoder_filters.png"};
    static const char *const what[2] = {"decoder atoms", "encoder filters"};
    size_t tr, tc;
    const float *td;
    int tied = sae_model_tensor_by_name(model, names[0], &tr, &tc, &td) != SAE_OK;
    for (int k = 0; k < 2; k++) {
        if (k == 1 && tied)
            break;
        size_t r, cols;
        const float *data;
        if (sae_model_tensor_by_name(model, names[tied ? 1 : k], &r, &cols, &data) != SAE_OK ||
            cols != in)
            return cli_fail(cmd, "the model has no %s [%zu x %zu]", names[k], units, in);
        char path[4096], title[128];
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        snprintf(title, sizeof title, "%s%s, %zu of %zu", what[k],
                 tied ? " (tied: the encoder's rows)" : "", n, units);
        int rc = tiles(cmd, path, title, data, n, c, h, w);
        if (rc != CLI_OK)
            return rc;
    }
    return CLI_OK;
}

int cmd_viz(int argc, char **argv)
{
    static const struct option longopts[] = {{"model", required_argument, NULL, 'm'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"data", required_argument, NULL, 'd'},
                                             {"log", required_argument, NULL, OPT_LOG},
                                             {"image-shape", required_argument, NULL, OPT_SHAPE},
                                             {"max-atoms", required_argument, NULL, OPT_MAX},
                                             {"help", no_argument, NULL, 'h'},
                                             CLI_DATA_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    const char *cmd = "viz", *model_path = NULL, *out = NULL, *log = NULL, *shape = NULL;
    const char **data = calloc((size_t)argc, sizeof *data);
    size_t n_data = 0;
    uint64_t max_atoms = 256;
    int rc = CLI_USAGE, opt;
    sd_options_t dopt = {0};
    sd_set_t set = {0};
    sae_model_t *model = NULL;
    if (!data)
        return cli_fail(cmd, "out of memory");
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":m:o:d:h", longopts, NULL)) != -1) {
        int d = cli_data_option(cmd, opt, optarg, &dopt);
        if (d < 0)
            goto done;
        if (d)
            continue;
        switch (opt) {
        case 'm': model_path = optarg; break;
        case 'o': out = optarg; break;
        case 'd': data[n_data++] = optarg; break;
        case OPT_LOG: log = optarg; break;
        case OPT_SHAPE: shape = optarg; break;
        case OPT_MAX:
            if (cli_parse_size(cmd, "--max-atoms", optarg, 1, 65536, &max_atoms) < 0)
                goto done;
            break;
        case 'h':
            fputs(viz_help, stdout);
            rc = CLI_OK;
            goto done;
        case ':': cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]); goto done;
        default: cli_usage(cmd, "unknown option '%s'", argv[optind - 1]); goto done;
        }
    }
    if (optind < argc) {
        cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
        goto done;
    }
    if (!model_path || !out) {
        cli_usage(cmd, "--model and --out are required");
        goto done;
    }
    if (shape) {
        size_t c, h, w;
        if (parse_shape(shape, &c, &h, &w) < 0 || (c != 1 && c != 3)) {
            cli_usage(cmd, "--image-shape: '%s' is not CxHxW with C 1 or 3", shape);
            goto done;
        }
    }
    if ((rc = cli_model_load(cmd, model_path, &model)) != CLI_OK)
        goto done;
    if (n_data && (rc = cli_data_open(cmd, &set, data, n_data, &dopt)) != CLI_OK)
        goto done;
    if (ex_mkdir_p(out) != EX_OK) {
        rc = cli_fail(cmd, "%s", ex_error_detail());
        goto done;
    }
    if ((rc = draw_atoms(cmd, model, out, shape, (size_t)max_atoms)) != CLI_OK)
        goto done;
    if (n_data && (rc = viz_frequency(cmd, model, &set, out)) != CLI_OK)
        goto done;
    if (log && (rc = viz_log(cmd, log, out)) != CLI_OK)
        goto done;
done:
    sd_set_close(&set);
    sae_model_free(model);
    free(data);
    return rc;
}
