/* SPDX-License-Identifier: MIT */
#include "common/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/colormap.h"
#include "common/font.h"

#define TEXT EX_RGB(40, 40, 40)

/* Canvas offset of row/column i: its index, plus one separator pixel for
 * every class boundary before it. */
static void cell_offsets(const uint8_t *labels, size_t n, int zoom, long *pos, long *total)
{
    long p = 0;
    for (size_t i = 0; i < n; i++) {
        if (labels && i > 0 && labels[i] != labels[i - 1])
            p += 1;
        pos[i] = p;
        p += zoom;
    }
    *total = p;
}

ex_status ex_heatmap_save(const char *path, const double *m, size_t n, const uint8_t *labels,
                          const ex_heatmap_opts *opts)
{
    if (!path || !m || n == 0 || !opts)
        return ex_fail(EX_ERR_ARG, "ex_heatmap_save: bad argument");
    int zoom = opts->zoom > 0 ? opts->zoom : 1;
    long *pos = malloc(n * sizeof *pos);
    if (!pos)
        return ex_fail(EX_ERR_NOMEM, "no memory");
    long side;
    cell_offsets(labels, n, zoom, pos, &side);

    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n * n; i++) {
        if (isfinite(m[i])) {
            lo = fmin(lo, m[i]);
            hi = fmax(hi, m[i]);
        }
    }
    if (!isfinite(lo)) {
        lo = 0.0;
        hi = 1.0;
    } else if (!(hi > lo)) {
        hi = lo + 1.0;
    }

    const int big = 2, small = 2;
    long title_h = opts->title ? (long)ex_font_height(big) + 14 : 6;
    long label_w = labels ? (long)ex_font_width("00", small) + 8 : 0;
    long label_h = labels ? (long)ex_font_height(small) + 6 : 0;
    long left = 12 + label_w, top = title_h + label_h;
    long bar_x = left + side + 18, bar_w = 18;
    char lo_txt[32], hi_txt[32];
    snprintf(lo_txt, sizeof lo_txt, "%.4g", lo);
    snprintf(hi_txt, sizeof hi_txt, "%.4g", hi);
    long text_w = (long)ex_font_width(hi_txt, small);
    if ((long)ex_font_width(lo_txt, small) > text_w)
        text_w = (long)ex_font_width(lo_txt, small);
    if (opts->low_label && (long)ex_font_width(opts->low_label, small) > text_w)
        text_w = (long)ex_font_width(opts->low_label, small);
    if (opts->high_label && (long)ex_font_width(opts->high_label, small) > text_w)
        text_w = (long)ex_font_width(opts->high_label, small);
    long width = bar_x + bar_w + 8 + text_w + 12;
    long height = top + side + 12;
    if (opts->title && (long)ex_font_width(opts->title, big) + 24 > width)
        width = (long)ex_font_width(opts->title, big) + 24;

    ex_canvas c;
    ex_status st = ex_canvas_init(&c, (size_t)width, (size_t)height, EX_WHITE);
    if (st != EX_OK) {
        free(pos);
        return st;
    }
    if (opts->title)
        ex_font_draw(&c, 12, 8, opts->title, TEXT, big);

    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            double t = (m[i * n + j] - lo) / (hi - lo);
            if (opts->reverse)
                t = 1.0 - t;
            /* 64 levels are as many as the eye tells apart in a noisy
             * matrix; they keep the picture in a small palette PNG. */
            t = round(t * 63.0) / 63.0;
            ex_canvas_fill(&c, left + pos[j], top + pos[i], zoom, zoom, ex_viridis(t));
        }
    }

    /* Class names centred on each group, along the top and the left. */
    if (labels) {
        size_t start = 0;
        for (size_t i = 1; i <= n; i++) {
            if (i < n && labels[i] == labels[start])
                continue;
            char name[8];
            snprintf(name, sizeof name, "%u", (unsigned)labels[start]);
            long mid = (pos[start] + pos[i - 1] + zoom) / 2;
            long tw = (long)ex_font_width(name, small), th = (long)ex_font_height(small);
            ex_font_draw(&c, left + mid - tw / 2, top - th - 4, name, TEXT, small);
            ex_font_draw(&c, left - tw - 6, top + mid - th / 2, name, TEXT, small);
            start = i;
        }
    }

    /* The colour bar: high values at the top, as on a map legend; a cairo
     * gradient through viridis' colours. */
    cairo_pattern_t *bar = cairo_pattern_create_linear(0, (double)top + side, 0, (double)top);
    for (int k = 0; k <= 32; k++) {
        double t = k / 32.0;
        ex_color col = ex_viridis(opts->reverse ? 1.0 - t : t);
        cairo_pattern_add_color_stop_rgb(bar, t, col.r / 255.0, col.g / 255.0, col.b / 255.0);
    }
    cairo_rectangle(c.cr, (double)bar_x, (double)top, (double)bar_w, (double)side);
    cairo_set_source(c.cr, bar);
    cairo_fill(c.cr);
    cairo_pattern_destroy(bar);
    ex_canvas_frame(&c, bar_x - 1, top - 1, bar_w + 2, side + 2, TEXT);
    long tx = bar_x + bar_w + 8, th = (long)ex_font_height(small);
    ex_font_draw(&c, tx, top, hi_txt, TEXT, small);
    if (opts->high_label)
        ex_font_draw(&c, tx, top + th + 4, opts->high_label, TEXT, small);
    ex_font_draw(&c, tx, top + side - th, lo_txt, TEXT, small);
    if (opts->low_label)
        ex_font_draw(&c, tx, top + side - 2 * th - 4, opts->low_label, TEXT, small);

    st = ex_canvas_save(&c, path);
    ex_canvas_free(&c);
    free(pos);
    return st;
}
