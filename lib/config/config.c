/* The config handle: typed and string setters validated at set time.
 * SPDX-License-Identifier: MIT */
#include "config/config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

sae_status_t sae_config_create(sae_config_t **out)
{
    if (!out)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_create: out is NULL");
    *out = NULL;
    sae_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return sae_fail_global(SAE_ERR_NOMEM, "sae_config_create: out of memory");
    for (size_t i = 0; i < sae_param_table_len; i++)
        cfg->values[i] = sae_param_table[i].def;
    *out = cfg;
    return SAE_OK;
}

sae_status_t sae_config_clone(const sae_config_t *cfg, sae_config_t **out)
{
    if (!cfg || !out)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_clone: NULL argument");
    *out = NULL;
    sae_config_t *c = malloc(sizeof *c);
    if (!c)
        return sae_fail_global(SAE_ERR_NOMEM, "sae_config_clone: out of memory");
    memcpy(c, cfg, sizeof *c);
    c->errmsg[0] = '\0';
    for (unsigned i = 0; i < c->n_user_regs; i++)
        c->user_regs[i]->refs++;
    *out = c;
    return SAE_OK;
}

void sae_config_free(sae_config_t *cfg)
{
    if (!cfg)
        return;
    for (unsigned i = 0; i < cfg->n_user_regs; i++) {
        sae_user_reg_t *ur = cfg->user_regs[i];
        if (--ur->refs == 0) {
            if (ur->ops.destroy)
                ur->ops.destroy(ur->user_data);
            free(ur);
        }
    }
    free(cfg);
}

const char *sae_config_errmsg(const sae_config_t *cfg)
{
    return cfg ? cfg->errmsg : "";
}

int64_t sae_cfg_int(const sae_config_t *cfg, sae_param_t id)
{
    int i = sae_param_index(id);
    return i < 0 ? 0 : (int64_t)cfg->values[i];
}

double sae_cfg_float(const sae_config_t *cfg, sae_param_t id)
{
    int i = sae_param_index(id);
    return i < 0 ? 0.0 : cfg->values[i];
}

static int in_bounds(const sae_param_desc_t *d, double v)
{
    if (isnan(v))
        return 0;
    if (d->lo_open ? !(v > d->lo) : !(v >= d->lo))
        return 0;
    if (d->hi_open ? !(v < d->hi) : !(v <= d->hi))
        return 0;
    return 1;
}

static sae_status_t range_error(sae_config_t *cfg, const sae_param_desc_t *d, double v)
{
    return sae_fail(cfg->errmsg, SAE_ERR_RANGE, "%s = %g is out of range: must be in %c%g, %g%c",
                    d->name, v, d->lo_open ? '(' : '[', d->lo, d->hi, d->hi_open ? ')' : ']');
}

static const sae_param_desc_t *lookup_desc(sae_config_t *cfg, sae_param_t param, const char *fn)
{
    int i = sae_param_index(param);
    if (i < 0) {
        sae_fail(cfg->errmsg, SAE_ERR_UNKNOWN_KEY, "%s: unknown parameter id %d", fn, (int)param);
        return NULL;
    }
    return &sae_param_table[i];
}

sae_status_t sae_config_set_int(sae_config_t *cfg, sae_param_t param, int64_t value)
{
    if (!cfg)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_set_int: cfg is NULL");
    const sae_param_desc_t *d = lookup_desc(cfg, param, "sae_config_set_int");
    if (!d)
        return SAE_ERR_UNKNOWN_KEY;
    if (d->type != SAE_TYPE_INT)
        return sae_fail(cfg->errmsg, SAE_ERR_TYPE,
                        "%s is a float parameter: use sae_config_set_float", d->name);
    if (!in_bounds(d, (double)value))
        return range_error(cfg, d, (double)value);
    cfg->values[d - sae_param_table] = (double)value;
    return SAE_OK;
}

sae_status_t sae_config_set_float(sae_config_t *cfg, sae_param_t param, double value)
{
    if (!cfg)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_set_float: cfg is NULL");
    const sae_param_desc_t *d = lookup_desc(cfg, param, "sae_config_set_float");
    if (!d)
        return SAE_ERR_UNKNOWN_KEY;
    if (d->type != SAE_TYPE_FLOAT)
        return sae_fail(cfg->errmsg, SAE_ERR_TYPE,
                        "%s is an integer parameter: use sae_config_set_int", d->name);
    if (!isfinite(value) || !in_bounds(d, value))
        return range_error(cfg, d, value);
    cfg->values[d - sae_param_table] = value;
    return SAE_OK;
}

sae_status_t sae_config_get_int(const sae_config_t *cfg, sae_param_t param, int64_t *value)
{
    if (!cfg || !value)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_get_int: NULL argument");
    int i = sae_param_index(param);
    if (i < 0)
        return sae_fail_global(SAE_ERR_UNKNOWN_KEY, "sae_config_get_int: unknown parameter id %d",
                               (int)param);
    if (sae_param_table[i].type != SAE_TYPE_INT)
        return sae_fail_global(SAE_ERR_TYPE, "%s is a float parameter", sae_param_table[i].name);
    *value = (int64_t)cfg->values[i];
    return SAE_OK;
}

sae_status_t sae_config_get_float(const sae_config_t *cfg, sae_param_t param, double *value)
{
    if (!cfg || !value)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_get_float: NULL argument");
    int i = sae_param_index(param);
    if (i < 0)
        return sae_fail_global(SAE_ERR_UNKNOWN_KEY,
                               "sae_config_get_float: unknown parameter id %d", (int)param);
    if (sae_param_table[i].type != SAE_TYPE_FLOAT)
        return sae_fail_global(SAE_ERR_TYPE, "%s is an integer parameter",
                               sae_param_table[i].name);
    *value = cfg->values[i];
    return SAE_OK;
}

sae_status_t sae_param_info(sae_param_t param, sae_param_type_t *type, double *lo, double *hi,
                            int *lo_open, int *hi_open)
{
    int i = sae_param_index(param);
    if (i < 0)
        return sae_fail_global(SAE_ERR_UNKNOWN_KEY, "sae_param_info: unknown parameter id %d",
                               (int)param);
    const sae_param_desc_t *d = &sae_param_table[i];
    if (type)
        *type = d->type;
    if (lo)
        *lo = d->lo;
    if (hi)
        *hi = d->hi;
    if (lo_open)
        *lo_open = d->lo_open;
    if (hi_open)
        *hi_open = d->hi_open;
    return SAE_OK;
}

const char *sae_param_name(sae_param_t param)
{
    int i = sae_param_index(param);
    return i < 0 ? NULL : sae_param_table[i].name;
}

sae_status_t sae_param_lookup(const char *name, sae_param_t *param)
{
    if (!name || !param)
        return sae_fail_global(SAE_ERR_NULL, "sae_param_lookup: NULL argument");
    for (size_t i = 0; i < sae_param_table_len; i++)
        if (strcmp(sae_param_table[i].name, name) == 0) {
            *param = sae_param_table[i].id;
            return SAE_OK;
        }
    return sae_fail_global(SAE_ERR_UNKNOWN_KEY, "unknown config key '%s'", name);
}

sae_status_t sae_param_at(size_t index, sae_param_t *param)
{
    if (!param)
        return sae_fail_global(SAE_ERR_NULL, "sae_param_at: param is NULL");
    if (index >= sae_param_table_len)
        return sae_fail_global(SAE_ERR_RANGE, "sae_param_at: index %zu past the last (%zu)",
                               index, sae_param_table_len);
    *param = sae_param_table[index].id;
    return SAE_OK;
}

/* Parses an enum/bool name or a number. */
static int parse_value(const sae_param_desc_t *d, const char *text, double *out)
{
    if (d->enum_names)
        for (int k = 0; d->enum_names[k]; k++)
            if (strcasecmp(text, d->enum_names[k]) == 0) {
                *out = k;
                return 1;
            }
    if (!*text)
        return 0;
    errno = 0;
    char *end = NULL;
    if (d->type == SAE_TYPE_INT) {
        long long v = strtoll(text, &end, 10);
        if (errno || *end)
            return 0;
        *out = (double)v;
    } else {
        double v = strtod(text, &end);
        /* glibc sets ERANGE for subnormal results too, which are valid
         * values (sae_config_get prints them): only overflow is an error. */
        if (end == text || *end || !isfinite(v))
            return 0;
        *out = v;
    }
    return 1;
}

sae_status_t sae_config_set(sae_config_t *cfg, const char *key, const char *value)
{
    if (!cfg)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_set: cfg is NULL");
    if (!key || !value)
        return sae_fail(cfg->errmsg, SAE_ERR_NULL, "sae_config_set: key or value is NULL");
    if (!strcmp(key, "arch.layers")) /* the one text-valued setting */
        return sae_config_set_layers(cfg, value);
    sae_param_t id;
    if (sae_param_lookup(key, &id) != SAE_OK)
        return sae_fail(cfg->errmsg, SAE_ERR_UNKNOWN_KEY, "unknown config key '%s'", key);
    const sae_param_desc_t *d = &sae_param_table[sae_param_index(id)];
    double v;
    if (!parse_value(d, value, &v)) {
        if (d->enum_names) {
            char names[160] = "";
            for (int k = 0; d->enum_names[k]; k++) {
                strncat(names, k ? ", " : "", sizeof names - strlen(names) - 1);
                strncat(names, d->enum_names[k], sizeof names - strlen(names) - 1);
            }
            return sae_fail(cfg->errmsg, SAE_ERR_BAD_VALUE,
                            "%s: cannot parse '%s' (expected one of: %s)", key, value, names);
        }
        return sae_fail(cfg->errmsg, SAE_ERR_BAD_VALUE, "%s: cannot parse '%s' as %s", key, value,
                        d->type == SAE_TYPE_INT ? "an integer" : "a number");
    }
    if (d->type == SAE_TYPE_INT)
        return sae_config_set_int(cfg, id, (int64_t)v);
    return sae_config_set_float(cfg, id, v);
}

sae_status_t sae_config_get(const sae_config_t *cfg, const char *key, char *buf, size_t size)
{
    if (!cfg || !key || !buf)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_get: NULL argument");
    if (!strcmp(key, "arch.layers"))
        return sae_config_get_layers(cfg, buf, size);
    sae_param_t id;
    if (sae_param_lookup(key, &id) != SAE_OK)
        return SAE_ERR_UNKNOWN_KEY; /* sae_param_lookup left the message */
    int i = sae_param_index(id);
    const sae_param_desc_t *d = &sae_param_table[i];
    double v = cfg->values[i];
    int n;
    if (d->enum_names && v >= 0)
        n = snprintf(buf, size, "%s", d->enum_names[(int)v]);
    else if (d->type == SAE_TYPE_INT)
        n = snprintf(buf, size, "%" PRId64, (int64_t)v);
    else
        n = snprintf(buf, size, "%.17g", v); /* round-trips a double exactly */
    if (n < 0 || (size_t)n >= size)
        return sae_fail_global(SAE_ERR_RANGE, "sae_config_get: buffer of %zu bytes too small for %s",
                               size, key);
    return SAE_OK;
}

/* What a training algorithm without a loss (nsc, rank_order) cannot honour:
 * regularizers and decay need an objective, corruption a denoising one.
 * NULL when none is set. */
static const char *loss_free_conflict(const sae_config_t *cfg)
{
    if (sae_cfg_float(cfg, SAE_P_KL_WEIGHT) > 0 || sae_cfg_float(cfg, SAE_P_L1_WEIGHT) > 0 ||
        sae_cfg_float(cfg, SAE_P_SAMPLE_WEIGHT) > 0 || sae_cfg_float(cfg, SAE_P_BATCH_WEIGHT) > 0 ||
        cfg->n_user_regs > 0)
        return "no regularizer (kl, l1, sample and batch weights 0, no user one): it has no "
               "loss to add them to";
    if (sae_cfg_float(cfg, SAE_P_WEIGHT_DECAY) > 0)
        return "decay.l2 = 0 (it uses no optimizer)";
    if (sae_cfg_float(cfg, SAE_P_NOISE_STDDEV) > 0 || sae_cfg_float(cfg, SAE_P_INPUT_KEEP) < 1 ||
        sae_cfg_float(cfg, SAE_P_HIDDEN_KEEP) < 1)
        return "no corruption (corrupt.noise_std = 0, corrupt.input_keep = 1, "
               "corrupt.hidden_keep = 1)";
    return NULL;
}

/* Neural sparse coding (train/nsc.c) updates A = encoder.weight^T by its
 * own rule, not by descending the objective: the settings it would
 * silently ignore are refused instead. */
static sae_status_t validate_nsc(const sae_config_t *cfg, char *errbuf)
{
    const char *why = NULL;
    if (!sae_cfg_int(cfg, SAE_P_TIED))
        why = "arch.tied = true (the dictionary A is stored once, as encoder.weight = A^T)";
    else if (sae_cfg_int(cfg, SAE_P_BIAS))
        why = "arch.bias = false (the code is A^T y and the reconstruction A x)";
    else if (sae_cfg_int(cfg, SAE_P_HIDDEN_ACTIVATION) != SAE_ACT_LINEAR ||
             sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION) != SAE_ACT_LINEAR)
        why = "arch.hidden_activation = linear and arch.output_activation = linear";
    else
        why = loss_free_conflict(cfg);
    if (!why && sae_cfg_int(cfg, SAE_P_TOPK_K) > 0)
        why = "topk.k = 0 (its code is the thresholded A^T y, not a top-k selection)";
    if (why)
        return sae_fail(errbuf, SAE_ERR_STATE, "train.algorithm = nsc needs %s", why);
    return SAE_OK;
}

/* The rank-order update (train/rank_order.c) is defined for one tied
 * matrix without biases and TReLU on both sides (E4); like nsc it descends
 * no objective, so the settings it would silently ignore are refused. */
static sae_status_t validate_rank_order(const sae_config_t *cfg, char *errbuf)
{
    const char *why = NULL;
    if (!sae_cfg_int(cfg, SAE_P_TIED))
        why = "arch.tied = true (one matrix W encodes, x W / D, and decodes, W h)";
    else if (sae_cfg_int(cfg, SAE_P_BIAS))
        why = "arch.bias = false (the update has no bias terms)";
    else if (sae_cfg_int(cfg, SAE_P_HIDDEN_ACTIVATION) != SAE_ACT_TRELU ||
             sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION) != SAE_ACT_TRELU)
        why = "arch.hidden_activation = trelu and arch.output_activation = trelu (the code "
              "and every prefix reconstruction are clipped to [0, 1])";
    else
        why = loss_free_conflict(cfg);
    if (!why && sae_cfg_int(cfg, SAE_P_TOPK_K) > 0)
        why = "topk.k = 0 (every active unit takes part in the ranking)";
    else if (!why && sae_cfg_int(cfg, SAE_P_LR_DECAY_EVERY) > 0)
        why = "schedule.decay_every = 0 (its rate follows rank_order.lr, decayed by "
              "rank_order.decay_factor after epochs of too little progress)";
    if (why)
        return sae_fail(errbuf, SAE_ERR_STATE, "train.algorithm = rank_order needs %s", why);
    return SAE_OK;
}

/* The pre-encoder bias, its data init and AuxK (Gao et al. 2024) are
 * defined for a backprop-trained model whose decoder bias lives in the
 * data's space (a linear output), and AuxK for top-k codes. */
static sae_status_t validate_gao(const sae_config_t *cfg, char *errbuf)
{
    int pre = (int)sae_cfg_int(cfg, SAE_P_PRE_ENCODER_BIAS);
    int64_t init = sae_cfg_int(cfg, SAE_P_BIAS_INIT);
    int64_t algo = sae_cfg_int(cfg, SAE_P_ALGORITHM);
    int linear_out = sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION) == SAE_ACT_LINEAR;
    const char *what = pre ? "arch.pre_encoder_bias" : "arch.bias_init";
    if (pre || init != SAE_BIAS_INIT_ZERO) {
        if (!sae_cfg_int(cfg, SAE_P_BIAS))
            return sae_fail(errbuf, SAE_ERR_STATE,
                            "%s needs arch.bias = true (it acts on decoder.bias)", what);
        if (algo != SAE_ALGO_BACKPROP)
            return sae_fail(errbuf, SAE_ERR_STATE,
                            "%s needs train.algorithm = backprop (nsc and rank_order have no "
                            "biases)",
                            what);
        if (!linear_out)
            return sae_fail(errbuf, SAE_ERR_STATE,
                            "%s needs arch.output_activation = linear (decoder.bias must be a "
                            "point of the input space)",
                            what);
    }
    int64_t ka = sae_cfg_int(cfg, SAE_P_AUXK_K);
    if (ka == 0)
        return SAE_OK;
    int64_t hidden = sae_cfg_int(cfg, SAE_P_HIDDEN_DIM);
    if (sae_cfg_int(cfg, SAE_P_TOPK_K) == 0)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "auxk.k > 0 needs topk.k > 0 (AuxK revives the dead units of a top-k "
                        "code)");
    if (ka > hidden)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "auxk.k = %" PRId64 " must not exceed arch.hidden_dim = %" PRId64, ka,
                        hidden);
    if (sae_cfg_int(cfg, SAE_P_LOSS) != SAE_LOSS_MSE || !linear_out)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "auxk.k > 0 needs loss.type = mse and arch.output_activation = linear "
                        "(the dead units reconstruct the residual x - x_hat)");
    if (sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_LBFGS)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "auxk.k > 0 cannot be combined with optim.type = lbfgs (its residual "
                        "is held constant, so it is no objective for a line search)");
    return SAE_OK;
}

sae_status_t sae_config_check_noise_clip(const sae_config_t *cfg, char *errbuf)
{
    double clip = sae_cfg_float(cfg, SAE_P_NOISE_CLIP);
    if (clip > 0.0 && clip < 0.5)
        return sae_fail(errbuf, SAE_ERR_RANGE,
                        "corrupt.noise_clip = %g: truncation must be 0 (off) or at least 0.5 "
                        "std, else nearly every draw is rejected",
                        clip);
    return SAE_OK;
}

sae_status_t sae_config_validate(const sae_config_t *cfg, char *errbuf)
{
    if (cfg->layers.n > 0)
        return sae_config_validate_layers(cfg, errbuf);
    int64_t hidden = sae_cfg_int(cfg, SAE_P_HIDDEN_DIM);
    if (sae_cfg_int(cfg, SAE_P_LOSS) == SAE_LOSS_BCE &&
        sae_cfg_int(cfg, SAE_P_OUTPUT_ACTIVATION) != SAE_ACT_SIGMOID)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "loss.type = bce needs arch.output_activation = sigmoid (the loss is "
                        "computed from the logits)");
    if (sae_cfg_int(cfg, SAE_P_KWTA_K) > hidden)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "encode.k = %" PRId64 " is larger than arch.hidden_dim = %" PRId64,
                        sae_cfg_int(cfg, SAE_P_KWTA_K), hidden);
    int64_t k = sae_cfg_int(cfg, SAE_P_TOPK_K);
    if (k > hidden || sae_cfg_int(cfg, SAE_P_TOPK_K_START) > hidden)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "topk.k = %" PRId64 " and topk.k_start = %" PRId64
                        " must not exceed arch.hidden_dim = %" PRId64,
                        k, sae_cfg_int(cfg, SAE_P_TOPK_K_START), hidden);
    if (k > 0 && (double)k * sae_cfg_float(cfg, SAE_P_TOPK_ALPHA) > (double)hidden + 0.5)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "topk.alpha x topk.k = %g x %" PRId64
                        " keeps more units than arch.hidden_dim = %" PRId64,
                        sae_cfg_float(cfg, SAE_P_TOPK_ALPHA), k, hidden);
    if (k > 0 && sae_cfg_float(cfg, SAE_P_HIDDEN_KEEP) < 1.0)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "topk.k > 0 cannot be combined with corrupt.hidden_keep < 1 (the "
                        "top-k code is already the decoder's dropout)");
    if (sae_cfg_int(cfg, SAE_P_ENCODER_FROM_DECODER) && sae_cfg_int(cfg, SAE_P_TIED))
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "arch.encoder_from_decoder needs an untied model (a tied model's encoder "
                        "is its decoder already)");
    if (sae_cfg_int(cfg, SAE_P_UNIT_NORM_DECODER) &&
        sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_LBFGS)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "arch.unit_norm_decoder is a projected update, which optim.type = lbfgs "
                        "does not do: use sgd or adam");
    sae_status_t st = sae_config_check_noise_clip(cfg, errbuf);
    if (st != SAE_OK)
        return st;
    int64_t algo = sae_cfg_int(cfg, SAE_P_ALGORITHM);
    if (algo != SAE_ALGO_BACKPROP && sae_cfg_int(cfg, SAE_P_OPTIMIZER) == SAE_OPT_LBFGS)
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "optim.type = lbfgs descends an objective: train.algorithm must be "
                        "backprop");
    if (algo != SAE_ALGO_BACKPROP && sae_cfg_int(cfg, SAE_P_UNIT_NORM_DECODER))
        return sae_fail(errbuf, SAE_ERR_STATE,
                        "arch.unit_norm_decoder applies to backprop training; train.algorithm "
                        "= nsc normalises its atoms itself and rank_order does not");
    /* Work buffers are indexed with 32-bit offsets and BLAS int sizes. */
    int64_t batch = sae_cfg_int(cfg, SAE_P_BATCH_SIZE);
    int64_t wide = sae_cfg_int(cfg, SAE_P_INPUT_DIM) > hidden ? sae_cfg_int(cfg, SAE_P_INPUT_DIM)
                                                              : hidden;
    if ((uint64_t)batch * (uint64_t)wide >= ((uint64_t)1 << 31))
        return sae_fail(errbuf, SAE_ERR_RANGE,
                        "train.batch_size x max(input_dim, hidden_dim) = %" PRId64 " x %" PRId64
                        " reaches 2^31 elements",
                        batch, wide);
    int64_t in = sae_cfg_int(cfg, SAE_P_INPUT_DIM);
    if ((uint64_t)in * (uint64_t)hidden > ((uint64_t)1 << 31))
        return sae_fail(errbuf, SAE_ERR_RANGE,
                        "arch.input_dim x arch.hidden_dim = %" PRId64 " x %" PRId64
                        " exceeds 2^31 weights",
                        in, hidden);
    st = validate_gao(cfg, errbuf);
    if (st != SAE_OK)
        return st;
    if (sae_cfg_int(cfg, SAE_P_ALGORITHM) == SAE_ALGO_NSC)
        return validate_nsc(cfg, errbuf);
    if (sae_cfg_int(cfg, SAE_P_ALGORITHM) == SAE_ALGO_RANK_ORDER)
        return validate_rank_order(cfg, errbuf);
    return SAE_OK;
}
