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

/* Each worker's chunk buffers, then every group's weight gradient. */
size_t sae_conv2d_scratch_floats(const sae_conv_geom_t *g, size_t n, int threads)
{
    size_t per = per_sample_floats(g), chunk = sae_conv_chunk(per, n);
    size_t groups = sae_conv_groups(n, chunk);
    size_t wsize = g->out_c * g->in_c * g->kernel * g->kernel;
    return (size_t)sae_conv_workers(n, chunk, threads) * chunk * per +
           groups * wsize;
}

typedef struct conv_ctx {
    const sae_conv_geom_t *g;
    sae_patch_geom_t pg;
    size_t p, kk, in_sz, out_sz, chunk;
    const float *x, *w, *b, *dy;
    float *y, *dx, *dw, *dw_slots, *scratch;
} conv_ctx_t;

static conv_ctx_t conv_ctx(const sae_conv_geom_t *g, size_t n, float *scratch, int threads)
{
    conv_ctx_t c = {.g = g, .pg = patch_geom(g), .scratch = scratch};
    c.p = g->out_h * g->out_w;
    c.kk = g->in_c * g->kernel * g->kernel;
    c.in_sz = g->in_c * g->in_h * g->in_w;
    c.out_sz = g->out_c * c.p;
    c.chunk = sae_conv_chunk(per_sample_floats(g), n);
    c.dw_slots = scratch ? scratch + (size_t)sae_conv_workers(n, c.chunk, threads) * c.chunk *
                                        per_sample_floats(g)
                        : NULL;
    return c;
}

static void forward_chunk(void *ctx, size_t worker, size_t group, int first, size_t n0,
                          size_t sc)
{
    const conv_ctx_t *c = ctx;
    const sae_conv_geom_t *g = c->g;
    const size_t p = c->p, kk = c->kk, ld = sc * p;
    float *col = c->scratch + worker * c->chunk * per_sample_floats(g);
    float *yt = col + c->chunk * kk * p;
    (void)group, (void)first;
    for (size_t s = 0; s < sc; s++)
        sae_im2col(&c->pg, c->x + (n0 + s) * c->in_sz, col + s * p, ld);
    if (sc == 1) {
        /* One sample's [out_c x P] product is already its NCHW block. */
        sae_gemm(0, 0, g->out_c, p, kk, 1.0f, c->w, kk, col, p, 0.0f, c->y + n0 * c->out_sz, p);
        if (c->b)
            sae_conv_add_bias(c->y + n0 * c->out_sz, 1, g->out_c, p, c->b);
    } else {
        sae_gemm(0, 0, g->out_c, ld, kk, 1.0f, c->w, kk, col, ld, 0.0f, yt, ld);
        sae_conv_from_cols(yt, sc, g->out_c, p, c->b, c->y + n0 * c->out_sz);
    }
}

void sae_conv2d_forward(const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                        const float *b, float *y, float *scratch, int threads)
{
    conv_ctx_t c = conv_ctx(g, n, scratch, threads);
    c.x = x, c.w = w, c.b = b, c.y = y;
    sae_conv_run_chunks(n, c.chunk, threads, forward_chunk, &c);
}

static void backward_chunk(void *ctx, size_t worker, size_t group, int first, size_t n0,
                           size_t sc)
{
    const conv_ctx_t *c = ctx;
    const sae_conv_geom_t *g = c->g;
    const size_t p = c->p, kk = c->kk, ld = sc * p;
    float *col = c->scratch + worker * c->chunk * per_sample_floats(g);
    float *dyt_buf = col + c->chunk * kk * p;
    const float *dyt = c->dy + n0 * c->out_sz;
    if (sc > 1) {
        sae_conv_to_cols(dyt, sc, g->out_c, p, dyt_buf);
        dyt = dyt_buf;
    }
    for (size_t s = 0; s < sc; s++)
        sae_im2col(&c->pg, c->x + (n0 + s) * c->in_sz, col + s * p, ld);
    /* dW^T [K x out_c] (+)= cols [K x S*P] . dY^T into the group's slot; the
     * slots are added in group order and transposed at the end. */
    float *slot = c->dw_slots + group * g->out_c * kk;
    sae_gemm(0, 1, kk, g->out_c, ld, 1.0f, col, ld, dyt, ld, first ? 0.0f : 1.0f, slot, g->out_c);
    if (!c->dx)
        return;
    /* dcols [K x S*P] = W^T dY, scattered back onto each sample. */
    sae_gemm(1, 0, kk, ld, g->out_c, 1.0f, c->w, kk, dyt, ld, 0.0f, col, ld);
    for (size_t s = 0; s < sc; s++)
        sae_col2im(&c->pg, col + s * p, ld, c->dx + (n0 + s) * c->in_sz);
}

void sae_conv2d_backward(const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                         const float *dy, float *dx, float *dw, float *db, float *scratch,
                         int threads)
{
    conv_ctx_t c = conv_ctx(g, n, scratch, threads);
    c.x = x, c.w = w, c.dy = dy, c.dx = dx, c.dw = dw;
    if (db)
        sae_conv_bias_grad_par(dy, n, g->out_c, c.p, db, threads);
    sae_conv_run_chunks(n, c.chunk, threads, backward_chunk, &c);
    sae_conv_sum_slots(dw, c.dw_slots, sae_conv_groups(n, c.chunk), g->out_c, c.kk);
}
