/*
 * fastspeech2.h - FastSpeech 2 acoustic model (phone ids -> mel
 * spectrogram), exactly ming024/FastSpeech2's inference path (eval mode,
 * dropout off, batch of one, no targets), in f32 on the CPU:
 *
 *   encoder:  src_word_emb[ids] + sinusoid positions, N x FFT block
 *             (post-LN multi-head self-attention, then Conv1d(k0) -> ReLU
 *             -> Conv1d(k1) with residual and LayerNorm)
 *   (+ speaker_emb[speaker] when multi_speaker)
 *   variance adaptor: log-duration predictor; pitch and energy predictors
 *             (Conv1d k3 -> ReLU -> LayerNorm, twice, -> Linear) whose
 *             outputs, times the control factors, are bucketized
 *             (torch.bucketize, right=False) against the stored bins and
 *             looked up in 256-ish-bin embeddings added to the hidden
 *             states, at phone level (before the length regulator) or at
 *             frame level (after it), as the config says; durations
 *             d = max(0, round_half_even(exp(logd) - 1) * duration_factor),
 *             each phone repeated (int)d frames
 *   decoder:  + sinusoid positions, N x FFT block, mel_linear
 *   postnet:  (n-1) x [Conv1d -> BatchNorm(eval) -> tanh], Conv1d ->
 *             BatchNorm, added to its input (residual)
 *
 * Positions: the stored table (encoder/decoder.position_enc) while the
 * sequence fits in max_seq_len, a freshly computed one (double, rounded
 * to f32, as ming024 does in eval mode) beyond it.
 *
 * DEVIATION (documented): ming024 passes the PITCH control to the energy
 * embedding (VarianceAdaptor.forward calls get_energy_embedding(..,
 * p_control)), so its --energy_control does nothing and --pitch_control
 * scales energy too.  This module follows the paper: energy is scaled by
 * the energy factor.  Set controls.ming024_energy_bug = 1 to reproduce
 * ming024 exactly (energy scaled by the pitch factor).
 *
 * Files: a folder with config.json and model.safetensors written by
 * share/diffcore/tools/fs2_convert.py from a ming024 checkpoint; the
 * tensors keep ming024's state_dict key names (encoder.layer_stack.0.
 * slf_attn.w_qs.weight, variance_adaptor.pitch_bins, postnet.
 * convolutions.0.1.running_mean, ...), F32/F16/BF16, converted to f32 at
 * open.  config.json keys (all required unless noted): encoder_layer,
 * encoder_head, encoder_hidden, decoder_layer, decoder_head,
 * decoder_hidden (must equal encoder_hidden), conv_filter_size,
 * conv_kernel_size [k0, k1] (odd), variance_filter_size,
 * variance_kernel_size (3: ming024's second predictor conv pads by 1, so
 * no other size runs), n_bins, pitch_feature / energy_feature
 * ("phoneme_level" | "frame_level"), pitch_quantization /
 * energy_quantization ("linear" | "log"; informational, the bins are
 * tensors), n_mel_channels, max_seq_len, multi_speaker (bool), and
 * optionally n_src_vocab, n_speaker, postnet_embedding_dim,
 * postnet_kernel_size, postnet_n_convolutions (else read from the tensor
 * shapes; ming024's PostNet is 512 x k5 x 5).
 *
 * THREAD SAFETY: an open model is read-only; dc_fs2_synth allocates its
 * own activations, so several threads may call it on one model.
 */
#ifndef DC_FASTSPEECH2_H
#define DC_FASTSPEECH2_H

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dc_fs2;

struct dc_fs2_config {
	int enc_layers, enc_heads, hidden;       /* hidden = encoder = decoder width */
	int dec_layers, dec_heads;
	int conv_filter, conv_k0, conv_k1;       /* FFT position-wise convs */
	int var_filter, var_kernel;              /* variance predictors */
	int n_bins;
	int pitch_frame_level, energy_frame_level; /* 0 = phoneme_level */
	int pitch_log, energy_log;               /* quantization "log" (informational) */
	int n_mels, max_seq_len;
	int multi_speaker, n_speakers;           /* n_speakers 0 when single */
	int n_vocab;                             /* rows of src_word_emb */
	int postnet_dim, postnet_kernel, postnet_layers;
	size_t n_params;      /* ming024's get_param_num: every nn.Parameter, the
	                         position tables and bins included (35,159,361
	                         for config/LJSpeech) */
	size_t n_trainable;   /* without those (34,646,339 for LJSpeech) */
};

/* Control factors (ming024's d_control, p_control, e_control; 1 = none).
 * duration > 1 is slower speech. */
struct dc_fs2_controls {
	float duration, pitch, energy;
	int ming024_energy_bug;   /* 1: scale energy by `pitch` as ming024 does */
	int carry_rounding;       /* 1: phone i gets round(D_i) - round(D_{i-1}) frames,
	                           * D_i the running sum of the scaled durations, so the
	                           * total follows `duration` to half a frame; 0: (int)
	                           * of each, as ming024 (which drifts short when
	                           * duration != 1).  Same result when duration == 1. */
};

/* Result of one synthesis; arrays allocated by dc_fs2_synth, released by
 * dc_fs2_output_free. */
struct dc_fs2_output {
	int n_phones, frames;
	float *mel;            /* [frames][n_mels], mel_linear output (before postnet) */
	float *mel_post;       /* [frames][n_mels], after postnet + residual */
	int *durations;        /* [n_phones] frames per phone ((int) of d_rounded) */
	float *log_durations;  /* [n_phones] duration predictor output */
	float *pitch;          /* [n_pitch], prediction * pitch factor */
	float *energy;         /* [n_energy], prediction * energy factor */
	int n_pitch, n_energy; /* n_phones or frames, as the feature levels say */
};

/*
 * Open the model folder `dir` (or a .safetensors file; see dc_model_open).
 * Validates the config and the shape of every tensor; errors are one line
 * naming the key, e.g. "fastspeech2: tensor 'mel_linear.weight' has shape
 * [20,16], the config needs [20,32]".  Free with dc_fs2_free.
 */
enum dc_status dc_fs2_open(struct dc_fs2 **out, const char *dir);
void dc_fs2_free(struct dc_fs2 *m);
const struct dc_fs2_config *dc_fs2_config(const struct dc_fs2 *m);

/*
 * Synthesize phone ids[n] (each in [0, n_vocab)) for `speaker` (ignored
 * unless multi_speaker, then in [0, n_speakers)) with `ctl` (NULL: all 1).
 * Fills *out (zeroed first; release with dc_fs2_output_free, also after an
 * error).  Errors: DC_EINVAL for n <= 0 ("empty input"), an id or speaker
 * out of range, non-finite or negative controls, or predicted durations
 * that sum to zero frames (ming024 fails there too); DC_ENOMEM.
 */
enum dc_status dc_fs2_synth(const struct dc_fs2 *m, const int *ids, int n, int speaker,
                            const struct dc_fs2_controls *ctl, struct dc_fs2_output *out);
void dc_fs2_output_free(struct dc_fs2_output *out);

#ifdef __cplusplus
}
#endif
#endif /* DC_FASTSPEECH2_H */
