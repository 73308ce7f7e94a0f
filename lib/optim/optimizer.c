/* SGD with momentum and Adam (Kingma & Ba 2015, Algorithm 1, in the
 * bias-corrected form PyTorch uses), fused with L2 weight decay, on a plain
 * float array (kann's kann_RMSprop is the model of the interface).
 * SPDX-License-Identifier: MIT */
#include "optim/optimizer.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/parallel.h"
#include "core/simd.h"

sae_status_t sae_optim_init(sae_optim_t *o, int adam, size_t n, char *errbuf)
{
    memset(o, 0, sizeof *o);
    size_t bytes = n * sizeof(float);
    o->m = sae_aligned_alloc(bytes);
    if (adam)
        o->v = sae_aligned_alloc(bytes);
    if (!o->m || (adam && !o->v)) {
        sae_optim_release(o);
        return sae_fail(errbuf, SAE_ERR_NOMEM, "optimizer: cannot allocate state");
    }
    memset(o->m, 0, bytes);
    if (o->v)
        memset(o->v, 0, bytes);
    return SAE_OK;
}

void sae_optim_release(sae_optim_t *o)
{
    sae_aligned_free(o->m);
    sae_aligned_free(o->v);
    o->m = o->v = NULL;
}

double sae_optim_l2_penalty(const float *w, const sae_segment_t *seg, size_t n_seg,
                            double lambda)
{
    double total = 0.0;
    for (size_t i = 0; i < n_seg; i++) {
        if (!seg[i].decay)
            continue;
        const float *ws = w + seg[i].offset;
        for (size_t k = 0; k < seg[i].length; k++)
            total += (double)ws[k] * (double)ws[k];
    }
    return 0.5 * lambda * total;
}

void sae_optim_l2_grad(float *g, const float *w, const sae_segment_t *seg, size_t n_seg,
                       float lambda)
{
    for (size_t i = 0; i < n_seg; i++) {
        if (!seg[i].decay)
            continue;
        size_t off = seg[i].offset;
        for (size_t k = 0; k < seg[i].length; k++)
            g[off + k] += lambda * w[off + k];
    }
}

typedef struct adam_coef {
    float lr, b1, b2, eps, bc1, inv_sqrt_bc2, lambda;
} adam_coef_t;

/* One Adam pass over [0, n); returns sum of w^2 (before update) when decay. */
SAE_HOT static double adam_range(float *restrict w, const float *restrict g, float *restrict mo,
                         float *restrict ve, size_t n, const adam_coef_t *c, int decay)
{
    float lambda = decay ? c->lambda : 0.0f;
    float step = c->lr / c->bc1;
    float sq = 0.0f;
    float b1 = c->b1, b2 = c->b2, ib2 = c->inv_sqrt_bc2, eps = c->eps;
#pragma omp simd reduction(+ : sq)
    for (size_t k = 0; k < n; k++) {
        float wk = w[k];
        float gk = g[k] + lambda * wk;
        sq += wk * wk;
        float mk = b1 * mo[k] + (1.0f - b1) * gk;
        float vk = b2 * ve[k] + (1.0f - b2) * gk * gk;
        mo[k] = mk;
        ve[k] = vk;
        w[k] = wk - step * mk / (sqrtf(vk) * ib2 + eps);
    }
    return decay ? (double)sq : 0.0;
}

SAE_HOT static double sgd_range(float *restrict w, const float *restrict g, float *restrict mo, size_t n,
                        float lr, float mu, float lambda)
{
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (size_t k = 0; k < n; k++) {
        float wk = w[k];
        float gk = g[k] + lambda * wk;
        sq += wk * wk;
        float mk = mu * mo[k] + gk;
        mo[k] = mk;
        w[k] = wk - lr * mk;
    }
    return (double)sq;
}

typedef struct update_job {
    const sae_optim_t *o;
    int adam;
    float *w;
    const float *g;
    size_t off; /* of the segment in the array */
    const adam_coef_t *c;
    float lr, mu, lambda;
    int decay;
    double part[SAE_MAX_THREADS];
} update_job_t;

static void update_block(void *ctx, int tid, size_t a, size_t b)
{
    update_job_t *j = ctx;
    size_t k = j->off + a;
    if (j->adam)
        j->part[tid] = adam_range(j->w + k, j->g + k, j->o->m + k, j->o->v + k, b - a, j->c,
                                  j->decay);
    else
        j->part[tid] = sgd_range(j->w + k, j->g + k, j->o->m + k, b - a, j->lr, j->mu,
                                 j->decay ? j->lambda : 0.0f);
}

double sae_optim_update(sae_optim_t *o, const sae_optim_hparams_t *hp, float *w, const float *g,
                        const sae_segment_t *seg, size_t n_seg, int threads)
{
    double lambda = hp->lambda;
    o->t++;
    adam_coef_t c = {0};
    if (hp->adam) {
        double b1 = hp->beta1, b2 = hp->beta2;
        c.lr = (float)hp->lr;
        c.b1 = (float)b1;
        c.b2 = (float)b2;
        c.eps = (float)hp->eps;
        c.bc1 = (float)(1.0 - pow(b1, (double)o->t));
        c.inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(b2, (double)o->t)));
        c.lambda = (float)lambda;
    }
    double sumsq = 0.0;
    for (size_t i = 0; i < n_seg; i++) {
        size_t n = seg[i].length;
        int nt = sae_threads_for(n, threads);
        adam_coef_t cs = c;
        cs.lr = c.lr * seg[i].lr_scale;
        update_job_t j = {o, hp->adam, w, g, seg[i].offset, &cs, (float)hp->lr * seg[i].lr_scale,
                          (float)hp->momentum, (float)lambda, seg[i].decay, {0}};
        sae_parallel_rows(n, nt, update_block, &j);
        if (j.decay)
            for (int t = 0; t < nt; t++)
                sumsq += j.part[t];
    }
    return 0.5 * lambda * sumsq;
}
