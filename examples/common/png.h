/* SPDX-License-Identifier: MIT */
/* 8-bit gray and RGB PNG files through libpng. */
#ifndef EX_PNG_H
#define EX_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* Writes width x height pixels of `channels` bytes each (1 = gray,
 * 3 = RGB), rows top to bottom, atomically: path is replaced only once the
 * whole file is on disk. */
ex_status ex_png_write(const char *path, const uint8_t *pixels, size_t width, size_t height,
                       int channels);
ex_status ex_png_write_gray(const char *path, const uint8_t *pixels, size_t width, size_t height);
ex_status ex_png_write_rgb(const char *path, const uint8_t *pixels, size_t width, size_t height);

/* Writes an indexed-colour PNG: each pixel a byte indexing palette
 * (n_colors RGB triples, 1..256). Pictures with few colours (heat maps,
 * plots) come out about a third of the size of the same RGB file. */
ex_status ex_png_write_indexed(const char *path, const uint8_t *indices, size_t width,
                               size_t height, const uint8_t *palette, size_t n_colors);

/* Biggest picture ex_png_read accepts, in pixels (a guard against hostile
 * headers announcing huge sizes). */
#define EX_PNG_MAX_PIXELS ((size_t)1 << 28)

/* Reads a PNG into 8-bit pixels: gray files (any bit depth, alpha dropped)
 * give channels = 1, everything else (palette, RGB, 16-bit, alpha dropped)
 * channels = 3. *pixels is freed by the caller. Errors: EX_ERR_IO,
 * EX_ERR_FORMAT (not a PNG, corrupt), EX_ERR_TOO_BIG, EX_ERR_NOMEM. */
ex_status ex_png_read(const char *path, uint8_t **pixels, size_t *width, size_t *height,
                      int *channels);

#endif /* EX_PNG_H */
