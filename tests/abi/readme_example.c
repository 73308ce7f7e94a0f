#include <sae.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call) do { sae_status_t s_ = (call); if (s_ != SAE_OK) { \
    fprintf(stderr, "%s: %s\n", #call, sae_status_str(s_)); return 1; } } while (0)

int main(void)
{
    enum { ROWS = 1000, IN = 64, HIDDEN = 16 };
    float *x = malloc(sizeof(float) * ROWS * IN), code[HIDDEN];
    for (size_t i = 0; x && i < (size_t)ROWS * IN; i++)
        x[i] = (float)rand() / (float)RAND_MAX; /* your data: ROWS rows of IN floats */

    sae_config_t *cfg;
    sae_model_t *model;
    sae_trainer_t *trainer;
    CHECK(sae_config_create(&cfg));
    CHECK(sae_config_set_int(cfg, SAE_P_INPUT_DIM, IN));
    CHECK(sae_config_set_int(cfg, SAE_P_HIDDEN_DIM, HIDDEN));
    CHECK(sae_config_set(cfg, "kl.weight", "0.1")); /* KL sparsity penalty ... */
    CHECK(sae_config_set(cfg, "kl.rho", "0.05"));   /* ... towards 5% activity */
    CHECK(sae_model_create(cfg, &model));           /* the model keeps a copy of cfg */
    CHECK(sae_trainer_create(model, &trainer));
    CHECK(sae_trainer_fit(trainer, x, ROWS, 5));    /* 5 epochs of Adam */
    CHECK(sae_model_encode(model, x, 1, code));     /* the code of the first row */
    printf("code[0] = %.3f after %llu steps\n", code[0],
           (unsigned long long)sae_trainer_steps(trainer));
    CHECK(sae_model_save(model, "model.safetensors"));

    sae_trainer_free(trainer);
    sae_model_free(model);
    sae_config_free(cfg);
    free(x);
    return 0;
}
