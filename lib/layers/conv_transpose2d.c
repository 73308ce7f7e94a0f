/* ConvTranspose2D as the adjoint of Conv2D: the same window slides over the
 * output planes and takes the input positions (P = in_h*in_w), so forward is
 * a GEMM into patch columns then col2im, and backward lowers dy by im2col.
 * Weights [in_c, out_c, k, k] are the [in_c x K] matrix, K = out_c*k*k.
 * The steps are conv_plan.c's, with the sides swapped.
 * SPDX-License-Identifier: MIT */
#include "layers/conv.h"

#include "layers/conv_plan.h"

size_t sae_conv_transpose2d_out_size(size_t in, size_t kernel, size_t stride, size_t padding,
                                     size_t output_padding)
{
    if (in == 0 || kernel == 0 || stride == 0 || output_padding >= stride)
        return 0;
    size_t full = (in - 1) * stride + kernel + output_padding;
    return full > 2 * padding ? full - 2 * padding : 0;
}

/* The window slides over the output planes and takes the input positions. */
static sae_conv_plan_t plan(const sae_conv_geom_t *g, size_t n, float *scratch, int threads)
{
    sae_conv_side_t in = {g->in_c, g->in_h, g->in_w}, out = {g->out_c, g->out_h, g->out_w};
    return sae_conv_plan(g, out, in, n, scratch, threads);
}

size_t sae_conv_transpose2d_scratch_floats(const sae_conv_geom_t *g, size_t n, int threads)
{
    sae_conv_plan_t c = plan(g, n, NULL, threads);
    return sae_conv_plan_scratch_floats(&c, n, threads);
}

/* y = col2im(W^T X) + b: each column the kernel-sized patch one input
 * pixel paints onto the output. */
static void forward_chunk(void *ctx, size_t worker, size_t group, int first, size_t n0,
                          size_t sc)
{
    const sae_conv_plan_t *c = ctx;
    const sae_conv_geom_t *g = c->g;
    float *cols = sae_conv_plan_cols(c, worker);
    const float *xt = sae_conv_plan_to_cols(c, c->x, n0, sc, sae_conv_plan_buf(c, worker));
    (void)group, (void)first;
    sae_conv_plan_apply_t(c, xt, sc, cols);
    sae_conv_plan_raise(c, cols, n0, sc, c->y);
    if (c->b)
        sae_conv_add_bias(c->y + n0 * c->patch_sz, sc, g->out_c, g->out_h * g->out_w, c->b);
}

void sae_conv_transpose2d_forward(const sae_conv_geom_t *g, size_t n, const float *x,
                                  const float *w, const float *b, float *y, float *scratch,
                                  int threads)
{
    sae_conv_plan_t c = plan(g, n, scratch, threads);
    c.x = x, c.w = w, c.b = b, c.y = y;
    sae_conv_run_chunks(n, c.chunk, threads, forward_chunk, &c);
}

/* dW^T += cols(dy) . X^T; dx = W cols(dy), the forward conv of dy with w. */
static void backward_chunk(void *ctx, size_t worker, size_t group, int first, size_t n0,
                           size_t sc)
{
    const sae_conv_plan_t *c = ctx;
    float *cols = sae_conv_plan_cols(c, worker), *buf = sae_conv_plan_buf(c, worker);
    const float *xt = sae_conv_plan_to_cols(c, c->x, n0, sc, buf);
    sae_conv_plan_lower(c, c->dy, n0, sc, cols);
    sae_conv_plan_dw_slot(c, group, first, cols, xt, sc);
    if (c->dx)
        sae_conv_plan_apply(c, cols, n0, sc, NULL, buf, c->dx);
}

void sae_conv_transpose2d_backward(const sae_conv_geom_t *g, size_t n, const float *x,
                                   const float *w, const float *dy, float *dx, float *dw, float *db,
                                   float *scratch, int threads)
{
    sae_conv_plan_t c = plan(g, n, scratch, threads);
    c.x = x, c.w = w, c.dy = dy, c.dx = dx, c.dw = dw;
    if (db)
        sae_conv_bias_grad_par(dy, n, g->out_c, g->out_h * g->out_w, db, threads);
    sae_conv_run_chunks(n, c.chunk, threads, backward_chunk, &c);
    sae_conv_plan_dw(&c, n, dw);
}
