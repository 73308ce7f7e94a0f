/* Training-time corruption (E1, jakebruce/universal-sparse-encoder):
 * additive Gaussian noise truncated at noise_clip std (out-of-range draws
 * are drawn again, as TensorFlow's truncated_normal does), then input
 * dropout with inverted scaling, and dropout on the decoder's copy of the
 * code. SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "train/trainer.h"

static float truncated_normal(sae_rng_t *rng, double clip)
{
    double z;
    do {
        z = sae_rng_normal(rng);
    } while (clip > 0.0 && fabs(z) > clip);
    return (float)z;
}

const float *sae_corrupt_input(sae_trainer_t *t, const float *x, size_t rows)
{
    const sae_config_t *cfg = t->model->cfg;
    double sigma = sae_cfg_float(cfg, SAE_P_NOISE_STDDEV);
    double clip = sae_cfg_float(cfg, SAE_P_NOISE_CLIP);
    double keep = sae_cfg_float(cfg, SAE_P_INPUT_KEEP);
    if (sigma <= 0.0 && keep >= 1.0)
        return x;
    size_t n = rows * t->model->input_dim;
    float *xin = t->ws.xin;
    float inv_keep = (float)(1.0 / keep);
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (sigma > 0.0)
            v += (float)sigma * truncated_normal(&t->rng, clip);
        if (keep < 1.0)
            v = sae_rng_uniform(&t->rng) < (float)keep ? v * inv_keep : 0.0f;
        xin[i] = v;
    }
    return xin;
}

const float *sae_corrupt_hidden(sae_trainer_t *t, size_t rows)
{
    double keep = sae_cfg_float(t->model->cfg, SAE_P_HIDDEN_KEEP);
    if (keep >= 1.0)
        return t->ws.h;
    size_t n = rows * t->model->code_dim;
    float inv_keep = (float)(1.0 / keep);
    for (size_t i = 0; i < n; i++) {
        float s = sae_rng_uniform(&t->rng) < (float)keep ? inv_keep : 0.0f;
        t->ws.drop_scale[i] = s;
        t->ws.hd[i] = t->ws.h[i] * s;
    }
    return t->ws.hd;
}
