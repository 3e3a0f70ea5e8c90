/*
 * chart.c - relevance-score's --chart PNG: a 720x360 RGB bar chart of the
 * combined score per control block, two bars per block (zeroed residual
 * blue, bypassed orange) and a grey bar for all blocks off, with a frame,
 * a zero line, horizontal grid lines labelled with their values, the block
 * numbers under the bars and a legend (lib/image/canvas.h draws).
 * Written whole or not at all (dc_cli_side_open).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/media.h"
#include "image/canvas.h"
#include "cli/cli.h"
#include "rs.h"

#define PW 720
#define PH 360
#define ML 64
#define MR 16
#define MT 36
#define MB 32

enum dc_status rs_chart(const char *path, const struct rs_row *rows, int n)
{
	static const unsigned char black[3] = { 0, 0, 0 },
	                           grid[3] = { 225, 225, 225 }, blue[3] = { 40, 90, 190 },
	                           orange[3] = { 235, 130, 30 }, grey[3] = { 120, 120, 120 },
	                           dark[3] = { 60, 60, 60 };
	static const unsigned char white[3] = { 255, 255, 255 };
	unsigned char *canvas = malloc((size_t)PW * PH * 3);
	if (!canvas)
		return dc_fail(DC_ENOMEM, "out of memory");
	struct dc_canvas c;
	dc_canvas_init(&c, canvas, PW, PH, white);
	double ymin = 0, ymax = 0;
	for (int r = 0; r < n; r++) {
		ymin = fmin(ymin, rows[r].score);
		ymax = fmax(ymax, rows[r].score);
	}
	if (!(ymax > ymin))
		ymax = ymin + 1;
	double pad = (ymax - ymin) * 0.05;
	ymax += pad;
	if (ymin < 0)
		ymin -= pad;
	int x0 = ML, x1 = PW - MR, y0 = MT, y1 = PH - MB;
#define YOF(v) (y1 - (int)lround(((v) - ymin) / (ymax - ymin) * (y1 - y0)))
	for (int g = 0; g <= 4; g++) {
		double v = ymin + (ymax - ymin) * g / 4.0;
		int y = YOF(v);
		dc_canvas_rect(&c, x0, y, x1, y, grid);
		char buf[32];
		snprintf(buf, sizeof buf, "%.3g", v);
		dc_canvas_text(&c, 4, y - 5, buf, grey);
	}
	/* groups: one per block (zero, bypass), then "all" */
	int nblk = 0;
	for (int r = 0; r < n; r++)
		if (rows[r].block + 1 > nblk)
			nblk = rows[r].block + 1;
	int groups = nblk + 1;
	double gw = (double)(x1 - x0) / groups;
	int bw = (int)(gw * 0.36);
	if (bw < 1)
		bw = 1;
	int yz = YOF(0.0);
	for (int r = 0; r < n; r++) {
		int gi = rows[r].block < 0 ? nblk : rows[r].block;
		int cx = x0 + (int)lround(gw * (gi + 0.5));
		int xa = rows[r].block < 0 ? cx - bw / 2 : rows[r].mode == 1 ? cx - bw : cx;
		const unsigned char *col = rows[r].block < 0 ? grey : rows[r].mode == 1 ? blue : orange;
		dc_canvas_rect(&c, xa, YOF(rows[r].score), xa + bw - 1, yz, col);
	}
	for (int gi = 0; gi < groups; gi++) {
		char buf[16];
		if (gi < nblk)
			snprintf(buf, sizeof buf, "%d", gi);
		else
			snprintf(buf, sizeof buf, "all");
		int cx = x0 + (int)lround(gw * (gi + 0.5));
		dc_canvas_text(&c, cx - (int)strlen(buf) * 4, y1 + 8, buf, dark);
	}
#undef YOF
	dc_canvas_rect(&c, x0, yz, x1, yz, black);
	dc_canvas_rect(&c, x0, y0, x1, y0, black);
	dc_canvas_rect(&c, x0, y1, x1, y1, black);
	dc_canvas_rect(&c, x0, y0, x0, y1, black);
	dc_canvas_rect(&c, x1, y0, x1, y1, black);
	/* legend */
	dc_canvas_rect(&c, x0, 12, x0 + 12, 24, blue);
	dc_canvas_text(&c, x0 + 18, 13, "zero", dark);
	dc_canvas_rect(&c, x0 + 70, 12, x0 + 82, 24, orange);
	dc_canvas_text(&c, x0 + 88, 13, "bypass", dark);
	dc_canvas_rect(&c, x0 + 156, 12, x0 + 168, 24, grey);
	dc_canvas_text(&c, x0 + 174, 13, "all zero", dark);
	dc_canvas_text(&c, x1 - 5 * 8, 13, "score", dark);

	struct dc_image img = { PW, PH, 3, 8, canvas };
	const char *txt[] = { "Software", "diffcore relevance-score", NULL };
	FILE *fp = dc_cli_side_open(path);
	enum dc_status st = dc_png_write(fp, &img, txt);
	free(canvas);
	if (st)
		return st;
	dc_cli_side_commit(fp);
	return DC_OK;
}
