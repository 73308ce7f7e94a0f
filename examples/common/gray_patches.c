/* SPDX-License-Identifier: MIT */
#include "common/gray_patches.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/png.h"
#include "common/rng.h"

ex_status ex_gray_image_load(const char *path, ex_gray_image *out)
{
    memset(out, 0, sizeof *out);
    uint8_t *px = NULL;
    size_t w = 0, h = 0;
    int channels = 0;
    ex_status st = ex_png_read(path, &px, &w, &h, &channels);
    if (st != EX_OK)
        return st;
    out->v = malloc(w * h * sizeof *out->v);
    if (!out->v) {
        free(px);
        return ex_fail(EX_ERR_NOMEM, "%s: no memory for %zu x %zu pixels", path, w, h);
    }
    for (size_t i = 0; i < w * h; i++) {
        const uint8_t *p = px + i * (size_t)channels;
        double g = channels == 1 ? p[0] : 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        out->v[i] = (float)(g / 255.0);
    }
    free(px);
    out->width = w;
    out->height = h;
    return EX_OK;
}

void ex_gray_image_free(ex_gray_image *img)
{
    if (!img)
        return;
    free(img->v);
    memset(img, 0, sizeof *img);
}

ex_status ex_gray_patches_sample(const ex_gray_image *images, size_t n, size_t side, size_t count,
                                 uint64_t seed, float *out)
{
    if (!images || n == 0 || side == 0 || !out)
        return ex_fail(EX_ERR_ARG, "patches: no pictures or no output");
    for (size_t i = 0; i < n; i++)
        if (images[i].width < side || images[i].height < side)
            return ex_fail(EX_ERR_DIMENSION, "patches: picture %zu (%zu x %zu) is smaller than %zu",
                           i, images[i].width, images[i].height, side);
    ex_rng rng;
    ex_rng_seed(&rng, seed);
    for (size_t p = 0; p < count; p++) {
        const ex_gray_image *img = &images[ex_rng_below(&rng, n)];
        size_t r0 = ex_rng_below(&rng, img->height - side + 1);
        size_t c0 = ex_rng_below(&rng, img->width - side + 1);
        float *dst = out + p * side * side;
        for (size_t r = 0; r < side; r++)
            memcpy(dst + r * side, img->v + (r0 + r) * img->width + c0, side * sizeof *dst);
    }
    return EX_OK;
}

void ex_patches_normalize_ufldl(float *x, size_t rows, size_t dim)
{
    size_t n = rows * dim;
    if (n < 2)
        return;
    for (size_t r = 0; r < rows; r++) {
        double m = 0.0;
        for (size_t i = 0; i < dim; i++)
            m += x[r * dim + i];
        m /= (double)dim;
        for (size_t i = 0; i < dim; i++)
            x[r * dim + i] = (float)(x[r * dim + i] - m);
    }
    /* MATLAB's std: normalised by n - 1. */
    double mean = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    double bound = 3.0 * sqrt(ss / (double)(n - 1));
    if (!(bound > 0.0))
        bound = 1.0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        v = v > bound ? bound : (v < -bound ? -bound : v);
        x[i] = (float)((v / bound + 1.0) * 0.4 + 0.1);
    }
}
