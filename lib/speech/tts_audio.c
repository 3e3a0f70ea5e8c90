/*
 * tts_audio.c - FastSpeech 2's mel front end (TacotronSTFT and HiFi-GAN
 * variants), the non-negative least-squares inversion of a mel spectrogram
 * to a linear one, and fast Griffin-Lim (torchaudio 0.13.1 griffinlim).
 * All STFTs use kissfft's real FFT with one plan per thread (kiss_fftr
 * keeps scratch in its plan); frames are independent, and the one
 * reduction across frames (overlap-add) sums each output sample over its
 * frames in ascending order, so results do not depend on threads.
 * Griffin-Lim iterations need one barrier each: the next STFT frame
 * overlap-adds the samples it needs itself instead of waiting for the
 * whole waveform.
 */
#include <math.h>
#include <string.h>
#include <omp.h>
#include <kiss_fftr.h>

#include "../signal/signal.h"
#include "tts_audio.h"

#define DC_TTS_PI 3.14159265358979323846

void dc_tts_mel_params_default(struct dc_tts_mel_params *p)
{
	p->sample_rate = 22050;
	p->n_fft = 1024;
	p->hop = 256;
	p->win = 1024;
	p->n_mels = 80;
	p->fmin = 0;
	p->fmax = 8000;
	p->clip = 1e-5;
	p->hifigan = 0;
}

void dc_griffin_lim_params_default(struct dc_griffin_lim_params *p)
{
	p->n_fft = 1024;
	p->hop = 256;
	p->win = 1024;
	p->n_iter = 32;
	p->momentum = 0.99;
	p->rand_init = 0;
	p->seed = 0;
}

static int stft_geometry_ok(int n_fft, int hop, int win)
{
	return n_fft >= 2 && n_fft % 2 == 0 && n_fft <= (1 << 20) && hop >= 1 && win >= 1 && win <= n_fft;
}

/* Periodic Hann of length win, zero-padded about the centre to n_fft
 * (librosa pad_center / torch.stft: left pad (n_fft-win)/2). */
static float *window_alloc(int n_fft, int win)
{
	float *w = dc_calloc((size_t)n_fft, sizeof(float));
	if (!w)
		return NULL;
	dc_window_hann(w + (n_fft - win) / 2, win, 1);
	return w;
}

static long tts_pad(const struct dc_tts_mel_params *p)
{
	return p->hifigan ? (p->n_fft - p->hop) / 2 : p->n_fft / 2;
}

size_t dc_tts_frames(const struct dc_tts_mel_params *p, size_t n)
{
	size_t padded = n + 2 * (size_t)tts_pad(p);
	if (padded < (size_t)p->n_fft)
		return 0;
	return (padded - (size_t)p->n_fft) / (size_t)p->hop + 1;
}

/* numpy/torch 'reflect' index (no edge repeat) of j into [0, n); valid
 * for -n < j < 2n-1. */
static inline size_t reflect_index(long j, size_t n)
{
	if (j < 0)
		return (size_t)(-j);
	if ((size_t)j >= n)
		return 2 * (n - 1) - (size_t)j;
	return (size_t)j;
}

/* Frame starting at unpadded sample `start`, reflect-extended, windowed. */
static void frame_load(float *buf, const float *x, size_t n, long start, const float *w, int n_fft)
{
	if (start >= 0 && (size_t)start + (size_t)n_fft <= n) {
		const float *xs = x + start;
		for (int i = 0; i < n_fft; i++)
			buf[i] = xs[i] * w[i];
	} else {
		for (int i = 0; i < n_fft; i++)
			buf[i] = x[reflect_index(start + i, n)] * w[i];
	}
}

__attribute__((optimize("no-math-errno")))
static void mag_row(float *row, const kiss_fft_cpx *X, size_t F, float eps)
{
	for (size_t k = 0; k < F; k++)
		row[k] = sqrtf(X[k].r * X[k].r + X[k].i * X[k].i + eps);
}

static int team_size(size_t T)
{
	int nt = dc_threads();
	if ((size_t)nt > T / 8 + 1)
		nt = (int)(T / 8 + 1);
	return nt < 1 ? 1 : nt;
}

/* Magnitude STFT of x: frame t starts at unpadded sample t*hop - pad. */
static enum dc_status magnitude_run(const float *x, size_t n, int n_fft, int hop, int win, long pad,
                                    float eps, float *S, size_t T)
{
	size_t F = (size_t)n_fft / 2 + 1;
	float *w = window_alloc(n_fft, win);
	if (!w)
		return dc_fail(DC_ENOMEM, "tts-mel: out of memory");
	int failed = 0;
#pragma omp parallel num_threads(team_size(T))
	{
		kiss_fftr_cfg cfg = kiss_fftr_alloc(n_fft, 0, NULL, NULL);
		float *buf = dc_alloc((size_t)n_fft * sizeof(float));
		kiss_fft_cpx *X = dc_alloc(F * sizeof(kiss_fft_cpx));
		int ok = cfg && buf && X;
		if (!ok) {
#pragma omp atomic write
			failed = 1;
		}
#pragma omp for schedule(dynamic, 16)
		for (size_t t = 0; t < T; t++) {
			if (!ok)
				continue;
			frame_load(buf, x, n, (long)(t * (size_t)hop) - pad, w, n_fft);
			kiss_fftr(cfg, buf, X);
			mag_row(S + t * F, X, F, eps);
		}
		kiss_fftr_free(cfg);
		dc_free(buf);
		dc_free(X);
	}
	dc_free(w);
	return failed ? dc_fail(DC_ENOMEM, "tts-mel: out of memory") : DC_OK;
}

static enum dc_status alloc_2d(float **out, size_t rows, size_t cols, const char *what)
{
	size_t total;
	if (dc_mul_size(rows, cols, &total) || dc_mul_size(total, sizeof(float), &total))
		return dc_fail(DC_EOVERFLOW, "%s: %zu x %zu too large", what, rows, cols);
	if (!(*out = dc_alloc(total ? total : 1)))
		return dc_fail(DC_ENOMEM, "%s: out of memory", what);
	return DC_OK;
}

static enum dc_status mel_params_check(const struct dc_tts_mel_params *p)
{
	if (!stft_geometry_ok(p->n_fft, p->hop, p->win) || !(p->sample_rate > 0) || p->n_mels < 1 ||
	    p->n_mels > 4096 || !(p->fmin >= 0) || !(p->fmax > p->fmin) || !(p->clip > 0) ||
	    (p->hifigan && p->hop > p->n_fft))
		return dc_fail(DC_EINVAL, "tts-mel: invalid parameters (n_fft %d, hop %d, win %d, n_mels %d)",
		               p->n_fft, p->hop, p->win, p->n_mels);
	return DC_OK;
}

enum dc_status dc_tts_magnitude(const float *x, size_t n, const struct dc_tts_mel_params *p,
                                float **mag, size_t *frames)
{
	*mag = NULL;
	*frames = 0;
	enum dc_status st = mel_params_check(p);
	if (st)
		return st;
	long pad = tts_pad(p);
	size_t T = dc_tts_frames(p, n);
	if (n <= (size_t)pad || T == 0)
		return dc_fail(DC_EINVAL, "tts-mel: %zu samples too short for reflect padding of %ld", n, pad);
	size_t F = (size_t)p->n_fft / 2 + 1;
	if ((st = alloc_2d(mag, T, F, "tts-mel")))
		return st;
	if ((st = magnitude_run(x, n, p->n_fft, p->hop, p->win, pad, p->hifigan ? 1e-9f : 0.0f, *mag, T))) {
		dc_free(*mag);
		*mag = NULL;
		return st;
	}
	*frames = T;
	return DC_OK;
}

enum dc_status dc_tts_mel(const float *x, size_t n, const struct dc_tts_mel_params *p,
                          float **mel, float **energy, size_t *frames)
{
	*mel = NULL;
	if (energy)
		*energy = NULL;
	*frames = 0;
	float *S;
	size_t T;
	enum dc_status st = dc_tts_magnitude(x, n, p, &S, &T);
	if (st)
		return st;
	struct dc_filterbank fb;
	if ((st = dc_mel_filterbank(&fb, p->sample_rate, p->n_fft, p->n_mels, p->fmin, p->fmax))) {
		dc_free(S);
		return st;
	}
	size_t F = (size_t)p->n_fft / 2 + 1;
	if ((st = alloc_2d(mel, T, (size_t)p->n_mels, "tts-mel")) ||
	    (energy && (st = alloc_2d(energy, T, 1, "tts-mel")))) {
		dc_free(*mel);
		*mel = NULL;
		dc_free(S);
		dc_filterbank_release(&fb);
		return st;
	}
	if (energy)
		for (size_t t = 0; t < T; t++) {
			double e = 0;
			for (size_t k = 0; k < F; k++)
				e += (double)S[t * F + k] * S[t * F + k];
			(*energy)[t] = (float)sqrt(e);
		}
	dc_filterbank_apply(&fb, S, T, *mel);
	size_t total = T * (size_t)p->n_mels;
	float clip = (float)p->clip;
	for (size_t i = 0; i < total; i++)
		(*mel)[i] = logf((*mel)[i] > clip ? (*mel)[i] : clip);
	dc_filterbank_release(&fb);
	dc_free(S);
	*frames = T;
	return DC_OK;
}

/* ---- mel -> linear (NNLS) ------------------------------------------------------------ */

/* In-place Cholesky of the SPD n x n matrix a (lower triangle); -1 if not
 * positive definite. */
static int cholesky(double *a, int n)
{
	for (int j = 0; j < n; j++) {
		double d = a[(size_t)j * n + j];
		for (int k = 0; k < j; k++)
			d -= a[(size_t)j * n + k] * a[(size_t)j * n + k];
		if (!(d > 0))
			return -1;
		d = sqrt(d);
		a[(size_t)j * n + j] = d;
		for (int i = j + 1; i < n; i++) {
			double s = a[(size_t)i * n + j];
			for (int k = 0; k < j; k++)
				s -= a[(size_t)i * n + k] * a[(size_t)j * n + k];
			a[(size_t)i * n + j] = s / d;
		}
	}
	return 0;
}

static void chol_solve(const double *L, int n, double *b)
{
	for (int i = 0; i < n; i++) {
		double s = b[i];
		for (int k = 0; k < i; k++)
			s -= L[(size_t)i * n + k] * b[k];
		b[i] = s / L[(size_t)i * n + i];
	}
	for (int i = n - 1; i >= 0; i--) {
		double s = b[i];
		for (int k = i + 1; k < n; k++)
			s -= L[(size_t)k * n + i] * b[k];
		b[i] = s / L[(size_t)i * n + i];
	}
}

/* r = M s (rows of the filterbank over their nonzero ranges). */
static void fb_mul(const struct dc_filterbank *fb, const double *s, double *r)
{
	for (int m = 0; m < fb->n_filters; m++) {
		const float *w = fb->w + (size_t)m * fb->n_bins;
		double acc = 0;
		for (int k = fb->lo[m]; k < fb->hi[m]; k++)
			acc += w[k] * s[k];
		r[m] = acc;
	}
}

/* g = M^T r */
static void fb_mul_t(const struct dc_filterbank *fb, const double *r, double *g)
{
	memset(g, 0, (size_t)fb->n_bins * sizeof(double));
	for (int m = 0; m < fb->n_filters; m++) {
		const float *w = fb->w + (size_t)m * fb->n_bins;
		for (int k = fb->lo[m]; k < fb->hi[m]; k++)
			g[k] += w[k] * r[m];
	}
}

enum dc_status dc_mel_to_linear(const float *logmel, size_t frames,
                                const struct dc_tts_mel_params *p, int nnls_iter,
                                float **mag, double *resid)
{
	*mag = NULL;
	enum dc_status st = mel_params_check(p);
	if (st)
		return st;
	if (nnls_iter < 0)
		return dc_fail(DC_EINVAL, "mel-to-linear: nnls_iter %d < 0", nnls_iter);
	size_t F = (size_t)p->n_fft / 2 + 1;
	int nm = p->n_mels;
	struct dc_filterbank fb;
	if ((st = dc_mel_filterbank(&fb, p->sample_rate, p->n_fft, nm, p->fmin, p->fmax)))
		return st;
	double *G = dc_calloc((size_t)nm * nm, sizeof(double));
	if (!G || (st = alloc_2d(mag, frames, F, "mel-to-linear"))) {
		dc_free(G);
		dc_filterbank_release(&fb);
		return st ? st : dc_fail(DC_ENOMEM, "mel-to-linear: out of memory");
	}
	/* G = M M^T; its largest eigenvalue by power iteration gives the step. */
	double tr = 0;
	for (int a = 0; a < nm; a++)
		for (int b = 0; b < nm; b++) {
			const float *wa = fb.w + (size_t)a * F, *wb = fb.w + (size_t)b * F;
			int lo = fb.lo[a] > fb.lo[b] ? fb.lo[a] : fb.lo[b];
			int hi = fb.hi[a] < fb.hi[b] ? fb.hi[a] : fb.hi[b];
			double s = 0;
			for (int k = lo; k < hi; k++)
				s += (double)wa[k] * wb[k];
			G[(size_t)a * nm + b] = s;
			if (a == b)
				tr += s;
		}
	double lmax = 0;
	{
		double v[4096], u[4096];
		for (int a = 0; a < nm; a++)
			v[a] = 1.0;
		for (int it = 0; it < 200; it++) {
			double nrm = 0;
			for (int a = 0; a < nm; a++) {
				double s = 0;
				for (int b = 0; b < nm; b++)
					s += G[(size_t)a * nm + b] * v[b];
				u[a] = s;
				nrm += s * s;
			}
			nrm = sqrt(nrm);
			if (!(nrm > 0))
				break;
			lmax = nrm;   /* |G v| with |v| = 1 converges to lambda_max */
			for (int a = 0; a < nm; a++)
				v[a] = u[a] / nrm;
		}
	}
	/* A tiny ridge keeps the Cholesky defined when a filter is empty
	 * (too many mels for n_fft); it changes nothing measurable otherwise. */
	for (int a = 0; a < nm; a++)
		G[(size_t)a * nm + a] += 1e-12 * tr / nm;
	if (!(lmax > 0) || cholesky(G, nm)) {
		dc_free(G);
		dc_free(*mag);
		*mag = NULL;
		dc_filterbank_release(&fb);
		return dc_fail(DC_EINVAL, "mel-to-linear: mel basis is degenerate");
	}
	double step = 1.0 / (lmax * 1.001);
	double num = 0, den = 0;
	int failed = 0;
#pragma omp parallel num_threads(team_size(frames)) reduction(+:num, den)
	{
		double *s = dc_alloc(4 * F * sizeof(double) + 2 * (size_t)nm * sizeof(double));
		if (!s) {
#pragma omp atomic write
			failed = 1;
		}
		double *z = s + F, *s0 = s + 2 * F, *g = s + 3 * F, *tgt = s + 4 * F, *r = tgt + nm;
#pragma omp for schedule(dynamic, 8)
		for (size_t t = 0; t < frames; t++) {
			if (!s)
				continue;
			const float *lm = logmel + t * (size_t)nm;
			for (int m = 0; m < nm; m++)
				r[m] = tgt[m] = exp((double)lm[m]);
			chol_solve(G, nm, r);
			fb_mul_t(&fb, r, s);
			for (size_t k = 0; k < F; k++) {
				s[k] = s[k] > 0 ? s[k] : 0;
				z[k] = s[k];
			}
			/* FISTA on 0.5|M s - tgt|^2 subject to s >= 0 */
			double tk = 1.0;
			for (int it = 0; it < nnls_iter; it++) {
				fb_mul(&fb, z, r);
				for (int m = 0; m < nm; m++)
					r[m] -= tgt[m];
				fb_mul_t(&fb, r, g);
				double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk));
				double beta = (tk - 1.0) / tn;
				for (size_t k = 0; k < F; k++) {
					double sn = z[k] - step * g[k];
					sn = sn > 0 ? sn : 0;
					z[k] = sn + beta * (sn - s[k]);
					s0[k] = sn;
				}
				memcpy(s, s0, F * sizeof(double));
				tk = tn;
			}
			fb_mul(&fb, s, r);
			for (int m = 0; m < nm; m++) {
				double d = r[m] - tgt[m];
				num += d * d;
				den += tgt[m] * tgt[m];
			}
			float *o = *mag + t * F;
			for (size_t k = 0; k < F; k++)
				o[k] = (float)s[k];
		}
		dc_free(s);
	}
	dc_free(G);
	dc_filterbank_release(&fb);
	if (failed) {
		dc_free(*mag);
		*mag = NULL;
		return dc_fail(DC_ENOMEM, "mel-to-linear: out of memory");
	}
	if (resid)
		*resid = den > 0 ? sqrt(num / den) : 0;
	return DC_OK;
}

/* ---- Griffin-Lim ------------------------------------------------------------------- */

/* Per-thread FFT state. */
struct gl_thread {
	kiss_fftr_cfg fwd, inv;
	float *buf;
	kiss_fft_cpx *X;
};

static void gl_threads_free(struct gl_thread *th, int nt)
{
	if (!th)
		return;
	for (int i = 0; i < nt; i++) {
		kiss_fftr_free(th[i].fwd);
		kiss_fftr_free(th[i].inv);
		dc_free(th[i].buf);
		dc_free(th[i].X);
	}
	dc_free(th);
}

/* The state shared by the phases of one Griffin-Lim run. */
struct gl {
	int n_fft, hop;
	size_t T, F, L;
	const float *mag, *w;
	float *A;        /* [T][F] complex angles (re, im) */
	float *P;        /* [T][F] complex previous rebuilt spectrum */
	float *fr[2];    /* [T][n_fft] windowed inverse FFTs, alternate iterations */
	float *inv_env;  /* [L] 1 / sum of squared windows */
	float mom;
};

/* Sample j of istft's output from the windowed inverse FFTs fr: its frames
 * summed in ascending order, times 1/envelope.  Every caller computes a
 * sample the same way, so the result is independent of who computes it. */
static inline float gl_sample(const struct gl *g, const float *fr, size_t j)
{
	const size_t n_fft = (size_t)g->n_fft, hop = (size_t)g->hop;
	size_t pos = j + n_fft / 2;                      /* in the padded signal */
	size_t t_hi = pos / hop;                         /* last frame with t*hop <= pos */
	if (t_hi > g->T - 1)
		t_hi = g->T - 1;
	size_t t_lo = pos + 1 > n_fft ? (pos + 1 - n_fft + hop - 1) / hop : 0;
	float acc = 0;
	for (size_t t = t_lo; t <= t_hi; t++)
		acc += fr[t * n_fft + (pos - t * hop)];
	return acc * g->inv_env[j];
}

/* fr = windowed inverse FFTs of mag * A (inside a parallel region; the
 * loop's barrier ends it). */
static void gl_frames(struct gl *g, struct gl_thread *th, float *fr)
{
	size_t F = g->F;
	int n_fft = g->n_fft;
	float scale = 1.0f / (float)n_fft;
#pragma omp for schedule(static)
	for (size_t t = 0; t < g->T; t++) {
		const float *m = g->mag + t * F, *a = g->A + 2 * t * F;
		for (size_t k = 0; k < F; k++) {
			th->X[k].r = m[k] * a[2 * k];
			th->X[k].i = m[k] * a[2 * k + 1];
		}
		kiss_fftri(th->inv, th->X, th->buf);
		float *o = fr + t * (size_t)n_fft;
		for (int i = 0; i < n_fft; i++)
			o[i] = th->buf[i] * scale * g->w[i];
	}
}

/* R = stft(istft(fr)), each frame's samples overlap-added on the spot;
 * A = (R - mom P) / (|R - mom P| + 1e-16); P = R.  No barrier: frame t of
 * A is next read by gl_frames on the same thread (same static schedule),
 * and fr alternates between iterations, so the next gl_frames writes the
 * other buffer while this one may still be read. */
__attribute__((optimize("no-math-errno")))
static void gl_update(struct gl *g, struct gl_thread *th, const float *fr)
{
	size_t F = g->F;
	float mom = g->mom;
	const int n_fft = g->n_fft;
#pragma omp for schedule(static) nowait
	for (size_t t = 0; t < g->T; t++) {
		long start = (long)(t * (size_t)g->hop) - n_fft / 2;
		if (start >= 0 && (size_t)start + (size_t)n_fft <= g->L) {
			/* interior: overlap-add frame by frame, which sums each sample
			 * over the same frames in the same order as gl_sample */
			const size_t hop = (size_t)g->hop, p0 = t * hop;   /* padded position of buf[0] */
			size_t u_lo = p0 + 1 > (size_t)n_fft ? (p0 + 1 - (size_t)n_fft + hop - 1) / hop : 0;
			size_t u_hi = (p0 + (size_t)n_fft - 1) / hop;
			if (u_hi > g->T - 1)
				u_hi = g->T - 1;
			memset(th->buf, 0, (size_t)n_fft * sizeof(float));
			for (size_t u = u_lo; u <= u_hi; u++) {
				/* frame u covers padded [u*hop, u*hop+n_fft) */
				size_t a = u * hop > p0 ? u * hop - p0 : 0;
				size_t b = u * hop + (size_t)n_fft - p0;
				if (b > (size_t)n_fft)
					b = (size_t)n_fft;
				const float *f = fr + u * (size_t)n_fft + (p0 - u * hop);   /* index by i */
				for (size_t i = a; i < b; i++)
					th->buf[i] += f[i];
			}
			const float *ie = g->inv_env + start;
			for (int i = 0; i < n_fft; i++)
				th->buf[i] = th->buf[i] * ie[i] * g->w[i];
		} else {
			for (int i = 0; i < n_fft; i++)
				th->buf[i] = gl_sample(g, fr, reflect_index(start + i, g->L)) * g->w[i];
		}
		kiss_fftr(th->fwd, th->buf, th->X);
		float *a = g->A + 2 * t * F, *pv = g->P + 2 * t * F;
		for (size_t k = 0; k < F; k++) {
			float re = th->X[k].r, im = th->X[k].i;
			float ar = re - mom * pv[2 * k], ai = im - mom * pv[2 * k + 1];
			float d = sqrtf(ar * ar + ai * ai) + 1e-16f;
			a[2 * k] = ar / d;
			a[2 * k + 1] = ai / d;
			pv[2 * k] = re;
			pv[2 * k + 1] = im;
		}
	}
}

static enum dc_status gl_check(int n_fft, int hop, int win, size_t T)
{
	if (!stft_geometry_ok(n_fft, hop, win))
		return dc_fail(DC_EINVAL, "griffin-lim: invalid n_fft %d / hop %d / win %d", n_fft, hop, win);
	if (T < 2 || (T - 1) * (size_t)hop <= (size_t)n_fft / 2)
		return dc_fail(DC_EINVAL, "griffin-lim: %zu frames too few (need hop*(frames-1) > n_fft/2)", T);
	if (T > ((size_t)1 << 40) / (size_t)n_fft)
		return dc_fail(DC_EOVERFLOW, "griffin-lim: %zu frames too many", T);
	return DC_OK;
}

enum dc_status dc_griffin_lim(const float *mag, size_t frames, const struct dc_griffin_lim_params *p,
                              float **y, size_t *n)
{
	*y = NULL;
	*n = 0;
	enum dc_status st = gl_check(p->n_fft, p->hop, p->win, frames);
	if (st)
		return st;
	if (p->n_iter < 0 || !(p->momentum >= 0 && p->momentum < 1))
		return dc_fail(DC_EINVAL, "griffin-lim: n_iter %d / momentum %g out of range", p->n_iter, p->momentum);
	struct gl g = { 0 };
	g.n_fft = p->n_fft;
	g.hop = p->hop;
	g.T = frames;
	g.F = (size_t)p->n_fft / 2 + 1;
	g.L = (size_t)p->hop * (frames - 1);
	g.mag = mag;
	g.mom = (float)(p->momentum / (1.0 + p->momentum));
	size_t TF = g.T * g.F;
	int nt = team_size(frames);
	float *w = window_alloc(p->n_fft, p->win);
	g.w = w;
	g.A = dc_alloc(2 * TF * sizeof(float));
	g.P = dc_calloc(2 * TF, sizeof(float));
	g.fr[0] = dc_alloc(g.T * (size_t)g.n_fft * sizeof(float));
	g.fr[1] = dc_alloc(g.T * (size_t)g.n_fft * sizeof(float));
	g.inv_env = dc_alloc(g.L * sizeof(float));
	float *out = dc_alloc(g.L * sizeof(float));
	struct gl_thread *th = dc_calloc((size_t)nt, sizeof *th);
	int ok = w && g.A && g.P && g.fr[0] && g.fr[1] && g.inv_env && out && th;
	for (int i = 0; ok && i < nt; i++) {
		th[i].fwd = kiss_fftr_alloc(g.n_fft, 0, NULL, NULL);
		th[i].inv = kiss_fftr_alloc(g.n_fft, 1, NULL, NULL);
		th[i].buf = dc_alloc((size_t)g.n_fft * sizeof(float));
		th[i].X = dc_alloc(g.F * sizeof(kiss_fft_cpx));
		ok = th[i].fwd && th[i].inv && th[i].buf && th[i].X;
	}
	if (!ok) {
		st = dc_fail(DC_ENOMEM, "griffin-lim: out of memory");
		goto done;
	}
	/* window envelope over the kept samples, as torch.istft (which
	 * refuses envelopes below 1e-11) */
	for (size_t j = 0; j < g.L; j++) {
		size_t pos = j + (size_t)g.n_fft / 2, hop = (size_t)g.hop;
		size_t t_hi = pos / hop < g.T - 1 ? pos / hop : g.T - 1;
		size_t t_lo = pos + 1 > (size_t)g.n_fft ? (pos + 1 - (size_t)g.n_fft + hop - 1) / hop : 0;
		float e = 0;
		for (size_t t = t_lo; t <= t_hi; t++)
			e += w[pos - t * hop] * w[pos - t * hop];
		if (!(e > 1e-11f)) {
			st = dc_fail(DC_EINVAL, "griffin-lim: window overlap-add is zero at sample %zu (hop %d too large)",
			             j, g.hop);
			goto done;
		}
		g.inv_env[j] = 1.0f / e;
	}
	if (p->rand_init) {
		float *u = dc_alloc(2 * TF * sizeof(float));
		if (!u) {
			st = dc_fail(DC_ENOMEM, "griffin-lim: out of memory");
			goto done;
		}
		dc_rng_uniform(p->seed, 0, 0, u, TF);
		dc_rng_uniform(p->seed, 1, 0, u + TF, TF);
		for (size_t i = 0; i < TF; i++) {
			g.A[2 * i] = u[i];
			g.A[2 * i + 1] = u[TF + i];
		}
		dc_free(u);
	} else {
		for (size_t i = 0; i < TF; i++) {
			g.A[2 * i] = 1.0f;
			g.A[2 * i + 1] = 0.0f;
		}
	}
#pragma omp parallel num_threads(nt)
	{
		struct gl_thread *me = th + omp_get_thread_num();
		for (int it = 0; it < p->n_iter; it++) {
			gl_frames(&g, me, g.fr[it & 1]);
			gl_update(&g, me, g.fr[it & 1]);
		}
		const float *fr = g.fr[p->n_iter & 1];
		gl_frames(&g, me, g.fr[p->n_iter & 1]);
#pragma omp for schedule(static)
		for (size_t j = 0; j < g.L; j++)
			out[j] = gl_sample(&g, fr, j);
	}
	*y = out;
	*n = g.L;
	out = NULL;
done:
	gl_threads_free(th, nt);
	dc_free(w);
	dc_free(g.A);
	dc_free(g.P);
	dc_free(g.fr[0]);
	dc_free(g.fr[1]);
	dc_free(g.inv_env);
	dc_free(out);
	return st;
}

enum dc_status dc_spectral_convergence(const float *S, size_t frames, const float *y, size_t n,
                                       int n_fft, int hop, int win, double *sc)
{
	struct dc_tts_mel_params p;
	dc_tts_mel_params_default(&p);
	p.n_fft = n_fft;
	p.hop = hop;
	p.win = win;
	float *R;
	size_t T;
	enum dc_status st = dc_tts_magnitude(y, n, &p, &R, &T);
	if (st)
		return st;
	if (T != frames) {
		dc_free(R);
		return dc_fail(DC_EINVAL, "spectral convergence: %zu samples give %zu frames, not %zu", n, T, frames);
	}
	size_t total = T * ((size_t)n_fft / 2 + 1);
	double num = 0, den = 0;
	for (size_t i = 0; i < total; i++) {
		double d = (double)S[i] - R[i];
		num += d * d;
		den += (double)S[i] * S[i];
	}
	dc_free(R);
	*sc = den > 0 ? sqrt(num / den) : 0;
	return DC_OK;
}

/* ---- pitch shift: envelope pre-warp + resampling ----------------------------------------- */

enum dc_status dc_mel_envelope_warp(float *logmel, size_t frames, const struct dc_tts_mel_params *p,
                                    double a, int lifter)
{
	enum dc_status st = mel_params_check(p);
	if (st)
		return st;
	int n = p->n_fft;
	size_t F = (size_t)n / 2 + 1;
	if (!(a >= 0.25 && a <= 4))
		return dc_fail(DC_EINVAL, "envelope warp: factor %g outside [0.25, 4]", a);
	if (lifter < 1 || (size_t)lifter >= F)
		return dc_fail(DC_EINVAL, "envelope warp: lifter %d outside [1, %zu)", lifter, F);
	if (frames == 0 || a == 1)
		return DC_OK;
	float *mag = NULL;
	if ((st = dc_mel_to_linear(logmel, frames, p, 30, &mag, NULL)))
		return st;
	struct dc_filterbank fb;
	if ((st = dc_mel_filterbank(&fb, p->sample_rate, n, p->n_mels, p->fmin, p->fmax))) {
		dc_free(mag);
		return st;
	}
	int nt = team_size(frames);
	int failed = 0;
#pragma omp parallel num_threads(nt) reduction(|:failed)
	{
		kiss_fftr_cfg fwd = kiss_fftr_alloc(n, 0, NULL, NULL);
		kiss_fftr_cfg inv = kiss_fftr_alloc(n, 1, NULL, NULL);
		kiss_fft_cpx *X = dc_alloc(F * sizeof *X);
		float *c = dc_alloc((size_t)n * sizeof *c);
		float *L = dc_alloc(F * sizeof *L), *E = dc_alloc(F * sizeof *E);
		if (!fwd || !inv || !X || !c || !L || !E) {
			failed = 1;
		} else {
#pragma omp for schedule(static)
			for (size_t t = 0; t < frames; t++) {
				float *m = mag + t * F;
				/* real cepstrum of the log magnitude, liftered: the envelope */
				for (size_t k = 0; k < F; k++) {
					L[k] = logf(m[k] > 1e-5f ? m[k] : 1e-5f);
					X[k].r = L[k];
					X[k].i = 0;
				}
				kiss_fftri(inv, X, c);
				for (int i = lifter; i <= n - lifter; i++)
					c[i] = 0;
				kiss_fftr(fwd, c, X);
				for (size_t k = 0; k < F; k++)
					E[k] = X[k].r / (float)n;
				/* envelope read at k*a, fine structure (L - E) kept */
				for (size_t k = 0; k < F; k++) {
					double s = (double)k * a;
					size_t i0 = (size_t)s;
					double e;
					if (i0 >= F - 1) {
						e = E[F - 1];
					} else {
						double fr = s - (double)i0;
						e = E[i0] * (1 - fr) + E[i0 + 1] * fr;
					}
					m[k] = (float)exp(e + (double)(L[k] - E[k]));
				}
			}
		}
		kiss_fftr_free(fwd);
		kiss_fftr_free(inv);
		dc_free(X);
		dc_free(c);
		dc_free(L);
		dc_free(E);
	}
	if (failed) {
		dc_filterbank_release(&fb);
		dc_free(mag);
		return dc_fail(DC_ENOMEM, "envelope warp: out of memory");
	}
	dc_filterbank_apply(&fb, mag, frames, logmel);
	size_t total = frames * (size_t)p->n_mels;
	float clip = (float)p->clip;
	for (size_t i = 0; i < total; i++)
		logmel[i] = logf(logmel[i] > clip ? logmel[i] : clip);
	dc_filterbank_release(&fb);
	dc_free(mag);
	return DC_OK;
}

enum dc_status dc_resample_factor(const float *x, size_t n, double a, float **y, size_t *ny)
{
	*y = NULL;
	*ny = 0;
	if (!(a >= 0.25 && a <= 4))
		return dc_fail(DC_EINVAL, "resample: factor %g outside [0.25, 4]", a);
	size_t m = (size_t)llround((double)n / a);
	if (m == 0)
		return DC_OK;
	float *out = dc_alloc(m * sizeof *out);
	if (!out)
		return dc_fail(DC_ENOMEM, "resample: out of memory");
	double fc = a > 1 ? 1 / a : 1;          /* cutoff, in units of the input's Nyquist */
	double W = 16 / fc;                     /* half-width in input samples */
#pragma omp parallel for schedule(static) num_threads(team_size(m / 256 + 1))
	for (size_t j = 0; j < m; j++) {
		double c = (double)j * a;
		long i0 = (long)ceil(c - W), i1 = (long)floor(c + W);
		if (i0 < 0)
			i0 = 0;
		if (i1 > (long)n - 1)
			i1 = (long)n - 1;
		double acc = 0;
		for (long i = i0; i <= i1; i++) {
			double t = c - (double)i, u = t / W;
			double s = t == 0 ? 1 : sin(DC_TTS_PI * fc * t) / (DC_TTS_PI * fc * t);
			double w = 0.42 + 0.5 * cos(DC_TTS_PI * u) + 0.08 * cos(2 * DC_TTS_PI * u);   /* Blackman */
			acc += x[i] * fc * s * w;
		}
		out[j] = (float)acc;
	}
	*y = out;
	*ny = m;
	return DC_OK;
}
