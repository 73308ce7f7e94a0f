/* SPDX-License-Identifier: MIT */
/* sae train's model: the configuration, checked by the library before any
 * data is read; then arch.input_dim from the data's headers and a model
 * made from the whole configuration, before the rows are read. */
#include <string.h>

#include "train.h"

/* Statuses of model creation that mean the configuration is at fault. */
static int config_status(sae_status_t s)
{
    return s == SAE_ERR_RANGE || s == SAE_ERR_STATE || s == SAE_ERR_BAD_VALUE ||
           s == SAE_ERR_UNKNOWN_KEY || s == SAE_ERR_TYPE || s == SAE_ERR_DIMENSION ||
           s == SAE_ERR_UNSUPPORTED;
}

int train_config(const train_opts_t *o, sae_config_t **cfg, sae_model_t **model,
                 sae_trainer_t **trainer)
{
    const char *cmd = "train";
    int rc;
    if (o->resume) {
        if (sae_trainer_load_checkpoint(o->resume, model, trainer) != SAE_OK)
            return cli_fail(cmd, "--resume %s: %s", o->resume, sae_last_error());
        if (sae_config_clone(sae_model_config(*model), cfg) != SAE_OK)
            return cli_fail(cmd, "%s", sae_last_error());
        return CLI_OK;
    }
    if (sae_config_create(cfg) != SAE_OK)
        return cli_fail(cmd, "%s", sae_last_error());
    if (o->config && (rc = cli_config_file(cmd, *cfg, o->config)) != CLI_OK)
        return rc;
    for (size_t i = 0; i < o->n_sets; i++)
        if ((rc = cli_config_set(cmd, *cfg, o->sets[i], "--set")) != CLI_OK)
            return rc;
    if (o->have_threads && sae_config_set_int(*cfg, SAE_P_THREADS, (int64_t)o->threads) != SAE_OK)
        return cli_usage(cmd, "--threads: %s", sae_config_errmsg(*cfg));
    return CLI_OK;
}

/* arch.input_dim from the data, unless the key was set to something else
 * (or the model is layered: arch.layers gives its input). */
static int input_dim(sae_config_t *cfg, size_t dim)
{
    const char *cmd = "train";
    char layers[16];
    if (sae_config_get(cfg, "arch.layers", layers, sizeof layers) == SAE_OK && layers[0])
        return CLI_OK;
    int64_t given = 0, dflt = 0;
    sae_config_t *fresh = NULL;
    if (sae_config_create(&fresh) == SAE_OK) {
        sae_config_get_int(fresh, SAE_P_INPUT_DIM, &dflt);
        sae_config_free(fresh);
    }
    sae_config_get_int(cfg, SAE_P_INPUT_DIM, &given);
    if (given != dflt && (uint64_t)given != dim)
        return cli_usage(cmd,
                         "arch.input_dim = %lld, but the data's rows hold %zu values "
                         "(leave the key out: it comes from the data)",
                         (long long)given, dim);
    if (sae_config_set_int(cfg, SAE_P_INPUT_DIM, (int64_t)dim) != SAE_OK)
        return cli_usage(cmd, "the data's rows hold %zu values: %s", dim, sae_config_errmsg(cfg));
    return CLI_OK;
}

int train_model(const train_opts_t *o, sae_config_t *cfg, const sd_set_t *set, sae_model_t **model,
                sae_trainer_t **trainer)
{
    const char *cmd = "train";
    if (o->resume) {
        if (sae_model_input_dim(*model) != set->dim)
            return cli_fail(cmd,
                            "the checkpoint's model takes rows of %zu values, the data's "
                            "hold %zu",
                            sae_model_input_dim(*model), set->dim);
        return CLI_OK;
    }
    int rc = input_dim(cfg, set->dim);
    if (rc != CLI_OK)
        return rc;
    sae_status_t s = sae_model_create(cfg, model);
    if (s != SAE_OK)
        return config_status(s) ? cli_usage(cmd, "%s", sae_last_error())
                                : cli_fail(cmd, "%s", sae_last_error());
    if (sae_model_input_dim(*model) != set->dim)
        return cli_usage(cmd,
                         "the model's input holds %zu values (arch.layers), the data's "
                         "rows %zu",
                         sae_model_input_dim(*model), set->dim);
    if (sae_trainer_create(*model, trainer) != SAE_OK)
        return cli_fail(cmd, "%s", sae_last_error());
    return CLI_OK;
}
