/*
 * test_vocos.c - lib/speech/vocos.c: parity with the PyTorch Vocos
 * generator (share/diffcore/train/vocos_model.py) on the random-weight
 * goldens of tests/golden/make_vocos.py (an F32 model with n_fft 256 /
 * hop 64, and a BF16 one with the default n_fft 1024 / hop 256), and
 * with the OFFICIAL gemelo-ai/vocos code on a fake release converted by
 * vocos_convert.py ("center" padding, 100 mels, 24 kHz); its chunked
 * synthesis, sample counts and torch.istft's NOLA error; an
 * independent naive double-precision forward (direct convolutions, a
 * direct inverse DFT with torch.fft.irfft's treatment of the DC and
 * Nyquist bins, an explicit fold and envelope) on the same weights;
 * thread counts 1 and 2; chunked and streaming synthesis
 * (dc_vocos_synth_range) against the whole; bad configs (padding "valid"
 * among them), missing and misshapen tensors, and bad frame counts.
 */
#include <stdint.h>
#include <unistd.h>

#include "test.h"
#include "core/core.h"
#include "io/safetensors.h"
#include "speech/vocos.h"
#include "golden_npy.h"

static char gold[1024];        /* tests/golden/vocos */

static double max_abs_f64(const float *a, const double *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);
		if (d > m || d != d)
			m = d;
	}
	return m;
}

static double max_abs_of(const double *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		m = fabs(b[i]) > m ? fabs(b[i]) : m;
	return m;
}

/* Parity on one golden case: dir relative to tests/golden/vocos ("" or "geo"). */
static void parity_case(const char *sub, size_t want_params, double tol_rel, int want_mels,
                        int want_rate, int want_center)
{
	char dir[1200], gsub[1200];
	snprintf(dir, sizeof dir, "%s%s%s", gold, *sub ? "/" : "", sub);
	snprintf(gsub, sizeof gsub, "vocos%s%s", *sub ? "/" : "", sub);
	struct dc_vocos *m = NULL;
	if (dc_vocos_open(&m, dir)) {
		T_FAILED("open %s: %s", dir, dc_errmsg());
		return;
	}
	const struct dc_vocos_config *c = dc_vocos_config(m);
	CHECK_EQ_INT(c->n_params, want_params);
	CHECK_EQ_INT(c->n_mels, want_mels);
	CHECK_EQ_INT(c->sample_rate, want_rate);
	CHECK_EQ_INT(c->center, want_center);
	struct golden gm, ga;
	if (golden_npy_load(&gm, gsub, "mel") || golden_npy_load(&ga, gsub, "audio") || gm.n != 1 ||
	    ga.n != 2) {
		T_FAILED("golden files");
		dc_vocos_free(m);
		return;
	}
	int T = (int)gm.t[0].shape[0];
	CHECK_EQ_INT(gm.t[0].shape[1], c->n_mels);
	size_t n = dc_vocos_samples(m, T);
	CHECK_EQ_INT(n, (size_t)(want_center ? T - 1 : T) * c->hop);
	CHECK_EQ_INT(dc_tensor_numel(&ga.t[0]), n);
	CHECK_EQ_INT(dc_tensor_numel(&ga.t[1]), n);
	const double *y64 = ga.t[1].data;
	const float *y32 = ga.t[0].data;
	double scale = max_abs_of(y64, n);
	float *y[2];
	for (int k = 0; k < 2; k++) {
		y[k] = dc_alloc((n + 1) * sizeof(float));
		y[k][n - 1] = NAN;
		y[k][n] = 42.0f;              /* exactly n samples written */
		dc_set_threads(k + 1);
		CHECK_EQ_INT(dc_vocos_synth(m, gm.t[0].data, T, y[k]), DC_OK);
		double e64 = max_abs_f64(y[k], y64, n);
		double e32 = 0;
		for (size_t i = 0; i < n; i++) {
			double d = fabs((double)y[k][i] - y32[i]);
			e32 = d > e32 || d != d ? d : e32;
		}
		printf("# %s %d thread(s): max|y| %.3g, max abs err vs torch f64 %.3g (rel %.3g), "
		       "vs torch f32 %.3g\n", *sub ? sub : "small", k + 1, scale, e64, e64 / scale, e32);
		CHECK(e64 <= tol_rel * scale);
		CHECK(e32 <= 2 * tol_rel * scale);
		CHECK(y[k][n] == 42.0f);
	}
	dc_set_threads(0);
	double d12 = 0;
	for (size_t i = 0; i < n; i++)
		d12 = fabs((double)y[0][i] - y[1][i]) > d12 ? fabs((double)y[0][i] - y[1][i]) : d12;
	printf("# %s: max |1 thread - 2 threads| %.3g\n", *sub ? sub : "small", d12);
	CHECK(d12 <= 1e-6 * scale);
	dc_free(y[0]);
	dc_free(y[1]);
	golden_free(&gm);
	golden_free(&ga);
	dc_vocos_free(m);
}

TEST(parity_small_f32)
{
	parity_case("", 129538, 2e-5, 80, 22050, 0);
}

TEST(parity_default_geometry_bf16)
{
	parity_case("geo", 56482, 2e-5, 80, 22050, 0);
}

/* the official classes' forward (torch.istft center=True) through vocos_convert.py */
TEST(parity_official_center)
{
	parity_case("official", 66258, 2e-5, 100, 24000, 1);
}

/* ---- naive double-precision reference -------------------------------------- */

struct naive {
	const struct dc_model *m;
	double *buf[64];
	int n;
};

/* Tensor `name` as doubles (owned by nv). */
static const double *nget(struct naive *nv, const char *name)
{
	const struct dc_st_tensor *t = dc_model_find(nv->m, name);
	if (!t || nv->n == 64)
		return NULL;
	float *f = dc_alloc(t->numel * sizeof(float));
	double *d = dc_alloc(t->numel * sizeof(double));
	if (dc_model_get_f32(nv->m, name, f, t->numel)) {
		dc_free(f);
		dc_free(d);
		return NULL;
	}
	for (size_t i = 0; i < t->numel; i++)
		d[i] = f[i];
	dc_free(f);
	nv->buf[nv->n++] = d;
	return d;
}

/* LayerNorm over C of x[C][T] (channel-major, as torch's [B][C][T]), column t. */
static void naive_ln(double *x, int C, int T, const double *w, const double *b)
{
	for (int t = 0; t < T; t++) {
		double mu = 0, var = 0;
		for (int c = 0; c < C; c++)
			mu += x[(size_t)c * T + t];
		mu /= C;
		for (int c = 0; c < C; c++)
			var += (x[(size_t)c * T + t] - mu) * (x[(size_t)c * T + t] - mu);
		var /= C;
		for (int c = 0; c < C; c++)
			x[(size_t)c * T + t] = (x[(size_t)c * T + t] - mu) / sqrt(var + 1e-6) * w[c] + b[c];
	}
}

/* The whole generator in double on mel[T][M]; out[T*hop]. 0 or -1. */
static int naive_forward(const struct dc_model *model, const float *mel, int T, double *out)
{
	struct naive nv = { model, { 0 }, 0 };
	int64_t v;
	int M, C, I, L, N, H;
	dc_model_config_int(model, "n_mels", &v); M = (int)v;
	dc_model_config_int(model, "dim", &v); C = (int)v;
	dc_model_config_int(model, "intermediate_dim", &v); I = (int)v;
	dc_model_config_int(model, "num_layers", &v); L = (int)v;
	dc_model_config_int(model, "n_fft", &v); N = (int)v;
	dc_model_config_int(model, "hop_length", &v); H = (int)v;
	double *x = calloc((size_t)C * T, sizeof(double)), *y = calloc((size_t)C * T, sizeof(double));
	double *u = calloc((size_t)I, sizeof(double));
	int F = N / 2 + 1;
	double *fr = calloc((size_t)T * N, sizeof(double));
	size_t full = (size_t)(T - 1) * H + N;
	double *ola = calloc(full, sizeof(double)), *env = calloc(full, sizeof(double));
	int rc = -1;
	char nm[128];
	const double *ew = nget(&nv, "backbone.embed.weight"), *eb = nget(&nv, "backbone.embed.bias");
	const double *nw = nget(&nv, "backbone.norm.weight"), *nb = nget(&nv, "backbone.norm.bias");
	if (!ew || !eb || !nw || !nb)
		goto out;
	for (int o = 0; o < C; o++)
		for (int t = 0; t < T; t++) {
			double a = eb[o];
			for (int i = 0; i < M; i++)
				for (int k = 0; k < 7; k++) {
					int s = t + k - 3;
					if (s >= 0 && s < T)
						a += ew[((size_t)o * M + i) * 7 + k] * mel[(size_t)s * M + i];
				}
			x[(size_t)o * T + t] = a;
		}
	naive_ln(x, C, T, nw, nb);
	for (int l = 0; l < L; l++) {
		const double *p[9];
		const char *suf[9] = { "dwconv.weight", "dwconv.bias", "norm.weight", "norm.bias",
		                       "pwconv1.weight", "pwconv1.bias", "pwconv2.weight",
		                       "pwconv2.bias", "gamma" };
		for (int j = 0; j < 9; j++) {
			snprintf(nm, sizeof nm, "backbone.convnext.%d.%s", l, suf[j]);
			if (!(p[j] = nget(&nv, nm)))
				goto out;
		}
		for (int c = 0; c < C; c++)
			for (int t = 0; t < T; t++) {
				double a = p[1][c];
				for (int k = 0; k < 7; k++) {
					int s = t + k - 3;
					if (s >= 0 && s < T)
						a += p[0][(size_t)c * 7 + k] * x[(size_t)c * T + s];
				}
				y[(size_t)c * T + t] = a;
			}
		naive_ln(y, C, T, p[2], p[3]);
		for (int t = 0; t < T; t++) {
			for (int j = 0; j < I; j++) {
				double a = p[5][j];
				for (int c = 0; c < C; c++)
					a += p[4][(size_t)j * C + c] * y[(size_t)c * T + t];
				u[j] = 0.5 * a * (1.0 + erf(a / sqrt(2.0)));
			}
			for (int c = 0; c < C; c++) {
				double a = p[7][c];
				for (int j = 0; j < I; j++)
					a += p[6][(size_t)c * I + j] * u[j];
				x[(size_t)c * T + t] += p[8][c] * a;
			}
		}
	}
	const double *fw = nget(&nv, "backbone.final_layer_norm.weight"),
	             *fb = nget(&nv, "backbone.final_layer_norm.bias");
	const double *hw = nget(&nv, "head.out.weight"), *hb = nget(&nv, "head.out.bias");
	if (!fw || !fb || !hw || !hb)
		goto out;
	naive_ln(x, C, T, fw, fb);
	double *hd = calloc((size_t)N + 2, sizeof(double));
	for (int t = 0; t < T; t++) {
		for (int o = 0; o < N + 2; o++) {
			double a = hb[o];
			for (int c = 0; c < C; c++)
				a += hw[(size_t)o * C + c] * x[(size_t)c * T + t];
			hd[o] = a;
		}
		/* irfft: x[n] = (Re X0 + Re X_{N/2} (-1)^n + 2 sum_k Re(X_k e^{2 pi i k n / N})) / N */
		for (int i = 0; i < N; i++) {
			double a = 0;
			for (int k = 0; k < F; k++) {
				double mag = fmin(exp(hd[k]), 100.0), ph = hd[F + k];
				double re = mag * cos(ph), im = mag * sin(ph);
				double ang = 2 * M_PI * (double)k * i / N;
				double term = re * cos(ang) - im * sin(ang);
				a += (k == 0 || k == N / 2) ? term : 2 * term;
			}
			double w = 0.5 - 0.5 * cos(2 * M_PI * i / N);
			fr[(size_t)t * N + i] = a / N * w;
		}
	}
	free(hd);
	for (int t = 0; t < T; t++)
		for (int i = 0; i < N; i++) {
			double w = 0.5 - 0.5 * cos(2 * M_PI * i / N);
			ola[(size_t)t * H + i] += fr[(size_t)t * N + i];
			env[(size_t)t * H + i] += w * w;
		}
	size_t pad = (size_t)(N - H) / 2;
	for (size_t i = 0; i < (size_t)T * H; i++)
		out[i] = ola[i + pad] / env[i + pad];
	rc = 0;
out:
	for (int i = 0; i < nv.n; i++)
		dc_free(nv.buf[i]);
	free(x); free(y); free(u); free(fr); free(ola); free(env);
	return rc;
}

TEST(naive_reference)
{
	struct dc_model *model = NULL;
	struct dc_vocos *m = NULL;
	struct golden gm;
	if (dc_model_open(&model, gold) || dc_vocos_open(&m, gold) ||
	    golden_npy_load(&gm, "vocos", "mel")) {
		T_FAILED("open: %s", dc_errmsg());
		dc_model_free(model);
		dc_vocos_free(m);
		return;
	}
	int T = 9;     /* a short prefix keeps the direct DFT cheap */
	size_t n = (size_t)T * dc_vocos_config(m)->hop;
	double *ref = calloc(n, sizeof(double));
	float *y = dc_alloc(n * sizeof(float));
	CHECK_EQ_INT(naive_forward(model, gm.t[0].data, T, ref), 0);
	CHECK_EQ_INT(dc_vocos_synth(m, gm.t[0].data, T, y), DC_OK);
	double e = max_abs_f64(y, ref, n), s = max_abs_of(ref, n);
	printf("# naive f64 reference, %d frames: max|y| %.3g, max abs err %.3g (rel %.3g)\n", T, s,
	       e, e / s);
	CHECK(s > 0.1);
	CHECK(e <= 2e-5 * s);
	/* one frame: only the trimmed middle of a single window survives */
	n = (size_t)dc_vocos_config(m)->hop;
	CHECK_EQ_INT(naive_forward(model, gm.t[0].data, 1, ref), 0);
	CHECK_EQ_INT(dc_vocos_synth(m, gm.t[0].data, 1, y), DC_OK);
	e = max_abs_f64(y, ref, n);
	s = max_abs_of(ref, n);
	printf("# naive f64 reference, 1 frame: max|y| %.3g, max abs err %.3g\n", s, e);
	CHECK(e <= 2e-5 * (s > 1 ? s : 1));
	free(ref);
	dc_free(y);
	golden_free(&gm);
	dc_model_free(model);
	dc_vocos_free(m);
}

/* ---- bad inputs ----------------------------------------------------------------- */

/*
 * Write dir/config.json (text cfg) and dir/model.safetensors: the golden
 * tensors, without `drop` (NULL: none) and with `reshape`'s two dims
 * swapped (NULL: none).
 */
static int write_case(const char *dir, const char *cfg, const char *drop, const char *reshape)
{
	char p[1400];
	snprintf(p, sizeof p, "%s/config.json", dir);
	FILE *f = fopen(p, "w");
	if (!f)
		return -1;
	fputs(cfg, f);
	fclose(f);
	struct dc_model *m;
	if (dc_model_open(&m, gold))
		return -1;
	size_t n = dc_model_count(m), k = 0;
	struct dc_st_write_entry *e = calloc(n, sizeof *e);
	int64_t (*shapes)[DC_MAX_RANK] = calloc(n, sizeof *shapes);
	for (size_t i = 0; i < n; i++) {
		const struct dc_st_tensor *t = dc_model_at(m, i);
		if (drop && !strcmp(t->name, drop))
			continue;
		memcpy(shapes[k], t->shape, sizeof t->shape);
		if (reshape && !strcmp(t->name, reshape) && t->rank >= 2) {
			shapes[k][0] = t->shape[1];
			shapes[k][1] = t->shape[0];
		}
		e[k] = (struct dc_st_write_entry){ t->name, t->dtype, t->rank, shapes[k], t->data };
		k++;
	}
	snprintf(p, sizeof p, "%s/model.safetensors", dir);
	f = fopen(p, "wb");
	int rc = f && dc_safetensors_write(f, e, k, NULL, 0) == DC_OK ? 0 : -1;
	if (f)
		fclose(f);
	free(e);
	free(shapes);
	dc_model_free(m);
	return rc;
}

#define CFG_FMT "{\"model_type\": \"%s\", \"n_mels\": 80, \"dim\": 64, \"intermediate_dim\": 192, " \
	"\"num_layers\": 3, \"n_fft\": %d, \"hop_length\": %d, \"sampling_rate\": 22050}"

/* Open dir and expect failure with `want` in the message. */
static void expect_fail(const char *dir, const char *want)
{
	struct dc_vocos *m = (struct dc_vocos *)1;
	enum dc_status s = dc_vocos_open(&m, dir);
	printf("# %s\n", dc_errmsg());
	CHECK(s != DC_OK);
	CHECK(m == NULL);
	if (!strstr(dc_errmsg(), want))
		T_FAILED("message '%s' lacks '%s'", dc_errmsg(), want);
	if (strchr(dc_errmsg(), '\n'))
		T_FAILED("multi-line message");
	dc_vocos_free(s == DC_OK ? m : NULL);
}

TEST(bad_files)
{
	char dir[] = "/tmp/vocos_badXXXXXX", cfg[512];
	if (!mkdtemp(dir)) {
		T_FAILED("mkdtemp");
		return;
	}
	/* the good case passes through the same writer */
	snprintf(cfg, sizeof cfg, CFG_FMT, "vocos", 256, 64);
	CHECK_EQ_INT(write_case(dir, cfg, NULL, NULL), 0);
	struct dc_vocos *m = NULL;
	CHECK_EQ_INT(dc_vocos_open(&m, dir), DC_OK);
	dc_vocos_free(m);
	CHECK_EQ_INT(write_case(dir, cfg, "backbone.convnext.2.gamma", NULL), 0);
	expect_fail(dir, "backbone.convnext.2.gamma");
	CHECK_EQ_INT(write_case(dir, cfg, "head.out.bias", NULL), 0);
	expect_fail(dir, "head.out.bias");
	CHECK_EQ_INT(write_case(dir, cfg, NULL, "backbone.convnext.1.pwconv1.weight"), 0);
	expect_fail(dir, "backbone.convnext.1.pwconv1.weight");
	CHECK_EQ_INT(write_case(dir, cfg, NULL, "backbone.embed.weight"), 0);
	expect_fail(dir, "backbone.embed.weight");
	/* config: n_fft that the head does not have, odd n_fft, hop >= n_fft, odd n_fft - hop */
	snprintf(cfg, sizeof cfg, CFG_FMT, "vocos", 512, 64);
	CHECK_EQ_INT(write_case(dir, cfg, NULL, NULL), 0);
	expect_fail(dir, "head.out.weight");
	snprintf(cfg, sizeof cfg, CFG_FMT, "vocos", 255, 63);
	CHECK_EQ_INT(write_case(dir, cfg, NULL, NULL), 0);
	expect_fail(dir, "n_fft 255 must be even");
	snprintf(cfg, sizeof cfg, CFG_FMT, "vocos", 256, 256);
	CHECK_EQ_INT(write_case(dir, cfg, NULL, NULL), 0);
	expect_fail(dir, "hop_length 256");
	snprintf(cfg, sizeof cfg, CFG_FMT, "vocos", 256, 63);
	CHECK_EQ_INT(write_case(dir, cfg, NULL, NULL), 0);
	expect_fail(dir, "hop_length 63");
	snprintf(cfg, sizeof cfg, CFG_FMT, "hifigan", 256, 64);
	CHECK_EQ_INT(write_case(dir, cfg, NULL, NULL), 0);
	expect_fail(dir, "model_type");
	CHECK_EQ_INT(write_case(dir, "{\"model_type\": \"vocos\", \"n_mels\": 80}", NULL, NULL), 0);
	expect_fail(dir, "'dim' missing");
	CHECK_EQ_INT(write_case(dir, "{\"model_type\": \"vocos\", \"n_mels\": -3, \"dim\": 64}", NULL,
	                        NULL), 0);
	expect_fail(dir, "'n_mels' = -3 out of range");
	/* padding: "same" and "center" only; "center" lifts the n_fft - hop parity rule */
	const char *pads[] = { "\"valid\"", "3", "\"\"", "\"Center\"" };
	for (int i = 0; i < 4; i++) {
		snprintf(cfg, sizeof cfg, CFG_FMT, "vocos", 256, 64);
		snprintf(cfg + strlen(cfg) - 1, sizeof cfg - strlen(cfg) + 1, ", \"padding\": %s}",
		         pads[i]);
		CHECK_EQ_INT(write_case(dir, cfg, NULL, NULL), 0);
		expect_fail(dir, "'padding' must be \"same\" or \"center\"");
	}
	snprintf(cfg, sizeof cfg, CFG_FMT, "vocos", 256, 63);
	snprintf(cfg + strlen(cfg) - 1, sizeof cfg - strlen(cfg) + 1, ", \"padding\": \"center\"}");
	CHECK_EQ_INT(write_case(dir, cfg, NULL, NULL), 0);
	m = NULL;
	CHECK_EQ_INT(dc_vocos_open(&m, dir), DC_OK);
	CHECK(m && dc_vocos_config(m)->center == 1 && dc_vocos_config(m)->hop == 63);
	dc_vocos_free(m);
	snprintf(cfg, sizeof cfg, CFG_FMT, "vocos", 256, 64);
	snprintf(cfg + strlen(cfg) - 1, sizeof cfg - strlen(cfg) + 1, ", \"padding\": \"same\"}");
	CHECK_EQ_INT(write_case(dir, cfg, NULL, NULL), 0);
	m = NULL;
	CHECK_EQ_INT(dc_vocos_open(&m, dir), DC_OK);
	CHECK(m && dc_vocos_config(m)->center == 0);
	dc_vocos_free(m);
	expect_fail("/nonexistent/vocos", "vocos: ");
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK_EQ_INT(system(cmd), 0);
}

TEST(bad_frames)
{
	struct dc_vocos *m = NULL;
	if (dc_vocos_open(&m, gold)) {
		T_FAILED("open: %s", dc_errmsg());
		return;
	}
	float mel[80] = { 0 }, audio[64];
	audio[0] = 42.0f;
	CHECK_EQ_INT(dc_vocos_synth(m, mel, 0, audio), DC_EINVAL);
	CHECK(strstr(dc_errmsg(), "0 frames") != NULL);
	CHECK_EQ_INT(dc_vocos_synth(m, mel, -5, audio), DC_EINVAL);
	CHECK(audio[0] == 42.0f);
	/* one silent-ish frame works */
	CHECK_EQ_INT(dc_vocos_synth(m, mel, 1, audio), DC_OK);
	int finite = 1;
	for (int i = 0; i < 64; i++)
		finite &= isfinite(audio[i]);
	CHECK(finite);
	dc_vocos_free(m);
}

/* max |a - b| over n floats (NaN counts as infinite) */
static double max_diff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);
		if (d != d)
			return INFINITY;
		m = d > m ? d : m;
	}
	return m;
}

TEST(chunked_and_streaming)
{
	struct dc_vocos *m = NULL;
	struct golden gm;
	if (dc_vocos_open(&m, gold) || golden_npy_load(&gm, "vocos", "mel")) {
		T_FAILED("open: %s", dc_errmsg());
		dc_vocos_free(m);
		return;
	}
	const struct dc_vocos_config *c = dc_vocos_config(m);
	const int T = (int)gm.t[0].shape[0], M = c->n_mels, hop = c->hop;
	const int k = dc_vocos_context(m) + c->n_fft / (2 * hop) + 1;
	CHECK_EQ_INT(dc_vocos_context(m), 12);
	const float *mel = gm.t[0].data;
	size_t n = (size_t)T * hop;
	float *full = dc_alloc(n * sizeof(float)), *part = dc_alloc(n * sizeof(float));
	float *poison = dc_alloc((size_t)T * M * sizeof(float));
	CHECK_EQ_INT(dc_vocos_synth(m, mel, T, full), DC_OK);
	/* chunks of 7 frames (and a last shorter one) */
	for (int f0 = 0; f0 < T; f0 += 7) {
		int cnt = T - f0 < 7 ? T - f0 : 7;
		CHECK_EQ_INT(dc_vocos_synth_range(m, mel, T, f0, cnt, part + (size_t)f0 * hop), DC_OK);
	}
	double e = max_diff(part, full, n);
	printf("# chunks of 7 frames vs whole: max abs diff %.3g\n", e);
	CHECK(e <= 1e-6);
	/* a chunk reads only frames [first - k, first + count + k): NaN elsewhere */
	int first = 17, cnt = 5;
	for (int t = 0; t < T; t++)
		for (int i = 0; i < M; i++)
			poison[(size_t)t * M + i] = t >= first - k && t < first + cnt + k ?
			                            mel[(size_t)t * M + i] : NAN;
	CHECK_EQ_INT(dc_vocos_synth_range(m, poison, T, first, cnt, part), DC_OK);
	e = max_diff(part, full + (size_t)first * hop, (size_t)cnt * hop);
	printf("# chunk [%d, %d) from frames [%d, %d) only: max abs diff %.3g\n", first, first + cnt,
	       first - k, first + cnt + k, e);
	CHECK(e <= 1e-6);
	/* streaming: with f frames known, frames [0, f - k) are final */
	int f = 25;
	CHECK_EQ_INT(dc_vocos_synth_range(m, mel, f, 0, f - k, part), DC_OK);
	e = max_diff(part, full, (size_t)(f - k) * hop);
	printf("# streaming, %d of %d frames known, first %d frames: max abs diff %.3g\n", f, T,
	       f - k, e);
	CHECK(e <= 1e-6);
	/* ... but not the frames after them */
	CHECK_EQ_INT(dc_vocos_synth_range(m, mel, f, 0, f, part), DC_OK);
	CHECK(max_diff(part + (size_t)(f - 1) * hop, full + (size_t)(f - 1) * hop, hop) > 1e-3);
	/* bad ranges */
	CHECK_EQ_INT(dc_vocos_synth_range(m, mel, T, -1, 3, part), DC_EINVAL);
	CHECK_EQ_INT(dc_vocos_synth_range(m, mel, T, 0, 0, part), DC_EINVAL);
	CHECK_EQ_INT(dc_vocos_synth_range(m, mel, T, T - 2, 3, part), DC_EINVAL);
	CHECK(strstr(dc_errmsg(), "not within the 40 frames") != NULL);
	CHECK_EQ_INT(dc_vocos_synth_range(m, mel, T, 5, INT32_MAX, part), DC_EINVAL);
	dc_free(full);
	dc_free(part);
	dc_free(poison);
	golden_free(&gm);
	dc_vocos_free(m);
}

/* "center" padding: sample counts, frame-count errors, chunked synthesis */
TEST(center_chunked)
{
	char dir[1200];
	snprintf(dir, sizeof dir, "%s/official", gold);
	struct dc_vocos *m = NULL;
	struct golden gm;
	if (dc_vocos_open(&m, dir) || golden_npy_load(&gm, "vocos/official", "mel")) {
		T_FAILED("open: %s", dc_errmsg());
		dc_vocos_free(m);
		return;
	}
	const struct dc_vocos_config *c = dc_vocos_config(m);
	const int T = (int)gm.t[0].shape[0], M = c->n_mels, hop = c->hop, H = T - 1;
	const int k = dc_vocos_context(m) + c->n_fft / (2 * hop) + 1;
	const float *mel = gm.t[0].data;
	CHECK_EQ_INT(dc_vocos_samples(m, T), (size_t)H * hop);
	CHECK_EQ_INT(dc_vocos_samples(m, 2), (size_t)hop);
	CHECK_EQ_INT(dc_vocos_samples(m, 1), 0);
	CHECK_EQ_INT(dc_vocos_samples(m, 0), 0);
	size_t n = (size_t)H * hop;
	float *full = dc_alloc(n * sizeof(float)), *part = dc_alloc(n * sizeof(float));
	float *poison = dc_alloc((size_t)T * M * sizeof(float));
	part[0] = 42.0f;
	CHECK_EQ_INT(dc_vocos_synth(m, mel, 1, part), DC_EINVAL);
	CHECK(strstr(dc_errmsg(), "needs at least 2") != NULL);
	CHECK_EQ_INT(dc_vocos_synth_range(m, mel, 1, 0, 1, part), DC_EINVAL);
	CHECK(part[0] == 42.0f);
	CHECK_EQ_INT(dc_vocos_synth(m, mel, T, full), DC_OK);
	for (int f0 = 0; f0 < H; f0 += 6) {
		int cnt = H - f0 < 6 ? H - f0 : 6;
		CHECK_EQ_INT(dc_vocos_synth_range(m, mel, T, f0, cnt, part + (size_t)f0 * hop), DC_OK);
	}
	double e = max_diff(part, full, n);
	printf("# center: chunks of 6 hops vs whole: max abs diff %.3g\n", e);
	CHECK(e <= 1e-6);
	int first = 15, cnt = 5;
	for (int t = 0; t < T; t++)
		for (int i = 0; i < M; i++)
			poison[(size_t)t * M + i] = t >= first - k && t < first + cnt + k ?
			                            mel[(size_t)t * M + i] : NAN;
	CHECK_EQ_INT(dc_vocos_synth_range(m, poison, T, first, cnt, part), DC_OK);
	e = max_diff(part, full + (size_t)first * hop, (size_t)cnt * hop);
	printf("# center: hops [%d, %d) from frames [%d, %d) only: max abs diff %.3g\n", first,
	       first + cnt, first - k, first + cnt + k, e);
	CHECK(e <= 1e-6);
	/* the last hop is H - 1: frames - 1 hops in all */
	CHECK_EQ_INT(dc_vocos_synth_range(m, mel, T, H - 1, 1, part), DC_OK);
	CHECK(max_diff(part, full + (size_t)(H - 1) * hop, (size_t)hop) <= 1e-6);
	CHECK_EQ_INT(dc_vocos_synth_range(m, mel, T, H - 1, 2, part), DC_EINVAL);
	CHECK(strstr(dc_errmsg(), "not within the 39 hops of 40 \"center\"-padded frames") != NULL);
	dc_free(full);
	dc_free(part);
	dc_free(poison);
	golden_free(&gm);
	dc_vocos_free(m);
}

/*
 * dir: the official golden's backbone with a zero head (every bin 1 + 0i)
 * of n_fft, "center" padding, hop `hop`.
 */
static int write_zero_head(const char *dir, int n_fft, int hop)
{
	char p[1400], src[1200];
	snprintf(p, sizeof p, "%s/config.json", dir);
	FILE *f = fopen(p, "w");
	if (!f)
		return -1;
	fprintf(f, "{\"model_type\": \"vocos\", \"n_mels\": 100, \"dim\": 48, "
	        "\"intermediate_dim\": 96, \"num_layers\": 2, \"n_fft\": %d, \"hop_length\": %d, "
	        "\"sampling_rate\": 24000, \"padding\": \"center\"}", n_fft, hop);
	fclose(f);
	snprintf(src, sizeof src, "%s/official", gold);
	struct dc_model *m;
	if (dc_model_open(&m, src))
		return -1;
	size_t n = dc_model_count(m), k = 0, O = (size_t)n_fft + 2;
	struct dc_st_write_entry *e = calloc(n, sizeof *e);
	float *zeros = calloc(O * 48, sizeof(float));
	int64_t wsh[2] = { (int64_t)O, 48 }, bsh[1] = { (int64_t)O };
	for (size_t i = 0; i < n; i++) {
		const struct dc_st_tensor *t = dc_model_at(m, i);
		if (!strcmp(t->name, "head.out.weight"))
			e[k++] = (struct dc_st_write_entry){ t->name, DC_F32, 2, wsh, zeros };
		else if (!strcmp(t->name, "head.out.bias"))
			e[k++] = (struct dc_st_write_entry){ t->name, DC_F32, 1, bsh, zeros };
		else
			e[k++] = (struct dc_st_write_entry){ t->name, t->dtype, t->rank, t->shape, t->data };
	}
	snprintf(p, sizeof p, "%s/model.safetensors", dir);
	f = fopen(p, "wb");
	int rc = f && dc_safetensors_write(f, e, k, NULL, 0) == DC_OK ? 0 : -1;
	if (f)
		fclose(f);
	free(e);
	free(zeros);
	dc_model_free(m);
	return rc;
}

/*
 * torch.istft's NOLA check: n_fft 4096, hop 4094, 2 frames: sample 4095
 * of the overlap-add sees only window offsets 4095 and 1, whose squares
 * sum to 2 sin^4(pi/4096) = 6.9e-13 < 1e-11 (torch raises "window overlap
 * add min"); hop 4000 passes (its output is zero: see below).
 */
TEST(center_nola)
{
	char dir[] = "/tmp/vocos_nolaXXXXXX";
	if (!mkdtemp(dir)) {
		T_FAILED("mkdtemp");
		return;
	}
	float mel[2 * 100] = { 0 };
	float *y = dc_alloc(4096 * sizeof(float));
	struct dc_vocos *m = NULL;
	CHECK_EQ_INT(write_zero_head(dir, 4096, 4094), 0);
	if (dc_vocos_open(&m, dir) == DC_OK) {
		CHECK_EQ_INT(dc_vocos_samples(m, 2), 4094);
		CHECK_EQ_INT(dc_vocos_synth(m, mel, 2, y), DC_EINVAL);
		printf("# %s\n", dc_errmsg());
		CHECK(strstr(dc_errmsg(), "below 1e-11") != NULL);
	} else {
		T_FAILED("open: %s", dc_errmsg());
	}
	dc_vocos_free(m);
	m = NULL;
	CHECK_EQ_INT(write_zero_head(dir, 4096, 4000), 0);
	if (dc_vocos_open(&m, dir) == DC_OK) {
		CHECK_EQ_INT(dc_vocos_synth(m, mel, 2, y), DC_OK);
		/* irfft(all ones) is a unit impulse at sample 0, where the window is 0 */
		double mx = 0;
		for (int i = 0; i < 4000; i++)
			mx = fabs(y[i]) > mx ? fabs(y[i]) : mx;
		CHECK(mx < 1e-6);
	} else {
		T_FAILED("open: %s", dc_errmsg());
	}
	dc_vocos_free(m);
	dc_free(y);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
	snprintf(gold, sizeof gold, "%s/tests/golden/vocos", top_dir());
	RUN(parity_small_f32);
	RUN(parity_default_geometry_bf16);
	RUN(parity_official_center);
	RUN(center_chunked);
	RUN(center_nola);
	RUN(naive_reference);
	RUN(chunked_and_streaming);
	RUN(bad_files);
	RUN(bad_frames);
	return test_summary();
}
