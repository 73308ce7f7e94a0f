/* SPDX-License-Identifier: MIT */
#include "common/png.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "common/fileio.h"

/* libpng writes into this growing buffer; the file is then written in one
 * atomic step, so libpng never sees (or leaves behind) a partial file. */
typedef struct membuf {
    uint8_t *data;
    size_t len, cap;
    int failed;
} membuf;

static void mem_write(png_structp png, png_bytep bytes, png_size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->failed)
        return;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + n)
            cap *= 2;
        uint8_t *d = realloc(m->data, cap);
        if (!d) {
            m->failed = 1;
            return;
        }
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, bytes, n);
    m->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

/* Encodes into m; kept apart from ex_png_write so that no local that the
 * caller uses after a longjmp lives in this frame. */
static int encode(membuf *m, const uint8_t *pixels, size_t width, size_t height, int channels,
                  const uint8_t *palette, size_t n_colors)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png)
        return 0;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return 0;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return 0;
    }
    png_set_write_fn(png, m, mem_write, mem_flush);
    int color_type = palette ? PNG_COLOR_TYPE_PALETTE
                     : channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB;
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_type,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) {
        png_color pal[256];
        for (size_t i = 0; i < n_colors; i++) {
            pal[i].red = palette[3 * i];
            pal[i].green = palette[3 * i + 1];
            pal[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, pal, (int)n_colors);
    }
    png_write_info(png, info);
    size_t stride = width * (size_t)channels;
    for (size_t y = 0; y < height; y++)
        png_write_row(png, (png_const_bytep)(pixels + y * stride));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return !m->failed;
}

ex_status ex_png_write(const char *path, const uint8_t *pixels, size_t width, size_t height,
                       int channels)
{
    if (!path || !pixels)
        return ex_fail(EX_ERR_ARG, "ex_png_write: NULL argument");
    if (channels != 1 && channels != 3)
        return ex_fail(EX_ERR_ARG, "ex_png_write: %d channels (1 or 3 expected)", channels);
    if (width == 0 || height == 0 || width > 0x7fffffff || height > 0x7fffffff)
        return ex_fail(EX_ERR_ARG, "ex_png_write: a %zu x %zu picture", width, height);
    membuf m = {NULL, 0, 0, 0};
    if (!encode(&m, pixels, width, height, channels, NULL, 0)) {
        free(m.data);
        return ex_fail(EX_ERR_NOMEM, "libpng could not encode %s", path);
    }
    ex_status st = ex_write_file_atomic(path, m.data, m.len);
    free(m.data);
    return st;
}

ex_status ex_png_write_indexed(const char *path, const uint8_t *indices, size_t width,
                               size_t height, const uint8_t *palette, size_t n_colors)
{
    if (!path || !indices || !palette)
        return ex_fail(EX_ERR_ARG, "ex_png_write_indexed: NULL argument");
    if (n_colors == 0 || n_colors > 256)
        return ex_fail(EX_ERR_ARG, "ex_png_write_indexed: %zu colours (1..256)", n_colors);
    if (width == 0 || height == 0 || width > 0x7fffffff || height > 0x7fffffff)
        return ex_fail(EX_ERR_ARG, "ex_png_write_indexed: a %zu x %zu picture", width, height);
    for (size_t i = 0; i < width * height; i++)
        if (indices[i] >= n_colors)
            return ex_fail(EX_ERR_ARG, "ex_png_write_indexed: index %u past the palette",
                           (unsigned)indices[i]);
    membuf m = {NULL, 0, 0, 0};
    if (!encode(&m, indices, width, height, 1, palette, n_colors)) {
        free(m.data);
        return ex_fail(EX_ERR_NOMEM, "libpng could not encode %s", path);
    }
    ex_status st = ex_write_file_atomic(path, m.data, m.len);
    free(m.data);
    return st;
}

ex_status ex_png_write_gray(const char *path, const uint8_t *pixels, size_t width, size_t height)
{
    return ex_png_write(path, pixels, width, height, 1);
}

ex_status ex_png_write_rgb(const char *path, const uint8_t *pixels, size_t width, size_t height)
{
    return ex_png_write(path, pixels, width, height, 3);
}
