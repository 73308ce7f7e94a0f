/* The trainer's state for checkpoints: one table of rows, each listing the
 * arrays of one part (counters, RNG, data position, unit activity, the
 * method's and the code operator's own). io/checkpoint.c writes whatever
 * the table lists after the model's tensors and reads it back by name,
 * type and shape; new per-trainer state is a row here or an entry in its
 * method's or code operator's `state` hook. SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_STATE_H
#define SAE_TRAIN_STATE_H

#include "core/state.h"
#include "sae.h"

/* Every array of t's state, in the order a checkpoint holds them. Before a
 * save, the values kept in fields of other types are packed first. */
sae_status_t sae_trainer_state_list(sae_trainer_t *t, sae_state_list_t *l, char *errbuf);
void sae_trainer_state_pack(sae_trainer_t *t);
/* After a load filled the list's arrays: checks them against each other
 * and the model (SAE_ERR_FORMAT with the reason) and unpacks them. */
sae_status_t sae_trainer_state_unpack(sae_trainer_t *t, char *errbuf);

#endif
