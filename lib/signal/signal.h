/*
 * signal.h - audio signal processing for libdiffcore: windows, STFT
 * (kissfft kiss_fftr), mel and chroma filterbanks, Butterworth biquads with
 * zero-phase filtfilt, Savitzky-Golay smoothing, polyphase resampling, and a
 * classical rhythm tracker (spectral-flux onset strength, autocorrelation
 * tempo and Ellis's dynamic-programming beat tracker) ported from
 * librosa 0.10.2, plus the Music ControlNet controls built from them
 * (melody, dynamics, rhythm; see ctrl-extract(1)).
 *
 * Reference semantics are named per function (scipy.signal 1.10 or
 * librosa 0.10.2); tests/golden/make_signal.py holds the numpy ports the
 * unit tests compare against.  All functions return a dc_status and set
 * dc_errmsg() on failure; nothing is left allocated on failure.  Buffers
 * returned through `float **` / `int64_t **` are owned by the caller and
 * freed with dc_free().  Functions are reentrant; those that run on
 * several threads use dc_threads() and give the same result for any
 * thread count.
 */
#ifndef DC_SIGNAL_H
#define DC_SIGNAL_H

#include <stddef.h>
#include <stdint.h>
#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- windows and STFT ------------------------------------------------------------- */

/* Hann window of length n: periodic (scipy get_window('hann', n),
 * fftbins=True: 0.5-0.5cos(2 pi i/n)) or symmetric (denominator n-1). */
void dc_window_hann(float *w, int n, int periodic);

/* Frames of a centred STFT of n samples: 1 + n / hop. */
size_t dc_stft_frames(size_t n, int hop);

/*
 * |STFT|^power of x[n] (power 1 or 2), as librosa 0.10 stft(center=True,
 * pad_mode='constant', window='hann'): n_fft/2 zeros each side, frame t
 * covers padded samples [t*hop, t*hop+n_fft), periodic Hann, real FFT
 * (kissfft).  n_fft must be even and >= 2, hop >= 1.  *out receives
 * [frames][n_fft/2+1] floats, *frames = dc_stft_frames(n, hop).
 */
enum dc_status dc_stft_power(const float *x, size_t n, int n_fft, int hop, int power,
                             float **out, size_t *frames);

/* ---- filterbanks -------------------------------------------------------------------- */

/* A filterbank [n_filters][n_bins] with the nonzero range of each row. */
struct dc_filterbank {
	int n_filters, n_bins;
	float *w;        /* [n_filters][n_bins] */
	int *lo, *hi;    /* row r is zero outside [lo[r], hi[r]) */
};

/* Slaney mel filterbank with Slaney area normalisation, librosa 0.10
 * filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney'). */
enum dc_status dc_mel_filterbank(struct dc_filterbank *fb, double sr, int n_fft, int n_mels,
                                 double fmin, double fmax);
/* Chroma filterbank, librosa 0.10 filters.chroma(sr, n_fft, n_chroma,
 * tuning, ctroct=5, octwidth=2, norm=2, base_c=True): row 0 is C. */
enum dc_status dc_chroma_filterbank(struct dc_filterbank *fb, double sr, int n_fft, int n_chroma,
                                    double tuning);
void dc_filterbank_release(struct dc_filterbank *fb);
/* out[t][r] = sum_k fb->w[r][k] * spec[t][k] for `frames` rows of
 * fb->n_bins; multi-threaded over frames. */
void dc_filterbank_apply(const struct dc_filterbank *fb, const float *spec, size_t frames,
                         float *out);
/* dc_stft_power followed by dc_filterbank_apply, frame by frame, without
 * keeping the spectrogram: *out receives [frames][fb->n_filters].  The
 * filterbank must have n_fft/2+1 bins (else DC_EINVAL). */
enum dc_status dc_stft_filterbank(const float *x, size_t n, int n_fft, int hop, int power,
                                  const struct dc_filterbank *fb, float **out, size_t *frames);

/* ---- IIR filters -------------------------------------------------------------------- */

/* A biquad in the scipy (b, a) convention, a[0] == 1. */
struct dc_biquad {
	double b[3], a[3];
};

/* scipy.signal.butter(2, cutoff / (sr/2), 'high' or 'low'); DC_EINVAL
 * unless 0 < cutoff < sr/2. */
enum dc_status dc_butter2(struct dc_biquad *f, double cutoff, double sr, int highpass);
/* scipy.signal.lfilter(b, a, x, zi=z) in double, direct form II
 * transposed; z (2 values) is updated to the final state.  x == y is OK. */
void dc_lfilter(const struct dc_biquad *f, const double *x, size_t n, double *y, double z[2]);
/*
 * scipy.signal.filtfilt(b, a, x) with its defaults: odd extension by
 * padlen = 9 samples (min(9, n-1) for shorter input), lfilter_zi initial
 * state scaled by the first sample, forward then backward.  x == y is OK;
 * n == 0 is a no-op.
 */
enum dc_status dc_filtfilt(const struct dc_biquad *f, const float *x, size_t n, float *y);

/* ---- smoothing and resampling ------------------------------------------------------ */

/*
 * scipy.signal.savgol_filter(x, window, order) with mode='interp': the
 * interior by the least-squares convolution coefficients, the first and
 * last window/2 samples from a degree-`order` polynomial fitted to the
 * first / last `window` samples.  window odd, order < window, n >= window
 * (else DC_EINVAL).  x == y is not allowed.
 */
enum dc_status dc_savgol(const float *x, size_t n, int window, int order, float *y);

/*
 * scipy.signal.resample_poly(x, up, down) (Kaiser beta 5 firwin low-pass
 * of 20*max(up,down)+1 taps, cutoff 1/max(up,down) of Nyquist, zero
 * boundaries): *ny = ceil(n*up/down) samples in *y.  up, down >= 1 are
 * reduced by their gcd; a ratio of 1 copies.  Refuses (DC_ELIMIT) ratios
 * whose filter would exceed 2^20 taps.
 */
enum dc_status dc_resample_poly(const float *x, size_t n, int up, int down, float **y, size_t *ny);

/* ---- rhythm: librosa 0.10.2 onset_strength, tempo, beat_track ------------------------- */

/*
 * librosa.onset.onset_strength(y, sr, n_fft, hop_length, n_mels=n_mels,
 * lag=1, max_size=1, aggregate=np.median, center=True): power mel
 * spectrogram (fmin 0, fmax sr/2), power_to_db(ref=1, amin=1e-10,
 * top_db=80), positive first difference, median over bands, left-padded by
 * 1 + n_fft/(2*hop) zeros and cut to dc_stft_frames(n, hop) frames.
 */
enum dc_status dc_onset_strength(const float *y, size_t n, double sr, int n_fft, int hop,
                                 int n_mels, float **env, size_t *frames);

/*
 * librosa.feature.tempo(onset_envelope=env, sr, hop_length, start_bpm,
 * std_bpm, ac_size, max_tempo, aggregate=np.mean): autocorrelation
 * tempogram (Hann window of floor(ac_size*sr)/hop frames, linear_ramp
 * centring, max-normalised columns), averaged over time, weighted by a
 * log-normal prior around start_bpm; *bpm receives the tempo.  If `tg` is
 * not NULL it receives the mean tempogram (win values, index k = lag).
 */
struct dc_tempo_params {
	double sr;
	int hop;
	double start_bpm;   /* 120 */
	double std_bpm;     /* 1 (octaves) */
	double ac_size;     /* 8 s */
	double max_tempo;   /* 320 bpm */
};
void dc_tempo_params_default(struct dc_tempo_params *p, double sr, int hop);
enum dc_status dc_tempo(const float *env, size_t n, const struct dc_tempo_params *p,
                        double *bpm, float **tg, size_t *win);

/*
 * librosa.beat.beat_track(onset_envelope=env, sr, hop_length, bpm=bpm,
 * tightness, trim) with sparse frame output: onset envelope normalised by
 * its standard deviation (ddof 1), local score by the Gaussian window of
 * +-frames_per_beat (librosa's loop, which skips the env[0] term), the
 * dynamic program, the last beat by the median rule, backtracking and
 * trimming.  *beats receives *nbeats ascending frame indices (none for an
 * all-zero envelope).  frame_rate = sr/hop.
 */
enum dc_status dc_beat_track(const float *env, size_t n, double frame_rate, double bpm,
                             double tightness, int trim, int64_t **beats, size_t *nbeats);

/*
 * Downbeats (diffcore's own rule, no reference): among the beats_per_bar
 * phases p, the one whose beats p, p+N, p+2N, ... have the largest mean
 * `accent` (sampled at the beat frames; ties go to the smaller phase).
 * *phase receives p (0 when there are no beats).
 */
enum dc_status dc_downbeat_phase(const float *accent, size_t n, const int64_t *beats,
                                 size_t nbeats, int beats_per_bar, int *phase);

/* ---- Music ControlNet controls ---------------------------------------------------- */

/*
 * Melody: y (mono, at p->sr) high-passed by dc_butter2(cutoff) with
 * dc_filtfilt, power STFT (n_fft, hop), chroma filterbank (tuning 0),
 * argmax pitch class per frame (0 = C; ties and silent frames give the
 * lowest class).  *pc receives *frames values 0..11.
 */
struct dc_melody_params {
	double sr;        /* 44100 */
	double cutoff;    /* 261.2 Hz; <= 0 disables the filter */
	int n_fft;        /* 2048 */
	int hop;          /* 256 */
};
void dc_melody_params_default(struct dc_melody_params *p);
enum dc_status dc_melody(const float *y, size_t n, const struct dc_melody_params *p,
                         uint8_t **pc, size_t *frames);

/*
 * Dynamics: magnitude STFT (n_fft, hop), mel filterbank (n_mels, fmin,
 * fmax), energy e[t] = sum_m M[t][m]^2, level
 * db[t] = db_factor*log10(max(amin, e[t])/max(amin, max e)) floored at
 * -top_db (db_factor 10 with amin 1e-10 is power dB; 20 with amin 1e-5 is
 * MuseControlLite's amplitude_to_db of the energy), then Savitzky-Golay
 * (window, order; the window shrinks to the largest odd length <= frames
 * for short input, and below order+2 frames no smoothing is done).
 */
struct dc_dynamics_params {
	double sr;        /* 44100 */
	int n_fft;        /* 1024 */
	int hop;          /* 160 */
	int n_mels;       /* 64 */
	double fmin, fmax;/* 0, 8000 */
	double db_factor; /* 10 */
	double amin;      /* 1e-10 */
	double top_db;    /* 80 */
	int sg_window;    /* 0: odd length nearest to one second of frames */
	int sg_order;     /* 1 */
};
void dc_dynamics_params_default(struct dc_dynamics_params *p);
/* The Savitzky-Golay window used for `frames` frames. */
int dc_dynamics_window(const struct dc_dynamics_params *p, size_t frames);
enum dc_status dc_dynamics(const float *y, size_t n, const struct dc_dynamics_params *p,
                           float **db, size_t *frames);

/* Resample mono audio from sr_in to sr_out (integer rates) with
 * dc_resample_poly; a copy when the rates are equal. */
enum dc_status dc_audio_resample(const float *x, size_t n, int sr_in, int sr_out,
                                 float **y, size_t *ny);

#ifdef __cplusplus
}
#endif
#endif /* DC_SIGNAL_H */
