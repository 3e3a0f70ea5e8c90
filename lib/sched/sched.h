/*
 * sched.h - diffusion samplers (noise schedulers) with diffusers parity.
 *
 * Four algorithms, each a C transcription of the diffusers scheduler of the
 * same name, step for step (timestep lists exact, alphas_cumprod bit-exact
 * with torch 2.11, samples bit-exact in most steps and within a few f32
 * ulps otherwise; tests/unit/test_sched.c checks all three against goldens
 * made by tests/golden/make_sched.py):
 *
 *   DC_SCHED_DPM    DPMSolverMultistepScheduler: DPM-Solver++ (and the
 *                   older "dpmsolver") multistep, solver_order 1..3,
 *                   midpoint/heun, lower_order_final, final_sigmas_type,
 *                   use_karras_sigmas.  PixArt-α's default (2M, 20 steps).
 *   DC_SCHED_DDIM   DDIMScheduler (eta, clip_sample, set_alpha_to_one).
 *   DC_SCHED_EULER  EulerDiscreteScheduler (float timesteps, model input
 *                   scaled by 1/sqrt(sigma^2+1), use_karras_sigmas).
 *   DC_SCHED_LCM    LCMScheduler: PixArt-LCM / PixArt-δ's 1..8 steps;
 *                   c_skip/c_out boundary conditions, fresh noise between
 *                   steps.  Timesteps are diffusers' (4 steps: 999 759 499
 *                   259), not PixArt's own lcm_scheduler.py (999 759 519
 *                   279); PixArt's script decodes `denoised` of the last
 *                   step, which is what diffusers' last step returns too.
 *
 * Configuration is a diffusers `scheduler/scheduler_config.json`: the keys
 * and defaults are diffusers' (num_train_timesteps, beta_start, beta_end,
 * beta_schedule linear|scaled_linear|squaredcos_cap_v2, trained_betas,
 * prediction_type epsilon|v_prediction|sample, timestep_spacing
 * linspace|leading|trailing, steps_offset, set_alpha_to_one, clip_sample,
 * clip_sample_range, algorithm_type, solver_order, solver_type,
 * lower_order_final, euler_at_final, use_karras_sigmas, final_sigmas_type,
 * lambda_min_clipped, original_inference_steps, timestep_scaling, sigma_min,
 * sigma_max).  `_class_name` picks the algorithm; a sampler name given
 * explicitly overrides it with diffusers' from_config() semantics: the keys
 * of the file that the chosen class knows are used, the others take that
 * class's defaults.  So `--sampler ddim` on PixArt's folder behaves like
 * `DDIMScheduler.from_config(pipe.scheduler.config)` (note: clip_sample then
 * defaults to true, as in diffusers).  Without any config the defaults are
 * PixArt's: DPM-Solver++(2M), linear betas 1e-4..0.02 over 1000 steps,
 * epsilon, linspace spacing.  The LCM defaults are diffusers' (SD's
 * scaled_linear 0.00085..0.012); PixArt-LCM's own code uses linear
 * 1e-4..0.02, so pass its scheduler_config.  Non-standard JSON numbers
 * that diffusers writes (-Infinity for lambda_min_clipped) are accepted by
 * dc_sched_load/dc_sched_parse.  Unsupported options (thresholding,
 * sde-* algorithms, use_lu/exponential/beta sigmas, flow sigmas,
 * rescale_betas_zero_snr, learned variance_type inside the scheduler,
 * Euler's log_linear interpolation or continuous timesteps, s_churn) fail
 * with DC_EUNSUPPORTED instead of silently differing.
 *
 * Driving it (what PixArtAlphaPipeline does):
 *
 *     dc_sched_set_timesteps(s, steps);
 *     x = N(0,1) * dc_sched_init_noise_sigma(s);
 *     for (i = 0; i < dc_sched_num_steps(s); i++) {
 *         in = dc_sched_scale_model_input(s, i, x)        (for both CFG halves)
 *         out[2B,8,h,w] = model(in, t = dc_sched_timestep(s, i))
 *         dc_cfg_combine(eps8, out_uncond, out_cond, n8, guidance)   (if CFG)
 *         dc_learned_sigma_split(eps, eps8, B, 8, 4, h*w)            (if 8 ch)
 *         dc_sched_step(s, i, eps, x, n, seed);
 *     }
 *
 * The steps must be taken in order 0, 1, ... (DPM keeps the previous
 * outputs).  With one step the diffusers pipeline takes the step's second
 * output (DDIM's / Euler's pred_original_sample, LCM's `denoised`) instead
 * of prev_sample: dc_sched_step_x0() returns it (for DPM the x0 prediction,
 * which equals prev_sample when the final sigma is 0; diffusers' own DPM
 * crashes there).
 *
 * Randomness: LCM's re-noising (every step but the last) and DDIM with
 * eta > 0 draw standard normals from Philox: step i uses
 * dc_rng_normal(seed, DC_SCHED_NOISE_STREAM + i, 0, ., n).  The initial
 * latents belong to the caller (the tool uses its own stream).  For parity
 * tests dc_sched_set_noise() injects the noise instead.
 *
 * Classifier-free guidance and the negative prompt (for dit-gen):
 *   guided = uncond + g * (cond - uncond), applied to the full 8-channel
 *   output before the learned-sigma split, exactly as the pipeline does;
 *   CFG runs only when g > 1 (diffusers: do_classifier_free_guidance =
 *   guidance_scale > 1.0); PixArt-α default g = 4.5, 20 steps; LCM runs
 *   with g = 0, no CFG, one model call per step.
 *   Unconditional branch, as found in the reference code:
 *   - diffusers (pipeline_pixart_alpha.py encode_prompt) tokenizes
 *     negative_prompt, default "" (after the same text preprocessing),
 *     padding="max_length" to the prompt's length (120), and runs T5 on it:
 *     "</s>" + 119 pads, attention mask with a single 1, and that mask is
 *     passed to the transformer's cross-attention for the uncond half.
 *     This is the default convention.
 *   - the original PixArt code (scripts/inference.py, PixArtMS.forward)
 *     uses the learned null caption `y_embedder.y_embedding` [120, 4096]
 *     (the caption-dropout token of the original .pth checkpoint; no
 *     parameter of that name exists in diffusers' src, so a diffusers
 *     folder does not carry it) for the uncond
 *     branch and repeats the *prompt's* mask for it.  The two conventions
 *     give different images; offer the null caption as an option only when
 *     the checkpoint carries y_embedding.
 *
 * Learned sigma: PixArt's transformer outputs 2*latent channels (ε, then
 * the variance half); the pipeline keeps noise_pred.chunk(2, dim=1)[0] when
 * out_channels // 2 == latent_channels.  dc_learned_sigma_split does that.
 */
#ifndef DC_SCHED_H
#define DC_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dc_config;

enum dc_sched_kind {
	DC_SCHED_DPM = 0,   /* DPMSolverMultistepScheduler */
	DC_SCHED_DDIM,      /* DDIMScheduler */
	DC_SCHED_EULER,     /* EulerDiscreteScheduler */
	DC_SCHED_LCM,       /* LCMScheduler */
	DC_SCHED_KIND_COUNT
};

/* Philox stream base of the scheduler's own noise (step i: base + i). */
#define DC_SCHED_NOISE_STREAM 0x5343484544000000ull

/*
 * Sampler name -> kind.  Accepts the CLI names "dpm++2m" (also "dpm",
 * "dpmpp2m", "dpm++", "dpmsolver++"), "ddim", "euler", "lcm", and the
 * diffusers class names.  Case-insensitive.  DC_EINVAL if unknown.
 */
enum dc_status dc_sched_kind_parse(const char *name, enum dc_sched_kind *out);
/* "dpm++2m", "ddim", "euler", "lcm". */
const char *dc_sched_kind_name(enum dc_sched_kind k);

struct dc_sched;   /* opaque */

/*
 * Create from a parsed config (NULL: no file, class defaults).  `sampler`
 * NULL or "" means: the config's _class_name (DPM if there is no config).
 * DC_EFORMAT for bad values, DC_EUNSUPPORTED for options not implemented.
 */
enum dc_status dc_sched_create(struct dc_sched **out, const struct dc_config *cfg,
                               const char *sampler);
/* Same, from JSON text (-Infinity/Infinity/NaN numbers allowed). */
enum dc_status dc_sched_parse(struct dc_sched **out, const char *json, size_t len,
                              const char *sampler);
/* Same, from a file: a scheduler_config.json, or a pipeline/scheduler
 * folder (reads DIR/scheduler_config.json or DIR/scheduler/...). */
enum dc_status dc_sched_load(struct dc_sched **out, const char *path, const char *sampler);
void dc_sched_free(struct dc_sched *s);

enum dc_sched_kind dc_sched_kind(const struct dc_sched *s);

/*
 * Compute the timestep list for `num_inference_steps` exactly as diffusers
 * does (including numpy's round-half-even and arange/linspace arithmetic)
 * and reset the step state.  DC_EINVAL if steps < 1 or too many for the
 * algorithm (DDIM/LCM: > num_train_timesteps; LCM: > original steps).
 */
enum dc_status dc_sched_set_timesteps(struct dc_sched *s, int num_inference_steps);
/* Length of the list (normally the requested steps). */
int dc_sched_num_steps(const struct dc_sched *s);
/* Timestep i as passed to the model (integral except Euler's). */
double dc_sched_timestep(const struct dc_sched *s, int i);
/* The sigma of step i for DPM/Euler (0 for others); i == num_steps gives
 * the final sigma. */
float dc_sched_sigma(const struct dc_sched *s, int i);
/* alphas_cumprod[t] for 0 <= t < num_train_timesteps (0 otherwise). */
float dc_sched_alpha_cumprod(const struct dc_sched *s, int t);
int dc_sched_num_train_timesteps(const struct dc_sched *s);

/* Scale of the initial N(0,1) latents (after set_timesteps for Euler). */
float dc_sched_init_noise_sigma(const struct dc_sched *s);

/* out = scale_model_input(in) for step i (Euler: in / sqrt(sigma_i^2 + 1),
 * others copy).  in == out allowed. */
void dc_sched_scale_model_input(const struct dc_sched *s, int i, const float *in,
                                float *out, size_t n);

/*
 * One step: sample (x_t, n floats, updated in place to x_{t-1}) given the
 * model output (ε / v / x0 per prediction_type, already guided and split).
 * `pred_x0` (may be NULL) receives the step's second output (see above).
 * `seed` drives the Philox noise of stochastic steps.  DC_EINVAL if the
 * steps are out of order, n changes between steps, or no timesteps are set.
 */
enum dc_status dc_sched_step_x0(struct dc_sched *s, int i, const float *model_output,
                                float *sample, float *pred_x0, size_t n, uint64_t seed);
enum dc_status dc_sched_step(struct dc_sched *s, int i, const float *model_output,
                             float *sample, size_t n, uint64_t seed);

/* DDIM's eta (default 0, deterministic; 1 = DDPM-like).  Ignored by others. */
void dc_sched_set_eta(struct dc_sched *s, float eta);

/*
 * Test hook: stochastic step i takes its noise from noise + i * stride
 * (n floats) instead of Philox.  NULL restores Philox.  Borrowed pointer.
 */
void dc_sched_set_noise(struct dc_sched *s, const float *noise, size_t stride);

/* out[i] = uncond[i] + g * (cond[i] - uncond[i]); out may alias either. */
void dc_cfg_combine(float *out, const float *uncond, const float *cond, size_t n, float g);

/*
 * Learned-sigma split: src is [batch, channels, hw]; dst gets the first
 * `keep` channels of each batch item ([batch, keep, hw]).  PixArt: channels
 * 8, keep 4.  dst may equal src (moves in place, front to back).
 */
void dc_learned_sigma_split(float *dst, const float *src, size_t batch, size_t channels,
                            size_t keep, size_t hw);

#ifdef __cplusplus
}
#endif
#endif /* DC_SCHED_H */
