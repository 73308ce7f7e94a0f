/* SPDX-License-Identifier: MIT */
/* Data files opened for reading rows: each memory-mapped (a gzip IDX file is
 * inflated into memory instead), its format told by --format, else by its
 * first bytes, else by its name; several files (shards) read as one set of
 * rows, in order. */
#ifndef SD_FILES_H
#define SD_FILES_H

#include "sd.h"

typedef enum sd_format {
    SD_FMT_AUTO = 0,
    SD_FMT_NPY,
    SD_FMT_IDX,
    SD_FMT_SAFETENSORS,
    SD_FMT_RAW
} sd_format_t;

typedef struct sd_options {
    sd_format_t format;   /* SD_FMT_AUTO: detect */
    size_t dim;           /* raw files: values a row (--dim) */
    sd_dtype_t raw_dtype; /* raw files: f32 (default) or bf16 (--dtype) */
    const char *tensor;   /* safetensors: the tensor's name, NULL = the only one */
    int scale_u8;         /* 1: uint8 values divided by 255 */
} sd_options_t;

typedef struct sd_file {
    char *path;
    sd_format_t format;
    sd_layout_t lay;
    const uint8_t *bytes; /* the whole file (mapped or inflated) */
    size_t len;
    void *map;            /* mmap'd region, or NULL */
    size_t map_len;
    uint8_t *owned;       /* inflated gzip data, or NULL */
} sd_file_t;

typedef struct sd_set {
    sd_file_t *files;
    size_t n;
    size_t rows;          /* total over the files */
    size_t dim;           /* the same for every file */
    float u8_divisor;  /* 255 with scale_u8, else 1 */
} sd_set_t;

/* Parses "npy", "idx", "safetensors", "raw" (or "auto"). */
int sd_format_parse(const char *s, sd_format_t *f);
const char *sd_format_name(sd_format_t f);

int sd_file_open(sd_file_t *f, const char *path, const sd_options_t *opt);
void sd_file_close(sd_file_t *f);

/* Opens n files as one set; every file must have the same row size. On
 * failure nothing stays open and the message names the file. */
int sd_set_open(sd_set_t *s, const char *const *paths, size_t n, const sd_options_t *opt);
/* Converts rows [first, first + count) of the set to floats into out
 * [count x dim]; -1 when they run past the end. */
int sd_set_read(const sd_set_t *s, size_t first, size_t count, float *out);
/* Drops the mapped pages of rows [first, first + count) from this process
 * (madvise MADV_DONTNEED; the page cache keeps them): a streamed epoch
 * then holds no more of the files in its resident set than one chunk. */
void sd_set_release(const sd_set_t *s, size_t first, size_t count);
void sd_set_close(sd_set_t *s);

#endif /* SD_FILES_H */
