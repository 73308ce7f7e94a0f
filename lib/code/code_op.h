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
#include "core/state.h"
#include "layers/activation.h"
#include "layers/sparse_dense.h"

/* What a training forward needs beyond its arrays. */
typedef struct sae_code_ctx {
    sae_activation_t act;     /* the code's kernel activation (sae_code_op_t.activation) */
    uint64_t step;            /* the training step (schedules) */
    /* 1 in a training step (corrupted, with a gradient): the operator may
     * update the estimates it keeps in SAE_TENSOR_STATE tensors; 0 in
     * evaluations, gradient checks and L-BFGS evaluations. */
    int training;
    const sae_reduce_scratch_t *scr;
    /* Called with the activations before a selecting operator zeroes any
     * (AuxK chooses among the dead units there); may be NULL. */
    void (*before_select)(void *data, const float *h, size_t rows);
    void *before_data;
    /* For an operator with terms of its own (own_terms, gated): the clean
     * rows the loss compares with [rows x input_dim] (own_terms only), the
     * decoder's atoms [units x input_dim] and bias (or NULL), and the
     * decoder weight's gradient, which backward may add to (NULL when
     * tied or without a gradient). */
    const float *x;
    const float *dec_rows, *dec_bias;
    float *dec_grad;
    size_t input_dim;
    /* The share of the warming terms' weights still missing at this step
     * (1 - sae_terms_warmup_factor; 0: full weights): an operator's own
     * penalty warms up with the others (sparsity.warmup_steps). */
    float warmup_left;
} sae_code_ctx_t;

/* The operator's own tensors in the model (learned per-latent parameters
 * such as JumpReLU's log threshold, or estimates such as BatchTopK's
 * inference threshold): declared here, laid out by the dense kind after
 * its weights (model/dense.c), saved and loaded with the model under their
 * names, reachable through sae_model_tensor / sae_model_set_tensor. Each is
 * a vector of `units` floats (per_unit) or of one float, written as a 1-D
 * tensor. role (model/model.h): SAE_TENSOR_STE tensors get a gradient in
 * ws->grad from the operator's backward and are updated by the optimizer
 * like every weight (Adam moments included, weight decay never); they
 * are left out of finite-difference checks, their gradient being a
 * straight-through estimate. SAE_TENSOR_STATE tensors are written by the
 * operator's training forward, never by the optimizer. */
#define SAE_CODE_MAX_TENSORS 4
/* Roles of a model tensor (sae_tensor_desc_t.role, model/model.h). */
enum {
    SAE_TENSOR_PARAM = 0, /* a weight or bias: exact gradient, optimised */
    SAE_TENSOR_STE = 1,   /* optimised on a straight-through gradient */
    SAE_TENSOR_STATE = 2  /* estimated by its operator, not optimised */
};
typedef struct sae_code_tensor {
    const char *name;
    int per_unit;
    int role;
    /* A file may lack it (written by a version whose operator had no such
     * tensor): it is then left at zero, which must give that version's
     * behaviour. */
    int optional;
    /* The value every entry starts from (model creation); NULL: 0. */
    double (*init)(const sae_config_t *cfg);
} sae_code_tensor_t;

/* Where an operator finds its tensors: value[i] for tensors[i], and its
 * gradient in the trainer's block (NULL in the inference state). */
typedef struct sae_code_params {
    float *value[SAE_CODE_MAX_TENSORS];
    float *grad[SAE_CODE_MAX_TENSORS];
} sae_code_params_t;

typedef struct sae_code_op {
    const char *name;
    /* Its tensors (n_tensors = 0: none). */
    size_t n_tensors;
    const sae_code_tensor_t *tensors;
    /* Called once its state exists (create), with its tensors' places;
     * NULL when n_tensors = 0. The model's block never moves. */
    void (*bind)(void *state, const sae_code_params_t *p);
    /* The activation the shared kernels apply and count active units by
     * (m->hidden_act, cx->act); NULL: arch.hidden_activation. */
    sae_activation_t (*activation)(const sae_config_t *cfg);
    /* 1: the operator gives the step terms (SAE_COEF_STEP, l0.weight)
     * their gradient through its straight-through estimator; configs with
     * such a term and another operator are refused (model/dense.c). */
    int has_step;
    /* The weight key of a code term the operator computes itself on its
     * own quantity (gated: l1.weight on relu(pi_gate)); the terms table
     * then skips it and reports the operator's value. 0: none. */
    sae_param_t own_penalty;
    /* The operator's own terms, after the decoder's loss (NULL: none):
     * *penalty, the weighted term of own_penalty, and *aux, an auxiliary
     * loss at the output (reported as a term of its own); with grad, what
     * backward needs for their gradients is kept in the state. */
    void (*own_terms)(void *state, const sae_code_ctx_t *cx, size_t rows, size_t units,
                      int grad, double *penalty, double *aux);
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
    /* The backward of the sparse path (NULL: sae_sparse_act_backward with
     * the kernel activation): dval [support entries], the gradient at the
     * code, becomes the gradient at the pre-activation, terms joined in;
     * dbias gets its per-unit sums. An operator with tensors writes their
     * gradient here too. */
    void (*sparse_backward)(void *state, const sae_code_ctx_t *cx, const sae_sparse_code_t *sc,
                            size_t rows, size_t units, const sae_code_grad_terms_t *terms,
                            float *dval, float *dbias);
    /* Most units active in a row at any step (0: not bounded). An
     * operator whose code is only sometimes sparse gives its support's
     * capacity per row here and returns NULL from support for a step
     * whose code did not fit (that step then takes the dense path). */
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

    /* The training state a checkpoint must hold for a resumed run to be
     * bit-identical (a running threshold estimate...), added to l as
     * entries named "trainer.code.<name>..." (NULL: none; core/state.h). */
    sae_status_t (*checkpoint)(void *state, const sae_config_t *cfg, sae_state_list_t *l);
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
