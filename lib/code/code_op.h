/* Code operators: what turns the encoder's pre-activation into the code.
 * Each is one table of this interface in a file of its own: the
 * element-wise activations (elementwise.c: sigmoid, relu, tanh, trelu,
 * linear), the top-k code per row and over the batch (topk.c; Makhzani &
 * Frey 2013, Gao et al. 2024), the hard threshold of neural sparse coding
 * (hard_threshold.c; Arora et al. 2015). An operator has a training form
 * (forward with the statistics the regularizers need, and backward), an
 * inference form, its own parameters (config keys it reads and checks)
 * and its own state (scratch, selected support, a k schedule...).
 *
 * Adding one: its file (and its line in lib/meson.build), its lines in
 * code/registry.c, its keys' rows in config/keys.c (and their ids in sae.h).
 * SPDX-License-Identifier: MIT */
#ifndef SAE_CODE_CODE_OP_H
#define SAE_CODE_CODE_OP_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "layers/activation.h"
#include "layers/sparse_dense.h"

/* What a training forward needs beyond its arrays. */
typedef struct sae_code_ctx {
    sae_activation_t act;     /* arch.hidden_activation */
    uint64_t step;            /* the training step (schedules) */
    const sae_reduce_scratch_t *scr;
    /* Called with the activations before a selecting operator zeroes any
     * (AuxK chooses among the dead units there); may be NULL. */
    void (*before_select)(void *data, const float *h, size_t rows);
    void *before_data;
} sae_code_ctx_t;

typedef struct sae_code_op {
    const char *name;
    /* 1 when cfg asks for this operator (the registry's first wins). */
    int (*selects)(const sae_config_t *cfg);
    /* Its keys checked against the code's width. */
    sae_status_t (*validate)(const sae_config_t *cfg, size_t units, char *errbuf);
    /* Training state for up to `rows` rows (rows = 0: inference state
     * only). *state may be left NULL when the operator needs none. */
    sae_status_t (*create)(const sae_config_t *cfg, size_t units, size_t rows, void **state);
    void (*destroy)(void *state);

    /* Training forward: z [rows x units] holds x W^T; adds bias (may be
     * NULL), applies the operator in place and gathers the statistics of
     * the resulting code into st. */
    void (*forward)(void *state, const sae_code_ctx_t *cx, float *z, const float *bias,
                    size_t rows, size_t units, sae_code_stats_t *st);
    /* Training backward (NULL for an operator no gradient goes through):
     * dh [rows x units], the gradient at the code,
     * becomes the gradient at the pre-activation, with the regularizers'
     * terms joined in (activation.h); dbias (may be NULL) receives its
     * column sums. h is the forward's code. */
    void (*backward)(void *state, const sae_code_ctx_t *cx, const float *h, float *dh,
                     size_t rows, size_t units, const sae_code_grad_terms_t *terms,
                     float *dbias);
    /* The last forward's active units as CSR, or NULL for a dense code:
     * the one-hidden-layer pass then decodes and back-propagates through
     * those units only. */
    const sae_sparse_code_t *(*support)(const void *state);
    /* Most units active in a row at any step (0: not bounded). */
    size_t (*max_active)(const sae_config_t *cfg);

    /* Inference form on z [rows x units] (x W^T) in place. state is the
     * inference state of create(rows = 0); it is written, so each of a
     * model's inference contexts (model/infer_ctx.c) makes its own. */
    void (*infer)(void *state, sae_activation_t act, float *z, const float *bias, size_t rows,
                  size_t units, int threads);

    /* The operator in double, for the double-precision gradient check's
     * second implementation (libm, not the float kernels): h = op(z) on n
     * entries (z includes the bias), and dh/dz from z and h. NULL for an
     * operator the double objective does not model (top-k, the threshold). */
    void (*forward_d)(const sae_config_t *cfg, sae_activation_t act, const double *z, double *h,
                      size_t n);
    double (*deriv_d)(sae_activation_t act, double z, double h);
} sae_code_op_t;

/* Shared entries: no keys of its own, no state, a dense code (no
 * support), no bound on the active units. */
sae_status_t sae_code_no_keys(const sae_config_t *cfg, size_t units, char *errbuf);
sae_status_t sae_code_no_state(const sae_config_t *cfg, size_t units, size_t rows, void **state);
void sae_code_free_nothing(void *state);
const sae_sparse_code_t *sae_code_dense(const void *state);
size_t sae_code_unbounded(const sae_config_t *cfg);


/* The operator cfg asks for (never NULL: the activation is the default). */
const sae_code_op_t *sae_code_op_for(const sae_config_t *cfg);

#endif
