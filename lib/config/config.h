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
/* Most sizes in matryoshka.prefixes. */
#define SAE_MAX_PREFIXES 16

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
    /* matryoshka.prefixes (config/prefixes_key.c); n_prefixes = 0: off */
    uint32_t prefixes[SAE_MAX_PREFIXES];
    unsigned n_prefixes;
    char errmsg[SAE_ERRMSG_SIZE];
};

/* The text-valued settings: keys whose value is a structured text rather
 * than one number (arch.layers, matryoshka.prefixes). Each is one row of a
 * table (config/text_keys.c) that sae_config_set / sae_config_get and the
 * model file writer go through, so a new one is its file and its row. */
typedef struct sae_text_key {
    const char *name;
    /* Parses and checks text; on failure cfg is unchanged and the reason
     * is in cfg->errmsg. */
    sae_status_t (*set)(sae_config_t *cfg, const char *text);
    /* The canonical text ("" when unset); returns the length it needs,
     * snprintf's rule. */
    size_t (*format)(const sae_config_t *cfg, char *buf, size_t size);
    /* 1 when the setting differs from its default (files store only those). */
    int (*is_set)(const sae_config_t *cfg);
} sae_text_key_t;

extern const sae_text_key_t sae_text_keys[];
extern const size_t sae_text_keys_len;

/* The row of name, or NULL. */
const sae_text_key_t *sae_text_key_find(const char *name);

/* matryoshka.prefixes (config/prefixes_key.c). */
sae_status_t sae_config_set_prefixes(sae_config_t *cfg, const char *text);
size_t sae_config_format_prefixes(const sae_config_t *cfg, char *buf, size_t size);

/* Typed reads for internal use; the id must be in the table. */
int64_t sae_cfg_int(const sae_config_t *cfg, sae_param_t id);
double sae_cfg_float(const sae_config_t *cfg, sae_param_t id);

/* The checks across keys that hold for every kind of model (corruption,
 * what each training algorithm needs); a kind's own checks come first
 * (model/kind.h). Writes the reason into errbuf. */
sae_status_t sae_config_validate(const sae_config_t *cfg, char *errbuf);

#endif
