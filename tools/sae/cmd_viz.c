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

static int tiles(const char *cmd, const char *path, const char *title, const float *rows,
                 size_t n, size_t c, size_t h, size_t w)
{
    size_t cols = (size_t)ceil(sqrt((double)n)), gw, gh;
    int zoom = (int)(h > 48 || w > 48 ? 1 : 48 / (h > w ? h : w));
    ex_tiles_size(n, w, h, cols, zoom, &gw, &gh);
    size_t title_h = 40;
    size_t width = gw + 20 < 480 ? 480 : gw + 20;
    ex_canvas cv;
    if (ex_canvas_init(&cv, width, gh + title_h + 10, EX_RGB(255, 255, 255)) != EX_OK)
        return cli_fail(cmd, "%s: %s", path, ex_error_detail());
    ex_canvas_fill(&cv, 10 - 1, (long)title_h - 1, (long)gw + 2, (long)gh + 2,
                   EX_RGB(90, 90, 90));
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
            return cli_usage(cmd, "--image-shape %s holds %zu values, the model's rows %zu",
                             shape, c * h * w, in);
    } else {
        h = w = (size_t)llround(sqrt((double)in));
        if (h * w != in) {
            fprintf(stderr, "sae viz: rows of %zu values are not square images: no atoms drawn "
                            "(give --image-shape CxHxW)\n", in);
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

static int draw_frequency(const char *cmd, sae_model_t *model, const sd_set_t *set,
                          const char *dir)
{
    size_t in = sae_model_input_dim(model), units = sae_model_code_dim(model);
    if (set->dim != in)
        return cli_fail(cmd, "the data's rows hold %zu values, the model takes %zu", set->dim,
                        in);
    char act[32] = "";
    sae_config_get(sae_model_config(model), "arch.hidden_activation", act, sizeof act);
    float thr = strcmp(act, "sigmoid") == 0 || strcmp(act, "tanh") == 0 ? 1e-3f : 0.0f;
    enum { CHUNK = 1024, BINS_PER_DECADE = 4 };
    size_t ch = set->rows < CHUNK ? set->rows : CHUNK;
    float *x = malloc(ch * in * sizeof *x), *h = malloc(ch * units * sizeof *h);
    double *count = calloc(units, sizeof *count);
    int rc = CLI_OK;
    if (!x || !h || !count) {
        rc = cli_fail(cmd, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < set->rows; r += ch) {
        size_t n = set->rows - r < ch ? set->rows - r : ch;
        if (sd_set_read(set, r, n, x) < 0 || sae_model_encode(model, x, n, h) != SAE_OK) {
            rc = cli_fail(cmd, "%s", sd_errmsg()[0] ? sd_errmsg() : sae_model_errmsg(model));
            goto done;
        }
        for (size_t i = 0; i < n * units; i++)
            count[i % units] += fabsf(h[i]) > thr;
    }
    /* Bins of a quarter decade from the rarest live latent's decade to 1;
     * dead latents (never active) in a bar of their own. */
    double lo = 0, dead = 0;
    for (size_t j = 0; j < units; j++) {
        if (count[j] == 0)
            dead++;
        else
            lo = fmin(lo, floor(log10(count[j] / (double)set->rows)));
    }
    size_t nbins = (size_t)(-lo * BINS_PER_DECADE) + 1;
    double *bins = calloc(nbins, sizeof *bins);
    if (!bins) {
        rc = cli_fail(cmd, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < units; j++) {
        if (count[j] == 0)
            continue;
        double l = log10(count[j] / (double)set->rows);
        size_t b = (size_t)floor((l - lo) * BINS_PER_DECADE);
        bins[b < nbins ? b : nbins - 1]++;
    }
    char path[4096], title[160];
    snprintf(path, sizeof path, "%s/firing_frequency.png", dir);
    snprintf(title, sizeof title, "firing frequency of %zu latents over %zu rows (%.0f dead)",
             units, set->rows, dead);
    ex_bars bars = {title, "log10 of the fraction of rows a latent is active on", "latents",
                    bins, nbins, lo, 1.0 / BINS_PER_DECADE, "dead", dead,
                    EX_RGB(31, 119, 180)};
    if (ex_bars_save(path, &bars) != EX_OK)
        rc = cli_fail(cmd, "%s", ex_error_detail());
    else
        printf("%s\n", path);
    free(bins);
done:
    free(x);
    free(h);
    free(count);
    return rc;
}

/* Series of a --log file: loss, recon_loss and each term, per step. */
#define MAX_SERIES 10
static int draw_log(const char *cmd, const char *log, const char *dir)
{
    FILE *fp = fopen(log, "r");
    if (!fp)
        return cli_fail(cmd, "%s: %s", log, strerror(errno));
    char *names[MAX_SERIES] = {0};
    double *ys[MAX_SERIES] = {0}, *steps = NULL;
    size_t n = 0, cap = 0, n_series = 2, line_no = 0;
    int rc = CLI_OK;
    names[0] = strdup("loss");
    names[1] = strdup("reconstruction");
    char line[8192];
    while (fgets(line, sizeof line, fp)) {
        line_no++;
        cJSON *o = cJSON_Parse(line);
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(o, "step");
        if (!cJSON_IsNumber(step)) {
            cJSON_Delete(o);
            rc = cli_fail(cmd, "%s:%zu: not a line of 'sae train --log'", log, line_no);
            goto done;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            double *p = realloc(steps, cap * sizeof *p);
            if (!p) {
                cJSON_Delete(o);
                rc = cli_fail(cmd, "out of memory");
                goto done;
            }
            steps = p;
            for (size_t s = 0; s < MAX_SERIES; s++) {
                double *q = realloc(ys[s], cap * sizeof *q);
                if (!q) {
                    cJSON_Delete(o);
                    rc = cli_fail(cmd, "out of memory");
                    goto done;
                }
                ys[s] = q;
            }
        }
        steps[n] = step->valuedouble;
        for (size_t s = 0; s < MAX_SERIES; s++)
            ys[s][n] = NAN;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "loss");
        ys[0][n] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        v = cJSON_GetObjectItemCaseSensitive(o, "recon_loss");
        ys[1][n] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        const cJSON *terms = cJSON_GetObjectItemCaseSensitive(o, "terms");
        for (const cJSON *t = cJSON_IsObject(terms) ? terms->child : NULL; t; t = t->next) {
            if (!cJSON_IsNumber(t) || strcmp(t->string, "recon") == 0)
                continue;
            size_t s = 2;
            while (s < n_series && strcmp(names[s], t->string) != 0)
                s++;
            if (s == n_series) {
                if (n_series == MAX_SERIES)
                    continue;
                names[n_series++] = strdup(t->string);
            }
            ys[s][n] = t->valuedouble;
        }
        cJSON_Delete(o);
        n++;
    }
    if (n == 0) {
        rc = cli_fail(cmd, "%s: no lines", log);
        goto done;
    }
    static const ex_color palette[MAX_SERIES] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
        {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
    ex_series series[MAX_SERIES];
    int positive = 1;
    for (size_t s = 0; s < n_series; s++) {
        series[s] = (ex_series){names[s], steps, ys[s], n, palette[s], s >= 2};
        for (size_t i = 0; i < n; i++)
            if (isfinite(ys[s][i]) && ys[s][i] <= 0)
                positive = 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/loss_curves.png", dir);
    ex_chart chart = {"training loss and its terms", "step",
                      positive ? "value (log scale)" : "value", positive, 1, 0, 0};
    if (ex_linechart_save(path, &chart, series, n_series) != EX_OK)
        rc = cli_fail(cmd, "%s", ex_error_detail());
    else
        printf("%s\n", path);
done:
    fclose(fp);
    free(steps);
    for (size_t s = 0; s < MAX_SERIES; s++) {
        free(ys[s]);
        free(names[s]);
    }
    return rc;
}

int cmd_viz(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
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
    if (n_data && (rc = draw_frequency(cmd, model, &set, out)) != CLI_OK)
        goto done;
    if (log && (rc = draw_log(cmd, log, out)) != CLI_OK)
        goto done;
done:
    sd_set_close(&set);
    sae_model_free(model);
    free(data);
    return rc;
}
