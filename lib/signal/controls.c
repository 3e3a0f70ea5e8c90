/*
 * controls.c - the Music ControlNet time-varying controls computed from
 * mono audio at the control's sample rate: melody (high-passed chroma
 * argmax) and dynamics (Savitzky-Golay-smoothed frame energy in dB).  The
 * rhythm control is composed by the caller from rhythm.c.  Definitions and
 * defaults follow MuseControlLite's evaluation code (see ctrl-extract(1)).
 */
#include <math.h>
#include <string.h>

#include "signal.h"

void dc_melody_params_default(struct dc_melody_params *p)
{
	p->sr = 44100;
	p->cutoff = 261.2;
	p->n_fft = 2048;
	p->hop = 256;
}

enum dc_status dc_melody(const float *y, size_t n, const struct dc_melody_params *p,
                         uint8_t **pc, size_t *frames)
{
	*pc = NULL;
	*frames = 0;
	enum dc_status st;
	struct dc_biquad bq;
	float *yf = NULL;
	if (p->cutoff > 0) {
		if ((st = dc_butter2(&bq, p->cutoff, p->sr, 1)))
			return st;
		size_t bytes;
		if (dc_mul_size(n ? n : 1, sizeof(float), &bytes))
			return dc_fail(DC_EOVERFLOW, "melody: too many samples");
		if (!(yf = dc_alloc(bytes)))
			return dc_fail(DC_ENOMEM, "melody: out of memory");
		if ((st = dc_filtfilt(&bq, y, n, yf))) {
			dc_free(yf);
			return st;
		}
	}
	struct dc_filterbank fb;
	if ((st = dc_chroma_filterbank(&fb, p->sr, p->n_fft, 12, 0.0))) {
		dc_free(yf);
		return st;
	}
	float *C;
	size_t T;
	st = dc_stft_filterbank(yf ? yf : y, n, p->n_fft, p->hop, 2, &fb, &C, &T);
	dc_free(yf);
	dc_filterbank_release(&fb);
	if (st)
		return st;
	uint8_t *out = dc_alloc(T);
	if (!out) {
		dc_free(C);
		return dc_fail(DC_ENOMEM, "melody: out of memory");
	}
	for (size_t t = 0; t < T; t++) {
		const float *c = C + t * 12;
		int best = 0;
		for (int k = 1; k < 12; k++)
			if (c[k] > c[best])
				best = k;
		out[t] = (uint8_t)best;
	}
	dc_free(C);
	*pc = out;
	*frames = T;
	return DC_OK;
}

void dc_dynamics_params_default(struct dc_dynamics_params *p)
{
	p->sr = 44100;
	p->n_fft = 1024;
	p->hop = 160;
	p->n_mels = 64;
	p->fmin = 0;
	p->fmax = 8000;
	p->db_factor = 10;
	p->amin = 1e-10;
	p->top_db = 80;
	p->sg_window = 0;
	p->sg_order = 1;
}

int dc_dynamics_window(const struct dc_dynamics_params *p, size_t frames)
{
	long w = p->sg_window;
	if (w <= 0) {
		/* the odd length nearest to one second of frames */
		double fps = p->sr / p->hop;
		w = 2 * (long)floor(fps / 2) + 1;
		if (fabs(w - 2 - fps) < fabs(w - fps))
			w -= 2;
		if (w < 1)
			w = 1;
	}
	if ((size_t)w > frames)
		w = frames % 2 ? (long)frames : (long)frames - 1;
	if (w <= p->sg_order)
		return 0;   /* too short to smooth */
	return (int)w;
}

enum dc_status dc_dynamics(const float *y, size_t n, const struct dc_dynamics_params *p,
                           float **db, size_t *frames)
{
	*db = NULL;
	*frames = 0;
	if (!(p->db_factor > 0) || !(p->amin > 0) || !(p->top_db >= 0) || p->sg_order < 0 ||
	    p->sg_window < 0 || (p->sg_window > 0 && p->sg_window % 2 == 0))
		return dc_fail(DC_EINVAL, "dynamics: invalid parameters");
	struct dc_filterbank fb;
	enum dc_status st = dc_mel_filterbank(&fb, p->sr, p->n_fft, p->n_mels, p->fmin, p->fmax);
	if (st)
		return st;
	float *M;
	size_t T;
	st = dc_stft_filterbank(y, n, p->n_fft, p->hop, 1, &fb, &M, &T);
	dc_filterbank_release(&fb);
	if (st)
		return st;
	size_t nm = (size_t)p->n_mels;
	float *e = dc_alloc(T * sizeof(float)), *out = dc_alloc(T * sizeof(float));
	if (!e || !out) {
		dc_free(M); dc_free(e); dc_free(out);
		return dc_fail(DC_ENOMEM, "dynamics: out of memory");
	}
	double emax = 0;
	for (size_t t = 0; t < T; t++) {
		double s = 0;
		for (size_t m = 0; m < nm; m++)
			s += (double)M[t * nm + m] * M[t * nm + m];
		e[t] = (float)s;
		if (s > emax)
			emax = s;
	}
	dc_free(M);
	double ref = p->db_factor * log10(fmax(p->amin, emax));
	for (size_t t = 0; t < T; t++) {
		double v = p->db_factor * log10(fmax(p->amin, (double)e[t])) - ref;
		e[t] = (float)(v < -p->top_db ? -p->top_db : v);
	}
	int w = dc_dynamics_window(p, T);
	if (w > 0 && p->sg_order < w) {
		if ((st = dc_savgol(e, T, w, p->sg_order, out))) {
			dc_free(e); dc_free(out);
			return st;
		}
	} else {
		memcpy(out, e, T * sizeof(float));
	}
	dc_free(e);
	*db = out;
	*frames = T;
	return DC_OK;
}
