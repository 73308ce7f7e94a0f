/* The AuxK loss of top-k training (Gao et al. 2024, "Scaling and evaluating
 * sparse autoencoders", arXiv 2406.04093, sec. 2.4 and A.2): the units that
 * have not fired for auxk.dead_after training rows are dead; the top auxk.k
 * of them per row (by their activation, before the main top-k) reconstruct
 * the main model's residual e = x - x_hat, held constant:
 *
 *     L_aux = alpha sum_b ||e_b - e^_b||^2 / sum_b ||e_b||^2,
 *     e^_b  = sum over the row's aux units j of h_bj Wd[j, :]
 *
 * (no bias: e^ reconstructs a difference). The normaliser makes the term the
 * fraction of the residual the dead units leave unexplained, whatever the
 * data's scale and loss.reduction. L_aux is 0 when no unit is dead.
 * Its gradient reaches the aux units' decoder rows and, through their code,
 * their encoder rows and biases (and decoder.bias through the encoder's
 * input with arch.pre_encoder_bias). SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_AUXK_H
#define SAE_TRAIN_AUXK_H

#include "train/trainer.h"

/* Lists the dead units and selects each row's aux units from h [rows x H],
 * the activated code before the main top-k. */
void sae_auxk_select(sae_trainer_t *t, const float *h, size_t rows);
/* e = x - x_hat from the decoder's output pre-activation out (before the
 * loss overwrites it) and decoder.bias; kept as it is while
 * ws->aux_frozen. */
void sae_auxk_residual(sae_trainer_t *t, const float *x, const float *out, size_t rows);
/* The term's value; dL_aux/de^ into ws->aux_grad (same pass). */
double sae_auxk_forward(sae_trainer_t *t, size_t rows);
/* Adds the term's gradient: decoder rows g_dec (the encoder's when tied),
 * encoder rows g_enc_w from the encoder input xin, biases g_enc_b (may be
 * NULL). */
void sae_auxk_backward(sae_trainer_t *t, const float *xin, size_t rows, float *g_enc_w,
                       float *g_enc_b, float *g_dec);

#endif
