/*
 * plot.c - the --plot PNG: a 900x360 RGB chart of the recent history
 * (dark blue), the forecast (red) and its interval (light red band), with
 * a frame, a dashed line at the forecast origin, horizontal grid lines and
 * the y value of each labelled, the series' name above and three times
 * under the axis (lib/image/canvas.h draws); the band is filled column by
 * column.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsf.h"
#include "image/canvas.h"

#define PW 900
#define PH 360
#define ML 60
#define MR 16
#define MT 16
#define MB 24

enum dc_status tsf_plot(FILE *fp, const double *hist, const int64_t *th, size_t nh, const double *fc,
                        const double *lo, const double *hi, const int64_t *tf, size_t H, const char *title,
                        const char *const xlab[3])
{
	static const unsigned char white[3] = { 255, 255, 255 }, black[3] = { 0, 0, 0 },
	                           grid[3] = { 225, 225, 225 }, blue[3] = { 20, 60, 160 },
	                           red[3] = { 210, 30, 30 }, band[3] = { 250, 200, 200 }, grey[3] = { 120, 120, 120 };
	struct dc_image img = { PW, PH, 3, 8, NULL };
	img.data = dc_alloc((size_t)PW * PH * 3);
	if (!img.data)
		return dc_fail(DC_ENOMEM, "out of memory");
	struct dc_canvas c;
	dc_canvas_init(&c, img.data, PW, PH, white);
	double ymin = INFINITY, ymax = -INFINITY;
	for (size_t i = 0; i < nh; i++) {
		ymin = fmin(ymin, hist[i]);
		ymax = fmax(ymax, hist[i]);
	}
	for (size_t i = 0; i < H; i++) {
		ymin = fmin(ymin, lo ? lo[i] : fc[i]);
		ymax = fmax(ymax, hi ? hi[i] : fc[i]);
	}
	if (!(ymax > ymin)) {
		ymax = ymin + 1;
		ymin -= 1;
	}
	double pad = (ymax - ymin) * 0.05;
	ymin -= pad;
	ymax += pad;
	int64_t t0 = nh ? th[0] : tf[0], t1 = H ? tf[H - 1] : th[nh - 1];
	if (t1 <= t0)
		t1 = t0 + 1;
	int x0 = ML, x1 = PW - MR, y0 = MT, y1 = PH - MB;
#define XOF(t) (x0 + (int)lround((double)((t) - t0) / (double)(t1 - t0) * (x1 - x0)))
#define YOF(v) (y1 - (int)lround(((v) - ymin) / (ymax - ymin) * (y1 - y0)))
	for (int g = 0; g <= 4; g++) {
		double v = ymin + (ymax - ymin) * g / 4.0;
		int y = YOF(v);
		dc_canvas_line(&c, x0, y, x1, y, grid, 1, 0);
		char buf[32];
		snprintf(buf, sizeof buf, "%.3g", v);
		dc_canvas_text(&c, 2, y - 5 < 1 ? 1 : y + 5 > PH - 1 ? PH - 11 : y - 5, buf, grey);
	}
	/* interval band */
	if (lo && hi && H > 1)
		for (size_t i = 0; i + 1 < H; i++) {
			int xa = XOF(tf[i]), xb = XOF(tf[i + 1]);
			for (int x = xa; x <= xb; x++) {
				double a = xb > xa ? (double)(x - xa) / (xb - xa) : 0;
				int ya = YOF(lo[i] + a * (lo[i + 1] - lo[i])), yb = YOF(hi[i] + a * (hi[i + 1] - hi[i]));
				for (int y = yb; y <= ya; y++)
					dc_canvas_px(&c, x, y, band);
			}
		}
	/* frame and forecast origin */
	dc_canvas_line(&c, x0, y0, x1, y0, black, 1, 0);
	dc_canvas_line(&c, x0, y1, x1, y1, black, 1, 0);
	dc_canvas_line(&c, x0, y0, x0, y1, black, 1, 0);
	dc_canvas_line(&c, x1, y0, x1, y1, black, 1, 0);
	if (nh) {
		int xo = XOF(th[nh - 1]);
		dc_canvas_line(&c, xo, y0, xo, y1, grey, 1, 1);
	}
	for (size_t i = 0; i + 1 < nh; i++)
		dc_canvas_line(&c, XOF(th[i]), YOF(hist[i]), XOF(th[i + 1]), YOF(hist[i + 1]), blue, 2, 0);
	if (nh && H)
		dc_canvas_line(&c, XOF(th[nh - 1]), YOF(hist[nh - 1]), XOF(tf[0]), YOF(fc[0]), red, 2, 0);
	for (size_t i = 0; i + 1 < H; i++)
		dc_canvas_line(&c, XOF(tf[i]), YOF(fc[i]), XOF(tf[i + 1]), YOF(fc[i + 1]), red, 2, 0);
	/* the series' name above; under the axis the first time shown, the forecast's first and its last */
	if (title)
		dc_canvas_text(&c, x0, 3, title, grey);
	if (xlab) {
		int ty = y1 + 7, wl = xlab[0] ? dc_canvas_text_width(xlab[0]) : 0;
		int wr = xlab[2] ? dc_canvas_text_width(xlab[2]) : 0;
		if (xlab[0])
			dc_canvas_text(&c, x0, ty, xlab[0], grey);
		if (xlab[2])
			dc_canvas_text(&c, x1 - wr, ty, xlab[2], grey);
		if (xlab[1] && H) {
			int w = dc_canvas_text_width(xlab[1]), xm = XOF(tf[0]) - w / 2;
			if (xm > x0 + wl + 12 && xm + w < x1 - wr - 12) /* only where it does not collide */
				dc_canvas_text(&c, xm, ty, xlab[1], grey);
		}
	}
#undef XOF
#undef YOF
	const char *txt[] = { "Software", "diffcore ts-forecast", NULL };
	enum dc_status st = dc_png_write(fp, &img, txt);
	dc_free(img.data);
	return st;
}
