/*
 * annot.c - the classical ControlNet annotators, each written after the
 * few numpy/cv2 lines of its reference (tests/golden/make_image.py holds
 * those lines and produced the golden files):
 *
 *   xdog     sd-webui scribble_xdog: g1 = blur(x, 0.5), g2 = blur(x, 5.0)
 *            (float32), dog = uint8(clip(255 - min_c(g2 - g1))), pixel on
 *            where uint8(2*(255 - dog)) > thr.  The product wraps modulo
 *            256 in numpy (uint8 arithmetic) and is reproduced.
 *   lineart  controlnet_aux lineart_standard: g = blur(x, sigma),
 *            I = clip(min_c(g - x), 0, 255), I /= max(16, median(I[I > t])),
 *            I *= 127, uint8(clip(I)).
 *   shuffle  ContentShuffleDetector: two make_noise_disk(H, W, 1, f) fields
 *            from numpy's MT19937 (np.random.seed(seed)), bicubic in
 *            float64, min-max normalised, times W-1 / H-1, float32, then
 *            cv2.remap(INTER_LINEAR, BORDER_CONSTANT 0) in OpenCV's fixed
 *            point (1/32 pixel steps, 15-bit weights).
 *   color    cv2.resize to (W/64, H/64) INTER_CUBIC, back with INTER_NEAREST.
 *   binary   RGB2GRAY, THRESH_BINARY_INV at t (t in {0,255}: Otsu).
 *   tile     resample: INTER_AREA to int(H/r) x int(W/r), INTER_LINEAR
 *            back; blur: Gaussian on float, rounded to nearest even.
 *   invert   255 - x.   mask: see struct dc_mask_spec.
 */
#pragma GCC optimize("fp-contract=off")

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

static enum dc_status need_rgb(const struct dc_image *s, const char *what)
{
	if (!s || !s->data || s->depth != 8 || s->channels != 3)
		return dc_fail(DC_EINVAL, "%s: need an 8-bit 3-channel image", what);
	return DC_OK;
}

static enum dc_status to_float(const struct dc_image *s, float **out)
{
	size_t n = (size_t)s->width * s->height * s->channels;
	float *f = dc_alloc(sizeof(float) * n);
	if (!f)
		return dc_fail(DC_ENOMEM, "out of memory");
	const uint8_t *p = s->data;
	for (size_t i = 0; i < n; i++)
		f[i] = p[i];
	*out = f;
	return DC_OK;
}

/* ---- XDoG ------------------------------------------------------------------ */

enum dc_status dc_annot_xdog(const struct dc_image *src, struct dc_image *dst, int thr)
{
	enum dc_status st;
	float *x = NULL, *g1 = NULL, *g2 = NULL;
	memset(dst, 0, sizeof *dst);
	if ((st = need_rgb(src, "scribble")))
		return st;
	int w = src->width, h = src->height;
	size_t n = (size_t)w * h;
	if ((st = to_float(src, &x)))
		return st;
	g1 = dc_alloc(sizeof(float) * n * 3);
	g2 = dc_alloc(sizeof(float) * n * 3);
	if (!g1 || !g2) {
		st = dc_fail(DC_ENOMEM, "scribble: out of memory");
		goto out;
	}
	if ((st = dc_gaussian_blur_f32(x, g1, w, h, 3, 0.5)) ||
	    (st = dc_gaussian_blur_f32(x, g2, w, h, 3, 5.0)) ||
	    (st = dc_image_alloc(dst, w, h, 3)))
		goto out;
	uint8_t *d = dst->data;
	for (size_t i = 0; i < n; i++) {
		float m = g2[3 * i] - g1[3 * i];
		for (int c = 1; c < 3; c++) {
			float v = g2[3 * i + c] - g1[3 * i + c];
			if (v < m)
				m = v;
		}
		float dog = 255 - m;
		dog = dog < 0 ? 0 : dog > 255 ? 255 : dog;
		uint8_t du = (uint8_t)dog;
		uint8_t v = (uint8_t)(2 * (uint8_t)(255 - du));
		uint8_t o = v > thr ? 255 : 0;
		d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = o;
	}
out:
	dc_free(x); dc_free(g1); dc_free(g2);
	return st;
}

/* ---- lineart_standard ------------------------------------------------------ */

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

enum dc_status dc_annot_lineart(const struct dc_image *src, struct dc_image *dst,
                                double sigma, double ithr)
{
	enum dc_status st;
	float *x = NULL, *g = NULL, *sel = NULL;
	memset(dst, 0, sizeof *dst);
	if ((st = need_rgb(src, "lineart")))
		return st;
	int w = src->width, h = src->height;
	size_t n = (size_t)w * h;
	if ((st = to_float(src, &x)))
		return st;
	g = dc_alloc(sizeof(float) * n * 3);
	sel = dc_alloc(sizeof(float) * n);
	if (!g || !sel) {
		st = dc_fail(DC_ENOMEM, "lineart: out of memory");
		goto out;
	}
	if ((st = dc_gaussian_blur_f32(x, g, w, h, 3, sigma)) ||
	    (st = dc_image_alloc(dst, w, h, 1)))
		goto out;
	/* intensity into x[0..n) */
	size_t ns = 0;
	float ft = (float)ithr;
	for (size_t i = 0; i < n; i++) {
		float m = g[3 * i] - x[3 * i];
		for (int c = 1; c < 3; c++) {
			float v = g[3 * i + c] - x[3 * i + c];
			if (v < m)
				m = v;
		}
		m = m < 0 ? 0 : m > 255 ? 255 : m;
		x[i] = m;
		if (m > ft)
			sel[ns++] = m;
	}
	float med = NAN;
	if (ns) {
		qsort(sel, ns, sizeof(float), cmp_float);
		if (ns & 1)
			med = sel[ns / 2];
		else
			med = (sel[ns / 2 - 1] + sel[ns / 2]) / 2.0f;
	}
	double den = (ns && med > 16) ? (double)med : 16.0;
	float fden = (float)den;
	uint8_t *d = dst->data;
	for (size_t i = 0; i < n; i++) {
		float v = x[i] / fden;
		v *= 127;
		v = v < 0 ? 0 : v > 255 ? 255 : v;
		d[i] = (uint8_t)v;
	}
out:
	dc_free(x); dc_free(g); dc_free(sel);
	if (st)
		dc_image_release(dst);
	return st;
}

/* ---- numpy MT19937 ----------------------------------------------------------- */

void dc_np_seed(uint32_t mt[625], uint32_t seed)
{
	mt[0] = seed;
	for (int i = 1; i < 624; i++)
		mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint32_t)i;
	mt[624] = 624;
}

static uint32_t mt_next(uint32_t mt[625])
{
	if (mt[624] >= 624) {
		for (int i = 0; i < 624; i++) {
			uint32_t y = (mt[i] & 0x80000000u) | (mt[(i + 1) % 624] & 0x7fffffffu);
			mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) ? 0x9908b0dfu : 0);
		}
		mt[624] = 0;
	}
	uint32_t y = mt[mt[624]++];
	y ^= y >> 11;
	y ^= (y << 7) & 0x9d2c5680u;
	y ^= (y << 15) & 0xefc60000u;
	y ^= y >> 18;
	return y;
}

void dc_np_uniform(uint32_t mt[625], double *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t a = mt_next(mt) >> 5, b = mt_next(mt) >> 6;
		out[i] = (a * 67108864.0 + b) / 9007199254740992.0;
	}
}

/* ---- content shuffle --------------------------------------------------------- */

static enum dc_status noise_disk(uint32_t mt[625], int h, int w, int f, float scale, float *out)
{
	int nh = h / f + 2, nw = w / f + 2;
	int bh = h + 2 * f, bw = w + 2 * f;
	size_t nb = (size_t)bh * bw;
	double *small = dc_alloc(sizeof(double) * (size_t)nh * nw);
	double *big = dc_alloc(sizeof(double) * nb);
	enum dc_status st = DC_OK;
	if (!small || !big) {
		st = dc_fail(DC_ENOMEM, "shuffle: out of memory");
		goto out;
	}
	dc_np_uniform(mt, small, (size_t)nh * nw);
	if ((st = dc_resize_cubic_f64(small, nw, nh, big, bw, bh)))
		goto out;
	double mn = INFINITY, mx;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double v = big[(size_t)(y + f) * bw + x + f];
			if (v < mn)
				mn = v;
		}
	mx = -INFINITY;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double *p = &big[(size_t)(y + f) * bw + x + f];
			*p -= mn;
			if (*p > mx)
				mx = *p;
		}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double v = big[(size_t)(y + f) * bw + x + f] / mx;
			out[(size_t)y * w + x] = (float)(v * (double)scale);
		}
out:
	dc_free(small);
	dc_free(big);
	return st;
}

enum dc_status dc_annot_shuffle(const struct dc_image *src, struct dc_image *dst, uint32_t seed, int f)
{
	enum dc_status st;
	memset(dst, 0, sizeof *dst);
	if ((st = need_rgb(src, "shuffle")))
		return st;
	if (f < 1)
		return dc_fail(DC_EINVAL, "shuffle: cell size %d < 1", f);
	int w = src->width, h = src->height, cn = 3;
	size_t n = (size_t)w * h;
	float *fx = dc_alloc(sizeof(float) * n), *fy = dc_alloc(sizeof(float) * n);
	uint32_t mt[625];
	if (!fx || !fy) {
		st = dc_fail(DC_ENOMEM, "shuffle: out of memory");
		goto out;
	}
	dc_np_seed(mt, seed);
	if ((st = noise_disk(mt, h, w, f, (float)(w - 1), fx)) ||
	    (st = noise_disk(mt, h, w, f, (float)(h - 1), fy)) ||
	    (st = dc_image_alloc(dst, w, h, 3)))
		goto out;
	const uint8_t *S = src->data;
	uint8_t *D = dst->data;
#pragma omp parallel for num_threads(dc_threads()) schedule(static)
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			size_t i = (size_t)y * w + x;
			int sx = (int)lrintf(fx[i] * 32.f), sy = (int)lrintf(fy[i] * 32.f);
			int ax = sx & 31, ay = sy & 31;
			sx >>= 5;
			sy >>= 5;
			/* OpenCV's bilinear table: exact multiples of 2^15/1024 */
			int w00 = (32 - ax) * (32 - ay) * 32, w01 = ax * (32 - ay) * 32;
			int w10 = (32 - ax) * ay * 32, w11 = ax * ay * 32;
			uint8_t *d = D + i * cn;
			for (int c = 0; c < cn; c++) {
				int v00 = 0, v01 = 0, v10 = 0, v11 = 0;
				if (sy >= 0 && sy < h) {
					if (sx >= 0 && sx < w) v00 = S[((size_t)sy * w + sx) * cn + c];
					if (sx + 1 >= 0 && sx + 1 < w) v01 = S[((size_t)sy * w + sx + 1) * cn + c];
				}
				if (sy + 1 >= 0 && sy + 1 < h) {
					if (sx >= 0 && sx < w) v10 = S[((size_t)(sy + 1) * w + sx) * cn + c];
					if (sx + 1 >= 0 && sx + 1 < w) v11 = S[((size_t)(sy + 1) * w + sx + 1) * cn + c];
				}
				int v = v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11;
				v = (v + (1 << 14)) >> 15;
				d[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
			}
		}
	}
out:
	dc_free(fx);
	dc_free(fy);
	if (st)
		dc_image_release(dst);
	return st;
}

/* ---- colour grid, binary, tile, invert --------------------------------------- */

enum dc_status dc_annot_color(const struct dc_image *src, struct dc_image *dst, int cell)
{
	enum dc_status st;
	struct dc_image small;
	memset(dst, 0, sizeof *dst);
	if (cell < 1)
		return dc_fail(DC_EINVAL, "color: cell size %d < 1", cell);
	if (src->width / cell < 1 || src->height / cell < 1)
		return dc_fail(DC_EINVAL, "color: a %dx%d image is smaller than one %d-pixel cell",
		               src->width, src->height, cell);
	if ((st = dc_image_resize(src, &small, src->width / cell, src->height / cell, DC_INTER_CUBIC)))
		return st;
	st = dc_image_resize(&small, dst, src->width, src->height, DC_INTER_NEAREST);
	dc_image_release(&small);
	return st;
}

enum dc_status dc_annot_binary(const struct dc_image *src, struct dc_image *dst, int thr, int *used)
{
	enum dc_status st;
	if ((st = dc_image_gray(src, dst)))
		return st;
	if (thr <= 0 || thr >= 255)
		thr = dc_otsu_threshold(dst);
	if (used)
		*used = thr;
	uint8_t *d = dst->data;
	size_t n = (size_t)dst->width * dst->height;
	for (size_t i = 0; i < n; i++)
		d[i] = d[i] > thr ? 0 : 255;
	return DC_OK;
}

enum dc_status dc_annot_tile_resample(const struct dc_image *src, struct dc_image *dst, double rate)
{
	enum dc_status st;
	struct dc_image small;
	memset(dst, 0, sizeof *dst);
	if (!(rate > 0))
		return dc_fail(DC_EINVAL, "tile: rate must be positive");
	if (rate < 1.1)
		return dc_image_resize(src, dst, src->width, src->height, DC_INTER_NEAREST);
	int h = (int)((double)src->height / rate), w = (int)((double)src->width / rate);
	if (h < 1 || w < 1)
		return dc_fail(DC_EINVAL, "tile: rate %g leaves no pixels of a %dx%d image",
		               rate, src->width, src->height);
	if ((st = dc_image_resize(src, &small, w, h, DC_INTER_AREA)))
		return st;
	st = dc_image_resize(&small, dst, src->width, src->height, DC_INTER_LINEAR);
	dc_image_release(&small);
	return st;
}

enum dc_status dc_annot_tile_blur(const struct dc_image *src, struct dc_image *dst, double sigma)
{
	enum dc_status st;
	float *x = NULL;
	memset(dst, 0, sizeof *dst);
	int w = src->width, h = src->height, c = src->channels;
	size_t n = (size_t)w * h * c;
	if ((st = to_float(src, &x)))
		return st;
	if ((st = dc_gaussian_blur_f32(x, x, w, h, c, sigma)) || (st = dc_image_alloc(dst, w, h, c))) {
		dc_free(x);
		return st;
	}
	uint8_t *d = dst->data;
	for (size_t i = 0; i < n; i++) {
		long v = lrintf(x[i]);
		d[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
	}
	dc_free(x);
	return DC_OK;
}

enum dc_status dc_annot_invert(const struct dc_image *src, struct dc_image *dst)
{
	enum dc_status st;
	if ((st = dc_image_alloc(dst, src->width, src->height, src->channels)))
		return st;
	size_t n = (size_t)src->width * src->height * src->channels;
	const uint8_t *s = src->data;
	uint8_t *d = dst->data;
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)(255 - s[i]);
	return DC_OK;
}

/* ---- inpainting mask ---------------------------------------------------------- */

enum dc_status dc_annot_mask(const struct dc_image *src, struct dc_image *dst,
                             const struct dc_mask_spec *m)
{
	enum dc_status st;
	memset(dst, 0, sizeof *dst);
	int w = src->width, h = src->height, c = src->channels;
	if (src->depth != 8)
		return dc_fail(DC_EUNSUPPORTED, "mask: need an 8-bit image");
	if (m->use_alpha && c != 2 && c != 4)
		return dc_fail(DC_EINVAL, "mask: the image has no alpha channel (use --key or --rect)");
	if ((st = dc_image_alloc(dst, w, h, 1)))
		return st;
	const uint8_t *s = src->data;
	uint8_t *d = dst->data;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			const uint8_t *p = s + ((size_t)y * w + x) * c;
			int on = 0;
			if (m->use_alpha && p[c - 1] < m->alpha_thr)
				on = 1;
			if (m->use_key) {
				int ok = 1;
				for (int k = 0; k < 3; k++) {
					int v = c >= 3 ? p[k] : p[0];
					if (abs(v - m->key[k]) > m->tol)
						ok = 0;
				}
				if (ok)
					on = 1;
			}
			for (int r = 0; r < m->nrect; r++) {
				const int *q = m->rect[r];
				if (x >= q[0] && y >= q[1] && (long)x < (long)q[0] + q[2] &&
				    (long)y < (long)q[1] + q[3])
					on = 1;
			}
			if (m->invert)
				on = !on;
			d[(size_t)y * w + x] = on ? 255 : 0;
		}
	return DC_OK;
}
