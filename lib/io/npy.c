/* SPDX-License-Identifier: MIT */
/* The .npy header parser (io/npy.h). The dict is parsed as what numpy
 * writes, three known keys in any order, and nothing else. */
#include "io/npy.h"

#include <stdio.h>
#include <string.h>

typedef struct cursor {
    const char *p, *end;
} cursor_t;

static void skip_space(cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n'))
        c->p++;
}

static int eat(cursor_t *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "..."), no escapes (numpy's keys and descrs
 * have none); copied into out (size bytes, cut). */
static int quoted(cursor_t *c, char *out, size_t size)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char q = *c->p++;
    const char *s = c->p;
    while (c->p < c->end && *c->p != q && *c->p != '\\')
        c->p++;
    if (c->p >= c->end || *c->p != q)
        return 0;
    size_t n = (size_t)(c->p - s);
    if (n >= size)
        return 0;
    memcpy(out, s, n);
    out[n] = 0;
    c->p++;
    return 1;
}

static int word(cursor_t *c, const char *w)
{
    skip_space(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

static int integer(cursor_t *c, uint64_t *out)
{
    skip_space(c);
    uint64_t v = 0;
    const char *s = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*c->p++ - '0');
    }
    if (c->p < c->end && *c->p == 'L') /* Python 2's long suffix */
        c->p++;
    *out = v;
    return c->p > s;
}

static int shape_tuple(cursor_t *c, npy_info_t *o)
{
    if (!eat(c, '('))
        return 0;
    o->ndim = 0;
    o->count = 1;
    for (;;) {
        if (eat(c, ')'))
            return 1;
        if (o->ndim == NPY_MAX_DIMS)
            return 0;
        uint64_t v;
        if (!integer(c, &v))
            return 0;
        if (v && o->count > UINT64_MAX / 8 / v)
            return 0;
        o->count *= v;
        o->shape[o->ndim++] = v;
        if (!eat(c, ',')) {
            if (!eat(c, ')'))
                return 0;
            return 1;
        }
    }
}

sae_status_t sae_npy_parse(const unsigned char *buf, size_t len, npy_info_t *o, char *why)
{
    memset(o, 0, sizeof *o);
    if (len < 10)
        return len >= 6 && memcmp(buf, "\x93NUMPY", 6) != 0
                   ? (snprintf(why, 128, "not an .npy array (no \\x93NUMPY magic)"), SAE_ERR_FORMAT)
                   : SAE_ERR_RANGE;
    if (memcmp(buf, "\x93NUMPY", 6) != 0) {
        snprintf(why, 128, "not an .npy array (no \\x93NUMPY magic)");
        return SAE_ERR_FORMAT;
    }
    size_t hl, start;
    if (buf[6] == 1) {
        hl = (size_t)buf[8] | (size_t)buf[9] << 8;
        start = 10;
    } else if (buf[6] == 2 || buf[6] == 3) {
        if (len < 12)
            return SAE_ERR_RANGE;
        hl = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        start = 12;
    } else {
        snprintf(why, 128, ".npy format version %d.%d is not known", buf[6], buf[7]);
        return SAE_ERR_FORMAT;
    }
    if (hl > NPY_MAX_HEADER) {
        snprintf(why, 128, ".npy header of %zu bytes exceeds %u", hl, NPY_MAX_HEADER);
        return SAE_ERR_FORMAT;
    }
    if (len < start + hl)
        return SAE_ERR_RANGE;
    o->header_bytes = start + hl;
    cursor_t c = {(const char *)buf + start, (const char *)buf + start + hl};
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    if (!eat(&c, '{'))
        goto bad;
    for (;;) {
        char key[16];
        if (eat(&c, '}'))
            break;
        if (!quoted(&c, key, sizeof key) || !eat(&c, ':'))
            goto bad;
        if (strcmp(key, "descr") == 0 && !seen_descr++) {
            if (!quoted(&c, o->descr, sizeof o->descr))
                goto bad;
        } else if (strcmp(key, "fortran_order") == 0 && !seen_fortran++) {
            if (word(&c, "True"))
                o->fortran = 1;
            else if (!word(&c, "False"))
                goto bad;
        } else if (strcmp(key, "shape") == 0 && !seen_shape++) {
            if (!shape_tuple(&c, o))
                goto bad;
        } else
            goto bad;
        if (!eat(&c, ',')) {
            if (!eat(&c, '}'))
                goto bad;
            break;
        }
    }
    skip_space(&c);
    if (c.p != c.end || !seen_descr || !seen_fortran || !seen_shape)
        goto bad;
    const char *d = o->descr;
    int little = d[0] == '<' || ((d[0] == '|' || d[0] == '=') && 1 == *(const unsigned char *)&(
                                                                        const uint16_t){1});
    if (little && strcmp(d + 1, "f4") == 0)
        o->elem = 4;
    else if (little && strcmp(d + 1, "f2") == 0)
        o->elem = 2;
    return SAE_OK;
bad:
    snprintf(why, 128, ".npy header is not a dict of descr, fortran_order and shape");
    return SAE_ERR_FORMAT;
}
