/* SPDX-License-Identifier: MIT */
#include "common/plot.h"

#include <math.h>

void ex_tiles_size(size_t n, size_t tw, size_t th, size_t cols, int zoom, size_t *width,
                   size_t *height)
{
    if (cols == 0)
        cols = 1;
    size_t rows = (n + cols - 1) / cols;
    size_t used_cols = n < cols ? n : cols;
    *width = used_cols ? used_cols * (tw * (size_t)zoom + 1) - 1 : 0;
    *height = rows ? rows * (th * (size_t)zoom + 1) - 1 : 0;
}

void ex_tiles_draw(ex_canvas *c, long x, long y, const float *tiles, size_t n, size_t tw,
                   size_t th, size_t cols, int zoom, ex_tile_scale scale)
{
    if (cols == 0)
        cols = 1;
    size_t px = tw * th;
    for (size_t t = 0; t < n; t++) {
        const float *v = tiles + t * px;
        double lo = 0.0, hi = 1.0;
        if (scale == EX_TILE_PER_TILE) {
            lo = INFINITY;
            hi = -INFINITY;
            for (size_t i = 0; i < px; i++) {
                lo = fmin(lo, v[i]);
                hi = fmax(hi, v[i]);
            }
        }
        /* A flat tile has no contrast to stretch: show it mid-gray. */
        double span = hi - lo > 1e-12 ? hi - lo : 0.0;
        long ox = x + (long)((t % cols) * (tw * (size_t)zoom + 1));
        long oy = y + (long)((t / cols) * (th * (size_t)zoom + 1));
        for (size_t r = 0; r < th; r++) {
            for (size_t k = 0; k < tw; k++) {
                double g = span > 0 ? (v[r * tw + k] - lo) / span : 0.5;
                g = g < 0 ? 0 : g > 1 ? 1 : g;
                /* 250 gray levels leave palette room for a coloured
                 * separator and a few plot colours (see ex_canvas_save). */
                uint8_t b = (uint8_t)(lround(g * 249.0) * 255 / 249);
                ex_canvas_fill(c, ox + (long)k * zoom, oy + (long)r * zoom, zoom, zoom,
                               EX_RGB(b, b, b));
            }
        }
    }
}

void ex_tiles_draw_rgb(ex_canvas *c, long x, long y, const float *tiles, size_t n, size_t tw,
                       size_t th, size_t cols, int zoom)
{
    if (cols == 0)
        cols = 1;
    size_t px = tw * th;
    for (size_t t = 0; t < n; t++) {
        const float *v = tiles + t * 3 * px;
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < 3 * px; i++) {
            lo = fmin(lo, v[i]);
            hi = fmax(hi, v[i]);
        }
        double span = hi - lo > 1e-12 ? hi - lo : 0.0;
        long ox = x + (long)((t % cols) * (tw * (size_t)zoom + 1));
        long oy = y + (long)((t / cols) * (th * (size_t)zoom + 1));
        for (size_t i = 0; i < px; i++) {
            uint8_t rgb[3];
            for (int ch = 0; ch < 3; ch++) {
                double g = span > 0 ? (v[(size_t)ch * px + i] - lo) / span : 0.5;
                rgb[ch] = (uint8_t)lround((g < 0 ? 0 : g > 1 ? 1 : g) * 255.0);
            }
            ex_canvas_fill(c, ox + (long)(i % tw) * zoom, oy + (long)(i / tw) * zoom, zoom, zoom,
                           EX_RGB(rgb[0], rgb[1], rgb[2]));
        }
    }
}

ex_status ex_tiles_save(const char *path, const float *tiles, size_t n, size_t tw, size_t th,
                        size_t cols, int zoom, ex_tile_scale scale, ex_color separator)
{
    size_t w, h;
    ex_tiles_size(n, tw, th, cols, zoom, &w, &h);
    ex_canvas c;
    ex_status st = ex_canvas_init(&c, w, h, separator);
    if (st != EX_OK)
        return st;
    ex_tiles_draw(&c, 0, 0, tiles, n, tw, th, cols, zoom, scale);
    st = ex_canvas_save(&c, path);
    ex_canvas_free(&c);
    return st;
}
