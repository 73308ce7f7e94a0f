/* Gather / scatter-add kernels of the sparse code path.
 * SPDX-License-Identifier: MIT */
#include "layers/sparse_dense.h"

#include <string.h>

#include "core/simd.h"

SAE_HOT static void axpy(float a, const float *restrict x, float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

SAE_HOT static float dot(const float *restrict x, const float *restrict y, size_t n)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

void sae_sparse_decode(const sae_sparse_code_t *sc, size_t rows, const float *wt, size_t d,
                       float *out)
{
    for (size_t b = 0; b < rows; b++) {
        float *o = out + b * d;
        memset(o, 0, d * sizeof *o);
        for (uint32_t s = sc->row_ptr[b]; s < sc->row_ptr[b + 1]; s++)
            axpy(sc->val[s], wt + (size_t)sc->idx[s] * d, o, d);
    }
}

void sae_sparse_code_grad(const sae_sparse_code_t *sc, size_t rows, const float *dout,
                          const float *wt, size_t d, float *dval)
{
    for (size_t b = 0; b < rows; b++)
        for (uint32_t s = sc->row_ptr[b]; s < sc->row_ptr[b + 1]; s++)
            dval[s] = dot(dout + b * d, wt + (size_t)sc->idx[s] * d, d);
}

void sae_sparse_scatter(const sae_sparse_code_t *sc, size_t rows, const float *coef,
                        const float *a, size_t d, float *g)
{
    for (size_t b = 0; b < rows; b++)
        for (uint32_t s = sc->row_ptr[b]; s < sc->row_ptr[b + 1]; s++)
            axpy(coef[s], a + b * d, g + (size_t)sc->idx[s] * d, d);
}

void sae_sparse_act_backward(sae_activation_t act, const sae_sparse_code_t *sc, size_t rows,
                             size_t units, const sae_code_grad_terms_t *terms, float *dval,
                             float *dbias)
{
    if (dbias)
        memset(dbias, 0, units * sizeof *dbias);
    for (size_t b = 0; b < rows; b++) {
        float rowc = terms && terms->row_coef ? terms->row_coef[b] : 0.0f;
        for (uint32_t s = sc->row_ptr[b]; s < sc->row_ptr[b + 1]; s++) {
            uint32_t j = sc->idx[s];
            float y = sc->val[s];
            float g = dval[s] + rowc;
            if (terms) {
                if (terms->col_coef)
                    g += terms->col_coef[j];
                if (terms->extra)
                    g += terms->extra[b * units + j];
                g += terms->sign_coef * (float)((y > 0.0f) - (y < 0.0f));
            }
            g *= sae_act_deriv_from_output(act, y);
            dval[s] = g;
            if (dbias)
                dbias[j] += g;
        }
    }
}
