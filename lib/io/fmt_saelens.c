/* SPDX-License-Identifier: MIT */
/* SAELens folders (docs/formats.md): cfg.json and sae_weights.safetensors
 * with W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in],
 * b_dec [d_in]; jumprelu adds threshold, gated has b_gate, r_mag, b_mag
 * instead of b_enc. Read from SAELens's own loader and SAE classes
 * (sae_lens/saes/{sae,standard_sae,topk_sae,jumprelu_sae,gated_sae}.py,
 * sae_lens/loading/pretrained_sae_loaders.py). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/foreign.h"
#include "io/safetensors.h"

#define CFG_NAME "cfg.json"
#define WEIGHTS_NAME "sae_weights.safetensors"

static sae_status_t bad(sae_status_t st, const char *dir, const char *what)
{
    return sae_fail_global(st, "SAELens folder '%s': %s", dir, what);
}


/* Reads what cfg.json says into fs (architecture, sizes, k, b_dec). */
static sae_status_t parse_cfg(const char *dir, const cJSON *cfg, sae_foreign_t *fs)
{
    char msg[200];
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(cfg, "architecture");
    /* Before SAELens 6 the activation named the top-k code. */
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(cfg, "activation_fn");
    if (!act)
        act = cJSON_GetObjectItemCaseSensitive(cfg, "activation_fn_str");
    const char *a = "standard";
    if (arch) {
        if (!cJSON_IsString(arch))
            return bad(SAE_ERR_FORMAT, dir, "cfg.json: architecture is not a string");
        a = arch->valuestring;
    }
    if (strcmp(a, "standard") == 0)
        fs->arch = SAE_FA_RELU;
    else if (strcmp(a, "topk") == 0)
        fs->arch = SAE_FA_TOPK;
    else if (strcmp(a, "jumprelu") == 0)
        fs->arch = SAE_FA_JUMPRELU;
    else if (strcmp(a, "gated") == 0)
        fs->arch = SAE_FA_GATED;
    else if (strstr(a, "batchtopk")) {
        snprintf(msg, sizeof msg,
                 "cfg.json: architecture '%.40s' is SAELens's training form; its saved "
                 "inference SAE says jumprelu (threshold) instead",
                 a);
        return bad(SAE_ERR_UNSUPPORTED, dir, msg);
    } else {
        snprintf(msg, sizeof msg,
                 "cfg.json: unknown architecture '%.40s' (libsae reads standard, topk, "
                 "jumprelu, gated)",
                 a);
        return bad(SAE_ERR_BAD_VALUE, dir, msg);
    }
    if (act && (!cJSON_IsString(act) ||
                (strcmp(act->valuestring, "relu") != 0 && strcmp(act->valuestring, "topk") != 0))) {
        snprintf(msg, sizeof msg, "cfg.json: activation_fn '%.40s' is not supported (relu, topk)",
                 cJSON_IsString(act) ? act->valuestring : "?");
        return bad(SAE_ERR_UNSUPPORTED, dir, msg);
    }
    if (!cJSON_IsString(act) || strcmp(act->valuestring, "topk") != 0)
        act = NULL;
    if (act && fs->arch == SAE_FA_RELU)
        fs->arch = SAE_FA_TOPK;
    else if (act && fs->arch != SAE_FA_TOPK)
        return bad(SAE_ERR_UNSUPPORTED, dir,
                   "cfg.json: activation_fn topk with a jumprelu or gated architecture");
    if (!sae_foreign_json_count(cJSON_GetObjectItemCaseSensitive(cfg, "d_in"), 1, &fs->d_in) ||
        !sae_foreign_json_count(cJSON_GetObjectItemCaseSensitive(cfg, "d_sae"), 1, &fs->d_sae))
        return bad(SAE_ERR_FORMAT, dir, "cfg.json: d_in and d_sae must be positive integers");
    if (fs->arch == SAE_FA_TOPK) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(cfg, "k");
        const cJSON *kw = cJSON_GetObjectItemCaseSensitive(cfg, "activation_fn_kwargs");
        if (!k && cJSON_IsObject(kw))
            k = cJSON_GetObjectItemCaseSensitive(kw, "k");
        if (!k)
            return bad(SAE_ERR_FORMAT, dir, "cfg.json: a topk SAE without k");
        if (!sae_foreign_json_count(k, 1, &fs->k) || fs->k > fs->d_sae)
            return bad(SAE_ERR_RANGE, dir, "cfg.json: k is not an integer in 1..d_sae");
    }
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(cfg, "apply_b_dec_to_input");
    if (b && !cJSON_IsBool(b))
        return bad(SAE_ERR_FORMAT, dir, "cfg.json: apply_b_dec_to_input is not a boolean");
    fs->subtract_b_dec = !b || cJSON_IsTrue(b); /* SAELens's default: true */
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(cfg, "normalize_activations");
    if (norm && cJSON_IsString(norm)) {
        const char *n = norm->valuestring;
        /* expected_average_only_in scales the training data by a constant
         * that SAELens folds into the weights; its SAE class applies
         * nothing at inference, and neither does libsae. */
        if (strcmp(n, "constant_norm_rescale") == 0 || strcmp(n, "layer_norm") == 0) {
            snprintf(msg, sizeof msg,
                     "cfg.json: normalize_activations '%s' rescales each input row at run time; "
                     "libsae models have no such step",
                     n);
            return bad(SAE_ERR_UNSUPPORTED, dir, msg);
        }
        if (strcmp(n, "none") != 0 && strcmp(n, "expected_average_only_in") != 0) {
            snprintf(msg, sizeof msg, "cfg.json: unknown normalize_activations '%.40s'", n);
            return bad(SAE_ERR_BAD_VALUE, dir, msg);
        }
    } else if (norm && !cJSON_IsBool(norm) && !cJSON_IsNull(norm))
        return bad(SAE_ERR_FORMAT, dir, "cfg.json: normalize_activations is not a string");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(cfg, "rescale_acts_by_decoder_norm");
    if (cJSON_IsTrue(rs))
        return bad(SAE_ERR_UNSUPPORTED, dir,
                   "cfg.json: rescale_acts_by_decoder_norm = true (the code is scaled by each "
                   "latent's decoder norm) is not supported");
    const cJSON *rsh = cJSON_GetObjectItemCaseSensitive(cfg, "reshape_activations");
    if (cJSON_IsString(rsh) && strcmp(rsh->valuestring, "none") != 0 &&
        strcmp(rsh->valuestring, "hook_z") != 0)
        return bad(SAE_ERR_BAD_VALUE, dir, "cfg.json: unknown reshape_activations");
    /* dtype is the precision SAELens runs in; libsae computes in fp32 from
     * the tensors' own dtype (exact for F16 and BF16). */
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(cfg, "dtype");
    if (dt) {
        static const char *known[] = {"float32", "float16", "bfloat16", "float64"};
        const char *s = cJSON_IsString(dt) ? dt->valuestring : "";
        if (strncmp(s, "torch.", 6) == 0)
            s += 6;
        int ok = 0;
        for (size_t i = 0; i < 4; i++)
            ok |= strcmp(s, known[i]) == 0;
        if (!ok)
            return bad(SAE_ERR_BAD_VALUE, dir, "cfg.json: dtype is not float32, float16, "
                                               "bfloat16 or float64");
    }
    return SAE_OK;
}

static sae_status_t read_weights(fst_file_t *sf, sae_foreign_t *fs)
{
    size_t h = fs->d_sae, d = fs->d_in;
    const char *names[8];
    size_t n = 0;
    sae_status_t st = sae_foreign_tensor(sf, "W_enc", 2, h, d, 1, fs->enc_w);
    names[n++] = "W_enc";
    if (st == SAE_OK)
        st = sae_foreign_tensor(sf, "W_dec", 2, h, d, 0, fs->dec_w);
    names[n++] = "W_dec";
    if (st == SAE_OK)
        st = sae_foreign_tensor(sf, "b_dec", 1, d, 1, 0, fs->dec_b);
    names[n++] = "b_dec";
    if (fs->arch == SAE_FA_GATED) {
        if (st == SAE_OK)
            st = sae_foreign_tensor(sf, "b_gate", 1, h, 1, 0, fs->enc_b);
        if (st == SAE_OK)
            st = sae_foreign_tensor(sf, "r_mag", 1, h, 1, 0, fs->r_mag);
        if (st == SAE_OK)
            st = sae_foreign_tensor(sf, "b_mag", 1, h, 1, 0, fs->b_mag);
        names[n++] = "b_gate";
        names[n++] = "r_mag";
        names[n++] = "b_mag";
    } else {
        if (st == SAE_OK)
            st = sae_foreign_tensor(sf, "b_enc", 1, h, 1, 0, fs->enc_b);
        names[n++] = "b_enc";
    }
    if (st == SAE_OK && fs->arch == SAE_FA_JUMPRELU) {
        /* SAELens's training class keeps log_threshold; its saved file has threshold. */
        if (!sae_fst_find(sf, "threshold") && sae_fst_find(sf, "log_threshold")) {
            st = sae_foreign_tensor(sf, "log_threshold", 1, h, 1, 0, fs->threshold);
            for (size_t j = 0; st == SAE_OK && j < h; j++)
                fs->threshold[j] = expf(fs->threshold[j]);
            names[n++] = "log_threshold";
        } else {
            if (!sae_fst_find(sf, "threshold"))
                return sae_fail_global(SAE_ERR_FORMAT,
                                       "'%s': missing tensor 'threshold' (a jumprelu SAE's "
                                       "per-latent threshold)",
                                       sf->path);
            st = sae_foreign_tensor(sf, "threshold", 1, h, 1, 0, fs->threshold);
            names[n++] = "threshold";
        }
    }
    if (st != SAE_OK)
        return st;
    /* Early SAELens files may carry a per-latent scaling_factor multiplying
     * the code before decoding: folded into W_dec's rows. */
    const fst_tensor_t *sc = sae_fst_find(sf, "scaling_factor");
    if (sc) {
        float *s = malloc(h * sizeof *s);
        if (!s)
            return sae_fail_global(SAE_ERR_NOMEM, "out of memory");
        st = sae_foreign_tensor(sf, "scaling_factor", 1, h, 1, 0, s);
        for (size_t j = 0; st == SAE_OK && j < h; j++)
            for (size_t i = 0; i < d; i++)
                fs->dec_w[j * d + i] *= s[j];
        free(s);
        if (st != SAE_OK)
            return st;
        names[n++] = "scaling_factor";
    }
    /* Any other tensor is a layout this reader does not know: refused
     * rather than ignored (SAELens issues 608, 645: silently wrong SAEs). */
    for (size_t t = 0; t < sf->n; t++) {
        int known = 0;
        for (size_t i = 0; i < n; i++)
            known |= strcmp(sf->tensors[t].name, names[i]) == 0;
        if (!known)
            return sae_fail_global(SAE_ERR_FORMAT,
                                   "'%s': unexpected tensor '%s' for this architecture", sf->path,
                                   sf->tensors[t].name);
    }
    return SAE_OK;
}

sae_status_t sae_saelens_import(const char *dir, sae_model_t **out)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/" CFG_NAME, dir) >= (int)sizeof path)
        return bad(SAE_ERR_IO, dir, "path too long");
    cJSON *cfg = NULL;
    sae_status_t st = sae_foreign_read_json(path, &cfg);
    if (st != SAE_OK)
        return st;
    sae_foreign_t fs;
    memset(&fs, 0, sizeof fs);
    st = parse_cfg(dir, cfg, &fs);
    cJSON_Delete(cfg);
    if (st != SAE_OK)
        return st;
    snprintf(path, sizeof path, "%s/" WEIGHTS_NAME, dir);
    fst_file_t sf;
    st = sae_fst_open(&sf, path);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "W_enc", 2, fs.d_sae, fs.d_in, 1, NULL);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "W_dec", 2, fs.d_sae, fs.d_in, 0, NULL);
    if (st == SAE_OK)
        st = sae_foreign_alloc(&fs);
    if (st == SAE_OK)
        st = read_weights(&sf, &fs);
    sae_fst_close(&sf);
    if (st == SAE_OK)
        st = sae_foreign_build(&fs, out);
    sae_foreign_free(&fs);
    return st;
}

static int write_text(int fd, void *ctx)
{
    const char *text = ctx;
    return sae_write_all(fd, text, strlen(text)) == 0 && sae_write_all(fd, "\n", 1) == 0 ? 0 : -1;
}

/* cfg.json is written as model files are (core/atomic_file.h): a
 * temporary, fsync, rename; an allocation failure (fopen's, realpath's) is
 * SAE_ERR_NOMEM, not an I/O error, and no temporary is left. */
sae_status_t sae_foreign_write_text(const char *path, const char *text)
{
    char errbuf[SAE_ERRMSG_SIZE];
    sae_status_t st = sae_atomic_write(path, "config", write_text, (void *)text, errbuf);
    return st == SAE_OK ? SAE_OK : sae_fail_global(st, "%s", errbuf);
}

sae_status_t sae_saelens_export(const sae_model_t *m, const char *dir)
{
    sae_foreign_t fs;
    sae_status_t st = sae_foreign_from_model(m, &fs);
    if (st != SAE_OK)
        return st;
    if (fs.arch == SAE_FA_GATED && fs.subtract_b_dec) {
        sae_foreign_free(&fs);
        return sae_fail_global(SAE_ERR_UNSUPPORTED, "export: gated with a pre-encoder bias");
    }
    size_t h = fs.d_sae, d = fs.d_in;
    char path[4096];
    float *w_enc = malloc(h * d * sizeof *w_enc + 1);
    cJSON *cfg = cJSON_CreateObject();
    char *text = NULL;
    if (!w_enc || !cfg) {
        st = sae_fail_global(SAE_ERR_NOMEM, "export: out of memory");
        goto out;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        st = sae_fail_global(SAE_ERR_IO, "export: cannot create '%s': %s", dir, strerror(errno));
        goto out;
    }
    for (size_t j = 0; j < h; j++)
        for (size_t i = 0; i < d; i++)
            w_enc[i * h + j] = fs.enc_w[j * d + i];
    sae_st_tensor_t t[8] = {
        {"W_enc", w_enc, 2, {d, h}, SAE_DT_F32},
        {"W_dec", fs.dec_w, 2, {h, d}, SAE_DT_F32},
        {"b_dec", fs.dec_b, 1, {d, 0}, SAE_DT_F32},
    };
    size_t n = 3;
    if (fs.arch == SAE_FA_GATED) {
        t[n++] = (sae_st_tensor_t){"b_gate", fs.enc_b, 1, {h, 0}, SAE_DT_F32};
        t[n++] = (sae_st_tensor_t){"r_mag", fs.r_mag, 1, {h, 0}, SAE_DT_F32};
        t[n++] = (sae_st_tensor_t){"b_mag", fs.b_mag, 1, {h, 0}, SAE_DT_F32};
    } else
        t[n++] = (sae_st_tensor_t){"b_enc", fs.enc_b, 1, {h, 0}, SAE_DT_F32};
    if (fs.arch == SAE_FA_JUMPRELU)
        t[n++] = (sae_st_tensor_t){"threshold", fs.threshold, 1, {h, 0}, SAE_DT_F32};
    static const char *arch_names[] = {"standard", "topk", "jumprelu", "gated"};
    cJSON_AddStringToObject(cfg, "architecture", arch_names[fs.arch]);
    cJSON_AddNumberToObject(cfg, "d_in", (double)d);
    cJSON_AddNumberToObject(cfg, "d_sae", (double)h);
    if (fs.arch == SAE_FA_TOPK)
        cJSON_AddNumberToObject(cfg, "k", (double)fs.k);
    cJSON_AddStringToObject(cfg, "dtype", "float32");
    cJSON_AddStringToObject(cfg, "device", "cpu");
    cJSON_AddBoolToObject(cfg, "apply_b_dec_to_input", fs.subtract_b_dec);
    cJSON_AddStringToObject(cfg, "normalize_activations", "none");
    cJSON_AddStringToObject(cfg, "reshape_activations", "none");
    cJSON *meta = cJSON_AddObjectToObject(cfg, "metadata");
    if (meta)
        cJSON_AddStringToObject(meta, "sae_lens_version", "6.0.0");
    text = cJSON_Print(cfg);
    if (!text) {
        st = sae_fail_global(SAE_ERR_NOMEM, "export: out of memory");
        goto out;
    }
    char errbuf[SAE_ERRMSG_SIZE] = "";
    snprintf(path, sizeof path, "%s/" WEIGHTS_NAME, dir);
    st = sae_st_save(path, t, n, NULL, 0, errbuf);
    if (st != SAE_OK) {
        sae_set_global_error(errbuf);
        goto out;
    }
    snprintf(path, sizeof path, "%s/" CFG_NAME, dir);
    st = sae_foreign_write_text(path, text);
out:
    free(text);
    cJSON_Delete(cfg);
    free(w_enc);
    sae_foreign_free(&fs);
    return st;
}
