/* Whole-objective gradient check against central differences.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/dense.h"
#include "model/kind.h"
#include "sparsity/terms.h"
#include "train/method.h"
#include "train/trainer.h"

/* Parameters checked at most: spread evenly over every tensor. */
#define GC_MAX_PER_TENSOR 400
/* Float forward passes: a step of 1e-3 keeps rounding noise (~1e-7
 * relative) well below the difference and the O(eps^2) curvature error
 * small. */
#define GC_EPS 1e-3f

/* The objective; without_aux: less the code operator's own terms (the
 * gated SAE's penalty and auxiliary term), which read the decoder through a
 * stop-gradient (code/gated.c), so that the decoder's differences are
 * those of the training gradient. */
static double objective(sae_trainer_t *t, const float *x, size_t rows, int without_aux)
{
    sae_stats_t s;
    if (sae_forward_backward(t, x, rows, 0, 0, &s) != SAE_OK)
        return NAN;
    double v = s.loss + sae_backprop_l2_penalty(t);
    size_t own = without_aux ? sae_term_by_weight(sae_dense(t->model)->code_op->own_penalty)
                             : SAE_N_BUILTIN_TERMS;
    for (size_t k = 0; without_aux && k < s.n_terms; k++)
        if (!strcmp(s.term_name[k], sae_terms[SAE_TERM_GATED_AUX].name) ||
            (own < SAE_N_BUILTIN_TERMS && !strcmp(s.term_name[k], sae_terms[own].name)))
            v -= s.term_loss[k];
    return v;
}

/* Tensor ti is the decoder of a model whose code operator has terms of its
 * own (they read the decoder frozen). */
static int frozen_decoder(const sae_model_t *m, size_t ti)
{
    if (m->kind != &sae_kind_dense || !sae_dense(m)->code_op->own_terms)
        return 0;
    const float *p = m->weights + m->tensors[ti].offset;
    return p == sae_dense(m)->dec_w || p == sae_dense(m)->dec_b;
}

sae_status_t sae_trainer_gradcheck(sae_trainer_t *t, const float *x, size_t rows,
                                   double *max_rel_err)
{
    if (!t)
        return sae_fail_global(SAE_ERR_NULL, "sae_trainer_gradcheck: trainer is NULL");
    if (!x || !max_rel_err)
        return sae_fail(t->errmsg, SAE_ERR_NULL, "sae_trainer_gradcheck: NULL argument");
    if (rows == 0 || rows > t->ws.batch)
        return sae_fail(t->errmsg, SAE_ERR_DIMENSION,
                        "sae_trainer_gradcheck: rows must be 1..batch size (%zu)", t->ws.batch);
    sae_model_t *m = t->model;
    if (!sae_all_finite(x, rows * m->input_dim))
        return sae_fail(t->errmsg, SAE_ERR_NONFINITE, "sae_trainer_gradcheck: data holds NaN "
                        "or Inf");
    if (!t->method->has_objective)
        return sae_method_no_gradient(t);
    sae_stats_t s;
    sae_status_t st = sae_forward_backward(t, x, rows, 0, 1, &s);
    if (st != SAE_OK)
        return st;
    float *ana = malloc(m->n_weights * sizeof *ana);
    if (!ana)
        return sae_fail(t->errmsg, SAE_ERR_NOMEM, "sae_trainer_gradcheck: out of memory");
    memcpy(ana, t->ws.grad, m->n_weights * sizeof *ana);
    sae_backprop_l2_grad(t, ana);
    /* AuxK's residual target is a constant of its gradient: hold it. */
    t->ws.dense.aux.frozen = 1;

    /* ||num - ana|| / ||num + ana||: robust to entries whose gradient is
     * near zero, where float rounding dominates any per-entry ratio. */
    double diff2 = 0.0, sum2 = 0.0;
    for (size_t ti = 0; ti < m->n_tensors; ti++) {
        /* Straight-through gradients are not derivatives, and estimates
         * have none: only exact gradients are checked. */
        if (m->tensors[ti].role != SAE_TENSOR_PARAM)
            continue;
        size_t off = m->tensors[ti].offset, n = m->tensors[ti].rows * m->tensors[ti].cols;
        int without_aux = frozen_decoder(m, ti);
        size_t stride = n > GC_MAX_PER_TENSOR ? n / GC_MAX_PER_TENSOR : 1;
        for (size_t k = 0; k < n; k += stride) {
            float *p = m->weights + off + k;
            float keep = *p;
            *p = keep + GC_EPS;
            double up = objective(t, x, rows, without_aux);
            *p = keep - GC_EPS;
            double down = objective(t, x, rows, without_aux);
            *p = keep;
            double step = (double)(keep + GC_EPS) - (double)(keep - GC_EPS);
            double num = (up - down) / step, a = (double)ana[off + k];
            diff2 += (num - a) * (num - a);
            sum2 += (num + a) * (num + a);
        }
    }
    t->ws.dense.aux.frozen = 0;
    double worst = sum2 > 0.0 ? sqrt(diff2 / sum2) : sqrt(diff2);
    if (isnan(worst))
        worst = INFINITY;
    free(ana);
    *max_rel_err = worst;
    return SAE_OK;
}
