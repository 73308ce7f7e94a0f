/* Unit-norm rows and the tangent projection of their gradient.
 * SPDX-License-Identifier: MIT */
#include "optim/unit_norm.h"

#include <math.h>

void sae_rows_normalize(float *w, size_t rows, size_t cols)
{
    for (size_t j = 0; j < rows; j++) {
        float *r = w + j * cols;
        double ss = 0.0;
        for (size_t i = 0; i < cols; i++)
            ss += (double)r[i] * (double)r[i];
        if (ss <= 0.0)
            continue;
        float inv = (float)(1.0 / sqrt(ss));
        for (size_t i = 0; i < cols; i++)
            r[i] *= inv;
    }
}

void sae_rows_project_out(float *g, const float *w, size_t rows, size_t cols)
{
    for (size_t j = 0; j < rows; j++) {
        float *gr = g + j * cols;
        const float *wr = w + j * cols;
        double dot = 0.0;
        for (size_t i = 0; i < cols; i++)
            dot += (double)gr[i] * (double)wr[i];
        float d = (float)dot;
        for (size_t i = 0; i < cols; i++)
            gr[i] -= d * wr[i];
    }
}
