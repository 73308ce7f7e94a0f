/* SPDX-License-Identifier: MIT */
/* The pictures of the examples and of `sae viz`: tile grids (filters,
 * digits), heat maps (distance matrices), binary code maps, line charts
 * (loss curves) and histograms. Each is drawn with cairo into a canvas and
 * saved as PNG. */
#ifndef EX_PLOT_H
#define EX_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "common/canvas.h"

/* ---- tile grids (tiles.c) ---------------------------------------------- */

typedef enum ex_tile_scale {
    EX_TILE_CLAMP = 0,    /* values shown as they are, clamped to [0,1] */
    EX_TILE_PER_TILE = 1  /* each tile stretched from its own min to max
                             (filters, whose scale differs unit by unit) */
} ex_tile_scale;

/* Size in pixels of a grid of n tiles of tw x th, cols per row, each pixel
 * drawn zoom x zoom, with a 1px separator between tiles. */
void ex_tiles_size(size_t n, size_t tw, size_t th, size_t cols, int zoom, size_t *width,
                   size_t *height);

/* Draws the grid with its top-left at (x, y); tiles is n x (tw * th)
 * floats, row-major. Separator pixels are left as they are on the canvas. */
void ex_tiles_draw(ex_canvas *c, long x, long y, const float *tiles, size_t n, size_t tw,
                   size_t th, size_t cols, int zoom, ex_tile_scale scale);

/* A grid alone in its own PNG, on a separator colour. */
ex_status ex_tiles_save(const char *path, const float *tiles, size_t n, size_t tw, size_t th,
                        size_t cols, int zoom, ex_tile_scale scale, ex_color separator);

/* Colour tiles: tiles is n x (3 * tw * th) floats, each tile's three
 * channel planes one after the other (C x H x W, as image rows are), each
 * tile stretched from its own min to max over its three channels. */
void ex_tiles_draw_rgb(ex_canvas *c, long x, long y, const float *tiles, size_t n, size_t tw,
                       size_t th, size_t cols, int zoom);

/* ---- heat maps (heatmap.c) --------------------------------------------- */

typedef struct ex_heatmap_opts {
    const char *title;      /* drawn above, may be NULL */
    const char *low_label;  /* colour bar label at the low end, may be NULL */
    const char *high_label; /* and at the high end */
    int reverse;            /* 1: low values bright (e.g. small distances) */
    int zoom;               /* pixels per cell, >= 1 */
} ex_heatmap_opts;

/* Saves an n x n matrix m as a viridis heat map with a colour bar. When
 * labels is not NULL the rows are taken to be grouped by class (equal
 * labels adjacent): a 1px white line is put between groups and each group
 * is named by its label along the top and left edges. */
ex_status ex_heatmap_save(const char *path, const double *m, size_t n, const uint8_t *labels,
                          const ex_heatmap_opts *opts);

/* ---- binary code maps (codemap.c) -------------------------------------- */

/* Saves binary codes bits [n x units] as a picture with one column per
 * code (white = 1) and one row per unit, columns grouped by labels with a
 * gray separator column between classes, class names along the top. */
ex_status ex_codemap_save(const char *path, const uint8_t *bits, size_t n, size_t units,
                          const uint8_t *labels, const char *title);

/* ---- line charts (linechart.c) ----------------------------------------- */

typedef struct ex_series {
    const char *name;  /* legend entry */
    const double *x;
    const double *y;
    size_t n;
    ex_color color;
    int dashed;
} ex_series;

typedef struct ex_chart {
    const char *title;
    const char *x_label;
    const char *y_label;
    int log_y;          /* 1: logarithmic y axis (needs positive values) */
    int x_integer;      /* 1: x ticks only at whole numbers (epochs) */
    size_t width;       /* whole picture, pixels (0: 900 x 560) */
    size_t height;
} ex_chart;

ex_status ex_linechart_save(const char *path, const ex_chart *chart, const ex_series *series,
                            size_t n_series);

/* ---- histograms (histogram.c) ----------------------------------------- */

typedef struct ex_bars {
    const char *title;
    const char *x_label;
    const char *y_label;
    const double *counts; /* bar i spans [x0 + i dx, x0 + (i + 1) dx) */
    size_t n;
    double x0, dx;        /* whole values of this axis get ticks */
    const char *extra_label; /* a separate gray bar at the left (e.g. "dead"), or NULL */
    double extra_count;
    ex_color color;
} ex_bars;

ex_status ex_bars_save(const char *path, const ex_bars *bars);

#endif /* EX_PLOT_H */
