/* SPDX-License-Identifier: MIT */
#include "common/canvas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/png.h"

ex_status ex_canvas_init(ex_canvas *c, size_t width, size_t height, ex_color background)
{
    if (!c || width == 0 || height == 0)
        return ex_fail(EX_ERR_ARG, "ex_canvas_init: empty canvas");
    c->width = width;
    c->height = height;
    c->rgb = malloc(width * height * 3);
    if (!c->rgb)
        return ex_fail(EX_ERR_NOMEM, "no memory for a %zu x %zu canvas", width, height);
    for (size_t i = 0; i < width * height; i++) {
        c->rgb[3 * i] = background.r;
        c->rgb[3 * i + 1] = background.g;
        c->rgb[3 * i + 2] = background.b;
    }
    return EX_OK;
}

void ex_canvas_free(ex_canvas *c)
{
    if (!c)
        return;
    free(c->rgb);
    memset(c, 0, sizeof *c);
}

/* Maps every pixel to a palette of at most 256 colours, through a small
 * open-addressing table keyed by the 24-bit colour. Returns the number of
 * colours, or 0 when there are more than 256. */
static size_t build_palette(const ex_canvas *c, uint8_t *indices, uint8_t *palette)
{
    enum { SLOTS = 1024 };
    uint32_t key[SLOTS];
    int16_t slot_index[SLOTS];
    memset(slot_index, -1, sizeof slot_index);
    size_t n = 0;
    for (size_t i = 0; i < c->width * c->height; i++) {
        const uint8_t *p = c->rgb + 3 * i;
        uint32_t k = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        uint32_t h = (k * 2654435761u) >> 22; /* top 10 bits: 0..1023 */
        while (slot_index[h] >= 0 && key[h] != k)
            h = (h + 1) & (SLOTS - 1);
        if (slot_index[h] < 0) {
            if (n == 256)
                return 0;
            key[h] = k;
            slot_index[h] = (int16_t)n;
            memcpy(palette + 3 * n, p, 3);
            n++;
        }
        indices[i] = (uint8_t)slot_index[h];
    }
    return n;
}

/* Plots with few colours are saved as indexed PNG, about a third of the
 * size; the pixels are the same either way. */
ex_status ex_canvas_save(const ex_canvas *c, const char *path)
{
    if (!c || !c->rgb)
        return ex_fail(EX_ERR_ARG, "ex_canvas_save: empty canvas");
    uint8_t *indices = malloc(c->width * c->height);
    uint8_t palette[256 * 3];
    size_t n = indices ? build_palette(c, indices, palette) : 0;
    ex_status st = n ? ex_png_write_indexed(path, indices, c->width, c->height, palette, n)
                     : ex_png_write_rgb(path, c->rgb, c->width, c->height);
    free(indices);
    return st;
}

void ex_canvas_put(ex_canvas *c, long x, long y, ex_color color)
{
    if (x < 0 || y < 0 || (size_t)x >= c->width || (size_t)y >= c->height)
        return;
    uint8_t *p = c->rgb + ((size_t)y * c->width + (size_t)x) * 3;
    p[0] = color.r;
    p[1] = color.g;
    p[2] = color.b;
}

void ex_canvas_blend(ex_canvas *c, long x, long y, ex_color color, double alpha)
{
    if (x < 0 || y < 0 || (size_t)x >= c->width || (size_t)y >= c->height || !(alpha > 0.0))
        return;
    if (alpha > 1.0)
        alpha = 1.0;
    uint8_t *p = c->rgb + ((size_t)y * c->width + (size_t)x) * 3;
    p[0] = (uint8_t)lround(p[0] + alpha * (color.r - p[0]));
    p[1] = (uint8_t)lround(p[1] + alpha * (color.g - p[1]));
    p[2] = (uint8_t)lround(p[2] + alpha * (color.b - p[2]));
}

void ex_canvas_fill(ex_canvas *c, long x, long y, long w, long h, ex_color color)
{
    for (long yy = y; yy < y + h; yy++)
        for (long xx = x; xx < x + w; xx++)
            ex_canvas_put(c, xx, yy, color);
}

void ex_canvas_frame(ex_canvas *c, long x, long y, long w, long h, ex_color color)
{
    ex_canvas_fill(c, x, y, w, 1, color);
    ex_canvas_fill(c, x, y + h - 1, w, 1, color);
    ex_canvas_fill(c, x, y, 1, h, color);
    ex_canvas_fill(c, x + w - 1, y, 1, h, color);
}

/* Coverage from the distance of each pixel centre to the segment: a pixel
 * half a pixel beyond the line's edge gets nothing, one inside it all. This
 * draws smooth curves without the stair steps of Bresenham lines. */
void ex_canvas_line(ex_canvas *c, double x0, double y0, double x1, double y1, double width,
                    ex_color color)
{
    double half = width / 2.0;
    long xmin = (long)floor(fmin(x0, x1) - half - 1), xmax = (long)ceil(fmax(x0, x1) + half + 1);
    long ymin = (long)floor(fmin(y0, y1) - half - 1), ymax = (long)ceil(fmax(y0, y1) + half + 1);
    double dx = x1 - x0, dy = y1 - y0;
    double len2 = dx * dx + dy * dy;
    for (long y = ymin; y <= ymax; y++) {
        for (long x = xmin; x <= xmax; x++) {
            double t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0.0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double px = x0 + t * dx - x, py = y0 + t * dy - y;
            double d = sqrt(px * px + py * py);
            double cover = half + 0.5 - d;
            if (cover > 0)
                ex_canvas_blend(c, x, y, color, cover);
        }
    }
}
