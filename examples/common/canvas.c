/* SPDX-License-Identifier: MIT */
#include "common/canvas.h"

#include <stdlib.h>
#include <string.h>

#include "common/png.h"

ex_status ex_canvas_init(ex_canvas *c, size_t width, size_t height, ex_color background)
{
    if (!c || width == 0 || height == 0 || width > 32767 || height > 32767)
        return ex_fail(EX_ERR_ARG, "ex_canvas_init: a %zu x %zu canvas", width, height);
    memset(c, 0, sizeof *c);
    c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)width, (int)height);
    if (cairo_surface_status(c->surface) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(c->surface);
        c->surface = NULL;
        return ex_fail(EX_ERR_NOMEM, "no memory for a %zu x %zu canvas", width, height);
    }
    c->cr = cairo_create(c->surface);
    c->width = width;
    c->height = height;
    ex_canvas_source(c, background, 1.0);
    cairo_paint(c->cr);
    return EX_OK;
}

void ex_canvas_free(ex_canvas *c)
{
    if (!c)
        return;
    cairo_destroy(c->cr);
    cairo_surface_destroy(c->surface);
    memset(c, 0, sizeof *c);
}

/* Maps every pixel (cairo's RGB24: 0x00RRGGBB words, rows `stride` bytes
 * apart) to a palette of at most 256 colours through a small
 * open-addressing table keyed by the colour. Returns the number of colours,
 * or 0 when there are more than 256. */
static size_t build_palette(const unsigned char *data, int stride, size_t w, size_t h,
                            uint8_t *indices, uint8_t *palette)
{
    enum { SLOTS = 1024 };
    uint32_t key[SLOTS];
    int16_t slot_index[SLOTS];
    memset(slot_index, -1, sizeof slot_index);
    size_t n = 0;
    for (size_t y = 0; y < h; y++) {
        const uint32_t *row = (const uint32_t *)(const void *)(data + (size_t)stride * y);
        for (size_t x = 0; x < w; x++) {
            uint32_t k = row[x] & 0xffffffu;
            uint32_t slot = (k * 2654435761u) >> 22; /* top 10 bits: 0..1023 */
            while (slot_index[slot] >= 0 && key[slot] != k)
                slot = (slot + 1) & (SLOTS - 1);
            if (slot_index[slot] < 0) {
                if (n == 256)
                    return 0;
                key[slot] = k;
                slot_index[slot] = (int16_t)n;
                palette[3 * n] = (uint8_t)(k >> 16);
                palette[3 * n + 1] = (uint8_t)(k >> 8);
                palette[3 * n + 2] = (uint8_t)k;
                n++;
            }
            indices[y * w + x] = (uint8_t)slot_index[slot];
        }
    }
    return n;
}

/* Pictures with few colours (tiles, code maps) are saved as indexed PNG,
 * about a third of the size; others as RGB. The pixels are the same. */
ex_status ex_canvas_save(const ex_canvas *c, const char *path)
{
    if (!c || !c->surface)
        return ex_fail(EX_ERR_ARG, "ex_canvas_save: empty canvas");
    cairo_surface_flush(c->surface);
    const unsigned char *data = cairo_image_surface_get_data(c->surface);
    int stride = cairo_image_surface_get_stride(c->surface);
    size_t w = c->width, h = c->height;
    uint8_t *indices = malloc(w * h), palette[256 * 3];
    size_t n = indices ? build_palette(data, stride, w, h, indices, palette) : 0;
    ex_status st;
    if (n) {
        st = ex_png_write_indexed(path, indices, w, h, palette, n);
    } else {
        uint8_t *rgb = realloc(indices, w * h * 3);
        if (!rgb) {
            free(indices);
            return ex_fail(EX_ERR_NOMEM, "no memory to save %s", path);
        }
        indices = rgb;
        for (size_t y = 0; y < h; y++) {
            const uint32_t *row = (const uint32_t *)(const void *)(data + (size_t)stride * y);
            for (size_t x = 0; x < w; x++) {
                rgb[3 * (y * w + x)] = (uint8_t)(row[x] >> 16);
                rgb[3 * (y * w + x) + 1] = (uint8_t)(row[x] >> 8);
                rgb[3 * (y * w + x) + 2] = (uint8_t)row[x];
            }
        }
        st = ex_png_write_rgb(path, rgb, w, h);
    }
    free(indices);
    return st;
}

void ex_canvas_source(ex_canvas *c, ex_color color, double alpha)
{
    cairo_set_source_rgba(c->cr, color.r / 255.0, color.g / 255.0, color.b / 255.0, alpha);
}

void ex_canvas_fill(ex_canvas *c, long x, long y, long w, long h, ex_color color)
{
    if (w <= 0 || h <= 0)
        return;
    cairo_save(c->cr);
    cairo_set_antialias(c->cr, CAIRO_ANTIALIAS_NONE);
    ex_canvas_source(c, color, 1.0);
    cairo_rectangle(c->cr, (double)x, (double)y, (double)w, (double)h);
    cairo_fill(c->cr);
    cairo_restore(c->cr);
}

void ex_canvas_put(ex_canvas *c, long x, long y, ex_color color)
{
    ex_canvas_fill(c, x, y, 1, 1, color);
}

void ex_canvas_blend(ex_canvas *c, long x, long y, ex_color color, double alpha)
{
    if (!(alpha > 0.0))
        return;
    cairo_save(c->cr);
    cairo_set_antialias(c->cr, CAIRO_ANTIALIAS_NONE);
    ex_canvas_source(c, color, alpha > 1.0 ? 1.0 : alpha);
    cairo_rectangle(c->cr, (double)x, (double)y, 1, 1);
    cairo_fill(c->cr);
    cairo_restore(c->cr);
}

void ex_canvas_frame(ex_canvas *c, long x, long y, long w, long h, ex_color color)
{
    ex_canvas_fill(c, x, y, w, 1, color);
    ex_canvas_fill(c, x, y + h - 1, w, 1, color);
    ex_canvas_fill(c, x, y, 1, h, color);
    ex_canvas_fill(c, x + w - 1, y, 1, h, color);
}

void ex_canvas_line(ex_canvas *c, double x0, double y0, double x1, double y1, double width,
                    ex_color color)
{
    cairo_save(c->cr);
    ex_canvas_source(c, color, 1.0);
    cairo_set_line_width(c->cr, width);
    cairo_set_line_cap(c->cr, CAIRO_LINE_CAP_ROUND);
    /* Pixel centres are at +0.5 in cairo's coordinates. */
    cairo_move_to(c->cr, x0 + 0.5, y0 + 0.5);
    cairo_line_to(c->cr, x1 + 0.5, y1 + 0.5);
    cairo_stroke(c->cr);
    cairo_restore(c->cr);
}
