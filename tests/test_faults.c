/* Every allocation failure, one at a time (as sqlite's test suite does):
 * for each public operation, the Nth allocation made while it runs fails,
 * for N = 1, 2, 3, ... until the operation runs without reaching N. Each
 * time the call must return SAE_ERR_NOMEM with a message (or succeed, when
 * the failed allocation was optional), the handles stay usable (the same
 * call then succeeds) and nothing leaks (valgrind and LeakSanitizer stages
 * of tools/test.sh).
 *
 * The library's calls reach the counter through the linker's --wrap and
 * cJSON's through cJSON_InitHooks; plain builds (not sanitizer builds,
 * whose runtime owns malloc) also define malloc and its relatives in this
 * program, so that libc's own allocations (fopen's stream, opendir's
 * buffer, realpath) fail in turn too.
 * SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <zip.h>

#include "testutil.h"

/* 0: no fault armed; otherwise the number of the allocation that fails. */
static atomic_long fault_at;
static atomic_long n_seen;
static atomic_int injected;

static int should_fail(void)
{
    long at = atomic_load(&fault_at);
    if (at == 0)
        return 0;
    if (atomic_fetch_add(&n_seen, 1) + 1 != at)
        return 0;
    atomic_store(&injected, 1);
    errno = ENOMEM;
    return 1;
}

static void arm(long n)
{
    atomic_store(&n_seen, 0);
    atomic_store(&injected, 0);
    atomic_store(&fault_at, n);
}

static void disarm(void)
{
    atomic_store(&fault_at, 0);
}

/* The library's own calls, through the linker's --wrap (tests/meson.build),
 * and cJSON's, through its hooks. */
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
int __real_posix_memalign(void **p, size_t align, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
int __wrap_posix_memalign(void **p, size_t align, size_t size);

#ifdef SAE_FAULT_INTERPOSE
/* Plain builds also replace malloc itself (glibc allows a program to), so
 * that libc's own allocations fail in turn; the __libc_* entry points are
 * the real allocator underneath. Under valgrind, whose allocator replaces
 * these definitions, the --wrap path above still injects. */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void *memalign(size_t align, size_t size);

/* The BLAS library's own allocations are left alone: OpenBLAS's small-matrix
 * kernels (sgemm_small_kernel_*, chosen on AVX-512 machines) malloc a buffer
 * on every call and use it unchecked, so failing it crashes in OpenBLAS,
 * outside the library's control. They are not counted either. */
static int blas_caller(const void *ret)
{
    Dl_info info;
    return atomic_load(&fault_at) != 0 && dladdr(ret, &info) && info.dli_fname &&
           strstr(info.dli_fname, "blas") != NULL;
}

#define SHOULD_FAIL() (!blas_caller(__builtin_return_address(0)) && should_fail())

void *malloc(size_t size)
{
    return SHOULD_FAIL() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    return SHOULD_FAIL() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    return SHOULD_FAIL() ? NULL : __libc_realloc(p, size);
}

void *memalign(size_t align, size_t size)
{
    return SHOULD_FAIL() ? NULL : __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    return SHOULD_FAIL() ? NULL : __libc_memalign(align, size);
}

int posix_memalign(void **p, size_t align, size_t size)
{
    if (SHOULD_FAIL())
        return ENOMEM;
    void *q = __libc_memalign(align, size);
    if (!q)
        return ENOMEM;
    *p = q;
    return 0;
}

/* The wrapped calls go straight to the allocator: one count per call. */
#define REAL_MALLOC __libc_malloc
#define REAL_CALLOC __libc_calloc
#define REAL_REALLOC __libc_realloc
static int real_posix_memalign(void **p, size_t align, size_t size)
{
    void *q = __libc_memalign(align, size);
    if (!q)
        return ENOMEM;
    *p = q;
    return 0;
}
#else
#define REAL_MALLOC __real_malloc
#define REAL_CALLOC __real_calloc
#define REAL_REALLOC __real_realloc
#define real_posix_memalign __real_posix_memalign
#endif

void *__wrap_malloc(size_t size)
{
    return should_fail() ? NULL : REAL_MALLOC(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : REAL_CALLOC(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : REAL_REALLOC(p, size);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
    return should_fail() ? ENOMEM : real_posix_memalign(p, align, size);
}

static void install_hooks(void)
{
    /* The test's own choice: the library never installs cJSON hooks. */
    cJSON_Hooks hooks = {__wrap_malloc, free};
    cJSON_InitHooks(&hooks);
}

/* ------------------------------------------------------------------------ */
/* The sweep                                                                */
/* ------------------------------------------------------------------------ */

/* Files of other tools, built here: Gemma Scope's params.npz (stored and
 * deflated), Gemma Scope 2's params.safetensors and a Llama Scope folder,
 * each a JumpReLU SAE of FD inputs and FN latents. */
enum { FD = 6, FN = 10, FROWS = 4 };
enum { FC_NPZ_STORED, FC_NPZ_DEFLATED, FC_GS2, FC_LLAMA, FC_N };

typedef struct foreign_case {
    char path[512];     /* what sae_model_import is given */
    const char *format; /* and the format named */
    /* What the import must hold, in libsae's layout (one row per latent) */
    float enc_w[FN * FD], enc_b[FN], dec_w[FN * FD], dec_b[FD], threshold[FN];
    /* The fault-free import's log thresholds, codes and reconstructions of
     * the fixed rows: an import under a fault must give them bit for bit. */
    float log_th[FN], code[FROWS * FN], rec[FROWS * FD];
} foreign_case_t;

typedef struct fixture {
    const char *layers; /* NULL: the one-hidden-layer kind */
    sae_config_t *cfg;
    sae_model_t *model;
    sae_trainer_t *trainer;
    sae_model_t *loaded;
    float *x, *out;
    size_t rows, in_dim, code_dim;
    char dir[256], path[512];
    char msg[512]; /* the config's message, copied before it is freed */
    char ckpt[512];            /* a checkpoint of trainer */
    sae_trainer_t *loaded_t;   /* the trainer of a loaded checkpoint */
    size_t src_pos;            /* the data source's cursor (rows given this epoch) */
    /* Models SAELens's and sparsify's formats can hold (the dense kind
     * only), and the folders they are exported to. */
    sae_model_t *sl_model, *sp_model;
    char sl_dir[512], sp_dir[512];
    /* Other tools' files: folders gemmascope (params.npz stored,
     * deflated.npz), gemmascope2 (params.safetensors), llamascope
     * (hyperparams.json, final.safetensors) */
    char gs_dir[320], gs2_dir[320], ls_dir[320];
    foreign_case_t fc[FC_N];
    int fcase;            /* the case the foreign import op runs */
    float fx[FROWS * FD]; /* the rows those models encode */
} fixture_t;

typedef struct op {
    const char *name;
    void (*setup)(fixture_t *f);                  /* not counted */
    sae_status_t (*run)(fixture_t *f);            /* counted */
    const char *(*message)(const fixture_t *f);   /* the message of a failed run */
    void (*undo)(fixture_t *f);                   /* after each run, not counted */
} op_t;

/* A one-hidden-layer model that export can write: relu (SAELens's
 * standard) or top-k with the pre-encoder bias (sparsify). */
static sae_model_t *export_model(int topk)
{
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    const char *set[][2] = {{"arch.input_dim", "10"}, {"arch.hidden_dim", "16"},
                            {"arch.hidden_activation", "relu"}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        tu_assert_status(sae_config_set(cfg, set[i][0], set[i][1]), SAE_OK);
    if (topk) {
        tu_assert_status(sae_config_set(cfg, "topk.k", "3"), SAE_OK);
        tu_assert_status(sae_config_set(cfg, "arch.pre_encoder_bias", "true"), SAE_OK);
    }
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    sae_config_free(cfg);
    return m;
}

static sae_config_t *make_config(const char *layers)
{
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    if (layers) {
        tu_assert_status(sae_config_set_layers(cfg, layers), SAE_OK);
    } else {
        assert_int_equal(sae_config_set(cfg, "arch.input_dim", "20"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "arch.hidden_dim", "12"), SAE_OK);
        assert_int_equal(sae_config_set(cfg, "kl.weight", "0.1"), SAE_OK);
    }
    assert_int_equal(sae_config_set(cfg, "train.batch_size", "8"), SAE_OK);
    return cfg;
}

/* ------------------------------------------------------------------------ */
/* Other tools' files                                                       */
/* ------------------------------------------------------------------------ */

static uint32_t f32_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* v rounded to bfloat16 by truncation (as the Python tests write BF16) */
static float to_bf16(float v)
{
    uint32_t u = f32_bits(v) & 0xffff0000u;
    memcpy(&v, &u, sizeof v);
    return v;
}

static void put_le(unsigned char *p, uint64_t v, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A little-endian float32 .npy array, version 1.0 (numpy's header padded
 * with spaces to 128 bytes); returns its size. out holds 128 + 4 count. */
static size_t npy_bytes(unsigned char *out, const float *v, size_t rows, size_t cols)
{
    char dict[118];
    int n = cols ? snprintf(dict, sizeof dict,
                            "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows,
                            cols)
                 : snprintf(dict, sizeof dict,
                            "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu,), }", rows);
    memset(out, ' ', 128);
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    put_le(out + 8, 118, 2);
    memcpy(out + 10, dict, (size_t)n);
    out[127] = '\n';
    size_t count = rows * (cols ? cols : 1);
    for (size_t i = 0; i < count; i++)
        put_le(out + 128 + 4 * i, f32_bits(v[i]), 4);
    return 128 + 4 * count;
}

/* Gemma Scope's five arrays in a zip, as numpy.savez (stored) or
 * numpy.savez_compressed (deflated) writes them. */
static void write_npz(const char *path, int deflate, const float *w_enc, const float *w_dec,
                      const float *b_enc, const float *b_dec, const float *threshold)
{
    static const char *const names[5] = {"W_enc.npy", "W_dec.npy", "b_enc.npy", "b_dec.npy",
                                         "threshold.npy"};
    const float *v[5] = {w_enc, w_dec, b_enc, b_dec, threshold};
    const size_t rows[5] = {FD, FN, FN, FD, FN}, cols[5] = {FN, FD, 0, 0, 0};
    unsigned char *buf[5];
    size_t size[5];
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    assert_non_null(z);
    for (size_t k = 0; k < 5; k++) {
        buf[k] = malloc(128 + 4 * FN * FD);
        assert_non_null(buf[k]);
        size[k] = npy_bytes(buf[k], v[k], rows[k], cols[k]);
        zip_source_t *src = zip_source_buffer(z, buf[k], size[k], 0);
        assert_non_null(src);
        zip_int64_t idx = zip_file_add(z, names[k], src, ZIP_FL_ENC_UTF_8);
        assert_true(idx >= 0);
        assert_int_equal(zip_set_file_compression(z, (zip_uint64_t)idx,
                                                  deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0),
                         0);
    }
    assert_int_equal(zip_close(z), 0);
    for (size_t k = 0; k < 5; k++)
        free(buf[k]);
    /* Each entry is written the way asked for. */
    z = zip_open(path, ZIP_RDONLY, &err);
    assert_non_null(z);
    for (zip_uint64_t k = 0; k < 5; k++) {
        zip_stat_t sb;
        assert_int_equal(zip_stat_index(z, k, 0, &sb), 0);
        assert_int_equal(sb.comp_method, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE);
    }
    zip_discard(z);
}

typedef struct st_tensor {
    const char *name;
    size_t rows, cols; /* cols 0: one-dimensional */
    const float *v;
} st_tensor_t;

/* A safetensors file of the tensors given, all F32 or all BF16 (whose
 * values must be bfloat16 already). */
static void write_safetensors(const char *path, const st_tensor_t *t, size_t n, int bf16)
{
    char hdr[2048];
    size_t len = 0, off = 0, elem = bf16 ? 2 : 4;
    len += (size_t)snprintf(hdr, sizeof hdr, "{");
    for (size_t i = 0; i < n; i++) {
        size_t bytes = t[i].rows * (t[i].cols ? t[i].cols : 1) * elem;
        char shape[48];
        if (t[i].cols)
            snprintf(shape, sizeof shape, "%zu,%zu", t[i].rows, t[i].cols);
        else
            snprintf(shape, sizeof shape, "%zu", t[i].rows);
        len += (size_t)snprintf(
            hdr + len, sizeof hdr - len,
            "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}", i ? "," : "",
            t[i].name, bf16 ? "BF16" : "F32", shape, off, off + bytes);
        off += bytes;
    }
    len += (size_t)snprintf(hdr + len, sizeof hdr - len, "}");
    while (len % 8) /* padded with spaces, as the format allows */
        hdr[len++] = ' ';
    assert_true(len < sizeof hdr);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char le[8];
    put_le(le, len, 8);
    assert_int_equal(fwrite(le, 1, 8, f), 8);
    assert_int_equal(fwrite(hdr, 1, len, f), len);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < t[i].rows * (t[i].cols ? t[i].cols : 1); j++) {
            uint32_t u = f32_bits(t[i].v[j]);
            put_le(le, bf16 ? u >> 16 : u, elem);
            assert_int_equal(fwrite(le, 1, elem, f), elem);
        }
    assert_int_equal(fclose(f), 0);
}

/* The JumpReLU forward of a case's expected tensors, in double: the fixture
 * checks the fault-free import against it (to within rounding). */
static void foreign_forward(const foreign_case_t *c, const float *x, float *code, float *rec)
{
    for (size_t r = 0; r < FROWS; r++) {
        for (size_t j = 0; j < FN; j++) {
            double z = c->enc_b[j];
            for (size_t i = 0; i < FD; i++)
                z += (double)x[r * FD + i] * c->enc_w[j * FD + i];
            code[r * FN + j] = z > c->threshold[j] ? (float)z : 0.0f;
        }
        for (size_t i = 0; i < FD; i++) {
            double y = c->dec_b[i];
            for (size_t j = 0; j < FN; j++)
                y += (double)code[r * FN + j] * c->dec_w[j * FD + i];
            rec[r * FD + i] = (float)y;
        }
    }
}

static const char *const foreign_tensors[5] = {"encoder.weight", "encoder.bias", "decoder.weight",
                                               "decoder.bias", "jumprelu.log_threshold"};

static void foreign_expected(const foreign_case_t *c, const float *want[5], size_t size[5])
{
    want[0] = c->enc_w, want[1] = c->enc_b, want[2] = c->dec_w, want[3] = c->dec_b;
    want[4] = c->log_th;
    size[0] = size[2] = FN * FD, size[1] = size[4] = FN, size[3] = FD;
}

/* Writes the four cases' files, imports each without faults, checks it
 * against the arrays written and keeps its results. */
static void make_foreign(fixture_t *f)
{
    snprintf(f->gs_dir, sizeof f->gs_dir, "%s/gemmascope", f->dir);
    snprintf(f->gs2_dir, sizeof f->gs2_dir, "%s/gemmascope2", f->dir);
    snprintf(f->ls_dir, sizeof f->ls_dir, "%s/llamascope", f->dir);
    assert_int_equal(mkdir(f->gs_dir, 0700), 0);
    assert_int_equal(mkdir(f->gs2_dir, 0700), 0);
    assert_int_equal(mkdir(f->ls_dir, 0700), 0);
    tu_fill_uniform(f->fx, FROWS * FD, -1, 1, 21);
    char path[600];

    /* Gemma Scope: W_enc [d, n], W_dec [n, d], b_enc, threshold [n],
     * b_dec [d]; the same arrays in the npz files and in Gemma Scope 2's
     * safetensors (w_enc, w_dec lowercase). */
    float w_enc[FD * FN], w_dec[FN * FD], b_enc[FN], b_dec[FD], th[FN];
    tu_fill_uniform(w_enc, FD * FN, -1, 1, 22);
    tu_fill_uniform(w_dec, FN * FD, -1, 1, 23);
    tu_fill_uniform(b_enc, FN, -0.3f, 0.3f, 24);
    tu_fill_uniform(b_dec, FD, -0.2f, 0.2f, 25);
    tu_fill_uniform(th, FN, 0.05f, 0.5f, 26);
    snprintf(path, sizeof path, "%s/params.npz", f->gs_dir);
    write_npz(path, 0, w_enc, w_dec, b_enc, b_dec, th);
    snprintf(path, sizeof path, "%s/deflated.npz", f->gs_dir);
    write_npz(path, 1, w_enc, w_dec, b_enc, b_dec, th);
    const st_tensor_t gs2[5] = {{"w_enc", FD, FN, w_enc},
                                {"w_dec", FN, FD, w_dec},
                                {"b_enc", FN, 0, b_enc},
                                {"b_dec", FD, 0, b_dec},
                                {"threshold", FN, 0, th}};
    snprintf(path, sizeof path, "%s/params.safetensors", f->gs2_dir);
    write_safetensors(path, gs2, 5, 0);
    for (int k = FC_NPZ_STORED; k <= FC_GS2; k++) {
        foreign_case_t *c = &f->fc[k];
        for (size_t j = 0; j < FN; j++)
            for (size_t i = 0; i < FD; i++)
                c->enc_w[j * FD + i] = w_enc[i * FN + j];
        memcpy(c->dec_w, w_dec, sizeof w_dec);
        memcpy(c->enc_b, b_enc, sizeof b_enc);
        memcpy(c->dec_b, b_dec, sizeof b_dec);
        memcpy(c->threshold, th, sizeof th);
    }
    /* the folder (its params.npz), a file named, a folder of Gemma Scope 2 */
    snprintf(f->fc[FC_NPZ_STORED].path, sizeof f->fc[0].path, "%s", f->gs_dir);
    f->fc[FC_NPZ_STORED].format = "auto";
    snprintf(f->fc[FC_NPZ_DEFLATED].path, sizeof f->fc[0].path, "%s/deflated.npz", f->gs_dir);
    f->fc[FC_NPZ_DEFLATED].format = "gemmascope";
    snprintf(f->fc[FC_GS2].path, sizeof f->fc[0].path, "%s", f->gs2_dir);
    f->fc[FC_GS2].format = "auto";

    /* Llama Scope: encoder.weight [n, d], encoder.bias [n], decoder.weight
     * [d, n] (transposed), decoder.bias [d] in BF16; one jump_relu_threshold;
     * the dataset-wise norms folded into the weights. */
    float e_w[FN * FD], e_b[FN], d_w[FD * FN], d_b[FD];
    tu_fill_uniform(e_w, FN * FD, -1, 1, 27);
    tu_fill_uniform(e_b, FN, -0.3f, 0.3f, 28);
    tu_fill_uniform(d_w, FD * FN, -1, 1, 29);
    tu_fill_uniform(d_b, FD, -0.2f, 0.2f, 30);
    float *all[4] = {e_w, e_b, d_w, d_b};
    const size_t all_n[4] = {FN * FD, FN, FD * FN, FD};
    for (size_t k = 0; k < 4; k++)
        for (size_t i = 0; i < all_n[k]; i++)
            all[k][i] = to_bf16(all[k][i]);
    const st_tensor_t ls[4] = {{"encoder.weight", FN, FD, e_w},
                               {"encoder.bias", FN, 0, e_b},
                               {"decoder.weight", FD, FN, d_w},
                               {"decoder.bias", FD, 0, d_b}};
    snprintf(path, sizeof path, "%s/final.safetensors", f->ls_dir);
    write_safetensors(path, ls, 4, 1);
    const double norm_in = 2.0, norm_out = 3.0, theta = 0.25;
    snprintf(path, sizeof path, "%s/hyperparams.json", f->ls_dir);
    FILE *hp = fopen(path, "w");
    assert_non_null(hp);
    fprintf(hp,
            "{\"d_model\": %d, \"d_sae\": %d, \"act_fn\": \"jumprelu\", "
            "\"jump_relu_threshold\": %g, \"norm_activation\": \"dataset-wise\", "
            "\"use_decoder_bias\": true, \"apply_decoder_bias_to_pre_encoder\": false, "
            "\"dataset_average_activation_norm\": {\"in\": %g, \"out\": %g}, \"top_k\": 5, "
            "\"hook_point_in\": \"blocks.3.hook_resid_post\", "
            "\"hook_point_out\": \"blocks.3.hook_resid_post\"}\n",
            FD, FN, theta, norm_in, norm_out);
    assert_int_equal(fclose(hp), 0);
    foreign_case_t *c = &f->fc[FC_LLAMA];
    double c_in = sqrt((double)FD) / norm_in, c_out = sqrt((double)FD) / norm_out;
    for (size_t j = 0; j < FN; j++) {
        for (size_t i = 0; i < FD; i++) {
            c->enc_w[j * FD + i] = (float)(e_w[j * FD + i] * c_in);
            c->dec_w[j * FD + i] = (float)(d_w[i * FN + j] / c_out);
        }
        c->threshold[j] = (float)theta;
    }
    memcpy(c->enc_b, e_b, sizeof e_b);
    for (size_t i = 0; i < FD; i++)
        c->dec_b[i] = (float)(d_b[i] / c_out);
    snprintf(c->path, sizeof c->path, "%s", f->ls_dir);
    c->format = "llamascope";

    /* Each imported without faults: its tensors are the arrays written
     * (bit for bit), its forward the reference's; the thresholds, codes
     * and reconstructions kept for the sweep. */
    for (int k = 0; k < FC_N; k++) {
        c = &f->fc[k];
        sae_model_t *m = NULL;
        if (sae_model_import(c->path, c->format, &m) != SAE_OK)
            fail_msg("import '%s': %s", c->path, sae_last_error());
        assert_int_equal(sae_model_input_dim(m), FD);
        assert_int_equal(sae_model_code_dim(m), FN);
        const float *p;
        size_t r, cc;
        tu_assert_status(sae_model_tensor_by_name(m, "jumprelu.log_threshold", &r, &cc, &p),
                         SAE_OK);
        assert_int_equal(r * cc, FN);
        memcpy(c->log_th, p, sizeof c->log_th);
        for (size_t j = 0; j < FN; j++)
            assert_true(fabsf(expf(c->log_th[j]) - c->threshold[j]) <= 1e-6f * c->threshold[j]);
        const float *want[5];
        size_t size[5];
        foreign_expected(c, want, size);
        for (size_t t = 0; t < 4; t++) {
            tu_assert_status(sae_model_tensor_by_name(m, foreign_tensors[t], &r, &cc, &p), SAE_OK);
            assert_int_equal(r * cc, size[t]);
            if (memcmp(p, want[t], size[t] * sizeof(float)) != 0)
                fail_msg("import '%s': %s is not the array written", c->path, foreign_tensors[t]);
        }
        tu_assert_status(sae_model_encode(m, f->fx, FROWS, c->code), SAE_OK);
        tu_assert_status(sae_model_reconstruct(m, f->fx, FROWS, c->rec), SAE_OK);
        sae_model_free(m);
        float code[FROWS * FN], rec[FROWS * FD];
        foreign_forward(c, f->fx, code, rec);
        size_t active = 0;
        for (size_t i = 0; i < FROWS * FN; i++) {
            assert_true(fabsf(code[i] - c->code[i]) <= 1e-5f);
            active += code[i] != 0.0f;
        }
        for (size_t i = 0; i < FROWS * FD; i++)
            assert_true(fabsf(rec[i] - c->rec[i]) <= 1e-5f);
        assert_true(active > 0 && active < FROWS * FN); /* the thresholds act */
    }
}

static void fixture_init(fixture_t *f, const char *layers)
{
    memset(f, 0, sizeof *f);
    f->layers = layers;
    f->cfg = make_config(layers);
    assert_int_equal(sae_model_create(f->cfg, &f->model), SAE_OK);
    assert_int_equal(sae_trainer_create(f->model, &f->trainer), SAE_OK);
    f->in_dim = sae_model_input_dim(f->model);
    f->code_dim = sae_model_code_dim(f->model);
    f->rows = 24;
    f->x = malloc(f->rows * f->in_dim * sizeof *f->x);
    size_t wide = f->in_dim > f->code_dim ? f->in_dim : f->code_dim;
    f->out = malloc(f->rows * wide * sizeof *f->out);
    assert_non_null(f->x);
    assert_non_null(f->out);
    tu_fill_uniform(f->x, f->rows * f->in_dim, 0, 1, 7);
    snprintf(f->dir, sizeof f->dir, "%s", tu_tmpdir());
    snprintf(f->path, sizeof f->path, "%s/m.safetensors", f->dir);
    assert_int_equal(sae_model_save(f->model, f->path), SAE_OK);
    assert_int_equal(sae_trainer_fit(f->trainer, f->x, f->rows, 1), SAE_OK);
    snprintf(f->ckpt, sizeof f->ckpt, "%s/c.safetensors", f->dir);
    tu_assert_status(sae_trainer_save_checkpoint(f->trainer, f->ckpt), SAE_OK);
    if (!layers) {
        f->sl_model = export_model(0);
        f->sp_model = export_model(1);
        snprintf(f->sl_dir, sizeof f->sl_dir, "%s/saelens", f->dir);
        snprintf(f->sp_dir, sizeof f->sp_dir, "%s/sparsify", f->dir);
        tu_assert_status(sae_model_export(f->sl_model, f->sl_dir, "saelens"), SAE_OK);
        tu_assert_status(sae_model_export(f->sp_model, f->sp_dir, "sparsify"), SAE_OK);
        make_foreign(f);
    }
}

/* Removes a folder's files, then the folder. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char p[1024];
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

static void fixture_free(fixture_t *f)
{
    sae_trainer_free(f->trainer);
    sae_trainer_free(f->loaded_t);
    sae_model_free(f->model);
    sae_model_free(f->loaded);
    sae_model_free(f->sl_model);
    sae_model_free(f->sp_model);
    sae_config_free(f->cfg);
    free(f->x);
    free(f->out);
    unlink(f->path);
    unlink(f->ckpt);
    if (!f->layers) {
        remove_dir(f->sl_dir);
        remove_dir(f->sp_dir);
        remove_dir(f->gs_dir);
        remove_dir(f->gs2_dir);
        remove_dir(f->ls_dir);
    }
    rmdir(f->dir);
}

/* Files in folder dir that are not among the names given: a failed save
 * must leave no temporary behind. */
static int strays_in(const char *dir, const char *const *names)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        int known = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
        for (size_t i = 0; !known && names[i]; i++)
            known = !strcmp(e->d_name, names[i]);
        n += !known;
    }
    closedir(d);
    return n;
}

static int stray_files(const fixture_t *f)
{
    static const char *const top[] = {"m.safetensors", "c.safetensors", "saelens",    "sparsify",
                                      "gemmascope",    "gemmascope2",   "llamascope", NULL};
    static const char *const sl[] = {"cfg.json", "sae_weights.safetensors", NULL};
    static const char *const sp[] = {"cfg.json", "sae.safetensors", NULL};
    static const char *const gs[] = {"params.npz", "deflated.npz", NULL};
    static const char *const gs2[] = {"params.safetensors", NULL};
    static const char *const ls[] = {"hyperparams.json", "final.safetensors", NULL};
    if (f->layers)
        return strays_in(f->dir, top);
    return strays_in(f->dir, top) + strays_in(f->sl_dir, sl) + strays_in(f->sp_dir, sp) +
           strays_in(f->gs_dir, gs) + strays_in(f->gs2_dir, gs2) + strays_in(f->ls_dir, ls);
}

/* Runs op with allocation N failing, N = 1, 2, ...; returns how many
 * allocations the operation makes. */
static long sweep(fixture_t *f, const op_t *op)
{
    for (long n = 1;; n++) {
        if (op->setup)
            op->setup(f);
        arm(n);
        sae_status_t st = op->run(f);
        disarm();
        int hit = atomic_load(&injected);
        if (!hit) {
            if (st != SAE_OK)
                fail_msg("%s: %s without a fault (%s)", op->name, sae_status_str(st),
                         op->message(f));
            if (op->undo)
                op->undo(f);
            return n - 1;
        }
        if (st != SAE_OK && st != SAE_ERR_NOMEM)
            fail_msg("%s: allocation %ld failed, status %s: %s", op->name, n, sae_status_str(st),
                     op->message(f));
        if (st == SAE_ERR_NOMEM && op->message(f)[0] == '\0')
            fail_msg("%s: allocation %ld failed with no message", op->name, n);
        if (stray_files(f) != 0)
            fail_msg("%s: allocation %ld failed, a temporary file is left", op->name, n);
        /* The handles stay usable: the same call on the same handles now
         * succeeds (after a success, what it made is undone first). */
        if (st == SAE_OK && op->undo)
            op->undo(f);
        if (st == SAE_OK && op->setup)
            op->setup(f);
        st = op->run(f);
        if (st != SAE_OK)
            fail_msg("%s: retry after allocation %ld failed: %s", op->name, n, op->message(f));
        if (op->undo)
            op->undo(f);
    }
}

/* ------------------------------------------------------------------------ */
/* Operations                                                               */
/* ------------------------------------------------------------------------ */

static const char *global_msg(const fixture_t *f)
{
    (void)f;
    return sae_last_error();
}

static const char *model_msg(const fixture_t *f)
{
    return sae_model_errmsg(f->model);
}

static const char *trainer_msg(const fixture_t *f)
{
    return sae_trainer_errmsg(f->trainer);
}

static sae_status_t run_config(fixture_t *f)
{
    sae_config_t *cfg = NULL, *copy = NULL;
    sae_status_t st = sae_config_create(&cfg);
    const char *msg = sae_last_error();
    if (st == SAE_OK && f->layers) {
        st = sae_config_set_layers(cfg, f->layers);
        msg = sae_config_errmsg(cfg);
    }
    if (st == SAE_OK) {
        st = sae_config_set(cfg, "kl.rho", "0.05");
        msg = sae_config_errmsg(cfg);
    }
    if (st == SAE_OK) {
        st = sae_config_clone(cfg, &copy);
        msg = sae_last_error();
    }
    snprintf(f->msg, sizeof f->msg, "%s", st == SAE_OK ? "" : msg);
    sae_config_free(copy);
    sae_config_free(cfg);
    return st;
}

static const char *config_msg(const fixture_t *f)
{
    return f->msg;
}

static sae_status_t run_model_create(fixture_t *f)
{
    return sae_model_create(f->cfg, &f->loaded);
}

static void undo_loaded(fixture_t *f)
{
    sae_model_free(f->loaded);
    f->loaded = NULL;
}

static sae_status_t run_trainer_create(fixture_t *f)
{
    sae_trainer_t *t = NULL;
    sae_status_t st = sae_trainer_create(f->model, &t);
    sae_trainer_free(t);
    return st;
}

/* A fresh trainer each time: a first fit sizes its buffers. */
static void setup_fresh_trainer(fixture_t *f)
{
    sae_trainer_free(f->trainer);
    f->trainer = NULL;
    assert_int_equal(sae_trainer_create(f->model, &f->trainer), SAE_OK);
}

static sae_status_t run_fit(fixture_t *f)
{
    return sae_trainer_fit(f->trainer, f->x, f->rows, 2);
}

static sae_status_t run_step_evaluate(fixture_t *f)
{
    sae_stats_t s;
    sae_status_t st = sae_trainer_step(f->trainer, f->x, 8, &s);
    if (st == SAE_OK)
        st = sae_trainer_evaluate(f->trainer, f->x, f->rows, &s);
    return st;
}

static sae_status_t run_save(fixture_t *f)
{
    return sae_model_save(f->model, f->path);
}

static sae_status_t run_load(fixture_t *f)
{
    return sae_model_load(f->path, &f->loaded);
}

static sae_status_t run_inference(fixture_t *f)
{
    sae_status_t st = sae_model_encode(f->model, f->x, f->rows, f->out);
    if (st == SAE_OK)
        st = sae_model_reconstruct(f->model, f->x, f->rows, f->out);
    if (st == SAE_OK)
        st = sae_model_decode(f->model, f->x, 2, f->out); /* any code values */
    double nmse = 0;
    if (st == SAE_OK)
        st = sae_model_reconstruction_error(f->model, f->x, f->rows, &nmse, NULL);
    uint8_t bits[24 * 64];
    if (st == SAE_OK && f->code_dim <= 64)
        st = sae_model_encode_binary(f->model, f->x, f->rows, 2, bits);
    if (st == SAE_OK && !f->layers) { /* the one-hidden-layer kind's own calls */
        const size_t ks[2] = {1, 3};
        double errors[2];
        st = sae_model_prefix_errors(f->model, f->x, f->rows, ks, 2, errors);
        if (st == SAE_OK)
            st = sae_model_init_decoder_bias(f->model, f->x, f->rows, SAE_BIAS_INIT_GEOMETRIC_MEDIAN);
    }
    return st;
}

/* The first calls on a fresh model make its inference context (scratch,
 * code-operator state, centred rows). */
static void setup_fresh_model(fixture_t *f)
{
    sae_model_free(f->loaded);
    f->loaded = NULL;
    assert_int_equal(sae_model_create(f->cfg, &f->loaded), SAE_OK);
}

static sae_status_t run_first_inference(fixture_t *f)
{
    sae_status_t st = sae_model_reconstruct(f->loaded, f->x, f->rows, f->out);
    if (st == SAE_OK)
        st = sae_model_encode(f->loaded, f->x, f->rows, f->out);
    return st;
}

static const char *loaded_msg(const fixture_t *f)
{
    return sae_model_errmsg(f->loaded);
}

static sae_status_t run_save_checkpoint(fixture_t *f)
{
    return sae_trainer_save_checkpoint(f->trainer, f->ckpt);
}

static sae_status_t run_load_checkpoint(fixture_t *f)
{
    return sae_trainer_load_checkpoint(f->ckpt, &f->loaded, &f->loaded_t);
}

static void undo_checkpoint(fixture_t *f)
{
    sae_trainer_free(f->loaded_t);
    f->loaded_t = NULL;
    undo_loaded(f);
}

/* A data source over the fixture's rows, with a cursor (so that a
 * checkpoint of a source fit asks it). */
static int src_next(void *ud, float *rows_out, size_t max_rows, size_t dim, size_t *rows)
{
    fixture_t *f = ud;
    size_t n = f->rows - f->src_pos < max_rows ? f->rows - f->src_pos : max_rows;
    memcpy(rows_out, f->x + f->src_pos * dim, n * dim * sizeof *rows_out);
    f->src_pos += n;
    *rows = n;
    return 0;
}

static int src_reset(void *ud, uint64_t epoch)
{
    (void)epoch;
    ((fixture_t *)ud)->src_pos = 0;
    return 0;
}

static size_t src_cursor_size(void *ud)
{
    (void)ud;
    return sizeof(size_t);
}

static int src_save(void *ud, void *buf, size_t size)
{
    memcpy(buf, &((fixture_t *)ud)->src_pos, size);
    return 0;
}

static int src_restore(void *ud, const void *buf, size_t size)
{
    memcpy(&((fixture_t *)ud)->src_pos, buf, size);
    return 0;
}

static const sae_source_ops_t source_ops = {sizeof(sae_source_ops_t), src_next, src_reset, NULL,
                                            src_cursor_size, src_save, src_restore, NULL};

static sae_status_t run_fit_source(fixture_t *f)
{
    sae_status_t st = sae_trainer_fit_source(f->trainer, &source_ops, f, 2, 0);
    if (st == SAE_OK) /* the source's cursor saved with the trainer's state */
        st = sae_trainer_save_checkpoint(f->trainer, f->ckpt);
    return st;
}

static sae_status_t run_export(fixture_t *f)
{
    /* export reports through sae_last_error() (the model is const) */
    sae_status_t st = sae_model_export(f->sl_model, f->sl_dir, "saelens");
    if (st == SAE_OK)
        st = sae_model_export(f->sp_model, f->sp_dir, "sparsify");
    return st;
}

static sae_status_t import_one(fixture_t *f, const char *dir, const char *format)
{
    sae_status_t st = sae_model_import(dir, format, &f->loaded);
    undo_loaded(f);
    return st;
}

static sae_status_t run_import(fixture_t *f)
{
    sae_status_t st = import_one(f, f->sl_dir, "saelens");
    if (st == SAE_OK)
        st = import_one(f, f->sp_dir, "auto");
    return st;
}

/* One of the other tools' files (f->fcase), kept in f->loaded for
 * check_foreign. In plain builds libzip's, zlib's and libc's allocations
 * fail in turn too (most of the npz rows' points); under the sanitizers
 * and valgrind only the library's and cJSON's do, so the leak checks there
 * do not reach libzip's failure paths. (libzip 1.7.3 itself leaks a block
 * when some allocations inside zip_fopen_index fail.) */
static sae_status_t run_import_foreign(fixture_t *f)
{
    const foreign_case_t *c = &f->fc[f->fcase];
    sae_status_t st = sae_model_import(c->path, c->format, &f->loaded);
    if (st != SAE_OK && f->loaded)
        fail_msg("import '%s': %s, yet a model handed back", c->path, sae_status_str(st));
    return st;
}

/* After each successful import: the model is the fault-free one, tensor
 * for tensor and code for code, bit for bit (an allocation failure that
 * went unnoticed would leave zeros or garbage here). */
static void check_foreign(fixture_t *f)
{
    const foreign_case_t *c = &f->fc[f->fcase];
    sae_model_t *m = f->loaded;
    assert_non_null(m);
    assert_int_equal(sae_model_input_dim(m), FD);
    assert_int_equal(sae_model_code_dim(m), FN);
    const float *want[5], *p;
    size_t size[5], r, cc;
    foreign_expected(c, want, size);
    for (size_t t = 0; t < 5; t++) {
        tu_assert_status(sae_model_tensor_by_name(m, foreign_tensors[t], &r, &cc, &p), SAE_OK);
        if (r * cc != size[t] || memcmp(p, want[t], size[t] * sizeof(float)) != 0)
            fail_msg("import '%s': %s differs from the fault-free import", c->path,
                     foreign_tensors[t]);
    }
    float code[FROWS * FN], rec[FROWS * FD];
    tu_assert_status(sae_model_encode(m, f->fx, FROWS, code), SAE_OK);
    tu_assert_status(sae_model_reconstruct(m, f->fx, FROWS, rec), SAE_OK);
    if (memcmp(code, c->code, sizeof code) != 0 || memcmp(rec, c->rec, sizeof rec) != 0)
        fail_msg("import '%s': codes or reconstructions differ from the fault-free import's",
                 c->path);
    undo_loaded(f);
}

static void setup_npz_stored(fixture_t *f)
{
    f->fcase = FC_NPZ_STORED;
}

static void setup_npz_deflated(fixture_t *f)
{
    f->fcase = FC_NPZ_DEFLATED;
}

static void setup_gs2(fixture_t *f)
{
    f->fcase = FC_GS2;
}

static void setup_llama(fixture_t *f)
{
    f->fcase = FC_LLAMA;
}

static const op_t ops_dense_io[] = {
    {"export: saelens, sparsify", NULL, run_export, global_msg, NULL},
    {"import: saelens, sparsify", NULL, run_import, global_msg, NULL},
    {"import: gemmascope npz, stored", setup_npz_stored, run_import_foreign, global_msg,
     check_foreign},
    {"import: gemmascope npz, deflated", setup_npz_deflated, run_import_foreign, global_msg,
     check_foreign},
    {"import: gemmascope2 safetensors", setup_gs2, run_import_foreign, global_msg, check_foreign},
    {"import: llamascope (bf16)", setup_llama, run_import_foreign, global_msg, check_foreign},
};

static const op_t ops[] = {
    {"config create, set, clone", NULL, run_config, config_msg, NULL},
    {"model create", NULL, run_model_create, global_msg, undo_loaded},
    {"trainer create", NULL, run_trainer_create, global_msg, NULL},
    {"fit", setup_fresh_trainer, run_fit, trainer_msg, NULL},
    {"step, evaluate", setup_fresh_trainer, run_step_evaluate, trainer_msg, NULL},
    {"save", NULL, run_save, model_msg, NULL},
    {"load", NULL, run_load, global_msg, undo_loaded},
    {"inference calls, bias init", NULL, run_inference, model_msg, NULL},
    {"first inference on a fresh model", setup_fresh_model, run_first_inference, loaded_msg,
     undo_loaded},
    {"checkpoint save", NULL, run_save_checkpoint, trainer_msg, NULL},
    {"checkpoint load", NULL, run_load_checkpoint, global_msg, undo_checkpoint},
    {"fit_source, checkpoint", setup_fresh_trainer, run_fit_source, trainer_msg, NULL},
};

static void sweep_all(const char *layers)
{
    fixture_t f;
    fixture_init(&f, layers);
    /* Once without faults first: the OpenMP and BLAS runtimes set
     * themselves up on first use, and abort on failure, outside the
     * library's control. */
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (ops[i].setup)
            ops[i].setup(&f);
        assert_int_equal(ops[i].run(&f), SAE_OK);
        if (ops[i].undo)
            ops[i].undo(&f);
    }
    long total = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        long n = sweep(&f, &ops[i]);
        print_message("%-36s %4ld allocations, each failed once\n", ops[i].name, n);
        total += n;
    }
    for (size_t i = 0; !layers && i < sizeof ops_dense_io / sizeof ops_dense_io[0]; i++) {
        if (ops_dense_io[i].setup)
            ops_dense_io[i].setup(&f);
        assert_int_equal(ops_dense_io[i].run(&f), SAE_OK);
        if (ops_dense_io[i].undo)
            ops_dense_io[i].undo(&f);
        long n = sweep(&f, &ops_dense_io[i]);
        print_message("%-36s %4ld allocations, each failed once\n", ops_dense_io[i].name, n);
        total += n;
    }
    assert_true(total > 0);
    fixture_free(&f);
}

#ifdef SAE_FAULTS_SAEDATA
/* The sae tool's data readers (tools/sae/data): each kind of file opened,
 * read and closed, as `sae train` does, with every allocation failing in
 * turn; a failure must say "memory" (not call a good file malformed). */
#include <zlib.h>

#include "files.h"

typedef struct data_files {
    char dir[256], npy[2][320], raw[320], idx[320], st[320];
} data_files_t;

static data_files_t df;

static void write_bytes(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(a, 1, na, f), na);
    if (nb)
        assert_int_equal(fwrite(b, 1, nb, f), nb);
    assert_int_equal(fclose(f), 0);
}

/* 4 rows of 5 values in each format. */
static void make_data_files(void)
{
    static float v[20];
    for (int i = 0; i < 20; i++)
        v[i] = (float)i / 20.0f;
    snprintf(df.dir, sizeof df.dir, "%s", tu_tmpdir());
    /* NPY 1.0: magic, header length, the dict padded so data starts at 128 */
    char npy[128];
    memset(npy, ' ', sizeof npy);
    memcpy(npy, "\x93NUMPY\x01\x00\x76\x00", 10);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 5), }";
    memcpy(npy + 10, dict, strlen(dict));
    npy[127] = '\n';
    for (int k = 0; k < 2; k++) {
        snprintf(df.npy[k], sizeof df.npy[k], "%s/shard%d.npy", df.dir, k);
        write_bytes(df.npy[k], npy, sizeof npy, v, sizeof v);
    }
    snprintf(df.raw, sizeof df.raw, "%s/rows.f32", df.dir);
    write_bytes(df.raw, v, sizeof v, NULL, 0);
    /* safetensors: one F32 tensor [4, 5] */
    const char *hdr = "{\"x\":{\"dtype\":\"F32\",\"shape\":[4,5],\"data_offsets\":[0,80]}}";
    uint8_t st[8 + 64];
    memset(st, ' ', sizeof st);
    uint64_t hl = 64;
    for (int i = 0; i < 8; i++)
        st[i] = (uint8_t)(hl >> (8 * i));
    memcpy(st + 8, hdr, strlen(hdr));
    snprintf(df.st, sizeof df.st, "%s/x.safetensors", df.dir);
    write_bytes(df.st, st, sizeof st, v, sizeof v);
    /* IDX, gzip-compressed: u8 [4 x 1 x 5] */
    uint8_t idx[4 + 12 + 20] = {0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 5};
    for (int i = 0; i < 20; i++)
        idx[16 + i] = (uint8_t)(i * 12);
    snprintf(df.idx, sizeof df.idx, "%s/images-idx3-ubyte.gz", df.dir);
    gzFile gz = gzopen(df.idx, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, idx, sizeof idx), (int)sizeof idx);
    assert_int_equal(gzclose(gz), Z_OK);
}

static void remove_data_files(void)
{
    unlink(df.npy[0]);
    unlink(df.npy[1]);
    unlink(df.raw);
    unlink(df.st);
    unlink(df.idx);
    rmdir(df.dir);
}

static sae_status_t read_set(fixture_t *f, const char *const *paths, size_t n,
                             const sd_options_t *opt, size_t rows)
{
    sd_set_t set;
    float out[8 * 5];
    int rc = sd_set_open(&set, paths, n, opt);
    if (rc == 0) {
        if (set.rows != rows || set.dim != 5)
            fail_msg("%s: %zu rows of %zu, not %zu of 5", paths[0], set.rows, set.dim, rows);
        rc = sd_set_read(&set, 0, rows, out);
        sd_set_close(&set);
        if (rc == 0 && fabsf(out[1] - (opt->format == SD_FMT_IDX ? 12.0f / 255.0f : 0.05f)) > 1e-6f)
            fail_msg("%s: read %g", paths[0], (double)out[1]);
    }
    snprintf(f->msg, sizeof f->msg, "%s", rc == 0 ? "" : sd_errmsg());
    if (rc == 0)
        return SAE_OK;
    /* An allocation failed: the message must say so. */
    return strstr(f->msg, "memory") ? SAE_ERR_NOMEM : SAE_ERR_IO;
}

static sae_status_t run_read_npy_shards(fixture_t *f)
{
    const char *paths[2] = {df.npy[0], df.npy[1]};
    sd_options_t opt = {SD_FMT_AUTO, 0, SD_F32, NULL, 0};
    return read_set(f, paths, 2, &opt, 8);
}

static sae_status_t run_read_raw(fixture_t *f)
{
    const char *paths[1] = {df.raw};
    sd_options_t opt = {SD_FMT_RAW, 5, SD_F32, NULL, 0};
    return read_set(f, paths, 1, &opt, 4);
}

static sae_status_t run_read_idx_gz(fixture_t *f)
{
    const char *paths[1] = {df.idx};
    sd_options_t opt = {SD_FMT_IDX, 0, SD_F32, NULL, 1};
    return read_set(f, paths, 1, &opt, 4);
}

static sae_status_t run_read_safetensors(fixture_t *f)
{
    const char *paths[1] = {df.st};
    sd_options_t opt = {SD_FMT_AUTO, 0, SD_F32, NULL, 0};
    return read_set(f, paths, 1, &opt, 4);
}

static const op_t ops_readers[] = {
    {"sae data: npy, two shards", NULL, run_read_npy_shards, config_msg, NULL},
    {"sae data: raw f32", NULL, run_read_raw, config_msg, NULL},
    {"sae data: idx gzip", NULL, run_read_idx_gz, config_msg, NULL},
    {"sae data: safetensors", NULL, run_read_safetensors, config_msg, NULL},
};

static void test_cli_readers(void **state)
{
    (void)state;
    fixture_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.dir, sizeof f.dir, "%s", tu_tmpdir());
    f.layers = "none"; /* no export folders to look into */
    make_data_files();
    for (size_t i = 0; i < sizeof ops_readers / sizeof ops_readers[0]; i++) {
        assert_int_equal(ops_readers[i].run(&f), SAE_OK);
        long n = sweep(&f, &ops_readers[i]);
        print_message("%-36s %4ld allocations, each failed once\n", ops_readers[i].name, n);
    }
    remove_data_files();
    rmdir(f.dir);
}
#endif

static void test_dense(void **state)
{
    (void)state;
    sweep_all(NULL);
}

static void test_layered(void **state)
{
    (void)state;
    sweep_all("input 1x6x6; conv2d 3 k3 relu; maxpool2d k2 s1; dense 5 sigmoid code;"
              "dense 36 sigmoid");
}

int main(void)
{
    install_hooks();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_layered),
#ifdef SAE_FAULTS_SAEDATA
        cmocka_unit_test(test_cli_readers),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
