/* A trainer's reducer (sae_reducer_ops_t) as the batch loops see it: its
 * state, and the agreement on each step's rows (train/reducer.c). The
 * step's sums and broadcasts are train/reduce.h's. SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_REDUCER_H
#define SAE_TRAIN_REDUCER_H

#include <stdint.h>

#include "core/error.h"
#include "sae.h"

/* The reducer's state (the trainer's red, NULL without one). */
typedef struct sae_reduce {
    sae_reducer_ops_t ops;
    void *user;
    int synced;        /* rank 0's weights have been broadcast */
    double *buf;       /* [statistics head + SAE_MAX_TERMS + H] */
    size_t buf_len;
    /* The term names of this rank's last step with rows, for a step on
     * which its shard gave none (the names are the same on every rank). */
    const char *names[SAE_MAX_TERMS];
    uint32_t n_names;
} sae_reduce_t;

void sae_reduce_free(sae_reduce_t *r);

/* SAE_ERR_REDUCER into errbuf: what failed at step (1-based) with the
 * reducer's rc and message. */
sae_status_t sae_reduce_fail(const sae_reduce_t *r, char *errbuf, const char *what, int rc,
                             uint64_t step);

/* The global count of rows of a batch loop's next step: local summed over
 * the ranks (local itself when r is NULL). step: for messages. */
sae_status_t sae_reduce_rows(sae_reduce_t *r, uint64_t local, uint64_t *global, uint64_t step,
                             char *errbuf);

#endif
