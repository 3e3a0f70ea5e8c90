/*
 * fuzz_fbank.c - libFuzzer harness for the speech front ends
 * (lib/speech/fbank.c).  The first 8 bytes choose the Kaldi options (flags,
 * window, bins, frame length and shift, sample rate, low and high
 * frequency; some combinations are invalid on purpose), the rest are int16
 * samples.  dc_fbank_kaldi must succeed exactly when dc_fbank_kaldi_frames
 * is nonzero, give that many rows of finite values (non-negative for
 * linear features without mean subtraction), and on failure leave no
 * output.  dc_fbank_speechbrain must give 1 + n/hop rows of finite values
 * no lower than 80 dB under their maximum; dc_vad_trim must return
 * 0 <= start <= end <= n.  Seeds (tests/fuzz/corpus/fbank/): option
 * headers followed by a few hundred samples of speech, noise and silence.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "speech/fbank.h"

static const double RATES[8] = { 16000, 8000, 22050, 44100, 1000, 2000, 16020, 11025 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	const uint8_t *h = data;
	size_t n = (size - 8) / 2;
	float *x = malloc((n ? n : 1) * sizeof(float));
	if (!x)
		return 0;
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(int16_t)(data[8 + 2 * i] | data[9 + 2 * i] << 8);

	/* one thread: idle OpenMP workers spinning between inputs cost more
	 * than the work (thread invariance is a unit test) */
	dc_set_threads(1);
	struct dc_fbank_kaldi_opts o;
	dc_fbank_kaldi_defaults(&o);
	o.snip_edges = h[0] & 1;
	o.use_energy = h[0] >> 1 & 1;
	o.raw_energy = h[0] >> 2 & 1;
	o.round_to_power_of_two = !(h[0] >> 3 & 1);
	o.remove_dc_offset = h[0] >> 4 & 1;
	o.use_log_fbank = !(h[0] >> 5 & 1);
	o.use_power = h[0] >> 6 & 1;
	o.subtract_mean = h[0] >> 7 & 1;
	o.window_type = (enum dc_fbank_window)((h[1] & 0x3f) % 7);   /* 5, 6 invalid */
	o.dither = h[1] & 0x80 ? 1.0 : 0.0;
	o.preemphasis_coefficient = h[1] & 0x40 ? 0.0 : 0.97;
	o.seed = h[1];
	o.num_mel_bins = h[2];
	/* without rounding to a power of two, frames of 2 x a large prime take
	 * O(n^2) per FFT: keep those short so the smoke run stays quick */
	o.frame_length_ms = 0.5 + h[3] / (o.round_to_power_of_two ? 4.0 : 32.0);
	o.frame_shift_ms = 0.25 + h[4] / 8.0;
	o.sample_frequency = RATES[h[5] & 7];
	o.energy_floor = h[5] & 8 ? 0.0 : 1.0;
	o.low_freq = h[6] * 10.0;
	o.high_freq = (h[7] - 128) * 50.0;

	size_t want = dc_fbank_kaldi_frames(n, &o), T = 7;
	float *y = (float *)1;
	enum dc_status st = dc_fbank_kaldi(x, n, &o, &y, &T);
	if (st != DC_OK) {
		if (want || y || T || st != DC_EINVAL)
			abort();
	} else {
		if (!want || T != want || !y)
			abort();
		size_t cols = (size_t)o.num_mel_bins + (o.use_energy ? 1 : 0);
		for (size_t i = 0; i < T * cols; i++) {
			if (!isfinite(y[i]))
				abort();
			if (!o.use_log_fbank && !o.subtract_mean && (i % cols) >= (size_t)o.use_energy &&
			    y[i] < 0)
				abort();
		}
	}
	if (st == DC_OK)
		dc_free(y);

	/* SpeechBrain on x / 32768 */
	for (size_t i = 0; i < n; i++)
		x[i] /= 32768.0f;
	int n_mels = h[2] % 96 + 1;
	double sr = RATES[h[5] & 7];
	y = (float *)1;
	T = 7;
	st = dc_fbank_speechbrain(x, n, sr, n_mels, &y, &T);
	double hop = nearbyint(sr / 1000.0 * 10), win = nearbyint(sr / 1000.0 * 25);
	int valid = n > 0 && win >= 1 && win <= 400 && hop >= 1 && floor(sr / 2) > 0;
	if (st != DC_OK) {
		if (valid || y || T)
			abort();
	} else {
		if (!valid || !y || T != 1 + n / (size_t)hop)
			abort();
		float mx = -INFINITY;
		for (size_t i = 0; i < T * (size_t)n_mels; i++) {
			if (!isfinite(y[i]))
				abort();
			if (y[i] > mx)
				mx = y[i];
		}
		for (size_t i = 0; i < T * (size_t)n_mels; i++)
			if (y[i] < mx - 80.0f)
				abort();
		dc_free(y);
	}

	size_t s = 1, e = 0;
	dc_vad_trim(x, n, sr, h[6] / 4.0, &s, &e);
	if (s > e || e > n)
		abort();
	free(x);
	return 0;
}
