/* Weights kept in bfloat16 for read-only inference
 * (sae_model_set_weight_precision; docs/precision.md, "Inference with bf16
 * weights"). The matrices of a one-hidden-layer model are held as bf16
 * (half the memory) and multiplied without an fp32 copy of the whole
 * matrix: on a CPU with AVX512-BF16 or AMX by oneDNN's bf16 matmul (the
 * rows rounded to bf16 per call, fp32 accumulation), elsewhere by widening
 * a block of weight rows at a time into a small fp32 buffer for CBLAS
 * (exact products of the bf16 weights). Vectors (biases, thresholds) stay
 * fp32, in a compacted m->weights. SPDX-License-Identifier: MIT */
#ifndef SAE_MODEL_BF16_WEIGHTS_H
#define SAE_MODEL_BF16_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/matmul.h"
#include "model/model.h"

typedef struct sae_bf16_weights {
    uint16_t *mat[SAE_MAX_TENSORS];      /* each matrix tensor's bf16 copy, else NULL */
    size_t full_offset[SAE_MAX_TENSORS]; /* the fp32 layout, for the way back */
    size_t full_n_weights;
    size_t enc, dec; /* tensor indices (dec = enc when tied) */
    /* Widening buffer of calls outside an inference context (one thread). */
    float *wide;
    size_t wide_size;
} sae_bf16_weights_t;

/* fp32 <-> bf16 storage; the model's inference contexts are dropped (they
 * hold the old views). SAE_ERR_UNSUPPORTED for a layered model,
 * SAE_ERR_STATE while a trainer holds the model, SAE_ERR_NOMEM (model
 * unchanged). */
sae_status_t sae_model_weights_to_bf16(sae_model_t *m);
sae_status_t sae_model_weights_to_fp32(sae_model_t *m);

/* sae_model_need_fp32 and sae_bf16_weights_free are declared in
 * model/model.h, the products in model/dense.h (for the files below this
 * one). */

/* Bytes the model's parameters take (fp32 block and bf16 matrices). */
size_t sae_model_weight_bytes(const sae_model_t *m);

/* "onednn-bf16" or "fp32-widened": how this process multiplies bf16
 * weights. Tests may force the widening path (force = 1). */
const char *sae_bf16_infer_path(void);
void sae_bf16_infer_force_widen(int force);
/* Products that widened the weights so far (tests). */
size_t sae_bf16_widened_products(void);

#endif
