/* The lowering of a convolution to a matrix product (im2col) and its
 * adjoint (col2im), plus the layout moves between a chunk of samples
 * [S][C][P] and the GEMM operand [C][S*P]. Shared by Conv2D and
 * ConvTranspose2D, which use them in opposite directions.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_LAYERS_IM2COL_H
#define SAE_LAYERS_IM2COL_H

#include <stddef.h>

/* A window sliding over one sample's c planes of h x w: kernel k, stride,
 * zero padding pad, and the oh x ow positions it takes. */
typedef struct sae_patch_geom {
    size_t c, h, w;
    size_t k, stride, pad;
    size_t oh, ow;
} sae_patch_geom_t;

/* Scratch budget of the convolution kernels: samples are lowered in chunks
 * of at most this many floats (512 KiB) per thread, but at least one sample
 * at a time. On a 28x28 conv autoencoder at batch 1200, 2 MiB was ~5% faster than 8 MiB (the
 * patch matrix stays in cache between im2col and the GEMM); with the GEMMs
 * single-threaded in each worker, 512 KiB was another ~4% faster than
 * 2 MiB, 256 KiB and 1 MiB no faster. */
#define SAE_CONV_SCRATCH_BUDGET ((size_t)1 << 17)

/* Samples per chunk for per_sample floats of scratch each, out of n. */
size_t sae_conv_chunk(size_t per_sample, size_t n);

/* Chunks of `chunk` samples (the last one partial) in n. */
size_t sae_conv_chunks(size_t n, size_t chunk);

/* At most this many threads lower chunks side by side. */
#define SAE_CONV_MAX_THREADS 16
/* The chunks are dealt into at most this many groups of consecutive
 * chunks, fixed by n and chunk alone; a group is one thread's, and keeps
 * its own weight-gradient sum, so results do not depend on the threads. */
#define SAE_CONV_GROUPS 16

/* min(chunks, SAE_CONV_GROUPS). */
size_t sae_conv_groups(size_t n, size_t chunk);

/* Threads that sae_conv_run_chunks uses for n samples in chunks of `chunk`
 * when asked for `threads`: at most one per group, and 1 when the BLAS's
 * thread count cannot be set (it must run single-threaded inside each). */
int sae_conv_workers(size_t n, size_t chunk, int threads);

/* fn(ctx, worker, i0, i1) on [0, items) split in `workers` contiguous
 * ranges (worker 0 on the calling thread), the BLAS set to one thread
 * meanwhile and then restored. With workers <= 1, or a BLAS whose threads
 * cannot be set, one call on the calling thread. */
typedef void (*sae_conv_range_fn)(void *ctx, size_t worker, size_t i0, size_t i1);
void sae_conv_parallel(size_t items, int workers, sae_conv_range_fn fn, void *ctx);

/* fn(ctx, worker, group, first, n0, count) once for every chunk (samples
 * [n0, n0 + count)), in order within its group (first: the group's first
 * chunk), each group on one of sae_conv_workers(n, chunk, threads)
 * threads. fn must not depend on which worker runs a chunk beyond using
 * that worker's own scratch. */
typedef void (*sae_conv_chunk_fn)(void *ctx, size_t worker, size_t group, int first, size_t n0,
                                  size_t count);
void sae_conv_run_chunks(size_t n, size_t chunk, int threads, sae_conv_chunk_fn fn, void *ctx);

/* col[(ci*k + ki)*k + kj][j] = x[ci][oy*stride + ki - pad][ox*stride + kj - pad]
 * (0 outside the plane), j = oy*ow + ox; rows of col are ldcol apart, so
 * several samples can fill side-by-side column blocks of one matrix. */
void sae_im2col(const sae_patch_geom_t *pg, const float *x, float *col, size_t ldcol);

/* The adjoint of sae_im2col: x (overwritten, [c][h][w]) = the scatter-add
 * of every entry of col back to the pixel it was read from. */
void sae_col2im(const sae_patch_geom_t *pg, const float *col, size_t ldcol, float *x);

/* out[ci][s*p + j] = a[s][ci][j] for s < samples. */
void sae_conv_to_cols(const float *a, size_t samples, size_t c, size_t p, float *out);

/* out[s][ci][j] = a[ci][s*p + j] (+ bias[ci] when bias is not NULL). */
void sae_conv_from_cols(const float *a, size_t samples, size_t c, size_t p, const float *bias,
                        float *out);

/* out[s][ci][j] += bias[ci], over samples of c planes of p values. */
void sae_conv_add_bias(float *out, size_t samples, size_t c, size_t p, const float *bias);

/* dw [rows x cols] = the sum over g < groups, in that order, of the
 * transposed slots[g] [cols x rows]: the groups' weight gradients, which
 * their GEMMs write transposed (dW^T = cols . dY^T runs faster than
 * dW = dY . cols^T with few output channels). slots[0] is overwritten. */
void sae_conv_sum_slots(float *dw, float *slots, size_t groups, size_t rows, size_t cols);

/* db[ci] = sum over samples and positions of dy[s][ci][j] (as
 * sae_conv_bias_grad), channels shared among `threads` threads. */
void sae_conv_bias_grad_par(const float *dy, size_t samples, size_t c, size_t p, float *db,
                            int threads);

/* db[ci] = sum over samples and positions of dy[s][ci][j], in double. */
void sae_conv_bias_grad(const float *dy, size_t samples, size_t c, size_t p, float *db);

#endif
