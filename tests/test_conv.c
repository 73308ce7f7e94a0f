/* Convolution kernels (layers/conv.h): output sizes against PyTorch's,
 * forward and backward against naive double loops, forward against
 * PyTorch on one fixed case per layer, central-difference gradient checks,
 * and MaxPool's routing. Every scratch buffer is allocated at exactly the
 * size the kernels ask for, so ASan catches an undersized bound.
 * SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "layers/conv.h"
#include "layers/im2col.h"
#include "testutil.h"

/* One layer's shape: batch, input planes, output planes, window. */
typedef struct shape {
    size_t n, ic, h, w, oc, k, s, p, op;
} shape_t;

static sae_conv_geom_t geom_conv(const shape_t *sh)
{
    sae_conv_geom_t g = {sh->ic, sh->h, sh->w, sh->oc, 0, 0, sh->k, sh->s, sh->p, 0};
    g.out_h = sae_conv2d_out_size(sh->h, sh->k, sh->s, sh->p);
    g.out_w = sae_conv2d_out_size(sh->w, sh->k, sh->s, sh->p);
    assert_true(g.out_h > 0 && g.out_w > 0);
    return g;
}

static sae_conv_geom_t geom_convt(const shape_t *sh)
{
    sae_conv_geom_t g = {sh->ic, sh->h, sh->w, sh->oc, 0, 0, sh->k, sh->s, sh->p, sh->op};
    g.out_h = sae_conv_transpose2d_out_size(sh->h, sh->k, sh->s, sh->p, sh->op);
    g.out_w = sae_conv_transpose2d_out_size(sh->w, sh->k, sh->s, sh->p, sh->op);
    assert_true(g.out_h > 0 && g.out_w > 0);
    return g;
}

static size_t in_size(const sae_conv_geom_t *g)
{
    return g->in_c * g->in_h * g->in_w;
}
static size_t out_size(const sae_conv_geom_t *g)
{
    return g->out_c * g->out_h * g->out_w;
}
static size_t w_size(const sae_conv_geom_t *g)
{
    return g->in_c * g->out_c * g->kernel * g->kernel;
}

/* Deterministic inputs: a[i] = amp * sin(i * f + phase), computed in double. */
static void fill_sin(float *a, size_t n, double f, double phase, double amp)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(amp * sin((double)i * f + phase));
}

static float *falloc(size_t n)
{
    return malloc((n ? n : 1) * sizeof(float));
}
static double *dalloc(size_t n)
{
    return calloc(n ? n : 1, sizeof(double));
}

/* Fills a buffer with NaN, so that "overwrites" is checked. */
static void poison(float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = NAN;
}

/* ---- Naive references, in double, straight from the definitions. ---- */

/* Visits every (output, input, weight) triple of a Conv2D; ConvTranspose2D
 * is the same triple set with the roles of x and y swapped (its "input" is
 * the conv's output). conv: w[o][c][ki][kj], convt: w[c][o][ki][kj]. */
static void ref_conv2d(const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                       const float *b, const float *dy, double *y, double *dx, double *dw,
                       double *db)
{
    size_t k = g->kernel;
    for (size_t s = 0; s < n; s++)
        for (size_t o = 0; o < g->out_c; o++)
            for (size_t oy = 0; oy < g->out_h; oy++)
                for (size_t ox = 0; ox < g->out_w; ox++) {
                    size_t yi = ((s * g->out_c + o) * g->out_h + oy) * g->out_w + ox;
                    double acc = b ? b[o] : 0.0;
                    for (size_t c = 0; c < g->in_c; c++)
                        for (size_t ki = 0; ki < k; ki++)
                            for (size_t kj = 0; kj < k; kj++) {
                                long iy = (long)(oy * g->stride + ki) - (long)g->padding;
                                long ix = (long)(ox * g->stride + kj) - (long)g->padding;
                                if (iy < 0 || ix < 0 || iy >= (long)g->in_h || ix >= (long)g->in_w)
                                    continue;
                                size_t xi = ((s * g->in_c + c) * g->in_h + (size_t)iy) * g->in_w +
                                            (size_t)ix;
                                size_t wi = ((o * g->in_c + c) * k + ki) * k + kj;
                                acc += (double)w[wi] * x[xi];
                                if (dy) {
                                    if (dx)
                                        dx[xi] += (double)w[wi] * dy[yi];
                                    dw[wi] += (double)x[xi] * dy[yi];
                                }
                            }
                    if (y)
                        y[yi] = acc;
                    if (dy && db)
                        db[o] += dy[yi];
                }
}

static void ref_convt(const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                      const float *b, const float *dy, double *y, double *dx, double *dw,
                      double *db)
{
    size_t k = g->kernel, osz = out_size(g), plane = g->out_h * g->out_w;
    if (y)
        for (size_t s = 0; s < n; s++)
            for (size_t i = 0; i < osz; i++)
                y[s * osz + i] = b ? b[i / plane] : 0.0;
    if (dy && db)
        for (size_t s = 0; s < n; s++)
            for (size_t i = 0; i < osz; i++)
                db[i / plane] += dy[s * osz + i];
    for (size_t s = 0; s < n; s++)
        for (size_t c = 0; c < g->in_c; c++)
            for (size_t iy = 0; iy < g->in_h; iy++)
                for (size_t ix = 0; ix < g->in_w; ix++) {
                    size_t xi = ((s * g->in_c + c) * g->in_h + iy) * g->in_w + ix;
                    for (size_t o = 0; o < g->out_c; o++)
                        for (size_t ki = 0; ki < k; ki++)
                            for (size_t kj = 0; kj < k; kj++) {
                                long oy = (long)(iy * g->stride + ki) - (long)g->padding;
                                long ox = (long)(ix * g->stride + kj) - (long)g->padding;
                                if (oy < 0 || ox < 0 || oy >= (long)g->out_h ||
                                    ox >= (long)g->out_w)
                                    continue;
                                size_t yi =
                                    ((s * g->out_c + o) * g->out_h + (size_t)oy) * g->out_w +
                                    (size_t)ox;
                                size_t wi = ((c * g->out_c + o) * k + ki) * k + kj;
                                if (y)
                                    y[yi] += (double)w[wi] * x[xi];
                                if (dy) {
                                    if (dx)
                                        dx[xi] += (double)w[wi] * dy[yi];
                                    dw[wi] += (double)x[xi] * dy[yi];
                                }
                            }
                }
}

/* |got - ref| <= tol * max(1, max |ref|), element by element: float sums of
 * up to ~10^4 terms (dw over a batch's positions) against double ones. */
static void assert_close(const float *got, const double *ref, size_t n, double tol,
                         const char *what)
{
    double scale = 1.0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - ref[i]) <= tol * scale))
            fail_msg("%s[%zu]: got %.9g, expected %.9g", what, i, (double)got[i], ref[i]);
}

/* ---- Output sizes (expected values from PyTorch 1.13's F.conv2d,
 * F.conv_transpose2d, F.max_pool2d; 0 where PyTorch raises). ---- */

static void test_out_sizes(void **state)
{
    (void)state;
    static const size_t conv[][5] = {
        /* in, k, s, p -> out */
        {28, 3, 1, 0, 26}, {26, 5, 1, 0, 22}, {22, 5, 2, 0, 9}, {7, 3, 2, 1, 4},  {5, 3, 3, 2, 3},
        {1, 3, 1, 1, 1},   {4, 5, 1, 0, 0},   {5, 5, 1, 0, 1},  {10, 4, 3, 1, 3}, {3, 7, 1, 2, 1},
        {2, 7, 1, 2, 0},   {6, 3, 0, 0, 0},   {6, 0, 1, 0, 0},  {0, 1, 1, 0, 0}};
    static const size_t convt[][6] = {/* in, k, s, p, op -> out */
                                      {4, 3, 2, 0, 0, 9}, {9, 5, 2, 0, 0, 21}, {21, 8, 1, 0, 0, 28},
                                      {3, 3, 2, 1, 1, 6}, {5, 4, 3, 2, 2, 14}, {1, 1, 1, 0, 0, 1},
                                      {2, 3, 2, 1, 2, 0}, {1, 1, 1, 1, 0, 0},  {3, 2, 1, 0, 1, 0},
                                      {2, 3, 1, 2, 0, 0}, {7, 5, 3, 1, 2, 23}, {3, 0, 1, 0, 0, 0},
                                      {3, 3, 0, 0, 0, 0}, {0, 3, 1, 0, 0, 0}};
    static const size_t pool[][4] = {/* in, k, s -> out */
                                     {9, 2, 2, 4}, {26, 2, 2, 13}, {7, 3, 2, 3},
                                     {5, 2, 1, 4}, {1, 2, 2, 0},   {8, 3, 3, 2},
                                     {2, 3, 1, 0}, {4, 0, 1, 0},   {4, 2, 0, 0}};
    for (size_t i = 0; i < sizeof conv / sizeof conv[0]; i++)
        assert_int_equal(sae_conv2d_out_size(conv[i][0], conv[i][1], conv[i][2], conv[i][3]),
                         conv[i][4]);
    for (size_t i = 0; i < sizeof convt / sizeof convt[0]; i++)
        assert_int_equal(sae_conv_transpose2d_out_size(convt[i][0], convt[i][1], convt[i][2],
                                                       convt[i][3], convt[i][4]),
                         convt[i][5]);
    for (size_t i = 0; i < sizeof pool / sizeof pool[0]; i++)
        assert_int_equal(sae_maxpool2d_out_size(pool[i][0], pool[i][1], pool[i][2]), pool[i][3]);

    /* E2: 28 -> 26 -> 22 -> 9 -> 4 -> 9 -> 21 -> 28. */
    size_t a = sae_conv2d_out_size(28, 3, 1, 0);
    size_t b = sae_conv2d_out_size(a, 5, 1, 0);
    size_t c = sae_conv2d_out_size(b, 5, 2, 0);
    size_t d = sae_maxpool2d_out_size(c, 2, 2);
    size_t e = sae_conv_transpose2d_out_size(d, 3, 2, 0, 0);
    size_t f = sae_conv_transpose2d_out_size(e, 5, 2, 0, 0);
    size_t h = sae_conv_transpose2d_out_size(f, 8, 1, 0, 0);
    size_t chain[] = {a, b, c, d, e, f, h}, want[] = {26, 22, 9, 4, 9, 21, 28};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(chain[i], want[i]);
}

/* ---- Forward and backward against the naive loops. ---- */

typedef enum { CONV, CONVT } kind_t;

static sae_conv_geom_t geom_of(kind_t kind, const shape_t *sh)
{
    return kind == CONV ? geom_conv(sh) : geom_convt(sh);
}

/* Threads the kernels run on in check_against_ref (1 elsewhere). */
static int threads = 1;

static size_t scratch_of(kind_t kind, const sae_conv_geom_t *g, size_t n)
{
    return kind == CONV ? sae_conv2d_scratch_floats(g, n, threads)
                        : sae_conv_transpose2d_scratch_floats(g, n, threads);
}

static void fwd(kind_t kind, const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                const float *b, float *y, float *scr)
{
    if (kind == CONV)
        sae_conv2d_forward(g, n, x, w, b, y, scr, threads);
    else
        sae_conv_transpose2d_forward(g, n, x, w, b, y, scr, threads);
}

static void bwd(kind_t kind, const sae_conv_geom_t *g, size_t n, const float *x, const float *w,
                const float *dy, float *dx, float *dw, float *db, float *scr)
{
    if (kind == CONV)
        sae_conv2d_backward(g, n, x, w, dy, dx, dw, db, scr, threads);
    else
        sae_conv_transpose2d_backward(g, n, x, w, dy, dx, dw, db, scr, threads);
}

static void check_against_ref(kind_t kind, const shape_t *sh)
{
    sae_conv_geom_t g = geom_of(kind, sh);
    size_t n = sh->n, nx = n * in_size(&g), ny = n * out_size(&g), nw = w_size(&g);
    size_t nscr = scratch_of(kind, &g, n);
    float *x = falloc(nx), *w = falloc(nw), *b = falloc(g.out_c), *y = falloc(ny);
    float *dy = falloc(ny), *dx = falloc(nx), *dw = falloc(nw), *db = falloc(g.out_c);
    float *dw2 = falloc(nw), *scr = falloc(nscr);
    double *ry = dalloc(ny), *rdx = dalloc(nx), *rdw = dalloc(nw), *rdb = dalloc(g.out_c);
    fill_sin(x, nx, 0.37, 0.1, 1.0);
    fill_sin(w, nw, 0.23, 1.3, 0.5);
    fill_sin(b, g.out_c, 0.9, 0.5, 0.3);
    fill_sin(dy, ny, 0.71, 2.0, 1.0);
    (kind == CONV ? ref_conv2d : ref_convt)(&g, n, x, w, b, dy, ry, rdx, rdw, rdb);

    poison(y, ny);
    poison(scr, nscr);
    fwd(kind, &g, n, x, w, b, y, scr);
    assert_close(y, ry, ny, 5e-5, "y");

    poison(dx, nx);
    poison(dw, nw);
    poison(db, g.out_c);
    poison(scr, nscr);
    bwd(kind, &g, n, x, w, dy, dx, dw, db, scr);
    assert_close(dx, rdx, nx, 5e-5, "dx");
    assert_close(dw, rdw, nw, 5e-5, "dw");
    assert_close(db, rdb, g.out_c, 5e-5, "db");

    /* The optional outputs: without dx and db, dw is unchanged. */
    poison(dw2, nw);
    bwd(kind, &g, n, x, w, dy, NULL, dw2, NULL, scr);
    assert_memory_equal(dw, dw2, nw * sizeof *dw);

    /* On several threads, the very same numbers as on one. */
    if (threads > 1) {
        int t = threads;
        float *y1 = falloc(ny), *dx1 = falloc(nx), *dw1 = falloc(nw), *db1 = falloc(g.out_c);
        threads = 1;
        float *scr1 = falloc(scratch_of(kind, &g, n));
        fwd(kind, &g, n, x, w, b, y1, scr1);
        bwd(kind, &g, n, x, w, dy, dx1, dw1, db1, scr1);
        threads = t;
        fwd(kind, &g, n, x, w, b, y, scr);
        assert_memory_equal(y, y1, ny * sizeof *y);
        assert_memory_equal(dx, dx1, nx * sizeof *dx);
        assert_memory_equal(dw, dw1, nw * sizeof *dw);
        assert_memory_equal(db, db1, g.out_c * sizeof *db);
        free(y1), free(dx1), free(dw1), free(db1), free(scr1);
    }

    /* Without the bias, the output drops by it. */
    for (size_t i = 0; i < ny; i++)
        ry[i] -= b[i / (g.out_h * g.out_w) % g.out_c];
    fwd(kind, &g, n, x, w, NULL, y, scr);
    assert_close(y, ry, ny, 5e-5, "y (no bias)");

    free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db), free(dw2);
    free(scr), free(ry), free(rdx), free(rdw), free(rdb);
}

static const shape_t conv_shapes[] = {
    /* n, ic, h, w, oc, k, s, p */
    {1, 1, 7, 5, 1, 3, 1, 0, 0},    {3, 2, 7, 5, 3, 3, 2, 1, 0},   {2, 3, 6, 6, 2, 2, 3, 2, 0},
    {3, 1, 5, 7, 4, 5, 1, 2, 0},    {1, 4, 9, 8, 5, 3, 2, 0, 0},   {2, 2, 4, 4, 3, 4, 1, 1, 0},
    {3, 2, 10, 7, 2, 3, 3, 0, 0},   {2, 3, 5, 5, 2, 1, 1, 0, 0},   {1, 2, 3, 4, 2, 5, 2, 2, 0},
    {1, 8, 10, 10, 16, 5, 1, 0, 0}, {3, 16, 11, 9, 8, 5, 2, 2, 0},
    /* stride-1 runs of 8..15 and 16..31 floats (im2col.c's block copies) */
    {2, 3, 14, 13, 4, 3, 1, 1, 0},  {2, 2, 27, 20, 3, 5, 1, 2, 0},
    /* stride 2 by phases (im2col.c): odd and even planes, E2's conv2 */
    {2, 3, 11, 12, 4, 5, 2, 0, 0},  {2, 2, 12, 11, 3, 4, 2, 1, 0}, {2, 16, 22, 22, 32, 5, 2, 0, 0},
    {1, 2, 40, 44, 2, 3, 2, 0, 0},  {1, 2, 70, 70, 2, 3, 2, 0, 0},
};

static const shape_t convt_shapes[] = {
    /* n, ic, h, w, oc, k, s, p, op */
    {1, 1, 3, 2, 1, 3, 1, 0, 0}, {3, 2, 4, 3, 3, 3, 2, 1, 1}, {2, 3, 3, 5, 2, 2, 3, 0, 2},
    {3, 1, 5, 4, 4, 5, 1, 2, 0}, {1, 4, 2, 3, 5, 4, 2, 1, 0}, {3, 2, 3, 3, 2, 5, 3, 2, 1},
    {2, 3, 5, 5, 2, 1, 1, 0, 0}, {1, 2, 1, 1, 3, 3, 2, 1, 1}, {2, 32, 4, 4, 16, 3, 2, 0, 0},
    {3, 8, 7, 6, 4, 5, 2, 2, 1},
    /* stride-1 runs of 8..15 and 16..31 floats (im2col.c's block adds) */
    {2, 3, 12, 11, 2, 3, 1, 0, 0}, {2, 2, 20, 19, 3, 3, 1, 1, 0}, {1, 2, 9, 35, 2, 4, 1, 1, 0},
    /* stride 2 by phases: E2's convt5, an even output (op 1), padding */
    {2, 16, 9, 9, 8, 5, 2, 0, 0},  {2, 3, 4, 5, 2, 3, 2, 0, 1},   {2, 2, 6, 5, 3, 4, 2, 1, 1},
    {1, 2, 20, 18, 2, 3, 2, 0, 0}, {1, 2, 36, 34, 2, 3, 2, 0, 0},
};

static void test_conv2d_vs_naive(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++)
        check_against_ref(CONV, &conv_shapes[i]);
}

static void test_convt_vs_naive(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof convt_shapes / sizeof convt_shapes[0]; i++)
        check_against_ref(CONVT, &convt_shapes[i]);
}

/* Samples of about 53 K and 646 K floats of scratch against the 131 K
 * budget (layers/im2col.h): chunks of 2, 2, 1 (a full chunk past the first,
 * then a partial one) and of 1, so dw accumulates across chunks. */
static void test_chunked(void **state)
{
    (void)state;
    const shape_t conv2 = {5, 8, 20, 20, 8, 5, 1, 0, 0}, conv1 = {3, 16, 44, 44, 4, 5, 1, 0, 0};
    const shape_t convt2 = {5, 8, 16, 16, 8, 5, 1, 2, 0};
    assert_int_equal(SAE_CONV_SCRATCH_BUDGET, 1 << 17);
    /* One chunk's buffers per thread, plus every group's weight gradient
     * (a group per chunk up to SAE_CONV_GROUPS). */
    sae_conv_geom_t g = geom_conv(&conv2);
    assert_true(sae_conv2d_scratch_floats(&g, 5, 1) ==
                2 * (sae_conv2d_scratch_floats(&g, 1, 1) - w_size(&g)) + 3 * w_size(&g));
    /* (Several threads only where the BLAS can be made single-threaded.) */
    int par = sae_blas_get_threads() > 0;
    assert_true(sae_conv2d_scratch_floats(&g, 5, 2) ==
                (par ? 4 : 2) * (sae_conv2d_scratch_floats(&g, 1, 1) - w_size(&g)) +
                    3 * w_size(&g));
    g = geom_conv(&conv1);
    assert_true(sae_conv2d_scratch_floats(&g, 3, 1) ==
                sae_conv2d_scratch_floats(&g, 1, 1) + 2 * w_size(&g));
    g = geom_convt(&convt2);
    assert_true(sae_conv_transpose2d_scratch_floats(&g, 5, 1) ==
                2 * (sae_conv_transpose2d_scratch_floats(&g, 1, 1) - w_size(&g)) +
                    3 * w_size(&g));
    /* Threads are never more than chunks; the same numbers on any count
     * (check_against_ref compares them with one thread's). */
    assert_int_equal(sae_conv_workers(5, 2, 8), par ? 3 : 1);
    assert_int_equal(sae_conv_workers(5, 5, 8), 1);
    assert_int_equal(sae_conv_groups(5, 2), 3);
    assert_int_equal(sae_conv_groups(1000, 3), SAE_CONV_GROUPS);
    /* 19 chunks in 16 groups: groups of two chunks accumulate. */
    const shape_t conv2_many = {37, 8, 20, 20, 8, 5, 1, 0, 0};
    const shape_t convt2_many = {37, 8, 16, 16, 8, 5, 1, 2, 0};
    for (threads = 1; threads <= 4; threads++) {
        check_against_ref(CONV, &conv2);
        check_against_ref(CONV, &conv1);
        check_against_ref(CONVT, &convt2);
        check_against_ref(CONV, &conv2_many);
        check_against_ref(CONVT, &convt2_many);
    }
    threads = 1;
}

/* ---- Forward against PyTorch 1.13 (F.conv2d, F.conv_transpose2d,
 * F.max_pool2d) with x[i] = sin(0.37 i), w[i] = 0.5 cos(0.23 i),
 * b[i] = 0.1 i - 0.1, all flat indices, computed in double and rounded. ---- */

static const float golden_conv2d[36] = {
    -1.39936984e+00f, -7.06114769e-01f, 2.02861571e+00f,  2.26989865e+00f,  -1.54459441e+00f,
    -2.54190040e+00f, 1.51200533e+00f,  2.30456328e+00f,  -1.26722491e+00f, -3.07926106e+00f,
    1.09671459e-01f,  1.63645339e+00f,  -2.38560885e-01f, -1.79038060e+00f, -6.55851543e-01f,
    1.06581438e+00f,  1.42578912e+00f,  7.69157290e-01f,  1.48056138e+00f,  2.14226437e+00f,
    -1.51320529e+00f, -3.23607659e+00f, 1.51566744e-01f,  1.70714831e+00f,  -4.74102736e-01f,
    -1.99446630e+00f, -5.76461613e-01f, 1.23289490e+00f,  1.20877731e+00f,  4.10029113e-01f,
    -9.66973662e-01f, 1.83084235e-02f,  2.13767648e+00f,  1.90050209e+00f,  -1.46101534e+00f,
    -2.15132642e+00f,
};
static const float golden_convt[48] = {
    3.56760845e-02f,  2.87664920e-01f,  9.87955108e-02f,  1.16928093e-01f,  5.40947199e-01f,
    1.29429698e+00f,  5.86061835e-01f,  5.13782382e-01f,  1.35008901e-01f,  4.21437413e-01f,
    1.39414966e-01f,  3.18071321e-02f,  5.38321137e-01f,  1.08713591e+00f,  4.04186755e-01f,
    1.67087048e-01f,  1.11417316e-01f,  2.82465488e-01f,  5.48053160e-02f,  -1.22257262e-01f,
    -3.47661525e-01f, -6.83416963e-01f, -4.63602006e-01f, -6.09906614e-01f, 2.63811648e-01f,
    2.34775260e-01f,  -5.17780427e-03f, -5.60182706e-02f, -1.21909089e-01f, -6.81679070e-01f,
    -5.37215471e-01f, -6.34434938e-01f, -2.73466498e-01f, -7.85321832e-01f, -5.04742742e-01f,
    -4.90874916e-01f, -8.79812300e-01f, -1.99353528e+00f, -1.10333061e+00f, -1.06804228e+00f,
    -6.67704463e-01f, -1.39464629e+00f, -7.40295529e-01f, -6.68973148e-01f, -4.36495632e-01f,
    -8.68849277e-01f, -4.26241457e-01f, -2.67616183e-01f,
};
static const float golden_maxpool[12] = {
    7.96565473e-01f, 8.95698667e-01f, 9.95880842e-01f, 6.79304659e-01f,
    9.96475637e-01f, 9.59374845e-01f, 9.01675761e-01f, 9.97024119e-01f,
    7.88252056e-01f, 1.67174622e-01f, 2.04426534e-02f, 6.89243257e-01f,
};
static const uint32_t golden_maxpool_idx[12] = {6, 3, 4, 19, 21, 22, 7, 8, 10, 12, 21, 23};

static void fill_golden(float *x, size_t nx, float *w, size_t nw, float *b, size_t nb)
{
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)sin((double)i * 0.37);
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)(0.5 * cos((double)i * 0.23));
    for (size_t i = 0; i < nb; i++)
        b[i] = (float)(0.1 * (double)i - 0.1);
}

static void assert_golden(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-5f))
            fail_msg("[%zu]: got %.9g, PyTorch %.9g", i, (double)got[i], (double)want[i]);
}

static void test_vs_pytorch(void **state)
{
    (void)state;
    float x[80], w[54], b[3], y[48], scr[4096];
    uint32_t am[12];
    /* conv2d: N 2, C 2, 5 x 4 -> 3 planes, k 3, s 2, p 1: 3 x 2. */
    const shape_t c = {2, 2, 5, 4, 3, 3, 2, 1, 0};
    sae_conv_geom_t g = geom_conv(&c);
    assert_true(g.out_h == 3 && g.out_w == 2);
    assert_true(sae_conv2d_scratch_floats(&g, 2, 1) <= 4096);
    fill_golden(x, 80, w, 54, b, 3);
    sae_conv2d_forward(&g, 2, x, w, b, y, scr, 1);
    assert_golden(y, golden_conv2d, 36);
    /* conv_transpose2d: N 1, C 2, 3 x 2 -> 2 planes, k 3, s 2, p 1, op 1: 6 x 4. */
    const shape_t t = {1, 2, 3, 2, 2, 3, 2, 1, 1};
    g = geom_convt(&t);
    assert_true(g.out_h == 6 && g.out_w == 4);
    assert_true(sae_conv_transpose2d_scratch_floats(&g, 1, 1) <= 4096);
    fill_golden(x, 12, w, 36, b, 2);
    sae_conv_transpose2d_forward(&g, 1, x, w, b, y, scr, 1);
    assert_golden(y, golden_convt, 48);
    /* max_pool2d: N 1, C 2, 5 x 6, k 2, s 2: 2 x 3, with PyTorch's indices. */
    sae_conv_geom_t pg = {2, 5, 6, 2, 2, 3, 2, 2, 0, 0};
    fill_golden(x, 60, w, 0, b, 0);
    sae_maxpool2d_forward(&pg, 1, x, y, am);
    assert_golden(y, golden_maxpool, 12);
    assert_memory_equal(am, golden_maxpool_idx, sizeof am);
}

/* ---- Central differences: loss = sum(dy * y), step 1e-3 in the float
 * forward, quotient in double; ||num - ana|| / ||num + ana|| < 1e-3. ---- */

static double loss_of(kind_t kind, const sae_conv_geom_t *g, size_t n, const float *x,
                      const float *w, const float *b, const float *dy, float *y, float *scr)
{
    fwd(kind, g, n, x, w, b, y, scr);
    double l = 0.0;
    for (size_t i = 0; i < n * out_size(g); i++)
        l += (double)dy[i] * y[i];
    return l;
}

static void numgrad(kind_t kind, const sae_conv_geom_t *g, size_t n, float *x, float *w, float *b,
                    const float *dy, float *y, float *scr, float *param, size_t np, double *num)
{
    const float h = 1e-3f;
    for (size_t i = 0; i < np; i++) {
        float keep = param[i];
        param[i] = keep + h;
        double lp = loss_of(kind, g, n, x, w, b, dy, y, scr);
        param[i] = keep - h;
        double lm = loss_of(kind, g, n, x, w, b, dy, y, scr);
        param[i] = keep;
        num[i] = (lp - lm) / (2.0 * (double)h);
    }
}

static void assert_grad(const double *num, const float *ana, size_t n, const char *what)
{
    double d = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        d += (num[i] - ana[i]) * (num[i] - ana[i]);
        s += (num[i] + ana[i]) * (num[i] + ana[i]);
    }
    double rel = s > 0.0 ? sqrt(d / s) : sqrt(d);
    if (!(rel < 1e-3))
        fail_msg("%s: relative difference %.3g", what, rel);
}

static void gradcheck(kind_t kind, const shape_t *sh)
{
    sae_conv_geom_t g = geom_of(kind, sh);
    size_t n = sh->n, nx = n * in_size(&g), ny = n * out_size(&g), nw = w_size(&g);
    size_t nscr = scratch_of(kind, &g, n);
    float *x = falloc(nx), *w = falloc(nw), *b = falloc(g.out_c), *y = falloc(ny);
    float *dy = falloc(ny), *dx = falloc(nx), *dw = falloc(nw), *db = falloc(g.out_c);
    float *scr = falloc(nscr);
    double *num = dalloc(nx + nw + g.out_c);
    fill_sin(x, nx, 0.37, 0.3, 1.0);
    fill_sin(w, nw, 0.53, 0.7, 0.5);
    fill_sin(b, g.out_c, 1.1, 0.2, 0.2);
    fill_sin(dy, ny, 0.29, 1.7, 1.0);
    poison(dx, nx);
    poison(dw, nw);
    poison(db, g.out_c);
    bwd(kind, &g, n, x, w, dy, dx, dw, db, scr);
    numgrad(kind, &g, n, x, w, b, dy, y, scr, x, nx, num);
    assert_grad(num, dx, nx, "dx");
    numgrad(kind, &g, n, x, w, b, dy, y, scr, w, nw, num);
    assert_grad(num, dw, nw, "dw");
    numgrad(kind, &g, n, x, w, b, dy, y, scr, b, g.out_c, num);
    assert_grad(num, db, g.out_c, "db");
    free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db), free(scr);
    free(num);
}

static void test_conv2d_gradcheck(void **state)
{
    (void)state;
    static const shape_t shapes[] = {
        {2, 2, 5, 4, 3, 3, 1, 0, 0}, {1, 3, 7, 5, 2, 3, 2, 1, 0}, {3, 2, 6, 7, 2, 4, 3, 2, 0},
        {2, 1, 5, 5, 2, 5, 1, 2, 0}, {1, 2, 3, 5, 3, 2, 2, 0, 0},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        gradcheck(CONV, &shapes[i]);
}

static void test_convt_gradcheck(void **state)
{
    (void)state;
    static const shape_t shapes[] = {
        {2, 2, 3, 2, 3, 3, 2, 1, 1}, {1, 3, 4, 3, 2, 3, 1, 0, 0}, {2, 2, 3, 4, 2, 4, 3, 2, 2},
        {1, 2, 2, 3, 1, 5, 2, 0, 1}, {3, 1, 5, 3, 2, 2, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        gradcheck(CONVT, &shapes[i]);
}

/* ---- MaxPool ---- */

/* The first maximum of each window in row-major order, and the scatter of
 * dy onto it, by plain loops. */
static void ref_maxpool(const sae_conv_geom_t *g, size_t n, const float *x, const float *dy,
                        float *y, uint32_t *am, float *dx)
{
    size_t ip = g->in_h * g->in_w, op = g->out_h * g->out_w;
    memset(dx, 0, n * g->in_c * ip * sizeof *dx);
    for (size_t pl = 0; pl < n * g->in_c; pl++)
        for (size_t oy = 0; oy < g->out_h; oy++)
            for (size_t ox = 0; ox < g->out_w; ox++) {
                size_t best = SIZE_MAX;
                for (size_t ki = 0; ki < g->kernel; ki++)
                    for (size_t kj = 0; kj < g->kernel; kj++) {
                        size_t i = (oy * g->stride + ki) * g->in_w + ox * g->stride + kj;
                        if (best == SIZE_MAX || x[pl * ip + i] > x[pl * ip + best])
                            best = i;
                    }
                y[pl * op + oy * g->out_w + ox] = x[pl * ip + best];
                am[pl * op + oy * g->out_w + ox] = (uint32_t)best;
                dx[pl * ip + best] += dy[pl * op + oy * g->out_w + ox];
            }
}

static void check_maxpool(size_t n, size_t c, size_t h, size_t w, size_t k, size_t s, int quantize)
{
    sae_conv_geom_t g = {
        c, h, w, c, sae_maxpool2d_out_size(h, k, s), sae_maxpool2d_out_size(w, k, s), k, s, 0, 0};
    assert_true(g.out_h > 0 && g.out_w > 0);
    size_t nx = n * c * h * w, ny = n * c * g.out_h * g.out_w;
    float *x = falloc(nx), *y = falloc(ny), *dy = falloc(ny), *dx = falloc(nx);
    float *ry = falloc(ny), *rdx = falloc(nx);
    uint32_t *am = malloc(ny * sizeof *am), *ram = malloc(ny * sizeof *ram);
    fill_sin(x, nx, 0.77, 0.4, 1.0);
    /* Coarse values make ties within windows common. */
    if (quantize)
        for (size_t i = 0; i < nx; i++)
            x[i] = roundf(x[i] * 2.0f);
    fill_sin(dy, ny, 0.31, 0.9, 1.0);
    ref_maxpool(&g, n, x, dy, ry, ram, rdx);
    sae_maxpool2d_forward(&g, n, x, y, am);
    assert_memory_equal(y, ry, ny * sizeof *y);
    assert_memory_equal(am, ram, ny * sizeof *am);
    poison(dx, nx);
    sae_maxpool2d_backward(&g, n, dy, am, dx);
    assert_memory_equal(dx, rdx, nx * sizeof *dx);
    free(x), free(y), free(dy), free(dx), free(ry), free(rdx), free(am), free(ram);
}

static void test_maxpool(void **state)
{
    (void)state;
    check_maxpool(1, 1, 4, 4, 2, 2, 0);
    check_maxpool(3, 2, 7, 5, 2, 2, 0); /* odd sizes: the last row and column are dropped */
    check_maxpool(2, 3, 9, 9, 2, 2, 1); /* E2's pool, with ties */
    check_maxpool(2, 2, 7, 6, 3, 1, 1); /* overlapping windows share maxima */
    check_maxpool(1, 2, 8, 11, 3, 3, 1);

    /* Exact routing by hand: 1 plane 4 x 4, k 2, s 2. */
    const float x[16] = {1, 5, 2, 2, /* */ 3, 4, 2, 2, /* */ -1, -2, 0, 7, /* */ -3, -1, 7, 1};
    const float dy[4] = {10, 20, 30, 40};
    const uint32_t want_am[4] = {1, 2, 8, 11};
    const float want_dx[16] = {0, 10, 20, 0, 0, 0, 0, 0, 30, 0, 0, 40, 0, 0, 0, 0};
    sae_conv_geom_t g = {1, 4, 4, 1, 2, 2, 2, 2, 0, 0};
    float y[4], dx[16];
    uint32_t am[4];
    sae_maxpool2d_forward(&g, 1, x, y, am);
    assert_true(y[0] == 5 && y[1] == 2 && y[2] == -1 && y[3] == 7);
    /* Window 1 is all 2s: the first (index 2); window 3 ties 7 at 11 and
     * 14: the first in scan order, 11. */
    assert_memory_equal(am, want_am, sizeof am);
    sae_maxpool2d_backward(&g, 1, dy, am, dx);
    assert_memory_equal(dx, want_dx, sizeof dx);
}

/* ---- E2's seven layers at batch 2, each against the naive loops. ---- */

static void test_e2_shapes(void **state)
{
    (void)state;
    const shape_t convs[] = {{2, 1, 28, 28, 8, 3, 1, 0, 0},
                             {2, 8, 26, 26, 16, 5, 1, 0, 0},
                             {2, 16, 22, 22, 32, 5, 2, 0, 0}};
    const shape_t convts[] = {
        {2, 32, 4, 4, 16, 3, 2, 0, 0}, {2, 16, 9, 9, 8, 5, 2, 0, 0}, {2, 8, 21, 21, 1, 8, 1, 0, 0}};
    for (size_t i = 0; i < 3; i++)
        check_against_ref(CONV, &convs[i]);
    check_maxpool(2, 32, 9, 9, 2, 2, 0);
    for (size_t i = 0; i < 3; i++)
        check_against_ref(CONVT, &convts[i]);
}

/* n = 0: no output, no scratch, zero weight and bias gradients. */
static void test_empty_batch(void **state)
{
    (void)state;
    const shape_t sh = {0, 2, 5, 4, 3, 3, 1, 0, 0};
    sae_conv_geom_t g = geom_conv(&sh);
    float w[54], dw[54], db[3];
    assert_int_equal(sae_conv2d_scratch_floats(&g, 0, 1), 0);
    assert_int_equal(sae_conv_transpose2d_scratch_floats(&g, 0, 1), 0);
    poison(dw, 54);
    poison(db, 3);
    fill_sin(w, 54, 0.1, 0.0, 1.0);
    sae_conv2d_backward(&g, 0, NULL, w, NULL, NULL, dw, db, NULL, 1);
    for (size_t i = 0; i < 54; i++)
        assert_true(dw[i] == 0.0f);
    for (size_t i = 0; i < 3; i++)
        assert_true(db[i] == 0.0f);
    poison(dw, 54);
    poison(db, 3);
    sae_conv_transpose2d_backward(&g, 0, NULL, w, NULL, NULL, dw, db, NULL, 1);
    for (size_t i = 0; i < 54; i++)
        assert_true(dw[i] == 0.0f);
    for (size_t i = 0; i < 3; i++)
        assert_true(db[i] == 0.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_sizes),       cmocka_unit_test(test_conv2d_vs_naive),
        cmocka_unit_test(test_convt_vs_naive),  cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_vs_pytorch),      cmocka_unit_test(test_conv2d_gradcheck),
        cmocka_unit_test(test_convt_gradcheck), cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_e2_shapes),       cmocka_unit_test(test_empty_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
