/* Convolution kernels of the layered core (internal API): Conv2D,
 * ConvTranspose2D and MaxPool2D on channels-first [N, C, H, W] float
 * buffers, with PyTorch's output sizes and weight layouts, forward and
 * backward. Kernels never allocate: the caller passes scratch of the size
 * the *_scratch_floats functions give. SPDX-License-Identifier: MIT */
#ifndef SAE_LAYERS_CONV_H
#define SAE_LAYERS_CONV_H

#include <stddef.h>
#include <stdint.h>

/* Geometry of one 2-D layer on channels-first [N, C, H, W] float buffers.
 * Square kernels. PyTorch's definitions of output sizes and weight layouts. */
typedef struct sae_conv_geom {
    size_t in_c, in_h, in_w;
    size_t out_c, out_h, out_w;
    size_t kernel, stride, padding, output_padding; /* output_padding: convt only */
} sae_conv_geom_t;

/* Output sizes as torch.nn defines them; 0 when the result would be < 1 or
 * the arguments are invalid (kernel 0, stride 0, output_padding >= stride
 * for convt...). */
/* floor((in + 2p - k)/s) + 1 */
size_t sae_conv2d_out_size(size_t in, size_t kernel, size_t stride, size_t padding);
/* (in-1)s - 2p + k + op */
size_t sae_conv_transpose2d_out_size(size_t in, size_t kernel, size_t stride, size_t padding,
                                     size_t output_padding);
/* floor((in - k)/s) + 1, no padding, no ceil_mode */
size_t sae_maxpool2d_out_size(size_t in, size_t kernel, size_t stride);

/* Floats of caller-provided scratch each layer needs for a batch of n
 * (forward and backward) on `threads` threads (see sae_conv_run_chunks in
 * layers/im2col.h: the chunks of the batch are shared among up to that
 * many threads, the results the same for any count). Pass the kernels the
 * same n (or less) and threads. */
size_t sae_conv2d_scratch_floats(const sae_conv_geom_t *g, size_t n, int threads);
size_t sae_conv_transpose2d_scratch_floats(const sae_conv_geom_t *g, size_t n, int threads);

/* Conv2D. w: [out_c, in_c, k, k] (PyTorch Conv2d layout), b: [out_c] or NULL.
 * forward: y[n, out_c, out_h, out_w] = conv(x) + b   (pre-activation) */
void sae_conv2d_forward(const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                        const float *b, float *y, float *scratch, int threads);
/* backward: given dy (dLoss/dy), writes (overwrites, not accumulates) dw
 * [same as w], db [out_c] (if not NULL), dx [same as x] (if not NULL). */
void sae_conv2d_backward(const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                         const float *dy, float *dx, float *dw, float *db, float *scratch,
                         int threads);

/* ConvTranspose2D. w: [in_c, out_c, k, k] (PyTorch ConvTranspose2d layout),
 * b: [out_c] or NULL. Same contracts. */
void sae_conv_transpose2d_forward(const sae_conv_geom_t *g, size_t n, const float *x,
                                  const float *w, const float *b, float *y, float *scratch,
                                  int threads);
void sae_conv_transpose2d_backward(const sae_conv_geom_t *g, size_t n, const float *x,
                                   const float *w, const float *dy, float *dx, float *dw, float *db,
                                   float *scratch, int threads);

/* MaxPool2D (kernel, stride; padding 0). Channels: g->in_c (g->out_c is not
 * read). argmax [n, c, out_h, out_w] keeps
 * the flat input index (within one sample's channel plane) of each max;
 * ties -> first in row-major scan order (as PyTorch). */
void sae_maxpool2d_forward(const sae_conv_geom_t *g, size_t n, const float *x, float *y,
                           uint32_t *argmax);
/* dx (overwritten, zeros where no max) [n, c, in_h, in_w]. */
void sae_maxpool2d_backward(const sae_conv_geom_t *g, size_t n, const float *dy,
                            const uint32_t *argmax, float *dx);

#endif
