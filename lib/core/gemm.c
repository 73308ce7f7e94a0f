/* sae_gemm over CBLAS. SPDX-License-Identifier: MIT */
#include "core/gemm.h"

#include <cblas.h>

#if defined(SAE_BLAS_OPENBLAS)
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#elif defined(SAE_BLAS_BLIS)
void bli_thread_set_num_threads(long n_threads);
long bli_thread_get_num_threads(void);
#endif

static sae_gemm_trace_fn trace_fn;
static void *trace_data;

void sae_gemm_set_trace(sae_gemm_trace_fn fn, void *user_data)
{
    trace_fn = fn;
    trace_data = user_data;
}

void sae_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a,
              size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (trace_fn)
        trace_fn(ta, tb, m, n, k, lda, ldb, ldc, beta != 0.0f, trace_data);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void sae_blas_set_threads(int threads)
{
    if (threads <= 0)
        return;
#if defined(SAE_BLAS_OPENBLAS)
    openblas_set_num_threads(threads);
#elif defined(SAE_BLAS_BLIS)
    bli_thread_set_num_threads(threads);
#endif
}

int sae_blas_get_threads(void)
{
#if defined(SAE_BLAS_OPENBLAS)
    return openblas_get_num_threads();
#elif defined(SAE_BLAS_BLIS)
    return (int)bli_thread_get_num_threads();
#else
    return 0;
#endif
}
