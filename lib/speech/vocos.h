/*
 * vocos.h - the Vocos neural vocoder (Siuzdak 2023, gemelo-ai/vocos)
 * generator as share/diffcore/train/vocos_model.py defines it: log-mel
 * frames -> ConvNeXt backbone -> ISTFT head -> audio, in f32 on the CPU.
 *
 *   embed:    Conv1d(n_mels -> dim, k7, pad 3), LayerNorm(eps 1e-6)
 *   N blocks: x += gamma * Linear2(GELU_erf(Linear1(LayerNorm(
 *             depthwise Conv1d(k7, pad 3)(x)))))     (ConvNeXt, eps 1e-6)
 *   final LayerNorm(eps 1e-6), head Linear(dim -> n_fft + 2)
 *   ISTFT head: first n_fft/2+1 outputs m, the rest p; bin = min(exp(m),
 *             100) * (cos p + i sin p); each frame irfft'd (torch.fft.irfft:
 *             the imaginary parts of the DC and Nyquist bins are ignored),
 *             times the periodic Hann window of n_fft, overlap-added with
 *             hop, divided by the overlap-added squared window, and
 *             samples dropped at both ends:
 *     "same"   padding (vocos.spectral_ops.ISTFT's own overlap-add):
 *             (n_fft - hop)/2 each end, frames * hop samples, frame t
 *             centred on sample t*hop + hop/2;
 *     "center" padding (torch.istft(center=True), as the published
 *             gemelo-ai/vocos mel model uses): n_fft/2 each end,
 *             (frames - 1) * hop samples, frame t centred on sample
 *             t*hop; an error (as torch's) where the summed squared
 *             window is below 1e-11.
 *
 * Files: a folder with config.json {"model_type": "vocos", "n_mels",
 * "dim", "intermediate_dim", "num_layers", "n_fft", "hop_length",
 * "sampling_rate"} (all required), optional "padding": "same" (the
 * default) or "center", and model.safetensors with
 * vocos_model.Vocos's state_dict key names (backbone.embed.weight,
 * backbone.norm.weight, backbone.convnext.N.{dwconv,norm,pwconv1,pwconv2}.
 * {weight,bias}, backbone.convnext.N.gamma, backbone.final_layer_norm.*,
 * head.out.*), F32/F16/BF16, converted to f32 at open.  n_fft must be
 * even, hop < n_fft and, for "same", n_fft - hop even (so the output is
 * exactly frames * hop samples).  share/diffcore/tools/vocos_convert.py
 * makes such a folder from an official checkpoint (config.yaml +
 * pytorch_model.bin).
 *
 * THREAD SAFETY: an open model is read-only; dc_vocos_synth allocates its
 * own scratch, so several threads may call it on one model.  Each call
 * runs its kernels on dc_threads() threads; the result does not depend on
 * the thread count beyond BLIS's GEMM rounding.
 */
#ifndef DC_VOCOS_H
#define DC_VOCOS_H

#include <stddef.h>

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dc_vocos;

struct dc_vocos_config {
	int n_mels, dim, intermediate_dim, num_layers;
	int n_fft, hop, sample_rate;
	int center;         /* 1: "center" padding, 0: "same" */
	size_t n_params;    /* every nn.Parameter: 2,790,658 for the default
	                       80 / 256 / 768 / 6 layers / n_fft 1024 config */
};

/* Open the model folder `dir`; *out is the model (free with
 * dc_vocos_free) or NULL on error (DC_ENOTFOUND, DC_EFORMAT, DC_ENOMEM,
 * DC_EOVERFLOW, I/O errors; the message names the key or tensor). */
enum dc_status dc_vocos_open(struct dc_vocos **out, const char *dir);
void dc_vocos_free(struct dc_vocos *m);      /* NULL is fine */

/* The configuration; owned by m. */
const struct dc_vocos_config *dc_vocos_config(const struct dc_vocos *m);

/* The samples dc_vocos_synth writes for `frames` mel frames: frames * hop
 * ("same"), (frames - 1) * hop ("center"); 0 for frames below 1 (2). */
size_t dc_vocos_samples(const struct dc_vocos *m, int frames);

/*
 * audio[dc_vocos_samples(m, frames)] (caller-allocated; exactly that many
 * written) from the log-mel mel[frames][n_mels] (frame-major, as
 * dc_tts_mel gives it).  frames >= 1, >= 2 for "center" (else DC_EINVAL).
 * DC_ENOMEM when scratch cannot be allocated; audio is then untouched.
 * DC_EINVAL for the NOLA failure above (audio then holds garbage).
 */
enum dc_status dc_vocos_synth(const struct dc_vocos *m, const float *mel, int frames,
                              float *audio);

/*
 * Streaming / chunking: audio[count * hop] = samples [first*hop,
 * (first+count)*hop) of dc_vocos_synth(m, mel, frames, .) (the same
 * arithmetic, so the same values up to GEMM rounding), reading only the
 * mel frames [first - k, first + count + k) within [0, frames), k =
 * dc_vocos_context(m) + n_fft/(2*hop) + 1.  A streaming caller with f mel
 * frames so far (more to come) can thus emit frames up to
 * f - dc_vocos_context(m) - n_fft/(2*hop) - 1 by passing frames = f, and
 * the rest once the mel is complete.  0 <= first, 1 <= count,
 * first + count <= dc_vocos_samples(m, frames) / hop (frames, or
 * frames - 1 for "center"), else DC_EINVAL.  Both paddings work.
 */
enum dc_status dc_vocos_synth_range(const struct dc_vocos *m, const float *mel, int frames,
                                    int first, int count, float *audio);
/* The backbone's receptive field each side, in frames: 3 * (num_layers + 1). */
int dc_vocos_context(const struct dc_vocos *m);

#ifdef __cplusplus
}
#endif
#endif /* DC_VOCOS_H */
