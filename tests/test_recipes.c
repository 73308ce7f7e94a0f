/* Training recipes of the modern SAE family, each against its formula:
 * learning-rate schedules (schedule.type, warm-up), the sparsity terms'
 * warm-up (sparsity.warmup_steps), unit-norm atoms left out of weight
 * decay, and the refusals. SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "model/dense.h"
#include "testutil.h"
#include "train/schedule.h"
#include "train/trainer.h"

static void set(sae_config_t *cfg, const char *k, const char *v)
{
    if (sae_config_set(cfg, k, v) != SAE_OK)
        fail_msg("set %s=%s: %s", k, v, sae_config_errmsg(cfg));
}

static void near(double got, double want, const char *what, int step)
{
    if (fabs(got - want) > 1e-12 + 1e-12 * fabs(want))
        fail_msg("%s at step %d: %.17g, want %.17g", what, step, got, want);
}

static void test_schedule_shapes(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(4, 4);
    /* step (the default, 0.1's rule), with and without warm-up */
    set(cfg, "schedule.decay_every", "10");
    set(cfg, "schedule.decay_factor", "0.5");
    for (int s = 0; s < 40; s++)
        near(sae_schedule_factor(cfg, (uint64_t)s), pow(0.5, s / 10), "step", s);
    set(cfg, "schedule.warmup_steps", "4");
    for (int s = 0; s < 40; s++)
        near(sae_schedule_factor(cfg, (uint64_t)s), (s < 4 ? (s + 1) / 4.0 : 1.0) * pow(0.5, s / 10),
             "step + warm-up", s);
    /* constant */
    set(cfg, "schedule.type", "constant");
    for (int s = 0; s < 40; s++)
        near(sae_schedule_factor(cfg, (uint64_t)s), s < 4 ? (s + 1) / 4.0 : 1.0, "constant", s);
    /* cosine and linear from step 10 to 30, floor 0.1 */
    set(cfg, "schedule.decay_start", "10");
    set(cfg, "schedule.total_steps", "30");
    set(cfg, "schedule.min_factor", "0.1");
    const double pi = 3.14159265358979323846;
    for (int lin = 0; lin < 2; lin++) {
        set(cfg, "schedule.type", lin ? "linear" : "cosine");
        for (int s = 0; s < 40; s++) {
            double w = s < 4 ? (s + 1) / 4.0 : 1.0, want = w;
            if (s >= 30) {
                want = 0.1;
            } else if (s >= 10) {
                double p = (s - 10) / 20.0;
                want = 0.1 + 0.9 * (lin ? 1.0 - p : 0.5 * (1.0 + cos(pi * p)));
            }
            near(sae_schedule_factor(cfg, (uint64_t)s), want, lin ? "linear" : "cosine", s);
        }
    }
    sae_config_free(cfg);
}

/* The trainer reports and uses the scheduled rate: stats.learning_rate of
 * each step is optim.lr times the factor. */
static void test_schedule_in_training(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(5, 6);
    set(cfg, "optim.lr", "0.02");
    set(cfg, "schedule.type", "cosine");
    set(cfg, "schedule.warmup_steps", "3");
    set(cfg, "schedule.decay_start", "3");
    set(cfg, "schedule.total_steps", "9");
    set(cfg, "schedule.min_factor", "0.05");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    float x[8 * 5];
    tu_fill_uniform(x, 8 * 5, 0, 1, 2);
    for (int s = 0; s < 12; s++) {
        sae_stats_t st;
        assert_int_equal(sae_trainer_step(t, x, 8, &st), SAE_OK);
        near(st.learning_rate, 0.02 * sae_schedule_factor(cfg, (uint64_t)s), "rate", s);
    }
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static double term(const sae_stats_t *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_terms; i++)
        if (!strcmp(s->term_name[i], name))
            return s->term_loss[i];
    return 0.0;
}

/* Each warming term's value at step s is s / n of its full value on the
 * same weights; terms that do not warm up (sample) are untouched; the
 * gradient stays the objective's (float and double checks). */
static void test_sparsity_warmup(void **state)
{
    (void)state;
    enum { D = 6, H = 9, R = 7 };
    float x[R * D];
    tu_fill_uniform(x, R * D, 0, 1, 3);
    for (int dn = 0; dn < 2; dn++) {
        sae_config_t *cfg = tu_config(D, H);
        set(cfg, "arch.hidden_activation", "sigmoid");
        set(cfg, "kl.weight", "0.2");
        set(cfg, "l1.weight", "0.5");
        set(cfg, "l1.decoder_norm", dn ? "true" : "false");
        set(cfg, "sample.weight", "0.3");
        set(cfg, "sparsity.warmup_steps", "8");
        sae_model_t *m = NULL;
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        sae_stats_t full, s;
        t->steps = 8;
        assert_int_equal(sae_trainer_evaluate(t, x, R, &full), SAE_OK);
        assert_true(term(&full, "kl") > 0 && term(&full, "l1") > 0 && term(&full, "sample") > 0);
        for (uint64_t k = 0; k < 12; k++) {
            t->steps = k;
            assert_int_equal(sae_trainer_evaluate(t, x, R, &s), SAE_OK);
            double f = k < 8 ? (double)k / 8.0 : 1.0;
            assert_true(fabs(term(&s, "kl") - f * term(&full, "kl")) <= 1e-6 * term(&full, "kl"));
            assert_true(fabs(term(&s, "l1") - f * term(&full, "l1")) <= 1e-6 * term(&full, "l1"));
            assert_true(term(&s, "sample") == term(&full, "sample"));
        }
        t->steps = 3;
        double err = 1;
        assert_int_equal(sae_trainer_gradcheck(t, x, R, &err), SAE_OK);
        print_message("sparsity warm-up gradcheck (decoder norm %d): %.3g\n", dn, err);
        assert_true(err < 1e-3);
        if (!dn) {
            double rel = 1, frel = 1;
            assert_int_equal(sae_trainer_gradcheck_double(t, x, R, &rel, &frel), SAE_OK);
            print_message("sparsity warm-up double check: %.3g, float %.3g\n", rel, frel);
            assert_true(rel < 1e-6 && frel < 1e-4);
        }
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
}

/* With unit-norm atoms, decay leaves the decoder alone: the l2 term is the
 * encoder's only, and the decoder's step equals the step without decay. */
static void test_unit_norm_atoms_not_decayed(void **state)
{
    (void)state;
    enum { D = 6, H = 10, R = 8 };
    float x[R * D];
    tu_fill_uniform(x, R * D, 0, 1, 6);
    float dec[2][H * D];
    for (int decay = 0; decay < 2; decay++) {
        sae_config_t *cfg = tu_config(D, H);
        set(cfg, "arch.hidden_activation", "relu");
        set(cfg, "arch.unit_norm_decoder", "true");
        set(cfg, "decay.l2", decay ? "0.3" : "0");
        set(cfg, "decay.encoder", "false");
        sae_model_t *m = NULL;
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        sae_stats_t s;
        for (int k = 0; k < 3; k++)
            assert_int_equal(sae_trainer_step(t, x, R, &s), SAE_OK);
        assert_true(term(&s, "l2") == 0.0);
        memcpy(dec[decay], sae_dense(m)->dec_w, sizeof dec[decay]);
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
    assert_memory_equal(dec[0], dec[1], sizeof dec[0]);
    /* The encoder still decays, and the reported term is its penalty. */
    sae_config_t *cfg = tu_config(D, H);
    set(cfg, "arch.unit_norm_decoder", "true");
    set(cfg, "decay.l2", "0.3");
    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
    double want = 0.0;
    for (size_t i = 0; i < H * D; i++)
        want += (double)sae_dense(m)->enc_w[i] * sae_dense(m)->enc_w[i];
    want *= 0.15;
    sae_stats_t s;
    assert_int_equal(sae_trainer_step(t, x, R, &s), SAE_OK);
    assert_true(fabs(term(&s, "l2") - want) <= 1e-6 * want);
    double err = 1;
    assert_int_equal(sae_trainer_gradcheck(t, x, R, &err), SAE_OK);
    assert_true(err < 1e-3);
    sae_trainer_free(t);
    sae_model_free(m);
    sae_config_free(cfg);
}

static void test_refusals(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(4, 4);
    sae_model_t *m = NULL;
    set(cfg, "schedule.type", "cosine");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_non_null(strstr(sae_last_error(), "schedule.total_steps"));
    set(cfg, "schedule.total_steps", "100");
    set(cfg, "schedule.decay_start", "100");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    set(cfg, "schedule.decay_start", "50");
    tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
    sae_model_free(m);
    m = NULL;
    set(cfg, "optim.type", "lbfgs");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    set(cfg, "schedule.type", "step");
    set(cfg, "schedule.warmup_steps", "10");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_null(m);
    sae_config_free(cfg);
}

static double get_float(const sae_model_t *m, const char *key)
{
    char buf[64];
    assert_int_equal(sae_config_get(sae_model_config(m), key, buf, sizeof buf), SAE_OK);
    return strtod(buf, NULL);
}

static sae_model_t *normalized_model(size_t d, size_t h, int pre_bias)
{
    sae_config_t *cfg = tu_config(d, h);
    set(cfg, "arch.hidden_activation", "relu");
    set(cfg, "arch.normalize_input", "true");
    set(cfg, "arch.pre_encoder_bias", pre_bias ? "true" : "false");
    set(cfg, "arch.bias_init", pre_bias ? "mean" : "zero");
    set(cfg, "train.seed", "5");
    sae_model_t *m = NULL;
    assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
    sae_config_free(cfg);
    return m;
}

/* The estimate is sqrt(D / mean ||x||^2) of the first rows; training on
 * c x then gives the codes of training on x, and outputs c times theirs. */
static void test_input_normalisation(void **state)
{
    (void)state;
    enum { D = 8, H = 12, R = 20 };
    float x[R * D], cx[R * D];
    tu_fill_uniform(x, R * D, -1, 3, 12);
    const float c = 37.0f;
    for (size_t i = 0; i < R * D; i++)
        cx[i] = c * x[i];
    double ss = 0.0;
    for (size_t i = 0; i < R * D; i++)
        ss += (double)x[i] * x[i];
    double want = sqrt((double)D / (ss / R));
    for (int pre = 0; pre < 2; pre++) {
        sae_model_t *m[2];
        float code[2][R * H], out[2][R * D];
        for (int k = 0; k < 2; k++) {
            m[k] = normalized_model(D, H, pre);
            assert_true(get_float(m[k], "arch.input_scale") == 0.0);
            sae_trainer_t *t = NULL;
            assert_int_equal(sae_trainer_create(m[k], &t), SAE_OK);
            sae_stats_t s;
            for (int step = 0; step < 5; step++)
                assert_int_equal(sae_trainer_step(t, k ? cx : x, R, &s), SAE_OK);
            sae_trainer_free(t);
            double got = get_float(m[k], "arch.input_scale");
            double w = k ? want / c : want;
            print_message("input scale (b_pre %d, data x%g): %.9g, formula %.9g\n", pre,
                          k ? c : 1.0, got, w);
            assert_true(fabs(got - w) <= 1e-6 * w);
            assert_int_equal(sae_model_encode(m[k], k ? cx : x, R, code[k]), SAE_OK);
            assert_int_equal(sae_model_reconstruct(m[k], k ? cx : x, R, out[k]), SAE_OK);
        }
        for (size_t i = 0; i < R * H; i++)
            assert_true(fabs(code[0][i] - code[1][i]) <= 1e-4f * (1.0f + fabsf(code[0][i])));
        for (size_t i = 0; i < R * D; i++)
            assert_true(fabs(c * out[0][i] - out[1][i]) <= 1e-4f * c * (1.0f + fabsf(out[0][i])));
        /* The float gradient check holds in the scaled space. */
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_trainer_create(m[1], &t), SAE_OK);
        double err = 1;
        assert_int_equal(sae_trainer_gradcheck(t, cx, 6, &err), SAE_OK);
        assert_true(err < 1e-3);
        double rel, frel;
        tu_assert_status(sae_trainer_gradcheck_double(t, cx, 6, &rel, &frel),
                         SAE_ERR_UNSUPPORTED);
        sae_trainer_free(t);
        size_t ks[1] = {2};
        double e[1];
        tu_assert_status(sae_model_prefix_errors(m[1], cx, R, ks, 1, e), SAE_ERR_STATE);
        /* A saved model keeps its scale. */
        char path[512];
        snprintf(path, sizeof path, "%s/scaled.safetensors", tu_tmpdir());
        assert_int_equal(sae_model_save(m[1], path), SAE_OK);
        sae_model_t *back = NULL;
        assert_int_equal(sae_model_load(path, &back), SAE_OK);
        assert_true(get_float(back, "arch.input_scale") == get_float(m[1], "arch.input_scale"));
        float out2[R * D];
        assert_int_equal(sae_model_reconstruct(back, cx, R, out2), SAE_OK);
        assert_memory_equal(out2, out[1], sizeof out2);
        /* Folded: the same functions, no scale left. */
        assert_int_equal(sae_model_fold_input_scale(back), SAE_OK);
        assert_true(get_float(back, "arch.input_scale") == 0.0);
        assert_true(get_float(back, "arch.normalize_input") == 0.0);
        float code2[R * H];
        assert_int_equal(sae_model_encode(back, cx, R, code2), SAE_OK);
        assert_int_equal(sae_model_reconstruct(back, cx, R, out2), SAE_OK);
        for (size_t i = 0; i < R * H; i++)
            assert_true(fabs(code2[i] - code[1][i]) <= 1e-4f * (1.0f + fabsf(code[1][i])));
        for (size_t i = 0; i < R * D; i++)
            assert_true(fabs(out2[i] - out[1][i]) <= 1e-4f * (1.0f + fabsf(out[1][i])));
        assert_int_equal(sae_model_prefix_errors(back, cx, R, ks, 1, e), SAE_OK);
        assert_int_equal(sae_model_fold_input_scale(back), SAE_OK); /* nothing left to do */
        sae_model_free(back);
        sae_model_free(m[0]);
        sae_model_free(m[1]);
    }
    tu_assert_status(sae_model_fold_input_scale(NULL), SAE_ERR_NULL);
    sae_config_t *cfg = tu_config(4, 4);
    sae_model_t *m = NULL;
    set(cfg, "arch.normalize_input", "true");
    set(cfg, "arch.tied", "true");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    set(cfg, "arch.tied", "false");
    set(cfg, "loss.type", "bce");
    set(cfg, "arch.output_activation", "sigmoid");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_non_null(strstr(sae_last_error(), "arch.normalize_input"));
    assert_null(m);
    sae_config_free(cfg);
}

static double norm(const float *v, size_t n)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (double)v[i] * v[i];
    return sqrt(ss);
}

/* Units made dead by a large negative bias are resampled at the step
 * resample.every says: decoder row = a unit-norm batch row drawn by loss^2
 * (here one row dominates), encoder row = 0.2 x the alive rows' mean norm
 * along it, bias 0; alive units are untouched. */
static void test_resampling(void **state)
{
    (void)state;
    enum { D = 6, H = 10, R = 12, DEAD = 4 };
    float x[R * D];
    tu_fill_uniform(x, R * D, 0, 0.1f, 14);
    for (size_t i = 0; i < D; i++) /* row 5: far from anything, the worst loss */
        x[5 * D + i] = 1000.0f * ((i % 2 ? -4.0f : 6.0f) + (float)i);
    float alive[2][(H - DEAD) * D];
    for (int on = 0; on < 2; on++) {
        sae_config_t *cfg = tu_config(D, H);
        set(cfg, "arch.hidden_activation", "relu");
        set(cfg, "resample.every", on ? "2" : "0");
        set(cfg, "resample.dead_after", "1");
        sae_model_t *m = NULL;
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        sae_dense_t *dn = sae_dense(m);
        for (size_t j = 0; j < H; j++) /* the others fire on every row */
            dn->enc_b[j] = j < DEAD ? -1000.0f : 10.0f;
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        sae_stats_t s;
        assert_int_equal(sae_trainer_step(t, x, R, &s), SAE_OK);
        assert_int_equal(t->recipe.resample_events, 0);
        assert_int_equal(sae_trainer_step(t, x, R, &s), SAE_OK);
        if (on) {
            assert_int_equal(t->recipe.resample_events, 1);
            assert_int_equal(t->recipe.resampled_units, DEAD);
            assert_int_equal(t->recipe.last_resample, 2);
            double mean = 0.0;
            for (size_t j = DEAD; j < H; j++)
                mean += norm(dn->enc_w + j * D, D);
            mean /= H - DEAD;
            double n5 = norm(x + 5 * D, D);
            for (size_t j = 0; j < DEAD; j++) {
                assert_true(dn->enc_b[j] == 0.0f);
                assert_true(fabs(norm(dn->dec_w + j * D, D) - 1.0) < 1e-6);
                assert_true(fabs(norm(dn->enc_w + j * D, D) - 0.2 * mean) < 1e-5 * mean);
                for (size_t i = 0; i < D; i++)
                    assert_true(fabs(dn->dec_w[j * D + i] - x[5 * D + i] / n5) < 1e-6);
                assert_true(t->ws.idle[j] == 0);
            }
        } else {
            assert_int_equal(t->recipe.resample_events, 0);
        }
        memcpy(alive[on], dn->dec_w + DEAD * D, sizeof alive[on]);
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
    assert_memory_equal(alive[0], alive[1], sizeof alive[0]);
    sae_config_t *cfg = tu_config(4, 4);
    sae_model_t *m = NULL;
    set(cfg, "resample.every", "10");
    set(cfg, "arch.tied", "true");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    set(cfg, "arch.tied", "false");
    set(cfg, "optim.type", "lbfgs");
    tu_assert_status(sae_model_create(cfg, &m), SAE_ERR_STATE);
    assert_non_null(strstr(sae_last_error(), "resample.every"));
    sae_config_free(cfg);
}

/* The rows are drawn with probability proportional to their squared
 * loss: 400 dead units, 4 rows of different losses; the losses at the
 * resampling are those of a run without it (the dead units add nothing to
 * the reconstruction), and the counts of each row's direction among the
 * new atoms pass a chi-square test (3 degrees of freedom, p = 0.001). */
static void test_resampling_distribution(void **state)
{
    (void)state;
    enum { D = 6, ALIVE = 4, DEAD = 400, H = ALIVE + DEAD, R = 4 };
    float x[R * D];
    tu_fill_uniform(x, R * D, -1, 1, 21);
    for (size_t b = 0; b < R; b++)
        for (size_t i = 0; i < D; i++)
            x[b * D + i] *= 1.0f + 0.6f * (float)b;
    double loss[R];
    size_t count[R] = {0};
    for (int on = 0; on < 2; on++) {
        sae_config_t *cfg = tu_config(D, H);
        set(cfg, "arch.hidden_activation", "relu");
        set(cfg, "resample.every", on ? "2" : "0");
        set(cfg, "resample.dead_after", "1");
        sae_model_t *m = NULL;
        sae_trainer_t *t = NULL;
        assert_int_equal(sae_model_create(cfg, &m), SAE_OK);
        sae_dense_t *dn = sae_dense(m);
        for (size_t j = 0; j < H; j++)
            dn->enc_b[j] = j < DEAD ? -1000.0f : 10.0f;
        assert_int_equal(sae_trainer_create(m, &t), SAE_OK);
        sae_stats_t st;
        assert_int_equal(sae_trainer_step(t, x, R, &st), SAE_OK);
        assert_int_equal(sae_trainer_step(t, x, R, &st), SAE_OK);
        if (!on) {
            float out[R * D];
            assert_int_equal(sae_model_reconstruct(m, x, R, out), SAE_OK);
            for (size_t b = 0; b < R; b++) {
                loss[b] = 0.0;
                for (size_t i = 0; i < D; i++)
                    loss[b] += ((double)x[b * D + i] - out[b * D + i]) *
                               ((double)x[b * D + i] - out[b * D + i]);
            }
        } else {
            assert_int_equal(t->recipe.resampled_units, DEAD);
            for (size_t j = 0; j < DEAD; j++) {
                size_t hit = R;
                for (size_t b = 0; b < R && hit == R; b++) {
                    double nb = norm(x + b * D, D), dot = 0.0;
                    for (size_t i = 0; i < D; i++)
                        dot += (double)dn->dec_w[j * D + i] * x[b * D + i];
                    if (dot / nb > 1.0 - 1e-6)
                        hit = b;
                }
                assert_true(hit < R);
                count[hit]++;
            }
        }
        sae_trainer_free(t);
        sae_model_free(m);
        sae_config_free(cfg);
    }
    double total = 0.0, chi2 = 0.0;
    for (size_t b = 0; b < R; b++)
        total += loss[b] * loss[b];
    for (size_t b = 0; b < R; b++) {
        double want = DEAD * loss[b] * loss[b] / total;
        chi2 += ((double)count[b] - want) * ((double)count[b] - want) / want;
        print_message("row %zu: loss %.4f, drawn %zu times, expected %.1f\n", b, loss[b],
                      count[b], want);
    }
    print_message("chi-square %.3f (3 dof; 16.27 at p = 0.001)\n", chi2);
    assert_true(chi2 < 16.27);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_shapes),
        cmocka_unit_test(test_schedule_in_training),
        cmocka_unit_test(test_sparsity_warmup),
        cmocka_unit_test(test_unit_norm_atoms_not_decayed),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_input_normalisation),
        cmocka_unit_test(test_resampling),
        cmocka_unit_test(test_resampling_distribution),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
