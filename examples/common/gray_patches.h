/* SPDX-License-Identifier: MIT */
/* Square patches cut at random from gray pictures, and the normalisation
 * of Ng's sparse autoencoder exercise (E3). */
#ifndef EX_GRAY_PATCHES_H
#define EX_GRAY_PATCHES_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* A gray picture, values in [0, 1]. */
typedef struct ex_gray_image {
    float *v; /* height x width, row-major */
    size_t width, height;
} ex_gray_image;

/* Reads a PNG as gray in [0, 1]: colour pixels become their luma
 * 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601). */
ex_status ex_gray_image_load(const char *path, ex_gray_image *out);
void ex_gray_image_free(ex_gray_image *img);

/* Cuts count patches of side x side pixels into out [count x side^2]: each
 * from a picture drawn uniformly among the n, at a uniform position (as
 * UFLDL's sampleIMAGES). Every picture must be at least side x side. */
ex_status ex_gray_patches_sample(const ex_gray_image *images, size_t n, size_t side, size_t count,
                                 uint64_t seed, float *out);

/* UFLDL's normalizeData (sparse autoencoder exercise, sampleIMAGES.m): from
 * each row its own mean is subtracted; values are clipped to +-3 standard
 * deviations of all values (sample std), divided by that bound into
 * [-1, 1], and mapped to [0.1, 0.9] for a sigmoid output. */
void ex_patches_normalize_ufldl(float *x, size_t rows, size_t dim);

#endif /* EX_GRAY_PATCHES_H */
