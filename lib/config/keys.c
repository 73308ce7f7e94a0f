/* The parameter table: name, type, bounds and default of every config
 * parameter. Adding a parameter is adding a row here (and its id in sae.h).
 * SPDX-License-Identifier: MIT */
#include <math.h>

#include "config/config.h"

static const char *const act_names[] = {"linear", "sigmoid", "relu", "tanh", "trelu", NULL};
static const char *const loss_names[] = {"mse", "bce", NULL};
static const char *const reduction_names[] = {"mean", "sample_sum_half", NULL};
static const char *const optim_names[] = {"sgd", "adam", "lbfgs", NULL};
static const char *const sampling_names[] = {"shuffle", "replacement", "sequential", NULL};
static const char *const bool_names[] = {"false", "true", NULL};
static const char *const init_names[] = {"glorot_uniform", "glorot_normal", "fan_in_uniform",
                                         NULL};
static const char *const penalize_names[] = {"code", "hidden", "marked", NULL};
static const char *const algorithm_names[] = {"backprop", "nsc", "rank_order", NULL};
static const char *const topk_mode_names[] = {"sample", "batch", NULL};
static const char *const sparse_path_names[] = {"auto", "on", "off", NULL};
static const char *const bias_init_names[] = {"zero", "mean", "geometric_median", NULL};

#define BIG 1e15
#define I SAE_TYPE_INT
#define F SAE_TYPE_FLOAT

/* id, name, type, lo, hi, lo_open, hi_open, default, enum names */
const sae_param_desc_t sae_param_table[] = {
    {SAE_P_INPUT_DIM, "arch.input_dim", I, 1, 1 << 24, 0, 0, 784, NULL},
    {SAE_P_HIDDEN_DIM, "arch.hidden_dim", I, 1, 1 << 24, 0, 0, 500, NULL},
    {SAE_P_HIDDEN_ACTIVATION, "arch.hidden_activation", I, 0, 4, 0, 0, SAE_ACT_SIGMOID, act_names},
    {SAE_P_OUTPUT_ACTIVATION, "arch.output_activation", I, 0, 4, 0, 0, SAE_ACT_LINEAR, act_names},
    {SAE_P_TIED, "arch.tied", I, 0, 1, 0, 0, 0, bool_names},
    {SAE_P_BIAS, "arch.bias", I, 0, 1, 0, 0, 1, bool_names},
    {SAE_P_INIT_SCALE, "arch.init_scale", F, 0, 1e6, 1, 0, 1.0, NULL},
    {SAE_P_INIT, "arch.init", I, 0, 2, 0, 0, SAE_INIT_GLOROT_UNIFORM, init_names},
    {SAE_P_UNIT_NORM_DECODER, "arch.unit_norm_decoder", I, 0, 1, 0, 0, 0, bool_names},
    {SAE_P_ENCODER_FROM_DECODER, "arch.encoder_from_decoder", I, 0, 1, 0, 0, 0, bool_names},
    {SAE_P_PRE_ENCODER_BIAS, "arch.pre_encoder_bias", I, 0, 1, 0, 0, 0, bool_names},
    {SAE_P_BIAS_INIT, "arch.bias_init", I, 0, 2, 0, 0, SAE_BIAS_INIT_ZERO, bias_init_names},
    {SAE_P_PENALIZE, "arch.penalize", I, 0, 2, 0, 0, 0, penalize_names},
    {SAE_P_LOSS, "loss.type", I, 0, 1, 0, 0, SAE_LOSS_MSE, loss_names},
    {SAE_P_LOSS_REDUCTION, "loss.reduction", I, 0, 1, 0, 0, SAE_REDUCE_MEAN, reduction_names},
    {SAE_P_OPTIMIZER, "optim.type", I, 0, 2, 0, 0, SAE_OPT_ADAM, optim_names},
    {SAE_P_LEARNING_RATE, "optim.lr", F, 0, 1e6, 1, 0, 1e-3, NULL},
    {SAE_P_MOMENTUM, "optim.momentum", F, 0, 1, 0, 1, 0.9, NULL},
    {SAE_P_ADAM_BETA1, "optim.beta1", F, 0, 1, 0, 1, 0.9, NULL},
    {SAE_P_ADAM_BETA2, "optim.beta2", F, 0, 1, 0, 1, 0.999, NULL},
    {SAE_P_ADAM_EPS, "optim.eps", F, 0, 1, 1, 0, 1e-8, NULL},
    {SAE_P_LR_DECAY_EVERY, "schedule.decay_every", I, 0, BIG, 0, 0, 0, NULL},
    {SAE_P_LR_DECAY_FACTOR, "schedule.decay_factor", F, 0, 1, 1, 0, 0.5, NULL},
    /* liblbfgs' own default memory is 6, minFunc's (UFLDL's) 100; 10 is the
     * common middle (Nocedal & Wright, sec. 7.2: 3 to 20 usually suffice). */
    {SAE_P_LBFGS_MEMORY, "lbfgs.memory", I, 1, 1000, 0, 0, 10, NULL},
    {SAE_P_LBFGS_TOLERANCE, "lbfgs.tolerance", F, 0, 1, 0, 0, 1e-5, NULL},
    {SAE_P_BATCH_SIZE, "train.batch_size", I, 1, 1 << 24, 0, 0, 100, NULL},
    {SAE_P_SEED, "train.seed", I, 0, BIG, 0, 0, 0, NULL},
    {SAE_P_SAMPLING, "train.sampling", I, 0, 2, 0, 0, SAE_SAMPLE_SHUFFLE, sampling_names},
    {SAE_P_THREADS, "train.threads", I, 0, 64, 0, 0, 0, NULL},
    {SAE_P_WEIGHT_DECAY, "decay.l2", F, 0, 1e6, 0, 0, 0.0, NULL},
    {SAE_P_DECAY_ENCODER, "decay.encoder", I, 0, 1, 0, 0, 1, bool_names},
    {SAE_P_DECAY_DECODER, "decay.decoder", I, 0, 1, 0, 0, 1, bool_names},
    {SAE_P_NOISE_STDDEV, "corrupt.noise_std", F, 0, 1e6, 0, 0, 0.0, NULL},
    {SAE_P_NOISE_CLIP, "corrupt.noise_clip", F, 0, 1e6, 0, 0, 2.0, NULL},
    {SAE_P_INPUT_KEEP, "corrupt.input_keep", F, 0, 1, 1, 0, 1.0, NULL},
    {SAE_P_HIDDEN_KEEP, "corrupt.hidden_keep", F, 0, 1, 1, 0, 1.0, NULL},
    {SAE_P_KL_WEIGHT, "kl.weight", F, 0, 1e9, 0, 0, 0.0, NULL},
    {SAE_P_KL_RHO, "kl.rho", F, 0, 1, 1, 1, 0.05, NULL},
    {SAE_P_L1_WEIGHT, "l1.weight", F, 0, 1e9, 0, 0, 0.0, NULL},
    {SAE_P_SAMPLE_WEIGHT, "sample.weight", F, 0, 1e9, 0, 0, 0.0, NULL},
    {SAE_P_SAMPLE_TARGET, "sample.target", F, 0, 1, 0, 0, 0.05, NULL},
    {SAE_P_BATCH_WEIGHT, "batch.weight", F, 0, 1e9, 0, 0, 0.0, NULL},
    {SAE_P_BATCH_TARGET, "batch.target", F, 0, 1, 0, 0, 0.05, NULL},
    {SAE_P_KWTA_K, "encode.k", I, 0, 1 << 24, 0, 0, 0, NULL},
    {SAE_P_TOPK_K, "topk.k", I, 0, 1 << 24, 0, 0, 0, NULL},
    {SAE_P_TOPK_MODE, "topk.mode", I, 0, 1, 0, 0, 0, topk_mode_names},
    {SAE_P_TOPK_ALPHA, "topk.alpha", F, 1, 1e6, 0, 0, 1.0, NULL},
    {SAE_P_TOPK_K_START, "topk.k_start", I, 0, 1 << 24, 0, 0, 0, NULL},
    {SAE_P_TOPK_ANNEAL_STEPS, "topk.anneal_steps", I, 0, BIG, 0, 0, 0, NULL},
    {SAE_P_TOPK_SPARSE_PATH, "topk.sparse_path", I, 0, 2, 0, 0, 0, sparse_path_names},
    /* Gao et al. 2024, sec. A.2: alpha = 1/32. They call a latent dead
     * after 10M tokens of training; the data sets libsae is used on have
     * 1e4 to 1e6 rows, and at 1e5 rows a dead unit fires at most 1e-5 of the
     * time, hundreds of times less than a top-k unit's k / H. */
    {SAE_P_AUXK_K, "auxk.k", I, 0, 1 << 24, 0, 0, 0, NULL},
    {SAE_P_AUXK_ALPHA, "auxk.alpha", F, 0, 1e6, 0, 0, 1.0 / 32.0, NULL},
    {SAE_P_AUXK_DEAD_AFTER, "auxk.dead_after", I, 1, BIG, 0, 0, 100000, NULL},
    {SAE_P_ALGORITHM, "train.algorithm", I, 0, 2, 0, 0, SAE_ALGO_BACKPROP, algorithm_names},
    {SAE_P_NSC_TAU, "nsc.tau", F, 0, 1e6, 0, 0, 0.5, NULL},
    {SAE_P_NSC_ETA, "nsc.eta", F, 0, 1e6, 1, 0, 1.0, NULL},
    {SAE_P_RANK_ORDER_LR, "rank_order.lr", F, 0, 1e6, 1, 0, 1.0, NULL},
    {SAE_P_RANK_ORDER_MAX_NORM, "rank_order.max_norm", F, 0, 1e6, 0, 0, 0.1, NULL},
    {SAE_P_RANK_ORDER_DECAY, "rank_order.decay_factor", F, 0, 1, 1, 0, 0.9, NULL},
    {SAE_P_RANK_ORDER_MIN_IMPROVEMENT, "rank_order.min_improvement", F, 0, 1e6, 0, 0, 0.01, NULL},
};

const size_t sae_param_table_len = sizeof sae_param_table / sizeof sae_param_table[0];
_Static_assert(sizeof sae_param_table / sizeof sae_param_table[0] <= 96,
               "sae_config_t.values has room for 96 parameters");

_Static_assert(sizeof sae_param_table / sizeof sae_param_table[0] <= 64,
               "sae_config.values must hold one slot per parameter");

int sae_param_index(sae_param_t id)
{
    for (size_t i = 0; i < sae_param_table_len; i++)
        if (sae_param_table[i].id == id)
            return (int)i;
    return -1;
}
