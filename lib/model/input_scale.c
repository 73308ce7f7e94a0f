/* Input normalisation: the factor in use and its estimate (input_scale.h).
 * SPDX-License-Identifier: MIT */
#include "model/input_scale.h"

#include <math.h>


static int param_slot(sae_param_t id)
{
    return sae_param_index(id);
}

float sae_model_input_scale(const sae_model_t *m)
{
    if (!sae_cfg_int(m->cfg, SAE_P_NORMALIZE_INPUT))
        return 1.0f;
    double s = sae_cfg_float(m->cfg, SAE_P_INPUT_SCALE);
    return s > 0.0 ? (float)s : 1.0f;
}

int sae_model_input_scale_pending(const sae_model_t *m)
{
    return sae_cfg_int(m->cfg, SAE_P_NORMALIZE_INPUT) &&
           !(sae_cfg_float(m->cfg, SAE_P_INPUT_SCALE) > 0.0);
}

void sae_model_estimate_input_scale(sae_model_t *m, const float *x, size_t rows, size_t n)
{
    size_t d = m->input_dim;
    if (n == 0 || rows == 0)
        return;
    if (n > rows)
        n = rows;
    double sum = 0.0;
    for (size_t k = 0; k < n; k++) {
        const float *r = x + (k * rows / n) * d;
        double ss = 0.0;
        for (size_t i = 0; i < d; i++)
            ss += (double)r[i] * (double)r[i];
        sum += ss;
    }
    double mean = sum / (double)n;
    /* All-zero rows carry no scale: keep 1 rather than divide by zero. */
    double s = mean > 0.0 ? sqrt((double)d / mean) : 1.0;
    m->cfg->values[param_slot(SAE_P_INPUT_SCALE)] = s;
}
