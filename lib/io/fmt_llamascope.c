/* SPDX-License-Identifier: MIT */
/* Llama Scope (docs/formats.md): a folder with hyperparams.json and
 * checkpoints/final.safetensors (or final.safetensors beside it), tensors
 * encoder.weight [d_sae, d_model], encoder.bias [d_sae], decoder.weight
 * [d_model, d_sae] (transposed relative to SAELens), decoder.bias
 * [d_model], usually BF16. Read from SAELens's conversion
 * (llama_scope_sae_huggingface_loader, get_llama_scope_config_from_hf in
 * sae_lens/loading/pretrained_sae_loaders.py): one scalar
 * jump_relu_threshold for every latent, no b_dec subtracted. The model was
 * trained on inputs scaled by sqrt(d_model) / dataset_average_activation_norm.in
 * and its outputs are unscaled by the "out" norm; SAELens leaves that
 * scaling to the caller, libsae folds it into the weights (W_enc * c_in,
 * W_dec / c_out, b_dec / c_out), so the model takes raw activations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/foreign.h"

static sae_status_t bad(sae_status_t st, const char *dir, const char *what)
{
    return sae_fail_global(st, "Llama Scope folder '%s': %s", dir, what);
}


typedef struct ls_cfg {
    double threshold, c_in, c_out;
    int decoder_bias;
} ls_cfg_t;

static sae_status_t parse_cfg(const char *dir, const cJSON *hp, sae_foreign_t *fs, ls_cfg_t *lc)
{
    char msg[200];
    if (!sae_foreign_json_count(cJSON_GetObjectItemCaseSensitive(hp, "d_model"), 1, &fs->d_in) ||
        !sae_foreign_json_count(cJSON_GetObjectItemCaseSensitive(hp, "d_sae"), 1, &fs->d_sae))
        return bad(SAE_ERR_FORMAT, dir, "hyperparams.json: d_model and d_sae must be positive "
                                        "integers");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(hp, "act_fn");
    const char *a = cJSON_IsString(act) ? act->valuestring : "jumprelu";
    if (act && !cJSON_IsString(act))
        return bad(SAE_ERR_FORMAT, dir, "hyperparams.json: act_fn is not a string");
    if (strcmp(a, "jumprelu") == 0) {
        fs->arch = SAE_FA_JUMPRELU;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(hp, "jump_relu_threshold");
        if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble))
            return bad(SAE_ERR_FORMAT, dir,
                       "hyperparams.json: a jumprelu SAE without a numeric jump_relu_threshold");
        lc->threshold = t->valuedouble;
    } else if (strcmp(a, "relu") == 0)
        fs->arch = SAE_FA_RELU;
    else {
        snprintf(msg, sizeof msg, "hyperparams.json: act_fn '%.40s' is not supported (jumprelu, "
                                  "relu)", a);
        return bad(SAE_ERR_UNSUPPORTED, dir, msg);
    }
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(hp, "hook_point_in");
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(hp, "hook_point_out");
    if (cJSON_IsString(in) && cJSON_IsString(out) && strcmp(in->valuestring, out->valuestring))
        return bad(SAE_ERR_UNSUPPORTED, dir,
                   "hyperparams.json: hook_point_in differs from hook_point_out (a transcoder; "
                   "libsae models reconstruct their input)");
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(hp, "apply_decoder_bias_to_pre_encoder");
    fs->subtract_b_dec = cJSON_IsTrue(pre);
    const cJSON *udb = cJSON_GetObjectItemCaseSensitive(hp, "use_decoder_bias");
    lc->decoder_bias = !udb || cJSON_IsTrue(udb);
    lc->c_in = lc->c_out = 1.0;
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(hp, "norm_activation");
    const char *n = cJSON_IsString(norm) ? norm->valuestring : "dataset-wise";
    const cJSON *avg = cJSON_GetObjectItemCaseSensitive(hp, "dataset_average_activation_norm");
    if (strcmp(n, "dataset-wise") == 0) {
        if (avg) {
            const cJSON *ai = cJSON_GetObjectItemCaseSensitive(avg, "in");
            const cJSON *ao = cJSON_GetObjectItemCaseSensitive(avg, "out");
            if (!cJSON_IsNumber(ai) || !cJSON_IsNumber(ao) || !(ai->valuedouble > 0) ||
                !(ao->valuedouble > 0) || !isfinite(ai->valuedouble) || !isfinite(ao->valuedouble))
                return bad(SAE_ERR_FORMAT, dir, "hyperparams.json: dataset_average_activation_norm "
                                                "needs positive 'in' and 'out'");
            lc->c_in = sqrt((double)fs->d_in) / ai->valuedouble;
            lc->c_out = sqrt((double)fs->d_in) / ao->valuedouble;
            /* x - b_dec in the scaled space is c_in x - b_dec: a pre-encoder
             * bias b_dec / c_in of the raw input, which is the folded b_dec
             * (b_dec / c_out) only when the two norms agree. */
            if (fs->subtract_b_dec && lc->c_in != lc->c_out)
                return bad(SAE_ERR_UNSUPPORTED, dir,
                           "hyperparams.json: apply_decoder_bias_to_pre_encoder with different "
                           "'in' and 'out' norms");
        } else if (cJSON_IsString(norm))
            return bad(SAE_ERR_FORMAT, dir, "hyperparams.json: norm_activation dataset-wise "
                                            "without dataset_average_activation_norm");
    } else if (strcmp(n, "token-wise") == 0 || strcmp(n, "inference") == 0) {
        snprintf(msg, sizeof msg,
                 "hyperparams.json: norm_activation '%s' rescales each input row at run time; "
                 "libsae models have no such step",
                 n);
        return bad(SAE_ERR_UNSUPPORTED, dir, msg);
    } else if (strcmp(n, "none") != 0) {
        snprintf(msg, sizeof msg, "hyperparams.json: unknown norm_activation '%.40s'", n);
        return bad(SAE_ERR_BAD_VALUE, dir, msg);
    }
    return SAE_OK;
}

sae_status_t sae_llamascope_import(const char *dir, sae_model_t **out)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/hyperparams.json", dir) >= (int)sizeof path)
        return bad(SAE_ERR_IO, dir, "path too long");
    cJSON *hp = NULL;
    sae_status_t st = sae_foreign_read_json(path, &hp);
    if (st != SAE_OK)
        return st;
    sae_foreign_t fs;
    ls_cfg_t lc;
    memset(&fs, 0, sizeof fs);
    memset(&lc, 0, sizeof lc);
    st = parse_cfg(dir, hp, &fs, &lc);
    cJSON_Delete(hp);
    if (st != SAE_OK)
        return st;
    struct stat sb;
    snprintf(path, sizeof path, "%s/checkpoints/final.safetensors", dir);
    if (stat(path, &sb) != 0)
        snprintf(path, sizeof path, "%s/final.safetensors", dir);
    fst_file_t sf;
    st = sae_fst_open(&sf, path);
    size_t h = fs.d_sae, d = fs.d_in;
    for (size_t i = 0; st == SAE_OK && i < sf.n; i++) {
        const char *nm = sf.tensors[i].name;
        if (strcmp(nm, "encoder.weight") && strcmp(nm, "encoder.bias") &&
            strcmp(nm, "decoder.weight") && strcmp(nm, "decoder.bias"))
            st = sae_fail_global(SAE_ERR_FORMAT, "'%s': unexpected tensor '%s'", path, nm);
    }
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "encoder.weight", 2, h, d, 0, NULL);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "decoder.weight", 2, h, d, 1, NULL);
    if (st == SAE_OK)
        st = sae_foreign_alloc(&fs);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "encoder.weight", 2, h, d, 0, fs.enc_w);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "encoder.bias", 1, h, 1, 0, fs.enc_b);
    if (st == SAE_OK)
        st = sae_foreign_tensor(&sf, "decoder.weight", 2, h, d, 1, fs.dec_w);
    if (st == SAE_OK && lc.decoder_bias)
        st = sae_foreign_tensor(&sf, "decoder.bias", 1, d, 1, 0, fs.dec_b);
    sae_fst_close(&sf);
    if (st == SAE_OK) {
        /* Fold the dataset-wise normalisation (SAELens's
         * fold_activation_norm_scaling_factor does the same with one factor). */
        for (size_t j = 0; j < h; j++) {
            for (size_t i = 0; i < d; i++) {
                fs.enc_w[j * d + i] = (float)(fs.enc_w[j * d + i] * lc.c_in);
                fs.dec_w[j * d + i] = (float)(fs.dec_w[j * d + i] / lc.c_out);
            }
            if (fs.threshold)
                fs.threshold[j] = (float)lc.threshold;
        }
        for (size_t i = 0; i < d; i++)
            fs.dec_b[i] = (float)(fs.dec_b[i] / lc.c_out);
        st = sae_foreign_build(&fs, out);
    }
    sae_foreign_free(&fs);
    return st;
}
