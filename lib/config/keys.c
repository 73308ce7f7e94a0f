/* The parameter table: name, type, bounds, default and meaning of every
 * config parameter. Adding a parameter is adding a row here (and its id in
 * sae.h).
 * SPDX-License-Identifier: MIT */
#include <math.h>

#include "config/config.h"

static const char *const act_names[] = {"linear", "sigmoid", "relu", "tanh", "trelu",
                                        "jumprelu", NULL};
static const char *const loss_names[] = {"mse", "bce", NULL};
static const char *const reduction_names[] = {"mean", "sample_sum_half", NULL};
static const char *const optim_names[] = {"sgd", "adam", "lbfgs", NULL};
static const char *const sampling_names[] = {"shuffle", "replacement", "sequential", NULL};
static const char *const precision_names[] = {"fp32", "bf16", NULL};
static const char *const gemm_names[] = {"auto", "blas", "onednn", NULL};
static const char *const bool_names[] = {"false", "true", NULL};
static const char *const init_names[] = {"glorot_uniform", "glorot_normal", "fan_in_uniform",
                                         NULL};
static const char *const penalize_names[] = {"code", "hidden", "marked", NULL};
static const char *const algorithm_names[] = {"backprop", "nsc", "rank_order", NULL};
static const char *const topk_mode_names[] = {"sample", "batch", NULL};
static const char *const sparse_path_names[] = {"auto", "on", "off", NULL};
static const char *const topk_inference_names[] = {"auto", "k", "threshold", NULL};
static const char *const bias_init_names[] = {"zero", "mean", "geometric_median", NULL};
static const char *const weighting_names[] = {"sum", "mean", NULL};
static const char *const squash_names[] = {"none", "sigmoid", NULL};
static const char *const schedule_names[] = {"step", "constant", "cosine", "linear", NULL};

#define BIG 1e15
#define I SAE_TYPE_INT
#define F SAE_TYPE_FLOAT

/* id, name, type, lo, hi, lo_open, hi_open, default, enum names, then the
 * one-line meaning (sae_param_doc; the guide's table prints it). */
const sae_param_desc_t sae_param_table[] = {
    {SAE_P_INPUT_DIM, "arch.input_dim", I, 1, 1 << 24, 0, 0, 784, NULL,
        "features per input row (D)"},
    {SAE_P_HIDDEN_DIM, "arch.hidden_dim", I, 1, 1 << 24, 0, 0, 500, NULL,
        "code units (H)"},
    {SAE_P_HIDDEN_ACTIVATION, "arch.hidden_activation", I, 0, 5, 0, 0, SAE_ACT_SIGMOID, act_names,
        "activation of the code layer; `jumprelu`: the JumpReLU code with a learned threshold "
        "per unit ([jumprelu.md](architectures/jumprelu.md)), one-hidden-layer models only"},
    {SAE_P_OUTPUT_ACTIVATION, "arch.output_activation", I, 0, 4, 0, 0, SAE_ACT_LINEAR, act_names,
        "activation of the output layer; `sigmoid` for `bce` (not `jumprelu`)"},
    {SAE_P_TIED, "arch.tied", I, 0, 1, 0, 0, 0, bool_names,
        "decoder weight = encoder weight transposed (no `decoder.weight`)"},
    {SAE_P_BIAS, "arch.bias", I, 0, 1, 0, 0, 1, bool_names,
        "both layers have biases"},
    {SAE_P_INIT_SCALE, "arch.init_scale", F, 0, 1e6, 1, 0, 1.0, NULL,
        "multiplies the Glorot-uniform range sqrt(6/(D+H)), or the Glorot-normal standard "
        "deviation sqrt(2/(D+H))"},
    {SAE_P_INIT, "arch.init", I, 0, 2, 0, 0, SAE_INIT_GLOROT_UNIFORM, init_names,
        "`glorot_uniform`: U[-r, r], r = init_scale sqrt(6/(D+H)); `glorot_normal`: N(0, s^2), "
        "s = init_scale sqrt(2/(D+H)) (E4's init); `fan_in_uniform`: torch.nn's default, "
        "weights U[-r, r], r = init_scale / sqrt(fan_in), biases U[-1/sqrt(fan_in), "
        "1/sqrt(fan_in)] (E2's init). With `arch.layers` the fans are each layer's"},
    {SAE_P_UNIT_NORM_DECODER, "arch.unit_norm_decoder", I, 0, 1, 0, 0, 0, bool_names,
        "decoder rows kept at unit norm, their gradient projected onto the tangent (Gao et al. "
        "2024)"},
    {SAE_P_ENCODER_FROM_DECODER, "arch.encoder_from_decoder", I, 0, 1, 0, 0, 0, bool_names,
        "start `encoder.weight` equal to `decoder.weight` (untied; Gao et al. 2024)"},
    {SAE_P_PRE_ENCODER_BIAS, "arch.pre_encoder_bias", I, 0, 1, 0, 0, 0, bool_names,
        "the encoder reads x - `decoder.bias` (Gao et al. 2024's b_pre; "
        "[auxk.md](regularizers/auxk.md)); needs `arch.bias` and a linear output"},
    {SAE_P_BIAS_INIT, "arch.bias_init", I, 0, 2, 0, 0, SAE_BIAS_INIT_ZERO, bias_init_names,
        "how a trainer sets `decoder.bias` from the first rows it is given (at most 16384): "
        "`zero` (left as initialised), `mean`, `geometric_median`"},
    {SAE_P_GATED, "arch.gated", I, 0, 1, 0, 0, 0, bool_names,
        "the gated SAE ([gated.md](architectures/gated.md)): a gate and a magnitude path sharing "
        "`encoder.weight` (tensors `gated.r_mag`, `gated.b_mag`); `l1.weight` weighs the gate's "
        "decoder-norm L1; adds the auxiliary reconstruction term `gated_aux`"},
    {SAE_P_PENALIZE, "arch.penalize", I, 0, 2, 0, 0, 0, penalize_names,
        "with `arch.layers`: the activations the regularizers act on, `code` (the code layer's "
        "output), `hidden` (every layer's output but the last; E2), `marked` (the layers marked "
        "`penalize`)"},
    {SAE_P_NORMALIZE_INPUT, "arch.normalize_input", I, 0, 1, 0, 0, 0, bool_names,
        "inputs are multiplied by `arch.input_scale` (outputs divided by it), which a trainer "
        "sets from its first rows so that their mean squared norm is `arch.input_dim` "
        "(SAELens's normalize_activations; [input-normalisation.md](algorithms/input-normalisation.md))"},
    {SAE_P_INPUT_SCALE, "arch.input_scale", F, 0, 1e30, 0, 0, 0.0, NULL,
        "with `arch.normalize_input`: the factor; 0 = estimated by the first trainer; "
        "`sae_model_fold_input_scale` folds it into the weights"},
    {SAE_P_LOSS, "loss.type", I, 0, 1, 0, 0, SAE_LOSS_MSE, loss_names,
        "reconstruction loss, reduced over the batch as `loss.reduction` says"},
    {SAE_P_LOSS_REDUCTION, "loss.reduction", I, 0, 1, 0, 0, SAE_REDUCE_MEAN, reduction_names,
        "`mean`: over all B x D elements; `sample_sum_half`: 1/2 the sum over features, mean "
        "over rows (Ng's J)"},
    {SAE_P_OPTIMIZER, "optim.type", I, 0, 2, 0, 0, SAE_OPT_ADAM, optim_names,
        "optimizer"},
    {SAE_P_LEARNING_RATE, "optim.lr", F, 0, 1e6, 1, 0, 1e-3, NULL,
        "learning rate (before the schedule)"},
    {SAE_P_MOMENTUM, "optim.momentum", F, 0, 1, 0, 1, 0.9, NULL,
        "SGD momentum (SGD only)"},
    {SAE_P_ADAM_BETA1, "optim.beta1", F, 0, 1, 0, 1, 0.9, NULL,
        "Adam first-moment decay (Adam only)"},
    {SAE_P_ADAM_BETA2, "optim.beta2", F, 0, 1, 0, 1, 0.999, NULL,
        "Adam second-moment decay (Adam only)"},
    {SAE_P_ADAM_EPS, "optim.eps", F, 0, 1, 1, 0, 1e-8, NULL,
        "Adam epsilon (Adam only)"},
    {SAE_P_LR_DECAY_EVERY, "schedule.decay_every", I, 0, BIG, 0, 0, 0, NULL,
        "multiply the rate by `decay_factor` every this many steps; 0 = constant"},
    {SAE_P_LR_DECAY_FACTOR, "schedule.decay_factor", F, 0, 1, 1, 0, 0.5, NULL,
        "factor of the step decay"},
    {SAE_P_SCHEDULE_TYPE, "schedule.type", I, 0, 3, 0, 0, 0, schedule_names,
        "the rate's shape after warm-up: `step` (the step decay above), `constant`, `cosine` "
        "or `linear` decay from `decay_start` to `min_factor` at `total_steps` "
        "([schedules.md](algorithms/schedules.md))"},
    {SAE_P_SCHEDULE_WARMUP, "schedule.warmup_steps", I, 0, BIG, 0, 0, 0, NULL,
        "the rate rises linearly over these first steps: step s uses (s + 1) / warmup_steps of "
        "it; 0 = no warm-up"},
    {SAE_P_SCHEDULE_DECAY_START, "schedule.decay_start", I, 0, BIG, 0, 0, 0, NULL,
        "`cosine`, `linear`: the step the decay starts at"},
    {SAE_P_SCHEDULE_TOTAL, "schedule.total_steps", I, 0, BIG, 0, 0, 0, NULL,
        "`cosine`, `linear`: the step the rate reaches `min_factor` at (then stays); must "
        "exceed `decay_start`"},
    {SAE_P_SCHEDULE_MIN_FACTOR, "schedule.min_factor", F, 0, 1, 0, 0, 0.0, NULL,
        "`cosine`, `linear`: the floor, as a fraction of the rate"},
    /* liblbfgs' own default memory is 6, minFunc's (UFLDL's) 100; 10 is the
     * common middle (Nocedal & Wright, sec. 7.2: 3 to 20 usually suffice). */
    {SAE_P_LBFGS_MEMORY, "lbfgs.memory", I, 1, 1000, 0, 0, 10, NULL,
        "L-BFGS correction pairs kept (`optim.type = lbfgs`); memory 2 x this x parameters "
        "doubles"},
    {SAE_P_LBFGS_TOLERANCE, "lbfgs.tolerance", F, 0, 1, 0, 0, 1e-5, NULL,
        "L-BFGS stops when the gradient norm <= this x max(1, weight norm); 0 = run every "
        "iteration"},
    {SAE_P_BATCH_SIZE, "train.batch_size", I, 1, 1 << 24, 0, 0, 100, NULL,
        "rows per step (B); sizes the trainer's workspace"},
    {SAE_P_SEED, "train.seed", I, 0, BIG, 0, 0, 0, NULL,
        "seeds the weight init, sampling and corruption"},
    {SAE_P_SAMPLING, "train.sampling", I, 0, 2, 0, 0, SAE_SAMPLE_SHUFFLE, sampling_names,
        "how fit draws batches"},
    {SAE_P_THREADS, "train.threads", I, 0, 64, 0, 0, 0, NULL,
        "when > 0, the BLAS's thread count (set process-wide by `sae_trainer_create`) and, in "
        "builds with OpenMP, the element-wise passes' threads; 0 = leave both as they are"},
    {SAE_P_PRECISION, "train.precision", I, 0, 1, 0, 0, SAE_PRECISION_FP32, precision_names,
        "`fp32`, or `bf16`: the training products' operands rounded to bfloat16, accumulated in "
        "fp32 by oneDNN on AVX512-BF16 or AMX (one-hidden-layer models; "
        "[precision.md](precision.md))"},
    {SAE_P_GEMM, "train.gemm", I, 0, 2, 0, 0, SAE_GEMM_AUTO, gemm_names,
        "who runs fp32 products, in training and in the model's inference calls: `blas`, "
        "`onednn`, or `auto` (`blas`: oneDNN is faster but neither survives failed allocations "
        "nor is bit-reproducible across runs; [precision.md](precision.md))"},
    {SAE_P_WEIGHT_DECAY, "decay.l2", F, 0, 1e6, 0, 0, 0.0, NULL,
        "L2 weight decay lambda: lambda/2 sum W^2 "
        "([weight-decay.md](regularizers/weight-decay.md))"},
    {SAE_P_DECAY_ENCODER, "decay.encoder", I, 0, 1, 0, 0, 1, bool_names,
        "decay applies to `encoder.weight`"},
    {SAE_P_DECAY_DECODER, "decay.decoder", I, 0, 1, 0, 0, 1, bool_names,
        "decay applies to `decoder.weight` (no effect when tied)"},
    {SAE_P_NOISE_STDDEV, "corrupt.noise_std", F, 0, 1e6, 0, 0, 0.0, NULL,
        "std of the Gaussian noise added to training inputs"},
    {SAE_P_NOISE_CLIP, "corrupt.noise_clip", F, 0, 1e6, 0, 0, 2.0, NULL,
        "noise truncated at this many std (redrawn); 0 = not truncated"},
    {SAE_P_INPUT_KEEP, "corrupt.input_keep", F, 0, 1, 1, 0, 1.0, NULL,
        "input dropout keep probability (inverted scaling)"},
    {SAE_P_HIDDEN_KEEP, "corrupt.hidden_keep", F, 0, 1, 1, 0, 1.0, NULL,
        "dropout keep probability on the decoder's copy of the code"},
    {SAE_P_ROLLBACK, "train.rollback", I, 0, 1, 0, 0, 1, bool_names,
        "after a non-finite loss, go back to the last weights with a finite one (one copy of "
        "the parameters per step; guide section 5.5)"},
    {SAE_P_KL_WEIGHT, "kl.weight", F, 0, 1e9, 0, 0, 0.0, NULL,
        "weight of the KL term ([kl.md](regularizers/kl.md)); 0 = off"},
    {SAE_P_KL_RHO, "kl.rho", F, 0, 1, 1, 1, 0.05, NULL,
        "KL target mean activation"},
    {SAE_P_KL_SQUASH, "kl.squash", I, 0, 1, 0, 0, 0, squash_names,
        "`none`: rho_hat_j is the batch mean of h_bj (Ng's CS294A notes); `sigmoid`: the batch "
        "mean of sigmoid(h_bj), bounded in (0, 1) for ReLU codes, the form PyTorch sparse "
        "autoencoders use ([kl.md](regularizers/kl.md))"},
    {SAE_P_L1_WEIGHT, "l1.weight", F, 0, 1e9, 0, 0, 0.0, NULL,
        "weight of the L1 term ([l1.md](regularizers/l1.md)); 0 = off"},
    {SAE_P_L0_WEIGHT, "l0.weight", F, 0, 1e9, 0, 0, 0.0, NULL,
        "lambda of the L0 term lambda mean_b \\|\\|h_b\\|\\|_0, trained through JumpReLU's "
        "straight-through estimator ([jumprelu.md](architectures/jumprelu.md)); 0 = off; needs "
        "`arch.hidden_activation = jumprelu`"},
    {SAE_P_L1_DECODER_NORM, "l1.decoder_norm", I, 0, 1, 0, 0, 0, bool_names,
        "the L1 term weighs each \\|h_j\\| by the norm of decoder row j (Anthropic's April "
        "2024 update, SAELens's standard SAE; "
        "[l1-decoder-norm.md](regularizers/l1-decoder-norm.md)); needs a nonnegative code"},
    {SAE_P_SAMPLE_WEIGHT, "sample.weight", F, 0, 1e9, 0, 0, 0.0, NULL,
        "weight of the per-sample term ([sample.md](regularizers/sample.md)); 0 = off"},
    {SAE_P_SAMPLE_TARGET, "sample.target", F, 0, 1, 0, 0, 0.05, NULL,
        "per-sample target mean activation"},
    {SAE_P_BATCH_WEIGHT, "batch.weight", F, 0, 1e9, 0, 0, 0.0, NULL,
        "weight of the per-unit term ([batch.md](regularizers/batch.md)); 0 = off"},
    {SAE_P_BATCH_TARGET, "batch.target", F, 0, 1, 0, 0, 0.05, NULL,
        "per-unit target mean activation"},
    {SAE_P_SPARSITY_WARMUP, "sparsity.warmup_steps", I, 0, BIG, 0, 0, 0, NULL,
        "the weights of the sparsity terms (`kl`, `l1`, with or without decoder norms) rise "
        "linearly from 0: step s uses s / warmup_steps of them; 0 = full weights from the start "
        "([schedules.md](algorithms/schedules.md))"},
    {SAE_P_KWTA_K, "encode.k", I, 0, 1 << 24, 0, 0, 0, NULL,
        "winners of `sae_model_encode_binary`; 0 = 5% of H rounded up, at least 1"},
    {SAE_P_TOPK_K, "topk.k", I, 0, 1 << 24, 0, 0, 0, NULL,
        "units kept per row while training (k-sparse code, [topk.md](regularizers/topk.md)); 0 "
        "= off"},
    {SAE_P_TOPK_MODE, "topk.mode", I, 0, 1, 0, 0, 0, topk_mode_names,
        "`sample`: k per row; `batch`: the rows x k largest values of the batch"},
    {SAE_P_TOPK_ALPHA, "topk.alpha", F, 1, 1e6, 0, 0, 1.0, NULL,
        "inference keeps round(alpha x k) units per row"},
    {SAE_P_TOPK_K_START, "topk.k_start", I, 0, 1 << 24, 0, 0, 0, NULL,
        "k at step 0 when annealing; 0 = no annealing"},
    {SAE_P_TOPK_ANNEAL_STEPS, "topk.anneal_steps", I, 0, BIG, 0, 0, 0, NULL,
        "steps over which k falls linearly from k_start to k"},
    {SAE_P_TOPK_SPARSE_PATH, "topk.sparse_path", I, 0, 2, 0, 0, 0, sparse_path_names,
        "decode and backpropagate through the active units only: `auto` (4k <= H), `on`, `off`"},
    {SAE_P_TOPK_INFERENCE, "topk.inference", I, 0, 2, 0, 0, 0, topk_inference_names,
        "the code at inference: `k` keeps round(alpha x k) units per row; `threshold` keeps "
        "h > theta, theta the running mean of each training batch's smallest kept activation "
        "(`topk.mode = batch` only; [batch-topk.md](architectures/batch-topk.md)); `auto`: "
        "`threshold` for `batch`, `k` for `sample`. Until a batch is seen, `k`"},
    /* Gao et al. 2024, sec. A.2: alpha = 1/32. They call a latent dead
     * after 10M tokens of training; the data sets libsae is used on have
     * 1e4 to 1e6 rows, and at 1e5 rows a dead unit fires at most 1e-5 of the
     * time, hundreds of times less than a top-k unit's k / H. */
    {SAE_P_AUXK_K, "auxk.k", I, 0, 1 << 24, 0, 0, 0, NULL,
        "dead units per row that reconstruct the main residual, the AuxK loss "
        "([auxk.md](regularizers/auxk.md)); 0 = off; needs `topk.k` > 0"},
    {SAE_P_AUXK_ALPHA, "auxk.alpha", F, 0, 1e6, 0, 0, 1.0 / 32.0, NULL,
        "weight of the AuxK term, alpha sum \\|\\|e - e^\\|\\|^2 / sum \\|\\|e\\|\\|^2"},
    {SAE_P_AUXK_DEAD_AFTER, "auxk.dead_after", I, 1, BIG, 0, 0, 100000, NULL,
        "a unit is dead after this many training rows without firing"},
    /* Rajamanoharan et al. 2024 (arXiv 2407.14435), sec. 5: theta starts
     * at 0.001 and the kernel's bandwidth is 0.001 for inputs normalised to
     * a mean squared norm of D. */
    {SAE_P_JUMPRELU_THRESHOLD_INIT, "jumprelu.threshold_init", F, 0, 1e6, 1, 0, 0.001, NULL,
        "theta of every unit at creation (stored as its log, `jumprelu.log_threshold`)"},
    {SAE_P_JUMPRELU_BANDWIDTH, "jumprelu.bandwidth", F, 0, 1e6, 1, 0, 0.001, NULL,
        "width epsilon of the rectangle kernel of JumpReLU's straight-through estimators"},
    /* Adam moves log theta by about the rate per step, theta by 0.1% at
     * 1e-3: the paper trains theta itself, which at its rate and theta's
     * start moves several percent a step (docs/architectures/jumprelu.md). */
    {SAE_P_JUMPRELU_LR_SCALE, "jumprelu.lr_scale", F, 0, 1e6, 1, 0, 1.0, NULL,
        "factor of `optim.lr` (and of its schedule) for JumpReLU's log thresholds"},
    /* Bricken et al. 2023 ("Towards Monosemanticity", resampling): every
     * 25,000 steps; 0.2 times the alive encoder rows' mean norm. */
    {SAE_P_RESAMPLE_EVERY, "resample.every", I, 0, BIG, 0, 0, 0, NULL,
        "every this many steps, the dead units get new directions from badly reconstructed "
        "rows of the batch (Anthropic's resampling; [resampling.md](algorithms/resampling.md)); "
        "0 = off"},
    {SAE_P_RESAMPLE_DEAD_AFTER, "resample.dead_after", I, 1, BIG, 0, 0, 100000, NULL,
        "a unit is dead for resampling after this many training rows without firing"},
    {SAE_P_RESAMPLE_ENCODER_SCALE, "resample.encoder_scale", F, 0, 1e6, 0, 0, 0.2, NULL,
        "a resampled encoder row's norm, as a multiple of the alive rows' mean norm"},
    {SAE_P_ALGORITHM, "train.algorithm", I, 0, 2, 0, 0, SAE_ALGO_BACKPROP, algorithm_names,
        "how a trainer updates the model: `backprop` descends the objective with `optim.type`; "
        "`nsc` is neural sparse coding "
        "([neural-sparse-coding.md](algorithms/neural-sparse-coding.md)), a dictionary update "
        "with no loss; `rank_order` is the rank-ordered autoencoder's update "
        "([rank-order.md](algorithms/rank-order.md))"},
    {SAE_P_NSC_TAU, "nsc.tau", F, 0, 1e6, 0, 0, 0.5, NULL,
        "`nsc` only: code entries with \\|A^T y\\| < tau are set to 0, in training and in "
        "`sae_model_encode`"},
    {SAE_P_NSC_ETA, "nsc.eta", F, 0, 1e6, 1, 0, 1.0, NULL,
        "`nsc` only: step of the dictionary update (the step decay of `schedule.*` applies to "
        "it)"},
    {SAE_P_RANK_ORDER_LR, "rank_order.lr", F, 0, 1e6, 1, 0, 1.0, NULL,
        "`rank_order` only: learning rate of the update W += lr G, before the epoch decays"},
    {SAE_P_RANK_ORDER_MAX_NORM, "rank_order.max_norm", F, 0, 1e6, 0, 0, 0.1, NULL,
        "`rank_order` only: each unit's column of G is scaled down to this norm when longer; 0 "
        "= no clipping"},
    {SAE_P_RANK_ORDER_DECAY, "rank_order.decay_factor", F, 0, 1, 1, 0, 0.9, NULL,
        "`rank_order` only: multiplies the rate after an epoch whose training error fell too "
        "little"},
    {SAE_P_RANK_ORDER_MIN_IMPROVEMENT, "rank_order.min_improvement", F, 0, 1e6, 0, 0, 0.01, NULL,
        "`rank_order` only: the rate decays after epoch i > 0 unless error_i * (1 + this) < "
        "error_{i-1}"},
    /* arch2: the modern SAE family (0.4) */
    {SAE_P_MATRYOSHKA_WEIGHTING, "matryoshka.weighting", I, 0, 1, 0, 0, 0, weighting_names,
        "how the losses of the `matryoshka.prefixes` reconstructions are combined: `sum` "
        "(Bussmann et al. 2025) or `mean` ([matryoshka.md](regularizers/matryoshka.md))"},
};

const size_t sae_param_table_len = sizeof sae_param_table / sizeof sae_param_table[0];
_Static_assert(sizeof sae_param_table / sizeof sae_param_table[0] <= SAE_CONFIG_MAX_PARAMS,
               "sae_config_t.values must hold one slot per parameter");

int sae_param_index(sae_param_t id)
{
    for (size_t i = 0; i < sae_param_table_len; i++)
        if (sae_param_table[i].id == id)
            return (int)i;
    return -1;
}
