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
 *   LANCZOS4  8 taps, fixed point, integer vertical pass (wrapping as
 *             OpenCV's int arithmetic)
 *   AREA      downscale: integer factors sum the cell (2x2: (s+2)>>2, else
 *             float s*(1/area) rounded to even); other factors use the float
 *             pixel-area weights of computeResizeAreaTab.  Upscaling in
 *             either axis: bilinear with the "area" coefficients.
 * Coordinates follow OpenCV: fx = (dx+0.5)*scale - 0.5 in double, cast to
 * float; borders replicate.  Float expressions are written out in
 * OpenCV's evaluation order and this file is compiled without FP
 * contraction so that no FMA changes a rounding.
 *
 * Speed: rows are cut into stripes run by par.h's job runner (no spinning
 * waits).  With AVX-512 (image_simd.h) the vertical passes of LINEAR and
 * LANCZOS4 and of general AREA run 16 elements at a time; the horizontal
 * passes of LINEAR/CUBIC/LANCZOS4 (VBMI) and of general AREA use per-block
 * tables built once per call: for each 16 output elements the offset of a
 * 64-byte source window, the byte index of every tap in it (vpermb) and
 * the coefficients.  Integer sums are exact in any order; the AREA float
 * sums pad every element to the same number of taps with weight 0 (x + 0
 * is exact) and keep the table order, mul then add, so each lane does
 * OpenCV's scalar arithmetic.  Blocks wider than the window use a gather
 * (AREA) or the scalar code.  The scalar code is the reference the
 * vectorised paths are tested against (tests/unit/test_image_simd.c).
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#else
#pragma GCC optimize("fp-contract=off")
#endif

#include <math.h>
#include <string.h>

#include "image.h"
#include "image_simd.h"
#include "par.h"

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

/* ---- running a row kernel over stripes (par.h) --------------------------- */

struct rows_job {
	void (*row)(const void *ctx, int y);
	const void *ctx;
	int h, ns;
};

static void rows_job_run(void *ctx, int s, int tid)
{
	const struct rows_job *R = ctx;
	int y0 = (int)((long long)R->h * s / R->ns), y1 = (int)((long long)R->h * (s + 1) / R->ns);
	for (int y = y0; y < y1; y++)
		R->row(R->ctx, y);
}

/* rows 0..h-1 of `bytes` output bytes in all */
static void run_rows(void (*row)(const void *, int), const void *ctx, int h, size_t bytes)
{
	int nt = dc_par_threads(bytes, 1 << 17, h / 4);
	struct rows_job R = { row, ctx, h, nt > 1 ? (4 * nt < h / 4 ? 4 * nt : h / 4) : 1 };
	dc_par_run(nt, R.ns, rows_job_run, &R);
}

/* ---- nearest ------------------------------------------------------------- */

struct nn_ctx {
	const struct dc_image *s;
	struct dc_image *d;
	const int *xo;
	double ify;
};

static void nn_row(const void *ctx, int y)
{
	const struct nn_ctx *C = ctx;
	int cn = C->s->channels, sw = C->s->width, sh = C->s->height, dw = C->d->width;
	int sy = cv_floor(y * C->ify);
	if (sy > sh - 1)
		sy = sh - 1;
	const uint8_t *sr = (const uint8_t *)C->s->data + (size_t)sy * sw * cn;
	uint8_t *dr = (uint8_t *)C->d->data + (size_t)y * dw * cn;
	for (int x = 0; x < dw; x++)
		for (int k = 0; k < cn; k++)
			dr[x * cn + k] = sr[C->xo[x] + k];
}

static enum dc_status resize_nn(const struct dc_image *s, struct dc_image *d)
{
	int cn = s->channels, sw = s->width, sh = s->height, dw = d->width, dh = d->height;
	double ifx = 1.0 / ((double)dw / sw), ify = 1.0 / ((double)dh / sh);
	int *xo = dc_alloc(sizeof(int) * (size_t)dw);
	if (!xo)
		return dc_fail(DC_ENOMEM, "resize: out of memory");
	for (int x = 0; x < dw; x++) {
		int sx = cv_floor(x * ifx);
		xo[x] = (sx < sw - 1 ? sx : sw - 1) * cn;
	}
	struct nn_ctx C = { s, d, xo, ify };
	run_rows(nn_row, &C, dh, (size_t)dw * dh * cn);
	dc_free(xo);
	return DC_OK;
}

/* ---- area, integer factors ------------------------------------------------ */

struct af_ctx {
	const struct dc_image *s;
	struct dc_image *d;
	int scx, scy;
};

static void area_fast_row(const void *ctx, int dy)
{
	const struct af_ctx *C = ctx;
	const struct dc_image *s = C->s;
	int scx = C->scx, scy = C->scy;
	int cn = s->channels, sw = s->width * cn, sh = s->height, dwe = C->d->width * cn;
	float scale = 1.f / (float)(scx * scy);
	int dwidth1 = (s->width / scx) * cn;
	int fast2 = scx == 2 && scy == 2 && (cn == 1 || cn == 3 || cn == 4);
	const uint8_t *S = s->data;
	uint8_t *D = C->d->data;
	uint8_t *dr = D + (size_t)dy * dwe;
	int sy0 = dy * scy;
	int w = sy0 + scy <= sh ? dwidth1 : 0;
	if (sy0 >= sh) {
		memset(dr, 0, (size_t)dwe);
		return;
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

static void resize_area_fast(const struct dc_image *s, struct dc_image *d, int scx, int scy)
{
	struct af_ctx C = { s, d, scx, scy };
	run_rows(area_fast_row, &C, d->height, (size_t)d->width * d->height * d->channels * scx * scy);
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

/* The horizontal pass of one source row: b[de] = sum of s * alpha over the
 * table entries of de, in table order, in float (as OpenCV). */
struct area_job {
	const uint8_t *S;
	uint8_t *D;
	int cn, sw, sh, dw, dh, dwe, nx, ns, simd;
	size_t sbytes;               /* bytes in the source image */
	const struct area_tab *xt, *yt;
	const int *yofs, *first;     /* first table entry per destination row / pixel */
	float **buf;                 /* per participant: 2 x dwe floats */
#if DC_IMAGE_AVX512
	int K;                       /* taps per block, padded with alpha 0 */
	int *hbase;                  /* per block of 16: window offset, or -1: gather, -2: scalar */
	uint8_t *hidx;               /* per block, K x 64 window byte indices */
	int *hoff;                   /* per block, K x 16 source offsets (gather) */
	float *hcoef;                /* per block, K x 16 alphas */
#endif
};

#if DC_IMAGE_AVX512
static int area_vec_table(struct area_job *J, const int *first)
{
	int cn = J->cn, nb = J->dwe / 16, K = 0;
	for (int dx = 0; dx < J->dw; dx++)
		K = first[dx + 1] - first[dx] > K ? first[dx + 1] - first[dx] : K;
	size_t nbk;
	if (K < 1 || dc_mul_size((size_t)nb + 1, (size_t)K, &nbk))
		return -1;
	J->K = K;
	J->hbase = dc_alloc(sizeof(int) * ((size_t)nb + 1));
	J->hidx = dc_alloc(nbk * 64);
	J->hoff = dc_alloc(nbk * 16 * sizeof(int));
	J->hcoef = dc_alloc(nbk * 16 * sizeof(float));
	if (!J->hbase || !J->hidx || !J->hoff || !J->hcoef)
		return -1;
	memset(J->hidx, 0, nbk * 64);
	for (int b = 0; b < nb; b++) {
		int lo = 1 << 30, hi = -1;
		for (int e = 0; e < 16; e++) {
			int de = b * 16 + e, dx = de / cn, c = de % cn, n = first[dx + 1] - first[dx];
			for (int t = 0; t < K; t++) {
				const struct area_tab *a = &J->xt[first[dx] + (t < n ? t : 0)];
				int o = a->si + c;
				J->hoff[((size_t)b * K + t) * 16 + e] = o;
				J->hcoef[((size_t)b * K + t) * 16 + e] = t < n ? a->alpha : 0.f;
				lo = o < lo ? o : lo;
				hi = o > hi ? o : hi;
			}
		}
#ifdef __AVX512VBMI__
		J->hbase[b] = hi - lo < 64 ? lo : -1;
#else
		J->hbase[b] = -1;   /* the byte-window path needs vpermb (AVX512VBMI) */
#endif
		for (int e = 0; e < 16 && hi - lo < 64; e++)
			for (int t = 0; t < K; t++)
				J->hidx[((size_t)b * K + t) * 64 + e * 4] =
				    (uint8_t)(J->hoff[((size_t)b * K + t) * 16 + e] - lo);
	}
	return 0;
}
#endif

static void area_hpass(const struct area_job *J, const uint8_t *sr, float *b)
{
	const int cn = J->cn, dwe = J->dwe, nx = J->nx;
	const struct area_tab *xt = J->xt;
	int x0 = 0;
#if DC_IMAGE_AVX512
	if (J->simd) {
		const int K = J->K, nb = dwe / 16, rowb = J->sw * cn;
		const __mmask64 lb = _cvtu64_mask64(0x1111111111111111ull);
		/* a gather reads 4 bytes from each offset */
		const size_t safe = J->sbytes - (size_t)(sr - J->S);
		for (int bk = 0; bk < nb; bk++) {
			const float *cf = J->hcoef + (size_t)bk * K * 16;
			__m512 acc = _mm512_setzero_ps();
			int base = J->hbase[bk];
#ifdef __AVX512VBMI__
			if (base >= 0) {
				__m512i win = base + 64 <= rowb
				                  ? _mm512_loadu_si512(sr + base)
				                  : _mm512_maskz_loadu_epi8(_cvtu64_mask64(~0ull >> (64 - (rowb - base))),
				                                            sr + base);
				const uint8_t *ix = J->hidx + (size_t)bk * K * 64;
				for (int t = 0; t < K; t++) {
					__m512i v = _mm512_maskz_permutexvar_epi8(lb, _mm512_loadu_si512(ix + t * 64), win);
					acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_cvtepi32_ps(v),
					                                       _mm512_loadu_ps(cf + t * 16)));
				}
			} else
#endif
			{
				const int *off = J->hoff + (size_t)bk * K * 16;
				int hi = 0;
				for (int q = 0; q < K * 16; q++)
					hi = off[q] > hi ? off[q] : hi;
				if ((size_t)hi + 4 > safe) {
					/* near the end of the image: scalar, same order */
					for (int e = 0; e < 16; e++) {
						float s = 0;
						for (int t = 0; t < K; t++)
							s = s + sr[off[t * 16 + e]] * cf[t * 16 + e];
						b[bk * 16 + e] = s;
					}
					continue;
				}
				const __m512i m8 = _mm512_set1_epi32(0xff);
				for (int t = 0; t < K; t++) {
					__m512i v = _mm512_i32gather_epi32(_mm512_loadu_si512(off + t * 16), sr, 1);
					v = _mm512_and_si512(v, m8);
					acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_cvtepi32_ps(v),
					                                       _mm512_loadu_ps(cf + t * 16)));
				}
			}
			_mm512_storeu_ps(b + bk * 16, acc);
		}
		x0 = nb * 16;
	}
#endif
	if (x0) {
		/* the last elements after the vector blocks, entry by entry */
		for (int de = x0; de < dwe; de++) {
			int dx = de / cn, c = de % cn;
			float v = 0;
			for (int k = J->first[dx]; k < J->first[dx + 1]; k++)
				v = v + sr[xt[k].si + c] * xt[k].alpha;
			b[de] = v;
		}
		return;
	}
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
}

static void area_job_run(void *ctx, int s, int tid)
{
	const struct area_job *J = ctx;
	float *buf = J->buf[tid];
	if (!buf)
		return;
	const int dwe = J->dwe, cn = J->cn;
	int dy0 = (int)((long long)J->dh * s / J->ns), dy1 = (int)((long long)J->dh * (s + 1) / J->ns);
	for (int dy = dy0; dy < dy1; dy++) {
		float *b = buf, *sum = buf + dwe;
		for (int j = J->yofs[dy]; j < J->yofs[dy + 1]; j++) {
			float beta = J->yt[j].alpha;
			area_hpass(J, J->S + (size_t)J->yt[j].si * J->sw * cn, b);
			int first = j == J->yofs[dy], x = 0;
#if DC_IMAGE_AVX512
			if (J->simd) {
				__m512 vb = _mm512_set1_ps(beta);
				for (; x + 16 <= dwe; x += 16) {
					__m512 p = _mm512_mul_ps(vb, _mm512_loadu_ps(b + x));
					_mm512_storeu_ps(sum + x, first ? p : _mm512_add_ps(_mm512_loadu_ps(sum + x), p));
				}
			}
#endif
			if (first)
				for (; x < dwe; x++)
					sum[x] = beta * b[x];
			else
				for (; x < dwe; x++)
					sum[x] += beta * b[x];
		}
		uint8_t *dr = J->D + (size_t)dy * dwe;
		int x = 0;
#if DC_IMAGE_AVX512
		if (J->simd)
			for (; x + 16 <= dwe; x += 16) {
				__m512i v = _mm512_cvtps_epi32(_mm512_loadu_ps(sum + x));
				v = _mm512_min_epi32(_mm512_max_epi32(v, _mm512_setzero_si512()), _mm512_set1_epi32(255));
				_mm_storeu_si128((__m128i *)(dr + x), _mm512_cvtepi32_epi8(v));
			}
#endif
		for (; x < dwe; x++)
			dr[x] = sat_u8((int)lrintf(sum[x]));
	}
}

static enum dc_status resize_area(const struct dc_image *s, struct dc_image *d,
                                  double scx, double scy)
{
	int cn = s->channels, sw = s->width, sh = s->height, dw = d->width, dh = d->height;
	struct area_job J;
	memset(&J, 0, sizeof J);
	enum dc_status st = DC_OK;
	struct area_tab *xt = dc_alloc(sizeof *xt * ((size_t)sw * 2 + 2));
	struct area_tab *yt = dc_alloc(sizeof *yt * ((size_t)sh * 2 + 2));
	int *yofs = dc_alloc(sizeof(int) * ((size_t)dh + 1));
	int *first = dc_alloc(sizeof(int) * ((size_t)dw + 1));
	int dwe = dw * cn;
	int nt = dc_par_threads((size_t)sw * sh * cn, 1 << 17, dh / 4);
	int ns = nt > 1 ? (4 * nt < dh / 4 ? 4 * nt : dh / 4) : 1;
	J.buf = dc_calloc((size_t)nt, sizeof *J.buf);
	if (!xt || !yt || !yofs || !first || !J.buf) {
		st = dc_fail(DC_ENOMEM, "resize: out of memory");
		goto out;
	}
	int nx = area_table(sw, dw, cn, scx, xt);
	int ny = area_table(sh, dh, 1, scy, yt);
	/* first table entry of each destination row / column */
	for (int k = 0, dy = 0; k < ny; k++)
		if (k == 0 || yt[k - 1].di != yt[k].di)
			yofs[dy++] = k;
	yofs[dh] = ny;
	for (int k = 0, dx = 0; k < nx; k++)
		if (k == 0 || xt[k - 1].di != xt[k].di)
			first[dx++] = k;
	first[dw] = nx;
	J.S = s->data;
	J.D = d->data;
	J.cn = cn;
	J.sw = sw;
	J.sh = sh;
	J.dw = dw;
	J.dh = dh;
	J.dwe = dwe;
	J.nx = nx;
	J.ns = ns;
	J.sbytes = (size_t)sw * sh * cn;
	J.xt = xt;
	J.yt = yt;
	J.yofs = yofs;
	J.first = first;
	J.simd = DC_IMAGE_AVX512 && !dc_image_force_scalar;
#if DC_IMAGE_AVX512
	if (J.simd && area_vec_table(&J, first)) {
		st = dc_fail(DC_ENOMEM, "resize: out of memory");
		goto out;
	}
#endif
	for (int t = 0; t < nt; t++)
		if (!(J.buf[t] = dc_alloc(sizeof(float) * (size_t)dwe * 2))) {
			st = dc_fail(DC_ENOMEM, "resize: out of memory");
			goto out;
		}
	dc_par_run(nt, ns, area_job_run, &J);
out:
	for (int t = 0; t < nt && J.buf; t++)
		dc_free(J.buf[t]);
	dc_free(J.buf);
#if DC_IMAGE_AVX512
	dc_free(J.hbase);
	dc_free(J.hidx);
	dc_free(J.hoff);
	dc_free(J.hcoef);
#endif
	dc_free(xt); dc_free(yt); dc_free(yofs); dc_free(first);
	return st;
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

/* The horizontal pass with AVX-512 VBMI: 16 output elements (int32) at a
 * time, each a sum of ksize products taken two at a time with vpmaddwd.
 * Per block of 16 the table holds the source byte offset of a 64-byte
 * window and, per tap pair, the byte index of each tap in the window and
 * the pair of coefficients; blocks whose taps do not fit one window are
 * left to the scalar code.  Integer sums: the order of the taps does not
 * matter, the result is the scalar one exactly. */
#if DC_IMAGE_AVX512 && defined(__AVX512VBMI__)
#define HVEC 1
struct hblock { int base, ok; };
#else
#define HVEC 0
#endif

struct gen_job {
	const uint8_t *S;
	uint8_t *D;
	int cn, sw, sh, dw, dh, dwe, ksize, ns, simd;
	const int *xidx, *yofs;
	const short *alpha, *beta;
	int **rows;          /* per participant: ksize rows of dwe ints */
	int (*rowid)[8];     /* per participant: source row held by each slot */
#if HVEC
	struct hblock *hb;   /* dwe / 16 blocks */
	uint8_t *hidx;       /* per block, ksize/2 x 64 bytes */
	short *hcoef;        /* per block, ksize/2 x 32 shorts */
#endif
};

#if HVEC
static void hvec_table(struct gen_job *J)
{
	int ks = J->ksize, np = ks / 2, cn = J->cn, nb = J->dwe / 16;
	for (int b = 0; b < nb; b++) {
		int lo = 1 << 30, hi = -1;
		for (int e = 0; e < 16; e++) {
			int de = b * 16 + e, dx = de / cn, c = de % cn;
			for (int t = 0; t < ks; t++) {
				int o = J->xidx[(size_t)dx * ks + t] * cn + c;
				lo = o < lo ? o : lo;
				hi = o > hi ? o : hi;
			}
		}
		J->hb[b].base = lo;
		J->hb[b].ok = hi - lo < 64;
		uint8_t *ix = J->hidx + (size_t)b * np * 64;
		short *cf = J->hcoef + (size_t)b * np * 32;
		memset(ix, 0, (size_t)np * 64);
		for (int e = 0; e < 16 && J->hb[b].ok; e++) {
			int de = b * 16 + e, dx = de / cn, c = de % cn;
			for (int t = 0; t < ks; t++) {
				int o = J->xidx[(size_t)dx * ks + t] * cn + c;
				ix[(t / 2) * 64 + e * 4 + (t % 2) * 2] = (uint8_t)(o - lo);
				cf[(t / 2) * 32 + e * 2 + t % 2] = J->alpha[(size_t)dx * ks + t];
			}
		}
	}
}
#endif

static void hpass(const struct gen_job *J, const uint8_t *sr, int *B)
{
	const int ks = J->ksize, cn = J->cn, dw = J->dw;
	int x0 = 0;
#if HVEC
	if (J->simd) {
		const int np = ks / 2, nb = J->dwe / 16, rowb = J->sw * cn;
		for (int b = 0; b < nb; b++) {
			const struct hblock *h = &J->hb[b];
			if (!h->ok) {
				/* scalar for this block */
				for (int de = b * 16; de < b * 16 + 16; de++) {
					int dx = de / cn, c = de % cn, v = 0;
					const int *xi = J->xidx + (size_t)dx * ks;
					const short *a = J->alpha + (size_t)dx * ks;
					for (int t = 0; t < ks; t++)
						v += sr[xi[t] * cn + c] * a[t];
					B[de] = v;
				}
				continue;
			}
			__m512i win = h->base + 64 <= rowb
			                  ? _mm512_loadu_si512(sr + h->base)
			                  : _mm512_maskz_loadu_epi8(_cvtu64_mask64(~0ull >> (64 - (rowb - h->base))),
			                                            sr + h->base);
			const uint8_t *ix = J->hidx + (size_t)b * np * 64;
			const short *cf = J->hcoef + (size_t)b * np * 32;
			__m512i acc = _mm512_setzero_si512();
			for (int p = 0; p < np; p++) {
				__m512i v = _mm512_maskz_permutexvar_epi8(_cvtu64_mask64(0x5555555555555555ull),
				                                          _mm512_loadu_si512(ix + p * 64), win);
				acc = _mm512_add_epi32(acc, _mm512_madd_epi16(v, _mm512_loadu_si512(cf + p * 32)));
			}
			_mm512_storeu_si512(B + b * 16, acc);
		}
		x0 = nb * 16;
	}
#endif
	if (x0 == 0 && ks == 8) {
		/* the common LANCZOS4 case, taps unrolled, pixel by pixel */
		for (int dx = 0; dx < dw; dx++) {
			const int *xi = J->xidx + (size_t)dx * 8;
			const short *a = J->alpha + (size_t)dx * 8;
			const uint8_t *p0 = sr + xi[0] * cn, *p1 = sr + xi[1] * cn, *p2 = sr + xi[2] * cn,
			              *p3 = sr + xi[3] * cn, *p4 = sr + xi[4] * cn, *p5 = sr + xi[5] * cn,
			              *p6 = sr + xi[6] * cn, *p7 = sr + xi[7] * cn;
			for (int c = 0; c < cn; c++)
				B[dx * cn + c] = p0[c] * a[0] + p1[c] * a[1] + p2[c] * a[2] + p3[c] * a[3] +
				                 p4[c] * a[4] + p5[c] * a[5] + p6[c] * a[6] + p7[c] * a[7];
		}
		return;
	}
	for (int de = x0; de < dw * cn; de++) {
		int dx = de / cn, c = de % cn, v = 0;
		const int *xi = J->xidx + (size_t)dx * ks;
		const short *a = J->alpha + (size_t)dx * ks;
		for (int t = 0; t < ks; t++)
			v += sr[xi[t] * cn + c] * a[t];
		B[de] = v;
	}
}

static void gen_rows(const struct gen_job *J, int dy0, int dy1, int *rows, int *rowid)
{
	const int ksize = J->ksize, ksize2 = ksize / 2, dwe = J->dwe, sh = J->sh;
	for (int dy = dy0; dy < dy1; dy++) {
		const int *bufs[8] = { 0 };
		int need[8];
		for (int k = 0; k < ksize; k++) {
			int sy = J->yofs[dy] - ksize2 + 1 + k;
			need[k] = sy < 0 ? 0 : sy >= sh ? sh - 1 : sy;
		}
		/* horizontal pass of the ksize source rows (cached by row id) */
		for (int k = 0; k < ksize; k++) {
			int sy = need[k], slot = -1;
			for (int j = 0; j < ksize; j++)
				if (rowid[j] == sy) { slot = j; break; }
			if (slot < 0) {
				/* take a slot not used by this output row */
				for (int j = 0; j < ksize && slot < 0; j++) {
					int used = 0;
					for (int q = 0; q < ksize; q++)
						used |= rowid[j] == need[q];
					if (!used) slot = j;
				}
				rowid[slot] = sy;
				hpass(J, J->S + (size_t)sy * J->sw * J->cn, rows + (size_t)slot * dwe);
			}
			bufs[k] = rows + (size_t)slot * dwe;
		}
		const short *b = J->beta + (size_t)dy * ksize;
		uint8_t *dr = J->D + (size_t)dy * dwe;
		int x = 0;
		if (ksize == 2) {
			const int *S0 = bufs[0], *S1 = bufs[1];
			int vec = dwe;   /* Debian 4.6 rounds every element this way */
#if DC_IMAGE_AVX512
			if (J->simd) {
				const __m512i b0 = _mm512_set1_epi32(b[0]), b1 = _mm512_set1_epi32(b[1]);
				const __m512i lo = _mm512_set1_epi32(-32768), hi = _mm512_set1_epi32(32767);
				for (; x + 16 <= vec; x += 16) {
					__m512i a0 = _mm512_srai_epi32(_mm512_loadu_si512(S0 + x), 4);
					__m512i a1 = _mm512_srai_epi32(_mm512_loadu_si512(S1 + x), 4);
					a0 = _mm512_min_epi32(_mm512_max_epi32(a0, lo), hi);
					a1 = _mm512_min_epi32(_mm512_max_epi32(a1, lo), hi);
					__m512i v = _mm512_add_epi32(_mm512_srai_epi32(_mm512_mullo_epi32(a0, b0), 16),
					                             _mm512_srai_epi32(_mm512_mullo_epi32(a1, b1), 16));
					v = _mm512_srai_epi32(_mm512_add_epi32(v, _mm512_set1_epi32(2)), 2);
					v = _mm512_min_epi32(_mm512_max_epi32(v, _mm512_setzero_si512()),
					                     _mm512_set1_epi32(255));
					_mm_storeu_si128((__m128i *)(dr + x), _mm512_cvtepi32_epi8(v));
				}
			}
#endif
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
#if DC_IMAGE_AVX512
			if (J->simd)
				for (; x + 16 <= dwe; x += 16) {
					__m512i v = _mm512_set1_epi32(1 << 21);
					for (int k = 0; k < 8; k++)
						v = _mm512_add_epi32(v, _mm512_mullo_epi32(_mm512_loadu_si512(bufs[k] + x),
						                                           _mm512_set1_epi32(b[k])));
					v = _mm512_srai_epi32(v, 22);
					v = _mm512_min_epi32(_mm512_max_epi32(v, _mm512_setzero_si512()),
					                     _mm512_set1_epi32(255));
					_mm_storeu_si128((__m128i *)(dr + x), _mm512_cvtepi32_epi8(v));
				}
#endif
			const unsigned b0 = (unsigned)b[0], b1 = (unsigned)b[1], b2 = (unsigned)b[2],
			               b3 = (unsigned)b[3], b4 = (unsigned)b[4], b5 = (unsigned)b[5],
			               b6 = (unsigned)b[6], b7 = (unsigned)b[7];
			const int *S0 = bufs[0], *S1 = bufs[1], *S2 = bufs[2], *S3 = bufs[3], *S4 = bufs[4],
			          *S5 = bufs[5], *S6 = bufs[6], *S7 = bufs[7];
			for (; x < dwe; x++) {
				unsigned v = (1u << 21) + (unsigned)S0[x] * b0 + (unsigned)S1[x] * b1 +
				             (unsigned)S2[x] * b2 + (unsigned)S3[x] * b3 + (unsigned)S4[x] * b4 +
				             (unsigned)S5[x] * b5 + (unsigned)S6[x] * b6 + (unsigned)S7[x] * b7;
				dr[x] = sat_u8((int)v >> 22);
			}
		}
	}
}

static void gen_job_run(void *ctx, int s, int tid)
{
	const struct gen_job *J = ctx;
	if (!J->rows[tid])
		return;
	int dy0 = (int)((long long)J->dh * s / J->ns), dy1 = (int)((long long)J->dh * (s + 1) / J->ns);
	gen_rows(J, dy0, dy1, J->rows[tid], J->rowid[tid]);
}

static enum dc_status resize_generic(const struct dc_image *s, struct dc_image *d, int interp,
                                     double scx, double scy, double iscx, double iscy)
{
	int cn = s->channels, sw = s->width, dw = d->width, dh = d->height;
	int area_mode = interp == DC_INTER_AREA;
	int ksize = interp == DC_INTER_CUBIC ? 4 : interp == DC_INTER_LANCZOS4 ? 8 : 2;
	int ksize2 = ksize / 2;
	int dwe = dw * cn;
	size_t nx = (size_t)dw * ksize, ny = (size_t)dh * ksize;
	struct gen_job J;
	memset(&J, 0, sizeof J);
	int *xidx = dc_alloc(sizeof(int) * nx);       /* clamped source pixel per tap */
	short *alpha = dc_alloc(sizeof(short) * nx);
	int *yofs = dc_alloc(sizeof(int) * (size_t)dh);
	short *beta = dc_alloc(sizeof(short) * ny);
	int nt = dc_par_threads((size_t)dwe * dh, 1 << 16, dh / 8);
	int ns = nt > 1 ? (4 * nt < dh / 8 ? 4 * nt : dh / 8) : 1;
	J.rows = dc_calloc((size_t)nt, sizeof *J.rows);
	J.rowid = dc_alloc(sizeof *J.rowid * (size_t)nt);
	enum dc_status st = DC_OK;
	if (!xidx || !alpha || !yofs || !beta || !J.rows || !J.rowid) {
		st = dc_fail(DC_ENOMEM, "resize: out of memory");
		goto out;
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
	J.S = s->data;
	J.D = d->data;
	J.cn = cn;
	J.sw = sw;
	J.sh = s->height;
	J.dw = dw;
	J.dh = dh;
	J.dwe = dwe;
	J.ksize = ksize;
	J.ns = ns;
	J.xidx = xidx;
	J.yofs = yofs;
	J.alpha = alpha;
	J.beta = beta;
	J.simd = DC_IMAGE_AVX512 && !dc_image_force_scalar;
#if HVEC
	if (J.simd) {
		size_t nb = (size_t)dwe / 16;
		J.hb = dc_alloc(sizeof *J.hb * (nb + 1));
		J.hidx = dc_alloc((nb + 1) * (size_t)ksize2 * 64);
		J.hcoef = dc_alloc((nb + 1) * (size_t)ksize2 * 32 * sizeof(short));
		if (!J.hb || !J.hidx || !J.hcoef) {
			st = dc_fail(DC_ENOMEM, "resize: out of memory");
			goto out;
		}
		hvec_table(&J);
	}
#endif
	for (int t = 0; t < nt; t++) {
		for (int k = 0; k < 8; k++)
			J.rowid[t][k] = -1;
		if (!(J.rows[t] = dc_alloc(sizeof(int) * (size_t)dwe * ksize))) {
			st = dc_fail(DC_ENOMEM, "resize: out of memory");
			goto out;
		}
	}
	dc_par_run(nt, ns, gen_job_run, &J);
out:
	for (int t = 0; t < nt && J.rows; t++)
		dc_free(J.rows[t]);
	dc_free(J.rows);
	dc_free(J.rowid);
#if HVEC
	dc_free(J.hb);
	dc_free(J.hidx);
	dc_free(J.hcoef);
#endif
	dc_free(xidx); dc_free(alpha); dc_free(yofs); dc_free(beta);
	return st;
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
		if ((st = resize_nn(src, dst)))
			dc_image_release(dst);
		return st;
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

struct hwc3_ctx {
	const struct dc_image *src;
	struct dc_image *dst;
};

static void hwc3_row(const void *ctx, int y)
{
	const struct hwc3_ctx *C = ctx;
	int c = C->src->channels, w = C->src->width;
	const uint8_t *s = (const uint8_t *)C->src->data + (size_t)y * w * c;
	uint8_t *d = (uint8_t *)C->dst->data + (size_t)y * w * 3;
	if (c == 3) {
		memcpy(d, s, (size_t)w * 3);
		return;
	}
	for (int i = 0; i < w; i++) {
		const uint8_t *p = s + (size_t)i * c;
		uint8_t *q = d + (size_t)i * 3;
		if (c == 1) {
			q[0] = q[1] = q[2] = p[0];
		} else if (c == 2) {
			float a = p[1] / 255.0f;
			float v = p[0] * a + 255.0f * (1.0f - a);
			v = v < 0 ? 0 : v > 255 ? 255 : v;
			q[0] = q[1] = q[2] = (uint8_t)v;
		} else {
			float a = p[3] / 255.0f;
			for (int k = 0; k < 3; k++) {
				float v = p[k] * a + 255.0f * (1.0f - a);
				v = v < 0 ? 0 : v > 255 ? 255 : v;
				q[k] = (uint8_t)v;
			}
		}
	}
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
	struct hwc3_ctx C = { src, dst };
	run_rows(hwc3_row, &C, src->height, (size_t)src->width * src->height * 3);
	return DC_OK;
}
