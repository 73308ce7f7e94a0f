/* The training pass of each model kind, and the one door to it.
 * SPDX-License-Identifier: MIT */
#include "train/pass.h"

#include <math.h>
#include <stdio.h>

#include "train/trainer.h"

static const sae_pass_t *const passes[] = {&sae_pass_dense, &sae_pass_layered};

const sae_pass_t *sae_pass_for(const sae_model_t *m)
{
    for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++)
        if (passes[i]->kind == m->kind)
            return passes[i];
    return &sae_pass_dense;
}

/* Inputs this large make the squared error overflow float by themselves
 * (sqrt(FLT_MAX) is 1.8e19): no learning rate can help then. */
#define HUGE_INPUT 1e18

/* Names what went non-finite: the reconstruction or a term, and why it
 * likely did (the data, or the learning rate). */
static sae_status_t diverged(sae_trainer_t *t, const sae_stats_t *s, const float *x, size_t rows,
                             int grad)
{
    const char *term = "the objective";
    double value = s->loss;
    if (!isfinite(s->recon_loss)) {
        term = "the reconstruction loss";
        value = s->recon_loss;
    } else {
        for (uint32_t i = 0; i < s->n_terms && i < SAE_MAX_TERMS; i++)
            if (!isfinite(s->term_loss[i]) && s->term_name[i]) {
                term = s->term_name[i];
                value = s->term_loss[i];
                break;
            }
    }
    double biggest = 0;
    size_t n = rows * t->model->input_dim;
    for (size_t i = 0; i < n; i++)
        biggest = fabs((double)x[i]) > biggest ? fabs((double)x[i]) : biggest;
    char where[48];
    if (grad)
        snprintf(where, sizeof where, "step %llu", (unsigned long long)t->steps + 1);
    else
        snprintf(where, sizeof where, "evaluation after step %llu", (unsigned long long)t->steps);
    if (biggest >= HUGE_INPUT)
        return sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                        "%s: %s became %g: the rows hold values up to %g, too large for float "
                        "arithmetic; scale the data (to [0, 1] or unit variance)",
                        where, term, value, biggest);
    return sae_fail(t->errmsg, SAE_ERR_DIVERGED,
                    "%s: %s became %g; the step was not applied: lower the learning rate "
                    "(sae_trainer_set_learning_rate)",
                    where, term, value);
}

sae_status_t sae_forward_backward(sae_trainer_t *t, const float *x, size_t rows, int corrupt,
                                  int grad, sae_stats_t *stats)
{
    sae_status_t st = t->ws.pass->forward_backward(t, x, rows, corrupt, grad, stats);
    if (st == SAE_ERR_DIVERGED && stats && !isfinite(stats->loss))
        return diverged(t, stats, x, rows, grad);
    return st;
}
