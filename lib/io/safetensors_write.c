/* SPDX-License-Identifier: MIT */
/* Writing model files: safetensors with the config, format version and a
 * CRC-32 of the data in "__metadata__" (docs/file-format.md). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/checksum.h"
#include "io/safetensors.h"
#include "config/config.h"
#include "model/model.h"

/* ------------------------------------------------------------------------ */
/* Header                                                                   */
/* ------------------------------------------------------------------------ */

/* Numbers go in as raw text rather than cJSON doubles: offsets are 64-bit
 * integers, and a double printed by cJSON could turn into "1e+16" or lose
 * digits, which strict safetensors readers refuse. */
static int add_u64(cJSON *array, uint64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, v);
    return cJSON_AddItemToArray(array, cJSON_CreateRaw(text)) ? 0 : -1;
}

static cJSON *tensor_entry(const sae_st_tensor_t *t, uint64_t begin, uint64_t end)
{
    cJSON *entry = cJSON_CreateObject();
    int bad = !cJSON_AddStringToObject(entry, "dtype", sae_dtype_name(t->dtype));
    cJSON *shape = bad ? NULL : cJSON_AddArrayToObject(entry, "shape");
    bad = bad || !shape;
    for (size_t d = 0; !bad && d < t->ndim; d++)
        bad = add_u64(shape, t->shape[d]) != 0;
    cJSON *offsets = bad ? NULL : cJSON_AddArrayToObject(entry, "data_offsets");
    bad = bad || !offsets || add_u64(offsets, begin) != 0 || add_u64(offsets, end) != 0;
    if (bad) {
        cJSON_Delete(entry);
        return NULL;
    }
    return entry;
}

static size_t tensor_elems(const sae_st_tensor_t *t)
{
    size_t n = 1;
    for (size_t d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

/* The bytes of the tensor data exactly as they will sit in the file. */
static uint32_t data_crc(const sae_st_tensor_t *tensors, size_t n_tensors)
{
    unsigned char buf[SAE_ST_CHUNK];
    uint32_t crc = 0;
    for (size_t i = 0; i < n_tensors; i++) {
        size_t n = tensor_elems(&tensors[i]), w = sae_dtype_size(tensors[i].dtype);
        size_t per_chunk = SAE_ST_CHUNK / w;
        for (size_t done = 0; done < n; done += per_chunk) {
            size_t k = n - done < per_chunk ? n - done : per_chunk;
            sae_st_encode(tensors[i].dtype, (const unsigned char *)tensors[i].data + w * done, k,
                          buf);
            crc = sae_crc32_update(crc, buf, w * k);
        }
    }
    return crc;
}

/* Builds the JSON header, padded with spaces to a multiple of 8 bytes so
 * that the data section starts 8-byte aligned (as safetensors writers do,
 * which lets readers map the data directly). */
static sae_status_t build_header(const sae_st_tensor_t *tensors, size_t n_tensors,
                                 const sae_st_meta_t *meta, size_t n_meta, char **text, size_t *len,
                                 char *errbuf)
{
    char checksum[32];
    snprintf(checksum, sizeof checksum, "crc32:%08" PRIx32, data_crc(tensors, n_tensors));

    cJSON *root = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(root, "__metadata__");
    int bad = md == NULL;
    for (size_t i = 0; !bad && i < n_meta; i++)
        bad = !cJSON_AddStringToObject(md, meta[i].key, meta[i].value);
    if (!bad)
        bad = !cJSON_AddStringToObject(md, "checksum", checksum);

    uint64_t offset = 0;
    for (size_t i = 0; !bad && i < n_tensors; i++) {
        uint64_t end =
            offset + sae_dtype_size(tensors[i].dtype) * (uint64_t)tensor_elems(&tensors[i]);
        cJSON *entry = tensor_entry(&tensors[i], offset, end);
        bad = !entry || !cJSON_AddItemToObject(root, tensors[i].name, entry);
        if (entry && bad)
            cJSON_Delete(entry);
        offset = end;
    }

    char *json = bad ? NULL : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "out of memory building the file header");

    size_t n = strlen(json);
    size_t padded = (n + 7) & ~(size_t)7;
    char *out = malloc(padded);
    if (!out) {
        cJSON_free(json);
        return sae_fail(errbuf, SAE_ERR_NOMEM, "out of memory building the file header");
    }
    memcpy(out, json, n);
    memset(out + n, ' ', padded - n);
    cJSON_free(json);
    *text = out;
    *len = padded;
    return SAE_OK;
}

/* ------------------------------------------------------------------------ */
/* The file's bytes                                                         */
/* ------------------------------------------------------------------------ */

typedef struct st_content {
    const char *header;
    size_t header_len;
    const sae_st_tensor_t *tensors;
    size_t n_tensors;
} st_content_t;

/* The writer core/atomic_file.c calls with the temporary's descriptor. */
static int write_content(int fd, void *ctx)
{
    const st_content_t *c = ctx;
    unsigned char buf[SAE_ST_CHUNK];
    sae_st_store_u64le(buf, (uint64_t)c->header_len);
    if (sae_write_all(fd, buf, 8) != 0 || sae_write_all(fd, c->header, c->header_len) != 0)
        return -1;
    for (size_t i = 0; i < c->n_tensors; i++) {
        const sae_st_tensor_t *t = &c->tensors[i];
        size_t n = tensor_elems(t), w = sae_dtype_size(t->dtype);
        size_t per_chunk = SAE_ST_CHUNK / w;
        for (size_t done = 0; done < n; done += per_chunk) {
            size_t k = n - done < per_chunk ? n - done : per_chunk;
            sae_st_encode(t->dtype, (const unsigned char *)t->data + w * done, k, buf);
            if (sae_write_all(fd, buf, w * k) != 0)
                return -1;
        }
    }
    return 0;
}

static sae_status_t check_sizes(const sae_st_tensor_t *tensors, size_t n_tensors, char *errbuf)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n_tensors; i++) {
        uint64_t n = 1;
        for (size_t d = 0; d < tensors[i].ndim; d++) {
            uint64_t s = tensors[i].shape[d];
            if (s != 0 && n > UINT64_MAX / 8 / s)
                return sae_fail(errbuf, SAE_ERR_RANGE, "tensor '%s' is too large to save",
                                tensors[i].name);
            n *= s;
        }
        /* Offsets must stay exact in readers that hold JSON numbers in
         * doubles (JavaScript, some Python paths): 2^53. */
        uint64_t bytes = sae_dtype_size(tensors[i].dtype) * n;
        if (bytes > ((uint64_t)1 << 53) - total)
            return sae_fail(errbuf, SAE_ERR_RANGE, "tensor data too large for the file format");
        total += bytes;
    }
    return SAE_OK;
}

sae_status_t sae_st_save(const char *path, const sae_st_tensor_t *tensors, size_t n_tensors,
                         const sae_st_meta_t *meta, size_t n_meta, char *errbuf)
{
    sae_status_t st = check_sizes(tensors, n_tensors, errbuf);
    if (st != SAE_OK)
        return st;

    char *header = NULL;
    size_t header_len = 0;
    st = build_header(tensors, n_tensors, meta, n_meta, &header, &header_len, errbuf);
    if (st != SAE_OK)
        return st;

    st_content_t content = {header, header_len, tensors, n_tensors};
    st = sae_atomic_write(path, "model", write_content, &content, errbuf);
    free(header);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

/* The whole config as a JSON object {name: value text}, itself stored as a
 * string because safetensors metadata values must be strings. Text values
 * (not numbers) keep enum names readable and let sae_config_set parse them
 * back exactly as a user's config file would be parsed. */
static sae_status_t config_json(const sae_config_t *cfg, char **out, char *errbuf)
{
    cJSON *obj = cJSON_CreateObject();
    int bad = obj == NULL;
    sae_param_t p;
    for (size_t i = 0; !bad && sae_param_at(i, &p) == SAE_OK; i++) {
        const char *name = sae_param_name(p);
        char value[128];
        if (!name || sae_config_get(cfg, name, value, sizeof value) != SAE_OK) {
            cJSON_Delete(obj);
            return sae_fail(errbuf, SAE_ERR_STATE, "cannot read config parameter %d for saving",
                            (int)p);
        }
        bad = !cJSON_AddStringToObject(obj, name, value);
    }
    /* The text-valued settings that differ from their defaults. */
    for (size_t i = 0; !bad && i < sae_text_keys_len; i++) {
        const sae_text_key_t *tk = &sae_text_keys[i];
        if (!tk->is_set(cfg))
            continue;
        char text[4096];
        tk->format(cfg, text, sizeof text);
        bad = !cJSON_AddStringToObject(obj, tk->name, text);
    }
    char *text = bad ? NULL : cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    if (!text)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "out of memory serialising the config");
    *out = text;
    return SAE_OK;
}

sae_status_t sae_model_save_with(const sae_model_t *model, const char *path,
                                 const sae_st_tensor_t *extra, size_t n_extra,
                                 const sae_st_meta_t *extra_meta, size_t n_extra_meta,
                                 char *errmsg)
{
    size_t n = model->n_tensors + n_extra;
    sae_st_tensor_t *tensors = malloc((n ? n : 1) * sizeof *tensors);
    if (!tensors)
        return sae_fail(errmsg, SAE_ERR_NOMEM, "cannot save to '%s': out of memory", path);
    for (size_t i = 0; i < model->n_tensors; i++) {
        const sae_tensor_desc_t *d = &model->tensors[i];
        const float *data = model->weights + d->offset;
        /* A file the loader would refuse is worse than no file. */
        if (!sae_all_finite(data, d->rows * d->cols)) {
            free(tensors);
            return sae_fail(errmsg, SAE_ERR_NONFINITE,
                            "cannot save model to '%s': tensor '%s' holds NaN or Inf", path,
                            d->name);
        }
        tensors[i].name = d->name;
        tensors[i].data = data;
        tensors[i].dtype = SAE_DT_F32;
        /* Biases are vectors; saving them as such is what other safetensors
         * users (PyTorch state dicts) expect. */
        tensors[i].ndim = d->is_weight ? 2 : 1;
        tensors[i].shape[0] = d->rows;
        tensors[i].shape[1] = d->is_weight ? d->cols : 1;
    }
    if (n_extra)
        memcpy(tensors + model->n_tensors, extra, n_extra * sizeof *extra);

    char *config = NULL;
    sae_status_t st = config_json(sae_model_config(model), &config, errmsg);
    sae_st_meta_t meta[12] = {
        {"format", SAE_ST_FORMAT},
        {"format_version", SAE_ST_FORMAT_VERSION},
        {"decoder_layout", SAE_ST_DECODER_LAYOUT},
        {"config", config},
        {"library_version", sae_version_string()},
    };
    size_t n_meta = 5;
    for (size_t i = 0; i < n_extra_meta && n_meta < 12; i++)
        meta[n_meta++] = extra_meta[i];
    if (st == SAE_OK)
        st = sae_st_save(path, tensors, n, meta, n_meta, errmsg);
    cJSON_free(config);
    free(tensors);
    return st;
}

sae_status_t sae_model_save(const sae_model_t *model, const char *path)
{
    if (!model)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_save: model is NULL");
    /* The message buffer is the one mutable part of a const model handle:
     * reporting an error does not change the model. */
    char *errmsg = ((sae_model_t *)model)->errmsg;
    if (!path)
        return sae_fail(errmsg, SAE_ERR_NULL, "sae_model_save: path is NULL");
    if (model->bf16)
        return sae_model_need_fp32((sae_model_t *)model, "sae_model_save");
    return sae_model_save_with(model, path, NULL, 0, NULL, 0, errmsg);
}
