/*
 * scores.c - the non-image controllability metrics: mean IoU of label maps,
 * melody accuracy, Pearson correlation of dynamics curves and the beat
 * F-measure of mir_eval.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Index of v in the sorted unique list u[0..n), or -1. */
static long find_u32(const uint32_t *u, size_t n, uint32_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (u[mid] < v) lo = mid + 1;
		else hi = mid;
	}
	return lo < n && u[lo] == v ? (long)lo : -1;
}

enum dc_status dc_miou(const uint32_t *ref, const uint32_t *cand, size_t n, long long ignore,
                       double *out, size_t *nclasses)
{
	int has_ignore = ignore >= 0 && ignore <= (long long)UINT32_MAX;
	uint32_t ig = has_ignore ? (uint32_t)ignore : 0;
	size_t m;
	if (dc_mul_size(n, 2, &m) || m > SIZE_MAX / sizeof(uint32_t))
		return dc_fail(DC_EOVERFLOW, "miou: too many pixels");
	uint32_t *u = dc_alloc(m * sizeof(uint32_t) + 1);
	if (!u)
		return dc_fail(DC_ENOMEM, "miou: out of memory");
	/* the classes: labels of kept pixels in either map, without `ignore` */
	size_t nu = 0;
	for (size_t i = 0; i < n; i++) {
		if (has_ignore && ref[i] == ig)
			continue;
		u[nu++] = ref[i];
		if (!has_ignore || cand[i] != ig)
			u[nu++] = cand[i];
	}
	qsort(u, nu, sizeof *u, cmp_u32);
	size_t k = 0;
	for (size_t i = 0; i < nu; i++)
		if (k == 0 || u[i] != u[k - 1])
			u[k++] = u[i];
	nu = k;
	uint64_t *cnt = dc_calloc(nu ? 3 * nu : 1, sizeof(uint64_t));
	if (!cnt) {
		dc_free(u);
		return dc_fail(DC_ENOMEM, "miou: out of memory");
	}
	uint64_t *inter = cnt, *area_r = cnt + nu, *area_c = cnt + 2 * nu;
	for (size_t i = 0; i < n; i++) {
		if (has_ignore && ref[i] == ig)
			continue;
		long r = find_u32(u, nu, ref[i]);
		area_r[r]++;
		if (ref[i] == cand[i]) {
			inter[r]++;
			area_c[r]++;
		} else if (!has_ignore || cand[i] != ig) {
			area_c[find_u32(u, nu, cand[i])]++;
		}
	}
	double s = 0;
	for (size_t c = 0; c < nu; c++)
		s += (double)inter[c] / (double)(area_r[c] + area_c[c] - inter[c]);
	*out = nu ? s / (double)nu : NAN;
	if (nclasses)
		*nclasses = nu;
	dc_free(cnt);
	dc_free(u);
	return DC_OK;
}

/* First maximum of a frame, or -1 when no value is positive. */
static int top_class(const float *f, int bins)
{
	int best = -1;
	float bv = 0;
	for (int j = 0; j < bins; j++)
		if (f[j] > bv) {
			bv = f[j];
			best = j;
		}
	return best;
}

enum dc_status dc_melody_accuracy(const float *ref, size_t t_ref, const float *cand, size_t t_cand,
                                  int bins, double *out)
{
	if (bins <= 0)
		return dc_fail(DC_EINVAL, "melody: %d pitch classes", bins);
	size_t t = t_ref < t_cand ? t_ref : t_cand, hit = 0;
	if (!t) {
		*out = NAN;
		return DC_OK;
	}
	for (size_t i = 0; i < t; i++) {
		int a = top_class(ref + i * (size_t)bins, bins);
		int b = top_class(cand + i * (size_t)bins, bins);
		hit += a >= 0 && a == b;
	}
	*out = (double)hit / (double)t;
	return DC_OK;
}

enum dc_status dc_pearson(const float *a, const float *b, size_t n, double *out)
{
	if (n < 2) {
		*out = NAN;
		return DC_OK;
	}
	double ma = 0, mb = 0;
	for (size_t i = 0; i < n; i++) {
		ma += a[i];
		mb += b[i];
	}
	ma /= (double)n;
	mb /= (double)n;
	double sab = 0, saa = 0, sbb = 0;
	for (size_t i = 0; i < n; i++) {
		double da = a[i] - ma, db = b[i] - mb;
		sab += da * db;
		saa += da * da;
		sbb += db * db;
	}
	if (!(saa > 0) || !(sbb > 0)) {
		*out = NAN;
		return DC_OK;
	}
	double r = sab / sqrt(saa) / sqrt(sbb);
	*out = r > 1 ? 1 : r < -1 ? -1 : r;
	return DC_OK;
}

static enum dc_status check_events(const double *t, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		if (!(t[i] <= DC_BEAT_MAX_TIME))
			return dc_fail(DC_EINVAL, "%s beat %zu: time %g is not a number <= %g s",
			               what, i + 1, t[i], DC_BEAT_MAX_TIME);
		if (i && t[i] < t[i - 1])
			return dc_fail(DC_EINVAL, "%s beats are not in increasing order (beat %zu)", what, i + 1);
	}
	return DC_OK;
}

enum dc_status dc_beat_f1(const double *ref, size_t n_ref, const double *est, size_t n_est,
                          double window, double min_time, struct dc_prf *out)
{
	enum dc_status st;
	if (!(window >= 0) || !isfinite(window))
		return dc_fail(DC_EINVAL, "beat window must be finite and >= 0");
	if ((st = check_events(ref, n_ref, "reference")) || (st = check_events(est, n_est, "estimated")))
		return st;
	/* trim_beats: keep beats >= min_time (sorted, so a prefix goes) */
	size_t i0 = 0, j0 = 0;
	while (i0 < n_ref && !(ref[i0] >= min_time)) i0++;
	while (j0 < n_est && !(est[j0] >= min_time)) j0++;
	struct dc_prf o = {0};
	o.n_ref = n_ref - i0;
	o.n_cand = n_est - j0;
	if (o.n_ref && o.n_cand) {
		/* est[j] covers refs in [est[j]-w, est[j]+w]; both ends grow with j,
		 * so taking the first free ref in each window is a maximum matching. */
		size_t i = i0, m = 0;
		for (size_t j = j0; j < n_est && i < n_ref; j++) {
			double lo = est[j] - window, hi = est[j] + window;
			while (i < n_ref && ref[i] < lo)
				i++;
			if (i < n_ref && ref[i] <= hi) {
				m++;
				i++;
			}
		}
		o.matched_ref = o.matched_cand = m;
		o.precision = (double)m / (double)o.n_cand;
		o.recall = (double)m / (double)o.n_ref;
		double s = o.precision + o.recall;
		o.f1 = s > 0 ? 2.0 * o.precision * o.recall / s : 0.0;
	}
	*out = o;
	return DC_OK;
}
