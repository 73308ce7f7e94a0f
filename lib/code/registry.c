/* The registry of code operators, most specific first; the element-wise
 * activation, which every config can take, last. SPDX-License-Identifier: MIT */
#include "code/code_op.h"

/* Each operator is defined in its own file. */
extern const sae_code_op_t sae_code_gated;      /* code/gated.c */
extern const sae_code_op_t sae_code_jumprelu;   /* code/jumprelu.c */
extern const sae_code_op_t sae_code_threshold;  /* code/hard_threshold.c */
extern const sae_code_op_t sae_code_batch_topk; /* code/batch_topk.c */
extern const sae_code_op_t sae_code_topk;       /* code/topk.c */
extern const sae_code_op_t sae_code_activation; /* code/elementwise.c */

static const sae_code_op_t *const ops[] = {
    &sae_code_gated,      /* arch.gated = true (refuses all but relu, backprop) */
    &sae_code_jumprelu,   /* arch.hidden_activation = jumprelu (refuses nsc, top-k) */
    &sae_code_threshold,  /* train.algorithm = nsc */
    &sae_code_batch_topk, /* topk.k > 0, topk.mode = batch */
    &sae_code_topk,       /* topk.k > 0 */
    &sae_code_activation, /* otherwise */
};

const sae_code_op_t *sae_code_op_for(const sae_config_t *cfg)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i]->selects(cfg))
            return ops[i];
    return &sae_code_activation;
}
