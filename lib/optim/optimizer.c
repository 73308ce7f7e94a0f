/* SGD with momentum and Adam (Kingma & Ba 2015, Algorithm 1, in the
 * bias-corrected form PyTorch uses), fused with L2 weight decay.
 * SPDX-License-Identifier: MIT */
#include "optim/optimizer.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "core/parallel.h"
#include "core/simd.h"
#include "optim/lbfgs.h"

sae_status_t sae_optimizer_init(sae_optimizer_state_t *o, const sae_model_t *m, char *errbuf)
{
    memset(o, 0, sizeof *o);
    o->kind = (sae_optimizer_t)sae_cfg_int(m->cfg, SAE_P_OPTIMIZER);
    if (o->kind == SAE_OPT_LBFGS && !sae_lbfgs_available())
        return sae_fail(errbuf, SAE_ERR_UNSUPPORTED,
                        "optim.type = lbfgs: this libsae was built without liblbfgs (meson "
                        "option -Dlbfgs=enabled, package liblbfgs-dev)");
    /* Moments only for the optimizers that step with them: L-BFGS keeps its
     * own memory, and nsc / rank_order update the weights by their rules. */
    int moments = o->kind != SAE_OPT_LBFGS &&
                  sae_cfg_int(m->cfg, SAE_P_ALGORITHM) == SAE_ALGO_BACKPROP;
    size_t bytes = m->n_params * sizeof(float);
    if (moments) {
        o->m = sae_aligned_alloc(bytes);
        if (o->kind == SAE_OPT_ADAM)
            o->v = sae_aligned_alloc(bytes);
        if (!o->m || (o->kind == SAE_OPT_ADAM && !o->v)) {
            sae_optimizer_release(o);
            return sae_fail(errbuf, SAE_ERR_NOMEM, "optimizer: cannot allocate state");
        }
        memset(o->m, 0, bytes);
        if (o->v)
            memset(o->v, 0, bytes);
    }
    int dec_enc = (int)sae_cfg_int(m->cfg, SAE_P_DECAY_ENCODER);
    int dec_dec = (int)sae_cfg_int(m->cfg, SAE_P_DECAY_DECODER);
    int on = sae_cfg_float(m->cfg, SAE_P_WEIGHT_DECAY) > 0.0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const sae_tensor_desc_t *t = &m->tensors[i];
        o->decay[i] = on && t->is_weight && (t->is_encoder ? dec_enc : dec_dec);
    }
    return SAE_OK;
}

void sae_optimizer_release(sae_optimizer_state_t *o)
{
    sae_aligned_free(o->m);
    sae_aligned_free(o->v);
    o->m = o->v = NULL;
}

double sae_schedule_lr(const sae_config_t *cfg, uint64_t t)
{
    double lr = sae_cfg_float(cfg, SAE_P_LEARNING_RATE);
    int64_t every = sae_cfg_int(cfg, SAE_P_LR_DECAY_EVERY);
    if (every > 0)
        lr *= pow(sae_cfg_float(cfg, SAE_P_LR_DECAY_FACTOR), (double)(t / (uint64_t)every));
    return lr;
}

double sae_weight_decay_penalty(const sae_optimizer_state_t *o, const sae_model_t *m)
{
    double lambda = sae_cfg_float(m->cfg, SAE_P_WEIGHT_DECAY), total = 0.0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!o->decay[i])
            continue;
        const float *w = m->params + m->tensors[i].offset;
        size_t n = m->tensors[i].rows * m->tensors[i].cols;
        for (size_t k = 0; k < n; k++)
            total += (double)w[k] * (double)w[k];
    }
    return 0.5 * lambda * total;
}

void sae_weight_decay_grad(const sae_optimizer_state_t *o, const sae_model_t *m, float *grad)
{
    float lambda = (float)sae_cfg_float(m->cfg, SAE_P_WEIGHT_DECAY);
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!o->decay[i])
            continue;
        size_t off = m->tensors[i].offset, n = m->tensors[i].rows * m->tensors[i].cols;
        for (size_t k = 0; k < n; k++)
            grad[off + k] += lambda * m->params[off + k];
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
    sae_optimizer_state_t *o;
    float *w;
    const float *g;
    size_t off; /* of the tensor in the parameter block */
    const adam_coef_t *c;
    float lr, mu, lambda;
    int decay;
    double part[SAE_MAX_THREADS];
} update_job_t;

static void update_block(void *ctx, int tid, size_t a, size_t b)
{
    update_job_t *j = ctx;
    size_t k = j->off + a;
    if (j->o->kind == SAE_OPT_ADAM)
        j->part[tid] = adam_range(j->w + k, j->g + k, j->o->m + k, j->o->v + k, b - a, j->c,
                                  j->decay);
    else
        j->part[tid] = sgd_range(j->w + k, j->g + k, j->o->m + k, b - a, j->lr, j->mu,
                                 j->decay ? j->lambda : 0.0f);
}

double sae_optimizer_update(sae_optimizer_state_t *o, sae_model_t *m, const float *grad,
                            double lr, int threads)
{
    const sae_config_t *cfg = m->cfg;
    double lambda = sae_cfg_float(cfg, SAE_P_WEIGHT_DECAY);
    assert(o->m != NULL); /* only backprop with sgd / adam steps here */
    o->t++;
    adam_coef_t c = {0};
    if (o->kind == SAE_OPT_ADAM) {
        double b1 = sae_cfg_float(cfg, SAE_P_ADAM_BETA1), b2 = sae_cfg_float(cfg, SAE_P_ADAM_BETA2);
        c.lr = (float)lr;
        c.b1 = (float)b1;
        c.b2 = (float)b2;
        c.eps = (float)sae_cfg_float(cfg, SAE_P_ADAM_EPS);
        c.bc1 = (float)(1.0 - pow(b1, (double)o->t));
        c.inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(b2, (double)o->t)));
        c.lambda = (float)lambda;
    }
    double sumsq = 0.0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        size_t n = m->tensors[i].rows * m->tensors[i].cols;
        int nt = sae_threads_for(n, threads);
        update_job_t j = {o, m->params, grad, m->tensors[i].offset, &c, (float)lr,
                          (float)sae_cfg_float(cfg, SAE_P_MOMENTUM), (float)lambda, o->decay[i],
                          {0}};
        sae_parallel_rows(n, nt, update_block, &j);
        if (j.decay)
            for (int t = 0; t < nt; t++)
                sumsq += j.part[t];
    }
    return 0.5 * lambda * sumsq;
}
