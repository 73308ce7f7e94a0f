/* The shared plan of Conv2D and ConvTranspose2D. Each is the other's
 * adjoint, so both lower one "patch side" (the planes the window slides
 * over) to a [K x S*P] patch matrix and multiply it with a "column side"
 * [C x S*P] (one column per position the window takes); only which side is
 * the input and which the output differs. The plan holds the sizes, the
 * scratch layout and the arguments of one call, and the steps below are
 * the ones both kernels take on a chunk of samples.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_LAYERS_CONV_PLAN_H
#define SAE_LAYERS_CONV_PLAN_H

#include <stddef.h>

#include "layers/conv.h"
#include "layers/im2col.h"

/* One sample's planes: channels, height, width. */
typedef struct sae_conv_side {
    size_t c, h, w;
} sae_conv_side_t;

typedef struct sae_conv_plan {
    const sae_conv_geom_t *g;
    sae_patch_geom_t pg;      /* the window over the patch side */
    size_t p, kk, col_c;      /* positions P, patch rows K, column channels C */
    size_t patch_sz, col_sz;  /* floats of one sample on each side */
    size_t per, chunk;        /* scratch floats per sample, samples per chunk */
    const float *x, *w, *b, *dy;
    float *y, *dx, *dw, *dw_slots, *scratch;
} sae_conv_plan_t;

/* The plan of g for n samples on `threads` threads; scratch may be NULL
 * (for sizing only). */
sae_conv_plan_t sae_conv_plan(const sae_conv_geom_t *g, sae_conv_side_t patch,
                              sae_conv_side_t col, size_t n, float *scratch, int threads);

/* Floats of scratch: each worker's chunk buffers (its patch matrix, then a
 * column-side buffer), then every group's weight-gradient slot. */
size_t sae_conv_plan_scratch_floats(const sae_conv_plan_t *c, size_t n, int threads);

/* Worker's patch matrix [K x chunk*P]; its column-side buffer follows. */
float *sae_conv_plan_cols(const sae_conv_plan_t *c, size_t worker);
float *sae_conv_plan_buf(const sae_conv_plan_t *c, size_t worker);

/* The column side of samples [n0, n0 + sc) of src as a [C x sc*P] operand:
 * src itself for one sample, else moved into buf. */
const float *sae_conv_plan_to_cols(const sae_conv_plan_t *c, const float *src, size_t n0,
                                   size_t sc, float *buf);

/* im2col of samples [n0, n0 + sc) of the patch-side src into cols. */
void sae_conv_plan_lower(const sae_conv_plan_t *c, const float *src, size_t n0, size_t sc,
                         float *cols);

/* The adjoint: dst's samples [n0, n0 + sc) = col2im of cols. */
void sae_conv_plan_raise(const sae_conv_plan_t *c, const float *cols, size_t n0, size_t sc,
                         float *dst);

/* Column side out[n0..] = W [C x K] . cols (+ bias), through buf when sc > 1. */
void sae_conv_plan_apply(const sae_conv_plan_t *c, const float *cols, size_t n0, size_t sc,
                         const float *bias, float *buf, float *out);

/* cols [K x sc*P] = W^T . colside. */
void sae_conv_plan_apply_t(const sae_conv_plan_t *c, const float *colside, size_t sc,
                           float *cols);

/* The group's dW^T slot [K x C] (+)= cols . colside^T (first: =); the
 * slots are added in group order and transposed by sae_conv_plan_dw. */
void sae_conv_plan_dw_slot(const sae_conv_plan_t *c, size_t group, int first, const float *cols,
                           const float *colside, size_t sc);
void sae_conv_plan_dw(const sae_conv_plan_t *c, size_t n, float *dw);

#endif
