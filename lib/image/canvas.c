/*
 * canvas.c - the charts' raster: see canvas.h.
 */
#include <stdlib.h>
#include <string.h>

#include "canvas.h"

void dc_canvas_init(struct dc_canvas *c, unsigned char *rgb, int w, int h, const unsigned char bg[3])
{
	c->p = rgb;
	c->w = w;
	c->h = h;
	c->cx0 = 0;
	c->cy0 = 0;
	c->cx1 = w - 1;
	c->cy1 = h - 1;
	if (bg)
		for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
			memcpy(rgb + 3 * i, bg, 3);
}

void dc_canvas_px(struct dc_canvas *c, int x, int y, const unsigned char rgb[3])
{
	if (x < c->cx0 || y < c->cy0 || x > c->cx1 || y > c->cy1 || x < 0 || y < 0 || x >= c->w || y >= c->h)
		return;
	memcpy(c->p + ((size_t)y * (size_t)c->w + (size_t)x) * 3, rgb, 3);
}

void dc_canvas_rect(struct dc_canvas *c, int x0, int y0, int x1, int y1, const unsigned char rgb[3])
{
	if (x0 > x1) {
		int t = x0;
		x0 = x1;
		x1 = t;
	}
	if (y0 > y1) {
		int t = y0;
		y0 = y1;
		y1 = t;
	}
	for (int y = y0; y <= y1; y++)
		for (int x = x0; x <= x1; x++)
			dc_canvas_px(c, x, y, rgb);
}

void dc_canvas_line(struct dc_canvas *c, int x0, int y0, int x1, int y1, const unsigned char rgb[3],
                    int thick, int dash)
{
	int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1, err = dx + dy;
	for (int step = 0;; step++) {
		if (!dash || step % 8 < 4)
			for (int ty = 0; ty < thick; ty++)
				for (int tx = 0; tx < thick; tx++)
					dc_canvas_px(c, x0 + tx, y0 + ty, rgb);
		if (x0 == x1 && y0 == y1)
			break;
		int e2 = 2 * err;
		if (e2 >= dy) {
			err += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			err += dx;
			y0 += sy;
		}
	}
}

/* 3x5 glyphs, rows top to bottom, 3 bits each (4 = left column). */
static const char glyph_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-%():/,=_+";
static const unsigned char glyphs[][5] = {
	{ 7, 5, 5, 5, 7 }, { 2, 6, 2, 2, 7 }, { 7, 1, 7, 4, 7 }, { 7, 1, 7, 1, 7 }, { 5, 5, 7, 1, 1 },
	{ 7, 4, 7, 1, 7 }, { 7, 4, 7, 5, 7 }, { 7, 1, 1, 1, 1 }, { 7, 5, 7, 5, 7 }, { 7, 5, 7, 1, 7 },
	{ 2, 5, 7, 5, 5 }, { 6, 5, 6, 5, 6 }, { 3, 4, 4, 4, 3 }, { 6, 5, 5, 5, 6 }, { 7, 4, 6, 4, 7 },
	{ 7, 4, 6, 4, 4 }, { 3, 4, 5, 5, 3 }, { 5, 5, 7, 5, 5 }, { 7, 2, 2, 2, 7 }, { 1, 1, 1, 5, 2 },
	{ 5, 5, 6, 5, 5 }, { 4, 4, 4, 4, 7 }, { 5, 7, 7, 5, 5 }, { 6, 5, 5, 5, 5 }, { 2, 5, 5, 5, 2 },
	{ 6, 5, 6, 4, 4 }, { 2, 5, 5, 6, 3 }, { 6, 5, 6, 5, 5 }, { 3, 4, 2, 1, 6 }, { 7, 2, 2, 2, 2 },
	{ 5, 5, 5, 5, 7 }, { 5, 5, 5, 5, 2 }, { 5, 5, 7, 7, 5 }, { 5, 5, 2, 5, 5 }, { 5, 5, 2, 2, 2 },
	{ 7, 1, 2, 4, 7 },
	{ 0, 0, 0, 0, 2 }, { 0, 0, 7, 0, 0 }, { 5, 1, 2, 4, 5 }, { 1, 2, 2, 2, 1 }, { 4, 2, 2, 2, 4 },
	{ 0, 2, 0, 2, 0 }, { 1, 1, 2, 4, 4 }, { 0, 0, 0, 2, 4 }, { 0, 7, 0, 7, 0 }, { 0, 0, 0, 0, 7 },
	{ 0, 2, 7, 2, 0 },
};

#define GLYPH_ADV 8 /* 2x glyphs: 6 pixels wide, 2 apart; 10 high */

void dc_canvas_text(struct dc_canvas *c, int x, int y, const char *s, const unsigned char rgb[3])
{
	for (; *s; s++, x += GLYPH_ADV) {
		int ch = *s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s;
		const char *g = ch ? strchr(glyph_chars, ch) : NULL;
		if (!g)
			continue;
		const unsigned char *rows = glyphs[g - glyph_chars];
		for (int r = 0; r < 5; r++)
			for (int b = 0; b < 3; b++)
				if (rows[r] & (4 >> b))
					dc_canvas_rect(c, x + 2 * b, y + 2 * r, x + 2 * b + 1, y + 2 * r + 1, rgb);
	}
}

int dc_canvas_text_width(const char *s)
{
	size_t n = strlen(s);
	return n ? (int)n * GLYPH_ADV - 2 : 0;
}
