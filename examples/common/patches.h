/* SPDX-License-Identifier: MIT */
/* Square patches of 8-bit RGB images, as rows of floats: pixel by pixel
 * (row, column, channel), each byte / 256, the layout and scale of the
 * rank-ordered autoencoder's loader (E4, DataLoader.py). */
#ifndef EX_PATCHES_H
#define EX_PATCHES_H

#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"

/* A rectangle of an RGB image (3 bytes per pixel, rows top to bottom). */
typedef struct ex_region {
    const uint8_t *rgb; /* its top-left pixel */
    size_t stride;      /* pixels per row of the whole image */
    size_t width, height;
} ex_region;

/* Number of side x side patch positions inside r (0 when it is smaller). */
size_t ex_patch_positions(const ex_region *r, size_t side);

/* The patch whose top-left pixel is (top, left) of r, into out[side*side*3]. */
void ex_patch_copy(const ex_region *r, size_t side, size_t top, size_t left, float *out);

/* A patch at a uniformly drawn position of r (at least side x side). */
void ex_patch_random(const ex_region *r, size_t side, ex_rng *rng, float *out);

/* n patches at positions drawn uniformly over all the positions of all the
 * regions (a region's share is its number of positions), into out[n x
 * side*side*3]. The regions must hold at least one position in all. */
void ex_patches_pooled(const ex_region *regs, size_t n_regs, size_t side, size_t n, ex_rng *rng,
                       float *out);

#endif /* EX_PATCHES_H */
