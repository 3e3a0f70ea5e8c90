/*
 * test_signal.c - lib/signal against golden vectors from scipy 1.10 and the
 * numpy ports of librosa 0.10.2 in tests/golden/make_signal.py (files in
 * tests/golden/signal/, read from $DC_TOP or the current directory), plus
 * property tests (thread-count invariance, bad arguments, edge cases).
 */
#include <stdint.h>

#include "test.h"
#include "core/core.h"
#include "io/npy.h"
#include "signal/signal.h"
#include "golden_npy.h"


static int golden_load(struct golden *g, const char *name)
{
	return golden_npy_load(g, "signal", name);
}

static size_t numel(const struct dc_tensor *t)
{
	return dc_tensor_numel(t);
}

/* int16 audio -> float (x / 32768) */
static float *audio_of(const struct dc_tensor *t)
{
	size_t n = numel(t);
	float *x = dc_alloc((n ? n : 1) * sizeof(float));
	const int16_t *q = t->data;
	for (size_t i = 0; i < n; i++)
		x[i] = q[i] / 32768.0f;
	return x;
}

#define F32(g, i) ((const float *)(g).t[i].data)

TEST(stft_and_window)
{
	struct golden g;
	if (golden_load(&g, "stft") || g.n != 4) { CHECK(0); golden_free(&g); return; }
	float *x = audio_of(&g.t[0]);
	size_t n = numel(&g.t[0]), T;
	float w[512];
	dc_window_hann(w, 512, 1);
	CHECK_CLOSE(w, F32(g, 1), 512, 1e-7, 0);
	float *S;
	CHECK_EQ_INT(dc_stft_power(x, n, 512, 128, 2, &S, &T), DC_OK);
	CHECK_EQ_INT(T, g.t[2].shape[0]);
	CHECK_EQ_INT(T, dc_stft_frames(n, 128));
	CHECK_CLOSE(S, F32(g, 2), T * 257, 2e-4, 1e-4);
	dc_free(S);
	CHECK_EQ_INT(dc_stft_power(x, n, 256, 100, 1, &S, &T), DC_OK);
	CHECK_EQ_INT(T, g.t[3].shape[0]);
	CHECK_CLOSE(S, F32(g, 3), T * 129, 1e-4, 1e-4);
	/* thread-count invariance */
	dc_set_threads(1);
	float *S1;
	size_t T1;
	CHECK_EQ_INT(dc_stft_power(x, n, 256, 100, 1, &S1, &T1), DC_OK);
	dc_set_threads(0);
	CHECK(T1 == T && memcmp(S, S1, T * 129 * sizeof(float)) == 0);
	dc_free(S1);
	dc_free(S);
	/* bad arguments */
	CHECK_EQ_INT(dc_stft_power(x, n, 255, 100, 1, &S, &T), DC_EINVAL);
	CHECK_EQ_INT(dc_stft_power(x, n, 256, 0, 1, &S, &T), DC_EINVAL);
	CHECK(S == NULL);
	/* empty input: one all-zero frame */
	CHECK_EQ_INT(dc_stft_power(x, 0, 256, 100, 2, &S, &T), DC_OK);
	CHECK_EQ_INT(T, 1);
	CHECK(S[0] == 0 && S[128] == 0);
	dc_free(S);
	dc_free(x);
	golden_free(&g);
}

TEST(filterbanks)
{
	struct golden g;
	if (golden_load(&g, "mel_fb") || g.n != 2) { CHECK(0); golden_free(&g); return; }
	struct dc_filterbank fb;
	CHECK_EQ_INT(dc_mel_filterbank(&fb, 16000, 512, 40, 0, 8000), DC_OK);
	CHECK_CLOSE(fb.w, F32(g, 0), 40 * 257, 1e-7, 1e-5);
	/* the nonzero ranges hold every nonzero weight */
	size_t outside = 0;
	for (int r = 0; r < fb.n_filters; r++)
		for (int k = 0; k < fb.n_bins; k++)
			if ((k < fb.lo[r] || k >= fb.hi[r]) && fb.w[r * fb.n_bins + k] != 0)
				outside++;
	CHECK_EQ_INT(outside, 0);
	dc_filterbank_release(&fb);
	CHECK_EQ_INT(dc_mel_filterbank(&fb, 44100, 1024, 64, 0, 8000), DC_OK);
	CHECK_CLOSE(fb.w, F32(g, 1), 64 * 513, 1e-7, 1e-5);
	dc_filterbank_release(&fb);
	CHECK_EQ_INT(dc_mel_filterbank(&fb, 44100, 1024, 64, 9000, 8000), DC_EINVAL);
	golden_free(&g);

	if (golden_load(&g, "chroma_fb") || g.n != 2) { CHECK(0); golden_free(&g); return; }
	CHECK_EQ_INT(dc_chroma_filterbank(&fb, 44100, 2048, 12, 0.0), DC_OK);
	CHECK_CLOSE(fb.w, F32(g, 0), 12 * 1025, 1e-7, 1e-5);
	dc_filterbank_release(&fb);
	CHECK_EQ_INT(dc_chroma_filterbank(&fb, 8000, 512, 12, 0.3), DC_OK);
	CHECK_CLOSE(fb.w, F32(g, 1), 12 * 257, 1e-7, 1e-5);
	/* apply == dense product */
	float spec[2 * 257], out[24], ref[24];
	for (int k = 0; k < 2 * 257; k++)
		spec[k] = (float)((k * 37) % 101) / 101.0f;
	dc_filterbank_apply(&fb, spec, 2, out);
	/* the fused STFT + filterbank equals the two steps */
	{
		float sig[3000], *S2, *C1, *C2;
		size_t T1, T2;
		for (int i = 0; i < 3000; i++)
			sig[i] = (float)sin(i * 0.37) * (float)((i * 7919) % 17) / 17.0f;
		CHECK_EQ_INT(dc_stft_power(sig, 3000, 512, 128, 2, &S2, &T1), DC_OK);
		C1 = dc_alloc(T1 * 12 * sizeof(float));
		dc_filterbank_apply(&fb, S2, T1, C1);
		CHECK_EQ_INT(dc_stft_filterbank(sig, 3000, 512, 128, 2, &fb, &C2, &T2), DC_OK);
		CHECK_EQ_INT(T1, T2);
		CHECK(memcmp(C1, C2, T1 * 12 * sizeof(float)) == 0);
		dc_free(C2);
		CHECK_EQ_INT(dc_stft_filterbank(sig, 3000, 1024, 128, 2, &fb, &C2, &T2), DC_EINVAL);
		dc_free(S2); dc_free(C1);
	}
	for (int t = 0; t < 2; t++)
		for (int r = 0; r < 12; r++) {
			double s = 0;
			for (int k = 0; k < 257; k++)
				s += (double)fb.w[r * 257 + k] * spec[t * 257 + k];
			ref[t * 12 + r] = (float)s;
		}
	CHECK_CLOSE(out, ref, 24, 1e-5, 1e-5);
	dc_filterbank_release(&fb);
	golden_free(&g);
}

TEST(butter_filtfilt)
{
	struct golden g;
	if (golden_load(&g, "filtfilt") || g.n != 5) { CHECK(0); golden_free(&g); return; }
	const double *ref = g.t[1].data;   /* bh ah bl al */
	struct dc_biquad h, l;
	CHECK_EQ_INT(dc_butter2(&h, 261.2, 44100, 1), DC_OK);
	CHECK_EQ_INT(dc_butter2(&l, 1000, 8000, 0), DC_OK);
	double got[12] = { h.b[0], h.b[1], h.b[2], h.a[0], h.a[1], h.a[2],
	                   l.b[0], l.b[1], l.b[2], l.a[0], l.a[1], l.a[2] };
	CHECK_CLOSE(got, ref, 12, 1e-13, 1e-12);
	float *x = audio_of(&g.t[0]);
	size_t n = numel(&g.t[0]);
	float *y = dc_alloc(n * sizeof(float));
	CHECK_EQ_INT(dc_filtfilt(&h, x, n, y), DC_OK);
	CHECK_CLOSE(y, F32(g, 2), n, 1e-6, 1e-5);
	CHECK_EQ_INT(dc_filtfilt(&l, x, n, y), DC_OK);
	CHECK_CLOSE(y, F32(g, 3), n, 1e-6, 1e-5);
	CHECK_EQ_INT(dc_filtfilt(&h, x, 40, y), DC_OK);
	CHECK_CLOSE(y, F32(g, 4), 40, 1e-6, 1e-5);
	/* in place equals out of place */
	float *z = dc_alloc(40 * sizeof(float));
	memcpy(z, x, 40 * sizeof(float));
	CHECK_EQ_INT(dc_filtfilt(&h, z, 40, z), DC_OK);
	CHECK(memcmp(z, y, 40 * sizeof(float)) == 0);
	/* tiny inputs do not crash; a constant passes a low-pass unchanged */
	float c[3] = { 0.5f, 0.5f, 0.5f }, co[3];
	CHECK_EQ_INT(dc_filtfilt(&l, c, 3, co), DC_OK);
	CHECK_CLOSE(co, c, 3, 1e-6, 0);
	CHECK_EQ_INT(dc_filtfilt(&l, c, 1, co), DC_OK);
	CHECK_EQ_INT(dc_butter2(&h, 30000, 44100, 1), DC_EINVAL);
	CHECK_EQ_INT(dc_butter2(&h, 0, 44100, 1), DC_EINVAL);
	dc_free(x); dc_free(y); dc_free(z);
	golden_free(&g);
}

TEST(savgol)
{
	struct golden g;
	if (golden_load(&g, "savgol") || g.n != 4) { CHECK(0); golden_free(&g); return; }
	const float *s = F32(g, 0);
	size_t n = numel(&g.t[0]);
	float *y = dc_alloc(n * sizeof(float));
	CHECK_EQ_INT(dc_savgol(s, n, 51, 1, y), DC_OK);
	CHECK_CLOSE(y, F32(g, 1), n, 1e-4, 1e-5);
	CHECK_EQ_INT(dc_savgol(s, n, 11, 3, y), DC_OK);
	CHECK_CLOSE(y, F32(g, 2), n, 1e-4, 1e-5);
	CHECK_EQ_INT(dc_savgol(s, n, 279, 1, y), DC_OK);
	CHECK_CLOSE(y, F32(g, 3), n, 1e-4, 1e-5);
	CHECK_EQ_INT(dc_savgol(s, n, 50, 1, y), DC_EINVAL);
	CHECK_EQ_INT(dc_savgol(s, n, 11, 11, y), DC_EINVAL);
	CHECK_EQ_INT(dc_savgol(s, 10, 11, 1, y), DC_EINVAL);
	dc_free(y);
	golden_free(&g);
}

TEST(resample)
{
	struct golden g;
	if (golden_load(&g, "resample") || g.n != 4) { CHECK(0); golden_free(&g); return; }
	float *x = audio_of(&g.t[0]), *y;
	size_t n = numel(&g.t[0]), ny;
	static const int ratio[3][2] = { { 1, 2 }, { 3, 2 }, { 147, 160 } };
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(dc_resample_poly(x, n, ratio[i][0], ratio[i][1], &y, &ny), DC_OK);
		CHECK_EQ_INT(ny, numel(&g.t[i + 1]));
		if (ny == numel(&g.t[i + 1]))
			CHECK_CLOSE(y, F32(g, i + 1), ny, 1e-6, 1e-5);
		dc_free(y);
	}
	/* 48000 -> 44100 through dc_audio_resample reduces the ratio */
	CHECK_EQ_INT(dc_audio_resample(x, n, 48000, 44100, &y, &ny), DC_OK);
	CHECK_EQ_INT(ny, numel(&g.t[3]));
	if (ny == numel(&g.t[3]))
		CHECK_CLOSE(y, F32(g, 3), ny, 1e-6, 1e-5);
	dc_free(y);
	CHECK_EQ_INT(dc_audio_resample(x, n, 44100, 44100, &y, &ny), DC_OK);
	CHECK(ny == n && memcmp(x, y, n * sizeof(float)) == 0);
	dc_free(y);
	CHECK_EQ_INT(dc_resample_poly(x, n, 0, 2, &y, &ny), DC_EINVAL);
	CHECK_EQ_INT(dc_resample_poly(x, n, 99991, 99989, &y, &ny), DC_ELIMIT);
	dc_free(x);
	golden_free(&g);
}

TEST(onset_strength)
{
	struct golden g;
	if (golden_load(&g, "onset") || g.n != 2) { CHECK(0); golden_free(&g); return; }
	float *x = audio_of(&g.t[0]), *env;
	size_t n = numel(&g.t[0]), T;
	CHECK_EQ_INT(dc_onset_strength(x, n, 22050, 2048, 512, 128, &env, &T), DC_OK);
	CHECK_EQ_INT(T, numel(&g.t[1]));
	CHECK_CLOSE(env, F32(g, 1), T, 2e-3, 1e-3);
	dc_free(env);
	dc_free(x);
	golden_free(&g);
}

TEST(tempo_and_beats)
{
	for (int c = 0; c < 4; c++) {
		char name[16];
		snprintf(name, sizeof name, "beats%d", c);
		struct golden g;
		if (golden_load(&g, name) || g.n != 4) { CHECK(0); golden_free(&g); return; }
		const float *env = F32(g, 0);
		size_t n = numel(&g.t[0]), win;
		double sr = c == 3 ? 8000 : 22050;
		int hop = c == 3 ? 128 : 512;
		struct dc_tempo_params p;
		dc_tempo_params_default(&p, sr, hop);
		double bpm;
		float *tg;
		CHECK_EQ_INT(dc_tempo(env, n, &p, &bpm, &tg, &win), DC_OK);
		double ref_bpm = ((const double *)g.t[1].data)[0];
		CHECK_CLOSE(&bpm, &ref_bpm, 1, 1e-9, 1e-9);
		CHECK_EQ_INT(win, numel(&g.t[2]));
		CHECK_CLOSE(tg, F32(g, 2), win, 2e-5, 1e-4);
		dc_free(tg);
		int64_t *beats;
		size_t nb;
		CHECK_EQ_INT(dc_beat_track(env, n, sr / hop, ref_bpm, 100, 1, &beats, &nb), DC_OK);
		CHECK_EQ_INT(nb, numel(&g.t[3]));
		const int64_t *rb = g.t[3].data;
		size_t diff = 0;
		for (size_t i = 0; i < nb && i < numel(&g.t[3]); i++)
			diff += beats[i] != rb[i];
		if (diff)
			printf("#   case %d: %zu beats differ\n", c, diff);
		CHECK_EQ_INT(diff, 0);
		/* downbeat phase picks the accented beat of each bar */
		if (c == 0 && nb >= 8) {
			float *acc = dc_calloc(n, sizeof(float));
			for (size_t i = 2; i < nb; i += 4)
				acc[beats[i]] = 1;
			int phase;
			CHECK_EQ_INT(dc_downbeat_phase(acc, n, beats, nb, 4, &phase), DC_OK);
			CHECK_EQ_INT(phase, 2);
			CHECK_EQ_INT(dc_downbeat_phase(acc, n, beats, nb, 0, &phase), DC_EINVAL);
			dc_free(acc);
		}
		dc_free(beats);
		golden_free(&g);
	}
	/* an all-zero envelope has no beats; bad tempo refused */
	float z[500] = { 0 };
	int64_t *b;
	size_t nb;
	CHECK_EQ_INT(dc_beat_track(z, 500, 43.07, 120, 100, 1, &b, &nb), DC_OK);
	CHECK_EQ_INT(nb, 0);
	dc_free(b);
	CHECK_EQ_INT(dc_beat_track(z, 500, 43.07, 0, 100, 1, &b, &nb), DC_EINVAL);
	struct dc_tempo_params p;
	dc_tempo_params_default(&p, 22050, 512);
	double bpm;
	CHECK_EQ_INT(dc_tempo(z, 500, &p, &bpm, NULL, NULL), DC_OK);
	CHECK(bpm > 100 && bpm < 140);
	CHECK_EQ_INT(dc_tempo(z, 0, &p, &bpm, NULL, NULL), DC_EINVAL);
}

TEST(controls)
{
	struct golden ga, g;
	if (golden_load(&ga, "audio8k") || golden_load(&g, "controls") || g.n != 3) {
		CHECK(0); golden_free(&ga); golden_free(&g); return;
	}
	float *x = audio_of(&ga.t[0]);
	size_t n = 3 * 8000, T;
	struct dc_melody_params mp = { .sr = 8000, .cutoff = 261.2, .n_fft = 512, .hop = 128 };
	uint8_t *pc;
	CHECK_EQ_INT(dc_melody(x, n, &mp, &pc, &T), DC_OK);
	CHECK_EQ_INT(T, numel(&g.t[0]));
	const uint8_t *rpc = g.t[0].data;
	size_t diff = 0;
	for (size_t t = 0; t < T && t < numel(&g.t[0]); t++)
		diff += pc[t] != rpc[t];
	if (diff)
		printf("#   melody: %zu of %zu frames differ\n", diff, T);
	CHECK(diff * 100 <= T);    /* near-ties may flip a frame or two */
	dc_free(pc);
	struct dc_dynamics_params dp;
	dc_dynamics_params_default(&dp);
	dp.sr = 8000; dp.n_fft = 256; dp.hop = 64; dp.n_mels = 32; dp.fmax = 4000;
	dp.sg_window = 1;   /* 1 <= order: no smoothing */
	float *db;
	CHECK_EQ_INT(dc_dynamics(x, n, &dp, &db, &T), DC_OK);
	CHECK_EQ_INT(T, numel(&g.t[1]));
	CHECK_CLOSE(db, F32(g, 1), T, 2e-3, 0);
	dc_free(db);
	dp.sg_window = 125;
	CHECK_EQ_INT(dc_dynamics(x, n, &dp, &db, &T), DC_OK);
	CHECK_CLOSE(db, F32(g, 2), T, 2e-3, 0);
	dc_free(db);
	dp.sg_window = 0;   /* default: odd length nearest to one second (125 frames) */
	CHECK_EQ_INT(dc_dynamics_window(&dp, T), 125);
	dc_dynamics_params_default(&dp);
	CHECK_EQ_INT(dc_dynamics_window(&dp, 100000), 275);   /* 275.6 fps */
	CHECK_EQ_INT(dc_dynamics_window(&dp, 100), 99);
	CHECK_EQ_INT(dc_dynamics_window(&dp, 1), 0);
	dc_free(x);
	golden_free(&ga);
	golden_free(&g);
}

int main(void)
{
	RUN(stft_and_window);
	RUN(filterbanks);
	RUN(butter_filtfilt);
	RUN(savgol);
	RUN(resample);
	RUN(onset_strength);
	RUN(tempo_and_beats);
	RUN(controls);
	return test_summary();
}
