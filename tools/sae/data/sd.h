/* SPDX-License-Identifier: MIT */
/* Data files for the sae tool: NumPy .npy, MNIST IDX (gzip or not), one
 * tensor of a safetensors file, raw little-endian float32 / bfloat16 rows.
 * The core library reads no data file; this small static library does, for
 * the tool only.
 *
 * Every parser works on the whole file's bytes (memory-mapped, or a gzip
 * stream inflated into memory) and validates its header against their
 * length before anything else: a file is accepted only if its data is
 * exactly the size the header announces, so no later read can go past the
 * end, and nothing is allocated from a header's claims. Errors: -1, with a
 * message in sd_errmsg(). */
#ifndef SD_H
#define SD_H

#include <stddef.h>
#include <stdint.h>

typedef enum sd_dtype {
    SD_F32 = 0,   /* IEEE binary32, little-endian */
    SD_F16 = 1,   /* IEEE binary16, little-endian */
    SD_BF16 = 2,  /* bfloat16 (the high half of a binary32), little-endian */
    SD_U8 = 3,    /* unsigned byte */
    SD_F32BE = 4  /* binary32, big-endian (IDX) */
} sd_dtype_t;

/* Where a file's rows are: rows x dim elements of dtype, contiguous and
 * row-major from byte offset. */
typedef struct sd_layout {
    size_t offset;
    size_t rows;
    size_t dim;
    sd_dtype_t dtype;
} sd_layout_t;

/* The message of the last failure. */
const char *sd_errmsg(void);
/* Sets it (printf-style) and returns -1. */
int sd_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

size_t sd_dtype_size(sd_dtype_t t);
const char *sd_dtype_name(sd_dtype_t t);
/* Parses "f32", "f16", "bf16", "u8"; -1 for anything else. */
int sd_dtype_parse(const char *s, sd_dtype_t *t);

/* Converts n elements at src to floats; u8 values are divided by
 * u8_divisor (1 keeps 0..255, 255 gives [0,1]). */
void sd_convert(const uint8_t *src, sd_dtype_t t, size_t n, float u8_divisor, float *dst);
float sd_half_to_float(uint16_t h);
float sd_bf16_to_float(uint16_t h);

/* The parsers. buf holds the whole file (len bytes). */
int sd_parse_npy(const uint8_t *buf, size_t len, sd_layout_t *out);
int sd_parse_idx(const uint8_t *buf, size_t len, sd_layout_t *out);
/* name NULL: the file's only tensor (an error when there are several; the
 * message lists them). */
int sd_parse_safetensors(const uint8_t *buf, size_t len, const char *name, sd_layout_t *out);
int sd_parse_raw(size_t len, size_t dim, sd_dtype_t t, sd_layout_t *out);

/* Inflates a gzip stream buf[len] holding an IDX file into a new buffer
 * (*out, *out_len; free() it). Reads the IDX header first and stops at the
 * size it announces: the buffer grows with the data actually inflated,
 * never to a size a header claims. */
int sd_gunzip_idx(const uint8_t *buf, size_t len, uint8_t **out, size_t *out_len);

/* For the parsers: refuses a layout with no rows, or whose rows x dim
 * values do not fit in the len - offset bytes after its offset (what names
 * the file kind in the message). */
int sd_layout_check(const sd_layout_t *l, size_t len, const char *what);

#endif /* SD_H */
