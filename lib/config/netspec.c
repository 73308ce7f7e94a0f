/* arch.layers: parsing, canonical text and shapes of a layer list.
 *
 * Grammar (layers separated by ';' or new lines, tokens by blanks):
 *   input CxHxW
 *   conv2d OUT kK [sS] [pP] [ACT] [code] [penalize]
 *   convt2d OUT kK [sS] [pP] [opO] [ACT] [code] [penalize]
 *   maxpool2d kK [sS] [code] [penalize]         (stride defaults to K)
 *   dense OUT|CxHxW [ACT] [code] [penalize]     (flattens its input; its
 *                                               output may take a shape)
 * ACT is linear (default), sigmoid, relu, tanh or trelu.
 * SPDX-License-Identifier: MIT */
#include "config/netspec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static const char *const kind_names[] = {"conv2d", "convt2d", "maxpool2d", "dense"};
static const char *const act_names[] = {"linear", "sigmoid", "relu", "tanh", "trelu"};

/* Dimensions are bounded so that products of a few of them stay far from
 * overflow; the model checks its real sizes against 2^31. */
#define MAX_DIM 65536

const char *sae_layer_kind_name(sae_layer_kind_t kind)
{
    return (unsigned)kind < 4 ? kind_names[kind] : "?";
}

/* What the readers below return besides 1 (read). */
enum { NOT_READ = 0, OUT_OF_RANGE = -1, TWICE = -2 };

/* Reads a decimal count in [lo, MAX_DIM] from s: 1, NOT_READ when s is not
 * a number, OUT_OF_RANGE when it is one outside the bounds. */
static int read_count(const char *s, size_t lo, size_t *out)
{
    if (!isdigit((unsigned char)*s))
        return NOT_READ;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return NOT_READ;
    if (errno || v < lo || v > MAX_DIM)
        return OUT_OF_RANGE;
    *out = (size_t)v;
    return 1;
}

/* Reads "CxHxW" into c, h, w (read_count's results). */
static int read_dims(const char *s, size_t *c, size_t *h, size_t *w)
{
    char a[24], b[24], d[24];
    const char *x1 = strchr(s, 'x');
    const char *x2 = x1 ? strchr(x1 + 1, 'x') : NULL;
    if (!x1 || !x2 || x1 - s >= 24 || x2 - x1 > 24 || strlen(x2 + 1) >= 24)
        return NOT_READ;
    memcpy(a, s, (size_t)(x1 - s));
    a[x1 - s] = '\0';
    memcpy(b, x1 + 1, (size_t)(x2 - x1 - 1));
    b[x2 - x1 - 1] = '\0';
    strcpy(d, x2 + 1);
    int r[3] = {read_count(a, 1, c), read_count(b, 1, h), read_count(d, 1, w)};
    for (int i = 0; i < 3; i++)
        if (r[i] == NOT_READ)
            return NOT_READ;
    for (int i = 0; i < 3; i++)
        if (r[i] == OUT_OF_RANGE)
            return OUT_OF_RANGE;
    return 1;
}

static int read_shape(const char *s, sae_netspec_t *spec)
{
    return read_dims(s, &spec->in_c, &spec->in_h, &spec->in_w);
}

/* Marks option bit in *seen; TWICE when it was already there. */
static int once(unsigned *seen, unsigned bit)
{
    if (*seen & bit)
        return TWICE;
    *seen |= bit;
    return 1;
}

/* One token of a layer after its kind (and count): kK sS pP opO, an
 * activation, "code" or "penalize"; each at most once (*seen). */
static int read_option(const char *tok, sae_layer_spec_t *l, unsigned *seen)
{
    for (int a = 0; a < 5; a++)
        if (!strcmp(tok, act_names[a]) && l->kind != SAE_LAYER_MAXPOOL2D) {
            l->act = (sae_activation_t)a;
            return once(seen, 1u << 0);
        }
    if (!strcmp(tok, "code"))
        return l->is_code = 1, once(seen, 1u << 1);
    if (!strcmp(tok, "penalize"))
        return l->penalize = 1, once(seen, 1u << 2);
    if (l->kind == SAE_LAYER_DENSE)
        return NOT_READ;
    int r = NOT_READ;
    unsigned bit = 0;
    if (tok[0] == 'k')
        r = read_count(tok + 1, 1, &l->kernel), bit = 1u << 3;
    else if (tok[0] == 's')
        r = read_count(tok + 1, 1, &l->stride), bit = 1u << 4;
    else if (tok[0] == 'p' && l->kind != SAE_LAYER_MAXPOOL2D)
        r = read_count(tok + 1, 0, &l->padding), bit = 1u << 5;
    else if (tok[0] == 'o' && tok[1] == 'p' && l->kind == SAE_LAYER_CONVT2D)
        r = read_count(tok + 2, 0, &l->output_padding), bit = 1u << 6;
    return r == 1 ? once(seen, bit) : r;
}

/* A layer's option that cannot be taken, said as what is wrong with it. */
static sae_status_t option_error(int r, size_t index, const char *kind, const char *tok,
                                 char *errbuf)
{
    if (r == OUT_OF_RANGE)
        return sae_fail(errbuf, SAE_ERR_RANGE,
                        "arch.layers: layer %zu (%s): '%s' is out of range (sizes are at most %d)",
                        index, kind, tok, MAX_DIM);
    if (r == TWICE)
        return sae_fail(errbuf, SAE_ERR_BAD_VALUE,
                        "arch.layers: layer %zu (%s): '%s' says again what an earlier word said",
                        index, kind, tok);
    return sae_fail(errbuf, SAE_ERR_BAD_VALUE, "arch.layers: layer %zu (%s): cannot read '%s'",
                    index, kind, tok);
}

/* Parses one layer's tokens (already split) into l. */
static sae_status_t parse_layer(char **tok, size_t ntok, size_t index, sae_layer_spec_t *l,
                                char *errbuf)
{
    memset(l, 0, sizeof *l);
    int kind = -1;
    for (int k = 0; k < 4; k++)
        if (!strcmp(tok[0], kind_names[k]))
            kind = k;
    if (!strcmp(tok[0], "conv_transpose2d"))
        kind = SAE_LAYER_CONVT2D;
    if (kind < 0)
        return sae_fail(errbuf, SAE_ERR_BAD_VALUE,
                        "arch.layers: layer %zu: unknown kind '%s' (expected conv2d, convt2d, "
                        "maxpool2d or dense)",
                        index, tok[0]);
    l->kind = (sae_layer_kind_t)kind;
    l->act = SAE_ACT_LINEAR;
    l->stride = 1;
    l->out_h = l->out_w = 1;
    size_t t = 1;
    if (l->kind != SAE_LAYER_MAXPOOL2D) {
        int ok = ntok >= 2 ? read_count(tok[1], 1, &l->out) : NOT_READ;
        if (ok == NOT_READ && ntok >= 2 && l->kind == SAE_LAYER_DENSE)
            ok = read_dims(tok[1], &l->out, &l->out_h, &l->out_w);
        if (ok == OUT_OF_RANGE)
            return sae_fail(errbuf, SAE_ERR_RANGE,
                            "arch.layers: layer %zu (%s): %s output %s is out of range: each "
                            "must be in [1, %d]",
                            index, tok[0], tok[1],
                            l->kind == SAE_LAYER_DENSE ? "units" : "channels", MAX_DIM);
        if (ok != 1)
            return sae_fail(errbuf, SAE_ERR_BAD_VALUE,
                            "arch.layers: layer %zu (%s) needs its output %s first",
                            index, tok[0],
                            l->kind == SAE_LAYER_DENSE ? "units (N or CxHxW)" : "channels (N)");
        t = 2;
    }
    unsigned seen = 0;
    for (; t < ntok; t++) {
        int r = read_option(tok[t], l, &seen);
        if (r != 1)
            return option_error(r, index, tok[0], tok[t], errbuf);
    }
    int seen_stride = (seen & (1u << 4)) != 0;
    if (l->kind != SAE_LAYER_DENSE && l->kernel == 0)
        return sae_fail(errbuf, SAE_ERR_BAD_VALUE,
                        "arch.layers: layer %zu (%s) needs a kernel size, e.g. k3", index, tok[0]);
    if (l->kind == SAE_LAYER_MAXPOOL2D && !seen_stride)
        l->stride = l->kernel; /* torch.nn.MaxPool2d's default */
    if (l->kind == SAE_LAYER_CONVT2D && l->output_padding >= l->stride)
        return sae_fail(errbuf, SAE_ERR_BAD_VALUE,
                        "arch.layers: layer %zu (convt2d): output padding %zu must be smaller "
                        "than the stride %zu",
                        index, l->output_padding, l->stride);
    return SAE_OK;
}

sae_conv_geom_t sae_netspec_geom(const sae_netspec_t *spec, size_t i)
{
    sae_conv_geom_t g = {spec->in_c, spec->in_h, spec->in_w, 0, 0, 0, 0, 0, 0, 0};
    for (size_t j = 0; j <= i; j++) {
        const sae_layer_spec_t *l = &spec->layer[j];
        if (j > 0) {
            g.in_c = g.out_c;
            g.in_h = g.out_h;
            g.in_w = g.out_w;
        }
        g.kernel = l->kernel;
        g.stride = l->stride;
        g.padding = l->padding;
        g.output_padding = l->output_padding;
        switch (l->kind) {
        case SAE_LAYER_CONV2D:
            g.out_c = l->out;
            g.out_h = sae_conv2d_out_size(g.in_h, l->kernel, l->stride, l->padding);
            g.out_w = sae_conv2d_out_size(g.in_w, l->kernel, l->stride, l->padding);
            break;
        case SAE_LAYER_CONVT2D:
            g.out_c = l->out;
            g.out_h = sae_conv_transpose2d_out_size(g.in_h, l->kernel, l->stride, l->padding,
                                                    l->output_padding);
            g.out_w = sae_conv_transpose2d_out_size(g.in_w, l->kernel, l->stride, l->padding,
                                                    l->output_padding);
            break;
        case SAE_LAYER_MAXPOOL2D:
            g.out_c = g.in_c;
            g.out_h = sae_maxpool2d_out_size(g.in_h, l->kernel, l->stride);
            g.out_w = sae_maxpool2d_out_size(g.in_w, l->kernel, l->stride);
            break;
        case SAE_LAYER_DENSE:
            g.in_c = g.in_c * g.in_h * g.in_w; /* flattened */
            g.in_h = g.in_w = 1;
            g.out_c = l->out;
            g.out_h = l->out_h;
            g.out_w = l->out_w;
            break;
        }
        if (g.out_h == 0 || g.out_w == 0)
            break;
    }
    return g;
}

size_t sae_netspec_out_size(const sae_netspec_t *spec, size_t i)
{
    sae_conv_geom_t g = sae_netspec_geom(spec, i);
    return g.out_c * g.out_h * g.out_w;
}

uint64_t sae_netspec_weight_count(const sae_netspec_t *spec)
{
    uint64_t total = 0;
    for (size_t i = 0; i < spec->n; i++) {
        sae_conv_geom_t g = sae_netspec_geom(spec, i);
        switch (spec->layer[i].kind) {
        case SAE_LAYER_CONV2D:
        case SAE_LAYER_CONVT2D:
            total += (uint64_t)g.in_c * g.out_c * g.kernel * g.kernel;
            break;
        case SAE_LAYER_DENSE:
            total += (uint64_t)g.in_c * g.in_h * g.in_w * g.out_c * g.out_h * g.out_w;
            break;
        default:
            break;
        }
    }
    return total;
}

size_t sae_netspec_code_layer(const sae_netspec_t *spec)
{
    for (size_t i = 0; i < spec->n; i++)
        if (spec->layer[i].is_code)
            return i;
    return 0;
}

/* Whole-list checks once every layer is read. */
static sae_status_t check_shapes(const sae_netspec_t *spec, char *errbuf)
{
    size_t codes = 0;
    for (size_t i = 0; i < spec->n; i++) {
        sae_conv_geom_t g = sae_netspec_geom(spec, i);
        if (g.out_h == 0 || g.out_w == 0)
            return sae_fail(errbuf, SAE_ERR_DIMENSION,
                            "arch.layers: layer %zu (%s) gives no output from a %zux%zux%zu "
                            "input (kernel %zu, stride %zu, padding %zu)",
                            i, sae_layer_kind_name(spec->layer[i].kind), g.in_c, g.in_h, g.in_w,
                            g.kernel, g.stride, g.padding);
        if ((unsigned long long)g.out_c * g.out_h * g.out_w > (1ull << 24))
            return sae_fail(errbuf, SAE_ERR_DIMENSION,
                            "arch.layers: layer %zu's output of %zux%zux%zu exceeds 2^24 values "
                            "per sample",
                            i, g.out_c, g.out_h, g.out_w);
        codes += (size_t)spec->layer[i].is_code;
    }
    if (codes != 1)
        return sae_fail(errbuf, SAE_ERR_BAD_VALUE,
                        "arch.layers: exactly one layer must be marked 'code' (found %zu)", codes);
    if (spec->layer[spec->n - 1].is_code)
        return sae_fail(errbuf, SAE_ERR_BAD_VALUE,
                        "arch.layers: the code layer cannot be the last one (the decoder "
                        "follows it)");
    sae_conv_geom_t last = sae_netspec_geom(spec, spec->n - 1);
    int flat = spec->layer[spec->n - 1].kind == SAE_LAYER_DENSE && last.out_h == 1 &&
               last.out_w == 1;
    size_t want = spec->in_c * spec->in_h * spec->in_w;
    if (flat ? last.out_c != want
             : (last.out_c != spec->in_c || last.out_h != spec->in_h || last.out_w != spec->in_w))
        return sae_fail(errbuf, SAE_ERR_DIMENSION,
                        "arch.layers: the last layer gives %zux%zux%zu, not the input's "
                        "%zux%zux%zu",
                        last.out_c, last.out_h, last.out_w, spec->in_c, spec->in_h, spec->in_w);
    return SAE_OK;
}

sae_status_t sae_netspec_parse(const char *text, sae_netspec_t *spec, char *errbuf)
{
    memset(spec, 0, sizeof *spec);
    size_t len = strlen(text);
    if (len > 4096)
        return sae_fail(errbuf, SAE_ERR_BAD_VALUE, "arch.layers: text of %zu bytes is too long",
                        len);
    char buf[4097];
    memcpy(buf, text, len + 1);
    sae_netspec_t s;
    memset(&s, 0, sizeof s);
    int have_input = 0;
    size_t index = 0;
    char *save_layer = NULL;
    for (char *part = strtok_r(buf, ";\n", &save_layer); part;
         part = strtok_r(NULL, ";\n", &save_layer)) {
        char *tok[16];
        size_t ntok = 0;
        char *save_tok = NULL;
        for (char *t = strtok_r(part, " \t\r", &save_tok); t; t = strtok_r(NULL, " \t\r", &save_tok)) {
            if (ntok == 16)
                return sae_fail(errbuf, SAE_ERR_BAD_VALUE, "arch.layers: too many words in a layer");
            tok[ntok++] = t;
        }
        if (ntok == 0)
            continue;
        if (!strcmp(tok[0], "input")) {
            if (!have_input && s.n == 0 && ntok == 2 && read_shape(tok[1], &s) == OUT_OF_RANGE)
                return sae_fail(errbuf, SAE_ERR_RANGE,
                                "arch.layers: input %s is out of range: C, H and W must each be "
                                "in [1, %d]",
                                tok[1], MAX_DIM);
            if (have_input || s.n > 0 || ntok != 2 || read_shape(tok[1], &s) != 1)
                return sae_fail(errbuf, SAE_ERR_BAD_VALUE,
                                "arch.layers: the list must start with 'input CxHxW' (e.g. "
                                "input 1x28x28), once");
            have_input = 1;
            continue;
        }
        if (!have_input)
            return sae_fail(errbuf, SAE_ERR_BAD_VALUE,
                            "arch.layers: the list must start with 'input CxHxW' (e.g. input "
                            "1x28x28)");
        if (s.n == SAE_MAX_LAYERS)
            return sae_fail(errbuf, SAE_ERR_BAD_VALUE, "arch.layers: more than %d layers",
                            SAE_MAX_LAYERS);
        sae_status_t st = parse_layer(tok, ntok, index++, &s.layer[s.n], errbuf);
        if (st != SAE_OK)
            return st;
        s.n++;
    }
    if (s.n == 0) {
        if (have_input)
            return sae_fail(errbuf, SAE_ERR_BAD_VALUE, "arch.layers: no layer after the input");
        *spec = s;
        return SAE_OK;
    }
    sae_status_t st = check_shapes(&s, errbuf);
    if (st == SAE_OK)
        *spec = s;
    return st;
}

size_t sae_netspec_format(const sae_netspec_t *spec, char *buf, size_t size)
{
    size_t used = 0;
    char tmp[160];
    if (size > 0)
        buf[0] = '\0';
    if (spec->n == 0)
        return 0;
    for (size_t i = 0; i <= spec->n; i++) {
        int n;
        if (i == 0) {
            n = snprintf(tmp, sizeof tmp, "input %zux%zux%zu", spec->in_c, spec->in_h,
                         spec->in_w);
        } else {
            const sae_layer_spec_t *l = &spec->layer[i - 1];
            const char *act = (unsigned)l->act < 5 ? act_names[l->act] : "linear";
            const char *tail = l->is_code ? (l->penalize ? " code penalize" : " code")
                                          : (l->penalize ? " penalize" : "");
            switch (l->kind) {
            case SAE_LAYER_CONV2D:
                n = snprintf(tmp, sizeof tmp, "; conv2d %zu k%zu s%zu p%zu %s%s", l->out,
                             l->kernel, l->stride, l->padding, act, tail);
                break;
            case SAE_LAYER_CONVT2D:
                n = snprintf(tmp, sizeof tmp, "; convt2d %zu k%zu s%zu p%zu op%zu %s%s", l->out,
                             l->kernel, l->stride, l->padding, l->output_padding, act, tail);
                break;
            case SAE_LAYER_MAXPOOL2D:
                n = snprintf(tmp, sizeof tmp, "; maxpool2d k%zu s%zu%s", l->kernel, l->stride,
                             tail);
                break;
            default:
                if (l->out_h > 1 || l->out_w > 1)
                    n = snprintf(tmp, sizeof tmp, "; dense %zux%zux%zu %s%s", l->out, l->out_h,
                                 l->out_w, act, tail);
                else
                    n = snprintf(tmp, sizeof tmp, "; dense %zu %s%s", l->out, act, tail);
                break;
            }
        }
        if (n < 0)
            n = 0;
        if (used + (size_t)n < size)
            memcpy(buf + used, tmp, (size_t)n + 1);
        else if (size > 0 && used < size)
            buf[used] = '\0';
        used += (size_t)n;
    }
    return used;
}
