/* The registry of model kinds, most specific first.
 * SPDX-License-Identifier: MIT */
#include "model/kind.h"

static const sae_model_kind_t *const kinds[] = {
    &sae_kind_layered, /* arch.layers is set */
    &sae_kind_dense,   /* otherwise: the one-hidden-layer model */
};

const sae_model_kind_t *sae_model_kind_for(const sae_config_t *cfg)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i]->selects(cfg))
            return kinds[i];
    return &sae_kind_dense;
}
