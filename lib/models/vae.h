/*
 * vae.h - diffusers' AutoencoderKL (the Stable Diffusion VAE that PixArt
 * uses, e.g. stabilityai/sd-vae-ft-ema) in f32 on the CPU: the decoder
 * (latents -> image), tiled decoding in bounded memory, and the encoder
 * (image -> posterior mean and log-variance) for control images.
 *
 * Loads a diffusers `vae/` folder as published (config.json +
 * diffusion_pytorch_model.safetensors, F32/F16/BF16), with diffusers' key
 * names; the attention keys of older files (query/key/value/proj_attn, as
 * [C][C] or [C][C][1][1]) are accepted too.  F32 weights whose data is
 * aligned are used in place from the mapping; other dtypes are converted
 * to f32 once at open.
 *
 * Supported configurations: down blocks all "DownEncoderBlock2D", up
 * blocks all "UpDecoderBlock2D", act_fn "silu", group norm (not the
 * spatial norm of MoVQ), use_quant_conv / use_post_quant_conv either way,
 * mid_block_add_attention either way.  force_upcast is irrelevant in f32.
 *
 * Layouts: every image and latent is NCHW f32, C order.  Latents here are
 * in the VAE's own latent space: the pipeline divides the sampler's latents
 * by scaling_factor (and adds shift_factor where the config has one)
 * before dc_vae_decode, and multiplies encoder latents by scaling_factor,
 * exactly as diffusers' pipelines do; this module never applies them.
 * Images are in [-1, 1] (diffusers' convention: image = clamp((x+1)/2, 0, 1)
 * is the caller's job; the decoder output is not clamped).
 *
 * THREAD SAFETY: an open dc_vae is read-only after dc_vae_open; decode and
 * encode calls allocate their own activations, so several threads may run
 * them on one dc_vae at once (each call uses dc_threads() threads).
 */
#ifndef DC_VAE_H
#define DC_VAE_H

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_VAE_MAX_BLOCKS 8

struct dc_vae;

/* The configuration as read from config.json (diffusers' defaults where a
 * key is absent). */
struct dc_vae_config {
	int in_channels, out_channels, latent_channels;
	int nblocks;                          /* len(block_out_channels) */
	int block_out_channels[DC_VAE_MAX_BLOCKS];
	int layers_per_block, norm_num_groups;
	int sample_size;                      /* pixels; diffusers' tile size */
	int use_quant_conv, use_post_quant_conv, mid_block_add_attention;
	int has_encoder;                      /* encoder.* weights present */
	double scaling_factor;                /* 0.18215 for the SD VAE */
	double shift_factor;                  /* 0 when null/absent */
	int has_shift_factor;
};

/*
 * Open the VAE folder `dir` (or a single .safetensors file; see
 * dc_model_open).  Validates the configuration and the shape of every
 * tensor used; errors are one line naming the key, e.g.
 * "vae: 'decoder.conv_in.weight' has shape [512,4,3,3], expected [512,8,3,3]".
 * The decoder weights are required, the encoder's optional
 * (cfg.has_encoder).  Free with dc_vae_free.
 */
enum dc_status dc_vae_open(struct dc_vae **out, const char *dir);
void dc_vae_free(struct dc_vae *vae);
const struct dc_vae_config *dc_vae_config(const struct dc_vae *vae);

/* Spatial factor between latents and pixels: 2^(nblocks-1) (8 for SD). */
int dc_vae_scale(const struct dc_vae *vae);

/*
 * Decode z[B][latent_channels][h][w] (VAE latent space, see above) into
 * img[B][out_channels][h*s][w*s], s = dc_vae_scale: post_quant_conv then
 * the Decoder, in one piece.  Memory: about 3 * C * (h*s) * (w*s) floats
 * with C the widest channel count at full resolution (256 for the SD VAE:
 * ~3.2 GB at 1024^2) -- use dc_vae_decode_tiled for big images.
 * Errors: DC_EINVAL (bad sizes), DC_ENOMEM.
 */
enum dc_status dc_vae_decode(const struct dc_vae *vae, const float *z, int B, int h, int w,
                             float *img);

/*
 * Tiled decode as diffusers' AutoencoderKL.tiled_decode: latent tiles of
 * `tile` x `tile` (tile <= 0: sample_size / s, diffusers' default, 32 for
 * the SD VAE) starting every int(tile * (1 - overlap)) latents (overlap <= 0
 * or >= 1: 0.25, diffusers' tile_overlap_factor), each decoded alone,
 * blended with the tile above and the tile to its left over
 * int(tile*s*overlap) pixels by the same linear ramps, in the same raster
 * order, and cropped to tile*s - blend pixels.  Like diffusers, a latent no
 * larger than one tile is decoded whole.  The tile size in pixels is
 * tile*s.  Memory is bounded by one tile's activations plus the output.
 * Combinations for which diffusers' output would not be h*s x w*s pixels
 * (when int(tile*(1-overlap))*s != tile*s - int(tile*s*overlap)) are
 * refused with DC_EINVAL.
 */
enum dc_status dc_vae_decode_tiled(const struct dc_vae *vae, const float *z, int B, int h,
                                   int w, float *img, int tile, double overlap);

/*
 * Encode x[B][in_channels][H][W] (values in [-1, 1]) into the diagonal
 * Gaussian posterior: mean and logvar [B][latent_channels][H/s][W/s]
 * (logvar clamped to [-30, 20] as diffusers' DiagonalGaussianDistribution);
 * logvar may be NULL.  H and W must be multiples of s.  diffusers'
 * latent_dist.mode() is `mean`; latent_dist.sample() is
 * mean + exp(0.5*logvar) * N(0,1) (PixArt-delta's control path samples,
 * then multiplies by scaling_factor).  DC_EUNSUPPORTED without encoder
 * weights.
 */
enum dc_status dc_vae_encode(const struct dc_vae *vae, const float *x, int B, int H, int W,
                             float *mean, float *logvar);

#ifdef __cplusplus
}
#endif
#endif /* DC_VAE_H */
