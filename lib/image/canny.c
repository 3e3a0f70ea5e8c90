/*
 * canny.c - cv2.Canny(img, low, high, apertureSize=3, L2gradient) of
 * OpenCV 4.6, pixel for pixel.
 *
 *  1. Sobel 3x3 in exact integers with BORDER_REPLICATE, per channel.
 *  2. Magnitude |dx|+|dy| (L1) or dx*dx+dy*dy (L2, no square root; the
 *     thresholds are then min(32767,t) squared); thresholds are floored and
 *     swapped when low > high.  With several channels each pixel takes the
 *     channel of largest magnitude, the first one on ties, and its dx, dy.
 *  3. Non-maximum suppression where m > low, magnitude 0 outside the image,
 *     tan(22.5) as 13573/2^15: horizontal keeps m > left && m >= right,
 *     vertical m > up && m >= down, diagonal strict on both sides.
 *  4. Kept pixels with m > high are seeds; hysteresis floods 8-connected
 *     through kept pixels with low < m <= high.  Output 255/0.
 *
 * Steps 1-3 run over rows in parallel; the flood is serial (its result does
 * not depend on visiting order).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

#define TG22 13573

/* Gradient of one row: magnitude (into mag, with a zero at each end),
 * and dx, dy of the winning channel. */
static void grad_row(const uint8_t *rm, const uint8_t *r0, const uint8_t *rp, int w, int cn,
                     int l2, int16_t *vs, int16_t *vd, int *mag, int16_t *gx, int16_t *gy)
{
	int n = w * cn;
	for (int e = 0; e < n; e++) {
		vs[cn + e] = (int16_t)(rm[e] + 2 * r0[e] + rp[e]);
		vd[cn + e] = (int16_t)(rp[e] - rm[e]);
	}
	/* replicate one pixel on each side */
	for (int c = 0; c < cn; c++) {
		vs[c] = vs[cn + c];
		vd[c] = vd[cn + c];
		vs[cn + n + c] = vs[n + c];
		vd[cn + n + c] = vd[n + c];
	}
	if (cn == 1) {
		/* separate loops so that each vectorises */
		for (int j = 0; j < w; j++) {
			gx[j] = (int16_t)(vs[j + 2] - vs[j]);
			gy[j] = (int16_t)(vd[j] + 2 * vd[j + 1] + vd[j + 2]);
		}
		if (l2)
			for (int j = 0; j < w; j++)
				mag[j] = gx[j] * gx[j] + gy[j] * gy[j];
		else
			for (int j = 0; j < w; j++)
				mag[j] = abs(gx[j]) + abs(gy[j]);
		return;
	}
	if (cn == 3 && !l2) {
		for (int j = 0; j < w; j++) {
			int e = 3 + j * 3;
			int dx0 = vs[e + 3] - vs[e - 3], dy0 = vd[e - 3] + 2 * vd[e] + vd[e + 3];
			int dx1 = vs[e + 4] - vs[e - 2], dy1 = vd[e - 2] + 2 * vd[e + 1] + vd[e + 4];
			int dx2 = vs[e + 5] - vs[e - 1], dy2 = vd[e - 1] + 2 * vd[e + 2] + vd[e + 5];
			int m0 = abs(dx0) + abs(dy0), m1 = abs(dx1) + abs(dy1), m2 = abs(dx2) + abs(dy2);
			int bx = dx0, by = dy0, bm = m0;
			bx = m1 > bm ? dx1 : bx; by = m1 > bm ? dy1 : by; bm = m1 > bm ? m1 : bm;
			bx = m2 > bm ? dx2 : bx; by = m2 > bm ? dy2 : by; bm = m2 > bm ? m2 : bm;
			gx[j] = (int16_t)bx;
			gy[j] = (int16_t)by;
			mag[j] = bm;
		}
		return;
	}
	for (int j = 0; j < w; j++) {
		int best = -1, bdx = 0, bdy = 0;
		for (int c = 0; c < cn; c++) {
			int e = cn + j * cn + c;
			int dx = vs[e + cn] - vs[e - cn];
			int dy = vd[e - cn] + 2 * vd[e] + vd[e + cn];
			int m = l2 ? dx * dx + dy * dy : abs(dx) + abs(dy);
			if (m > best) {
				best = m;
				bdx = dx;
				bdy = dy;
			}
		}
		gx[j] = (int16_t)bdx;
		gy[j] = (int16_t)bdy;
		mag[j] = best;
	}
}

enum dc_status dc_canny(const struct dc_image *src, struct dc_image *dst,
                        double low, double high, int l2)
{
	enum dc_status st;
	memset(dst, 0, sizeof *dst);
	if (!src || !src->data || src->depth != 8 || src->channels < 1 || src->channels > 4)
		return dc_fail(DC_EINVAL, "canny: need an 8-bit image with 1 to 4 channels");
	if (isnan(low) || isnan(high))
		return dc_fail(DC_EINVAL, "canny: threshold is NaN");
	if (low > high) {
		double t = low;
		low = high;
		high = t;
	}
	if (l2) {
		low = low < 32767.0 ? low : 32767.0;
		high = high < 32767.0 ? high : 32767.0;
		if (low > 0)
			low *= low;
		if (high > 0)
			high *= high;
	}
	/* clamp to int range before flooring (values beyond any magnitude behave alike) */
	low = low < -1e9 ? -1e9 : low > 1e9 ? 1e9 : low;
	high = high < -1e9 ? -1e9 : high > 1e9 ? 1e9 : high;
	const int lo = (int)floor(low), hi = (int)floor(high);

	const int w = src->width, h = src->height, cn = src->channels;
	const size_t mw = (size_t)w + 2;
	size_t npix, nmag;
	if (dc_mul_size((size_t)w, (size_t)h, &npix) || dc_mul_size(mw, (size_t)h + 2, &nmag))
		return dc_fail(DC_EOVERFLOW, "canny: image too large");
	if ((st = dc_image_alloc(dst, w, h, 1)))
		return st;
	int *mag = dc_alloc(nmag * sizeof(int));
	int16_t *gx = dc_alloc(npix * sizeof(int16_t));
	int16_t *gy = dc_alloc(npix * sizeof(int16_t));
	uint8_t *map = dc_alloc(nmag);
	size_t *stack = NULL;
	if (!mag || !gx || !gy || !map) {
		st = dc_fail(DC_ENOMEM, "canny: out of memory for a %dx%d image", w, h);
		goto out;
	}
	memset(mag, 0, mw * sizeof(int));
	memset(mag + (size_t)(h + 1) * mw, 0, mw * sizeof(int));
	for (int i = 1; i <= h; i++)
		mag[(size_t)i * mw] = mag[(size_t)i * mw + w + 1] = 0;
	const uint8_t *S = src->data;
	const size_t rs = (size_t)w * cn;
	int fail = 0;

#pragma omp parallel num_threads(dc_threads())
	{
		int16_t *vs = dc_alloc(sizeof(int16_t) * (rs + 2 * (size_t)cn));
		int16_t *vd = dc_alloc(sizeof(int16_t) * (rs + 2 * (size_t)cn));
		if (!vs || !vd) {
#pragma omp atomic write
			fail = 1;
		}
#pragma omp for schedule(dynamic, 32)
		for (int i = 0; i < h; i++) {
			if (!vs || !vd)
				continue;
			const uint8_t *rm = S + (size_t)(i > 0 ? i - 1 : 0) * rs;
			const uint8_t *r0 = S + (size_t)i * rs;
			const uint8_t *rp = S + (size_t)(i < h - 1 ? i + 1 : h - 1) * rs;
			grad_row(rm, r0, rp, w, cn, l2, vs, vd, mag + (size_t)(i + 1) * mw + 1,
			         gx + (size_t)i * w, gy + (size_t)i * w);
		}
		dc_free(vs);
		dc_free(vd);
	}
	if (fail) {
		st = dc_fail(DC_ENOMEM, "canny: out of memory");
		goto out;
	}

	/* non-maximum suppression: 1 = not an edge, 0 = weak, 2 = strong */
	memset(map, 1, mw);
	memset(map + (size_t)(h + 1) * mw, 1, mw);
#pragma omp parallel for num_threads(dc_threads()) schedule(dynamic, 32)
	for (int i = 0; i < h; i++) {
		const int *ma = mag + (size_t)(i + 1) * mw + 1;
		const int *mp = ma - mw, *mn = ma + mw;
		const int16_t *rx = gx + (size_t)i * w, *ry = gy + (size_t)i * w;
		uint8_t *mr = map + (size_t)(i + 1) * mw + 1;
		mr[-1] = 1;
		mr[w] = 1;
		for (int j = 0; j < w; j++) {
			int m = ma[j];
			uint8_t v = 1;
			if (m > lo) {
				int xs = rx[j], ys = ry[j];
				int x = abs(xs);
				int y = abs(ys) << 15;
				int tg22x = x * TG22;
				int keep;
				if (y < tg22x) {
					keep = m > ma[j - 1] && m >= ma[j + 1];
				} else {
					int tg67x = tg22x + (x << 16);
					if (y > tg67x) {
						keep = m > mp[j] && m >= mn[j];
					} else {
						int s = (xs ^ ys) < 0 ? -1 : 1;
						keep = m > mp[j - s] && m > mn[j + s];
					}
				}
				if (keep)
					v = m > hi ? 2 : 0;
			}
			mr[j] = v;
		}
	}

	/* hysteresis */
	size_t cap = 1024, top = 0;
	if (!(stack = dc_alloc(cap * sizeof *stack))) {
		st = dc_fail(DC_ENOMEM, "canny: out of memory");
		goto out;
	}
	const ptrdiff_t nb[8] = { -(ptrdiff_t)mw - 1, -(ptrdiff_t)mw, -(ptrdiff_t)mw + 1, -1, 1,
	                          (ptrdiff_t)mw - 1, (ptrdiff_t)mw, (ptrdiff_t)mw + 1 };
	for (size_t p = mw; p < nmag - mw; p++) {
		if (map[p] != 2)
			continue;
		if (top == cap) {
			size_t *ns = dc_alloc(cap * 2 * sizeof *stack);
			if (!ns) {
				st = dc_fail(DC_ENOMEM, "canny: out of memory");
				goto out;
			}
			memcpy(ns, stack, cap * sizeof *stack);
			dc_free(stack);
			stack = ns;
			cap *= 2;
		}
		stack[top++] = p;
		while (top) {
			size_t q = stack[--top];
			for (int k = 0; k < 8; k++) {
				size_t r = (size_t)((ptrdiff_t)q + nb[k]);
				if (map[r] == 0) {
					map[r] = 2;
					if (top == cap) {
						size_t *ns = dc_alloc(cap * 2 * sizeof *stack);
						if (!ns) {
							st = dc_fail(DC_ENOMEM, "canny: out of memory");
							goto out;
						}
						memcpy(ns, stack, cap * sizeof *stack);
						dc_free(stack);
						stack = ns;
						cap *= 2;
					}
					stack[top++] = r;
				}
			}
		}
		map[p] = 3;   /* seed done */
	}
	uint8_t *D = dst->data;
#pragma omp parallel for num_threads(dc_threads()) schedule(dynamic, 32)
	for (int i = 0; i < h; i++) {
		const uint8_t *mr = map + (size_t)(i + 1) * mw + 1;
		uint8_t *dr = D + (size_t)i * w;
		for (int j = 0; j < w; j++)
			dr[j] = mr[j] >= 2 ? 255 : 0;
	}
	st = DC_OK;
out:
	dc_free(mag);
	dc_free(gx);
	dc_free(gy);
	dc_free(map);
	dc_free(stack);
	if (st)
		dc_image_release(dst);
	return st;
}
