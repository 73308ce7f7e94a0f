/* ConvTranspose2D as the adjoint of Conv2D: the same window slides over the
 * output planes and takes the input positions (P = in_h*in_w), so forward is
 * a GEMM into patch columns then col2im, and backward lowers dy by im2col.
 * Weights [in_c, out_c, k, k] are the [in_c x K] matrix, K = out_c*k*k.
 * SPDX-License-Identifier: MIT */
#include "layers/conv.h"

#include <string.h>

#include "core/gemm.h"
#include "layers/im2col.h"

size_t sae_conv_transpose2d_out_size(size_t in, size_t kernel, size_t stride, size_t padding,
                                     size_t output_padding)
{
    if (in == 0 || kernel == 0 || stride == 0 || output_padding >= stride)
        return 0;
    size_t full = (in - 1) * stride + kernel + output_padding;
    return full > 2 * padding ? full - 2 * padding : 0;
}

static sae_patch_geom_t patch_geom(const sae_conv_geom_t *g)
{
    sae_patch_geom_t pg = {g->out_c,  g->out_h,   g->out_w, g->kernel,
                           g->stride, g->padding, g->in_h,  g->in_w};
    return pg;
}

/* Per sample: its patch matrix [K x P] and its inputs as GEMM columns. */
static size_t per_sample_floats(const sae_conv_geom_t *g)
{
    size_t p = g->in_h * g->in_w;
    return p * (g->out_c * g->kernel * g->kernel + g->in_c);
}

size_t sae_conv_transpose2d_scratch_floats(const sae_conv_geom_t *g, size_t n)
{
    size_t per = per_sample_floats(g);
    return sae_conv_chunk(per, n) * per;
}

void sae_conv_transpose2d_forward(const sae_conv_geom_t *g, size_t n, const float *x,
                                  const float *w, const float *b, float *y, float *scratch)
{
    const sae_patch_geom_t pg = patch_geom(g);
    const size_t p = g->in_h * g->in_w, kk = g->out_c * g->kernel * g->kernel;
    const size_t in_sz = g->in_c * p, out_sz = g->out_c * g->out_h * g->out_w;
    const size_t chunk = sae_conv_chunk(per_sample_floats(g), n);
    float *col = scratch, *xt_buf = scratch + chunk * kk * p;
    for (size_t n0 = 0; n0 < n; n0 += chunk) {
        size_t sc = n - n0 < chunk ? n - n0 : chunk, ld = sc * p;
        const float *xt = x + n0 * in_sz;
        if (sc > 1) {
            sae_conv_to_cols(x + n0 * in_sz, sc, g->in_c, p, xt_buf);
            xt = xt_buf;
        }
        /* cols [K x S*P] = W^T X, each column the kernel-sized patch one
         * input pixel paints onto the output. */
        sae_gemm(1, 0, kk, ld, g->in_c, 1.0f, w, kk, xt, ld, 0.0f, col, ld);
        for (size_t s = 0; s < sc; s++)
            sae_col2im(&pg, col + s * p, ld, y + (n0 + s) * out_sz);
        if (b)
            sae_conv_add_bias(y + n0 * out_sz, sc, g->out_c, g->out_h * g->out_w, b);
    }
}

void sae_conv_transpose2d_backward(const sae_conv_geom_t *g, size_t n, const float *x,
                                   const float *w, const float *dy, float *dx, float *dw, float *db,
                                   float *scratch)
{
    const sae_patch_geom_t pg = patch_geom(g);
    const size_t p = g->in_h * g->in_w, kk = g->out_c * g->kernel * g->kernel;
    const size_t in_sz = g->in_c * p, out_sz = g->out_c * g->out_h * g->out_w;
    const size_t chunk = sae_conv_chunk(per_sample_floats(g), n);
    float *col = scratch, *xt_buf = scratch + chunk * kk * p;
    if (db)
        sae_conv_bias_grad(dy, n, g->out_c, g->out_h * g->out_w, db);
    if (n == 0)
        memset(dw, 0, g->in_c * kk * sizeof *dw);
    for (size_t n0 = 0; n0 < n; n0 += chunk) {
        size_t sc = n - n0 < chunk ? n - n0 : chunk, ld = sc * p;
        const float *xt = x + n0 * in_sz;
        if (sc > 1) {
            sae_conv_to_cols(x + n0 * in_sz, sc, g->in_c, p, xt_buf);
            xt = xt_buf;
        }
        for (size_t s = 0; s < sc; s++)
            sae_im2col(&pg, dy + (n0 + s) * out_sz, col + s * p, ld);
        /* dW [in_c x K] (+)= X [in_c x S*P] . cols(dy)^T */
        sae_gemm(0, 1, g->in_c, kk, ld, 1.0f, xt, ld, col, ld, n0 ? 1.0f : 0.0f, dw, kk);
        if (!dx)
            continue;
        /* dX [in_c x S*P] = W cols(dy): the forward conv of dy with w. */
        if (sc == 1) {
            sae_gemm(0, 0, g->in_c, p, kk, 1.0f, w, kk, col, p, 0.0f, dx + n0 * in_sz, p);
        } else {
            sae_gemm(0, 0, g->in_c, ld, kk, 1.0f, w, kk, col, ld, 0.0f, xt_buf, ld);
            sae_conv_from_cols(xt_buf, sc, g->in_c, p, NULL, dx + n0 * in_sz);
        }
    }
}
