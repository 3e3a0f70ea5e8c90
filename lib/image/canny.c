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
 * Layout of the work (as OpenCV's parallel Canny): the image is cut into
 * horizontal stripes (about 4 per thread), handed out to the threads by
 * par.h's job runner, which never spins while waiting.  A stripe computes the
 * gradient row by row into a ring of three magnitude rows (one row of
 * overlap above and below), suppresses non-maxima one row behind, writing
 * only the byte map (1 = no edge, 0 = weak, 2 = edge; a border of 1s) and
 * pushing strong pixels on its stack, then floods inside the stripe.  A
 * flood step that would leave the stripe is recorded instead; after all
 * stripes, one serial flood starts from those records.  The set of edge
 * pixels (weak pixels 8-connected to a seed) does not depend on the order
 * of the floods, so the output does not depend on the thread count.
 * Finally the map is compacted in place into the output image (so no
 * second image-sized buffer is touched).  With AVX-512 (F+BW) the Sobel,
 * magnitude, channel choice, suppression and output passes are vectorised
 * (colour is de-interleaved to planes with vpermt2w); the portable code
 * computes the same and is what tests/unit/test_image_simd.c compares to.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "image_simd.h"
#include "par.h"

#define TG22 13573
#define VPAD 64   /* slack elements after each row buffer */

int dc_image_force_scalar;

struct canny_ws {          /* per-thread workspace */
	int16_t *vs, *vd;        /* vertical sum / difference, interleaved, 1 pixel pad each side */
	int16_t *ps[4], *pd[4];  /* the same per channel (cn > 1), 1 pad each side */
	int *mag[3];             /* ring of magnitude rows, w+2 with a 0 at each end */
	int16_t *gx[3], *gy[3];  /* ring of the chosen dx, dy */
	size_t *stack, sn, scap; /* flood stack (map offsets) */
	size_t *edge, en, ecap;  /* flood steps out of the stripe */
	int oom;
};

struct canny_job {
	const uint8_t *src;
	uint8_t *map;
	int w, h, cn, l2, lo, hi, simd;
	size_t mw, nmag;
	ptrdiff_t nb[8];
	struct canny_ws *ws;     /* one per participant */
	int ns, nt;              /* stripes, participants */
};

static int grow(size_t **v, size_t *cap)
{
	size_t nc = *cap ? *cap * 2 : 4096, bytes;
	if (nc < *cap || dc_mul_size(nc, sizeof(size_t), &bytes))
		return -1;
	size_t *nv = dc_alloc(bytes);
	if (!nv)
		return -1;
	if (*cap)
		memcpy(nv, *v, *cap * sizeof(size_t));
	dc_free(*v);
	*v = nv;
	*cap = nc;
	return 0;
}

static inline void push(struct canny_ws *ws, size_t p)
{
	if (ws->sn == ws->scap && grow(&ws->stack, &ws->scap)) {
		ws->oom = 1;
		return;
	}
	ws->stack[ws->sn++] = p;
}

static inline void push_edge(struct canny_ws *ws, size_t p)
{
	if (ws->en == ws->ecap && grow(&ws->edge, &ws->ecap)) {
		ws->oom = 1;
		return;
	}
	ws->edge[ws->en++] = p;
}

static void ws_free(struct canny_ws *ws)
{
	dc_free(ws->vs);
	dc_free(ws->vd);
	for (int c = 0; c < 4; c++) {
		dc_free(ws->ps[c]);
		dc_free(ws->pd[c]);
	}
	for (int k = 0; k < 3; k++) {
		dc_free(ws->mag[k]);
		dc_free(ws->gx[k]);
		dc_free(ws->gy[k]);
	}
	dc_free(ws->stack);
	dc_free(ws->edge);
	memset(ws, 0, sizeof *ws);
}

static int ws_init(struct canny_ws *ws, int w, int cn)
{
	memset(ws, 0, sizeof *ws);
	size_t ne = (size_t)w * cn + 2 * (size_t)cn + VPAD, np = (size_t)w + 2 + VPAD;
	int bad = 0;
	bad += !(ws->vs = dc_alloc(ne * sizeof(int16_t)));
	bad += !(ws->vd = dc_alloc(ne * sizeof(int16_t)));
	for (int c = 0; c < cn && cn > 1; c++) {
		bad += !(ws->ps[c] = dc_alloc(np * sizeof(int16_t)));
		bad += !(ws->pd[c] = dc_alloc(np * sizeof(int16_t)));
	}
	for (int k = 0; k < 3; k++) {
		bad += !(ws->mag[k] = dc_calloc(np, sizeof(int)));
		bad += !(ws->gx[k] = dc_alloc(np * sizeof(int16_t)));
		bad += !(ws->gy[k] = dc_alloc(np * sizeof(int16_t)));
	}
	if (bad) {
		ws_free(ws);
		ws->oom = 1;
		return -1;
	}
	return 0;
}

/* The portable gradient of one row (written so that the compiler can
 * vectorise the gray and the colour-L1 cases). */
static void grad_row_scalar(const uint8_t *rm, const uint8_t *r0, const uint8_t *rp, int w, int cn,
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

/* Gradient of one row: magnitude into mag[0..w) (mag[-1], mag[w] stay 0),
 * and dx, dy of the winning channel. */
static void grad_row(struct canny_ws *ws, const struct canny_job *J, const uint8_t *rm,
                     const uint8_t *r0, const uint8_t *rp, int *mag, int16_t *gx, int16_t *gy)
{
	const int w = J->w, cn = J->cn, n = w * cn;
	int16_t *vs = ws->vs, *vd = ws->vd;
	int e = 0;
	if (!J->simd) {
		grad_row_scalar(rm, r0, rp, w, cn, J->l2, vs, vd, mag, gx, gy);
		return;
	}
#if DC_IMAGE_AVX512
	if (J->simd)
		for (; e + 32 <= n; e += 32) {
			__m512i a = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(rm + e)));
			__m512i b = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(r0 + e)));
			__m512i c = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(rp + e)));
			_mm512_storeu_si512(vs + cn + e,
			                    _mm512_add_epi16(_mm512_add_epi16(a, c), _mm512_add_epi16(b, b)));
			_mm512_storeu_si512(vd + cn + e, _mm512_sub_epi16(c, a));
		}
#endif
	for (; e < n; e++) {
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
	/* one padded plane per channel */
	const int16_t *ps[4], *pd[4];
	if (cn == 1) {
		ps[0] = vs;
		pd[0] = vd;
	} else {
		int j = 0;
#if DC_IMAGE_AVX512
		if (J->simd && cn == 3) {
			int16_t ix[3][32];
			for (int c = 0; c < 3; c++)
				for (int k = 0; k < 32; k++)
					ix[c][k] = (int16_t)(3 * k + c);
			__m512i idx[3];
			__mmask32 hm[3];
			for (int c = 0; c < 3; c++) {
				idx[c] = _mm512_loadu_si512(ix[c]);
				hm[c] = _mm512_cmpge_epi16_mask(idx[c], _mm512_set1_epi16(64));
			}
			for (; j + 32 <= w; j += 32) {
				const int16_t *s = vs + 3 + 3 * j, *d = vd + 3 + 3 * j;
				__m512i sa = _mm512_loadu_si512(s), sb = _mm512_loadu_si512(s + 32),
				        sc = _mm512_loadu_si512(s + 64);
				__m512i da = _mm512_loadu_si512(d), db = _mm512_loadu_si512(d + 32),
				        dc = _mm512_loadu_si512(d + 64);
				for (int c = 0; c < 3; c++) {
					__m512i r = _mm512_permutex2var_epi16(sa, idx[c], sb);
					r = _mm512_mask_permutexvar_epi16(r, hm[c], idx[c], sc);
					_mm512_storeu_si512(ws->ps[c] + 1 + j, r);
					r = _mm512_permutex2var_epi16(da, idx[c], db);
					r = _mm512_mask_permutexvar_epi16(r, hm[c], idx[c], dc);
					_mm512_storeu_si512(ws->pd[c] + 1 + j, r);
				}
			}
		}
#endif
		for (; j < w; j++)
			for (int c = 0; c < cn; c++) {
				ws->ps[c][1 + j] = vs[cn + j * cn + c];
				ws->pd[c][1 + j] = vd[cn + j * cn + c];
			}
		for (int c = 0; c < cn; c++) {
			ws->ps[c][0] = ws->ps[c][1];
			ws->pd[c][0] = ws->pd[c][1];
			ws->ps[c][w + 1] = ws->ps[c][w];
			ws->pd[c][w + 1] = ws->pd[c][w];
			ps[c] = ws->ps[c];
			pd[c] = ws->pd[c];
		}
	}
	/* horizontal pass and the channel of largest magnitude */
	int j = 0;
#if DC_IMAGE_AVX512
	if (J->simd)
		for (; j + 16 <= w; j += 16) {
			__m512i bx = _mm512_setzero_si512(), by = bx, bm = bx;
			for (int c = 0; c < cn; c++) {
#define LD16(p) _mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)(p)))
				__m512i dx = _mm512_sub_epi32(LD16(ps[c] + j + 2), LD16(ps[c] + j));
				__m512i d1 = LD16(pd[c] + j + 1);
				__m512i dy = _mm512_add_epi32(_mm512_add_epi32(LD16(pd[c] + j), LD16(pd[c] + j + 2)),
				                              _mm512_add_epi32(d1, d1));
#undef LD16
				__m512i m = J->l2 ? _mm512_add_epi32(_mm512_mullo_epi32(dx, dx),
				                                     _mm512_mullo_epi32(dy, dy))
				                  : _mm512_add_epi32(_mm512_abs_epi32(dx), _mm512_abs_epi32(dy));
				if (c == 0) {
					bx = dx;
					by = dy;
					bm = m;
				} else {
					__mmask16 k = _mm512_cmpgt_epi32_mask(m, bm);
					bx = _mm512_mask_mov_epi32(bx, k, dx);
					by = _mm512_mask_mov_epi32(by, k, dy);
					bm = _mm512_mask_mov_epi32(bm, k, m);
				}
			}
			_mm256_storeu_si256((__m256i *)(gx + j), _mm512_cvtepi32_epi16(bx));
			_mm256_storeu_si256((__m256i *)(gy + j), _mm512_cvtepi32_epi16(by));
			_mm512_storeu_si512(mag + j, bm);
		}
#endif
	for (; j < w; j++) {
		int best = -1, bdx = 0, bdy = 0;
		for (int c = 0; c < cn; c++) {
			int dx = ps[c][j + 2] - ps[c][j];
			int dy = pd[c][j] + 2 * pd[c][j + 1] + pd[c][j + 2];
			int m = J->l2 ? dx * dx + dy * dy : abs(dx) + abs(dy);
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

/* Non-maximum suppression of one row into the map row mr (map offset base);
 * strong pixels are pushed. */
static void nms_row(struct canny_ws *ws, const struct canny_job *J, const int *mp, const int *ma,
                    const int *mn, const int16_t *rx, const int16_t *ry, uint8_t *mr, size_t base)
{
	const int w = J->w, lo = J->lo, hi = J->hi;
	mr[-1] = 1;
	mr[w] = 1;
	int j = 0;
#if DC_IMAGE_AVX512
	if (J->simd) {
		const __m512i vlo = _mm512_set1_epi32(lo), vhi = _mm512_set1_epi32(hi);
		const __m512i vtg = _mm512_set1_epi32(TG22), zero = _mm512_setzero_si512();
		const __m512i one = _mm512_set1_epi32(1), two = _mm512_set1_epi32(2);
		for (; j + 16 <= w; j += 16) {
			__m512i m = _mm512_loadu_si512(ma + j);
			__mmask16 cand = _mm512_cmpgt_epi32_mask(m, vlo);
			if (!cand) {
				_mm_storeu_si128((__m128i *)(mr + j), _mm_set1_epi8(1));
				continue;
			}
			__m512i xs = _mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)(rx + j)));
			__m512i ys = _mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)(ry + j)));
			__m512i x = _mm512_abs_epi32(xs), y = _mm512_slli_epi32(_mm512_abs_epi32(ys), 15);
			__m512i t22 = _mm512_mullo_epi32(x, vtg);
			__m512i t67 = _mm512_add_epi32(t22, _mm512_slli_epi32(x, 16));
			__mmask16 hz = _mm512_cmplt_epi32_mask(y, t22);
			__mmask16 vt = (__mmask16)(~hz & _mm512_cmpgt_epi32_mask(y, t67));
			__mmask16 dg = (__mmask16)(~hz & ~vt);
			__mmask16 neg = _mm512_cmplt_epi32_mask(_mm512_xor_si512(xs, ys), zero);
			__mmask16 kh = _mm512_cmpgt_epi32_mask(m, _mm512_loadu_si512(ma + j - 1)) &
			               _mm512_cmpge_epi32_mask(m, _mm512_loadu_si512(ma + j + 1));
			__mmask16 kv = _mm512_cmpgt_epi32_mask(m, _mm512_loadu_si512(mp + j)) &
			               _mm512_cmpge_epi32_mask(m, _mm512_loadu_si512(mn + j));
			__mmask16 kp = _mm512_cmpgt_epi32_mask(m, _mm512_loadu_si512(mp + j - 1)) &
			               _mm512_cmpgt_epi32_mask(m, _mm512_loadu_si512(mn + j + 1));
			__mmask16 kn = _mm512_cmpgt_epi32_mask(m, _mm512_loadu_si512(mp + j + 1)) &
			               _mm512_cmpgt_epi32_mask(m, _mm512_loadu_si512(mn + j - 1));
			__mmask16 keep = (__mmask16)(cand & ((hz & kh) | (vt & kv) |
			                                     (dg & ((neg & kn) | (~neg & kp)))));
			unsigned strong = keep & _mm512_cmpgt_epi32_mask(m, vhi);
			__m512i v = _mm512_mask_mov_epi32(one, keep, zero);
			v = _mm512_mask_mov_epi32(v, (__mmask16)strong, two);
			_mm_storeu_si128((__m128i *)(mr + j), _mm512_cvtepi32_epi8(v));
			while (strong) {
				push(ws, base + j + (unsigned)__builtin_ctz(strong));
				strong &= strong - 1;
			}
		}
	}
#endif
	for (; j < w; j++) {
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
			if (keep) {
				v = 0;
				if (m > hi) {
					v = 2;
					push(ws, base + j);
				}
			}
		}
		mr[j] = v;
	}
}

/* Flood from the stack through weak pixels; steps outside [lo_off, hi_off)
 * are recorded in ws->edge instead. */
static void flood(struct canny_ws *ws, uint8_t *map, const ptrdiff_t nb[8], size_t lo_off,
                  size_t hi_off)
{
	while (ws->sn) {
		size_t q = ws->stack[--ws->sn];
		for (int k = 0; k < 8; k++) {
			size_t r = (size_t)((ptrdiff_t)q + nb[k]);
			if (r < lo_off || r >= hi_off) {
				push_edge(ws, r);
			} else if (map[r] == 0) {
				map[r] = 2;
				push(ws, r);
			}
		}
	}
}

/* Image rows [y0, y1): gradient, suppression, flood inside the stripe. */
static void canny_stripe(struct canny_ws *ws, const struct canny_job *J, int y0, int y1)
{
	const int w = J->w, h = J->h;
	const size_t rs = (size_t)w * J->cn, mw = J->mw;
	for (int y = y0 - 1; y <= y1; y++) {
		int s = (y + 3) % 3;
		int *m = ws->mag[s] + 1;
		if (y < 0 || y >= h) {
			memset(m, 0, (size_t)w * sizeof(int));
		} else {
			const uint8_t *rm = J->src + (size_t)(y > 0 ? y - 1 : 0) * rs;
			const uint8_t *r0 = J->src + (size_t)y * rs;
			const uint8_t *rp = J->src + (size_t)(y < h - 1 ? y + 1 : h - 1) * rs;
			grad_row(ws, J, rm, r0, rp, m, ws->gx[s], ws->gy[s]);
		}
		int i = y - 1;
		if (i >= y0) {
			size_t base = (size_t)(i + 1) * mw + 1;
			nms_row(ws, J, ws->mag[(i + 2) % 3] + 1, ws->mag[(i + 3) % 3] + 1,
			        ws->mag[(i + 4) % 3] + 1, ws->gx[(i + 3) % 3], ws->gy[(i + 3) % 3],
			        J->map + base, base);
		}
	}
	flood(ws, J->map, J->nb, (size_t)(y0 + 1) * mw, (size_t)(y1 + 1) * mw);
}

/* The serial pass over the recorded cross-stripe steps of every thread. */
static void canny_join(const struct canny_job *J)
{
	struct canny_ws *s0 = &J->ws[0];
	for (int t = 0; t < J->nt; t++) {
		struct canny_ws *ws = &J->ws[t];
		for (size_t k = 0; k < ws->en; k++) {
			size_t r = ws->edge[k];
			if (J->map[r] == 0) {
				J->map[r] = 2;
				push(s0, r);
				flood(s0, J->map, J->nb, 0, J->nmag);
			}
		}
	}
}

/* The map becomes the output in place: row i (map offset (i+1)*mw+1) moves
 * to offset i*w, always backwards, so rows in order never overwrite a byte
 * still to be read. */
static void canny_output(const struct canny_job *J)
{
	const int w = J->w, h = J->h;
	uint8_t *map = J->map;
	for (int i = 0; i < h; i++) {
		const uint8_t *mr = map + (size_t)(i + 1) * J->mw + 1;
		uint8_t *dr = map + (size_t)i * w;
		int j = 0;
#if DC_IMAGE_AVX512
		if (J->simd)
			for (; j + 64 <= w; j += 64) {
				__m512i v = _mm512_loadu_si512(mr + j);
				_mm512_storeu_si512(dr + j, _mm512_movm_epi8(_mm512_cmpge_epu8_mask(v, _mm512_set1_epi8(2))));
			}
#endif
		for (; j < w; j++)
			dr[j] = mr[j] >= 2 ? 255 : 0;
	}
}

static void stripe_job(void *ctx, int s, int tid)
{
	const struct canny_job *J = ctx;
	int y0 = (int)((long long)J->h * s / J->ns), y1 = (int)((long long)J->h * (s + 1) / J->ns);
	canny_stripe(&J->ws[tid], J, y0, y1);
}

enum dc_status dc_canny(const struct dc_image *src, struct dc_image *dst,
                        double low, double high, int l2)
{
	memset(dst, 0, sizeof *dst);
	if (!src || !src->data || src->depth != 8 || src->channels < 1 || src->channels > 4)
		return dc_fail(DC_EINVAL, "canny: need an 8-bit image with 1 to 4 channels");
	if (src->width <= 0 || src->height <= 0)
		return dc_fail(DC_EINVAL, "invalid image size %dx%dx%d", src->width, src->height,
		               src->channels);
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

	struct canny_job J;
	memset(&J, 0, sizeof J);
	J.lo = (int)floor(low);
	J.hi = (int)floor(high);
	J.w = src->width;
	J.h = src->height;
	J.cn = src->channels;
	J.l2 = l2;
	J.src = src->data;
	J.simd = DC_IMAGE_AVX512 && !dc_image_force_scalar;
	const int w = J.w, h = J.h;
	J.mw = (size_t)w + 2;
	size_t npix;
	if (dc_mul_size((size_t)w, (size_t)h, &npix) || dc_mul_size(J.mw, (size_t)h + 2, &J.nmag) ||
	    J.nmag > (size_t)PTRDIFF_MAX)
		return dc_fail(DC_EOVERFLOW, "canny: image too large");
	/* the map's buffer becomes the output image */
	if (!(J.map = dc_alloc(J.nmag)))
		return dc_fail(DC_ENOMEM, "canny: out of memory for a %dx%d image", w, h);
	const ptrdiff_t mw = (ptrdiff_t)J.mw;
	const ptrdiff_t nb[8] = { -mw - 1, -mw, -mw + 1, -1, 1, mw - 1, mw, mw + 1 };
	memcpy(J.nb, nb, sizeof nb);
	memset(J.map, 1, J.mw);
	memset(J.map + (size_t)(h + 1) * J.mw, 1, J.mw);

	/* stripes: about 4 per thread, at least 16 rows each */
	int ns = 1, nt = dc_par_threads(npix, 1 << 16, h / 16);
	if (nt > 1)
		ns = 4 * nt < h / 16 ? 4 * nt : h / 16;
	struct canny_ws *wss = dc_calloc((size_t)nt, sizeof *wss);
	int fail = !wss;
	for (int t = 0; t < nt && !fail; t++)
		fail = ws_init(&wss[t], w, J.cn);
	J.ws = wss;
	J.ns = ns;
	J.nt = nt;
	if (!fail) {
		dc_par_run(nt, ns, stripe_job, &J);
		for (int t = 0; t < nt; t++)
			fail |= wss[t].oom;
	}
	if (!fail) {
		canny_join(&J);
		fail = wss[0].oom;
	}
	if (!fail)
		canny_output(&J);
	for (int t = 0; t < nt && wss; t++)
		ws_free(&wss[t]);
	dc_free(wss);
	if (fail) {
		dc_free(J.map);
		return dc_fail(DC_ENOMEM, "canny: out of memory");
	}
	dst->width = w;
	dst->height = h;
	dst->channels = 1;
	dst->depth = 8;
	dst->data = J.map;
	return DC_OK;
}
