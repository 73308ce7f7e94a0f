/* SPDX-License-Identifier: MIT */
/* Loading model files. The file is hostile until proven otherwise: every
 * length, offset, shape and string is checked against the file size and the
 * config before it is used for an allocation or a read, and every failure
 * is a status with a message, never a crash (docs/file-format.md lists the
 * checks). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "core/error.h"
#include "io/checksum.h"
#include "io/safetensors.h"
#include "io/st_read.h"
#include "config/config.h"
#include "model/model.h"

/* Every message starts with the file's name; a very long path is shortened
 * to its end so that the reason still fits in the message buffer. */
sae_status_t sae_st_fail(const st_load_t *ld, sae_status_t status, const char *fmt, ...)
{
    char reason[SAE_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    size_t n = strlen(ld->path);
    const char *what = ld->want_checkpoint ? "checkpoint" : "model file";
    if (n > 96)
        return sae_fail_global(status, "%s '...%s': %s", what, ld->path + n - 93, reason);
    return sae_fail_global(status, "%s '%s': %s", what, ld->path, reason);
}

/* Names from the file are shown in messages cut to this many bytes. */
#define NAME_FMT "%.64s"

/* ------------------------------------------------------------------------ */
/* Reading the raw parts                                                    */
/* ------------------------------------------------------------------------ */

/* libc reports an allocation failure (fopen's stream, a read buffer) as
 * errno ENOMEM: out of memory, not an unreadable file. */
static sae_status_t io_status(int err)
{
    return err == ENOMEM ? SAE_ERR_NOMEM : SAE_ERR_IO;
}

/* cJSON returns NULL both for bad JSON and when an allocation fails; the
 * allocator's errno ENOMEM (malloc sets it; nothing else in the parser
 * does) tells them apart without global cJSON hooks, which would take the
 * application's own away. */
static cJSON *parse_json(const char *text, size_t n, const char **end, int *nomem)
{
    errno = 0;
    cJSON *json = cJSON_ParseWithLengthOpts(text, n, end, 0);
    *nomem = !json && errno == ENOMEM;
    return json;
}

/* Reads exactly n bytes. A short read is a truncated file (SAE_ERR_FORMAT)
 * unless the stream reports an I/O error. */
static sae_status_t read_exact(st_load_t *ld, void *buf, size_t n, const char *what)
{
    if (fread(buf, 1, n, ld->f) == n)
        return SAE_OK;
    if (ferror(ld->f))
        return sae_st_fail(ld, io_status(errno), "read error in the %s: %s", what, strerror(errno));
    return sae_st_fail(ld, SAE_ERR_FORMAT, "file ends inside the %s", what);
}

static sae_status_t open_file(st_load_t *ld)
{
    ld->f = fopen(ld->path, "rb");
    if (!ld->f)
        return sae_st_fail(ld, io_status(errno), "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fileno(ld->f), &sb) != 0)
        return sae_st_fail(ld, SAE_ERR_IO, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return sae_st_fail(ld, SAE_ERR_IO, "not a regular file");
    ld->file_size = (uint64_t)sb.st_size;
    if (ld->file_size < 8)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                         "%" PRIu64 " bytes is too short for a safetensors file", ld->file_size);
    return SAE_OK;
}

/* Checks that only JSON whitespace follows the header object (safetensors
 * pads with spaces); anything else would be data the format does not say
 * how to read. */
static int only_whitespace(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return 0;
    return 1;
}

static sae_status_t read_header(st_load_t *ld)
{
    unsigned char len_le[8];
    sae_status_t st = read_exact(ld, len_le, 8, "header length");
    if (st != SAE_OK)
        return st;
    ld->header_len = sae_st_load_u64le(len_le);
    if (ld->header_len > ld->file_size - 8)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                         "header length %" PRIu64 " exceeds the %" PRIu64 " bytes after it",
                         ld->header_len, ld->file_size - 8);
    if (ld->header_len > SAE_ST_MAX_HEADER)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                         "header length %" PRIu64 " exceeds the limit of %" PRIu64, ld->header_len,
                         SAE_ST_MAX_HEADER);
    if (ld->header_len < 2)
        return sae_st_fail(ld, SAE_ERR_FORMAT, "header length %" PRIu64 " is too short for JSON",
                         ld->header_len);
    ld->data_size = ld->file_size - 8 - ld->header_len;

    size_t n = (size_t)ld->header_len;
    char *text = malloc(n);
    if (!text)
        return sae_st_fail(ld, SAE_ERR_NOMEM, "out of memory for a %zu-byte header", n);
    st = read_exact(ld, text, n, "header");
    if (st == SAE_OK && text[0] != '{')
        st = sae_st_fail(ld, SAE_ERR_FORMAT, "header does not start with '{'");
    if (st == SAE_OK) {
        const char *end = NULL;
        int nomem = 0;
        ld->header = parse_json(text, n, &end, &nomem);
        if (nomem)
            st = sae_st_fail(ld, SAE_ERR_NOMEM, "out of memory parsing the %zu-byte header", n);
        else if (!ld->header || !cJSON_IsObject(ld->header))
            st = sae_st_fail(ld, SAE_ERR_FORMAT, "header is not a JSON object");
        else if (!end || !only_whitespace(end, text + n))
            st = sae_st_fail(ld, SAE_ERR_FORMAT, "header has bytes after its JSON object");
    }
    free(text);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Metadata                                                                 */
/* ------------------------------------------------------------------------ */

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static sae_status_t parse_checksum(st_load_t *ld, const char *text)
{
    static const char prefix[] = "crc32:";
    size_t plen = sizeof prefix - 1;
    int ok = strncmp(text, prefix, plen) == 0 && strlen(text) == plen + 8;
    for (size_t i = 0; ok && i < 8; i++)
        ok = is_hex(text[plen + i]);
    if (!ok)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                         "checksum '" NAME_FMT "' is not of the form crc32:<8 hex digits>", text);
    ld->crc = (uint32_t)strtoul(text + plen, NULL, 16);
    return SAE_OK;
}

/* Finds the metadata object: exactly one, an object of strings, no key
 * twice (JSON allows duplicates, and which one wins differs by reader). */
static sae_status_t find_metadata(st_load_t *ld)
{
    for (const cJSON *it = ld->header->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") != 0)
            continue;
        if (ld->meta)
            return sae_st_fail(ld, SAE_ERR_FORMAT, "__metadata__ appears twice");
        ld->meta = it;
    }
    if (!ld->meta)
        return sae_st_fail(ld, SAE_ERR_FORMAT, "no __metadata__: not a libsae model file");
    if (!cJSON_IsObject(ld->meta))
        return sae_st_fail(ld, SAE_ERR_FORMAT, "__metadata__ is not an object");
    for (const cJSON *it = ld->meta->child; it; it = it->next) {
        if (!cJSON_IsString(it))
            return sae_st_fail(ld, SAE_ERR_FORMAT, "__metadata__." NAME_FMT " is not a string",
                             it->string);
        for (const cJSON *prev = ld->meta->child; prev != it; prev = prev->next)
            if (strcmp(prev->string, it->string) == 0)
                return sae_st_fail(ld, SAE_ERR_FORMAT, "__metadata__." NAME_FMT " appears twice",
                                 it->string);
    }
    return SAE_OK;
}

static const char *meta_string(const st_load_t *ld, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(ld->meta, key);
    return item ? item->valuestring : NULL;
}

/* Format and version come first: a file of another version may lay out
 * its tensors differently, and should be reported as such, not as
 * malformed. Unknown metadata keys are ignored so that other tools may
 * annotate files. */
static sae_status_t check_metadata(st_load_t *ld)
{
    sae_status_t st = find_metadata(ld);
    if (st != SAE_OK)
        return st;
    const char *format = meta_string(ld, "format");
    if (!format || strcmp(format, SAE_ST_FORMAT) != 0)
        return sae_st_fail(ld, SAE_ERR_FORMAT, "__metadata__.format is not \"" SAE_ST_FORMAT "\"");
    const char *version = meta_string(ld, "format_version");
    if (!version)
        return sae_st_fail(ld, SAE_ERR_FORMAT, "no __metadata__.format_version");
    if (strcmp(version, SAE_ST_FORMAT_VERSION) != 0)
        return sae_st_fail(ld, SAE_ERR_VERSION,
                         "format_version '" NAME_FMT "' is not supported (this library reads "
                         "version " SAE_ST_FORMAT_VERSION ")",
                         version);
    const char *checksum = meta_string(ld, "checksum");
    if (!checksum)
        return sae_st_fail(ld, SAE_ERR_FORMAT, "no __metadata__.checksum");
    const char *ckpt = meta_string(ld, "checkpoint_version");
    ld->checkpoint = ckpt != NULL;
    if (ld->want_checkpoint && !ckpt)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                           "no __metadata__.checkpoint_version: a model file, not a checkpoint "
                           "(sae_model_load reads it)");
    if (ckpt && ld->want_checkpoint && strcmp(ckpt, SAE_CKPT_VERSION) != 0)
        return sae_st_fail(ld, SAE_ERR_VERSION,
                           "checkpoint_version '" NAME_FMT "' is not supported (this library "
                           "reads version " SAE_CKPT_VERSION ")",
                           ckpt);
    ld->config_text = meta_string(ld, "config");
    if (!ld->config_text)
        return sae_st_fail(ld, SAE_ERR_FORMAT, "no __metadata__.config");
    return parse_checksum(ld, checksum);
}

/* ------------------------------------------------------------------------ */
/* Tensor entries                                                           */
/* ------------------------------------------------------------------------ */

static int json_u64(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return 0;
    double v = item->valuedouble;
    if (!(v >= 0.0 && v <= (double)MAX_JSON_INT))
        return 0;
    uint64_t u = (uint64_t)v;
    if ((double)u != v)
        return 0;
    *out = u;
    return 1;
}

static sae_status_t parse_shape(st_load_t *ld, st_entry_t *e, const cJSON *shape)
{
    if (!cJSON_IsArray(shape))
        return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '" NAME_FMT "': shape is not an array",
                         e->name);
    size_t nd = 0;
    for (const cJSON *dim = shape->child; dim; dim = dim->next, nd++) {
        if (nd == MAX_DIMS)
            return sae_st_fail(ld, SAE_ERR_FORMAT,
                             "tensor '" NAME_FMT "' has more than %d dimensions", e->name,
                             MAX_DIMS);
        if (!json_u64(dim, &e->shape[nd]))
            return sae_st_fail(ld, SAE_ERR_FORMAT,
                             "tensor '" NAME_FMT "': shape holds a value that is not a "
                             "non-negative integer",
                             e->name);
    }
    e->ndim = nd;
    return SAE_OK;
}

static sae_status_t parse_offsets(st_load_t *ld, st_entry_t *e, const cJSON *offsets)
{
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !json_u64(offsets->child, &e->begin) || !json_u64(offsets->child->next, &e->end))
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                         "tensor '" NAME_FMT "': data_offsets is not a pair of non-negative "
                         "integers",
                         e->name);
    return SAE_OK;
}

/* The byte size the shape implies must be exactly the offsets' span, with
 * every product checked for overflow before it is trusted. */
static sae_status_t check_extent(st_load_t *ld, const st_entry_t *e)
{
    uint64_t bytes = sae_dtype_size(e->dtype);
    for (size_t d = 0; d < e->ndim; d++) {
        if (e->shape[d] != 0 && bytes > UINT64_MAX / e->shape[d])
            return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '" NAME_FMT "': shape is too large",
                             e->name);
        bytes *= e->shape[d];
    }
    if (e->begin > e->end || e->end > ld->data_size)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                         "tensor '" NAME_FMT "': data_offsets [%" PRIu64 ",%" PRIu64
                         "] fall outside the %" PRIu64 "-byte data section",
                         e->name, e->begin, e->end, ld->data_size);
    if (e->end - e->begin != bytes)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                         "tensor '" NAME_FMT "': data_offsets span %" PRIu64
                         " bytes but the shape needs %" PRIu64,
                         e->name, e->end - e->begin, bytes);
    return SAE_OK;
}

static sae_status_t parse_entry(st_load_t *ld, st_entry_t *e, const cJSON *item)
{
    if (!cJSON_IsObject(item))
        return sae_st_fail(ld, SAE_ERR_FORMAT, "entry '" NAME_FMT "' is not an object", e->name);
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cJSON *f = item->child; f; f = f->next) {
        const cJSON **slot = strcmp(f->string, "dtype") == 0          ? &dtype
                             : strcmp(f->string, "shape") == 0        ? &shape
                             : strcmp(f->string, "data_offsets") == 0 ? &offsets
                                                                      : NULL;
        if (!slot)
            return sae_st_fail(ld, SAE_ERR_FORMAT,
                             "tensor '" NAME_FMT "' has unknown field '" NAME_FMT "'", e->name,
                             f->string);
        if (*slot)
            return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '" NAME_FMT "' has field '%s' twice",
                             e->name, f->string);
        *slot = f;
    }
    if (!dtype || !shape || !offsets)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                         "tensor '" NAME_FMT "' lacks one of dtype, shape, data_offsets", e->name);
    if (!cJSON_IsString(dtype))
        return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '" NAME_FMT "': dtype is not a string",
                         e->name);
    if (sae_dtype_parse(dtype->valuestring, &e->dtype) != 0)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                           "tensor '" NAME_FMT "' has dtype '" NAME_FMT "'; libsae files hold F32 "
                           "(and checkpoints F64, U8, U32, U64)",
                           e->name, dtype->valuestring);
    sae_status_t st = parse_shape(ld, e, shape);
    if (st == SAE_OK)
        st = parse_offsets(ld, e, offsets);
    if (st == SAE_OK)
        st = check_extent(ld, e);
    return st;
}

static sae_status_t parse_entries(st_load_t *ld)
{
    for (const cJSON *it = ld->header->child; it; it = it->next) {
        if (it == ld->meta)
            continue;
        if (ld->n_entries == MAX_ENTRIES)
            return sae_st_fail(ld, SAE_ERR_FORMAT,
                             "more than %d tensors; no libsae model has that many", MAX_ENTRIES);
        st_entry_t *e = &ld->entries[ld->n_entries];
        e->name = it->string;
        for (size_t i = 0; i < ld->n_entries; i++)
            if (strcmp(ld->entries[i].name, e->name) == 0)
                return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '" NAME_FMT "' appears twice",
                                 e->name);
        sae_status_t st = parse_entry(ld, e, it);
        if (st != SAE_OK)
            return st;
        ld->n_entries++;
    }
    return SAE_OK;
}

/* Sorted by offset, the tensors must tile the data section exactly: no
 * byte shared by two tensors (a write through one would change the other)
 * and no byte belonging to none (the format forbids holes, and unread bytes
 * would be unchecked data). */
static sae_status_t check_layout(st_load_t *ld)
{
    for (size_t i = 0; i < ld->n_entries; i++) {
        const st_entry_t *e = &ld->entries[i];
        size_t j = i;
        for (; j > 0; j--) {
            const st_entry_t *p = ld->by_offset[j - 1];
            if (p->begin < e->begin || (p->begin == e->begin && p->end <= e->end))
                break;
            ld->by_offset[j] = p;
        }
        ld->by_offset[j] = e;
    }
    uint64_t covered = 0;
    for (size_t i = 0; i < ld->n_entries; i++) {
        const st_entry_t *e = ld->by_offset[i];
        if (e->begin < covered)
            return sae_st_fail(ld, SAE_ERR_FORMAT,
                             "tensor '" NAME_FMT "' overlaps tensor '" NAME_FMT "' in the data",
                             e->name, ld->by_offset[i - 1]->name);
        if (e->begin > covered)
            return sae_st_fail(ld, SAE_ERR_FORMAT,
                             "data bytes [%" PRIu64 ",%" PRIu64 ") belong to no tensor", covered,
                             e->begin);
        covered = e->end;
    }
    if (covered != ld->data_size)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                         "tensors cover %" PRIu64 " bytes but the data section holds %" PRIu64,
                         covered, ld->data_size);
    return SAE_OK;
}

/* ------------------------------------------------------------------------ */
/* Config and model                                                         */
/* ------------------------------------------------------------------------ */

static sae_status_t set_config_entry(st_load_t *ld, const cJSON *item)
{
    if (!cJSON_IsString(item))
        return sae_st_fail(ld, SAE_ERR_FORMAT, "config value of '" NAME_FMT "' is not a string",
                         item->string);
    sae_status_t st = sae_config_set(ld->cfg, item->string, item->valuestring);
    if (st == SAE_OK)
        return SAE_OK;
    if (st == SAE_ERR_NOMEM)
        return sae_st_fail(ld, st, "out of memory");
    if (st == SAE_ERR_UNKNOWN_KEY)
        return sae_st_fail(ld, SAE_ERR_FORMAT, "config has unknown key '" NAME_FMT "'", item->string);
    return sae_st_fail(ld, SAE_ERR_FORMAT, "config value " NAME_FMT "='" NAME_FMT "' rejected: %s",
                     item->string, item->valuestring, sae_config_errmsg(ld->cfg));
}

/* Keys missing from the file keep their defaults, so that files written
 * before a parameter existed still load. */
static sae_status_t build_config(st_load_t *ld)
{
    const char *end = NULL;
    int nomem = 0;
    size_t n = strlen(ld->config_text);
    cJSON *obj = parse_json(ld->config_text, n, &end, &nomem);
    sae_status_t st = SAE_OK;
    if (nomem)
        st = sae_st_fail(ld, SAE_ERR_NOMEM, "out of memory parsing __metadata__.config");
    else if (!cJSON_IsObject(obj) || !end || !only_whitespace(end, ld->config_text + n))
        st = sae_st_fail(ld, SAE_ERR_FORMAT, "__metadata__.config is not a JSON object");
    if (st == SAE_OK && sae_config_create(&ld->cfg) != SAE_OK)
        st = sae_st_fail(ld, SAE_ERR_NOMEM, "cannot create a config: %s", sae_last_error());
    for (const cJSON *it = obj ? obj->child : NULL; st == SAE_OK && it; it = it->next) {
        for (const cJSON *prev = obj->child; st == SAE_OK && prev != it; prev = prev->next)
            if (strcmp(prev->string, it->string) == 0)
                st = sae_st_fail(ld, SAE_ERR_FORMAT, "config key '" NAME_FMT "' appears twice",
                               it->string);
        if (st == SAE_OK)
            st = set_config_entry(ld, it);
    }
    cJSON_Delete(obj);
    return st;
}

/* The file's data section was already proven to be on disk; refusing a
 * config whose encoder alone would not fit in it keeps a hostile config
 * (input_dim = hidden_dim = 10^9) from driving a huge allocation before the
 * tensor shapes are compared. */
static sae_status_t alloc_model(st_load_t *ld)
{
    int64_t in = 0, hid = 0;
    if (sae_config_get_int(ld->cfg, SAE_P_INPUT_DIM, &in) != SAE_OK ||
        sae_config_get_int(ld->cfg, SAE_P_HIDDEN_DIM, &hid) != SAE_OK || in < 1 || hid < 1)
        return sae_st_fail(ld, SAE_ERR_FORMAT, "config has no valid input and hidden dimensions");
    uint64_t max_floats = ld->data_size / 4;
    if (ld->cfg->layers.n > 0) {
        uint64_t need = sae_netspec_weight_count(&ld->cfg->layers);
        if (need > max_floats)
            return sae_st_fail(ld, SAE_ERR_FORMAT,
                             "config's layers need %" PRIu64 " weights, more than the %" PRIu64
                             "-byte data section holds",
                             need, ld->data_size);
    } else if ((uint64_t)in > max_floats || (uint64_t)hid > max_floats / (uint64_t)in)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                         "config's [%" PRId64 " x %" PRId64 "] encoder does not fit in the %" PRIu64
                         "-byte data section",
                         hid, in, ld->data_size);
    /* What the file asks a trainer to allocate: a batch's rows at the
     * input and code widths. Weights are bounded by the data section;
     * this is not, and 2^24 rows would make the next trainer ask for
     * many GiB. */
    int64_t batch = 0;
    sae_config_get_int(ld->cfg, SAE_P_BATCH_SIZE, &batch);
    uint64_t width = (uint64_t)in + (uint64_t)hid;
    if ((uint64_t)batch > SAE_ST_MAX_BATCH_FLOATS / width)
        return sae_st_fail(ld, SAE_ERR_FORMAT,
                         "config's train.batch_size %" PRId64 " times the %" PRIu64
                         " input and code units exceeds the %" PRIu64 " floats a file may ask of "
                         "a trainer",
                         batch, width, SAE_ST_MAX_BATCH_FLOATS);
    /* decoder.weight holds one row per code unit since the top-k work of
     * 0.1's development; files from before it held [input, hidden]. Files
     * say which since format 1's "decoder_layout"; without it, a 0.1 file
     * with an untied square decoder cannot be told apart. */
    const char *layout = meta_string(ld, "decoder_layout");
    const char *writer = meta_string(ld, "library_version");
    int64_t tied = 0;
    sae_config_get_int(ld->cfg, SAE_P_TIED, &tied);
    if (layout && strcmp(layout, SAE_ST_DECODER_LAYOUT) != 0)
        return sae_st_fail(ld, SAE_ERR_VERSION,
                         "decoder_layout '" NAME_FMT "' is not supported (this library reads "
                         "\"" SAE_ST_DECODER_LAYOUT "\")",
                         layout);
    if (!layout && writer && strncmp(writer, "0.1.", 4) == 0 && !tied && in == hid &&
        ld->cfg->layers.n == 0)
        return sae_st_fail(ld, SAE_ERR_VERSION,
                         "written by libsae %.16s without decoder_layout, and its decoder is "
                         "square (%" PRId64 " x %" PRId64 "): 0.1 builds stored it either way, "
                         "so it cannot be read safely",
                         writer, in, hid);
    char errbuf[SAE_ERRMSG_SIZE] = "";
    sae_status_t st = sae_model_alloc(ld->cfg, &ld->model, errbuf);
    if (st == SAE_OK)
        return SAE_OK;
    ld->model = NULL;
    if (st == SAE_ERR_NOMEM)
        return sae_st_fail(ld, st, "%s", errbuf);
    return sae_st_fail(ld, SAE_ERR_FORMAT, "config rejected: %s", errbuf);
}

static void format_shape(const uint64_t *shape, size_t ndim, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (size_t d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%" PRIu64, d ? "," : "", shape[d]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* Shapes are compared exactly as sae_model_save writes them: weights as
 * [rows, cols], biases as [rows]. */
static sae_status_t match_tensor(st_load_t *ld, size_t t)
{
    const sae_tensor_desc_t *d = &ld->model->tensors[t];
    uint64_t want[2] = {d->rows, d->cols};
    size_t want_nd = d->is_weight ? 2 : 1;
    for (size_t i = 0; i < ld->n_entries; i++) {
        st_entry_t *e = &ld->entries[i];
        if (strcmp(e->name, d->name) != 0)
            continue;
        if (e->dtype != SAE_DT_F32)
            return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '%s' has dtype %s; model tensors are F32",
                               d->name, sae_dtype_name(e->dtype));
        int same = e->ndim == want_nd;
        for (size_t k = 0; same && k < want_nd; k++)
            same = e->shape[k] == want[k];
        if (!same) {
            char got_s[96], want_s[64];
            format_shape(e->shape, e->ndim, got_s, sizeof got_s);
            format_shape(want, want_nd, want_s, sizeof want_s);
            return sae_st_fail(ld, SAE_ERR_FORMAT,
                             "tensor '%s' shape %s does not match the config's %s", d->name, got_s,
                             want_s);
        }
        e->tensor = t;
        return SAE_OK;
    }
    /* Written before its code operator kept it: left zero (code_op.h). */
    if (d->optional)
        return SAE_OK;
    return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '%s' is missing", d->name);
}

static sae_status_t match_tensors(st_load_t *ld)
{
    for (size_t i = 0; i < ld->n_entries; i++)
        ld->entries[i].tensor = SIZE_MAX;
    for (size_t t = 0; t < ld->model->n_tensors; t++) {
        sae_status_t st = match_tensor(ld, t);
        if (st != SAE_OK)
            return st;
    }
    /* A checkpoint's trainer state follows the model's tensors; a model
     * load checksums it and passes over it. */
    for (size_t i = 0; i < ld->n_entries; i++)
        if (ld->entries[i].tensor == SIZE_MAX &&
            !(ld->checkpoint && strncmp(ld->entries[i].name, "trainer.", 8) == 0))
            return sae_st_fail(ld, SAE_ERR_FORMAT, "unexpected tensor '" NAME_FMT "' for this config",
                             ld->entries[i].name);
    return SAE_OK;
}

/* ------------------------------------------------------------------------ */
/* Data                                                                     */
/* ------------------------------------------------------------------------ */

/* Streams the data section in file order (which check_layout proved to be
 * contiguous from the end of the header), checksumming the bytes as they
 * pass and decoding them into the model's parameters. */
sae_status_t sae_st_read_data(st_load_t *ld)
{
    unsigned char buf[SAE_ST_CHUNK];
    uint32_t crc = 0;
    for (size_t i = 0; i < ld->n_entries; i++) {
        const st_entry_t *e = ld->by_offset[i];
        size_t w = sae_dtype_size(e->dtype), per_chunk = SAE_ST_CHUNK / w;
        unsigned char *dst = e->dest;
        if (e->tensor != SIZE_MAX)
            dst = (unsigned char *)(ld->model->weights + ld->model->tensors[e->tensor].offset);
        size_t n = (size_t)((e->end - e->begin) / w);
        for (size_t done = 0; done < n; done += per_chunk) {
            size_t k = n - done < per_chunk ? n - done : per_chunk;
            sae_status_t st = read_exact(ld, buf, w * k, "tensor data");
            if (st != SAE_OK)
                return st;
            crc = sae_crc32_update(crc, buf, w * k);
            if (dst)
                sae_st_decode(e->dtype, buf, k, dst + w * done);
        }
    }
    if (crc != ld->crc)
        return sae_st_fail(ld, SAE_ERR_CHECKSUM,
                         "data checksum crc32:%08" PRIx32
                         " does not match the header's crc32:%08" PRIx32,
                         crc, ld->crc);
    for (size_t t = 0; t < ld->model->n_tensors; t++) {
        const sae_tensor_desc_t *d = &ld->model->tensors[t];
        if (!sae_all_finite(ld->model->weights + d->offset, d->rows * d->cols))
            return sae_st_fail(ld, SAE_ERR_FORMAT, "tensor '%s' holds NaN or Inf", d->name);
    }
    return SAE_OK;
}

sae_status_t sae_st_open_model(st_load_t *ld)
{
    sae_status_t st = open_file(ld);
    if (st == SAE_OK)
        st = read_header(ld);
    if (st == SAE_OK)
        st = check_metadata(ld);
    if (st == SAE_OK)
        st = parse_entries(ld);
    if (st == SAE_OK)
        st = check_layout(ld);
    if (st == SAE_OK)
        st = build_config(ld);
    if (st == SAE_OK)
        st = alloc_model(ld);
    if (st == SAE_OK)
        st = match_tensors(ld);
    return st;
}

void sae_st_close(st_load_t *ld)
{
    if (ld->f)
        fclose(ld->f);
    cJSON_Delete(ld->header);
    sae_config_free(ld->cfg);
    ld->f = NULL;
    ld->header = NULL;
    ld->cfg = NULL;
}

sae_status_t sae_model_load(const char *path, sae_model_t **out)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_load: %s is NULL", path ? "out" : "path");

    st_load_t ld;
    memset(&ld, 0, sizeof ld);
    ld.path = path;
    sae_status_t st = sae_st_open_model(&ld);
    if (st == SAE_OK)
        st = sae_st_read_data(&ld);
    sae_st_close(&ld);
    if (st != SAE_OK) {
        sae_model_free(ld.model);
        return st;
    }
    *out = ld.model;
    return SAE_OK;
}
