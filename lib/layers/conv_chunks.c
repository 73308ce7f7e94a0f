/* Chunks of a convolution's batch on several threads: each worker lowers
 * and multiplies its own contiguous range of chunks in its own scratch,
 * with the BLAS single-threaded meanwhile (two small GEMMs side by side
 * beat one split over the cores, and im2col/col2im run in parallel too).
 * SPDX-License-Identifier: MIT */
#include <pthread.h>

#include "core/gemm.h"
#include "core/parallel.h"
#include "layers/im2col.h"

typedef struct conv_job {
    sae_conv_chunk_fn fn;
    void *ctx;
    size_t n, chunk, chunks;
    int workers, worker;
} conv_job_t;

static void run_range(const conv_job_t *j)
{
    size_t c0, c1;
    sae_split_rows(j->chunks, j->workers, j->worker, &c0, &c1);
    for (size_t c = c0; c < c1; c++) {
        size_t n0 = c * j->chunk, count = j->n - n0 < j->chunk ? j->n - n0 : j->chunk;
        j->fn(j->ctx, (size_t)j->worker, c, n0, count);
    }
}

static void *thread_main(void *arg)
{
    run_range(arg);
    return NULL;
}

size_t sae_conv_chunks(size_t n, size_t chunk)
{
    return chunk ? (n + chunk - 1) / chunk : 0;
}

int sae_conv_workers(size_t n, size_t chunk, int threads)
{
    size_t chunks = sae_conv_chunks(n, chunk);
    if (threads <= 1 || chunks <= 1 || sae_blas_get_threads() <= 0)
        return 1;
    if (threads > SAE_CONV_MAX_THREADS)
        threads = SAE_CONV_MAX_THREADS;
    return (size_t)threads < chunks ? threads : (int)chunks;
}

void sae_conv_run_chunks(size_t n, size_t chunk, int threads, sae_conv_chunk_fn fn, void *ctx)
{
    int workers = sae_conv_workers(n, chunk, threads);
    conv_job_t job[SAE_CONV_MAX_THREADS];
    for (int w = 0; w < workers; w++)
        job[w] = (conv_job_t){fn, ctx, n, chunk, sae_conv_chunks(n, chunk), workers, w};
    if (workers == 1) {
        run_range(&job[0]);
        return;
    }
    int blas_threads = sae_blas_get_threads();
    sae_blas_set_threads(1);
    pthread_t tid[SAE_CONV_MAX_THREADS];
    int started[SAE_CONV_MAX_THREADS] = {0};
    for (int w = 1; w < workers; w++)
        started[w] = pthread_create(&tid[w], NULL, thread_main, &job[w]) == 0;
    run_range(&job[0]);
    /* A worker that could not start has its range (and scratch) done here:
     * the result does not depend on which thread ran a chunk. */
    for (int w = 1; w < workers; w++) {
        if (started[w])
            pthread_join(tid[w], NULL);
        else
            run_range(&job[w]);
    }
    sae_blas_set_threads(blas_threads);
}
