#!/bin/sh
# Prints the Markdown table of every config parameter (key, id, type, bounds,
# default, meaning) as the library reports it through its public API
# (sae_param_at, sae_param_info, sae_param_name, sae_config_get), so that the
# table in docs/guide.md is what lib/config/keys.c holds, not a copy of it.
#
#   tools/gen-param-table.sh [BUILDDIR]            print the table
#   tools/gen-param-table.sh --check [BUILDDIR]    exit 1 if docs/guide.md
#                                                  differs from it
#   tools/gen-param-table.sh --update [BUILDDIR]   rewrite it in docs/guide.md
#
# BUILDDIR (default: build) must hold a built lib/libsae.so and
# include/sae-version.h. The table sits in docs/guide.md between the lines
# "<!-- param-table:begin -->" and "<!-- param-table:end -->".
# SPDX-License-Identifier: MIT
set -eu

mode=print
case "${1:-}" in
--check) mode=check; shift ;;
--update) mode=update; shift ;;
esac
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
build=$(cd "$build" && pwd)
guide=$src/docs/guide.md
cc=${CC:-cc}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Meaning of each key. A key missing here stops the script, so a new
# parameter cannot reach the table without its explanation.
cat > "$tmp/meaning.txt" <<'EOF'
arch.input_dim	features per input row (D)
arch.hidden_dim	code units (H)
arch.hidden_activation	activation of the code layer
arch.output_activation	activation of the output layer; `sigmoid` for `bce`
arch.tied	decoder weight = encoder weight transposed (no `decoder.weight`)
arch.bias	both layers have biases
arch.init_scale	multiplies the Glorot-uniform range sqrt(6/(D+H)), or the Glorot-normal standard deviation sqrt(2/(D+H))
arch.init	`glorot_uniform`: U[-r, r], r = init_scale sqrt(6/(D+H)); `glorot_normal`: N(0, s^2), s = init_scale sqrt(2/(D+H)) (E4's init); `fan_in_uniform`: torch.nn's default, weights U[-r, r], r = init_scale / sqrt(fan_in), biases U[-1/sqrt(fan_in), 1/sqrt(fan_in)] (E2's init). With `arch.layers` the fans are each layer's
arch.unit_norm_decoder	decoder rows kept at unit norm, their gradient projected onto the tangent (Gao et al. 2024)
arch.encoder_from_decoder	start `encoder.weight` equal to `decoder.weight` (untied; Gao et al. 2024)
arch.pre_encoder_bias	the encoder reads x - `decoder.bias` (Gao et al. 2024's b_pre; [auxk.md](regularizers/auxk.md)); needs `arch.bias` and a linear output
arch.bias_init	how a trainer sets `decoder.bias` from the first rows it is given (at most 16384): `zero` (left as initialised), `mean`, `geometric_median`
arch.penalize	with `arch.layers`: the activations the regularizers act on, `code` (the code layer's output), `hidden` (every layer's output but the last; E2), `marked` (the layers marked `penalize`)
loss.type	reconstruction loss, reduced over the batch as `loss.reduction` says
loss.reduction	`mean`: over all B x D elements; `sample_sum_half`: 1/2 the sum over features, mean over rows (Ng's J)
optim.type	optimizer
optim.lr	learning rate (before the schedule)
optim.momentum	SGD momentum (SGD only)
optim.beta1	Adam first-moment decay (Adam only)
optim.beta2	Adam second-moment decay (Adam only)
optim.eps	Adam epsilon (Adam only)
schedule.decay_every	multiply the rate by `decay_factor` every this many steps; 0 = constant
schedule.decay_factor	factor of the step decay
lbfgs.memory	L-BFGS correction pairs kept (`optim.type = lbfgs`); memory 2 x this x parameters doubles
lbfgs.tolerance	L-BFGS stops when the gradient norm <= this x max(1, weight norm); 0 = run every iteration
train.batch_size	rows per step (B); sizes the trainer's workspace
train.seed	seeds the weight init, sampling and corruption
train.sampling	how fit draws batches
train.threads	when > 0, the BLAS's thread count (set process-wide by `sae_trainer_create`) and, in builds with OpenMP, the element-wise passes' threads; 0 = leave both as they are
decay.l2	L2 weight decay lambda: lambda/2 sum W^2 ([weight-decay.md](regularizers/weight-decay.md))
decay.encoder	decay applies to `encoder.weight`
decay.decoder	decay applies to `decoder.weight` (no effect when tied)
corrupt.noise_std	std of the Gaussian noise added to training inputs
corrupt.noise_clip	noise truncated at this many std (redrawn); 0 = not truncated
corrupt.input_keep	input dropout keep probability (inverted scaling)
corrupt.hidden_keep	dropout keep probability on the decoder's copy of the code
kl.weight	weight of the KL term ([kl.md](regularizers/kl.md)); 0 = off
kl.rho	KL target mean activation
l1.weight	weight of the L1 term ([l1.md](regularizers/l1.md)); 0 = off
sample.weight	weight of the per-sample term ([sample.md](regularizers/sample.md)); 0 = off
sample.target	per-sample target mean activation
batch.weight	weight of the per-unit term ([batch.md](regularizers/batch.md)); 0 = off
batch.target	per-unit target mean activation
encode.k	winners of `sae_model_encode_binary`; 0 = 5% of H rounded up, at least 1
topk.k	units kept per row while training (k-sparse code, [topk.md](regularizers/topk.md)); 0 = off
topk.mode	`sample`: k per row; `batch`: the rows x k largest values of the batch
topk.alpha	inference keeps round(alpha x k) units per row
topk.k_start	k at step 0 when annealing; 0 = no annealing
topk.anneal_steps	steps over which k falls linearly from k_start to k
topk.sparse_path	decode and backpropagate through the active units only: `auto` (4k <= H), `on`, `off`
auxk.k	dead units per row that reconstruct the main residual, the AuxK loss ([auxk.md](regularizers/auxk.md)); 0 = off; needs `topk.k` > 0
auxk.alpha	weight of the AuxK term, alpha sum \|\|e - e^\|\|^2 / sum \|\|e\|\|^2
auxk.dead_after	a unit is dead after this many training rows without firing
train.algorithm	how a trainer updates the model: `backprop` descends the objective with `optim.type`; `nsc` is neural sparse coding ([neural-sparse-coding.md](algorithms/neural-sparse-coding.md)), a dictionary update with no loss; `rank_order` is the rank-ordered autoencoder's update ([rank-order.md](algorithms/rank-order.md))
nsc.tau	`nsc` only: code entries with \|A^T y\| < tau are set to 0, in training and in `sae_model_encode`
nsc.eta	`nsc` only: step of the dictionary update (the step decay of `schedule.*` applies to it)
rank_order.lr	`rank_order` only: learning rate of the update W += lr G, before the epoch decays
rank_order.max_norm	`rank_order` only: each unit's column of G is scaled down to this norm when longer; 0 = no clipping
rank_order.decay_factor	`rank_order` only: multiplies the rate after an epoch whose training error fell too little
rank_order.min_improvement	`rank_order` only: the rate decays after epoch i > 0 unless error_i * (1 + this) < error_{i-1}
EOF

cat > "$tmp/gen.c" <<'EOF'
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sae.h"

/* Numbers as a reader wants them: 2^24, 1e6, 1e-8, 0.999. */
static void fmt(double v, char *buf, size_t size)
{
    if (v >= 1024 && v == ldexp(1.0, (int)log2(v)))
        snprintf(buf, size, "2^%d", (int)log2(v));
    else if (v >= 1e6 && v == pow(10.0, floor(log10(v) + 0.5)))
        snprintf(buf, size, "1e%d", (int)floor(log10(v) + 0.5));
    else {
        snprintf(buf, size, "%g", v);
        char *e = strstr(buf, "e-0");
        if (e)
            memmove(e + 2, e + 3, strlen(e + 3) + 1);
    }
}

int main(void)
{
    sae_config_t *cfg, *scratch;
    if (sae_config_create(&cfg) != SAE_OK || sae_config_create(&scratch) != SAE_OK)
        return 1;
    sae_param_t p;
    for (size_t i = 0; sae_param_at(i, &p) == SAE_OK; i++) {
        sae_param_type_t type;
        double lo, hi;
        int lo_open, hi_open;
        if (sae_param_info(p, &type, &lo, &hi, &lo_open, &hi_open) != SAE_OK)
            return 1;
        const char *name = sae_param_name(p);
        char def[64], a[32], b[32], range[96], values[160] = "";
        if (sae_config_get(cfg, name, def, sizeof def) != SAE_OK)
            return 1;
        const char *kind = type == SAE_TYPE_INT ? "int" : "float";
        if (type == SAE_TYPE_FLOAT) {
            double v;
            sae_config_get_float(cfg, p, &v);
            fmt(v, def, sizeof def);
        } else if (strspn(def, "-0123456789") != strlen(def)) {
            /* A named value: list every name in the range. */
            for (long k = (long)lo; k <= (long)hi; k++) {
                char n[32];
                sae_config_set_int(scratch, p, k);
                sae_config_get(scratch, name, n, sizeof n);
                snprintf(values + strlen(values), sizeof values - strlen(values), "%s%ld `%s`",
                         k > (long)lo ? ", " : "", k, n);
            }
            kind = strstr(values, "`false`") ? "bool" : "enum";
        }
        if (strcmp(kind, "int") == 0 || strcmp(kind, "float") == 0) {
            fmt(lo, a, sizeof a);
            fmt(hi, b, sizeof b);
            snprintf(range, sizeof range, "%c%s, %s%c", lo_open ? '(' : '[', a, b,
                     hi_open ? ')' : ']');
        } else {
            snprintf(range, sizeof range, "%s", values);
        }
        printf("%s\t%d\t%s\t%s\t%s\n", name, (int)p, kind, range, def);
    }
    sae_config_free(cfg);
    sae_config_free(scratch);
    return 0;
}
EOF

"$cc" -std=c11 -I"$src/include" -I"$build/include" "$tmp/gen.c" -o "$tmp/gen" \
    -L"$build/lib" -lsae -lm
LD_LIBRARY_PATH="$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/gen" > "$tmp/rows.txt"

# Id names from the header: "SAE_P_NAME = value,".
sed -n 's/^ *\(SAE_P_[A-Z0-9_]*\) = \([0-9]*\).*/\2\t\1/p' "$src/include/sae.h" > "$tmp/ids.txt"

awk -F '\t' -v ids="$tmp/ids.txt" -v meaning="$tmp/meaning.txt" '
BEGIN {
    while ((getline line < ids) > 0) { split(line, f, "\t"); id[f[1]] = f[2] }
    while ((getline line < meaning) > 0) { split(line, f, "\t"); m[f[1]] = f[2] }
    print "| key | id | type | bounds or values | default | meaning |"
    print "|---|---|---|---|---|---|"
}
{
    if (!($2 in id)) { print "no id in sae.h for " $1 > "/dev/stderr"; exit 1 }
    if (!($1 in m)) { print "no meaning for " $1 " in tools/gen-param-table.sh" > "/dev/stderr"; exit 1 }
    printf "| `%s` | `%s` | %s | %s | `%s` | %s |\n", $1, id[$2], $3, $4, $5, m[$1]
}' "$tmp/rows.txt" > "$tmp/table.md"

case $mode in
print)
    cat "$tmp/table.md"
    ;;
check | update)
    awk -v table="$tmp/table.md" '
    /^<!-- param-table:end -->$/ { skip = 0 }
    !skip { print }
    /^<!-- param-table:begin -->$/ {
        while ((getline line < table) > 0) print line
        skip = 1
    }' "$guide" > "$tmp/guide.md"
    if [ "$mode" = check ]; then
        if cmp -s "$guide" "$tmp/guide.md"; then
            echo "docs/guide.md: parameter table up to date"
        else
            diff -u "$guide" "$tmp/guide.md" || true
            echo "docs/guide.md: parameter table out of date (run tools/gen-param-table.sh --update)" >&2
            exit 1
        fi
    else
        cp "$tmp/guide.md" "$guide"
    fi
    ;;
esac
