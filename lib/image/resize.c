/*
 * resize.c - cv2.resize for 8-bit images, reproducing OpenCV 4.6's CPU
 * code path (no IPP, no OpenCL) so that results agree bit for bit:
 *
 *   NEAREST   sx = min(floor(dx * sw/dw), sw-1)
 *   LINEAR    separable, 11-bit fixed-point coefficients, horizontal sums in
 *             int; the vertical pass uses OpenCV's SIMD formula
 *             ((S0>>4)*b0>>16 + (S1>>4)*b1>>16 + 2) >> 2 for every element
 *             (measured: Debian's build rounds the row tails this way too,
 *             not with the scalar (b0*S0 + b1*S1 + 2^21) >> 22)
 *   CUBIC     A = -0.75, same fixed point; vertical pass of 8-element groups
 *             in float (OpenCV's VResizeCubicVec_32s8u), remainder scalar
 *   LANCZOS4  8 taps, fixed point, scalar vertical pass
 *   AREA      downscale: integer factors sum the cell (2x2: (s+2)>>2, else
 *             float s*(1/area) rounded to even); other factors use the float
 *             pixel-area weights of computeResizeAreaTab.  Upscaling in
 *             either axis: bilinear with the "area" coefficients.
 * Coordinates follow OpenCV: fx = (dx+0.5)*scale - 0.5 in double, cast to
 * float; borders replicate.  Float expressions are written out in
 * OpenCV's evaluation order and this file is compiled without FP
 * contraction so that no FMA changes a rounding.
 */
#pragma GCC optimize("fp-contract=off")

#include <math.h>
#include <string.h>

#include "image.h"

#define COEF_BITS 11
#define COEF_SCALE (1 << COEF_BITS)

static inline uint8_t sat_u8(int v)
{
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static inline int cv_floor(double x)
{
	int i = (int)x;
	return i - (i > x);
}

static inline short sat_s16f(float v)
{
	long r = lrintf(v);
	return (short)(r < -32768 ? -32768 : r > 32767 ? 32767 : r);
}

enum dc_status dc_image_alloc(struct dc_image *img, int w, int h, int c)
{
	size_t n;
	memset(img, 0, sizeof *img);
	if (w <= 0 || h <= 0 || c <= 0 || c > 4)
		return dc_fail(DC_EINVAL, "invalid image size %dx%dx%d", w, h, c);
	if (dc_mul_size((size_t)w, (size_t)h, &n) || dc_mul_size(n, (size_t)c, &n))
		return dc_fail(DC_EOVERFLOW, "image size %dx%dx%d overflows", w, h, c);
	if (!(img->data = dc_alloc(n)))
		return dc_fail(DC_ENOMEM, "cannot allocate a %dx%dx%d image", w, h, c);
	img->width = w;
	img->height = h;
	img->channels = c;
	img->depth = 8;
	return DC_OK;
}

/* ---- nearest ------------------------------------------------------------- */

static void resize_nn(const struct dc_image *s, struct dc_image *d)
{
	int cn = s->channels, sw = s->width, sh = s->height, dw = d->width, dh = d->height;
	double ifx = 1.0 / ((double)dw / sw), ify = 1.0 / ((double)dh / sh);
	int *xo = dc_alloc(sizeof(int) * (size_t)dw);
	if (!xo)
		return;
	for (int x = 0; x < dw; x++) {
		int sx = cv_floor(x * ifx);
		xo[x] = (sx < sw - 1 ? sx : sw - 1) * cn;
	}
	const uint8_t *S = s->data;
	uint8_t *D = d->data;
#pragma omp parallel for num_threads(dc_threads()) schedule(static)
	for (int y = 0; y < dh; y++) {
		int sy = cv_floor(y * ify);
		if (sy > sh - 1)
			sy = sh - 1;
		const uint8_t *sr = S + (size_t)sy * sw * cn;
		uint8_t *dr = D + (size_t)y * dw * cn;
		for (int x = 0; x < dw; x++)
			for (int k = 0; k < cn; k++)
				dr[x * cn + k] = sr[xo[x] + k];
	}
	dc_free(xo);
}

/* ---- area, integer factors ------------------------------------------------ */

static void resize_area_fast(const struct dc_image *s, struct dc_image *d, int scx, int scy)
{
	int cn = s->channels, sw = s->width * cn, sh = s->height, dwe = d->width * cn, dh = d->height;
	int area = scx * scy;
	float scale = 1.f / (float)area;
	int dwidth1 = (s->width / scx) * cn;
	int fast2 = scx == 2 && scy == 2 && (cn == 1 || cn == 3 || cn == 4);
	const uint8_t *S = s->data;
	uint8_t *D = d->data;
#pragma omp parallel for num_threads(dc_threads()) schedule(static)
	for (int dy = 0; dy < dh; dy++) {
		uint8_t *dr = D + (size_t)dy * dwe;
		int sy0 = dy * scy;
		int w = sy0 + scy <= sh ? dwidth1 : 0;
		if (sy0 >= sh) {
			memset(dr, 0, (size_t)dwe);
			continue;
		}
		const uint8_t *r0 = S + (size_t)sy0 * sw;
		int dx = 0;
		if (fast2) {
			const uint8_t *r1 = r0 + sw;
			for (; dx < w; dx++) {
				int c = dx % cn, px = dx / cn;
				int i = px * 2 * cn + c;
				dr[dx] = (uint8_t)((r0[i] + r0[i + cn] + r1[i] + r1[i + cn] + 2) >> 2);
			}
		}
		for (; dx < w; dx++) {
			int c = dx % cn, px = dx / cn;
			int sum = 0;
			for (int yy = 0; yy < scy; yy++) {
				const uint8_t *p = r0 + (size_t)yy * sw + px * scx * cn + c;
				for (int xx = 0; xx < scx; xx++)
					sum += p[xx * cn];
			}
			dr[dx] = sat_u8((int)lrintf((float)sum * scale));
		}
		for (; dx < dwe; dx++) {
			int c = dx % cn, px = dx / cn;
			int sx0 = px * scx * cn + c, sum = 0, count = 0;
			for (int yy = 0; yy < scy && sy0 + yy < sh; yy++)
				for (int xx = 0; xx < scx * cn; xx += cn) {
					if (sx0 + xx >= sw)
						break;
					sum += S[(size_t)(sy0 + yy) * sw + sx0 + xx];
					count++;
				}
			dr[dx] = count ? sat_u8((int)lrintf((float)sum / (float)count)) : 0;
		}
	}
}

/* ---- area, general factors ------------------------------------------------ */

struct area_tab { int di, si; float alpha; };

static int area_table(int ssize, int dsize, int cn, double scale, struct area_tab *tab)
{
	int k = 0;
	for (int dx = 0; dx < dsize; dx++) {
		double fsx1 = dx * scale, fsx2 = fsx1 + scale;
		double cell = scale < ssize - fsx1 ? scale : ssize - fsx1;
		int sx1 = (int)ceil(fsx1), sx2 = cv_floor(fsx2);
		if (sx2 > ssize - 1)
			sx2 = ssize - 1;
		if (sx1 > sx2)
			sx1 = sx2;
		if (sx1 - fsx1 > 1e-3) {
			tab[k].di = dx * cn;
			tab[k].si = (sx1 - 1) * cn;
			tab[k++].alpha = (float)((sx1 - fsx1) / cell);
		}
		for (int sx = sx1; sx < sx2; sx++) {
			tab[k].di = dx * cn;
			tab[k].si = sx * cn;
			tab[k++].alpha = (float)(1.0 / cell);
		}
		if (fsx2 - sx2 > 1e-3) {
			double a = fsx2 - sx2 < 1. ? fsx2 - sx2 : 1.;
			if (a > cell)
				a = cell;
			tab[k].di = dx * cn;
			tab[k].si = sx2 * cn;
			tab[k++].alpha = (float)(a / cell);
		}
	}
	return k;
}

static enum dc_status resize_area(const struct dc_image *s, struct dc_image *d,
                                  double scx, double scy)
{
	int cn = s->channels, sw = s->width, sh = s->height, dw = d->width, dh = d->height;
	struct area_tab *xt = dc_alloc(sizeof *xt * ((size_t)sw * 2 + 2));
	struct area_tab *yt = dc_alloc(sizeof *yt * ((size_t)sh * 2 + 2));
	int *yofs = dc_alloc(sizeof(int) * ((size_t)dh + 1));
	if (!xt || !yt || !yofs) {
		dc_free(xt); dc_free(yt); dc_free(yofs);
		return dc_fail(DC_ENOMEM, "resize: out of memory");
	}
	int nx = area_table(sw, dw, cn, scx, xt);
	int ny = area_table(sh, dh, 1, scy, yt);
	/* first table entry of each destination row */
	for (int k = 0, dy = 0; k < ny; k++)
		if (k == 0 || yt[k - 1].di != yt[k].di)
			yofs[dy++] = k;
	yofs[dh] = ny;
	int dwe = dw * cn;
	const uint8_t *S = s->data;
	uint8_t *D = d->data;
	int fail = 0;
#pragma omp parallel num_threads(dc_threads())
	{
		float *buf = dc_alloc(sizeof(float) * (size_t)dwe * 2);
		if (!buf) {
#pragma omp atomic write
			fail = 1;
		}
#pragma omp for schedule(static)
		for (int dy = 0; dy < dh; dy++) {
			if (!buf)
				continue;
			float *b = buf, *sum = buf + dwe;
			for (int x = 0; x < dwe; x++)
				sum[x] = 0;
			for (int j = yofs[dy]; j < yofs[dy + 1]; j++) {
				float beta = yt[j].alpha;
				const uint8_t *sr = S + (size_t)yt[j].si * sw * cn;
				for (int x = 0; x < dwe; x++)
					b[x] = 0;
				if (cn == 1) {
					for (int k = 0; k < nx; k++)
						b[xt[k].di] += sr[xt[k].si] * xt[k].alpha;
				} else {
					for (int k = 0; k < nx; k++) {
						int si = xt[k].si, di = xt[k].di;
						float a = xt[k].alpha;
						for (int c = 0; c < cn; c++)
							b[di + c] = b[di + c] + sr[si + c] * a;
					}
				}
				if (j == yofs[dy])
					for (int x = 0; x < dwe; x++)
						sum[x] = beta * b[x];
				else
					for (int x = 0; x < dwe; x++)
						sum[x] += beta * b[x];
			}
			uint8_t *dr = D + (size_t)dy * dwe;
			for (int x = 0; x < dwe; x++)
				dr[x] = sat_u8((int)lrintf(sum[x]));
		}
		dc_free(buf);
	}
	dc_free(xt); dc_free(yt); dc_free(yofs);
	if (fail)
		return dc_fail(DC_ENOMEM, "resize: out of memory");
	return DC_OK;
}

/* ---- interpolation coefficients ----------------------------------------- */

static void coef_cubic(float x, float *c)
{
	const float A = -0.75f;
	c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
	c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
	c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
	c[3] = 1.f - c[0] - c[1] - c[2];
}

static void coef_lanczos4(float x, float *c)
{
	static const double s45 = 0.70710678118654752440084436210485;
	static const double cs[][2] = {
		{ 1, 0 }, { -s45, -s45 }, { 0, 1 }, { s45, -s45 },
		{ -1, 0 }, { s45, s45 }, { 0, -1 }, { -s45, s45 } };
	const double pi = 3.1415926535897932384626433832795;
	float sum = 0;
	double y0 = -(x + 3) * pi * 0.25, s0 = sin(y0), c0 = cos(y0);
	for (int i = 0; i < 8; i++) {
		float y0_ = (x + 3 - i);
		if (fabsf(y0_) >= 1e-6f) {
			double y = -y0_ * pi * 0.25;
			c[i] = (float)((cs[i][0] * s0 + cs[i][1] * c0) / (y * y));
		} else {
			c[i] = 1e30f;
		}
		sum += c[i];
	}
	sum = 1.f / sum;
	for (int i = 0; i < 8; i++)
		c[i] *= sum;
}

/* Source offset and fractional part along one axis, as OpenCV computes them. */
static void axis_pos(int d, double scale, double inv_scale, int area_mode, int *s, float *f)
{
	if (!area_mode) {
		float fx = (float)((d + 0.5) * scale - 0.5);
		int sx = cv_floor(fx);
		*s = sx;
		*f = fx - sx;
	} else {
		int sx = cv_floor(d * scale);
		float fx = (float)((d + 1) - (sx + 1) * inv_scale);
		fx = fx <= 0 ? 0.f : fx - cv_floor(fx);
		*s = sx;
		*f = fx;
	}
}

static void make_coefs(int interp, float f, short *out, int ksize)
{
	float cb[8];
	if (interp == DC_INTER_CUBIC)
		coef_cubic(f, cb);
	else if (interp == DC_INTER_LANCZOS4)
		coef_lanczos4(f, cb);
	else {
		cb[0] = 1.f - f;
		cb[1] = f;
	}
	for (int k = 0; k < ksize; k++)
		out[k] = sat_s16f(cb[k] * COEF_SCALE);
}

/* ---- generic separable resize (LINEAR / CUBIC / LANCZOS4 / upscaling AREA) */

static enum dc_status resize_generic(const struct dc_image *s, struct dc_image *d, int interp,
                                     double scx, double scy, double iscx, double iscy)
{
	int cn = s->channels, sw = s->width, sh = s->height, dw = d->width, dh = d->height;
	int area_mode = interp == DC_INTER_AREA;
	int ksize = interp == DC_INTER_CUBIC ? 4 : interp == DC_INTER_LANCZOS4 ? 8 : 2;
	int ksize2 = ksize / 2;
	int dwe = dw * cn;
	size_t nx = (size_t)dw * ksize, ny = (size_t)dh * ksize;
	int *xidx = dc_alloc(sizeof(int) * nx);       /* clamped source pixel per tap */
	short *alpha = dc_alloc(sizeof(short) * nx);
	int *yofs = dc_alloc(sizeof(int) * (size_t)dh);
	short *beta = dc_alloc(sizeof(short) * ny);
	if (!xidx || !alpha || !yofs || !beta) {
		dc_free(xidx); dc_free(alpha); dc_free(yofs); dc_free(beta);
		return dc_fail(DC_ENOMEM, "resize: out of memory");
	}
	for (int dx = 0; dx < dw; dx++) {
		int sx;
		float fx;
		axis_pos(dx, scx, iscx, area_mode, &sx, &fx);
		if (ksize == 2) {
			if (sx < 0)
				fx = 0, sx = 0;
			if (sx >= sw - 1)
				fx = 0, sx = sw - 1;
		}
		make_coefs(interp, fx, alpha + (size_t)dx * ksize, ksize);
		for (int k = 0; k < ksize; k++) {
			int p = sx - ksize2 + 1 + k;
			xidx[(size_t)dx * ksize + k] = p < 0 ? 0 : p >= sw ? sw - 1 : p;
		}
	}
	for (int dy = 0; dy < dh; dy++) {
		int sy;
		float fy;
		axis_pos(dy, scy, iscy, area_mode, &sy, &fy);
		yofs[dy] = sy;
		make_coefs(interp, fy, beta + (size_t)dy * ksize, ksize);
	}
	const uint8_t *S = s->data;
	uint8_t *D = d->data;
	int fail = 0;
#pragma omp parallel num_threads(dc_threads())
	{
		int *rows = dc_alloc(sizeof(int) * (size_t)dwe * ksize);
		int rowid[8];
		for (int k = 0; k < 8; k++)
			rowid[k] = -1;
		if (!rows) {
#pragma omp atomic write
			fail = 1;
		}
#pragma omp for schedule(static)
		for (int dy = 0; dy < dh; dy++) {
			if (!rows)
				continue;
			const int *bufs[8];
			/* horizontal pass of the ksize source rows (cached by row id) */
			for (int k = 0; k < ksize; k++) {
				int sy = yofs[dy] - ksize2 + 1 + k;
				sy = sy < 0 ? 0 : sy >= sh ? sh - 1 : sy;
				int slot = -1;
				for (int j = 0; j < ksize; j++)
					if (rowid[j] == sy) { slot = j; break; }
				if (slot < 0) {
					/* take a slot not used by this output row */
					for (int j = 0; j < ksize && slot < 0; j++) {
						int used = 0;
						for (int q = 0; q < ksize; q++) {
							int y2 = yofs[dy] - ksize2 + 1 + q;
							y2 = y2 < 0 ? 0 : y2 >= sh ? sh - 1 : y2;
							if (rowid[j] == y2) used = 1;
						}
						if (!used) slot = j;
					}
					rowid[slot] = sy;
					int *B = rows + (size_t)slot * dwe;
					const uint8_t *sr = S + (size_t)sy * sw * cn;
					for (int dx = 0; dx < dw; dx++) {
						const int *xi = xidx + (size_t)dx * ksize;
						const short *a = alpha + (size_t)dx * ksize;
						for (int c = 0; c < cn; c++) {
							int v = 0;
							for (int t = 0; t < ksize; t++)
								v += sr[xi[t] * cn + c] * a[t];
							B[dx * cn + c] = v;
						}
					}
				}
				bufs[k] = rows + (size_t)slot * dwe;
			}
			const short *b = beta + (size_t)dy * ksize;
			uint8_t *dr = D + (size_t)dy * dwe;
			int x = 0;
			if (ksize == 2) {
				const int *S0 = bufs[0], *S1 = bufs[1];
				int vec = dwe;   /* Debian 4.6 rounds every element this way */
				for (; x < vec; x++) {
					int a0 = S0[x] >> 4, a1 = S1[x] >> 4;
					a0 = a0 > 32767 ? 32767 : a0 < -32768 ? -32768 : a0;
					a1 = a1 > 32767 ? 32767 : a1 < -32768 ? -32768 : a1;
					int v = ((a0 * b[0]) >> 16) + ((a1 * b[1]) >> 16);
					dr[x] = sat_u8((v + 2) >> 2);
				}
				for (; x < dwe; x++)
					dr[x] = sat_u8((S0[x] * b[0] + S1[x] * b[1] + (1 << 21)) >> 22);
			} else if (ksize == 4) {
				const float scale = 1.f / (COEF_SCALE * COEF_SCALE);
				float f0 = b[0] * scale, f1 = b[1] * scale, f2 = b[2] * scale, f3 = b[3] * scale;
				const int *S0 = bufs[0], *S1 = bufs[1], *S2 = bufs[2], *S3 = bufs[3];
				int vec = dwe - dwe % 8;
				for (; x < vec; x++) {
					float t = (float)S3[x] * f3;
					t = (float)S2[x] * f2 + t;
					t = (float)S1[x] * f1 + t;
					t = (float)S0[x] * f0 + t;
					long r = lrintf(t);
					r = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
					dr[x] = sat_u8((int)r);
				}
				for (; x < dwe; x++)
					dr[x] = sat_u8((S0[x] * b[0] + S1[x] * b[1] + S2[x] * b[2] +
					                S3[x] * b[3] + (1 << 21)) >> 22);
			} else {
				for (; x < dwe; x++) {
					int v = 0;
					for (int k = 0; k < 8; k++)
						v += bufs[k][x] * b[k];
					dr[x] = sat_u8((v + (1 << 21)) >> 22);
				}
			}
		}
		dc_free(rows);
	}
	dc_free(xidx); dc_free(alpha); dc_free(yofs); dc_free(beta);
	if (fail)
		return dc_fail(DC_ENOMEM, "resize: out of memory");
	return DC_OK;
}

enum dc_status dc_image_resize(const struct dc_image *src, struct dc_image *dst,
                               int w, int h, enum dc_interp interp)
{
	enum dc_status st;
	memset(dst, 0, sizeof *dst);
	if (!src || !src->data || src->depth != 8 || src->channels < 1 || src->channels > 4)
		return dc_fail(DC_EINVAL, "resize: need an 8-bit image with 1 to 4 channels");
	if (w <= 0 || h <= 0 || w > DC_IMAGE_MAX_DIM || h > DC_IMAGE_MAX_DIM)
		return dc_fail(DC_EINVAL, "resize: invalid target size %dx%d", w, h);
	if ((unsigned)interp > DC_INTER_LANCZOS4)
		return dc_fail(DC_EINVAL, "resize: unknown interpolation %d", (int)interp);
	if ((st = dc_image_alloc(dst, w, h, src->channels)))
		return st;
	if (w == src->width && h == src->height) {
		memcpy(dst->data, src->data, (size_t)w * h * src->channels);
		return DC_OK;
	}
	double iscx = (double)w / src->width, iscy = (double)h / src->height;
	double scx = 1. / iscx, scy = 1. / iscy;
	if (interp == DC_INTER_NEAREST) {
		resize_nn(src, dst);
		return DC_OK;
	}
	int iscale_x = (int)lrint(scx), iscale_y = (int)lrint(scy);
	int area_fast = fabs(scx - iscale_x) < 2.220446049250313e-16 &&
	                fabs(scy - iscale_y) < 2.220446049250313e-16;
	if (interp == DC_INTER_LINEAR && area_fast && iscale_x == 2 && iscale_y == 2)
		interp = DC_INTER_AREA;
	if (interp == DC_INTER_AREA && scx >= 1 && scy >= 1) {
		if (area_fast) {
			resize_area_fast(src, dst, iscale_x, iscale_y);
			return DC_OK;
		}
		st = resize_area(src, dst, scx, scy);
	} else {
		st = resize_generic(src, dst, interp, scx, scy, iscx, iscy);
	}
	if (st)
		dc_image_release(dst);
	return st;
}

/* ---- double-precision bicubic (for the shuffle noise) --------------------- */

/* cv2.resize(float64 1-channel, INTER_CUBIC): float coefficients, double
 * sums, OpenCV's summation order. */
enum dc_status dc_resize_cubic_f64(const double *src, int sw, int sh, double *dst, int dw, int dh)
{
	double iscx = (double)dw / sw, iscy = (double)dh / sh, scx = 1. / iscx, scy = 1. / iscy;
	int *xi = dc_alloc(sizeof(int) * (size_t)dw * 4);
	float *al = dc_alloc(sizeof(float) * (size_t)dw * 4);
	double *rows = dc_alloc(sizeof(double) * (size_t)dw * 4);
	if (!xi || !al || !rows) {
		dc_free(xi); dc_free(al); dc_free(rows);
		return dc_fail(DC_ENOMEM, "resize: out of memory");
	}
	for (int dx = 0; dx < dw; dx++) {
		int sx;
		float fx;
		axis_pos(dx, scx, iscx, 0, &sx, &fx);
		coef_cubic(fx, al + (size_t)dx * 4);
		for (int k = 0; k < 4; k++) {
			int p = sx - 1 + k;
			xi[dx * 4 + k] = p < 0 ? 0 : p >= sw ? sw - 1 : p;
		}
	}
	for (int dy = 0; dy < dh; dy++) {
		int sy;
		float fy, b[4];
		axis_pos(dy, scy, iscy, 0, &sy, &fy);
		coef_cubic(fy, b);
		for (int k = 0; k < 4; k++) {
			int y = sy - 1 + k;
			y = y < 0 ? 0 : y >= sh ? sh - 1 : y;
			const double *sr = src + (size_t)y * sw;
			double *B = rows + (size_t)k * dw;
			for (int dx = 0; dx < dw; dx++) {
				const int *x4 = xi + dx * 4;
				const float *a = al + dx * 4;
				B[dx] = sr[x4[0]] * a[0] + sr[x4[1]] * a[1] + sr[x4[2]] * a[2] + sr[x4[3]] * a[3];
			}
		}
		double *dr = dst + (size_t)dy * dw;
		for (int dx = 0; dx < dw; dx++)
			dr[dx] = rows[dx] * b[0] + rows[dw + dx] * b[1] + rows[2 * dw + dx] * b[2] +
			         rows[3 * dw + dx] * b[3];
	}
	dc_free(xi); dc_free(al); dc_free(rows);
	return DC_OK;
}

/* ---- resize_image() and HWC3() ------------------------------------------- */

enum dc_status dc_resolution_size(int w, int h, int res, int *ow, int *oh, enum dc_interp *interp)
{
	if (w <= 0 || h <= 0 || res <= 0)
		return dc_fail(DC_EINVAL, "invalid size %dx%d for resolution %d", w, h, res);
	double k = (double)res / (double)(h < w ? h : w);
	double H = h * k, W = w * k;
	double rh = rint(H / 64.0) * 64, rw = rint(W / 64.0) * 64;
	if (rh < 64 || rw < 64 || rh > DC_IMAGE_MAX_DIM || rw > DC_IMAGE_MAX_DIM ||
	    rh * rw > (double)DC_IMAGE_MAX_PIXELS)
		return dc_fail(DC_EINVAL, "resolution %d gives an invalid size %.0fx%.0f for a %dx%d image",
		               res, rw, rh, w, h);
	*oh = (int)rh;
	*ow = (int)rw;
	if (interp)
		*interp = k > 1 ? DC_INTER_LANCZOS4 : DC_INTER_AREA;
	return DC_OK;
}

enum dc_status dc_image_hwc3(const struct dc_image *src, struct dc_image *dst)
{
	enum dc_status st;
	memset(dst, 0, sizeof *dst);
	if (src->depth != 8)
		return dc_fail(DC_EUNSUPPORTED, "%d-bit samples are not supported (the annotators take 8-bit images; convert first)",
		               src->depth);
	if (src->channels < 1 || src->channels > 4)
		return dc_fail(DC_EINVAL, "%d channels not supported", src->channels);
	if ((st = dc_image_alloc(dst, src->width, src->height, 3)))
		return st;
	size_t n = (size_t)src->width * src->height;
	const uint8_t *s = src->data;
	uint8_t *d = dst->data;
	int c = src->channels;
#pragma omp parallel for num_threads(dc_threads()) schedule(static)
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = s + i * c;
		uint8_t *q = d + i * 3;
		if (c == 1 || c == 2) {
			if (c == 1) {
				q[0] = q[1] = q[2] = p[0];
			} else {
				float a = p[1] / 255.0f;
				float v = p[0] * a + 255.0f * (1.0f - a);
				v = v < 0 ? 0 : v > 255 ? 255 : v;
				q[0] = q[1] = q[2] = (uint8_t)v;
			}
		} else if (c == 3) {
			q[0] = p[0]; q[1] = p[1]; q[2] = p[2];
		} else {
			float a = p[3] / 255.0f;
			for (int k = 0; k < 3; k++) {
				float v = p[k] * a + 255.0f * (1.0f - a);
				v = v < 0 ? 0 : v > 255 ? 255 : v;
				q[k] = (uint8_t)v;
			}
		}
	}
	return DC_OK;
}
