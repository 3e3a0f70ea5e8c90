/*
 * dit.h - the PixArt text-to-image pipeline: diffusers' PixArtAlphaPipeline
 * (and PixArtSigmaPipeline, which differs only in its defaults) over the
 * components of this library, with PixArt-delta's ControlNet-Transformer:
 *
 *   prompt -> lower().strip() -> T5 SentencePiece ids (max 120, </s>, mask)
 *          -> T5 encoder (lib/models/t5)              cond rows
 *   negative prompt (default "") encoded the same way  uncond rows
 *   noise  -> sampler loop (lib/sched): per step one transformer call on
 *             [uncond; cond] (lib/models/pixart, with the ControlNet when a
 *             control image is given), CFG, learned-sigma split, step
 *          -> latents / scaling_factor -> AutoencoderKL decode (lib/models/vae;
 *             tiled above a size) -> resize-and-crop back from the aspect-
 *             ratio bin -> (x/2 + 0.5) clamped to [0, 1]
 *
 * Text, exactly as diffusers' encode_prompt with clean_caption=False (the
 * pipeline's behaviour when bs4/ftfy are missing): Python's str.lower()
 * (Unicode simple lowercase from the C library's C.UTF-8 tables, plus
 * Python's two full mappings that matter: U+0130 -> "i\u0307" and the Greek
 * final sigma) then str.strip() (Python's whitespace set).  clean_caption
 * (URL/HTML/CJK/punctuation regexes, ftfy, BeautifulSoup) is NOT done.
 * Tokens: padding="max_length", truncation to max_tokens (120 for alpha,
 * 300 for sigma) with </s> last.  Only the first T positions are encoded,
 * T = the longest row's real tokens: with the key mask, T5's outputs at
 * those positions do not depend on the padding after them, and the
 * transformer's cross-attention gives padded keys exactly zero weight, so
 * the result equals the reference's 120-token computation.
 *
 * Sizes: the requested image size (default sample_size * vae_scale) is
 * binned as diffusers does when the transformer's sample_size has a table
 * (alpha: 32 -> ASPECT_RATIO_256_BIN, 64 -> _512_, 128 -> _1024_; sigma also
 * 256 -> _2048_): the bin whose ratio key is nearest to h/w (first in table
 * order on ties), generated at the bin's size, and the decoded image
 * resized (bilinear, align_corners=False) and centre-cropped back to the
 * requested size.  Without a table, or with binning off, the size must be
 * a multiple of vae_scale * patch.  Micro-conditions (resolution = binned
 * [h, w], aspect = h / w) are passed when the transformer has them.
 *
 * Randomness: every image i has its own seed; its initial noise is
 * dc_rng_normal(seed_i, DC_DIT_NOISE_STREAM, 0, ., C*h*w) (Philox), the
 * control posterior sample uses DC_DIT_CONTROL_STREAM, and the stochastic
 * sampler steps (LCM, DDIM eta > 0) lib/sched's streams -- each image with
 * its own scheduler, so an image depends on its prompt and seed only, not
 * on the batch it is in.  torch's RNG is not reproduced: pass explicit
 * initial latents (dc_dit_request.noise) to replay a diffusers run.
 *
 * ControlNet (PixArt-delta): the control image is converted to RGB (gray
 * replicated, alpha dropped), resized to the generation size with PIL's
 * LANCZOS filter when its size differs (as VaeImageProcessor.preprocess(image,
 * height, width) does), scaled to [-1, 1], VAE-encoded, sampled from the
 * posterior with the image's seed and multiplied by scaling_factor; the
 * same control latents serve both CFG halves.
 *
 * THREAD SAFETY: a dc_dit is used by one thread at a time (the transformer
 * and T5 keep per-object buffers); the kernels inside use dc_threads()
 * threads.  Errors go through dc_fail() and name the component
 * ("transformer/: no tensor 'proj_out.weight'").
 */
#ifndef DC_DIT_H
#define DC_DIT_H

#include <stdint.h>

#include "../core/core.h"
#include "../io/media.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_DIT_NOISE_STREAM   0x444954204e4f4953ull   /* "DIT NOIS" */
#define DC_DIT_CONTROL_STREAM 0x4449542043544c00ull   /* "DIT CTL" */
/* RelaCtrl permutations at step i: relactrl_seed = seed_0 * 0x9E3779B97F4A7C15
 * + DC_DIT_RELACTRL_STREAM + i (dc_pixart_input.relactrl_seed) */
#define DC_DIT_RELACTRL_STREAM 0x4449542052454c00ull  /* "DIT REL" */

enum dc_dit_kind { DC_DIT_ALPHA = 0, DC_DIT_SIGMA };

/* What an open pipeline holds. */
struct dc_dit_info {
	enum dc_dit_kind kind;
	int sample_size;          /* transformer latent side (128 for PixArt-XL-2-1024-MS) */
	int patch;                /* transformer patch size (2) */
	int latent_channels;      /* transformer in_channels (4) */
	int vae_scale;            /* pixels per latent (8) */
	int default_width, default_height;   /* sample_size * vae_scale */
	int max_tokens;           /* 120 (alpha) or 300 (sigma) */
	int text_dim;             /* caption channels (T5 d_model) */
	int has_text;             /* tokenizer and text encoder loaded */
	int has_bins;             /* an aspect-ratio table exists for sample_size */
	int micro_conditions;     /* the transformer takes resolution/aspect */
	int control_blocks;       /* 0: no ControlNet-Transformer attached */
	int control_relactrl;     /* 1: the control is a RelaCtrl branch (control_blocks
	                             RGLC blocks; dc_dit_relactrl) */
	double scaling_factor;    /* the VAE's */
	const char *sampler;      /* the scheduler folder's algorithm ("dpm++2m", ...) */
};

struct dc_dit;

/* dc_dit_open flags */
#define DC_DIT_OPEN_NO_TEXT 1u     /* skip tokenizer/ and text_encoder/ (embeddings given) */

/*
 * Open a diffusers pipeline folder: model_index.json (_class_name
 * PixArtAlphaPipeline or PixArtSigmaPipeline) naming tokenizer/ (T5
 * SentencePiece), text_encoder/ (T5EncoderModel), transformer/
 * (PixArtTransformer2DModel), vae/ (AutoencoderKL), scheduler/
 * (scheduler_config.json), and optionally controlnet/ (a
 * ControlNet-Transformer, see dc_pixart_control_open; loaded when
 * model_index.json lists it or the folder exists).  Checks that the parts
 * fit: T5 d_model == caption_channels, VAE latent_channels ==
 * in_channels.  Errors: DC_ENOTFOUND (a missing file or folder),
 * DC_EFORMAT (a component of the wrong class, a wrong shape, parts that do
 * not fit), DC_EUNSUPPORTED (another pipeline class), with the component
 * named.  Free with dc_dit_free().
 */
enum dc_status dc_dit_open(struct dc_dit **out, const char *dir, unsigned flags);
void dc_dit_free(struct dc_dit *d);                       /* NULL is a no-op */
const struct dc_dit_info *dc_dit_info(const struct dc_dit *d);

/*
 * The open components, borrowed (owned by d, valid until dc_dit_free or,
 * for the control, the next dc_dit_set_controlnet): for tools that drive
 * them directly, e.g. to probe single control blocks.  The control is NULL
 * when none is attached; the T5 encoder NULL without the text encoder.
 */
struct dc_pixart;
struct dc_pixart_control;
struct dc_vae;
struct dc_t5;
struct dc_pixart *dc_dit_transformer(struct dc_dit *d);
struct dc_pixart_control *dc_dit_controlnet(struct dc_dit *d);
struct dc_vae *dc_dit_vae(struct dc_dit *d);
struct dc_t5 *dc_dit_text_encoder(struct dc_dit *d);
struct dc_relactrl;
struct dc_relactrl *dc_dit_relactrl(struct dc_dit *d);   /* NULL unless RelaCtrl */

/*
 * Attach the ControlNet-Transformer at `path` (a folder or .safetensors
 * file), replacing any loaded with the pipeline.  A RelaCtrl branch
 * (controlnet.0.process.* keys, dc_relactrl_open) is detected by its keys
 * and attached instead; its permutations are drawn per step from the first
 * image's seed, and control_skip is refused with it.  On failure the
 * previous one (if any) is kept.
 */
enum dc_status dc_dit_set_controlnet(struct dc_dit *d, const char *path);

/* ---- sizes --------------------------------------------------------------------- */

/*
 * The aspect-ratio bin of diffusers' tables for a transformer sample_size:
 * sets *bh, *bw (pixels) and returns 1, or returns 0 when `kind` has no
 * table for sample_size.  classify_height_width_bin: the key nearest to
 * height/width, the first in table order on ties.
 */
int dc_dit_bin(enum dc_dit_kind kind, int sample_size, int height, int width, int *bh,
               int *bw);

/* Sizes of one generation. */
struct dc_dit_plan {
	int width, height;            /* the image returned (requested size) */
	int gen_width, gen_height;    /* pixels generated (the bin, or the requested size) */
	int lat_width, lat_height;    /* gen / vae_scale */
	int binned;                   /* gen size differs from the requested size */
	int tiled;                    /* the VAE decode runs tiled */
};

/* ---- text ------------------------------------------------------------------------ */

/*
 * Lowercase + strip as the pipeline's _text_preprocessing(clean_caption=
 * False): a new NUL-terminated string (free()) in *out.  DC_EINVAL for
 * invalid UTF-8, DC_ENOMEM.
 */
enum dc_status dc_dit_preprocess(const char *text, char **out);

/*
 * Encoded text for `batch` rows.  len = T = the most real tokens of any row
 * (</s> included); positions [ntokens[i], len) of a row are padding (their
 * embeddings are T5's outputs at pad positions, mask 0).
 */
struct dc_dit_text {
	int batch, len, dim;
	int32_t *ids;             /* [batch][len] */
	unsigned char *mask;      /* [batch][len] */
	float *embeds;            /* [batch][len][dim] */
	int *ntokens;             /* [batch] real tokens kept */
	int *full_tokens;         /* [batch] tokens before truncation (</s> included) */
	int *truncated;           /* [batch] 1 when cut to max_tokens */
};
void dc_dit_text_release(struct dc_dit_text *t);   /* frees the arrays, zeroes t */

/*
 * Preprocess, tokenize (max_tokens <= 0: the pipeline's 120/300) and run
 * T5 on `n` texts.  Truncation is not an error: truncated[i] says it
 * happened (the caller warns).  DC_EINVAL when the pipeline was opened
 * without its text encoder, or for invalid UTF-8.
 */
enum dc_status dc_dit_encode_text(struct dc_dit *d, int n, const char *const *texts,
                                  int max_tokens, struct dc_dit_text *out);

/*
 * Tokens only (no T5): ids[max_tokens] padded with pad ids, *ntok real
 * tokens, *full tokens before truncation (may be NULL).
 */
enum dc_status dc_dit_tokenize(const struct dc_dit *d, const char *text, int max_tokens,
                               int32_t *ids, int *ntok, int *full);

/* ---- generation ------------------------------------------------------------------ */

/*
 * Called after every sampler step with step = 1..steps, the step's timestep
 * and the batch's latents [n][C][lat_h][lat_w] (read-only).  A nonzero
 * return stops the generation (DC_EINVAL "stopped by the caller").
 */
typedef int (*dc_dit_step_fn)(void *user, int step, int steps, double timestep,
                              const float *latents);

struct dc_dit_params {
	int width, height;        /* requested pixels; 0: the model's default */
	int binning;              /* 1 (default): bin where the model has a table; 0: exact size */
	int steps;                /* 20 */
	const char *sampler;      /* NULL: the scheduler folder's; "dpm", "ddim", "euler", "lcm" */
	float guidance;           /* 4.5; <= 1: no CFG (one transformer call per step) */
	float eta;                /* DDIM's eta (0) */
	float control_scale;      /* 1.0; multiplies the ControlNet's residuals */
	const unsigned char *control_skip; /* NULL, or per control block 0 run / 1 zero
	                             residual / 2 bypass (dc_pixart_input.control_skip) */
	int vae_tiling;           /* -1 (default): tiled above 512x512 generated pixels; 0 off; 1 on */
	int max_tokens;           /* 0: the pipeline's (120 / 300) */
	dc_dit_step_fn progress;  /* may be NULL */
	void *progress_user;
};
void dc_dit_params_init(struct dc_dit_params *p);

/*
 * The sizes `p` gives on this pipeline.  DC_EINVAL (message says why) for
 * sizes below one patch, above DC_IMAGE_MAX_DIM, or, unbinned, not a
 * multiple of vae_scale * patch.
 */
enum dc_status dc_dit_plan(const struct dc_dit *d, const struct dc_dit_params *p,
                           struct dc_dit_plan *out);

/* One batch of images; the caller owns every pointer. */
struct dc_dit_request {
	int n;                                /* images, >= 1 */
	const char *const *prompts;           /* n prompts, or NULL when `cond` is given */
	const char *negative;                 /* NULL: "" (diffusers' default) */
	const struct dc_dit_text *cond;       /* instead of prompts: n rows */
	const struct dc_dit_text *uncond;     /* instead of negative: 1 row (shared) or n */
	const uint64_t *seeds;                /* n seeds; NULL: 0, 1, ..., n-1 */
	const float *noise;                   /* NULL, or the initial latents [n][C][lat_h][lat_w]
	                                         as diffusers' latents= (N(0,1), before
	                                         init_noise_sigma); replaces the seeded noise */
	const struct dc_image *control;       /* NULL, or one control image for all n */
	const float *control_latents;         /* NULL, or [n][C][lat_h][lat_w] (already scaled) */
};

/*
 * Generate.  latents_out (may be NULL): [n][C][lat_h][lat_w], the final
 * latents (diffusers' output_type="latent").  rgb_out (may be NULL; when
 * both are NULL nothing is decoded): [n][3][height][width] in [0, 1]
 * (output_type="pt").  DC_EINVAL for bad requests (a control without a
 * ControlNet, text of the wrong width), plus the components' errors.
 */
enum dc_status dc_dit_generate(struct dc_dit *d, const struct dc_dit_params *p,
                               const struct dc_dit_request *r, float *latents_out,
                               float *rgb_out);

/*
 * The control latents of `img` (8-bit, 1-4 channels) for the generation
 * size of `p`: out[C][lat_h][lat_w] (see above).  DC_EUNSUPPORTED for a
 * 16-bit image or a VAE without encoder weights.
 */
enum dc_status dc_dit_control_latents(struct dc_dit *d, const struct dc_dit_params *p,
                                      const struct dc_image *img, uint64_t seed, float *out);

/*
 * Decode latents [n][C][lat_h][lat_w] of plan `pl` into rgb [n][3][height]
 * [width] in [0, 1]: / scaling_factor, VAE (tiled when pl->tiled), resize
 * and crop back when pl->binned, (x/2 + 0.5) clamped.
 */
enum dc_status dc_dit_decode(struct dc_dit *d, const struct dc_dit_plan *pl, int n,
                             const float *latents, float *rgb);

/* ---- helpers shared with the tools ------------------------------------------------ */

/* rgb [3][h][w] in [0, 1] -> 8-bit RGB image, round(x * 255) half to even
 * as numpy (diffusers' numpy_to_pil).  img->data is dc_alloc'ed. */
enum dc_status dc_dit_to_image(const float *rgb, int w, int h, struct dc_image *img);

/* PIL Image.resize((dw, dh), LANCZOS) of an 8-bit image (any channel count,
 * channels filtered independently, PIL's 22-bit fixed point), into dst
 * (allocated).  Used for control images. */
enum dc_status dc_dit_resize_lanczos(const struct dc_image *src, struct dc_image *dst, int dw,
                                     int dh);

/* PixArtImageProcessor.resize_and_crop_tensor: src [c][sh][sw] -> dst
 * [c][dh][dw] (bilinear as torch F.interpolate, align_corners=False, after
 * scaling by max(dh/sh, dw/sw), then the centre crop). */
void dc_dit_resize_crop(const float *src, int c, int sh, int sw, float *dst, int dh, int dw);

#ifdef __cplusplus
}
#endif
#endif /* DC_DIT_H */
