/* SPDX-License-Identifier: MIT */
/* MNIST's IDX files (LeCun's format): two zero bytes, a type byte, the
 * dimension count, then that many big-endian 32-bit dimensions and the
 * data. Unsigned bytes (0x08) and big-endian float32 (0x0D) are taken; a
 * 1-D file (labels) is one value a row. */
#include "sd.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The header's size and the data size it announces, from its first bytes
 * (at least 4; *header is set even when more bytes are needed). */
static int idx_header(const uint8_t *buf, size_t len, sd_layout_t *out, size_t *header)
{
    if (len < 4)
        return sd_fail("IDX: %zu bytes is too short for a header", len);
    if (buf[0] != 0 || buf[1] != 0)
        return sd_fail("not an IDX file (the first two bytes are not zero)");
    if (buf[2] == 0x08)
        out->dtype = SD_U8;
    else if (buf[2] == 0x0D)
        out->dtype = SD_F32BE;
    else
        return sd_fail("IDX: element type 0x%02x is not supported (0x08 unsigned byte, 0x0D "
                       "float)",
                       (unsigned)buf[2]);
    unsigned ndim = buf[3];
    if (ndim == 0)
        return sd_fail("IDX: zero dimensions");
    *header = 4 + 4 * (size_t)ndim;
    if (len < *header)
        return sd_fail("IDX: %zu bytes is too short for a %u-dimension header", len, ndim);
    size_t dim = 1;
    for (unsigned i = 1; i < ndim; i++) {
        uint32_t d = be32(buf + 4 + 4 * i);
        if (d != 0 && dim > SIZE_MAX / d)
            return sd_fail("IDX: the dimensions' product overflows");
        dim *= d;
    }
    out->offset = *header;
    out->rows = be32(buf + 4);
    out->dim = dim;
    return 0;
}

int sd_parse_idx(const uint8_t *buf, size_t len, sd_layout_t *out)
{
    size_t header;
    if (idx_header(buf, len, out, &header) < 0 || sd_layout_check(out, len, "IDX") < 0)
        return -1;
    size_t need = out->rows * out->dim * sd_dtype_size(out->dtype);
    if (need != len - header)
        return sd_fail("IDX: %zu bytes follow the %zu bytes of data the header announces",
                       len - header - need, need);
    return 0;
}

int sd_gunzip_idx(const uint8_t *buf, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    int init = inflateInit2(&z, 16 + MAX_WBITS);
    if (init != Z_OK)
        return sd_fail("gzip: %s", init == Z_MEM_ERROR ? "out of memory" : "zlib cannot start");
    z.next_in = (Bytef *)(uintptr_t)buf;
    size_t cap = 0, n = 0, limit = SIZE_MAX; /* limit: the size the header announces */
    uint8_t *data = NULL;
    int rc = Z_OK, ret = -1;
    size_t in_left = len;
    for (;;) {
        if (n == cap) {
            if (n >= limit) {
                /* Everything announced is there: anything more is an error. */
                uint8_t extra;
                z.next_out = &extra;
                z.avail_out = 1;
                if (z.avail_in == 0 && in_left) {
                    uInt chunk = in_left > 1u << 30 ? 1u << 30 : (uInt)in_left;
                    z.avail_in = chunk;
                    in_left -= chunk;
                }
                rc = inflate(&z, Z_NO_FLUSH);
                if (rc == Z_STREAM_END && z.avail_out == 1)
                    break;
                if (z.avail_out == 0) {
                    sd_fail("IDX (gzip): more data than the header announces");
                    goto out;
                }
                if (rc != Z_OK && rc != Z_BUF_ERROR) {
                    sd_fail("gzip: %s", rc == Z_MEM_ERROR ? "out of memory"
                                        : z.msg             ? z.msg
                                                            : "corrupt stream");
                    goto out;
                }
                if (z.avail_in == 0 && in_left == 0) {
                    sd_fail("gzip: the stream is truncated");
                    goto out;
                }
                continue;
            }
            size_t grow = cap < 4096 ? 4096 : cap;
            size_t ncap = cap + grow > limit ? limit : cap + grow;
            uint8_t *p = realloc(data, ncap);
            if (!p) {
                sd_fail("gzip: out of memory at %zu bytes", ncap);
                goto out;
            }
            data = p;
            cap = ncap;
        }
        z.next_out = data + n;
        z.avail_out = (uInt)(cap - n > 1u << 30 ? 1u << 30 : cap - n);
        uInt before = z.avail_out;
        if (z.avail_in == 0 && in_left) {
            uInt chunk = in_left > 1u << 30 ? 1u << 30 : (uInt)in_left;
            z.avail_in = chunk;
            in_left -= chunk;
        }
        rc = inflate(&z, Z_NO_FLUSH);
        n += before - z.avail_out;
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            /* Z_MEM_ERROR: inflate allocates its window on first use */
            sd_fail("gzip: %s", rc == Z_MEM_ERROR ? "out of memory"
                                : z.msg             ? z.msg
                                                    : "corrupt stream");
            goto out;
        }
        if (limit == SIZE_MAX && n >= 4) {
            /* The header is in: from now on the buffer never grows past
             * what it announces. */
            sd_layout_t l;
            size_t header;
            if (idx_header(data, n, &l, &header) < 0) {
                if (n >= 4 + 4 * (size_t)data[3] || rc == Z_STREAM_END)
                    goto out;
            } else {
                size_t es = sd_dtype_size(l.dtype);
                if (l.rows == 0 || l.dim == 0) {
                    sd_fail("IDX (gzip): no data (%zu rows of %zu values)", l.rows, l.dim);
                    goto out;
                }
                if (l.dim > SIZE_MAX / es || l.rows > (SIZE_MAX - header) / (l.dim * es)) {
                    sd_fail("IDX (gzip): the dimensions' product overflows");
                    goto out;
                }
                limit = header + l.rows * l.dim * es;
                if (n > limit) {
                    sd_fail("IDX (gzip): more data than the header announces");
                    goto out;
                }
            }
        }
        if (rc == Z_STREAM_END) {
            if (limit == SIZE_MAX || n < limit) {
                sd_fail("IDX (gzip): the stream ends after %zu bytes, the header announces %zu", n,
                        limit == SIZE_MAX ? (size_t)0 : limit);
                goto out;
            }
            break;
        }
        if (rc == Z_BUF_ERROR && z.avail_in == 0 && in_left == 0) {
            sd_fail("gzip: the stream is truncated");
            goto out;
        }
    }
    *out = data;
    *out_len = n;
    data = NULL;
    ret = 0;
out:
    inflateEnd(&z);
    free(data);
    return ret;
}
