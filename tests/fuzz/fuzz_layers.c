/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the layer-list parser (lib/config/netspec.c), which
 * reads arch.layers from users and from model files.
 *
 * Build with clang (meson does so when the compiler is clang), then fuzz:
 *   ./fuzz_layers -max_len=512 corpus/
 * Every text must be refused with a message, leaving the config unchanged,
 * or accepted; an accepted list must print a canonical text that parses
 * back to the same canonical text, and give a model whose layer shapes
 * chain (checked by creating it when its weights are few). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/netspec.h"
#include "sae.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[600];
    if (size >= sizeof text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    sae_config_t *cfg = NULL;
    if (sae_config_create(&cfg) != SAE_OK)
        abort();
    sae_status_t st = sae_config_set_layers(cfg, text);
    if (st != SAE_OK) {
        if (st != SAE_ERR_BAD_VALUE && st != SAE_ERR_DIMENSION && st != SAE_ERR_RANGE)
            abort();
        if (!sae_config_errmsg(cfg)[0] || cfg->layers.n != 0)
            abort(); /* a message, and the list left as it was */
        sae_config_free(cfg);
        return 0;
    }
    static char a[8192], b[8192];
    if (sae_config_get_layers(cfg, a, sizeof a) != SAE_OK)
        abort();
    sae_config_t *again = NULL;
    if (sae_config_create(&again) != SAE_OK || sae_config_set_layers(again, a) != SAE_OK ||
        sae_config_get_layers(again, b, sizeof b) != SAE_OK || strcmp(a, b) != 0)
        abort();
    if (cfg->layers.n > 0 && sae_netspec_weight_count(&cfg->layers) < 100000) {
        sae_config_set(cfg, "train.batch_size", "2");
        sae_model_t *m = NULL;
        if (sae_model_create(cfg, &m) == SAE_OK) {
            size_t c, h, w;
            size_t last = sae_model_layer_count(m) - 1;
            if (sae_model_layer_shape(m, last, &c, &h, &w) != SAE_OK ||
                c * h * w != sae_model_input_dim(m))
                abort();
            sae_model_free(m);
        }
    }
    sae_config_free(again);
    sae_config_free(cfg);
    return 0;
}
