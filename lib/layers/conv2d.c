/* Conv2D forward and backward by im2col and one GEMM per chunk of samples:
 * the chunk's patches side by side as a [K x S*P] matrix (K = in_c*k*k,
 * P = out_h*out_w), so the GEMM's long dimension is S*P rather than the
 * few dozen positions of a small feature map. The steps are conv_plan.c's.
 * SPDX-License-Identifier: MIT */
#include "layers/conv.h"

#include "layers/conv_plan.h"

size_t sae_conv2d_out_size(size_t in, size_t kernel, size_t stride, size_t padding)
{
    if (in == 0 || kernel == 0 || stride == 0 || in + 2 * padding < kernel)
        return 0;
    return (in + 2 * padding - kernel) / stride + 1;
}

/* The window slides over the input planes and takes the output positions. */
static sae_conv_plan_t plan(const sae_conv_geom_t *g, size_t n, float *scratch, int threads)
{
    sae_conv_side_t in = {g->in_c, g->in_h, g->in_w}, out = {g->out_c, g->out_h, g->out_w};
    return sae_conv_plan(g, in, out, n, scratch, threads);
}

size_t sae_conv2d_scratch_floats(const sae_conv_geom_t *g, size_t n, int threads)
{
    sae_conv_plan_t c = plan(g, n, NULL, threads);
    return sae_conv_plan_scratch_floats(&c, n, threads);
}

/* y = W . cols(x) + b. */
static void forward_chunk(void *ctx, size_t worker, size_t group, int first, size_t n0,
                          size_t sc)
{
    const sae_conv_plan_t *c = ctx;
    float *cols = sae_conv_plan_cols(c, worker);
    (void)group, (void)first;
    sae_conv_plan_lower(c, c->x, n0, sc, cols);
    sae_conv_plan_apply(c, cols, n0, sc, c->b, sae_conv_plan_buf(c, worker), c->y);
}

void sae_conv2d_forward(const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                        const float *b, float *y, float *scratch, int threads)
{
    sae_conv_plan_t c = plan(g, n, scratch, threads);
    c.x = x, c.w = w, c.b = b, c.y = y;
    sae_conv_run_chunks(n, c.chunk, threads, forward_chunk, &c);
}

/* dW^T += cols(x) . dY^T; dx = col2im(W^T dY). */
static void backward_chunk(void *ctx, size_t worker, size_t group, int first, size_t n0,
                           size_t sc)
{
    const sae_conv_plan_t *c = ctx;
    float *cols = sae_conv_plan_cols(c, worker);
    const float *dyt = sae_conv_plan_to_cols(c, c->dy, n0, sc, sae_conv_plan_buf(c, worker));
    sae_conv_plan_lower(c, c->x, n0, sc, cols);
    sae_conv_plan_dw_slot(c, group, first, cols, dyt, sc);
    if (!c->dx)
        return;
    sae_conv_plan_apply_t(c, dyt, sc, cols);
    sae_conv_plan_raise(c, cols, n0, sc, c->dx);
}

void sae_conv2d_backward(const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                         const float *dy, float *dx, float *dw, float *db, float *scratch,
                         int threads)
{
    sae_conv_plan_t c = plan(g, n, scratch, threads);
    c.x = x, c.w = w, c.dy = dy, c.dx = dx, c.dw = dw;
    if (db)
        sae_conv_bias_grad_par(dy, n, g->out_c, c.p, db, threads);
    sae_conv_run_chunks(n, c.chunk, threads, backward_chunk, &c);
    sae_conv_plan_dw(&c, n, dw);
}
