/* A trainer's reducer: its state, failures, and the ranks' agreement on
 * a step's rows (reducer.h). SPDX-License-Identifier: MIT */
#include "train/reducer.h"

#include <stdlib.h>

void sae_reduce_free(sae_reduce_t *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

sae_status_t sae_reduce_fail(const sae_reduce_t *r, char *errbuf, const char *what, int rc,
                             uint64_t step)
{
    const char *msg = r->ops.errmsg ? r->ops.errmsg(r->user) : NULL;
    return sae_fail(errbuf, SAE_ERR_REDUCER, "reducer (rank %d of %d): %s failed at step %llu "
                    "(%d)%s%.200s", r->ops.rank, r->ops.ranks, what, (unsigned long long)step,
                    rc, msg && *msg ? ": " : "", msg ? msg : "");
}

sae_status_t sae_reduce_rows(sae_reduce_t *r, uint64_t local, uint64_t *global, uint64_t step,
                             char *errbuf)
{
    *global = local;
    if (!r)
        return SAE_OK;
    double n = (double)local;
    int rc = r->ops.allreduce_double(r->user, &n, 1);
    if (rc != 0)
        return sae_reduce_fail(r, errbuf, "allreduce of the batch's rows", rc, step);
    *global = (uint64_t)n;
    return SAE_OK;
}
