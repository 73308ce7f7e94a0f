/* SPDX-License-Identifier: MIT */
#include "common/idx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "common/fileio.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Checks magic, reads ndims dimensions and checks that their product is
 * exactly the bytes after the header. On success *payload is that count. */
static ex_status parse_header(const uint8_t *buf, size_t len, uint32_t magic, size_t ndims,
                              uint32_t *dims, size_t *payload)
{
    if (!buf && len)
        return ex_fail(EX_ERR_ARG, "NULL buffer");
    if (len < 4)
        return ex_fail(EX_ERR_TRUNCATED, "%zu bytes is too short for an IDX header", len);
    uint32_t got = be32(buf);
    if (got != magic)
        return ex_fail(EX_ERR_MAGIC, "magic 0x%08x, expected 0x%08x", (unsigned)got,
                       (unsigned)magic);
    size_t header = 4 + 4 * ndims;
    if (len < header)
        return ex_fail(EX_ERR_TRUNCATED, "%zu bytes is too short for a %zu-byte IDX header", len,
                       header);
    /* Multiply in 64 bits and stop at the first step past len: three 32-bit
     * dimensions could otherwise wrap around to a small, plausible size. */
    uint64_t product = 1;
    int overflow = 0;
    for (size_t i = 0; i < ndims; i++) {
        dims[i] = be32(buf + 4 + 4 * i);
        if (dims[i] == 0)
            return ex_fail(EX_ERR_DIMENSION, "dimension %zu is zero", i);
        if (product > UINT64_MAX / dims[i])
            overflow = 1;
        else
            product *= dims[i];
        if (product > (uint64_t)SIZE_MAX / sizeof(float))
            overflow = 1;
    }
    if (overflow)
        return ex_fail(EX_ERR_DIMENSION, "the dimensions' product overflows");
    if (product > len - header)
        return ex_fail(EX_ERR_TRUNCATED, "the header announces %llu bytes of data, the file has %zu",
                       (unsigned long long)product, len - header);
    if (product < len - header)
        return ex_fail(EX_ERR_DIMENSION, "%zu bytes follow the %llu bytes the header announces",
                       len - header - (size_t)product, (unsigned long long)product);
    *payload = (size_t)product;
    return EX_OK;
}

ex_status ex_idx_parse_images(const uint8_t *buf, size_t len, ex_dataset *out)
{
    if (!out)
        return ex_fail(EX_ERR_ARG, "NULL output");
    memset(out, 0, sizeof *out);
    uint32_t dims[3];
    size_t payload = 0;
    ex_status st = parse_header(buf, len, EX_IDX_MAGIC_IMAGES, 3, dims, &payload);
    if (st != EX_OK)
        return st;
    float *x = malloc(payload * sizeof *x);
    if (!x)
        return ex_fail(EX_ERR_NOMEM, "no memory for %zu pixels", payload);
    const uint8_t *p = buf + 16;
    for (size_t i = 0; i < payload; i++)
        x[i] = (float)p[i] / 255.0f;
    out->x = x;
    out->rows = dims[0];
    out->height = dims[1];
    out->width = dims[2];
    out->dim = (size_t)dims[1] * dims[2];
    return EX_OK;
}

ex_status ex_idx_parse_labels(const uint8_t *buf, size_t len, uint8_t **labels, size_t *count)
{
    if (!labels || !count)
        return ex_fail(EX_ERR_ARG, "NULL output");
    *labels = NULL;
    *count = 0;
    uint32_t dims[1];
    size_t payload = 0;
    ex_status st = parse_header(buf, len, EX_IDX_MAGIC_LABELS, 1, dims, &payload);
    if (st != EX_OK)
        return st;
    uint8_t *l = malloc(payload);
    if (!l)
        return ex_fail(EX_ERR_NOMEM, "no memory for %zu labels", payload);
    memcpy(l, buf + 8, payload);
    *labels = l;
    *count = payload;
    return EX_OK;
}

ex_status ex_idx_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len)
{
    if (!path || !data || !len)
        return ex_fail(EX_ERR_ARG, "NULL argument");
    *data = NULL;
    *len = 0;
    /* gzopen reads plain files transparently, so one path serves both. */
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return ex_fail(EX_ERR_IO, "cannot open %s", path);
    size_t cap = 0, n = 0;
    uint8_t *buf = NULL;
    ex_status st = EX_OK;
    for (;;) {
        if (n == cap) {
            if (cap > max_bytes) {
                st = ex_fail(EX_ERR_TOO_BIG, "%s holds more than %zu bytes", path, max_bytes);
                break;
            }
            size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
            if (ncap > max_bytes + 1)
                ncap = max_bytes + 1;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                st = ex_fail(EX_ERR_NOMEM, "no memory to read %s", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - n;
        if (want > (1u << 30))
            want = 1u << 30;
        int got = gzread(gz, buf + n, (unsigned)want);
        if (got < 0) {
            int zerr = 0;
            const char *msg = gzerror(gz, &zerr);
            st = ex_fail(EX_ERR_IO, "cannot read %s: %s", path, msg ? msg : "zlib error");
            break;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (st == EX_OK && n > max_bytes)
        st = ex_fail(EX_ERR_TOO_BIG, "%s holds more than %zu bytes", path, max_bytes);
    if (st == EX_OK) {
        /* A gzip stream cut short reads as a clean end of data; zlib only
         * says so through the error state. */
        int zerr = Z_OK;
        (void)gzerror(gz, &zerr);
        if (zerr == Z_BUF_ERROR)
            st = ex_fail(EX_ERR_TRUNCATED, "%s: the compressed data ends early", path);
    }
    gzclose(gz);
    if (st != EX_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    *len = n;
    return EX_OK;
}

static ex_status with_path(ex_status st, const char *path)
{
    char detail[512];
    snprintf(detail, sizeof detail, "%s", ex_error_detail());
    return ex_fail(st, "%s: %s", path, detail);
}

ex_status ex_idx_load(const char *images_path, const char *labels_path, ex_dataset *out)
{
    if (!images_path || !labels_path || !out)
        return ex_fail(EX_ERR_ARG, "NULL argument");
    memset(out, 0, sizeof *out);
    uint8_t *buf = NULL;
    size_t len = 0;
    ex_status st = ex_idx_read_file(images_path, EX_IDX_MAX_BYTES, &buf, &len);
    if (st != EX_OK)
        return st;
    st = ex_idx_parse_images(buf, len, out);
    free(buf);
    if (st != EX_OK)
        return with_path(st, images_path);

    st = ex_idx_read_file(labels_path, EX_IDX_MAX_BYTES, &buf, &len);
    if (st != EX_OK) {
        ex_dataset_free(out);
        return st;
    }
    uint8_t *labels = NULL;
    size_t count = 0;
    st = ex_idx_parse_labels(buf, len, &labels, &count);
    free(buf);
    if (st != EX_OK) {
        ex_dataset_free(out);
        return with_path(st, labels_path);
    }
    if (count != out->rows) {
        size_t rows = out->rows;
        free(labels);
        ex_dataset_free(out);
        return ex_fail(EX_ERR_DIMENSION, "%s has %zu labels for %zu images", labels_path, count,
                       rows);
    }
    out->labels = labels;
    return EX_OK;
}

int ex_idx_find(const char *dir, const char *base, char *path, size_t size)
{
    if (!dir || !base || !path || size == 0)
        return 0;
    snprintf(path, size, "%s/%s", dir, base);
    if (ex_is_file(path))
        return 1;
    snprintf(path, size, "%s/%s.gz", dir, base);
    return ex_is_file(path);
}
