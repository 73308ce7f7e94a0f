/* Neural sparse coding: Arora, Ge, Ma & Moitra, "Simple, Efficient, and
 * Neural Algorithms for Sparse Coding", COLT 2015, arXiv 1503.00778. Their
 * neurally plausible update rule, for samples y^(1..p) (columns) and a
 * dictionary A [D x H] with unit columns:
 *
 *   Decode:  x^(i) = threshold_{C/2}(A^T y^(i))     entries |.| < C/2 set to 0
 *   Update:  A <- A + eta (1/p) sum_i (y^(i) - A x^(i)) sgn(x^(i))^T
 *
 * where C bounds the nonzero code magnitudes from below; nsc.tau plays
 * the part of C/2. Every column of A is then scaled back to unit norm: the
 * paper's generative model has unit columns, and nothing else in the rule
 * holds a column's length. The update is Hebbian (the
 * change of atom j is the residual times the sign of unit j's output) and
 * descends no loss, so nothing here goes through the optimizer.
 *
 * Storage: the model is tied, linear and bias-free, so encoder.weight
 * [H x D] is A^T (row j = atom j), the encoder computes A^T y and the tied
 * decoder A x. With rows as samples (Y [p x D], X [p x H]) the step is
 *
 *   X = threshold_tau(Y A)       = threshold(Y We^T)     GEMM 1
 *   R = Y - X A^T                = Y - X We              GEMM 2
 *   A^T += (eta/p) sgn(X)^T R    We += (eta/p) S^T R     GEMM 3
 *   each row of We scaled to unit norm
 *
 * using the trainer's workspace: ws->dense.h holds X, ws->dense.out holds R, ws->dense.dh
 * holds sgn(X). No allocation. SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "core/gemm.h"
#include "optim/unit_norm.h"
#include "sparsity/terms.h"
#include "train/method.h"
#include "train/trainer.h"
#include "train/schedule.h"
#include "model/dense.h"

/* X, sgn(X) and R of a batch, with the statistics the callback reports. */
static sae_status_t decode_batch(sae_trainer_t *t, const float *y, size_t rows,
                                 sae_stats_t *stats)
{
    sae_model_t *m = t->model;
    sae_dense_t *dn = sae_dense(m);
    sae_workspace_t *ws = &t->ws;
    size_t d = m->input_dim, h = m->code_dim, n = rows * h;
    float *x = ws->dense.h, *sgn = ws->dense.dh, *r = ws->dense.out;

    sae_gemm(0, 1, rows, h, d, 1.0f, y, d, dn->enc_w, d, 0.0f, x, h);
    /* The code operator of nsc (code/hard_threshold.c) in its inference
     * form: the rule decodes exactly as the trained model encodes. */
    dn->code_op->infer(dn->code_infer, m->hidden_act, x, NULL, rows, h, t->threads);
    double sum = 0.0;
    size_t active = 0;
    for (size_t i = 0; i < n; i++) {
        sgn[i] = (float)((x[i] > 0.0f) - (x[i] < 0.0f));
        active += x[i] != 0.0f;
        sum += x[i];
    }

    memcpy(r, y, rows * d * sizeof *r);
    sae_gemm(0, 0, rows, d, h, -1.0f, x, h, dn->enc_w, d, 1.0f, r, d);
    double sq = 0.0;
    for (size_t i = 0; i < rows * d; i++)
        sq += (double)r[i] * (double)r[i];

    sae_stats_start(stats, rows);
    /* The squared residual reduced as loss.type = mse would be (by default
     * its mean), so that the two algorithms' figures compare. */
    double recon;
    if (sae_cfg_int(m->cfg, SAE_P_LOSS_REDUCTION) == SAE_REDUCE_SAMPLE_SUM_HALF)
        recon = 0.5 * sq / (double)rows;
    else
        recon = sq / ((double)rows * (double)d);
    sae_terms_report_one(stats, SAE_TERM_RECON, recon);
    stats->mean_activation = sum / (double)n;
    stats->l0 = (double)active / (double)rows;
    stats->step = t->steps;
    if (!isfinite(stats->loss))
        return sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                        "the residual became %g at step %llu: lower nsc.eta?", stats->loss,
                        (unsigned long long)t->steps);
    return SAE_OK;
}

/* Code, residual and statistics of a batch, A unchanged. */
static sae_status_t evaluate(sae_trainer_t *t, const float *y, size_t rows, sae_stats_t *stats)
{
    sae_status_t st = decode_batch(t, y, rows, stats);
    stats->learning_rate = 0.0;
    return st;
}

/* The step decay of schedule.* applies to nsc.eta as it would to optim.lr. */
static double rate(const sae_trainer_t *t)
{
    const sae_config_t *cfg = t->model->cfg;
    return sae_schedule_rate(cfg, sae_cfg_float(cfg, SAE_P_NSC_ETA), t->steps);
}

/* One dictionary update on a batch y [rows x D], rows <= batch size. */
static sae_status_t step(sae_trainer_t *t, const float *y, size_t rows, sae_stats_t *stats)
{
    sae_model_t *m = t->model;
    sae_dense_t *dn = sae_dense(m);
    size_t d = m->input_dim, h = m->code_dim;
    sae_status_t st = decode_batch(t, y, rows, stats);
    if (st != SAE_OK)
        return st;
    double eta = rate(t);
    sae_gemm(1, 0, h, d, rows, (float)(eta / (double)rows), t->ws.dense.dh, h, t->ws.dense.out, d, 1.0f,
             dn->enc_w, d);
    /* Every atom (row of We) back to unit norm; an all-zero row stays. */
    sae_rows_normalize(dn->enc_w, h, d);
    t->steps++;
    stats->step = t->steps;
    stats->learning_rate = eta;
    return SAE_OK;
}

/* The rule keeps no state beyond the dictionary, and descends no loss. */
const sae_method_t sae_method_nsc = {
    .name = "nsc",
    .selected_by = "train.algorithm = nsc",
    .setup = NULL,
    .release = NULL,
    .fit = NULL,
    .step = step,
    .evaluate = evaluate,
    .epoch_end = NULL,
    .rate = rate,
    .has_objective = 0,
};
