/*
 * lsd.c - LSD line segment detector matching OpenCV 4.6's
 * createLineSegmentDetector(), and a cv::line-compatible rasteriser.
 *
 * Pipeline (von Gioi et al., IPOL 2012, as OpenCV's lsd.cpp runs it):
 *   1. scale != 1: GaussianBlur with ksize 1+2*ceil(sigma*sqrt(6 ln 10)),
 *      sigma = sigma_scale/scale, then resize(fx=fy=scale, LINEAR_EXACT);
 *      both reproduced bit-exactly (8-bit fixed point, reflect-101 border);
 *   2. gradient from 2x2 differences, norm sqrt((gx^2+gy^2)/4), angle from
 *      OpenCV's float fastAtan2 polynomial; norm <= quant/sin(ang) is NOTDEF;
 *   3. pixels pseudo-ordered by int(norm*(n_bins-1)/max_norm), descending,
 *      with the exact element order of libstdc++'s (unstable) std::sort;
 *   4. region growing (8-neighbours, running mean angle in float),
 *      rectangle from the gradient-weighted inertia, density refinement,
 *      NFA rectangle improvement for refine == 2.
 * Floating-point contraction is switched off for this file: OpenCV's
 * baseline build (SSE2) rounds every multiply and add separately.
 *
 * Memory: angles and norms as doubles, a used map, the ordering array and
 * the grown region: about 40 bytes per pixel of the scaled image.
 */
#pragma GCC optimize("fp-contract=off")

#include "lsd.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LSD_PI 3.1415926535897932384626433832795
#define NOTDEF (-1024.0)
#define DEG_TO_RADS (LSD_PI / 180)
#define M_3_2_PI_ ((3 * LSD_PI) / 2)
#define M_2__PI_ (2 * LSD_PI)
#define LN10_ 2.30258509299404568402
#define REL_ERR_FACTOR 100.0

void dc_lsd_default_params(struct dc_lsd_params *p)
{
	p->refine = 1;
	p->scale = 0.8;
	p->sigma_scale = 0.6;
	p->quant = 2.0;
	p->ang_th = 22.5;
	p->log_eps = 0;
	p->density_th = 0.7;
	p->n_bins = 1024;
}

/* ---- OpenCV's float atan2 in degrees [0,360) (cv::fastAtan2) ------------- */

static float fast_atan2(float y, float x)
{
	static const float p1 = 0.9997878412794807f * (float)(180 / LSD_PI);
	static const float p3 = -0.3258083974640975f * (float)(180 / LSD_PI);
	static const float p5 = 0.1555786518463281f * (float)(180 / LSD_PI);
	static const float p7 = -0.04432655554792128f * (float)(180 / LSD_PI);
	float ax = fabsf(x), ay = fabsf(y), a, c, c2;
	if (ax >= ay) {
		c = ay / (ax + (float)DBL_EPSILON);
		c2 = c * c;
		a = (((p7 * c2 + p5) * c2 + p3) * c2 + p1) * c;
	} else {
		c = ax / (ay + (float)DBL_EPSILON);
		c2 = c * c;
		a = 90.f - (((p7 * c2 + p5) * c2 + p3) * c2 + p1) * c;
	}
	if (x < 0)
		a = 180.f - a;
	if (y < 0)
		a = 360.f - a;
	return a;
}

/* ---- scale step: bit-exact GaussianBlur and resize(INTER_LINEAR_EXACT) ---- */

/* reflect-101 index (OpenCV BORDER_REFLECT_101 / BORDER_DEFAULT) */
static int reflect101(int p, int len)
{
	if (len == 1)
		return 0;
	while (p < 0 || p >= len) {
		if (p < 0)
			p = -p;
		else
			p = 2 * len - 2 - p;
	}
	return p;
}

/*
 * Gaussian kernel in 8-bit fixed point (sum 256), as OpenCV builds it for
 * CV_8U: double taps exp(-x^2/(2 sigma^2)) normalised, then rounded to
 * 1/256 with error diffusion from the outside in; the centre tap takes the
 * remainder.
 */
static void gauss_kernel_fixed(int n, double sigma, int32_t *k)
{
	int n2 = (n - 1) / 2;
	double scale2 = -0.125 / (sigma * sigma), sum = 0, err = 0;
	double *v = malloc(sizeof(double) * (size_t)(n2 + 1));
	int64_t isum = 0;
	if (!v) { /* tiny; fall back to a box-free identity */
		memset(k, 0, sizeof(int32_t) * (size_t)n);
		k[n2] = 256;
		return;
	}
	if (sigma <= 0 && (n == 3 || n == 5 || n == 7 || n == 9)) {
		/* OpenCV's fixed small kernels for sigma <= 0 */
		static const int32_t k3[] = {64, 128, 64}, k5[] = {16, 64, 96, 64, 16},
			k7[] = {8, 28, 56, 72, 56, 28, 8}, k9[] = {4, 13, 30, 51, 60, 51, 30, 13, 4};
		const int32_t *src = n == 3 ? k3 : n == 5 ? k5 : n == 7 ? k7 : k9;
		memcpy(k, src, sizeof(int32_t) * (size_t)n);
		free(v);
		return;
	}
	if (sigma <= 0)
		sigma = n * 0.15 + 0.35, scale2 = -0.125 / (sigma * sigma);
	for (int i = 0, x = 1 - n; i < n2; i++, x += 2) {
		v[i] = exp((double)(x * x) * scale2);
		sum += v[i];
	}
	sum *= 2;
	sum += 1;
	double mul1 = 1 / sum;
	for (int i = 0; i < n2; i++) {
		double adj = v[i] * mul1 * 256.0 + err;
		int64_t v0 = (int64_t)nearbyint(adj);
		err = adj - (double)v0;
		k[i] = k[n - 1 - i] = (int32_t)v0;
		isum += v0;
	}
	k[n2] = (int32_t)(256 - 2 * isum);
	free(v);
}

enum dc_status dc_lsd_gaussian_blur(const uint8_t *src, int w, int h, int ksize,
                                    double sigma, uint8_t *dst)
{
	if (!src || !dst || w <= 0 || h <= 0 || ksize <= 0 || !(ksize & 1))
		return dc_fail(DC_EINVAL, "gaussian blur: bad arguments");
	int kx = w == 1 ? 1 : ksize, ky = h == 1 ? 1 : ksize;
	if (kx == 1 && ky == 1) {
		memcpy(dst, src, (size_t)w * (size_t)h);
		return DC_OK;
	}
	int32_t *k = malloc(sizeof(int32_t) * (size_t)ksize);
	int32_t *kh = malloc(sizeof(int32_t) * (size_t)ksize);
	uint32_t *rows = NULL;
	size_t npx;
	if (dc_mul_size((size_t)w, (size_t)h, &npx) || npx > SIZE_MAX / sizeof(uint32_t)) {
		free(k);
		free(kh);
		return dc_fail(DC_EOVERFLOW, "gaussian blur: %dx%d too large", w, h);
	}
	rows = malloc(npx * sizeof(uint32_t));
	if (!k || !kh || !rows) {
		free(k);
		free(kh);
		free(rows);
		return dc_fail(DC_ENOMEM, "gaussian blur: out of memory");
	}
	gauss_kernel_fixed(ksize, sigma, k);
	/* a 1-wide axis uses the identity kernel (OpenCV sets ksize to 1) */
	int32_t one = 256;
	const int32_t *kxv = kx == 1 ? &one : k, *kyv = ky == 1 ? &one : k;
	(void)kh;
	int rx = kx / 2, ry = ky / 2;
	/* horizontal: u8 x Q8 -> Q8 (fits 16 bits: taps sum to 256) */
	for (int y = 0; y < h; y++) {
		const uint8_t *s = src + (size_t)y * w;
		uint32_t *d = rows + (size_t)y * w;
		for (int x = 0; x < w; x++) {
			uint32_t acc = 0;
			if (x >= rx && x + rx < w) {
				const uint8_t *sp = s + x - rx;
				for (int i = 0; i < kx; i++)
					acc += (uint32_t)kxv[i] * sp[i];
			} else {
				for (int i = 0; i < kx; i++)
					acc += (uint32_t)kxv[i] * s[reflect101(x - rx + i, w)];
			}
			d[x] = acc;
		}
	}
	/* vertical: Q8 x Q8 -> Q16, rounded half up to u8 */
	for (int y = 0; y < h; y++) {
		uint8_t *d = dst + (size_t)y * w;
		for (int x = 0; x < w; x++) {
			uint64_t acc = 0;
			for (int i = 0; i < ky; i++) {
				int yy = reflect101(y - ry + i, h);
				acc += (uint64_t)kyv[i] * rows[(size_t)yy * w + x];
			}
			uint64_t v = (acc + (1u << 15)) >> 16;
			d[x] = (uint8_t)(v > 255 ? 255 : v);
		}
	}
	free(k);
	free(kh);
	free(rows);
	return DC_OK;
}

/* Coefficients of resize(INTER_LINEAR_EXACT) along one axis: for each
 * destination index its source offset and Q8 weights; [*lo, *hi) is the
 * range with a true two-tap interpolation, outside it the edge pixel. */
static void linear_exact_coeffs(double inv_scale, int ssize, int dsize,
                                int *ofs, int32_t *c, int *lo, int *hi)
{
	double scale = 1.0 / inv_scale;
	int minofst = 0, maxofst = dsize;
	for (int val = 0; val < dsize; val++) {
		double fval = scale * ((double)val + 0.5) - 0.5;
		int ival = (int)floor(fval);
		ofs[val] = 0;
		c[2 * val] = 256;
		c[2 * val + 1] = 0;
		if (ival >= 0 && ssize > 1) {
			if (ival < ssize - 1) {
				ofs[val] = ival;
				int32_t c1 = (int32_t)nearbyint((fval - (double)ival) * 256.0);
				c[2 * val + 1] = c1;
				c[2 * val] = 256 - c1 < 0 ? 0 : 256 - c1;
			} else {
				ofs[val] = ssize - 1;
				if (val < maxofst)
					maxofst = val;
			}
		} else {
			if (val + 1 > minofst)
				minofst = val + 1;
		}
	}
	*lo = minofst;
	*hi = maxofst;
}

static void resize_hline(const uint8_t *s, int sw, const int *xo, const int32_t *xc,
                         int xlo, int xhi, int dw, uint32_t *out)
{
	int i = 0;
	for (; i < xlo && i < dw; i++)
		out[i] = (uint32_t)s[0] << 8;
	for (; i < xhi; i++) {
		const uint8_t *px = s + xo[i];
		out[i] = (uint32_t)xc[2 * i] * px[0] + (uint32_t)xc[2 * i + 1] * px[1];
	}
	uint32_t last = (uint32_t)s[xo[dw - 1] < sw ? xo[dw - 1] : sw - 1] << 8;
	for (; i < dw; i++)
		out[i] = last;
}

enum dc_status dc_lsd_resize(const uint8_t *src, int w, int h, double scale,
                             uint8_t *dst, int *dw_out, int *dh_out)
{
	if (w <= 0 || h <= 0 || !(scale > 0) || !isfinite(scale))
		return dc_fail(DC_EINVAL, "resize: bad arguments");
	double fw = nearbyint((double)w * scale), fh = nearbyint((double)h * scale);
	if (fw < 1 || fh < 1 || fw > INT32_MAX || fh > INT32_MAX)
		return dc_fail(DC_EINVAL, "resize: %dx%d at scale %g gives an empty or huge image",
		               w, h, scale);
	int dw = (int)fw, dh = (int)fh;
	if (dw_out)
		*dw_out = dw;
	if (dh_out)
		*dh_out = dh;
	if (!dst)
		return DC_OK;
	if (!src)
		return dc_fail(DC_EINVAL, "resize: bad arguments");
	if (dw == w && dh == h) {
		memcpy(dst, src, (size_t)w * (size_t)h);
		return DC_OK;
	}
	size_t need = (size_t)dw * (sizeof(int) + 2 * sizeof(int32_t) + 2 * sizeof(uint32_t)) +
	              (size_t)dh * (sizeof(int) + 2 * sizeof(int32_t));
	unsigned char *buf = malloc(need);
	if (!buf)
		return dc_fail(DC_ENOMEM, "resize: out of memory");
	int *xo = (int *)buf, *yo = xo + dw;
	int32_t *xc = (int32_t *)(yo + dh), *yc = xc + 2 * (size_t)dw;
	uint32_t *l0 = (uint32_t *)(yc + 2 * (size_t)dh), *l1 = l0 + dw;
	int xlo, xhi, ylo, yhi;
	linear_exact_coeffs(scale, w, dw, xo, xc, &xlo, &xhi);
	linear_exact_coeffs(scale, h, dh, yo, yc, &ylo, &yhi);
	for (int dy = 0; dy < dh; dy++) {
		uint8_t *d = dst + (size_t)dy * dw;
		if (dy < ylo || dy >= yhi) {
			int sy = dy < ylo ? 0 : yo[dy];
			if (sy > h - 1)
				sy = h - 1;
			resize_hline(src + (size_t)sy * w, w, xo, xc, xlo, xhi, dw, l0);
			for (int x = 0; x < dw; x++) {
				uint32_t v = (l0[x] + 128) >> 8;
				d[x] = (uint8_t)(v > 255 ? 255 : v);
			}
		} else {
			int sy = yo[dy];
			resize_hline(src + (size_t)sy * w, w, xo, xc, xlo, xhi, dw, l0);
			resize_hline(src + (size_t)(sy + 1) * w, w, xo, xc, xlo, xhi, dw, l1);
			uint64_t c0 = (uint64_t)yc[2 * dy], c1 = (uint64_t)yc[2 * dy + 1];
			for (int x = 0; x < dw; x++) {
				uint64_t v = (c0 * l0[x] + c1 * l1[x] + (1u << 15)) >> 16;
				d[x] = (uint8_t)(v > 255 ? 255 : v);
			}
		}
	}
	free(buf);
	return DC_OK;
}

/* ---- libstdc++ std::sort replica on (index, norm), descending norm -------- */

struct norm_pt { int32_t idx, norm; };

#define NP_LESS(a, b) ((a).norm > (b).norm) /* compare_norm(a, b) */

static void np_swap(struct norm_pt *a, struct norm_pt *b)
{
	struct norm_pt t = *a;
	*a = *b;
	*b = t;
}

static void np_push_heap(struct norm_pt *f, ptrdiff_t hole, ptrdiff_t top, struct norm_pt v)
{
	ptrdiff_t parent = (hole - 1) / 2;
	while (hole > top && NP_LESS(f[parent], v)) {
		f[hole] = f[parent];
		hole = parent;
		parent = (hole - 1) / 2;
	}
	f[hole] = v;
}

static void np_adjust_heap(struct norm_pt *f, ptrdiff_t hole, ptrdiff_t len, struct norm_pt v)
{
	ptrdiff_t top = hole, child = hole;
	while (child < (len - 1) / 2) {
		child = 2 * (child + 1);
		if (NP_LESS(f[child], f[child - 1]))
			child--;
		f[hole] = f[child];
		hole = child;
	}
	if ((len & 1) == 0 && child == (len - 2) / 2) {
		child = 2 * (child + 1);
		f[hole] = f[child - 1];
		hole = child - 1;
	}
	np_push_heap(f, hole, top, v);
}

static void np_heap_sort(struct norm_pt *f, struct norm_pt *l)
{
	ptrdiff_t len = l - f;
	if (len >= 2) {
		for (ptrdiff_t parent = (len - 2) / 2;; parent--) {
			np_adjust_heap(f, parent, len, f[parent]);
			if (parent == 0)
				break;
		}
	}
	while (l - f > 1) {
		--l;
		struct norm_pt v = *l;
		*l = *f;
		np_adjust_heap(f, 0, l - f, v);
	}
}

static void np_median_to_first(struct norm_pt *r, struct norm_pt *a, struct norm_pt *b,
                               struct norm_pt *c)
{
	if (NP_LESS(*a, *b)) {
		if (NP_LESS(*b, *c))
			np_swap(r, b);
		else if (NP_LESS(*a, *c))
			np_swap(r, c);
		else
			np_swap(r, a);
	} else if (NP_LESS(*a, *c))
		np_swap(r, a);
	else if (NP_LESS(*b, *c))
		np_swap(r, c);
	else
		np_swap(r, b);
}

static struct norm_pt *np_partition(struct norm_pt *f, struct norm_pt *l, struct norm_pt *piv)
{
	for (;;) {
		while (NP_LESS(*f, *piv))
			++f;
		--l;
		while (NP_LESS(*piv, *l))
			--l;
		if (!(f < l))
			return f;
		np_swap(f, l);
		++f;
	}
}

static void np_introsort(struct norm_pt *f, struct norm_pt *l, int depth)
{
	while (l - f > 16) {
		if (depth == 0) {
			np_heap_sort(f, l);
			return;
		}
		--depth;
		struct norm_pt *mid = f + (l - f) / 2;
		np_median_to_first(f, f + 1, mid, l - 1);
		struct norm_pt *cut = np_partition(f + 1, l, f);
		np_introsort(cut, l, depth);
		l = cut;
	}
}

static void np_linear_insert(struct norm_pt *last)
{
	struct norm_pt v = *last, *next = last - 1;
	while (NP_LESS(v, *next)) {
		*last = *next;
		last = next;
		--next;
	}
	*last = v;
}

static void np_insertion_sort(struct norm_pt *f, struct norm_pt *l)
{
	if (f == l)
		return;
	for (struct norm_pt *i = f + 1; i != l; ++i) {
		if (NP_LESS(*i, *f)) {
			struct norm_pt v = *i;
			memmove(f + 1, f, (size_t)(i - f) * sizeof *f);
			*f = v;
		} else
			np_linear_insert(i);
	}
}

static void np_sort(struct norm_pt *f, struct norm_pt *l)
{
	ptrdiff_t n = l - f;
	if (n <= 0)
		return;
	int lg = 0;
	while (((ptrdiff_t)1 << (lg + 1)) <= n)
		lg++;
	np_introsort(f, l, 2 * lg);
	if (n > 16) {
		np_insertion_sort(f, f + 16);
		for (struct norm_pt *i = f + 16; i != l; ++i)
			np_linear_insert(i);
	} else
		np_insertion_sort(f, l);
}

/* ---- detector state ----------------------------------------------------- */

struct reg_pt { int x, y; double angle, modgrad; };

struct rect {
	double x1, y1, x2, y2, width, x, y, theta, dx, dy, prec, p;
};

struct lsd {
	int w, h;
	double *angles, *modgrad;
	uint8_t *used;
	struct reg_pt *reg;
	size_t nreg, capreg;
	double log_nt;
};

static int reg_push(struct lsd *s, struct reg_pt p)
{
	if (s->nreg == s->capreg) {
		size_t cap = s->capreg ? s->capreg * 2 : 1024;
		if (cap > (size_t)s->w * (size_t)s->h)
			cap = (size_t)s->w * (size_t)s->h;
		if (cap <= s->nreg)
			cap = s->nreg + 1;
		struct reg_pt *r = realloc(s->reg, cap * sizeof *r);
		if (!r)
			return -1;
		s->reg = r;
		s->capreg = cap;
	}
	s->reg[s->nreg++] = p;
	return 0;
}

static double angle_diff_signed(double a, double b)
{
	double d = a - b;
	while (d <= -LSD_PI)
		d += M_2__PI_;
	while (d > LSD_PI)
		d -= M_2__PI_;
	return d;
}

static double angle_diff(double a, double b) { return fabs(angle_diff_signed(a, b)); }

static int double_equal(double a, double b)
{
	if (a == b)
		return 1;
	double d = fabs(a - b), aa = fabs(a), bb = fabs(b);
	double m = aa > bb ? aa : bb;
	if (m < DBL_MIN)
		m = DBL_MIN;
	return d / m <= REL_ERR_FACTOR * DBL_EPSILON;
}

static double dist_sq(double x1, double y1, double x2, double y2)
{
	return (x2 - x1) * (x2 - x1) + (y2 - y1) * (y2 - y1);
}

static double dist(double x1, double y1, double x2, double y2)
{
	return sqrt(dist_sq(x1, y1, x2, y2));
}

static int is_aligned(const struct lsd *s, int x, int y, double theta, double prec)
{
	if (x < 0 || y < 0 || x >= s->w || y >= s->h)
		return 0;
	double a = s->angles[(size_t)y * s->w + x];
	if (a == NOTDEF)
		return 0;
	double t = theta - a;
	if (t < 0)
		t = -t;
	if (t > M_3_2_PI_) {
		t -= M_2__PI_;
		if (t < 0)
			t = -t;
	}
	return t <= prec;
}

/* Grow a region from (sx,sy) into s->reg; returns -1 on ENOMEM. */
static int region_grow(struct lsd *s, int sx, int sy, double *reg_angle, double prec)
{
	size_t si = (size_t)sy * s->w + sx;
	s->nreg = 0;
	double ang = s->angles[si];
	struct reg_pt seed = {sx, sy, ang, s->modgrad[si]};
	if (reg_push(s, seed))
		return -1;
	float sumdx = (float)cos(ang), sumdy = (float)sin(ang);
	s->used[si] = 1;
	for (size_t i = 0; i < s->nreg; i++) {
		int px = s->reg[i].x, py = s->reg[i].y;
		int x0 = px - 1 > 0 ? px - 1 : 0, x1 = px + 1 < s->w - 1 ? px + 1 : s->w - 1;
		int y0 = py - 1 > 0 ? py - 1 : 0, y1 = py + 1 < s->h - 1 ? py + 1 : s->h - 1;
		for (int yy = y0; yy <= y1; yy++) {
			for (int xx = x0; xx <= x1; xx++) {
				size_t k = (size_t)yy * s->w + xx;
				if (s->used[k] != 1 && is_aligned(s, xx, yy, ang, prec)) {
					double a = s->angles[k];
					s->used[k] = 1;
					struct reg_pt rp = {xx, yy, a, s->modgrad[k]};
					if (reg_push(s, rp))
						return -1;
					sumdx += cosf((float)a);
					sumdy += sinf((float)a);
					ang = fast_atan2(sumdy, sumdx) * DEG_TO_RADS;
				}
			}
		}
	}
	*reg_angle = ang;
	return 0;
}

static double get_theta(const struct lsd *s, double x, double y, double reg_angle, double prec)
{
	double ixx = 0, iyy = 0, ixy = 0;
	for (size_t i = 0; i < s->nreg; i++) {
		double wgt = s->reg[i].modgrad;
		double dx = (double)s->reg[i].x - x, dy = (double)s->reg[i].y - y;
		ixx += dy * dy * wgt;
		iyy += dx * dx * wgt;
		ixy -= dx * dy * wgt;
	}
	double lambda = 0.5 * (ixx + iyy - sqrt((ixx - iyy) * (ixx - iyy) + 4.0 * ixy * ixy));
	double theta = fabs(ixx) > fabs(iyy) ? (double)fast_atan2((float)(lambda - ixx), (float)ixy)
	                                     : (double)fast_atan2((float)ixy, (float)(lambda - iyy));
	theta *= DEG_TO_RADS;
	if (angle_diff(theta, reg_angle) > prec)
		theta += LSD_PI;
	return theta;
}

static void region2rect(const struct lsd *s, double reg_angle, double prec, double p,
                        struct rect *rec)
{
	double x = 0, y = 0, sum = 0;
	for (size_t i = 0; i < s->nreg; i++) {
		double wgt = s->reg[i].modgrad;
		x += (double)s->reg[i].x * wgt;
		y += (double)s->reg[i].y * wgt;
		sum += wgt;
	}
	x /= sum;
	y /= sum;
	double theta = get_theta(s, x, y, reg_angle, prec);
	double dx = cos(theta), dy = sin(theta);
	double l_min = 0, l_max = 0, w_min = 0, w_max = 0;
	for (size_t i = 0; i < s->nreg; i++) {
		double rx = (double)s->reg[i].x - x, ry = (double)s->reg[i].y - y;
		double l = rx * dx + ry * dy;
		double wd = -rx * dy + ry * dx;
		if (l > l_max)
			l_max = l;
		else if (l < l_min)
			l_min = l;
		if (wd > w_max)
			w_max = wd;
		else if (wd < w_min)
			w_min = wd;
	}
	rec->x1 = x + l_min * dx;
	rec->y1 = y + l_min * dy;
	rec->x2 = x + l_max * dx;
	rec->y2 = y + l_max * dy;
	rec->width = w_max - w_min;
	rec->x = x;
	rec->y = y;
	rec->theta = theta;
	rec->dx = dx;
	rec->dy = dy;
	rec->prec = prec;
	rec->p = p;
	if (rec->width < 1.0)
		rec->width = 1.0;
}

/* reduce_region_radius: 1 kept, 0 rejected */
static int reduce_region_radius(struct lsd *s, double reg_angle, double prec, double p,
                                struct rect *rec, double density, double density_th)
{
	double xc = s->reg[0].x, yc = s->reg[0].y;
	double r1 = dist_sq(xc, yc, rec->x1, rec->y1), r2 = dist_sq(xc, yc, rec->x2, rec->y2);
	double rad_sq = r1 > r2 ? r1 : r2;
	while (density < density_th) {
		rad_sq *= 0.75 * 0.75;
		for (size_t i = 0; i < s->nreg; i++) {
			if (dist_sq(xc, yc, (double)s->reg[i].x, (double)s->reg[i].y) > rad_sq) {
				s->used[(size_t)s->reg[i].y * s->w + s->reg[i].x] = 0;
				struct reg_pt t = s->reg[i];
				s->reg[i] = s->reg[s->nreg - 1];
				s->reg[s->nreg - 1] = t;
				s->nreg--;
				i--; /* wraps for i == 0; the loop's i++ restores it */
			}
		}
		if (s->nreg < 2)
			return 0;
		region2rect(s, reg_angle, prec, p, rec);
		density = (double)s->nreg / (dist(rec->x1, rec->y1, rec->x2, rec->y2) * rec->width);
	}
	return 1;
}

/* refine: 1 kept, 0 rejected, -1 out of memory */
static int refine(struct lsd *s, double reg_angle, double prec, double p, struct rect *rec,
                  double density_th)
{
	double density = (double)s->nreg / (dist(rec->x1, rec->y1, rec->x2, rec->y2) * rec->width);
	if (density >= density_th)
		return 1;
	double xc = s->reg[0].x, yc = s->reg[0].y, ang_c = s->reg[0].angle;
	double sum = 0, s_sum = 0;
	int n = 0;
	for (size_t i = 0; i < s->nreg; i++) {
		s->used[(size_t)s->reg[i].y * s->w + s->reg[i].x] = 0;
		if (dist(xc, yc, s->reg[i].x, s->reg[i].y) < rec->width) {
			double d = angle_diff_signed(s->reg[i].angle, ang_c);
			sum += d;
			s_sum += d * d;
			++n;
		}
	}
	double mean = sum / (double)n;
	double tau = 2.0 * sqrt((s_sum - 2.0 * mean * sum) / (double)n + mean * mean);
	if (region_grow(s, s->reg[0].x, s->reg[0].y, &reg_angle, tau))
		return -1;
	if (s->nreg < 2)
		return 0;
	region2rect(s, reg_angle, prec, p, rec);
	density = (double)s->nreg / (dist(rec->x1, rec->y1, rec->x2, rec->y2) * rec->width);
	if (density < density_th)
		return reduce_region_radius(s, reg_angle, prec, p, rec, density, density_th);
	return 1;
}

static double log_gamma_windschitl(double x)
{
	return 0.918938533204673 + (x - 0.5) * log(x) - x +
	       0.5 * x * log(x * sinh(1 / x) + 1 / (810.0 * pow(x, 6.0)));
}

static double log_gamma_lanczos(double x)
{
	static const double q[7] = {75122.6331530, 80916.6278952, 36308.2951477, 8687.24529705,
	                            1168.92649479, 83.8676043424, 2.50662827511};
	double a = (x + 0.5) * log(x + 5.5) - (x + 5.5), b = 0;
	for (int n = 0; n < 7; ++n) {
		a -= log(x + (double)n);
		b += q[n] * pow(x, (double)n);
	}
	return a + log(b);
}

static double log_gamma(double x)
{
	return x > 15.0 ? log_gamma_windschitl(x) : log_gamma_lanczos(x);
}

/* -log10(NFA) of k aligned points among n with probability p */
static double nfa(const struct lsd *s, int n, int k, double p)
{
	if (n == 0 || k == 0)
		return -s->log_nt;
	if (n == k)
		return -s->log_nt - (double)n * log10(p);
	double p_term = p / (1 - p);
	/* (n+1) rather than log_gamma(n+1) reproduces the reference's formula */
	double log1term = ((double)n + 1) - log_gamma((double)k + 1) - log_gamma((double)(n - k) + 1) +
	                  (double)k * log(p) + (double)(n - k) * log(1.0 - p);
	double term = exp(log1term);
	if (double_equal(term, 0)) {
		if (k > n * p)
			return -log1term / LN10_ - s->log_nt;
		return -s->log_nt;
	}
	double bin_tail = term, tolerance = 0.1;
	for (int i = k + 1; i <= n; ++i) {
		double bin_term = (double)(n - i + 1) / (double)i;
		double mult_term = bin_term * p_term;
		term *= mult_term;
		bin_tail += term;
		if (bin_term < 1) {
			double err = term * ((1 - pow(mult_term, (double)(n - i + 1))) / (1 - mult_term) - 1);
			if (err < tolerance * fabs(-log10(bin_tail) - s->log_nt) * bin_tail)
				break;
		}
	}
	return -log10(bin_tail) - s->log_nt;
}

struct edge { int x, y, taken; };

static int edge_less(const struct edge *a, const struct edge *b)
{
	return a->x == b->x ? a->y < b->y : a->x < b->x;
}

static double rect_nfa(const struct lsd *s, const struct rect *rec)
{
	int total = 0, alg = 0;
	double hw = rec->width / 2.0, dyhw = rec->dy * hw, dxhw = rec->dx * hw;
	struct edge e[4] = {
		{(int)(rec->x1 - dyhw), (int)(rec->y1 + dxhw), 0},
		{(int)(rec->x2 - dyhw), (int)(rec->y2 + dxhw), 0},
		{(int)(rec->x2 + dyhw), (int)(rec->y2 - dxhw), 0},
		{(int)(rec->x1 + dyhw), (int)(rec->y1 - dxhw), 0},
	};
	/* insertion sort (what std::sort does for 4 elements; stable) */
	for (int i = 1; i < 4; i++) {
		struct edge v = e[i];
		int j = i;
		while (j > 0 && edge_less(&v, &e[j - 1])) {
			e[j] = e[j - 1];
			j--;
		}
		e[j] = v;
	}
	struct edge *min_y = &e[0], *max_y = &e[0];
	for (int i = 1; i < 4; i++) {
		if (min_y->y > e[i].y)
			min_y = &e[i];
		if (max_y->y < e[i].y)
			max_y = &e[i];
	}
	min_y->taken = 1;
	struct edge *leftmost = NULL, *rightmost = NULL, *tailp = NULL;
	for (int i = 0; i < 4; i++)
		if (!e[i].taken && (!leftmost || leftmost->x > e[i].x))
			leftmost = &e[i];
	leftmost->taken = 1;
	for (int i = 0; i < 4; i++)
		if (!e[i].taken && (!rightmost || rightmost->x < e[i].x))
			rightmost = &e[i];
	rightmost->taken = 1;
	for (int i = 0; i < 4; i++)
		if (!e[i].taken && (!tailp || tailp->x > e[i].x))
			tailp = &e[i];
	tailp->taken = 1;
	/* integer divisions and the tailp->x comparisons are the reference's */
	double flstep = min_y->y != leftmost->y
	                    ? (double)((min_y->x - leftmost->x) / (min_y->y - leftmost->y)) : 0;
	double slstep = leftmost->y != tailp->x
	                    ? (double)((leftmost->x - tailp->x) / (leftmost->y - tailp->x)) : 0;
	double frstep = min_y->y != rightmost->y
	                    ? (double)((min_y->x - rightmost->x) / (min_y->y - rightmost->y)) : 0;
	double srstep = rightmost->y != tailp->x
	                    ? (double)((rightmost->x - tailp->x) / (rightmost->y - tailp->x)) : 0;
	double lstep = flstep, rstep = frstep;
	double left_x = min_y->x, right_x = min_y->x;
	for (int y = min_y->y; y <= max_y->y; ++y) {
		/* like the reference, rows outside the image do not advance
		 * left_x/right_x either */
		if (y < 0 || y >= s->h)
			continue;
		for (int x = (int)left_x; x <= (int)right_x; ++x) {
			if (x < 0 || x >= s->w)
				continue;
			++total;
			if (is_aligned(s, x, y, rec->theta, rec->prec))
				++alg;
		}
		if (y >= leftmost->y)
			lstep = slstep;
		if (y >= rightmost->y)
			rstep = srstep;
		left_x += lstep;
		right_x += rstep;
	}
	return nfa(s, total, alg, rec->p);
}

static double rect_improve(const struct lsd *s, struct rect *rec, double log_eps)
{
	double delta = 0.5, delta_2 = delta / 2.0;
	double log_nfa = rect_nfa(s, rec), v;
	struct rect r;
	if (log_nfa > log_eps)
		return log_nfa;
	r = *rec;
	for (int n = 0; n < 5; ++n) {
		r.p /= 2;
		r.prec = r.p * LSD_PI;
		if ((v = rect_nfa(s, &r)) > log_nfa) {
			log_nfa = v;
			*rec = r;
		}
	}
	if (log_nfa > log_eps)
		return log_nfa;
	r = *rec;
	for (int n = 0; n < 5; ++n) {
		if ((r.width - delta) >= 0.5) {
			r.width -= delta;
			if ((v = rect_nfa(s, &r)) > log_nfa) {
				*rec = r;
				log_nfa = v;
			}
		}
	}
	if (log_nfa > log_eps)
		return log_nfa;
	r = *rec;
	for (int n = 0; n < 5; ++n) {
		if ((r.width - delta) >= 0.5) {
			r.x1 += -r.dy * delta_2;
			r.y1 += r.dx * delta_2;
			r.x2 += -r.dy * delta_2;
			r.y2 += r.dx * delta_2;
			r.width -= delta;
			if ((v = rect_nfa(s, &r)) > log_nfa) {
				*rec = r;
				log_nfa = v;
			}
		}
	}
	if (log_nfa > log_eps)
		return log_nfa;
	r = *rec;
	for (int n = 0; n < 5; ++n) {
		if ((r.width - delta) >= 0.5) {
			r.x1 -= -r.dy * delta_2;
			r.y1 -= r.dx * delta_2;
			r.x2 -= -r.dy * delta_2;
			r.y2 -= r.dx * delta_2;
			r.width -= delta;
			if ((v = rect_nfa(s, &r)) > log_nfa) {
				*rec = r;
				log_nfa = v;
			}
		}
	}
	if (log_nfa > log_eps)
		return log_nfa;
	r = *rec;
	for (int n = 0; n < 5; ++n) {
		if ((r.width - delta) >= 0.5) {
			r.p /= 2;
			r.prec = r.p * LSD_PI;
			if ((v = rect_nfa(s, &r)) > log_nfa) {
				*rec = r;
				log_nfa = v;
			}
		}
	}
	return log_nfa;
}

/* ---- output buffer --------------------------------------------------------- */

struct seg_buf { struct dc_segment *v; size_t n, cap; };

static int seg_push(struct seg_buf *b, struct dc_segment sg)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct dc_segment *v = dc_alloc(cap * sizeof *v);
		if (!v)
			return -1;
		if (b->n)
			memcpy(v, b->v, b->n * sizeof *v);
		dc_free(b->v);
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = sg;
	return 0;
}

/* ---- detection ----------------------------------------------------------- */

static enum dc_status check_params(const struct dc_lsd_params *p)
{
	if (!(p->scale > 0) || !(p->sigma_scale > 0) || !(p->quant >= 0) || !(p->ang_th > 0) ||
	    !(p->ang_th < 180) || !(p->density_th >= 0) || !(p->density_th < 1) || p->n_bins <= 0 ||
	    p->refine < 0 || p->refine > 2 || !isfinite(p->scale) || !isfinite(p->sigma_scale) ||
	    !isfinite(p->quant) || isnan(p->log_eps))
		return dc_fail(DC_EINVAL, "lsd: invalid parameters");
	return DC_OK;
}

enum dc_status dc_lsd_detect(const uint8_t *gray, int w, int h, const struct dc_lsd_params *pp,
                             struct dc_segment **segs, size_t *nout)
{
	struct dc_lsd_params defp;
	enum dc_status st;
	if (!segs || !nout)
		return dc_fail(DC_EINVAL, "lsd: NULL output");
	*segs = NULL;
	*nout = 0;
	if (!pp) {
		dc_lsd_default_params(&defp);
		pp = &defp;
	}
	if ((st = check_params(pp)) != DC_OK)
		return st;
	if (!gray || w <= 0 || h <= 0)
		return dc_fail(DC_EINVAL, "lsd: empty image (%dx%d)", w, h);
	if ((int64_t)w * h > INT32_MAX)
		return dc_fail(DC_ELIMIT, "lsd: %dx%d image exceeds 2^31-1 pixels", w, h);

	const double prec = LSD_PI * pp->ang_th / 180, p = pp->ang_th / 180;
	const double rho = pp->quant / sin(prec);
	uint8_t *img = NULL, *blur = NULL;
	struct lsd s;
	struct norm_pt *ord = NULL;
	struct seg_buf out = {NULL, 0, 0};
	memset(&s, 0, sizeof s);
	const uint8_t *sc;
	if (pp->scale != 1) {
		double sigma = pp->scale < 1 ? pp->sigma_scale / pp->scale : pp->sigma_scale;
		double kh = ceil(sigma * sqrt(2 * 3.0 * log(10.0)));
		if (!(kh < 1 << 20)) {
			st = dc_fail(DC_EINVAL, "lsd: sigma %g too large", sigma);
			goto done;
		}
		int ks = 1 + 2 * (int)(unsigned)kh;
		if ((st = dc_lsd_resize(NULL, w, h, pp->scale, NULL, &s.w, &s.h)) != DC_OK)
			goto done;
		if ((int64_t)s.w * s.h > INT32_MAX) {
			st = dc_fail(DC_ELIMIT, "lsd: scaled image exceeds 2^31-1 pixels");
			goto done;
		}
		blur = malloc((size_t)w * (size_t)h);
		img = malloc((size_t)s.w * (size_t)s.h);
		if (!blur || !img) {
			st = dc_fail(DC_ENOMEM, "lsd: out of memory");
			goto done;
		}
		if ((st = dc_lsd_gaussian_blur(gray, w, h, ks, sigma, blur)) != DC_OK)
			goto done;
		if ((st = dc_lsd_resize(blur, w, h, pp->scale, img, NULL, NULL)) != DC_OK)
			goto done;
		free(blur);
		blur = NULL;
		sc = img;
	} else {
		s.w = w;
		s.h = h;
		sc = gray;
	}

	size_t npx = (size_t)s.w * (size_t)s.h;
	s.angles = malloc(npx * sizeof(double));
	s.modgrad = malloc(npx * sizeof(double));
	s.used = calloc(npx, 1);
	size_t nord = (size_t)(s.w - 1) * (size_t)(s.h - 1);
	ord = malloc((nord ? nord : 1) * sizeof *ord);
	if (!s.angles || !s.modgrad || !s.used || !ord) {
		st = dc_fail(DC_ENOMEM, "lsd: out of memory for a %dx%d image", s.w, s.h);
		goto done;
	}

	/* gradient, angle and pseudo-ordering (ll_angle) */
	double max_grad = -1;
	for (int x = 0; x < s.w; x++) {
		s.angles[(size_t)(s.h - 1) * s.w + x] = NOTDEF;
		s.modgrad[(size_t)(s.h - 1) * s.w + x] = 0;
	}
	for (int y = 0; y < s.h; y++) {
		s.angles[(size_t)y * s.w + s.w - 1] = NOTDEF;
		s.modgrad[(size_t)y * s.w + s.w - 1] = 0;
	}
	for (int y = 0; y < s.h - 1; y++) {
		const uint8_t *r0 = sc + (size_t)y * s.w, *r1 = r0 + s.w;
		double *ar = s.angles + (size_t)y * s.w, *mr = s.modgrad + (size_t)y * s.w;
		for (int x = 0; x < s.w - 1; x++) {
			int da = r1[x + 1] - r0[x], bc = r0[x + 1] - r1[x];
			int gx = da + bc, gy = da - bc;
			double norm = sqrt((gx * gx + gy * gy) / 4.0);
			mr[x] = norm;
			if (norm <= rho) {
				ar[x] = NOTDEF;
			} else {
				ar[x] = fast_atan2((float)gx, (float)-gy) * DEG_TO_RADS;
				if (norm > max_grad)
					max_grad = norm;
			}
		}
	}
	double bin_coef = max_grad > 0 ? (double)(pp->n_bins - 1) / max_grad : 0;
	size_t k = 0;
	for (int y = 0; y < s.h - 1; y++)
		for (int x = 0; x < s.w - 1; x++) {
			ord[k].idx = (int32_t)((size_t)y * s.w + x);
			ord[k].norm = (int32_t)(s.modgrad[(size_t)y * s.w + x] * bin_coef);
			k++;
		}
	np_sort(ord, ord + nord);

	s.log_nt = 5 * (log10((double)s.w) + log10((double)s.h)) / 2 + log10(11.0);
	const size_t min_reg_size = (size_t)(-s.log_nt / log10(p));

	for (size_t i = 0; i < nord; i++) {
		int32_t idx = ord[i].idx;
		if (s.used[idx] != 0 || s.angles[idx] == NOTDEF)
			continue;
		double reg_angle;
		if (region_grow(&s, idx % s.w, idx / s.w, &reg_angle, prec))
			goto nomem;
		if (s.nreg < min_reg_size)
			continue;
		struct rect rec;
		region2rect(&s, reg_angle, prec, p, &rec);
		double log_nfa = NAN;
		if (pp->refine > 0) {
			int r = refine(&s, reg_angle, prec, p, &rec, pp->density_th);
			if (r < 0)
				goto nomem;
			if (r == 0)
				continue;
			if (pp->refine >= 2) {
				log_nfa = rect_improve(&s, &rec, pp->log_eps);
				if (log_nfa <= pp->log_eps)
					continue;
			}
		}
		rec.x1 += 0.5;
		rec.y1 += 0.5;
		rec.x2 += 0.5;
		rec.y2 += 0.5;
		if (pp->scale != 1) {
			rec.x1 /= pp->scale;
			rec.y1 /= pp->scale;
			rec.x2 /= pp->scale;
			rec.y2 /= pp->scale;
			rec.width /= pp->scale;
		}
		struct dc_segment sg = {(float)rec.x1, (float)rec.y1, (float)rec.x2, (float)rec.y2,
		                        (float)rec.width, (float)rec.p, (float)log_nfa};
		if (seg_push(&out, sg))
			goto nomem;
	}
	if (!out.v && !(out.v = dc_alloc(0)))
		goto nomem;
	*segs = out.v;
	*nout = out.n;
	out.v = NULL;
	st = DC_OK;
	goto done;
nomem:
	st = dc_fail(DC_ENOMEM, "lsd: out of memory");
done:
	dc_free(out.v);
	free(img);
	free(blur);
	free(s.angles);
	free(s.modgrad);
	free(s.used);
	free(s.reg);
	free(ord);
	return st;
}

/* ---- rasterising (cv::line, LINE_8) --------------------------------------- */

/* cv::clipLine on a w x h image: 1 if a part of the line is inside. */
static int clip_line(int64_t w, int64_t h, int64_t *x1, int64_t *y1, int64_t *x2, int64_t *y2)
{
	int64_t right = w - 1, bottom = h - 1, a;
	if (w <= 0 || h <= 0)
		return 0;
	int c1 = (*x1 < 0) + (*x1 > right) * 2 + (*y1 < 0) * 4 + (*y1 > bottom) * 8;
	int c2 = (*x2 < 0) + (*x2 > right) * 2 + (*y2 < 0) * 4 + (*y2 > bottom) * 8;
	if ((c1 & c2) == 0 && (c1 | c2) != 0) {
		if (c1 & 12) {
			a = c1 < 8 ? 0 : bottom;
			*x1 += (int64_t)((double)(a - *y1) * (double)(*x2 - *x1) / (double)(*y2 - *y1));
			*y1 = a;
			c1 = (*x1 < 0) + (*x1 > right) * 2;
		}
		if (c2 & 12) {
			a = c2 < 8 ? 0 : bottom;
			*x2 += (int64_t)((double)(a - *y2) * (double)(*x2 - *x1) / (double)(*y2 - *y1));
			*y2 = a;
			c2 = (*x2 < 0) + (*x2 > right) * 2;
		}
		if ((c1 & c2) == 0 && (c1 | c2) != 0) {
			if (c1) {
				a = c1 == 1 ? 0 : right;
				*y1 += (int64_t)((double)(a - *x1) * (double)(*y2 - *y1) / (double)(*x2 - *x1));
				*x1 = a;
				c1 = 0;
			}
			if (c2) {
				a = c2 == 1 ? 0 : right;
				*y2 += (int64_t)((double)(a - *x2) * (double)(*y2 - *y1) / (double)(*x2 - *x1));
				*x2 = a;
				c2 = 0;
			}
		}
	}
	return (c1 | c2) == 0;
}

/* cv::LineIterator(img, p1, p2, 8, leftToRight=true) walked to the end */
static void line8(uint8_t *map, int w, int h, int64_t x1, int64_t y1, int64_t x2, int64_t y2,
                  uint8_t value)
{
	if ((uint64_t)x1 >= (uint64_t)w || (uint64_t)x2 >= (uint64_t)w ||
	    (uint64_t)y1 >= (uint64_t)h || (uint64_t)y2 >= (uint64_t)h) {
		if (!clip_line(w, h, &x1, &y1, &x2, &y2))
			return;
	}
	int64_t dx = x2 - x1, dy = y2 - y1;
	int64_t sx = 1, sy = 1;
	if (dx < 0) { /* left to right */
		dx = -dx;
		dy = -dy;
		int64_t t = x1;
		x1 = x2;
		x2 = t;
		t = y1;
		y1 = y2;
		y2 = t;
	}
	if (dy < 0) {
		dy = -dy;
		sy = -1;
	}
	int vert = dy > dx;
	int64_t major = vert ? dy : dx, minor = vert ? dx : dy;
	int64_t err = major - (minor + minor);
	int64_t plus = major + major, minus = -(minor + minor);
	int64_t x = x1, y = y1;
	for (int64_t i = 0; i <= major; i++) {
		if (x >= 0 && y >= 0 && x < w && y < h)
			map[(size_t)y * (size_t)w + (size_t)x] = value;
		int mask = err < 0;
		err += minus + (mask ? plus : 0);
		if (vert) {
			y += sy;
			if (mask)
				x += sx;
		} else {
			x += sx;
			if (mask)
				y += sy;
		}
	}
}

/*
 * thickness > 1: pixels whose centre lies within t/2 + 0.5 of the segment
 * body (perpendicular distance, projection inside the segment) plus discs of
 * radius (t+1)/2 at both ends.  cv::line fills a rotated rectangle of
 * half-width t/2 by scanlines with rounded ends and adds filled circles of
 * that radius; this approximation differs from it on the rim (about 10% of
 * the set pixels for t = 2..5); thickness 1 is exact.
 */
static void thick_line(uint8_t *map, int w, int h, int64_t x1, int64_t y1, int64_t x2,
                       int64_t y2, int t, uint8_t value)
{
	int64_t r = (t + 1) / 2;
	double hw = t / 2.0 + 0.5;
	int64_t pad = r + 1;
	int64_t xa = (x1 < x2 ? x1 : x2) - pad, xb = (x1 > x2 ? x1 : x2) + pad;
	int64_t ya = (y1 < y2 ? y1 : y2) - pad, yb = (y1 > y2 ? y1 : y2) + pad;
	if (xa < 0) xa = 0;
	if (ya < 0) ya = 0;
	if (xb > w - 1) xb = w - 1;
	if (yb > h - 1) yb = h - 1;
	double dx = (double)(x2 - x1), dy = (double)(y2 - y1), l2 = dx * dx + dy * dy;
	double len = sqrt(l2);
	for (int64_t y = ya; y <= yb; y++) {
		for (int64_t x = xa; x <= xb; x++) {
			double px = (double)(x - x1), py = (double)(y - y1);
			double qx = (double)(x - x2), qy = (double)(y - y2);
			int on = px * px + py * py <= (double)(r * r) || qx * qx + qy * qy <= (double)(r * r);
			if (!on && l2 > 0) {
				double u = (px * dx + py * dy) / l2;
				on = u >= 0 && u <= 1 && fabs(px * dy - py * dx) / len <= hw;
			}
			if (on)
				map[(size_t)y * (size_t)w + (size_t)x] = value;
		}
	}
}

void dc_draw_line(uint8_t *map, int w, int h, int x1, int y1, int x2, int y2, int thickness,
                  uint8_t value)
{
	if (!map || w <= 0 || h <= 0)
		return;
	if (thickness <= 1)
		line8(map, w, h, x1, y1, x2, y2, value);
	else if (thickness <= 1024) /* cv::line's MAX_THICKNESS is 32767 */
		thick_line(map, w, h, x1, y1, x2, y2, thickness, value);
	else
		thick_line(map, w, h, x1, y1, x2, y2, 1024, value);
}

void dc_draw_segments_mode(uint8_t *map, int w, int h, const struct dc_segment *s, size_t n,
                           int thickness, uint8_t value, enum dc_lsd_rounding mode)
{
	if (!map || !s || w <= 0 || h <= 0)
		return;
	for (size_t i = 0; i < n; i++) {
		float c[4] = {s[i].x1, s[i].y1, s[i].x2, s[i].y2};
		int v[4], ok = 1;
		for (int j = 0; j < 4; j++) {
			/* cv::Point coordinates are int: skip what cannot be one */
			if (!isfinite(c[j]) || fabsf(c[j]) > 1e9f) {
				ok = 0;
				break;
			}
			v[j] = mode == DC_LSD_ROUND_TRUNC ? (int)c[j] : (int)lrintf(c[j]);
		}
		if (ok)
			dc_draw_line(map, w, h, v[0], v[1], v[2], v[3], thickness, value);
	}
}

void dc_draw_segments(uint8_t *map, int w, int h, const struct dc_segment *s, size_t n,
                      int thickness, uint8_t value)
{
	dc_draw_segments_mode(map, w, h, s, n, thickness, value, DC_LSD_ROUND_NEAREST);
}
