/* SPDX-License-Identifier: MIT */
/* sae eval: the standard evaluation metrics of a model on data rows
 * (sae_metrics_*, docs/metrics.md: l0, mse, fvu, explained_variance,
 * cosine, l2_ratio, rel_bias, dead and dense latents, the log10 histogram
 * of the firing frequencies), and the training objective with its terms
 * at the model's weights (sae_trainer_evaluate: loss, recon_loss, terms,
 * mean_activation). The rows are read and measured in chunks (a multiple
 * of train.batch_size, so that the objective's batches are the ones one
 * call over all rows would take): a data file larger than memory is
 * evaluated in bounded memory. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char eval_help[] =
    "Usage: sae eval --model MODEL --data FILE... [--json] [OPTIONS]\n"
    "The standard evaluation metrics of the model on the data's rows, one\n"
    "'key: value' line each (docs/metrics.md).\n\n"
    "  -m, --model MODEL     the model file (or a folder or file of another tool:\n"
    "                        SAELens, sparsify, Gemma Scope, Llama Scope)\n"
    "  -d, --data FILE       a data file; several are read in order\n"
    "      --json            one JSON object on stdout (rows, mse, fvu,\n"
    "                        explained_variance, l0, cosine, l2_ratio, rel_bias,\n"
    "                        dead_fraction, dense_fraction, loss, ...)\n"
    "      --bins N          bins of the log10 firing-frequency histogram (16)\n"
    "      --hist-range LO:HI  its range of log10 frequency (-8:0)\n"
    "  -h, --help            this help\n\n" CLI_DATA_HELP;

enum { OPT_JSON = CLI_OPT_FIRST_FREE, OPT_BINS, OPT_RANGE };

/* Rows per chunk: about 2^16, a multiple of the batch size, at most 2^26
 * values (256 MB of floats), at least one batch. */
static size_t chunk_rows(size_t batch, size_t dim, size_t rows)
{
    size_t c = ((size_t)1 << 16) / batch * batch;
    while (c > batch && c * dim > ((size_t)1 << 26))
        c -= batch;
    if (c < batch)
        c = batch;
    return c < rows ? c : rows;
}

typedef struct metrics {
    size_t rows, dim, units, bins;
    double lo, hi;
    sae_metrics_summary_t s;
    uint64_t *hist;
    sae_stats_t st;
} metrics_t;

/* Adds the objective of n rows (sae_stats_t, averages over them) to acc
 * with weight n. */
static void add_stats(sae_stats_t *acc, const sae_stats_t *c, size_t n)
{
    double w = (double)n;
    acc->samples += c->samples;
    acc->loss += c->loss * w;
    acc->recon_loss += c->recon_loss * w;
    acc->mean_activation += c->mean_activation * w;
    acc->l0 += c->l0 * w;
    acc->n_terms = c->n_terms;
    for (uint32_t i = 0; i < c->n_terms && i < SAE_MAX_TERMS; i++) {
        acc->term_loss[i] += c->term_loss[i] * w;
        acc->term_name[i] = c->term_name[i];
    }
}

static int compute(const char *cmd, sae_model_t *model, const sd_set_t *set, metrics_t *m)
{
    size_t in = sae_model_input_dim(model), rows = set->rows;
    m->rows = rows;
    m->dim = in;
    m->units = sae_model_code_dim(model);
    if (rows < 2)
        return cli_fail(cmd, "the metrics need at least 2 rows, the data has %zu", rows);
    int64_t batch = 100;
    sae_config_get_int(sae_model_config(model), SAE_P_BATCH_SIZE, &batch);
    size_t c = chunk_rows(batch > 0 ? (size_t)batch : 1, in, rows);
    float *x = malloc(c * in * sizeof *x);
    m->hist = calloc(m->bins, sizeof *m->hist);
    sae_metrics_t *mx = NULL;
    sae_trainer_t *t = NULL;
    int rc = CLI_OK;
    if (!x || !m->hist)
        rc = cli_fail(cmd, "out of memory");
    else if (sae_metrics_create(model, &mx) != SAE_OK || sae_trainer_create(model, &t) != SAE_OK)
        rc = cli_fail(cmd, "%s", sae_last_error());
    memset(&m->st, 0, sizeof m->st);
    m->st.struct_size = sizeof m->st;
    for (size_t r = 0; r < rows && rc == CLI_OK; r += c) {
        size_t n = rows - r < c ? rows - r : c;
        sae_stats_t st;
        memset(&st, 0, sizeof st);
        st.struct_size = sizeof st;
        if (sd_set_read(set, r, n, x) < 0)
            rc = cli_fail(cmd, "cannot read rows %zu..%zu of the data", r, r + n);
        else if (sae_metrics_add(mx, x, n) != SAE_OK)
            rc = cli_fail(cmd, "%s", sae_metrics_errmsg(mx));
        else if (sae_trainer_evaluate(t, x, n, &st) != SAE_OK)
            rc = cli_fail(cmd, "%s", sae_trainer_errmsg(t));
        else if (n == rows) /* one chunk: exactly the one call's numbers */
            m->st = st;
        else
            add_stats(&m->st, &st, n);
        sd_set_release(set, r, n);
    }
    if (rc == CLI_OK && c < rows) {
        double w = (double)rows;
        m->st.loss /= w;
        m->st.recon_loss /= w;
        m->st.mean_activation /= w;
        m->st.l0 /= w;
        for (uint32_t i = 0; i < m->st.n_terms && i < SAE_MAX_TERMS; i++)
            m->st.term_loss[i] /= w;
    }
    memset(&m->s, 0, sizeof m->s);
    m->s.struct_size = sizeof m->s;
    if (rc == CLI_OK && (sae_metrics_summary(mx, &m->s) != SAE_OK ||
                         sae_metrics_histogram(mx, m->lo, m->hi, m->bins, m->hist) != SAE_OK))
        rc = cli_fail(cmd, "%s", sae_metrics_errmsg(mx));
    sae_trainer_free(t);
    sae_metrics_free(mx);
    free(x);
    return rc;
}

static void print_json(const metrics_t *m)
{
    const sae_metrics_summary_t *s = &m->s;
    cJSON *o = cJSON_CreateObject(), *t = cJSON_CreateObject();
    cli_json_add_number(o, "rows", (double)m->rows);
    cli_json_add_number(o, "input_dim", (double)m->dim);
    cli_json_add_number(o, "code_dim", (double)m->units);
    /* NaN (undefined) is JSON's null. */
    cli_json_add_number(o, "l0", s->l0);
    cli_json_add_number(o, "mse", s->mse);
    cli_json_add_number(o, "fvu", s->fvu);
    cli_json_add_number(o, "explained_variance", s->explained_variance);
    cli_json_add_number(o, "cosine", s->cosine);
    cli_json_add_number(o, "l2_ratio", s->l2_ratio);
    cli_json_add_number(o, "rel_bias", s->rel_bias);
    cli_json_add_number(o, "dead_fraction", s->dead_fraction);
    cli_json_add_number(o, "dead_units", (double)s->dead_units);
    cli_json_add_number(o, "dense_fraction", s->dense_fraction);
    cli_json_add_number(o, "dense_units", (double)s->dense_units);
    cJSON *h = cJSON_CreateObject(), *counts = cJSON_CreateArray();
    cli_json_add_number(h, "lo", m->lo);
    cli_json_add_number(h, "hi", m->hi);
    for (size_t i = 0; i < m->bins; i++)
        cJSON_AddItemToArray(counts, cli_json_number((double)m->hist[i]));
    cJSON_AddItemToObject(h, "counts", counts);
    cJSON_AddItemToObject(o, "log10_frequency_histogram", h);
    cli_json_add_number(o, "mean_activation", m->st.mean_activation);
    cli_json_add_number(o, "loss", m->st.loss);
    cli_json_add_number(o, "recon_loss", m->st.recon_loss);
    for (uint32_t i = 0; i < m->st.n_terms && i < SAE_MAX_TERMS; i++)
        if (m->st.term_name[i])
            cli_json_add_number(t, m->st.term_name[i], m->st.term_loss[i]);
    cJSON_AddItemToObject(o, "terms", t);
    char *str = cJSON_PrintUnformatted(o);
    if (str)
        printf("%s\n", str);
    cJSON_free(str);
    cJSON_Delete(o);
}

/* One "key: value" line each, in the shortest form that reads back exactly. */
static void print_text(const metrics_t *m)
{
    const sae_metrics_summary_t *s = &m->s;
    char num[CLI_NUMBER_SIZE];
    printf("rows: %zu\n", m->rows);
    printf("input_dim: %zu\n", m->dim);
    printf("code_dim: %zu\n", m->units);
    printf("l0: %s\n", cli_shortest(s->l0, num));
    printf("mse: %s\n", cli_shortest(s->mse, num));
    printf("fvu: %s\n", cli_shortest(s->fvu, num));
    printf("explained_variance: %s\n", cli_shortest(s->explained_variance, num));
    printf("cosine: %s\n", cli_shortest(s->cosine, num));
    printf("l2_ratio: %s\n", cli_shortest(s->l2_ratio, num));
    printf("rel_bias: %s\n", cli_shortest(s->rel_bias, num));
    printf("dead_fraction: %s\n", cli_shortest(s->dead_fraction, num));
    printf("dead_units: %llu\n", (unsigned long long)s->dead_units);
    printf("dense_fraction: %s\n", cli_shortest(s->dense_fraction, num));
    printf("dense_units: %llu\n", (unsigned long long)s->dense_units);
    printf("log10_frequency_histogram: %g:%g", m->lo, m->hi);
    for (size_t i = 0; i < m->bins; i++)
        printf("%s%llu", i ? "," : " ", (unsigned long long)m->hist[i]);
    printf("\n");
    printf("mean_activation: %s\n", cli_shortest(m->st.mean_activation, num));
    printf("loss: %s\n", cli_shortest(m->st.loss, num));
    printf("recon_loss: %s\n", cli_shortest(m->st.recon_loss, num));
    for (uint32_t i = 0; i < m->st.n_terms && i < SAE_MAX_TERMS; i++)
        if (m->st.term_name[i])
            printf("terms.%s: %s\n", m->st.term_name[i], cli_shortest(m->st.term_loss[i], num));
}

int cmd_eval(int argc, char **argv)
{
    static const struct option longopts[] = {{"model", required_argument, NULL, 'm'},
                                             {"data", required_argument, NULL, 'd'},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"bins", required_argument, NULL, OPT_BINS},
                                             {"hist-range", required_argument, NULL, OPT_RANGE},
                                             {"help", no_argument, NULL, 'h'},
                                             CLI_DATA_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    const char *cmd = "eval", *model_path = NULL;
    const char **data = calloc((size_t)argc, sizeof *data);
    size_t n_data = 0;
    int json = 0, rc = CLI_USAGE, opt;
    sd_options_t dopt = {0};
    sd_set_t set = {0};
    sae_model_t *model = NULL;
    metrics_t m;
    memset(&m, 0, sizeof m);
    m.bins = 16;
    m.lo = -8;
    m.hi = 0;
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
        case OPT_BINS: {
            char *end;
            unsigned long long b = strtoull(optarg, &end, 10);
            if (*end || optarg[0] == '-' || b < 1 || b > 10000) {
                cli_usage(cmd, "--bins takes 1..10000, not '%s'", optarg);
                goto done;
            }
            m.bins = (size_t)b;
            break;
        }
        case OPT_RANGE: {
            char *end, *end2;
            m.lo = strtod(optarg, &end);
            m.hi = *end == ':' ? strtod(end + 1, &end2) : NAN;
            if (*end != ':' || *end2 || !isfinite(m.lo) || !isfinite(m.hi) || !(m.lo < m.hi)) {
                cli_usage(cmd, "--hist-range takes LO:HI with LO < HI, not '%s'", optarg);
                goto done;
            }
            break;
        }
        case 'h':
            fputs(eval_help, stdout);
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
    if ((rc = compute(cmd, model, &set, &m)) != CLI_OK)
        goto done;
    if (json)
        print_json(&m);
    else
        print_text(&m);
    rc = CLI_OK;
done:
    free(m.hist);
    sd_set_close(&set);
    sae_model_free(model);
    free(data);
    return rc;
}
