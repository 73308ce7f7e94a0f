/* The element-wise activations in double, from libm (exp, tanh) rather
 * than the float fast-math kernels: the double-precision gradient check's
 * second implementation, shared by the code operator and the loss.
 * SPDX-License-Identifier: MIT */
#ifndef SAE_LAYERS_ACTIVATION_DOUBLE_H
#define SAE_LAYERS_ACTIVATION_DOUBLE_H

#include "sae.h"

double sae_act_d(sae_activation_t act, double z);
/* d act / dz, given z and y = act(z). */
double sae_act_deriv_d(sae_activation_t act, double z, double y);

#endif
