/* SPDX-License-Identifier: MIT */
/* NumPy .npy files (the format of numpy.lib.format, versions 1.0 to 3.0):
 * magic, version, header length, then a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (R, C), } padded with
 * spaces. Only C-order float32, float16 and uint8 arrays of two or more
 * dimensions are taken; N-D arrays are rows of their trailing dimensions. */
#include "sd.h"

#include <string.h>

#define NPY_MAX_DIMS 32

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int take(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "...") without escapes, into buf. */
static int string(cursor *c, char *buf, size_t size)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return sd_fail("npy header: expected a quoted string");
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= size)
            return sd_fail("npy header: string too long or escaped");
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return sd_fail("npy header: unterminated string");
    c->p++;
    buf[n] = 0;
    return 0;
}

static int word(cursor *c, const char *w)
{
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

static int shape(cursor *c, size_t *dims, size_t *ndim)
{
    if (!take(c, '('))
        return sd_fail("npy header: 'shape' is not a tuple");
    *ndim = 0;
    for (;;) {
        if (take(c, ')'))
            return 0;
        skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return sd_fail("npy header: a dimension is not a non-negative integer");
        size_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            size_t d = (size_t)(*c->p++ - '0');
            if (v > (SIZE_MAX - d) / 10)
                return sd_fail("npy header: a dimension overflows");
            v = v * 10 + d;
        }
        if (*ndim == NPY_MAX_DIMS)
            return sd_fail("npy header: more than %d dimensions", NPY_MAX_DIMS);
        dims[(*ndim)++] = v;
        if (take(c, ','))
            continue;
        if (!take(c, ')'))
            return sd_fail("npy header: bad 'shape' tuple");
        return 0;
    }
}

int sd_parse_npy(const uint8_t *buf, size_t len, sd_layout_t *out)
{
    static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (len < 10 || memcmp(buf, magic, 6) != 0)
        return sd_fail("not a .npy file (no \\x93NUMPY magic)");
    unsigned major = buf[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return sd_fail("npy: truncated header");
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
               (size_t)buf[11] << 24;
        hstart = 12;
    } else {
        return sd_fail("npy: format version %u.%u is not supported (1.0 to 3.0)", major,
                       (unsigned)buf[7]);
    }
    if (hlen > len - hstart)
        return sd_fail("npy: the header claims %zu bytes, the file has %zu after the magic",
                       hlen, len - hstart);
    cursor c = {(const char *)buf + hstart, (const char *)buf + hstart + hlen};
    char key[32], descr[16] = "";
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    size_t dims[NPY_MAX_DIMS], ndim = 0;
    if (!take(&c, '{'))
        return sd_fail("npy header: not a dict");
    for (;;) {
        if (take(&c, '}'))
            break;
        if (string(&c, key, sizeof key) < 0)
            return -1;
        if (!take(&c, ':'))
            return sd_fail("npy header: expected ':' after '%s'", key);
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (string(&c, descr, sizeof descr) < 0)
                return -1;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            if (word(&c, "True"))
                fortran = 1;
            else if (!word(&c, "False"))
                return sd_fail("npy header: 'fortran_order' is neither True nor False");
            have_order = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (shape(&c, dims, &ndim) < 0)
                return -1;
            have_shape = 1;
        } else {
            return sd_fail("npy header: unexpected or repeated key '%s'", key);
        }
        if (!take(&c, ',')) {
            if (!take(&c, '}'))
                return sd_fail("npy header: expected ',' or '}'");
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return sd_fail("npy header: 'descr', 'fortran_order' and 'shape' are all required");
    if (fortran)
        return sd_fail("npy: Fortran-order arrays are not supported (save with C order, "
                       "numpy.ascontiguousarray)");
    if (strcmp(descr, "<f4") == 0)
        out->dtype = SD_F32;
    else if (strcmp(descr, "<f2") == 0)
        out->dtype = SD_F16;
    else if (strcmp(descr, "|u1") == 0 || strcmp(descr, "<u1") == 0)
        out->dtype = SD_U8;
    else
        return sd_fail("npy: element type '%s' is not supported (float32 '<f4', float16 "
                       "'<f2' or uint8 '|u1')", descr);
    if (ndim < 2)
        return sd_fail("npy: a %zu-D array; rows need two or more dimensions (reshape to "
                       "(rows, dim))", ndim);
    size_t dim = 1;
    for (size_t i = 1; i < ndim; i++) {
        if (dims[i] != 0 && dim > SIZE_MAX / dims[i])
            return sd_fail("npy: the shape's product overflows");
        dim *= dims[i];
    }
    out->offset = hstart + hlen;
    out->rows = dims[0];
    out->dim = dim;
    if (sd_layout_check(out, len, "npy") < 0)
        return -1;
    size_t need = out->rows * out->dim * sd_dtype_size(out->dtype);
    if (need != len - out->offset)
        return sd_fail("npy: %zu bytes follow the %zu bytes of data the header announces",
                       len - out->offset - need, need);
    return 0;
}
