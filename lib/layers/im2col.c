/* im2col / col2im and the chunk layout moves of the convolution kernels.
 * SPDX-License-Identifier: MIT */
#include "layers/im2col.h"

#include <stddef.h>
#include <string.h>

#include "core/parallel.h"
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
        /* Both loads before both stores: nothing to keep in between. */
        float a[8], b[8];
        memcpy(a, s, sizeof a);
        memcpy(b, s + n - 8, sizeof b);
        memcpy(d + n - 8, b, sizeof b);
        memcpy(d, a, sizeof a);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    }
}

/* rows runs of n floats, ds and ss apart: copy_run with its choice of
 * blocks made once, for the window rows that need no padding. */
static inline __attribute__((always_inline)) void copy_rows(float *restrict d, size_t ds,
                                                            const float *restrict s, size_t ss,
                                                            size_t rows, size_t n)
{
    if (n >= 8 && n <= 16) {
        for (size_t r = 0; r < rows; r++, d += ds, s += ss) {
            float a[8], b[8];
            memcpy(a, s, sizeof a);
            memcpy(b, s + n - 8, sizeof b);
            memcpy(d + n - 8, b, sizeof b);
            memcpy(d, a, sizeof a);
        }
    } else if (n > 16 && n <= 32) {
        for (size_t r = 0; r < rows; r++, d += ds, s += ss) {
            float a[16], b[16];
            memcpy(a, s, sizeof a);
            memcpy(b, s + n - 16, sizeof b);
            memcpy(d + n - 16, b, sizeof b);
            memcpy(d, a, sizeof a);
        }
    } else {
        for (size_t r = 0; r < rows; r++, d += ds, s += ss)
            copy_run(d, s, n);
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

/* rows runs of n floats, ds and ss apart: add_run with its choice of
 * blocks made once; both blocks' sums are taken before either is stored. */
static inline __attribute__((always_inline)) void add_rows(float *restrict d, size_t ds,
                                                           const float *restrict s, size_t ss,
                                                           size_t rows, size_t n)
{
    if (n >= 8 && n <= 16) {
        for (size_t r = 0; r < rows; r++, d += ds, s += ss) {
            float a[8], b[8];
            for (size_t k = 0; k < 8; k++) {
                a[k] = d[k] + s[k];
                b[k] = d[n - 8 + k] + s[n - 8 + k];
            }
            memcpy(d + n - 8, b, sizeof b);
            memcpy(d, a, sizeof a);
        }
    } else if (n > 16 && n <= 32) {
        for (size_t r = 0; r < rows; r++, d += ds, s += ss) {
            float a[16], b[16];
            for (size_t k = 0; k < 16; k++) {
                a[k] = d[k] + s[k];
                b[k] = d[n - 16 + k] + s[n - 16 + k];
            }
            memcpy(d + n - 16, b, sizeof b);
            memcpy(d, a, sizeof a);
        }
    } else {
        for (size_t r = 0; r < rows; r++, d += ds, s += ss)
            add_run(d, s, n);
    }
}

/* The window offsets' valid position ranges, computed once per call for
 * every ki and kj rather than once per channel (they cost divisions). */
#define RANGE_CACHE 16

typedef struct ranges {
    size_t lo[RANGE_CACHE], hi[RANGE_CACHE];
} ranges_t;

static inline void fill_ranges(ranges_t *r, size_t len, size_t k, size_t stride, size_t pad,
                               size_t positions)
{
    for (size_t o = 0; o < k && o < RANGE_CACHE; o++)
        valid_range(len, o, stride, pad, positions, &r->lo[o], &r->hi[o]);
}

static inline void get_range(const ranges_t *r, size_t len, size_t o, size_t stride, size_t pad,
                             size_t positions, size_t *lo, size_t *hi)
{
    if (o < RANGE_CACHE) {
        *lo = r->lo[o];
        *hi = r->hi[o];
    } else {
        valid_range(len, o, stride, pad, positions, lo, hi);
    }
}

/* The loops of im2col and of its adjoint col2im are one walk over the
 * window offsets (ci, ki, kj) and the positions each one reads: `add` picks
 * the direction (0: copy the plane into col, zeros where the window reads
 * padding; 1: add col back onto the plane), `stride` the run (1 or 2, and 0
 * for any other, read from pg). Both are constants in each function below,
 * so each is compiled with only its own inner run, as fast as a loop
 * written for it alone. The plane is not written when add is 0, nor col
 * when it is 1 (the wrappers cast their const pointer for this). */
static inline __attribute__((always_inline)) void walk_body(const sae_patch_geom_t *pg,
                                                            float *x, float *col, size_t ldcol,
                                                            size_t stride, int add)
{
    const size_t k = pg->k, s = stride ? stride : pg->stride, pad = pg->pad, ow = pg->ow,
                 oh = pg->oh;
    ranges_t ry, rx;
    fill_ranges(&ry, pg->h, k, s, pad, oh);
    fill_ranges(&rx, pg->w, k, s, pad, ow);
    if (add)
        memset(x, 0, pg->c * pg->h * pg->w * sizeof *x);
    for (size_t ci = 0; ci < pg->c; ci++) {
        float *plane = x + ci * pg->h * pg->w;
        for (size_t ki = 0; ki < k; ki++) {
            size_t ylo, yhi;
            get_range(&ry, pg->h, ki, s, pad, oh, &ylo, &yhi);
            for (size_t kj = 0; kj < k; kj++) {
                size_t xlo, xhi;
                get_range(&rx, pg->w, kj, s, pad, ow, &xlo, &xhi);
                float *row = col + ((ci * k + ki) * k + kj) * ldcol;
                if (!add)
                    for (size_t i = 0; i < ylo * ow; i++)
                        row[i] = 0.0f;
                if (stride == 1 && xlo == 0 && xhi == ow && ylo < yhi) {
                    float *p = plane + (ylo + ki - pad) * pg->w + kj - pad;
                    if (add)
                        add_rows(p, pg->w, row + ylo * ow, ow, yhi - ylo, ow);
                    else
                        copy_rows(row + ylo * ow, ow, p, pg->w, yhi - ylo, ow);
                } else {
                    for (size_t oy = ylo; oy < yhi; oy++) {
                        float *restrict r = row + oy * ow;
                        /* xlo > 0 implies kj < pad, so xlo*s + kj >= pad. */
                        float *restrict p = plane + (oy * s + ki - pad) * pg->w;
                        if (!add)
                            for (size_t ox = 0; ox < xlo; ox++)
                                r[ox] = 0.0f;
                        if (stride == 1 && add)
                            add_run(p + (xlo + kj - pad), r + xlo, xhi - xlo);
                        else if (stride == 1)
                            copy_run(r + xlo, p + (xlo + kj - pad), xhi - xlo);
                        else if (add)
                            for (size_t ox = xlo; ox < xhi; ox++)
                                p[ox * s + kj - pad] += r[ox];
                        else
                            for (size_t ox = xlo; ox < xhi; ox++)
                                r[ox] = p[ox * s + kj - pad];
                        if (!add)
                            for (size_t ox = xhi; ox < ow; ox++)
                                r[ox] = 0.0f;
                    }
                }
                if (!add)
                    for (size_t i = yhi * ow; i < oh * ow; i++)
                        row[i] = 0.0f;
            }
        }
    }
}

/* Stride 2 by phases: a channel's plane is split once into its four
 * even/odd row/column planes, where every window row of a stride-2 patch is
 * a contiguous run, copied like stride 1's (rather than k*k gathers of
 * every other float). Planes past PHASE_FLOATS take the generic loops. */
#define PHASE_FLOATS 4096

typedef struct phases {
    size_t hh, hw; /* rows and columns of each phase plane */
} phases_t;

static int phases_fit(const sae_patch_geom_t *pg, phases_t *ph)
{
    ph->hh = (pg->h + 1) / 2;
    ph->hw = (pg->w + 1) / 2;
    return 4 * ph->hh * ph->hw <= PHASE_FLOATS;
}

/* Input row or column 2*o + off (off = kernel offset - pad, o in its valid
 * range): its phase and the offset of o within that phase's rows/columns. */
static inline void phase_of(size_t koff, size_t pad, size_t *phase, ptrdiff_t *shift)
{
    ptrdiff_t d = (ptrdiff_t)koff - (ptrdiff_t)pad;
    ptrdiff_t p = d & 1;
    *phase = (size_t)p;
    *shift = (d - p) / 2;
}

/* A plane [h][w] into its four phases in buf (merge 0), or back (1). */
static inline __attribute__((always_inline)) void phase_move(float *plane, float *buf, size_t h,
                                                             size_t w, const phases_t *ph,
                                                             int merge)
{
    const size_t hh = ph->hh, hw = ph->hw;
    for (size_t y = 0; y < h; y++) {
        float *even = buf + ((y & 1) * 2) * hh * hw + (y / 2) * hw;
        float *odd = even + hh * hw;
        float *p = plane + y * w;
        if (merge) {
            for (size_t j = 0; j < w / 2; j++) {
                p[2 * j] = even[j];
                p[2 * j + 1] = odd[j];
            }
            if (w & 1)
                p[w - 1] = even[w / 2];
        } else {
            for (size_t j = 0; j < w / 2; j++) {
                even[j] = p[2 * j];
                odd[j] = p[2 * j + 1];
            }
            if (w & 1)
                even[w / 2] = p[w - 1];
        }
    }
}

/* walk_body at stride 2 on the phases: add as there. */
static inline __attribute__((always_inline)) void walk_s2(const sae_patch_geom_t *pg, float *x,
                                                          float *col, size_t ld, int add)
{
    phases_t ph;
    if (!phases_fit(pg, &ph)) {
        walk_body(pg, x, col, ld, 0, add);
        return;
    }
    const size_t k = pg->k, ow = pg->ow, oh = pg->oh, h = pg->h, w = pg->w, pad = pg->pad;
    const size_t hh = ph.hh, hw = ph.hw;
    float buf[PHASE_FLOATS];
    ranges_t ry, rx;
    fill_ranges(&ry, h, k, 2, pad, oh);
    fill_ranges(&rx, w, k, 2, pad, ow);
    for (size_t ci = 0; ci < pg->c; ci++) {
        float *plane = x + ci * h * w;
        if (add)
            memset(buf, 0, 4 * hh * hw * sizeof *buf);
        else
            phase_move(plane, buf, h, w, &ph, 0);
        for (size_t ki = 0; ki < k; ki++) {
            size_t ylo, yhi, py;
            ptrdiff_t sy;
            get_range(&ry, h, ki, 2, pad, oh, &ylo, &yhi);
            phase_of(ki, pad, &py, &sy);
            for (size_t kj = 0; kj < k; kj++) {
                size_t xlo, xhi, px;
                ptrdiff_t sx;
                get_range(&rx, w, kj, 2, pad, ow, &xlo, &xhi);
                phase_of(kj, pad, &px, &sx);
                float *phase = buf + (py * 2 + px) * hh * hw;
                float *row = col + ((ci * k + ki) * k + kj) * ld;
                if (!add)
                    for (size_t i = 0; i < ylo * ow; i++)
                        row[i] = 0.0f;
                if (xlo == 0 && xhi == ow && ylo < yhi) {
                    float *p = phase + (size_t)((ptrdiff_t)ylo + sy) * hw + (size_t)sx;
                    if (add)
                        add_rows(p, hw, row + ylo * ow, ow, yhi - ylo, ow);
                    else
                        copy_rows(row + ylo * ow, ow, p, hw, yhi - ylo, ow);
                } else {
                    for (size_t oy = ylo; oy < yhi; oy++) {
                        float *restrict r = row + oy * ow;
                        float *restrict p = phase + (size_t)((ptrdiff_t)oy + sy) * hw +
                                            (size_t)((ptrdiff_t)xlo + sx);
                        if (!add)
                            for (size_t ox = 0; ox < xlo; ox++)
                                r[ox] = 0.0f;
                        if (add)
                            add_run(p, r + xlo, xhi - xlo);
                        else
                            copy_run(r + xlo, p, xhi - xlo);
                        if (!add)
                            for (size_t ox = xhi; ox < ow; ox++)
                                r[ox] = 0.0f;
                    }
                }
                if (!add)
                    for (size_t i = yhi * ow; i < oh * ow; i++)
                        row[i] = 0.0f;
            }
        }
        if (add)
            phase_move(plane, buf, h, w, &ph, 1);
    }
}

SAE_HOT static void im2col_s1(const sae_patch_geom_t *pg, const float *x, float *col, size_t ld)
{
    walk_body(pg, (float *)x, col, ld, 1, 0);
}

SAE_HOT static void im2col_s2(const sae_patch_geom_t *pg, const float *x, float *col, size_t ld)
{
    walk_s2(pg, (float *)x, col, ld, 0);
}

SAE_HOT static void im2col_any(const sae_patch_geom_t *pg, const float *x, float *col, size_t ld)
{
    walk_body(pg, (float *)x, col, ld, 0, 0);
}

SAE_HOT static void col2im_s1(const sae_patch_geom_t *pg, const float *col, size_t ld, float *x)
{
    walk_body(pg, x, (float *)col, ld, 1, 1);
}

SAE_HOT static void col2im_s2(const sae_patch_geom_t *pg, const float *col, size_t ld, float *x)
{
    walk_s2(pg, x, (float *)col, ld, 1);
}

SAE_HOT static void col2im_any(const sae_patch_geom_t *pg, const float *col, size_t ld, float *x)
{
    walk_body(pg, x, (float *)col, ld, 0, 1);
}

void sae_im2col(const sae_patch_geom_t *pg, const float *x, float *col, size_t ldcol)
{
    if (pg->stride == 1)
        im2col_s1(pg, x, col, ldcol);
    else if (pg->stride == 2)
        im2col_s2(pg, x, col, ldcol);
    else
        im2col_any(pg, x, col, ldcol);
}

void sae_col2im(const sae_patch_geom_t *pg, const float *col, size_t ldcol, float *x)
{
    if (pg->stride == 1)
        col2im_s1(pg, col, ldcol, x);
    else if (pg->stride == 2)
        col2im_s2(pg, col, ldcol, x);
    else
        col2im_any(pg, col, ldcol, x);
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

void sae_conv_sum_slots(float *dw, float *slots, size_t groups, size_t rows, size_t cols)
{
    const size_t size = rows * cols;
    for (size_t g = 1; g < groups; g++) {
        const float *restrict src = slots + g * size;
        float *restrict acc = slots;
        for (size_t i = 0; i < size; i++)
            acc[i] += src[i];
    }
    if (groups == 0) {
        memset(dw, 0, size * sizeof *dw);
        return;
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < cols; k++)
            dw[r * cols + k] = slots[k * rows + r];
}

typedef struct bias_job {
    const float *dy;
    size_t samples, c, p;
    float *db;
} bias_job_t;

/* Channels [c0, c1) of the bias gradient, whichever thread sums them. */
SAE_HOT static void bias_channels(const bias_job_t *j, size_t c0, size_t c1)
{
    for (size_t ci = c0; ci < c1; ci++) {
        double acc = 0.0;
        for (size_t s = 0; s < j->samples; s++) {
            const float *src = j->dy + (s * j->c + ci) * j->p;
            float part = 0.0f;
#pragma omp simd reduction(+ : part)
            for (size_t k = 0; k < j->p; k++)
                part += src[k];
            acc += (double)part;
        }
        j->db[ci] = (float)acc;
    }
}

static void bias_range(void *ctx, size_t worker, size_t c0, size_t c1)
{
    (void)worker;
    bias_channels(ctx, c0, c1);
}

void sae_conv_bias_grad(const float *dy, size_t samples, size_t c, size_t p, float *db)
{
    bias_job_t j = {dy, samples, c, p, db};
    bias_range(&j, 0, 0, c);
}

void sae_conv_bias_grad_par(const float *dy, size_t samples, size_t c, size_t p, float *db,
                            int threads)
{
    bias_job_t j = {dy, samples, c, p, db};
    sae_conv_parallel(c, c * samples * p >= SAE_PARALLEL_MIN_WORK ? threads : 1, bias_range, &j);
}
