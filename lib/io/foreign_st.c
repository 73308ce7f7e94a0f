/* SPDX-License-Identifier: MIT */
/* The foreign safetensors reader (io/foreign_st.h): the format is an
 * 8-byte little-endian header length, a JSON object of tensors
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}} and an
 * optional "__metadata__", then the data section. */
#include "io/foreign_st.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "core/error.h"
#include "io/safetensors.h"

#define NAME_FMT "%.64s"

__attribute__((format(printf, 3, 4))) static sae_status_t fail(const fst_file_t *sf,
                                                              sae_status_t st, const char *fmt,
                                                              ...)
{
    char reason[SAE_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    size_t n = strlen(sf->path);
    if (n > 80)
        return sae_fail_global(st, "'...%s': %s", sf->path + n - 77, reason);
    return sae_fail_global(st, "'%s': %s", sf->path, reason);
}

float sae_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13); /* Inf, NaN (payload kept) */
    } else if (exp != 0) {
        u = sign | ((exp + 112u) << 23) | (man << 13); /* rebias 15 -> 127 */
    } else if (man == 0) {
        u = sign;
    } else {
        /* Subnormal: man * 2^-24, normal in binary32; shift the leading 1 out. */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400u));
        u = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float sae_bf16_bits_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static size_t dtype_size(fst_dtype_t dt)
{
    return dt == FST_F32 ? 4 : 2;
}

static int json_u64(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return 0;
    double v = item->valuedouble;
    if (!(v >= 0) || v > 9007199254740992.0 || v != (double)(uint64_t)v)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static sae_status_t parse_tensor(fst_file_t *sf, const cJSON *item)
{
    if (sf->n == FST_MAX_TENSORS)
        return fail(sf, SAE_ERR_FORMAT, "more than %d tensors", FST_MAX_TENSORS);
    fst_tensor_t *t = &sf->tensors[sf->n];
    memset(t, 0, sizeof *t);
    if (strlen(item->string) >= FST_NAME_MAX)
        return fail(sf, SAE_ERR_FORMAT, "tensor name '" NAME_FMT "...' is too long", item->string);
    strcpy(t->name, item->string);
    for (size_t i = 0; i < sf->n; i++)
        if (strcmp(sf->tensors[i].name, t->name) == 0)
            return fail(sf, SAE_ERR_FORMAT, "tensor '%s' appears twice", t->name);
    if (!cJSON_IsObject(item))
        return fail(sf, SAE_ERR_FORMAT, "tensor '%s' is not an object", t->name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs))
        return fail(sf, SAE_ERR_FORMAT, "tensor '%s' lacks a dtype string, shape or data_offsets",
                    t->name);
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dtype->valuestring);
    t->dtype = strcmp(t->dtype_name, "F32") == 0    ? FST_F32
               : strcmp(t->dtype_name, "F16") == 0  ? FST_F16
               : strcmp(t->dtype_name, "BF16") == 0 ? FST_BF16
                                                    : FST_OTHER;
    int nd = cJSON_GetArraySize(shape);
    if (nd > FST_MAX_DIMS)
        return fail(sf, SAE_ERR_FORMAT, "tensor '%s' has %d dimensions (at most %d)", t->name, nd,
                    FST_MAX_DIMS);
    t->ndim = (size_t)nd;
    uint64_t count = 1;
    for (int i = 0; i < nd; i++) {
        if (!json_u64(cJSON_GetArrayItem(shape, i), &t->shape[i]))
            return fail(sf, SAE_ERR_FORMAT, "tensor '%s': shape[%d] is not a size", t->name, i);
        if (t->shape[i] && count > UINT64_MAX / 8 / t->shape[i])
            return fail(sf, SAE_ERR_FORMAT, "tensor '%s': shape overflows", t->name);
        count *= t->shape[i];
    }
    t->count = count;
    if (cJSON_GetArraySize(offs) != 2 || !json_u64(cJSON_GetArrayItem(offs, 0), &t->begin) ||
        !json_u64(cJSON_GetArrayItem(offs, 1), &t->end) || t->end < t->begin)
        return fail(sf, SAE_ERR_FORMAT, "tensor '%s': data_offsets is not [begin, end]", t->name);
    if (t->end > sf->data_size)
        return fail(sf, SAE_ERR_FORMAT,
                    "tensor '%s' ends at byte %" PRIu64 " of a %" PRIu64 "-byte data section",
                    t->name, t->end, sf->data_size);
    /* The size of an unknown dtype is not known: checked when it is read. */
    if (t->dtype != FST_OTHER && t->end - t->begin != count * dtype_size(t->dtype))
        return fail(sf, SAE_ERR_FORMAT,
                    "tensor '%s': %" PRIu64 " bytes for %" PRIu64 " elements of %s", t->name,
                    t->end - t->begin, count, t->dtype_name);
    sf->n++;
    return SAE_OK;
}

sae_status_t sae_fst_open(fst_file_t *sf, const char *path)
{
    memset(sf, 0, sizeof *sf);
    sf->path = path;
    sf->f = fopen(path, "rb");
    if (!sf->f)
        return fail(sf, errno == ENOMEM ? SAE_ERR_NOMEM : SAE_ERR_IO, "cannot open: %s",
                    strerror(errno));
    struct stat sb;
    if (fstat(fileno(sf->f), &sb) != 0 || !S_ISREG(sb.st_mode))
        return fail(sf, SAE_ERR_IO, "not a regular file");
    uint64_t size = (uint64_t)sb.st_size;
    unsigned char len_le[8];
    if (size < 10 || fread(len_le, 1, 8, sf->f) != 8)
        return fail(sf, SAE_ERR_FORMAT, "%" PRIu64 " bytes is too short for a safetensors file",
                    size);
    uint64_t hlen = sae_st_load_u64le(len_le);
    if (hlen < 2 || hlen > size - 8 || hlen > SAE_ST_MAX_HEADER)
        return fail(sf, SAE_ERR_FORMAT,
                    "header length %" PRIu64 " does not fit a %" PRIu64 "-byte file (limit %" PRIu64
                    ")",
                    hlen, size, SAE_ST_MAX_HEADER);
    sf->data_offset = 8 + hlen;
    sf->data_size = size - 8 - hlen;
    char *text = malloc((size_t)hlen);
    if (!text)
        return fail(sf, SAE_ERR_NOMEM, "out of memory for the header");
    if (fread(text, 1, (size_t)hlen, sf->f) != (size_t)hlen) {
        free(text);
        return fail(sf, SAE_ERR_FORMAT, "file ends inside the header");
    }
    const char *end = NULL;
    errno = 0;
    cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
    /* cJSON says NULL for both; its allocator (malloc) sets ENOMEM */
    int nomem = !root && errno == ENOMEM;
    int trailing = 0;
    for (const char *p = end; root && p && p < text + hlen; p++)
        trailing |= *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r';
    free(text);
    if (nomem)
        return fail(sf, SAE_ERR_NOMEM, "out of memory parsing the header");
    if (!root || !cJSON_IsObject(root) || trailing) {
        cJSON_Delete(root);
        return fail(sf, SAE_ERR_FORMAT, "header is not a JSON object");
    }
    sae_status_t st = SAE_OK;
    for (const cJSON *it = root->child; it && st == SAE_OK; it = it->next)
        if (strcmp(it->string, "__metadata__") != 0)
            st = parse_tensor(sf, it);
    cJSON_Delete(root);
    return st;
}

void sae_fst_close(fst_file_t *sf)
{
    if (sf->f)
        fclose(sf->f);
    sf->f = NULL;
}

const fst_tensor_t *sae_fst_find(const fst_file_t *sf, const char *name)
{
    for (size_t i = 0; i < sf->n; i++)
        if (strcmp(sf->tensors[i].name, name) == 0)
            return &sf->tensors[i];
    return NULL;
}

sae_status_t sae_fst_read(fst_file_t *sf, const fst_tensor_t *t, float *dst)
{
    if (t->dtype == FST_OTHER)
        return fail(sf, SAE_ERR_UNSUPPORTED,
                    "tensor '%s' has dtype '%s'; libsae reads F32, F16 and BF16", t->name,
                    t->dtype_name);
    if (fseeko(sf->f, (off_t)(sf->data_offset + t->begin), SEEK_SET) != 0)
        return fail(sf, SAE_ERR_IO, "cannot seek to tensor '%s': %s", t->name, strerror(errno));
    size_t w = dtype_size(t->dtype), per = SAE_ST_CHUNK / w;
    unsigned char buf[SAE_ST_CHUNK];
    for (uint64_t done = 0; done < t->count;) {
        size_t k = t->count - done < per ? (size_t)(t->count - done) : per;
        if (fread(buf, w, k, sf->f) != k)
            return fail(sf, ferror(sf->f) ? SAE_ERR_IO : SAE_ERR_FORMAT,
                        "short read in tensor '%s'", t->name);
        if (t->dtype == FST_F32)
            sae_st_decode_f32(buf, k, dst + done);
        else
            for (size_t i = 0; i < k; i++) {
                uint16_t h = (uint16_t)(buf[2 * i] | buf[2 * i + 1] << 8);
                dst[done + i] = t->dtype == FST_F16 ? sae_f16_to_f32(h) : sae_bf16_bits_to_f32(h);
            }
        done += k;
    }
    return SAE_OK;
}
