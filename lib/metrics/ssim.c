/*
 * ssim.c - SSIM (skimage.metrics.structural_similarity, both its uniform
 * and gaussian variants), MS-SSIM (torchmetrics defaults), MSE and PSNR.
 *
 * The core, ssim_plane(), computes the SSIM and contrast-sensitivity maps of
 * one channel over the "valid" region (every window fully inside the image)
 * with a separable window, in bands of output rows: each band filters its
 * input rows horizontally for the five moments (x, y, xx, yy, xy), then
 * vertically.  Per-row sums are added up serially at the end, so the result
 * does not depend on the thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define BAND 32

struct ssim_params {
	const double *kern;   /* k taps, sum 1 */
	int k;
	double cov_norm, c1, c2;
	int clamp;            /* clamp variances at 0 (torchmetrics) */
};

/* Means of the SSIM and cs maps over the valid region of two w x h planes. */
static enum dc_status ssim_plane(const double *pa, const double *pb, int w, int h,
                                 const struct ssim_params *p, double *ssim_mean, double *cs_mean)
{
	const int k = p->k, ow = w - k + 1, oh = h - k + 1;
	if (ow <= 0 || oh <= 0)
		return dc_fail(DC_EINVAL, "image %dx%d smaller than the %dx%d window", w, h, k, k);
	double *rs = malloc(sizeof(double) * 2 * (size_t)oh);
	if (!rs)
		return dc_fail(DC_ENOMEM, "ssim: out of memory");
	int failed = 0;
	const int nbands = (oh + BAND - 1) / BAND;
	#pragma omp parallel num_threads(dc_threads())
	{
		/* 5 moments x (BAND + k - 1) rows x ow */
		size_t rows = (size_t)BAND + k - 1;
		double *hb = malloc(sizeof(double) * 5 * rows * (size_t)ow);
		if (!hb) {
			#pragma omp atomic write
			failed = 1;
		}
		#pragma omp for schedule(dynamic)
		for (int band = 0; band < nbands; band++) {
			if (!hb)
				continue;
			int y0 = band * BAND, y1 = y0 + BAND < oh ? y0 + BAND : oh;
			int nr = y1 - y0 + k - 1;
			double *hx = hb, *hy = hx + rows * ow, *hxx = hy + rows * ow;
			double *hyy = hxx + rows * ow, *hxy = hyy + rows * ow;
			for (int r = 0; r < nr; r++) {
				const double *a = pa + (size_t)(y0 + r) * w, *b = pb + (size_t)(y0 + r) * w;
				size_t o = (size_t)r * ow;
				for (int x = 0; x < ow; x++) {
					double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
					for (int j = 0; j < k; j++) {
						double wj = p->kern[j], u = a[x + j], v = b[x + j];
						sx += wj * u; sy += wj * v;
						sxx += wj * u * u; syy += wj * v * v; sxy += wj * u * v;
					}
					hx[o + x] = sx; hy[o + x] = sy;
					hxx[o + x] = sxx; hyy[o + x] = syy; hxy[o + x] = sxy;
				}
			}
			for (int y = y0; y < y1; y++) {
				double ssum = 0, csum = 0;
				size_t base = (size_t)(y - y0) * ow;
				for (int x = 0; x < ow; x++) {
					double ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0;
					for (int i = 0; i < k; i++) {
						double wi = p->kern[i];
						size_t o = base + (size_t)i * ow + x;
						ux += wi * hx[o]; uy += wi * hy[o];
						uxx += wi * hxx[o]; uyy += wi * hyy[o]; uxy += wi * hxy[o];
					}
					double vx = p->cov_norm * (uxx - ux * ux);
					double vy = p->cov_norm * (uyy - uy * uy);
					double vxy = p->cov_norm * (uxy - ux * uy);
					if (p->clamp) {
						if (vx < 0) vx = 0;
						if (vy < 0) vy = 0;
					}
					double a2 = 2 * vxy + p->c2, b2 = vx + vy + p->c2;
					double s = ((2 * ux * uy + p->c1) * a2) / ((ux * ux + uy * uy + p->c1) * b2);
					ssum += s;
					csum += a2 / b2;
				}
				rs[2 * y] = ssum;
				rs[2 * y + 1] = csum;
			}
		}
		free(hb);
	}
	if (failed) {
		free(rs);
		return dc_fail(DC_ENOMEM, "ssim: out of memory");
	}
	double ts = 0, tc = 0;
	for (int y = 0; y < oh; y++) {
		ts += rs[2 * y];
		tc += rs[2 * y + 1];
	}
	free(rs);
	double np = (double)ow * (double)oh;
	*ssim_mean = ts / np;
	*cs_mean = tc / np;
	return DC_OK;
}

/* Normalised gaussian taps exp(-x^2/(2 sigma^2)), radius int(3.5 sigma + 0.5)
 * (scipy.ndimage.gaussian_filter with truncate=3.5; torchmetrics). */
static int gauss_kernel(double sigma, double *kern, int maxk)
{
	int r = (int)(3.5 * sigma + 0.5), k = 2 * r + 1;
	if (k > maxk)
		return -1;
	double s = 0;
	for (int i = 0; i < k; i++) {
		double x = i - r;
		kern[i] = exp(-0.5 * x * x / (sigma * sigma));
		s += kern[i];
	}
	for (int i = 0; i < k; i++)
		kern[i] /= s;
	return k;
}

void dc_ssim_opts_skimage(struct dc_ssim_opts *o, double data_range)
{
	memset(o, 0, sizeof *o);
	o->win_size = 7;
	o->sample_covariance = 1;
	o->k1 = 0.01;
	o->k2 = 0.03;
	o->data_range = data_range;
}

void dc_ssim_opts_gaussian(struct dc_ssim_opts *o, double data_range)
{
	memset(o, 0, sizeof *o);
	o->gaussian = 1;
	o->sigma = 1.5;
	o->k1 = 0.01;
	o->k2 = 0.03;
	o->data_range = data_range;
}

#define MAX_TAPS 129

static enum dc_status check_image(int w, int h, int channels, size_t *n)
{
	if (w <= 0 || h <= 0 || channels <= 0)
		return dc_fail(DC_EINVAL, "empty image (%dx%dx%d)", w, h, channels);
	size_t px;
	if (dc_mul_size((size_t)w, (size_t)h, &px) || dc_mul_size(px, (size_t)channels, n) ||
	    px > SIZE_MAX / (4 * sizeof(double)))
		return dc_fail(DC_EOVERFLOW, "image too large (%dx%dx%d)", w, h, channels);
	return DC_OK;
}

/* Deinterleave channel c of an HWC float image into a double plane. */
static void plane_of(const float *img, int w, int h, int channels, int c, double *out)
{
	size_t n = (size_t)w * h;
	for (size_t i = 0; i < n; i++)
		out[i] = img[i * channels + c];
}

enum dc_status dc_ssim(const float *a, const float *b, int w, int h, int channels,
                       const struct dc_ssim_opts *o, double *out)
{
	size_t n;
	enum dc_status st = check_image(w, h, channels, &n);
	if (st)
		return st;
	if (!(o->data_range > 0))
		return dc_fail(DC_EINVAL, "ssim: data range must be > 0");
	double kern[MAX_TAPS];
	int k;
	if (o->gaussian) {
		double sigma = o->sigma > 0 ? o->sigma : 1.5;
		if ((k = gauss_kernel(sigma, kern, MAX_TAPS)) < 0)
			return dc_fail(DC_EINVAL, "ssim: sigma %g too large", sigma);
	} else {
		k = o->win_size ? o->win_size : 7;
		if (k < 1 || k % 2 == 0 || k > MAX_TAPS)
			return dc_fail(DC_EINVAL, "ssim: window size %d is not odd in 1..%d", k, MAX_TAPS);
		for (int i = 0; i < k; i++)
			kern[i] = 1.0 / k;
	}
	if (w < k || h < k)
		return dc_fail(DC_EINVAL, "ssim: image %dx%d is smaller than the %dx%d window", w, h, k, k);
	double np = (double)k * k;
	double k1 = o->k1 > 0 ? o->k1 : 0.01, k2 = o->k2 > 0 ? o->k2 : 0.03;
	struct ssim_params p = {
		.kern = kern, .k = k,
		.cov_norm = o->sample_covariance && np > 1 ? np / (np - 1) : 1.0,
		.c1 = (k1 * o->data_range) * (k1 * o->data_range),
		.c2 = (k2 * o->data_range) * (k2 * o->data_range),
		.clamp = 0,
	};
	size_t px = (size_t)w * h;
	double *pa = dc_alloc(2 * px * sizeof(double));
	if (!pa)
		return dc_fail(DC_ENOMEM, "ssim: out of memory");
	double *pb = pa + px, total = 0;
	for (int c = 0; c < channels && !st; c++) {
		double s, cs;
		plane_of(a, w, h, channels, c, pa);
		plane_of(b, w, h, channels, c, pb);
		if (!(st = ssim_plane(pa, pb, w, h, &p, &s, &cs)))
			total += s;
	}
	dc_free(pa);
	if (!st)
		*out = total / channels;
	return st;
}

/* torch F.pad(mode="reflect"): mirror without repeating the edge. */
static void reflect_pad(const double *src, int w, int h, int r, double *dst)
{
	int pw = w + 2 * r, ph = h + 2 * r;
	for (int y = 0; y < ph; y++) {
		int sy = y - r;
		if (sy < 0) sy = -sy;
		if (sy >= h) sy = 2 * (h - 1) - sy;
		for (int x = 0; x < pw; x++) {
			int sx = x - r;
			if (sx < 0) sx = -sx;
			if (sx >= w) sx = 2 * (w - 1) - sx;
			dst[(size_t)y * pw + x] = src[(size_t)sy * w + sx];
		}
	}
}

/* F.avg_pool2d(x, (2, 2)): floor sizes, in place (dst may alias src). */
static void avg_pool2(const double *src, int w, int h, double *dst)
{
	int ow = w / 2, oh = h / 2;
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++) {
			const double *s = src + (size_t)(2 * y) * w + 2 * x;
			dst[(size_t)y * ow + x] = (s[0] + s[1] + s[w] + s[w + 1]) * 0.25;
		}
}

enum dc_status dc_msssim(const float *a, const float *b, int w, int h, int channels,
                         double data_range, enum dc_msssim_border border, double *out)
{
	static const double betas[5] = { 0.0448, 0.2856, 0.3001, 0.2363, 0.1333 };
	size_t n;
	enum dc_status st = check_image(w, h, channels, &n);
	if (st)
		return st;
	if (!(data_range > 0))
		return dc_fail(DC_EINVAL, "ms-ssim: data range must be > 0");
	if (w < 32 || h < 32 || h / 16 <= 10 || w / 16 <= 10)
		return dc_fail(DC_EINVAL, "ms-ssim: image %dx%d is too small (5 scales need at least 176x176)", w, h);
	double kern[MAX_TAPS];
	int k = gauss_kernel(1.5, kern, MAX_TAPS);
	struct ssim_params p = {
		.kern = kern, .k = k, .cov_norm = 1.0,
		.c1 = (0.01 * data_range) * (0.01 * data_range),
		.c2 = (0.03 * data_range) * (0.03 * data_range),
		.clamp = 1,
	};
	size_t px = (size_t)w * h;
	int r = k / 2;
	/* two planes + two padded last-scale planes (w/16 + 2r)(h/16 + 2r) */
	size_t last = (size_t)(w / 16 + 2 * r) * (size_t)(h / 16 + 2 * r);
	double *pa = dc_alloc((2 * px + 2 * last) * sizeof(double));
	if (!pa)
		return dc_fail(DC_ENOMEM, "ms-ssim: out of memory");
	double *pb = pa + px, *qa = pb + px, *qb = qa + last;
	double val[5] = { 0 };
	for (int c = 0; c < channels && !st; c++) {
		int cw = w, ch = h;
		plane_of(a, w, h, channels, c, pa);
		plane_of(b, w, h, channels, c, pb);
		for (int s = 0; s < 5 && !st; s++) {
			double sim, cs;
			if (s < 4) {
				if (!(st = ssim_plane(pa, pb, cw, ch, &p, &sim, &cs)))
					val[s] += cs;
				avg_pool2(pa, cw, ch, pa);
				avg_pool2(pb, cw, ch, pb);
				cw /= 2; ch /= 2;
			} else if (border == DC_MSSSIM_FULL) {
				reflect_pad(pa, cw, ch, r, qa);
				reflect_pad(pb, cw, ch, r, qb);
				if (!(st = ssim_plane(qa, qb, cw + 2 * r, ch + 2 * r, &p, &sim, &cs)))
					val[s] += sim;
			} else {
				if (!(st = ssim_plane(pa, pb, cw, ch, &p, &sim, &cs)))
					val[s] += sim;
			}
		}
	}
	dc_free(pa);
	if (st)
		return st;
	double res = 1.0;
	for (int s = 0; s < 5; s++) {
		double v = val[s] / channels;
		if (!(v > 0))    /* normalize="relu" */
			v = 0;
		res *= pow(v, betas[s]);
	}
	*out = res;
	return DC_OK;
}

enum dc_status dc_mse(const float *a, const float *b, size_t n, double *out)
{
	if (!n)
		return dc_fail(DC_EINVAL, "mse: no samples");
	double s = 0;
	for (size_t i = 0; i < n; i++) {
		double d = (double)a[i] - (double)b[i];
		s += d * d;
	}
	*out = s / (double)n;
	return DC_OK;
}

enum dc_status dc_psnr(const float *a, const float *b, size_t n, double data_range, double *out)
{
	double mse = 0;
	enum dc_status st = dc_mse(a, b, n, &mse);
	if (st)
		return st;
	if (!(data_range > 0))
		return dc_fail(DC_EINVAL, "psnr: data range must be > 0");
	*out = mse > 0 ? 10.0 * log10(data_range * data_range / mse) : INFINITY;
	return DC_OK;
}
