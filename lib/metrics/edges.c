/*
 * edges.c - metrics between binary edge maps: the exact Euclidean distance
 * transform (Felzenszwalb & Huttenlocher, "Distance transforms of sampled
 * functions", 2012: a column sweep giving vertical distances, then the lower
 * envelope of parabolas along each row), edge precision/recall/F1 with an
 * optional pixel tolerance, and the symmetric Hausdorff distance.
 * All distances are squared integers held exactly in doubles.
 */
#include <math.h>
#include <stdlib.h>

#include "metrics.h"

static enum dc_status check_dims(int w, int h, size_t *n)
{
	if (w <= 0 || h <= 0)
		return dc_fail(DC_EINVAL, "empty image (%dx%d)", w, h);
	if (dc_mul_size((size_t)w, (size_t)h, n) || *n > SIZE_MAX / sizeof(double))
		return dc_fail(DC_EOVERFLOW, "image too large (%dx%d)", w, h);
	return DC_OK;
}

/* One row of the transform: f[q] squared vertical distances (INFINITY when
 * the column is empty) -> d[q] = min_p (q-p)^2 + f[p].  v, z: scratch of
 * n and n+1 entries. */
static void edt_row(const double *f, int n, double *d, int *v, double *z)
{
	int k = -1;
	for (int q = 0; q < n; q++) {
		if (!isfinite(f[q]))
			continue;
		if (k < 0) {
			k = 0; v[0] = q; z[0] = -INFINITY; z[1] = INFINITY;
			continue;
		}
		double s;
		for (;;) {
			int p = v[k];
			s = ((f[q] + (double)q * q) - (f[p] + (double)p * p)) / (2.0 * (q - p));
			if (s > z[k])
				break;
			k--;   /* z[0] = -inf, so k stays >= 0 */
		}
		k++; v[k] = q; z[k] = s; z[k + 1] = INFINITY;
	}
	if (k < 0) {
		for (int q = 0; q < n; q++)
			d[q] = INFINITY;
		return;
	}
	k = 0;
	for (int q = 0; q < n; q++) {
		while (z[k + 1] < q)
			k++;
		double dq = (double)(q - v[k]);
		d[q] = dq * dq + f[v[k]];
	}
}

enum dc_status dc_edt_sq(const uint8_t *mask, int w, int h, double *out)
{
	size_t n;
	enum dc_status st = check_dims(w, h, &n);
	if (st)
		return st;
	/* Column sweeps: vertical distance to the nearest set pixel, as a
	 * double (exact small integers, INFINITY for none), into out. */
	for (int x = 0; x < w; x++)
		out[x] = mask[x] ? 0.0 : INFINITY;
	for (int y = 1; y < h; y++) {
		const uint8_t *m = mask + (size_t)y * w;
		double *o = out + (size_t)y * w, *up = o - w;
		for (int x = 0; x < w; x++)
			o[x] = m[x] ? 0.0 : up[x] + 1.0;
	}
	for (int y = h - 2; y >= 0; y--) {
		double *o = out + (size_t)y * w, *dn = o + w;
		for (int x = 0; x < w; x++)
			if (dn[x] + 1.0 < o[x])
				o[x] = dn[x] + 1.0;
	}
	for (size_t i = 0; i < n; i++)
		out[i] *= out[i];   /* inf stays inf */

	int failed = 0;
	#pragma omp parallel num_threads(dc_threads())
	{
		double *f = malloc(sizeof(double) * (size_t)w * 2);
		int *v = malloc(sizeof(int) * (size_t)w);
		double *z = malloc(sizeof(double) * ((size_t)w + 1));
		if (!f || !v || !z) {
			#pragma omp atomic write
			failed = 1;
		}
		#pragma omp for schedule(static)
		for (int y = 0; y < h; y++) {
			if (!f || !v || !z)
				continue;
			double *row = out + (size_t)y * w;
			for (int x = 0; x < w; x++)
				f[x] = row[x];
			edt_row(f, w, f + w, v, z);
			for (int x = 0; x < w; x++)
				row[x] = f[w + x];
		}
		free(f); free(v); free(z);
	}
	if (failed)
		return dc_fail(DC_ENOMEM, "distance transform: out of memory");
	return DC_OK;
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void finish_prf(struct dc_prf *o)
{
	o->precision = ratio(o->matched_cand, o->n_cand);
	o->recall = ratio(o->matched_ref, o->n_ref);
	double s = o->precision + o->recall;
	o->f1 = s > 0 ? 2.0 * o->precision * o->recall / s : 0.0;
}

enum dc_status dc_edge_f1(const uint8_t *ref, const uint8_t *cand, int w, int h,
                          double tolerance, struct dc_prf *out)
{
	size_t n;
	enum dc_status st = check_dims(w, h, &n);
	if (st)
		return st;
	if (!(tolerance >= 0) || !isfinite(tolerance))
		return dc_fail(DC_EINVAL, "edge tolerance must be finite and >= 0");
	struct dc_prf o = {0};
	for (size_t i = 0; i < n; i++) {
		o.n_ref += ref[i] != 0;
		o.n_cand += cand[i] != 0;
	}
	if (tolerance < 1.0) {   /* no other pixel lies closer than 1 */
		uint64_t tp = 0;
		for (size_t i = 0; i < n; i++)
			tp += ref[i] && cand[i];
		o.matched_ref = o.matched_cand = tp;
		finish_prf(&o);
		/* Same value as 2TP/(2TP+FP+FN); use that form for exactness. */
		uint64_t den = 2 * tp + (o.n_cand - tp) + (o.n_ref - tp);
		o.f1 = den ? 2.0 * (double)tp / (double)den : 0.0;
		*out = o;
		return DC_OK;
	}
	double *d = dc_alloc(n * sizeof(double));
	if (!d)
		return dc_fail(DC_ENOMEM, "edge F1: out of memory");
	double t2 = tolerance * tolerance;
	if ((st = dc_edt_sq(ref, w, h, d)))
		goto done;
	for (size_t i = 0; i < n; i++)
		o.matched_cand += cand[i] && d[i] <= t2;
	if ((st = dc_edt_sq(cand, w, h, d)))
		goto done;
	for (size_t i = 0; i < n; i++)
		o.matched_ref += ref[i] && d[i] <= t2;
	finish_prf(&o);
	*out = o;
done:
	dc_free(d);
	return st;
}

enum dc_status dc_hausdorff(const uint8_t *a, const uint8_t *b, int w, int h, double *out)
{
	size_t n;
	enum dc_status st = check_dims(w, h, &n);
	if (st)
		return st;
	size_t na = 0, nb = 0;
	for (size_t i = 0; i < n; i++) {
		na += a[i] != 0;
		nb += b[i] != 0;
	}
	if (!na || !nb) {
		*out = (!na && !nb) ? 0.0 : INFINITY;
		return DC_OK;
	}
	double *d = dc_alloc(n * sizeof(double));
	if (!d)
		return dc_fail(DC_ENOMEM, "hausdorff: out of memory");
	double m = 0;
	if ((st = dc_edt_sq(b, w, h, d)))
		goto done;
	for (size_t i = 0; i < n; i++)
		if (a[i] && d[i] > m)
			m = d[i];
	if ((st = dc_edt_sq(a, w, h, d)))
		goto done;
	for (size_t i = 0; i < n; i++)
		if (b[i] && d[i] > m)
			m = d[i];
	*out = sqrt(m);
done:
	dc_free(d);
	return st;
}
