/* SPDX-License-Identifier: MIT */
/* Perceptually uniform colour map for heat maps. */
#ifndef EX_COLORMAP_H
#define EX_COLORMAP_H

#include "common/canvas.h"

/* Viridis (van der Walt and Smith, matplotlib 2.0): dark blue-violet at 0,
 * yellow at 1; lightness rises evenly and it reads in gray and for most
 * colour-blind viewers. t is clamped to [0,1]; NaN maps to 0. */
ex_color ex_viridis(double t);

#endif /* EX_COLORMAP_H */
