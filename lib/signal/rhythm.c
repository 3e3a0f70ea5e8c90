/*
 * rhythm.c - the classical rhythm tracker of librosa 0.10.2 ported to C:
 * onset strength (spectral flux of the log-power mel spectrogram, median
 * over bands), global tempo (autocorrelation tempogram with a log-normal
 * prior) and Ellis's dynamic-programming beat tracker (local score, DP,
 * last-beat rule, backtracking, trimming), plus diffcore's downbeat phase
 * rule.  Where librosa keeps float32 intermediates (local and cumulative
 * scores) so does this port, so beat frames agree exactly.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <kiss_fftr.h>

#include "signal.h"

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

enum dc_status dc_onset_strength(const float *y, size_t n, double sr, int n_fft, int hop,
                                 int n_mels, float **env, size_t *frames)
{
	*env = NULL;
	*frames = 0;
	struct dc_filterbank fb;
	enum dc_status st = dc_mel_filterbank(&fb, sr, n_fft, n_mels, 0.0, sr / 2);
	if (st)
		return st;
	float *M;
	size_t T;
	st = dc_stft_filterbank(y, n, n_fft, hop, 2, &fb, &M, &T);
	dc_filterbank_release(&fb);
	if (st)
		return st;
	size_t nm = (size_t)n_mels;
	float *out = dc_calloc(T, sizeof(float));
	if (!out) {
		dc_free(M);
		return dc_fail(DC_ENOMEM, "onset strength: out of memory");
	}
	/* power_to_db(ref=1, amin=1e-10, top_db=80) over the whole spectrogram */
	float mx = -INFINITY;
	for (size_t i = 0; i < T * nm; i++) {
		float v = M[i] > 1e-10f ? M[i] : 1e-10f;
		M[i] = 10.0f * log10f(v);
		if (M[i] > mx)
			mx = M[i];
	}
	float floor_db = mx - 80.0f;
	for (size_t i = 0; i < T * nm; i++)
		if (M[i] < floor_db)
			M[i] = floor_db;
	size_t pad = 1 + (size_t)(n_fft / (2 * hop));
	int nt = dc_threads();
	if ((size_t)nt > T / 64 + 1)
		nt = (int)(T / 64 + 1);
	int failed = 0;
#pragma omp parallel num_threads(nt)
	{
		float *d = dc_alloc(nm * sizeof(float));
		if (!d) {
#pragma omp atomic write
			failed = 1;
		}
#pragma omp for schedule(dynamic, 32)
		for (size_t t = 1; t < T; t++) {
			if (!d || t - 1 + pad >= T)
				continue;
			const float *cur = M + t * nm, *prev = cur - nm;
			for (size_t m = 0; m < nm; m++) {
				float v = cur[m] - prev[m];
				d[m] = v > 0 ? v : 0;
			}
			qsort(d, nm, sizeof(float), cmp_float);
			out[t - 1 + pad] = nm % 2 ? d[nm / 2] : (float)(((double)d[nm / 2 - 1] + d[nm / 2]) / 2);
		}
		dc_free(d);
	}
	dc_free(M);
	if (failed) {
		dc_free(out);
		return dc_fail(DC_ENOMEM, "onset strength: out of memory");
	}
	*env = out;
	*frames = T;
	return DC_OK;
}

/* ---- tempo ---------------------------------------------------------------------------- */

void dc_tempo_params_default(struct dc_tempo_params *p, double sr, int hop)
{
	p->sr = sr;
	p->hop = hop;
	p->start_bpm = 120.0;
	p->std_bpm = 1.0;
	p->ac_size = 8.0;
	p->max_tempo = 320.0;
}

static size_t fast_even_size(size_t n)
{
	for (size_t m = n + (n & 1);; m += 2) {
		size_t r = m;
		while (r % 2 == 0) r /= 2;
		while (r % 3 == 0) r /= 3;
		while (r % 5 == 0) r /= 5;
		if (r == 1)
			return m;
	}
}

#define TEMPO_BLOCK 64

enum dc_status dc_tempo(const float *env, size_t n, const struct dc_tempo_params *p,
                        double *bpm, float **tg_out, size_t *win_out)
{
	if (tg_out)
		*tg_out = NULL;
	if (!(p->sr > 0) || p->hop < 1 || !(p->start_bpm > 0) || !(p->std_bpm > 0) ||
	    !(p->ac_size > 0) || !(p->ac_size * p->sr < 1e12))
		return dc_fail(DC_EINVAL, "tempo: invalid parameters");
	size_t win = (size_t)floor(floor(p->ac_size * p->sr) / p->hop);
	if (win < 2 || win > (1u << 20))
		return dc_fail(DC_EINVAL, "tempo: autocorrelation window of %zu frames", win);
	if (n == 0)
		return dc_fail(DC_EINVAL, "tempo: empty onset envelope");
	size_t h = win / 2, np_, nfft = fast_even_size(2 * win - 1);
	if (dc_add_size(n, 2 * h, &np_))
		return dc_fail(DC_EOVERFLOW, "tempo: envelope too long");
	size_t nblk = (n + TEMPO_BLOCK - 1) / TEMPO_BLOCK, part;
	if (dc_mul_size(nblk, win * sizeof(double), &part))
		return dc_fail(DC_EOVERFLOW, "tempo: envelope too long");
	float *padded = dc_alloc(np_ * sizeof(float)), *hw = dc_alloc(win * sizeof(float));
	double *partial = dc_calloc(nblk, win * sizeof(double));
	if (!padded || !hw || !partial) {
		dc_free(padded); dc_free(hw); dc_free(partial);
		return dc_fail(DC_ENOMEM, "tempo: out of memory");
	}
	/* np.pad(env, h, mode='linear_ramp', end_values=0) */
	for (size_t i = 0; i < h; i++) {
		padded[i] = (float)((double)env[0] * i / h);
		padded[h + n + i] = (float)((double)env[n - 1] + (0.0 - env[n - 1]) * (double)(i + 1) / h);
	}
	memcpy(padded + h, env, n * sizeof(float));
	dc_window_hann(hw, (int)win, 1);
	int nt = dc_threads(), failed = 0;
	if ((size_t)nt > nblk)
		nt = (int)nblk;
#pragma omp parallel num_threads(nt)
	{
		kiss_fftr_cfg fw = kiss_fftr_alloc((int)nfft, 0, NULL, NULL);
		kiss_fftr_cfg bw = kiss_fftr_alloc((int)nfft, 1, NULL, NULL);
		float *buf = dc_alloc(nfft * sizeof(float));
		kiss_fft_cpx *X = dc_alloc((nfft / 2 + 1) * sizeof(kiss_fft_cpx));
		int ok = fw && bw && buf && X;
		if (!ok) {
#pragma omp atomic write
			failed = 1;
		}
#pragma omp for schedule(dynamic, 1)
		for (size_t b = 0; b < nblk; b++) {
			if (!ok)
				continue;
			double *acc = partial + b * win;
			size_t t1 = (b + 1) * TEMPO_BLOCK < n ? (b + 1) * TEMPO_BLOCK : n;
			for (size_t t = b * TEMPO_BLOCK; t < t1; t++) {
				for (size_t i = 0; i < win; i++)
					buf[i] = padded[t + i] * hw[i];
				memset(buf + win, 0, (nfft - win) * sizeof(float));
				kiss_fftr(fw, buf, X);
				for (size_t k = 0; k <= nfft / 2; k++) {
					X[k].r = X[k].r * X[k].r + X[k].i * X[k].i;
					X[k].i = 0;
				}
				kiss_fftri(bw, X, buf);
				float m = 0;
				for (size_t k = 0; k < win; k++)
					if (fabsf(buf[k]) > m)
						m = fabsf(buf[k]);
				/* util.normalize(norm=inf): columns below tiny stay as they are */
				double s = m >= FLT_MIN ? 1.0 / m : 1.0 / nfft;
				for (size_t k = 0; k < win; k++)
					acc[k] += buf[k] * s;
			}
		}
		kiss_fftr_free(fw);
		kiss_fftr_free(bw);
		dc_free(buf);
		dc_free(X);
	}
	dc_free(padded);
	dc_free(hw);
	if (failed) {
		dc_free(partial);
		return dc_fail(DC_ENOMEM, "tempo: out of memory");
	}
	for (size_t b = 1; b < nblk; b++)
		for (size_t k = 0; k < win; k++)
			partial[k] += partial[b * win + k];
	/* argmax(log1p(1e6*tg) + logprior), bpm >= max_tempo excluded */
	double fr = 60.0 * p->sr / p->hop, best = -INFINITY;
	size_t bi = 0;
	int seen_below = 0;
	for (size_t k = 0; k < win; k++) {
		double tg = partial[k] / n;
		partial[k] = tg;
		if (k == 0)
			continue;
		double b = fr / k;
		if (!seen_below && !(b < p->max_tempo))
			continue;
		seen_below = 1;
		double z = (log2(b) - log2(p->start_bpm)) / p->std_bpm;
		double v = log1p(1e6 * tg) - 0.5 * z * z;
		if (v > best || bi == 0) {
			best = v;
			bi = k;
		}
	}
	*bpm = bi ? fr / bi : p->start_bpm;
	if (tg_out) {
		float *tg = dc_alloc(win * sizeof(float));
		if (!tg) {
			dc_free(partial);
			return dc_fail(DC_ENOMEM, "tempo: out of memory");
		}
		for (size_t k = 0; k < win; k++)
			tg[k] = (float)partial[k];
		*tg_out = tg;
	}
	if (win_out)
		*win_out = win;
	dc_free(partial);
	return DC_OK;
}

/* ---- beat tracking ------------------------------------------------------------------- */

enum dc_status dc_beat_track(const float *env, size_t n, double frame_rate, double bpm,
                             double tightness, int trim, int64_t **beats, size_t *nbeats)
{
	*beats = NULL;
	*nbeats = 0;
	if (!(bpm > 0) || !(tightness > 0) || !(frame_rate > 0))
		return dc_fail(DC_EINVAL, "beat track: bpm %g, tightness %g invalid", bpm, tightness);
	int any = 0;
	for (size_t i = 0; i < n; i++)
		if (env[i] != 0) {
			any = 1;
			break;
		}
	if (!any || n < 2) {
		*beats = dc_alloc(0);
		return *beats ? DC_OK : dc_fail(DC_ENOMEM, "beat track: out of memory");
	}
	double fpb = nearbyint(frame_rate * 60.0 / bpm);
	if (fpb < 1)
		fpb = 1;
	if (fpb > 1e7)
		return dc_fail(DC_EINVAL, "beat track: tempo %g too slow", bpm);
	long K = 2 * (long)fpb + 1;
	float *on = dc_alloc(n * sizeof(float)), *ls = dc_alloc(n * sizeof(float));
	float *cum = dc_alloc(n * sizeof(float));
	double *wnd = dc_alloc((size_t)K * sizeof(double));
	long *back = dc_alloc(n * sizeof(long));
	unsigned char *isb = dc_calloc(n, 1);
	if (!on || !ls || !cum || !wnd || !back || !isb) {
		dc_free(on); dc_free(ls); dc_free(cum); dc_free(wnd); dc_free(back); dc_free(isb);
		return dc_fail(DC_ENOMEM, "beat track: out of memory");
	}
	/* normalise by the standard deviation (ddof=1) */
	double mean = 0, var = 0;
	for (size_t i = 0; i < n; i++)
		mean += env[i];
	mean /= n;
	for (size_t i = 0; i < n; i++)
		var += (env[i] - mean) * (env[i] - mean);
	float sd = (float)sqrt(var / (n - 1)) + FLT_MIN;
	for (size_t i = 0; i < n; i++)
		on[i] = env[i] / sd;
	/* local score: librosa's same-mode loop (k < min(i + K/2, K)) */
	for (long k = 0; k < K; k++) {
		double z = (k - fpb) * 32.0 / fpb;
		wnd[k] = exp(-0.5 * z * z);
	}
	long N = (long)n, K2 = K / 2;
	float lsmax = -INFINITY;
	for (long i = 0; i < N; i++) {
		long k0 = i + K2 - N + 1 > 0 ? i + K2 - N + 1 : 0;
		long k1 = i + K2 < K ? i + K2 : K;
		float acc = 0;
		for (long k = k0; k < k1; k++)
			acc = (float)((double)acc + wnd[k] * on[i + K2 - k]);
		ls[i] = acc;
		if (acc > lsmax)
			lsmax = acc;
	}
	/* dynamic program */
	long dmin = (long)nearbyint(fpb / 2), dmax = 2 * (long)fpb;
	double *pen = wnd;  /* reuse: pen[d] for d in [dmin, dmax] needs dmax+1 <= K entries */
	double lf = log(fpb);
	for (long d = 0; d <= dmax; d++)
		pen[d] = d > 0 ? tightness * (log((double)d) - lf) * (log((double)d) - lf) : 0;
	double thresh = 0.01 * (double)lsmax;
	int first = 1;
	for (long i = 0; i < N; i++) {
		double best = -INFINITY;
		long loc_best = -1;
		for (long loc = i - dmin; loc > i - dmax - 1; loc--) {
			if (loc < 0)
				break;
			double s = cum[loc] - pen[i - loc];
			if (s > best) {
				best = s;
				loc_best = loc;
			}
		}
		cum[i] = loc_best >= 0 ? (float)(ls[i] + best) : ls[i];
		if (first && ls[i] < thresh)
			back[i] = -1;
		else {
			back[i] = loc_best;
			first = 0;
		}
	}
	/* last beat: last local maximum of cum with cum >= 0.5 * median over local maxima */
	size_t nmax = 0;
	float *lm = on;  /* reuse */
	for (long i = 1; i < N; i++)
		if (cum[i] > cum[i - 1] && (i == N - 1 || cum[i] >= cum[i + 1]))
			lm[nmax++] = cum[i];
	double thr = 0;
	if (nmax) {
		qsort(lm, nmax, sizeof(float), cmp_float);
		thr = 0.5 * (nmax % 2 ? lm[nmax / 2] : ((double)lm[nmax / 2 - 1] + lm[nmax / 2]) / 2);
	}
	long tail = N - 1;
	for (long i = N - 1; i >= 0; i--) {
		int ismax = i > 0 && cum[i] > cum[i - 1] && (i == N - 1 || cum[i] >= cum[i + 1]);
		if (ismax && cum[i] >= (float)thr) {
			tail = i;
			break;
		}
	}
	for (long i = tail; i >= 0; i = back[i])
		isb[i] = 1;
	/* trim: 1/2 RMS of the Hann(5)-smoothed local score at the beats */
	size_t m = 0;
	for (long i = 0; i < N; i++)
		if (isb[i])
			on[m++] = ls[i];
	double threshold = 0;
	if (trim && m) {
		static const double hw[5] = { 0, 0.5, 1, 0.5, 0 };
		size_t full = m + 4, stop = full < n + 2 ? full : n + 2, cnt = 0;
		double ss = 0;
		for (size_t j = 2; j < stop; j++, cnt++) {
			double v = 0;
			for (int q = 0; q < 5; q++) {
				long src = (long)j - q;
				if (src >= 0 && (size_t)src < m)
					v += on[src] * hw[q];
			}
			ss += v * v;
		}
		threshold = 0.5 * sqrt(ss / cnt);
	}
	for (long i = 0; i < N && ls[i] <= threshold; i++)
		isb[i] = 0;
	for (long i = N - 1; i >= 0 && ls[i] <= threshold; i--)
		isb[i] = 0;
	m = 0;
	for (long i = 0; i < N; i++)
		m += isb[i];
	int64_t *b = dc_alloc(m * sizeof(int64_t));
	if (b) {
		m = 0;
		for (long i = 0; i < N; i++)
			if (isb[i])
				b[m++] = i;
	}
	dc_free(on); dc_free(ls); dc_free(cum); dc_free(wnd); dc_free(back); dc_free(isb);
	if (!b)
		return dc_fail(DC_ENOMEM, "beat track: out of memory");
	*beats = b;
	*nbeats = m;
	return DC_OK;
}

enum dc_status dc_downbeat_phase(const float *accent, size_t n, const int64_t *beats,
                                 size_t nbeats, int beats_per_bar, int *phase)
{
	*phase = 0;
	if (beats_per_bar < 1)
		return dc_fail(DC_EINVAL, "downbeats: %d beats per bar", beats_per_bar);
	double best = -INFINITY;
	for (int p = 0; p < beats_per_bar && (size_t)p < nbeats; p++) {
		double s = 0;
		size_t c = 0;
		for (size_t j = (size_t)p; j < nbeats; j += (size_t)beats_per_bar) {
			if (beats[j] >= 0 && (size_t)beats[j] < n)
				s += accent[beats[j]];
			c++;
		}
		s /= c;
		if (s > best) {
			best = s;
			*phase = p;
		}
	}
	return DC_OK;
}
