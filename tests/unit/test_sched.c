/*
 * test_sched.c - diffusion samplers (lib/sched) against diffusers.
 *
 * Goldens (tests/golden/make_sched.py, diffusers' schedulers on CPU torch
 * 2.11, float32): for fifteen scheduler configs (tests/golden/sched/
 * <name>.json: PixArt-α's DPM-Solver++ config as published, what DDIM/Euler
 * from_config() make of it, PixArt-LCM's, and variants covering the other
 * options), the timestep lists for 1..50 steps, alphas_cumprod, and every
 * step's latents of a pipeline-shaped loop (fake 8-channel model, CFG 4.5,
 * learned-sigma split) for 1, 2, 4, 20, 25 steps (LCM 1, 2, 4, 8, 20;
 * variants fewer).  Plus API and error behaviour.
 */
#include "test.h"

#include "io/safetensors.h"
#include "sched/sched.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define NLAT 64   /* 1x4x4x4 latent */
#define NOUT 128  /* 1x8x4x4 model output */

static struct dc_safetensors *G;
static double worst_abs, worst_rel, worst_nrel, worst_ac;
static long n_steps_checked, n_lists_checked;

static const char *top(void)
{
	const char *t = getenv("DC_TOP");
	return t ? t : ".";
}

static const struct dc_st_tensor *gt(const char *name)
{
	const struct dc_st_tensor *t = G ? dc_safetensors_find(G, name) : NULL;
	if (!t) T_FAILED("golden tensor '%s' missing", name);
	return t;
}

static struct dc_sched *load(const char *name, const char *sampler)
{
	char path[512];
	struct dc_sched *s = NULL;
	snprintf(path, sizeof path, "%s/tests/golden/sched/%s.json", top(), name);
	enum dc_status st = dc_sched_load(&s, path, sampler);
	if (st) T_FAILED("load %s: %s", name, dc_errmsg());
	return s;
}

/* ---- alphas_cumprod and timestep lists ------------------------------------------ */

static void check_tables(const char *name)
{
	char key[64];
	struct dc_sched *s = load(name, NULL);
	if (!s) return;
	snprintf(key, sizeof key, "ac/%s", name);
	const struct dc_st_tensor *ac = gt(key);
	if (ac) {
		const float *r = ac->data;
		CHECK_EQ_INT(ac->numel, dc_sched_num_train_timesteps(s));
		double m = 0;
		for (size_t t = 0; t < ac->numel; t++) {
			double d = fabs((double)dc_sched_alpha_cumprod(s, (int)t) - r[t]) / r[t];
			if (d > m) m = d;
		}
		if (m > worst_ac) worst_ac = m;
		if (!(m < 2e-6)) T_FAILED("%s: alphas_cumprod rel err %g", name, m);
	}
	snprintf(key, sizeof key, "%s/ts", name);
	const struct dc_st_tensor *ts = gt(key);
	snprintf(key, sizeof key, "%s/ts_len", name);
	const struct dc_st_tensor *tl = gt(key);
	if (ts && tl) {
		const int32_t *len = tl->data;
		size_t off = 0;
		int bad = 0;
		for (int n = 1; n <= 50 && !bad; n++) {
			if (len[n - 1] == 0) {   /* diffusers refuses this count */
				if (dc_sched_set_timesteps(s, n) != DC_EINVAL)
					T_FAILED("%s: %d steps accepted", name, n);
				n_lists_checked++;
				continue;
			}
			if (dc_sched_set_timesteps(s, n)) {
				T_FAILED("%s: set_timesteps(%d): %s", name, n, dc_errmsg());
				break;
			}
			if (dc_sched_num_steps(s) != len[n - 1]) {
				T_FAILED("%s: %d steps: %d timesteps, expected %d", name, n,
				         dc_sched_num_steps(s), len[n - 1]);
				break;
			}
			for (int i = 0; i < len[n - 1]; i++) {
				double want = ts->dtype == DC_F32 ? (double)((const float *)ts->data)[off + i]
				            : ts->dtype == DC_I16 ? (double)((const int16_t *)ts->data)[off + i]
				                                  : (double)((const int32_t *)ts->data)[off + i];
				double got = dc_sched_timestep(s, i);
				/* integer lists exact; Euler's float timesteps within
				 * 1e-5 + 1 ulp (karras: interpolation in f32 logs, whose
				 * last bit differs between numpy's SIMD log and logf) */
				int ok = ts->dtype == DC_F32 ? fabs((float)got - want) <= 1e-5 + 1.2e-7 * fabs(want)
				                             : got == want;
				if (!ok) {
					T_FAILED("%s: %d steps: timestep[%d] = %.9g, expected %.9g",
					         name, n, i, got, want);
					bad = 1;
					break;
				}
			}
			off += (size_t)len[n - 1];
			n_lists_checked++;
		}
	}
	dc_sched_free(s);
}

TEST(timesteps_dpm)
{
	check_tables("dpm"); check_tables("dpm_karras"); check_tables("dpm_sd");
	check_tables("dpm_trailing"); check_tables("dpm_cosine"); check_tables("dpm1_karras");
}
TEST(timesteps_ddim) { check_tables("ddim"); check_tables("ddim_sd"); check_tables("ddim_cosine"); }
TEST(timesteps_euler)
{
	check_tables("euler"); check_tables("euler_sd"); check_tables("euler_karras");
	check_tables("euler_trailing");
}
TEST(timesteps_lcm) { check_tables("lcm"); check_tables("lcm_v"); }

/* ---- step-by-step parity ---------------------------------------------------------- */

/*
 * Per component |d| <= 1e-4 * max(|ref|, 0.1 * max|ref|): 1e-4 relative for
 * every component of at least a tenth of the step's largest, and an
 * absolute 1e-5 * max|ref| below that.  The floor is needed because
 * diffusers' own float32 arithmetic is only good to ~3e-6 * max|ref| here
 * (measured: the same loop in float64 differs from it by that much; the
 * fake model's x0 predictions reach ~2000 at t = 999 and cancel), so a
 * component near zero carries no relative precision in the reference.
 */
static int compare_step(const char *what, int i, const float *got, const float *ref, size_t n)
{
	double mx = 0, ma = 0, mr = 0;
	for (size_t j = 0; j < n; j++) if (fabs(ref[j]) > mx) mx = fabs(ref[j]);
	int bad = 0;
	for (size_t j = 0; j < n; j++) {
		double d = fabs((double)got[j] - ref[j]);
		double den = fabs(ref[j]) > 0.1 * mx ? fabs(ref[j]) : 0.1 * mx;
		if (d > ma || d != d) ma = d;
		if (d / den > mr || d != d) mr = d / den;
		if (!(d <= 1e-4 * den)) bad = 1;
	}
	if (ma > worst_abs) worst_abs = ma;
	if (mr > worst_rel) worst_rel = mr;
	if (mx > 0 && ma / mx > worst_nrel) worst_nrel = ma / mx;
	if (getenv("SCHED_VERBOSE")) printf("# %s step %d: abs %.3g nrel %.3g\n", what, i, ma, ma / mx);
	if (bad) T_FAILED("%s step %d: max abs %g, max rel %g (max |ref| %g)", what, i, ma, mr, mx);
	n_steps_checked++;
	return bad;
}

static void run_case(const char *name, int steps, int cfg, float eta)
{
	char key[64], what[64];
	struct dc_sched *s = load(name, NULL);
	const struct dc_st_tensor *init = gt("inputs/init"), *raw = gt("inputs/raw"),
	                          *noise = gt("inputs/noise");
	snprintf(key, sizeof key, "%s/run%d", name, steps);
	const struct dc_st_tensor *ref = gt(key);
	if (!s || !init || !raw || !noise || !ref) { dc_sched_free(s); return; }
	snprintf(what, sizeof what, "%s/%d", name, steps);
	CHECK(dc_sched_set_timesteps(s, steps) == DC_OK);
	CHECK_EQ_INT(ref->shape[0], dc_sched_num_steps(s));
	dc_sched_set_noise(s, noise->data, NLAT);
	dc_sched_set_eta(s, eta);
	float lat[NLAT], inp[NLAT], out[2][NOUT], eps[NOUT], x0[NLAT];
	float sig = dc_sched_init_noise_sigma(s);
	const float *in0 = init->data;
	for (int j = 0; j < NLAT; j++) lat[j] = in0[j] * sig;
	int N = dc_sched_num_steps(s);
	for (int i = 0; i < N && i < (int)ref->shape[0]; i++) {
		dc_sched_scale_model_input(s, i, lat, inp, NLAT);
		const float *r = (const float *)raw->data + (size_t)i * 2 * NOUT;
		int B = cfg ? 2 : 1;
		for (int b = 0; b < B; b++)
			for (int c = 0; c < 8; c++)
				for (int p = 0; p < 16; p++)
					out[b][c * 16 + p] = r[(size_t)(2 - B + b) * NOUT + c * 16 + p] +
					                     0.25f * inp[(c % 4) * 16 + p];
		if (cfg) dc_cfg_combine(out[0], out[0], out[1], NOUT, 4.5f);
		dc_learned_sigma_split(eps, out[0], 1, 8, 4, 16);
		if (dc_sched_step_x0(s, i, eps, lat, x0, NLAT, 42)) {
			T_FAILED("%s step %d: %s", what, i, dc_errmsg());
			break;
		}
		if (compare_step(what, i, lat, (const float *)ref->data + (size_t)i * NLAT, NLAT)) break;
	}
	if (steps == 1) {
		snprintf(key, sizeof key, "%s/x0_1", name);
		const struct dc_st_tensor *rx = G ? dc_safetensors_find(G, key) : NULL;
		if (rx) compare_step(key, 0, x0, rx->data, NLAT);
		else if (dc_sched_kind(s) != DC_SCHED_DPM) T_FAILED("no %s", key);
	}
	dc_sched_free(s);
}

static void run_all(const char *name, int cfg, float eta, const int *steps)
{
	for (int k = 0; steps[k]; k++) run_case(name, steps[k], cfg, eta);
}

static const int STEPS[] = { 1, 2, 4, 20, 25, 0 };
static const int STEPS4[] = { 1, 2, 4, 20, 0 };
static const int STEPS_X[] = { 1, 3, 10, 0 };

TEST(steps_dpm_pixart) { run_all("dpm", 1, 0, STEPS); }
TEST(steps_dpm_karras) { run_all("dpm_karras", 1, 0, STEPS); }
TEST(steps_dpm_heun_v_sigma_min) { run_all("dpm_sd", 1, 0, STEPS4); }
TEST(steps_dpm3_trailing_sample) { run_all("dpm_trailing", 1, 0, STEPS4); }
TEST(steps_dpm_cosine_clipped) { run_all("dpm_cosine", 1, 0, STEPS_X); }
TEST(steps_dpm1_karras_v) { run_all("dpm1_karras", 1, 0, STEPS_X); }
TEST(steps_ddim_from_pixart) { run_all("ddim", 1, 0, STEPS); }
TEST(steps_ddim_eta_v) { run_all("ddim_sd", 1, 0.3f, STEPS4); }
TEST(steps_ddim_cosine_clip_eta1) { run_all("ddim_cosine", 1, 1.0f, STEPS_X); }
TEST(steps_euler) { run_all("euler", 1, 0, STEPS); }
TEST(steps_euler_v_leading) { run_all("euler_sd", 1, 0, STEPS4); }
TEST(steps_euler_karras) { run_all("euler_karras", 1, 0, STEPS4); }
TEST(steps_euler_trailing_sample) { run_all("euler_trailing", 1, 0, STEPS_X); }
TEST(steps_lcm)
{
	static const int lsteps[] = { 1, 2, 4, 8, 20, 0 };
	run_all("lcm", 0, 0, lsteps);
}
TEST(steps_lcm_v_clip_defaults) { run_all("lcm_v", 1, 0, STEPS_X); }   /* with CFG */

/* ---- API behaviour ---------------------------------------------------------------- */

TEST(pixart_known_lists)
{
	struct dc_sched *s = load("lcm", NULL);
	if (s) {
		static const int want[4] = { 999, 759, 499, 259 };   /* research notes §2.3 */
		CHECK(dc_sched_set_timesteps(s, 4) == DC_OK);
		CHECK_EQ_INT(dc_sched_num_steps(s), 4);
		for (int i = 0; i < 4; i++) CHECK_EQ_INT(dc_sched_timestep(s, i), want[i]);
		CHECK(dc_sched_set_timesteps(s, 51) == DC_EINVAL);   /* > original_inference_steps */
		CHECK(dc_sched_set_timesteps(s, 0) == DC_EINVAL);
		dc_sched_free(s);
	}
	/* no config: PixArt-α's DPM-Solver++(2M), linspace */
	CHECK(dc_sched_create(&s, NULL, NULL) == DC_OK);
	if (s) {
		CHECK(dc_sched_kind(s) == DC_SCHED_DPM);
		CHECK(dc_sched_set_timesteps(s, 20) == DC_OK);
		CHECK_EQ_INT(dc_sched_timestep(s, 0), 999);
		CHECK_EQ_INT(dc_sched_timestep(s, 1), 949);
		CHECK_EQ_INT(dc_sched_timestep(s, 19), 50);
		CHECK(dc_sched_sigma(s, 20) == 0.0f);
		CHECK(dc_sched_init_noise_sigma(s) == 1.0f);
		dc_sched_free(s);
	}
}

/* --sampler ddim on PixArt's DPM config == DDIMScheduler.from_config(it). */
TEST(sampler_override)
{
	struct dc_sched *a = load("dpm", "ddim"), *b = load("ddim", NULL);
	if (a && b) {
		CHECK(dc_sched_kind(a) == DC_SCHED_DDIM);
		CHECK(dc_sched_set_timesteps(a, 7) == DC_OK && dc_sched_set_timesteps(b, 7) == DC_OK);
		float xa[NLAT], xb[NLAT], e[NLAT];
		for (int j = 0; j < NLAT; j++) { xa[j] = xb[j] = 0.05f * (j - 30); e[j] = 0.01f * j; }
		for (int i = 0; i < 7; i++) {
			CHECK_EQ_INT(dc_sched_timestep(a, i), dc_sched_timestep(b, i));
			dc_sched_step(a, i, e, xa, NLAT, 1);
			dc_sched_step(b, i, e, xb, NLAT, 1);
		}
		CHECK(!memcmp(xa, xb, sizeof xa));
	}
	dc_sched_free(a);
	dc_sched_free(b);
	enum dc_sched_kind k;
	CHECK(dc_sched_kind_parse("Euler", &k) == DC_OK && k == DC_SCHED_EULER);
	CHECK(dc_sched_kind_parse("DPM++2M", &k) == DC_OK && k == DC_SCHED_DPM);
	CHECK(dc_sched_kind_parse("LCMScheduler", &k) == DC_OK && k == DC_SCHED_LCM);
	CHECK(dc_sched_kind_parse("heun", &k) == DC_EINVAL);
}

static enum dc_status parse(const char *json, struct dc_sched **s)
{
	return dc_sched_parse(s, json, strlen(json), NULL);
}

TEST(config_errors)
{
	struct dc_sched *s = NULL;
	CHECK(parse("{\"_class_name\": \"PNDMScheduler\"}", &s) == DC_EUNSUPPORTED && !s);
	CHECK(parse("{\"_class_name\": \"DDIMScheduler\", \"thresholding\": true}", &s) == DC_EUNSUPPORTED);
	CHECK(parse("{\"beta_schedule\": \"sigmoid\"}", &s) == DC_EUNSUPPORTED);
	CHECK(parse("{\"algorithm_type\": \"sde-dpmsolver++\"}", &s) == DC_EUNSUPPORTED);
	CHECK(parse("{\"variance_type\": \"learned_range\"}", &s) == DC_EUNSUPPORTED);
	CHECK(parse("{\"solver_order\": 4}", &s) == DC_EFORMAT);
	CHECK(parse("{\"num_train_timesteps\": 0}", &s) == DC_EFORMAT);
	CHECK(parse("{\"beta_start\": \"x\"}", &s) == DC_EFORMAT);
	CHECK(parse("{\"trained_betas\": [0.1, 0.2]}", &s) == DC_EFORMAT);   /* != 1000 */
	CHECK(parse("{\"beta_end\": 1.5}", &s) == DC_EFORMAT);
	CHECK(parse("{not json", &s) == DC_EFORMAT);
	CHECK(dc_sched_load(&s, "/nonexistent/scheduler_config.json", NULL) == DC_EIO && !s);
	/* null values and Python's -Infinity / NaN are fine */
	CHECK(parse("{\"lambda_min_clipped\": -Infinity, \"variance_type\": null, "
	            "\"trained_betas\": null, \"sample_max_value\": NaN, \"x\": \"-Infinity\"}", &s) == DC_OK);
	dc_sched_free(s);
	/* trained betas */
	CHECK(parse("{\"num_train_timesteps\": 4, \"trained_betas\": [0.1, 0.2, 0.3, 0.4], "
	            "\"_class_name\": \"DDIMScheduler\"}", &s) == DC_OK);
	if (s) {
		CHECK(fabsf(dc_sched_alpha_cumprod(s, 3) - 0.9f * 0.8f * 0.7f * 0.6f) < 1e-6f);
		CHECK(dc_sched_set_timesteps(s, 5) == DC_EINVAL);   /* > num_train_timesteps */
		dc_sched_free(s);
	}
	/* a finite lambda_min_clipped truncates the schedule (cosine betas) */
	CHECK(parse("{\"beta_schedule\": \"squaredcos_cap_v2\", \"lambda_min_clipped\": -5.1}", &s) == DC_OK);
	if (s) {
		CHECK(dc_sched_set_timesteps(s, 10) == DC_OK);
		CHECK(dc_sched_timestep(s, 0) < 999 && dc_sched_timestep(s, 0) > 900);
		dc_sched_free(s);
	}
}

/* A pipeline folder: DIR/scheduler/scheduler_config.json. */
TEST(load_folder)
{
	char dir[] = "/tmp/test_schedXXXXXX", sub[600], file[700];
	struct dc_sched *s = NULL;
	if (!mkdtemp(dir)) { T_FAILED("mkdtemp"); return; }
	snprintf(sub, sizeof sub, "%s/scheduler", dir);
	snprintf(file, sizeof file, "%s/scheduler_config.json", sub);
	CHECK(mkdir(sub, 0700) == 0);
	FILE *f = fopen(file, "w");
	if (f) {
		fputs("{\"_class_name\": \"EulerDiscreteScheduler\", \"timestep_spacing\": \"trailing\"}", f);
		fclose(f);
	}
	CHECK(dc_sched_load(&s, dir, NULL) == DC_OK);
	if (s) {
		CHECK(dc_sched_kind(s) == DC_SCHED_EULER);
		CHECK(dc_sched_set_timesteps(s, 4) == DC_OK);
		CHECK(dc_sched_timestep(s, 0) == 999.0 && dc_sched_timestep(s, 3) == 249.0);
		dc_sched_free(s);
	}
	CHECK(dc_sched_load(&s, sub, "lcm") == DC_OK && s && dc_sched_kind(s) == DC_SCHED_LCM);
	dc_sched_free(s);
	remove(file);
	rmdir(sub);
	rmdir(dir);
}

TEST(step_errors)
{
	struct dc_sched *s = NULL;
	float x[NLAT] = { 0 }, e[NLAT] = { 0 };
	CHECK(dc_sched_create(&s, NULL, "dpm++2m") == DC_OK);
	if (!s) return;
	CHECK(dc_sched_step(s, 0, e, x, NLAT, 0) == DC_EINVAL);   /* no timesteps */
	CHECK(dc_sched_set_timesteps(s, 4) == DC_OK);
	CHECK(dc_sched_step(s, 1, e, x, NLAT, 0) == DC_EINVAL);   /* out of order */
	CHECK(dc_sched_step(s, 0, e, x, NLAT, 0) == DC_OK);
	CHECK(dc_sched_step(s, 1, e, x, NLAT / 2, 0) == DC_EINVAL); /* size changed */
	CHECK(dc_sched_step(s, 4, e, x, NLAT, 0) == DC_EINVAL);
	CHECK(dc_sched_set_timesteps(s, 4) == DC_OK);            /* restart */
	CHECK(dc_sched_step(s, 0, e, x, NLAT / 2, 0) == DC_OK);
	dc_sched_free(s);
}

/* LCM's own noise: Philox stream DC_SCHED_NOISE_STREAM + i, seed-dependent. */
TEST(lcm_philox_noise)
{
	struct dc_sched *s = load("lcm", NULL);
	if (!s) return;
	float x1[NLAT], x2[NLAT], x3[NLAT], e[NLAT], nz[2 * NLAT];
	for (int j = 0; j < NLAT; j++) { e[j] = 0.02f * (j % 7) - 0.05f; x1[j] = x2[j] = x3[j] = 0.1f * (j % 5); }
	CHECK(dc_sched_set_timesteps(s, 2) == DC_OK);
	dc_sched_step(s, 0, e, x1, NLAT, 7);
	CHECK(dc_sched_set_timesteps(s, 2) == DC_OK);
	dc_sched_step(s, 0, e, x2, NLAT, 8);
	CHECK(memcmp(x1, x2, sizeof x1) != 0);
	dc_rng_normal(7, DC_SCHED_NOISE_STREAM, 0, nz, NLAT);
	CHECK(dc_sched_set_timesteps(s, 2) == DC_OK);
	dc_sched_set_noise(s, nz, NLAT);
	dc_sched_step(s, 0, e, x3, NLAT, 999);
	CHECK(!memcmp(x1, x3, sizeof x1));
	/* last step returns `denoised`, no noise */
	memcpy(x2, x3, sizeof x2);
	dc_sched_set_noise(s, NULL, 0);
	float d[NLAT];
	CHECK(dc_sched_step_x0(s, 1, e, x3, d, NLAT, 1) == DC_OK);
	CHECK(!memcmp(x3, d, sizeof d));
	dc_sched_free(s);
}

TEST(cfg_and_split)
{
	float u[4] = { 1, 2, 3, 4 }, c[4] = { 2, 2, 1, 8 }, o[4];
	dc_cfg_combine(o, u, c, 4, 4.5f);
	CHECK(o[0] == 5.5f && o[1] == 2.0f && o[2] == -6.0f && o[3] == 22.0f);
	dc_cfg_combine(u, u, c, 4, 1.0f);   /* in place, g = 1 gives cond */
	CHECK(!memcmp(u, c, sizeof c));
	/* [2 batch, 4 ch, 3 hw] -> first 2 channels */
	float src[24], dst[12];
	for (int i = 0; i < 24; i++) src[i] = (float)i;
	dc_learned_sigma_split(dst, src, 2, 4, 2, 3);
	for (int i = 0; i < 6; i++) CHECK(dst[i] == (float)i && dst[6 + i] == (float)(12 + i));
	dc_learned_sigma_split(src, src, 2, 4, 2, 3);
	CHECK(!memcmp(src, dst, sizeof dst));
	/* Euler's model-input scaling */
	struct dc_sched *s = load("euler", NULL);
	if (s) {
		CHECK(dc_sched_set_timesteps(s, 20) == DC_OK);
		float a[2] = { 1, -2 }, b[2];
		float sg = dc_sched_sigma(s, 0);
		dc_sched_scale_model_input(s, 0, a, b, 2);
		CHECK(fabsf(b[0] - 1.0f / sqrtf(sg * sg + 1)) < 1e-6f && fabsf(b[1] + 2 * b[0]) < 1e-6f);
		CHECK(dc_sched_init_noise_sigma(s) == sg);
		dc_sched_free(s);
	}
}

int main(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/tests/golden/sched/sched.safetensors", top());
	if (dc_safetensors_open(&G, path)) printf("# cannot open %s: %s\n", path, dc_errmsg());
	RUN(timesteps_dpm);
	RUN(timesteps_ddim);
	RUN(timesteps_euler);
	RUN(timesteps_lcm);
	RUN(steps_dpm_pixart);
	RUN(steps_dpm_karras);
	RUN(steps_dpm_heun_v_sigma_min);
	RUN(steps_dpm3_trailing_sample);
	RUN(steps_dpm_cosine_clipped);
	RUN(steps_dpm1_karras_v);
	RUN(steps_ddim_from_pixart);
	RUN(steps_ddim_eta_v);
	RUN(steps_ddim_cosine_clip_eta1);
	RUN(steps_euler);
	RUN(steps_euler_v_leading);
	RUN(steps_euler_karras);
	RUN(steps_euler_trailing_sample);
	RUN(steps_lcm);
	RUN(steps_lcm_v_clip_defaults);
	RUN(pixart_known_lists);
	RUN(sampler_override);
	RUN(config_errors);
	RUN(load_folder);
	RUN(step_errors);
	RUN(lcm_philox_noise);
	RUN(cfg_and_split);
	printf("# parity: %ld timestep lists; %ld steps, max abs %.3g, max rel %.3g "
	       "(component, floor 0.1*max), max abs/max|ref| %.3g; alphas_cumprod max rel %.3g\n",
	       n_lists_checked, n_steps_checked, worst_abs, worst_rel, worst_nrel, worst_ac);
	dc_safetensors_close(G);
	return test_summary();
}
