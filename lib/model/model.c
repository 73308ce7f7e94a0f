/* The model handle: creation through its kind (model/kind.h), the
 * parameter block and its layout, the inference calls (argument checks,
 * then the kind's form), tensor access and replacement.
 * SPDX-License-Identifier: MIT */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "core/rng.h"
#include "model/kind.h"

int sae_model_threads(const sae_model_t *m)
{
    int t = (int)sae_cfg_int(m->cfg, SAE_P_THREADS);
#ifdef _OPENMP
    if (t <= 0)
        t = omp_get_max_threads();
#endif
    return t <= 0 ? 1 : (t > 64 ? 64 : t);
}

void sae_model_add_tensor(sae_model_t *m, const char *name, size_t rows, size_t cols,
                          int is_weight, int is_encoder)
{
    sae_tensor_desc_t *t = &m->tensors[m->n_tensors++];
    t->name = name;
    t->rows = rows;
    t->cols = cols;
    t->offset = m->n_weights;
    t->is_weight = is_weight;
    t->is_encoder = is_encoder;
    /* Keep every tensor 64-byte aligned inside the block. */
    m->n_weights += (rows * cols + 15) & ~(size_t)15;
}

static sae_status_t alloc_block(sae_model_t *m, char *errbuf)
{
    m->weights = sae_aligned_alloc(m->n_weights * sizeof(float));
    if (!m->weights)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: cannot allocate %zu parameters",
                        m->n_weights);
    memset(m->weights, 0, m->n_weights * sizeof(float));
    return SAE_OK;
}

sae_status_t sae_model_alloc(const sae_config_t *cfg, sae_model_t **out, char *errbuf)
{
    *out = NULL;
    const sae_model_kind_t *kind = sae_model_kind_for(cfg);
    sae_status_t st = kind->validate(cfg, errbuf);
    if (st == SAE_OK)
        st = sae_config_validate(cfg, errbuf);
    if (st != SAE_OK)
        return st;
    sae_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: out of memory");
    if (sae_config_clone(cfg, &m->cfg) != SAE_OK) {
        free(m);
        return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: out of memory");
    }
    m->kind = kind;
    st = kind->build(m, errbuf);
    if (st == SAE_OK)
        st = alloc_block(m, errbuf);
    if (st == SAE_OK)
        st = kind->bind(m, errbuf);
    if (st != SAE_OK) {
        sae_model_free(m);
        return st;
    }
    *out = m;
    return SAE_OK;
}

void sae_model_init_params(sae_model_t *m, uint64_t seed)
{
    sae_rng_t rng;
    sae_rng_seed(&rng, seed);
    m->kind->init(m, &rng);
}

sae_status_t sae_model_create(const sae_config_t *cfg, sae_model_t **out)
{
    char err[SAE_ERRMSG_SIZE];
    if (!out)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_create: out is NULL");
    *out = NULL;
    if (!cfg)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_create: cfg is NULL");
    sae_model_t *m;
    sae_status_t st = sae_model_alloc(cfg, &m, err);
    if (st != SAE_OK) {
        sae_set_global_error(err);
        return st;
    }
    sae_model_init_params(m, (uint64_t)sae_cfg_int(cfg, SAE_P_SEED));
    *out = m;
    return SAE_OK;
}

void sae_model_free(sae_model_t *m)
{
    if (!m)
        return;
    if (m->kind) {
        sae_infer_pool_free(m); /* contexts hold the kind's code state */
        m->kind->release(m);
    }
    sae_bf16_weights_free(m->bf16);
    sae_config_free(m->cfg);
    sae_aligned_free(m->weights);
    sae_aligned_free(m->scratch);
    free(m);
}

const char *sae_model_errmsg(const sae_model_t *m)
{
    return m ? m->errmsg : "";
}

const sae_config_t *sae_model_config(const sae_model_t *m)
{
    return m ? m->cfg : NULL;
}

size_t sae_model_input_dim(const sae_model_t *m)
{
    return m ? m->input_dim : 0;
}

size_t sae_model_code_dim(const sae_model_t *m)
{
    return m ? m->code_dim : 0;
}

/* Common argument checks of the inference calls. */
sae_status_t sae_model_check_io(sae_model_t *m, const char *fn, const float *in, size_t rows,
                                size_t in_dim, const void *out)
{
    if (!m)
        return sae_fail_global(SAE_ERR_NULL, "%s: model is NULL", fn);
    if (rows == 0)
        return SAE_OK;
    if (!in || !out)
        return sae_fail(m->errmsg, SAE_ERR_NULL, "%s: %s is NULL", fn, !in ? "input" : "output");
    if (rows > SIZE_MAX / sizeof(float) / (in_dim > m->code_dim ? in_dim : m->code_dim) ||
        rows > ((size_t)1 << 31))
        return sae_fail(m->errmsg, SAE_ERR_DIMENSION, "%s: %zu rows is too many", fn, rows);
    if (!sae_all_finite(in, rows * in_dim))
        return sae_fail(m->errmsg, SAE_ERR_NONFINITE, "%s: input holds NaN or Inf", fn);
    return SAE_OK;
}


size_t sae_model_tensor_count(const sae_model_t *m)
{
    return m ? m->n_tensors : 0;
}

sae_status_t sae_model_tensor(const sae_model_t *m, size_t index, const char **name, size_t *rows,
                              size_t *cols, const float **data)
{
    if (!m)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_tensor: model is NULL");
    if (index >= m->n_tensors)
        return sae_fail_global(SAE_ERR_RANGE, "sae_model_tensor: index %zu past the last (%zu)",
                               index, m->n_tensors);
    const sae_tensor_desc_t *t = &m->tensors[index];
    if (name)
        *name = t->name;
    if (rows)
        *rows = t->rows;
    if (cols)
        *cols = t->cols;
    if (data) {
        if (m->bf16 && t->is_weight)
            return sae_fail_global(SAE_ERR_STATE,
                                   "sae_model_tensor: '%s' is held in bf16 (sae_model_set_weight_"
                                   "precision); set the model back to SAE_PRECISION_FP32 to read it",
                                   t->name);
        *data = m->weights + t->offset;
    }
    return SAE_OK;
}

/* Index of the tensor called name, or n_tensors when there is none. */
static size_t tensor_index(const sae_model_t *m, const char *name)
{
    size_t i = 0;
    while (i < m->n_tensors && strcmp(m->tensors[i].name, name))
        i++;
    return i;
}

sae_status_t sae_model_tensor_by_name(const sae_model_t *m, const char *name, size_t *rows,
                                      size_t *cols, const float **data)
{
    if (!m || !name)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_tensor_by_name: NULL argument");
    size_t i = tensor_index(m, name);
    if (i == m->n_tensors)
        return sae_fail_global(SAE_ERR_UNKNOWN_KEY, "model has no tensor '%s'", name);
    return sae_model_tensor(m, i, NULL, rows, cols, data);
}

/* Every check comes before the copy, so a refused call changes nothing. */
sae_status_t sae_model_set_tensor(sae_model_t *m, const char *name, size_t rows, size_t cols,
                                  const float *data)
{
    static const char fn[] = "sae_model_set_tensor";
    if (!m)
        return sae_fail_global(SAE_ERR_NULL, "%s: model is NULL", fn);
    if (!name || !data)
        return sae_fail(m->errmsg, SAE_ERR_NULL, "%s: %s is NULL", fn, !name ? "name" : "data");
    size_t i = tensor_index(m, name);
    if (i == m->n_tensors)
        return sae_fail(m->errmsg, SAE_ERR_UNKNOWN_KEY, "model has no tensor '%s'", name);
    const sae_tensor_desc_t *t = &m->tensors[i];
    if (rows != t->rows || cols != t->cols)
        return sae_fail(m->errmsg, SAE_ERR_DIMENSION,
                        "%s: tensor '%s' is %zu x %zu, the data %zu x %zu", fn, name, t->rows,
                        t->cols, rows, cols);
    if (!sae_all_finite(data, rows * cols))
        return sae_fail(m->errmsg, SAE_ERR_NONFINITE, "%s: data for '%s' holds NaN or Inf", fn,
                        name);
    if (m->bf16 && t->is_weight)
        sae_bf16_set_matrix(m, i, data);
    else /* memmove: data may be this very tensor (read back with sae_model_tensor). */
        memmove(m->weights + t->offset, data, rows * cols * sizeof(float));
    if (m->kind->tensor_set)
        m->kind->tensor_set(m, i);
    return SAE_OK;
}

size_t sae_model_layer_count(const sae_model_t *m)
{
    return m ? m->kind->layer_count(m) : 0;
}

sae_status_t sae_model_layer_shape(const sae_model_t *m, size_t index, size_t *channels,
                                   size_t *height, size_t *width)
{
    if (!m)
        return sae_fail_global(SAE_ERR_NULL, "sae_model_layer_shape: model is NULL");
    size_t n = m->kind->layer_count(m);
    if (index >= n)
        return sae_fail_global(SAE_ERR_RANGE, "sae_model_layer_shape: layer %zu past the last (%zu)",
                               index, n);
    size_t c, h, w;
    m->kind->layer_shape(m, index, &c, &h, &w);
    if (channels)
        *channels = c;
    if (height)
        *height = h;
    if (width)
        *width = w;
    return SAE_OK;
}
