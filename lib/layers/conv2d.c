/* Conv2D forward and backward by im2col and one GEMM per chunk of samples:
 * the chunk's patches side by side as a [K x S*P] matrix (K = in_c*k*k,
 * P = out_h*out_w), so the GEMM's long dimension is S*P rather than the
 * few dozen positions of a small feature map. SPDX-License-Identifier: MIT */
#include "layers/conv.h"

#include <string.h>

#include "core/gemm.h"
#include "layers/im2col.h"

size_t sae_conv2d_out_size(size_t in, size_t kernel, size_t stride, size_t padding)
{
    if (in == 0 || kernel == 0 || stride == 0 || in + 2 * padding < kernel)
        return 0;
    return (in + 2 * padding - kernel) / stride + 1;
}

/* The window slides over the input planes and takes the output positions. */
static sae_patch_geom_t patch_geom(const sae_conv_geom_t *g)
{
    sae_patch_geom_t pg = {g->in_c,   g->in_h,    g->in_w,  g->kernel,
                           g->stride, g->padding, g->out_h, g->out_w};
    return pg;
}

/* Per sample: its patch matrix [K x P] and its outputs as GEMM columns. */
static size_t per_sample_floats(const sae_conv_geom_t *g)
{
    size_t p = g->out_h * g->out_w;
    return p * (g->in_c * g->kernel * g->kernel + g->out_c);
}

size_t sae_conv2d_scratch_floats(const sae_conv_geom_t *g, size_t n)
{
    size_t per = per_sample_floats(g);
    return sae_conv_chunk(per, n) * per;
}

void sae_conv2d_forward(const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                        const float *b, float *y, float *scratch)
{
    const sae_patch_geom_t pg = patch_geom(g);
    const size_t p = g->out_h * g->out_w, kk = g->in_c * g->kernel * g->kernel;
    const size_t in_sz = g->in_c * g->in_h * g->in_w, out_sz = g->out_c * p;
    const size_t chunk = sae_conv_chunk(per_sample_floats(g), n);
    float *col = scratch, *yt = scratch + chunk * kk * p;
    for (size_t n0 = 0; n0 < n; n0 += chunk) {
        size_t sc = n - n0 < chunk ? n - n0 : chunk, ld = sc * p;
        for (size_t s = 0; s < sc; s++)
            sae_im2col(&pg, x + (n0 + s) * in_sz, col + s * p, ld);
        if (sc == 1) {
            /* One sample's [out_c x P] product is already its NCHW block. */
            sae_gemm(0, 0, g->out_c, p, kk, 1.0f, w, kk, col, p, 0.0f, y + n0 * out_sz, p);
            if (b)
                sae_conv_add_bias(y + n0 * out_sz, 1, g->out_c, p, b);
        } else {
            sae_gemm(0, 0, g->out_c, ld, kk, 1.0f, w, kk, col, ld, 0.0f, yt, ld);
            sae_conv_from_cols(yt, sc, g->out_c, p, b, y + n0 * out_sz);
        }
    }
}

void sae_conv2d_backward(const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                         const float *dy, float *dx, float *dw, float *db, float *scratch)
{
    const sae_patch_geom_t pg = patch_geom(g);
    const size_t p = g->out_h * g->out_w, kk = g->in_c * g->kernel * g->kernel;
    const size_t in_sz = g->in_c * g->in_h * g->in_w, out_sz = g->out_c * p;
    const size_t chunk = sae_conv_chunk(per_sample_floats(g), n);
    float *col = scratch, *dyt_buf = scratch + chunk * kk * p;
    if (db)
        sae_conv_bias_grad(dy, n, g->out_c, p, db);
    if (n == 0)
        memset(dw, 0, g->out_c * kk * sizeof *dw);
    for (size_t n0 = 0; n0 < n; n0 += chunk) {
        size_t sc = n - n0 < chunk ? n - n0 : chunk, ld = sc * p;
        const float *dyt = dy + n0 * out_sz;
        if (sc > 1) {
            sae_conv_to_cols(dy + n0 * out_sz, sc, g->out_c, p, dyt_buf);
            dyt = dyt_buf;
        }
        for (size_t s = 0; s < sc; s++)
            sae_im2col(&pg, x + (n0 + s) * in_sz, col + s * p, ld);
        /* dW [out_c x K] (+)= dY [out_c x S*P] . cols^T */
        sae_gemm(0, 1, g->out_c, kk, ld, 1.0f, dyt, ld, col, ld, n0 ? 1.0f : 0.0f, dw, kk);
        if (!dx)
            continue;
        /* dcols [K x S*P] = W^T dY, scattered back onto each sample. */
        sae_gemm(1, 0, kk, ld, g->out_c, 1.0f, w, kk, dyt, ld, 0.0f, col, ld);
        for (size_t s = 0; s < sc; s++)
            sae_col2im(&pg, col + s * p, ld, dx + (n0 + s) * in_sz);
    }
}
