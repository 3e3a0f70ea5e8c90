/*
 * frechet.c - the Frechet distance between two Gaussians fitted to feature
 * sets (the formula of FID, pytorch-fid's calculate_frechet_distance):
 *   FD = |mu1 - mu2|^2 + Tr S1 + Tr S2 - 2 Tr (S1 S2)^(1/2)
 * computed stably without a general matrix square root:
 * Tr (S1 S2)^(1/2) = Tr (S1^(1/2) S2 S1^(1/2))^(1/2), and both square roots
 * come from symmetric eigendecompositions (cyclic Jacobi, double
 * precision), eigenvalues below d * 1e-15 of the largest (rounding noise,
 * or negative) set to 0.  So a rank-deficient covariance (fewer samples
 * than features) is fine.
 * O(d^3) per sweep and a handful of sweeps: meant for d up to a few
 * hundred (d = 2048, Inception's, takes tens of seconds).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

enum dc_status dc_mean_cov(const double *x, size_t n, int d, double *mu, double *cov)
{
	if (!x || !mu || !cov || n < 2 || d < 1)
		return dc_fail(DC_EINVAL, "mean/covariance: need at least 2 rows of at least 1 feature");
	for (int j = 0; j < d; j++) {
		double s = 0;
		for (size_t i = 0; i < n; i++)
			s += x[i * (size_t)d + j];
		mu[j] = s / (double)n;
	}
	for (int j = 0; j < d; j++)
		for (int k = j; k < d; k++) {
			double s = 0;
			for (size_t i = 0; i < n; i++)
				s += (x[i * (size_t)d + j] - mu[j]) * (x[i * (size_t)d + k] - mu[k]);
			cov[(size_t)j * d + k] = cov[(size_t)k * d + j] = s / (double)(n - 1);
		}
	return DC_OK;
}

/*
 * Eigendecomposition of the symmetric a[d][d] (destroyed; its diagonal
 * ends as the eigenvalues w) with eigenvectors in the columns of v.
 * Cyclic Jacobi with the rotation of Rutishauser (Numerical Recipes'
 * jacobi), until the off-diagonal mass is below 1e-30 of the total or 100
 * sweeps.
 */
static void jacobi(double *a, int d, double *w, double *v)
{
	for (int i = 0; i < d; i++)
		for (int j = 0; j < d; j++)
			v[(size_t)i * d + j] = i == j;
	double tot = 0;
	for (size_t i = 0; i < (size_t)d * d; i++)
		tot += a[i] * a[i];
	for (int sweep = 0; sweep < 100; sweep++) {
		double off = 0;
		for (int p = 0; p < d; p++)
			for (int q = p + 1; q < d; q++)
				off += a[(size_t)p * d + q] * a[(size_t)p * d + q];
		if (!(off > 1e-30 * tot))
			break;
		for (int p = 0; p < d; p++)
			for (int q = p + 1; q < d; q++) {
				double apq = a[(size_t)p * d + q];
				if (apq == 0)
					continue;
				double app = a[(size_t)p * d + p], aqq = a[(size_t)q * d + q];
				double theta = (aqq - app) / (2 * apq);
				double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
				double c = 1 / sqrt(t * t + 1), s = t * c;
				for (int k = 0; k < d; k++) {   /* columns p, q */
					double akp = a[(size_t)k * d + p], akq = a[(size_t)k * d + q];
					a[(size_t)k * d + p] = c * akp - s * akq;
					a[(size_t)k * d + q] = s * akp + c * akq;
				}
				for (int k = 0; k < d; k++) {   /* rows p, q */
					double apk = a[(size_t)p * d + k], aqk = a[(size_t)q * d + k];
					a[(size_t)p * d + k] = c * apk - s * aqk;
					a[(size_t)q * d + k] = s * apk + c * aqk;
				}
				a[(size_t)p * d + q] = a[(size_t)q * d + p] = 0;
				for (int k = 0; k < d; k++) {
					double vkp = v[(size_t)k * d + p], vkq = v[(size_t)k * d + q];
					v[(size_t)k * d + p] = c * vkp - s * vkq;
					v[(size_t)k * d + q] = s * vkp + c * vkq;
				}
			}
	}
	for (int i = 0; i < d; i++)
		w[i] = a[(size_t)i * d + i];
}

/* Eigenvalues below d * 1e-15 of the largest are rounding noise of a
 * (numerically) singular PSD matrix: 0, so that their square roots (about
 * 1e-8 of the scale) do not bias the trace. */
static void clamp_eigen(double *w, int d)
{
	double mx = 0;
	for (int i = 0; i < d; i++)
		if (w[i] > mx)
			mx = w[i];
	double eps = mx * 1e-15 * d;
	for (int i = 0; i < d; i++)
		if (!(w[i] > eps))
			w[i] = 0;
}

enum dc_status dc_frechet(const double *mu1, const double *s1, const double *mu2,
                          const double *s2, int d, double *out)
{
	if (!mu1 || !s1 || !mu2 || !s2 || !out || d < 1 || d > 65535)
		return dc_fail(DC_EINVAL, "frechet: bad sizes (d = %d)", d);
	size_t dd = (size_t)d * d;
	double *a = malloc(3 * dd * sizeof *a + (size_t)d * sizeof *a);
	if (!a)
		return dc_fail(DC_ENOMEM, "frechet: out of memory (d = %d)", d);
	double *v = a + dd, *r = v + dd, *w = r + dd;
	for (size_t i = 0; i < dd; i++)   /* symmetrise */
		a[i] = 0.5 * (s1[i] + s1[(i % d) * d + i / d]);
	jacobi(a, d, w, v);
	/* r = S1^(1/2) = V diag(sqrt(max(w, 0))) V^T */
	clamp_eigen(w, d);
	for (int i = 0; i < d; i++)
		w[i] = sqrt(w[i]);
	for (int i = 0; i < d; i++)
		for (int j = i; j < d; j++) {
			double s = 0;
			for (int k = 0; k < d; k++)
				s += v[(size_t)i * d + k] * w[k] * v[(size_t)j * d + k];
			r[(size_t)i * d + j] = r[(size_t)j * d + i] = s;
		}
	/* v = S2 r (S2 symmetrised), then a = r v = S1^(1/2) S2 S1^(1/2) */
	for (int i = 0; i < d; i++)
		for (int j = 0; j < d; j++) {
			double s = 0;
			for (int k = 0; k < d; k++)
				s += 0.5 * (s2[(size_t)i * d + k] + s2[(size_t)k * d + i]) * r[(size_t)k * d + j];
			v[(size_t)i * d + j] = s;
		}
	for (int i = 0; i < d; i++)
		for (int j = i; j < d; j++) {
			double s = 0;
			for (int k = 0; k < d; k++)
				s += r[(size_t)i * d + k] * v[(size_t)k * d + j];
			a[(size_t)i * d + j] = s;
		}
	for (int i = 0; i < d; i++)
		for (int j = 0; j < i; j++)
			a[(size_t)i * d + j] = a[(size_t)j * d + i];
	jacobi(a, d, w, v);
	clamp_eigen(w, d);
	double tr = 0, dm = 0;
	for (int i = 0; i < d; i++) {
		tr += sqrt(w[i]);
		dm += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
		dm += s1[(size_t)i * d + i] + s2[(size_t)i * d + i];
	}
	free(a);
	double fd = dm - 2 * tr;
	*out = fd > 0 ? fd : 0;
	return DC_OK;
}

enum dc_status dc_frechet_features(const double *x1, size_t n1, const double *x2, size_t n2,
                                   int d, double *out)
{
	if (d < 1 || d > 65535 || n1 < 2 || n2 < 2)
		return dc_fail(DC_EINVAL, "frechet: need at least 2 feature rows per set");
	size_t dd = (size_t)d * d;
	double *m = malloc((2 * dd + 2 * (size_t)d) * sizeof *m);
	if (!m)
		return dc_fail(DC_ENOMEM, "frechet: out of memory (d = %d)", d);
	double *s1 = m, *s2 = s1 + dd, *mu1 = s2 + dd, *mu2 = mu1 + d;
	enum dc_status st = dc_mean_cov(x1, n1, d, mu1, s1);
	if (!st)
		st = dc_mean_cov(x2, n2, d, mu2, s2);
	if (!st)
		st = dc_frechet(mu1, s1, mu2, s2, d, out);
	free(m);
	return st;
}
