/* SPDX-License-Identifier: MIT */
#include "common/plot.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/font.h"

#define TEXT EX_RGB(40, 40, 40)
#define SEPARATOR EX_RGB(110, 110, 110)

ex_status ex_codemap_save(const char *path, const uint8_t *bits, size_t n, size_t units,
                          const uint8_t *labels, const char *title)
{
    if (!path || !bits || n == 0 || units == 0)
        return ex_fail(EX_ERR_ARG, "ex_codemap_save: bad argument");
    long *col = malloc(n * sizeof *col);
    if (!col)
        return ex_fail(EX_ERR_NOMEM, "no memory");
    /* One column per code plus a separator column at each class change. */
    long w = 0;
    for (size_t i = 0; i < n; i++) {
        if (labels && i > 0 && labels[i] != labels[i - 1])
            w++;
        col[i] = w++;
    }
    const int scale = 2;
    long th = (long)ex_font_height(scale);
    const char *unit_label = "hidden unit";
    long left = 12 + th + 8, top = (title ? th + 14 : 6) + (labels ? th + 6 : 0);
    long width = left + w + 12, height = top + (long)units + 12;
    if (title && (long)ex_font_width(title, scale) + 24 > width)
        width = (long)ex_font_width(title, scale) + 24;
    ex_canvas c;
    ex_status st = ex_canvas_init(&c, (size_t)width, (size_t)height, EX_WHITE);
    if (st != EX_OK) {
        free(col);
        return st;
    }
    if (title)
        ex_font_draw(&c, 12, 8, title, TEXT, scale);
    ex_font_draw_up(&c, 12, top + ((long)units - (long)ex_font_width(unit_label, scale)) / 2,
                    unit_label, TEXT, scale);
    ex_canvas_fill(&c, left, top, w, (long)units, SEPARATOR);
    for (size_t i = 0; i < n; i++)
        for (size_t u = 0; u < units; u++)
            ex_canvas_put(&c, left + col[i], top + (long)u,
                          bits[i * units + u] ? EX_WHITE : EX_BLACK);
    if (labels) {
        size_t start = 0;
        for (size_t i = 1; i <= n; i++) {
            if (i < n && labels[i] == labels[start])
                continue;
            char name[8];
            snprintf(name, sizeof name, "%u", (unsigned)labels[start]);
            long mid = (col[start] + col[i - 1] + 1) / 2;
            ex_font_draw(&c, left + mid - (long)ex_font_width(name, scale) / 2, top - th - 4, name,
                         TEXT, scale);
            start = i;
        }
    }
    st = ex_canvas_save(&c, path);
    ex_canvas_free(&c);
    free(col);
    return st;
}
