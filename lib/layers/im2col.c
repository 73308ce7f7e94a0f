/* im2col / col2im and the chunk layout moves of the convolution kernels.
 * SPDX-License-Identifier: MIT */
#include "layers/im2col.h"

#include <string.h>

#include "core/simd.h"

size_t sae_conv_chunk(size_t per_sample, size_t n)
{
    if (n == 0)
        return 0;
    size_t s = per_sample ? SAE_CONV_SCRATCH_BUDGET / per_sample : n;
    if (s < 1)
        s = 1;
    return s < n ? s : n;
}

/* Positions [lo, hi) of a window offset o (= ki or kj) whose input index
 * pos*stride + o - pad lands inside [0, len): the rest read padding. */
static void valid_range(size_t len, size_t o, size_t stride, size_t pad, size_t positions,
                        size_t *lo, size_t *hi)
{
    size_t l = o >= pad ? 0 : (pad - o + stride - 1) / stride;
    size_t h = len + pad > o ? (len + pad - o + stride - 1) / stride : 0;
    if (h > positions)
        h = positions;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

/* Rows are short (a feature map's width, often < 32): a loop's vector body
 * plus its scalar epilogue, or a memcpy call, cost more than the copy. The
 * stride-1 runs below move fixed 16-float blocks instead, the last one
 * overlapping the one before it (so every access stays inside the run),
 * which the compiler turns into a few full-width loads and stores. */
#define RUN_BLOCK 16

/* d[0, n) = s[0, n). */
static inline __attribute__((always_inline)) void copy_run(float *restrict d,
                                                           const float *restrict s, size_t n)
{
    if (n >= RUN_BLOCK) {
        size_t i = 0;
        for (; i + RUN_BLOCK <= n; i += RUN_BLOCK)
            memcpy(d + i, s + i, RUN_BLOCK * sizeof *d);
        if (i < n)
            memcpy(d + n - RUN_BLOCK, s + n - RUN_BLOCK, RUN_BLOCK * sizeof *d);
    } else if (n >= 8) {
        memcpy(d, s, 8 * sizeof *d);
        memcpy(d + n - 8, s + n - 8, 8 * sizeof *d);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    }
}

/* d[0, n) += s[0, n). The last block's sums are taken before the blocks
 * that overlap it are stored, and stored last: the overlap gets d + s
 * once. */
static inline __attribute__((always_inline)) void add_run(float *restrict d,
                                                          const float *restrict s, size_t n)
{
    if (n < RUN_BLOCK) {
        for (size_t i = 0; i < n; i++)
            d[i] += s[i];
        return;
    }
    float tail[RUN_BLOCK];
    for (size_t k = 0; k < RUN_BLOCK; k++)
        tail[k] = d[n - RUN_BLOCK + k] + s[n - RUN_BLOCK + k];
    for (size_t i = 0; i + RUN_BLOCK <= n; i += RUN_BLOCK)
        for (size_t k = 0; k < RUN_BLOCK; k++)
            d[i + k] += s[i + k];
    memcpy(d + n - RUN_BLOCK, tail, sizeof tail);
}

SAE_HOT void sae_im2col(const sae_patch_geom_t *pg, const float *x, float *col, size_t ldcol)
{
    const size_t k = pg->k, s = pg->stride, pad = pg->pad, ow = pg->ow, oh = pg->oh;
    for (size_t ci = 0; ci < pg->c; ci++) {
        const float *plane = x + ci * pg->h * pg->w;
        for (size_t ki = 0; ki < k; ki++) {
            size_t ylo, yhi;
            valid_range(pg->h, ki, s, pad, oh, &ylo, &yhi);
            for (size_t kj = 0; kj < k; kj++) {
                size_t xlo, xhi;
                valid_range(pg->w, kj, s, pad, ow, &xlo, &xhi);
                float *row = col + ((ci * k + ki) * k + kj) * ldcol;
                for (size_t i = 0; i < ylo * ow; i++)
                    row[i] = 0.0f;
                for (size_t oy = ylo; oy < yhi; oy++) {
                    float *restrict dst = row + oy * ow;
                    /* xlo > 0 implies kj < pad, so xlo*s + kj >= pad. */
                    const float *restrict src = plane + (oy * s + ki - pad) * pg->w;
                    for (size_t ox = 0; ox < xlo; ox++)
                        dst[ox] = 0.0f;
                    if (s == 1) {
                        copy_run(dst + xlo, src + (xlo + kj - pad), xhi - xlo);
                    } else {
                        for (size_t ox = xlo; ox < xhi; ox++)
                            dst[ox] = src[ox * s + kj - pad];
                    }
                    for (size_t ox = xhi; ox < ow; ox++)
                        dst[ox] = 0.0f;
                }
                for (size_t i = yhi * ow; i < oh * ow; i++)
                    row[i] = 0.0f;
            }
        }
    }
}

SAE_HOT void sae_col2im(const sae_patch_geom_t *pg, const float *col, size_t ldcol, float *x)
{
    const size_t k = pg->k, s = pg->stride, pad = pg->pad, ow = pg->ow, oh = pg->oh;
    memset(x, 0, pg->c * pg->h * pg->w * sizeof *x);
    for (size_t ci = 0; ci < pg->c; ci++) {
        float *plane = x + ci * pg->h * pg->w;
        for (size_t ki = 0; ki < k; ki++) {
            size_t ylo, yhi;
            valid_range(pg->h, ki, s, pad, oh, &ylo, &yhi);
            for (size_t kj = 0; kj < k; kj++) {
                size_t xlo, xhi;
                valid_range(pg->w, kj, s, pad, ow, &xlo, &xhi);
                const float *row = col + ((ci * k + ki) * k + kj) * ldcol;
                for (size_t oy = ylo; oy < yhi; oy++) {
                    const float *restrict src = row + oy * ow;
                    float *restrict dst = plane + (oy * s + ki - pad) * pg->w;
                    if (s == 1) {
                        add_run(dst + (xlo + kj - pad), src + xlo, xhi - xlo);
                    } else {
                        for (size_t ox = xlo; ox < xhi; ox++)
                            dst[ox * s + kj - pad] += src[ox];
                    }
                }
            }
        }
    }
}

void sae_conv_to_cols(const float *a, size_t samples, size_t c, size_t p, float *out)
{
    for (size_t s = 0; s < samples; s++)
        for (size_t ci = 0; ci < c; ci++)
            memcpy(out + ci * samples * p + s * p, a + (s * c + ci) * p, p * sizeof *out);
}

SAE_HOT void sae_conv_from_cols(const float *a, size_t samples, size_t c, size_t p,
                                const float *bias, float *out)
{
    for (size_t s = 0; s < samples; s++)
        for (size_t ci = 0; ci < c; ci++) {
            const float *src = a + ci * samples * p + s * p;
            float *dst = out + (s * c + ci) * p;
            float b = bias ? bias[ci] : 0.0f;
            for (size_t j = 0; j < p; j++)
                dst[j] = src[j] + b;
        }
}

SAE_HOT void sae_conv_add_bias(float *out, size_t samples, size_t c, size_t p, const float *bias)
{
    for (size_t s = 0; s < samples; s++)
        for (size_t ci = 0; ci < c; ci++) {
            float *dst = out + (s * c + ci) * p;
            float b = bias[ci];
            for (size_t j = 0; j < p; j++)
                dst[j] += b;
        }
}

void sae_conv_bias_grad(const float *dy, size_t samples, size_t c, size_t p, float *db)
{
    for (size_t ci = 0; ci < c; ci++) {
        double acc = 0.0;
        for (size_t s = 0; s < samples; s++) {
            const float *src = dy + (s * c + ci) * p;
            /* A float partial per plane vectorises; planes are small. */
            float part = 0.0f;
#pragma omp simd reduction(+ : part)
            for (size_t j = 0; j < p; j++)
                part += src[j];
            acc += (double)part;
        }
        db[ci] = (float)acc;
    }
}

void sae_conv_sum_slots(float *dw, const float *slots, size_t chunks, size_t size)
{
    for (size_t c = 0; c + 1 < chunks; c++) {
        const float *restrict src = slots + c * size;
        for (size_t i = 0; i < size; i++)
            dw[i] += src[i];
    }
}
