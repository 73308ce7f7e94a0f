/* Config API: parameter table against sae.h, typed and string setters with
 * their bounds and error paths, text round trips, clone/free, status
 * strings, version, user regularizers and their lifetime.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* msg must be a non-empty string containing needle (when needle != NULL). */
static void check_msg(const char *msg, const char *needle, const char *where)
{
    if (!msg)
        fail_msg("%s: message is NULL", where);
    if (!msg[0])
        fail_msg("%s: message is empty", where);
    if (needle && !strstr(msg, needle))
        fail_msg("%s: message \"%s\" does not name \"%s\"", where, msg, needle);
}

/* Calls on a const handle cannot store into the handle, so sae.h's rule
 * ("the handle keeps the message") may land in either place: accept the
 * handle's message or sae_last_error(), whichever names the problem. */
static void check_msg_either(const sae_config_t *cfg, const char *needle, const char *where)
{
    const char *h = sae_config_errmsg(cfg), *g = sae_last_error();
    if (h && h[0] && (!needle || strstr(h, needle)))
        return;
    if (g && g[0] && (!needle || strstr(g, needle)))
        return;
    fail_msg("%s: neither handle message \"%s\" nor last error \"%s\" names \"%s\"", where,
             h ? h : "(null)", g ? g : "(null)", needle ? needle : "");
}

/* Whether v lies in the bounds that sae_param_info reports. */
static int in_reported_bounds(sae_param_t p, double v)
{
    double lo, hi;
    int lo_open, hi_open;
    assert_int_equal(sae_param_info(p, NULL, &lo, &hi, &lo_open, &hi_open), SAE_OK);
    if (isnan(v))
        return 0;
    if (lo_open ? !(v > lo) : !(v >= lo))
        return 0;
    return hi_open ? v < hi : v <= hi;
}

/* The value of any parameter as a double, whatever its type. */
static double get_any(const sae_config_t *cfg, sae_param_t p)
{
    sae_param_type_t t;
    assert_int_equal(sae_param_info(p, &t, NULL, NULL, NULL, NULL), SAE_OK);
    if (t == SAE_TYPE_INT) {
        int64_t v = -12345;
        tu_assert_status(sae_config_get_int(cfg, p, &v), SAE_OK);
        return (double)v;
    }
    double v = -12345.0;
    tu_assert_status(sae_config_get_float(cfg, p, &v), SAE_OK);
    return v;
}

static sae_status_t set_any(sae_config_t *cfg, sae_param_t p, double v)
{
    sae_param_type_t t;
    assert_int_equal(sae_param_info(p, &t, NULL, NULL, NULL, NULL), SAE_OK);
    return t == SAE_TYPE_INT ? sae_config_set_int(cfg, p, (int64_t)v)
                             : sae_config_set_float(cfg, p, v);
}

/* Number of parameters reported by sae_param_at. */
static size_t param_count(void)
{
    size_t n = 0;
    sae_param_t p;
    while (sae_param_at(n, &p) == SAE_OK)
        n++;
    return n;
}

/* An in-bounds value different from the default, with many significant
 * digits for floats so that the text form must keep full precision. */
static double non_default_value(sae_param_t p, double def)
{
    sae_param_type_t t;
    double lo, hi;
    int lo_open, hi_open;
    assert_int_equal(sae_param_info(p, &t, &lo, &hi, &lo_open, &hi_open), SAE_OK);
    double v;
    if (t == SAE_TYPE_INT)
        v = in_reported_bounds(p, def + 1) ? def + 1 : def - 1;
    else
        v = lo + (hi - lo) * 0.31830988618379067;
    assert_true(in_reported_bounds(p, v));
    assert_true(v != def);
    return v;
}

/* ------------------------------------------------------------------------ */
/* The parameter table as sae.h documents it                                */
/* ------------------------------------------------------------------------ */

typedef struct spec {
    sae_param_t id;
    const char *name;
    sae_param_type_t type;
    double def;          /* NAN: no default documented */
    double lo, hi;       /* NAN: bound not documented */
    int lo_open, hi_open;
} spec_t;

#define I SAE_TYPE_INT
#define F SAE_TYPE_FLOAT
#define U NAN
static const spec_t specs[] = {
    {SAE_P_INPUT_DIM, "arch.input_dim", I, U, 1, U, 0, 0},
    {SAE_P_HIDDEN_DIM, "arch.hidden_dim", I, U, 1, U, 0, 0},
    {SAE_P_HIDDEN_ACTIVATION, "arch.hidden_activation", I, SAE_ACT_SIGMOID, 0, 5, 0, 0},
    {SAE_P_OUTPUT_ACTIVATION, "arch.output_activation", I, SAE_ACT_LINEAR, 0, 4, 0, 0},
    {SAE_P_TIED, "arch.tied", I, 0, 0, 1, 0, 0},
    {SAE_P_BIAS, "arch.bias", I, 1, 0, 1, 0, 0},
    {SAE_P_INIT_SCALE, "arch.init_scale", F, 1, U, U, 0, 0},
    {SAE_P_INIT, "arch.init", I, SAE_INIT_GLOROT_UNIFORM, 0, 2, 0, 0},
    {SAE_P_UNIT_NORM_DECODER, "arch.unit_norm_decoder", I, 0, 0, 1, 0, 0},
    {SAE_P_ENCODER_FROM_DECODER, "arch.encoder_from_decoder", I, 0, 0, 1, 0, 0},
    {SAE_P_PRE_ENCODER_BIAS, "arch.pre_encoder_bias", I, 0, 0, 1, 0, 0},
    {SAE_P_BIAS_INIT, "arch.bias_init", I, SAE_BIAS_INIT_ZERO, 0, 2, 0, 0},
    {SAE_P_GATED, "arch.gated", I, 0, 0, 1, 0, 0},
    {SAE_P_PENALIZE, "arch.penalize", I, 0, 0, 2, 0, 0},
    {SAE_P_LOSS, "loss.type", I, SAE_LOSS_MSE, 0, 1, 0, 0},
    {SAE_P_LOSS_REDUCTION, "loss.reduction", I, SAE_REDUCE_MEAN, 0, 1, 0, 0},
    {SAE_P_OPTIMIZER, "optim.type", I, SAE_OPT_ADAM, 0, 2, 0, 0},
    {SAE_P_LEARNING_RATE, "optim.lr", F, 1e-3, 0, U, 1, 0},
    {SAE_P_MOMENTUM, "optim.momentum", F, 0.9, 0, 1, 0, 1},
    {SAE_P_ADAM_BETA1, "optim.beta1", F, 0.9, 0, 1, 0, 1},
    {SAE_P_ADAM_BETA2, "optim.beta2", F, 0.999, 0, 1, 0, 1},
    {SAE_P_ADAM_EPS, "optim.eps", F, 1e-8, 0, U, 1, 0},
    {SAE_P_LR_DECAY_EVERY, "schedule.decay_every", I, 0, U, U, 0, 0},
    {SAE_P_LR_DECAY_FACTOR, "schedule.decay_factor", F, 0.5, 0, 1, 1, 0},
    {SAE_P_LBFGS_MEMORY, "lbfgs.memory", I, 10, 1, 1000, 0, 0},
    {SAE_P_LBFGS_TOLERANCE, "lbfgs.tolerance", F, 1e-5, 0, 1, 0, 0},
    {SAE_P_BATCH_SIZE, "train.batch_size", I, 100, 1, U, 0, 0},
    {SAE_P_SEED, "train.seed", I, 0, 0, U, 0, 0},
    {SAE_P_SAMPLING, "train.sampling", I, SAE_SAMPLE_SHUFFLE, 0, 2, 0, 0},
    {SAE_P_THREADS, "train.threads", I, 0, U, U, 0, 0},
    {SAE_P_PRECISION, "train.precision", I, SAE_PRECISION_FP32, 0, 1, 0, 0},
    {SAE_P_GEMM, "train.gemm", I, SAE_GEMM_AUTO, 0, 2, 0, 0},
    {SAE_P_WEIGHT_DECAY, "decay.l2", F, 0, 0, U, 0, 0},
    {SAE_P_DECAY_ENCODER, "decay.encoder", I, 1, 0, 1, 0, 0},
    {SAE_P_DECAY_DECODER, "decay.decoder", I, 1, 0, 1, 0, 0},
    {SAE_P_NOISE_STDDEV, "corrupt.noise_std", F, 0, 0, U, 0, 0},
    {SAE_P_NOISE_CLIP, "corrupt.noise_clip", F, 2, U, U, 0, 0},
    {SAE_P_INPUT_KEEP, "corrupt.input_keep", F, 1, 0, 1, 1, 0},
    {SAE_P_HIDDEN_KEEP, "corrupt.hidden_keep", F, 1, 0, 1, 1, 0},
    {SAE_P_ROLLBACK, "train.rollback", I, 1, 0, 1, 0, 0},
    {SAE_P_KL_WEIGHT, "kl.weight", F, 0, 0, U, 0, 0},
    {SAE_P_KL_RHO, "kl.rho", F, 0.05, 0, 1, 1, 1},
    {SAE_P_KL_SQUASH, "kl.squash", I, 0, 0, 1, 0, 0},
    {SAE_P_L1_WEIGHT, "l1.weight", F, 0, 0, U, 0, 0},
    {SAE_P_L0_WEIGHT, "l0.weight", F, 0, 0, U, 0, 0},
    {SAE_P_SAMPLE_WEIGHT, "sample.weight", F, 0, 0, U, 0, 0},
    {SAE_P_SAMPLE_TARGET, "sample.target", F, 0.05, 0, 1, 0, 0},
    {SAE_P_BATCH_WEIGHT, "batch.weight", F, 0, 0, U, 0, 0},
    {SAE_P_BATCH_TARGET, "batch.target", F, 0.05, 0, 1, 0, 0},
    {SAE_P_KWTA_K, "encode.k", I, 0, 0, U, 0, 0},
    {SAE_P_TOPK_K, "topk.k", I, 0, 0, U, 0, 0},
    {SAE_P_TOPK_MODE, "topk.mode", I, 0, 0, 1, 0, 0},
    {SAE_P_TOPK_ALPHA, "topk.alpha", F, 1, 1, U, 0, 0},
    {SAE_P_TOPK_K_START, "topk.k_start", I, 0, 0, U, 0, 0},
    {SAE_P_TOPK_ANNEAL_STEPS, "topk.anneal_steps", I, 0, 0, U, 0, 0},
    {SAE_P_TOPK_SPARSE_PATH, "topk.sparse_path", I, 0, 0, 2, 0, 0},
    {SAE_P_TOPK_INFERENCE, "topk.inference", I, 0, 0, 2, 0, 0},
    {SAE_P_AUXK_K, "auxk.k", I, 0, 0, U, 0, 0},
    {SAE_P_AUXK_ALPHA, "auxk.alpha", F, 1.0 / 32.0, 0, U, 0, 0},
    {SAE_P_AUXK_DEAD_AFTER, "auxk.dead_after", I, 100000, 1, U, 0, 0},
    {SAE_P_JUMPRELU_THRESHOLD_INIT, "jumprelu.threshold_init", F, 0.001, 0, U, 1, 0},
    {SAE_P_JUMPRELU_BANDWIDTH, "jumprelu.bandwidth", F, 0.001, 0, U, 1, 0},
    {SAE_P_JUMPRELU_LR_SCALE, "jumprelu.lr_scale", F, 1.0, 0, U, 1, 0},
    {SAE_P_ALGORITHM, "train.algorithm", I, SAE_ALGO_BACKPROP, 0, 2, 0, 0},
    {SAE_P_NSC_TAU, "nsc.tau", F, 0.5, 0, U, 0, 0},
    {SAE_P_NSC_ETA, "nsc.eta", F, 1, 0, U, 1, 0},
    {SAE_P_RANK_ORDER_LR, "rank_order.lr", F, 1, 0, U, 1, 0},
    {SAE_P_RANK_ORDER_MAX_NORM, "rank_order.max_norm", F, 0.1, 0, U, 0, 0},
    {SAE_P_RANK_ORDER_DECAY, "rank_order.decay_factor", F, 0.9, 0, 1, 1, 0},
    {SAE_P_RANK_ORDER_MIN_IMPROVEMENT, "rank_order.min_improvement", F, 0.01, 0, U, 0, 0},
    /* arch2: the modern SAE family's keys (0.4) */
    {SAE_P_L1_DECODER_NORM, "l1.decoder_norm", I, 0, 0, 1, 0, 0},
    {SAE_P_MATRYOSHKA_WEIGHTING, "matryoshka.weighting", I, 0, 0, 1, 0, 0},
    {SAE_P_SCHEDULE_TYPE, "schedule.type", I, 0, 0, 3, 0, 0},
    {SAE_P_SCHEDULE_WARMUP, "schedule.warmup_steps", I, 0, 0, U, 0, 0},
    {SAE_P_SCHEDULE_DECAY_START, "schedule.decay_start", I, 0, 0, U, 0, 0},
    {SAE_P_SCHEDULE_TOTAL, "schedule.total_steps", I, 0, 0, U, 0, 0},
    {SAE_P_SCHEDULE_MIN_FACTOR, "schedule.min_factor", F, 0, 0, 1, 0, 0},
    {SAE_P_SPARSITY_WARMUP, "sparsity.warmup_steps", I, 0, 0, U, 0, 0},
    {SAE_P_NORMALIZE_INPUT, "arch.normalize_input", I, 0, 0, 1, 0, 0},
    {SAE_P_INPUT_SCALE, "arch.input_scale", F, 0, 0, U, 0, 0},
    {SAE_P_RESAMPLE_EVERY, "resample.every", I, 0, 0, U, 0, 0},
    {SAE_P_RESAMPLE_DEAD_AFTER, "resample.dead_after", I, 100000, 1, U, 0, 0},
    {SAE_P_RESAMPLE_ENCODER_SCALE, "resample.encoder_scale", F, 0.2, 0, U, 0, 0},
};
#undef I
#undef F
#undef U
#define N_SPECS (sizeof specs / sizeof specs[0])

static const spec_t *find_spec(sae_param_t id)
{
    for (size_t i = 0; i < N_SPECS; i++)
        if (specs[i].id == id)
            return &specs[i];
    return NULL;
}

/* Ids that are not parameters: below, between and above the groups. */
static const int bad_ids[] = {0, -1, 99, 150, 199, 1101, 9999, 0x7fffffff};
#define N_BAD_IDS (sizeof bad_ids / sizeof bad_ids[0])

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static void test_create_free(void **state)
{
    (void)state;
    sae_config_t *cfg = (sae_config_t *)(uintptr_t)1; /* must be overwritten */
    tu_assert_status(sae_config_create(&cfg), SAE_OK);
    assert_non_null(cfg);
    /* A fresh handle has no error message yet. */
    assert_string_equal(sae_config_errmsg(cfg), "");
    sae_config_free(cfg);
    sae_config_free(NULL); /* documented to be a no-op */

    tu_assert_status(sae_config_create(NULL), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "sae_config_create(NULL)");
    assert_string_equal(sae_config_errmsg(NULL), "");
    assert_non_null(sae_last_error());
}

static void test_clone_is_deep(void **state)
{
    (void)state;
    sae_config_t *a = tu_config(13, 7);
    tu_assert_status(sae_config_set_float(a, SAE_P_KL_RHO, 0.2), SAE_OK);
    tu_assert_status(sae_config_set_int(a, SAE_P_LOSS, SAE_LOSS_BCE), SAE_OK);

    sae_config_t *b = NULL;
    tu_assert_status(sae_config_clone(a, &b), SAE_OK);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    /* Same values everywhere. */
    size_t n = param_count();
    for (size_t i = 0; i < n; i++) {
        sae_param_t p;
        assert_int_equal(sae_param_at(i, &p), SAE_OK);
        assert_true(get_any(a, p) == get_any(b, p));
    }
    /* Changing the clone leaves the original, and the reverse. */
    tu_assert_status(sae_config_set_float(b, SAE_P_KL_RHO, 0.3), SAE_OK);
    tu_assert_status(sae_config_set_int(b, SAE_P_HIDDEN_DIM, 99), SAE_OK);
    assert_true(get_any(a, SAE_P_KL_RHO) == 0.2);
    assert_true(get_any(a, SAE_P_HIDDEN_DIM) == 7);
    tu_assert_status(sae_config_set(a, "optim.type", "sgd"), SAE_OK);
    assert_true(get_any(b, SAE_P_OPTIMIZER) == SAE_OPT_ADAM);
    /* An error on one handle is not seen on the other. */
    tu_assert_status(sae_config_set_float(b, SAE_P_KL_RHO, 2.0), SAE_ERR_RANGE);
    check_msg(sae_config_errmsg(b), "kl.rho", "clone errmsg");
    assert_string_equal(sae_config_errmsg(a), "");
    /* The clone outlives its original. */
    sae_config_free(a);
    assert_true(get_any(b, SAE_P_KL_RHO) == 0.3);
    assert_true(get_any(b, SAE_P_INPUT_DIM) == 13);
    sae_config_free(b);

    /* NULL arguments. */
    sae_config_t *c = tu_config(3, 2);
    tu_assert_status(sae_config_clone(c, NULL), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "clone(cfg, NULL)");
    sae_config_t *d = NULL;
    tu_assert_status(sae_config_clone(NULL, &d), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "clone(NULL, out)");
    assert_null(d);
    sae_config_free(c);
}

/* Every id from sae_param_at: named, found back by name, documented in
 * sae.h with that name and type, default inside its bounds and returned by
 * the getter. */
static void test_param_table(void **state)
{
    (void)state;
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    size_t n = param_count();
    assert_int_equal(n, N_SPECS);
    for (size_t i = 0; i < n; i++) {
        sae_param_t p;
        tu_assert_status(sae_param_at(i, &p), SAE_OK);
        const char *name = sae_param_name(p);
        assert_non_null(name);
        assert_true(name[0] != '\0');
        assert_non_null(strchr(name, '.')); /* "group.name" */
        sae_param_t back = (sae_param_t)-1;
        tu_assert_status(sae_param_lookup(name, &back), SAE_OK);
        assert_int_equal(back, p);

        const spec_t *s = find_spec(p);
        if (!s)
            fail_msg("parameter %d (%s) is not documented in sae.h", (int)p, name);
        assert_string_equal(name, s->name);

        sae_param_type_t type;
        double lo, hi;
        int lo_open = -1, hi_open = -1;
        tu_assert_status(sae_param_info(p, &type, &lo, &hi, &lo_open, &hi_open), SAE_OK);
        assert_int_equal(type, s->type);
        assert_true(lo_open == 0 || lo_open == 1);
        assert_true(hi_open == 0 || hi_open == 1);
        assert_true(lo <= hi);
        if (!isnan(s->lo)) {
            assert_true(lo == s->lo);
            assert_int_equal(lo_open, s->lo_open);
        }
        if (!isnan(s->hi)) {
            assert_true(hi == s->hi);
            assert_int_equal(hi_open, s->hi_open);
        }
        double def = get_any(cfg, p);
        if (!in_reported_bounds(p, def))
            fail_msg("%s: default %g is outside its bounds", name, def);
        if (!isnan(s->def) && def != s->def)
            fail_msg("%s: default %.17g, sae.h says %.17g", name, def, s->def);
        if (type == SAE_TYPE_INT)
            assert_true(def == floor(def));
        /* Every id appears once. */
        for (size_t j = 0; j < i; j++) {
            sae_param_t q;
            assert_int_equal(sae_param_at(j, &q), SAE_OK);
            assert_int_not_equal(q, p);
        }
    }
    /* Every documented id is listed. */
    for (size_t k = 0; k < N_SPECS; k++)
        assert_non_null(sae_param_name(specs[k].id));

    /* Past the end, and NULL. */
    sae_param_t p;
    tu_assert_status(sae_param_at(n, &p), SAE_ERR_RANGE);
    check_msg(sae_last_error(), NULL, "sae_param_at(n)");
    tu_assert_status(sae_param_at(SIZE_MAX, &p), SAE_ERR_RANGE);
    tu_assert_status(sae_param_at(0, NULL), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "sae_param_at(0, NULL)");

    /* Lookup errors. */
    tu_assert_status(sae_param_lookup("kl.nope", &p), SAE_ERR_UNKNOWN_KEY);
    check_msg(sae_last_error(), "kl.nope", "sae_param_lookup(unknown)");
    tu_assert_status(sae_param_lookup("", &p), SAE_ERR_UNKNOWN_KEY);
    tu_assert_status(sae_param_lookup("KL.RHO", &p), SAE_ERR_UNKNOWN_KEY); /* keys exact */
    tu_assert_status(sae_param_lookup(NULL, &p), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "sae_param_lookup(NULL)");
    tu_assert_status(sae_param_lookup("kl.rho", NULL), SAE_ERR_NULL);

    /* Info with every output NULL is fine. */
    tu_assert_status(sae_param_info(SAE_P_KL_RHO, NULL, NULL, NULL, NULL, NULL), SAE_OK);
    sae_config_free(cfg);
}

/* Unknown ids everywhere an id is taken. */
static void test_unknown_ids(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(4, 3);
    for (size_t i = 0; i < N_BAD_IDS; i++) {
        sae_param_t p = (sae_param_t)bad_ids[i];
        char id[32];
        snprintf(id, sizeof id, "%d", bad_ids[i]);
        assert_null(sae_param_name(p));
        tu_assert_status(sae_param_info(p, NULL, NULL, NULL, NULL, NULL), SAE_ERR_UNKNOWN_KEY);
        check_msg(sae_last_error(), id, "sae_param_info(bad id)");
        tu_assert_status(sae_config_set_int(cfg, p, 1), SAE_ERR_UNKNOWN_KEY);
        check_msg(sae_config_errmsg(cfg), id, "set_int(bad id)");
        tu_assert_status(sae_config_set_float(cfg, p, 0.5), SAE_ERR_UNKNOWN_KEY);
        check_msg(sae_config_errmsg(cfg), id, "set_float(bad id)");
        int64_t iv = 77;
        double fv = 77.0;
        tu_assert_status(sae_config_get_int(cfg, p, &iv), SAE_ERR_UNKNOWN_KEY);
        check_msg_either(cfg, id, "get_int(bad id)");
        tu_assert_status(sae_config_get_float(cfg, p, &fv), SAE_ERR_UNKNOWN_KEY);
        check_msg_either(cfg, id, "get_float(bad id)");
        assert_int_equal(iv, 77);
        assert_true(fv == 77.0);
    }
    sae_config_free(cfg);
}

/* Every parameter has a one-line meaning (the guide's table prints it);
 * an unknown id has none. */
static void test_param_doc(void **state)
{
    (void)state;
    size_t n = param_count();
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        sae_param_t p;
        tu_assert_status(sae_param_at(i, &p), SAE_OK);
        const char *doc = sae_param_doc(p);
        if (!doc || !doc[0])
            fail_msg("%s has no meaning", sae_param_name(p));
        if (strpbrk(doc, "\t\n"))
            fail_msg("%s: meaning is not one line: \"%s\"", sae_param_name(p), doc);
    }
    for (size_t i = 0; i < N_BAD_IDS; i++)
        assert_null(sae_param_doc((sae_param_t)bad_ids[i]));
}

/* NULL handle or output pointer on every config call. */
static void test_null_arguments(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(4, 3);
    int64_t iv;
    double fv;
    char buf[64];

    tu_assert_status(sae_config_set_int(NULL, SAE_P_SEED, 1), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "set_int(NULL)");
    tu_assert_status(sae_config_set_float(NULL, SAE_P_KL_RHO, 0.5), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "set_float(NULL)");
    tu_assert_status(sae_config_get_int(NULL, SAE_P_SEED, &iv), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "get_int(NULL)");
    tu_assert_status(sae_config_get_int(cfg, SAE_P_SEED, NULL), SAE_ERR_NULL);
    check_msg_either(cfg, "NULL", "get_int(cfg, NULL)");
    tu_assert_status(sae_config_get_float(NULL, SAE_P_KL_RHO, &fv), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "get_float(NULL)");
    tu_assert_status(sae_config_get_float(cfg, SAE_P_KL_RHO, NULL), SAE_ERR_NULL);
    check_msg_either(cfg, "NULL", "get_float(cfg, NULL)");

    tu_assert_status(sae_config_set(NULL, "kl.rho", "0.1"), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "set(NULL)");
    tu_assert_status(sae_config_set(cfg, NULL, "0.1"), SAE_ERR_NULL);
    check_msg(sae_config_errmsg(cfg), "NULL", "set(cfg, NULL key)");
    tu_assert_status(sae_config_set(cfg, "kl.rho", NULL), SAE_ERR_NULL);
    check_msg(sae_config_errmsg(cfg), "NULL", "set(cfg, key, NULL)");

    tu_assert_status(sae_config_get(NULL, "kl.rho", buf, sizeof buf), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "get(NULL)");
    tu_assert_status(sae_config_get(cfg, NULL, buf, sizeof buf), SAE_ERR_NULL);
    check_msg_either(cfg, "NULL", "get(cfg, NULL key)");
    tu_assert_status(sae_config_get(cfg, "kl.rho", NULL, sizeof buf), SAE_ERR_NULL);
    check_msg_either(cfg, "NULL", "get(cfg, key, NULL buf)");

    sae_regularizer_ops_t ops = {sizeof ops, "x", NULL, NULL};
    tu_assert_status(sae_config_add_regularizer(NULL, &ops, NULL, 1.0f), SAE_ERR_NULL);
    check_msg(sae_last_error(), "NULL", "add_regularizer(NULL)");

    /* Nothing above changed a value. */
    assert_true(get_any(cfg, SAE_P_SEED) == 0);
    assert_true(get_any(cfg, SAE_P_KL_RHO) == 0.05);
    sae_config_free(cfg);
}

/* Setting exactly at each bound (and just past it) is accepted or rejected
 * as the open/closed flags say, a rejected value leaves the old one and
 * the message names the parameter. */
static void test_bounds_generic(void **state)
{
    (void)state;
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    size_t n = param_count();
    for (size_t i = 0; i < n; i++) {
        sae_param_t p;
        assert_int_equal(sae_param_at(i, &p), SAE_OK);
        const char *name = sae_param_name(p);
        sae_param_type_t t;
        double lo, hi;
        int lo_open, hi_open;
        assert_int_equal(sae_param_info(p, &t, &lo, &hi, &lo_open, &hi_open), SAE_OK);
        double def = get_any(cfg, p);

        /* Values just outside each bound, and the bounds themselves. */
        double below = t == SAE_TYPE_INT ? lo - 1 : nextafter(lo, -INFINITY);
        double above = t == SAE_TYPE_INT ? hi + 1 : nextafter(hi, INFINITY);
        double inside_lo = t == SAE_TYPE_INT ? lo + 1 : nextafter(lo, INFINITY);
        double inside_hi = t == SAE_TYPE_INT ? hi - 1 : nextafter(hi, -INFINITY);
        const struct {
            double v;
            int ok;
        } cases[] = {{below, 0}, {lo, !lo_open}, {inside_lo, 1},
                     {inside_hi, 1}, {hi, !hi_open}, {above, 0}};
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            double v = cases[c].v;
            /* Start from the default each time: the old value must stay. */
            tu_assert_status(set_any(cfg, p, def), SAE_OK);
            sae_status_t st = set_any(cfg, p, v);
            if (cases[c].ok) {
                if (st != SAE_OK)
                    fail_msg("%s = %.17g rejected (%d) but in bounds", name, v, (int)st);
                assert_true(get_any(cfg, p) == v);
            } else {
                if (st != SAE_ERR_RANGE)
                    fail_msg("%s = %.17g gave %d, expected SAE_ERR_RANGE", name, v, (int)st);
                check_msg(sae_config_errmsg(cfg), name, name);
                assert_true(get_any(cfg, p) == def);
            }
        }
        /* NaN and infinities are never in bounds for a float. */
        if (t == SAE_TYPE_FLOAT) {
            const double bad[] = {NAN, -NAN, INFINITY, -INFINITY};
            for (size_t b = 0; b < 4; b++) {
                tu_assert_status(sae_config_set_float(cfg, p, bad[b]), SAE_ERR_RANGE);
                check_msg(sae_config_errmsg(cfg), name, name);
                assert_true(get_any(cfg, p) == def);
            }
        }
        tu_assert_status(set_any(cfg, p, def), SAE_OK);
    }
    sae_config_free(cfg);
}

/* The specific bounds named in sae.h, spelled out. */
static void test_bounds_documented(void **state)
{
    (void)state;
    sae_config_t *cfg = NULL;
    double v;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);

    /* kl.rho in (0,1). */
    tu_assert_status(sae_config_set_float(cfg, SAE_P_KL_RHO, 0.0), SAE_ERR_RANGE);
    check_msg(sae_config_errmsg(cfg), "kl.rho", "kl.rho = 0");
    tu_assert_status(sae_config_set_float(cfg, SAE_P_KL_RHO, 1.0), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_KL_RHO, -0.5), SAE_ERR_RANGE);
    assert_int_equal(sae_config_get_float(cfg, SAE_P_KL_RHO, &v), SAE_OK);
    assert_true(v == 0.05);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_KL_RHO, 0.5), SAE_OK);
    assert_int_equal(sae_config_get_float(cfg, SAE_P_KL_RHO, &v), SAE_OK);
    assert_true(v == 0.5);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_KL_RHO, 1.0), SAE_ERR_RANGE);
    assert_int_equal(sae_config_get_float(cfg, SAE_P_KL_RHO, &v), SAE_OK);
    assert_true(v == 0.5); /* the previous value, not the default */

    /* optim.lr > 0. */
    tu_assert_status(sae_config_set_float(cfg, SAE_P_LEARNING_RATE, 0.0), SAE_ERR_RANGE);
    check_msg(sae_config_errmsg(cfg), "optim.lr", "optim.lr = 0");
    tu_assert_status(sae_config_set_float(cfg, SAE_P_LEARNING_RATE, -1e-3), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_LEARNING_RATE, 0.25), SAE_OK);
    assert_true(get_any(cfg, SAE_P_LEARNING_RATE) == 0.25);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_ADAM_EPS, 0.0), SAE_ERR_RANGE);

    /* corrupt.input_keep and hidden_keep in (0,1]. */
    tu_assert_status(sae_config_set_float(cfg, SAE_P_INPUT_KEEP, 0.0), SAE_ERR_RANGE);
    check_msg(sae_config_errmsg(cfg), "corrupt.input_keep", "input_keep = 0");
    tu_assert_status(sae_config_set_float(cfg, SAE_P_INPUT_KEEP, 1.0), SAE_OK);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_INPUT_KEEP, 1.5), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_HIDDEN_KEEP, 0.0), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_HIDDEN_KEEP, 1.0), SAE_OK);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_LR_DECAY_FACTOR, 0.0), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_LR_DECAY_FACTOR, 1.0), SAE_OK);

    /* [0,1) for momentum and betas. */
    const sae_param_t half_open[] = {SAE_P_MOMENTUM, SAE_P_ADAM_BETA1, SAE_P_ADAM_BETA2};
    for (size_t i = 0; i < 3; i++) {
        tu_assert_status(sae_config_set_float(cfg, half_open[i], 0.0), SAE_OK);
        tu_assert_status(sae_config_set_float(cfg, half_open[i], 1.0), SAE_ERR_RANGE);
        check_msg(sae_config_errmsg(cfg), sae_param_name(half_open[i]), "beta = 1");
        assert_true(get_any(cfg, half_open[i]) == 0.0);
    }
    /* Targets in [0,1]. */
    tu_assert_status(sae_config_set_float(cfg, SAE_P_SAMPLE_TARGET, 0.0), SAE_OK);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_SAMPLE_TARGET, 1.0), SAE_OK);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_BATCH_TARGET, 1.0 + 1e-9), SAE_ERR_RANGE);

    /* Weights >= 0: zero is fine, negative is not. */
    const sae_param_t weights[] = {SAE_P_KL_WEIGHT, SAE_P_L1_WEIGHT, SAE_P_L0_WEIGHT, SAE_P_SAMPLE_WEIGHT,
                                   SAE_P_BATCH_WEIGHT,  SAE_P_WEIGHT_DECAY, SAE_P_NOISE_STDDEV};
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; i++) {
        tu_assert_status(sae_config_set_float(cfg, weights[i], 0.75), SAE_OK);
        tu_assert_status(sae_config_set_float(cfg, weights[i], -0.1), SAE_ERR_RANGE);
        check_msg(sae_config_errmsg(cfg), sae_param_name(weights[i]), "negative weight");
        assert_true(get_any(cfg, weights[i]) == 0.75);
        tu_assert_status(sae_config_set_float(cfg, weights[i], 0.0), SAE_OK);
        tu_assert_status(sae_config_set_float(cfg, weights[i], NAN), SAE_ERR_RANGE);
        tu_assert_status(sae_config_set_float(cfg, weights[i], INFINITY), SAE_ERR_RANGE);
        assert_true(get_any(cfg, weights[i]) == 0.0);
    }

    /* Integers: sizes >= 1, enums and booleans within their values. */
    tu_assert_status(sae_config_set_int(cfg, SAE_P_INPUT_DIM, 0), SAE_ERR_RANGE);
    check_msg(sae_config_errmsg(cfg), "arch.input_dim", "input_dim = 0");
    tu_assert_status(sae_config_set_int(cfg, SAE_P_HIDDEN_DIM, 0), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_BATCH_SIZE, 0), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_BATCH_SIZE, -5), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_SEED, -1), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_KWTA_K, -1), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_TIED, 2), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_LOSS, 2), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_OPTIMIZER, -1), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_SAMPLING, 3), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_HIDDEN_ACTIVATION, 6), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_OUTPUT_ACTIVATION, SAE_ACT_JUMPRELU),
                     SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_TOPK_INFERENCE, 3), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_JUMPRELU_THRESHOLD_INIT, 0.0), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_JUMPRELU_BANDWIDTH, 0.0), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_float(cfg, SAE_P_JUMPRELU_BANDWIDTH, -1e-3), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_HIDDEN_ACTIVATION, SAE_ACT_TRELU), SAE_OK);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_HIDDEN_ACTIVATION, SAE_ACT_TANH), SAE_OK);
    /* Extreme 64-bit values must not wrap into range. */
    tu_assert_status(sae_config_set_int(cfg, SAE_P_BATCH_SIZE, INT64_MAX), SAE_ERR_RANGE);
    tu_assert_status(sae_config_set_int(cfg, SAE_P_SEED, INT64_MIN), SAE_ERR_RANGE);
    assert_true(get_any(cfg, SAE_P_BATCH_SIZE) == 100);
    assert_true(get_any(cfg, SAE_P_SEED) == 0);
    sae_config_free(cfg);
}

/* set_int on a float parameter and the reverse, for every parameter. */
static void test_wrong_type(void **state)
{
    (void)state;
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    size_t n = param_count();
    for (size_t i = 0; i < n; i++) {
        sae_param_t p;
        assert_int_equal(sae_param_at(i, &p), SAE_OK);
        const char *name = sae_param_name(p);
        sae_param_type_t t;
        assert_int_equal(sae_param_info(p, &t, NULL, NULL, NULL, NULL), SAE_OK);
        double before = get_any(cfg, p);
        if (t == SAE_TYPE_FLOAT) {
            tu_assert_status(sae_config_set_int(cfg, p, 0), SAE_ERR_TYPE);
            check_msg(sae_config_errmsg(cfg), name, "set_int on a float");
            int64_t iv = 42;
            tu_assert_status(sae_config_get_int(cfg, p, &iv), SAE_ERR_TYPE);
            check_msg_either(cfg, name, "get_int on a float");
            assert_int_equal(iv, 42);
        } else {
            tu_assert_status(sae_config_set_float(cfg, p, 1.0), SAE_ERR_TYPE);
            check_msg(sae_config_errmsg(cfg), name, "set_float on an int");
            double fv = 42.0;
            tu_assert_status(sae_config_get_float(cfg, p, &fv), SAE_ERR_TYPE);
            check_msg_either(cfg, name, "get_float on an int");
            assert_true(fv == 42.0);
        }
        assert_true(get_any(cfg, p) == before);
    }
    sae_config_free(cfg);
}

static void test_set_string_values(void **state)
{
    (void)state;
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    double v;
    tu_assert_status(sae_config_set(cfg, "kl.rho", "0.08"), SAE_OK);
    assert_int_equal(sae_config_get_float(cfg, SAE_P_KL_RHO, &v), SAE_OK);
    assert_true(v == 0.08);
    tu_assert_status(sae_config_set(cfg, "optim.lr", "2.5e-4"), SAE_OK);
    assert_true(get_any(cfg, SAE_P_LEARNING_RATE) == 2.5e-4);
    tu_assert_status(sae_config_set(cfg, "train.batch_size", "64"), SAE_OK);
    assert_true(get_any(cfg, SAE_P_BATCH_SIZE) == 64);
    tu_assert_status(sae_config_set(cfg, "train.seed", "123456789012"), SAE_OK);
    assert_true(get_any(cfg, SAE_P_SEED) == 123456789012.0);

    /* Enums by name, case-insensitively, and by number. */
    const struct {
        const char *key, *value;
        sae_param_t id;
        int64_t expect;
    } names[] = {
        {"arch.hidden_activation", "linear", SAE_P_HIDDEN_ACTIVATION, SAE_ACT_LINEAR},
        {"arch.hidden_activation", "relu", SAE_P_HIDDEN_ACTIVATION, SAE_ACT_RELU},
        {"arch.hidden_activation", "tanh", SAE_P_HIDDEN_ACTIVATION, SAE_ACT_TANH},
        {"arch.hidden_activation", "sigmoid", SAE_P_HIDDEN_ACTIVATION, SAE_ACT_SIGMOID},
        {"arch.output_activation", "sigmoid", SAE_P_OUTPUT_ACTIVATION, SAE_ACT_SIGMOID},
        {"loss.type", "BCE", SAE_P_LOSS, SAE_LOSS_BCE},
        {"loss.type", "mse", SAE_P_LOSS, SAE_LOSS_MSE},
        {"loss.type", "bce", SAE_P_LOSS, SAE_LOSS_BCE},
        {"optim.type", "sgd", SAE_P_OPTIMIZER, SAE_OPT_SGD},
        {"optim.type", "adam", SAE_P_OPTIMIZER, SAE_OPT_ADAM},
        {"train.sampling", "replacement", SAE_P_SAMPLING, SAE_SAMPLE_REPLACEMENT},
        {"train.sampling", "sequential", SAE_P_SAMPLING, SAE_SAMPLE_SEQUENTIAL},
        {"train.sampling", "shuffle", SAE_P_SAMPLING, SAE_SAMPLE_SHUFFLE},
        {"train.sampling", "1", SAE_P_SAMPLING, SAE_SAMPLE_REPLACEMENT},
        {"arch.tied", "true", SAE_P_TIED, 1},
        {"arch.tied", "false", SAE_P_TIED, 0},
        {"arch.tied", "1", SAE_P_TIED, 1},
        {"arch.bias", "0", SAE_P_BIAS, 0},
        {"arch.bias", "TRUE", SAE_P_BIAS, 1},
        {"decay.encoder", "false", SAE_P_DECAY_ENCODER, 0},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        sae_status_t st = sae_config_set(cfg, names[i].key, names[i].value);
        if (st != SAE_OK)
            fail_msg("%s = \"%s\" gave %d: %s", names[i].key, names[i].value, (int)st,
                     sae_config_errmsg(cfg));
        int64_t got = -1;
        assert_int_equal(sae_config_get_int(cfg, names[i].id, &got), SAE_OK);
        assert_int_equal(got, names[i].expect);
    }

    /* In-range numbers that violate a bound are RANGE, not BAD_VALUE. */
    tu_assert_status(sae_config_set(cfg, "kl.rho", "1"), SAE_ERR_RANGE);
    check_msg(sae_config_errmsg(cfg), "kl.rho", "kl.rho = \"1\"");
    tu_assert_status(sae_config_set(cfg, "loss.type", "2"), SAE_ERR_RANGE);
    check_msg(sae_config_errmsg(cfg), "loss.type", "loss.type = \"2\"");
    tu_assert_status(sae_config_set(cfg, "train.batch_size", "0"), SAE_ERR_RANGE);
    assert_true(get_any(cfg, SAE_P_KL_RHO) == 0.08);
    assert_true(get_any(cfg, SAE_P_BATCH_SIZE) == 64);
    sae_config_free(cfg);
}

/* Unparsable text gives BAD_VALUE naming the key and keeps the value. */
static void test_set_string_errors(void **state)
{
    (void)state;
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    const struct {
        const char *key, *value;
    } bad[] = {
        {"kl.rho", "abc"},
        {"kl.rho", ""},
        {"kl.rho", "0.5x"},
        {"kl.rho", "1e999"},
        {"optim.lr", "-1e999"},
        {"train.batch_size", "1.5"},
        {"train.batch_size", ""},
        {"train.batch_size", "abc"},
        {"train.batch_size", "1e3"},
        {"train.batch_size", "12 apples"},
        {"loss.type", "mae"},
        {"loss.type", ""},
        {"arch.tied", "yes"},
        {"train.sampling", "random"},
        {"arch.hidden_activation", "softmax"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sae_param_t p;
        assert_int_equal(sae_param_lookup(bad[i].key, &p), SAE_OK);
        double before = get_any(cfg, p);
        sae_status_t st = sae_config_set(cfg, bad[i].key, bad[i].value);
        if (st != SAE_ERR_BAD_VALUE)
            fail_msg("%s = \"%s\" gave %d, expected SAE_ERR_BAD_VALUE", bad[i].key, bad[i].value,
                     (int)st);
        check_msg(sae_config_errmsg(cfg), bad[i].key, bad[i].value);
        assert_true(get_any(cfg, p) == before);
    }
    /* Non-finite spellings and overflowing integers are rejected; which of
     * the two statuses is a matter of taste, neither may change the value. */
    const struct {
        const char *key, *value;
    } nonfinite[] = {
        {"kl.weight", "nan"},
        {"kl.weight", "inf"},
        {"kl.weight", "-inf"},
        {"optim.lr", "NAN"},
        {"train.seed", "99999999999999999999"},
        {"train.batch_size", "-99999999999999999999"},
    };
    for (size_t i = 0; i < sizeof nonfinite / sizeof nonfinite[0]; i++) {
        sae_param_t p;
        assert_int_equal(sae_param_lookup(nonfinite[i].key, &p), SAE_OK);
        double before = get_any(cfg, p);
        sae_status_t st = sae_config_set(cfg, nonfinite[i].key, nonfinite[i].value);
        if (st != SAE_ERR_BAD_VALUE && st != SAE_ERR_RANGE)
            fail_msg("%s = \"%s\" gave %d", nonfinite[i].key, nonfinite[i].value, (int)st);
        check_msg(sae_config_errmsg(cfg), nonfinite[i].key, nonfinite[i].value);
        assert_true(get_any(cfg, p) == before);
    }

    /* Unknown keys. */
    tu_assert_status(sae_config_set(cfg, "kl.rhoo", "0.1"), SAE_ERR_UNKNOWN_KEY);
    check_msg(sae_config_errmsg(cfg), "kl.rhoo", "set(unknown key)");
    tu_assert_status(sae_config_set(cfg, "no_such_group.key", "1"), SAE_ERR_UNKNOWN_KEY);
    check_msg(sae_config_errmsg(cfg), "no_such_group.key", "set(unknown key)");
    tu_assert_status(sae_config_set(cfg, "", "1"), SAE_ERR_UNKNOWN_KEY);
    check_msg(sae_config_errmsg(cfg), NULL, "set(empty key)");
    sae_config_free(cfg);
}

/* get text -> set on a fresh config -> same value, for every parameter,
 * with a non-default value so the test cannot pass by defaults. */
static void test_get_round_trip(void **state)
{
    (void)state;
    sae_config_t *a = NULL;
    assert_int_equal(sae_config_create(&a), SAE_OK);
    size_t n = param_count();
    for (size_t i = 0; i < n; i++) {
        sae_param_t p;
        assert_int_equal(sae_param_at(i, &p), SAE_OK);
        const char *name = sae_param_name(p);
        char buf[64];
        /* Defaults first. */
        tu_assert_status(sae_config_get(a, name, buf, sizeof buf), SAE_OK);
        assert_true(buf[0] != '\0');
        sae_config_t *b = NULL;
        assert_int_equal(sae_config_create(&b), SAE_OK);
        tu_assert_status(sae_config_set(b, name, buf), SAE_OK);
        assert_true(get_any(b, p) == get_any(a, p));
        /* Then a value that needs every digit. */
        double v = non_default_value(p, get_any(a, p));
        tu_assert_status(set_any(a, p, v), SAE_OK);
        tu_assert_status(sae_config_get(a, name, buf, sizeof buf), SAE_OK);
        sae_status_t st = sae_config_set(b, name, buf);
        if (st != SAE_OK)
            fail_msg("%s: \"%s\" from sae_config_get not accepted by sae_config_set (%d)", name,
                     buf, (int)st);
        if (get_any(b, p) != v)
            fail_msg("%s: %.17g -> \"%s\" -> %.17g", name, v, buf, get_any(b, p));
        sae_config_free(b);
    }
    sae_config_free(a);
}

/* The same round trip at the edges of every float parameter's range: the
 * bounds themselves when closed, the nearest doubles inside when open
 * (which may be subnormal, e.g. just above 0). */
static void test_get_round_trip_extremes(void **state)
{
    (void)state;
    sae_config_t *a = NULL, *b = NULL;
    assert_int_equal(sae_config_create(&a), SAE_OK);
    assert_int_equal(sae_config_create(&b), SAE_OK);
    int failures = 0;
    size_t n = param_count();
    for (size_t i = 0; i < n; i++) {
        sae_param_t p;
        assert_int_equal(sae_param_at(i, &p), SAE_OK);
        sae_param_type_t t;
        double lo, hi;
        int lo_open, hi_open;
        assert_int_equal(sae_param_info(p, &t, &lo, &hi, &lo_open, &hi_open), SAE_OK);
        double vals[2];
        if (t == SAE_TYPE_FLOAT) {
            vals[0] = lo_open ? nextafter(lo, INFINITY) : lo;
            vals[1] = hi_open ? nextafter(hi, -INFINITY) : hi;
        } else {
            vals[0] = lo;
            vals[1] = hi;
        }
        for (int k = 0; k < 2; k++) {
            const char *name = sae_param_name(p);
            char buf[64];
            tu_assert_status(set_any(a, p, vals[k]), SAE_OK);
            tu_assert_status(sae_config_get(a, name, buf, sizeof buf), SAE_OK);
            sae_status_t st = sae_config_set(b, name, buf);
            /* Collect every failure so one run lists them all. */
            if (st != SAE_OK || get_any(b, p) != vals[k]) {
                print_error("%s = %.17g: text \"%s\" gave %d (%s)\n", name, vals[k], buf,
                            (int)st, st != SAE_OK ? sae_config_errmsg(b) : "different value");
                failures++;
            }
        }
    }
    sae_config_free(a);
    sae_config_free(b);
    if (failures)
        fail_msg("%d edge values do not survive sae_config_get -> sae_config_set", failures);
}

static void test_get_errors(void **state)
{
    (void)state;
    sae_config_t *cfg = NULL;
    assert_int_equal(sae_config_create(&cfg), SAE_OK);
    tu_assert_status(sae_config_set(cfg, "optim.lr", "0.125"), SAE_OK);
    char buf[16];

    tu_assert_status(sae_config_get(cfg, "optim.lrr", buf, sizeof buf), SAE_ERR_UNKNOWN_KEY);
    check_msg_either(cfg, "optim.lrr", "get(unknown key)");

    /* "0.125" needs 6 bytes: 6 fits, 5 is too small but NUL-terminated. */
    tu_assert_status(sae_config_get(cfg, "optim.lr", buf, 6), SAE_OK);
    assert_string_equal(buf, "0.125");
    memset(buf, 'x', sizeof buf);
    tu_assert_status(sae_config_get(cfg, "optim.lr", buf, 5), SAE_ERR_RANGE);
    check_msg_either(cfg, "optim.lr", "get(small buffer)");
    assert_true(memchr(buf, '\0', 5) != NULL);
    assert_true(buf[5] == 'x'); /* nothing written past size */
    memset(buf, 'x', sizeof buf);
    tu_assert_status(sae_config_get(cfg, "optim.lr", buf, 1), SAE_ERR_RANGE);
    assert_true(buf[0] == '\0');
    assert_true(buf[1] == 'x');
    /* size 0: no room even for the NUL, nothing may be written. */
    memset(buf, 'x', sizeof buf);
    tu_assert_status(sae_config_get(cfg, "optim.lr", buf, 0), SAE_ERR_RANGE);
    assert_true(buf[0] == 'x');
    /* Enum text too. */
    tu_assert_status(sae_config_get(cfg, "train.sampling", buf, 2), SAE_ERR_RANGE);
    check_msg_either(cfg, "train.sampling", "get(enum, small buffer)");
    sae_config_free(cfg);
}

static void test_status_strings(void **state)
{
    (void)state;
    const char *s[17];
    for (int i = 0; i <= 16; i++) {
        s[i] = sae_status_str((sae_status_t)-i);
        assert_non_null(s[i]);
        assert_true(s[i][0] != '\0');
        assert_string_not_equal(s[i], "unknown status");
        for (int j = 0; j < i; j++)
            if (!strcmp(s[i], s[j]))
                fail_msg("statuses %d and %d share \"%s\"", -i, -j, s[i]);
    }
    const int unknown[] = {1, 2, -17, -100, 12345, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_string_equal(sae_status_str((sae_status_t)unknown[i]), "unknown status");
    /* The pinned values of sae.h. */
    assert_int_equal(SAE_OK, 0);
    assert_int_equal(SAE_ERR_NULL, -1);
    assert_int_equal(SAE_ERR_RANGE, -3);
    assert_int_equal(SAE_ERR_UNKNOWN_KEY, -4);
    assert_int_equal(SAE_ERR_BAD_VALUE, -5);
    assert_int_equal(SAE_ERR_NONFINITE, -7);
    assert_int_equal(SAE_ERR_STATE, -13);
    assert_int_equal(SAE_ERR_TYPE, -16);
}

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(sae_version_number(), SAE_VERSION_NUMBER);
    assert_int_equal(SAE_VERSION_NUMBER,
                     SAE_VERSION_MAJOR * 10000 + SAE_VERSION_MINOR * 100 + SAE_VERSION_PATCH);
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", SAE_VERSION_MAJOR, SAE_VERSION_MINOR,
             SAE_VERSION_PATCH);
    assert_non_null(sae_version_string());
    assert_string_equal(sae_version_string(), expect);
    assert_true(SAE_CHECK_VERSION(SAE_VERSION_MAJOR, SAE_VERSION_MINOR, SAE_VERSION_PATCH));
    assert_false(SAE_CHECK_VERSION(SAE_VERSION_MAJOR, SAE_VERSION_MINOR, SAE_VERSION_PATCH + 1));
    assert_true(SAE_CHECK_VERSION(0, 0, 0));
}

/* ------------------------------------------------------------------------ */
/* User regularizers                                                        */
/* ------------------------------------------------------------------------ */

/* Each user_data is an int counting the destroy calls it received. */
static void count_destroy(void *user_data)
{
    ++*(int *)user_data;
}

static double zero_penalty(void *user_data, const float *h, size_t rows, size_t units,
                           float weight, float *grad)
{
    (void)user_data, (void)h, (void)rows, (void)units, (void)weight, (void)grad;
    return 0.0;
}

static void wrong_destroy(void *user_data)
{
    (void)user_data;
    fail_msg("the ops struct was not copied: a later edit of the caller's copy was used");
}

static void test_add_regularizer_errors(void **state)
{
    (void)state;
    sae_config_t *cfg = tu_config(4, 3);
    int tag = 0; /* destroy count */
    sae_regularizer_ops_t ops = {sizeof ops, "mine", zero_penalty, count_destroy};

    tu_assert_status(sae_config_add_regularizer(cfg, NULL, &tag, 1.0f), SAE_ERR_NULL);
    check_msg(sae_config_errmsg(cfg), "ops", "NULL ops");

    sae_regularizer_ops_t small = ops;
    small.struct_size = sizeof small - 1;
    tu_assert_status(sae_config_add_regularizer(cfg, &small, &tag, 1.0f), SAE_ERR_RANGE);
    check_msg(sae_config_errmsg(cfg), "struct_size", "small struct_size");
    small.struct_size = 0;
    tu_assert_status(sae_config_add_regularizer(cfg, &small, &tag, 1.0f), SAE_ERR_RANGE);

    sae_regularizer_ops_t nopen = ops;
    nopen.penalty = NULL;
    tu_assert_status(sae_config_add_regularizer(cfg, &nopen, &tag, 1.0f), SAE_ERR_NULL);
    check_msg(sae_config_errmsg(cfg), "penalty", "NULL penalty");

    sae_regularizer_ops_t noname = ops;
    noname.name = "";
    tu_assert_status(sae_config_add_regularizer(cfg, &noname, &tag, 1.0f), SAE_ERR_BAD_VALUE);
    check_msg(sae_config_errmsg(cfg), "name", "empty name");
    noname.name = NULL;
    tu_assert_status(sae_config_add_regularizer(cfg, &noname, &tag, 1.0f), SAE_ERR_BAD_VALUE);
    check_msg(sae_config_errmsg(cfg), "name", "NULL name");

    const float bad_w[] = {-1.0f, -1e-30f, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_w / sizeof bad_w[0]; i++) {
        tu_assert_status(sae_config_add_regularizer(cfg, &ops, &tag, bad_w[i]), SAE_ERR_RANGE);
        check_msg(sae_config_errmsg(cfg), "weight", "bad weight");
    }
    /* A failed add takes no ownership: destroy is not called for it. */
    assert_int_equal(tag, 0);

    /* 16 fit (weight 0 is allowed), the 17th does not. */
    for (int i = 0; i < 16; i++)
        tu_assert_status(sae_config_add_regularizer(cfg, &ops, &tag, i == 0 ? 0.0f : 0.5f),
                         SAE_OK);
    tu_assert_status(sae_config_add_regularizer(cfg, &ops, &tag, 0.5f), SAE_ERR_RANGE);
    check_msg(sae_config_errmsg(cfg), "16", "17th regularizer");
    assert_int_equal(tag, 0);

    /* A clone carries all 16: it is full too. */
    sae_config_t *clone = NULL;
    tu_assert_status(sae_config_clone(cfg, &clone), SAE_OK);
    tu_assert_status(sae_config_add_regularizer(clone, &ops, &tag, 0.5f), SAE_ERR_RANGE);
    sae_config_free(clone);
    assert_int_equal(tag, 0); /* the original still holds them */
    sae_config_free(cfg);
    assert_int_equal(tag, 16); /* one call per add */
}

/* The clone's regularizer stack is its own: adding to one leaves room in
 * the other. */
static void test_regularizer_stack_is_copied(void **state)
{
    (void)state;
    sae_config_t *a = tu_config(4, 3);
    sae_regularizer_ops_t ops = {sizeof ops, "mine", zero_penalty, NULL}; /* no destroy */
    for (int i = 0; i < 15; i++)
        tu_assert_status(sae_config_add_regularizer(a, &ops, NULL, 1.0f), SAE_OK);
    sae_config_t *b = NULL;
    tu_assert_status(sae_config_clone(a, &b), SAE_OK);
    tu_assert_status(sae_config_add_regularizer(b, &ops, NULL, 1.0f), SAE_OK);
    tu_assert_status(sae_config_add_regularizer(b, &ops, NULL, 1.0f), SAE_ERR_RANGE);
    /* a still has one free slot. */
    tu_assert_status(sae_config_add_regularizer(a, &ops, NULL, 1.0f), SAE_OK);
    tu_assert_status(sae_config_add_regularizer(a, &ops, NULL, 1.0f), SAE_ERR_RANGE);
    sae_config_free(a);
    sae_config_free(b);
}

/* destroy runs exactly once, when the last of config, clone and model
 * goes, in every order; the ops struct is copied at add time. */
static void test_regularizer_destroy_once(void **state)
{
    (void)state;
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int o = 0; o < 6; o++) {
        int shared = 0, own = 0; /* destroy counts */
        sae_config_t *cfg = tu_config(5, 4);
        sae_regularizer_ops_t ops = {sizeof ops, "mine", zero_penalty, count_destroy};
        tu_assert_status(sae_config_add_regularizer(cfg, &ops, &shared, 0.5f), SAE_OK);
        /* Edits to the caller's struct after the add must not be seen. */
        ops.destroy = wrong_destroy;
        ops.name = "changed";
        sae_config_t *clone = NULL;
        tu_assert_status(sae_config_clone(cfg, &clone), SAE_OK);
        sae_model_t *m = NULL;
        tu_assert_status(sae_model_create(cfg, &m), SAE_OK);
        /* A second regularizer on the clone only: its own lifetime. */
        sae_regularizer_ops_t ops2 = {sizeof ops2, "other", zero_penalty, count_destroy};
        tu_assert_status(sae_config_add_regularizer(clone, &ops2, &own, 1.0f), SAE_OK);

        int clone_gone = 0;
        for (int k = 0; k < 3; k++) {
            int which = orders[o][k];
            if (which == 0)
                sae_config_free(cfg);
            else if (which == 1)
                sae_config_free(clone);
            else
                sae_model_free(m);
            clone_gone |= which == 1;
            assert_int_equal(shared, k == 2 ? 1 : 0);
            assert_int_equal(own, clone_gone ? 1 : 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_free),
        cmocka_unit_test(test_clone_is_deep),
        cmocka_unit_test(test_param_table),
        cmocka_unit_test(test_unknown_ids),
        cmocka_unit_test(test_param_doc),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_bounds_generic),
        cmocka_unit_test(test_bounds_documented),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_set_string_values),
        cmocka_unit_test(test_set_string_errors),
        cmocka_unit_test(test_get_round_trip),
        cmocka_unit_test(test_get_round_trip_extremes),
        cmocka_unit_test(test_get_errors),
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_add_regularizer_errors),
        cmocka_unit_test(test_regularizer_stack_is_copied),
        cmocka_unit_test(test_regularizer_destroy_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
