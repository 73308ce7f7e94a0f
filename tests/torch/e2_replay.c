/* E2's L1 run (examples/sparse_kl_l1.c's settings, seed from the command
 * line) on batches given by tests/torch/e2_replay.py: saves the initial
 * model, then takes one Adam step per batch and writes the loss of each,
 * so that PyTorch can redo the run from the same weights on the same
 * batches (does seed 1's decoder die there too?). Not a suite test: a run
 * of a few hundred steps at batch 1200.
 * Usage: e2_replay DIR SEED (DIR holds images.f32 [n x 784] and
 * batches.i32 [steps x 1200] from e2_replay.py). SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sae.h>

#define BATCH 1200

static const char layers[] =
    "input 1x28x28; conv2d 8 k3 relu; conv2d 16 k5 relu; conv2d 32 k5 s2 relu;"
    "maxpool2d k2 code; convt2d 16 k3 s2 relu; convt2d 8 k5 s2 relu; convt2d 1 k8 sigmoid";

static void *slurp(const char *dir, const char *name, size_t *bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        fprintf(stderr, "e2_replay: cannot read %s\n", path);
        exit(1);
    }
    long n = ftell(f);
    rewind(f);
    void *p = malloc(n > 0 ? (size_t)n : 1);
    if (!p || n <= 0 || fread(p, (size_t)n, 1, f) != 1) {
        fprintf(stderr, "e2_replay: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *bytes = (size_t)n;
    return p;
}

static void check(sae_status_t st, const char *what, const char *msg)
{
    if (st != SAE_OK) {
        fprintf(stderr, "e2_replay: %s: %s\n", what, msg);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: e2_replay DIR SEED\n");
        return 2;
    }
    size_t nx, nb;
    float *x = slurp(argv[1], "images.f32", &nx);
    int32_t *idx = slurp(argv[1], "batches.i32", &nb);
    size_t rows = nx / (784 * sizeof(float)), steps = nb / (BATCH * sizeof(int32_t));
    sae_config_t *c = NULL;
    check(sae_config_create(&c), "config", sae_last_error());
    const char *set[][2] = {{"arch.layers", layers},     {"arch.init", "fan_in_uniform"},
                            {"arch.penalize", "hidden"}, {"loss.type", "bce"},
                            {"optim.type", "adam"},      {"optim.lr", "9e-3"},
                            {"train.batch_size", "1200"}, {"l1.weight", "4e-5"},
                            {"train.seed", argv[2]}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        check(sae_config_set(c, set[i][0], set[i][1]), set[i][0], sae_config_errmsg(c));
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    check(sae_model_create(c, &m), "model", sae_last_error());
    check(sae_trainer_create(m, &t), "trainer", sae_last_error());
    char path[4096];
    snprintf(path, sizeof path, "%s/m0.safetensors", argv[1]);
    check(sae_model_save(m, path), "save", sae_model_errmsg(m));
    snprintf(path, sizeof path, "%s/losses.txt", argv[1]);
    FILE *f = fopen(path, "w");
    float *b = malloc((size_t)BATCH * 784 * sizeof *b);
    if (!f || !b)
        return 1;
    for (size_t k = 0; k < steps; k++) {
        for (size_t r = 0; r < BATCH; r++) {
            size_t i = (size_t)idx[k * BATCH + r];
            if (i >= rows)
                return 1;
            memcpy(b + r * 784, x + i * 784, 784 * sizeof *b);
        }
        sae_stats_t s;
        check(sae_trainer_step(t, b, BATCH, &s), "step", sae_trainer_errmsg(t));
        fprintf(f, "%zu %.9g %.9g\n", k, s.recon_loss, s.loss);
        fflush(f);
    }
    fclose(f);
    free(b);
    free(x);
    free(idx);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(c);
    return 0;
}
