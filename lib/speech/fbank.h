/*
 * fbank.h - speech front ends for speaker embeddings: Kaldi-compatible
 * log-mel filterbanks (torchaudio.compliance.kaldi.fbank, the front end of
 * Kaldi and WeSpeaker), SpeechBrain's Fbank (speechbrain.lobes.features.Fbank,
 * the front end of its published ECAPA-TDNN), per-utterance mean
 * normalisation, and an energy voice-activity trimmer.
 *
 * Input samples are floats; the Kaldi front end expects them at int16 scale
 * (multiply [-1,1] audio by 32768, as Kaldi and WeSpeaker do: the energy
 * floor and dither assume that scale); SpeechBrain's takes [-1,1] audio.
 * Output features are [frames][num_mel_bins] f32, C order, owned by the
 * caller (dc_free).  All functions are reentrant.
 */
#ifndef DC_FBANK_H
#define DC_FBANK_H

#include <stddef.h>
#include <stdint.h>
#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

enum dc_fbank_window { DC_WIN_POVEY, DC_WIN_HAMMING, DC_WIN_HANNING, DC_WIN_RECTANGULAR,
                       DC_WIN_BLACKMAN };

/* Options of torchaudio.compliance.kaldi.fbank, same names and defaults
 * (dc_fbank_kaldi_defaults sets them; num_mel_bins defaults to 23 there as
 * in torchaudio, set 80 for speaker models). */
struct dc_fbank_kaldi_opts {
	double sample_frequency;           /* 16000 */
	double frame_length_ms, frame_shift_ms; /* 25, 10 */
	double dither;                     /* 0 */
	double preemphasis_coefficient;    /* 0.97 */
	int remove_dc_offset;              /* 1 */
	enum dc_fbank_window window_type;  /* povey */
	double blackman_coeff;             /* 0.42 */
	int round_to_power_of_two;         /* 1 */
	int snip_edges;                    /* 1 */
	int num_mel_bins;                  /* 23 */
	double low_freq, high_freq;        /* 20, 0 (0 or negative: offset from Nyquist) */
	double energy_floor;               /* 1.0 */
	int use_energy;                    /* 0: when 1, column 0 is log energy (htk_compat 0) */
	int raw_energy;                    /* 1 */
	int use_log_fbank, use_power;      /* 1, 1 */
	int subtract_mean;                 /* 0 */
	uint64_t seed;                     /* dither noise stream (dc_rng) */
};
void dc_fbank_kaldi_defaults(struct dc_fbank_kaldi_opts *o);

/* Frames that dc_fbank_kaldi gives for n samples (0 if too short). */
size_t dc_fbank_kaldi_frames(size_t n, const struct dc_fbank_kaldi_opts *o);

/* Kaldi fbank of x[n] (int16 scale).  *out = [*frames][num_mel_bins (+1 with
 * use_energy)].  A signal shorter than one frame gives DC_EINVAL with a
 * message naming the length. */
enum dc_status dc_fbank_kaldi(const float *x, size_t n, const struct dc_fbank_kaldi_opts *o,
                              float **out, size_t *frames);

/* SpeechBrain Fbank(n_mels, sample_rate, n_fft=400, win_length=25 ms,
 * hop_length=10 ms, f_min=0, f_max=sr/2, Hamming, center=True, power 2,
 * HTK mel, 10*log10 with amin 1e-10 and top_db 80), no deltas, no context;
 * x in [-1,1]. */
enum dc_status dc_fbank_speechbrain(const float *x, size_t n, double sample_rate, int n_mels,
                                    float **out, size_t *frames);

/* Subtract each column's mean over the frames (InputNormalization
 * norm_type="sentence", std_norm=False; WeSpeaker's CMN). */
void dc_feats_cmn(float *feats, size_t frames, int dim);

/* Energy voice-activity trimming: *start and *end (samples) bound the region
 * from the first to the last 10 ms frame whose energy is within
 * `threshold_db` (e.g. 40) of the loudest frame, padded by 100 ms each
 * side.  A silent signal gives start == end. */
void dc_vad_trim(const float *x, size_t n, double sample_rate, double threshold_db,
                 size_t *start, size_t *end);

#ifdef __cplusplus
}
#endif
#endif
