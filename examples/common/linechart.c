/* SPDX-License-Identifier: MIT */
#include "common/plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/font.h"

#define TEXT EX_RGB(40, 40, 40)
#define AXIS EX_RGB(60, 60, 60)
#define GRID EX_RGB(228, 228, 228)
#define MAX_TICKS 64

/* Tick positions a reader expects: steps of 1, 2 or 5 times a power of ten,
 * about `want` of them across [lo, hi]. */
static size_t linear_ticks(double lo, double hi, int want, double min_step, double *ticks)
{
    double raw = (hi - lo) / want;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
    if (step < min_step)
        step = min_step;
    size_t n = 0;
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9 && n < MAX_TICKS;
         t += step)
        ticks[n++] = fabs(t) < step * 1e-9 ? 0.0 : t;
    return n;
}

/* On a log axis: every power of ten, and 2x and 5x as well when the range
 * spans less than three decades, so that a short axis still gets labels. */
static size_t log_ticks(double lo, double hi, double *ticks)
{
    size_t n = 0;
    int decades = (int)(floor(log10(hi)) - floor(log10(lo)));
    static const double fine[] = {1, 2, 5};
    for (int e = (int)floor(log10(lo)); e <= (int)ceil(log10(hi)) && n < MAX_TICKS; e++) {
        for (int k = 0; k < 3; k++) {
            if (k > 0 && decades >= 3)
                break;
            double t = fine[k] * pow(10.0, e);
            if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9) && n < MAX_TICKS)
                ticks[n++] = t;
        }
    }
    return n;
}

typedef struct frame {
    long x, y, w, h; /* the plot area */
    double x0, x1, y0, y1;
    int log_y;
} frame;

static double to_px(const frame *f, double x)
{
    return f->x + (x - f->x0) / (f->x1 - f->x0) * (f->w - 1);
}

static double to_py(const frame *f, double y)
{
    double t = f->log_y ? (log10(y) - log10(f->y0)) / (log10(f->y1) - log10(f->y0))
                        : (y - f->y0) / (f->y1 - f->y0);
    return f->y + (1.0 - t) * (f->h - 1);
}

/* A series as one cairo path (a gap where a value is missing), dashed by
 * cairo across the joints, clipped to the plot area. */
static void draw_series(ex_canvas *c, const frame *f, const ex_series *s)
{
    cairo_t *cr = c->cr;
    cairo_save(cr);
    cairo_rectangle(cr, (double)f->x - 2, (double)f->y - 2, (double)f->w + 4, (double)f->h + 4);
    cairo_clip(cr);
    ex_canvas_source(c, s->color, 1.0);
    cairo_set_line_width(cr, 2.2);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    if (s->dashed) {
        static const double dash[] = {8.0, 5.0};
        cairo_set_dash(cr, dash, 2, 0.0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    }
    int open = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i]) || (f->log_y && s->y[i] <= 0)) {
            open = 0;
            continue;
        }
        double px = to_px(f, s->x[i]) + 0.5, py = to_py(f, s->y[i]) + 0.5;
        if (open)
            cairo_line_to(cr, px, py);
        else
            cairo_move_to(cr, px, py);
        open = 1;
    }
    cairo_stroke(cr);
    if (s->n == 1 && isfinite(s->y[0]))
        ex_canvas_line(c, to_px(f, s->x[0]) - 2, to_py(f, s->y[0]), to_px(f, s->x[0]) + 2,
                       to_py(f, s->y[0]), 4.0, s->color);
    cairo_restore(cr);
}

ex_status ex_linechart_save(const char *path, const ex_chart *chart, const ex_series *series,
                            size_t n_series)
{
    if (!path || !chart || (!series && n_series))
        return ex_fail(EX_ERR_ARG, "ex_linechart_save: NULL argument");
    const int sc = 2;
    long width = chart->width ? (long)chart->width : 960;
    long height = chart->height ? (long)chart->height : 600;

    frame f = {0, 0, 0, 0, INFINITY, -INFINITY, INFINITY, -INFINITY, chart->log_y};
    for (size_t s = 0; s < n_series; s++) {
        for (size_t i = 0; i < series[s].n; i++) {
            double x = series[s].x[i], y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y) || (f.log_y && y <= 0))
                continue;
            f.x0 = fmin(f.x0, x);
            f.x1 = fmax(f.x1, x);
            f.y0 = fmin(f.y0, y);
            f.y1 = fmax(f.y1, y);
        }
    }
    if (!isfinite(f.x0)) {
        f.x0 = 0;
        f.x1 = 1;
        f.y0 = f.log_y ? 0.1 : 0;
        f.y1 = 1;
    }
    if (!(f.x1 > f.x0))
        f.x1 = f.x0 + 1;
    if (f.log_y) {
        /* Pad to the next 1-2-5 step so that the curve never touches the
         * frame. */
        f.y0 = pow(10.0, floor(log10(f.y0) * 4) / 4);
        f.y1 = pow(10.0, ceil(log10(f.y1) * 4) / 4);
        if (!(f.y1 > f.y0))
            f.y1 = f.y0 * 10;
    } else {
        if (!(f.y1 > f.y0))
            f.y1 = f.y0 + 1;
        double pad = (f.y1 - f.y0) * 0.05;
        f.y1 += pad;
        f.y0 = f.y0 >= 0 && f.y0 - pad < 0 ? 0 : f.y0 - pad;
    }

    double xt[MAX_TICKS], yt[MAX_TICKS];
    size_t nxt = linear_ticks(f.x0, f.x1, 8, chart->x_integer ? 1.0 : 0.0, xt);
    size_t nyt = f.log_y ? log_ticks(f.y0, f.y1, yt) : linear_ticks(f.y0, f.y1, 6, 0.0, yt);
    char buf[64];
    long ylab_w = 0;
    for (size_t i = 0; i < nyt; i++) {
        snprintf(buf, sizeof buf, "%g", yt[i]);
        if ((long)ex_font_width(buf, sc) > ylab_w)
            ylab_w = (long)ex_font_width(buf, sc);
    }
    long fh = (long)ex_font_height(sc);
    f.x = 14 + fh + 10 + ylab_w + 8;
    f.y = chart->title ? 14 + fh + 14 : 16;
    f.w = width - f.x - 24;
    f.h = height - f.y - (fh + 8 + fh + 16);

    ex_canvas c;
    ex_status st = ex_canvas_init(&c, (size_t)width, (size_t)height, EX_WHITE);
    if (st != EX_OK)
        return st;

    for (size_t i = 0; i < nyt; i++) {
        long py = lround(to_py(&f, yt[i]));
        ex_canvas_fill(&c, f.x, py, f.w, 1, GRID);
        ex_canvas_fill(&c, f.x - 5, py, 5, 1, AXIS);
        snprintf(buf, sizeof buf, "%g", yt[i]);
        ex_font_draw(&c, f.x - 8 - (long)ex_font_width(buf, sc), py - fh / 2 + 1, buf, TEXT, sc);
    }
    for (size_t i = 0; i < nxt; i++) {
        long px = lround(to_px(&f, xt[i]));
        ex_canvas_fill(&c, px, f.y, 1, f.h, GRID);
        ex_canvas_fill(&c, px, f.y + f.h, 1, 5, AXIS);
        snprintf(buf, sizeof buf, "%g", xt[i]);
        ex_font_draw(&c, px - (long)ex_font_width(buf, sc) / 2, f.y + f.h + 8, buf, TEXT, sc);
    }
    ex_canvas_frame(&c, f.x - 1, f.y - 1, f.w + 2, f.h + 2, AXIS);

    for (size_t s = 0; s < n_series; s++)
        draw_series(&c, &f, &series[s]);

    if (chart->title)
        ex_font_draw(&c, f.x + (f.w - (long)ex_font_width(chart->title, sc)) / 2, 14, chart->title,
                     TEXT, sc);
    if (chart->x_label)
        ex_font_draw(&c, f.x + (f.w - (long)ex_font_width(chart->x_label, sc)) / 2,
                     height - fh - 10, chart->x_label, TEXT, sc);
    if (chart->y_label)
        ex_font_draw_up(&c, 14, f.y + (f.h - (long)ex_font_width(chart->y_label, sc)) / 2,
                        chart->y_label, TEXT, sc);

    /* Legend in the top-right corner of the plot, on white so that grid
     * lines and curves do not run through the text. */
    if (n_series > 0) {
        long name_w = 0;
        for (size_t s = 0; s < n_series; s++)
            if (series[s].name && (long)ex_font_width(series[s].name, sc) > name_w)
                name_w = (long)ex_font_width(series[s].name, sc);
        long row_h = fh + 8, sample_w = 36;
        long lw = 12 + sample_w + 10 + name_w + 12, lh = 10 + (long)n_series * row_h;
        long lx = f.x + f.w - lw - 10, ly = f.y + 10;
        ex_canvas_fill(&c, lx, ly, lw, lh, EX_WHITE);
        ex_canvas_frame(&c, lx, ly, lw, lh, EX_RGB(170, 170, 170));
        for (size_t s = 0; s < n_series; s++) {
            long ry = ly + 6 + (long)s * row_h;
            double my = ry + fh / 2.0;
            double sx[2] = {lx + 12, lx + 12 + sample_w}, sy[2] = {my, my};
            ex_series sample = series[s];
            sample.x = sx;
            sample.y = sy;
            sample.n = 2;
            frame whole = {0, 0, width, height, 0, (double)width - 1, 0, (double)height - 1, 0};
            /* The same pen as the curve, in canvas coordinates. */
            whole.y0 = (double)height - 1;
            whole.y1 = 0;
            draw_series(&c, &whole, &sample);
            if (series[s].name)
                ex_font_draw(&c, lx + 12 + sample_w + 10, ry + 1, series[s].name, TEXT, sc);
        }
    }

    st = ex_canvas_save(&c, path);
    ex_canvas_free(&c);
    return st;
}
