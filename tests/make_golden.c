/* SPDX-License-Identifier: MIT */
/* Writes the golden model file of tests/data through the public API only:
 *
 *     make_golden OUT.safetensors [--dump]
 *
 * The model is input 6, hidden 4, seed 7, untied, with biases, every other
 * parameter at its default. With --dump, every parameter is printed as
 * "name index value" (value in C's exact hexadecimal float notation), which
 * tests/check_safetensors.py compares with its own reading of the file.
 *
 * The golden file is committed, not rebuilt by the tests: it pins what
 * version 1 files look like, so a change to the writer that alters the
 * bytes shows up in test_io. Regenerate it only for a deliberate change,
 * and keep old golden files loading (docs/file-format.md). */
#include <stdio.h>
#include <string.h>

#include "sae.h"

static int fail(const char *what, sae_status_t st)
{
    fprintf(stderr, "make_golden: %s: %s (%s)\n", what, sae_status_str(st), sae_last_error());
    return 1;
}

static void dump(const sae_model_t *m)
{
    for (size_t t = 0; t < sae_model_tensor_count(m); t++) {
        const char *name;
        size_t rows, cols;
        const float *data;
        if (sae_model_tensor(m, t, &name, &rows, &cols, &data) != SAE_OK)
            return;
        for (size_t i = 0; i < rows * cols; i++)
            printf("%s %zu %a\n", name, i, (double)data[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || (argc == 3 && strcmp(argv[2], "--dump") != 0) || argc > 3) {
        fprintf(stderr, "usage: make_golden OUT.safetensors [--dump]\n");
        return 2;
    }
    sae_config_t *cfg = NULL;
    sae_status_t st = sae_config_create(&cfg);
    if (st != SAE_OK)
        return fail("config", st);
    if ((st = sae_config_set_int(cfg, SAE_P_INPUT_DIM, 6)) != SAE_OK ||
        (st = sae_config_set_int(cfg, SAE_P_HIDDEN_DIM, 4)) != SAE_OK ||
        (st = sae_config_set_int(cfg, SAE_P_SEED, 7)) != SAE_OK ||
        (st = sae_config_set_int(cfg, SAE_P_TIED, 0)) != SAE_OK) {
        sae_config_free(cfg);
        return fail("config", st);
    }
    sae_model_t *m = NULL;
    st = sae_model_create(cfg, &m);
    sae_config_free(cfg);
    if (st != SAE_OK)
        return fail("model", st);
    st = sae_model_save(m, argv[1]);
    if (st != SAE_OK) {
        fprintf(stderr, "make_golden: %s\n", sae_model_errmsg(m));
        sae_model_free(m);
        return 1;
    }
    if (argc == 3)
        dump(m);
    sae_model_free(m);
    return 0;
}
