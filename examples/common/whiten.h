/* SPDX-License-Identifier: MIT */
/* Whitening of natural pictures as Olshausen and Field prepared theirs, the
 * ten pictures of IMAGES.mat that Ng's sparse autoencoder exercise (E3)
 * samples its patches from. */
#ifndef EX_WHITEN_H
#define EX_WHITEN_H

#include <stddef.h>

#include "common/gray_patches.h"
#include "common/status.h"

/* out = the largest square of power-of-two side, at most max_side, at the
 * centre of in (the whitening filter works on such squares). */
ex_status ex_gray_image_crop_pow2(const ex_gray_image *in, size_t max_side, ex_gray_image *out);

/* Whitens n square power-of-two pictures in place: each picture's 2-D
 * spectrum is multiplied by |f| exp(-(|f| / f0)^4), f in cycles per
 * picture and f0 = 0.4 N for an N x N picture (Olshausen & Field 1997,
 * sec. 4; their whitening script). |f| flattens the 1/f amplitude spectrum
 * of natural scenes; the exponential rolls off the highest frequencies,
 * where noise and aliasing dominate. Then every picture is scaled by one
 * common factor so that their mean variance is 0.1, as in IMAGES.mat.
 * Errors: EX_ERR_ARG (a picture that is not a power-of-two square),
 * EX_ERR_NOMEM. */
ex_status ex_whiten_1f(ex_gray_image *images, size_t n);

#endif /* EX_WHITEN_H */
