/*
 * spk.h - speaker-embedding networks: SpeechBrain's ECAPA-TDNN (SE-Res2Net
 * blocks, multi-layer feature aggregation, attentive statistics pooling),
 * the Kaldi/SpeechBrain x-vector TDNN, and EfficientTDNN sub-networks
 * (mechanicalsea/sugar DynamicTDNN: depth, kernels and widths chosen at
 * load time), in f32 on the CPU.
 *
 * A model is a folder: config.json (ours, written by the converters in
 * share/diffcore/tools and by the training recipe) and
 * embedding_model.safetensors whose keys are exactly those of the
 * reference module's state_dict (SpeechBrain's `blocks.0.conv.conv.weight`,
 * ...; sugar's for EfficientTDNN).  config.json:
 *
 *   {"arch": "ecapa" | "xvector" | "etdnn",
 *    "in_channels": 80, "lin_neurons": 192,
 *    "channels": [...], "kernel_sizes": [...], "dilations": [...],
 *    "attention_channels": 128, "res2net_scale": 8, "se_channels": 128,
 *    "global_context": true,                                  (ecapa)
 *    "depth": 3, "widths": [...], "kernels": [...], "cat_channels": 1536 (etdnn)
 *    "frontend": {"type": "kaldi" | "speechbrain", "num_mel_bins": 80,
 *                 "sample_rate": 16000, "cmn": true, "dither": 0}}
 *
 * Absent ecapa keys take SpeechBrain's constructor defaults (attention 128,
 * scale 8, se 128, global context); the frontend defaults to kaldi with
 * num_mel_bins = in_channels, 16 kHz, cmn, no dither.  Kernel sizes must be
 * odd ("same" padding).  x-vector: "channels"/"kernel_sizes"/"dilations"
 * are Xvector's tdnn_channels/tdnn_kernel_sizes/tdnn_dilations, LeakyReLU
 * (slope 0.01), embedding = the first Linear (blocks.{3n+1}.w); the
 * training-time noise SpeechBrain's StatisticsPooling adds to the mean is
 * not added.
 *
 * EfficientTDNN (sugar DynamicTDNN, keys as its state_dict, e.g.
 * layer1.conv.conv.weight, blocks.0.resconv.convs.0.conv.k53): the
 * SUPERNET is described by "channels" = [layer1, block 0 mid, ..., block
 * nb-1 mid, catconv] (nb+2 entries: the last is catconv_channels, like
 * ecapa's MFA entry) and "kernel_sizes" = [layer1, block 0, ..., 1] (1, 3,
 * 5 or 7), "attention_channels" (pooling bottleneck, 128) and
 * "res2net_scale" (8); dilations are fixed (layer1 1, block i i+2).  The
 * SUB-NETWORK is chosen at load time by "depth" (1..nb), "widths"
 * (depth+1 entries: layer1/block channels, then each block's mid width),
 * "kernels" (depth+1 entries, each <= the supernet's) and "cat_channels";
 * absent keys select the whole supernet.  Weights are sliced exactly as
 * sugar's DynamicTDNN.config/clone do (first channels, per-scale-chunk mid
 * channels, kernels shrunk through k75/k53/k31) and the sub-network's
 * sizes are what dc_spk_params/dc_spk_macs report.  sugar's own front end
 * (pre-emphasis, torchaudio MelSpectrogram 20-7600 Hz, log, InstanceNorm)
 * is not provided: dc_spk_embed_audio uses "frontend" as for the others,
 * so sugar's published weights need their features through
 * dc_spk_embed_feats.
 *
 * THREAD SAFETY: an open model is read-only (except dc_spk_set_precision);
 * dc_spk_embed* allocate their own activations and may run concurrently on
 * one model.
 */
#ifndef DC_SPK_H
#define DC_SPK_H

#include <stddef.h>
#include "../core/core.h"
#include "../ops/ops.h"
#include "fbank.h"

#ifdef __cplusplus
extern "C" {
#endif

enum dc_spk_arch { DC_SPK_ECAPA, DC_SPK_XVECTOR, DC_SPK_ETDNN };
enum dc_spk_frontend { DC_FRONT_KALDI, DC_FRONT_SPEECHBRAIN };

#define DC_SPK_MAX_LAYERS 16

struct dc_spk_config {
	enum dc_spk_arch arch;
	int in_channels, lin_neurons;
	int nlayers;                              /* len(channels) */
	int channels[DC_SPK_MAX_LAYERS], kernel_sizes[DC_SPK_MAX_LAYERS],
	    dilations[DC_SPK_MAX_LAYERS];
	int attention_channels, res2net_scale, se_channels, global_context;
	/* etdnn sub-network (see above; channels/kernel_sizes are the supernet's) */
	int depth, widths[DC_SPK_MAX_LAYERS], kernels[DC_SPK_MAX_LAYERS], cat_channels;
	/* front end */
	enum dc_spk_frontend frontend;
	int num_mel_bins, cmn;
	double sample_rate, dither;
};

struct dc_spk;

/* Open a model folder (see above); every tensor's shape is checked against
 * the configuration, errors name the key. */
enum dc_status dc_spk_open(struct dc_spk **out, const char *dir);
void dc_spk_free(struct dc_spk *m);
const struct dc_spk_config *dc_spk_config(const struct dc_spk *m);
int dc_spk_dim(const struct dc_spk *m);            /* embedding size */
/* Parameters of the reference module (weights, biases, BatchNorm affine;
 * not running statistics): torch's sum(p.numel() for p in parameters()),
 * for etdnn that of sugar's clone() of the sub-network. */
size_t dc_spk_params(const struct dc_spk *m);
/* Multiply-accumulates of one forward over `frames` feature frames, as
 * thop counts Conv1d/Linear (output elements x inputs per output; the SE
 * and embedding layers once per utterance, ECAPA's global-context ASP conv
 * at its full 3C input). */
double dc_spk_macs(const struct dc_spk *m, size_t frames);

/*
 * Arithmetic of the per-frame convolutions (every GEMM): DC_PREC_F32 (the
 * default, BLIS sgemm), DC_PREC_BF16 (weights packed to bf16 and
 * activations rounded to bf16 inside the GEMM, f32 sums: AVX512-BF16 where
 * the CPU has it, about 2.5x the f32 GEMM rate; embeddings then differ from
 * f32 by 1e-3..1e-2 relative) or DC_PREC_INT8 (int8 weights, per-row
 * scales).  Bias, BatchNorm, pooling and the per-utterance layers stay
 * f32/f64.  Packs the weights (DC_ENOMEM, DC_EINVAL); call it before
 * embedding, not while another thread embeds with m.
 */
enum dc_status dc_spk_set_precision(struct dc_spk *m, enum dc_precision prec);

/* Embedding of feats[frames][in_channels] (the front end's output, already
 * normalised) into emb[dc_spk_dim]. DC_EINVAL when frames is too short for
 * the network's receptive field (message gives the minimum). */
enum dc_status dc_spk_embed_feats(const struct dc_spk *m, const float *feats, size_t frames,
                                  float *emb);

/* Audio in [-1,1], mono, at `sample_rate` (resampled to the model's rate
 * when different): front end from config.json, then dc_spk_embed_feats. */
enum dc_status dc_spk_embed_audio(const struct dc_spk *m, const float *x, size_t n,
                                  double sample_rate, float *emb);

#ifdef __cplusplus
}
#endif
#endif
