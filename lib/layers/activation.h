/* Fused element-wise kernels of the dense layers: bias + activation (+ the
 * code statistics the regularizers need) in one pass forward, and
 * activation derivative + regularizer gradient + bias gradient in one pass
 * backward. SPDX-License-Identifier: MIT */
#ifndef SAE_LAYERS_ACTIVATION_H
#define SAE_LAYERS_ACTIVATION_H

#include <stddef.h>

#include "sae.h"

/* Scalar forms, for inference of single values and for tests. */
float sae_act_apply(sae_activation_t act, float z);
/* Derivative expressed through the activation's output y = act(z). */
float sae_act_deriv_from_output(sae_activation_t act, float y);

/* Batch statistics of a code, gathered during the forward pass. */
typedef struct sae_code_stats {
    double *row_sum;  /* [rows] sum_j h_rj */
    double *col_sum;  /* [cols] sum_r h_rj */
    double abs_sum;   /* sum |h| */
    double active;    /* count of active units: |h| > 1e-3 for sigmoid and
                         tanh, h != 0 for relu and linear */
    double *col_active; /* [cols] active rows per unit, or NULL */
} sae_code_stats_t;

/* Per-thread scratch for column reductions: at least 2 * threads * cols
 * floats (the kernels accumulate in float; the buffer is typed double, so
 * threads * cols doubles). */
typedef struct sae_reduce_scratch {
    double *buf;
    int threads;
} sae_reduce_scratch_t;

/* z[r][c] = act(z[r][c] + bias[c]) in place; bias may be NULL. When st is
 * not NULL it receives the statistics of the result. */
void sae_bias_act_forward(sae_activation_t act, float *z, size_t rows, size_t cols,
                          const float *bias, sae_code_stats_t *st,
                          const sae_reduce_scratch_t *scr);

/* The statistics of a code h as it is (no activation applied). */
void sae_code_stats(sae_activation_t act, float *h, size_t rows, size_t cols,
                    sae_code_stats_t *st, const sae_reduce_scratch_t *scr);

/* Coefficients of the built-in regularizers' gradient at the code: for an
 * element h_rc the gradient is row_coef[r] + col_coef[c] + sign_coef*sign(h).
 * Any pointer may be NULL (term absent). */
typedef struct sae_code_grad_terms {
    const float *row_coef;
    const float *col_coef;
    float sign_coef;
    const float *extra;     /* [rows x cols] gradient from user regularizers */
    const float *drop_scale; /* [rows x cols] hidden dropout mask (0 or 1/keep) */
    /* The step terms' gradient (l0): dP/dH(h_rc) = step_coef for the step
     * H of an operator with one (JumpReLU), which alone applies it through
     * its straight-through estimator; the kernels here ignore it. */
    float step_coef;
} sae_code_grad_terms_t;

/* dz = (dh * drop_scale + terms) * act'(h), in place of dh; writes the bias
 * gradient (column sums of dz) into dbias when not NULL. */
void sae_act_backward(sae_activation_t act, const float *h, float *dh, size_t rows, size_t cols,
                      const sae_code_grad_terms_t *terms, float *dbias,
                      const sae_reduce_scratch_t *scr);

#endif
