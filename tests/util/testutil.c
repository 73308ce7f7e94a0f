/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed)
{
    sae_rng_t rng;
    sae_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * sae_rng_uniform(&rng);
}

sae_config_t *tu_config(size_t input_dim, size_t hidden_dim)
{
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    assert_int_equal(sae_config_set_int(cfg, SAE_P_INPUT_DIM, (int64_t)input_dim), SAE_OK);
    assert_int_equal(sae_config_set_int(cfg, SAE_P_HIDDEN_DIM, (int64_t)hidden_dim), SAE_OK);
    return cfg;
}

const char *tu_data_path(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("SAE_TEST_DATA");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "tests/data", name);
    return buf;
}

const char *tu_tmpdir(void)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "/tmp/sae-test-XXXXXX");
    if (!mkdtemp(buf))
        fail_msg("mkdtemp failed");
    return buf;
}
