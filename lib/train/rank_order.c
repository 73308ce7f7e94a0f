/* The rank-ordered autoencoder: Bertens, "Rank Ordered Autoencoders",
 * arXiv 1605.01749 (2016), as its code computes it
 * (paulbertens/rank-ordered-autoencoder, RankOrderedAutoencoder.py and
 * Trainer.py). One tied matrix W [D x H] (stored as
 * encoder.weight = W^T, row j = unit j's column), no biases. For an input x:
 *
 *   z   = x W / D                  pre-activation (execute)
 *   h   = clip(z, 0, 1)            TReLU
 *   r_1, r_2, ...                  the units by z, largest first (rank_output)
 *   R_k = clip(sum_{i<=k} h_{r_i} W[:, r_i], 0, 1)   prefix reconstructions
 *   E_k = x - R_k                                     their residuals
 *
 * and the update (forward_prop, update_weights*):
 *
 *   G[:, r_k] = h_{r_k} E_k                       decoder part, rank by rank
 *   e_j       = gate(z_j, E_{rank(j)} . W[:, j] / D)   encoder error, from
 *                                                 the residual at j's rank
 *   G        += x e^T                             encoder part
 *   each column of G longer than max_norm scaled to max_norm
 *   W        += lr G
 *
 * Units with z <= 0 have h = 0: they add nothing to the prefixes, so every
 * rank after the last active unit sees the same residual E_H, and only the
 * active units need the prefix pass; the rest take E_H . W[:, j] / D. A
 * batch of B rows averages the B rows' G before the clipping (the original
 * is online, B = 1). No allocation: ws->dense.h holds z, ws->dense.dh the encoder
 * errors, ws->dense.out the final residuals, ws->xin the running prefix sum,
 * the method's state the ranked units. SPDX-License-Identifier: MIT */
#include "train/rank_order.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "sparsity/terms.h"
#include "train/method.h"
#include "train/trainer.h"
#include "model/dense.h"

/* The rate rule's memory: decays so far, full epochs seen and the last
 * one's training error; and a row's ranked units. */
typedef struct rank_order_state {
    uint64_t counts[2]; /* decays, epochs */
    double prev_error;
    sae_ranked_t *rank; /* [H] */
} rank_order_state_t;

float sae_rank_order_gate(float z, float e)
{
    /* derivative(): sign(e) != sign(z); then the clamps that keep the
     * step from carrying z past 0 ("clip gradient to not exceed zero"). */
    if (z > 0.0f)
        return e < 0.0f ? fmaxf(e, -z) : 0.0f;
    if (z < 0.0f)
        return e > 0.0f ? fminf(e, -z) : 0.0f;
    return e;
}

void sae_rank_order_clip(float *v, size_t n, size_t len, float max_norm)
{
    if (max_norm <= 0.0f)
        return;
    for (size_t j = 0; j < n; j++) {
        float *r = v + j * len;
        double sq = 0.0;
        for (size_t i = 0; i < len; i++)
            sq += (double)r[i] * (double)r[i];
        double norm = sqrt(sq);
        if (norm > (double)max_norm) {
            float f = (float)((double)max_norm / norm);
            for (size_t i = 0; i < len; i++)
                r[i] *= f;
        }
    }
}

static inline float clip01(float v)
{
    return fminf(fmaxf(v, 0.0f), 1.0f);
}

/* The prefix pass of one row over its n active units rk (ranked). s[D]
 * receives the running sum, e[D] the final residual E_H. With g, each
 * active unit j = r_k gets c h_j E_k added to its row of g and its encoder
 * error E_k . W[:, j] / D written to err[j]. Returns ||E_H||^2. */
static double prefix_row(const float *w, size_t d, const float *x, const sae_ranked_t *rk, size_t n,
                         float inv_d, float c, float *g, float *err, float *s, float *e)
{
    memset(s, 0, d * sizeof *s);
    for (size_t k = 0; k < n; k++) {
        size_t j = rk[k].unit;
        float hj = fminf(rk[k].z, 1.0f);
        const float *wj = w + j * d;
        if (!g) {
            for (size_t i = 0; i < d; i++)
                s[i] += hj * wj[i];
            continue;
        }
        float *gj = g + j * d, ch = c * hj, dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (size_t i = 0; i < d; i++) {
            s[i] += hj * wj[i];
            float ei = x[i] - clip01(s[i]);
            gj[i] += ch * ei;
            dot += ei * wj[i];
        }
        err[j] = dot * inv_d;
    }
    double sq = 0.0;
    for (size_t i = 0; i < d; i++) {
        e[i] = x[i] - clip01(s[i]);
        sq += (double)e[i] * (double)e[i];
    }
    return sq;
}

/* Encoder errors of one row: the inactive units (z <= 0) from the final
 * residual e, then every unit through the gate. */
static void encoder_errors(const float *w, size_t d, size_t h, const float *z, const float *e,
                           float inv_d, float *err)
{
    for (size_t j = 0; j < h; j++) {
        if (z[j] <= 0.0f) {
            const float *wj = w + j * d;
            float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
            for (size_t i = 0; i < d; i++)
                dot += e[i] * wj[i];
            err[j] = dot * inv_d;
        }
        err[j] = sae_rank_order_gate(z[j], err[j]);
    }
}

/* The forward pass of a batch, and with update the direction G in the
 * gradient buffer (before clipping). Fills the statistics. */
static sae_status_t run_batch(sae_trainer_t *t, const float *x, size_t rows, int update,
                              sae_stats_t *stats)
{
    sae_model_t *m = t->model;
    sae_dense_t *dn = sae_dense(m);
    sae_workspace_t *ws = &t->ws;
    size_t d = m->input_dim, h = m->code_dim;
    float inv_d = 1.0f / (float)d, c = 1.0f / (float)rows;
    float *z = ws->dense.h, *err = ws->dense.dh, *g = NULL;
    sae_ranked_t *rank = ((rank_order_state_t *)t->method_state)->rank;

    sae_gemm(0, 1, rows, h, d, inv_d, x, d, dn->enc_w, d, 0.0f, z, h);
    if (update) {
        g = ws->grad + (dn->enc_w - m->weights);
        memset(g, 0, h * d * sizeof *g);
    }
    double err_sum = 0.0, h_sum = 0.0;
    size_t active = 0;
    for (size_t b = 0; b < rows; b++) {
        const float *xb = x + b * d, *zb = z + b * h;
        float *eb = ws->dense.out + b * d;
        size_t n = sae_rank_units(zb, h, 1, rank);
        double sq = prefix_row(dn->enc_w, d, xb, rank, n, inv_d, c, g, err + b * h, ws->xin, eb);
        /* The paper's code's error is the norm, not the squared norm
         * (get_reconstruction_error). */
        err_sum += sqrt(sq);
        active += n;
        for (size_t k = 0; k < n; k++)
            h_sum += fminf(rank[k].z, 1.0f);
        if (update)
            encoder_errors(dn->enc_w, d, h, zb, eb, inv_d, err + b * h);
    }

    sae_stats_start(stats, rows);
    sae_terms_report_one(stats, SAE_TERM_RECON, err_sum / (double)rows);
    stats->l0 = (double)active / (double)rows;
    stats->mean_activation = h_sum / ((double)rows * (double)h);
    stats->step = t->steps;
    stats->learning_rate = sae_rank_order_rate(t);
    if (!isfinite(stats->loss))
        return sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                        "the reconstruction error became %g at step %llu: lower rank_order.lr?",
                        stats->loss, (unsigned long long)t->steps);
    if (update) /* G += x e^T, averaged over the rows */
        sae_gemm(1, 0, h, d, rows, c, err, h, x, d, 1.0f, g, d);
    return SAE_OK;
}

/* Prefix reconstructions, residuals and statistics, weights unchanged. */
static sae_status_t evaluate(sae_trainer_t *t, const float *x, size_t rows, sae_stats_t *stats)
{
    return run_batch(t, x, rows, 0, stats);
}

/* One update on a batch x [rows x D], rows <= batch size. */
static sae_status_t step(sae_trainer_t *t, const float *x, size_t rows, sae_stats_t *stats)
{
    sae_model_t *m = t->model;
    sae_dense_t *dn = sae_dense(m);
    size_t n = m->code_dim * m->input_dim;
    sae_status_t st = run_batch(t, x, rows, 1, stats);
    if (st != SAE_OK)
        return st;
    float *g = t->ws.grad + (dn->enc_w - m->weights);
    sae_rank_order_clip(g, m->code_dim, m->input_dim,
                        (float)sae_cfg_float(m->cfg, SAE_P_RANK_ORDER_MAX_NORM));
    float lr = (float)stats->learning_rate;
    for (size_t i = 0; i < n; i++)
        dn->enc_w[i] += lr * g[i];
    t->steps++;
    stats->step = t->steps;
    return SAE_OK;
}

void sae_rank_order_epoch_end(sae_trainer_t *t, double error)
{
    /* Trainer.py: after epoch i > 0, lr *= 0.9 unless
     * errors_train[i] * 1.01 < errors_train[i - 1]. */
    double gain = sae_cfg_float(t->model->cfg, SAE_P_RANK_ORDER_MIN_IMPROVEMENT);
    rank_order_state_t *s = t->method_state;
    if (s->counts[1] > 0 && !(error * (1.0 + gain) < s->prev_error))
        s->counts[0]++;
    s->prev_error = error;
    s->counts[1]++;
}

double sae_rank_order_rate(const sae_trainer_t *t)
{
    const sae_config_t *cfg = t->model->cfg;
    const rank_order_state_t *s = t->method_state;
    return sae_cfg_float(cfg, SAE_P_RANK_ORDER_LR) *
           pow(sae_cfg_float(cfg, SAE_P_RANK_ORDER_DECAY), (double)s->counts[0]);
}

static void epoch_end(sae_trainer_t *t, const sae_stats_t *epoch)
{
    sae_rank_order_epoch_end(t, epoch->recon_loss);
}

static sae_status_t setup(sae_trainer_t *t, char *errbuf)
{
    rank_order_state_t *s = calloc(1, sizeof *s);
    if (s)
        s->rank = malloc(t->model->code_dim * sizeof *s->rank);
    t->method_state = s;
    if (!s || !s->rank)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "rank_order: cannot allocate its state");
    return SAE_OK;
}

static void release(sae_trainer_t *t)
{
    rank_order_state_t *s = t->method_state;
    if (s)
        free(s->rank);
    free(s);
    t->method_state = NULL;
}

/* The rate rule's memory; the ranking buffer is scratch. */
static sae_status_t state(sae_trainer_t *t, sae_state_list_t *l)
{
    rank_order_state_t *s = t->method_state;
    sae_status_t st = sae_state_add(l, "trainer.rank_order.counts", NULL, SAE_DT_U64, s->counts,
                                    2, 0);
    if (st == SAE_OK)
        st = sae_state_add(l, "trainer.rank_order.prev_error", NULL, SAE_DT_F64, &s->prev_error,
                           1, 0);
    return st;
}

const sae_method_t sae_method_rank_order = {
    .name = "rank_order",
    .selected_by = "train.algorithm = rank_order",
    .setup = setup,
    .release = release,
    .fit = NULL,
    .step = step,
    .evaluate = evaluate,
    .epoch_end = epoch_end,
    .rate = sae_rank_order_rate,
    .has_objective = 0,
    .state = state,
};
