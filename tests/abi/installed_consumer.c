/* A program built against the INSTALLED libsae, with nothing but
 * `cc installed_consumer.c $(pkg-config --cflags --libs sae)`
 * (tests/abi/check-installed.sh). It checks that the installed header and the
 * installed library agree and that a model can be made and used.
 * SPDX-License-Identifier: MIT */
#include <sae.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define IN  8
#define HID 4

static int fail(const char *what, sae_status_t st, const char *msg)
{
    fprintf(stderr, "installed_consumer: %s failed: %s (%s)\n", what, sae_status_str(st),
            msg ? msg : "");
    return 1;
}

int main(void)
{
    sae_config_t *cfg = NULL;
    sae_model_t *model = NULL;
    sae_status_t st;
    float x[IN], code[HID];
    int i, rc = 1;

    if (sae_version_number() != SAE_VERSION_NUMBER) {
        fprintf(stderr, "installed_consumer: library version %u, header version %u\n",
                (unsigned)sae_version_number(), (unsigned)SAE_VERSION_NUMBER);
        return 1;
    }
    if (strlen(sae_version_string()) == 0) {
        fprintf(stderr, "installed_consumer: empty version string\n");
        return 1;
    }

    st = sae_config_create(&cfg);
    if (st != SAE_OK)
        return fail("sae_config_create", st, sae_last_error());
    st = sae_config_set_int(cfg, SAE_P_INPUT_DIM, IN);
    if (st == SAE_OK)
        st = sae_config_set_int(cfg, SAE_P_HIDDEN_DIM, HID);
    if (st == SAE_OK)
        st = sae_config_set(cfg, "kl.rho", "0.08");
    if (st != SAE_OK) {
        rc = fail("configuring", st, sae_config_errmsg(cfg));
        goto out;
    }
    st = sae_model_create(cfg, &model);
    if (st != SAE_OK) {
        rc = fail("sae_model_create", st, sae_last_error());
        goto out;
    }
    if (sae_model_input_dim(model) != IN || sae_model_code_dim(model) != HID) {
        fprintf(stderr, "installed_consumer: model dimensions %zu x %zu\n",
                sae_model_input_dim(model), sae_model_code_dim(model));
        goto out;
    }
    for (i = 0; i < IN; i++)
        x[i] = (float)i / IN;
    st = sae_model_encode(model, x, 1, code);
    if (st != SAE_OK) {
        rc = fail("sae_model_encode", st, sae_model_errmsg(model));
        goto out;
    }
    for (i = 0; i < HID; i++) {
        /* The default hidden activation is the sigmoid. */
        if (!isfinite(code[i]) || code[i] <= 0.0f || code[i] >= 1.0f) {
            fprintf(stderr, "installed_consumer: code[%d] = %g out of (0,1)\n", i, code[i]);
            goto out;
        }
    }
    printf("installed_consumer: libsae %s, code[0] = %.4f: ok\n", sae_version_string(), code[0]);
    rc = 0;
out:
    sae_model_free(model);
    sae_config_free(cfg);
    return rc;
}
