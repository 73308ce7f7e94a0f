/* SPDX-License-Identifier: MIT */
/* A picture to draw plots into, on cairo (an RGB image surface: anti-aliased
 * lines, real fonts), saved as PNG. The calls take pixel coordinates with
 * (0, 0) the top-left pixel; rectangles and dots cover whole pixels. */
#ifndef EX_CANVAS_H
#define EX_CANVAS_H

#include <stddef.h>
#include <stdint.h>

#include <cairo.h>

#include "common/status.h"

typedef struct ex_color {
    uint8_t r, g, b;
} ex_color;

#define EX_RGB(r_, g_, b_) ((ex_color){(r_), (g_), (b_)})
#define EX_WHITE EX_RGB(255, 255, 255)
#define EX_BLACK EX_RGB(0, 0, 0)

typedef struct ex_canvas {
    size_t width, height;
    cairo_surface_t *surface; /* CAIRO_FORMAT_RGB24 */
    cairo_t *cr;              /* for drawing beyond these calls */
} ex_canvas;

ex_status ex_canvas_init(ex_canvas *c, size_t width, size_t height, ex_color background);
void ex_canvas_free(ex_canvas *c);
/* Writes the PNG atomically (a temporary file renamed over path). */
ex_status ex_canvas_save(const ex_canvas *c, const char *path);

/* Every drawing call clips to the canvas, so callers may draw partly or
 * wholly outside it. */
void ex_canvas_put(ex_canvas *c, long x, long y, ex_color color);
/* Mixes color into the pixel with weight alpha in [0,1]. */
void ex_canvas_blend(ex_canvas *c, long x, long y, ex_color color, double alpha);
void ex_canvas_fill(ex_canvas *c, long x, long y, long w, long h, ex_color color);
/* A 1px rectangle outline. */
void ex_canvas_frame(ex_canvas *c, long x, long y, long w, long h, ex_color color);
/* An anti-aliased line of the given width in pixels, between pixel centres,
 * with round ends. */
void ex_canvas_line(ex_canvas *c, double x0, double y0, double x1, double y1, double width,
                    ex_color color);
/* Sets cairo's source to color (for drawing through c->cr). */
void ex_canvas_source(ex_canvas *c, ex_color color, double alpha);

#endif /* EX_CANVAS_H */
