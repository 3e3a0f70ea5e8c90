/*
 * pixart.h - the PixArt-alpha diffusion transformer (diffusers'
 * PixArtTransformer2DModel, norm_type "ada_norm_single") and PixArt-delta's
 * ControlNet-Transformer, forward only, f32.
 *
 * Forward (exactly as diffusers 58eb52c):
 *   x    = PatchEmbed(latents) + 2-D sin-cos positions (base_size =
 *          sample_size/patch, interpolation_scale; recomputed for any grid)
 *   temb = TimestepEmbedding(sinusoid256(t)) [+ cat(res_h, res_w, aspect)
 *          embeddings when the model has micro-conditions]
 *   t6   = adaln_single.linear(SiLU(temb))                 [B][6D]
 *   y    = caption_projection(text) (Linear, GELU-tanh, Linear)
 *   per block: modulate(LN(x)) -> self-attn -> gated residual;
 *              cross-attn over y with the text mask (no norm, no gate);
 *              modulate(LN(x)) -> FF (GELU-tanh) -> gated residual
 *   out  = unpatchify(proj_out(LN(x) * (1 + scale) + shift)),
 *          shift/scale = scale_shift_table + temb
 * With a ControlNet-Transformer (official PixArt-alpha
 * diffusion/model/nets/pixart_controlnet.py, ControlPixArtMSHalf):
 *   c = x_embedder(control_latents) + pos   (the base's frozen embedder)
 *   x = block[0](x); c = x + before_proj(c)
 *   for i = 1..K: c = ctrl[i-1](c); x = block[i](x + scale * after_proj_{i-1}(c))
 *   x = block[K+1..L-1](x); final layer as above.
 * `control_scale` multiplies the after_proj outputs (1.0 = the official
 * forward; 0 = the base model).  A RelaCtrl branch (dc_relactrl_open
 * below) takes the ControlNet's place.
 *
 * Weights stay in the mmapped checkpoint: f32 tensors are used in place;
 * other dtypes (bf16, f16) are converted one block at a time into one
 * reusable f32 buffer (about 85 MB for PixArt-XL), so a bf16 checkpoint is
 * never expanded whole.  The embedders, caption projection, adaLN linear,
 * final layer and the control before/after projections are copied to f32
 * at open (about 53 MB, plus 5.3 MB per control block, for PixArt-XL).
 *
 * Not thread-safe per object: one forward at a time (the block buffer and
 * the position-embedding cache are mutated); the kernels inside use
 * dc_threads() threads.  Errors: one-line messages through dc_fail().
 */
#ifndef DC_PIXART_H
#define DC_PIXART_H

#include "../core/core.h"
#include "../io/safetensors.h"
#include "../ops/ops.h"   /* enum dc_precision */

#ifdef __cplusplus
extern "C" {
#endif

/* The architecture, as read from config.json (diffusers key names). */
struct dc_pixart_config {
	int heads;               /* num_attention_heads (16) */
	int head_dim;            /* attention_head_dim (72) */
	int hidden;              /* heads * head_dim (1152) */
	int in_channels;         /* 4 */
	int out_channels;        /* 8 (learned sigma); null -> in_channels */
	int layers;              /* num_layers (28) */
	int patch;               /* patch_size (2) */
	int sample_size;         /* latent side the model was built for (128) */
	int caption_channels;    /* 4096; 0 = no caption projection */
	int ff;                  /* feed-forward width, 4 * hidden */
	int micro_conditions;    /* use_additional_conditions (null -> sample_size == 128) */
	double interpolation_scale; /* null -> max(sample_size / 64, 1) */
	float norm_eps;          /* norm_eps of the blocks (1e-6); the final norm uses 1e-6 */
};

struct dc_pixart;
struct dc_pixart_control;

/*
 * Open a diffusers `transformer/` folder (or anything dc_model_open
 * takes).  Every tensor is checked against the config; a missing tensor or
 * a wrong shape fails with a message naming the key (DC_ENOTFOUND,
 * DC_EFORMAT); unsupported settings (norm_type other than ada_norm_single,
 * activation other than gelu-approximate, no attention bias, affine norms,
 * cross_attention_dim != hidden) DC_EUNSUPPORTED.  The caller frees *out
 * with dc_pixart_free().
 */
enum dc_status dc_pixart_open(struct dc_pixart **out, const char *path);

/*
 * A model of the given shape whose weights are set by a formula (for
 * benchmarks): every matrix W[OC][IC] (conv weights flattened the same way)
 * holds W[i] = sin(0.7 i) / sqrt(IC), every vector and scale_shift_table
 * v[i] = 0.02 sin(0.7 i), i the flat element index, f32, owned (about 2.4 GB
 * at PixArt-XL).  Fields of cfg used: heads, head_dim, in_channels,
 * out_channels, layers, patch, sample_size, caption_channels,
 * micro_conditions, interpolation_scale, norm_eps (hidden and ff derived).
 */
enum dc_status dc_pixart_new_synthetic(struct dc_pixart **out,
                                       const struct dc_pixart_config *cfg);

void dc_pixart_free(struct dc_pixart *pix);            /* NULL is a no-op */
const struct dc_pixart_config *dc_pixart_config(const struct dc_pixart *pix);

/*
 * A ControlNet-Transformer for `base`: a safetensors file or folder with
 * either naming, detected from the keys:
 *   official (PixArt-alpha .pth converted to safetensors; any base_model.*
 *   keys in the file are ignored):
 *     controlnet.{i}.copied_block.scale_shift_table            [6][D]
 *     controlnet.{i}.copied_block.attn.qkv.{weight,bias}        [3D][D]
 *     controlnet.{i}.copied_block.attn.proj.*                   [D][D]
 *     controlnet.{i}.copied_block.cross_attn.q_linear.*         [D][D]
 *     controlnet.{i}.copied_block.cross_attn.kv_linear.*        [2D][D]
 *     controlnet.{i}.copied_block.cross_attn.proj.*             [D][D]
 *     controlnet.{i}.copied_block.mlp.fc1.* [F][D], mlp.fc2.*   [D][F]
 *     controlnet.0.before_proj.*, controlnet.{i}.after_proj.*   [D][D]
 *   diffusers research port (examples/research_projects/pixart):
 *     controlnet_blocks.{i}.transformer_block.<block keys as the base>
 *     controlnet_blocks.0.before_proj.*, controlnet_blocks.{i}.after_proj.*
 * K = number of consecutive blocks from 0 (13 for PixArt-delta), at most
 * base layers - 1.  `base` must outlive the control.  Free with
 * dc_pixart_control_free().
 */
enum dc_status dc_pixart_control_open(struct dc_pixart_control **out,
                                      const struct dc_pixart *base, const char *path);
void dc_pixart_control_free(struct dc_pixart_control *ctl);
int dc_pixart_control_blocks(const struct dc_pixart_control *ctl);

/* One forward call's inputs; the caller owns every array. */
struct dc_pixart_input {
	int batch;                       /* B >= 1 */
	int height, width;               /* latent size, multiples of patch */
	const float *latents;            /* [B][in_channels][height][width] */
	float timestep;                  /* same for the whole batch (0..999, may be fractional) */
	int text_len;                    /* T >= 1 */
	const float *text;               /* [B][T][caption_channels] (hidden if none) */
	const unsigned char *text_mask;  /* [B][T], nonzero = token kept; NULL = all kept.
	                                    A row with no kept token attends to all T
	                                    tokens, as diffusers' -10000 bias does */
	const float *resolution;         /* [B][2] (height, width in pixels); required
	                                    iff the model has micro-conditions */
	const float *aspect_ratio;       /* [B][1] height / width; likewise */
	const struct dc_pixart_control *control; /* NULL: no control */
	const float *control_latents;    /* [B][in_channels][height][width] */
	float control_scale;
	/* Per control block k (dc_pixart_control_blocks entries), for probing
	 * (relevance-score): 0 run; 1 zero its residual (the block runs, the
	 * control stream flows on, after_proj_k is not added); 2 bypass (the
	 * block does not run: the control stream passes it unchanged and
	 * nothing is added before base block k+1).  NULL: run all.  Another
	 * value: DC_EINVAL. */
	const unsigned char *control_skip;
	/* A RelaCtrl branch instead (NULL: none; not together with `control`).
	 * It uses control_latents and control_scale (which multiplies c_skip;
	 * 1.0 = official).  Its permutations are drawn per call from the
	 * Philox RNG with relactrl_seed (vary it per sampler step, as the
	 * official code draws fresh ones per call), or, when relactrl_perms is
	 * not NULL, taken from relactrl_perms[k] (block k): the channel
	 * permutation [hidden], then expert j's token x channel shuffle
	 * [N * g_j] for each expert in order, N = tokens (a test hook: the
	 * values must be permutations, checked against their range). */
	const struct dc_relactrl *relactrl;
	uint64_t relactrl_seed;
	const int32_t *const *relactrl_perms;
};

/* Bytes of scratch arena one forward with these sizes needs (with_control
 * nonzero: a ControlNet-Transformer or a RelaCtrl branch). */
size_t dc_pixart_scratch_bytes(const struct dc_pixart *pix, int batch, int height,
                               int width, int text_len, int with_control);

/*
 * out[B][out_channels][height][width] (channels in_channels.. are the
 * learned-variance half).  `scratch` is an arena with at least
 * dc_pixart_scratch_bytes() free (reset to its entry state on return), or
 * NULL to allocate internally.  Errors: DC_EINVAL (bad sizes, missing
 * micro-conditions), DC_ENOMEM, DC_EOVERFLOW, and read errors of converted
 * weights.
 */
enum dc_status dc_pixart_forward(struct dc_pixart *pix, const struct dc_pixart_input *in,
                                 float *out, struct dc_arena *scratch);

/*
 * Precision of the transformer blocks' linear layers (self-attention q/k/v
 * and out, cross-attention q, k/v and out, feed-forward) and, for BF16 and
 * INT8, of the blocks' attention products q.k^T and P.v (bf16 operands, f32
 * sums; dc_attention_forward_bf16); the embedders, caption projection,
 * adaLN, final layer, control before/after projections, norms and softmax
 * stay f32:
 *   DC_PREC_F32   the default: weights used in place (or converted per block)
 *   DC_PREC_BF16  weights packed once, here, into bf16 panels (from f32 by
 *                 rounding to nearest even, from a bf16 checkpoint bit for
 *                 bit); activations rounded to bf16 at each GEMM, products
 *                 summed in f32 (dc_gemm_wpack; AVX512-BF16 when present)
 *   DC_PREC_INT8  weights stored int8 with one f32 scale per output channel
 *                 (symmetric, max|w|/127), widened to bf16 inside the GEMM
 * Packed sizes for PixArt-XL's 28 blocks: 1.19 GB bf16, 0.60 GB int8
 * (the f32 blocks are 2.38 GB); the checkpoint itself stays mapped, and
 * setting DC_PREC_F32 frees the packed copy.  The packing uses dc_threads()
 * threads and takes 1-2 s for PixArt-XL.  Call between forwards,
 * never during one.  Errors: DC_ENOMEM, DC_EINVAL (int8 of a non-finite
 * weight), read errors of the checkpoint; on error the previous precision
 * is kept.  A control has its own setting (its blocks only).
 */
/*
 * RelaCtrl (Cao et al. 2025; official 360CVGroup/RelaCtrl
 * pixart_relactrl_v1.py): a lightweight control branch of K RGLC blocks at
 * positions c_adding_index (position p runs after base block p):
 *   k == 0:  c = TDSM_0(x + before_proj_0(x_embedder(control) + pos))
 *   k >  0:  c = TDSM_k(c + before_proj_k(x))
 *   c_skip = after_proj_k(c); every later base block i gets x + c_skip
 *   (c_skip is not reset: the last one is re-added to all later blocks)
 * TDSM: h = LN(c) * (1 + scale) + shift (scale_shift_table + t6, chunks
 * 0..2); a random channel permutation split into groups g_j; expert j
 * shuffles its (N x g_j) slice over the flattened axis, runs one 4-head
 * attention (qkv and proj with bias) on each of 4 contiguous segments of
 * N/4 tokens, unshuffles; c += gate * out.  No MLP, no cross-attention.
 * Keys (official): controlnet.{k}.{before_proj,after_proj}.{weight,bias}
 * [D][D], controlnet.{k}.process.scale_shift_table [6][D],
 * controlnet.{k}.process.experts_attn.{j}.attn.qkv.* [3g][g],
 * ...attn.proj.* [g][g].  Positions and group counts: config.json
 * {"c_adding_index": [...], "prior2": [...]}, else the official lists
 * (11 blocks) [0,2,3,4,5,6,7,8,9,18,19] / [6,2,6,4,2,2,4,4,6,6,6].
 * Group sizes come from the weight shapes (sum D, multiples of 4).  All
 * weights are copied to f32 at open (about 183 MB for the official one).
 * The token count N must be a multiple of 4 (DC_EINVAL at forward).  The
 * branch runs in f32 whatever dc_pixart_set_precision says.
 * Errors: DC_ENOTFOUND (missing key), DC_EFORMAT (shapes, counts, config).
 */
struct dc_relactrl;
enum dc_status dc_relactrl_open(struct dc_relactrl **out, const struct dc_pixart *base,
                                const char *path);
void dc_relactrl_free(struct dc_relactrl *r);              /* NULL is a no-op */
int dc_relactrl_blocks(const struct dc_relactrl *r);
int dc_relactrl_position(const struct dc_relactrl *r, int k);
int dc_relactrl_groups(const struct dc_relactrl *r, int k);
/* Permutation ints block k needs for N tokens: hidden + N * hidden. */
size_t dc_relactrl_perm_len(const struct dc_relactrl *r, int k, int tokens);
/* 1 if the safetensors file/folder at path has RelaCtrl keys
 * (controlnet.0.process.scale_shift_table), 0 if not or unreadable. */
int dc_relactrl_detect(const char *path);
/*
 * Parameter and multiply-add-based FLOP counts (2 per MAC, attention
 * products included, norms/softmax excluded) of one forward over N tokens
 * for hidden D: a RelaCtrl branch with K blocks of the given group counts
 * (equal groups D/n), and a PixArt-delta ControlNet of Kd copied blocks
 * (text length T, ff 4D).
 */
void dc_relactrl_cost(int D, int N, int K, const int *groups, double *params,
                      double *flops);
void dc_pixart_control_cost(int D, int N, int T, int Kd, double *params, double *flops);

enum dc_status dc_pixart_set_precision(struct dc_pixart *pix, enum dc_precision prec);
enum dc_precision dc_pixart_precision(const struct dc_pixart *pix);
enum dc_status dc_pixart_control_set_precision(struct dc_pixart_control *ctl,
                                               enum dc_precision prec);

#ifdef __cplusplus
}
#endif
#endif /* DC_PIXART_H */
