/* Neural sparse coding (train.algorithm = nsc, Arora, Ge, Ma & Moitra
 * 2015): one update checked against values worked out by hand, recovery of
 * a planted dictionary from a nearby start, statistics and cancellation,
 * inference, and the parameters and configurations it refuses.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "core/rng.h"
#include "model/model.h" /* to write a chosen dictionary into the model */
#include "model/dense.h"

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

/* The model the algorithm needs: tied, linear, no biases. */
static sae_config_t *nsc_config(size_t d, size_t h, const char *tau, const char *eta,
                                const char *batch)
{
    sae_config_t *cfg = tu_config(d, h);
    set(cfg, "arch.tied", "true");
    set(cfg, "arch.bias", "false");
    set(cfg, "arch.hidden_activation", "linear");
    set(cfg, "train.algorithm", "nsc");
    set(cfg, "nsc.tau", tau);
    set(cfg, "nsc.eta", eta);
    set(cfg, "train.batch_size", batch);
    return cfg;
}

/* A model holding dictionary `atoms` [h x d], row j = atom j = column j of
 * A (encoder.weight is A^T). */
static sae_model_t *model_with(const sae_config_t *cfg, const float *atoms)
{
    sae_model_t *m = NULL;
    if (sae_model_create(cfg, &m) != SAE_OK)
        fail_msg("sae_model_create: %s", sae_last_error());
    memcpy(sae_dense(m)->enc_w, atoms, m->code_dim * m->input_dim * sizeof(float));
    return m;
}

static sae_trainer_t *trainer_of(sae_model_t *m)
{
    sae_trainer_t *t = NULL;
    if (sae_trainer_create(m, &t) != SAE_OK)
        fail_msg("sae_trainer_create: %s", sae_last_error());
    return t;
}

static void assert_close(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: got %.9g, want %.9g (tolerance %g)", what, got, want, tol);
}

/* ------------------------------------------------------------------------ */
/* One update by hand                                                       */
/* ------------------------------------------------------------------------ */

/* A [3 x 2] with columns a1 = (1, 0, 0), a2 = (0, 0.6, 0.8); one sample
 * y = (0.5, 1, 2); tau = 0.6, eta = 0.5, p = 1:
 *   A^T y   = (0.5, 0.6 + 1.6) = (0.5, 2.2)
 *   X       = (0, 2.2)              0.5 < tau is zeroed
 *   R       = y - 2.2 a2 = (0.5, 1 - 1.32, 2 - 1.76) = (0.5, -0.32, 0.24)
 *   a1     += 0.5 * R * sgn(0) = a1                  unchanged, norm 1
 *   a2     += 0.5 * R * sgn(2.2) = (0.25, 0.44, 0.92), norm sqrt(1.1025) = 1.05
 *   a2      = (0.25, 0.44, 0.92) / 1.05 = (5/21, 44/105, 92/105)
 * statistics: recon = (0.25 + 0.1024 + 0.0576) / 3 = 0.41 / 3, l0 = 1,
 * mean activation = 2.2 / 2 = 1.1. */
static const float tiny_atoms[2 * 3] = {1.0f, 0.0f, 0.0f, 0.0f, 0.6f, 0.8f};
static const float tiny_y[3] = {0.5f, 1.0f, 2.0f};

static void check_tiny_update(const float *y)
{
    sae_config_t *cfg = nsc_config(3, 2, "0.6", "0.5", "4");
    sae_model_t *m = model_with(cfg, tiny_atoms);
    sae_trainer_t *t = trainer_of(m);

    /* Evaluation first: the same statistics, and A untouched. */
    sae_stats_t s;
    tu_assert_status(sae_trainer_evaluate(t, y, 1, &s), SAE_OK);
    assert_close(s.recon_loss, 0.41 / 3.0, 1e-6, "evaluate recon_loss");
    assert_close(s.loss, 0.41 / 3.0, 1e-6, "evaluate loss");
    assert_close(s.l0, 1.0, 0.0, "evaluate l0");
    assert_memory_equal(sae_dense(m)->enc_w, tiny_atoms, sizeof tiny_atoms);

    tu_assert_status(sae_trainer_step(t, y, 1, &s), SAE_OK);
    const float want[2 * 3] = {1.0f, 0.0f, 0.0f, 5.0f / 21.0f, 44.0f / 105.0f, 92.0f / 105.0f};
    for (int i = 0; i < 6; i++) {
        char what[32];
        snprintf(what, sizeof what, "encoder.weight[%d]", i);
        assert_close(sae_dense(m)->enc_w[i], want[i], 1e-6, what);
    }
    assert_close(s.recon_loss, 0.41 / 3.0, 1e-6, "step recon_loss");
    assert_close(s.loss, s.recon_loss, 0.0, "step loss");
    assert_close(s.l0, 1.0, 0.0, "step l0");
    assert_close(fabs(s.mean_activation), 1.1, 1e-6, "step |mean_activation|");
    assert_close(s.learning_rate, 0.5, 0.0, "step learning_rate");
    assert_int_equal(s.step, 1);
    assert_int_equal(s.samples, 1);
    assert_int_equal(s.n_terms, 0);
    assert_int_equal(sae_trainer_steps(t), 1);

    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_one_update_by_hand(void **state)
{
    (void)state;
    check_tiny_update(tiny_y);
    /* -y: X and sgn(X) flip with R, so A moves exactly the same way. */
    const float neg[3] = {-tiny_y[0], -tiny_y[1], -tiny_y[2]};
    check_tiny_update(neg);

    /* loss.reduction applies to the residual as to an mse loss: with
     * sample_sum_half it is 1/2 ||R||^2 per row = 0.41 / 2. */
    sae_config_t *cfg = nsc_config(3, 2, "0.6", "0.5", "4");
    set(cfg, "loss.reduction", "sample_sum_half");
    sae_model_t *m = model_with(cfg, tiny_atoms);
    sae_trainer_t *t = trainer_of(m);
    sae_stats_t s;
    tu_assert_status(sae_trainer_evaluate(t, tiny_y, 1, &s), SAE_OK);
    assert_close(s.recon_loss, 0.205, 1e-6, "sample_sum_half recon_loss");
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

/* Inference: encode is threshold_tau(A^T y) (|x| == tau is kept), decode is
 * A x, and encoder.weight, the only tensor, is A^T. */
static void test_inference_is_the_sparse_code(void **state)
{
    (void)state;
    sae_config_t *cfg = nsc_config(3, 2, "0.5", "1", "4");
    sae_model_t *m = model_with(cfg, tiny_atoms);
    assert_int_equal(sae_model_tensor_count(m), 1);
    size_t rows, cols;
    const float *w;
    tu_assert_status(sae_model_tensor_by_name(m, "encoder.weight", &rows, &cols, &w), SAE_OK);
    assert_int_equal(rows, 2);
    assert_int_equal(cols, 3);

    float code[2], back[3];
    tu_assert_status(sae_model_encode(m, tiny_y, 1, code), SAE_OK);
    assert_close(code[0], 0.5, 0.0, "|x| == tau is kept");
    assert_close(code[1], 2.2, 1e-6, "x2");
    sae_config_free(cfg);
    sae_model_free(m);

    cfg = nsc_config(3, 2, "0.6", "1", "4");
    m = model_with(cfg, tiny_atoms);
    tu_assert_status(sae_model_encode(m, tiny_y, 1, code), SAE_OK);
    assert_close(code[0], 0.0, 0.0, "|x| < tau is zeroed");
    assert_close(code[1], 2.2, 1e-6, "x2");
    tu_assert_status(sae_model_decode(m, code, 1, back), SAE_OK);
    assert_close(back[0], 0.0, 1e-6, "(A x)[0]");
    assert_close(back[1], 1.32, 1e-6, "(A x)[1]");
    assert_close(back[2], 1.76, 1e-6, "(A x)[2]");
    tu_assert_status(sae_model_reconstruct(m, tiny_y, 1, back), SAE_OK);
    assert_close(back[2], 1.76, 1e-6, "reconstruct = A threshold(A^T y)");

    /* The algorithm and its threshold travel with the model file. */
    const char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/nsc.safetensors", dir);
    tu_assert_status(sae_model_save(m, path), SAE_OK);
    sae_model_t *loaded = NULL;
    tu_assert_status(sae_model_load(path, &loaded), SAE_OK);
    float again[2];
    tu_assert_status(sae_model_encode(loaded, tiny_y, 1, again), SAE_OK);
    assert_memory_equal(again, code, sizeof code);
    sae_model_free(loaded);
    remove(path);
    rmdir(dir);

    sae_model_free(m);
    sae_config_free(cfg);
}

/* ------------------------------------------------------------------------ */
/* A planted dictionary                                                     */
/* ------------------------------------------------------------------------ */

enum { K_ACTIVE = 3 };

static void normalise(float *a, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * (double)a[i];
    float inv = (float)(1.0 / sqrt(s));
    for (size_t i = 0; i < n; i++)
        a[i] *= inv;
}

static double abs_cosine(const float *a, const float *b, size_t n)
{
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * (double)b[i];
        aa += (double)a[i] * (double)a[i];
        bb += (double)b[i] * (double)b[i];
    }
    return fabs(ab) / sqrt(aa * bb);
}

/* The worst and the mean |cosine| between each atom and its planted one. */
static void compare(const float *a, const float *planted, size_t h, size_t d, double *worst,
                    double *mean)
{
    *worst = 1.0;
    *mean = 0.0;
    for (size_t j = 0; j < h; j++) {
        double c = abs_cosine(a + j * d, planted + j * d, d);
        *worst = c < *worst ? c : *worst;
        *mean += c / (double)h;
    }
}

typedef struct planted {
    size_t d, h, rows;
    float *atoms; /* A* [h x d], unit rows, i.i.d. Gaussian directions */
    float *start; /* A0: each atom moved by a random vector of length `dist`, renormalised */
    float *y;     /* rows of A* x, x with K_ACTIVE nonzeros of random sign, |x_i| in [1, 2] */
} planted_t;

static planted_t plant(size_t d, size_t h, size_t rows, double dist, uint64_t seed)
{
    planted_t p = {d, h, rows, malloc(h * d * sizeof(float)), malloc(h * d * sizeof(float)),
                   calloc(rows * d, sizeof(float))};
    assert_true(p.atoms && p.start && p.y);
    sae_rng_t rng;
    sae_rng_seed(&rng, seed);
    for (size_t i = 0; i < h * d; i++)
        p.atoms[i] = (float)sae_rng_normal(&rng);
    for (size_t j = 0; j < h; j++)
        normalise(p.atoms + j * d, d);
    float *noise = malloc(d * sizeof *noise);
    for (size_t j = 0; j < h; j++) {
        for (size_t i = 0; i < d; i++)
            noise[i] = (float)sae_rng_normal(&rng);
        normalise(noise, d);
        for (size_t i = 0; i < d; i++)
            p.start[j * d + i] = p.atoms[j * d + i] + (float)dist * noise[i];
        normalise(p.start + j * d, d);
    }
    free(noise);
    for (size_t r = 0; r < rows; r++) {
        size_t support[K_ACTIVE];
        for (size_t k = 0; k < K_ACTIVE; k++) {
            int fresh;
            do { /* K distinct atoms */
                support[k] = (size_t)sae_rng_below(&rng, h);
                fresh = 1;
                for (size_t q = 0; q < k; q++)
                    fresh &= support[q] != support[k];
            } while (!fresh);
            float c = 1.0f + sae_rng_uniform(&rng);
            if (sae_rng_uniform(&rng) < 0.5f)
                c = -c;
            for (size_t i = 0; i < d; i++)
                p.y[r * d + i] += c * p.atoms[support[k] * d + i];
        }
    }
    return p;
}

static void unplant(planted_t *p)
{
    free(p->atoms);
    free(p->start);
    free(p->y);
}

/* Runs `steps` updates (batches of 1024 shuffled rows, eta = 1) from the
 * perturbed start; returns the worst |cosine| before and after. */
static void recover(size_t d, size_t h, const char *tau, uint64_t steps, uint64_t seed,
                    double *worst_before, double *worst_after, double *mean_after)
{
    planted_t p = plant(d, h, 8192, 0.3, seed);
    sae_config_t *cfg = nsc_config(d, h, tau, "1", "1024");
    sae_model_t *m = model_with(cfg, p.start);
    sae_trainer_t *t = trainer_of(m);
    double mean_before;
    compare(sae_dense(m)->enc_w, p.atoms, h, d, worst_before, &mean_before);
    tu_assert_status(sae_trainer_fit_steps(t, p.y, p.rows, steps), SAE_OK);
    compare(sae_dense(m)->enc_w, p.atoms, h, d, worst_after, mean_after);
    sae_stats_t s;
    tu_assert_status(sae_trainer_evaluate(t, p.y, p.rows, &s), SAE_OK);
    print_message("%zu x %zu atoms, k = %d, tau = %s, %llu steps: worst |cos| %.4f -> %.5f, "
                  "mean %.4f -> %.5f; residual %.5f, L0 %.2f\n",
                  d, h, K_ACTIVE, tau, (unsigned long long)steps, *worst_before, *worst_after,
                  mean_before, *mean_after, s.recon_loss, s.l0);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
    unplant(&p);
}

/* The paper's regime: tau = C/2 with C = 1 the smallest nonzero magnitude,
 * and an incoherent dictionary (256 dimensions, 32 atoms, |<a_i, a_j>|
 * about 1/16). Measured: worst |cos| 0.954 -> 0.9996. */
static void test_recovers_planted_dictionary(void **state)
{
    (void)state;
    double before, after, mean;
    recover(256, 32, "0.5", 100, 1, &before, &after, &mean);
    assert_true(before < 0.96);
    assert_true(after > 0.998);
    assert_true(mean > 0.999);
}

/* 64 dimensions, 32 atoms: |<a_i, a_j>| is about 1/8, so thresholding at
 * C/2 lets cross-talk through (L0 about 4.2 for 3 true atoms) and the
 * neural rule's bias (the paper's O(k/n) term) stops it at worst |cos|
 * 0.972 (measured); a threshold of 0.8 rejects most of the cross-talk and
 * reaches 0.994. Both improve on the start, 0.954. */
static void test_recovers_small_dictionary(void **state)
{
    (void)state;
    double before, after, mean;
    recover(64, 32, "0.5", 100, 1, &before, &after, &mean);
    assert_true(before < 0.96);
    assert_true(after > 0.965);
    assert_true(after > before + 0.01);
    recover(64, 32, "0.8", 100, 1, &before, &after, &mean);
    assert_true(after > 0.99);
    assert_true(mean > 0.995);
}

/* ------------------------------------------------------------------------ */
/* Callback, cancellation, errors                                           */
/* ------------------------------------------------------------------------ */

typedef struct calls {
    int steps, epochs, stop_after;
    double last_l0, last_recon, last_eta;
} calls_t;

static int on_progress(sae_progress_kind_t kind, const sae_stats_t *s, void *user_data)
{
    calls_t *c = user_data;
    if (kind == SAE_PROGRESS_EPOCH) {
        c->epochs++;
        return 0;
    }
    c->steps++;
    c->last_l0 = s->l0;
    c->last_recon = s->recon_loss;
    c->last_eta = s->learning_rate;
    return c->stop_after > 0 && c->steps >= c->stop_after;
}

static void test_callback_and_cancel(void **state)
{
    (void)state;
    planted_t p = plant(64, 32, 1000, 0.3, 7);
    sae_config_t *cfg = nsc_config(64, 32, "0.5", "2", "100");
    set(cfg, "schedule.decay_every", "10");
    set(cfg, "schedule.decay_factor", "0.5");
    sae_model_t *m = model_with(cfg, p.start);
    sae_trainer_t *t = trainer_of(m);
    calls_t c = {0, 0, 0, 0, 0, 0};
    tu_assert_status(sae_trainer_set_callback(t, on_progress, &c), SAE_OK);
    tu_assert_status(sae_trainer_fit(t, p.y, p.rows, 2), SAE_OK);
    assert_int_equal(c.steps, 20);
    assert_int_equal(c.epochs, 2);
    assert_true(c.last_l0 > 2.0 && c.last_l0 < 8.0);
    assert_true(c.last_recon > 0.0 && c.last_recon < 0.1);
    /* Step 20 (index 19) runs at eta 2 * 0.5^1: the step decay applies. */
    assert_close(c.last_eta, 1.0, 0.0, "eta of step 20");

    c.stop_after = 25;
    tu_assert_status(sae_trainer_fit(t, p.y, p.rows, 5), SAE_ERR_CANCELLED);
    assert_int_equal(sae_trainer_steps(t), 25);
    assert_non_null(strstr(sae_trainer_errmsg(t), "cancelled"));
    /* Evaluation reports the rate of the next step: 2 * 0.5^floor(25/10). */
    sae_stats_t s;
    tu_assert_status(sae_trainer_evaluate(t, p.y, p.rows, &s), SAE_OK);
    assert_close(s.learning_rate, 0.5, 0.0, "evaluate learning_rate");

    /* No objective: the whole-model gradient check is refused. */
    double err = 0.0;
    tu_assert_status(sae_trainer_gradcheck(t, p.y, 4, &err), SAE_ERR_STATE);
    assert_non_null(strstr(sae_trainer_errmsg(t), "nsc"));
    tu_assert_status(sae_trainer_gradcheck_double(t, p.y, 4, &err, NULL), SAE_ERR_STATE);
    assert_non_null(strstr(sae_trainer_errmsg(t), "nsc"));

    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
    unplant(&p);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(8, 4);
    tu_assert_status(sae_config_set(cfg, "nsc.tau", "-0.1"), SAE_ERR_RANGE);
    assert_non_null(strstr(sae_config_errmsg(cfg), "nsc.tau"));
    tu_assert_status(sae_config_set_float(cfg, SAE_P_NSC_TAU, -1e-9), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set(cfg, "nsc.eta", "0"), SAE_ERR_RANGE);
    assert_non_null(strstr(sae_config_errmsg(cfg), "nsc.eta"));
    tu_assert_status(sae_config_set(cfg, "train.algorithm", "hebb"), SAE_ERR_BAD_VALUE);
    assert_non_null(strstr(sae_config_errmsg(cfg), "nsc"));
    tu_assert_status(sae_config_set_int(cfg, SAE_P_ALGORITHM, 3), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_NSC_TAU, 0.0), SAE_OK); /* 0 = no threshold */
    double v = -1.0;
    tu_assert_status(sae_config_get_float(cfg, SAE_P_NSC_TAU, &v), SAE_OK);
    assert_true(v == 0.0);
    sae_config_free(cfg);
}

/* Each setting the rule would silently ignore is refused at model creation,
 * with a message naming it. */
static void test_refused_configs(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value, *in_message;
    } cases[] = {
        {"arch.tied", "false", "arch.tied"},
        {"arch.bias", "true", "arch.bias"},
        {"arch.hidden_activation", "relu", "linear"},
        {"arch.output_activation", "tanh", "linear"},
        {"kl.weight", "0.1", "regularizer"},
        {"l1.weight", "0.1", "regularizer"},
        {"sample.weight", "1", "regularizer"},
        {"batch.weight", "1", "regularizer"},
        {"decay.l2", "1e-4", "decay.l2"},
        {"corrupt.noise_std", "0.1", "corruption"},
        {"corrupt.input_keep", "0.9", "corruption"},
        {"corrupt.hidden_keep", "0.5", "corruption"},
        {"topk.k", "2", "topk.k"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sae_config_t *cfg = nsc_config(8, 4, "0.5", "1", "10");
        set(cfg, cases[i].key, cases[i].value);
        sae_model_t *m = (sae_model_t *)(uintptr_t)1;
        tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
        assert_null(m);
        const char *msg = sae_last_error();
        if (!strstr(msg, "train.algorithm = nsc") || !strstr(msg, cases[i].in_message))
            fail_msg("%s = %s: message \"%s\" should name \"%s\"", cases[i].key, cases[i].value,
                     msg, cases[i].in_message);
        sae_config_free(cfg);
    }
    /* The same settings are fine with backprop. */
    sae_config_t *cfg = nsc_config(8, 4, "0.5", "1", "10");
    set(cfg, "arch.tied", "false");
    set(cfg, "train.algorithm", "backprop");
    sae_model_t *m = NULL;
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    sae_model_free(m);
    sae_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_update_by_hand),
        cmocka_unit_test(test_inference_is_the_sparse_code),
        cmocka_unit_test(test_recovers_planted_dictionary),
        cmocka_unit_test(test_recovers_small_dictionary),
        cmocka_unit_test(test_callback_and_cancel),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_refused_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
