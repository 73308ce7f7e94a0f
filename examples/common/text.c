/* SPDX-License-Identifier: MIT */
/* Labels through cairo's text calls. The font size is chosen so that a line
 * (ascent + descent) is 10 pixels a scale unit, the old bitmap font's cell. */
#include "common/font.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PX_PER_SCALE 8.5

/* Printable ASCII only: cairo refuses invalid UTF-8 by putting the
 * context in an error state. */
static char *clean(const char *text)
{
    size_t n = strlen(text);
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = text[i] >= 32 && text[i] < 127 ? text[i] : '?';
    s[n] = 0;
    return s;
}

static void set_font(cairo_t *cr, int scale)
{
    cairo_select_font_face(cr, EX_FONT_FACE, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, PX_PER_SCALE * (scale > 0 ? scale : 1));
}

size_t ex_font_width(const char *text, int scale)
{
    if (!text || !*text)
        return 0;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    cairo_t *cr = cairo_create(s);
    set_font(cr, scale);
    char *t = clean(text);
    cairo_text_extents_t e = {0};
    if (t)
        cairo_text_extents(cr, t, &e);
    free(t);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return (size_t)ceil(e.x_advance);
}

size_t ex_font_height(int scale) { return (size_t)(10 * (scale > 0 ? scale : 1)); }

static void draw(ex_canvas *c, double x, double y, const char *text, ex_color color, int scale,
                 int up)
{
    char *t = clean(text);
    if (!t)
        return;
    cairo_t *cr = c->cr;
    cairo_save(cr);
    set_font(cr, scale);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    /* Centre the font's ascent + descent in the line box. */
    double box = (double)ex_font_height(scale);
    double base = (box - (fe.ascent + fe.descent)) / 2 + fe.ascent;
    ex_canvas_source(c, color, 1.0);
    if (up) {
        cairo_text_extents_t e;
        cairo_text_extents(cr, t, &e);
        cairo_translate(cr, x, y + ceil(e.x_advance));
        cairo_rotate(cr, -M_PI / 2);
        cairo_move_to(cr, 0, base);
    } else {
        cairo_move_to(cr, x, y + base);
    }
    cairo_show_text(cr, t);
    cairo_restore(cr);
    free(t);
}

void ex_font_draw(ex_canvas *c, long x, long y, const char *text, ex_color color, int scale)
{
    if (c && text)
        draw(c, (double)x, (double)y, text, color, scale, 0);
}

void ex_font_draw_up(ex_canvas *c, long x, long y, const char *text, ex_color color, int scale)
{
    if (c && text)
        draw(c, (double)x, (double)y, text, color, scale, 1);
}
