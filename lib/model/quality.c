/* Reconstruction quality in the terms sparse-autoencoder papers report:
 * normalized MSE (the fraction of variance unexplained) and explained
 * variance (Gao et al. 2024, section 2.1; Makhzani & Frey report MSE).
 * SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "model/model.h"

sae_status_t sae_model_reconstruction_error(sae_model_t *m, const float *x, size_t rows,
                                            double *nmse, double *explained_variance)
{
    sae_status_t st = sae_model_check_io(m, "sae_model_reconstruction_error", x, rows,
                                         m ? m->input_dim : 0, x);
    if (st != SAE_OK)
        return st;
    if (rows < 2)
        return sae_fail(m->errmsg, SAE_ERR_DIMENSION,
                        "sae_model_reconstruction_error: needs at least 2 rows (a variance)");
    size_t d = m->input_dim;
    float *xh = malloc(rows * d * sizeof *xh);
    double *mean = calloc(d, sizeof *mean);
    if (!xh || !mean) {
        free(xh);
        free(mean);
        return sae_fail(m->errmsg, SAE_ERR_NOMEM, "sae_model_reconstruction_error: out of memory");
    }
    st = sae_model_reconstruct(m, x, rows, xh);
    double err = 0.0, var = 0.0;
    if (st == SAE_OK) {
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < d; c++)
                mean[c] += (double)x[r * d + c];
        for (size_t c = 0; c < d; c++)
            mean[c] /= (double)rows;
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < d; c++) {
                double e = (double)x[r * d + c] - (double)xh[r * d + c];
                double v = (double)x[r * d + c] - mean[c];
                err += e * e;
                var += v * v;
            }
    }
    free(xh);
    free(mean);
    if (st != SAE_OK)
        return st;
    if (var <= 0.0)
        return sae_fail(m->errmsg, SAE_ERR_RANGE,
                        "sae_model_reconstruction_error: the rows do not vary, so the "
                        "normalized error is undefined");
    if (nmse)
        *nmse = err / var;
    if (explained_variance)
        *explained_variance = 1.0 - err / var;
    return SAE_OK;
}
