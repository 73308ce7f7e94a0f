/* SPDX-License-Identifier: MIT */
/* An RGB raster to draw plots into by hand, saved as PNG. */
#ifndef EX_CANVAS_H
#define EX_CANVAS_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef struct ex_color {
    uint8_t r, g, b;
} ex_color;

#define EX_RGB(r_, g_, b_) ((ex_color){(r_), (g_), (b_)})
#define EX_WHITE EX_RGB(255, 255, 255)
#define EX_BLACK EX_RGB(0, 0, 0)

typedef struct ex_canvas {
    size_t width, height;
    uint8_t *rgb; /* width * height * 3 bytes, rows top to bottom */
} ex_canvas;

ex_status ex_canvas_init(ex_canvas *c, size_t width, size_t height, ex_color background);
void ex_canvas_free(ex_canvas *c);
ex_status ex_canvas_save(const ex_canvas *c, const char *path);

/* Every drawing call clips to the canvas, so callers may draw partly or
 * wholly outside it. */
void ex_canvas_put(ex_canvas *c, long x, long y, ex_color color);
/* Mixes color into the pixel with weight alpha in [0,1] (anti-aliasing). */
void ex_canvas_blend(ex_canvas *c, long x, long y, ex_color color, double alpha);
void ex_canvas_fill(ex_canvas *c, long x, long y, long w, long h, ex_color color);
/* A 1px rectangle outline. */
void ex_canvas_frame(ex_canvas *c, long x, long y, long w, long h, ex_color color);
/* An anti-aliased line of the given width in pixels, between pixel centres. */
void ex_canvas_line(ex_canvas *c, double x0, double y0, double x1, double y1, double width,
                    ex_color color);

#endif /* EX_CANVAS_H */
