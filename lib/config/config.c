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
    if (out)
        *out = NULL; /* constructors leave NULL on failure, NULL cfg included */
    if (!cfg || !out)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_clone: NULL argument");
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
    /* Integers as integers: 16777216, not 1.67772e+07. */
    if (d->type == SAE_TYPE_INT)
        return sae_fail(cfg->errmsg, SAE_ERR_RANGE,
                        "%s = %.0f is out of range: must be an integer in %c%.0f, %.0f%c", d->name,
                        v, d->lo_open ? '(' : '[', d->lo, d->hi, d->hi_open ? ')' : ']');
    return sae_fail(cfg->errmsg, SAE_ERR_RANGE, "%s = %g is out of range: must be in %c%g, %g%c",
                    d->name, v, d->lo_open ? '(' : '[', d->lo, d->hi, d->hi_open ? ')' : ']');
}

/* Edit distance of two short names (Levenshtein), capped at 9. */
static int distance(const char *a, const char *b)
{
    size_t n = strlen(b);
    if (n > 63 || strlen(a) > 63)
        return 9;
    int row[64];
    for (size_t j = 0; j <= n; j++)
        row[j] = (int)j;
    for (size_t i = 1; a[i - 1]; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= n; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            row[j] = best;
            diag = up;
        }
    }
    return row[n] > 9 ? 9 : row[n];
}

/* The known key nearest to an unknown one, when it is near enough to be a
 * typo (at most a third of its length, and 3, edits away); else NULL. */
static const char *nearest_key(const char *key)
{
    const char *best = NULL;
    int best_d = 4;
    int limit = (int)strlen(key) / 3;
    for (size_t i = 0; i < sae_param_table_len; i++) {
        int dd = distance(key, sae_param_table[i].name);
        if (dd < best_d && dd <= limit) {
            best_d = dd;
            best = sae_param_table[i].name;
        }
    }
    return best;
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

const char *sae_param_doc(sae_param_t param)
{
    int i = sae_param_index(param);
    return i < 0 ? NULL : sae_param_table[i].doc;
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

/* What parse_value found. */
enum { PARSED = 1, UNPARSEABLE = 0, INT_OVERFLOW = -1, NOT_FINITE = -2 };

/* Parses an enum/bool name or a number: integers as strtoll reads them,
 * floats as strtod does, except that non-finite values (nan, inf,
 * infinity, and numbers that overflow a double) are refused. */
static int parse_value(const sae_param_desc_t *d, const char *text, double *out)
{
    if (d->enum_names)
        for (int k = 0; d->enum_names[k]; k++)
            if (strcasecmp(text, d->enum_names[k]) == 0) {
                *out = k;
                return PARSED;
            }
    if (!*text)
        return UNPARSEABLE;
    errno = 0;
    char *end = NULL;
    if (d->type == SAE_TYPE_INT) {
        long long v = strtoll(text, &end, 10);
        if (end == text || *end)
            return UNPARSEABLE;
        if (errno == ERANGE)
            return INT_OVERFLOW;
        *out = (double)v;
    } else {
        double v = strtod(text, &end);
        if (end == text || *end)
            return UNPARSEABLE;
        /* glibc sets ERANGE for subnormal results too, which are valid
         * values (sae_config_get prints them): only overflow is an error. */
        if (!isfinite(v))
            return NOT_FINITE;
        *out = v;
    }
    return PARSED;
}

sae_status_t sae_config_set(sae_config_t *cfg, const char *key, const char *value)
{
    if (!cfg)
        return sae_fail_global(SAE_ERR_NULL, "sae_config_set: cfg is NULL");
    if (!key || !value)
        return sae_fail(cfg->errmsg, SAE_ERR_NULL, "sae_config_set: key or value is NULL");
    const sae_text_key_t *tk = sae_text_key_find(key); /* a text-valued setting */
    if (tk)
        return tk->set(cfg, value);
    sae_param_t id;
    if (sae_param_lookup(key, &id) != SAE_OK) {
        const char *near = nearest_key(key);
        if (near)
            return sae_fail(cfg->errmsg, SAE_ERR_UNKNOWN_KEY,
                            "unknown config key '%s' (did you mean %s?)", key, near);
        return sae_fail(cfg->errmsg, SAE_ERR_UNKNOWN_KEY, "unknown config key '%s'", key);
    }
    const sae_param_desc_t *d = &sae_param_table[sae_param_index(id)];
    double v;
    int parsed = parse_value(d, value, &v);
    if (parsed == INT_OVERFLOW)
        return sae_fail(cfg->errmsg, SAE_ERR_RANGE,
                        "%s = %s is out of range: must be an integer in %c%.0f, %.0f%c", key,
                        value, d->lo_open ? '(' : '[', d->lo, d->hi, d->hi_open ? ')' : ']');
    if (parsed == NOT_FINITE)
        return sae_fail(cfg->errmsg, SAE_ERR_BAD_VALUE,
                        "%s: '%s' is not a finite number (NaN, infinities and numbers beyond "
                        "a double are refused)",
                        key, value);
    if (parsed != PARSED) {
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
    const sae_text_key_t *tk = sae_text_key_find(key);
    if (tk) {
        size_t need = tk->format(cfg, buf, size);
        if (need >= size)
            return sae_fail_global(SAE_ERR_RANGE,
                                   "sae_config_get: buffer of %zu bytes too small for %s (%zu "
                                   "needed)",
                                   size, key, need + 1);
        return SAE_OK;
    }
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
