/* Trains a one-hidden-layer SAE of the modern family for 10 Adam steps on
 * seeded data and writes what tests/torch/check_family_trajectory.py needs
 * to redo the run in PyTorch from the paper's formulas: the initial model,
 * the data, and every loss term of every step. Usage:
 *   family_trajectory DIR MODE
 * MODE: decnorm (ReLU, decoder-norm L1, b_pre), matryoshka_topk,
 * matryoshka_batch (top-k / batch top-k with Matryoshka prefixes).
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sae.h>

#define D 24
#define H 48
#define ROWS 256
#define BATCH 64
#define STEPS 10

typedef struct mode {
    const char *name;
    const char *set[8][2];
} mode_t_;

static const mode_t_ modes[] = {
    {"decnorm",
     {{"arch.hidden_activation", "relu"},
      {"l1.weight", "2"},
      {"l1.decoder_norm", "true"},
      {"arch.pre_encoder_bias", "true"},
      {NULL, NULL}}},
    {"matryoshka_topk",
     {{"arch.hidden_activation", "relu"},
      {"topk.k", "6"},
      {"matryoshka.prefixes", "4,12,24,48"},
      {"matryoshka.weighting", "sum"},
      {"arch.pre_encoder_bias", "true"},
      {NULL, NULL}}},
    {"matryoshka_batch",
     {{"arch.hidden_activation", "relu"},
      {"topk.k", "6"},
      {"topk.mode", "batch"},
      {"matryoshka.prefixes", "8,16,48"},
      {"matryoshka.weighting", "mean"},
      {NULL, NULL}}},
};

static void check(sae_status_t st, const char *what, const char *msg)
{
    if (st == SAE_OK)
        return;
    fprintf(stderr, "family_trajectory: %s: %s\n", what, msg);
    exit(1);
}

/* Sparse nonnegative mixtures of 16 fixed directions plus noise: data with
 * a dictionary in it, from a fixed LCG. */
static void make_data(float *x)
{
    uint32_t s = 2024u;
#define NEXT() (s = s * 1664525u + 1013904223u, (float)(s >> 8) / (float)(1u << 24))
    static float dirs[16][D];
    for (int k = 0; k < 16; k++)
        for (int i = 0; i < D; i++)
            dirs[k][i] = 2.0f * NEXT() - 1.0f;
    for (int r = 0; r < ROWS; r++) {
        for (int i = 0; i < D; i++)
            x[r * D + i] = 0.1f * (2.0f * NEXT() - 1.0f) + 0.3f;
        for (int k = 0; k < 16; k++)
            if (NEXT() < 0.2f) {
                float a = NEXT() * 2.0f;
                for (int i = 0; i < D; i++)
                    x[r * D + i] += a * dirs[k][i];
            }
    }
#undef NEXT
}

int main(int argc, char **argv)
{
    const mode_t_ *mode = NULL;
    for (size_t i = 0; argc == 3 && i < sizeof modes / sizeof modes[0]; i++)
        if (!strcmp(argv[2], modes[i].name))
            mode = &modes[i];
    if (!mode) {
        fprintf(stderr, "usage: family_trajectory DIR {decnorm|matryoshka_topk|"
                        "matryoshka_batch}\n");
        return 2;
    }
    static float x[ROWS * D];
    make_data(x);
    char path[4096];
    snprintf(path, sizeof path, "%s/data.f32", argv[1]);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(x, sizeof x, 1, f) != 1 || fclose(f) != 0) {
        fprintf(stderr, "family_trajectory: cannot write %s\n", path);
        return 1;
    }
    sae_config_t *c = NULL;
    check(sae_config_create(&c), "config", sae_last_error());
    char num[32];
    snprintf(num, sizeof num, "%d", D);
    check(sae_config_set(c, "arch.input_dim", num), "input_dim", sae_config_errmsg(c));
    snprintf(num, sizeof num, "%d", H);
    check(sae_config_set(c, "arch.hidden_dim", num), "hidden_dim", sae_config_errmsg(c));
    const char *common[][2] = {{"optim.type", "adam"}, {"optim.lr", "3e-3"},
                               {"train.batch_size", "64"}, {"train.seed", "7"},
                               {"arch.init_scale", "2"}};
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        check(sae_config_set(c, common[i][0], common[i][1]), common[i][0], sae_config_errmsg(c));
    for (size_t i = 0; mode->set[i][0]; i++)
        check(sae_config_set(c, mode->set[i][0], mode->set[i][1]), mode->set[i][0],
              sae_config_errmsg(c));
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    check(sae_model_create(c, &m), "model", sae_last_error());
    check(sae_trainer_create(m, &t), "trainer", sae_last_error());
    snprintf(path, sizeof path, "%s/m0.safetensors", argv[1]);
    check(sae_model_save(m, path), "save", sae_model_errmsg(m));
    snprintf(path, sizeof path, "%s/losses.txt", argv[1]);
    f = fopen(path, "w");
    if (!f)
        return 1;
    /* One line per step: loss, recon, then each term as name=value. */
    for (int k = 0; k < STEPS; k++) {
        sae_stats_t s;
        size_t first = (size_t)(k % (ROWS / BATCH)) * BATCH;
        check(sae_trainer_step(t, x + first * D, BATCH, &s), "step", sae_trainer_errmsg(t));
        fprintf(f, "loss=%.9g recon=%.9g", s.loss, s.recon_loss);
        for (uint32_t i = 0; i < s.n_terms; i++)
            fprintf(f, " %s=%.9g", s.term_name[i], s.term_loss[i]);
        fprintf(f, "\n");
    }
    fclose(f);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(c);
    return 0;
}
