/* Trainer handle: batching, sampling, epochs, progress and cancellation.
 * SPDX-License-Identifier: MIT */
#include "train/trainer.h"

#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "model/bias_init.h"
#include "sparsity/terms.h"
#include "train/method.h"
#include "train/reducer.h"
#include "model/dense.h"
#include "model/input_scale.h"
#include "model/kind.h"

sae_status_t sae_trainer_create(sae_model_t *model, sae_trainer_t **out)
{
    if (!out)
        return sae_fail_global(SAE_ERR_NULL, "sae_trainer_create: out is NULL");
    *out = NULL;
    if (!model)
        return sae_fail_global(SAE_ERR_NULL, "sae_trainer_create: model is NULL");
    /* Training writes fp32 weights: a bf16 model is refused, not converted
     * behind the caller's back (docs/precision.md). */
    if (model->bf16)
        return sae_model_need_fp32(model, "sae_trainer_create");
    sae_trainer_t *t = calloc(1, sizeof *t);
    if (!t)
        return sae_fail_global(SAE_ERR_NOMEM, "sae_trainer_create: out of memory");
    t->model = model;
    model->trainers++; /* until sae_trainer_free */
    t->threads = sae_model_threads(model);
    if (sae_cfg_int(model->cfg, SAE_P_THREADS) > 0)
        sae_blas_set_threads(t->threads);
    sae_rng_seed(&t->rng, (uint64_t)sae_cfg_int(model->cfg, SAE_P_SEED) ^ 0x5AE5AE5AE5AEull);
    char err[SAE_ERRMSG_SIZE];
    size_t batch = (size_t)sae_cfg_int(model->cfg, SAE_P_BATCH_SIZE);
    sae_status_t st = sae_workspace_init(&t->ws, model, batch, t->threads, err);
    if (st == SAE_OK && sae_cfg_int(model->cfg, SAE_P_THREADS) > 0)
        sae_mm_set_threads(t->threads);
    t->method = sae_method_for(model->cfg);
    if (st == SAE_OK && t->method->setup)
        st = t->method->setup(t, err);
    if (st != SAE_OK) {
        sae_set_global_error(err);
        sae_trainer_free(t);
        return st;
    }
    *out = t;
    return SAE_OK;
}

void sae_trainer_free(sae_trainer_t *t)
{
    if (!t)
        return;
    if (t->model)
        t->model->trainers--;
    sae_workspace_release(&t->ws);
    if (t->method && t->method->release)
        t->method->release(t);
    free(t->order);
    free(t->src_cursor);
    sae_reduce_free(t->red);
    free(t);
}

const char *sae_trainer_errmsg(const sae_trainer_t *t)
{
    return t ? t->errmsg : "";
}

sae_status_t sae_trainer_set_callback(sae_trainer_t *t, sae_progress_fn fn, void *user_data)
{
    if (!t)
        return sae_fail_global(SAE_ERR_NULL, "sae_trainer_set_callback: trainer is NULL");
    t->callback = fn;
    t->callback_data = user_data;
    return SAE_OK;
}

uint64_t sae_trainer_steps(const sae_trainer_t *t)
{
    return t ? t->steps : 0;
}

uint64_t sae_trainer_epochs(const sae_trainer_t *t)
{
    return t ? t->epochs : 0;
}

static sae_status_t check_data(sae_trainer_t *t, const char *fn, const float *x, size_t rows)
{
    if (!t)
        return sae_fail_global(SAE_ERR_NULL, "%s: trainer is NULL", fn);
    if (!x)
        return sae_fail(t->errmsg, SAE_ERR_NULL, "%s: data is NULL", fn);
    if (rows == 0)
        return sae_fail(t->errmsg, SAE_ERR_DIMENSION, "%s: no rows", fn);
    size_t d = t->model->input_dim;
    if (rows > SIZE_MAX / sizeof(float) / d || rows > UINT32_MAX)
        return sae_fail(t->errmsg, SAE_ERR_DIMENSION, "%s: %zu rows is too many", fn, rows);
    if (sae_cfg_int(t->model->cfg, SAE_P_LOSS) != SAE_LOSS_BCE) {
        if (!sae_all_finite(x, rows * d))
            return sae_fail(t->errmsg, SAE_ERR_NONFINITE, "%s: data holds NaN or Inf", fn);
        return SAE_OK;
    }
    /* Cross-entropy against targets outside [0, 1] is not a loss: it has
     * no minimum, and training "succeeds" towards minus infinity (0..255
     * pixels reach -12.5). */
    float lo, hi;
    if (!sae_finite_range(x, rows * d, &lo, &hi))
        return sae_fail(t->errmsg, SAE_ERR_NONFINITE, "%s: data holds NaN or Inf", fn);
    if (lo < 0.0f || hi > 1.0f)
        return sae_fail(t->errmsg, SAE_ERR_RANGE,
                        "%s: loss.type = bce needs data in [0, 1], these rows reach [%g, %g]: "
                        "scale them (pixels: divide by 255) or use loss.type = mse",
                        fn, (double)lo, (double)hi);
    return SAE_OK;
}

void sae_trainer_init_bias(sae_trainer_t *t, const float *x, size_t rows)
{
    sae_model_t *m = t->model;
    size_t n = rows < SAE_BIAS_INIT_MAX_ROWS ? rows : SAE_BIAS_INIT_MAX_ROWS;
    /* arch.normalize_input: the scale first, from the same rows. */
    if (m->kind == &sae_kind_dense && sae_model_input_scale_pending(m))
        sae_model_estimate_input_scale(m, x, rows, n);
    if (!sae_dense(m)->bias_init_pending || !t->ws.dense.bias_est)
        return;
    sae_model_set_bias_from(m, x, rows, n, (sae_bias_init_t)sae_cfg_int(m->cfg, SAE_P_BIAS_INIT),
                            t->ws.dense.bias_est, t->ws.dense.bias_work);
    /* The bias lives in the scaled space; the mean and the geometric median
     * of s x are s times those of x. */
    float s = sae_model_input_scale(m);
    if (s != 1.0f)
        for (size_t i = 0; i < m->input_dim; i++)
            sae_dense(m)->dec_b[i] *= s;
}

/* Row-weighted running means of statistics. */
static void stats_accumulate(sae_stats_t *acc, const sae_stats_t *s)
{
    double w = (double)s->samples;
    acc->loss += w * s->loss;
    acc->recon_loss += w * s->recon_loss;
    acc->mean_activation += w * s->mean_activation;
    acc->l0 += w * s->l0;
    acc->n_terms = s->n_terms;
    for (uint32_t i = 0; i < s->n_terms; i++) {
        acc->term_name[i] = s->term_name[i];
        acc->term_loss[i] += w * s->term_loss[i];
    }
    acc->samples += s->samples;
    acc->learning_rate = s->learning_rate;
    acc->step = s->step;
}

static void stats_finish(sae_stats_t *acc)
{
    double inv = acc->samples ? 1.0 / (double)acc->samples : 0.0;
    acc->struct_size = (uint32_t)sizeof *acc;
    acc->loss *= inv;
    acc->recon_loss *= inv;
    acc->mean_activation *= inv;
    acc->l0 *= inv;
    for (uint32_t i = 0; i < acc->n_terms; i++)
        acc->term_loss[i] *= inv;
}

static void shuffle(sae_trainer_t *t, size_t rows)
{
    for (size_t i = 0; i < rows; i++)
        t->order[i] = (uint32_t)i;
    for (size_t i = rows - 1; i > 0; i--) {
        size_t j = (size_t)sae_rng_below(&t->rng, (uint64_t)i + 1);
        uint32_t tmp = t->order[i];
        t->order[i] = t->order[j];
        t->order[j] = tmp;
    }
}

/* The next batch: rows of x gathered into ws->gather (or a direct pointer). */
static const float *next_batch(sae_trainer_t *t, const float *x, size_t rows, size_t pos,
                               size_t *n)
{
    size_t d = t->model->input_dim, b = t->ws.batch;
    sae_sampling_t mode = (sae_sampling_t)sae_cfg_int(t->model->cfg, SAE_P_SAMPLING);
    if (mode == SAE_SAMPLE_REPLACEMENT) {
        *n = b;
        for (size_t i = 0; i < b; i++) {
            size_t r = (size_t)sae_rng_below(&t->rng, rows);
            memcpy(t->ws.gather + i * d, x + r * d, d * sizeof(float));
        }
        return t->ws.gather;
    }
    *n = rows - pos < b ? rows - pos : b;
    if (mode == SAE_SAMPLE_SEQUENTIAL)
        return x + pos * d;
    for (size_t i = 0; i < *n; i++)
        memcpy(t->ws.gather + i * d, x + (size_t)t->order[pos + i] * d, d * sizeof(float));
    return t->ws.gather;
}

void sae_loop_use(sae_trainer_t *t, int kind, uint64_t rows)
{
    if (t->data_kind == kind && (kind != SAE_DATA_MEMORY || t->data_rows == rows))
        return;
    /* Other data: the epoch begun on the old one is dropped, and with it
     * a checkpoint's source position still to be restored. */
    t->data_kind = kind;
    t->src_restore = 0;
    free(t->src_cursor);
    t->src_cursor = NULL;
    t->src_cursor_len = 0;
    t->data_rows = kind == SAE_DATA_MEMORY ? rows : 0;
    t->pos = 0;
    memset(&t->epoch_acc, 0, sizeof t->epoch_acc);
}

sae_status_t sae_loop_step(sae_trainer_t *t, const float *batch, size_t n, uint64_t total_steps)
{
    sae_stats_t s;
    sae_status_t st = t->method->step(t, batch, n, &s);
    if (st != SAE_OK)
        return st;
    t->pos += n;
    s.epoch = t->epochs;
    s.total_steps = total_steps;
    stats_accumulate(&t->epoch_acc, &s);
    if (t->callback && t->callback(SAE_PROGRESS_STEP, &s, t->callback_data))
        return sae_fail(t->errmsg, SAE_ERR_CANCELLED, "training cancelled by the callback "
                        "after step %llu", (unsigned long long)t->steps);
    return SAE_OK;
}

sae_status_t sae_loop_epoch_end(sae_trainer_t *t, uint64_t total_steps)
{
    sae_stats_t acc = t->epoch_acc;
    memset(&t->epoch_acc, 0, sizeof t->epoch_acc);
    t->pos = 0;
    t->epochs++;
    stats_finish(&acc);
    if (t->method->epoch_end)
        t->method->epoch_end(t, &acc);
    acc.epoch = t->epochs;
    acc.total_steps = total_steps;
    if (t->callback && t->callback(SAE_PROGRESS_EPOCH, &acc, t->callback_data))
        return sae_fail(t->errmsg, SAE_ERR_CANCELLED,
                        "training cancelled by the callback after epoch %llu",
                        (unsigned long long)t->epochs);
    return SAE_OK;
}

/* The batch loop of the methods that step batch by batch. The position in
 * the epoch lives in the trainer, so that a fit continues where the last
 * one (or a checkpoint) left; an epoch whose last step was followed by a
 * cancellation ends at the start of the next call. */
static sae_status_t run(sae_trainer_t *t, const float *x, size_t rows, uint64_t total_steps)
{
    if (sae_cfg_int(t->model->cfg, SAE_P_SAMPLING) == SAE_SAMPLE_SHUFFLE &&
        t->order_len != rows) {
        free(t->order);
        t->order = malloc(rows * sizeof *t->order);
        t->order_len = t->order ? rows : 0;
        if (!t->order)
            return sae_fail(t->errmsg, SAE_ERR_NOMEM, "trainer: cannot allocate %zu indices",
                            rows);
    }
    sae_sampling_t mode = (sae_sampling_t)sae_cfg_int(t->model->cfg, SAE_P_SAMPLING);
    for (uint64_t done = 0;; done++) {
        /* With a reducer the epoch ends when every rank's rows are used
         * (a rank with fewer steps to go takes part with none). */
        uint64_t left = t->pos < rows ? rows - t->pos : 0, global;
        sae_status_t st = sae_reduce_rows(t->red, left, &global, t->steps + 1, t->errmsg);
        if (st == SAE_OK && global == 0)
            st = sae_loop_epoch_end(t, total_steps);
        if (st != SAE_OK)
            return st;
        if (done == total_steps)
            return SAE_OK;
        if (t->pos == 0 && mode == SAE_SAMPLE_SHUFFLE)
            shuffle(t, rows);
        size_t n = 0;
        const float *batch = x;
        if (t->pos < rows)
            batch = next_batch(t, x, rows, (size_t)t->pos, &n);
        st = sae_loop_step(t, batch, n, total_steps);
        if (st != SAE_OK)
            return st;
    }
}

/* The checks and the data-dependent initialisation every fit starts with. */
static sae_status_t begin_fit(sae_trainer_t *t, const char *fn, const float *x, size_t rows)
{
    sae_status_t st = check_data(t, fn, x, rows);
    if (st == SAE_OK)
        sae_trainer_init_bias(t, x, rows);
    return st;
}

/* `steps` steps on x: the method's own loop, or the batch loop. */
static sae_status_t fit(sae_trainer_t *t, const float *x, size_t rows, uint64_t steps)
{
    if (t->method->fit)
        return t->method->fit(t, x, rows, steps);
    sae_loop_use(t, SAE_DATA_MEMORY, rows);
    return run(t, x, rows, steps);
}

sae_status_t sae_trainer_fit(sae_trainer_t *t, const float *x, size_t rows, uint64_t epochs)
{
    sae_status_t st = begin_fit(t, "sae_trainer_fit", x, rows);
    if (st != SAE_OK)
        return st;
    /* A method owning its loop takes the whole data set per step. */
    if (t->method->fit)
        return fit(t, x, rows, epochs);
    uint64_t per_epoch = (rows + t->ws.batch - 1) / t->ws.batch;
    if (epochs > UINT64_MAX / per_epoch)
        return sae_fail(t->errmsg, SAE_ERR_RANGE, "sae_trainer_fit: too many epochs");
    return fit(t, x, rows, epochs * per_epoch);
}

sae_status_t sae_trainer_fit_steps(sae_trainer_t *t, const float *x, size_t rows, uint64_t steps)
{
    sae_status_t st = begin_fit(t, "sae_trainer_fit_steps", x, rows);
    if (st != SAE_OK)
        return st;
    return fit(t, x, rows, steps);
}

sae_status_t sae_trainer_step(sae_trainer_t *t, const float *batch, size_t rows,
                              sae_stats_t *stats)
{
    sae_status_t st = check_data(t, "sae_trainer_step", batch, rows);
    if (st != SAE_OK)
        return st;
    if (!t->method->step)
        return sae_fail(t->errmsg, SAE_ERR_STATE,
                        "sae_trainer_step: %s trains on the whole data set: use sae_trainer_fit",
                        t->method->selected_by);
    if (rows > t->ws.batch)
        return sae_fail(t->errmsg, SAE_ERR_DIMENSION,
                        "sae_trainer_step: %zu rows exceed the batch size %zu", rows, t->ws.batch);
    sae_trainer_init_bias(t, batch, rows);
    sae_stats_t s;
    st = t->method->step(t, batch, rows, &s);
    s.epoch = t->epochs;
    s.total_steps = 1;
    if (st == SAE_OK && stats)
        *stats = s;
    return st;
}

sae_status_t sae_trainer_evaluate(sae_trainer_t *t, const float *x, size_t rows,
                                  sae_stats_t *stats)
{
    sae_status_t st = check_data(t, "sae_trainer_evaluate", x, rows);
    if (st != SAE_OK)
        return st;
    if (!stats)
        return sae_fail(t->errmsg, SAE_ERR_NULL, "sae_trainer_evaluate: stats is NULL");
    sae_stats_t acc, s;
    memset(&acc, 0, sizeof acc);
    size_t d = t->model->input_dim;
    for (size_t pos = 0; pos < rows; pos += t->ws.batch) {
        size_t n = rows - pos < t->ws.batch ? rows - pos : t->ws.batch;
        st = t->method->evaluate(t, x + pos * d, n, &s);
        if (st != SAE_OK)
            return st;
        stats_accumulate(&acc, &s);
    }
    stats_finish(&acc);
    /* The weight-decay term of the weights as they are (at most 4 built-in
     * terms, 16 user ones and auxk come before it: there is room). */
    if (sae_cfg_float(t->model->cfg, SAE_P_WEIGHT_DECAY) > 0.0)
        sae_terms_report_one(&acc, SAE_TERM_L2, sae_backprop_l2_penalty(t));
    acc.step = t->steps;
    acc.epoch = t->epochs;
    acc.learning_rate = t->method->rate(t);
    *stats = acc;
    return SAE_OK;
}

/* The refusal of a gradient check for a method that descends no
 * objective (method.h). */
sae_status_t sae_method_no_gradient(sae_trainer_t *t)
{
    return sae_fail(t->errmsg, SAE_ERR_STATE,
                    "%s follows no gradient: there is no objective to differentiate or check",
                    t->method->selected_by);
}
