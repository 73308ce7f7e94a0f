/* A user regularizer: the log sparsity penalty of Olshausen & Field (1996),
 *   P = 1/(B H) sum_bj log(1 + (h_bj / s)^2),
 *   dP/dh_bj = 1/(B H) * 2 h_bj / (s^2 + h_bj^2),
 * registered next to the built-in L1 term and checked before training. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <sae.h>

typedef struct log_penalty {
    double s; /* scale of the code values */
} log_penalty_t;

static double log_penalty(void *user_data, const float *h, size_t rows, size_t units,
                          float weight, float *grad)
{
    const log_penalty_t *lp = user_data;
    double s2 = lp->s * lp->s, inv_n = 1.0 / ((double)rows * (double)units), total = 0.0;
    for (size_t i = 0; i < rows * units; i++) {
        double v = h[i];
        total += log1p(v * v / s2);
        if (grad) /* ADD weight * dP/dh: other terms share this buffer */
            grad[i] += (float)(weight * inv_n * 2.0 * v / (s2 + v * v));
    }
    return total * inv_n; /* unweighted: the trainer multiplies by the weight */
}

static void log_penalty_destroy(void *user_data)
{
    free(user_data);
}

static const sae_regularizer_ops_t log_penalty_ops = {
    sizeof(sae_regularizer_ops_t), "log", log_penalty, log_penalty_destroy};

static int step_cb(sae_progress_kind_t kind, const sae_stats_t *s, void *user_data)
{
    (void)user_data;
    if (kind == SAE_PROGRESS_EPOCH) {
        printf("epoch %llu: loss %.5f = recon %.5f", (unsigned long long)s->epoch, s->loss,
               s->recon_loss);
        for (uint32_t i = 0; i < s->n_terms; i++)
            printf(" + %s %.5f", s->term_name[i], s->term_loss[i]);
        printf(", L0 %.1f\n", s->l0);
    }
    return 0; /* non-zero would cancel */
}

#define CHECK(call, msg)                                                                   \
    do {                                                                                   \
        sae_status_t st_ = (call);                                                         \
        if (st_ != SAE_OK) {                                                               \
            fprintf(stderr, "%s: %s (%s)\n", #call, sae_status_str(st_), (msg));          \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

int main(void)
{
    enum { ROWS = 512, IN = 32, HIDDEN = 24 };
    static float x[ROWS * IN];
    for (size_t i = 0; i < (size_t)ROWS * IN; i++)
        x[i] = (float)rand() / (float)RAND_MAX;

    sae_config_t *cfg = NULL;
    CHECK(sae_config_create(&cfg), sae_last_error());
    CHECK(sae_config_set_int(cfg, SAE_P_INPUT_DIM, IN), sae_config_errmsg(cfg));
    CHECK(sae_config_set_int(cfg, SAE_P_HIDDEN_DIM, HIDDEN), sae_config_errmsg(cfg));
    CHECK(sae_config_set(cfg, "arch.hidden_activation", "relu"), sae_config_errmsg(cfg));
    CHECK(sae_config_set(cfg, "train.batch_size", "64"), sae_config_errmsg(cfg));
    CHECK(sae_config_set(cfg, "train.seed", "1"), sae_config_errmsg(cfg));
    CHECK(sae_config_set(cfg, "l1.weight", "0.01"), sae_config_errmsg(cfg));

    /* The gradient check first, on its own: about 1e-5 or less is right,
     * 0.1 or more is a wrong gradient. */
    log_penalty_t probe = {0.1};
    double err = 0.0;
    CHECK(sae_regularizer_gradcheck(&log_penalty_ops, &probe, 8, HIDDEN, 42, &err),
          sae_last_error());
    printf("log penalty gradient check: %.2g\n", err);

    /* Then on the stack: the config owns user_data from here and frees it
     * through destroy() when the config and every model made from it are gone. */
    log_penalty_t *lp = malloc(sizeof *lp);
    if (!lp)
        return 1;
    lp->s = 0.1;
    sae_status_t st = sae_config_add_regularizer(cfg, &log_penalty_ops, lp, 0.05f);
    if (st != SAE_OK) {
        fprintf(stderr, "%s\n", sae_config_errmsg(cfg));
        free(lp); /* not registered: still ours */
        return 1;
    }
    CHECK(sae_config_gradcheck_regularizers(cfg, 8, 42, &err), sae_last_error());
    printf("all regularizers of the config: %.2g\n", err);

    sae_model_t *model = NULL;
    sae_trainer_t *trainer = NULL;
    CHECK(sae_model_create(cfg, &model), sae_last_error());
    CHECK(sae_trainer_create(model, &trainer), sae_last_error());
    CHECK(sae_trainer_gradcheck(trainer, x, 16, &err), sae_trainer_errmsg(trainer));
    printf("whole objective: %.2g\n", err);
    CHECK(sae_trainer_set_callback(trainer, step_cb, NULL), sae_trainer_errmsg(trainer));
    CHECK(sae_trainer_fit(trainer, x, ROWS, 5), sae_trainer_errmsg(trainer));

    sae_trainer_free(trainer);
    sae_model_free(model);
    sae_config_free(cfg); /* the last holder: log_penalty_destroy(lp) runs here */
    return 0;
}
