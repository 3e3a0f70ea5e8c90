/*
 * test_fbank.c - lib/speech/fbank.c against torchaudio 0.13.1
 * compliance.kaldi.fbank and SpeechBrain's Fbank (goldens from
 * tests/golden/make_fbank.py in tests/golden/fbank/, the speechocean762 clip
 * in tests/data/spk/, read from $DC_TOP or the current directory), plus
 * property tests: frame counts, thread-count invariance, dither, bad
 * options and too-short input, CMN against a naive loop, VAD on
 * silence + tone + silence.
 *
 * "exact" goldens are the references run with float64 tensors throughout;
 * "f32" ones are the references as users run them (float32), reported
 * (and loosely bounded) to show how far float32 torch itself is.
 */
#include <stdint.h>

#include "test.h"
#include "core/core.h"
#include "io/media.h"
#include "io/npy.h"
#include "speech/fbank.h"
#include "golden_npy.h"


/* log-domain tolerance against the float64 references (outputs are f32:
 * their own rounding is ~1e-6 at |value| ~ 20) */
#define TOL_EXACT 1e-4
/* against float32 torch: its own rounding reaches 2e-3 on these inputs */
#define TOL_F32 5e-3

static int golden_load(struct golden *g, const char *name)
{
	return golden_npy_load(g, "fbank", name);
}

/* The three inputs at int16 scale: 0 the speechocean762 WAV, 1 noise16k,
 * 2 tone8k. */
static float *inputs[3];
static size_t input_n[3];

static int load_inputs(void)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/tests/data/spk/so762_000010011.wav", top_dir());
	FILE *fp = fopen(path, "rb");
	struct dc_audio au;
	if (!fp || dc_audio_read(fp, &au)) {
		printf("#   cannot read %s: %s\n", path, fp ? dc_errmsg() : "cannot open");
		if (fp)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	if (au.channels != 1 || au.sample_rate != 16000) {
		dc_audio_release(&au);
		return -1;
	}
	inputs[0] = dc_alloc(au.frames * sizeof(float));
	for (size_t i = 0; i < au.frames; i++)
		inputs[0][i] = au.data[i] * 32768.0f;
	input_n[0] = au.frames;
	dc_audio_release(&au);
	static const char *const names[2] = { "input_noise16k", "input_tone8k" };
	for (int k = 0; k < 2; k++) {
		struct golden g;
		if (golden_load(&g, names[k]) || g.n != 1 || g.t[0].dtype != DC_I16)
			return -1;
		size_t n = dc_tensor_numel(&g.t[0]);
		const int16_t *q = g.t[0].data;
		inputs[k + 1] = dc_alloc(n * sizeof(float));
		for (size_t i = 0; i < n; i++)
			inputs[k + 1][i] = q[i];
		input_n[k + 1] = n;
		golden_free(&g);
	}
	return 0;
}

static void opts_of(const double *v, struct dc_fbank_kaldi_opts *o)
{
	dc_fbank_kaldi_defaults(o);
	o->sample_frequency = v[2];
	o->frame_length_ms = v[3];
	o->frame_shift_ms = v[4];
	o->preemphasis_coefficient = v[5];
	o->remove_dc_offset = (int)v[6];
	o->window_type = (enum dc_fbank_window)(int)v[7];
	o->blackman_coeff = v[8];
	o->round_to_power_of_two = (int)v[9];
	o->snip_edges = (int)v[10];
	o->num_mel_bins = (int)v[11];
	o->low_freq = v[12];
	o->high_freq = v[13];
	o->energy_floor = v[14];
	o->use_energy = (int)v[15];
	o->raw_energy = (int)v[16];
	o->use_log_fbank = (int)v[17];
	o->use_power = (int)v[18];
	o->subtract_mean = (int)v[19];
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]) / (fabs((double)b[i]) + 1e-3);
		if (d > m || d != d)
			m = d;
	}
	return m;
}

static const char *const CASES[] = {
	"k_so762_default", "k_so762_nosnip", "k_so762_energy", "k_so762_hamming_cmn",
	"k_noise_hanning", "k_noise_rect", "k_noise_blackman", "k_noise_nopow2", "k_noise_linear",
	"k_noise_prime", "k_noise_wideshift", "k_tone8k", "k_tone8k_odd", "sb_so762", "sb_noise", "sb_tone8k",
};

TEST(goldens)
{
	for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
		struct golden g;
		if (golden_load(&g, CASES[c]) || g.n < 2 || dc_tensor_numel(&g.t[0]) != 20 ||
		    g.t[0].dtype != DC_F64 || g.t[1].dtype != DC_F32 || g.t[1].rank != 2) {
			T_FAILED("golden %s unreadable", CASES[c]);
			golden_free(&g);
			continue;
		}
		const double *v = g.t[0].data;
		int inp = (int)v[0], sb = (int)v[1];
		const float *x = inputs[inp];
		size_t n = input_n[inp], T = 0;
		float *y = NULL;
		int linear = 0;
		enum dc_status st;
		if (sb) {
			float *xs = dc_alloc(n * sizeof(float));
			for (size_t i = 0; i < n; i++)
				xs[i] = x[i] / 32768.0f;
			st = dc_fbank_speechbrain(xs, n, v[2], (int)v[3], &y, &T);
			dc_free(xs);
		} else {
			struct dc_fbank_kaldi_opts o;
			opts_of(v, &o);
			linear = !o.use_log_fbank;
			st = dc_fbank_kaldi(x, n, &o, &y, &T);
			CHECK_EQ_INT(dc_fbank_kaldi_frames(n, &o), T);
		}
		if (st) {
			T_FAILED("%s: %s", CASES[c], dc_errmsg());
			golden_free(&g);
			continue;
		}
		CHECK_EQ_INT(T, g.t[1].shape[0]);
		size_t cols = (size_t)g.t[1].shape[1];
		if ((int64_t)T == g.t[1].shape[0]) {
			size_t N = T * cols;
			const float *ex = g.t[1].data;
			if (linear) {
				double r = max_rel_diff(y, ex, N);
				printf("# %-20s %4zu x %-3zu max rel diff %.2e (linear)\n", CASES[c], T, cols, r);
				CHECK(r <= 1e-5);
			} else {
				double d = max_abs_diff(y, ex, N);
				printf("# %-20s %4zu x %-3zu max |diff| %.2e vs float64 ref", CASES[c], T, cols, d);
				if (g.n > 2) {
					double d32 = max_abs_diff(y, g.t[2].data, N);
					double r32 = max_abs_diff(g.t[2].data, ex, N);
					printf(", %.2e vs float32 ref (which is %.2e from float64)", d32, r32);
				}
				printf("\n");
				if (g.n > 2)
					CHECK(max_abs_diff(y, g.t[2].data, N) <= TOL_F32);
				CHECK_CLOSE(y, ex, N, TOL_EXACT, 0);
			}
		}
		dc_free(y);
		golden_free(&g);
	}
}

TEST(frame_counts)
{
	struct dc_fbank_kaldi_opts o;
	dc_fbank_kaldi_defaults(&o);
	CHECK_EQ_INT(dc_fbank_kaldi_frames(399, &o), 0);
	CHECK_EQ_INT(dc_fbank_kaldi_frames(400, &o), 1);
	CHECK_EQ_INT(dc_fbank_kaldi_frames(559, &o), 1);
	CHECK_EQ_INT(dc_fbank_kaldi_frames(560, &o), 2);
	o.snip_edges = 0;
	CHECK_EQ_INT(dc_fbank_kaldi_frames(399, &o), 0);
	CHECK_EQ_INT(dc_fbank_kaldi_frames(400, &o), 3);
	CHECK_EQ_INT(dc_fbank_kaldi_frames(16000, &o), 100);
	CHECK_EQ_INT(dc_fbank_kaldi_frames(16080, &o), 101);
	o.num_mel_bins = 2;   /* invalid options: 0 */
	CHECK_EQ_INT(dc_fbank_kaldi_frames(16000, &o), 0);
}

/* Same bytes for 1, 2 and 3 threads, with and without dither. */
TEST(threads)
{
	struct dc_fbank_kaldi_opts o;
	dc_fbank_kaldi_defaults(&o);
	o.num_mel_bins = 80;
	for (int dither = 0; dither < 2; dither++) {
		o.dither = dither;
		o.seed = 7;
		float *ref = NULL, *y = NULL;
		size_t T0, T;
		dc_set_threads(1);
		CHECK(dc_fbank_kaldi(inputs[0], input_n[0], &o, &ref, &T0) == DC_OK);
		for (int nt = 2; nt <= 3; nt++) {
			dc_set_threads(nt);
			CHECK(dc_fbank_kaldi(inputs[0], input_n[0], &o, &y, &T) == DC_OK);
			CHECK(T == T0 && y && ref && !memcmp(y, ref, T * 80 * sizeof(float)));
			dc_free(y);
		}
		dc_free(ref);
	}
	float *a = NULL, *b = NULL;
	size_t Ta, Tb;
	dc_set_threads(1);
	CHECK(dc_fbank_speechbrain(inputs[1], input_n[1], 16000, 40, &a, &Ta) == DC_OK);
	dc_set_threads(3);
	CHECK(dc_fbank_speechbrain(inputs[1], input_n[1], 16000, 40, &b, &Tb) == DC_OK);
	CHECK(Ta == Tb && a && b && !memcmp(a, b, Ta * 40 * sizeof(float)));
	dc_free(a);
	dc_free(b);
	dc_set_threads(0);
}

/* Dither: a pure function of the seed, different between seeds, and a small
 * perturbation of the speech frames (large only where the signal is
 * quieter than the dither). */
TEST(dither)
{
	struct dc_fbank_kaldi_opts o;
	dc_fbank_kaldi_defaults(&o);
	o.num_mel_bins = 80;
	float *y0 = NULL, *y1 = NULL, *y1b = NULL, *y2 = NULL;
	size_t T;
	CHECK(dc_fbank_kaldi(inputs[0], input_n[0], &o, &y0, &T) == DC_OK);
	o.dither = 1.0;
	o.seed = 1;
	CHECK(dc_fbank_kaldi(inputs[0], input_n[0], &o, &y1, &T) == DC_OK);
	CHECK(dc_fbank_kaldi(inputs[0], input_n[0], &o, &y1b, &T) == DC_OK);
	o.seed = 2;
	CHECK(dc_fbank_kaldi(inputs[0], input_n[0], &o, &y2, &T) == DC_OK);
	size_t N = T * 80;
	if (y0 && y1 && y1b && y2) {
		CHECK(!memcmp(y1, y1b, N * sizeof(float)));
		CHECK(memcmp(y1, y2, N * sizeof(float)) != 0);
		CHECK(max_abs_diff(y0, y1, N) > 1e-3);
		double s = 0;
		for (size_t i = 0; i < N; i++)
			s += fabs((double)y0[i] - y1[i]);
		printf("# dither 1.0: mean |change| %.3g, max %.3g\n", s / N, max_abs_diff(y0, y1, N));
		CHECK(s / N < 0.1);
	}
	/* dither lifts digital silence off the FLT_EPSILON floor */
	float z[800] = { 0 }, *yz = NULL;
	CHECK(dc_fbank_kaldi(z, 800, &o, &yz, &T) == DC_OK);
	if (yz)
		CHECK(yz[0] > logf(1.1920929e-07f) + 1.0f);
	o.dither = 0;
	dc_free(yz);
	yz = NULL;
	CHECK(dc_fbank_kaldi(z, 800, &o, &yz, &T) == DC_OK);
	if (yz)
		CHECK(fabsf(yz[0] - logf(1.1920929e-07f)) < 1e-6f);
	dc_free(yz);
	dc_free(y0);
	dc_free(y1);
	dc_free(y1b);
	dc_free(y2);
}

TEST(bad_input)
{
	struct dc_fbank_kaldi_opts o;
	dc_fbank_kaldi_defaults(&o);
	float *y = (float *)1;
	size_t T = 5;
	float x[1000] = { 0 };
	CHECK(dc_fbank_kaldi(x, 399, &o, &y, &T) == DC_EINVAL);
	CHECK(y == NULL && T == 0);
	CHECK(strstr(dc_errmsg(), "399") != NULL);
	o.snip_edges = 0;
	CHECK(dc_fbank_kaldi(x, 399, &o, &y, &T) == DC_EINVAL);
	CHECK(dc_fbank_kaldi(x, 0, &o, &y, &T) == DC_EINVAL);
	CHECK(dc_fbank_kaldi(x, 400, &o, &y, &T) == DC_OK && T == 3);
	dc_free(y);

#define BAD(expr)                                                                  \
	do {                                                                       \
		dc_fbank_kaldi_defaults(&o);                                       \
		expr;                                                              \
		y = (float *)1;                                                    \
		CHECK(dc_fbank_kaldi(x, 1000, &o, &y, &T) == DC_EINVAL && !y);     \
		CHECK(dc_fbank_kaldi_frames(1000, &o) == 0);                       \
	} while (0)
	BAD(o.num_mel_bins = 3);
	BAD(o.num_mel_bins = 100000);
	BAD(o.sample_frequency = 0);
	BAD(o.sample_frequency = NAN);
	BAD(o.frame_length_ms = 0.1);            /* 1 sample */
	BAD(o.frame_shift_ms = 0.01);            /* 0 samples */
	BAD(o.frame_length_ms = 1e12);
	BAD(o.preemphasis_coefficient = 1.5);
	BAD(o.low_freq = 8000);
	BAD(o.low_freq = 5000; o.high_freq = 4000);
	BAD(o.high_freq = 9000);
	BAD(o.high_freq = -9000);
	BAD(o.energy_floor = -1);
	BAD(o.window_type = (enum dc_fbank_window)9);
	BAD(o.round_to_power_of_two = 0; o.frame_length_ms = 25.0625);   /* 401 samples, odd */
#undef BAD
	/* the frame-count helper leaves no error behind and accepts good options */
	dc_fbank_kaldi_defaults(&o);
	CHECK(dc_fbank_kaldi_frames(1000, &o) == 4);

	CHECK(dc_fbank_speechbrain(x, 0, 16000, 80, &y, &T) == DC_EINVAL && !y);
	CHECK(dc_fbank_speechbrain(x, 1000, 44100, 80, &y, &T) == DC_EINVAL && !y);
	CHECK(dc_fbank_speechbrain(x, 1000, 16000, 0, &y, &T) == DC_EINVAL && !y);
	CHECK(dc_fbank_speechbrain(x, 1000, -1, 80, &y, &T) == DC_EINVAL && !y);
	/* one sample is enough for SpeechBrain's zero-padded STFT; silence is
	 * floored at 10*log10(1e-10) */
	CHECK(dc_fbank_speechbrain(x, 1, 16000, 80, &y, &T) == DC_OK && T == 1);
	if (y)
		CHECK(fabsf(y[0] + 100.0f) < 1e-4f);
	dc_free(y);
}

TEST(cmn)
{
	const size_t T = 137;
	const int D = 23;
	float *a = dc_alloc(T * D * sizeof(float)), *b = dc_alloc(T * D * sizeof(float));
	dc_rng_normal(3, 0, 0, a, T * D);
	for (size_t i = 0; i < T * D; i++)
		a[i] = a[i] * 3.0f + 10.0f + (float)(i % D);
	memcpy(b, a, T * D * sizeof(float));
	for (int d = 0; d < D; d++) {
		double m = 0;
		for (size_t t = 0; t < T; t++)
			m += b[t * D + d];
		m /= T;
		for (size_t t = 0; t < T; t++)
			b[t * D + d] = (float)(b[t * D + d] - m);
	}
	dc_feats_cmn(a, T, D);
	double d = max_abs_diff(a, b, T * D);
	printf("# cmn: max |diff| vs naive %.2e\n", d);
	CHECK(d <= 2e-6);
	for (int c = 0; c < D; c++) {
		double m = 0;
		for (size_t t = 0; t < T; t++)
			m += a[t * D + c];
		CHECK(fabs(m / T) < 1e-5);
	}
	dc_feats_cmn(a, 0, D);   /* no-op */
	dc_free(a);
	dc_free(b);
}

TEST(vad)
{
	const double sr = 16000;
	const size_t n = 32000;   /* 0.5 s silence, 1 s tone, 0.5 s near silence */
	float *x = dc_alloc(n * sizeof(float));
	dc_rng_normal(5, 0, 0, x, n);
	for (size_t i = 0; i < n; i++) {
		if (i < 8000)
			x[i] = 0;
		else if (i < 24000)
			x[i] = 0.5f * sinf(2 * (float)M_PI * 300 * (float)i / (float)sr);
		else
			x[i] *= 1e-4f;    /* -74 dB below the tone */
	}
	size_t s, e;
	dc_vad_trim(x, n, sr, 40, &s, &e);
	CHECK_EQ_INT(s, 8000 - 1600);
	CHECK_EQ_INT(e, 24000 + 1600);
	/* a threshold below the noise keeps the noise tail */
	dc_vad_trim(x, n, sr, 90, &s, &e);
	CHECK_EQ_INT(s, 8000 - 1600);
	CHECK_EQ_INT(e, n);
	/* tone at the very start: clamped at 0 */
	dc_vad_trim(x + 8000, n - 8000, sr, 40, &s, &e);
	CHECK_EQ_INT(s, 0);
	CHECK_EQ_INT(e, 16000 + 1600);
	/* digital silence and empty input */
	memset(x, 0, n * sizeof(float));
	dc_vad_trim(x, n, sr, 40, &s, &e);
	CHECK(s == e);
	dc_vad_trim(x, 0, sr, 40, &s, &e);
	CHECK(s == 0 && e == 0);
	/* a single click at 8 kHz: 10 ms frames of 80 samples, 100 ms pads of 800 */
	x[4005] = 1;
	dc_vad_trim(x, 8000, 8000, 40, &s, &e);
	CHECK_EQ_INT(s, 4000 - 800);
	CHECK_EQ_INT(e, 4080 + 800);
	dc_free(x);
}

/* 10 s of 16 kHz audio (the clip tiled), one thread: timing only. */
TEST(timing)
{
	const size_t n = 160000;
	float *x = dc_alloc(n * sizeof(float)), *xs = dc_alloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		x[i] = inputs[0][i % input_n[0]];
		xs[i] = x[i] / 32768.0f;
	}
	struct dc_fbank_kaldi_opts o;
	dc_fbank_kaldi_defaults(&o);
	o.num_mel_bins = 80;
	dc_set_threads(1);
	float *y = NULL;
	size_t T;
	double best = 1e9, best_sb = 1e9;
	for (int r = 0; r < 3; r++) {
		double t0 = dc_time();
		CHECK(dc_fbank_kaldi(x, n, &o, &y, &T) == DC_OK);
		double t1 = dc_time();
		dc_free(y);
		CHECK(dc_fbank_speechbrain(xs, n, 16000, 80, &y, &T) == DC_OK);
		double t2 = dc_time();
		dc_free(y);
		if (t1 - t0 < best)
			best = t1 - t0;
		if (t2 - t1 < best_sb)
			best_sb = t2 - t1;
	}
	printf("# 10 s at 16 kHz, 80 bins, 1 thread: kaldi %.1f ms, speechbrain %.1f ms\n",
	       best * 1e3, best_sb * 1e3);
	dc_set_threads(0);
	dc_free(x);
	dc_free(xs);
}

int main(void)
{
	if (load_inputs()) {
		printf("not ok 1 - inputs\n# cannot load the fbank inputs\n");
		return 1;
	}
	RUN(goldens);
	RUN(frame_counts);
	RUN(threads);
	RUN(dither);
	RUN(bad_input);
	RUN(cmn);
	RUN(vad);
	RUN(timing);
	for (int k = 0; k < 3; k++)
		dc_free(inputs[k]);
	return test_summary();
}
