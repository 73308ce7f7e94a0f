/* SPDX-License-Identifier: MIT */
/* sae eval: reconstruction and sparsity metrics of a model on data rows,
 * each from the library's own calls on all the rows at once:
 *   fvu, explained_variance   sae_model_reconstruction_error
 *   mse                       mean over all values of (x - x_hat)^2, x_hat
 *                             from sae_model_reconstruct
 *   l0, dead_fraction         from sae_model_encode's codes: active units a
 *                             row (|h| > 1e-3 for sigmoid and tanh codes, h
 *                             != 0 otherwise, as sae_stats_t.l0 counts), and
 *                             the fraction of units active on no row
 *   loss, recon_loss, terms,  sae_trainer_evaluate: the training objective
 *   mean_activation           and its terms at the model's weights */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char eval_help[] =
    "Usage: sae eval --model MODEL --data FILE... [--json] [OPTIONS]\n"
    "Reconstruction and sparsity metrics of the model on the data's rows.\n\n"
    "  -m, --model MODEL     the model file\n"
    "  -d, --data FILE       a data file; several are read in order\n"
    "      --json            one JSON object on stdout (rows, mse, fvu,\n"
    "                        explained_variance, l0, dead_fraction, loss, ...)\n"
    "  -h, --help            this help\n\n" CLI_DATA_HELP;

enum { OPT_JSON = CLI_OPT_FIRST_FREE };

typedef struct metrics {
    size_t rows, dim, units, dead_units;
    double mse, fvu, ev, l0, dead_fraction;
    sae_stats_t st;
} metrics_t;

static int compute(const char *cmd, sae_model_t *model, const float *x, size_t rows,
                   metrics_t *m)
{
    size_t in = sae_model_input_dim(model), units = sae_model_code_dim(model);
    m->rows = rows;
    m->dim = in;
    m->units = units;
    if (rows < 2)
        return cli_fail(cmd, "the metrics need at least 2 rows, the data has %zu", rows);
    if (sae_model_reconstruction_error(model, x, rows, &m->fvu, &m->ev) != SAE_OK)
        return cli_fail(cmd, "%s", sae_model_errmsg(model));
    char act[32] = "";
    sae_config_get(sae_model_config(model), "arch.hidden_activation", act, sizeof act);
    float thr = strcmp(act, "sigmoid") == 0 || strcmp(act, "tanh") == 0 ? 1e-3f : 0.0f;
    enum { CHUNK = 512 };
    size_t c = rows < CHUNK ? rows : CHUNK;
    float *xh = malloc(c * in * sizeof *xh), *h = malloc(c * units * sizeof *h);
    unsigned char *ever = calloc(units, 1);
    if (!xh || !h || !ever) {
        free(xh);
        free(h);
        free(ever);
        return cli_fail(cmd, "out of memory");
    }
    double se = 0, active = 0;
    int rc = CLI_OK;
    for (size_t r = 0; r < rows && rc == CLI_OK; r += c) {
        size_t n = rows - r < c ? rows - r : c;
        const float *xr = x + r * in;
        if (sae_model_reconstruct(model, xr, n, xh) != SAE_OK ||
            sae_model_encode(model, xr, n, h) != SAE_OK) {
            rc = cli_fail(cmd, "%s", sae_model_errmsg(model));
            break;
        }
        for (size_t i = 0; i < n * in; i++) {
            double d = (double)xr[i] - (double)xh[i];
            se += d * d;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < units; j++)
                if (fabsf(h[i * units + j]) > thr) {
                    active += 1;
                    ever[j] = 1;
                }
    }
    free(xh);
    free(h);
    if (rc == CLI_OK) {
        m->mse = se / ((double)rows * (double)in);
        m->l0 = active / (double)rows;
        m->dead_units = 0;
        for (size_t j = 0; j < units; j++)
            m->dead_units += !ever[j];
        m->dead_fraction = (double)m->dead_units / (double)units;
        sae_trainer_t *t = NULL;
        memset(&m->st, 0, sizeof m->st);
        m->st.struct_size = sizeof m->st;
        if (sae_trainer_create(model, &t) != SAE_OK)
            rc = cli_fail(cmd, "%s", sae_last_error());
        else if (sae_trainer_evaluate(t, x, rows, &m->st) != SAE_OK)
            rc = cli_fail(cmd, "%s", sae_trainer_errmsg(t));
        sae_trainer_free(t);
    }
    free(ever);
    return rc;
}

static void print_json(const metrics_t *m)
{
    cJSON *o = cJSON_CreateObject(), *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rows", (double)m->rows);
    cJSON_AddNumberToObject(o, "input_dim", (double)m->dim);
    cJSON_AddNumberToObject(o, "code_dim", (double)m->units);
    cJSON_AddNumberToObject(o, "mse", m->mse);
    cJSON_AddNumberToObject(o, "fvu", m->fvu);
    cJSON_AddNumberToObject(o, "explained_variance", m->ev);
    cJSON_AddNumberToObject(o, "l0", m->l0);
    cJSON_AddNumberToObject(o, "dead_fraction", m->dead_fraction);
    cJSON_AddNumberToObject(o, "dead_units", (double)m->dead_units);
    cJSON_AddNumberToObject(o, "mean_activation", m->st.mean_activation);
    cJSON_AddNumberToObject(o, "loss", m->st.loss);
    cJSON_AddNumberToObject(o, "recon_loss", m->st.recon_loss);
    for (uint32_t i = 0; i < m->st.n_terms && i < SAE_MAX_TERMS; i++)
        if (m->st.term_name[i])
            cJSON_AddNumberToObject(t, m->st.term_name[i], m->st.term_loss[i]);
    cJSON_AddItemToObject(o, "terms", t);
    char *s = cJSON_PrintUnformatted(o);
    if (s)
        printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

static void print_text(const metrics_t *m)
{
    printf("rows                %zu\n", m->rows);
    printf("input_dim           %zu\n", m->dim);
    printf("code_dim            %zu\n", m->units);
    printf("mse                 %.9g\n", m->mse);
    printf("fvu                 %.9g\n", m->fvu);
    printf("explained_variance  %.9g\n", m->ev);
    printf("l0                  %.9g\n", m->l0);
    printf("dead_fraction       %.9g (%zu units)\n", m->dead_fraction, m->dead_units);
    printf("mean_activation     %.9g\n", m->st.mean_activation);
    printf("loss                %.9g\n", m->st.loss);
    for (uint32_t i = 0; i < m->st.n_terms && i < SAE_MAX_TERMS; i++)
        if (m->st.term_name[i])
            printf("  %-17s %.9g\n", m->st.term_name[i], m->st.term_loss[i]);
}

int cmd_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'}, {"data", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, OPT_JSON},   {"help", no_argument, NULL, 'h'},
        CLI_DATA_LONGOPTS,                        {NULL, 0, NULL, 0}};
    const char *cmd = "eval", *model_path = NULL;
    const char **data = calloc((size_t)argc, sizeof *data);
    size_t n_data = 0;
    int json = 0, rc = CLI_USAGE, opt;
    sd_options_t dopt = {0};
    sd_set_t set = {0};
    sae_model_t *model = NULL;
    float *x = NULL;
    if (!data)
        return cli_fail(cmd, "out of memory");
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":m:d:h", longopts, NULL)) != -1) {
        int d = cli_data_option(cmd, opt, optarg, &dopt);
        if (d < 0)
            goto done;
        if (d)
            continue;
        switch (opt) {
        case 'm': model_path = optarg; break;
        case 'd': data[n_data++] = optarg; break;
        case OPT_JSON: json = 1; break;
        case 'h':
            fputs(eval_help, stdout);
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
    if (!model_path || n_data == 0) {
        cli_usage(cmd, "--model and --data are required");
        goto done;
    }
    if ((rc = cli_model_load(cmd, model_path, &model)) != CLI_OK)
        goto done;
    if ((rc = cli_data_open(cmd, &set, data, n_data, &dopt)) != CLI_OK)
        goto done;
    if (set.dim != sae_model_input_dim(model)) {
        rc = cli_fail(cmd, "the data's rows hold %zu values, the model takes %zu", set.dim,
                      sae_model_input_dim(model));
        goto done;
    }
    if ((rc = cli_data_load(cmd, &set, &x)) != CLI_OK)
        goto done;
    metrics_t m;
    memset(&m, 0, sizeof m);
    if ((rc = compute(cmd, model, x, set.rows, &m)) != CLI_OK)
        goto done;
    if (json)
        print_json(&m);
    else
        print_text(&m);
    rc = CLI_OK;
done:
    free(x);
    sd_set_close(&set);
    sae_model_free(model);
    free(data);
    return rc;
}
