/* Benchmark (issue 13: "the convolutional layers through oneDNN's
 * convolution primitives where they beat im2col + GEMM"): the forward of
 * E2's three Conv2D layers (batch 1200, 2 threads) by libsae's im2col +
 * GEMM kernel (layers/conv2d.c) and by oneDNN's convolution primitive,
 * with the network's plain NCHW buffers, and with the blocked layouts
 * oneDNN prefers (the convolution alone, and with the reorders from and to
 * NCHW that libsae's buffers would need). Best of 5 each; the largest
 * difference of the outputs. Measurement only: libsae does not use oneDNN
 * convolutions (docs/precision.md says why).
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <oneapi/dnnl/dnnl.h>
#include "bench_util.h"
#include "layers/conv.h"
static double now(void)
{
    return bench_now();
}
#define CK(x)                                                                                      \
    do {                                                                                           \
        if ((x) != dnnl_success) {                                                                 \
            fprintf(stderr, "fail %s\n", #x);                                                      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
int main(void)
{
    bench_print_machine();
    size_t N = 1200;
    int threads = 2;
    sae_conv_geom_t gs[3] = {{1, 28, 28, 8, 26, 26, 3, 1, 0, 0},
                             {8, 26, 26, 16, 22, 22, 5, 1, 0, 0},
                             {16, 22, 22, 32, 9, 9, 5, 2, 0, 0}};
    dnnl_engine_t eng;
    dnnl_stream_t str;
    CK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CK(dnnl_stream_create(&str, eng, dnnl_stream_default_flags));
    for (int l = 0; l < 3; l++) { /* the rest of the loop prints after the blocked figures */
        sae_conv_geom_t *g = &gs[l];
        size_t xs = N * g->in_c * g->in_h * g->in_w, ys = N * g->out_c * g->out_h * g->out_w,
               ws = g->out_c * g->in_c * g->kernel * g->kernel;
        float *x = malloc(xs * 4), *y = malloc(ys * 4), *y2 = malloc(ys * 4), *w = malloc(ws * 4),
              *b = calloc(g->out_c, 4);
        for (size_t i = 0; i < xs; i++)
            x[i] = (float)((i * 7) % 13) / 13.f;
        for (size_t i = 0; i < ws; i++)
            w[i] = (float)((i * 5) % 11) / 11.f - 0.5f;
        float *scr = malloc(sae_conv2d_scratch_floats(g, N, threads) * 4);
        dnnl_dims_t sd = {N, g->in_c, g->in_h, g->in_w},
                    wd = {g->out_c, g->in_c, g->kernel, g->kernel}, bd = {g->out_c},
                    dd = {N, g->out_c, g->out_h, g->out_w};
        dnnl_memory_desc_t smd, wmd, bmd, dmd;
        CK(dnnl_memory_desc_init_by_tag(&smd, 4, sd, dnnl_f32, dnnl_nchw));
        CK(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, dnnl_f32, dnnl_oihw));
        CK(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x));
        CK(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, dnnl_nchw));
        dnnl_dims_t st = {g->stride, g->stride}, pad = {0, 0};
        dnnl_convolution_desc_t cd;
        dnnl_memory_desc_t asmd, awmd, admd;
        CK(dnnl_memory_desc_init_by_tag(&asmd, 4, sd, dnnl_f32, dnnl_format_tag_any));
        CK(dnnl_memory_desc_init_by_tag(&awmd, 4, wd, dnnl_f32, dnnl_format_tag_any));
        CK(dnnl_memory_desc_init_by_tag(&admd, 4, dd, dnnl_f32, dnnl_format_tag_any));
        dnnl_convolution_desc_t cda;
        CK(dnnl_convolution_forward_desc_init(&cda, dnnl_forward_training, dnnl_convolution_direct,
                                              &asmd, &awmd, &bmd, &admd, st, pad, pad));
        dnnl_primitive_desc_t pda;
        CK(dnnl_primitive_desc_create(&pda, &cda, NULL, eng, NULL));
        dnnl_primitive_t pa;
        CK(dnnl_primitive_create(&pa, pda));
        const char *impla;
        dnnl_primitive_desc_query(pda, dnnl_query_impl_info_str, 0, &impla);
        const dnnl_memory_desc_t *csmd = dnnl_primitive_desc_query_md(pda, dnnl_query_src_md, 0),
                                 *cwmd =
                                     dnnl_primitive_desc_query_md(pda, dnnl_query_weights_md, 0),
                                 *cdmd = dnnl_primitive_desc_query_md(pda, dnnl_query_dst_md, 0);
        dnnl_memory_t bs, bw, bdst;
        CK(dnnl_memory_create(&bs, csmd, eng, DNNL_MEMORY_ALLOCATE));
        CK(dnnl_memory_create(&bw, cwmd, eng, DNNL_MEMORY_ALLOCATE));
        CK(dnnl_memory_create(&bdst, cdmd, eng, DNNL_MEMORY_ALLOCATE));
        CK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                              &smd, &wmd, &bmd, &dmd, st, pad, pad));
        dnnl_primitive_desc_t pd;
        CK(dnnl_primitive_desc_create(&pd, &cd, NULL, eng, NULL));
        dnnl_primitive_t p;
        CK(dnnl_primitive_create(&p, pd));
        const char *impl;
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        dnnl_memory_t ms, mw, mb, md;
        CK(dnnl_memory_create(&ms, &smd, eng, x));
        CK(dnnl_memory_create(&mw, &wmd, eng, w));
        CK(dnnl_memory_create(&mb, &bmd, eng, b));
        CK(dnnl_memory_create(&md, &dmd, eng, y2));
        dnnl_exec_arg_t args[4] = {
            {DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md}};
        dnnl_primitive_desc_t r1d, r2d, r3d;
        CK(dnnl_reorder_primitive_desc_create(&r1d, &smd, eng, csmd, eng, NULL));
        CK(dnnl_reorder_primitive_desc_create(&r2d, &wmd, eng, cwmd, eng, NULL));
        CK(dnnl_reorder_primitive_desc_create(&r3d, cdmd, eng, &dmd, eng, NULL));
        dnnl_primitive_t r1, r2, r3;
        CK(dnnl_primitive_create(&r1, r1d));
        CK(dnnl_primitive_create(&r2, r2d));
        CK(dnnl_primitive_create(&r3, r3d));
        dnnl_exec_arg_t a1[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, bs}},
                        a2[2] = {{DNNL_ARG_FROM, mw}, {DNNL_ARG_TO, bw}},
                        a3[2] = {{DNNL_ARG_FROM, bdst}, {DNNL_ARG_TO, md}};
        dnnl_exec_arg_t aa[4] = {
            {DNNL_ARG_SRC, bs}, {DNNL_ARG_WEIGHTS, bw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, bdst}};
        double best3 = 1e9, best4 = 1e9;
        for (int r = 0; r < 5; r++) {
            double t0 = now();
            CK(dnnl_primitive_execute(r1, str, 2, a1));
            CK(dnnl_primitive_execute(r2, str, 2, a2));
            CK(dnnl_stream_wait(str));
            double t1 = now();
            CK(dnnl_primitive_execute(pa, str, 4, aa));
            CK(dnnl_stream_wait(str));
            double t2 = now();
            CK(dnnl_primitive_execute(r3, str, 2, a3));
            CK(dnnl_stream_wait(str));
            double t3 = now();
            if (t2 - t1 < best3)
                best3 = t2 - t1;
            if (t3 - t0 < best4)
                best4 = t3 - t0;
        }
        printf("conv2d_%d_onednn_blocked_ms: %.2f (%s)\nconv2d_%d_onednn_blocked_with_reorders_ms: "
               "%.2f\n",
               l, best3 * 1e3, impla, l, best4 * 1e3);
        double best1 = 1e9, best2 = 1e9;
        for (int r = 0; r < 5; r++) {
            double t0 = now();
            sae_conv2d_forward(g, N, x, w, b, y, scr, threads);
            double t1 = now();
            CK(dnnl_primitive_execute(p, str, 4, args));
            CK(dnnl_stream_wait(str));
            double t2 = now();
            if (t1 - t0 < best1)
                best1 = t1 - t0;
            if (t2 - t1 < best2)
                best2 = t2 - t1;
        }
        double md_ = 0;
        for (size_t i = 0; i < ys; i++) {
            double d = y[i] - y2[i];
            if (d < 0)
                d = -d;
            if (d > md_)
                md_ = d;
        }
        printf("conv2d_%d_shape: %zu->%zu k%zu s%zu\nconv2d_%d_im2col_gemm_ms: "
               "%.2f\nconv2d_%d_onednn_nchw_ms: %.2f (%s)\nconv2d_%d_max_diff: %.2g\n",
               l, g->in_c, g->out_c, g->kernel, g->stride, l, best1 * 1e3, l, best2 * 1e3, impl, l,
               md_);
    }
}
