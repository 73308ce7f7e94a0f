/* MaxPool2D (no padding, floor mode), forward with the argmax of each
 * window kept for the backward scatter. Channels: g->in_c (= g->out_c).
 * SPDX-License-Identifier: MIT */
#include "layers/conv.h"

#include <math.h>
#include <string.h>

size_t sae_maxpool2d_out_size(size_t in, size_t kernel, size_t stride)
{
    if (in == 0 || kernel == 0 || stride == 0 || in < kernel)
        return 0;
    return (in - kernel) / stride + 1;
}

/* Strictly greater: ties keep the first in scan order; a NaN wins, as in
 * PyTorch. */
static inline void take(const float *src, size_t i, float *m, size_t *best)
{
    if (src[i] > *m || isnan(src[i])) {
        *m = src[i];
        *best = i;
    }
}

/* 2x2 windows, stride 2 (the common pooling of convolutional autoencoders): the generic loops unrolled. */
static void forward_2x2(const sae_conv_geom_t *g, size_t n, const float *x, float *y,
                        uint32_t *argmax)
{
    const size_t iw = g->in_w, ow = g->out_w, oh = g->out_h;
    const size_t in_plane = g->in_h * iw, out_plane = oh * ow;
    for (size_t pl = 0; pl < n * g->in_c; pl++) {
        const float *src = x + pl * in_plane;
        float *dst = y + pl * out_plane;
        uint32_t *am = argmax + pl * out_plane;
        for (size_t oy = 0; oy < oh; oy++)
            for (size_t ox = 0; ox < ow; ox++) {
                size_t i = 2 * oy * iw + 2 * ox, best = i;
                float m = src[i];
                take(src, i + 1, &m, &best);
                take(src, i + iw, &m, &best);
                take(src, i + iw + 1, &m, &best);
                dst[oy * ow + ox] = m;
                am[oy * ow + ox] = (uint32_t)best;
            }
    }
}

void sae_maxpool2d_forward(const sae_conv_geom_t *g, size_t n, const float *x, float *y,
                           uint32_t *argmax)
{
    const size_t k = g->kernel, s = g->stride, iw = g->in_w, ow = g->out_w;
    const size_t in_plane = g->in_h * iw, out_plane = g->out_h * ow;
    if (k == 2 && s == 2) {
        forward_2x2(g, n, x, y, argmax);
        return;
    }
    for (size_t pl = 0; pl < n * g->in_c; pl++) {
        const float *src = x + pl * in_plane;
        float *dst = y + pl * out_plane;
        uint32_t *am = argmax + pl * out_plane;
        for (size_t oy = 0; oy < g->out_h; oy++)
            for (size_t ox = 0; ox < ow; ox++) {
                size_t best = oy * s * iw + ox * s;
                float m = src[best];
                for (size_t ki = 0; ki < k; ki++)
                    for (size_t kj = 0; kj < k; kj++) {
                        take(src, (oy * s + ki) * iw + ox * s + kj, &m, &best);
                    }
                dst[oy * ow + ox] = m;
                am[oy * ow + ox] = (uint32_t)best;
            }
    }
}

void sae_maxpool2d_backward(const sae_conv_geom_t *g, size_t n, const float *dy,
                            const uint32_t *argmax, float *dx)
{
    const size_t in_plane = g->in_h * g->in_w, out_plane = g->out_h * g->out_w;
    memset(dx, 0, n * g->in_c * in_plane * sizeof *dx);
    for (size_t pl = 0; pl < n * g->in_c; pl++) {
        float *d = dx + pl * in_plane;
        const float *src = dy + pl * out_plane;
        const uint32_t *am = argmax + pl * out_plane;
        /* Overlapping windows (stride < kernel) can share a max: add. */
        for (size_t j = 0; j < out_plane; j++)
            d[am[j]] += src[j];
    }
}
