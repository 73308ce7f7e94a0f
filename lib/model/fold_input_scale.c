/* sae_model_fold_input_scale: a model's input scale folded into its
 * weights (input_scale.h). SPDX-License-Identifier: MIT */
#include "model/dense.h"
#include "model/input_scale.h"
#include "model/kind.h"

sae_status_t sae_model_fold_input_scale(sae_model_t *m)
{
    if (!m)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_fold_input_scale: model is NULL");
    if (m->kind != &sae_kind_dense || sae_model_input_scale_pending(m))
        return SAE_OK;
    if (m->bf16)
        return sae_model_need_fp32(m, "sae_model_fold_input_scale");
    float s = sae_model_input_scale(m);
    sae_dense_t *dn = sae_dense(m);
    size_t hd = m->code_dim * m->input_dim;
    if (s != 1.0f) {
        /* z = (s x - b_pre) We^T + be = (x - b_pre / s) (s We)^T + be, and
         * x_hat = (h Wd + bd) / s: tied and nonlinear outputs are refused
         * when the model is made (config/recipes.c). */
        for (size_t i = 0; i < hd; i++)
            dn->enc_w[i] *= s;
        if (dn->dec_w)
            for (size_t i = 0; i < hd; i++)
                dn->dec_w[i] /= s;
        if (dn->dec_b)
            for (size_t i = 0; i < m->input_dim; i++)
                dn->dec_b[i] /= s;
    }
    m->cfg->values[sae_param_index(SAE_P_NORMALIZE_INPUT)] = 0.0;
    m->cfg->values[sae_param_index(SAE_P_INPUT_SCALE)] = 0.0;
    return SAE_OK;
}
