/*
 * filter.c - Gaussian blur on float images (cv2.GaussianBlur with
 * ksize (0,0) on float32: ksize = round(sigma*8+1)|1, kernel from
 * getGaussianKernel normalised in double then cast to float,
 * BORDER_REFLECT_101), RGB->gray (cv2.COLOR_RGB2GRAY fixed point:
 * (9798 R + 19235 G + 3735 B + 2^14) >> 15) and Otsu's threshold
 * (cv2.threshold THRESH_OTSU, double arithmetic in OpenCV's order).
 *
 * The blur sums in float in a fixed order; OpenCV's SIMD kernels sum in a
 * different order, so blurred values agree to float rounding (about 1e-5
 * relative), not bit for bit.
 */
#pragma GCC optimize("fp-contract=off")

#include <float.h>
#include <math.h>
#include <string.h>

#include "image.h"

static int reflect101(int p, int n)
{
	if (n == 1)
		return 0;
	while (p < 0 || p >= n) {
		if (p < 0)
			p = -p;
		if (p >= n)
			p = 2 * n - 2 - p;
	}
	return p;
}

static float *gauss_kernel(double sigma, int *ksize)
{
	int n = (int)lrint(sigma * 4 * 2 + 1) | 1;
	float *k = dc_alloc(sizeof(float) * (size_t)n);
	double *v = dc_alloc(sizeof(double) * (size_t)n);
	if (!k || !v) {
		dc_free(k); dc_free(v);
		return NULL;
	}
	double scale2 = -0.125 / (sigma * sigma);
	int n2 = (n - 1) / 2;
	double sum = 0;
	for (int i = 0, x = 1 - n; i < n2; i++, x += 2) {
		v[i] = exp((double)(x * x) * scale2);
		sum += v[i];
	}
	sum *= 2;
	sum += 1;
	double mul = 1.0 / sum;
	for (int i = 0; i < n2; i++) {
		k[i] = k[n - 1 - i] = (float)(v[i] * mul);
	}
	k[n2] = (float)mul;
	dc_free(v);
	*ksize = n;
	return k;
}

enum dc_status dc_gaussian_blur_f32(const float *src, float *dst, int w, int h, int nc, double sigma)
{
	if (!(sigma > 0) || sigma > 1000)
		return dc_fail(DC_EINVAL, "gaussian blur: sigma %g out of range (0, 1000]", sigma);
	int ks;
	float *k = gauss_kernel(sigma, &ks);
	if (!k)
		return dc_fail(DC_ENOMEM, "gaussian blur: out of memory");
	int r = ks / 2;
	size_t rowe = (size_t)w * nc, n = rowe * (size_t)h;
	float *tmp = dc_alloc(sizeof(float) * n);
	int *xo = dc_alloc(sizeof(int) * ((size_t)w + 2 * r));
	if (!tmp || !xo) {
		dc_free(k); dc_free(tmp); dc_free(xo);
		return dc_fail(DC_ENOMEM, "gaussian blur: out of memory");
	}
	for (int x = -r; x < w + r; x++)
		xo[x + r] = reflect101(x, w) * nc;
	/* horizontal */
#pragma omp parallel for num_threads(dc_threads()) schedule(static)
	for (int y = 0; y < h; y++) {
		const float *s = src + (size_t)y * rowe;
		float *t = tmp + (size_t)y * rowe;
		for (int x = 0; x < w; x++)
			for (int c = 0; c < nc; c++) {
				float acc = 0;
				for (int q = 0; q < ks; q++)
					acc += k[q] * s[xo[x + q] + c];
				t[x * nc + c] = acc;
			}
	}
	/* vertical */
	int fail = 0;
#pragma omp parallel num_threads(dc_threads())
	{
		float *acc = dc_alloc(sizeof(float) * rowe);
		if (!acc) {
#pragma omp atomic write
			fail = 1;
		}
#pragma omp for schedule(static)
		for (int y = 0; y < h; y++) {
			if (!acc)
				continue;
			memset(acc, 0, sizeof(float) * rowe);
			for (int q = 0; q < ks; q++) {
				const float *t = tmp + (size_t)reflect101(y + q - r, h) * rowe;
				float kq = k[q];
				for (size_t e = 0; e < rowe; e++)
					acc[e] += kq * t[e];
			}
			memcpy(dst + (size_t)y * rowe, acc, sizeof(float) * rowe);
		}
		dc_free(acc);
	}
	dc_free(k); dc_free(tmp); dc_free(xo);
	if (fail)
		return dc_fail(DC_ENOMEM, "gaussian blur: out of memory");
	return DC_OK;
}

enum dc_status dc_image_gray(const struct dc_image *src, struct dc_image *dst)
{
	enum dc_status st;
	memset(dst, 0, sizeof *dst);
	if (src->depth != 8)
		return dc_fail(DC_EUNSUPPORTED, "gray: need an 8-bit image");
	if ((st = dc_image_alloc(dst, src->width, src->height, 1)))
		return st;
	size_t n = (size_t)src->width * src->height;
	const uint8_t *s = src->data;
	uint8_t *d = dst->data;
	int c = src->channels;
	if (c < 3) {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i * c];
		return DC_OK;
	}
#pragma omp parallel for num_threads(dc_threads()) schedule(static)
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = s + i * c;
		d[i] = (uint8_t)((p[0] * 9798 + p[1] * 19235 + p[2] * 3735 + (1 << 14)) >> 15);
	}
	return DC_OK;
}

int dc_otsu_threshold(const struct dc_image *g)
{
	size_t n = (size_t)g->width * g->height;
	const uint8_t *s = g->data;
	int hist[256] = { 0 };
	for (size_t i = 0; i < n; i++)
		hist[s[i * g->channels]]++;
	double mu = 0, scale = 1. / (double)n;
	for (int i = 0; i < 256; i++)
		mu += i * (double)hist[i];
	mu *= scale;
	double mu1 = 0, q1 = 0, max_sigma = 0, max_val = 0;
	for (int i = 0; i < 256; i++) {
		double p_i = hist[i] * scale, q2, mu2, sigma;
		mu1 *= q1;
		q1 += p_i;
		q2 = 1. - q1;
		if ((q1 < q2 ? q1 : q2) < FLT_EPSILON || (q1 > q2 ? q1 : q2) > 1. - FLT_EPSILON)
			continue;
		mu1 = (mu1 + i * p_i) / q1;
		mu2 = (mu - q1 * mu1) / q2;
		sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
		if (sigma > max_sigma) {
			max_sigma = sigma;
			max_val = i;
		}
	}
	return (int)max_val;
}
