/* Which matrix-product engine a trainer's pass uses (train.precision,
 * train.gemm; docs/precision.md). SPDX-License-Identifier: MIT */
#include "train/precision.h"

#include "model/dense.h"
#include "model/kind.h"

/* What train.gemm = auto means (core/matmul.c says why). */
static sae_mm_kind_t auto_fp32_engine(void)
{
    return sae_mm_fp32_auto();
}

sae_status_t sae_train_engine_create(const sae_model_t *m, sae_mm_t **out, char *errbuf)
{
    *out = NULL;
    const sae_config_t *cfg = m->cfg;
    int bf16 = sae_cfg_int(cfg, SAE_P_PRECISION) == SAE_PRECISION_BF16;
    sae_gemm_engine_t gemm = (sae_gemm_engine_t)sae_cfg_int(cfg, SAE_P_GEMM);
    sae_mm_kind_t kind = bf16                      ? SAE_MM_ONEDNN_BF16
                         : gemm == SAE_GEMM_ONEDNN ? SAE_MM_ONEDNN_F32
                         : gemm == SAE_GEMM_BLAS   ? SAE_MM_BLAS
                                                   : auto_fp32_engine();
    if (kind == SAE_MM_BLAS)
        return SAE_OK;
    /* The engine serves the one-hidden-layer pass of backprop; the others
     * keep CBLAS, which bf16 must not pretend to change. */
    int dense = m->kind == &sae_kind_dense;
    int backprop = sae_cfg_int(cfg, SAE_P_ALGORITHM) == SAE_ALGO_BACKPROP;
    if (!dense || !backprop) {
        if (!bf16)
            return SAE_OK; /* train.gemm = onednn: CBLAS does these */
        return sae_fail(errbuf, SAE_ERR_UNSUPPORTED,
                        "train.precision = bf16 covers one-hidden-layer models trained with "
                        "train.algorithm = backprop; this model %s",
                        dense ? "uses another training algorithm" : "has arch.layers");
    }
    return sae_mm_create(kind, out, errbuf);
}
