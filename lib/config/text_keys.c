/* The table of text-valued settings (config.h). SPDX-License-Identifier: MIT */
#include "config/config.h"

#include <string.h>

static size_t format_layers(const sae_config_t *cfg, char *buf, size_t size)
{
    return sae_netspec_format(&cfg->layers, buf, size);
}

static int layers_set(const sae_config_t *cfg)
{
    return cfg->layers.n > 0;
}

static int prefixes_set(const sae_config_t *cfg)
{
    return cfg->n_prefixes > 0;
}

const sae_text_key_t sae_text_keys[] = {
    {"arch.layers", sae_config_set_layers, format_layers, layers_set},
    {"matryoshka.prefixes", sae_config_set_prefixes, sae_config_format_prefixes, prefixes_set},
};

const size_t sae_text_keys_len = sizeof sae_text_keys / sizeof sae_text_keys[0];

const sae_text_key_t *sae_text_key_find(const char *name)
{
    for (size_t i = 0; i < sae_text_keys_len; i++)
        if (!strcmp(sae_text_keys[i].name, name))
            return &sae_text_keys[i];
    return NULL;
}
