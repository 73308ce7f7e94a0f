/* Trains E2's convolutional autoencoder for a few Adam steps on synthetic
 * images and writes what tests/torch/check_e2_trajectory.py needs to redo
 * the same run in PyTorch: the initial model, the images and the loss of
 * every step. Modes: l1, kl (the Bernoulli KL), klsig (kl.squash = sigmoid)
 * on E2's network, and dense_klsig: kl.squash = sigmoid on a one-hidden-layer
 * ReLU model. Usage: e2_trajectory DIR MODE. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sae.h>

#define ROWS 192
#define BATCH 64
#define STEPS 12

static const char layers[] =
    "input 1x28x28; conv2d 8 k3 relu; conv2d 16 k5 relu; conv2d 32 k5 s2 relu;"
    "maxpool2d k2 code; convt2d 16 k3 s2 relu; convt2d 8 k5 s2 relu; convt2d 1 k8 sigmoid";

/* Digit-like images: three soft blobs each, placed by a fixed LCG. */
static void make_images(float *x)
{
    uint32_t s = 12345u;
    for (size_t r = 0; r < ROWS; r++) {
        float cy[3], cx[3], w[3];
        for (int b = 0; b < 3; b++) {
            s = s * 1664525u + 1013904223u;
            cy[b] = 6.0f + (float)(s >> 8) / (float)(1u << 24) * 16.0f;
            s = s * 1664525u + 1013904223u;
            cx[b] = 6.0f + (float)(s >> 8) / (float)(1u << 24) * 16.0f;
            s = s * 1664525u + 1013904223u;
            w[b] = 2.0f + (float)(s >> 8) / (float)(1u << 24) * 4.0f;
        }
        for (int i = 0; i < 28; i++)
            for (int j = 0; j < 28; j++) {
                float v = 0.0f;
                for (int b = 0; b < 3; b++) {
                    float dy = (float)i - cy[b], dx = (float)j - cx[b];
                    v += expf(-(dy * dy + dx * dx) / (2.0f * w[b]));
                }
                x[r * 784 + (size_t)(i * 28 + j)] = v > 1.0f ? 1.0f : v;
            }
    }
}

static int check(sae_status_t st, const char *what, const char *msg)
{
    if (st == SAE_OK)
        return 0;
    fprintf(stderr, "e2_trajectory: %s: %s\n", what, msg);
    exit(1);
}

int main(int argc, char **argv)
{
    const char *mode = argc == 3 ? argv[2] : "";
    int dense = !strcmp(mode, "dense_klsig");
    int squash = dense || !strcmp(mode, "klsig");
    if (strcmp(mode, "l1") && strcmp(mode, "kl") && !squash) {
        fprintf(stderr, "usage: e2_trajectory DIR {l1|kl|klsig|dense_klsig}\n");
        return 2;
    }
    char path[4096];
    static float x[ROWS * 784];
    make_images(x);
    snprintf(path, sizeof path, "%s/images.f32", argv[1]);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(x, sizeof x, 1, f) != 1 || fclose(f) != 0) {
        fprintf(stderr, "e2_trajectory: cannot write %s\n", path);
        return 1;
    }
    sae_config_t *c = NULL;
    check(sae_config_create(&c), "config", sae_last_error());
    const char *kl = !strcmp(mode, "kl") || squash ? "0.005" : "0";
    if (dense) /* one code of 64 units: a weight that moves it */
        kl = "0.5";
    /* E2 uses 4e-5: too small a term to tell a wrong one from rounding. */
    const char *l1 = !strcmp(mode, "l1") ? "0.02" : "0";
    const char *set[][2] = {{"arch.layers", layers},     {"arch.init", "fan_in_uniform"},
                            {"arch.penalize", "hidden"}, {"loss.type", "bce"},
                            {"kl.weight", kl},           {"kl.rho", "0.08"},
                            {"l1.weight", l1},           {"optim.type", "adam"},
                            {"optim.lr", "9e-3"},        {"train.batch_size", "64"},
                            {"train.sampling", "sequential"}, {"train.seed", "3"}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        if (!dense || strcmp(set[i][0], "arch.layers"))
            check(sae_config_set(c, set[i][0], set[i][1]), set[i][0], sae_config_errmsg(c));
    const char *dense_set[][2] = {{"arch.input_dim", "784"}, {"arch.hidden_dim", "64"},
                                  {"arch.hidden_activation", "relu"},
                                  {"arch.output_activation", "sigmoid"}, {"optim.lr", "3e-3"}};
    for (size_t i = 0; dense && i < sizeof dense_set / sizeof dense_set[0]; i++)
        check(sae_config_set(c, dense_set[i][0], dense_set[i][1]), dense_set[i][0],
              sae_config_errmsg(c));
    if (squash)
        check(sae_config_set(c, "kl.squash", "sigmoid"), "kl.squash", sae_config_errmsg(c));
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
        check(sae_trainer_step(t, x + first * 784, BATCH, &s), "step", sae_trainer_errmsg(t));
        fprintf(f, "%d %.9g %.9g\n", k, s.recon_loss, s.loss);
    }
    fclose(f);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(c);
    return 0;
}
