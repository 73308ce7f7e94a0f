/* The layer list of a config (arch.layers): its setter and getter (the
 * grammar is netspec.c's; what a layered model cannot combine with is the
 * layered kind's check, model/layered.c). SPDX-License-Identifier: MIT */
#include <string.h>

#include "config/config.h"

sae_status_t sae_config_set_layers(sae_config_t *cfg, const char *text)
{
    if (!cfg)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_set_layers: cfg is NULL");
    sae_netspec_t spec;
    sae_status_t st = sae_netspec_parse(text ? text : "", &spec, cfg->errmsg);
    if (st == SAE_OK)
        cfg->layers = spec; /* unchanged on failure, like every setter */
    return st;
}

sae_status_t sae_config_get_layers(const sae_config_t *cfg, char *buf, size_t size)
{
    if (!cfg || !buf)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_get_layers: NULL argument");
    size_t need = sae_netspec_format(&cfg->layers, buf, size);
    if (need >= size)
        return sae_fail_global(SAE_ERR_RANGE,
                               "sae_config_get_layers: buffer of %zu bytes too small (%zu needed)",
                               size, need + 1);
    return SAE_OK;
}
