/* BatchTopK (Bussmann, Leask & Nanda 2024, "BatchTopK Sparse
 * Autoencoders", arXiv 2412.06410): training keeps the rows*k largest
 * activations of the batch (the top-k operator of topk.c in batch mode,
 * which this one drives); at inference one threshold theta replaces the
 * batch selection, h = a * 1[a > theta] with a = act(z + b), so that a
 * row's code no longer depends on the other rows of its batch (sec. 3).
 * theta is estimated during training as the running mean, over training
 * batches, of each batch's smallest kept positive activation:
 *   n <- n + 1,  theta <- theta + (m_n - theta) / n.
 * Both live in the model as SAE_TENSOR_STATE tensors, saved with it:
 * topk.threshold [1] and topk.threshold_batches [1] (n, exact up to 2^24).
 * A file written before 0.4 has neither: they load as zero, and n = 0
 * means per-row top-k at inference, as 0.3 did (topk.inference = k also
 * asks for it). SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "code/code_op.h"
#include "code/topk.h"

extern const sae_code_op_t sae_code_topk; /* code/topk.c */

typedef struct btk_state {
    void *topk;         /* the top-k operator's state, in batch mode */
    int use_threshold;  /* topk.inference resolves to threshold */
    size_t infer_k;
    uint32_t *infer_select;
    float *theta, *batches; /* the model's tensors */
} btk_state_t;

static int selects(const sae_config_t *cfg)
{
    return sae_cfg_int(cfg, SAE_P_TOPK_K) > 0 && sae_cfg_int(cfg, SAE_P_TOPK_MODE) == 1;
}

static const sae_code_tensor_t tensors[] = {
    {"topk.threshold", 0, SAE_TENSOR_STATE, 1, NULL},
    {"topk.threshold_batches", 0, SAE_TENSOR_STATE, 1, NULL},
};

static void destroy(void *state)
{
    btk_state_t *s = state;
    if (!s)
        return;
    sae_code_topk.destroy(s->topk);
    free(s->infer_select);
    free(s);
}

static sae_status_t create(const sae_config_t *cfg, size_t units, size_t rows, void **state)
{
    btk_state_t *s = calloc(1, sizeof *s);
    *state = NULL;
    if (!s)
        return SAE_ERR_NOMEM;
    sae_status_t st = sae_code_topk.create(cfg, units, rows, &s->topk);
    s->infer_select = malloc(2 * units * sizeof *s->infer_select);
    if (st != SAE_OK || !s->infer_select) {
        destroy(s);
        return SAE_ERR_NOMEM;
    }
    s->use_threshold = sae_cfg_int(cfg, SAE_P_TOPK_INFERENCE) != SAE_TOPK_INFER_K;
    s->infer_k = sae_topk_k_infer(cfg, units);
    *state = s;
    return SAE_OK;
}

static void bind(void *state, const sae_code_params_t *p)
{
    btk_state_t *s = state;
    s->theta = p->value[0];
    s->batches = p->value[1];
}

static void forward(void *state, const sae_code_ctx_t *cx, float *z, const float *bias,
                    size_t rows, size_t units, sae_code_stats_t *st)
{
    btk_state_t *s = state;
    sae_code_topk.forward(s->topk, cx, z, bias, rows, units, st);
    if (!cx->training)
        return;
    /* The batch's smallest kept activation above zero (a relu code may
     * keep zeros when fewer than rows*k units are positive). */
    const sae_sparse_code_t *sc = sae_code_topk.support(s->topk);
    float m = 0.0f;
    for (uint32_t e = 0; e < sc->row_ptr[rows]; e++)
        if (sc->val[e] > 0.0f && (m == 0.0f || sc->val[e] < m))
            m = sc->val[e];
    if (m == 0.0f)
        return;
    double n = (double)*s->batches + 1.0;
    *s->theta = (float)((double)*s->theta + ((double)m - (double)*s->theta) / n);
    *s->batches = (float)n;
}

static void backward(void *state, const sae_code_ctx_t *cx, const float *h, float *dh,
                     size_t rows, size_t units, const sae_code_grad_terms_t *terms, float *dbias)
{
    btk_state_t *s = state;
    sae_code_topk.backward(s->topk, cx, h, dh, rows, units, terms, dbias);
}

static const sae_sparse_code_t *support(const void *state)
{
    return sae_code_topk.support(((const btk_state_t *)state)->topk);
}

static void infer(void *state, sae_activation_t act, float *z, const float *bias, size_t rows,
                  size_t units, int threads)
{
    btk_state_t *s = state;
    sae_reduce_scratch_t scr = {NULL, threads};
    sae_bias_act_forward(act, z, rows, units, bias, NULL, &scr);
    if (!s->use_threshold || !(*s->batches > 0.0f)) {
        sae_topk_rows(z, rows, units, s->infer_k, s->infer_select);
        return;
    }
    float th = *s->theta;
    for (size_t i = 0; i < rows * units; i++)
        z[i] = z[i] > th ? z[i] : 0.0f;
}

const sae_code_op_t sae_code_batch_topk = {
    .name = "batch_topk",
    .n_tensors = 2,
    .tensors = tensors,
    .bind = bind,
    .selects = selects,
    .validate = sae_topk_validate,
    .create = create,
    .destroy = destroy,
    .forward = forward,
    .backward = backward,
    .support = support,
    .max_active = sae_topk_k_max,
    .infer = infer,
};
