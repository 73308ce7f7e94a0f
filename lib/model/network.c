/* The layered model's network: tensor layout, initialisation and the
 * forward pass shared by inference and training (its kind table is
 * model/layered.c). SPDX-License-Identifier: MIT */
#include "model/network.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gemm.h"
#include "layers/im2col.h"
#include "model/model.h"

/* Rows per inference chunk are chosen so that a chunk's buffers stay near
 * this many floats (64 MB). */
#define INFER_FLOATS ((size_t)16 << 20)

size_t sae_net_bias_count(const sae_net_layer_t *l)
{
    /* One per output channel, or per unit of a dense layer. */
    return l->spec.kind == SAE_LAYER_DENSE ? l->out_size : l->g.out_c;
}

/* Threads of the convolutions: train.threads, or when 0 every core this
 * process may run on (the BLAS's own default), whatever the OpenMP build. */
static int conv_threads(const sae_model_t *m)
{
    long t = (long)sae_cfg_int(m->cfg, SAE_P_THREADS);
    if (t <= 0) {
#ifdef __linux__
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) == 0)
            t = CPU_COUNT(&set);
#endif
        if (t <= 0)
            t = sysconf(_SC_NPROCESSORS_ONLN);
    }
    return t <= 1 ? 1 : (t > SAE_CONV_MAX_THREADS ? SAE_CONV_MAX_THREADS : (int)t);
}

sae_status_t sae_net_build(sae_model_t *m, char *errbuf)
{
    sae_net_t *net = calloc(1, sizeof *net);
    if (!net)
        return sae_fail(errbuf, SAE_ERR_NOMEM, "sae_model_create: out of memory");
    m->state = net;
    const sae_netspec_t *s = &m->cfg->layers;
    int bias = (int)sae_cfg_int(m->cfg, SAE_P_BIAS);
    net->n = s->n;
    net->threads = conv_threads(m);
    net->code = sae_netspec_code_layer(s);
    for (size_t i = 0; i < s->n; i++) {
        sae_net_layer_t *l = &net->layer[i];
        l->spec = s->layer[i];
        l->g = sae_netspec_geom(s, i);
        l->in_size = l->g.in_c * l->g.in_h * l->g.in_w;
        l->out_size = l->g.out_c * l->g.out_h * l->g.out_w;
        if (l->in_size > net->max_size)
            net->max_size = l->in_size;
        if (l->out_size > net->max_size)
            net->max_size = l->out_size;
        size_t kk = l->g.kernel * l->g.kernel, rows = 0, cols = 0;
        switch (l->spec.kind) {
        case SAE_LAYER_CONV2D: /* [out_c, in_c, k, k], torch.nn.Conv2d's layout */
            rows = l->g.out_c, cols = l->g.in_c * kk, l->fan_in = cols;
            break;
        case SAE_LAYER_CONVT2D: /* [in_c, out_c, k, k], torch.nn.ConvTranspose2d's */
            rows = l->g.in_c, cols = l->g.out_c * kk, l->fan_in = cols;
            break;
        case SAE_LAYER_DENSE: /* [out, in], torch.nn.Linear's */
            rows = l->out_size, cols = l->in_size, l->fan_in = cols;
            break;
        case SAE_LAYER_MAXPOOL2D:
            continue;
        }
        l->n_weights = rows * cols;
        int enc = i <= net->code;
        char *wn = net->names[2 * i], *bn = net->names[2 * i + 1];
        snprintf(wn, sizeof net->names[0], "layers.%zu.weight", i);
        snprintf(bn, sizeof net->names[0], "layers.%zu.bias", i);
        sae_model_add_tensor(m, wn, rows, cols, 1, enc);
        if (bias)
            sae_model_add_tensor(m, bn, sae_net_bias_count(l), 1, 0, enc);
    }
    m->input_dim = s->in_c * s->in_h * s->in_w;
    m->code_dim = net->layer[net->code].out_size;
    m->hidden_act = net->layer[net->code].spec.act;
    m->output_act = net->layer[net->n - 1].spec.act;
    return SAE_OK;
}

void sae_net_bind(sae_model_t *m)
{
    sae_net_t *net = sae_net(m);
    for (size_t t = 0; t < m->n_tensors; t++) {
        size_t i;
        int is_bias = 0;
        if (sscanf(m->tensors[t].name, "layers.%zu.", &i) != 1 || i >= net->n)
            continue;
        is_bias = strstr(m->tensors[t].name, ".bias") != NULL;
        float *p = m->weights + m->tensors[t].offset;
        if (is_bias)
            net->layer[i].b = p;
        else
            net->layer[i].w = p;
    }
}

void sae_net_init_params(sae_model_t *m, sae_rng_t *rng)
{
    sae_net_t *net = sae_net(m);
    int64_t init = sae_cfg_int(m->cfg, SAE_P_INIT);
    double scale = sae_cfg_float(m->cfg, SAE_P_INIT_SCALE);
    for (size_t i = 0; i < net->n; i++) {
        sae_net_layer_t *l = &net->layer[i];
        if (!l->w)
            continue;
        size_t nw = l->n_weights;
        /* torch's fans: fan_in from dimension 1 of the weight, fan_out from 0. */
        double fan_in = (double)l->fan_in, fan_out = (double)nw / fan_in;
        double r;
        if (init == SAE_INIT_FAN_IN_UNIFORM)
            r = scale / sqrt(fan_in);
        else
            r = scale * sqrt((init == SAE_INIT_GLOROT_NORMAL ? 2.0 : 6.0) / (fan_in + fan_out));
        for (size_t k = 0; k < nw; k++)
            l->w[k] = init == SAE_INIT_GLOROT_NORMAL
                          ? (float)(r * sae_rng_normal(rng))
                          : (float)(r * (2.0 * (double)sae_rng_uniform(rng) - 1.0));
        if (l->b) {
            /* torch.nn's default draws biases from U[-1/sqrt(fan_in), ..];
             * the Glorot schemes start them at 0. */
            double rb = 1.0 / sqrt(fan_in);
            for (size_t k = 0; k < sae_net_bias_count(l); k++)
                l->b[k] = init == SAE_INIT_FAN_IN_UNIFORM
                              ? (float)(rb * (2.0 * (double)sae_rng_uniform(rng) - 1.0))
                              : 0.0f;
        }
    }
}

size_t sae_net_scratch_floats(const sae_net_t *net, size_t rows)
{
    size_t most = 0;
    for (size_t i = 0; i < net->n; i++) {
        const sae_net_layer_t *l = &net->layer[i];
        size_t s = 0;
        if (l->spec.kind == SAE_LAYER_CONV2D)
            s = sae_conv2d_scratch_floats(&l->g, rows, net->threads);
        else if (l->spec.kind == SAE_LAYER_CONVT2D)
            s = sae_conv_transpose2d_scratch_floats(&l->g, rows, net->threads);
        if (s > most)
            most = s;
    }
    return most;
}

void sae_net_forward(const sae_net_t *net, const float *in, size_t rows, size_t first,
                     size_t last, int logits, sae_net_buffers_t *buf,
                     const sae_reduce_scratch_t *scr)
{
    for (size_t i = first; i <= last; i++) {
        const sae_net_layer_t *l = &net->layer[i];
        const float *x = i == first ? in : buf->out[i - 1];
        float *y = buf->out[i];
        int keep_logits = logits && i == net->n - 1;
        sae_activation_t act = keep_logits ? SAE_ACT_LINEAR : l->spec.act;
        switch (l->spec.kind) {
        case SAE_LAYER_CONV2D:
            sae_conv2d_forward(&l->g, rows, x, l->w, l->b, y, buf->scratch, net->threads);
            break;
        case SAE_LAYER_CONVT2D:
            sae_conv_transpose2d_forward(&l->g, rows, x, l->w, l->b, y, buf->scratch,
                                         net->threads);
            break;
        case SAE_LAYER_MAXPOOL2D:
            sae_maxpool2d_forward(&l->g, rows, x, y, buf->argmax[i]);
            break;
        case SAE_LAYER_DENSE:
            sae_gemm(0, 1, rows, l->out_size, l->in_size, 1.0f, x, l->in_size, l->w, l->in_size,
                     0.0f, y, l->out_size);
            sae_bias_act_forward(act, y, rows, l->out_size, l->b, NULL, scr);
            continue;
        }
        if (act != SAE_ACT_LINEAR)
            sae_bias_act_forward(act, y, rows, l->out_size, NULL, NULL, scr);
    }
}

/* Floats of one chunk of `rows` rows through layers first..last: their
 * outputs (but the last, written to the caller's buffer), pooling
 * indices, im2col scratch. */
static size_t chunk_floats(const sae_net_t *net, size_t rows, size_t first, size_t last)
{
    size_t f = sae_net_scratch_floats(net, rows);
    for (size_t i = first; i < last; i++)
        f += rows * net->layer[i].out_size;
    for (size_t i = first; i <= last; i++)
        if (net->layer[i].spec.kind == SAE_LAYER_MAXPOOL2D)
            f += rows * net->layer[i].out_size; /* uint32 indices, float-sized */
    return f;
}

sae_status_t sae_net_run(sae_model_t *m, const float *in, size_t rows, size_t first, size_t last,
                         float *out)
{
    const sae_net_t *net = sae_net(m);
    size_t per_row = chunk_floats(net, 1, first, last);
    size_t chunk = INFER_FLOATS / (per_row ? per_row : 1);
    chunk = chunk < 1 ? 1 : (chunk > 256 ? 256 : chunk);
    if (chunk > rows)
        chunk = rows;
    float *mem = sae_model_scratch(m, chunk_floats(net, chunk, first, last));
    if (!mem)
        return sae_fail(m->errmsg, SAE_ERR_NOMEM, "out of memory for a chunk of %zu rows", chunk);
    sae_reduce_scratch_t scr = {NULL, sae_model_threads(m)};
    size_t in_size = net->layer[first].in_size, out_size = net->layer[last].out_size;
    for (size_t r = 0; r < rows; r += chunk) {
        size_t n = rows - r < chunk ? rows - r : chunk;
        sae_net_buffers_t buf;
        memset(&buf, 0, sizeof buf);
        float *p = mem;
        for (size_t i = first; i <= last; i++) {
            if (i < last) {
                buf.out[i] = p;
                p += n * net->layer[i].out_size;
            }
            if (net->layer[i].spec.kind == SAE_LAYER_MAXPOOL2D) {
                buf.argmax[i] = (uint32_t *)p;
                p += n * net->layer[i].out_size;
            }
        }
        buf.scratch = p;
        buf.out[last] = out + r * out_size;
        sae_net_forward(net, in + r * in_size, n, first, last, 0, &buf, &scr);
    }
    return SAE_OK;
}
