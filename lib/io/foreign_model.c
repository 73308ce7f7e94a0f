/* SPDX-License-Identifier: MIT */
/* From a foreign SAE's arrays to a libsae model and back (io/foreign.h). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "code/topk.h"
#include "config/config.h"
#include "core/error.h"
#include "io/foreign.h"

void sae_foreign_free(sae_foreign_t *fs)
{
    float **p[] = {&fs->enc_w, &fs->enc_b, &fs->dec_w, &fs->dec_b, &fs->threshold, &fs->r_mag,
                   &fs->b_mag};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
        free(*p[i]);
        *p[i] = NULL;
    }
}

sae_status_t sae_foreign_alloc(sae_foreign_t *fs)
{
    size_t h = fs->d_sae, d = fs->d_in;
    if (h && d > SIZE_MAX / sizeof(float) / h)
        return sae_fail_global(SAE_ERR_NOMEM, "a %zu x %zu SAE does not fit in memory", h, d);
    fs->enc_w = calloc(h * d, sizeof(float));
    fs->dec_w = calloc(h * d, sizeof(float));
    fs->enc_b = calloc(h, sizeof(float));
    fs->dec_b = calloc(d, sizeof(float));
    int ok = fs->enc_w && fs->dec_w && fs->enc_b && fs->dec_b;
    if (fs->arch == SAE_FA_JUMPRELU)
        ok = ok && (fs->threshold = calloc(h, sizeof(float)));
    if (fs->arch == SAE_FA_GATED)
        ok = ok && (fs->r_mag = calloc(h, sizeof(float))) && (fs->b_mag = calloc(h, sizeof(float)));
    if (!ok) {
        sae_foreign_free(fs);
        return sae_fail_global(SAE_ERR_NOMEM, "out of memory for a %zu x %zu SAE", h, d);
    }
    return SAE_OK;
}

/* libsae keeps log(theta) (code/jumprelu.c). The log is nudged by ulps
 * until exp gives theta back exactly, so that the model fires where the
 * file's threshold says; theta <= 0 (a ReLU for that latent, since the
 * code is relu(z) * 1[z > theta]) becomes -FLT_MAX, whose exp is 0. */
static float log_threshold(float t)
{
    if (!(t > 0.0f))
        return -FLT_MAX;
    float l = logf(t);
    float up = l, down = l;
    for (int i = 0; i < 4; i++) {
        if (expf(up) == t)
            return up;
        if (expf(down) == t)
            return down;
        up = nextafterf(up, INFINITY);
        down = nextafterf(down, -INFINITY);
    }
    return l;
}

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((st = (x)) != SAE_OK)                                                                  \
            goto out;                                                                              \
    } while (0)

sae_status_t sae_foreign_build(sae_foreign_t *fs, sae_model_t **out)
{
    size_t h = fs->d_sae, d = fs->d_in;
    sae_config_t *cfg = NULL;
    sae_model_t *m = NULL;
    float *tmp = NULL;
    sae_status_t st;
    if (fs->arch == SAE_FA_GATED && fs->subtract_b_dec) {
        /* W(x - c) + b = Wx + (b - Wc): the gate and magnitude biases take
         * the decoder bias in (double sums, one rounding each). */
        for (size_t j = 0; j < h; j++) {
            double wc = 0;
            for (size_t i = 0; i < d; i++)
                wc += (double)fs->enc_w[j * d + i] * fs->dec_b[i];
            fs->enc_b[j] = (float)(fs->enc_b[j] - wc);
            fs->b_mag[j] = (float)(fs->b_mag[j] - exp((double)fs->r_mag[j]) * wc);
        }
        fs->subtract_b_dec = 0;
    }
    CHECK(sae_config_create(&cfg));
    CHECK(sae_config_set_int(cfg, SAE_P_INPUT_DIM, (int64_t)d));
    CHECK(sae_config_set_int(cfg, SAE_P_HIDDEN_DIM, (int64_t)h));
    CHECK(sae_config_set_int(cfg, SAE_P_HIDDEN_ACTIVATION,
                             fs->arch == SAE_FA_JUMPRELU ? SAE_ACT_JUMPRELU : SAE_ACT_RELU));
    CHECK(sae_config_set_int(cfg, SAE_P_OUTPUT_ACTIVATION, SAE_ACT_LINEAR));
    CHECK(sae_config_set_int(cfg, SAE_P_TIED, 0));
    CHECK(sae_config_set_int(cfg, SAE_P_BIAS, 1));
    CHECK(sae_config_set_int(cfg, SAE_P_PRE_ENCODER_BIAS, fs->subtract_b_dec));
    if (fs->arch == SAE_FA_TOPK)
        CHECK(sae_config_set_int(cfg, SAE_P_TOPK_K, (int64_t)fs->k));
    if (fs->arch == SAE_FA_GATED)
        CHECK(sae_config_set_int(cfg, SAE_P_GATED, 1));
    CHECK(sae_model_create(cfg, &m));
    CHECK(sae_model_set_tensor(m, "encoder.weight", h, d, fs->enc_w));
    CHECK(sae_model_set_tensor(m, "encoder.bias", h, 1, fs->enc_b));
    CHECK(sae_model_set_tensor(m, "decoder.weight", h, d, fs->dec_w));
    CHECK(sae_model_set_tensor(m, "decoder.bias", d, 1, fs->dec_b));
    if (fs->arch == SAE_FA_JUMPRELU) {
        tmp = malloc(h * sizeof *tmp);
        if (!tmp)
            CHECK(sae_fail_global(SAE_ERR_NOMEM, "out of memory"));
        for (size_t j = 0; j < h; j++)
            tmp[j] = log_threshold(fs->threshold[j]);
        CHECK(sae_model_set_tensor(m, "jumprelu.log_threshold", h, 1, tmp));
    }
    if (fs->arch == SAE_FA_GATED) {
        CHECK(sae_model_set_tensor(m, "gated.r_mag", h, 1, fs->r_mag));
        CHECK(sae_model_set_tensor(m, "gated.b_mag", h, 1, fs->b_mag));
    }
out:
    /* The model's message, when the failure was the model's (not the
     * threshold buffer's, whose message is set already) */
    if (st != SAE_OK && m && sae_model_errmsg(m)[0])
        sae_set_global_error(sae_model_errmsg(m));
    else if (st != SAE_OK && cfg && !m && sae_config_errmsg(cfg)[0])
        sae_set_global_error(sae_config_errmsg(cfg));
    free(tmp);
    sae_config_free(cfg);
    if (st != SAE_OK) {
        sae_model_free(m);
        return st;
    }
    *out = m;
    return SAE_OK;
}

static sae_status_t copy_tensor(const sae_model_t *m, const char *name, size_t rows, float **dst)
{
    size_t r, c;
    const float *p;
    if (sae_model_tensor_by_name(m, name, &r, &c, &p) != SAE_OK || r * c != rows)
        return sae_fail_global(SAE_ERR_UNSUPPORTED,
                               "export: the model has no tensor '%s' of %zu values", name, rows);
    memcpy(*dst, p, rows * sizeof(float));
    return SAE_OK;
}

sae_status_t sae_foreign_from_model(const sae_model_t *m, sae_foreign_t *fs)
{
    memset(fs, 0, sizeof *fs);
    const sae_config_t *cfg = sae_model_config(m);
    const char *why = NULL;
    int64_t act = sae_cfg_int(cfg, SAE_P_HIDDEN_ACTIVATION);
    int64_t k = sae_cfg_int(cfg, SAE_P_TOPK_K);
    if (sae_model_layer_count(m) > 2 || sae_cfg_int(cfg, SAE_P_ENCODER_FROM_DECODER) ||
        sae_model_tensor_by_name(m, "encoder.weight", NULL, NULL, NULL) != SAE_OK)
        why = "a model with arch.layers (the formats hold one encoder and one decoder)";
    else if (sae_cfg_int(cfg, SAE_P_TIED))
        why = "a tied model (arch.tied = true: the formats store W_dec; untie it first)";
    else if (!sae_cfg_int(cfg, SAE_P_BIAS))
        why = "a model without biases (arch.bias = false)";
    else if (sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION) != SAE_ACT_LINEAR)
        why = "a nonlinear output (arch.output_activation is not linear)";
    else if (act != SAE_ACT_RELU && act != SAE_ACT_JUMPRELU)
        why = "a hidden activation other than relu and jumprelu";
    if (why)
        return sae_fail_global(SAE_ERR_UNSUPPORTED, "export: cannot express %s", why);
    fs->d_in = sae_model_input_dim(m);
    fs->d_sae = sae_model_code_dim(m);
    fs->arch = sae_cfg_int(cfg, SAE_P_GATED)   ? SAE_FA_GATED
               : act == SAE_ACT_JUMPRELU        ? SAE_FA_JUMPRELU
               : k > 0                          ? SAE_FA_TOPK
                                                : SAE_FA_RELU;
    /* What inference computes is exported: a top-k code keeps
     * round(alpha k) units per row; BatchTopK with its threshold estimated
     * is relu(z) * 1[relu(z) > theta], a JumpReLU with theta for every
     * latent (as SAELens saves its BatchTopK SAEs). */
    float batch_theta = 0.0f;
    if (k > 0) {
        fs->k = sae_topk_k_infer(cfg, fs->d_sae);
        const float *th = NULL, *nb = NULL;
        if (sae_cfg_int(cfg, SAE_P_TOPK_MODE) == 1 &&
            sae_cfg_int(cfg, SAE_P_TOPK_INFERENCE) != SAE_TOPK_INFER_K &&
            sae_model_tensor_by_name(m, "topk.threshold", NULL, NULL, &th) == SAE_OK &&
            sae_model_tensor_by_name(m, "topk.threshold_batches", NULL, NULL, &nb) == SAE_OK &&
            *nb > 0.0f) {
            fs->arch = SAE_FA_JUMPRELU;
            batch_theta = *th;
        }
    }
    fs->subtract_b_dec = (int)sae_cfg_int(cfg, SAE_P_PRE_ENCODER_BIAS);
    sae_status_t st = sae_foreign_alloc(fs);
    size_t h = fs->d_sae, d = fs->d_in;
    if (st == SAE_OK)
        st = copy_tensor(m, "encoder.weight", h * d, &fs->enc_w);
    if (st == SAE_OK)
        st = copy_tensor(m, "encoder.bias", h, &fs->enc_b);
    if (st == SAE_OK)
        st = copy_tensor(m, "decoder.weight", h * d, &fs->dec_w);
    if (st == SAE_OK)
        st = copy_tensor(m, "decoder.bias", d, &fs->dec_b);
    if (st == SAE_OK && fs->arch == SAE_FA_JUMPRELU && k > 0) {
        for (size_t j = 0; j < h; j++)
            fs->threshold[j] = batch_theta;
    } else if (st == SAE_OK && fs->arch == SAE_FA_JUMPRELU) {
        st = copy_tensor(m, "jumprelu.log_threshold", h, &fs->threshold);
        for (size_t j = 0; st == SAE_OK && j < h; j++)
            fs->threshold[j] = expf(fs->threshold[j]);
    }
    if (st == SAE_OK && fs->arch == SAE_FA_GATED)
        st = copy_tensor(m, "gated.r_mag", h, &fs->r_mag);
    if (st == SAE_OK && fs->arch == SAE_FA_GATED)
        st = copy_tensor(m, "gated.b_mag", h, &fs->b_mag);
    if (st != SAE_OK)
        sae_foreign_free(fs);
    return st;
}

int sae_foreign_json_count(const cJSON *item, size_t min, size_t *out)
{
    if (!cJSON_IsNumber(item) || !(item->valuedouble >= (double)min) ||
        item->valuedouble > 1e9 || item->valuedouble != floor(item->valuedouble))
        return 0;
    *out = (size_t)item->valuedouble;
    return 1;
}

sae_status_t sae_foreign_read_json(const char *path, cJSON **out)
{
    FILE *f = fopen(path, "rb");
    /* fopen's own allocation failing is out of memory, not a missing file */
    if (!f)
        return sae_fail_global(errno == ENOMEM ? SAE_ERR_NOMEM : SAE_ERR_IO,
                               "'%s': cannot open: %s", path, strerror(errno));
    enum { CAP = 1 << 20 };
    char *text = malloc(CAP + 1);
    size_t n = text ? fread(text, 1, CAP + 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (!text || err || n > CAP) {
        free(text);
        return sae_fail_global(!text ? SAE_ERR_NOMEM : err ? SAE_ERR_IO : SAE_ERR_FORMAT, "'%s': %s",
                               path, !text ? "out of memory" : err ? "read error" : "larger than 1 MiB");
    }
    errno = 0;
    cJSON *root = cJSON_ParseWithLength(text, n);
    /* cJSON says NULL for both; its allocator (malloc) sets ENOMEM */
    int nomem = !root && errno == ENOMEM;
    free(text);
    if (nomem)
        return sae_fail_global(SAE_ERR_NOMEM, "'%s': out of memory parsing it", path);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sae_fail_global(SAE_ERR_FORMAT, "'%s': not a JSON object", path);
    }
    *out = root;
    return SAE_OK;
}

sae_status_t sae_foreign_tensor(fst_file_t *sf, const char *name, size_t ndim, size_t rows,
                                size_t cols, int transpose, float *dst)
{
    const fst_tensor_t *t = sae_fst_find(sf, name);
    if (!t)
        return sae_fail_global(SAE_ERR_FORMAT, "'%s': missing tensor '%s'", sf->path, name);
    uint64_t want0 = transpose ? cols : rows, want1 = transpose ? rows : cols;
    int ok = t->ndim == ndim && t->shape[0] == want0 && (ndim == 1 || t->shape[1] == want1);
    if (!ok) {
        char got[64] = "", *p = got;
        for (size_t i = 0; i < t->ndim; i++)
            p += snprintf(p, sizeof got - (size_t)(p - got), "%s%llu", i ? ", " : "",
                          (unsigned long long)t->shape[i]);
        if (ndim == 2 && t->ndim == 2 && t->shape[0] == want1 && t->shape[1] == want0)
            return sae_fail_global(SAE_ERR_DIMENSION,
                                   "'%s': tensor '%s' is [%s]: transposed (expected [%llu, %llu])",
                                   sf->path, name, got, (unsigned long long)want0,
                                   (unsigned long long)want1);
        if (ndim == 2)
            return sae_fail_global(SAE_ERR_DIMENSION,
                                   "'%s': tensor '%s' is [%s], expected [%llu, %llu]", sf->path,
                                   name, got, (unsigned long long)want0, (unsigned long long)want1);
        return sae_fail_global(SAE_ERR_DIMENSION, "'%s': tensor '%s' is [%s], expected [%llu]",
                               sf->path, name, got, (unsigned long long)want0);
    }
    if (!dst)
        return SAE_OK;
    if (!transpose)
        return sae_fst_read(sf, t, dst);
    float *tmp = malloc(rows * cols * sizeof *tmp + 1);
    if (!tmp)
        return sae_fail_global(SAE_ERR_NOMEM, "out of memory for tensor '%s'", name);
    sae_status_t st = sae_fst_read(sf, t, tmp);
    for (size_t i = 0; st == SAE_OK && i < cols; i++)
        for (size_t j = 0; j < rows; j++)
            dst[j * cols + i] = tmp[i * rows + j];
    free(tmp);
    return st;
}
