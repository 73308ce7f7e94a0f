/* SPDX-License-Identifier: MIT */
/* EleutherAI sparsify folders (docs/formats.md): cfg.json (d_in, k,
 * num_latents or expansion_factor) and sae.safetensors with
 * encoder.weight [n, d_in], encoder.bias [n], W_dec [n, d_in], b_dec
 * [d_in]. Read from sparsify/sparse_coder.py (load_from_disk, encode,
 * decode) and sparsify/fused_encoder.py: the code is the k largest of
 * relu(encoder(x - b_dec)), x_hat = code W_dec + b_dec; a transcoder
 * (transcode) does not subtract b_dec and maps to another space. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/foreign.h"
#include "io/safetensors.h"

static sae_status_t bad(sae_status_t st, const char *dir, const char *what)
{
    return sae_fail_global(st, "sparsify folder '%s': %s", dir, what);
}


static sae_status_t parse_cfg(const char *dir, const cJSON *cfg, sae_foreign_t *fs)
{
    fs->arch = SAE_FA_TOPK;
    fs->subtract_b_dec = 1;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "transcode")))
        return bad(SAE_ERR_UNSUPPORTED, dir,
                   "cfg.json: transcode = true (a transcoder maps to another activation, with no "
                   "b_dec subtracted; libsae models reconstruct their input)");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "skip_connection")))
        return bad(SAE_ERR_UNSUPPORTED, dir, "cfg.json: skip_connection = true (W_skip)");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(cfg, "activation");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "topk") != 0)) {
        char msg[120];
        snprintf(msg, sizeof msg, "cfg.json: activation '%.40s' is not supported (topk)",
                 cJSON_IsString(act) ? act->valuestring : "?");
        return bad(SAE_ERR_UNSUPPORTED, dir, msg);
    }
    size_t n = 0, ef = 0;
    if (!sae_foreign_json_count(cJSON_GetObjectItemCaseSensitive(cfg, "d_in"), 1, &fs->d_in))
        return bad(SAE_ERR_FORMAT, dir, "cfg.json: d_in must be a positive integer");
    const cJSON *nl = cJSON_GetObjectItemCaseSensitive(cfg, "num_latents");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(cfg, "expansion_factor");
    if ((nl && !sae_foreign_json_count(nl, 0, &n)) || (e && !sae_foreign_json_count(e, 0, &ef)))
        return bad(SAE_ERR_FORMAT, dir, "cfg.json: num_latents and expansion_factor must be "
                                        "integers");
    /* sparsify: num_latents, else d_in * expansion_factor. */
    fs->d_sae = n ? n : fs->d_in * ef;
    if (!fs->d_sae)
        return bad(SAE_ERR_FORMAT, dir, "cfg.json: neither num_latents nor expansion_factor");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(cfg, "k");
    if (!k)
        return bad(SAE_ERR_FORMAT, dir, "cfg.json: no k");
    if (!sae_foreign_json_count(k, 0, &fs->k) || fs->k < 1 || fs->k > fs->d_sae)
        return bad(SAE_ERR_RANGE, dir, "cfg.json: k is not an integer in 1..num_latents");
    return SAE_OK;
}

sae_status_t sae_sparsify_import(const char *dir, sae_model_t **out)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/cfg.json", dir) >= (int)sizeof path)
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
    snprintf(path, sizeof path, "%s/sae.safetensors", dir);
    fst_file_t sf;
    st = sae_fst_open(&sf, path);
    static const char *const names[] = {"encoder.weight", "encoder.bias", "W_dec", "b_dec"};
    for (size_t i = 0; st == SAE_OK && i < sf.n; i++) {
        int known = 0;
        for (size_t j = 0; j < 4; j++)
            known |= strcmp(sf.tensors[i].name, names[j]) == 0;
        if (!known)
            st = sae_fail_global(strcmp(sf.tensors[i].name, "W_skip") == 0 ? SAE_ERR_UNSUPPORTED
                                                                          : SAE_ERR_FORMAT,
                                 "'%s': %s tensor '%s'", path,
                                 strcmp(sf.tensors[i].name, "W_skip") == 0 ? "unsupported skip"
                                                                          : "unexpected",
                                 sf.tensors[i].name);
    }
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "encoder.weight", 2, fs.d_sae, fs.d_in, 0, NULL);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "W_dec", 2, fs.d_sae, fs.d_in, 0, NULL);
    if (st == SAE_OK)
        st = sae_foreign_alloc(&fs);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "encoder.weight", 2, fs.d_sae, fs.d_in, 0, fs.enc_w);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "encoder.bias", 1, fs.d_sae, 1, 0, fs.enc_b);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "W_dec", 2, fs.d_sae, fs.d_in, 0, fs.dec_w);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "b_dec", 1, fs.d_in, 1, 0, fs.dec_b);
    sae_fst_close(&sf);
    if (st == SAE_OK)
        st = sae_foreign_build(&fs, out);
    sae_foreign_free(&fs);
    return st;
}

sae_status_t sae_sparsify_export(const sae_model_t *m, const char *dir)
{
    sae_foreign_t fs;
    sae_status_t st = sae_foreign_from_model(m, &fs);
    if (st != SAE_OK)
        return st;
    const char *why = fs.arch != SAE_FA_TOPK ? "a code other than per-row top-k (sparsify "
                                               "SAEs are top-k)"
                      : !fs.subtract_b_dec   ? "arch.pre_encoder_bias = false (sparsify "
                                               "subtracts b_dec from the input)"
                                             : NULL;
    if (why) {
        sae_foreign_free(&fs);
        return sae_fail_global(SAE_ERR_UNSUPPORTED, "export sparsify: cannot express %s", why);
    }
    size_t h = fs.d_sae, d = fs.d_in;
    char path[4096];
    cJSON *cfg = cJSON_CreateObject();
    char *text = NULL;
    if (!cfg) {
        st = sae_fail_global(SAE_ERR_NOMEM, "export: out of memory");
        goto out;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        st = sae_fail_global(SAE_ERR_IO, "export: cannot create '%s': %s", dir, strerror(errno));
        goto out;
    }
    sae_st_tensor_t t[4] = {
        {"encoder.weight", fs.enc_w, 2, {h, d}, SAE_DT_F32},
        {"encoder.bias", fs.enc_b, 1, {h, 0}, SAE_DT_F32},
        {"W_dec", fs.dec_w, 2, {h, d}, SAE_DT_F32},
        {"b_dec", fs.dec_b, 1, {d, 0}, SAE_DT_F32},
    };
    cJSON_AddStringToObject(cfg, "activation", "topk");
    cJSON_AddNumberToObject(cfg, "expansion_factor", h % d == 0 ? (double)(h / d) : 0.0);
    cJSON_AddBoolToObject(cfg, "normalize_decoder", 0);
    cJSON_AddNumberToObject(cfg, "num_latents", (double)h);
    cJSON_AddNumberToObject(cfg, "k", (double)fs.k);
    cJSON_AddBoolToObject(cfg, "multi_topk", 0);
    cJSON_AddBoolToObject(cfg, "skip_connection", 0);
    cJSON_AddBoolToObject(cfg, "transcode", 0);
    cJSON_AddNumberToObject(cfg, "d_in", (double)d);
    text = cJSON_Print(cfg);
    if (!text) {
        st = sae_fail_global(SAE_ERR_NOMEM, "export: out of memory");
        goto out;
    }
    char errbuf[SAE_ERRMSG_SIZE] = "";
    snprintf(path, sizeof path, "%s/sae.safetensors", dir);
    st = sae_st_save(path, t, 4, NULL, 0, errbuf);
    if (st != SAE_OK) {
        sae_set_global_error(errbuf);
        goto out;
    }
    snprintf(path, sizeof path, "%s/cfg.json", dir);
    st = sae_foreign_write_text(path, text);
out:
    free(text);
    cJSON_Delete(cfg);
    sae_foreign_free(&fs);
    return st;
}
