/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for sae_model_import's parsers (io/foreign_st.c,
 * io/npy.c, io/fmt_*.c, compiled into the harness for coverage). The first
 * byte picks what the rest becomes:
 *   0  params.npz (libzip, the .npy headers)      Gemma Scope
 *   1  params.safetensors (the foreign reader)    Gemma Scope 2
 *   2  cfg.json beside a valid sae_weights file    SAELens
 *   3  sae_weights.safetensors beside a valid cfg  SAELens
 *   4  cfg.json beside a valid sae.safetensors     sparsify
 *   5  hyperparams.json beside a final.safetensors Llama Scope
 *   6  an .npy header alone                        sae_npy_parse
 * Any crash, sanitizer report or leak is a bug; a refusal is the expected
 * outcome. Seeds: tests/fuzz/foreign-seeds (one per mode). By hand:
 *     build/tests/fuzz_foreign corpus tests/fuzz/foreign-seeds -max_len=8192 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/npy.h"
#include "sae.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char path[128];
/* The valid files, rewritten before each input that sits beside them. */
static uint8_t *valid[3];
static size_t valid_size[3];
static const char *const valid_name[3] = {"saelens/cfg.json", "saelens/sae_weights.safetensors",
                                          "sparsify/cfg.json"};

static void put(const char *name, const uint8_t *data, size_t size)
{
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
}

/* Valid neighbours for the file being fuzzed: libsae's own exports of a
 * small top-k model, in both folder formats. */
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sae-fuzz-foreign-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    sae_config_t *cfg;
    sae_model_t *m;
    if (sae_config_create(&cfg) || sae_config_set(cfg, "arch.input_dim", "4") ||
        sae_config_set(cfg, "arch.hidden_dim", "6") ||
        sae_config_set(cfg, "arch.hidden_activation", "relu") ||
        sae_config_set(cfg, "arch.tied", "false") || sae_config_set(cfg, "topk.k", "2") ||
        sae_config_set(cfg, "arch.pre_encoder_bias", "true") || sae_model_create(cfg, &m))
        abort();
    char sub[160];
    snprintf(sub, sizeof sub, "%s/saelens", dir);
    if (sae_model_export(m, sub, "saelens"))
        abort();
    snprintf(sub, sizeof sub, "%s/sparsify", dir);
    if (sae_model_export(m, sub, "sparsify"))
        abort();
    sae_model_free(m);
    sae_config_free(cfg);
    for (int i = 0; i < 3; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, valid_name[i]);
        FILE *f = fopen(sub, "rb");
        if (!f || fseek(f, 0, SEEK_END) || (valid_size[i] = (size_t)ftell(f)) == 0 ||
            fseek(f, 0, SEEK_SET) || !(valid[i] = malloc(valid_size[i])) ||
            fread(valid[i], 1, valid_size[i], f) != valid_size[i])
            abort();
        fclose(f);
    }
    /* Llama Scope's reader finds a safetensors file of other names there. */
    put("sparsify/final.safetensors", valid[1], valid_size[1]);
}

static void restore(int i)
{
    put(valid_name[i], valid[i], valid_size[i]);
}

static void cleanup(void)
{
    for (int i = 0; i < 3; i++)
        free(valid[i]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        setup();
        atexit(cleanup);
    }
    if (size < 1)
        return 0;
    int mode = data[0] % 7;
    data++;
    size--;
    sae_model_t *m = NULL;
    char sub[160];
    switch (mode) {
    case 0:
        put("params.npz", data, size);
        sae_model_import(path, "gemmascope", &m);
        break;
    case 1:
        put("params.safetensors", data, size);
        sae_model_import(path, "gemmascope", &m);
        break;
    case 2:
    case 3:
        restore(mode == 2 ? 1 : 0);
        snprintf(sub, sizeof sub, "%s/saelens", dir);
        put(valid_name[mode - 2], data, size);
        sae_model_import(sub, "saelens", &m);
        break;
    case 4:
        snprintf(sub, sizeof sub, "%s/sparsify", dir);
        put("sparsify/cfg.json", data, size);
        sae_model_import(sub, "sparsify", &m);
        break;
    case 5: {
        snprintf(sub, sizeof sub, "%s/sparsify", dir);
        put("sparsify/hyperparams.json", data, size);
        sae_model_import(sub, "llamascope", &m);
        break;
    }
    default: {
        npy_info_t info;
        char why[160];
        sae_npy_parse(data, size, &info, why);
        break;
    }
    }
    sae_model_free(m);
    return 0;
}
