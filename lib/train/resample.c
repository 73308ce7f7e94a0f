/* Dead-latent resampling (resample.h). SPDX-License-Identifier: MIT */
#include "train/resample.h"

#include <math.h>
#include <string.h>

#include "model/dense.h"
#include "model/kind.h"

static void zero_moments(sae_optim_t *opt, size_t offset, size_t n)
{
    memset(opt->m + offset, 0, n * sizeof *opt->m);
    if (opt->v)
        memset(opt->v + offset, 0, n * sizeof *opt->v);
}

/* A row drawn with probability proportional to w[b] (cumulative in cw). */
static size_t draw(sae_rng_t *rng, const double *cw, size_t rows)
{
    double u = (double)sae_rng_uniform(rng) * cw[rows - 1];
    size_t lo = 0, hi = rows - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cw[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

sae_status_t sae_resample_after_step(sae_trainer_t *t, const float *x, size_t rows,
                                     sae_optim_t *opt)
{
    sae_model_t *m = t->model;
    const sae_config_t *cfg = m->cfg;
    uint64_t every = (uint64_t)sae_cfg_int(cfg, SAE_P_RESAMPLE_EVERY);
    if (every == 0 || t->steps % every != 0 || rows == 0)
        return SAE_OK;
    sae_workspace_t *ws = &t->ws;
    sae_dense_t *dn = sae_dense(m);
    size_t d = m->input_dim, h = m->code_dim;
    uint64_t dead_after = (uint64_t)sae_cfg_int(cfg, SAE_P_RESAMPLE_DEAD_AFTER);
    size_t n_dead = 0;
    double alive_norm = 0.0;
    for (size_t j = 0; j < h; j++) {
        if (ws->idle[j] >= dead_after) {
            n_dead++;
            continue;
        }
        double ss = 0.0;
        for (size_t i = 0; i < d; i++)
            ss += (double)dn->enc_w[j * d + i] * dn->enc_w[j * d + i];
        alive_norm += sqrt(ss);
    }
    t->recipe.last_resample = t->steps;
    t->recipe.resample_events++;
    if (n_dead == 0)
        return SAE_OK;
    alive_norm = n_dead < h ? alive_norm / (double)(h - n_dead) : 1.0;
    /* The batch's reconstructions (the model's inference, in the caller's
     * scale) into the free output buffer; the squared losses, cumulated,
     * into the row statistics' buffer. */
    sae_status_t st = m->kind->reconstruct(m, x, rows, ws->dense.out);
    if (st != SAE_OK)
        return st;
    double *cw = ws->row_sum, total = 0.0;
    for (size_t b = 0; b < rows; b++) {
        double l = 0.0;
        for (size_t i = 0; i < d; i++) {
            double e = (double)x[b * d + i] - ws->dense.out[b * d + i];
            l += e * e;
        }
        total += l * l;
        cw[b] = total;
    }
    if (!(total > 0.0)) /* a perfect batch: every row alike */
        for (size_t b = 0; b < rows; b++)
            cw[b] = (double)(b + 1);
    float c = (float)(sae_cfg_float(cfg, SAE_P_RESAMPLE_ENCODER_SCALE) * alive_norm);
    for (size_t j = 0; j < h; j++) {
        if (ws->idle[j] < dead_after)
            continue;
        const float *v = x + draw(&t->rng, cw, rows) * d;
        double ss = 0.0;
        for (size_t i = 0; i < d; i++)
            ss += (double)v[i] * v[i];
        float inv = ss > 0.0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
        for (size_t i = 0; i < d; i++) {
            dn->dec_w[j * d + i] = v[i] * inv;
            dn->enc_w[j * d + i] = c * v[i] * inv;
        }
        zero_moments(opt, (size_t)(dn->dec_w - m->weights) + j * d, d);
        zero_moments(opt, (size_t)(dn->enc_w - m->weights) + j * d, d);
        if (dn->enc_b) {
            dn->enc_b[j] = 0.0f;
            zero_moments(opt, (size_t)(dn->enc_b - m->weights) + j, 1);
        }
        ws->idle[j] = 0;
        t->recipe.resampled_units++;
    }
    return SAE_OK;
}
