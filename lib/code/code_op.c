/* The entries that operators without state, bound or extra keys share.
 * SPDX-License-Identifier: MIT */
#include "code/code_op.h"

sae_status_t sae_code_no_keys(const sae_config_t *cfg, size_t units, char *errbuf)
{
    (void)cfg, (void)units, (void)errbuf;
    return SAE_OK;
}

sae_status_t sae_code_no_state(const sae_config_t *cfg, size_t units, size_t rows, void **state)
{
    (void)cfg, (void)units, (void)rows;
    *state = NULL;
    return SAE_OK;
}

void sae_code_free_nothing(void *state)
{
    (void)state;
}

const sae_sparse_code_t *sae_code_dense(const void *state)
{
    (void)state;
    return NULL;
}

size_t sae_code_unbounded(const sae_config_t *cfg)
{
    (void)cfg;
    return 0;
}
