/* libsae: sparse autoencoders in C.
 *
 * This is the one public header of libsae. Everything here is part of the
 * stable ABI described in docs/abi.md: names prefixed sae_ / SAE_, opaque
 * handles, enums with pinned values, no structs passed by value, and every
 * public struct starting with its own size.
 *
 * Conventions shared by every function below:
 *  - Numbers are float32, matrices are row-major [rows x features].
 *  - Functions that can fail return sae_status_t (SAE_OK == 0, errors < 0).
 *    The handle a call was made on keeps a message saying what went wrong
 *    (sae_config_errmsg, sae_model_errmsg, sae_trainer_errmsg); calls that
 *    fail without a handle, with a NULL handle, or on a const handle (the
 *    getters) leave theirs in sae_last_error() (thread-local).
 *  - Every *_free accepts NULL. Nothing aborts on caller mistakes.
 *  - Handles are not thread-safe: one thread at a time per handle, with one
 *    exception: the inference calls on a model (sae_model_encode, decode,
 *    reconstruct, encode_binary, reconstruction_error, prefix_errors) may
 *    run from any number of threads at once and give, bit for bit, what
 *    serial calls give (since 0.4; each call takes its own inference
 *    context from the model's pool). Distinct handles may be used from
 *    distinct threads, except that a trainer and its model are one unit
 *    (no encode while the model's trainer fits); note that train.threads
 *    > 0 sets the BLAS's thread count, which is process-wide.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SAE_H
#define SAE_H

#include <stddef.h>
#include <stdint.h>

#include "sae-version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(SAE_BUILDING_LIBRARY)
#define SAE_API __declspec(dllexport)
#elif defined(_WIN32)
#define SAE_API
#elif defined(__GNUC__) || defined(__clang__)
#define SAE_API __attribute__((visibility("default")))
#else
#define SAE_API
#endif

/* ------------------------------------------------------------------------ */
/* Status codes. Values are pinned and never reused.                        */
/* ------------------------------------------------------------------------ */

typedef enum sae_status {
    SAE_OK = 0,
    SAE_ERR_NULL = -1,          /* a required pointer argument was NULL */
    SAE_ERR_NOMEM = -2,         /* an allocation failed */
    SAE_ERR_RANGE = -3,         /* a parameter value is out of its bounds */
    SAE_ERR_UNKNOWN_KEY = -4,   /* a config key or parameter id is not known */
    SAE_ERR_BAD_VALUE = -5,     /* a string value could not be parsed */
    SAE_ERR_DIMENSION = -6,     /* dimensions do not match the model */
    SAE_ERR_NONFINITE = -7,     /* input data holds NaN or Inf */
    SAE_ERR_IO = -8,            /* a file could not be opened, read or written */
    SAE_ERR_FORMAT = -9,        /* a file is malformed, truncated or hostile */
    SAE_ERR_CHECKSUM = -10,     /* a file's data does not match its checksum */
    SAE_ERR_VERSION = -11,      /* a file's format version is not supported */
    SAE_ERR_CANCELLED = -12,    /* a progress callback asked to stop */
    SAE_ERR_STATE = -13,        /* the call is not valid in the current state */
    SAE_ERR_UNSUPPORTED = -14,  /* a feature is not built into this library,
                                   or not available for this model */
    SAE_ERR_DIVERGED = -15,     /* training produced a non-finite loss */
    SAE_ERR_TYPE = -16,         /* a parameter was set with the wrong type */
    SAE_ERR_SOURCE = -20,       /* a data source's callback reported a failure
                                   (sae_source_ops_t). Since: 0.4 */
    SAE_ERR_REDUCER = -21,      /* a reducer's callback reported a failure (a
                                   peer died, the network failed;
                                   sae_reducer_ops_t). Since: 0.4 */
    SAE_ERR_MISMATCH = -22      /* the ranks of a data-parallel run disagree
                                   (config, model size). Since: 0.4 */
} sae_status_t;

/* A short English description of a status ("invalid argument: NULL ...").
 * Never NULL; unknown values give "unknown status". Since: 0.1 */
SAE_API const char *sae_status_str(sae_status_t status);

/* The message of the last failed call on this thread that had no handle to
 * keep it (constructors, loaders, handle-less helpers). Never NULL; an empty
 * string when there was none. Valid until the next libsae call on this
 * thread. Since: 0.1 */
SAE_API const char *sae_last_error(void);

/* Run-time version of the library, to compare with SAE_VERSION_NUMBER.
 * Since: 0.1 */
SAE_API uint32_t sae_version_number(void);
/* "MAJOR.MINOR.PATCH". Since: 0.1 */
SAE_API const char *sae_version_string(void);

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

typedef struct sae_config sae_config_t;
typedef struct sae_model sae_model_t;
typedef struct sae_trainer sae_trainer_t;

/* Activation functions. Pinned values. */
typedef enum sae_activation {
    SAE_ACT_LINEAR = 0,
    SAE_ACT_SIGMOID = 1,
    SAE_ACT_RELU = 2,
    SAE_ACT_TANH = 3,
    SAE_ACT_TRELU = 4, /* truncated ReLU, clip(z, 0, 1) (Bertens 2016, E4).
                         Since: 0.2 */
    /* arch: the JumpReLU code (Rajamanoharan et al. 2024, arXiv 2407.14435),
     * z * H(z - theta) with a learned threshold theta per unit; code layer
     * of the one-hidden-layer model only (docs/architectures/jumprelu.md).
     * Since: 0.4 */
    SAE_ACT_JUMPRELU = 5
} sae_activation_t;

/* topk.inference: the code of a top-k model at inference. Pinned values.
 * Since: 0.4 */
typedef enum sae_topk_inference {
    SAE_TOPK_INFER_AUTO = 0,     /* threshold for topk.mode = batch, else k */
    SAE_TOPK_INFER_K = 1,        /* round(topk.alpha * k) units per row */
    SAE_TOPK_INFER_THRESHOLD = 2 /* units above BatchTopK's estimated threshold */
} sae_topk_inference_t;

/* Reconstruction losses, each summed over the elements of a batch and then
 * scaled as loss.reduction says (by default averaged over every element). */
typedef enum sae_loss {
    SAE_LOSS_MSE = 0, /* mean((x_hat - x)^2) */
    SAE_LOSS_BCE = 1  /* binary cross-entropy computed from the output's
                         pre-activation (logits); needs a sigmoid output */
} sae_loss_t;

/* How the reconstruction loss of a batch of B rows and D features is
 * reduced to one number. Since: 0.2 */
typedef enum sae_loss_reduction {
    SAE_REDUCE_MEAN = 0,           /* (1/(B D)) sum over every element */
    SAE_REDUCE_SAMPLE_SUM_HALF = 1 /* (1/B) sum over rows of 1/2 the sum over
                                      features: Ng's (1/m) sum 1/2 ||x^ - x||^2
                                      for mse (CS294A notes, sec. 2.1) */
} sae_loss_reduction_t;

typedef enum sae_optimizer {
    SAE_OPT_SGD = 0,  /* SGD with (optional) classical momentum */
    SAE_OPT_ADAM = 1, /* Adam, Kingma & Ba 2015, bias-corrected */
    SAE_OPT_LBFGS = 2 /* full-batch L-BFGS through liblbfgs (see
                         sae_trainer_fit); SAE_ERR_UNSUPPORTED at
                         sae_trainer_create in builds without it. Since: 0.2 */
} sae_optimizer_t;

/* The arithmetic of the training products (train.precision). Since: 0.4 */
typedef enum sae_precision {
    SAE_PRECISION_FP32 = 0,
    SAE_PRECISION_BF16 = 1 /* bf16 operands, fp32 accumulation (oneDNN) */
} sae_precision_t;

/* Who runs fp32 products (train.gemm): in training and in the model's
 * fp32 inference calls. Since: 0.4 */
typedef enum sae_gemm_engine {
    SAE_GEMM_AUTO = 0,  /* CBLAS in 0.4 (docs/precision.md says why) */
    SAE_GEMM_BLAS = 1,  /* the CBLAS the library was built with */
    SAE_GEMM_ONEDNN = 2 /* oneDNN's matmul primitives (builds with oneDNN) */
} sae_gemm_engine_t;

/* How sae_trainer_fit* draws batches from a data buffer. */
typedef enum sae_sampling {
    SAE_SAMPLE_SHUFFLE = 0,     /* epochs of a fresh permutation */
    SAE_SAMPLE_REPLACEMENT = 1, /* each row drawn uniformly, with replacement */
    SAE_SAMPLE_SEQUENTIAL = 2   /* rows in order, no shuffling */
} sae_sampling_t;

/* How weights are initialised (arch.init); both have the variance
 * 2 / (D + H) of Glorot & Bengio (2010), times arch.init_scale^2. Since: 0.2 */
typedef enum sae_init {
    SAE_INIT_GLOROT_UNIFORM = 0, /* U[-r, r], r = init_scale sqrt(6 / (D + H)) */
    SAE_INIT_GLOROT_NORMAL = 1,  /* N(0, s^2), s = init_scale sqrt(2 / (D + H)) */
    SAE_INIT_FAN_IN_UNIFORM = 2  /* torch.nn's default for Linear, Conv2d and
                                    ConvTranspose2d: weights U[-r, r], r =
                                    init_scale / sqrt(fan_in), biases
                                    U[-1/sqrt(fan_in), 1/sqrt(fan_in)]
                                    (fan_in: D for the encoder, H for the
                                    decoder, in_channels k^2 for a
                                    convolution). Since: 0.3 */
} sae_init_t;

/* How the decoder's bias is started from data (arch.bias_init, and the
 * method of sae_model_init_decoder_bias). Since: 0.3 */
typedef enum sae_bias_init {
    SAE_BIAS_INIT_ZERO = 0,            /* all zero (the weights' init leaves it so) */
    SAE_BIAS_INIT_MEAN = 1,            /* the mean of the rows */
    SAE_BIAS_INIT_GEOMETRIC_MEDIAN = 2 /* the point of least summed Euclidean
                                          distance to the rows (Weiszfeld's
                                          algorithm; Gao et al. 2024) */
} sae_bias_init_t;

/* How a trainer updates the model (train.algorithm). Since: 0.2 */
typedef enum sae_algorithm {
    SAE_ALGO_BACKPROP = 0, /* descend the objective with optim.type */
    SAE_ALGO_NSC = 1,      /* neural sparse coding, Arora, Ge, Ma & Moitra
                              2015: a Hebbian dictionary update with no
                              loss; needs a tied, linear, bias-free model
                              (docs/algorithms/neural-sparse-coding.md) */
    SAE_ALGO_RANK_ORDER = 2 /* the rank-ordered autoencoder, Bertens 2016:
                              prefix reconstructions of the units ranked by
                              activation, each unit's update from the
                              residual at its rank; needs a tied, bias-free
                              TReLU model (docs/algorithms/rank-order.md) */
} sae_algorithm_t;

/* Parameter ids. Groups are spaced so that each can grow without renumbering.
 * Every parameter has a type (integer or float), bounds, a default, and a
 * string name ("group.name") usable with sae_config_set(). The value type is
 * given after each id. Booleans are integers 0/1, enums are integers. */
typedef enum sae_param {
    /* architecture: 100.. */
    SAE_P_INPUT_DIM = 100,          /* int  arch.input_dim   >= 1 */
    SAE_P_HIDDEN_DIM = 101,         /* int  arch.hidden_dim  code size, >= 1 */
    SAE_P_HIDDEN_ACTIVATION = 102,  /* enum arch.hidden_activation (sigmoid) */
    SAE_P_OUTPUT_ACTIVATION = 103,  /* enum arch.output_activation (linear) */
    SAE_P_TIED = 104,               /* bool arch.tied: decoder = encoder^T (0) */
    SAE_P_BIAS = 105,               /* bool arch.bias: layers have biases (1) */
    SAE_P_INIT_SCALE = 106,         /* float arch.init_scale: multiplies the
                                       Glorot range or std of arch.init (1) */
    SAE_P_INIT = 107,               /* enum arch.init: glorot_uniform,
                                       glorot_normal or fan_in_uniform
                                       (glorot_uniform). Since: 0.2 */
    SAE_P_UNIT_NORM_DECODER = 108,  /* bool arch.unit_norm_decoder: decoder
                                       rows (the dictionary atoms) kept at
                                       unit norm, their gradient's parallel
                                       part removed (0). Since: 0.2 */
    SAE_P_ENCODER_FROM_DECODER = 109, /* bool arch.encoder_from_decoder:
                                       start encoder.weight equal to
                                       decoder.weight (untied) (0).
                                       Since: 0.2 */
    SAE_P_PRE_ENCODER_BIAS = 110,   /* bool arch.pre_encoder_bias: the encoder
                                       reads x - decoder.bias (Gao et al.
                                       2024's b_pre); needs arch.bias and a
                                       linear output (0). Since: 0.3 */
    SAE_P_BIAS_INIT = 111,          /* enum arch.bias_init: zero, mean or
                                       geometric_median: how a trainer sets
                                       decoder.bias from the first rows it
                                       is given (zero). Since: 0.3 */
    SAE_P_PENALIZE = 112,           /* enum arch.penalize: which activations of
                                       a model with arch.layers the
                                       regularizers act on: "code" (the code
                                       layer's output), "hidden" (the output
                                       of every layer but the last),
                                       "marked" (of the layers marked
                                       'penalize') (code). Since: 0.3 */
    SAE_P_GATED = 113,              /* bool arch.gated: the gated SAE
                                       (Rajamanoharan et al. 2024, arXiv
                                       2404.16014): gate and magnitude paths
                                       sharing encoder.weight, the gate's
                                       decoder-norm L1 (l1.weight) and the
                                       auxiliary reconstruction (0).
                                       Since: 0.4 */
    SAE_P_NORMALIZE_INPUT = 114,    /* bool arch.normalize_input: inputs are
                                       scaled by arch.input_scale, which a
                                       trainer estimates from its first rows
                                       (SAELens's normalize_activations) (0).
                                       Since: 0.4 */
    SAE_P_INPUT_SCALE = 115,        /* float arch.input_scale >= 0: the
                                       factor; 0 = to be estimated (0).
                                       Since: 0.4 */
    /* loss: 200.. */
    SAE_P_LOSS = 200,               /* enum loss.type (mse) */
    SAE_P_LOSS_REDUCTION = 201,     /* enum loss.reduction (mean). Since: 0.2 */
    /* optimizer: 300.. */
    SAE_P_OPTIMIZER = 300,          /* enum optim.type (adam) */
    SAE_P_LEARNING_RATE = 301,      /* float optim.lr > 0 (1e-3) */
    SAE_P_MOMENTUM = 302,           /* float optim.momentum [0,1) (0.9) */
    SAE_P_ADAM_BETA1 = 303,         /* float optim.beta1 [0,1) (0.9) */
    SAE_P_ADAM_BETA2 = 304,         /* float optim.beta2 [0,1) (0.999) */
    SAE_P_ADAM_EPS = 305,           /* float optim.eps > 0 (1e-8) */
    SAE_P_LR_DECAY_EVERY = 310,     /* int  schedule.decay_every: steps
                                       between decays, 0 = never (0) */
    SAE_P_LR_DECAY_FACTOR = 311,    /* float schedule.decay_factor (0,1] (0.5) */
    SAE_P_SCHEDULE_TYPE = 312,      /* enum schedule.type: "step" (the decay
                                       above), "constant", "cosine", "linear"
                                       (step). Since: 0.4 */
    SAE_P_SCHEDULE_WARMUP = 313,    /* int  schedule.warmup_steps: the rate
                                       rises linearly over these first steps
                                       (0). Since: 0.4 */
    SAE_P_SCHEDULE_DECAY_START = 314, /* int schedule.decay_start: cosine and
                                       linear decay from this step (0).
                                       Since: 0.4 */
    SAE_P_SCHEDULE_TOTAL = 315,     /* int  schedule.total_steps: cosine and
                                       linear decay reach the floor here (0).
                                       Since: 0.4 */
    SAE_P_SCHEDULE_MIN_FACTOR = 316, /* float schedule.min_factor [0,1]: the
                                       floor, a fraction of the rate (0).
                                       Since: 0.4 */
    SAE_P_LBFGS_MEMORY = 320,       /* int  lbfgs.memory: correction pairs
                                       kept, [1, 1000] (10). Since: 0.2 */
    SAE_P_LBFGS_TOLERANCE = 321,    /* float lbfgs.tolerance [0,1]: stop when
                                       ||g|| <= tolerance * max(1, ||w||),
                                       0 = never (1e-5). Since: 0.2 */
    /* batching and determinism: 400.. */
    SAE_P_BATCH_SIZE = 400,         /* int  train.batch_size >= 1 (100) */
    SAE_P_SEED = 401,               /* int  train.seed >= 0 (0) */
    SAE_P_SAMPLING = 402,           /* enum train.sampling (shuffle) */
    SAE_P_THREADS = 403,            /* int  train.threads, 0 = library
                                       default (0) */
    SAE_P_PRECISION = 410,          /* enum train.precision: fp32, or bf16:
                                       the training products' operands
                                       rounded to bfloat16, accumulated and
                                       stored in fp32, weights and optimizer
                                       state fp32 (docs/precision.md); needs
                                       oneDNN and an AVX512-BF16 or AMX CPU,
                                       else SAE_ERR_UNSUPPORTED at
                                       sae_trainer_create (fp32). Since: 0.4 */
    SAE_P_GEMM = 411,               /* enum train.gemm: who runs the fp32
                                       products of training and inference:
                                       auto (= blas), blas (CBLAS) or onednn
                                       (auto). Since: 0.4 */
    /* weight decay (L2, lambda/2 * sum W^2): 500.. */
    SAE_P_WEIGHT_DECAY = 500,       /* float decay.l2 >= 0 (0) */
    SAE_P_DECAY_ENCODER = 501,      /* bool decay.encoder (1) */
    SAE_P_DECAY_DECODER = 502,      /* bool decay.decoder (1) */
    /* corruption, training only: 600.. */
    SAE_P_NOISE_STDDEV = 600,       /* float corrupt.noise_std >= 0 (0) */
    SAE_P_NOISE_CLIP = 601,         /* float corrupt.noise_clip: truncate
                                       noise at this many std, 0 = off (2) */
    SAE_P_INPUT_KEEP = 602,         /* float corrupt.input_keep (0,1] (1) */
    SAE_P_HIDDEN_KEEP = 603,        /* float corrupt.hidden_keep (0,1] (1):
                                       dropout on the decoder path only */
    /* divergence (rel): 700.. */
    SAE_P_ROLLBACK = 700,           /* bool train.rollback: a step whose
                                       loss is non-finite takes the weights
                                       back to the last step with a finite
                                       loss, at the cost of one copy of the
                                       parameters per step (1). Since: 0.4 */
    /* built-in regularizers, each off while its weight is 0: 1000.. */
    SAE_P_KL_WEIGHT = 1000,         /* float kl.weight >= 0 (0) */
    SAE_P_KL_RHO = 1001,            /* float kl.rho (0,1) (0.05) */
    SAE_P_KL_SQUASH = 1002,         /* enum kl.squash: none | sigmoid; with
                                       sigmoid rho_hat_j is the batch mean of
                                       sigmoid(h_bj), the form PyTorch code
                                       uses for ReLU codes (none).
                                       Since: 0.4 */
    SAE_P_L1_WEIGHT = 1010,         /* float l1.weight >= 0 (0) */
    SAE_P_L1_DECODER_NORM = 1011,   /* bool l1.decoder_norm: each |h_j| is
                                       weighted by ||decoder row j||
                                       (Anthropic, April 2024) (0).
                                       Since: 0.4 */
    SAE_P_SAMPLE_WEIGHT = 1020,     /* float sample.weight >= 0 (0) */
    SAE_P_SAMPLE_TARGET = 1021,     /* float sample.target [0,1] (0.05) */
    SAE_P_BATCH_WEIGHT = 1030,      /* float batch.weight >= 0 (0) */
    SAE_P_BATCH_TARGET = 1031,      /* float batch.target [0,1] (0.05) */
    /* arch: L0 of the code through a step function's straight-through
     * estimator (JumpReLU, Rajamanoharan et al. 2024): 1040.. */
    SAE_P_L0_WEIGHT = 1040,         /* float l0.weight >= 0: lambda of
                                       lambda * mean_b ||h_b||_0; needs
                                       arch.hidden_activation = jumprelu (0).
                                       Since: 0.4 */
    SAE_P_SPARSITY_WARMUP = 1050,   /* int  sparsity.warmup_steps: the kl,
                                       l1 (and l0) weights rise linearly
                                       from 0 over these first steps (0).
                                       Since: 0.4 */
    /* encoding: 1100.. */
    SAE_P_KWTA_K = 1100             /* int  encode.k: winners in
                                       sae_model_encode_binary, 0..hidden;
                                       0 = 5% of hidden_dim, at least 1 (0) */,
    /* top-k (k-sparse) code, Makhzani & Frey 2013: 1200.. */
    SAE_P_TOPK_K = 1200,            /* int  topk.k: units kept per row while
                                       training, 0 = off (0) */
    SAE_P_TOPK_MODE = 1201,         /* enum topk.mode: "sample" keeps k per
                                       row, "batch" the rows*k largest of the
                                       batch (sample) */
    SAE_P_TOPK_ALPHA = 1202,        /* float topk.alpha >= 1: inference keeps
                                       round(alpha*k) units per row (1) */
    SAE_P_TOPK_K_START = 1203,      /* int  topk.k_start: k at step 0 when
                                       annealing, 0 = no annealing (0) */
    SAE_P_TOPK_ANNEAL_STEPS = 1204, /* int  topk.anneal_steps: steps over
                                       which k falls linearly from k_start
                                       to k (0) */
    SAE_P_TOPK_SPARSE_PATH = 1205   /* enum topk.sparse_path: "auto" (when
                                       4k <= hidden), "on", "off": decode and
                                       backpropagate through the k active
                                       units only (auto) */,
    /* arch: BatchTopK's inference threshold (Bussmann et al. 2024): */
    SAE_P_TOPK_INFERENCE = 1206,    /* enum topk.inference: "auto" (threshold
                                       for topk.mode = batch, k for sample),
                                       "k" (round(alpha*k) per row),
                                       "threshold" (keep h > theta, theta the
                                       running mean of each training batch's
                                       smallest kept activation; batch mode
                                       only) (auto). Since: 0.4 */
    /* AuxK loss of top-k training (Gao et al. 2024, sec. A.2): 1210.. */
    SAE_P_AUXK_K = 1210,            /* int  auxk.k: dead units that
                                       reconstruct the residual per row,
                                       0 = off; needs topk.k > 0 (0).
                                       Since: 0.3 */
    SAE_P_AUXK_ALPHA = 1211,        /* float auxk.alpha >= 0: weight of the
                                       AuxK term (1/32). Since: 0.3 */
    SAE_P_AUXK_DEAD_AFTER = 1212,   /* int  auxk.dead_after >= 1: a unit is
                                       dead after this many training rows
                                       without firing (100000). Since: 0.3 */
    /* arch: JumpReLU (Rajamanoharan et al. 2024, arXiv 2407.14435): 1300.. */
    SAE_P_JUMPRELU_THRESHOLD_INIT = 1300, /* float jumprelu.threshold_init > 0:
                                       every unit's theta at creation (0.001).
                                       Since: 0.4 */
    SAE_P_JUMPRELU_BANDWIDTH = 1301, /* float jumprelu.bandwidth > 0: width
                                       epsilon of the rectangle kernel of the
                                       straight-through estimators (0.001).
                                       Since: 0.4 */
    SAE_P_JUMPRELU_LR_SCALE = 1302, /* float jumprelu.lr_scale > 0: factor of
                                       the learning rate for the log
                                       thresholds (1). Since: 0.4 */
    /* dead-latent resampling (Bricken et al. 2023): 1500.. */
    SAE_P_RESAMPLE_EVERY = 1500,    /* int  resample.every: steps between
                                       resamplings of the dead units, 0 = off
                                       (0). Since: 0.4 */
    SAE_P_RESAMPLE_DEAD_AFTER = 1501, /* int resample.dead_after >= 1: a unit
                                       is dead after this many training rows
                                       without firing (100000). Since: 0.4 */
    SAE_P_RESAMPLE_ENCODER_SCALE = 1502, /* float resample.encoder_scale: a
                                       new encoder row's norm, times the
                                       alive rows' mean norm (0.2).
                                       Since: 0.4 */
    /* training algorithm: 2000.. */
    SAE_P_ALGORITHM = 2000,         /* enum train.algorithm (backprop).
                                       Since: 0.2 */
    SAE_P_NSC_TAU = 2010,           /* float nsc.tau >= 0: code entries with
                                       |A^T y| < tau are zeroed (0.5).
                                       Since: 0.2 */
    SAE_P_NSC_ETA = 2011,           /* float nsc.eta > 0: step of the
                                       dictionary update (1). Since: 0.2 */
    SAE_P_RANK_ORDER_LR = 2020,     /* float rank_order.lr > 0: learning
                                       rate of the rank-order update (1).
                                       Since: 0.2 */
    SAE_P_RANK_ORDER_MAX_NORM = 2021, /* float rank_order.max_norm >= 0:
                                       each unit's update is clipped to this
                                       norm, 0 = no clipping (0.1).
                                       Since: 0.2 */
    SAE_P_RANK_ORDER_DECAY = 2022,  /* float rank_order.decay_factor (0,1]:
                                       multiplies the rate after an epoch
                                       whose error fell too little (0.9).
                                       Since: 0.2 */
    SAE_P_RANK_ORDER_MIN_IMPROVEMENT = 2023, /* float
                                       rank_order.min_improvement >= 0: the
                                       rate decays unless error * (1 + this)
                                       < the previous epoch's error (0.01).
                                       Since: 0.2 */
    /* Matryoshka SAE (Bussmann et al. 2025): 1400... The prefix sizes are
     * the text-valued setting "matryoshka.prefixes" (a list such as
     * "64,256,1024,4096", strictly increasing, the last = hidden_dim; set
     * and read through sae_config_set / sae_config_get; "" = off). */
    SAE_P_MATRYOSHKA_WEIGHTING = 1401 /* enum matryoshka.weighting: "sum" or
                                       "mean" of the prefixes' losses (sum).
                                       Since: 0.4 */
} sae_param_t;

/* ------------------------------------------------------------------------ */
/* Parameter ids named after their keys (rel)                               */
/* ------------------------------------------------------------------------ */

/* Ids whose first names do not match their keys, under names that do; the
 * first names stay. Since: 0.4 */
#define SAE_P_ENCODE_K SAE_P_KWTA_K              /* encode.k */
#define SAE_P_CORRUPT_NOISE_STD SAE_P_NOISE_STDDEV /* corrupt.noise_std */
#define SAE_P_DECAY_L2 SAE_P_WEIGHT_DECAY        /* decay.l2 */
#define SAE_P_OPTIM_TYPE SAE_P_OPTIMIZER         /* optim.type */

/* Type of a parameter's value. */
typedef enum sae_param_type {
    SAE_TYPE_INT = 0,
    SAE_TYPE_FLOAT = 1
} sae_param_type_t;

/* Creates a configuration holding every parameter's default. The caller owns
 * it and frees it with sae_config_free. On failure (*out is NULL) the
 * message is in sae_last_error(). Since: 0.1 */
SAE_API sae_status_t sae_config_create(sae_config_t **out);
/* A deep copy of cfg, including its user regularizers. Since: 0.1 */
SAE_API sae_status_t sae_config_clone(const sae_config_t *cfg, sae_config_t **out);
/* Frees cfg; NULL is allowed. Since: 0.1 */
SAE_API void sae_config_free(sae_config_t *cfg);
/* The last error message on cfg; "" if none; "" for NULL. Since: 0.1 */
SAE_API const char *sae_config_errmsg(const sae_config_t *cfg);

/* Typed setters, validated at set time: a value outside the parameter's
 * bounds gives SAE_ERR_RANGE and leaves the parameter unchanged. Setting an
 * integer parameter with sae_config_set_float (or the reverse) gives
 * SAE_ERR_TYPE; an unknown id gives SAE_ERR_UNKNOWN_KEY. Setters keep their
 * message on cfg (sae_config_errmsg); getters, which take a const config,
 * leave theirs in sae_last_error(). Since: 0.1 */
SAE_API sae_status_t sae_config_set_int(sae_config_t *cfg, sae_param_t param, int64_t value);
SAE_API sae_status_t sae_config_set_float(sae_config_t *cfg, sae_param_t param, double value);
SAE_API sae_status_t sae_config_get_int(const sae_config_t *cfg, sae_param_t param, int64_t *value);
SAE_API sae_status_t sae_config_get_float(const sae_config_t *cfg, sae_param_t param, double *value);

/* Facts about a parameter: its type and inclusive-or-open bounds.
 * lo_open / hi_open tell whether the bound itself is excluded. Any output
 * pointer may be NULL. Since: 0.1 */
SAE_API sae_status_t sae_param_info(sae_param_t param, sae_param_type_t *type, double *lo,
                                    double *hi, int *lo_open, int *hi_open);

/* The string name of a parameter ("kl.rho"), or NULL for an unknown id.
 * Since: 0.1 */
SAE_API const char *sae_param_name(sae_param_t param);
/* The one-line meaning of a parameter, as docs/guide.md's table shows it
 * (Markdown: `code` spans, links), or NULL for an unknown id. Never empty
 * for a known one. A static string: thread-safe, like sae_param_name.
 * Since: 0.4 */
SAE_API const char *sae_param_doc(sae_param_t param);
/* The id of a named parameter. SAE_ERR_UNKNOWN_KEY if none. Since: 0.1 */
SAE_API sae_status_t sae_param_lookup(const char *name, sae_param_t *param);
/* Iterates over every parameter id: index 0.. ; SAE_ERR_RANGE past the end.
 * Since: 0.1 */
SAE_API sae_status_t sae_param_at(size_t index, sae_param_t *param);

/* The string form: sae_config_set(cfg, "kl.rho", "0.08"). Enum values are
 * given by name ("sigmoid", "bce", "adam", "replacement") or number, booleans
 * as 0/1/true/false. Errors: SAE_ERR_UNKNOWN_KEY for an unknown key,
 * SAE_ERR_BAD_VALUE for an unparsable value, SAE_ERR_RANGE as above.
 * Two keys take a structured text and have no parameter id: "arch.layers"
 * (0.3) and "matryoshka.prefixes" (0.4: sizes separated by commas,
 * strictly increasing, each in [1, 2^24], at most 16; "" clears it;
 * SAE_ERR_BAD_VALUE or SAE_ERR_RANGE otherwise, the config unchanged).
 * Since: 0.1 */
SAE_API sae_status_t sae_config_set(sae_config_t *cfg, const char *key, const char *value);
/* Writes the value of key as text into buf (always NUL-terminated when
 * size > 0). SAE_ERR_RANGE if buf is too small. Since: 0.1 */
SAE_API sae_status_t sae_config_get(const sae_config_t *cfg, const char *key, char *buf,
                                    size_t size);

/* Layered models (since 0.3). A config whose arch.layers is set describes a
 * stack of layers on [C, H, W] inputs (rows of C*H*W floats, channels
 * first) instead of the one-hidden-layer model; arch.input_dim,
 * arch.hidden_dim and the arch.*_activation settings are then not used.
 * The text lists layers separated by ';' or new lines, each as words:
 *
 *   input CxHxW                                   first, once
 *   conv2d OUT kK [sS] [pP] [ACT]                 torch.nn.Conv2d
 *   convt2d OUT kK [sS] [pP] [opO] [ACT]          torch.nn.ConvTranspose2d
 *   maxpool2d kK [sS]                             torch.nn.MaxPool2d (s = k)
 *   dense OUT|CxHxW [ACT]                         torch.nn.Linear, flattens
 *                                                 (CxHxW: its output read as
 *                                                 that shape)
 *
 * with stride S (1), padding P (0), output padding O (0), ACT one of
 * linear (default), sigmoid, relu, tanh, trelu. One layer, not the last,
 * carries the word "code": its output is what sae_model_encode returns
 * and sae_model_decode takes. Words "penalize" mark layers for
 * arch.penalize = marked. The last layer's output must have the input's
 * shape. Example (E2's autoencoder):
 *
 *   input 1x28x28; conv2d 8 k3 relu; conv2d 16 k5 relu;
 *   conv2d 32 k5 s2 relu; maxpool2d k2 code; convt2d 16 k3 s2 relu;
 *   convt2d 8 k5 s2 relu; convt2d 1 k8 sigmoid
 *
 * Errors: SAE_ERR_BAD_VALUE for text that does not parse or says one thing
 * twice (relu relu), SAE_ERR_RANGE for a size beyond 65536 (since 0.4),
 * SAE_ERR_DIMENSION for shapes that do not chain; the config is then
 * unchanged. An empty text goes back to the one-hidden-layer model. The
 * same is reachable as sae_config_set(cfg, "arch.layers", text). Since: 0.3 */
SAE_API sae_status_t sae_config_set_layers(sae_config_t *cfg, const char *layers);
/* The layer list in canonical form (every option spelled out), "" when
 * none. SAE_ERR_RANGE if buf is too small. Since: 0.3 */
SAE_API sae_status_t sae_config_get_layers(const sae_config_t *cfg, char *buf, size_t size);

/* ------------------------------------------------------------------------ */
/* Regularizers                                                             */
/* ------------------------------------------------------------------------ */

/* A sparsity regularizer acts on the code (the hidden layer's activations)
 * of a batch; in a model with arch.layers, on each output arch.penalize
 * names (since 0.3), units being that output's C*H*W values. The
 * built-in ones (KL, L1, per-sample, per-unit) are switched on by their
 * config weights; user ones are added with
 * sae_config_add_regularizer through this same table.
 *
 * penalty(): returns the unweighted penalty P(h) of the batch code h
 * [rows x units] and, when grad is not NULL, ADDS weight * dP/dh into grad
 * (same shape). It must not keep h or grad. A non-finite return value stops
 * training with SAE_ERR_DIVERGED.
 * destroy(): called once on user_data when the last config or model holding
 * it is freed; may be NULL. */
typedef struct sae_regularizer_ops {
    uint32_t struct_size; /* sizeof(sae_regularizer_ops_t) */
    const char *name;     /* short name, shown in progress statistics */
    double (*penalty)(void *user_data, const float *h, size_t rows, size_t units, float weight,
                      float *grad);
    void (*destroy)(void *user_data);
} sae_regularizer_ops_t;

/* Adds a user regularizer with its weight (>= 0) to cfg's stack. The ops
 * struct is copied, but not the name string it points to, which must stay
 * valid while any config or model holds the regularizer; user_data is shared by every copy of the config and by
 * models made from it (ops->destroy runs when the last one goes). At most 16
 * user regularizers per config. Since: 0.1 */
SAE_API sae_status_t sae_config_add_regularizer(sae_config_t *cfg, const sae_regularizer_ops_t *ops,
                                                void *user_data, float weight);

/* Gradient check for one regularizer: draws a random code in [0.05, 0.95)
 * of shape [rows x units] (rows, units <= 4096, rows * units <= 65536,
 * else SAE_ERR_RANGE) from seed, and compares penalty()'s gradient with
 * central differences (step 1e-3, quotient in double) of penalty(). *max_rel_err receives the
 * relative difference ||num - ana|| / ||num + ana|| over all entries (the
 * measure of the UFLDL exercises: ~1e-9 in double, ~1e-4 for float code;
 * a wrong gradient gives ~0.1 or more). Since: 0.1 */
SAE_API sae_status_t sae_regularizer_gradcheck(const sae_regularizer_ops_t *ops, void *user_data,
                                               size_t rows, size_t units, uint64_t seed,
                                               double *max_rel_err);

/* The same check for every regularizer active in cfg (built-in and user),
 * with the config's own parameters, on a [rows x hidden_dim] code
 * (rows * hidden_dim <= 65536).
 * *max_rel_err is the worst over all of them. Since: 0.1 */
SAE_API sae_status_t sae_config_gradcheck_regularizers(const sae_config_t *cfg, size_t rows,
                                                       uint64_t seed, double *max_rel_err);

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

/* Creates a model from cfg (copied: later changes to cfg do not affect the
 * model), with weights initialised from the config's seed. Errors:
 * SAE_ERR_STATE when the config is inconsistent (e.g. BCE loss without a
 * sigmoid output, K larger than the code), SAE_ERR_RANGE for more than 2^31
 * encoder weights. Message in sae_last_error().
 * Since: 0.1 */
SAE_API sae_status_t sae_model_create(const sae_config_t *cfg, sae_model_t **out);
/* Frees a model; NULL is allowed. A trainer made on it must be freed first.
 * Since: 0.1 */
SAE_API void sae_model_free(sae_model_t *model);
/* Last error message on model. Since: 0.1 */
SAE_API const char *sae_model_errmsg(const sae_model_t *model);
/* The model's own config (read-only, owned by the model). Since: 0.1 */
SAE_API const sae_config_t *sae_model_config(const sae_model_t *model);
/* Input dimension and code (hidden) dimension; 0 for NULL. Since: 0.1 */
SAE_API size_t sae_model_input_dim(const sae_model_t *model);
SAE_API size_t sae_model_code_dim(const sae_model_t *model);

/* Encodes rows of x [rows x input_dim] into code [rows x code_dim] (no
 * corruption). x must be finite (SAE_ERR_NONFINITE otherwise). rows may be
 * 0. With train.algorithm = nsc the code is the sparse code of neural
 * sparse coding: entries smaller than nsc.tau in magnitude are 0 (since
 * 0.2). With train.algorithm = rank_order the pre-activation is divided by
 * input_dim, as the rank-ordered autoencoder's is (since 0.2). Since: 0.1 */
SAE_API sae_status_t sae_model_encode(sae_model_t *model, const float *x, size_t rows, float *code);
/* Decodes code [rows x code_dim] into x_hat [rows x input_dim] (after the
 * output activation). Since: 0.1 */
SAE_API sae_status_t sae_model_decode(sae_model_t *model, const float *code, size_t rows,
                                      float *x_hat);
/* encode + decode. Since: 0.1 */
SAE_API sae_status_t sae_model_reconstruct(sae_model_t *model, const float *x, size_t rows,
                                           float *x_hat);
/* K-winners-take-all binary codes: for each row, 1 for the k largest code
 * units, 0 elsewhere, into bits [rows x code_dim] (one byte per unit). Ties
 * go to the lower unit index. k = 0 takes the config's encode.k (itself 0 =
 * 5% of code_dim, at least 1); k larger than code_dim is SAE_ERR_RANGE. Since: 0.1 */
SAE_API sae_status_t sae_model_encode_binary(sae_model_t *model, const float *x, size_t rows,
                                             size_t k, uint8_t *bits);
/* Reconstruction error from the top-ranked code units, the rank-ordered
 * autoencoder's "error using the top k units" (docs/algorithms/
 * rank-order.md). The units of each row of x [rows x input_dim] are ranked
 * by pre-activation, largest first; x^_k is the output activation of the
 * decoder bias plus the decoder columns of the row's first k units times
 * their code values. errors[i] receives the mean over the rows of the
 * Euclidean norm ||x - x^_{ks[i]}||, for each of the n_ks entries of ks
 * (each 0..code_dim: 0 is the bias alone, code_dim the ordinary
 * reconstruction). rows >= 1 (SAE_ERR_DIMENSION), x finite
 * (SAE_ERR_NONFINITE), a k above code_dim is SAE_ERR_RANGE. Since: 0.2 */
SAE_API sae_status_t sae_model_prefix_errors(sae_model_t *model, const float *x, size_t rows,
                                             const size_t *ks, size_t n_ks, double *errors);

/* Read access to the parameters, for pictures and export. Tensors are named
 * "encoder.weight" [hidden x input], "encoder.bias" [hidden],
 * "decoder.weight" [hidden x input] (absent when tied), "decoder.bias"
 * [input]. Row-major. Both weights hold one row per code unit: an encoder
 * row is the unit's filter, a decoder row its dictionary atom (x_hat =
 * code . decoder.weight + decoder.bias), so that decoding a sparse code
 * reads whole rows. The pointer stays valid until the model is trained,
 * loaded into or freed. Since: 0.1 */
SAE_API size_t sae_model_tensor_count(const sae_model_t *model);
SAE_API sae_status_t sae_model_tensor(const sae_model_t *model, size_t index, const char **name,
                                      size_t *rows, size_t *cols, const float **data);
/* The same, looked up by name; SAE_ERR_UNKNOWN_KEY if absent. Since: 0.1 */
SAE_API sae_status_t sae_model_tensor_by_name(const sae_model_t *model, const char *name,
                                              size_t *rows, size_t *cols, const float **data);
/* Write access: copies rows x cols floats from data (row-major) into the
 * tensor called name, whose name and shape are as sae_model_tensor reports
 * them; the model's other tensors are left as they are, and pointers from
 * sae_model_tensor stay valid. The values are taken as given, as a
 * loaded model's are (arch.unit_norm_decoder: rows are normalized by the
 * next training update, not here). A
 * decoder.bias set this way is the model's bias: a trainer with
 * arch.bias_init does not set it again, as after
 * sae_model_init_decoder_bias. Errors, with nothing written: SAE_ERR_NULL
 * (model, name or data NULL), SAE_ERR_UNKNOWN_KEY (no such tensor, e.g.
 * decoder.weight of a tied model), SAE_ERR_DIMENSION (rows x cols is not
 * the tensor's shape; the message gives both), SAE_ERR_NONFINITE (data
 * holds NaN or Inf). Like the other calls on a model: one thread at a
 * time, and not while its trainer runs. Since: 0.4 */
SAE_API sae_status_t sae_model_set_tensor(sae_model_t *model, const char *name, size_t rows,
                                          size_t cols, const float *data);

/* Layers of a model made with arch.layers (0 for the one-hidden-layer
 * model), and the output shape [channels x height x width] of layer index
 * (a dense layer's is [units x 1 x 1]); SAE_ERR_RANGE past the last.
 * Weights are the tensors "layers.I.weight" (torch's layouts: Conv2d
 * [out, in, k, k], ConvTranspose2d [in, out, k, k], Linear [out, in]) and
 * "layers.I.bias". Since: 0.3 */
SAE_API size_t sae_model_layer_count(const sae_model_t *model);
SAE_API sae_status_t sae_model_layer_shape(const sae_model_t *model, size_t index,
                                           size_t *channels, size_t *height, size_t *width);

/* Reconstruction quality of rows of x [rows x input_dim] (rows >= 2) as
 * sae_model_reconstruct computes it: *nmse = sum ||x - x_hat||^2 /
 * sum ||x - mean(x)||^2, the fraction of variance left unexplained (mean
 * over these rows), and *explained_variance = 1 - *nmse. Either output may
 * be NULL. SAE_ERR_RANGE when the rows do not vary. Since: 0.2 */
SAE_API sae_status_t sae_model_reconstruction_error(sae_model_t *model, const float *x,
                                                    size_t rows, double *nmse,
                                                    double *explained_variance);

/* Sets decoder.bias [input_dim] from the rows of x [rows x input_dim]:
 * their mean, their geometric median (Weiszfeld's iteration in double,
 * with Vardi and Zhang's step at a data point; it stops when a step moves
 * the estimate less than 1e-9 times the rows' mean distance to their mean,
 * or after 1000 iterations, keeping the last estimate), or zero. This is
 * what a trainer does by itself, on its first rows, when arch.bias_init is
 * not zero; a model given its bias by this call is not set again by its
 * trainer. Errors: SAE_ERR_NULL, SAE_ERR_DIMENSION (rows = 0),
 * SAE_ERR_NONFINITE, SAE_ERR_RANGE (unknown method), SAE_ERR_STATE when
 * the model has no decoder.bias (arch.bias = 0) or a non-linear output
 * (the bias would not be a point of the data's space), SAE_ERR_NOMEM.
 * Since: 0.3 */
SAE_API sae_status_t sae_model_init_decoder_bias(sae_model_t *model, const float *x, size_t rows,
                                                 sae_bias_init_t method);

/* Saves the model (config, weights, format version and checksum) as a
 * safetensors file. Atomic: a temporary file in the same folder is written,
 * flushed, synced and renamed, so path never holds a half-written file;
 * temporaries left by killed saves to the same path are removed. A
 * symbolic link is followed (the file it names is replaced); an existing
 * file keeps its mode. Errors: SAE_ERR_NULL, SAE_ERR_NONFINITE (nothing
 * written), SAE_ERR_IO (also for a target that is a directory, device,
 * FIFO or socket, a link to nothing, or a file the caller may not write;
 * docs/file-format.md, "Saving"), SAE_ERR_NOMEM. Since: 0.1 */
SAE_API sae_status_t sae_model_save(const sae_model_t *model, const char *path);
/* Loads a model saved by sae_model_save. Every header field is checked
 * before use: SAE_ERR_IO, SAE_ERR_FORMAT, SAE_ERR_CHECKSUM or
 * SAE_ERR_VERSION, SAE_ERR_NOMEM when an allocation fails (never reported
 * as a malformed file), with the message in sae_last_error(). Since: 0.1 */
SAE_API sae_status_t sae_model_load(const char *path, sae_model_t **out);

/* ------------------------------------------------------------------------ */
/* bf16b: bf16 weights for read-only inference (docs/precision.md)          */
/* ------------------------------------------------------------------------ */

/* Changes how a one-hidden-layer model stores its two weight matrices:
 * SAE_PRECISION_BF16 rounds encoder.weight and decoder.weight to bfloat16
 * (to nearest, ties to even; exact for weights imported from BF16 files)
 * and frees their fp32 copy, halving the model's memory; the biases and the
 * code operator's tensors stay fp32. sae_model_encode, _decode,
 * _reconstruct, _encode_binary and sae_model_reconstruction_error then
 * multiply by the bf16 weights without widening the matrices: through
 * oneDNN's bf16 matmul on a CPU with AVX512-BF16 or AMX (each call's rows
 * rounded to bf16, fp32 accumulation), elsewhere by widening a block of
 * weight rows at a time for CBLAS. Results differ from the fp32 model's by
 * at most (2 * 2^-9 + 4 k 2^-24) sum_i |x_i w_i| per pre-activation (k the
 * inner dimension; docs/precision.md); inference stays safe from many
 * threads. While the model holds bf16 weights, calls that need the fp32
 * matrices return SAE_ERR_STATE: sae_model_tensor for a weight's data,
 * sae_model_save, sae_model_export, sae_trainer_create,
 * sae_model_prefix_errors, sae_model_fold_input_scale;
 * sae_model_set_tensor on a weight rounds the data into it.
 * SAE_PRECISION_FP32 widens the matrices back (exactly). Pointers from
 * sae_model_tensor are invalid after a change. Not while another thread
 * uses the model. Errors, the model unchanged: SAE_ERR_NULL, SAE_ERR_RANGE
 * (another value), SAE_ERR_UNSUPPORTED (a model with arch.layers),
 * SAE_ERR_STATE (a trainer of the model exists), SAE_ERR_NOMEM. Setting the
 * precision the model has is SAE_OK. Since: 0.4 */
SAE_API sae_status_t sae_model_set_weight_precision(sae_model_t *model,
                                                    sae_precision_t precision);

/* ------------------------------------------------------------------------ */
/* eco: SAEs of other tools (docs/formats.md)                               */
/* ------------------------------------------------------------------------ */

/* Builds a model from an SAE saved by another tool. format: "saelens" (a
 * folder with cfg.json and sae_weights.safetensors: standard, topk,
 * jumprelu, gated), "sparsify" (cfg.json and sae.safetensors),
 * "gemmascope" (params.npz or params.safetensors, or a folder holding
 * one), "llamascope" (hyperparams.json and final.safetensors), "libsae"
 * (sae_model_load), or NULL / "auto" to detect it from what path holds.
 * Tensors of dtype F32, F16 and BF16 are read into fp32 exactly
 * (sae_model_set_weight_precision then keeps a BF16 file's weights as
 * they are, in half the memory). The
 * model computes what the tool's forward computes (docs/formats.md lists
 * how each setting maps); *out is a new model the caller frees with
 * sae_model_free, NULL on failure. Errors, with the message in
 * sae_last_error() naming the file and the quirk: SAE_ERR_NULL,
 * SAE_ERR_IO (missing or unreadable files), SAE_ERR_FORMAT (malformed
 * files, a missing or unexpected tensor), SAE_ERR_DIMENSION (a tensor's
 * shape does not match the config or the other tensors; "transposed" when
 * it is the transpose of the expected one), SAE_ERR_BAD_VALUE (an unknown
 * architecture, dtype or option string, or an unknown format), SAE_ERR_RANGE
 * (k outside 1..d_sae), SAE_ERR_UNSUPPORTED (a setting libsae cannot
 * compute: SAELens's constant_norm_rescale or layer_norm input
 * normalisation, rescale_acts_by_decoder_norm, tensors of another dtype),
 * SAE_ERR_NONFINITE (a tensor holds NaN or Inf), SAE_ERR_NOMEM.
 * Since: 0.4 */
SAE_API sae_status_t sae_model_import(const char *path, const char *format, sae_model_t **out);
/* Writes the model in another tool's format: "saelens" writes the folder
 * path (created if absent; cfg.json and sae_weights.safetensors replaced
 * atomically, each) that SAELens's SAE.load_from_disk reads, "sparsify"
 * the folder (cfg.json, sae.safetensors) that sparsify's
 * SparseCoder.load_from_disk reads. What inference computes is written:
 * an untied, biased one-hidden-layer model with a linear output and a relu
 * code (standard), a top-k code (topk, k = round(topk.alpha x topk.k)),
 * BatchTopK with its estimated threshold (jumprelu, theta for every
 * latent, as SAELens saves BatchTopK SAEs), a JumpReLU code (jumprelu:
 * threshold = exp(log_threshold)) or the gated code; sparsify takes top-k
 * codes with arch.pre_encoder_bias only. Anything else is
 * SAE_ERR_UNSUPPORTED with a message naming it. SAE_ERR_NULL,
 * SAE_ERR_BAD_VALUE (unknown format), SAE_ERR_IO, SAE_ERR_NOMEM.
 * Since: 0.4 */
SAE_API sae_status_t sae_model_export(const sae_model_t *model, const char *path,
                                      const char *format);

/* ------------------------------------------------------------------------ */
/* metrics: the standard evaluation metrics of an SAE (docs/metrics.md)     */
/* ------------------------------------------------------------------------ */

/* An accumulator of evaluation metrics over rows given in chunks, so that a
 * set larger than memory is measured in one pass with O(input_dim +
 * code_dim) state. Opaque; one thread at a time. Since: 0.4 */
typedef struct sae_metrics sae_metrics_t;

/* The metrics of the rows added so far, from x_hat = sae_model_decode(
 * sae_model_encode(x)) (what sae_model_reconstruct gives). The caller sets
 * struct_size (sizeof, as compiled); the library fills the fields that fit
 * in it, so the struct grows by appending fields in later versions.
 * "Active" is as sae_stats_t.l0 counts: |h| > 1e-3 for sigmoid and tanh
 * codes, h != 0 otherwise. Averages are accumulated in double. */
typedef struct sae_metrics_summary {
    uint32_t struct_size;      /* set by the caller: sizeof(sae_metrics_summary_t) */
    uint64_t rows;             /* rows added */
    uint64_t units;            /* code_dim */
    double l0;                 /* mean count of active latents per row */
    double mse;                /* mean over all rows x input_dim values of (x - x_hat)^2 */
    double fvu;                /* sum ||x - x_hat||^2 / sum ||x - mean(x)||^2 (mean over
                                  the rows added): the fraction of variance unexplained;
                                  NAN with fewer than 2 rows or rows that do not vary */
    double explained_variance; /* 1 - fvu (NAN when fvu is) */
    double cosine;             /* mean over rows with x != 0 of cos(x, x_hat) (0 when
                                  x_hat = 0); NAN when every row is 0 */
    double l2_ratio;           /* mean over rows with x != 0 of ||x_hat|| / ||x||; NAN
                                  when every row is 0 */
    double rel_bias;           /* relative reconstruction bias (Rajamanoharan et al. 2024,
                                  arXiv 2404.16014): gamma = argmin_g sum ||x_hat / g - x||^2
                                  = sum ||x_hat||^2 / sum <x, x_hat>; 1 unbiased, below 1
                                  shrinkage; NAN when sum <x, x_hat> = 0 */
    double dead_fraction;      /* fraction of latents active on no row */
    double dense_fraction;     /* fraction of latents active on more than 10% of rows */
    uint64_t dead_units;       /* their counts */
    uint64_t dense_units;
} sae_metrics_summary_t;

/* Creates an accumulator for model, which it uses (not owns) in
 * sae_metrics_add: the model must outlive it and not change between adds
 * for the metrics to mean one model. *out is NULL on failure. Errors:
 * SAE_ERR_NULL, SAE_ERR_NOMEM (message in sae_last_error()). Since: 0.4 */
SAE_API sae_status_t sae_metrics_create(sae_model_t *model, sae_metrics_t **out);
/* Frees an accumulator; NULL is allowed. Since: 0.4 */
SAE_API void sae_metrics_free(sae_metrics_t *metrics);
/* Last error message on metrics. Since: 0.4 */
SAE_API const char *sae_metrics_errmsg(const sae_metrics_t *metrics);
/* Forgets every row added (the model stays). Since: 0.4 */
SAE_API void sae_metrics_reset(sae_metrics_t *metrics);
/* Adds rows of x [rows x input_dim] (rows may be 0): encodes and decodes
 * them in chunks of at most 256 rows and updates the sums. x is not kept.
 * Errors, with nothing added: SAE_ERR_NULL, SAE_ERR_NONFINITE (x holds NaN
 * or Inf), SAE_ERR_NOMEM, or the model's own inference errors (after
 * which the accumulator holds the rows of the earlier calls only).
 * Since: 0.4 */
SAE_API sae_status_t sae_metrics_add(sae_metrics_t *metrics, const float *x, size_t rows);
/* Fills *out with the metrics of the rows added so far (see
 * sae_metrics_summary_t). Errors: SAE_ERR_NULL, SAE_ERR_RANGE
 * (out->struct_size below 16: no field fits), SAE_ERR_STATE (no rows added
 * yet). Since: 0.4 */
SAE_API sae_status_t sae_metrics_summary(const sae_metrics_t *metrics,
                                         sae_metrics_summary_t *out);
/* The firing frequency of every latent over the rows added:
 * frequency[j] = rows in which latent j was active / rows. units must be
 * the code size (SAE_ERR_DIMENSION otherwise). SAE_ERR_STATE before any
 * rows. Since: 0.4 */
SAE_API sae_status_t sae_metrics_frequency(const sae_metrics_t *metrics, double *frequency,
                                           size_t units);
/* Histogram of log10(frequency) over the latents that fired (dead ones are
 * sae_metrics_summary_t.dead_units, log10 0 being -inf): bins equal bins
 * over [lo, hi), counts[i] the latents with lo + i w <= log10 f < lo + (i +
 * 1) w, w = (hi - lo) / bins; a value below lo counts in bin 0, one at or
 * above hi in the last. The plot SAE papers show (feature density).
 * Errors: SAE_ERR_NULL, SAE_ERR_RANGE (bins 0, lo >= hi or not finite),
 * SAE_ERR_STATE before any rows. Since: 0.4 */
SAE_API sae_status_t sae_metrics_histogram(const sae_metrics_t *metrics, double lo, double hi,
                                           size_t bins, uint64_t *counts);
/* One call for rows that are all in memory: create, add, summary, free.
 * Errors as those calls', the message in the model (sae_model_errmsg).
 * Since: 0.4 */
SAE_API sae_status_t sae_model_metrics(sae_model_t *model, const float *x, size_t rows,
                                       sae_metrics_summary_t *out);

/* ------------------------------------------------------------------------ */
/* Training                                                                 */
/* ------------------------------------------------------------------------ */

/* Statistics of a step, an epoch or an evaluation. Filled by the library;
 * struct_size tells how much of it a caller compiled against. */
#define SAE_MAX_TERMS 24
typedef struct sae_stats {
    uint32_t struct_size;     /* sizeof(sae_stats_t) as the library fills it */
    uint64_t step;            /* optimizer steps taken so far */
    uint64_t epoch;           /* completed passes over the data so far */
    uint64_t total_steps;     /* steps the current fit call will take */
    uint64_t samples;         /* rows these statistics average over */
    double loss;              /* total objective: reconstruction + terms */
    double recon_loss;        /* reconstruction loss alone */
    double learning_rate;     /* rate used for this step */
    double mean_activation;   /* mean code activation */
    double l0;                /* mean count of active code units per row:
                                 |h| > 1e-3 for sigmoid and tanh codes,
                                 h != 0 for relu and linear ones */
    uint32_t n_terms;         /* entries used in term_loss / term_name */
    double term_loss[SAE_MAX_TERMS];       /* weighted value of each term */
    const char *term_name[SAE_MAX_TERMS];  /* "kl", "l1", "sample",
                                              "batch", "l2", user names,
                                              "auxk" (since 0.3) */
} sae_stats_t;

/* What a progress callback is told about. */
typedef enum sae_progress_kind {
    SAE_PROGRESS_STEP = 0,
    SAE_PROGRESS_EPOCH = 1
} sae_progress_kind_t;

/* Called after every step (kind STEP, statistics of that batch) and after
 * every epoch (kind EPOCH, averages over the epoch). Return 0 to go on,
 * anything else to cancel: the fit call then returns SAE_ERR_CANCELLED with
 * the model holding the weights of the last completed step. */
typedef int (*sae_progress_fn)(sae_progress_kind_t kind, const sae_stats_t *stats,
                               void *user_data);

/* Creates a trainer for model, with optimizer state and work buffers sized
 * from the model's config (batch size). The trainer does not own the
 * model; free the trainer first. Since: 0.1 */
SAE_API sae_status_t sae_trainer_create(sae_model_t *model, sae_trainer_t **out);
SAE_API void sae_trainer_free(sae_trainer_t *trainer);
SAE_API const char *sae_trainer_errmsg(const sae_trainer_t *trainer);
/* ------------------------------------------------------------------------ */
/* Recovering from divergence (rel)                                         */
/* ------------------------------------------------------------------------ */

/* Sets the learning rate (optim.lr) the trainer uses from its next step,
 * in the model's config (so a saved model records it). This is how
 * training goes on after SAE_ERR_DIVERGED: a backprop step whose loss or
 * gradient is non-finite is not applied, and one whose loss is non-finite
 * also takes the weights back to the last step whose loss was finite (the
 * optimizer's moments restart from zero; sae_trainer_steps counts that
 * step); the trainer stays usable. Errors: SAE_ERR_NULL, SAE_ERR_RANGE
 * (lr not in optim.lr's bounds), with the message in the trainer.
 * Since: 0.4 */
SAE_API sae_status_t sae_trainer_set_learning_rate(sae_trainer_t *trainer, double lr);

/* Sets (or clears, with NULL) the progress callback. Since: 0.1 */
SAE_API sae_status_t sae_trainer_set_callback(sae_trainer_t *trainer, sae_progress_fn fn,
                                              void *user_data);

/* Trains for `epochs` passes over x [rows x input_dim], batches drawn as
 * the config's train.sampling says (with shuffle and sequential sampling a
 * last partial batch is used when rows is not a multiple of the batch size;
 * with replacement every batch is full). x is checked for NaN/Inf first.
 *
 * With optim.type = lbfgs (since 0.2), `epochs` is the most L-BFGS
 * iterations to run, each over all rows of x at once (the objective of the
 * whole set, without batches or sampling; the work buffers grow to `rows`
 * for the call when train.batch_size is smaller). Each iteration counts as
 * one step and one epoch: the callback gets STEP then EPOCH with the same
 * statistics, of the accepted point, learning_rate being the line search's
 * step. Every call starts a fresh L-BFGS memory. It returns SAE_OK when the
 * iterations are done, when ||gradient|| <= lbfgs.tolerance * max(1,
 * ||weights||), or when the line search cannot lower the objective any
 * further (at float precision); sae_trainer_steps tells how many ran.
 * Corruption must be off (SAE_ERR_STATE otherwise). Since: 0.1 */
SAE_API sae_status_t sae_trainer_fit(sae_trainer_t *trainer, const float *x, size_t rows,
                                     uint64_t epochs);
/* Trains for exactly `steps` batches over x; an "epoch" for statistics is
 * ceil(rows / batch_size) steps. With lbfgs, the same as sae_trainer_fit
 * (one step is one full-batch iteration).
 * Since 0.4 the trainer keeps its place in the epoch (and the epoch's
 * permutation) between calls, sae_trainer_fit's included: a call on data of
 * the same row count continues the epoch the last call (or a checkpoint)
 * left, so that fits of a steps each, or a run resumed from a checkpoint,
 * train exactly as one fit of their sum; a call on another row count, or
 * after a source fit, begins a new epoch. Since: 0.1 */
SAE_API sae_status_t sae_trainer_fit_steps(sae_trainer_t *trainer, const float *x, size_t rows,
                                           uint64_t steps);
/* One optimizer step on one batch [rows x input_dim], 1 <= rows <=
 * batch size. stats may be NULL. SAE_ERR_STATE with lbfgs, which needs
 * sae_trainer_fit. Since: 0.1 */
SAE_API sae_status_t sae_trainer_step(sae_trainer_t *trainer, const float *batch, size_t rows,
                                      sae_stats_t *stats);
/* Objective on x without corruption and without updating anything, in
 * batches; stats->loss etc. are averages over batches weighted by rows.
 * This is the training objective: with top-k codes it keeps the training
 * k (annealed to the current step) and topk.mode, not the alpha*k units
 * per row that sae_model_encode and sae_model_reconstruct keep.
 * Since: 0.1 */
SAE_API sae_status_t sae_trainer_evaluate(sae_trainer_t *trainer, const float *x, size_t rows,
                                          sae_stats_t *stats);
/* Steps taken so far. Since: 0.1 */
SAE_API uint64_t sae_trainer_steps(const sae_trainer_t *trainer);

/* Activity of each code unit over the backprop training steps so far (the
 * rows each step trained on; not nsc, rank_order or L-BFGS, which report
 * 0): frequency[j] = fraction of those rows in which unit j was active (as
 * sae_stats_t.l0 counts), when frequency is not NULL (units must then be
 * the code size, else SAE_ERR_DIMENSION); *dead_fraction = fraction of
 * units not active in the last dead_after rows, or never active at all
 * when dead_after is 0 (Gao et al. 2024 call a latent dead after 10M
 * tokens). The counts restart with each trainer. Since: 0.2 */
SAE_API sae_status_t sae_trainer_unit_activity(const sae_trainer_t *trainer, double *frequency,
                                               size_t units, uint64_t dead_after,
                                               double *dead_fraction);

/* Gradient check of the whole objective (reconstruction + regularizers +
 * weight decay) with respect to the parameters, on batch x [rows x
 * input_dim] without corruption: central differences (float forward passes,
 * step 1e-3, quotient in double) against the backward pass, on every
 * floor(n/400)-th entry of each tensor of n entries (every entry when
 * n < 800). *max_rel_err
 * as in sae_regularizer_gradcheck. Meant for small models. SAE_ERR_STATE
 * with train.algorithm = nsc or rank_order, which descend no objective.
 * With auxk.k > 0 (since 0.3) the AuxK term's residual target, and the set
 * of dead units, are held at their values for the unperturbed weights, as
 * the term's gradient treats them as constants. Since: 0.1 */
SAE_API sae_status_t sae_trainer_gradcheck(sae_trainer_t *trainer, const float *x, size_t rows,
                                           double *max_rel_err);

/* Gradient check in double precision, the check of the UFLDL exercises,
 * for small models. The library holds a second, independent implementation
 * of the objective in double (reconstruction with either reduction, the
 * built-in regularizers, weight decay; every activation, tied or untied,
 * with or without biases, with or without arch.pre_encoder_bias since 0.3)
 * and, on batch x [rows x input_dim] without
 * corruption at the model's current weights:
 *  - *rel_diff receives ||num - ana|| / ||num + ana|| between its analytic
 *    gradient and central differences of its objective (eps 1e-4, in
 *    double) over every entry of each tensor of up to 2000 entries, and
 *    2000 entries spread evenly over a larger one. Below 1e-9 is right, as
 *    in UFLDL (a kink of relu or of |h| within 1e-4 of an entry spoils it);
 *  - *float_rel_diff (may be NULL) receives the same ratio between that
 *    double gradient and the library's float backward pass over every
 *    parameter: below 1e-6 is right (float rounding, the fast exp: 3e-8
 *    to 3e-7 measured), 1e-4 or more means the float kernels do not
 *    compute the same gradient.
 * rows must be 1..train.batch_size. Costs about 2 forward passes per
 * checked entry. SAE_ERR_UNSUPPORTED when the config has user regularizers
 * (they see a float code) or a top-k code (hence also with AuxK): use
 * sae_trainer_gradcheck;
 * SAE_ERR_STATE with train.algorithm = nsc or rank_order, which have no
 * gradient. Since: 0.2 */
SAE_API sae_status_t sae_trainer_gradcheck_double(sae_trainer_t *trainer, const float *x,
                                                  size_t rows, double *rel_diff,
                                                  double *float_rel_diff);

/* ------------------------------------------------------------------------ */
/* Data sources: training from data pulled batch by batch (ckpt)            */
/* ------------------------------------------------------------------------ */

/* A data source the trainer pulls batches from, so that the data need not
 * fit in memory (a memory-mapped file, a stream with a shuffle buffer, a
 * generator). The caller fills the struct and keeps it and user_data valid
 * while a fit call uses it, and, when a checkpoint is saved after the fit
 * returned, until then (sae_trainer_save_checkpoint asks the last source
 * for its cursor). Callbacks return 0 on success; anything else stops the
 * fit with SAE_ERR_SOURCE (and the message of errmsg, when given). An
 * epoch ends when next_batch gives 0 rows. Since: 0.4 */
typedef struct sae_source_ops {
    uint32_t struct_size; /* sizeof(sae_source_ops_t) as the caller knows it */
    /* Required. Writes up to max_rows rows of dim floats, row-major, into
     * rows_out (a buffer the library owns, max_rows * dim floats, valid only
     * during the call) and their count into *rows; 0 rows: the epoch is
     * over. A batch of fewer rows than max_rows is trained as it is (as the
     * last partial batch of sae_trainer_fit). */
    int (*next_batch)(void *user_data, float *rows_out, size_t max_rows, size_t dim,
                      size_t *rows);
    /* Required. Called before the first batch of every epoch (epoch = the
     * trainer's count of completed epochs, from 0): rewind, reshuffle. */
    int (*reset)(void *user_data, uint64_t epoch);
    /* Optional (NULL: unknown). Rows per epoch, for total_steps in the
     * progress statistics only. */
    uint64_t (*row_count)(void *user_data);
    /* Optional, together (all three or none): the source's position as an
     * opaque byte string, saved in checkpoints and restored on resume. The
     * cursor is taken between batches. Without them a resumed fit calls
     * reset(epoch) and pulls and discards the rows the interrupted epoch had
     * used, which is right for a source that gives the same rows after the
     * same reset. cursor_size gives the bytes save_cursor will write (at
     * most 2^30). */
    size_t (*cursor_size)(void *user_data);
    int (*save_cursor)(void *user_data, void *buf, size_t size);
    int (*restore_cursor)(void *user_data, const void *buf, size_t size);
    /* Optional: a message for the last failure (copied at once). */
    const char *(*errmsg)(void *user_data);
} sae_source_ops_t;

/* Trains from a data source: batches of train.batch_size rows (or fewer,
 * as the source gives them) pulled through ops->next_batch, each checked
 * for NaN/Inf, with the same steps, corruption, bias initialisation from
 * the first batch, progress callback and cancellation as sae_trainer_fit.
 * train.sampling does not apply (the source decides the order). Stops
 * after `epochs` epoch ends (an epoch ends when next_batch gives no rows)
 * or `steps` steps, whichever comes first; 0 means no limit for that one,
 * and at least one must be set (else SAE_ERR_RANGE). A fit continues the
 * epoch that the trainer's previous source fit (or a checkpoint) left:
 * pass the same source, positioned where it was; a fit from a checkpoint
 * restores the source's position first (sae_source_ops_t). Errors:
 * SAE_ERR_NULL, SAE_ERR_RANGE (no bound, or struct_size too small for
 * next_batch and reset), SAE_ERR_BAD_VALUE (a required callback NULL, or
 * only some of the cursor callbacks), SAE_ERR_SOURCE, SAE_ERR_DIMENSION
 * (an epoch of no rows, more rows than asked for, or a resumed source
 * that does not give the rows it gave before), SAE_ERR_NONFINITE, SAE_ERR_STATE (optim.type
 * = lbfgs, which needs the whole data set in memory), SAE_ERR_CANCELLED,
 * and the step's own errors. Since: 0.4 */
SAE_API sae_status_t sae_trainer_fit_source(sae_trainer_t *trainer, const sae_source_ops_t *ops,
                                            void *user_data, uint64_t epochs, uint64_t steps);

/* ------------------------------------------------------------------------ */
/* Checkpoints: resuming a training run bit-identically (ckpt)              */
/* ------------------------------------------------------------------------ */

/* Saves everything the trainer's next step reads: the model (config and
 * tensors, exactly as sae_model_save writes them), the optimizer's state
 * (momentum or Adam's moments and update count), the step and epoch
 * counts, the random stream, the data position (the place in the epoch,
 * the epoch's permutation and running statistics, and the last data
 * source's cursor when it has one, asked of it now), the units' activity
 * counts (dead latents, AuxK) and the training method's and code
 * operator's own state. A run resumed from it with
 * sae_trainer_load_checkpoint and the same thread count trains exactly
 * as the uninterrupted run (the same model file, byte for byte), except
 * with optim.type = lbfgs, whose memory every fit call starts afresh
 * anyway (sae_trainer_fit). The file
 * is a model file with more tensors (docs/file-format.md): sae_model_load
 * reads its model. Atomic, as sae_model_save. May be called from the
 * progress callback, between steps. The progress callback itself is not
 * saved. Errors (message in sae_trainer_errmsg): SAE_ERR_NULL, SAE_ERR_IO,
 * SAE_ERR_NONFINITE, SAE_ERR_NOMEM, SAE_ERR_SOURCE (the source's cursor
 * calls failed), SAE_ERR_UNSUPPORTED when the config has user
 * regularizers (files do not store them). Since: 0.4 */
SAE_API sae_status_t sae_trainer_save_checkpoint(sae_trainer_t *trainer, const char *path);

/* Loads a checkpoint into a new model and a new trainer on it (free the
 * trainer first, then the model; no progress callback is set). A data
 * source fit on the trainer first puts the source back where the saved
 * run was (sae_source_ops_t); an in-memory fit on data of the saved epoch's
 * row count continues its epoch. Every field is checked as
 * sae_model_load checks a model file, and the state against the trainer's:
 * SAE_ERR_FORMAT for a model file that is no checkpoint, a missing or
 * unexpected tensor, a wrong dtype or shape, NaN or Inf, or state that
 * cannot be (a data position past its epoch, an order that is no
 * permutation); SAE_ERR_VERSION for another checkpoint_version;
 * SAE_ERR_CHECKSUM, SAE_ERR_IO, SAE_ERR_NOMEM, and sae_trainer_create's
 * errors; the message in sae_last_error(). Since: 0.4 */
SAE_API sae_status_t sae_trainer_load_checkpoint(const char *path, sae_model_t **model,
                                                 sae_trainer_t **trainer);

/* Epochs completed so far (0 for NULL). Since: 0.4 */
SAE_API uint64_t sae_trainer_epochs(const sae_trainer_t *trainer);

/* ---- The modern SAE family: input normalisation (0.4) ---------------- */

/* Folds a model's input scale (arch.normalize_input, arch.input_scale = s)
 * into its weights, so that the model computes the same functions without
 * it: encoder.weight *= s, decoder.weight /= s, decoder.bias /= s, then
 * arch.normalize_input = false and arch.input_scale = 0 in the model's
 * config; a model saved after this call is a plain SAE any reader can use.
 * Nothing to do (SAE_OK) when the model has no scale or s = 1 or s is not
 * estimated yet (0). Errors: SAE_ERR_NULL for a NULL model. Trainers of the
 * model must not be in use during the call. Since: 0.4 */
SAE_API sae_status_t sae_model_fold_input_scale(sae_model_t *model);

/* ---- Data-parallel training: reducers (mpi) --------------------------- */

/* A reducer joins the trainers of several processes (ranks) into one
 * data-parallel run: each rank trains on its own rows, and once per step
 * the ranks' gradients and statistics are summed, so that every rank
 * applies the same update of the mean over the global batch (the sum of the
 * ranks' batches) and the models stay bitwise identical. The library never
 * links an engine: MPI (tools/sae's adapter), NCCL, gloo or a user's own
 * plugs in through these callbacks (docs/distributed.md has the contract).
 * Every callback is collective: all ranks call it in the same order with
 * the same sizes; it returns 0 on success, anything else stops the step
 * with SAE_ERR_REDUCER (and the message of errmsg, when given). Since: 0.4 */
typedef struct sae_reducer_ops {
    uint32_t struct_size; /* sizeof(sae_reducer_ops_t) as the caller knows it */
    int rank;             /* this process's rank, 0 <= rank < ranks */
    int ranks;            /* processes in the run, >= 1 */
    /* Required. Replaces buf[0..n) with its element-wise sum over the
     * ranks, identical on every rank (the gradient block, in floats). */
    int (*allreduce_float)(void *user_data, float *buf, size_t n);
    /* Required. The same in doubles (step statistics, activity counts). */
    int (*allreduce_double)(void *user_data, double *buf, size_t n);
    /* Required. Copies rank 0's bytes of buf into every other rank's buf
     * (initial weights, the decoder-bias and input-scale estimates, the
     * weights after a dead-unit resampling). */
    int (*broadcast)(void *user_data, void *buf, size_t bytes);
    /* Optional: a message for the last failure (copied at once). */
    const char *(*errmsg)(void *user_data);
} sae_reducer_ops_t;

/* Makes the trainer one rank of a data-parallel run through ops (copied;
 * user_data is kept and must outlive the trainer's fits). The call is
 * collective: it compares a hash of the configuration (all but
 * train.threads and the estimated arch.input_scale) and the model's size
 * with rank 0's, so that every rank refuses a mismatched run before any
 * training. The first step after the call (or after a checkpoint is loaded
 * into a new trainer) broadcasts rank 0's weights, with its decoder-bias
 * initialisation and input scale; every step then sums the rows, the step
 * statistics (the loss and terms are the global batch's row-weighted
 * means, the same on every rank), the units' activity counts (dead
 * latents, AuxK and resampling agree) and a non-finite-loss flag (a
 * non-finite loss on any rank stops every rank with SAE_ERR_DIVERGED),
 * then the gradient block, each rank's weighted by its rows over the
 * global batch's. A fit ends an epoch when every rank's data is exhausted;
 * a rank whose shard ended first takes part with zero rows. Terms that read
 * statistics of the whole batch (KL's mean activation, batch top-k's
 * threshold, AuxK's normalisation) see the rank's rows only
 * (docs/distributed.md). ops NULL detaches the reducer. Only
 * train.algorithm = backprop takes one. Errors: SAE_ERR_NULL (trainer),
 * SAE_ERR_RANGE (struct_size too small, rank or ranks out of range),
 * SAE_ERR_BAD_VALUE (a required callback NULL), SAE_ERR_STATE (another
 * training method), SAE_ERR_REDUCER, SAE_ERR_MISMATCH (the message names
 * what differs). Since: 0.4 */
SAE_API sae_status_t sae_trainer_set_reducer(sae_trainer_t *trainer, const sae_reducer_ops_t *ops,
                                             void *user_data);

#ifdef __cplusplus
}
#endif

#endif /* SAE_H */
