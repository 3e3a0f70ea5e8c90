/*
 * test_tts_audio.c - lib/speech/tts_audio.c: the FastSpeech 2 log-mel
 * (ming024 TacotronSTFT and HiFi-GAN variants) and the magnitude STFT
 * against tests/golden/tts_audio/ (tests/golden/make_tts_audio.py),
 * Griffin-Lim against torchaudio 0.13.1's griffinlim (rand_init=False,
 * torch float32 and float64), thread-count invariance, bad parameters and
 * too-short input, and on the real speechocean762 clip (resampled to
 * 22050 Hz) the mel -> linear (NNLS) -> Griffin-Lim -> mel round trip,
 * spectral convergence against iterations and momentum, and speed.
 */
#include <stdint.h>

#include "test.h"
#include "core/core.h"
#include "io/media.h"
#include "io/npy.h"
#include "signal/signal.h"
#include "speech/tts_audio.h"
#include "golden_npy.h"


static int golden_load(struct golden *g, const char *name)
{
	return golden_npy_load(g, "tts_audio", name);
}

/* Max |a - b| for float a, double b. */
static double max_diff_f64(const float *a, const double *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);
		if (d > m || d != d)
			m = d;
	}
	return m;
}

static float *int16_to_float(const struct dc_tensor *t, size_t *n)
{
	*n = dc_tensor_numel(t);
	const int16_t *q = t->data;
	float *x = dc_alloc(*n * sizeof(float));
	for (size_t i = 0; i < *n; i++)
		x[i] = q[i] / 32768.0f;
	return x;
}

TEST(mel_vs_ming024_and_hifigan)
{
	struct golden g;
	if (golden_load(&g, "mel") || g.n != 7) {
		CHECK(0);
		return;
	}
	size_t n, T;
	float *x = int16_to_float(&g.t[0], &n), *mel, *energy;
	struct dc_tts_mel_params p;
	dc_tts_mel_params_default(&p);
	CHECK_EQ_INT(dc_tts_mel(x, n, &p, &mel, &energy, &T), DC_OK);
	CHECK_EQ_INT(T, g.t[1].shape[0]);
	CHECK_EQ_INT(T, dc_tts_frames(&p, n));
	CHECK_EQ_INT(g.t[1].shape[1], 80);
	if (T == (size_t)g.t[1].shape[0]) {
		double d64 = max_diff_f64(mel, g.t[4].data, T * 80);
		printf("#   TacotronSTFT log-mel max |diff| vs float64 reference %.3g, vs float32 torch %.3g\n",
		       d64, max_abs_diff(mel, g.t[1].data, T * 80));
		/* float32 rounding of the frame's FFT is relative to the frame's
		 * energy, so near-silent bins (log-mel ~ -10) carry most of it; the
		 * float32 torch reference itself is 5.7e-4 off the float64 one,
		 * kissfft in float32 3.6e-4 */
		CHECK(d64 < 5e-4);
		CHECK_CLOSE(mel, (const float *)g.t[1].data, T * 80, 1.5e-3, 0);
		CHECK_CLOSE(energy, (const float *)g.t[2].data, T, 0, 1e-5);
	}
	dc_free(mel);
	dc_free(energy);
	p.hifigan = 1;
	CHECK_EQ_INT(dc_tts_mel(x, n, &p, &mel, NULL, &T), DC_OK);
	CHECK_EQ_INT(T, g.t[3].shape[0]);
	CHECK_EQ_INT(T, dc_tts_frames(&p, n));
	if (T == (size_t)g.t[3].shape[0]) {
		double d64 = max_diff_f64(mel, g.t[5].data, T * 80);
		printf("#   HiFi-GAN log-mel max |diff| vs float64 reference %.3g, vs float32 torch %.3g\n",
		       d64, max_abs_diff(mel, g.t[3].data, T * 80));
		CHECK(d64 < 5e-4);
		CHECK_CLOSE(mel, (const float *)g.t[3].data, T * 80, 1.5e-3, 0);
	}
	dc_free(mel);
	/* mel -> linear without NNLS iterations: the clamped pseudo-inverse */
	p.hifigan = 0;
	T = g.t[1].shape[0];
	float *S;
	double r;
	CHECK_EQ_INT(dc_mel_to_linear(g.t[1].data, T, &p, 0, &S, &r), DC_OK);
	const float *ref = g.t[6].data;
	double peak = 0;
	for (size_t i = 0; i < T * 513; i++)
		peak = fabs(ref[i]) > peak ? fabs(ref[i]) : peak;
	printf("#   clamp(pinv(M) mel) max |diff| vs numpy %.3g (peak %.3g)\n", max_abs_diff(S, ref, T * 513), peak);
	CHECK_CLOSE(S, ref, T * 513, 1e-6 * peak, 1e-4);
	dc_free(S);
	dc_free(x);
	golden_free(&g);
}

/* Griffin-Lim against torchaudio: magnitude, then both momenta. */
TEST(griffin_lim_vs_torchaudio)
{
	struct golden g;
	if (golden_load(&g, "gl") || g.n != 6) {
		CHECK(0);
		return;
	}
	size_t n, T, ny;
	float *x = int16_to_float(&g.t[0], &n), *mag, *y;
	struct dc_tts_mel_params mp;
	dc_tts_mel_params_default(&mp);
	CHECK_EQ_INT(dc_tts_magnitude(x, n, &mp, &mag, &T), DC_OK);
	CHECK_EQ_INT(T, g.t[1].shape[0]);
	const float *gm = g.t[1].data;
	printf("#   |stft| max |diff| vs torch.stft %.3g\n", max_abs_diff(mag, gm, T * 513));
	CHECK_CLOSE(mag, gm, T * 513, 2e-5, 1e-5);
	const double *prm = g.t[2].data;
	struct dc_griffin_lim_params p;
	dc_griffin_lim_params_default(&p);
	p.n_iter = (int)prm[0];
	CHECK_EQ_INT(p.n_iter, 32);
	/* on the golden's own float32 magnitude */
	for (int k = 0; k < 2; k++) {
		p.momentum = k ? 0.0 : prm[1];
		CHECK_EQ_INT(dc_griffin_lim(gm, T, &p, &y, &ny), DC_OK);
		CHECK_EQ_INT(ny, g.t[3 + k].shape[0]);
		const float *ref = g.t[3 + k].data;
		double peak = 0;
		for (size_t i = 0; i < ny; i++)
			peak = fabs(ref[i]) > peak ? fabs(ref[i]) : peak;
		double d32 = max_abs_diff(y, ref, ny);
		printf("#   GL momentum %.2f: max |diff| vs torch f32 %.3g (peak %.3g)", p.momentum, d32, peak);
		CHECK(d32 <= 1e-4 * peak);
		if (k == 0) {
			const double *r64 = g.t[5].data;
			double d64 = 0;
			for (size_t i = 0; i < ny; i++)
				d64 = fabs(y[i] - r64[i]) > d64 ? fabs(y[i] - r64[i]) : d64;
			double t32 = 0;
			for (size_t i = 0; i < ny; i++)
				t32 = fabs(ref[i] - r64[i]) > t32 ? fabs(ref[i] - r64[i]) : t32;
			printf(", vs torch f64 %.3g (torch f32 vs f64 %.3g)", d64, t32);
			CHECK(d64 <= 1e-4 * peak);
		}
		printf("\n");
		dc_free(y);
	}
	/* thread-count invariance, bitwise */
	float *y1, *y2;
	size_t n1, n2;
	p.momentum = 0.99;
	p.n_iter = 5;
	dc_set_threads(1);
	CHECK_EQ_INT(dc_griffin_lim(gm, T, &p, &y1, &n1), DC_OK);
	dc_set_threads(3);
	CHECK_EQ_INT(dc_griffin_lim(gm, T, &p, &y2, &n2), DC_OK);
	dc_set_threads(0);
	CHECK(n1 == n2 && memcmp(y1, y2, n1 * sizeof(float)) == 0);
	dc_free(y1);
	dc_free(y2);
	/* seeded random init: reproducible, seed-dependent */
	p.rand_init = 1;
	p.seed = 7;
	CHECK_EQ_INT(dc_griffin_lim(gm, T, &p, &y1, &n1), DC_OK);
	CHECK_EQ_INT(dc_griffin_lim(gm, T, &p, &y2, &n2), DC_OK);
	CHECK(memcmp(y1, y2, n1 * sizeof(float)) == 0);
	dc_free(y2);
	p.seed = 8;
	CHECK_EQ_INT(dc_griffin_lim(gm, T, &p, &y2, &n2), DC_OK);
	CHECK(memcmp(y1, y2, n1 * sizeof(float)) != 0);
	dc_free(y1);
	dc_free(y2);
	dc_free(mag);
	dc_free(x);
	golden_free(&g);
}

TEST(bad_input)
{
	float x[600] = { 0 }, *out = (float *)1, *e = (float *)1;
	size_t T = 5;
	struct dc_tts_mel_params p;
	dc_tts_mel_params_default(&p);
	CHECK_EQ_INT(dc_tts_mel(x, 512, &p, &out, &e, &T), DC_EINVAL);   /* pad 512 needs n > 512 */
	CHECK(out == NULL && e == NULL && T == 0);
	CHECK_EQ_INT(dc_tts_mel(x, 513, &p, &out, NULL, &T), DC_OK);
	CHECK_EQ_INT(T, 3);
	dc_free(out);
	p.n_fft = 1023;
	CHECK_EQ_INT(dc_tts_mel(x, 600, &p, &out, NULL, &T), DC_EINVAL);
	dc_tts_mel_params_default(&p);
	p.win = 2048;
	CHECK_EQ_INT(dc_tts_mel(x, 600, &p, &out, NULL, &T), DC_EINVAL);
	dc_tts_mel_params_default(&p);
	p.fmax = 0;
	CHECK_EQ_INT(dc_tts_mel(x, 600, &p, &out, NULL, &T), DC_EINVAL);
	dc_tts_mel_params_default(&p);
	p.hifigan = 1;
	CHECK_EQ_INT(dc_tts_mel(x, 384, &p, &out, NULL, &T), DC_EINVAL);
	CHECK_EQ_INT(dc_tts_mel(x, 385, &p, &out, NULL, &T), DC_OK);
	CHECK_EQ_INT(T, 1);
	dc_free(out);
	struct dc_griffin_lim_params g;
	dc_griffin_lim_params_default(&g);
	static float mag[4 * 513];
	CHECK_EQ_INT(dc_griffin_lim(mag, 1, &g, &out, &T), DC_EINVAL);
	CHECK_EQ_INT(dc_griffin_lim(mag, 2, &g, &out, &T), DC_EINVAL);   /* 256 samples <= 512 */
	CHECK(out == NULL && T == 0);
	CHECK_EQ_INT(dc_griffin_lim(mag, 4, &g, &out, &T), DC_OK);        /* 768 > 512; zeros in, zeros out */
	CHECK_EQ_INT(T, 768);
	CHECK(max_abs_diff(out, mag, 768) == 0);
	dc_free(out);
	g.momentum = 1.0;
	CHECK_EQ_INT(dc_griffin_lim(mag, 4, &g, &out, &T), DC_EINVAL);
	g.momentum = -0.1;
	CHECK_EQ_INT(dc_griffin_lim(mag, 4, &g, &out, &T), DC_EINVAL);
	dc_griffin_lim_params_default(&g);
	g.hop = 1024;
	g.win = 512;   /* gaps between windows: zero envelope */
	CHECK_EQ_INT(dc_griffin_lim(mag, 4, &g, &out, &T), DC_EINVAL);
	g.hop = 256;
	g.n_iter = -1;
	CHECK_EQ_INT(dc_griffin_lim(mag, 4, &g, &out, &T), DC_EINVAL);
	dc_tts_mel_params_default(&p);
	double r;
	CHECK_EQ_INT(dc_mel_to_linear(mag, 2, &p, -1, &out, &r), DC_EINVAL);
}

/* The real clip at 22050 Hz, loaded once. */
static float *clip;
static size_t clip_n;

static int load_clip(void)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/tests/data/spk/so762_000010011.wav", top_dir());
	FILE *fp = fopen(path, "rb");
	struct dc_audio au;
	if (!fp || dc_audio_read(fp, &au)) {
		printf("#   cannot read %s\n", path);
		if (fp)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	enum dc_status st = dc_audio_resample(au.data, au.frames, au.sample_rate, 22050, &clip, &clip_n);
	dc_audio_release(&au);
	return st ? -1 : 0;
}

/* The FastSpeech 2 mel of real speech, inverted by NNLS and Griffin-Lim. */
TEST(mel_round_trip_real_speech)
{
	if (!clip && load_clip()) {
		CHECK(0);
		return;
	}
	struct dc_tts_mel_params p;
	dc_tts_mel_params_default(&p);
	float *mel, *S0, *S100, *S0b;
	size_t T;
	CHECK_EQ_INT(dc_tts_mel(clip, clip_n, &p, &mel, NULL, &T), DC_OK);
	double r0, r100;
	CHECK_EQ_INT(dc_mel_to_linear(mel, T, &p, 0, &S0, &r0), DC_OK);
	CHECK_EQ_INT(dc_mel_to_linear(mel, T, &p, 200, &S100, &r100), DC_OK);
	dc_set_threads(1);
	CHECK_EQ_INT(dc_mel_to_linear(mel, T, &p, 0, &S0b, NULL), DC_OK);
	dc_set_threads(0);
	CHECK(memcmp(S0, S0b, T * 513 * sizeof(float)) == 0);
	dc_free(S0b);
	printf("#   mel -> linear relative mel residual: clamp(pinv) %.3g, +200 NNLS iterations %.3g\n", r0, r100);
	CHECK(r100 < r0);
	CHECK(r100 < 0.01);
	size_t neg = 0;
	for (size_t i = 0; i < T * 513; i++)
		neg += S100[i] < 0 || S0[i] < 0;
	CHECK_EQ_INT(neg, 0);
	/* the NNLS output's own log-mel is close to the input's */
	{
		struct dc_filterbank fb;
		CHECK_EQ_INT(dc_mel_filterbank(&fb, 22050, 1024, 80, 0, 8000), DC_OK);
		float *m2 = dc_alloc(T * 80 * sizeof(float));
		dc_filterbank_apply(&fb, S100, T, m2);
		double e = 0;
		for (size_t i = 0; i < T * 80; i++)
			e += fabs(log(m2[i] > 1e-5f ? m2[i] : 1e-5f) - mel[i]);
		printf("#   log-mel of NNLS linear vs input: mean |diff| %.3g\n", e / (T * 80));
		CHECK(e / (T * 80) < 0.05);
		dc_free(m2);
		dc_filterbank_release(&fb);
	}
	/* Griffin-Lim: spectral convergence against iterations and momentum */
	struct dc_griffin_lim_params g;
	dc_griffin_lim_params_default(&g);
	static const int iters[3] = { 8, 32, 60 };
	double sc[3], sc0 = 0;
	float *y = NULL;
	size_t ny;
	for (int k = 0; k < 3; k++) {
		g.n_iter = iters[k];
		CHECK_EQ_INT(dc_griffin_lim(S100, T, &g, &y, &ny), DC_OK);
		CHECK_EQ_INT(dc_spectral_convergence(S100, T, y, ny, 1024, 256, 1024, &sc[k]), DC_OK);
		if (k == 1) {
			float *mel2;
			size_t T2;
			CHECK_EQ_INT(dc_tts_mel(y, ny, &p, &mel2, NULL, &T2), DC_OK);
			CHECK_EQ_INT(T2, T);
			double e = 0, emax = 0, ex = 0;
			for (size_t i = 0; i < T * 80; i++) {
				double d = fabs(mel2[i] - mel[i]);
				e += d;
				emax = d > emax ? d : emax;
				ex += fabs(mel[i] - (-11.5129));
			}
			printf("#   mel -> NNLS -> GL(32, m 0.99) -> mel: mean |log-mel diff| %.4f, max %.3f "
			       "(mean |log-mel - log 1e-5| %.2f)\n", e / (T * 80), emax, ex / (T * 80));
			CHECK(e / (T * 80) < 0.25);
			dc_free(mel2);
		}
		dc_free(y);
	}
	g.n_iter = 32;
	g.momentum = 0;
	CHECK_EQ_INT(dc_griffin_lim(S100, T, &g, &y, &ny), DC_OK);
	CHECK_EQ_INT(dc_spectral_convergence(S100, T, y, ny, 1024, 256, 1024, &sc0), DC_OK);
	dc_free(y);
	g.momentum = 0.99;
	g.rand_init = 1;
	double scr;
	CHECK_EQ_INT(dc_griffin_lim(S100, T, &g, &y, &ny), DC_OK);
	CHECK_EQ_INT(dc_spectral_convergence(S100, T, y, ny, 1024, 256, 1024, &scr), DC_OK);
	dc_free(y);
	printf("#   spectral convergence, momentum 0.99: 8 it %.4f, 32 it %.4f, 60 it %.4f; "
	       "32 it momentum 0: %.4f; 32 it random init: %.4f\n", sc[0], sc[1], sc[2], sc0, scr);
	CHECK(sc[1] < sc[0] && sc[2] < sc[1]);
	CHECK(sc[1] < sc0);
	CHECK(scr < 0.5);
	/* speed: 32 iterations on the whole clip */
	g.rand_init = 0;
	for (int nt = 1; nt <= 2; nt++) {
		dc_set_threads(nt);
		/* best of the runs in a second: the test machine is shared */
		double t0 = dc_time(), dt = 1e30;
		do {
			double t1 = dc_time();
			CHECK_EQ_INT(dc_griffin_lim(S100, T, &g, &y, &ny), DC_OK);
			dc_free(y);
			t1 = dc_time() - t1;
			dt = t1 < dt ? t1 : dt;
		} while (dc_time() - t0 < 1.0);
		printf("#   Griffin-Lim 32 it, %d thread%s: %.1f s of audio per second (RTF %.4f)\n",
		       nt, nt > 1 ? "s" : "", (ny / 22050.0) / dt, dt / (ny / 22050.0));
	}
	dc_set_threads(0);
	dc_free(S0);
	dc_free(S100);
	dc_free(mel);
}

/* dc_resample_factor: a sine comes out at a times its frequency (against
 * the closed form, away from the edges); above the output's Nyquist it is
 * removed, not aliased; bad factors are errors. */
TEST(resample_factor)
{
	const size_t n = 8000;
	const double sr = 22050, PI = 3.14159265358979323846;
	float *x = dc_alloc(n * sizeof *x);
	const double as[] = { 0.8, 1.0, 1.25, 2.0 };
	for (int q = 0; q < 4; q++) {
		double a = as[q], f0 = 440;
		for (size_t i = 0; i < n; i++)
			x[i] = (float)sin(2 * PI * f0 * (double)i / sr);
		float *y = NULL;
		size_t m = 0;
		CHECK_EQ_INT(dc_resample_factor(x, n, a, &y, &m), DC_OK);
		CHECK_EQ_INT((long)m, lround((double)n / a));
		double e = 0;
		for (size_t j = 100; j + 100 < m; j++) {
			double d = fabs(y[j] - sin(2 * PI * f0 * a * (double)j / sr));
			if (d > e)
				e = d;
		}
		printf("# resample x%.2f: max |error| vs the sine %.2e\n", a, e);
		CHECK(e < 2e-3);
		dc_free(y);
	}
	/* 9 kHz at a = 1.5 would land at 13.5 kHz, above 11.025: filtered out */
	for (size_t i = 0; i < n; i++)
		x[i] = (float)sin(2 * PI * 9000 * (double)i / sr);
	float *y = NULL;
	size_t m = 0;
	CHECK_EQ_INT(dc_resample_factor(x, n, 1.5, &y, &m), DC_OK);
	double pk = 0;
	for (size_t j = 100; j + 100 < m; j++)
		pk = fmax(pk, fabs(y[j]));
	printf("# resample x1.5 of 9 kHz: peak %.2e (alias suppressed)\n", pk);
	CHECK(pk < 0.02);
	dc_free(y);
	CHECK_EQ_INT(dc_resample_factor(x, n, 0.1, &y, &m), DC_EINVAL);
	CHECK_EQ_INT(dc_resample_factor(x, n, NAN, &y, &m), DC_EINVAL);
	dc_free(x);
}

/* dc_mel_envelope_warp: a == 1 changes nothing; a smooth spectrum (all
 * envelope, no harmonics) comes out as the mel of S(f * a); the
 * harmonics of a voiced spectrum stay where they were. */
TEST(mel_envelope_warp)
{
	struct dc_tts_mel_params p;
	dc_tts_mel_params_default(&p);
	const int F = p.n_fft / 2 + 1, nm = p.n_mels;
	const double hz = p.sample_rate / p.n_fft, a = 1.25;
	struct dc_filterbank fb;
	CHECK_EQ_INT(dc_mel_filterbank(&fb, p.sample_rate, p.n_fft, nm, p.fmin, p.fmax), DC_OK);
	float *S = dc_alloc(2 * (size_t)F * sizeof *S), *mel = dc_alloc(2 * (size_t)nm * sizeof *mel);
	float *want = dc_alloc(2 * (size_t)nm * sizeof *want);
	for (int pass = 0; pass < 2; pass++)
		for (int k = 0; k < F; k++) {
			double f = k * hz * (pass ? a : 1);
			S[pass * F + k] = (float)(exp(-pow((f - 1000) / 400, 2)) + 0.5 * exp(-pow((f - 2500) / 500, 2)) + 0.02);
		}
	dc_filterbank_apply(&fb, S, 2, mel);
	for (int i = 0; i < 2 * nm; i++)
		mel[i] = logf(mel[i] > 1e-5f ? mel[i] : 1e-5f);
	memcpy(want, mel + nm, (size_t)nm * sizeof *want);
	float keep[80];
	memcpy(keep, mel, (size_t)nm * sizeof *keep);
	CHECK_EQ_INT(dc_mel_envelope_warp(mel, 1, &p, 1.0, 24), DC_OK);
	CHECK(memcmp(keep, mel, (size_t)nm * sizeof *keep) == 0);
	CHECK_EQ_INT(dc_mel_envelope_warp(mel, 1, &p, a, 24), DC_OK);
	/* bands below fmax / a (above it, the warped envelope reads past the
	 * last bin the mel covers: it leaves the mel's range after resampling) */
	double e = 0, me = 0, mk = 0;
	int nb = 0;
	for (int m = 0; m < nm; m++) {
		if (getenv("DEBUG_WARP"))
			printf("# %d %.3f %.3f %.3f\n", m, keep[m], mel[m], want[m]);
		if (m >= 70)      /* band 70 is centred near 6 kHz; 8 kHz / 1.25 = 6.4 kHz */
			continue;
		e = fmax(e, fabs(mel[m] - want[m]));
		me += fabs(mel[m] - want[m]);
		mk += fabs(keep[m] - want[m]);
		nb++;
	}
	printf("# envelope warp x%.2f of a smooth spectrum, bands 0-69: mean |log-mel error| %.3f "
	       "(%.3f before the warp), max %.3f\n", a, me / nb, mk / nb, e);
	CHECK(me / nb < 0.25 && mk / nb > 3 * me / nb && e < 0.8);
	CHECK_EQ_INT(dc_mel_envelope_warp(mel, 1, &p, 5.0, 24), DC_EINVAL);
	CHECK_EQ_INT(dc_mel_envelope_warp(mel, 1, &p, a, 0), DC_EINVAL);
	dc_filterbank_release(&fb);
	dc_free(S);
	dc_free(mel);
	dc_free(want);
}

int main(void)
{
	RUN(mel_vs_ming024_and_hifigan);
	RUN(griffin_lim_vs_torchaudio);
	RUN(bad_input);
	RUN(mel_round_trip_real_speech);
	RUN(resample_factor);
	RUN(mel_envelope_warp);
	dc_free(clip);
	return test_summary();
}
