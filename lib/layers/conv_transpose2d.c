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

/* Each worker's chunk buffers, then every group's weight gradient. */
size_t sae_conv_transpose2d_scratch_floats(const sae_conv_geom_t *g, size_t n, int threads)
{
    size_t per = per_sample_floats(g), chunk = sae_conv_chunk(per, n);
    size_t groups = sae_conv_groups(n, chunk);
    size_t wsize = g->in_c * g->out_c * g->kernel * g->kernel;
    return (size_t)sae_conv_workers(n, chunk, threads) * chunk * per +
           groups * wsize;
}

typedef struct convt_ctx {
    const sae_conv_geom_t *g;
    sae_patch_geom_t pg;
    size_t p, kk, in_sz, out_sz, chunk;
    const float *x, *w, *b, *dy;
    float *y, *dx, *dw, *dw_slots, *scratch;
} convt_ctx_t;

static convt_ctx_t convt_ctx(const sae_conv_geom_t *g, size_t n, float *scratch, int threads)
{
    convt_ctx_t c = {.g = g, .pg = patch_geom(g), .scratch = scratch};
    c.p = g->in_h * g->in_w;
    c.kk = g->out_c * g->kernel * g->kernel;
    c.in_sz = g->in_c * c.p;
    c.out_sz = g->out_c * g->out_h * g->out_w;
    c.chunk = sae_conv_chunk(per_sample_floats(g), n);
    c.dw_slots = scratch ? scratch + (size_t)sae_conv_workers(n, c.chunk, threads) * c.chunk *
                                        per_sample_floats(g)
                        : NULL;
    return c;
}

static void forward_chunk(void *ctx, size_t worker, size_t group, int first, size_t n0,
                          size_t sc)
{
    const convt_ctx_t *c = ctx;
    const sae_conv_geom_t *g = c->g;
    const size_t p = c->p, kk = c->kk, ld = sc * p;
    float *col = c->scratch + worker * c->chunk * per_sample_floats(g);
    float *xt_buf = col + c->chunk * kk * p;
    const float *xt = c->x + n0 * c->in_sz;
    (void)group, (void)first;
    if (sc > 1) {
        sae_conv_to_cols(xt, sc, g->in_c, p, xt_buf);
        xt = xt_buf;
    }
    /* cols [K x S*P] = W^T X, each column the kernel-sized patch one
     * input pixel paints onto the output. */
    sae_gemm(1, 0, kk, ld, g->in_c, 1.0f, c->w, kk, xt, ld, 0.0f, col, ld);
    for (size_t s = 0; s < sc; s++)
        sae_col2im(&c->pg, col + s * p, ld, c->y + (n0 + s) * c->out_sz);
    if (c->b)
        sae_conv_add_bias(c->y + n0 * c->out_sz, sc, g->out_c, g->out_h * g->out_w, c->b);
}

void sae_conv_transpose2d_forward(const sae_conv_geom_t *g, size_t n, const float *x,
                                  const float *w, const float *b, float *y, float *scratch,
                                  int threads)
{
    convt_ctx_t c = convt_ctx(g, n, scratch, threads);
    c.x = x, c.w = w, c.b = b, c.y = y;
    sae_conv_run_chunks(n, c.chunk, threads, forward_chunk, &c);
}

static void backward_chunk(void *ctx, size_t worker, size_t group, int first, size_t n0,
                           size_t sc)
{
    const convt_ctx_t *c = ctx;
    const sae_conv_geom_t *g = c->g;
    const size_t p = c->p, kk = c->kk, ld = sc * p;
    float *col = c->scratch + worker * c->chunk * per_sample_floats(g);
    float *xt_buf = col + c->chunk * kk * p;
    const float *xt = c->x + n0 * c->in_sz;
    if (sc > 1) {
        sae_conv_to_cols(xt, sc, g->in_c, p, xt_buf);
        xt = xt_buf;
    }
    for (size_t s = 0; s < sc; s++)
        sae_im2col(&c->pg, c->dy + (n0 + s) * c->out_sz, col + s * p, ld);
    /* dW^T [K x in_c] (+)= cols(dy) [K x S*P] . X^T into the group's slot;
     * the slots are added in group order and transposed at the end. */
    float *slot = c->dw_slots + group * g->in_c * kk;
    sae_gemm(0, 1, kk, g->in_c, ld, 1.0f, col, ld, xt, ld, first ? 0.0f : 1.0f, slot, g->in_c);
    if (!c->dx)
        return;
    /* dX [in_c x S*P] = W cols(dy): the forward conv of dy with w. */
    if (sc == 1) {
        sae_gemm(0, 0, g->in_c, p, kk, 1.0f, c->w, kk, col, p, 0.0f, c->dx + n0 * c->in_sz, p);
    } else {
        sae_gemm(0, 0, g->in_c, ld, kk, 1.0f, c->w, kk, col, ld, 0.0f, xt_buf, ld);
        sae_conv_from_cols(xt_buf, sc, g->in_c, p, NULL, c->dx + n0 * c->in_sz);
    }
}

void sae_conv_transpose2d_backward(const sae_conv_geom_t *g, size_t n, const float *x,
                                   const float *w, const float *dy, float *dx, float *dw, float *db,
                                   float *scratch, int threads)
{
    convt_ctx_t c = convt_ctx(g, n, scratch, threads);
    c.x = x, c.w = w, c.dy = dy, c.dx = dx, c.dw = dw;
    if (db)
        sae_conv_bias_grad_par(dy, n, g->out_c, g->out_h * g->out_w, db, threads);
    sae_conv_run_chunks(n, c.chunk, threads, backward_chunk, &c);
    sae_conv_sum_slots(dw, c.dw_slots, sae_conv_groups(n, c.chunk), g->in_c, c.kk);
}
