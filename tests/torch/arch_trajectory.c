/* Trains a one-hidden-layer SAE of one of the 0.4 architectures for a few
 * Adam steps on fixed synthetic rows and writes what
 * tests/torch/check_arch_trajectory.py needs to redo the run in PyTorch
 * from the paper's formulas: the initial and final models, the rows, and
 * every loss term of every step. Usage: arch_trajectory DIR {jumprelu|batchtopk|gated}.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sae.h>

#define ROWS 96
#define BATCH 32
#define IN 20
#define HIDDEN 64
#define STEPS 10

/* Sparse nonnegative mixtures of 24 fixed directions plus noise, from a
 * fixed LCG: rows whose codes have a few large units. */
static void make_rows(float *x)
{
    uint32_t s = 2024u;
    float dir[24][IN];
    for (int f = 0; f < 24; f++)
        for (int i = 0; i < IN; i++) {
            s = s * 1664525u + 1013904223u;
            dir[f][i] = (float)(s >> 8) / (float)(1u << 24) - 0.5f;
        }
    for (size_t r = 0; r < ROWS; r++) {
        for (int i = 0; i < IN; i++)
            x[r * IN + (size_t)i] = 0.0f;
        for (int a = 0; a < 3; a++) {
            s = s * 1664525u + 1013904223u;
            int f = (int)((s >> 8) % 24u);
            s = s * 1664525u + 1013904223u;
            float c = 0.5f + (float)(s >> 8) / (float)(1u << 24);
            for (int i = 0; i < IN; i++)
                x[r * IN + (size_t)i] += c * dir[f][i];
        }
        for (int i = 0; i < IN; i++) {
            s = s * 1664525u + 1013904223u;
            x[r * IN + (size_t)i] += 0.02f * ((float)(s >> 8) / (float)(1u << 24) - 0.5f);
        }
    }
}

static void check(sae_status_t st, const char *what, const char *msg)
{
    if (st == SAE_OK)
        return;
    fprintf(stderr, "arch_trajectory: %s: %s\n", what, msg);
    exit(1);
}

static double term(const sae_stats_t *s, const char *name)
{
    for (size_t k = 0; k < s->n_terms; k++)
        if (!strcmp(s->term_name[k], name))
            return s->term_loss[k];
    return 0.0;
}

int main(int argc, char **argv)
{
    if (argc != 3 ||
        (strcmp(argv[2], "jumprelu") && strcmp(argv[2], "batchtopk") && strcmp(argv[2], "gated"))) {
        fprintf(stderr, "usage: arch_trajectory DIR {jumprelu|batchtopk|gated}\n");
        return 2;
    }
    int jr = !strcmp(argv[2], "jumprelu"), gated = !strcmp(argv[2], "gated");
    char path[4096];
    static float x[ROWS * IN];
    make_rows(x);
    snprintf(path, sizeof path, "%s/rows.f32", argv[1]);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(x, sizeof x, 1, f) != 1 || fclose(f) != 0) {
        fprintf(stderr, "arch_trajectory: cannot write %s\n", path);
        return 1;
    }
    sae_config_t *c = NULL;
    check(sae_config_create(&c), "config", sae_last_error());
    const char *common[][2] = {{"arch.input_dim", "20"},        {"arch.hidden_dim", "64"},
                               {"arch.output_activation", "linear"},
                               {"optim.type", "adam"},          {"optim.lr", "5e-3"},
                               {"train.batch_size", "32"},      {"train.sampling", "sequential"},
                               {"train.seed", "11"}};
    /* Thresholds and a bandwidth at the scale of these rows' codes, so
     * that the window holds units at every step and theta moves. */
    const char *jumprelu[][2] = {{"arch.hidden_activation", "jumprelu"},
                                 {"jumprelu.threshold_init", "0.05"},
                                 {"jumprelu.bandwidth", "0.05"},
                                 {"l0.weight", "0.01"},
                                 {"l1.weight", "0.02"}};
    const char *batchtopk[][2] = {{"arch.hidden_activation", "relu"}, {"topk.k", "4"},
                                  {"topk.mode", "batch"}};
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        check(sae_config_set(c, common[i][0], common[i][1]), common[i][0], sae_config_errmsg(c));
    const char *gated_keys[][2] = {{"arch.hidden_activation", "relu"}, {"arch.gated", "true"},
                                   {"l1.weight", "0.05"},
                                   {"sparsity.warmup_steps", "4"}};
    const char *(*arch)[2] = jr ? jumprelu : gated ? gated_keys : batchtopk;
    size_t n_arch = jr ? sizeof jumprelu / sizeof jumprelu[0]
                       : gated ? sizeof gated_keys / sizeof gated_keys[0]
                               : sizeof batchtopk / sizeof batchtopk[0];
    for (size_t i = 0; i < n_arch; i++)
        check(sae_config_set(c, arch[i][0], arch[i][1]), arch[i][0], sae_config_errmsg(c));
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
    for (int k = 0; k < STEPS; k++) {
        sae_stats_t s;
        size_t first = (size_t)(k % (ROWS / BATCH)) * BATCH;
        check(sae_trainer_step(t, x + first * IN, BATCH, &s), "step", sae_trainer_errmsg(t));
        fprintf(f, "%d %.9g %.9g %.9g %.9g %.9g %.9g\n", k, s.recon_loss, term(&s, "l1"),
                term(&s, "l0"), s.loss, s.l0, term(&s, "gated_aux"));
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/m%d.safetensors", argv[1], STEPS);
    check(sae_model_save(m, path), "save", sae_model_errmsg(m));
    /* The inference code of every row, for the inference form's check. */
    static float code[ROWS * HIDDEN];
    check(sae_model_encode(m, x, ROWS, code), "encode", sae_model_errmsg(m));
    snprintf(path, sizeof path, "%s/code.f32", argv[1]);
    f = fopen(path, "wb");
    if (!f || fwrite(code, sizeof code, 1, f) != 1 || fclose(f) != 0)
        return 1;
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(c);
    return 0;
}
