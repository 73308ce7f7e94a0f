/* Trainer: whole-model gradient checks, learning, determinism, schedules,
 * callbacks and cancellation, error paths. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Rows drawn near a few random prototypes: something an autoencoder can
 * learn. Values in [0,1]. */
static float *make_data(size_t rows, size_t dim, uint64_t seed)
{
    enum { P = 4 };
    float *proto = malloc(P * dim * sizeof *proto), *x = malloc(rows * dim * sizeof *x);
    float *noise = malloc(rows * dim * sizeof *noise);
    tu_fill_uniform(proto, P * dim, 0, 1, seed);
    tu_fill_uniform(noise, rows * dim, -0.05f, 0.05f, seed + 1);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < dim; c++) {
            float v = proto[(r % P) * dim + c] + noise[r * dim + c];
            x[r * dim + c] = v < 0 ? 0 : (v > 1 ? 1 : v);
        }
    free(proto);
    free(noise);
    return x;
}

static sae_model_t *model_of(sae_config_t *cfg)
{
    sae_model_t *m = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    return m;
}

static double gradcheck(sae_config_t *cfg, size_t rows)
{
    sae_model_t *m = model_of(cfg);
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    size_t d = sae_model_input_dim(m);
    float *x = make_data(rows, d, 5);
    double err = -1;
    assert_int_equal(sae_trainer_gradcheck(t, x, rows, &err), SAE_OK);
    print_message("gradcheck max relative error %.3g\n", err);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    return err;
}

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

static void test_gradcheck_mse_sigmoid_untied(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(12, 7);
    set(cfg, "arch.init_scale", "3");
    assert_true(gradcheck(cfg, 5) < 1e-3);
    sae_config_free(cfg);
}

static void test_gradcheck_bce_kl_decay(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(10, 6);
    set(cfg, "arch.output_activation", "sigmoid");
    set(cfg, "loss.type", "bce");
    set(cfg, "kl.weight", "3");
    set(cfg, "kl.rho", "0.1");
    set(cfg, "decay.l2", "0.01");
    set(cfg, "arch.init_scale", "3");
    assert_true(gradcheck(cfg, 6) < 1e-3);
    sae_config_free(cfg);
}

static void test_gradcheck_tied_relu_l1(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(9, 11);
    set(cfg, "arch.tied", "true");
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "l1.weight", "0.05");
    set(cfg, "arch.init_scale", "2");
    assert_true(gradcheck(cfg, 4) < 1e-3);
    sae_config_free(cfg);
}

static void test_gradcheck_tanh_nobias_e1_terms(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 10);
    set(cfg, "arch.hidden_activation", "tanh");
    set(cfg, "arch.output_activation", "tanh");
    set(cfg, "arch.bias", "false");
    set(cfg, "sample.weight", "100");
    set(cfg, "batch.weight", "100");
    set(cfg, "decay.l2", "0.1");
    set(cfg, "decay.decoder", "false");
    set(cfg, "arch.init_scale", "2");
    assert_true(gradcheck(cfg, 7) < 1e-3);
    sae_config_free(cfg);
}

static double sq_penalty(void *ud, const float *h, size_t rows, size_t units, float w, float *g)
{
    (void)ud;
    double s = 0;
    for (size_t i = 0; i < rows * units; i++) {
        s += (double)h[i] * h[i];
        if (g)
            g[i] += w * 2.0f * h[i] / (float)rows;
    }
    return s / (double)rows;
}

static void test_gradcheck_user_regularizer_in_model(void **state)
{
    (void)state;
    static const sae_regularizer_ops_t ops = {sizeof ops, "sq", sq_penalty, NULL};
    sae_config_t *cfg = tu_config(8, 5);
    set(cfg, "arch.init_scale", "3");
    assert_int_equal(sae_config_add_regularizer(cfg, &ops, NULL, 0.3f), SAE_OK);
    assert_true(gradcheck(cfg, 4) < 1e-3);
    sae_config_free(cfg);
}

/* ReLU codes can average above 1, past KL's clamp on rho_hat: the penalty
 * continues along its tangent there, so value and gradient still agree. */
static void test_gradcheck_kl_beyond_clamp(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(10, 6);
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "kl.weight", "0.1");
    set(cfg, "arch.init_scale", "8");
    sae_model_t *m = model_of(cfg);
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = make_data(6, 10, 5);
    sae_stats_t s;
    assert_int_equal(sae_trainer_evaluate(t, x, 6, &s), SAE_OK);
    assert_true(s.mean_activation > 1.0); /* some unit is past the clamp */
    double err = -1;
    assert_int_equal(sae_trainer_gradcheck(t, x, 6, &err), SAE_OK);
    print_message("gradcheck max relative error %.3g\n", err);
    assert_true(err < 1e-3);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* Settings that could not work are refused when the model is made. */
static void test_refused_settings(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 4);
    sae_model_t *m = NULL;
    set(cfg, "corrupt.noise_std", "0.1");
    set(cfg, "corrupt.noise_clip", "0.1"); /* nearly every draw rejected */
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_RANGE);
    assert_non_null(strstr(sae_last_error(), "noise_clip"));
    set(cfg, "corrupt.noise_clip", "0.5");
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    sae_model_free(m);
    m = NULL;
    set(cfg, "arch.input_dim", "65536");
    set(cfg, "train.batch_size", "32768"); /* 2^31 elements in a buffer */
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_RANGE);
    assert_non_null(strstr(sae_last_error(), "2^31"));
    assert_null(m);
    sae_config_free(cfg);
}

static void test_loss_decreases(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(16, 8);
    set(cfg, "optim.lr", "0.01");
    set(cfg, "train.batch_size", "20");
    sae_model_t *m = model_of(cfg);
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = make_data(200, 16, 9);
    sae_stats_t before, after;
    assert_int_equal(sae_trainer_evaluate(t, x, 200, &before), SAE_OK);
    assert_int_equal(sae_trainer_fit(t, x, 200, 30), SAE_OK);
    assert_int_equal(sae_trainer_evaluate(t, x, 200, &after), SAE_OK);
    assert_true(after.recon_loss < 0.2 * before.recon_loss);
    assert_int_equal(sae_trainer_steps(t), 300);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* KL sparsity pulls the mean code activation towards rho. */
static void test_kl_reaches_target(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(16, 20);
    set(cfg, "optim.lr", "0.01");
    set(cfg, "train.batch_size", "50");
    set(cfg, "kl.weight", "1");
    set(cfg, "kl.rho", "0.05");
    sae_model_t *m = model_of(cfg);
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = make_data(400, 16, 4);
    sae_stats_t s;
    assert_int_equal(sae_trainer_evaluate(t, x, 400, &s), SAE_OK);
    assert_true(s.mean_activation > 0.3);
    assert_int_equal(sae_trainer_fit(t, x, 400, 40), SAE_OK);
    assert_int_equal(sae_trainer_evaluate(t, x, 400, &s), SAE_OK);
    assert_true(fabs(s.mean_activation - 0.05) < 0.03);
    assert_int_equal(s.n_terms, 1);
    assert_string_equal(s.term_name[0], "kl");
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static float *train_run(sae_config_t *cfg, const float *x, size_t rows, size_t *n)
{
    sae_model_t *m = model_of(cfg);
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    assert_int_equal(sae_trainer_fit(t, x, rows, 3), SAE_OK);
    const float *w;
    size_t r, c;
    assert_int_equal(sae_model_tensor_by_name(m, "encoder.weight", &r, &c, &w), SAE_OK);
    float *copy = malloc(r * c * sizeof *copy);
    memcpy(copy, w, r * c * sizeof *copy);
    *n = r * c;
    sae_trainer_free(t);
    sae_model_free(m);
    return copy;
}

static void test_deterministic_with_corruption(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(16, 12);
    set(cfg, "corrupt.noise_std", "0.25");
    set(cfg, "corrupt.input_keep", "0.8");
    set(cfg, "corrupt.hidden_keep", "0.5");
    set(cfg, "train.batch_size", "16");
    set(cfg, "train.seed", "77");
    float *x = make_data(100, 16, 1);
    size_t n1, n2, n3;
    float *a = train_run(cfg, x, 100, &n1);
    float *b = train_run(cfg, x, 100, &n2);
    set(cfg, "train.seed", "78");
    float *c = train_run(cfg, x, 100, &n3);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1 * sizeof *a);
    assert_memory_not_equal(a, c, n1 * sizeof *a);
    free(a);
    free(b);
    free(c);
    free(x);
    sae_config_free(cfg);
}

typedef struct counts {
    int steps, epochs, cancel_at;
    double first_lr, last_lr;
    uint64_t last_epoch;
} counts_t;

static int count_cb(sae_progress_kind_t kind, const sae_stats_t *s, void *ud)
{
    counts_t *c = ud;
    assert_true(s->struct_size == sizeof(sae_stats_t));
    if (kind == SAE_PROGRESS_STEP) {
        if (c->steps == 0)
            c->first_lr = s->learning_rate;
        c->last_lr = s->learning_rate;
        c->steps++;
        assert_true(isfinite(s->loss) && s->loss >= s->recon_loss);
    } else {
        c->epochs++;
        c->last_epoch = s->epoch;
        assert_int_equal(s->samples, 250);
    }
    return c->cancel_at && c->steps >= c->cancel_at;
}

static void test_callback_epochs_schedule_cancel(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(16, 8);
    set(cfg, "train.batch_size", "100");
    set(cfg, "schedule.decay_every", "4");
    set(cfg, "schedule.decay_factor", "0.5");
    set(cfg, "optim.lr", "0.008");
    sae_model_t *m = model_of(cfg);
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = make_data(250, 16, 2);
    counts_t c = {0};
    assert_int_equal(sae_trainer_set_callback(t, count_cb, &c), SAE_OK);
    assert_int_equal(sae_trainer_fit(t, x, 250, 3), SAE_OK); /* 3 steps an epoch */
    assert_int_equal(c.steps, 9);
    assert_int_equal(c.epochs, 3);
    assert_int_equal(c.last_epoch, 3);
    assert_true(fabs(c.first_lr - 0.008) < 1e-12);
    assert_true(fabs(c.last_lr - 0.002) < 1e-12); /* step 8: two halvings */
    counts_t k = {0};
    k.cancel_at = 4;
    assert_int_equal(sae_trainer_set_callback(t, count_cb, &k), SAE_OK);
    tu_assert_status(sae_trainer_fit(t, x, 250, 5), SAE_ERR_CANCELLED);
    assert_true(strstr(sae_trainer_errmsg(t), "cancel") != NULL);
    assert_int_equal(sae_trainer_steps(t), 13);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_sampling_modes_and_evaluate(void **state)
{
    (void)state;
    const char *modes[] = {"shuffle", "replacement", "sequential"};
    float *x = make_data(90, 16, 3);
    for (int i = 0; i < 3; i++) {
        sae_config_t *cfg = tu_config(16, 8);
        set(cfg, "train.sampling", modes[i]);
        set(cfg, "train.batch_size", "32");
        set(cfg, "optim.lr", "0.01");
        sae_model_t *m = model_of(cfg);
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        sae_stats_t a, b, c;
        assert_int_equal(sae_trainer_evaluate(t, x, 90, &a), SAE_OK);
        assert_int_equal(sae_trainer_evaluate(t, x, 90, &b), SAE_OK);
        assert_true(a.loss == b.loss); /* evaluating changes nothing */
        assert_int_equal(sae_trainer_fit_steps(t, x, 90, 60), SAE_OK);
        assert_int_equal(sae_trainer_evaluate(t, x, 90, &c), SAE_OK);
        assert_true(c.loss < 0.5 * a.loss);
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
    free(x);
}

static void test_trainer_errors(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(4, 3);
    set(cfg, "train.batch_size", "8");
    sae_model_t *m = model_of(cfg);
    sae_trainer_t *t = NULL;
    tu_assert_status(sae_trainer_create(NULL, &t), SAE_ERR_NULL);
    assert_true(strlen(sae_last_error()) > 0);
    tu_assert_status(sae_trainer_create(m, NULL), SAE_ERR_NULL);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float x[40];
    tu_fill_uniform(x, 40, 0, 1, 1);
    sae_stats_t s;
    tu_assert_status(sae_trainer_fit(NULL, x, 10, 1), SAE_ERR_NULL);
    tu_assert_status(sae_trainer_fit(t, NULL, 10, 1), SAE_ERR_NULL);
    tu_assert_status(sae_trainer_fit(t, x, 0, 1), SAE_ERR_DIMENSION);
    tu_assert_status(sae_trainer_step(t, x, 9, &s), SAE_ERR_DIMENSION);
    assert_true(strstr(sae_trainer_errmsg(t), "batch size") != NULL);
    tu_assert_status(sae_trainer_evaluate(t, x, 10, NULL), SAE_ERR_NULL);
    x[17] = NAN;
    tu_assert_status(sae_trainer_fit(t, x, 10, 1), SAE_ERR_NONFINITE);
    x[17] = INFINITY;
    tu_assert_status(sae_trainer_step(t, x, 8, &s), SAE_ERR_NONFINITE);
    assert_true(strstr(sae_trainer_errmsg(t), "NaN or Inf") != NULL);
    assert_int_equal(sae_trainer_steps(t), 0);
    tu_assert_status(sae_trainer_set_callback(NULL, NULL, NULL), SAE_ERR_NULL);
    sae_trainer_free(t);
    sae_trainer_free(NULL);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_divergence_is_reported(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 8);
    set(cfg, "arch.hidden_activation", "linear");
    set(cfg, "optim.type", "sgd");
    set(cfg, "optim.lr", "1e5");
    set(cfg, "train.batch_size", "10");
    sae_model_t *m = model_of(cfg);
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float *x = make_data(10, 8, 1);
    sae_status_t st = SAE_OK;
    for (int i = 0; i < 50 && st == SAE_OK; i++)
        st = sae_trainer_step(t, x, 10, NULL);
    tu_assert_status(st, SAE_ERR_DIVERGED);
    free(x);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcheck_mse_sigmoid_untied),
        cmocka_unit_test(test_gradcheck_bce_kl_decay),
        cmocka_unit_test(test_gradcheck_tied_relu_l1),
        cmocka_unit_test(test_gradcheck_tanh_nobias_e1_terms),
        cmocka_unit_test(test_gradcheck_user_regularizer_in_model),
        cmocka_unit_test(test_gradcheck_kl_beyond_clamp),
        cmocka_unit_test(test_refused_settings),
        cmocka_unit_test(test_loss_decreases),
        cmocka_unit_test(test_kl_reaches_target),
        cmocka_unit_test(test_deterministic_with_corruption),
        cmocka_unit_test(test_callback_epochs_schedule_cancel),
        cmocka_unit_test(test_sampling_modes_and_evaluate),
        cmocka_unit_test(test_trainer_errors),
        cmocka_unit_test(test_divergence_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
