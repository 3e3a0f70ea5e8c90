/*
 * sched.c - DPM-Solver++ multistep, DDIM, Euler and LCM samplers, each a
 * transcription of the diffusers scheduler of the same name (see sched.h).
 *
 * Precision follows diffusers: the beta/alpha tables and sigmas are f32
 * (torch.float32 tensors; torch's CPU cumprod accumulates in double), the
 * timestep arithmetic is numpy float64 (np.linspace / np.arange / np.round,
 * which rounds half to even like rint()), and the per-step scalars are f32.
 * FMA contraction is off for this file (-march=native would otherwise fuse
 * a*b+c into one rounding): torch and numpy round each operation, and a
 * fused product can move a timestep across a rounding boundary or, with
 * the large x0 predictions at high noise, shift a step by many ulps.
 */
#include "sched.h"

/* Every multiply-add rounds twice, as torch's separate tensor ops do. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "../io/safetensors.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { BETA_LINEAR, BETA_SCALED_LINEAR, BETA_COSINE, BETA_TRAINED };
enum { PRED_EPS, PRED_V, PRED_SAMPLE };
enum { SPACE_LINSPACE, SPACE_LEADING, SPACE_TRAILING };

#define MAX_TRAIN 100000
#define SCHED_JSON_MAX (16u << 20)

struct dc_sched {
	enum dc_sched_kind kind;
	/* configuration */
	int T;                   /* num_train_timesteps */
	int beta_schedule;
	int pred, spacing, steps_offset;
	int set_alpha_to_one, clip_sample;
	double clip_range;
	int order, heun, lower_order_final, euler_at_final, karras, final_sigma_min;
	double lambda_min_clipped;
	int orig_steps;          /* LCM original_inference_steps */
	double timestep_scaling; /* LCM */
	double cfg_sigma_min, cfg_sigma_max;  /* Euler karras overrides (NAN: none) */
	/* tables, T entries */
	float *ac;               /* alphas_cumprod */
	float *sig_all;          /* sqrt((1 - ac) / ac) */
	float final_ac;
	/* schedule */
	int n, n_req;
	double *ts;              /* n timesteps */
	float *sigmas;           /* n + 1 (DPM / Euler) */
	float init_sigma;
	/* step state */
	int next, lower_order_nums;
	size_t len;
	float *hist[3];          /* DPM x0 predictions, newest last */
	float *work;             /* n floats: noise / temporaries */
	float eta;
	const float *noise;
	size_t noise_stride;
};

/* a * b rounded on its own (no FMA contraction with a following add). */
static double nofma(double a, double b)
{
	volatile double p = a * b;
	return p;
}
static float nofmaf(float a, float b)
{
	volatile float p = a * b;
	return p;
}

/* ---- names ------------------------------------------------------------------ */

static int ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
	return *a == *b;
}

enum dc_status dc_sched_kind_parse(const char *name, enum dc_sched_kind *out)
{
	static const struct { const char *name; enum dc_sched_kind k; } tab[] = {
		{ "dpm++2m", DC_SCHED_DPM }, { "dpm", DC_SCHED_DPM }, { "dpmpp2m", DC_SCHED_DPM },
		{ "dpm++", DC_SCHED_DPM }, { "dpmpp", DC_SCHED_DPM }, { "dpmsolver++", DC_SCHED_DPM },
		{ "dpm-solver++", DC_SCHED_DPM }, { "DPMSolverMultistepScheduler", DC_SCHED_DPM },
		{ "ddim", DC_SCHED_DDIM }, { "DDIMScheduler", DC_SCHED_DDIM },
		{ "euler", DC_SCHED_EULER }, { "EulerDiscreteScheduler", DC_SCHED_EULER },
		{ "lcm", DC_SCHED_LCM }, { "LCMScheduler", DC_SCHED_LCM },
	};
	if (!name) return dc_fail(DC_EINVAL, "sampler: no name");
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (ieq(name, tab[i].name)) { *out = tab[i].k; return DC_OK; }
	return dc_fail(DC_EINVAL, "unknown sampler '%s' (dpm++2m, ddim, euler, lcm)", name);
}

const char *dc_sched_kind_name(enum dc_sched_kind k)
{
	switch (k) {
	case DC_SCHED_DPM: return "dpm++2m";
	case DC_SCHED_DDIM: return "ddim";
	case DC_SCHED_EULER: return "euler";
	case DC_SCHED_LCM: return "lcm";
	default: return "?";
	}
}

/* ---- config access ------------------------------------------------------------ */

/* JSON null or absent: keep the default.  Wrong type: error. */
static int cfg_is_null(const struct dc_config *c, const char *key)
{
	double d; int b; const char *s; size_t n;
	if (!dc_config_has(c, key)) return 1;
	if (dc_config_double(c, key, &d) == DC_OK || dc_config_bool(c, key, &b) == DC_OK ||
	    dc_config_string(c, key, &s) == DC_OK ||
	    dc_config_double_array(c, key, &d, 1, &n) != DC_EFORMAT) {
		dc_clear_error();
		return 0;
	}
	dc_clear_error();
	return 1;   /* null (or an object, which no scheduler key is) */
}

static enum dc_status cfg_double(const struct dc_config *c, const char *key, double *v)
{
	if (!c || cfg_is_null(c, key)) return DC_OK;
	return dc_config_double(c, key, v);
}
static enum dc_status cfg_int(const struct dc_config *c, const char *key, int lo, int hi, int *v)
{
	int64_t x;
	enum dc_status s;
	if (!c || cfg_is_null(c, key)) return DC_OK;
	if ((s = dc_config_int(c, key, &x))) return s;
	if (x < lo || x > hi)
		return dc_fail(DC_EFORMAT, "scheduler config: %s = %lld out of range [%d, %d]",
		               key, (long long)x, lo, hi);
	*v = (int)x;
	return DC_OK;
}
static enum dc_status cfg_bool(const struct dc_config *c, const char *key, int *v)
{
	if (!c || cfg_is_null(c, key)) return DC_OK;
	return dc_config_bool(c, key, v);
}
/* String key mapped through a NULL-terminated table; *v = its index. */
static enum dc_status cfg_enum(const struct dc_config *c, const char *key,
                               const char *const *names, int *v)
{
	const char *s;
	enum dc_status st;
	if (!c || cfg_is_null(c, key)) return DC_OK;
	if ((st = dc_config_string(c, key, &s))) return st;
	for (int i = 0; names[i]; i++)
		if (!strcmp(s, names[i])) { *v = i; return DC_OK; }
	return dc_fail(DC_EUNSUPPORTED, "scheduler config: %s '%s' not supported", key, s);
}
/* A flag that must stay false (an option not implemented). */
static enum dc_status cfg_unsupported_flag(const struct dc_config *c, const char *key)
{
	int b = 0;
	enum dc_status s = cfg_bool(c, key, &b);
	if (s) return s;
	if (b) return dc_fail(DC_EUNSUPPORTED, "scheduler config: %s = true not supported", key);
	return DC_OK;
}

/* ---- tables --------------------------------------------------------------------- */

/*
 * torch.linspace(a, b, T, dtype=float32) on the CPU: the first half counts
 * up from a, the second down from b, and torch's compiled kernel fuses
 * each multiply-add (this reproduces torch 2.11's alphas_cumprod bit for
 * bit; separate roundings differ in ~700 of 1000 entries by an ulp).
 */
static void linspace_f32(float *dst, float a, float b, int T)
{
	if (T == 1) { dst[0] = a; return; }
	float step = (b - a) / (float)(T - 1);
	int half = T / 2;
	for (int i = 0; i < T; i++)
		dst[i] = i < half ? fmaf(step, (float)i, a) : fmaf(-step, (float)(T - i - 1), b);
}

static double cos_alpha_bar(double t)
{
	double c = cos((t + 0.008) / 1.008 * M_PI / 2);
	return c * c;
}

static enum dc_status build_tables(struct dc_sched *s, const struct dc_config *c,
                                   int beta_schedule, double b0, double b1)
{
	int T = s->T;
	float *betas = dc_alloc((size_t)T * sizeof(float));
	s->ac = dc_alloc((size_t)T * sizeof(float));
	s->sig_all = dc_alloc((size_t)T * sizeof(float));
	if (!betas || !s->ac || !s->sig_all) {
		dc_free(betas);
		return dc_fail(DC_ENOMEM, "scheduler: out of memory");
	}
	switch (beta_schedule) {
	case BETA_LINEAR:
		linspace_f32(betas, (float)b0, (float)b1, T);
		break;
	case BETA_SCALED_LINEAR:
		linspace_f32(betas, (float)sqrt(b0), (float)sqrt(b1), T);
		for (int i = 0; i < T; i++) betas[i] = betas[i] * betas[i];
		break;
	case BETA_COSINE:
		for (int i = 0; i < T; i++) {
			double v = 1 - cos_alpha_bar((double)(i + 1) / T) / cos_alpha_bar((double)i / T);
			betas[i] = (float)(v < 0.999 ? v : 0.999);
		}
		break;
	case BETA_TRAINED: {
		double *tb = malloc((size_t)T * sizeof(double));
		size_t n = 0;
		enum dc_status st = tb ? dc_config_double_array(c, "trained_betas", tb, (size_t)T, &n)
		                       : dc_fail(DC_ENOMEM, "scheduler: out of memory");
		if (!st && n != (size_t)T)
			st = dc_fail(DC_EFORMAT, "scheduler config: trained_betas has %zu values, "
			             "num_train_timesteps is %d", n, T);
		for (size_t i = 0; !st && i < n; i++) betas[i] = (float)tb[i];
		free(tb);
		if (st) { dc_free(betas); return st; }
		break;
	}
	}
	double cum = 1.0;
	for (int i = 0; i < T; i++) {
		float a = 1.0f - betas[i];
		if (!(betas[i] >= 0.0f && betas[i] < 1.0f)) {
			dc_free(betas);
			return dc_fail(DC_EFORMAT, "scheduler config: beta %d = %g not in [0, 1)",
			               i, (double)betas[i]);
		}
		cum *= a;
		s->ac[i] = (float)cum;
		s->sig_all[i] = sqrtf((1.0f - s->ac[i]) / s->ac[i]);
	}
	dc_free(betas);
	if (!(s->ac[T - 1] > 0.0f))
		return dc_fail(DC_EFORMAT, "scheduler config: alphas_cumprod underflows to 0");
	s->final_ac = s->set_alpha_to_one ? 1.0f : s->ac[0];
	/* before set_timesteps: Euler's property over the full sigma table */
	s->init_sigma = 1.0f;
	if (s->kind == DC_SCHED_EULER) {
		float mx = s->sig_all[T - 1];
		s->init_sigma = s->spacing == SPACE_LEADING ? sqrtf(mx * mx + 1.0f) : mx;
	}
	return DC_OK;
}

/* ---- creation -------------------------------------------------------------------- */

static enum dc_status configure(struct dc_sched *s, const struct dc_config *c)
{
	static const char *const beta_names[] = { "linear", "scaled_linear", "squaredcos_cap_v2", NULL };
	static const char *const pred_names[] = { "epsilon", "v_prediction", "sample",
	                                          "original_sample", NULL };
	static const char *const space_names[] = { "linspace", "leading", "trailing", NULL };
	static const char *const algo_names[] = { "dpmsolver++", "deis", NULL };
	static const char *const solver_names[] = { "midpoint", "heun", "logrho", "bh1", "bh2", NULL };
	static const char *const final_names[] = { "zero", "sigma_min", NULL };
	static const char *const interp_names[] = { "linear", NULL };
	static const char *const ttype_names[] = { "discrete", "continuous", NULL };
	static const char *const var_names[] = { NULL };
	enum dc_sched_kind k = s->kind;
	enum dc_status st;
	int beta = BETA_LINEAR, algo = 0, solver = 0, fin = 0, interp = 0, ttype = 0, var = 0;
	double b0 = 0.0001, b1 = 0.02;

	/* diffusers' per-class defaults */
	s->T = 1000;
	s->pred = PRED_EPS;
	s->spacing = SPACE_LINSPACE;
	s->steps_offset = 0;
	s->set_alpha_to_one = 1;
	s->clip_sample = 0;
	s->clip_range = 1.0;
	s->order = 2;
	s->lower_order_final = 1;
	s->lambda_min_clipped = -INFINITY;
	s->orig_steps = 50;
	s->timestep_scaling = 10.0;
	s->cfg_sigma_min = s->cfg_sigma_max = NAN;
	if (k == DC_SCHED_DDIM) { s->spacing = SPACE_LEADING; s->clip_sample = 1; }
	if (k == DC_SCHED_LCM) {
		s->spacing = SPACE_LEADING;
		beta = BETA_SCALED_LINEAR; b0 = 0.00085; b1 = 0.012;
	}

	if ((st = cfg_int(c, "num_train_timesteps", 1, MAX_TRAIN, &s->T)) ||
	    (st = cfg_double(c, "beta_start", &b0)) || (st = cfg_double(c, "beta_end", &b1)) ||
	    (st = cfg_enum(c, "beta_schedule", beta_names, &beta)) ||
	    (st = cfg_enum(c, "prediction_type", pred_names, &s->pred)) ||
	    (st = cfg_enum(c, "timestep_spacing", space_names, &s->spacing)) ||
	    (st = cfg_int(c, "steps_offset", 0, MAX_TRAIN, &s->steps_offset)) ||
	    (st = cfg_unsupported_flag(c, "rescale_betas_zero_snr")))
		return st;
	if (s->pred == 3) {
		if (k != DC_SCHED_EULER)
			return dc_fail(DC_EUNSUPPORTED, "scheduler config: prediction_type "
			               "'original_sample' is Euler's only");
		s->pred = PRED_SAMPLE;
	}
	if (k != DC_SCHED_EULER && (st = cfg_unsupported_flag(c, "thresholding"))) return st;
	if (c && !cfg_is_null(c, "trained_betas")) beta = BETA_TRAINED;
	s->beta_schedule = beta;
	if (!(b0 >= 0 && b1 >= 0 && b0 < 1 && b1 < 1))
		return dc_fail(DC_EFORMAT, "scheduler config: beta_start/beta_end out of [0, 1)");

	switch (k) {
	case DC_SCHED_DPM:
		if ((st = cfg_int(c, "solver_order", 1, 3, &s->order)) ||
		    (st = cfg_enum(c, "algorithm_type", algo_names, &algo)) ||
		    (st = cfg_enum(c, "solver_type", solver_names, &solver)) ||
		    (st = cfg_bool(c, "lower_order_final", &s->lower_order_final)) ||
		    (st = cfg_bool(c, "euler_at_final", &s->euler_at_final)) ||
		    (st = cfg_bool(c, "use_karras_sigmas", &s->karras)) ||
		    (st = cfg_unsupported_flag(c, "use_exponential_sigmas")) ||
		    (st = cfg_unsupported_flag(c, "use_beta_sigmas")) ||
		    (st = cfg_unsupported_flag(c, "use_lu_lambdas")) ||
		    (st = cfg_unsupported_flag(c, "use_flow_sigmas")) ||
		    (st = cfg_enum(c, "final_sigmas_type", final_names, &fin)) ||
		    (st = cfg_double(c, "lambda_min_clipped", &s->lambda_min_clipped)) ||
		    (st = cfg_enum(c, "variance_type", var_names, &var)))
			return st;
		s->heun = solver == 1;
		s->final_sigma_min = fin == 1;
		break;
	case DC_SCHED_DDIM:
		if ((st = cfg_bool(c, "clip_sample", &s->clip_sample)) ||
		    (st = cfg_bool(c, "set_alpha_to_one", &s->set_alpha_to_one)) ||
		    (st = cfg_double(c, "clip_sample_range", &s->clip_range)))
			return st;
		break;
	case DC_SCHED_EULER:
		if ((st = cfg_enum(c, "interpolation_type", interp_names, &interp)) ||
		    (st = cfg_bool(c, "use_karras_sigmas", &s->karras)) ||
		    (st = cfg_unsupported_flag(c, "use_exponential_sigmas")) ||
		    (st = cfg_unsupported_flag(c, "use_beta_sigmas")) ||
		    (st = cfg_double(c, "sigma_min", &s->cfg_sigma_min)) ||
		    (st = cfg_double(c, "sigma_max", &s->cfg_sigma_max)) ||
		    (st = cfg_enum(c, "timestep_type", ttype_names, &ttype)) ||
		    (st = cfg_enum(c, "final_sigmas_type", final_names, &fin)))
			return st;
		if (ttype == 1 && s->pred == PRED_V)
			return dc_fail(DC_EUNSUPPORTED, "scheduler config: continuous v-prediction "
			               "timesteps not supported");
		s->final_sigma_min = fin == 1;
		break;
	case DC_SCHED_LCM:
		if ((st = cfg_int(c, "original_inference_steps", 1, MAX_TRAIN, &s->orig_steps)) ||
		    (st = cfg_bool(c, "clip_sample", &s->clip_sample)) ||
		    (st = cfg_bool(c, "set_alpha_to_one", &s->set_alpha_to_one)) ||
		    (st = cfg_double(c, "clip_sample_range", &s->clip_range)) ||
		    (st = cfg_double(c, "timestep_scaling", &s->timestep_scaling)))
			return st;
		break;
	default:
		return dc_fail(DC_EINVAL, "scheduler: bad kind");
	}
	if (!(s->clip_range > 0))
		return dc_fail(DC_EFORMAT, "scheduler config: clip_sample_range must be > 0");
	if (!isfinite(s->timestep_scaling))
		return dc_fail(DC_EFORMAT, "scheduler config: timestep_scaling not finite");
	return build_tables(s, c, beta, b0, b1);
}

enum dc_status dc_sched_create(struct dc_sched **out, const struct dc_config *cfg,
                               const char *sampler)
{
	enum dc_sched_kind kind = DC_SCHED_DPM;
	enum dc_status st;
	*out = NULL;
	if (sampler && *sampler) {
		if ((st = dc_sched_kind_parse(sampler, &kind))) return st;
	} else if (cfg && dc_config_has(cfg, "_class_name")) {
		const char *cls;
		if ((st = dc_config_string(cfg, "_class_name", &cls))) return st;
		if (dc_sched_kind_parse(cls, &kind))
			return dc_fail(DC_EUNSUPPORTED, "scheduler class '%s' not supported "
			               "(DPMSolverMultistepScheduler, DDIMScheduler, "
			               "EulerDiscreteScheduler, LCMScheduler)", cls);
	}
	struct dc_sched *s = calloc(1, sizeof *s);
	if (!s) return dc_fail(DC_ENOMEM, "scheduler: out of memory");
	s->kind = kind;
	if ((st = configure(s, cfg))) { dc_sched_free(s); return st; }
	*out = s;
	return DC_OK;
}

/* Rewrite the non-standard numbers Python's json writes (-Infinity,
 * Infinity, NaN) outside strings so cJSON accepts them. */
static char *json_sanitize(const char *in, size_t len, size_t *outlen)
{
	char *o = malloc(len + len / 2 + 16), *p = o;
	int str = 0;
	if (!o) return NULL;
	for (size_t i = 0; i < len;) {
		char ch = in[i];
		if (str) {
			*p++ = ch;
			if (ch == '\\' && i + 1 < len) *p++ = in[++i];
			else if (ch == '"') str = 0;
			i++;
		} else if (ch == '"') {
			str = 1; *p++ = ch; i++;
		} else if (len - i >= 9 && !memcmp(in + i, "-Infinity", 9)) {
			memcpy(p, "-1e999", 6); p += 6; i += 9;
		} else if (len - i >= 8 && !memcmp(in + i, "Infinity", 8)) {
			memcpy(p, "1e999", 5); p += 5; i += 8;
		} else if (len - i >= 3 && !memcmp(in + i, "NaN", 3)) {
			memcpy(p, "null", 4); p += 4; i += 3;
		} else {
			*p++ = ch; i++;
		}
	}
	*outlen = (size_t)(p - o);
	return o;
}

enum dc_status dc_sched_parse(struct dc_sched **out, const char *json, size_t len,
                              const char *sampler)
{
	struct dc_config *cfg = NULL;
	size_t n;
	*out = NULL;
	if (len > SCHED_JSON_MAX) return dc_fail(DC_ELIMIT, "scheduler config over 16 MiB");
	char *text = json_sanitize(json, len, &n);
	if (!text) return dc_fail(DC_ENOMEM, "scheduler: out of memory");
	enum dc_status st = dc_config_parse(&cfg, text, n);
	free(text);
	if (st) return st;
	st = dc_sched_create(out, cfg, sampler);
	dc_config_free(cfg);
	return st;
}

enum dc_status dc_sched_load(struct dc_sched **out, const char *path, const char *sampler)
{
	struct stat sb;
	char buf[4096];
	const char *file = path;
	*out = NULL;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		snprintf(buf, sizeof buf, "%s/scheduler_config.json", path);
		if (stat(buf, &sb) != 0)
			snprintf(buf, sizeof buf, "%s/scheduler/scheduler_config.json", path);
		file = buf;
	}
	FILE *f = fopen(file, "rb");
	if (!f) return dc_fail(DC_EIO, "%s: %s", file, strerror(errno));
	char *text = malloc(SCHED_JSON_MAX + 1);
	if (!text) { fclose(f); return dc_fail(DC_ENOMEM, "scheduler: out of memory"); }
	size_t n = fread(text, 1, SCHED_JSON_MAX + 1, f);
	int err = ferror(f);
	fclose(f);
	enum dc_status st;
	if (err) st = dc_fail(DC_EIO, "%s: read error", file);
	else if (n > SCHED_JSON_MAX) st = dc_fail(DC_ELIMIT, "%s: over 16 MiB", file);
	else if ((st = dc_sched_parse(out, text, n, sampler)))
		st = dc_fail(st, "%s: %s", file, dc_errmsg());
	free(text);
	return st;
}

static void free_schedule(struct dc_sched *s)
{
	free(s->ts); s->ts = NULL;
	free(s->sigmas); s->sigmas = NULL;
	for (int i = 0; i < 3; i++) { dc_free(s->hist[i]); s->hist[i] = NULL; }
	dc_free(s->work); s->work = NULL;
	s->n = 0; s->len = 0;
}

void dc_sched_free(struct dc_sched *s)
{
	if (!s) return;
	free_schedule(s);
	dc_free(s->ac);
	dc_free(s->sig_all);
	free(s);
}

enum dc_sched_kind dc_sched_kind(const struct dc_sched *s) { return s->kind; }
int dc_sched_num_steps(const struct dc_sched *s) { return s->n; }
int dc_sched_num_train_timesteps(const struct dc_sched *s) { return s->T; }
double dc_sched_timestep(const struct dc_sched *s, int i)
{
	return i >= 0 && i < s->n ? s->ts[i] : 0.0;
}
float dc_sched_sigma(const struct dc_sched *s, int i)
{
	return s->sigmas && i >= 0 && i <= s->n ? s->sigmas[i] : 0.0f;
}
float dc_sched_alpha_cumprod(const struct dc_sched *s, int t)
{
	return t >= 0 && t < s->T ? s->ac[t] : 0.0f;
}
float dc_sched_init_noise_sigma(const struct dc_sched *s) { return s->init_sigma; }
void dc_sched_set_eta(struct dc_sched *s, float eta) { s->eta = eta; }
void dc_sched_set_noise(struct dc_sched *s, const float *noise, size_t stride)
{
	s->noise = noise;
	s->noise_stride = stride;
}

/* ---- timesteps (numpy arithmetic) -------------------------------------------- */

/* np.linspace(a, b, num, endpoint)[i] in float64. */
static double np_linspace(double a, double b, int num, int endpoint, int i)
{
	int div = endpoint ? num - 1 : num;
	if (endpoint && num > 1 && i == num - 1) return b;
	if (div <= 0) return a + nofma(i, b - a);     /* step = nan: y * delta */
	double step = (b - a) / div;
	if (step == 0) return a + nofma(i / (double)div, b - a);
	return nofma(i, step) + a;
}

/* np.arange(start, stop, step) (float): length and element i. */
static long np_arange_len(double start, double stop, double step)
{
	double l = ceil((stop - start) / step);
	return l > 0 ? (long)l : 0;
}
static double np_arange_at(double start, double step, long i)
{
	if (i == 0) return start;
	double delta = (start + step) - start;
	if (i == 1) return start + step;
	return start + nofma((double)i, delta);
}

/* np.interp(x, arange(T), fp) with fp in f32 (computed in f64). */
static double np_interp(const float *fp, int T, double x)
{
	if (!(x > 0)) return fp[0];
	if (x >= T - 1) return fp[T - 1];
	int j = (int)floor(x);
	if ((double)j == x) return fp[j];
	double slope = ((double)fp[j + 1] - (double)fp[j]) / 1.0;
	return nofma(slope, x - j) + fp[j];
}

/* diffusers _sigma_to_t: log-sigma interpolation to a fractional timestep;
 * log_sigmas are f32 (np.log of an f32 array). */
static double sigma_to_t(const float *log_sigmas, int T, double sigma)
{
	double ls = log(sigma > 1e-10 ? sigma : 1e-10);
	/* cumsum(dists >= 0).argmax(): the last index whose log_sigma <= ls
	 * (log_sigmas ascend); 0 if none */
	int low = 0;
	long cnt = 0, best = -1;
	for (int i = 0; i < T; i++) {
		if (ls - (double)log_sigmas[i] >= 0) cnt++;
		if (cnt > best) { best = cnt; low = i; }
	}
	if (low > T - 2) low = T - 2;
	if (low < 0) low = 0;
	double lo = log_sigmas[low], hi = log_sigmas[low + 1];
	double w = (lo - ls) / (lo - hi);
	if (w < 0) w = 0;
	if (w > 1) w = 1;
	return nofma(1 - w, low) + nofma(w, low + 1);
}

static void karras(double *dst, int n, double smin, double smax)
{
	double rho = 7.0;
	double mi = pow(smin, 1 / rho), ma = pow(smax, 1 / rho);
	for (int i = 0; i < n; i++)
		dst[i] = pow(ma + nofma(np_linspace(0, 1, n, 1, i), mi - ma), rho);
}

static enum dc_status alloc_schedule(struct dc_sched *s, int n)
{
	free_schedule(s);
	s->ts = calloc((size_t)n + 1, sizeof(double));
	s->sigmas = calloc((size_t)n + 2, sizeof(float));
	if (!s->ts || !s->sigmas) return dc_fail(DC_ENOMEM, "scheduler: out of memory");
	s->n = n;
	return DC_OK;
}

static float *log_sigmas_f32(const struct dc_sched *s)
{
	float *l = dc_alloc((size_t)s->T * sizeof(float));
	if (l)
		for (int i = 0; i < s->T; i++) l[i] = logf(s->sig_all[i]);
	return l;
}

/* sigma_min final entry: ((1 - ac[0]) / ac[0]) ** 0.5 in f32. */
static float final_sigma(const struct dc_sched *s)
{
	return s->final_sigma_min ? s->sig_all[0] : 0.0f;
}

static enum dc_status set_dpm(struct dc_sched *s, int N)
{
	int T = s->T, last = T;
	long n;
	enum dc_status st;
	if (s->lambda_min_clipped > -INFINITY) {
		/* searchsorted(flip(lambda_t), clip): count of lambda_t < clip */
		int cnt = 0;
		for (int t = 0; t < T; t++) {
			float lam = logf(sqrtf(s->ac[t])) - logf(sqrtf(1.0f - s->ac[t]));
			if ((double)lam < s->lambda_min_clipped) cnt++;
		}
		last = T - cnt;
	}
	if (s->karras) {
		n = N;
	} else if (s->spacing == SPACE_TRAILING) {
		n = np_arange_len(last, 0, -((double)T / N));
	} else {
		n = N;
	}
	if (n < 1 || n > MAX_TRAIN) return dc_fail(DC_EINVAL, "scheduler: %d steps give no timesteps", N);
	if ((st = alloc_schedule(s, (int)n))) return st;
	if (s->karras) {
		double *sg = malloc((size_t)N * sizeof(double));
		float *ls = log_sigmas_f32(s);
		if (!sg || !ls) { free(sg); dc_free(ls); return dc_fail(DC_ENOMEM, "scheduler: out of memory"); }
		karras(sg, N, s->sig_all[0], s->sig_all[T - 1]);
		for (int i = 0; i < N; i++) {
			s->sigmas[i] = (float)sg[i];
			/* diffusers rounds except for the cosine schedule, whose
			 * fractional timesteps the int64 cast then truncates */
			double t = sigma_to_t(ls, T, sg[i]);
			s->ts[i] = s->beta_schedule == BETA_COSINE ? trunc(t) : rint(t);
		}
		free(sg);
		dc_free(ls);
	} else {
		for (int k = 0; k < n; k++) {
			double t;
			switch (s->spacing) {
			case SPACE_LINSPACE:
				t = rint(np_linspace(0, last - 1, N + 1, 1, N - k));
				break;
			case SPACE_LEADING:
				t = (double)(N - k) * (last / (N + 1)) + s->steps_offset;
				break;
			default:
				t = rint(np_arange_at(last, -((double)T / N), k)) - 1;
				break;
			}
			s->ts[k] = t;
			s->sigmas[k] = (float)np_interp(s->sig_all, T, t);
		}
	}
	s->sigmas[n] = final_sigma(s);
	s->init_sigma = 1.0f;
	return DC_OK;
}

static enum dc_status set_ddim(struct dc_sched *s, int N)
{
	int T = s->T;
	long n = N;
	enum dc_status st;
	if (N > T) return dc_fail(DC_EINVAL, "scheduler: %d steps > num_train_timesteps %d", N, T);
	if (s->spacing == SPACE_TRAILING) n = np_arange_len(T, 0, -((double)T / N));
	if (n < 1) return dc_fail(DC_EINVAL, "scheduler: %d steps give no timesteps", N);
	if ((st = alloc_schedule(s, (int)n))) return st;
	for (int k = 0; k < n; k++) {
		double t;
		switch (s->spacing) {
		case SPACE_LINSPACE: t = rint(np_linspace(0, T - 1, N, 1, N - 1 - k)); break;
		case SPACE_LEADING: t = (double)(N - 1 - k) * (T / N) + s->steps_offset; break;
		default: t = rint(np_arange_at(T, -((double)T / N), k)) - 1; break;
		}
		s->ts[k] = t;
	}
	s->init_sigma = 1.0f;
	return DC_OK;
}

static enum dc_status set_euler(struct dc_sched *s, int N)
{
	int T = s->T;
	long n = N;
	enum dc_status st;
	if (s->spacing == SPACE_TRAILING) n = np_arange_len(T, 0, -((double)T / N));
	if (n < 1) return dc_fail(DC_EINVAL, "scheduler: %d steps give no timesteps", N);
	if ((st = alloc_schedule(s, (int)n))) return st;
	double *sg = malloc((size_t)n * sizeof(double));
	if (!sg) return dc_fail(DC_ENOMEM, "scheduler: out of memory");
	for (int k = 0; k < n; k++) {
		float t;
		switch (s->spacing) {
		case SPACE_LINSPACE: t = (float)np_linspace(0, T - 1, N, 1, N - 1 - k); break;
		case SPACE_LEADING:
			t = (float)((double)(N - 1 - k) * (T / N));
			t = t + (float)s->steps_offset;
			break;
		default: t = (float)rint(np_arange_at(T, -((double)T / N), k)); t = t - 1.0f; break;
		}
		s->ts[k] = t;
		sg[k] = np_interp(s->sig_all, T, t);
	}
	if (s->karras) {
		float *ls = log_sigmas_f32(s);
		if (!ls) { free(sg); return dc_fail(DC_ENOMEM, "scheduler: out of memory"); }
		double smin = isnan(s->cfg_sigma_min) ? sg[n - 1] : s->cfg_sigma_min;
		double smax = isnan(s->cfg_sigma_max) ? sg[0] : s->cfg_sigma_max;
		karras(sg, (int)n, smin, smax);
		for (int k = 0; k < n; k++) s->ts[k] = (float)sigma_to_t(ls, T, sg[k]);
		dc_free(ls);
	}
	float mx = 0;
	for (int k = 0; k < n; k++) {
		s->sigmas[k] = (float)sg[k];
		if (s->sigmas[k] > mx) mx = s->sigmas[k];
	}
	free(sg);
	s->sigmas[n] = final_sigma(s);
	if (s->sigmas[n] > mx) mx = s->sigmas[n];
	s->init_sigma = s->spacing == SPACE_LEADING ? sqrtf(mx * mx + 1.0f) : mx;
	return DC_OK;
}

static enum dc_status set_lcm(struct dc_sched *s, int N)
{
	int T = s->T, orig = s->orig_steps;
	enum dc_status st;
	if (orig > T)
		return dc_fail(DC_EINVAL, "scheduler: original_inference_steps %d > num_train_timesteps %d",
		               orig, T);
	if (N > T || N > orig || orig / N < 1)
		return dc_fail(DC_EINVAL, "scheduler: LCM takes at most %d steps (original_inference_steps), "
		               "got %d", orig, N);
	if ((st = alloc_schedule(s, N))) return st;
	int k = T / orig;
	for (int i = 0; i < N; i++) {
		int idx = (int)floor(np_linspace(0, orig, N, 0, i));
		/* reversed origin list: element idx is origin[orig - 1 - idx] */
		s->ts[i] = (double)(orig - idx) * k - 1;
	}
	s->init_sigma = 1.0f;
	return DC_OK;
}

enum dc_status dc_sched_set_timesteps(struct dc_sched *s, int steps)
{
	enum dc_status st;
	if (steps < 1 || steps > MAX_TRAIN)
		return dc_fail(DC_EINVAL, "scheduler: steps must be >= 1 (got %d)", steps);
	switch (s->kind) {
	case DC_SCHED_DPM: st = set_dpm(s, steps); break;
	case DC_SCHED_DDIM: st = set_ddim(s, steps); break;
	case DC_SCHED_EULER: st = set_euler(s, steps); break;
	default: st = set_lcm(s, steps); break;
	}
	if (st) { free_schedule(s); return st; }
	for (int i = 0; i < s->n; i++)
		if (!(s->ts[i] >= 0 && s->ts[i] <= s->T - 1) && s->kind != DC_SCHED_EULER) {
			double t = s->ts[i];
			free_schedule(s);
			return dc_fail(DC_EINVAL, "scheduler: %d steps give timestep %g outside [0, %d)",
			               steps, t, s->T);
		}
	s->n_req = steps;
	s->next = 0;
	s->lower_order_nums = 0;
	return DC_OK;
}

/* ---- model input -------------------------------------------------------------------- */

void dc_sched_scale_model_input(const struct dc_sched *s, int i, const float *in,
                                float *out, size_t n)
{
	if (s->kind == DC_SCHED_EULER && s->sigmas && i >= 0 && i < s->n) {
		float sg = s->sigmas[i];
		float d = sqrtf(nofmaf(sg, sg) + 1.0f);
		for (size_t j = 0; j < n; j++) out[j] = in[j] / d;
	} else if (in != out) {
		memmove(out, in, n * sizeof(float));
	}
}

void dc_cfg_combine(float *out, const float *uncond, const float *cond, size_t n, float g)
{
	for (size_t i = 0; i < n; i++) {
		float u = uncond[i];
		out[i] = u + nofmaf(g, cond[i] - u);
	}
}

void dc_learned_sigma_split(float *dst, const float *src, size_t batch, size_t channels,
                            size_t keep, size_t hw)
{
	for (size_t b = 0; b < batch; b++)
		memmove(dst + b * keep * hw, src + b * channels * hw, keep * hw * sizeof(float));
}

/* ---- steps --------------------------------------------------------------------------- */

static const float *step_noise(struct dc_sched *s, int i, size_t n, uint64_t seed)
{
	if (s->noise) return s->noise + (size_t)i * s->noise_stride;
	dc_rng_normal(seed, DC_SCHED_NOISE_STREAM + (uint64_t)i, 0, s->work, n);
	return s->work;
}

/* alpha_t, sigma_t of a VP sigma (diffusers _sigma_to_alpha_sigma_t), f32. */
static void vp(float sg, float *a, float *sgt)
{
	*a = 1.0f / sqrtf(nofmaf(sg, sg) + 1.0f);
	*sgt = sg * *a;
}
static float lambda_of(float a, float sg) { return logf(a) - logf(sg); }

static void step_dpm(struct dc_sched *s, int i, const float *mo, float *x, float *x0out, size_t n)
{
	int N = s->n;
	int lof = i == N - 1 &&
	          (s->euler_at_final || (s->lower_order_final && N < 15) || !s->final_sigma_min);
	int los = i == N - 2 && s->lower_order_final && N < 15;
	float a_s0, s_s0, a_t, s_t;
	vp(s->sigmas[i], &a_s0, &s_s0);
	vp(s->sigmas[i + 1], &a_t, &s_t);
	/* convert_model_output -> x0 prediction, pushed onto the history */
	float *h0 = s->hist[0];
	s->hist[0] = s->hist[1]; s->hist[1] = s->hist[2]; s->hist[2] = h0;
	float *m0 = s->hist[2];
	for (size_t j = 0; j < n; j++) {
		float v = mo[j];
		if (s->pred == PRED_EPS) v = (x[j] - s_s0 * v) / a_s0;
		else if (s->pred == PRED_V) v = a_s0 * x[j] - s_s0 * v;
		m0[j] = v;
	}
	if (x0out) memcpy(x0out, m0, n * sizeof(float));
	float lt = lambda_of(a_t, s_t), l0 = lambda_of(a_s0, s_s0);
	float h = lt - l0;
	float em1 = expf(-h) - 1.0f;
	float c_x = s_t / s_s0, c_d0 = a_t * em1;
	int ord;
	if (s->order == 1 || s->lower_order_nums < 1 || lof) ord = 1;
	else if (s->order == 2 || s->lower_order_nums < 2 || los) ord = 2;
	else ord = 3;
	if (ord == 1) {
		for (size_t j = 0; j < n; j++) x[j] = c_x * x[j] - c_d0 * m0[j];
	} else if (ord == 2) {
		float a_s1, s_s1;
		vp(s->sigmas[i - 1], &a_s1, &s_s1);
		float h0v = l0 - lambda_of(a_s1, s_s1);
		float r0 = h0v / h, ir0 = 1.0f / r0;
		const float *m1 = s->hist[1];
		float c_d1 = s->heun ? a_t * (em1 / h + 1.0f) : 0.5f * c_d0;
		for (size_t j = 0; j < n; j++) {
			float d1 = ir0 * (m0[j] - m1[j]);
			float v = c_x * x[j] - c_d0 * m0[j];
			x[j] = s->heun ? v + c_d1 * d1 : v - c_d1 * d1;
		}
	} else {
		float a_s1, s_s1, a_s2, s_s2;
		vp(s->sigmas[i - 1], &a_s1, &s_s1);
		vp(s->sigmas[i - 2], &a_s2, &s_s2);
		float l1 = lambda_of(a_s1, s_s1), l2 = lambda_of(a_s2, s_s2);
		float r0 = (l0 - l1) / h, r1 = (l1 - l2) / h;
		float ir0 = 1.0f / r0, ir1 = 1.0f / r1, q = r0 / (r0 + r1), ir01 = 1.0f / (r0 + r1);
		float c1 = a_t * (em1 / h + 1.0f);
		float c2 = a_t * ((em1 + h) / (h * h) - 0.5f);
		const float *m1 = s->hist[1], *m2 = s->hist[0];
		for (size_t j = 0; j < n; j++) {
			float d10 = ir0 * (m0[j] - m1[j]), d11 = ir1 * (m1[j] - m2[j]);
			float d1 = d10 + q * (d10 - d11), d2 = ir01 * (d10 - d11);
			x[j] = c_x * x[j] - c_d0 * m0[j] + c1 * d1 - c2 * d2;
		}
	}
	if (s->lower_order_nums < s->order) s->lower_order_nums++;
}

/* x0 / eps from the model output for the alpha-cumprod schedulers. */
static void x0_eps(const struct dc_sched *s, float a, float b, float x, float mo,
                   float *x0, float *eps)
{
	float sa = sqrtf(a), sb = sqrtf(b);
	if (s->pred == PRED_EPS) { *x0 = (x - sb * mo) / sa; *eps = mo; }
	else if (s->pred == PRED_SAMPLE) { *x0 = mo; *eps = (x - sa * mo) / sb; }
	else { *x0 = sa * x - sb * mo; *eps = sa * mo + sb * x; }
}

static float clampf(float v, float r) { return v < -r ? -r : v > r ? r : v; }

static enum dc_status step_ddim(struct dc_sched *s, int i, const float *mo, float *x,
                                float *x0out, size_t n, uint64_t seed)
{
	int t = (int)s->ts[i], prev = t - s->T / s->n_req;
	float a = s->ac[t], ap = prev >= 0 ? s->ac[prev] : s->final_ac;
	float b = 1.0f - a, bp = 1.0f - ap;
	float var = (bp / b) * (1.0f - a / ap);
	float std = s->eta * sqrtf(var);
	float cdir = sqrtf(1.0f - ap - std * std), cx0 = sqrtf(ap);
	float r = (float)s->clip_range;
	const float *nz = s->eta > 0 ? step_noise(s, i, n, seed) : NULL;
	for (size_t j = 0; j < n; j++) {
		float x0, e;
		x0_eps(s, a, b, x[j], mo[j], &x0, &e);
		if (s->clip_sample) x0 = clampf(x0, r);
		if (x0out) x0out[j] = x0;
		float v = cx0 * x0 + cdir * e;
		if (nz) v = v + std * nz[j];
		x[j] = v;
	}
	return DC_OK;
}

static void step_euler(struct dc_sched *s, int i, const float *mo, float *x, float *x0out, size_t n)
{
	float sg = s->sigmas[i], dt = s->sigmas[i + 1] - sg;
	float s2 = nofmaf(sg, sg) + 1.0f;
	float cv = -sg / sqrtf(s2);
	for (size_t j = 0; j < n; j++) {
		float x0;
		if (s->pred == PRED_EPS) x0 = x[j] - nofmaf(sg, mo[j]);
		else if (s->pred == PRED_V) x0 = nofmaf(mo[j], cv) + x[j] / s2;
		else x0 = mo[j];
		if (x0out) x0out[j] = x0;
		float d = (x[j] - x0) / sg;
		x[j] = x[j] + nofmaf(d, dt);
	}
}

static void step_lcm(struct dc_sched *s, int i, const float *mo, float *x, float *x0out,
                     size_t n, uint64_t seed)
{
	int t = (int)s->ts[i];
	int pt = i + 1 < s->n ? (int)s->ts[i + 1] : t;
	float a = s->ac[t], ap = pt >= 0 ? s->ac[pt] : s->final_ac;
	float b = 1.0f - a, bp = 1.0f - ap;
	float st = (float)t * (float)s->timestep_scaling;
	float st2 = nofmaf(st, st) + 0.25f;
	float c_skip = 0.25f / st2, c_out = st / sqrtf(st2);
	float r = (float)s->clip_range;
	int last = i == s->n_req - 1;
	const float *nz = last ? NULL : step_noise(s, i, n, seed);
	float sap = sqrtf(ap), sbp = sqrtf(bp);
	for (size_t j = 0; j < n; j++) {
		float x0, e;
		x0_eps(s, a, b, x[j], mo[j], &x0, &e);
		if (s->clip_sample) x0 = clampf(x0, r);
		float den = c_out * x0 + c_skip * x[j];
		if (x0out) x0out[j] = den;
		x[j] = nz ? sap * den + sbp * nz[j] : den;
	}
}

enum dc_status dc_sched_step_x0(struct dc_sched *s, int i, const float *model_output,
                                float *sample, float *pred_x0, size_t n, uint64_t seed)
{
	if (!s->ts || s->n < 1)
		return dc_fail(DC_EINVAL, "scheduler: step before set_timesteps");
	if (i < 0 || i >= s->n)
		return dc_fail(DC_EINVAL, "scheduler: step %d of %d", i, s->n);
	if (n == 0) return dc_fail(DC_EINVAL, "scheduler: empty sample");
	if (s->kind == DC_SCHED_DPM && i != s->next)
		return dc_fail(DC_EINVAL, "scheduler: DPM-Solver steps must run in order "
		               "(expected %d, got %d)", s->next, i);
	if (s->len && s->len != n)
		return dc_fail(DC_EINVAL, "scheduler: sample size changed (%zu -> %zu); "
		               "call set_timesteps first", s->len, n);
	if (!s->len) {
		size_t bytes;
		if (dc_mul_size(n, sizeof(float), &bytes))
			return dc_fail(DC_EOVERFLOW, "scheduler: sample too large");
		s->work = dc_alloc(bytes);
		if (!s->work) return dc_fail(DC_ENOMEM, "scheduler: out of memory");
		if (s->kind == DC_SCHED_DPM)
			for (int k = 0; k < 3; k++)
				if (!(s->hist[k] = dc_calloc(n, sizeof(float))))
					return dc_fail(DC_ENOMEM, "scheduler: out of memory");
		s->len = n;
	}
	switch (s->kind) {
	case DC_SCHED_DPM: step_dpm(s, i, model_output, sample, pred_x0, n); break;
	case DC_SCHED_DDIM: step_ddim(s, i, model_output, sample, pred_x0, n, seed); break;
	case DC_SCHED_EULER: step_euler(s, i, model_output, sample, pred_x0, n); break;
	default: step_lcm(s, i, model_output, sample, pred_x0, n, seed); break;
	}
	s->next = i + 1;
	return DC_OK;
}

enum dc_status dc_sched_step(struct dc_sched *s, int i, const float *model_output,
                             float *sample, size_t n, uint64_t seed)
{
	return dc_sched_step_x0(s, i, model_output, sample, NULL, n, seed);
}
