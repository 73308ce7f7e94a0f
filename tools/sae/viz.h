/* SPDX-License-Identifier: MIT */
/* The pictures of sae viz that need more than the model (cmd_viz.c draws
 * the atoms): each writes one PNG into dir and prints its path, or prints
 * the error and returns CLI_FAIL. */
#ifndef SAE_CLI_VIZ_H
#define SAE_CLI_VIZ_H

#include "cli.h"

/* firing_frequency.png: the histogram of log10 of each latent's firing
 * frequency over the set's rows, dead latents in a bar of their own. */
int viz_frequency(const char *cmd, sae_model_t *model, const sd_set_t *set, const char *dir);
/* loss_curves.png: loss, reconstruction and each term per logged step of a
 * `sae train --log` file. */
int viz_log(const char *cmd, const char *log, const char *dir);

#endif /* SAE_CLI_VIZ_H */
