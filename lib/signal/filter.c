/*
 * filter.c - time-domain filters with scipy.signal 1.10 semantics:
 * second-order Butterworth biquads (closed form of butter's bilinear
 * transform), lfilter and zero-phase filtfilt (odd extension, lfilter_zi
 * start), Savitzky-Golay smoothing with the 'interp' edges, and polyphase
 * resampling (resample_poly with its Kaiser-windowed firwin).  Recursive
 * filters run in double.
 */
#include <math.h>
#include <string.h>

#include "signal.h"

enum dc_status dc_butter2(struct dc_biquad *f, double cutoff, double sr, int highpass)
{
	if (!(sr > 0) || !(cutoff > 0) || !(cutoff < sr / 2))
		return dc_fail(DC_EINVAL, "butterworth: cutoff %g Hz outside (0, %g)", cutoff, sr / 2);
	double K = tan(M_PI * cutoff / sr), r2 = sqrt(2.0);
	double den = 1.0 + r2 * K + K * K;
	if (highpass) {
		f->b[0] = 1.0 / den;
		f->b[1] = -2.0 / den;
		f->b[2] = 1.0 / den;
	} else {
		f->b[0] = K * K / den;
		f->b[1] = 2.0 * K * K / den;
		f->b[2] = K * K / den;
	}
	f->a[0] = 1.0;
	f->a[1] = 2.0 * (K * K - 1.0) / den;
	f->a[2] = (1.0 - r2 * K + K * K) / den;
	return DC_OK;
}

void dc_lfilter(const struct dc_biquad *f, const double *x, size_t n, double *y, double z[2])
{
	/* Direct form II transposed with y = b0*x + z0 substituted into the
	 * state update, so the loop-carried chain is one multiply-add per
	 * sample: z0' = -a1*z0 + (z1 + c1*x), z1' = -a2*z0 + c2*x. */
	const double b0 = f->b[0], a1 = f->a[1], a2 = f->a[2];
	const double c1 = f->b[1] - a1 * b0, c2 = f->b[2] - a2 * b0;
	double z0 = z[0], z1 = z[1];
	for (size_t i = 0; i < n; i++) {
		double xi = x[i], yi = b0 * xi + z0;
		double t = z1 + c1 * xi;
		z1 = c2 * xi - a2 * z0;
		z0 = t - a1 * z0;
		y[i] = yi;
	}
	z[0] = z0;
	z[1] = z1;
}

enum dc_status dc_filtfilt(const struct dc_biquad *f, const float *x, size_t n, float *y)
{
	if (n == 0)
		return DC_OK;
	size_t pad = n - 1 < 9 ? n - 1 : 9, m;
	if (dc_add_size(n, 2 * pad, &m) || m > SIZE_MAX / sizeof(double))
		return dc_fail(DC_EOVERFLOW, "filtfilt: %zu samples too many", n);
	double *e = dc_alloc(m * sizeof(double));
	if (!e)
		return dc_fail(DC_ENOMEM, "filtfilt: out of memory");
	/* odd extension: 2*x[0] - x[pad..1], x, 2*x[n-1] - x[n-2..n-1-pad] */
	for (size_t i = 0; i < pad; i++)
		e[i] = 2.0 * x[0] - x[pad - i];
	for (size_t i = 0; i < n; i++)
		e[pad + i] = x[i];
	for (size_t i = 0; i < pad; i++)
		e[pad + n + i] = 2.0 * x[n - 1] - x[n - 2 - i];
	/* lfilter_zi: solve (I - companion(a).T) zi = b[1:] - a[1:]*b[0] */
	const double *a = f->a, *b = f->b;
	double B0 = b[1] - a[1] * b[0], B1 = b[2] - a[2] * b[0];
	double zi0 = (B0 + B1) / (1.0 + a[1] + a[2]), zi1 = B1 - a[2] * zi0;
	double z[2] = { zi0 * e[0], zi1 * e[0] };
	dc_lfilter(f, e, m, e, z);
	/* backward pass over the reversed signal */
	for (size_t i = 0; i < m / 2; i++) {
		double t = e[i];
		e[i] = e[m - 1 - i];
		e[m - 1 - i] = t;
	}
	z[0] = zi0 * e[0];
	z[1] = zi1 * e[0];
	dc_lfilter(f, e, m, e, z);
	for (size_t i = 0; i < n; i++)
		y[i] = (float)e[m - 1 - pad - i];
	dc_free(e);
	return DC_OK;
}

/* ---- Savitzky-Golay ------------------------------------------------------------------ */

/* Solve the (p+1)x(p+1) system G u = r in place (partial pivoting). */
static int solve_small(double *G, double *r, int n)
{
	for (int c = 0; c < n; c++) {
		int piv = c;
		for (int i = c + 1; i < n; i++)
			if (fabs(G[i * n + c]) > fabs(G[piv * n + c]))
				piv = i;
		if (G[piv * n + c] == 0)
			return -1;
		if (piv != c) {
			for (int j = 0; j < n; j++) {
				double t = G[c * n + j];
				G[c * n + j] = G[piv * n + j];
				G[piv * n + j] = t;
			}
			double t = r[c]; r[c] = r[piv]; r[piv] = t;
		}
		for (int i = c + 1; i < n; i++) {
			double m = G[i * n + c] / G[c * n + c];
			for (int j = c; j < n; j++)
				G[i * n + j] -= m * G[c * n + j];
			r[i] -= m * r[c];
		}
	}
	for (int c = n - 1; c >= 0; c--) {
		double s = r[c];
		for (int j = c + 1; j < n; j++)
			s -= G[c * n + j] * r[j];
		r[c] = s / G[c * n + c];
	}
	return 0;
}

#define SG_MAX_ORDER 12

/*
 * Least-squares polynomial of degree p through v[0..W) at positions
 * t_j = (j - c) / s; coef receives the p+1 coefficients (ascending powers
 * of t).  Returns -1 if singular.
 */
static int polyfit_scaled(const double *v, int W, int p, double c, double s, double *coef)
{
	double G[(SG_MAX_ORDER + 1) * (SG_MAX_ORDER + 1)] = { 0 }, pw[2 * SG_MAX_ORDER + 1];
	int n = p + 1;
	for (int k = 0; k < n; k++)
		coef[k] = 0;
	for (int j = 0; j < W; j++) {
		double t = (j - c) / s;
		pw[0] = 1;
		for (int k = 1; k <= 2 * p; k++)
			pw[k] = pw[k - 1] * t;
		for (int k = 0; k < n; k++) {
			for (int l = 0; l < n; l++)
				G[k * n + l] += pw[k + l];
			coef[k] += pw[k] * (v ? v[j] : 0);
		}
	}
	return solve_small(G, coef, n);
}

enum dc_status dc_savgol(const float *x, size_t n, int window, int order, float *y)
{
	if (window < 1 || window % 2 == 0 || order < 0 || order >= window || order > SG_MAX_ORDER)
		return dc_fail(DC_EINVAL, "savgol: window %d / order %d invalid", window, order);
	if (n < (size_t)window)
		return dc_fail(DC_EINVAL, "savgol: %zu samples shorter than the window %d", n, window);
	int half = window / 2, np1 = order + 1;
	double *h = dc_alloc((size_t)window * sizeof(double) + (size_t)window * sizeof(double));
	if (!h)
		return dc_fail(DC_ENOMEM, "savgol: out of memory");
	double *v = h + window;
	/* convolution coefficients: c_j = sum_k u_k t_j^k with G u = e0 */
	double G[(SG_MAX_ORDER + 1) * (SG_MAX_ORDER + 1)] = { 0 }, u[SG_MAX_ORDER + 1] = { 0 };
	double s = half > 0 ? half : 1;
	for (int j = -half; j <= half; j++) {
		double t = j / s, pw[2 * SG_MAX_ORDER + 1];
		pw[0] = 1;
		for (int k = 1; k <= 2 * order; k++)
			pw[k] = pw[k - 1] * t;
		for (int k = 0; k < np1; k++)
			for (int l = 0; l < np1; l++)
				G[k * np1 + l] += pw[k + l];
	}
	u[0] = 1;
	if (solve_small(G, u, np1)) {
		dc_free(h);
		return dc_fail(DC_EINVAL, "savgol: singular fit");
	}
	for (int j = -half; j <= half; j++) {
		double t = j / s, p = 1, c = 0;
		for (int k = 0; k < np1; k++, p *= t)
			c += u[k] * p;
		h[j + half] = c;
	}
	int nt = dc_threads();
	if ((size_t)nt > n / 4096 + 1)
		nt = (int)(n / 4096 + 1);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1024)
	for (size_t i = (size_t)half; i < n - (size_t)half; i++) {
		double acc = 0;
		const float *xi = x + i - half;
		for (int j = 0; j < window; j++)
			acc += h[j] * xi[j];
		y[i] = (float)acc;
	}
	/* edges: polynomial fitted to the first / last `window` samples */
	for (int side = 0; side < 2; side++) {
		size_t start = side ? n - (size_t)window : 0;
		double coef[SG_MAX_ORDER + 1], c = (window - 1) / 2.0, sc = c > 0 ? c : 1;
		for (int j = 0; j < window; j++)
			v[j] = x[start + j];
		if (polyfit_scaled(v, window, order, c, sc, coef)) {
			dc_free(h);
			return dc_fail(DC_EINVAL, "savgol: singular fit");
		}
		for (int j = 0; j < half; j++) {
			int pos = side ? window - half + j : j;
			double t = (pos - c) / sc, p = 1, val = 0;
			for (int k = 0; k <= order; k++, p *= t)
				val += coef[k] * p;
			y[start + pos] = (float)val;
		}
	}
	dc_free(h);
	return DC_OK;
}

/* ---- resampling ------------------------------------------------------------------------ */

static double bessel_i0(double x)
{
	double sum = 1, term = 1, q = x * x / 4;
	for (int k = 1; k < 500; k++) {
		term *= q / ((double)k * k);
		sum += term;
		if (term < sum * 1e-17)
			break;
	}
	return sum;
}

static long gcd_l(long a, long b)
{
	while (b) {
		long t = a % b;
		a = b;
		b = t;
	}
	return a;
}

enum dc_status dc_resample_poly(const float *x, size_t n, int up, int down, float **y, size_t *ny)
{
	*y = NULL;
	*ny = 0;
	if (up < 1 || down < 1)
		return dc_fail(DC_EINVAL, "resample: invalid ratio %d/%d", up, down);
	long g = gcd_l(up, down);
	up /= (int)g;
	down /= (int)g;
	size_t nout, bytes;
	if (dc_mul_size(n, (size_t)up, &nout))
		return dc_fail(DC_EOVERFLOW, "resample: %zu samples too many", n);
	nout = nout / (size_t)down + (nout % (size_t)down != 0);
	if (dc_mul_size(nout ? nout : 1, sizeof(float), &bytes))
		return dc_fail(DC_EOVERFLOW, "resample: %zu samples too many", n);
	float *out = dc_alloc(bytes);
	if (!out)
		return dc_fail(DC_ENOMEM, "resample: out of memory");
	if (up == 1 && down == 1) {
		if (n)
			memcpy(out, x, n * sizeof(float));
		*y = out;
		*ny = n;
		return DC_OK;
	}
	long maxr = up > down ? up : down, half = 10 * maxr, L = 2 * half + 1;
	if (L > (1L << 20)) {
		dc_free(out);
		return dc_fail(DC_ELIMIT, "resample: ratio %d/%d needs too long a filter", up, down);
	}
	double *h = dc_alloc((size_t)L * sizeof(double));
	if (!h) {
		dc_free(out);
		return dc_fail(DC_ENOMEM, "resample: out of memory");
	}
	/* firwin(L, 1/maxr, window=('kaiser', 5.0)), scaled to unit DC gain, times up */
	double cut = 1.0 / maxr, alpha = (L - 1) / 2.0, i0b = bessel_i0(5.0), sum = 0;
	for (long i = 0; i < L; i++) {
		double m = i - alpha, a = cut * m;
		double sinc = a == 0 ? 1.0 : sin(M_PI * a) / (M_PI * a);
		double r = (i - alpha) / alpha;
		double w = bessel_i0(5.0 * sqrt(fmax(0.0, 1.0 - r * r))) / i0b;
		h[i] = cut * sinc * w;
		sum += h[i];
	}
	for (long i = 0; i < L; i++)
		h[i] = h[i] / sum * up;
	/*
	 * Polyphase form: output j uses phase p = (j*down + half) % up and the
	 * taps h[p + m*up], m = 0..M-1, against x[k0 - m] with
	 * k0 = (j*down + half) / up.  Each phase's taps are stored reversed
	 * (hp[p][M-1-m]) so the inner loop runs forwards over a zero-padded
	 * copy of x.
	 */
	long M = (L + up - 1) / up;
	size_t padn, hpn;
	float *xp = NULL;
	double *hp = NULL;
	if (!dc_add_size(n, 2 * (size_t)M, &padn) && !dc_mul_size((size_t)up, (size_t)M, &hpn) &&
	    padn < SIZE_MAX / sizeof(float) && hpn < SIZE_MAX / sizeof(double)) {
		xp = dc_calloc(padn, sizeof(float));
		hp = dc_calloc(hpn, sizeof(double));
	}
	if (!xp || !hp) {
		dc_free(xp); dc_free(hp); dc_free(h); dc_free(out);
		return dc_fail(DC_ENOMEM, "resample: out of memory");
	}
	if (n)
		memcpy(xp + M, x, n * sizeof(float));
	for (long p = 0; p < up; p++)
		for (long m = 0; m < M; m++)
			hp[p * M + (M - 1 - m)] = p + m * up < L ? h[p + m * up] : 0.0;
	int nt = dc_threads();
	if ((size_t)nt > nout / 8192 + 1)
		nt = (int)(nout / 8192 + 1);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4096)
	for (size_t j = 0; j < nout; j++) {
		long t = (long)j * down + half, p = t % up, k0 = t / up;
		/* x[k0 - M + 1 .. k0] lives at xp[k0 + 1 .. k0 + M] */
		const float *xs = xp + k0 + 1;
		const double *hs = hp + p * M;
		double a[8] = { 0 };
		long m = 0;
		for (; m + 8 <= M; m += 8)
			for (int l = 0; l < 8; l++)
				a[l] += hs[m + l] * xs[m + l];
		double acc = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
		for (; m < M; m++)
			acc += hs[m] * xs[m];
		out[j] = (float)acc;
	}
	dc_free(xp);
	dc_free(hp);
	dc_free(h);
	*y = out;
	*ny = nout;
	return DC_OK;
}

enum dc_status dc_audio_resample(const float *x, size_t n, int sr_in, int sr_out,
                                 float **y, size_t *ny)
{
	if (sr_in < 1 || sr_out < 1)
		return dc_fail(DC_EINVAL, "resample: invalid rates %d -> %d", sr_in, sr_out);
	return dc_resample_poly(x, n, sr_out, sr_in, y, ny);
}
