/* Training-time corruption (denoising autoencoders, Vincent et al. 2008;
 * dropout, Srivastava et al. 2014):
 * additive Gaussian noise truncated at noise_clip std (out-of-range draws
 * are drawn again, as TensorFlow's truncated_normal does), then input
 * dropout with inverted scaling, and dropout on the decoder's copy of the
 * code. SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "train/trainer.h"

/* Fills noise[0..n) with sigma * N(0,1) redrawn beyond clip std (clip 0:
 * no truncation), two draws at a time. */
/* Fills noise[0..n) with sigma * N(0,1) redrawn beyond clip std (clip 0:
 * no truncation), two draws at a time. The config keeps clip at 0 or >= 0.5
 * (a redraw then succeeds with probability >= 0.38); the cap on redraws
 * still guarantees progress whatever the value, by clamping. */
#define MAX_REDRAWS 64

static void truncated_noise(sae_rng_t *rng, float *noise, size_t n, float sigma, float clip)
{
    size_t i = 0;
    unsigned misses = 0;
    while (i < n) {
        float z[2];
        sae_rng_normal_pair(rng, &z[0], &z[1]);
        for (int k = 0; k < 2 && i < n; k++) {
            if (clip <= 0.0f || fabsf(z[k]) <= clip) {
                noise[i++] = sigma * z[k];
                misses = 0;
            } else if (++misses >= MAX_REDRAWS) {
                noise[i++] = sigma * (z[k] > 0.0f ? clip : -clip);
                misses = 0;
            }
        }
    }
}

const float *sae_corrupt_input(sae_trainer_t *t, const float *x, size_t rows)
{
    const sae_config_t *cfg = t->model->cfg;
    float sigma = (float)sae_cfg_float(cfg, SAE_P_NOISE_STDDEV);
    float clip = (float)sae_cfg_float(cfg, SAE_P_NOISE_CLIP);
    float keep = (float)sae_cfg_float(cfg, SAE_P_INPUT_KEEP);
    if (sigma <= 0.0f && keep >= 1.0f)
        return x;
    size_t n = rows * t->model->input_dim;
    float *xin = t->ws.xin;
    if (sigma > 0.0f) {
        truncated_noise(&t->rng, xin, n, sigma, clip);
        for (size_t i = 0; i < n; i++)
            xin[i] += x[i];
    } else {
        memcpy(xin, x, n * sizeof *xin);
    }
    if (keep < 1.0f) {
        float inv_keep = 1.0f / keep;
        for (size_t i = 0; i < n; i++)
            xin[i] = sae_rng_uniform(&t->rng) < keep ? xin[i] * inv_keep : 0.0f;
    }
    return xin;
}

const float *sae_corrupt_hidden(sae_trainer_t *t, size_t rows)
{
    double keep = sae_cfg_float(t->model->cfg, SAE_P_HIDDEN_KEEP);
    if (keep >= 1.0)
        return t->ws.dense.h;
    size_t n = rows * t->model->code_dim;
    float inv_keep = (float)(1.0 / keep);
    for (size_t i = 0; i < n; i++) {
        float s = sae_rng_uniform(&t->rng) < (float)keep ? inv_keep : 0.0f;
        t->ws.dense.drop_scale[i] = s;
        t->ws.dense.hd[i] = t->ws.dense.h[i] * s;
    }
    return t->ws.dense.hd;
}
