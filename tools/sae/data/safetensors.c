/* SPDX-License-Identifier: MIT */
/* One tensor of a safetensors file (8-byte little-endian header length, a
 * JSON header naming each tensor's dtype, shape and [begin, end) data
 * offsets, then the data). The header is parsed with cJSON; every number is
 * checked before use. Rows are the first dimension, a row the product of
 * the others (a 1-D tensor is one value a row). */
#include "sd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Headers are a few kB; anything past this is refused before parsing. */
#define ST_MAX_HEADER ((uint64_t)100 << 20)

static int size_value(const cJSON *v, size_t *out)
{
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    /* Integers up to 2^53 are exact in a double; larger ones are not sizes
     * a file of this machine can hold anyway. */
    if (!(d >= 0) || d > 9007199254740992.0 || d != floor(d) || (double)(size_t)d != d)
        return -1;
    *out = (size_t)d;
    return 0;
}

static int tensor_list(const cJSON *root, char *buf, size_t size)
{
    size_t n = 0, used = 0;
    buf[0] = 0;
    for (const cJSON *t = root->child; t; t = t->next) {
        if (!t->string || strcmp(t->string, "__metadata__") == 0)
            continue;
        n++;
        if (used + strlen(t->string) + 3 < size)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", t->string);
    }
    return (int)(n > 1000000 ? 1000000 : n);
}

int sd_parse_safetensors(const uint8_t *buf, size_t len, const char *name, sd_layout_t *out)
{
    if (len < 8)
        return sd_fail("safetensors: %zu bytes is too short", len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | buf[i];
    if (hlen > len - 8 || hlen > ST_MAX_HEADER)
        return sd_fail("safetensors: the header length %llu does not fit the file (%zu bytes)",
                       (unsigned long long)hlen, len);
    errno = 0;
    cJSON *root = cJSON_ParseWithLength((const char *)buf + 8, (size_t)hlen);
    /* cJSON says NULL for both; its allocator (malloc) sets ENOMEM */
    if (!root && errno == ENOMEM)
        return sd_fail("safetensors: out of memory parsing the header");
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sd_fail("safetensors: the header is not a JSON object");
    }
    int ret = -1;
    char names[256];
    const cJSON *t = NULL;
    if (name) {
        t = cJSON_GetObjectItemCaseSensitive(root, name);
        if (!t || strcmp(name, "__metadata__") == 0) {
            tensor_list(root, names, sizeof names);
            sd_fail("safetensors: no tensor '%s' (the file has: %s)", name, names);
            goto out;
        }
    } else {
        int n = tensor_list(root, names, sizeof names);
        if (n != 1) {
            sd_fail("safetensors: %d tensors, name one with --tensor (the file has: %s)", n, names);
            goto out;
        }
        for (t = root->child; t && strcmp(t->string, "__metadata__") == 0; t = t->next)
            ;
        name = t->string;
    }
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    if (!cJSON_IsObject(t) || !cJSON_IsString(dtype) || !cJSON_IsArray(shape) ||
        !cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2) {
        sd_fail("safetensors: tensor '%s' lacks a dtype, shape or data_offsets entry", name);
        goto out;
    }
    static const struct {
        const char *name;
        sd_dtype_t t;
    } types[] = {{"F32", SD_F32}, {"F16", SD_F16}, {"BF16", SD_BF16}, {"U8", SD_U8}};
    size_t k = 0;
    while (k < 4 && strcmp(dtype->valuestring, types[k].name) != 0)
        k++;
    if (k == 4) {
        sd_fail("safetensors: tensor '%s' has dtype %s (F32, F16, BF16 or U8 are read)", name,
                dtype->valuestring);
        goto out;
    }
    out->dtype = types[k].t;
    int nd = cJSON_GetArraySize(shape);
    if (nd < 1) {
        sd_fail("safetensors: tensor '%s' is a scalar", name);
        goto out;
    }
    size_t rows = 0, dim = 1, begin, end;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        size_t v;
        if (size_value(d, &v) < 0) {
            sd_fail("safetensors: tensor '%s': a dimension is not a non-negative integer", name);
            goto out;
        }
        if (i == 0) {
            rows = v;
        } else {
            if (v != 0 && dim > SIZE_MAX / v) {
                sd_fail("safetensors: tensor '%s': the shape's product overflows", name);
                goto out;
            }
            dim *= v;
        }
    }
    if (size_value(offs->child, &begin) < 0 || size_value(offs->child->next, &end) < 0 ||
        end < begin) {
        sd_fail("safetensors: tensor '%s': bad data_offsets", name);
        goto out;
    }
    size_t data_start = 8 + (size_t)hlen, data_len = len - data_start;
    if (end > data_len) {
        sd_fail("safetensors: tensor '%s' ends at byte %zu of a %zu-byte data section", name, end,
                data_len);
        goto out;
    }
    out->offset = data_start + begin;
    out->rows = rows;
    out->dim = dim;
    if (sd_layout_check(out, data_start + end, "safetensors") < 0)
        goto out;
    if (rows * dim * sd_dtype_size(out->dtype) != end - begin) {
        sd_fail("safetensors: tensor '%s': its shape needs %zu bytes, its offsets give %zu", name,
                rows * dim * sd_dtype_size(out->dtype), end - begin);
        goto out;
    }
    ret = 0;
out:
    cJSON_Delete(root);
    return ret;
}
