/* The trainer's matrix-product engine from train.precision and train.gemm.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_PRECISION_H
#define SAE_TRAIN_PRECISION_H

#include "core/matmul.h"
#include "model/model.h"

/* *out = NULL when CBLAS serves (fp32 with train.gemm = blas, or a pass the
 * engine does not cover); SAE_ERR_UNSUPPORTED with the reason when bf16 is
 * asked of a build, CPU or model that cannot run it. */
sae_status_t sae_train_engine_create(const sae_model_t *m, sae_mm_t **out, char *errbuf);

#endif
