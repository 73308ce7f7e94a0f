/* Backpropagation: descend the objective of the model kind's pass
 * (sae_forward_backward) with SGD with momentum or Adam (optim.type), one
 * batch per step, with coupled L2 weight decay and, with
 * arch.unit_norm_decoder, the projected update of Gao et al. 2024.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#include "model/dense.h"
#include "optim/optimizer.h"
#include "optim/unit_norm.h"
#include "sparsity/terms.h"
#include "train/method.h"
#include "train/reduce.h"
#include "train/resample.h"
#include "train/trainer.h"
#include "train/schedule.h"

typedef struct backprop_state {
    sae_optim_t opt;
    sae_optim_hparams_t hp; /* lr set per step by the schedule */
    sae_segment_t seg[SAE_MAX_TENSORS]; /* one per tensor of the model */
    size_t n_seg;
    /* The weights before the last update, whose loss was finite: where a
     * step that finds a non-finite loss goes back to (the update before
     * it is what made the loss blow up). */
    float *last_good;
    int have_last_good;
} backprop_state_t;

/* The model's tensors as segments of its parameter block; weight decay on
 * the weights (not biases) of the parts decay.encoder / decay.decoder name.
 * Unit-norm atoms (arch.unit_norm_decoder) are left out: decay's gradient
 * lambda W_j lies along the atom W_j, so its tangent projection is zero,
 * and added unprojected it only shrinks the rows that the renormalisation
 * then restores, while Adam's moments count it (smaller steps) and the
 * reported l2 term gains the constant lambda H / 2 (issue 9). */
static size_t decay_segments(const sae_model_t *m, sae_segment_t *seg)
{
    int dec_enc = (int)sae_cfg_int(m->cfg, SAE_P_DECAY_ENCODER);
    int dec_dec = (int)sae_cfg_int(m->cfg, SAE_P_DECAY_DECODER);
    int on = sae_cfg_float(m->cfg, SAE_P_WEIGHT_DECAY) > 0.0;
    const float *atoms =
        sae_cfg_int(m->cfg, SAE_P_UNIT_NORM_DECODER) ? sae_model_decoder_rows(m) : NULL;
    size_t n = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const sae_tensor_desc_t *t = &m->tensors[i];
        /* A code operator's estimates (SAE_TENSOR_STATE) are its own to
         * write; its learned tensors are optimised, never decayed. Unit-norm
         * atoms are not decayed either (docs/regularizers/weight-decay.md). */
        if (t->role == SAE_TENSOR_STATE)
            continue;
        seg[n].offset = t->offset;
        seg[n].length = t->rows * t->cols;
        seg[n].decay = on && t->is_weight && (t->is_encoder ? dec_enc : dec_dec) &&
                       m->weights + t->offset != atoms;
        /* Straight-through tensors (JumpReLU's log thresholds) may take
         * a rate of their own (jumprelu.lr_scale). */
        seg[n].lr_scale = t->role == SAE_TENSOR_STE
                              ? (float)sae_cfg_float(m->cfg, SAE_P_JUMPRELU_LR_SCALE)
                              : 1.0f;
        n++;
    }
    return n;
}

double sae_backprop_l2_penalty(const sae_trainer_t *t)
{
    const sae_model_t *m = t->model;
    sae_segment_t seg[SAE_MAX_TENSORS];
    size_t n = decay_segments(m, seg);
    return sae_optim_l2_penalty(m->weights, seg, n, sae_cfg_float(m->cfg, SAE_P_WEIGHT_DECAY));
}

void sae_backprop_l2_grad(const sae_trainer_t *t, float *grad)
{
    const sae_model_t *m = t->model;
    sae_segment_t seg[SAE_MAX_TENSORS];
    size_t n = decay_segments(m, seg);
    sae_optim_l2_grad(grad, m->weights, seg, n, (float)sae_cfg_float(m->cfg, SAE_P_WEIGHT_DECAY));
}

static sae_status_t setup(sae_trainer_t *t, char *errbuf)
{
    const sae_model_t *m = t->model;
    const sae_config_t *cfg = m->cfg;
    backprop_state_t *s = calloc(1, sizeof *s);
    if (!s)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "optimizer: cannot allocate state");
    s->hp.adam = sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_ADAM;
    s->hp.momentum = sae_cfg_float(cfg, SAE_P_MOMENTUM);
    s->hp.beta1 = sae_cfg_float(cfg, SAE_P_ADAM_BETA1);
    s->hp.beta2 = sae_cfg_float(cfg, SAE_P_ADAM_BETA2);
    s->hp.eps = sae_cfg_float(cfg, SAE_P_ADAM_EPS);
    s->hp.lambda = sae_cfg_float(cfg, SAE_P_WEIGHT_DECAY);
    s->n_seg = decay_segments(m, s->seg);
    sae_status_t st = sae_optim_init(&s->opt, s->hp.adam, m->n_weights, errbuf);
    if (st != SAE_OK) {
        free(s);
        return st;
    }
    if (sae_cfg_int(cfg, SAE_P_ROLLBACK))
        s->last_good = sae_aligned_alloc(m->n_weights * sizeof *s->last_good);
    if (sae_cfg_int(cfg, SAE_P_ROLLBACK) && !s->last_good) {
        sae_optim_release(&s->opt);
        free(s);
        return sae_fail(errbuf, SAE_ERR_NOMEM, "optimizer: cannot allocate state");
    }
    t->method_state = s;
    return SAE_OK;
}

static void release(sae_trainer_t *t)
{
    backprop_state_t *s = t->method_state;
    if (s) {
        sae_optim_release(&s->opt);
        sae_aligned_free(s->last_good);
    }
    free(s);
    t->method_state = NULL;
}

static double rate(const sae_trainer_t *t)
{
    const sae_config_t *cfg = t->model->cfg;
    return sae_schedule_rate(cfg, sae_cfg_float(cfg, SAE_P_LEARNING_RATE), t->steps);
}

/* Per-unit firing counts and rows since the last firing, from the batch's
 * code statistics (Gao et al.'s dead latents). */
static void track_activity(sae_workspace_t *ws, size_t units, size_t rows)
{
    for (size_t j = 0; j < units; j++) {
        uint64_t on = (uint64_t)ws->col_active[j];
        ws->fired[j] += on;
        ws->idle[j] = on ? 0 : ws->idle[j] + rows;
    }
    ws->rows_seen += rows;
}

/* The loss came out non-finite: the weights of the previous step made it
 * so, so they are undone, back to the last weights whose loss was finite,
 * and the optimizer's moments (which hold the runaway gradient) restart
 * from zero. The pass wrote the message; this adds where training now is. */
static sae_status_t roll_back(sae_trainer_t *t, backprop_state_t *s)
{
    sae_model_t *m = t->model;
    if (!s->have_last_good)
        return SAE_ERR_DIVERGED;
    memcpy(m->weights, s->last_good, m->n_weights * sizeof *m->weights);
    memset(s->opt.m, 0, m->n_weights * sizeof *s->opt.m);
    if (s->opt.v)
        memset(s->opt.v, 0, m->n_weights * sizeof *s->opt.v);
    s->opt.t = 0;
    s->have_last_good = 0;
    t->steps--;
    size_t n = strlen(t->errmsg);
    snprintf(t->errmsg + n, sizeof t->errmsg - n,
             "; the weights are back at step %llu, the last with a finite loss",
             (unsigned long long)t->steps);
    return SAE_ERR_DIVERGED;
}

/* The first tensor whose gradient holds NaN or Inf, or NULL. */
static const char *nonfinite_grad(const sae_trainer_t *t)
{
    const sae_model_t *m = t->model;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const sae_tensor_desc_t *d = &m->tensors[i];
        if (!sae_all_finite(t->ws.grad + d->offset, d->rows * d->cols))
            return d->name;
    }
    return NULL;
}

static sae_status_t step(sae_trainer_t *t, const float *batch, size_t rows, sae_stats_t *stats)
{
    backprop_state_t *s = t->method_state;
    sae_model_t *m = t->model;
    sae_status_t st = sae_reduce_begin_step(t);
    if (st != SAE_OK)
        return st;
    /* With a reducer a rank whose data ran out takes part with no rows. */
    if (rows > 0)
        st = sae_forward_backward(t, batch, rows, 1, 1, stats);
    else
        sae_stats_start(stats, 0);
    if (t->red && (st == SAE_OK || st == SAE_ERR_DIVERGED))
        st = sae_reduce_step(t, rows, st, stats);
    if (st == SAE_ERR_DIVERGED)
        return roll_back(t, s);
    if (st != SAE_OK)
        return st;
    size_t local_rows = rows;
    rows = (size_t)stats->samples; /* the global batch's, with a reducer */
    const char *bad = nonfinite_grad(t);
    if (bad)
        return sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                        "step %llu: the gradient of %s holds NaN or Inf (the loss, %g, is "
                        "finite); the step was not applied: lower the learning rate",
                        (unsigned long long)t->steps + 1, bad, stats->loss);
    if (s->last_good) {
        memcpy(s->last_good, m->weights, m->n_weights * sizeof *m->weights);
        s->have_last_good = 1;
    }
    track_activity(&t->ws, m->code_dim, rows);
    /* Unit-norm atoms: the gradient's radial part removed before the
     * update, the rows rescaled after it. */
    int unit_norm = (int)sae_cfg_int(m->cfg, SAE_P_UNIT_NORM_DECODER);
    float *atoms = (float *)sae_model_decoder_rows(m);
    if (unit_norm)
        sae_rows_project_out(t->ws.grad + (atoms - m->weights), atoms, m->code_dim, m->input_dim);
    s->hp.lr = rate(t);
    double l2 = sae_optim_update(&s->opt, &s->hp, m->weights, t->ws.grad, s->seg, s->n_seg,
                                 t->threads);
    if (unit_norm)
        sae_rows_normalize(atoms, m->code_dim, m->input_dim);
    if (s->hp.lambda > 0.0)
        sae_terms_report_one(stats, SAE_TERM_L2, l2);
    t->steps++;
    stats->step = t->steps;
    stats->learning_rate = s->hp.lr;
    st = sae_resample_after_step(t, batch, local_rows, &s->opt);
    /* Resampling draws from this rank's batch: rank 0's result wins. */
    if (st == SAE_OK && t->red && sae_cfg_int(m->cfg, SAE_P_RESAMPLE_EVERY) > 0 &&
        t->steps % (uint64_t)sae_cfg_int(m->cfg, SAE_P_RESAMPLE_EVERY) == 0)
        st = sae_reduce_after_resample(t, &s->opt);
    return st;
}

static sae_status_t evaluate(sae_trainer_t *t, const float *x, size_t rows, sae_stats_t *stats)
{
    return sae_forward_backward(t, x, rows, 0, 0, stats);
}

/* The optimizer's moments per model tensor, in its shape (so that a new
 * learned tensor of a model kind is covered without a line here), and
 * its update count (Adam's bias correction). */
static sae_status_t state(sae_trainer_t *t, sae_state_list_t *l)
{
    const sae_model_t *m = t->model;
    backprop_state_t *s = t->method_state;
    sae_status_t st = sae_state_add(l, "trainer.optim.t", NULL, SAE_DT_U64, &s->opt.t, 1, 0);
    float *moments[2] = {s->opt.m, s->opt.v};
    const char *prefix[2] = {"trainer.optim.m.", "trainer.optim.v."};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; st == SAE_OK && moments[k] && i < m->n_tensors; i++) {
            const sae_tensor_desc_t *d = &m->tensors[i];
            st = sae_state_add(l, prefix[k], d->name, SAE_DT_F32, moments[k] + d->offset,
                               d->rows, d->is_weight ? d->cols : 0);
        }
    return st;
}

const sae_method_t sae_method_backprop = {
    .name = "backprop",
    .selected_by = "train.algorithm = backprop",
    .setup = setup,
    .release = release,
    .fit = NULL,
    .step = step,
    .evaluate = evaluate,
    .epoch_end = NULL,
    .rate = rate,
    .has_objective = 1,
    .state = state,
};
