/* SPDX-License-Identifier: MIT */
/* Element types, their conversion to float, and the readers' error message. */
#include "sd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char errbuf[512];

const char *sd_errmsg(void) { return errbuf; }

int sd_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return -1;
}

size_t sd_dtype_size(sd_dtype_t t)
{
    switch (t) {
    case SD_F32:
    case SD_F32BE:
        return 4;
    case SD_F16:
    case SD_BF16:
        return 2;
    case SD_U8:
        return 1;
    }
    return 0;
}

const char *sd_dtype_name(sd_dtype_t t)
{
    switch (t) {
    case SD_F32:
        return "float32";
    case SD_F32BE:
        return "float32 (big-endian)";
    case SD_F16:
        return "float16";
    case SD_BF16:
        return "bfloat16";
    case SD_U8:
        return "uint8";
    }
    return "?";
}

int sd_dtype_parse(const char *s, sd_dtype_t *t)
{
    static const struct {
        const char *name;
        sd_dtype_t t;
    } names[] = {{"f32", SD_F32}, {"float32", SD_F32}, {"f16", SD_F16}, {"float16", SD_F16},
                 {"bf16", SD_BF16}, {"bfloat16", SD_BF16}, {"u8", SD_U8}, {"uint8", SD_U8}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *t = names[i].t;
            return 0;
        }
    return sd_fail("unknown element type '%s' (f32, f16, bf16 or u8)", s);
}

static float bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* IEEE 754 binary16 to binary32, exact for every value (subnormals, inf,
 * NaN with its payload). */
float sd_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f)
        return bits_to_float(sign | 0x7f800000u | man << 13);
    if (exp == 0) {
        if (man == 0)
            return bits_to_float(sign);
        /* Subnormal: man * 2^-24, exact in binary32. */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return bits_to_float(sign | (exp + 112u) << 23 | man << 13);
}

float sd_bf16_to_float(uint16_t h) { return bits_to_float((uint32_t)h << 16); }

void sd_convert(const uint8_t *src, sd_dtype_t t, size_t n, float u8_divisor, float *dst)
{
    switch (t) {
    case SD_F32:
        for (size_t i = 0; i < n; i++, src += 4)
            dst[i] = bits_to_float((uint32_t)src[0] | (uint32_t)src[1] << 8 |
                                   (uint32_t)src[2] << 16 | (uint32_t)src[3] << 24);
        break;
    case SD_F32BE:
        for (size_t i = 0; i < n; i++, src += 4)
            dst[i] = bits_to_float((uint32_t)src[3] | (uint32_t)src[2] << 8 |
                                   (uint32_t)src[1] << 16 | (uint32_t)src[0] << 24);
        break;
    case SD_F16:
        for (size_t i = 0; i < n; i++, src += 2)
            dst[i] = sd_half_to_float((uint16_t)(src[0] | src[1] << 8));
        break;
    case SD_BF16:
        for (size_t i = 0; i < n; i++, src += 2)
            dst[i] = sd_bf16_to_float((uint16_t)(src[0] | src[1] << 8));
        break;
    case SD_U8:
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)src[i] / u8_divisor;
        break;
    }
}

/* rows * dim * size must fit in the bytes after offset. */
int sd_layout_check(const sd_layout_t *l, size_t len, const char *what)
{
    size_t es = sd_dtype_size(l->dtype);
    if (l->rows == 0 || l->dim == 0)
        return sd_fail("%s: no data (%zu rows of %zu values)", what, l->rows, l->dim);
    if (l->offset > len)
        return sd_fail("%s: the data would start at byte %zu of a %zu-byte file", what,
                       l->offset, len);
    if (l->dim > SIZE_MAX / es || l->rows > SIZE_MAX / (l->dim * es))
        return sd_fail("%s: %zu x %zu values overflow a size", what, l->rows, l->dim);
    size_t need = l->rows * l->dim * es, have = len - l->offset;
    if (need > have)
        return sd_fail("%s: the header announces %zu bytes of data, the file holds %zu "
                       "(truncated?)", what, need, have);
    return 0;
}
