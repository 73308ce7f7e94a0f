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
    sae_conv_range_fn fn;
    void *ctx;
    size_t items;
    int workers, worker;
} conv_job_t;

static void run_job(const conv_job_t *j)
{
    size_t i0, i1;
    sae_split_rows(j->items, j->workers, j->worker, &i0, &i1);
    if (i0 < i1)
        j->fn(j->ctx, (size_t)j->worker, i0, i1);
}

static void *thread_main(void *arg)
{
    run_job(arg);
    return NULL;
}

void sae_conv_parallel(size_t items, int workers, sae_conv_range_fn fn, void *ctx)
{
    if (workers > SAE_CONV_MAX_THREADS)
        workers = SAE_CONV_MAX_THREADS;
    if ((size_t)workers > items)
        workers = (int)items;
    if (workers <= 1 || sae_blas_get_threads() <= 0) {
        if (items)
            fn(ctx, 0, 0, items);
        return;
    }
    conv_job_t job[SAE_CONV_MAX_THREADS];
    for (int w = 0; w < workers; w++)
        job[w] = (conv_job_t){fn, ctx, items, workers, w};
    int blas_threads = sae_blas_get_threads();
    sae_blas_set_threads(1);
    pthread_t tid[SAE_CONV_MAX_THREADS];
    int started[SAE_CONV_MAX_THREADS] = {0};
    for (int w = 1; w < workers; w++)
        started[w] = pthread_create(&tid[w], NULL, thread_main, &job[w]) == 0;
    run_job(&job[0]);
    /* A worker that could not start has its range (and scratch) done here:
     * the result does not depend on which thread ran an item. */
    for (int w = 1; w < workers; w++) {
        if (started[w])
            pthread_join(tid[w], NULL);
        else
            run_job(&job[w]);
    }
    sae_blas_set_threads(blas_threads);
}

size_t sae_conv_chunks(size_t n, size_t chunk)
{
    return chunk ? (n + chunk - 1) / chunk : 0;
}

size_t sae_conv_groups(size_t n, size_t chunk)
{
    size_t chunks = sae_conv_chunks(n, chunk);
    return chunks < SAE_CONV_GROUPS ? chunks : SAE_CONV_GROUPS;
}

int sae_conv_workers(size_t n, size_t chunk, int threads)
{
    size_t groups = sae_conv_groups(n, chunk);
    if (threads <= 1 || groups <= 1 || sae_blas_get_threads() <= 0)
        return 1;
    if (threads > SAE_CONV_MAX_THREADS)
        threads = SAE_CONV_MAX_THREADS;
    return (size_t)threads < groups ? threads : (int)groups;
}

typedef struct chunk_job {
    size_t n, chunk, chunks, groups;
    sae_conv_chunk_fn fn;
    void *ctx;
} chunk_job_t;

static void run_groups(void *ctx, size_t worker, size_t g0, size_t g1)
{
    const chunk_job_t *j = ctx;
    for (size_t g = g0; g < g1; g++) {
        size_t c0, c1;
        sae_split_rows(j->chunks, (int)j->groups, (int)g, &c0, &c1);
        for (size_t c = c0; c < c1; c++) {
            size_t n0 = c * j->chunk, count = j->n - n0 < j->chunk ? j->n - n0 : j->chunk;
            j->fn(j->ctx, worker, g, c == c0, n0, count);
        }
    }
}

void sae_conv_run_chunks(size_t n, size_t chunk, int threads, sae_conv_chunk_fn fn, void *ctx)
{
    chunk_job_t j = {n, chunk, sae_conv_chunks(n, chunk), sae_conv_groups(n, chunk), fn, ctx};
    sae_conv_parallel(j.groups, sae_conv_workers(n, chunk, threads), run_groups, &j);
}
