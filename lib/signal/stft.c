/*
 * stft.c - Hann windows, the centred power STFT (kissfft's real FFT, one
 * plan per thread because kiss_fftr keeps scratch in its plan) and the
 * librosa 0.10 mel and chroma filterbanks stored with the nonzero range of
 * each row so applying them costs only the nonzero weights.
 */
#include <math.h>
#include <string.h>
#include <kiss_fftr.h>

#include "signal.h"

/* sum_k w[k] s[k] over [lo, hi) with 8 independent partial sums (vectorises
 * without -ffast-math; fixed order, so results do not depend on threads). */
static inline float fb_dot(const float *w, const float *s, int lo, int hi)
{
	float a[8] = { 0 };
	int k = lo;
	for (; k + 8 <= hi; k += 8)
		for (int l = 0; l < 8; l++)
			a[l] += w[k + l] * s[k + l];
	float acc = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
	for (; k < hi; k++)
		acc += w[k] * s[k];
	return acc;
}

/* |X|^2 and |X| of a spectrum row.  The square root is of a non-negative
 * value, so errno handling is not needed and the loop may vectorise. */
static void power_row(float *row, const kiss_fft_cpx *X, size_t F)
{
	for (size_t k = 0; k < F; k++)
		row[k] = X[k].r * X[k].r + X[k].i * X[k].i;
}

__attribute__((optimize("no-math-errno")))
static void magnitude_row(float *row, const kiss_fft_cpx *X, size_t F)
{
	for (size_t k = 0; k < F; k++)
		row[k] = sqrtf(X[k].r * X[k].r + X[k].i * X[k].i);
}

void dc_window_hann(float *w, int n, int periodic)
{
	int d = periodic ? n : n - 1;
	if (n == 1) {
		w[0] = 1.0f;
		return;
	}
	for (int i = 0; i < n; i++)
		w[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / d));
}

size_t dc_stft_frames(size_t n, int hop)
{
	return 1 + n / (size_t)hop;
}

/*
 * The centred STFT frame loop shared by dc_stft_power and
 * dc_stft_filterbank: frame t's |X|^power goes to S + t*F when fb is NULL,
 * else the filterbank output goes to out + t*fb->n_filters (no full
 * spectrogram is kept).
 */
static enum dc_status stft_run(const float *x, size_t n, int n_fft, int hop, int power,
                               const struct dc_filterbank *fb, float *S, size_t T)
{
	size_t F = (size_t)n_fft / 2 + 1;
	float *win = dc_alloc((size_t)n_fft * sizeof(float));
	if (!win)
		return dc_fail(DC_ENOMEM, "stft: out of memory");
	dc_window_hann(win, n_fft, 1);
	int nt = dc_threads();
	if ((size_t)nt > T / 16 + 1)
		nt = (int)(T / 16 + 1);
	int failed = 0;
	const long half = n_fft / 2;
#pragma omp parallel num_threads(nt)
	{
		kiss_fftr_cfg cfg = kiss_fftr_alloc(n_fft, 0, NULL, NULL);
		float *buf = dc_alloc((size_t)n_fft * sizeof(float));
		float *pw = fb ? dc_alloc(F * sizeof(float)) : NULL;
		kiss_fft_cpx *X = dc_alloc(F * sizeof(kiss_fft_cpx));
		int ok = cfg && buf && X && (!fb || pw);
		if (!ok) {
#pragma omp atomic write
			failed = 1;
		}
#pragma omp for schedule(dynamic, 32)
		for (size_t t = 0; t < T; t++) {
			if (!ok)
				continue;
			long start = (long)(t * (size_t)hop) - half;  /* in unpadded samples */
			if (start >= 0 && (size_t)start + (size_t)n_fft <= n) {
				const float *xs = x + start;
				for (long i = 0; i < n_fft; i++)
					buf[i] = xs[i] * win[i];
			} else {
				for (long i = 0; i < n_fft; i++) {
					long j = start + i;
					buf[i] = (j >= 0 && (size_t)j < n) ? x[j] * win[i] : 0.0f;
				}
			}
			kiss_fftr(cfg, buf, X);
			float *row = fb ? pw : S + t * F;
			if (power == 2)
				power_row(row, X, F);
			else
				magnitude_row(row, X, F);
			if (fb) {
				float *o = S + t * (size_t)fb->n_filters;
				for (int r = 0; r < fb->n_filters; r++)
					o[r] = fb_dot(fb->w + (size_t)r * fb->n_bins, pw, fb->lo[r], fb->hi[r]);
			}
		}
		kiss_fftr_free(cfg);
		dc_free(buf);
		dc_free(pw);
		dc_free(X);
	}
	dc_free(win);
	return failed ? dc_fail(DC_ENOMEM, "stft: out of memory") : DC_OK;
}

static enum dc_status stft_alloc(size_t n, int n_fft, int hop, int power, size_t cols,
                                 float **out, size_t *frames)
{
	*out = NULL;
	*frames = 0;
	if (n_fft < 2 || n_fft % 2 || hop < 1 || (power != 1 && power != 2))
		return dc_fail(DC_EINVAL, "stft: invalid n_fft %d / hop %d / power %d", n_fft, hop, power);
	size_t T = dc_stft_frames(n, hop), total;
	if (dc_mul_size(T, cols, &total) || dc_mul_size(total, sizeof(float), &total))
		return dc_fail(DC_EOVERFLOW, "stft: %zu frames too many", T);
	if (!(*out = dc_alloc(total)))
		return dc_fail(DC_ENOMEM, "stft: out of memory");
	*frames = T;
	return DC_OK;
}

enum dc_status dc_stft_power(const float *x, size_t n, int n_fft, int hop, int power,
                             float **out, size_t *frames)
{
	enum dc_status st = stft_alloc(n, n_fft, hop, power, (size_t)n_fft / 2 + 1, out, frames);
	if (st)
		return st;
	if ((st = stft_run(x, n, n_fft, hop, power, NULL, *out, *frames))) {
		dc_free(*out);
		*out = NULL;
		*frames = 0;
	}
	return st;
}

enum dc_status dc_stft_filterbank(const float *x, size_t n, int n_fft, int hop, int power,
                                  const struct dc_filterbank *fb, float **out, size_t *frames)
{
	if (fb->n_bins != n_fft / 2 + 1)
		return dc_fail(DC_EINVAL, "stft: filterbank has %d bins, not %d", fb->n_bins, n_fft / 2 + 1);
	enum dc_status st = stft_alloc(n, n_fft, hop, power, (size_t)fb->n_filters, out, frames);
	if (st)
		return st;
	if ((st = stft_run(x, n, n_fft, hop, power, fb, *out, *frames))) {
		dc_free(*out);
		*out = NULL;
		*frames = 0;
	}
	return st;
}

/* ---- filterbanks -------------------------------------------------------------------- */

void dc_filterbank_release(struct dc_filterbank *fb)
{
	dc_free(fb->w);
	dc_free(fb->lo);
	dc_free(fb->hi);
	memset(fb, 0, sizeof *fb);
}

static enum dc_status fb_alloc(struct dc_filterbank *fb, int nf, int nb)
{
	memset(fb, 0, sizeof *fb);
	fb->n_filters = nf;
	fb->n_bins = nb;
	fb->w = dc_calloc((size_t)nf * (size_t)nb, sizeof(float));
	fb->lo = dc_calloc((size_t)nf, sizeof(int));
	fb->hi = dc_calloc((size_t)nf, sizeof(int));
	if (!fb->w || !fb->lo || !fb->hi) {
		dc_filterbank_release(fb);
		return dc_fail(DC_ENOMEM, "filterbank: out of memory");
	}
	return DC_OK;
}

static void fb_ranges(struct dc_filterbank *fb)
{
	for (int r = 0; r < fb->n_filters; r++) {
		const float *w = fb->w + (size_t)r * fb->n_bins;
		int lo = 0, hi = fb->n_bins;
		while (lo < hi && w[lo] == 0.0f)
			lo++;
		while (hi > lo && w[hi - 1] == 0.0f)
			hi--;
		fb->lo[r] = lo;
		fb->hi[r] = hi;
	}
}

/* Slaney's mel scale (librosa hz_to_mel / mel_to_hz, htk=False). */
static double hz_to_mel(double f)
{
	const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
	const double logstep = log(6.4) / 27.0;
	return f >= min_log_hz ? min_log_mel + log(f / min_log_hz) / logstep : f / f_sp;
}

static double mel_to_hz(double m)
{
	const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
	const double logstep = log(6.4) / 27.0;
	return m >= min_log_mel ? min_log_hz * exp(logstep * (m - min_log_mel)) : f_sp * m;
}

enum dc_status dc_mel_filterbank(struct dc_filterbank *fb, double sr, int n_fft, int n_mels,
                                 double fmin, double fmax)
{
	memset(fb, 0, sizeof *fb);
	if (!(sr > 0) || n_fft < 2 || n_mels < 1 || n_mels > 4096 || n_fft > (1 << 24) ||
	    !(fmin >= 0) || !(fmax > fmin))
		return dc_fail(DC_EINVAL, "mel filterbank: invalid parameters");
	int nb = n_fft / 2 + 1;
	enum dc_status st = fb_alloc(fb, n_mels, nb);
	if (st)
		return st;
	double *mel_f = dc_alloc((size_t)(n_mels + 2) * sizeof(double));
	if (!mel_f) {
		dc_filterbank_release(fb);
		return dc_fail(DC_ENOMEM, "mel filterbank: out of memory");
	}
	double mmin = hz_to_mel(fmin), mmax = hz_to_mel(fmax);
	/* np.linspace(min_mel, max_mel, n_mels + 2) */
	for (int i = 0; i < n_mels + 2; i++) {
		double step = (mmax - mmin) / (n_mels + 1);
		double m = i == n_mels + 1 ? mmax : mmin + i * step;
		mel_f[i] = mel_to_hz(m);
	}
	for (int r = 0; r < n_mels; r++) {
		double fd0 = mel_f[r + 1] - mel_f[r], fd1 = mel_f[r + 2] - mel_f[r + 1];
		double enorm = 2.0 / (mel_f[r + 2] - mel_f[r]);
		float *w = fb->w + (size_t)r * nb;
		for (int k = 0; k < nb; k++) {
			/* np.linspace(0, sr/2, nb) */
			double f = k * (1.0 / (n_fft * (1.0 / sr)));   /* np.fft.rfftfreq */
			double lower = -(mel_f[r] - f) / fd0, upper = (mel_f[r + 2] - f) / fd1;
			double v = lower < upper ? lower : upper;
			/* librosa stores float32 weights, then scales them */
			w[k] = (float)((double)(float)(v > 0 ? v : 0) * enorm);
		}
	}
	dc_free(mel_f);
	fb_ranges(fb);
	return DC_OK;
}

enum dc_status dc_chroma_filterbank(struct dc_filterbank *fb, double sr, int n_fft, int n_chroma,
                                    double tuning)
{
	memset(fb, 0, sizeof *fb);
	if (!(sr > 0) || n_fft < 2 || n_fft > (1 << 24) || n_chroma < 1 || n_chroma > 1200)
		return dc_fail(DC_EINVAL, "chroma filterbank: invalid parameters");
	int nb = n_fft / 2 + 1;
	enum dc_status st = fb_alloc(fb, n_chroma, nb);
	if (st)
		return st;
	double *frq = dc_alloc((size_t)n_fft * sizeof(double));
	double *bw = dc_alloc((size_t)n_fft * sizeof(double));
	double *col = dc_alloc((size_t)n_chroma * sizeof(double));
	if (!frq || !bw || !col) {
		dc_free(frq); dc_free(bw); dc_free(col);
		dc_filterbank_release(fb);
		return dc_fail(DC_ENOMEM, "chroma filterbank: out of memory");
	}
	double a440 = 440.0 * pow(2.0, tuning / n_chroma);
	/* frqbins over the n_fft-1 nonzero bins, bin 0 set 1.5 octaves below bin 1 */
	for (int k = 1; k < n_fft; k++) {
		double f = k * sr / n_fft;
		frq[k] = n_chroma * log2(f / (a440 / 16));
	}
	frq[0] = n_fft > 1 ? frq[1] - 1.5 * n_chroma : 0;
	for (int k = 0; k < n_fft - 1; k++) {
		double d = frq[k + 1] - frq[k];
		bw[k] = d > 1.0 ? d : 1.0;
	}
	bw[n_fft - 1] = 1.0;
	double half = round((double)n_chroma / 2);
	int roll = 3 * (n_chroma / 12);
	for (int k = 0; k < nb; k++) {
		double norm = 0;
		for (int c = 0; c < n_chroma; c++) {
			double D = fmod(frq[k] - c + half + 10.0 * n_chroma, (double)n_chroma);
			if (D < 0)
				D += n_chroma;
			D -= half;
			double z = 2 * D / bw[k];
			col[c] = exp(-0.5 * z * z);
			norm += col[c] * col[c];
		}
		norm = sqrt(norm);
		double oct = frq[k] / n_chroma - 5.0;
		double g = exp(-0.5 * (oct / 2.0) * (oct / 2.0));
		for (int c = 0; c < n_chroma; c++) {
			/* np.roll(wts, -roll, axis=0): output row c is input row c+roll */
			int src = (c + roll) % n_chroma;
			double v = norm > 0 ? col[src] / norm : col[src];
			fb->w[(size_t)c * nb + k] = (float)(v * g);
		}
	}
	dc_free(frq); dc_free(bw); dc_free(col);
	fb_ranges(fb);
	return DC_OK;
}

void dc_filterbank_apply(const struct dc_filterbank *fb, const float *spec, size_t frames,
                         float *out)
{
	const int nf = fb->n_filters, nb = fb->n_bins;
	int nt = dc_threads();
	if ((size_t)nt > frames / 32 + 1)
		nt = (int)(frames / 32 + 1);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 64)
	for (size_t t = 0; t < frames; t++) {
		const float *s = spec + t * (size_t)nb;
		for (int r = 0; r < nf; r++)
			out[t * (size_t)nf + r] = fb_dot(fb->w + (size_t)r * nb, s, fb->lo[r], fb->hi[r]);
	}
}
