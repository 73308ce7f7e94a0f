/* SPDX-License-Identifier: MIT */
/* A tiny built-in bitmap font (printable ASCII, 5x7 glyphs with two rows of
 * descenders in a 6x10 cell) for plot labels, so that the examples need no
 * font files or font libraries. */
#ifndef EX_FONT_H
#define EX_FONT_H

#include <stddef.h>

#include "common/canvas.h"

#define EX_FONT_CELL_W 6  /* glyph 5 + 1 column of spacing */
#define EX_FONT_CELL_H 10 /* cap height 7 + descenders 2 + 1 row of spacing */

/* Size in pixels of text drawn at an integer scale (1, 2, ...). */
size_t ex_font_width(const char *text, int scale);
size_t ex_font_height(int scale);

/* Draws text with its top-left corner at (x, y). Characters outside
 * printable ASCII are drawn as '?'. */
void ex_font_draw(ex_canvas *c, long x, long y, const char *text, ex_color color, int scale);

/* Draws text turned a quarter turn counter-clockwise (reading bottom to
 * top, as on a y axis), with the top-left of its bounding box at (x, y). */
void ex_font_draw_up(ex_canvas *c, long x, long y, const char *text, ex_color color, int scale);

#endif /* EX_FONT_H */
