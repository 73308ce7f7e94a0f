/* The steps Conv2D and ConvTranspose2D share, written once in terms of the
 * patch side and the column side (see conv_plan.h); each kernel only says
 * which of its input and output is which. SPDX-License-Identifier: MIT */
#include "layers/conv_plan.h"

#include "core/gemm.h"

sae_conv_plan_t sae_conv_plan(const sae_conv_geom_t *g, sae_conv_side_t patch,
                              sae_conv_side_t col, size_t n, float *scratch, int threads)
{
    sae_conv_plan_t c = {.g = g, .scratch = scratch};
    c.pg = (sae_patch_geom_t){patch.c,  patch.h,    patch.w, g->kernel,
                              g->stride, g->padding, col.h,   col.w};
    c.p = col.h * col.w;
    c.kk = patch.c * g->kernel * g->kernel;
    c.col_c = col.c;
    c.patch_sz = patch.c * patch.h * patch.w;
    c.col_sz = col.c * c.p;
    /* Per sample: its patch matrix [K x P] and its column side [C x P]. */
    c.per = c.p * (c.kk + c.col_c);
    c.chunk = sae_conv_chunk(c.per, n);
    c.dw_slots = scratch ? scratch + (size_t)sae_conv_workers(n, c.chunk, threads) * c.chunk *
                                         c.per
                         : NULL;
    return c;
}

size_t sae_conv_plan_scratch_floats(const sae_conv_plan_t *c, size_t n, int threads)
{
    return (size_t)sae_conv_workers(n, c->chunk, threads) * c->chunk * c->per +
           sae_conv_groups(n, c->chunk) * c->col_c * c->kk;
}

float *sae_conv_plan_cols(const sae_conv_plan_t *c, size_t worker)
{
    return c->scratch + worker * c->chunk * c->per;
}

float *sae_conv_plan_buf(const sae_conv_plan_t *c, size_t worker)
{
    return sae_conv_plan_cols(c, worker) + c->chunk * c->kk * c->p;
}

const float *sae_conv_plan_to_cols(const sae_conv_plan_t *c, const float *src, size_t n0,
                                   size_t sc, float *buf)
{
    src += n0 * c->col_sz;
    if (sc == 1)
        return src;
    sae_conv_to_cols(src, sc, c->col_c, c->p, buf);
    return buf;
}

void sae_conv_plan_lower(const sae_conv_plan_t *c, const float *src, size_t n0, size_t sc,
                         float *cols)
{
    for (size_t s = 0; s < sc; s++)
        sae_im2col(&c->pg, src + (n0 + s) * c->patch_sz, cols + s * c->p, sc * c->p);
}

void sae_conv_plan_raise(const sae_conv_plan_t *c, const float *cols, size_t n0, size_t sc,
                         float *dst)
{
    for (size_t s = 0; s < sc; s++)
        sae_col2im(&c->pg, cols + s * c->p, sc * c->p, dst + (n0 + s) * c->patch_sz);
}

void sae_conv_plan_apply(const sae_conv_plan_t *c, const float *cols, size_t n0, size_t sc,
                         const float *bias, float *buf, float *out)
{
    const size_t p = c->p, kk = c->kk, ld = sc * p;
    out += n0 * c->col_sz;
    if (sc == 1) {
        /* One sample's [C x P] product is already its NCHW block. */
        sae_gemm(0, 0, c->col_c, p, kk, 1.0f, c->w, kk, cols, p, 0.0f, out, p);
        if (bias)
            sae_conv_add_bias(out, 1, c->col_c, p, bias);
    } else {
        sae_gemm(0, 0, c->col_c, ld, kk, 1.0f, c->w, kk, cols, ld, 0.0f, buf, ld);
        sae_conv_from_cols(buf, sc, c->col_c, p, bias, out);
    }
}

void sae_conv_plan_apply_t(const sae_conv_plan_t *c, const float *colside, size_t sc,
                           float *cols)
{
    const size_t ld = sc * c->p;
    sae_gemm(1, 0, c->kk, ld, c->col_c, 1.0f, c->w, c->kk, colside, ld, 0.0f, cols, ld);
}

void sae_conv_plan_dw_slot(const sae_conv_plan_t *c, size_t group, int first, const float *cols,
                           const float *colside, size_t sc)
{
    /* dW^T rather than dW: faster with few column channels (see
     * sae_conv_sum_slots). */
    const size_t ld = sc * c->p;
    float *slot = c->dw_slots + group * c->col_c * c->kk;
    sae_gemm(0, 1, c->kk, c->col_c, ld, 1.0f, cols, ld, colside, ld, first ? 0.0f : 1.0f, slot,
             c->col_c);
}

void sae_conv_plan_dw(const sae_conv_plan_t *c, size_t n, float *dw)
{
    sae_conv_sum_slots(dw, c->dw_slots, sae_conv_groups(n, c->chunk), c->col_c, c->kk);
}
