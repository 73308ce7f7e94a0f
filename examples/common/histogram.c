/* SPDX-License-Identifier: MIT */
/* Bar charts of binned counts (a histogram), drawn with cairo. */
#include "common/plot.h"

#include <math.h>
#include <stdio.h>

#include "common/font.h"

#define TEXT EX_RGB(40, 40, 40)
#define AXIS EX_RGB(60, 60, 60)
#define GRID EX_RGB(228, 228, 228)

/* A round step for about `want` ticks over [0, hi]. */
static double nice_step(double hi, int want)
{
    double raw = hi / want, mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

ex_status ex_bars_save(const char *path, const ex_bars *b)
{
    if (!path || !b || (!b->counts && b->n))
        return ex_fail(EX_ERR_ARG, "ex_bars_save: NULL argument");
    const int sc = 2;
    long width = 960, height = 600, fh = (long)ex_font_height(sc);
    size_t slots = b->n + (b->extra_label ? 2 : 0); /* the extra bar and a gap */
    double top = b->extra_label ? b->extra_count : 0;
    for (size_t i = 0; i < b->n; i++)
        top = fmax(top, b->counts[i]);
    if (!(top > 0))
        top = 1;
    double step = nice_step(top, 6);
    top = ceil(top / step) * step;
    char buf[64];
    snprintf(buf, sizeof buf, "%g", top);
    long plot_x = 14 + fh + 10 + (long)ex_font_width(buf, sc) + 8;
    long plot_y = b->title ? 14 + fh + 14 : 16;
    long plot_w = width - plot_x - 24, plot_h = height - plot_y - (fh + 8 + fh + 16);
    ex_canvas c;
    ex_status st = ex_canvas_init(&c, (size_t)width, (size_t)height, EX_WHITE);
    if (st != EX_OK)
        return st;
    for (double v = 0; v <= top * (1 + 1e-9); v += step) {
        long py = plot_y + plot_h - 1 - lround(v / top * (plot_h - 1));
        ex_canvas_fill(&c, plot_x, py, plot_w, 1, GRID);
        ex_canvas_fill(&c, plot_x - 5, py, 5, 1, AXIS);
        snprintf(buf, sizeof buf, "%g", v);
        ex_font_draw(&c, plot_x - 8 - (long)ex_font_width(buf, sc), py - fh / 2 + 1, buf, TEXT,
                     sc);
    }
    double slot_w = slots ? (double)plot_w / (double)slots : 1;
    cairo_t *cr = c.cr;
    for (size_t s = 0; s < slots; s++) {
        double count;
        int extra = b->extra_label && s == 0;
        if (b->extra_label && s == 1)
            continue;
        count = extra ? b->extra_count : b->counts[s - (b->extra_label ? 2 : 0)];
        double h = count / top * (plot_h - 1);
        ex_canvas_source(&c, extra ? EX_RGB(150, 150, 150) : b->color, 1.0);
        cairo_rectangle(cr, plot_x + s * slot_w + 1, plot_y + plot_h - h, slot_w - 2, h);
        cairo_fill(cr);
    }
    /* x ticks at whole values of the bins' axis. */
    double x_lo = b->x0, x_hi = b->x0 + b->dx * (double)b->n;
    long bins_x = plot_x + (long)((b->extra_label ? 2 : 0) * slot_w);
    for (double v = ceil(x_lo); b->dx > 0 && v <= x_hi + 1e-9; v += 1) {
        long px = bins_x + lround((v - x_lo) / b->dx * slot_w);
        ex_canvas_fill(&c, px, plot_y + plot_h, 1, 5, AXIS);
        snprintf(buf, sizeof buf, "%g", v);
        ex_font_draw(&c, px - (long)ex_font_width(buf, sc) / 2, plot_y + plot_h + 8, buf, TEXT,
                     sc);
    }
    if (b->extra_label)
        ex_font_draw(&c, plot_x + lround(slot_w / 2) - (long)ex_font_width(b->extra_label, sc) / 2,
                     plot_y + plot_h + 8, b->extra_label, TEXT, sc);
    ex_canvas_frame(&c, plot_x - 1, plot_y - 1, plot_w + 2, plot_h + 2, AXIS);
    if (b->title)
        ex_font_draw(&c, plot_x + (plot_w - (long)ex_font_width(b->title, sc)) / 2, 14, b->title,
                     TEXT, sc);
    if (b->x_label)
        ex_font_draw(&c, plot_x + (plot_w - (long)ex_font_width(b->x_label, sc)) / 2,
                     height - fh - 10, b->x_label, TEXT, sc);
    if (b->y_label)
        ex_font_draw_up(&c, 14, plot_y + (plot_h - (long)ex_font_width(b->y_label, sc)) / 2,
                        b->y_label, TEXT, sc);
    st = ex_canvas_save(&c, path);
    ex_canvas_free(&c);
    return st;
}
