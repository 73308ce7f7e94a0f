/* A matrix-product engine for the training passes: the same contract as
 * sae_gemm (row-major, C = alpha op(A) op(B) + beta C), run by oneDNN's
 * matmul primitives in fp32 or with bf16 operands (fp32 accumulation and
 * output), one primitive per shape created on first use and kept. Operands
 * marked as weights are converted to bf16 once per generation (a training
 * step), activations at every product. A NULL engine is CBLAS's sae_gemm.
 * Not thread-safe: one engine per trainer. SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_MATMUL_H
#define SAE_CORE_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "sae.h"

typedef enum sae_mm_kind {
    SAE_MM_BLAS = 0,        /* sae_gemm (no engine) */
    SAE_MM_ONEDNN_F32 = 1,  /* oneDNN, fp32 operands */
    SAE_MM_ONEDNN_BF16 = 2  /* oneDNN, bf16 operands, fp32 accumulation */
} sae_mm_kind_t;

typedef struct sae_mm sae_mm_t;

/* 1 when this build and this CPU can run kind; otherwise 0 with the reason
 * in why (SAE_ERRMSG_SIZE bytes). */
int sae_mm_available(sae_mm_kind_t kind, char *why);
/* *out = NULL for SAE_MM_BLAS. SAE_ERR_UNSUPPORTED (with the reason) when
 * not available, SAE_ERR_NOMEM. */
sae_status_t sae_mm_create(sae_mm_kind_t kind, sae_mm_t **out, char *errbuf);
void sae_mm_free(sae_mm_t *mm);
/* The weights may have changed since the last product: converted copies
 * are stale. */
void sae_mm_new_weights(sae_mm_t *mm);
/* a_weight / b_weight: the operand is a parameter tensor (constant within a
 * generation). beta must be 0 or 1 for oneDNN; other products, and any
 * primitive oneDNN cannot create, go to sae_gemm (counted in fallbacks). */
void sae_mm_gemm(sae_mm_t *mm, int ta, int tb, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, int a_weight, const float *b, size_t ldb,
                 int b_weight, float beta, float *c, size_t ldc);
/* Inference with weights kept in bf16 (model/bf16_weights.c):
 * c[m x n] = alpha a op(b), a fp32 [m x k] (rounded to bf16 at this call),
 * b already bf16, stored [n x k] (tb) or [k x n], beta = 0. Returns 0 when
 * this engine cannot run it (not a bf16 engine, oneDNN refused the shape):
 * the caller then widens b itself. One engine per thread. */
int sae_mm_gemm_bf16w(sae_mm_t *mm, int tb, size_t m, size_t n, size_t k, float alpha,
                      const float *a, size_t lda, const uint16_t *b, size_t ldb, float *c,
                      size_t ldc);
/* Products sent to sae_gemm instead (tests). */
size_t sae_mm_fallbacks(const sae_mm_t *mm);
/* The implementation oneDNN chose for the last product ("brg:avx512_core_bf16",
 * ...), or "cblas". */
const char *sae_mm_impl(const sae_mm_t *mm);
/* What train.gemm = auto picks for fp32 products, in training and
 * inference (docs/precision.md, "fp32 through oneDNN"). */
sae_mm_kind_t sae_mm_fp32_auto(void);
/* OpenMP threads oneDNN uses (0: leave). */
void sae_mm_set_threads(int threads);

#endif
