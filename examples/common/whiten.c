/* SPDX-License-Identifier: MIT */
#include "common/whiten.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ex_status ex_gray_image_crop_pow2(const ex_gray_image *in, size_t max_side, ex_gray_image *out)
{
    memset(out, 0, sizeof *out);
    size_t small = in->width < in->height ? in->width : in->height, side = 1;
    while (side * 2 <= small && side * 2 <= max_side)
        side *= 2;
    if (!in->v || side < 2)
        return ex_fail(EX_ERR_ARG, "crop: a %zu x %zu picture is too small", in->width, in->height);
    out->v = malloc(side * side * sizeof *out->v);
    if (!out->v)
        return ex_fail(EX_ERR_NOMEM, "crop: no memory for %zu x %zu", side, side);
    size_t r0 = (in->height - side) / 2, c0 = (in->width - side) / 2;
    for (size_t r = 0; r < side; r++)
        memcpy(out->v + r * side, in->v + (r0 + r) * in->width + c0, side * sizeof *out->v);
    out->width = out->height = side;
    return EX_OK;
}

/* In-place radix-2 FFT of n (a power of two) complex values spaced by
 * stride; sign -1 forward, +1 inverse (unscaled). Cooley-Tukey, bit
 * reversal then butterflies. */
static void fft(double *re, double *im, size_t n, size_t stride, int sign)
{
    for (size_t i = 1, j = 0; i < n; i++) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j |= bit;
        if (i < j) {
            double t = re[i * stride];
            re[i * stride] = re[j * stride];
            re[j * stride] = t;
            t = im[i * stride];
            im[i * stride] = im[j * stride];
            im[j * stride] = t;
        }
    }
    for (size_t len = 2; len <= n; len <<= 1) {
        double a = sign * 2.0 * M_PI / (double)len;
        for (size_t i = 0; i < n; i += len)
            for (size_t k = 0; k < len / 2; k++) {
                double wr = cos(a * (double)k), wi = sin(a * (double)k);
                size_t p = (i + k) * stride, q = (i + k + len / 2) * stride;
                double xr = re[q] * wr - im[q] * wi, xi = re[q] * wi + im[q] * wr;
                re[q] = re[p] - xr;
                im[q] = im[p] - xi;
                re[p] += xr;
                im[p] += xi;
            }
    }
}

static void fft2(double *re, double *im, size_t n, int sign)
{
    for (size_t r = 0; r < n; r++)
        fft(re + r * n, im + r * n, n, 1, sign);
    for (size_t c = 0; c < n; c++)
        fft(re + c, im + c, n, n, sign);
}

/* |f| exp(-(|f|/f0)^4) at index (r, c) of an unshifted n x n spectrum. */
static double filter(size_t r, size_t c, size_t n)
{
    double fy = r < n / 2 ? (double)r : (double)r - (double)n;
    double fx = c < n / 2 ? (double)c : (double)c - (double)n;
    double f = sqrt(fx * fx + fy * fy), q = f / (0.4 * (double)n);
    return f * exp(-q * q * q * q);
}

ex_status ex_whiten_1f(ex_gray_image *images, size_t n)
{
    double mean_var = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t side = images[i].width;
        if (!images[i].v || side != images[i].height || side < 2 || (side & (side - 1)))
            return ex_fail(EX_ERR_ARG,
                           "whiten: picture %zu is %zu x %zu, not a power-of-two "
                           "square",
                           i, images[i].width, images[i].height);
        size_t px = side * side;
        double *re = malloc(px * sizeof *re), *im = calloc(px, sizeof *im);
        if (!re || !im) {
            free(re);
            free(im);
            return ex_fail(EX_ERR_NOMEM, "whiten: no memory for %zu x %zu", side, side);
        }
        for (size_t k = 0; k < px; k++)
            re[k] = images[i].v[k];
        fft2(re, im, side, -1);
        for (size_t r = 0; r < side; r++)
            for (size_t c = 0; c < side; c++) {
                double g = filter(r, c, side);
                re[r * side + c] *= g;
                im[r * side + c] *= g;
            }
        fft2(re, im, side, +1);
        double sum = 0.0, sum2 = 0.0;
        for (size_t k = 0; k < px; k++) {
            double v = re[k] / (double)px; /* the inverse transform's 1/N^2 */
            images[i].v[k] = (float)v;
            sum += v;
            sum2 += v * v;
        }
        double m = sum / (double)px;
        mean_var += (sum2 / (double)px - m * m) / (double)n;
        free(re);
        free(im);
    }
    float s = (float)(mean_var > 0.0 ? sqrt(0.1 / mean_var) : 1.0);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < images[i].width * images[i].height; k++)
            images[i].v[k] *= s;
    return EX_OK;
}
