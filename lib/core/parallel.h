/* Splitting element-wise work over threads. Kernels are written as
 * "process rows [r0, r1) with thread-local accumulators", and run either
 * serially or under OpenMP when the work is large enough to pay for it.
 * The split depends only on rows and the thread count, so results are
 * reproducible for a given thread count. SPDX-License-Identifier: MIT */
#ifndef SAE_CORE_PARALLEL_H
#define SAE_CORE_PARALLEL_H

#include <stddef.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many elements a second thread costs more than it saves. */
#define SAE_PARALLEL_MIN_WORK ((size_t)1 << 16)

/* At most this many threads share one kernel (per-thread partials are
 * kept in fixed arrays). */
#define SAE_MAX_THREADS 64

static inline int sae_threads_for(size_t work, int max_threads)
{
#ifdef _OPENMP
    if (work < SAE_PARALLEL_MIN_WORK || max_threads <= 1)
        return 1;
    return max_threads > SAE_MAX_THREADS ? SAE_MAX_THREADS : max_threads;
#else
    (void)work;
    (void)max_threads;
    return 1;
#endif
}

static inline void sae_split_rows(size_t rows, int nthreads, int tid, size_t *r0, size_t *r1)
{
    size_t per = rows / (size_t)nthreads, extra = rows % (size_t)nthreads;
    size_t t = (size_t)tid;
    *r0 = t * per + (t < extra ? t : extra);
    *r1 = *r0 + per + (t < extra ? 1 : 0);
}

/* Runs fn(ctx, block, r0, r1) on nt blocks of rows [0, rows), in parallel
 * under OpenMP when nt > 1; every block runs exactly once whatever team
 * OpenMP grants. */
typedef void (*sae_rows_fn)(void *ctx, int tid, size_t r0, size_t r1);
void sae_parallel_rows(size_t rows, int nt, sae_rows_fn fn, void *ctx);

/* out[c] = sum over t < nt of partial[t * cols + c]: the per-thread column
 * sums of a kernel, added in a fixed order, into out_d and/or out_f. */
void sae_sum_partials(const float *partial, int nt, size_t cols, double *out_d, float *out_f);

#endif
