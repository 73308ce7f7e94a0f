/* SPDX-License-Identifier: MIT */
/* Model files: round trips, the golden file, every rejection path of the
 * loader, and atomic saving. Hostile files are made by editing the header
 * of a valid file with cJSON, so each test changes one thing only. */
#include "testutil.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "io/checksum.h"
#include "model/model.h"

#define GOLDEN "golden-v1-untied.safetensors"
/* Three of its weights, exactly (tests/make_golden.c --dump prints all). */
#define GOLDEN_ENC_W_0_0 0x1.3e3072p-2f  /* encoder.weight[0][0] */
#define GOLDEN_ENC_W_3_5 -0x1.5b4b68p-2f /* encoder.weight[3][5] */
#define GOLDEN_DEC_W_1_3 0x1.803c7cp-1f  /* decoder.weight[1][3] */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct bytes {
    unsigned char *p;
    size_t n;
} bytes_t;

static bytes_t slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    bytes_t b = {NULL, 0};
    size_t cap = 0;
    for (;;) {
        if (b.n == cap) {
            cap = cap ? 2 * cap : 4096;
            b.p = realloc(b.p, cap);
            assert_non_null(b.p);
        }
        size_t k = fread(b.p + b.n, 1, cap - b.n, f);
        b.n += k;
        if (k == 0)
            break;
    }
    fclose(f);
    return b;
}

static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static uint64_t get_u64le(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static void put_u64le(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

/* A file split into its parsed header and its data section. */
typedef struct st_file {
    cJSON *header;
    unsigned char *data;
    size_t data_len;
} st_file_t;

static st_file_t st_read(const char *path)
{
    bytes_t b = slurp(path);
    assert_true(b.n >= 8);
    uint64_t hl = get_u64le(b.p);
    assert_true(hl <= b.n - 8);
    st_file_t f;
    f.header = cJSON_ParseWithLength((const char *)b.p + 8, (size_t)hl);
    assert_non_null(f.header);
    f.data_len = b.n - 8 - (size_t)hl;
    f.data = malloc(f.data_len + 1);
    assert_non_null(f.data);
    memcpy(f.data, b.p + 8 + hl, f.data_len);
    free(b.p);
    return f;
}

/* Writes header text (padded to 8 bytes) and data as a safetensors file. */
static void st_write_text(const char *path, const char *text, const void *data, size_t data_len)
{
    size_t n = strlen(text), padded = (n + 7) & ~(size_t)7;
    unsigned char *buf = malloc(8 + padded + data_len + 1);
    assert_non_null(buf);
    put_u64le(buf, padded);
    memcpy(buf + 8, text, n);
    memset(buf + 8 + n, ' ', padded - n);
    if (data_len)
        memcpy(buf + 8 + padded, data, data_len);
    spit(path, buf, 8 + padded + data_len);
    free(buf);
}

static void st_write(const char *path, const st_file_t *f)
{
    char *text = cJSON_PrintUnformatted(f->header);
    assert_non_null(text);
    st_write_text(path, text, f->data, f->data_len);
    cJSON_free(text);
}

static void st_free(st_file_t *f)
{
    cJSON_Delete(f->header);
    free(f->data);
}

static cJSON *meta_of(const st_file_t *f)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(f->header, "__metadata__");
    assert_non_null(m);
    return m;
}

static void set_meta(st_file_t *f, const char *key, const char *value)
{
    cJSON *m = meta_of(f);
    cJSON_DeleteItemFromObjectCaseSensitive(m, key);
    assert_non_null(cJSON_AddStringToObject(m, key, value));
}

static void set_checksum(st_file_t *f)
{
    char text[32];
    snprintf(text, sizeof text, "crc32:%08" PRIx32, sae_crc32(f->data, f->data_len));
    set_meta(f, "checksum", text);
}

/* Replaces (or adds) one key of the config stored as a JSON string. */
static void set_config_key(st_file_t *f, const char *key, const char *value)
{
    cJSON *cfg = cJSON_Parse(cJSON_GetObjectItemCaseSensitive(meta_of(f), "config")->valuestring);
    assert_non_null(cfg);
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, key);
    assert_non_null(cJSON_AddStringToObject(cfg, key, value));
    char *text = cJSON_PrintUnformatted(cfg);
    set_meta(f, "config", text);
    cJSON_free(text);
    cJSON_Delete(cfg);
}

static cJSON *tensor_of(const st_file_t *f, const char *name)
{
    cJSON *t = cJSON_GetObjectItemCaseSensitive(f->header, name);
    assert_non_null(t);
    return t;
}

static void set_pair(cJSON *t, const char *field, double a, double b)
{
    cJSON_DeleteItemFromObjectCaseSensitive(t, field);
    cJSON *arr = cJSON_AddArrayToObject(t, field);
    assert_non_null(arr);
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(a));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(b));
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = join(dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

static sae_model_t *make_model(size_t in, size_t hid, int tied, int bias, int64_t seed)
{
    sae_config_t *cfg = tu_config(in, hid);
    assert_int_equal(sae_config_set_int(cfg, SAE_P_TIED, tied), SAE_OK);
    assert_int_equal(sae_config_set_int(cfg, SAE_P_BIAS, bias), SAE_OK);
    assert_int_equal(sae_config_set_int(cfg, SAE_P_SEED, seed), SAE_OK);
    sae_model_t *m = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    sae_config_free(cfg);
    /* Non-zero biases, so that the round trip tests them too. */
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!m->tensors[i].is_weight)
            tu_fill_uniform(m->weights + m->tensors[i].offset, m->tensors[i].rows, -1, 1,
                            (uint64_t)seed + i);
    return m;
}

static void assert_same_params(const sae_model_t *a, const sae_model_t *b)
{
    assert_int_equal(sae_model_tensor_count(a), sae_model_tensor_count(b));
    for (size_t i = 0; i < sae_model_tensor_count(a); i++) {
        const char *na, *nb;
        size_t ra, ca, rb, cb;
        const float *da, *db;
        assert_int_equal(sae_model_tensor(a, i, &na, &ra, &ca, &da), SAE_OK);
        assert_int_equal(sae_model_tensor(b, i, &nb, &rb, &cb, &db), SAE_OK);
        assert_string_equal(na, nb);
        assert_int_equal(ra, rb);
        assert_int_equal(ca, cb);
        assert_memory_equal(da, db, ra * ca * sizeof(float));
    }
}

static void assert_same_config(const sae_config_t *a, const sae_config_t *b)
{
    sae_param_t p;
    for (size_t i = 0; sae_param_at(i, &p) == SAE_OK; i++) {
        char va[128], vb[128];
        const char *name = sae_param_name(p);
        assert_int_equal(sae_config_get(a, name, va, sizeof va), SAE_OK);
        assert_int_equal(sae_config_get(b, name, vb, sizeof vb), SAE_OK);
        assert_string_equal(va, vb);
    }
}

/* Each test gets a fresh folder holding "ref.safetensors": an untied model
 * with biases, input 6, hidden 4. */
typedef struct fixture {
    char dir[256];
    char *ref;  /* the valid file */
    char *path; /* scratch file for edited copies */
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "%s", tu_tmpdir());
    fx->ref = join(fx->dir, "ref.safetensors");
    fx->path = join(fx->dir, "edited.safetensors");
    sae_model_t *m = make_model(6, 4, 0, 1, 3);
    assert_int_equal(sae_model_save(m, fx->ref), SAE_OK);
    sae_model_free(m);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    remove_tree(fx->dir);
    free(fx->ref);
    free(fx->path);
    free(fx);
    return 0;
}

/* Loads path expecting status; on failure the message must be non-empty
 * and, when want is given, contain it. */
static void expect_load(const char *path, sae_status_t status, const char *want)
{
    sae_model_t *m = (sae_model_t *)(uintptr_t)1;
    sae_status_t st = sae_model_load(path, &m);
    if (st != status)
        fail_msg("loading %s gave %d (%s: %s), expected %d", path, (int)st, sae_status_str(st),
                 sae_last_error(), (int)status);
    if (status == SAE_OK) {
        assert_non_null(m);
        sae_model_free(m);
        return;
    }
    assert_null(m);
    assert_true(strlen(sae_last_error()) > 0);
    if (want && !strstr(sae_last_error(), want))
        fail_msg("message '%s' lacks '%s'", sae_last_error(), want);
}

/* ------------------------------------------------------------------------ */
/* Checksum                                                                 */
/* ------------------------------------------------------------------------ */

static void test_crc32(void **state)
{
    (void)state;
    assert_int_equal(sae_crc32("123456789", 9), 0xCBF43926u);
    assert_int_equal(sae_crc32("", 0), 0);
    /* Chunks chain: the CRC of a concatenation, fed in pieces. */
    uint32_t c = sae_crc32_update(0, "1234", 4);
    assert_int_equal(sae_crc32_update(c, "56789", 5), 0xCBF43926u);
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                              */
/* ------------------------------------------------------------------------ */

static void round_trip(int tied, int bias)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    char *path = join(dir, "m.safetensors");
    sae_model_t *m = make_model(7, 5, tied, bias, 11);
    assert_int_equal(sae_model_save(m, path), SAE_OK);
    sae_model_t *back = NULL;
    tu_assert_status(sae_model_load(path, &back), SAE_OK);
    assert_int_equal(sae_model_input_dim(back), 7);
    assert_int_equal(sae_model_code_dim(back), 5);
    assert_int_equal(sae_model_tensor_count(back), (size_t)(tied ? 1 : 2) + (size_t)(bias ? 2 : 0));
    assert_same_params(m, back);
    assert_same_config(sae_model_config(m), sae_model_config(back));
    sae_model_free(back);
    sae_model_free(m);
    remove_tree(dir);
    free(path);
}

static void test_round_trip_untied_bias(void **state)
{
    (void)state;
    round_trip(0, 1);
}

static void test_round_trip_untied_nobias(void **state)
{
    (void)state;
    round_trip(0, 0);
}

static void test_round_trip_tied_bias(void **state)
{
    (void)state;
    round_trip(1, 1);
}

static void test_round_trip_tied_nobias(void **state)
{
    (void)state;
    round_trip(1, 0);
}

static void test_config_survives(void **state)
{
    fixture_t *fx = *state;
    sae_config_t *cfg = tu_config(5, 3);
    assert_int_equal(sae_config_set(cfg, "kl.rho", "0.08"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "kl.weight", "3"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "arch.hidden_activation", "relu"), SAE_OK);
    assert_int_equal(sae_config_set(cfg, "optim.lr", "0.1"), SAE_OK);
    assert_int_equal(sae_config_set_float(cfg, SAE_P_INIT_SCALE, 1.0 / 3.0), SAE_OK);
    sae_model_t *m = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_model_save(m, fx->path), SAE_OK);
    sae_model_t *back = NULL;
    tu_assert_status(sae_model_load(fx->path, &back), SAE_OK);
    const sae_config_t *bc = sae_model_config(back);
    double v;
    assert_int_equal(sae_config_get_float(bc, SAE_P_KL_RHO, &v), SAE_OK);
    assert_true(v == 0.08);
    assert_int_equal(sae_config_get_float(bc, SAE_P_KL_WEIGHT, &v), SAE_OK);
    assert_true(v == 3.0);
    assert_int_equal(sae_config_get_float(bc, SAE_P_INIT_SCALE, &v), SAE_OK);
    assert_true(v == 1.0 / 3.0);
    int64_t act;
    assert_int_equal(sae_config_get_int(bc, SAE_P_HIDDEN_ACTIVATION, &act), SAE_OK);
    assert_int_equal(act, SAE_ACT_RELU);
    assert_same_config(cfg, bc);
    sae_model_free(back);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* A saved file is a plain safetensors file: the header layout is checked
 * here byte by byte against the format's rules. */
static void test_layout_is_safetensors(void **state)
{
    fixture_t *fx = *state;
    bytes_t b = slurp(fx->ref);
    uint64_t hl = get_u64le(b.p);
    assert_int_equal(hl % 8, 0);
    assert_int_equal(b.p[8], '{');
    st_file_t f = st_read(fx->ref);
    cJSON *meta = meta_of(&f);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(meta, "format")->valuestring, "libsae");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(meta, "format_version")->valuestring, "1");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(meta, "library_version")->valuestring,
                        sae_version_string());
    char crc[32];
    snprintf(crc, sizeof crc, "crc32:%08" PRIx32, sae_crc32(f.data, f.data_len));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(meta, "checksum")->valuestring, crc);
    cJSON *eb = tensor_of(&f, "encoder.bias");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(eb, "dtype")->valuestring, "F32");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(eb, "shape")), 1);
    cJSON *ew = tensor_of(&f, "encoder.weight");
    cJSON *shape = cJSON_GetObjectItemCaseSensitive(ew, "shape");
    assert_int_equal(cJSON_GetArraySize(shape), 2);
    assert_int_equal(cJSON_GetArrayItem(shape, 0)->valueint, 4);
    assert_int_equal(cJSON_GetArrayItem(shape, 1)->valueint, 6);
    assert_int_equal(f.data_len, 4 * (4 * 6 + 4 + 6 * 4 + 6));
    st_free(&f);
    free(b.p);
}

/* ------------------------------------------------------------------------ */
/* Golden file                                                              */
/* ------------------------------------------------------------------------ */

/* The data section of a file (after the 8-byte length and the header). */
static const uint8_t *data_section(const bytes_t *b, size_t *n)
{
    uint64_t hl = get_u64le(b->p);
    assert_true(8 + hl <= b->n);
    *n = b->n - 8 - (size_t)hl;
    return b->p + 8 + hl;
}

static float tensor_at(const sae_model_t *m, const char *name, size_t r, size_t c)
{
    size_t rows, cols;
    const float *d;
    assert_int_equal(sae_model_tensor_by_name(m, name, &rows, &cols, &d), SAE_OK);
    assert_true(r < rows && c < cols);
    return d[r * cols + c];
}

static void test_golden(void **state)
{
    fixture_t *fx = *state;
    const char *golden = tu_data_path(GOLDEN);
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_load(golden, &m), SAE_OK);
    assert_int_equal(sae_model_input_dim(m), 6);
    assert_int_equal(sae_model_code_dim(m), 4);
    assert_int_equal(sae_model_tensor_count(m), 4);
    int64_t seed;
    assert_int_equal(sae_config_get_int(sae_model_config(m), SAE_P_SEED, &seed), SAE_OK);
    assert_int_equal(seed, 7);
    assert_true(tensor_at(m, "encoder.weight", 0, 0) == GOLDEN_ENC_W_0_0);
    assert_true(tensor_at(m, "encoder.weight", 3, 5) == GOLDEN_ENC_W_3_5);
    assert_true(tensor_at(m, "decoder.weight", 1, 3) == GOLDEN_DEC_W_1_3);
    assert_true(tensor_at(m, "encoder.bias", 0, 0) == 0.0f);
    assert_true(tensor_at(m, "decoder.bias", 5, 0) == 0.0f);

    /* Saving it again keeps the data section byte for byte and every
     * parameter's value; the header may gain parameters added to the
     * library since (with their defaults), so it is not compared as bytes.
     * Two saves of one model are identical: the writer is deterministic. */
    assert_int_equal(sae_model_save(m, fx->path), SAE_OK);
    bytes_t g = slurp(golden), got = slurp(fx->path);
    size_t ng, nw;
    const uint8_t *dg = data_section(&g, &ng), *dw = data_section(&got, &nw);
    assert_int_equal(ng, nw);
    assert_memory_equal(dg, dw, ng);
    sae_model_t *again = NULL;
    tu_assert_status(sae_model_load(fx->path, &again), SAE_OK);
    sae_param_t p;
    for (size_t i = 0; sae_param_at(i, &p) == SAE_OK; i++) {
        char a[64], b[64];
        assert_int_equal(sae_config_get(sae_model_config(m), sae_param_name(p), a, sizeof a),
                         SAE_OK);
        assert_int_equal(sae_config_get(sae_model_config(again), sae_param_name(p), b, sizeof b),
                         SAE_OK);
        assert_string_equal(a, b);
    }
    assert_int_equal(sae_model_save(again, fx->path), SAE_OK);
    bytes_t twice = slurp(fx->path);
    assert_int_equal(twice.n, got.n);
    assert_memory_equal(twice.p, got.p, got.n);
    free(g.p);
    free(got.p);
    free(twice.p);
    sae_model_free(again);
    sae_model_free(m);
}

/* ------------------------------------------------------------------------ */
/* Rejections                                                               */
/* ------------------------------------------------------------------------ */

static void test_null_args(void **state)
{
    fixture_t *fx = *state;
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_save(NULL, fx->path), SAE_ERR_NULL);
    assert_true(strlen(sae_last_error()) > 0);
    tu_assert_status(sae_model_load(fx->ref, &m), SAE_OK);
    tu_assert_status(sae_model_save(m, NULL), SAE_ERR_NULL);
    assert_true(strlen(sae_model_errmsg(m)) > 0);
    sae_model_free(m);
    m = (sae_model_t *)(uintptr_t)1;
    tu_assert_status(sae_model_load(NULL, &m), SAE_ERR_NULL);
    assert_null(m);
    tu_assert_status(sae_model_load(fx->ref, NULL), SAE_ERR_NULL);
}

static void test_missing_file(void **state)
{
    fixture_t *fx = *state;
    char *p = join(fx->dir, "no-such-file.safetensors");
    expect_load(p, SAE_ERR_IO, "no-such-file.safetensors");
    free(p);
    expect_load(fx->dir, SAE_ERR_IO, NULL); /* a folder is not a model */
}

static void test_empty_file(void **state)
{
    fixture_t *fx = *state;
    spit(fx->path, "", 0);
    expect_load(fx->path, SAE_ERR_FORMAT, NULL);
}

static void test_truncated_everywhere(void **state)
{
    fixture_t *fx = *state;
    bytes_t b = slurp(fx->ref);
    for (size_t n = 0; n < b.n; n++) {
        spit(fx->path, b.p, n);
        sae_model_t *m = NULL;
        sae_status_t st = sae_model_load(fx->path, &m);
        if (st != SAE_ERR_FORMAT && st != SAE_ERR_IO)
            fail_msg("file cut at %zu of %zu bytes gave %d", n, b.n, (int)st);
        assert_null(m);
    }
    free(b.p);
}

/* Also: one byte too many is not a valid file either. */
static void test_trailing_byte(void **state)
{
    fixture_t *fx = *state;
    bytes_t b = slurp(fx->ref);
    b.p = realloc(b.p, b.n + 1);
    assert_non_null(b.p);
    b.p[b.n] = 0;
    spit(fx->path, b.p, b.n + 1);
    expect_load(fx->path, SAE_ERR_FORMAT, "cover");
    free(b.p);
}

static void test_header_length(void **state)
{
    fixture_t *fx = *state;
    bytes_t b = slurp(fx->ref);
    const uint64_t lens[] = {UINT64_MAX, (uint64_t)1 << 63, b.n - 8 + 1, 0, 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        put_u64le(b.p, lens[i]);
        spit(fx->path, b.p, b.n);
        expect_load(fx->path, SAE_ERR_FORMAT, "header");
    }
    free(b.p);

    /* A length within the file but past the cap is refused before any
     * allocation; the file is sparse, so this costs no disk. */
    FILE *f = fopen(fx->path, "wb");
    assert_non_null(f);
    unsigned char len[8];
    put_u64le(len, ((uint64_t)16 << 20) + 8);
    assert_int_equal(fwrite(len, 1, 8, f), 8);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(truncate(fx->path, (off_t)(17 << 20)), 0);
    expect_load(fx->path, SAE_ERR_FORMAT, "limit");
}

static void test_header_not_json(void **state)
{
    fixture_t *fx = *state;
    st_write_text(fx->path, "{\"__metadata__\": nope}", "", 0);
    expect_load(fx->path, SAE_ERR_FORMAT, "JSON");
    st_write_text(fx->path, "[1,2,3]", "", 0);
    expect_load(fx->path, SAE_ERR_FORMAT, NULL);
    /* Garbage after a valid object. */
    st_file_t f = st_read(fx->ref);
    char *text = cJSON_PrintUnformatted(f.header);
    size_t n = strlen(text);
    char *bad = malloc(n + 4);
    assert_non_null(bad);
    snprintf(bad, n + 4, "%sxyz", text);
    st_write_text(fx->path, bad, f.data, f.data_len);
    expect_load(fx->path, SAE_ERR_FORMAT, "after");
    free(bad);
    cJSON_free(text);
    st_free(&f);
}

/* Applies one edit to the reference file and expects a rejection. */
typedef void (*edit_fn)(st_file_t *f);

static void expect_edit(const fixture_t *fx, edit_fn edit, sae_status_t status, const char *want)
{
    st_file_t f = st_read(fx->ref);
    edit(&f);
    st_write(fx->path, &f);
    st_free(&f);
    expect_load(fx->path, status, want);
}

static void edit_dtype(st_file_t *f)
{
    cJSON *t = tensor_of(f, "encoder.weight");
    cJSON_ReplaceItemInObjectCaseSensitive(t, "dtype", cJSON_CreateString("F16"));
}

static void edit_dtype_type(st_file_t *f)
{
    cJSON *t = tensor_of(f, "encoder.weight");
    cJSON_ReplaceItemInObjectCaseSensitive(t, "dtype", cJSON_CreateNumber(32));
}

static void edit_shape_swap(st_file_t *f)
{
    set_pair(tensor_of(f, "encoder.weight"), "shape", 6, 4);
}

static void edit_shape_negative(st_file_t *f)
{
    set_pair(tensor_of(f, "encoder.weight"), "shape", -4, -6);
}

static void edit_shape_fraction(st_file_t *f)
{
    set_pair(tensor_of(f, "encoder.weight"), "shape", 4.5, 6);
}

static void edit_shape_huge(st_file_t *f)
{
    /* 2^40 * 2^40 * 4 bytes overflows 64 bits. */
    set_pair(tensor_of(f, "encoder.weight"), "shape", 1099511627776.0, 1099511627776.0);
}

static void edit_shape_string(st_file_t *f)
{
    cJSON *t = tensor_of(f, "encoder.weight");
    cJSON_ReplaceItemInObjectCaseSensitive(t, "shape", cJSON_CreateString("4x6"));
}

static void edit_offsets_overlap(st_file_t *f)
{
    /* decoder.weight [6,4] has the size of encoder.weight [4,6]. */
    cJSON *ew = cJSON_GetObjectItemCaseSensitive(tensor_of(f, "encoder.weight"), "data_offsets");
    set_pair(tensor_of(f, "decoder.weight"), "data_offsets", cJSON_GetArrayItem(ew, 0)->valuedouble,
             cJSON_GetArrayItem(ew, 1)->valuedouble);
}

static void edit_offsets_outside(st_file_t *f)
{
    set_pair(tensor_of(f, "decoder.bias"), "data_offsets", 1000000, 1000024);
}

static void edit_offsets_reversed(st_file_t *f)
{
    set_pair(tensor_of(f, "decoder.bias"), "data_offsets", 232, 208);
}

static void edit_offsets_three(st_file_t *f)
{
    cJSON *t = tensor_of(f, "decoder.bias");
    cJSON *off = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    cJSON_AddItemToArray(off, cJSON_CreateNumber(0));
}

static void edit_extra_field(st_file_t *f)
{
    cJSON_AddStringToObject(tensor_of(f, "decoder.bias"), "layout", "strided");
}

static void edit_version(st_file_t *f)
{
    set_meta(f, "format_version", "2");
}

static void edit_format(st_file_t *f)
{
    set_meta(f, "format", "other");
}

static void edit_no_metadata(st_file_t *f)
{
    cJSON_DeleteItemFromObjectCaseSensitive(f->header, "__metadata__");
}

static void edit_meta_number(st_file_t *f)
{
    cJSON_AddNumberToObject(meta_of(f), "epochs", 3);
}

static void edit_no_checksum(st_file_t *f)
{
    cJSON_DeleteItemFromObjectCaseSensitive(meta_of(f), "checksum");
}

static void edit_bad_checksum_text(st_file_t *f)
{
    set_meta(f, "checksum", "md5:0123456789abcdef");
}

static void edit_flip_byte(st_file_t *f)
{
    f->data[f->data_len / 2] ^= 0x01;
}

static void edit_nan(st_file_t *f)
{
    /* Encoder weight [1][2], as little-endian bytes of a quiet NaN, with
     * a checksum that matches, so only the finiteness check can object. */
    const unsigned char nan_le[4] = {0x00, 0x00, 0xc0, 0x7f};
    cJSON *off = cJSON_GetObjectItemCaseSensitive(tensor_of(f, "encoder.weight"), "data_offsets");
    size_t at = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble + 4 * (1 * 6 + 2);
    memcpy(f->data + at, nan_le, 4);
    set_checksum(f);
}

static void edit_inf(st_file_t *f)
{
    const unsigned char inf_le[4] = {0x00, 0x00, 0x80, 0xff};
    cJSON *off = cJSON_GetObjectItemCaseSensitive(tensor_of(f, "decoder.bias"), "data_offsets");
    memcpy(f->data + (size_t)cJSON_GetArrayItem(off, 0)->valuedouble, inf_le, 4);
    set_checksum(f);
}

static void edit_unknown_config_key(st_file_t *f)
{
    set_config_key(f, "arch.colour", "blue");
}

static void edit_bad_config_value(st_file_t *f)
{
    set_config_key(f, "kl.rho", "7");
}

static void edit_config_not_json(st_file_t *f)
{
    set_meta(f, "config", "input_dim=6");
}

static void edit_config_tied(st_file_t *f)
{
    /* The file still holds decoder.weight, which a tied model lacks. */
    set_config_key(f, "arch.tied", "1");
}

static void edit_config_dims(st_file_t *f)
{
    set_config_key(f, "arch.input_dim", "5");
}

static void edit_config_huge(st_file_t *f)
{
    set_config_key(f, "arch.input_dim", "40000");
    set_config_key(f, "arch.hidden_dim", "40000");
}

static void edit_missing_tensor(st_file_t *f)
{
    /* Without biases in the config, the file's bias tensors are extra;
     * the other way round (biases expected, none in the file) is a
     * missing tensor. Rename one to check the missing case. */
    cJSON *t = cJSON_DetachItemFromObjectCaseSensitive(f->header, "decoder.bias");
    cJSON_AddItemToObject(f->header, "decoder.offset", t);
}

static void edit_duplicate_tensor(st_file_t *f)
{
    cJSON *t = cJSON_Duplicate(tensor_of(f, "decoder.bias"), 1);
    cJSON_AddItemToObject(f->header, "decoder.bias", t);
}

static void test_rejects_edits(void **state)
{
    const fixture_t *fx = *state;
    expect_edit(fx, edit_dtype, SAE_ERR_FORMAT, "dtype 'F16'");
    expect_edit(fx, edit_dtype_type, SAE_ERR_FORMAT, "dtype");
    expect_edit(fx, edit_shape_swap, SAE_ERR_FORMAT,
                "tensor 'encoder.weight' shape [6,4] does not match the config's [4,6]");
    expect_edit(fx, edit_shape_negative, SAE_ERR_FORMAT, "shape");
    expect_edit(fx, edit_shape_fraction, SAE_ERR_FORMAT, "shape");
    expect_edit(fx, edit_shape_huge, SAE_ERR_FORMAT, "shape");
    expect_edit(fx, edit_shape_string, SAE_ERR_FORMAT, "shape");
    expect_edit(fx, edit_offsets_overlap, SAE_ERR_FORMAT, "overlaps");
    expect_edit(fx, edit_offsets_outside, SAE_ERR_FORMAT, "outside");
    expect_edit(fx, edit_offsets_reversed, SAE_ERR_FORMAT, "data_offsets");
    expect_edit(fx, edit_offsets_three, SAE_ERR_FORMAT, "data_offsets");
    expect_edit(fx, edit_extra_field, SAE_ERR_FORMAT, "layout");
    expect_edit(fx, edit_version, SAE_ERR_VERSION, "format_version '2'");
    expect_edit(fx, edit_format, SAE_ERR_FORMAT, "format");
    expect_edit(fx, edit_no_metadata, SAE_ERR_FORMAT, "__metadata__");
    expect_edit(fx, edit_meta_number, SAE_ERR_FORMAT, "epochs");
    expect_edit(fx, edit_no_checksum, SAE_ERR_FORMAT, "checksum");
    expect_edit(fx, edit_bad_checksum_text, SAE_ERR_FORMAT, "checksum");
    expect_edit(fx, edit_flip_byte, SAE_ERR_CHECKSUM, "checksum");
    expect_edit(fx, edit_nan, SAE_ERR_FORMAT, "tensor 'encoder.weight' holds NaN or Inf");
    expect_edit(fx, edit_inf, SAE_ERR_FORMAT, "decoder.bias");
    expect_edit(fx, edit_unknown_config_key, SAE_ERR_FORMAT, "arch.colour");
    expect_edit(fx, edit_bad_config_value, SAE_ERR_FORMAT, "kl.rho");
    expect_edit(fx, edit_config_not_json, SAE_ERR_FORMAT, "config");
    expect_edit(fx, edit_config_tied, SAE_ERR_FORMAT, "unexpected tensor 'decoder.weight'");
    expect_edit(fx, edit_config_dims, SAE_ERR_FORMAT, "does not match");
    expect_edit(fx, edit_config_huge, SAE_ERR_FORMAT, "does not fit");
    expect_edit(fx, edit_missing_tensor, SAE_ERR_FORMAT, "tensor 'decoder.bias' is missing");
    expect_edit(fx, edit_duplicate_tensor, SAE_ERR_FORMAT, "twice");
}

/* Edits that keep a valid file: key order, padding and unknown metadata do
 * not matter. */
static void edit_reorder_and_annotate(st_file_t *f)
{
    cJSON *t = cJSON_DetachItemFromObjectCaseSensitive(f->header, "encoder.weight");
    cJSON_AddItemToObject(f->header, "encoder.weight", t);
    cJSON_AddStringToObject(meta_of(f), "note", "trained on a Tuesday");
}

static void test_accepts_harmless_edits(void **state)
{
    const fixture_t *fx = *state;
    expect_edit(fx, edit_reorder_and_annotate, SAE_OK, NULL);
}

/* The data may be stored in any order the offsets say. */
static void test_permuted_data(void **state)
{
    fixture_t *fx = *state;
    st_file_t f = st_read(fx->ref);
    unsigned char *data = malloc(f.data_len);
    assert_non_null(data);
    size_t at = 0;
    const char *order[] = {"decoder.bias", "decoder.weight", "encoder.bias", "encoder.weight"};
    for (size_t i = 0; i < 4; i++) {
        cJSON *off = cJSON_GetObjectItemCaseSensitive(tensor_of(&f, order[i]), "data_offsets");
        size_t b = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
        size_t e = (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
        memcpy(data + at, f.data + b, e - b);
        set_pair(tensor_of(&f, order[i]), "data_offsets", (double)at, (double)(at + e - b));
        at += e - b;
    }
    memcpy(f.data, data, f.data_len);
    free(data);
    set_checksum(&f);
    st_write(fx->path, &f);
    st_free(&f);
    sae_model_t *a = NULL, *b = NULL;
    tu_assert_status(sae_model_load(fx->ref, &a), SAE_OK);
    tu_assert_status(sae_model_load(fx->path, &b), SAE_OK);
    assert_same_params(a, b);
    sae_model_free(a);
    sae_model_free(b);
}

static void test_save_refuses_nonfinite(void **state)
{
    fixture_t *fx = *state;
    sae_model_t *m = make_model(3, 2, 0, 1, 1);
    m->weights[1] = NAN;
    tu_assert_status(sae_model_save(m, fx->path), SAE_ERR_NONFINITE);
    assert_non_null(strstr(sae_model_errmsg(m), "encoder.weight"));
    assert_int_equal(access(fx->path, F_OK), -1);
    sae_model_free(m);
}

/* ------------------------------------------------------------------------ */
/* Atomic saving                                                            */
/* ------------------------------------------------------------------------ */

static void test_save_into_missing_dir(void **state)
{
    fixture_t *fx = *state;
    char *dir = join(fx->dir, "absent");
    char *path = join(dir, "m.safetensors");
    sae_model_t *m = make_model(3, 2, 0, 1, 1);
    tu_assert_status(sae_model_save(m, path), SAE_ERR_IO);
    assert_non_null(strstr(sae_model_errmsg(m), path));
    struct stat sb;
    assert_int_equal(stat(dir, &sb), -1);
    assert_int_equal(count_entries(fx->dir), 1); /* just ref.safetensors */
    sae_model_free(m);
    free(path);
    free(dir);
}

static void test_save_replaces(void **state)
{
    fixture_t *fx = *state;
    sae_model_t *a = make_model(6, 4, 0, 1, 21);
    sae_model_t *b = make_model(5, 3, 1, 0, 22);
    assert_int_equal(sae_model_save(a, fx->path), SAE_OK);
    assert_int_equal(sae_model_save(b, fx->path), SAE_OK);
    assert_int_equal(count_entries(fx->dir), 2); /* ref + path, no temp */
    sae_model_t *back = NULL;
    tu_assert_status(sae_model_load(fx->path, &back), SAE_OK);
    assert_same_params(b, back);
    sae_model_free(back);

    /* A failed save leaves the old file as it was and no temp behind: the
     * target is a folder, so the rename fails after the data is written. */
    char *sub = join(fx->dir, "sub");
    assert_int_equal(mkdir(sub, 0700), 0);
    char *inner = join(sub, "x");
    spit(inner, "x", 1);
    tu_assert_status(sae_model_save(a, sub), SAE_ERR_IO);
    assert_int_equal(count_entries(fx->dir), 3);
    assert_int_equal(count_entries(sub), 1);
    unlink(inner);
    rmdir(sub);
    free(inner);
    free(sub);

    sae_model_free(a);
    sae_model_free(b);
}

static void test_save_mode_follows_umask(void **state)
{
    fixture_t *fx = *state;
    sae_model_t *m = make_model(3, 2, 0, 1, 1);
    mode_t old = umask(022);
    assert_int_equal(sae_model_save(m, fx->path), SAE_OK);
    umask(old);
    struct stat sb;
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);
    sae_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_round_trip_untied_bias),
        cmocka_unit_test(test_round_trip_untied_nobias),
        cmocka_unit_test(test_round_trip_tied_bias),
        cmocka_unit_test(test_round_trip_tied_nobias),
        cmocka_unit_test_setup_teardown(test_config_survives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout_is_safetensors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailing_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_not_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accepts_harmless_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permuted_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_refuses_nonfinite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_into_missing_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_mode_follows_umask, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
