/*
 * tts_audio.h - the audio end of FastSpeech 2 text-to-speech: the log-mel
 * spectrogram FastSpeech 2 models are trained on (ming024/FastSpeech2's
 * audio/stft.py TacotronSTFT.mel_spectrogram, or HiFi-GAN's
 * meldataset.mel_spectrogram), its inversion to a linear magnitude
 * spectrogram (non-negative least squares, as librosa's
 * feature.inverse.mel_to_stft), and the fast Griffin-Lim vocoder of
 * Perraudin et al. 2013 as torchaudio 0.13.1's functional.griffinlim.
 *
 * Spectrograms are frame-major: [frames][n_mels] or [frames][n_fft/2+1].
 * Functions return a dc_status and set dc_errmsg() on failure, leaving
 * nothing allocated; buffers returned through `float **` are the caller's
 * (dc_free).  The FFTs (kissfft) run over frames on dc_threads() threads;
 * results do not depend on the thread count.
 */
#ifndef DC_TTS_AUDIO_H
#define DC_TTS_AUDIO_H

#include <stddef.h>
#include <stdint.h>
#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The mel front end.  Defaults (dc_tts_mel_params_default) are
 * ming024/FastSpeech2's LJSpeech preprocess.yaml and HiFi-GAN's
 * config_v1.json, which agree. */
struct dc_tts_mel_params {
	double sample_rate;  /* 22050 */
	int n_fft;           /* 1024 (filter_length); even */
	int hop;             /* 256 */
	int win;             /* 1024; <= n_fft, the periodic Hann window is
	                      * zero-padded to n_fft about its centre */
	int n_mels;          /* 80 */
	double fmin, fmax;   /* 0, 8000: librosa Slaney mel filters, Slaney norm */
	double clip;         /* 1e-5: log(max(mel, clip)) */
	int hifigan;         /* 0: TacotronSTFT (reflect pad n_fft/2, |X|);
	                      * 1: HiFi-GAN (reflect pad (n_fft-hop)/2, center=False,
	                      *    sqrt(re^2+im^2+1e-9)) */
};
void dc_tts_mel_params_default(struct dc_tts_mel_params *p);

/* Frames the variant gives for n samples: n/hop + 1 (TacotronSTFT) or
 * (n + 2*((n_fft-hop)/2) - n_fft)/hop + 1 (HiFi-GAN); 0 if the padded
 * signal is shorter than n_fft.  (dc_tts_magnitude also needs n > pad.) */
size_t dc_tts_frames(const struct dc_tts_mel_params *p, size_t n);

/*
 * The variant's magnitude spectrogram of x[n]: *mag receives
 * [*frames][n_fft/2+1].  The reflect padding needs n > the pad
 * (DC_EINVAL otherwise, as torch's reflect pad refuses it).
 */
enum dc_status dc_tts_magnitude(const float *x, size_t n, const struct dc_tts_mel_params *p,
                                float **mag, size_t *frames);

/*
 * Log-mel spectrogram: *mel receives [*frames][n_mels] =
 * log(max(M |X|, clip)), M the librosa mel basis.  If energy is not NULL
 * it receives FastSpeech 2's frame energy, the L2 norm of each magnitude
 * frame ([*frames] floats; TacotronSTFT.mel_spectrogram's second output).
 * The input is used as is (ming024 asserts it lies in [-1, 1]).
 */
enum dc_status dc_tts_mel(const float *x, size_t n, const struct dc_tts_mel_params *p,
                          float **mel, float **energy, size_t *frames);

/*
 * Linear magnitude from a log-mel spectrogram: per frame, the s >= 0
 * minimising |M s - exp(logmel)|^2 (librosa mel_to_stft(power=1) solves the
 * same problem with L-BFGS-B started from clamp(pinv(M) mel, 0)).  Started
 * from clamp(pinv(M) mel, 0) (pinv(M) = M^T (M M^T)^-1, Cholesky in
 * double), then nnls_iter iterations of accelerated projected gradient
 * (FISTA, step 1/|M M^T|_2); nnls_iter 0 leaves the clamped
 * pseudo-inverse.  Bins above fmax (not covered by any filter) are 0.
 * *mag receives [frames][n_fft/2+1].  If resid is not NULL it receives
 * the relative residual |M s - mel|_F / |mel|_F over all frames.
 */
enum dc_status dc_mel_to_linear(const float *logmel, size_t frames,
                                const struct dc_tts_mel_params *p, int nnls_iter,
                                float **mag, double *resid);

/* Griffin-Lim.  Defaults: n_fft 1024, hop 256, win 1024 (periodic Hann),
 * n_iter 32, momentum 0.99, rand_init 0, seed 0. */
struct dc_griffin_lim_params {
	int n_fft, hop, win;
	int n_iter;
	double momentum;     /* [0, 1); 0 is plain Griffin-Lim */
	int rand_init;       /* 0: phases start at 0 (angles 1+0i); 1: angles
	                      * u + iv, u, v uniform [0,1) from
	                      * dc_rng_uniform(seed, 0 / 1, offset t*F+k), as
	                      * torch.rand(complex) draws them (not normalised) */
	uint64_t seed;
};
void dc_griffin_lim_params_default(struct dc_griffin_lim_params *p);

/*
 * torchaudio.functional.griffinlim(mag^T, window, n_fft, hop, win,
 * power=1, n_iter, momentum, length=None, rand_init) with
 * torch.istft/torch.stft(center=True, pad_mode='reflect'): mag is
 * [frames][n_fft/2+1]; *y receives *n = hop*(frames-1) samples, which must
 * exceed n_fft/2 (the reflect padding), and the summed squared windows
 * must not vanish anywhere (torch.istft's check), else DC_EINVAL.  Each iteration: y = istft(mag * angles) (overlap-add of
 * windowed inverse FFTs divided by the summed squared window), R =
 * stft(y), a = R - m/(1+m) * R_prev, angles = a / (|a| + 1e-16).
 */
enum dc_status dc_griffin_lim(const float *mag, size_t frames, const struct dc_griffin_lim_params *p,
                              float **y, size_t *n);

/* Spectral convergence |S - |STFT(y)||_F / |S|_F of a waveform y[n]
 * against a target magnitude S [frames][n_fft/2+1], with the centred
 * reflect-padded STFT Griffin-Lim uses (which must give `frames` frames). */
enum dc_status dc_spectral_convergence(const float *S, size_t frames, const float *y, size_t n,
                                       int n_fft, int hop, int win, double *sc);

/*
 * Pitch shift by resampling with formant correction.  Speech vocoded from
 * `logmel` and then resampled by dc_resample_factor(a) has its F0 (and
 * everything else) multiplied by a; this pre-warps the spectral envelope so
 * that the formants come back where they were: per frame, the linear
 * magnitude (dc_mel_to_linear, 30 NNLS iterations) is split into the
 * envelope E (the real cepstrum of the log magnitude, liftered to its first
 * `lifter` coefficients; 24 suits 22.05 kHz speech) and the fine structure
 * L - E (the harmonics); the envelope is read at bin k*a (linearly
 * interpolated, held past the last bin), the harmonics are kept, and the
 * result is taken back to a log-mel in place.  a in [0.25, 4]; a == 1 is a
 * no-op.  Callers also stretch the durations by a so that the length comes
 * back after resampling (tts-synth --pitch with a voice whose config says
 * "pitch_control": "resample").
 */
enum dc_status dc_mel_envelope_warp(float *logmel, size_t frames, const struct dc_tts_mel_params *p,
                                    double a, int lifter);

/*
 * y[j] = x(j * a), j < round(n / a): band-limited interpolation with a
 * Blackman-windowed sinc of 16 zero crossings each side, its cutoff
 * lowered to the output's Nyquist when a > 1 (no aliasing); samples
 * outside x are 0.  Played at the same rate, every frequency is
 * multiplied by a and the duration divided by a.  *y is the caller's
 * (dc_free); a in [0.25, 4].
 */
enum dc_status dc_resample_factor(const float *x, size_t n, double a, float **y, size_t *ny);

#ifdef __cplusplus
}
#endif
#endif /* DC_TTS_AUDIO_H */
