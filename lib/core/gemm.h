/* The one door to matrix products: every GEMM in libsae goes through
 * sae_gemm, row-major, float. sae_gemm_ref is a naive triple loop used by
 * tests to check the CBLAS path. SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_GEMM_H
#define SAE_CORE_GEMM_H

#include <stddef.h>

/* C[m x n] = alpha * op(A) op(B) + beta * C, op = transpose when ta/tb. */
void sae_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a,
              size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc);
void sae_gemm_ref(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a,
                  size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc);
/* Benchmark hook: while fn is set, every sae_gemm call reports its shape
 * (accumulate: beta != 0). Process-wide and not thread-safe; only the
 * benchmarks use it, to time the same GEMMs alone. */
typedef void (*sae_gemm_trace_fn)(int ta, int tb, size_t m, size_t n, size_t k, size_t lda,
                                  size_t ldb, size_t ldc, int accumulate, void *user_data);
void sae_gemm_set_trace(sae_gemm_trace_fn fn, void *user_data);
/* Sets the BLAS thread count when the provider lets us (0: leave as is). */
void sae_blas_set_threads(int threads);
/* The BLAS's thread count, when the provider tells it and lets it be set
 * (OpenBLAS, BLIS); 0 otherwise. */
int sae_blas_get_threads(void);

#endif
