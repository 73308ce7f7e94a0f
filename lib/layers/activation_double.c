/* The element-wise activations and their derivatives in double.
 * SPDX-License-Identifier: MIT */
#include "layers/activation_double.h"

#include <math.h>

double sae_act_d(sae_activation_t act, double z)
{
    switch (act) {
    case SAE_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case SAE_ACT_JUMPRELU: /* never here: code/jumprelu.c hands the kernels relu */
    case SAE_ACT_RELU: return z > 0.0 ? z : 0.0;
    case SAE_ACT_TANH: return tanh(z);
    case SAE_ACT_TRELU: return z > 0.0 ? (z < 1.0 ? z : 1.0) : 0.0;
    case SAE_ACT_LINEAR: break;
    }
    return z;
}

double sae_act_deriv_d(sae_activation_t act, double z, double y)
{
    switch (act) {
    case SAE_ACT_SIGMOID: return y * (1.0 - y);
    case SAE_ACT_JUMPRELU: /* never here: code/jumprelu.c hands the kernels relu */
    case SAE_ACT_RELU: return z > 0.0 ? 1.0 : 0.0;
    case SAE_ACT_TANH: return 1.0 - y * y;
    case SAE_ACT_TRELU: return z > 0.0 && z < 1.0 ? 1.0 : 0.0;
    case SAE_ACT_LINEAR: break;
    }
    return 1.0;
}
