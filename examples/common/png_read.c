/* SPDX-License-Identifier: MIT */
#include "common/png.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

/* State a longjmp from libpng must not lose: kept in a struct the caller
 * owns rather than in locals of the function that calls setjmp. */
typedef struct read_job {
    FILE *f;
    png_structp png;
    png_infop info;
    uint8_t *pixels;
    png_bytep *rows;
    size_t width, height;
    int channels;
    ex_status status;
} read_job;

static void on_error(png_structp png, png_const_charp msg)
{
    read_job *job = png_get_error_ptr(png);
    job->status = ex_fail(EX_ERR_FORMAT, "libpng: %s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void decode(read_job *job)
{
    png_structp png = job->png;
    png_infop info = job->info;
    png_init_io(png, job->f);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((size_t)w * h > EX_PNG_MAX_PIXELS || w == 0 || h == 0) {
        job->status = ex_fail(EX_ERR_TOO_BIG, "a %u x %u picture is too big", (unsigned)w,
                              (unsigned)h);
        return;
    }
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    /* Normalise every PNG flavour to 8-bit gray or 8-bit RGB. */
    if (depth == 16)
        png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    /* Expanding a palette also turns tRNS into alpha; drop every alpha
     * channel, whatever its origin (a no-op when there is none). */
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    if (ch != 1 && ch != 3) {
        job->status = ex_fail(EX_ERR_FORMAT, "%d channels after conversion", ch);
        return;
    }
    job->width = w;
    job->height = h;
    job->channels = ch;
    size_t stride = (size_t)w * (size_t)ch;
    job->pixels = malloc(stride * h);
    job->rows = malloc(h * sizeof *job->rows);
    if (!job->pixels || !job->rows) {
        job->status = ex_fail(EX_ERR_NOMEM, "no memory for a %u x %u picture", (unsigned)w,
                              (unsigned)h);
        return;
    }
    for (size_t y = 0; y < h; y++)
        job->rows[y] = job->pixels + y * stride;
    png_read_image(png, job->rows);
    png_read_end(png, NULL);
    job->status = EX_OK;
}

ex_status ex_png_read(const char *path, uint8_t **pixels, size_t *width, size_t *height,
                      int *channels)
{
    if (!path || !pixels || !width || !height || !channels)
        return ex_fail(EX_ERR_ARG, "ex_png_read: NULL argument");
    *pixels = NULL;
    /* On the heap: after a longjmp only memory that setjmp's frame does not
     * hold in registers is sure to keep what decode() wrote into it. */
    read_job *job = calloc(1, sizeof *job);
    if (!job)
        return ex_fail(EX_ERR_NOMEM, "no memory");
    job->status = EX_ERR_FORMAT;
    job->f = fopen(path, "rb");
    if (!job->f) {
        ex_status st = ex_fail(EX_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        free(job);
        return st;
    }
    uint8_t sig[8];
    if (fread(sig, 1, 8, job->f) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        fclose(job->f);
        free(job);
        return ex_fail(EX_ERR_FORMAT, "%s is not a PNG file", path);
    }
    rewind(job->f);
    job->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, on_error, on_warning);
    job->info = job->png ? png_create_info_struct(job->png) : NULL;
    if (!job->png || !job->info) {
        png_destroy_read_struct(&job->png, &job->info, NULL);
        fclose(job->f);
        free(job);
        return ex_fail(EX_ERR_NOMEM, "libpng could not start");
    }
    if (setjmp(png_jmpbuf(job->png)) == 0)
        decode(job);
    png_destroy_read_struct(&job->png, &job->info, NULL);
    fclose(job->f);
    free(job->rows);
    ex_status st = job->status;
    if (st == EX_OK) {
        *pixels = job->pixels;
        *width = job->width;
        *height = job->height;
        *channels = job->channels;
    } else {
        free(job->pixels);
    }
    free(job);
    return st;
}
