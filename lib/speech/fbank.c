/*
 * fbank.c - speech front ends for speaker embeddings: the Kaldi log-mel
 * filterbank step by step as torchaudio 0.13 compliance.kaldi.fbank does it
 * (framing with snip_edges or Kaldi's edge-repeating reflection, dither,
 * DC removal, raw or windowed log energy with its floor, replicate-edge
 * pre-emphasis, window, zero padding, power or magnitude spectrum, Kaldi
 * mel banks with a zero Nyquist weight, log with an FLT_EPSILON floor,
 * energy column, column mean subtraction), SpeechBrain's Fbank (centred
 * zero-padded STFT with a periodic Hamming window, HTK-mel triangles of
 * SpeechBrain's own symmetric shape, 10*log10 with amin 1e-10 and an
 * 80 dB floor under the utterance maximum), mean normalisation and an
 * energy voice-activity trimmer.
 *
 * Frames run in double, including the FFT: torchaudio's own float32
 * pipeline differs from the exact result by up to 5e-4 in the log domain
 * on real speech (low-energy mel bins of quiet frames), and a float FFT
 * alone adds as much, so the spectrum comes from the small mixed-radix
 * double FFT below (kissfft's algorithm; the Debian kissfft is float-only)
 * rather than lib/signal's kiss_fftr (its cost is O(n log n) for sizes
 * with small factors, O(n p) with a prime factor p: power-of-two frames,
 * the default, are the fast case).  Frames are independent and are spread
 * over dc_threads(); results do not depend on the thread count.
 *
 * Dither, as in torchaudio, is fresh noise per frame (a sample shared by
 * two frames gets two draws): dc_rng_normal(seed, "fbank" stream, offset
 * frame * window length), so it is reproducible by seed but not the same
 * numbers as torch.randn.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "fbank.h"

/* ---- double-precision real FFT ------------------------------------------------------ */

struct cpx {
	double r, i;
};

/* Plan for a real FFT of even length n through a complex FFT of h = n/2
 * points: factor pairs (p, m) as in kissfft, twiddles exp(-2 pi i k/n). */
struct rfft {
	int n, h;
	int fac[64];
	struct cpx *tw;   /* [n] */
};

static void rfft_release(struct rfft *pl)
{
	dc_free(pl->tw);
	pl->tw = NULL;
}

static enum dc_status rfft_init(struct rfft *pl, int n)
{
	pl->n = n;
	pl->h = n / 2;
	pl->tw = dc_alloc((size_t)n * sizeof(struct cpx));
	if (!pl->tw)
		return dc_fail(DC_ENOMEM, "fbank: out of memory");
	for (int k = 0; k < n; k++) {
		double a = -2.0 * M_PI * k / n;
		pl->tw[k].r = cos(a);
		pl->tw[k].i = sin(a);
	}
	/* factors 2 first, then odd ones; h < 2^31 has at most 31 factors */
	int m = pl->h, nf = 0, p = 2;
	if (m == 1) {
		pl->fac[0] = 1;
		pl->fac[1] = 1;
		return DC_OK;
	}
	while (m > 1) {
		while (m % p) {
			p = p == 2 ? 3 : p + 2;
			if ((long)p * p > m)
				p = m;
		}
		m /= p;
		pl->fac[nf++] = p;
		pl->fac[nf++] = m;
	}
	return DC_OK;
}

/* twiddle exp(-2 pi i k/h) of the half-length complex FFT */
static inline struct cpx tw_h(const struct rfft *pl, size_t k)
{
	return pl->tw[2 * k];
}

/* kissfft's kf_work in double: out[p*m] = DFT of in[0], in[fstride], ... */
static void cfft_work(const struct rfft *pl, struct cpx *out, const struct cpx *in, size_t fstride,
                      const int *fac, struct cpx *scr)
{
	const int p = fac[0], m = fac[1];
	if (m == 1)
		for (int q = 0; q < p; q++)
			out[q] = in[q * fstride];
	else
		for (int q = 0; q < p; q++)
			cfft_work(pl, out + (size_t)q * m, in + q * fstride, fstride * p, fac + 2, scr);
	if (p == 2) {
		for (int u = 0; u < m; u++) {
			struct cpx w = tw_h(pl, u * fstride), b = out[u + m], t;
			t.r = b.r * w.r - b.i * w.i;
			t.i = b.r * w.i + b.i * w.r;
			out[u + m].r = out[u].r - t.r;
			out[u + m].i = out[u].i - t.i;
			out[u].r += t.r;
			out[u].i += t.i;
		}
		return;
	}
	const size_t h = (size_t)pl->h;
	for (int u = 0; u < m; u++) {
		for (int q = 0; q < p; q++)
			scr[q] = out[u + (size_t)q * m];
		for (int q1 = 0; q1 < p; q1++) {
			size_t k = u + (size_t)q1 * m, idx = 0;
			struct cpx acc = scr[0];
			for (int q = 1; q < p; q++) {
				idx += fstride * k;
				if (idx >= h)
					idx -= h;
				struct cpx w = tw_h(pl, idx);
				acc.r += scr[q].r * w.r - scr[q].i * w.i;
				acc.i += scr[q].r * w.i + scr[q].i * w.r;
			}
			out[k] = acc;
		}
	}
}

/* |X[k]|^2 (power) or |X[k]|, k = 0..n/2, of the real x[n].  z, Z and scr
 * are h-element scratch buffers. */
static void rfft_spectrum(const struct rfft *pl, const double *x, double *pw, int power,
                          struct cpx *z, struct cpx *Z, struct cpx *scr)
{
	const int h = pl->h;
	for (int j = 0; j < h; j++) {
		z[j].r = x[2 * j];
		z[j].i = x[2 * j + 1];
	}
	cfft_work(pl, Z, z, 1, pl->fac, scr);
	double x0 = Z[0].r + Z[0].i, xh = Z[0].r - Z[0].i;
	pw[0] = x0 * x0;
	pw[h] = xh * xh;
	for (int k = 1; k < h; k++) {
		/* E = (Z[k] + conj Z[h-k]) / 2, O = (Z[k] - conj Z[h-k]) / 2i,
		 * X = E + W^k O */
		struct cpx a = Z[k], b = Z[h - k], e, o, t, w = pl->tw[k];
		e.r = 0.5 * (a.r + b.r);
		e.i = 0.5 * (a.i - b.i);
		o.r = 0.5 * (a.r - b.r);
		o.i = 0.5 * (a.i + b.i);
		t.r = o.r * w.r - o.i * w.i;
		t.i = o.r * w.i + o.i * w.r;
		double xr = e.r + t.i, xi = e.i - t.r;
		pw[k] = xr * xr + xi * xi;
	}
	if (!power)
		for (int k = 0; k <= h; k++)
			pw[k] = sqrt(pw[k]);
}

/* ---- triangular filterbanks in double --------------------------------------------- */

/* Row r has weights w[off[r] .. off[r] + hi[r] - lo[r]) for bins [lo[r], hi[r]);
 * all other weights are zero.  Only the nonzero stretch of each row is
 * stored, so a large FFT costs no dense matrix. */
struct melbank {
	int n_filters;
	double *w;
	int *lo, *hi;
	size_t *off;
};

static void melbank_release(struct melbank *mb)
{
	dc_free(mb->w);
	dc_free(mb->lo);
	dc_free(mb->hi);
	dc_free(mb->off);
	memset(mb, 0, sizeof *mb);
}

/* Row weights, evaluated over a candidate range that covers every nonzero
 * weight (the caller bounds it analytically with a margin). */
typedef double (*melbank_weight_fn)(const void *ctx, int r, int k);

static enum dc_status melbank_build(struct melbank *mb, int nf, int nbins, const int *cand_lo,
                                    const int *cand_hi, melbank_weight_fn fn, const void *ctx)
{
	memset(mb, 0, sizeof *mb);
	mb->n_filters = nf;
	mb->lo = dc_calloc((size_t)nf, sizeof(int));
	mb->hi = dc_calloc((size_t)nf, sizeof(int));
	mb->off = dc_calloc((size_t)nf, sizeof(size_t));
	if (!mb->lo || !mb->hi || !mb->off)
		goto oom;
	/* clamp the candidate ranges, count, then fill and trim */
	size_t total = 0;
	for (int r = 0; r < nf; r++) {
		int a = cand_lo[r], b = cand_hi[r];
		if (a < 0)
			a = 0;
		if (b > nbins)
			b = nbins;
		if (b < a)
			b = a;
		mb->lo[r] = a;
		mb->hi[r] = b;
		mb->off[r] = total;
		total += (size_t)(b - a);
	}
	if (!(mb->w = dc_alloc((total ? total : 1) * sizeof(double))))
		goto oom;
	for (int r = 0; r < nf; r++) {
		double *w = mb->w + mb->off[r];
		int a = mb->lo[r], lo = mb->hi[r], hi = a;
		for (int k = a; k < mb->hi[r]; k++) {
			w[k - a] = fn(ctx, r, k);
			if (w[k - a] != 0) {
				if (k < lo)
					lo = k;
				hi = k + 1;
			}
		}
		if (hi <= lo)
			lo = hi = a;
		mb->off[r] += (size_t)(lo - a);
		mb->lo[r] = lo;
		mb->hi[r] = hi;
	}
	return DC_OK;
oom:
	melbank_release(mb);
	return dc_fail(DC_ENOMEM, "fbank: out of memory");
}

static inline double melbank_dot(const struct melbank *mb, int r, const double *s)
{
	const double *w = mb->w + mb->off[r];
	const int lo = mb->lo[r], hi = mb->hi[r];
	double acc = 0;
	for (int k = lo; k < hi; k++)
		acc += w[k - lo] * s[k];
	return acc;
}

/* clamp a bin bound computed in double into int range */
static int bin_bound(double v)
{
	if (!(v > -1.0))
		return -1;
	if (v > 1e9)
		return 1000000000;
	return (int)v;
}

static double kaldi_mel(double f) { return 1127.0 * log(1.0 + f / 700.0); }
static double kaldi_hz(double mel) { return 700.0 * (exp(mel / 1127.0) - 1.0); }

struct kaldi_mel_ctx {
	double width, mlo, delta;
};

/* torchaudio get_mel_banks (vtln_warp 1): max(0, min(up, down)) */
static double kaldi_mel_weight(const void *ctx, int b, int k)
{
	const struct kaldi_mel_ctx *c = ctx;
	double l = c->mlo + b * c->delta, m0 = c->mlo + (b + 1.0) * c->delta;
	double r = c->mlo + (b + 2.0) * c->delta;
	double m = kaldi_mel(c->width * k);
	double up = (m - l) / (m0 - l), down = (r - m) / (r - m0);
	double v = up < down ? up : down;
	return v > 0 ? v : 0;
}

/* Mel banks over the n_fft/2+1 bins; torchaudio pads the Nyquist bin with a
 * zero weight, so bins run over [0, n_fft/2). */
static enum dc_status kaldi_melbank(struct melbank *mb, int nbins, int n_fft, double sr,
                                    double low, double high)
{
	struct kaldi_mel_ctx c;
	c.width = sr / n_fft;
	c.mlo = kaldi_mel(low);
	c.delta = (kaldi_mel(high) - c.mlo) / (nbins + 1);
	int *a = dc_alloc((size_t)nbins * sizeof(int)), *b = dc_alloc((size_t)nbins * sizeof(int));
	if (!a || !b) {
		dc_free(a);
		dc_free(b);
		return dc_fail(DC_ENOMEM, "fbank: out of memory");
	}
	for (int r = 0; r < nbins; r++) {
		a[r] = bin_bound(floor(kaldi_hz(c.mlo + r * c.delta) / c.width) - 2);
		b[r] = bin_bound(ceil(kaldi_hz(c.mlo + (r + 2.0) * c.delta) / c.width) + 3);
	}
	enum dc_status st = melbank_build(mb, nbins, n_fft / 2, a, b, kaldi_mel_weight, &c);
	dc_free(a);
	dc_free(b);
	return st;
}

/* ---- Kaldi fbank ------------------------------------------------------------------- */

#define FBANK_DITHER_STREAM UINT64_C(0x6662616e6b)   /* "fbank" */
#define FBANK_MAX_WINDOW (1 << 20)
#define FBANK_MAX_BINS 4096

void dc_fbank_kaldi_defaults(struct dc_fbank_kaldi_opts *o)
{
	memset(o, 0, sizeof *o);
	o->sample_frequency = 16000;
	o->frame_length_ms = 25;
	o->frame_shift_ms = 10;
	o->dither = 0;
	o->preemphasis_coefficient = 0.97;
	o->remove_dc_offset = 1;
	o->window_type = DC_WIN_POVEY;
	o->blackman_coeff = 0.42;
	o->round_to_power_of_two = 1;
	o->snip_edges = 1;
	o->num_mel_bins = 23;
	o->low_freq = 20;
	o->high_freq = 0;
	o->energy_floor = 1.0;
	o->use_energy = 0;
	o->raw_energy = 1;
	o->use_log_fbank = 1;
	o->use_power = 1;
	o->subtract_mean = 0;
	o->seed = 0;
}

/* Window geometry in samples, as torchaudio's
 * _get_waveform_and_window_properties (int() truncation of sr*ms*0.001). */
struct kaldi_geom {
	size_t ws, shift, padded;
	double high;      /* high_freq resolved against Nyquist */
};

/* NULL when the options are usable, else why not. */
static const char *kaldi_geom(const struct dc_fbank_kaldi_opts *o, struct kaldi_geom *g)
{
	double sf = o->sample_frequency;
	if (!(sf > 0) || !isfinite(sf))
		return "sample_frequency must be positive";
	double ws = sf * o->frame_length_ms * 0.001, sh = sf * o->frame_shift_ms * 0.001;
	if (!(ws >= 2) || !(ws < FBANK_MAX_WINDOW))
		return "frame length must be 2 to 2^20 samples";
	if (!(sh >= 1) || !(sh < FBANK_MAX_WINDOW))
		return "frame shift must be 1 to 2^20 samples";
	g->ws = (size_t)ws;
	g->shift = (size_t)sh;
	g->padded = g->ws;
	if (o->round_to_power_of_two) {
		g->padded = 1;
		while (g->padded < g->ws)
			g->padded *= 2;
	}
	if (g->padded % 2)
		return "the padded frame length must be even (use round_to_power_of_two)";
	if (!(o->preemphasis_coefficient >= 0 && o->preemphasis_coefficient <= 1))
		return "preemphasis_coefficient must be in [0, 1]";
	if (!isfinite(o->dither))
		return "dither must be finite";
	if (!(o->energy_floor >= 0) || !isfinite(o->energy_floor))
		return "energy_floor must be finite and >= 0";
	if ((unsigned)o->window_type > DC_WIN_BLACKMAN)
		return "unknown window type";
	if (!isfinite(o->blackman_coeff))
		return "blackman_coeff must be finite";
	if (o->num_mel_bins <= 3 || o->num_mel_bins > FBANK_MAX_BINS)
		return "num_mel_bins must be 4 to 4096";
	double nyq = 0.5 * sf, hf = o->high_freq;
	if (hf <= 0)
		hf += nyq;
	if (!(o->low_freq >= 0 && o->low_freq < nyq) || !(hf > 0 && hf <= nyq) || !(o->low_freq < hf))
		return "need 0 <= low_freq < high_freq <= Nyquist";
	g->high = hf;
	return NULL;
}

static size_t kaldi_frames(size_t n, const struct kaldi_geom *g, int snip_edges)
{
	if (n < g->ws)
		return 0;   /* torchaudio asserts window_size <= len, snip_edges or not */
	if (snip_edges)
		return 1 + (n - g->ws) / g->shift;
	return (n + g->shift / 2) / g->shift;
}

size_t dc_fbank_kaldi_frames(size_t n, const struct dc_fbank_kaldi_opts *o)
{
	struct kaldi_geom g;
	if (kaldi_geom(o, &g))
		return 0;
	return kaldi_frames(n, &g, o->snip_edges);
}

static void kaldi_window(double *w, size_t n, enum dc_fbank_window type, double bc)
{
	double a = 2.0 * M_PI / (double)(n - 1);
	for (size_t i = 0; i < n; i++) {
		double c = cos(a * (double)i);
		switch (type) {
		case DC_WIN_HANNING:
			w[i] = 0.5 - 0.5 * c;
			break;
		case DC_WIN_HAMMING:
			w[i] = 0.54 - 0.46 * c;
			break;
		case DC_WIN_POVEY:
			w[i] = pow(0.5 - 0.5 * c, 0.85);
			break;
		case DC_WIN_RECTANGULAR:
			w[i] = 1.0;
			break;
		case DC_WIN_BLACKMAN:
			w[i] = bc - 0.5 * c + (0.5 - bc) * cos(2.0 * a * (double)i);
			break;
		}
	}
}

static double log_energy(const double *f, size_t n, double log_floor, int floored)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += f[i] * f[i];
	double e = log(s > FLT_EPSILON ? s : FLT_EPSILON);
	return floored && e < log_floor ? log_floor : e;
}

/* The sample at signal position i (may be < 0 or >= n) under Kaldi's
 * reflection, which repeats the edge sample: [2 1 0 | 0 1 2 ... n-1 | n-1 n-2]. */
static inline size_t reflect_index(long i, size_t n)
{
	if (i < 0)
		return (size_t)(-i - 1);
	if ((size_t)i >= n)
		return 2 * n - 1 - (size_t)i;
	return (size_t)i;
}

/* One frame t of the Kaldi pipeline into row[cols]; f, pw, z, Z, scr, noise
 * are per-thread scratch. */
struct kaldi_ctx {
	const float *x;
	size_t n;
	const struct dc_fbank_kaldi_opts *o;
	const struct kaldi_geom *g;
	const double *win;
	const struct rfft *fft;
	const struct melbank *mb;
	long pad;      /* left reflection (snip_edges false) */
};

static void kaldi_frame(const struct kaldi_ctx *c, size_t t, float *row, double *f, double *pw,
                        struct cpx *z, struct cpx *Z, struct cpx *scr, float *noise)
{
	const struct dc_fbank_kaldi_opts *o = c->o;
	const size_t ws = c->g->ws, np = c->g->padded;
	if (o->snip_edges) {
		const float *xs = c->x + t * c->g->shift;
		for (size_t j = 0; j < ws; j++)
			f[j] = xs[j];
	} else {
		long base = (long)(t * c->g->shift) - c->pad;
		for (size_t j = 0; j < ws; j++)
			f[j] = c->x[reflect_index(base + (long)j, c->n)];
	}
	if (o->dither != 0.0) {
		dc_rng_normal(o->seed, FBANK_DITHER_STREAM, (uint64_t)t * ws, noise, ws);
		for (size_t j = 0; j < ws; j++)
			f[j] += (double)noise[j] * o->dither;
	}
	if (o->remove_dc_offset) {
		double s = 0;
		for (size_t j = 0; j < ws; j++)
			s += f[j];
		s /= (double)ws;
		for (size_t j = 0; j < ws; j++)
			f[j] -= s;
	}
	const int floored = o->energy_floor != 0.0;
	const double log_floor = floored ? log(o->energy_floor) : 0;
	double loge = 0;
	if (o->raw_energy)
		loge = log_energy(f, ws, log_floor, floored);
	if (o->preemphasis_coefficient != 0.0) {
		const double k = o->preemphasis_coefficient;
		for (size_t j = ws - 1; j > 0; j--)
			f[j] -= k * f[j - 1];
		f[0] -= k * f[0];
	}
	for (size_t j = 0; j < ws; j++)
		f[j] *= c->win[j];
	for (size_t j = ws; j < np; j++)
		f[j] = 0;
	if (!o->raw_energy)
		loge = log_energy(f, ws, log_floor, floored);
	rfft_spectrum(c->fft, f, pw, o->use_power, z, Z, scr);
	float *mel = row;
	if (o->use_energy)
		*mel++ = (float)loge;
	for (int b = 0; b < c->mb->n_filters; b++) {
		double e = melbank_dot(c->mb, b, pw);
		if (o->use_log_fbank)
			e = log(e > FLT_EPSILON ? e : FLT_EPSILON);
		mel[b] = (float)e;
	}
}

enum dc_status dc_fbank_kaldi(const float *x, size_t n, const struct dc_fbank_kaldi_opts *o,
                              float **out, size_t *frames)
{
	*out = NULL;
	*frames = 0;
	struct kaldi_geom g;
	const char *why = kaldi_geom(o, &g);
	if (why)
		return dc_fail(DC_EINVAL, "fbank: %s", why);
	size_t T = kaldi_frames(n, &g, o->snip_edges);
	if (!T)
		return dc_fail(DC_EINVAL, "fbank: %zu samples is shorter than one frame (%zu samples)",
		                n, g.ws);
	const int cols = o->num_mel_bins + (o->use_energy ? 1 : 0);
	size_t total;
	if (dc_mul_size(T, (size_t)cols, &total) || dc_mul_size(total, sizeof(float), &total))
		return dc_fail(DC_EOVERFLOW, "fbank: %zu frames too many", T);

	struct rfft fft = { 0 };
	struct melbank mb = { 0 };
	double *win = dc_alloc(g.ws * sizeof(double));
	float *res = dc_alloc(total);
	enum dc_status st = DC_OK;
	if (!win || !res) {
		st = dc_fail(DC_ENOMEM, "fbank: out of memory");
		goto done;
	}
	if ((st = rfft_init(&fft, (int)g.padded)))
		goto done;
	if ((st = kaldi_melbank(&mb, o->num_mel_bins, (int)g.padded, o->sample_frequency,
	                        o->low_freq, g.high)))
		goto done;
	kaldi_window(win, g.ws, o->window_type, o->blackman_coeff);

	struct kaldi_ctx c = { x, n, o, &g, win, &fft, &mb,
	                       (long)(g.ws / 2) - (long)(g.shift / 2) };
	int nt = dc_threads();
	if ((size_t)nt > T / 16 + 1)
		nt = (int)(T / 16 + 1);
	int failed = 0;
#pragma omp parallel num_threads(nt)
	{
		double *f = dc_alloc(g.padded * sizeof(double));
		double *pw = dc_alloc((g.padded / 2 + 1) * sizeof(double));
		struct cpx *cb = dc_alloc(3 * (g.padded / 2) * sizeof(struct cpx));
		float *noise = o->dither != 0.0 ? dc_alloc(g.ws * sizeof(float)) : NULL;
		int ok = f && pw && cb && (o->dither == 0.0 || noise);
		if (!ok) {
#pragma omp atomic write
			failed = 1;
		}
#pragma omp for schedule(dynamic, 16)
		for (size_t t = 0; t < T; t++)
			if (ok)
				kaldi_frame(&c, t, res + t * (size_t)cols, f, pw, cb, cb + g.padded / 2,
				            cb + g.padded, noise);
		dc_free(f);
		dc_free(pw);
		dc_free(cb);
		dc_free(noise);
	}
	if (failed) {
		st = dc_fail(DC_ENOMEM, "fbank: out of memory");
		goto done;
	}
	if (o->subtract_mean)
		dc_feats_cmn(res, T, cols);
	*out = res;
	*frames = T;
	res = NULL;
done:
	dc_free(res);
	dc_free(win);
	rfft_release(&fft);
	melbank_release(&mb);
	return st;
}

/* ---- SpeechBrain Fbank --------------------------------------------------------------- */

#define SB_N_FFT 400

static double sb_to_mel(double hz) { return 2595.0 * log10(1.0 + hz / 700.0); }
static double sb_to_hz(double mel) { return 700.0 * (pow(10.0, mel / 2595.0) - 1.0); }

/* speechbrain.processing.features.Filterbank(triangular, f_min 0,
 * f_max sr//2): hz[] = n_mels+2 points equally spaced on the HTK mel scale;
 * filter i is the symmetric triangle max(0, 1 - |f - hz[i+1]| / (hz[i+1] -
 * hz[i])) (its right half mirrors the left band, it does not reach
 * hz[i+2]) over f = linspace(0, sr//2, n_fft/2+1); no area normalisation. */
struct sb_mel_ctx {
	double fmax, m0, m1;
	int n_mels, nb;
};

static double sb_hz_point(const struct sb_mel_ctx *c, int i)
{
	return sb_to_hz(c->m0 + (c->m1 - c->m0) * i / (c->n_mels + 1));
}

static double sb_mel_weight(const void *ctx, int i, int k)
{
	const struct sb_mel_ctx *c = ctx;
	double fc = sb_hz_point(c, i + 1), band = fc - sb_hz_point(c, i);
	double s = (c->fmax * k / (c->nb - 1) - fc) / band;
	double v = 1.0 - fabs(s);
	return v > 0 ? v : 0;
}

static enum dc_status sb_melbank(struct melbank *mb, int n_mels, double fmax)
{
	struct sb_mel_ctx c = { fmax, sb_to_mel(0.0), sb_to_mel(fmax), n_mels, SB_N_FFT / 2 + 1 };
	int *a = dc_alloc((size_t)n_mels * sizeof(int)), *b = dc_alloc((size_t)n_mels * sizeof(int));
	if (!a || !b) {
		dc_free(a);
		dc_free(b);
		return dc_fail(DC_ENOMEM, "fbank: out of memory");
	}
	double per_bin = (c.nb - 1) / fmax;
	for (int i = 0; i < n_mels; i++) {
		double fc = sb_hz_point(&c, i + 1), band = fc - sb_hz_point(&c, i);
		a[i] = bin_bound(floor((fc - band) * per_bin) - 2);
		b[i] = bin_bound(ceil((fc + band) * per_bin) + 3);
	}
	enum dc_status st = melbank_build(mb, n_mels, c.nb, a, b, sb_mel_weight, &c);
	dc_free(a);
	dc_free(b);
	return st;
}

enum dc_status dc_fbank_speechbrain(const float *x, size_t n, double sample_rate, int n_mels,
                                    float **out, size_t *frames)
{
	*out = NULL;
	*frames = 0;
	if (!(sample_rate > 0) || !isfinite(sample_rate))
		return dc_fail(DC_EINVAL, "fbank: sample rate %g is not positive", sample_rate);
	/* int(round(sr/1000 * ms)), Python's round half to even */
	double wl = nearbyint(sample_rate / 1000.0 * 25), hl = nearbyint(sample_rate / 1000.0 * 10);
	if (!(wl >= 1 && wl <= SB_N_FFT) || !(hl >= 1))
		return dc_fail(DC_EINVAL, "fbank: sample rate %g gives a %g-sample window and %g-sample "
		               "hop; SpeechBrain's n_fft %d needs 1 to %d and >= 1", sample_rate, wl, hl,
		               SB_N_FFT, SB_N_FFT);
	if (n_mels < 1 || n_mels > FBANK_MAX_BINS)
		return dc_fail(DC_EINVAL, "fbank: n_mels %d outside 1..%d", n_mels, FBANK_MAX_BINS);
	if (n == 0)
		return dc_fail(DC_EINVAL, "fbank: empty signal");
	const size_t win_len = (size_t)wl, hop = (size_t)hl;
	size_t T = 1 + n / hop, total;
	if (dc_mul_size(T, (size_t)n_mels, &total) || dc_mul_size(total, sizeof(float), &total))
		return dc_fail(DC_EOVERFLOW, "fbank: %zu frames too many", T);
	double f_max = floor(floor(sample_rate) / 2);   /* sample_rate // 2 */
	if (!(f_max > 0))
		return dc_fail(DC_EINVAL, "fbank: sample rate %g too low", sample_rate);

	struct rfft fft = { 0 };
	struct melbank mb = { 0 };
	double *win = dc_calloc(SB_N_FFT, sizeof(double));
	float *res = dc_alloc(total);
	enum dc_status st = DC_OK;
	if (!win || !res) {
		st = dc_fail(DC_ENOMEM, "fbank: out of memory");
		goto done;
	}
	if ((st = rfft_init(&fft, SB_N_FFT)) || (st = sb_melbank(&mb, n_mels, f_max)))
		goto done;
	/* torch.hamming_window(win_len) (periodic), centred in n_fft */
	size_t left = (SB_N_FFT - win_len) / 2;
	for (size_t i = 0; i < win_len; i++)
		win[left + i] = win_len == 1 ? 1.0 : 0.54 - 0.46 * cos(2.0 * M_PI * (double)i / (double)win_len);

	int nt = dc_threads();
	if ((size_t)nt > T / 16 + 1)
		nt = (int)(T / 16 + 1);
	int failed = 0;
#pragma omp parallel num_threads(nt)
	{
		double *f = dc_alloc(SB_N_FFT * sizeof(double));
		double *pw = dc_alloc((SB_N_FFT / 2 + 1) * sizeof(double));
		struct cpx *cb = dc_alloc(3 * (SB_N_FFT / 2) * sizeof(struct cpx));
		int ok = f && pw && cb;
		if (!ok) {
#pragma omp atomic write
			failed = 1;
		}
#pragma omp for schedule(dynamic, 16)
		for (size_t t = 0; t < T; t++) {
			if (!ok)
				continue;
			long start = (long)(t * hop) - SB_N_FFT / 2;
			for (long j = 0; j < SB_N_FFT; j++) {
				long i = start + j;
				f[j] = i >= 0 && (size_t)i < n ? x[i] * win[j] : 0.0;
			}
			rfft_spectrum(&fft, f, pw, 1, cb, cb + SB_N_FFT / 2, cb + SB_N_FFT);
			float *row = res + t * (size_t)n_mels;
			for (int b = 0; b < n_mels; b++) {
				double e = melbank_dot(&mb, b, pw);
				row[b] = (float)(10.0 * log10(e > 1e-10 ? e : 1e-10));
			}
		}
		dc_free(f);
		dc_free(pw);
		dc_free(cb);
	}
	if (failed) {
		st = dc_fail(DC_ENOMEM, "fbank: out of memory");
		goto done;
	}
	/* top_db: floor at the utterance's maximum (over time and bins) - 80 dB */
	float mx = -INFINITY;
	for (size_t i = 0; i < T * (size_t)n_mels; i++)
		if (res[i] > mx)
			mx = res[i];
	float lo = mx - 80.0f;
	for (size_t i = 0; i < T * (size_t)n_mels; i++)
		if (res[i] < lo)
			res[i] = lo;
	*out = res;
	*frames = T;
	res = NULL;
done:
	dc_free(res);
	dc_free(win);
	rfft_release(&fft);
	melbank_release(&mb);
	return st;
}

/* ---- normalisation and VAD ----------------------------------------------------------- */

void dc_feats_cmn(float *feats, size_t frames, int dim)
{
	if (!frames || dim <= 0)
		return;
	for (int d = 0; d < dim; d++) {
		double s = 0;
		for (size_t t = 0; t < frames; t++)
			s += feats[t * (size_t)dim + d];
		float m = (float)(s / (double)frames);
		for (size_t t = 0; t < frames; t++)
			feats[t * (size_t)dim + d] -= m;
	}
}

void dc_vad_trim(const float *x, size_t n, double sample_rate, double threshold_db,
                 size_t *start, size_t *end)
{
	*start = *end = 0;
	if (!n || !(sample_rate > 0) || !isfinite(sample_rate))
		return;
	double fl = nearbyint(0.01 * sample_rate), pd = nearbyint(0.1 * sample_rate);
	size_t L = fl >= 1 ? (fl < (double)n ? (size_t)fl : n) : 1;
	size_t pad = pd < (double)n ? (size_t)pd : n;
	if (!(threshold_db >= 0))
		threshold_db = 0;
	/* mean square of each frame (the last may be partial) */
	double emax = 0;
	size_t nf = (n + L - 1) / L;
	for (size_t k = 0; k < nf; k++) {
		size_t a = k * L, b = a + L < n ? a + L : n;
		double s = 0;
		for (size_t i = a; i < b; i++)
			s += (double)x[i] * x[i];
		s /= (double)(b - a);
		if (s > emax && isfinite(s))
			emax = s;
	}
	if (!(emax > 0))
		return;
	double gate = emax * pow(10.0, -threshold_db / 10.0);
	size_t first = nf, last = 0;
	for (size_t k = 0; k < nf; k++) {
		size_t a = k * L, b = a + L < n ? a + L : n;
		double s = 0;
		for (size_t i = a; i < b; i++)
			s += (double)x[i] * x[i];
		s /= (double)(b - a);
		if (s >= gate && isfinite(s)) {
			if (first == nf)
				first = k;
			last = k;
		}
	}
	size_t a = first * L, b = (last + 1) * L;
	*start = a > pad ? a - pad : 0;
	*end = b > n || n - b < pad ? n : b + pad;
}
