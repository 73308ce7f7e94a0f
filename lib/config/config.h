/* The configuration handle: one value per parameter of the table in
 * params.c, plus the stack of user regularizers. SPDX-License-Identifier: MIT */
#ifndef SAE_CONFIG_CONFIG_H
#define SAE_CONFIG_CONFIG_H

#include "core/error.h"
#include "config/netspec.h"
#include "sae.h"

#define SAE_MAX_USER_REGS 16
/* Room in sae_config_t.values: one slot per row of the parameter table. */
#define SAE_CONFIG_MAX_PARAMS 160

/* One row of the parameter table. */
typedef struct sae_param_desc {
    sae_param_t id;
    const char *name;
    sae_param_type_t type;
    double lo, hi;
    int lo_open, hi_open;
    double def;
    const char *const *enum_names; /* NULL-terminated, index = value; or NULL */
    const char *doc;               /* one line, Markdown; never NULL or empty */
} sae_param_desc_t;

extern const sae_param_desc_t sae_param_table[];
extern const size_t sae_param_table_len;
/* Index of id in the table, or -1. */
int sae_param_index(sae_param_t id);

/* A user regularizer shared between configs and models by reference count. */
typedef struct sae_user_reg {
    sae_regularizer_ops_t ops;
    void *user_data;
    _Atomic unsigned refs; /* configs on other threads may share it */
} sae_user_reg_t;

struct sae_config {
    double values[SAE_CONFIG_MAX_PARAMS]; /* indexed like sae_param_table */
    sae_user_reg_t *user_regs[SAE_MAX_USER_REGS];
    float user_weights[SAE_MAX_USER_REGS];
    unsigned n_user_regs;
    sae_netspec_t layers; /* arch.layers; n = 0: the one-hidden-layer model */
    char errmsg[SAE_ERRMSG_SIZE];
};

/* Typed reads for internal use; the id must be in the table. */
int64_t sae_cfg_int(const sae_config_t *cfg, sae_param_t id);
double sae_cfg_float(const sae_config_t *cfg, sae_param_t id);

/* The checks across keys that hold for every kind of model (corruption,
 * what each training algorithm needs); a kind's own checks come first
 * (model/kind.h). Writes the reason into errbuf. */
sae_status_t sae_config_validate(const sae_config_t *cfg, char *errbuf);

#endif
