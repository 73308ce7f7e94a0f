/* Weights kept in bfloat16 for read-only inference (model/bf16_weights.h).
 * SPDX-License-Identifier: MIT */
#include "model/bf16_weights.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/bf16.h"
#include "core/gemm.h"
#include "model/dense.h"
#include "model/kind.h"

static int force_widen;
static _Atomic size_t widened; /* products that took the widening path */

size_t sae_bf16_widened_products(void)
{
    return widened;
}

void sae_bf16_infer_force_widen(int force)
{
    force_widen = force;
}

/* oneDNN's bf16 matmul when the build has it and the CPU has bf16 units;
 * without them oneDNN would emulate bf16 more slowly than fp32 (the
 * reason train.precision = bf16 is refused there), so the weights are
 * widened instead. */
static int use_onednn(void)
{
    char why[SAE_ERRMSG_SIZE];
    return !force_widen && sae_mm_available(SAE_MM_ONEDNN_BF16, why);
}

const char *sae_bf16_infer_path(void)
{
    return use_onednn() ? "onednn-bf16" : "fp32-widened";
}

void sae_bf16_weights_free(sae_bf16_weights_t *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < SAE_MAX_TENSORS; i++)
        sae_aligned_free(b->mat[i]);
    sae_aligned_free(b->wide);
    free(b);
}

sae_status_t sae_model_need_fp32(sae_model_t *m, const char *fn)
{
    if (!m || !m->bf16)
        return SAE_OK;
    sae_fail(m->errmsg, SAE_ERR_STATE,
             "%s: the model holds bf16 weights for inference (sae_model_set_weight_precision); "
             "set it back to SAE_PRECISION_FP32 first (exact)",
             fn);
    sae_set_global_error(m->errmsg); /* for the calls that report there */
    return SAE_ERR_STATE;
}

void sae_bf16_set_matrix(sae_model_t *m, size_t index, const float *data)
{
    const sae_tensor_desc_t *t = &m->tensors[index];
    sae_f32_to_bf16(data, m->bf16->mat[index], t->rows * t->cols);
}

/* The weights' rows widened per block: a block of about 1 MiB stays in
 * the cache while CBLAS reads it. */
#define PIECE 256
static size_t widen_rows(size_t cols)
{
    size_t n = ((size_t)1 << 18) / (cols ? cols : 1);
    return n < 16 ? 16 : n;
}

/* z[rows x H] (ld H) = alpha x[rows x D] W^T, W bf16 [H x D]. */
void sae_bf16_encoder_gemm(const sae_model_t *m, size_t rows, float alpha, const float *x, float *z)
{
    const sae_bf16_weights_t *b = m->bf16;
    size_t d = m->input_dim, h = m->code_dim;
    const uint16_t *w = b->mat[b->enc];
    if (use_onednn()) {
        sae_mm_t *mm = sae_infer_mm(m, SAE_MM_ONEDNN_BF16);
        if (mm && sae_mm_gemm_bf16w(mm, 1, rows, h, d, alpha, x, d, w, d, z, h))
            return;
    }
    widened++;
    size_t nb = widen_rows(d);
    float *wide = sae_infer_wide(m, nb * d);
    if (!wide) {
        /* Out of memory: a row at a time, in pieces on the stack. */
        float piece[PIECE];
        for (size_t j = 0; j < h; j++)
            for (size_t c = 0; c < d; c += PIECE) {
                size_t n = d - c < PIECE ? d - c : PIECE;
                sae_bf16_to_f32(w + j * d + c, piece, n);
                sae_gemm(0, 1, rows, 1, n, alpha, x + c, d, piece, n, c ? 1.0f : 0.0f, z + j, h);
            }
        return;
    }
    for (size_t j0 = 0; j0 < h; j0 += nb) {
        size_t n = h - j0 < nb ? h - j0 : nb;
        sae_bf16_to_f32(w + j0 * d, wide, n * d);
        sae_gemm(0, 1, rows, n, d, alpha, x, d, wide, d, 0.0f, z + j0, h);
    }
}

/* out[rows x D] = h[rows x H] W, W bf16 [H x D]. */
void sae_bf16_decoder_gemm(const sae_model_t *m, size_t rows, const float *h, float *out)
{
    const sae_bf16_weights_t *b = m->bf16;
    size_t d = m->input_dim, units = m->code_dim;
    const uint16_t *w = b->mat[b->dec];
    if (use_onednn()) {
        sae_mm_t *mm = sae_infer_mm(m, SAE_MM_ONEDNN_BF16);
        if (mm && sae_mm_gemm_bf16w(mm, 0, rows, d, units, 1.0f, h, units, w, d, out, d))
            return;
    }
    widened++;
    size_t nb = widen_rows(d);
    float *wide = sae_infer_wide(m, nb * d);
    if (!wide) {
        float piece[PIECE];
        for (size_t j = 0; j < units; j++)
            for (size_t c = 0; c < d; c += PIECE) {
                size_t n = d - c < PIECE ? d - c : PIECE;
                sae_bf16_to_f32(w + j * d + c, piece, n);
                sae_gemm(0, 0, rows, n, 1, 1.0f, h + j, units, piece, n, j ? 1.0f : 0.0f, out + c,
                         d);
            }
        return;
    }
    for (size_t j0 = 0; j0 < units; j0 += nb) {
        size_t n = units - j0 < nb ? units - j0 : nb;
        sae_bf16_to_f32(w + j0 * d, wide, n * d);
        sae_gemm(0, 0, rows, d, n, 1.0f, h + j0, units, wide, d, j0 ? 1.0f : 0.0f, out, d);
    }
}

static int is_matrix(const sae_tensor_desc_t *t)
{
    return t->is_weight; /* the dense kind's two matrices */
}

static sae_status_t check_convertible(sae_model_t *m, const char *to)
{
    if (m->kind != &sae_kind_dense)
        return sae_fail(m->errmsg, SAE_ERR_UNSUPPORTED,
                        "sae_model_set_weight_precision: %s weights are for one-hidden-layer "
                        "models; this one has arch.layers",
                        to);
    if (m->trainers > 0)
        return sae_fail(m->errmsg, SAE_ERR_STATE,
                        "sae_model_set_weight_precision: a trainer holds this model (free it "
                        "first: training needs fp32 weights)");
    return SAE_OK;
}

/* The block changed: views and operator state rebound, contexts (bound to
 * the old block) dropped. */
static void moved(sae_model_t *m)
{
    sae_infer_pool_free(m);
    sae_dense_rebind(m);
}

sae_status_t sae_model_weights_to_bf16(sae_model_t *m)
{
    sae_status_t st = check_convertible(m, "bf16");
    if (st != SAE_OK || m->bf16)
        return st;
    sae_bf16_weights_t *b = calloc(1, sizeof *b);
    if (!b)
        return sae_fail(m->errmsg, SAE_ERR_NOMEM, "sae_model_set_weight_precision: out of memory");
    /* The vectors' compact layout, aligned as sae_model_add_tensor does. */
    size_t compact[SAE_MAX_TENSORS], n = 0;
    int ok = 1;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const sae_tensor_desc_t *t = &m->tensors[i];
        b->full_offset[i] = t->offset;
        if (is_matrix(t)) {
            compact[i] = 0;
            ok = ok && (b->mat[i] = sae_aligned_alloc(t->rows * t->cols * sizeof(uint16_t)));
        } else {
            compact[i] = n;
            n += (t->rows * t->cols + 15) & ~(size_t)15;
        }
    }
    float *block = ok ? sae_aligned_alloc((n ? n : 16) * sizeof(float)) : NULL;
    if (!block) {
        sae_bf16_weights_free(b);
        return sae_fail(m->errmsg, SAE_ERR_NOMEM, "sae_model_set_weight_precision: out of memory");
    }
    memset(block, 0, (n ? n : 16) * sizeof(float));
    for (size_t i = 0; i < m->n_tensors; i++) {
        sae_tensor_desc_t *t = &m->tensors[i];
        const float *src = m->weights + t->offset;
        if (b->mat[i])
            sae_f32_to_bf16(src, b->mat[i], t->rows * t->cols);
        else
            memcpy(block + compact[i], src, t->rows * t->cols * sizeof(float));
        if (!strcmp(t->name, "encoder.weight"))
            b->enc = i;
    }
    b->dec = b->enc;
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, "decoder.weight"))
            b->dec = i;
    b->full_n_weights = m->n_weights;
    for (size_t i = 0; i < m->n_tensors; i++)
        m->tensors[i].offset = compact[i];
    sae_aligned_free(m->weights);
    m->weights = block;
    m->n_weights = n;
    m->bf16 = b;
    moved(m);
    return SAE_OK;
}

sae_status_t sae_model_weights_to_fp32(sae_model_t *m)
{
    sae_status_t st = check_convertible(m, "fp32");
    if (st != SAE_OK || !m->bf16)
        return st;
    sae_bf16_weights_t *b = m->bf16;
    float *block = sae_aligned_alloc(b->full_n_weights * sizeof(float));
    if (!block)
        return sae_fail(m->errmsg, SAE_ERR_NOMEM, "sae_model_set_weight_precision: out of memory");
    memset(block, 0, b->full_n_weights * sizeof(float));
    for (size_t i = 0; i < m->n_tensors; i++) {
        sae_tensor_desc_t *t = &m->tensors[i];
        if (b->mat[i])
            sae_bf16_to_f32(b->mat[i], block + b->full_offset[i], t->rows * t->cols);
        else
            memcpy(block + b->full_offset[i], m->weights + t->offset,
                   t->rows * t->cols * sizeof(float));
        t->offset = b->full_offset[i];
    }
    sae_aligned_free(m->weights);
    m->weights = block;
    m->n_weights = b->full_n_weights;
    m->bf16 = NULL;
    sae_bf16_weights_free(b);
    moved(m);
    return SAE_OK;
}

sae_status_t sae_model_set_weight_precision(sae_model_t *m, sae_precision_t precision)
{
    if (!m)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_set_weight_precision: model is NULL");
    switch (precision) {
    case SAE_PRECISION_FP32: return sae_model_weights_to_fp32(m);
    case SAE_PRECISION_BF16: return sae_model_weights_to_bf16(m);
    }
    return sae_fail(m->errmsg, SAE_ERR_RANGE,
                    "sae_model_set_weight_precision: precision %d is neither SAE_PRECISION_FP32 "
                    "nor SAE_PRECISION_BF16",
                    (int)precision);
}

size_t sae_model_weight_bytes(const sae_model_t *m)
{
    if (!m)
        return 0;
    size_t bytes = m->n_weights * sizeof(float);
    if (m->bf16)
        for (size_t i = 0; i < m->n_tensors; i++)
            if (m->bf16->mat[i])
                bytes += m->tensors[i].rows * m->tensors[i].cols * sizeof(uint16_t);
    return bytes;
}
