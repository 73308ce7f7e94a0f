/* SPDX-License-Identifier: MIT */
/* Plot labels in a real font (DejaVu Sans, through cairo and fontconfig),
 * sized like a 6 x 10 pixel cell per scale unit, so that layouts written for
 * the old bitmap font keep their proportions. */
#ifndef EX_FONT_H
#define EX_FONT_H

#include <stddef.h>

#include "common/canvas.h"

#define EX_FONT_FACE "DejaVu Sans"

/* Size in pixels of text drawn at a scale (1, 2, ...): its advance width,
 * and the line height (10 pixels a scale unit). */
size_t ex_font_width(const char *text, int scale);
size_t ex_font_height(int scale);

/* Draws text with the top-left corner of its line box at (x, y). Bytes
 * outside printable ASCII are drawn as '?'. */
void ex_font_draw(ex_canvas *c, long x, long y, const char *text, ex_color color, int scale);

/* Draws text turned a quarter turn counter-clockwise (reading bottom to
 * top, as on a y axis), with the top-left of its bounding box at (x, y). */
void ex_font_draw_up(ex_canvas *c, long x, long y, const char *text, ex_color color, int scale);

#endif /* EX_FONT_H */
