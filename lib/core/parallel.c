/* Row-block parallelism for the element-wise kernels.
 * SPDX-License-Identifier: MIT */
#include "core/parallel.h"

void sae_parallel_rows(size_t rows, int nt, sae_rows_fn fn, void *ctx)
{
    if (nt <= 1) {
        fn(ctx, 0, 0, rows);
        return;
    }
#ifdef _OPENMP
    /* OpenMP may grant fewer threads than asked (nested regions,
     * OMP_THREAD_LIMIT): every block is still run, by whoever is there.
     * Blocks, not threads, own the per-block partial sums, so results do
     * not depend on the team's size. */
#pragma omp parallel num_threads(nt)
    {
        int team = omp_get_num_threads();
        for (int block = omp_get_thread_num(); block < nt; block += team) {
            size_t r0, r1;
            sae_split_rows(rows, nt, block, &r0, &r1);
            fn(ctx, block, r0, r1);
        }
    }
#else
    for (int block = 0; block < nt; block++) {
        size_t r0, r1;
        sae_split_rows(rows, nt, block, &r0, &r1);
        fn(ctx, block, r0, r1);
    }
#endif
}

void sae_sum_partials(const float *partial, int nt, size_t cols, double *out_d, float *out_f)
{
    for (size_t c = 0; c < cols; c++) {
        double s = 0.0;
        for (int t = 0; t < nt; t++)
            s += (double)partial[(size_t)t * cols + c];
        if (out_d)
            out_d[c] = s;
        if (out_f)
            out_f[c] = (float)s;
    }
}
