/* MSE and BCE from logits in double, written from their definitions with
 * libm; no call into the float kernels. SPDX-License-Identifier: MIT */
#include "loss/loss_double.h"

#include <math.h>

#include "layers/activation_double.h"

double sae_loss_scale_double(sae_loss_reduction_t reduction, size_t rows, size_t cols)
{
    if (reduction == SAE_REDUCE_SAMPLE_SUM_HALF)
        return 0.5 / (double)rows;
    return 1.0 / ((double)rows * (double)cols);
}

double sae_loss_double(sae_loss_t loss, sae_activation_t out_act, const double *z,
                       const double *t, size_t n, double scale, double *grad)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double zi = z[i], g;
        if (loss == SAE_LOSS_BCE) {
            /* -(t log s + (1-t) log(1-s)) = softplus(z) - t z, s = sigmoid(z) */
            sum += (zi > 0.0 ? zi : 0.0) - t[i] * zi + log1p(exp(-fabs(zi)));
            g = 1.0 / (1.0 + exp(-zi)) - t[i];
        } else {
            double y = sae_act_d(out_act, zi), e = y - t[i];
            sum += e * e;
            g = 2.0 * e * sae_act_deriv_d(out_act, zi, y);
        }
        if (grad)
            grad[i] = g * scale;
    }
    return sum * scale;
}
