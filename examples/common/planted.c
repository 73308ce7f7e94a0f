/* SPDX-License-Identifier: MIT */
/* A planted dictionary (planted.h). */
#include "common/planted.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"

/* A standard normal by Box-Muller (one of the pair). */
static double normal(ex_rng *rng)
{
    double u = ex_rng_uniform(rng), v = ex_rng_uniform(rng);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

void ex_planted_free(ex_planted *p)
{
    free(p->x);
    free(p->features);
    free(p->freq);
    memset(p, 0, sizeof *p);
}

int ex_planted_make(const ex_planted_spec *s, ex_planted *out)
{
    memset(out, 0, sizeof *out);
    size_t d = s->dim, n = s->n_features;
    if (d == 0 || n == 0 || s->rows == 0)
        return 0;
    out->x = malloc(s->rows * d * sizeof *out->x);
    out->features = malloc(n * d * sizeof *out->features);
    out->freq = malloc(n * sizeof *out->freq);
    double *p = malloc(n * sizeof *p);
    if (!out->x || !out->features || !out->freq || !p) {
        free(p);
        ex_planted_free(out);
        return 0;
    }
    ex_rng rng;
    ex_rng_seed(&rng, s->seed);
    for (size_t i = 0; i < n; i++) {
        double ss = 0.0;
        float *f = out->features + i * d;
        for (size_t k = 0; k < d; k++) {
            f[k] = (float)normal(&rng);
            ss += (double)f[k] * f[k];
        }
        float inv = (float)(1.0 / sqrt(ss));
        for (size_t k = 0; k < d; k++)
            f[k] *= inv;
    }
    /* Power-law rates summing to mean_l0, each at most 1. */
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += p[i] = pow((double)(i + 1), -s->alpha);
    for (size_t i = 0; i < n; i++) {
        p[i] *= s->mean_l0 / sum;
        if (p[i] > 1.0)
            p[i] = 1.0;
    }
    size_t pairs = s->n_pairs < n / 2 ? s->n_pairs : n / 2;
    for (size_t i = 0; i < n; i++)
        out->freq[i] = p[i];
    for (size_t k = 0; k < pairs; k++)
        out->freq[2 * k + 1] = p[2 * k + 1] + (1.0 - p[2 * k + 1]) * p[2 * k] * s->pair_prob;
    size_t fired = 0;
    for (size_t r = 0; r < s->rows; r++) {
        float *x = out->x + r * d;
        for (size_t k = 0; k < d; k++)
            x[k] = (float)(s->noise_std * normal(&rng));
        int prev = 0;
        for (size_t i = 0; i < n; i++) {
            int on = ex_rng_uniform(&rng) < p[i];
            if (!on && i % 2 == 1 && i / 2 < pairs && prev)
                on = ex_rng_uniform(&rng) < s->pair_prob;
            prev = on;
            if (!on)
                continue;
            fired++;
            float a = (float)(0.5 + ex_rng_uniform(&rng));
            const float *f = out->features + i * d;
            for (size_t k = 0; k < d; k++)
                x[k] += a * f[k];
        }
    }
    out->l0 = (double)fired / (double)s->rows;
    free(p);
    return 1;
}

void ex_planted_recovery(const ex_planted *p, const ex_planted_spec *s, const float *atoms,
                         size_t units, double threshold, double *mean_max_cos,
                         double *fraction_above)
{
    size_t d = s->dim, n = s->n_features;
    double *norm = malloc(units * sizeof *norm);
    double total = 0.0;
    if (!norm) {
        *mean_max_cos = *fraction_above = NAN;
        return;
    }
    size_t above = 0;
    for (size_t j = 0; j < units; j++) {
        double ss = 0.0;
        for (size_t k = 0; k < d; k++)
            ss += (double)atoms[j * d + k] * atoms[j * d + k];
        norm[j] = sqrt(ss);
    }
    for (size_t i = 0; i < n; i++) {
        const float *f = p->features + i * d;
        double best = -1.0;
        for (size_t j = 0; j < units; j++) {
            if (!(norm[j] > 0.0))
                continue;
            double dot = 0.0;
            for (size_t k = 0; k < d; k++)
                dot += (double)f[k] * atoms[j * d + k];
            dot /= norm[j];
            best = dot > best ? dot : best;
        }
        total += best;
        above += best > threshold;
    }
    free(norm);
    *mean_max_cos = total / (double)n;
    *fraction_above = (double)above / (double)n;
}
