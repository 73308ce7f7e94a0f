/* Input normalisation (arch.normalize_input; SAELens's
 * normalize_activations = "expected_average_only_in"): the model works on
 * s x, s = sqrt(D / E||x||^2) estimated from the first rows a trainer sees,
 * and its outputs are divided by s, so that callers see their own scale.
 * The factor lives in the model's config (arch.input_scale), hence in its
 * files. SPDX-License-Identifier: MIT */
#ifndef SAE_MODEL_INPUT_SCALE_H
#define SAE_MODEL_INPUT_SCALE_H

#include "model/model.h"

/* The factor in use: arch.input_scale when arch.normalize_input and it is
 * set (> 0), else 1. */
float sae_model_input_scale(const sae_model_t *m);
/* 1 when arch.normalize_input waits for its estimate. */
int sae_model_input_scale_pending(const sae_model_t *m);
/* Estimates the factor from n rows of x [rows x D], evenly spaced, and
 * stores it in the model's config. */
void sae_model_estimate_input_scale(sae_model_t *m, const float *x, size_t rows, size_t n);

#endif
