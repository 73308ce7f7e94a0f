/* The state list of core/state.h. SPDX-License-Identifier: MIT */
#include "core/state.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [SAE_DT_F32] = {"F32", 4}, [SAE_DT_F64] = {"F64", 8}, [SAE_DT_U8] = {"U8", 1},
    [SAE_DT_U32] = {"U32", 4}, [SAE_DT_U64] = {"U64", 8},
};

size_t sae_dtype_size(sae_dtype_t dt)
{
    return dtypes[dt].size;
}

const char *sae_dtype_name(sae_dtype_t dt)
{
    return dtypes[dt].name;
}

int sae_dtype_parse(const char *name, sae_dtype_t *dt)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(name, dtypes[i].name) == 0) {
            *dt = (sae_dtype_t)i;
            return 0;
        }
    return -1;
}

sae_status_t sae_state_add(sae_state_list_t *l, const char *prefix, const char *suffix,
                           sae_dtype_t dt, void *data, size_t rows, size_t cols)
{
    if (l->n == SAE_STATE_MAX)
        return SAE_ERR_RANGE;
    sae_state_entry_t *e = &l->e[l->n];
    memset(e, 0, sizeof *e);
    int len = snprintf(e->name, sizeof e->name, "%s%s", prefix, suffix ? suffix : "");
    if (len < 0 || (size_t)len >= sizeof e->name)
        return SAE_ERR_RANGE;
    e->dtype = dt;
    e->data = data;
    e->ndim = cols ? 2 : 1;
    e->shape[0] = rows;
    e->shape[1] = cols;
    l->n++;
    return SAE_OK;
}

void sae_state_resizable(sae_state_list_t *l, void *(*resize)(void *ctx, size_t n), void *ctx)
{
    l->e[l->n - 1].resize = resize;
    l->e[l->n - 1].ctx = ctx;
}
