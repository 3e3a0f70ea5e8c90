/*
 * test_dlinear.c - DLinear and NLinear (lib/models/dlinear.c): forward and
 * parameter gradients against Time-Series-Library's DLinear and
 * LTSF-Linear's NLinear run in torch (tests/golden/make_dlinear.py, files
 * in tests/golden/dlinear/), backward against central finite differences
 * in double precision, initialisation as the reference, and the registry.
 * Tolerance: float32 vs the float64 reference, 2e-5 absolute + 1e-4 relative.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/npy.h"
#include "models/forecast.h"
#include "test.h"

extern const struct dc_fc_model dc_fc_dlinear, dc_fc_nlinear;

#define MAXT 16
struct golden {
	int n;
	struct dc_tensor t[MAXT];
};

static int golden_load(struct golden *g, const char *name)
{
	char path[1024];
	const char *top = getenv("DC_TOP");
	snprintf(path, sizeof path, "%s/tests/golden/dlinear/%s.npy", top ? top : ".", name);
	memset(g, 0, sizeof *g);
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		printf("#   cannot open %s\n", path);
		return -1;
	}
	while (g->n < MAXT) {
		enum dc_status st = dc_npy_read(fp, &g->t[g->n]);
		if (st == DC_EEOF)
			break;
		if (st) {
			fclose(fp);
			return -1;
		}
		g->n++;
	}
	fclose(fp);
	return 0;
}

static void golden_free(struct golden *g)
{
	for (int i = 0; i < g->n; i++)
		dc_tensor_release(&g->t[i]);
}

static float *F(struct golden *g, int i) { return g->t[i].data; }

static struct dc_config *config(const char *json)
{
	struct dc_config *c = NULL;
	if (dc_config_parse(&c, json, strlen(json)))
		return NULL;
	return c;
}

static void check_dlinear(const char *name)
{
	struct golden g;
	if (golden_load(&g, name)) {
		CHECK(0);
		return;
	}
	const int32_t *d = g.t[0].data;
	int B = d[0], L = d[1], H = d[2], C = d[3], k = d[4];
	char js[64];
	snprintf(js, sizeof js, "{\"moving_avg\": %d}", k);
	struct dc_config *hp = config(js);
	struct dc_fc_dims dims = { L, 0, H, C, 0 };
	struct dc_forecaster f;
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_dlinear, &dims, hp, 1), DC_OK);
	CHECK_EQ_INT(f.n_tensors, 4);
	memcpy(dc_fc_param(&f, "Linear_Seasonal.weight"), F(&g, 2), (size_t)H * L * 4);
	memcpy(dc_fc_param(&f, "Linear_Seasonal.bias"), F(&g, 3), (size_t)H * 4);
	memcpy(dc_fc_param(&f, "Linear_Trend.weight"), F(&g, 4), (size_t)H * L * 4);
	memcpy(dc_fc_param(&f, "Linear_Trend.bias"), F(&g, 5), (size_t)H * 4);
	float *y = malloc((size_t)B * H * C * 4);
	CHECK_EQ_INT(f.kind->forward(&f, B, F(&g, 1), NULL, NULL, y, 1, 0), DC_OK);
	CHECK_CLOSE(y, F(&g, 6), (size_t)B * H * C, 2e-5, 1e-4);
	dc_fc_zero_grad(&f);
	CHECK_EQ_INT(f.kind->backward(&f, B, F(&g, 7)), DC_OK);
	CHECK_CLOSE(dc_fc_grad(&f, "Linear_Seasonal.weight"), F(&g, 8), (size_t)H * L, 2e-5, 1e-4);
	CHECK_CLOSE(dc_fc_grad(&f, "Linear_Seasonal.bias"), F(&g, 9), (size_t)H, 2e-5, 1e-4);
	CHECK_CLOSE(dc_fc_grad(&f, "Linear_Trend.weight"), F(&g, 10), (size_t)H * L, 2e-5, 1e-4);
	CHECK_CLOSE(dc_fc_grad(&f, "Linear_Trend.bias"), F(&g, 11), (size_t)H, 2e-5, 1e-4);
	/* gradients accumulate */
	CHECK_EQ_INT(f.kind->forward(&f, B, F(&g, 1), NULL, NULL, y, 1, 0), DC_OK);
	CHECK_EQ_INT(f.kind->backward(&f, B, F(&g, 7)), DC_OK);
	float *twice = malloc((size_t)H * 4);
	for (int h = 0; h < H; h++)
		twice[h] = 2 * F(&g, 11)[h];
	CHECK_CLOSE(dc_fc_grad(&f, "Linear_Trend.bias"), twice, (size_t)H, 4e-5, 1e-4);
	/* backward without a training forward is refused */
	CHECK_EQ_INT(f.kind->forward(&f, B, F(&g, 1), NULL, NULL, y, 0, 0), DC_OK);
	CHECK(f.kind->backward(&f, B, F(&g, 7)) != DC_OK);
	free(twice);
	free(y);
	dc_fc_release(&f);
	dc_config_free(hp);
	golden_free(&g);
}

TEST(dlinear_forward_backward_vs_tslib_k5) { check_dlinear("dlinear_a"); }
TEST(dlinear_forward_backward_vs_tslib_k25_kernel_longer_than_input) { check_dlinear("dlinear_b"); }

TEST(nlinear_forward_backward_vs_ltsf_linear)
{
	struct golden g;
	if (golden_load(&g, "nlinear")) {
		CHECK(0);
		return;
	}
	const int32_t *d = g.t[0].data;
	int B = d[0], L = d[1], H = d[2], C = d[3];
	struct dc_fc_dims dims = { L, 0, H, C, 0 };
	struct dc_forecaster f;
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_nlinear, &dims, NULL, 1), DC_OK);
	CHECK_EQ_INT(f.n_tensors, 2);
	memcpy(dc_fc_param(&f, "Linear.weight"), F(&g, 2), (size_t)H * L * 4);
	memcpy(dc_fc_param(&f, "Linear.bias"), F(&g, 3), (size_t)H * 4);
	float *y = malloc((size_t)B * H * C * 4);
	CHECK_EQ_INT(f.kind->forward(&f, B, F(&g, 1), NULL, NULL, y, 1, 0), DC_OK);
	CHECK_CLOSE(y, F(&g, 4), (size_t)B * H * C, 2e-5, 1e-4);
	dc_fc_zero_grad(&f);
	CHECK_EQ_INT(f.kind->backward(&f, B, F(&g, 5)), DC_OK);
	CHECK_CLOSE(dc_fc_grad(&f, "Linear.weight"), F(&g, 6), (size_t)H * L, 2e-5, 1e-4);
	CHECK_CLOSE(dc_fc_grad(&f, "Linear.bias"), F(&g, 7), (size_t)H, 2e-5, 1e-4);
	free(y);
	dc_fc_release(&f);
	golden_free(&g);
}

/* loss = sum(y * g) in double from the float forward, for finite differences */
static double loss_at(struct dc_forecaster *f, int B, const float *x, const float *gy, float *y)
{
	f->kind->forward(f, B, x, NULL, NULL, y, 0, 0);
	double s = 0;
	size_t n = (size_t)B * f->dims.pred_len * f->dims.n_vars;
	for (size_t i = 0; i < n; i++)
		s += (double)y[i] * gy[i];
	return s;
}

/* Central differences on every parameter (small dims; the model is linear
 * in its parameters, so the difference is exact up to rounding). */
static void fd_check(const struct dc_fc_model *kind, const char *hpjs)
{
	int B = 2, L = 11, H = 4, C = 3;
	struct dc_config *hp = hpjs ? config(hpjs) : NULL;
	struct dc_fc_dims dims = { L, 0, H, C, 0 };
	struct dc_forecaster f;
	CHECK_EQ_INT(dc_fc_create(&f, kind, &dims, hp, 3), DC_OK);
	size_t nx = (size_t)B * L * C, ny = (size_t)B * H * C;
	float *x = malloc(nx * 4), *gy = malloc(ny * 4), *y = malloc(ny * 4);
	dc_rng_normal(9, 0, 0, x, nx);
	dc_rng_normal(9, 1, 0, gy, ny);
	dc_rng_normal(9, 2, 0, f.params, f.n_params);
	dc_fc_zero_grad(&f);
	f.kind->forward(&f, B, x, NULL, NULL, y, 1, 0);
	CHECK_EQ_INT(f.kind->backward(&f, B, gy), DC_OK);
	double worst = 0;
	for (int t = 0; t < f.n_tensors; t++) {
		size_t n;
		dc_shape_numel(f.tensors[t].rank, f.tensors[t].shape, &n);
		for (size_t i = 0; i < n; i++) {
			float *p = f.params + f.tensors[t].offset + i, p0 = *p;
			float e = 1e-2f;
			*p = p0 + e;
			double lp = loss_at(&f, B, x, gy, y);
			*p = p0 - e;
			double lm = loss_at(&f, B, x, gy, y);
			*p = p0;
			double fd = (lp - lm) / (2.0 * e), an = f.grads[f.tensors[t].offset + i];
			double err = fabs(fd - an) / (1 + fabs(fd));
			if (err > worst)
				worst = err;
		}
	}
	printf("#   %s: worst finite-difference error %.2e\n", kind->name, worst);
	CHECK(worst < 2e-3);
	/* and a wrong gradient would be caught: perturb one and re-check */
	f.grads[0] += 0.5f;
	float *p = f.params, p0 = *p;
	*p = p0 + 1e-2f;
	double lp = loss_at(&f, B, x, gy, y);
	*p = p0 - 1e-2f;
	double lm = loss_at(&f, B, x, gy, y);
	*p = p0;
	CHECK(fabs((lp - lm) / 2e-2 - f.grads[0]) > 0.1);
	free(x);
	free(gy);
	free(y);
	dc_fc_release(&f);
	dc_config_free(hp);
}

TEST(dlinear_backward_finite_differences) { fd_check(&dc_fc_dlinear, "{\"moving_avg\": 5}"); }
TEST(nlinear_backward_finite_differences) { fd_check(&dc_fc_nlinear, NULL); }

TEST(init_as_reference_and_hyperparameters)
{
	struct dc_fc_dims dims = { 96, 48, 24, 7, 4 };
	struct dc_forecaster f;
	CHECK_EQ_INT(dc_fc_create(&f, &dc_fc_dlinear, &dims, NULL, 2021), DC_OK);
	CHECK_EQ_INT(f.n_tensors, 4);
	const float *w = dc_fc_param(&f, "Linear_Trend.weight"), *b = dc_fc_param(&f, "Linear_Trend.bias");
	CHECK(fabsf(w[0] - 1.0f / 96) < 1e-9f && fabsf(w[24 * 96 - 1] - 1.0f / 96) < 1e-9f);
	float bound = 1 / sqrtf(96), mx = 0;
	for (int h = 0; h < 24; h++)
		mx = fmaxf(mx, fabsf(b[h]));
	CHECK(mx > 0 && mx <= bound);
	dc_fc_release(&f);
	struct dc_config *even = config("{\"moving_avg\": 24}"), *ind = config("{\"individual\": true}");
	CHECK(dc_fc_create(&f, &dc_fc_dlinear, &dims, even, 1) == DC_EINVAL);
	CHECK(dc_fc_create(&f, &dc_fc_dlinear, &dims, ind, 1) == DC_EUNSUPPORTED);
	dc_config_free(even);
	dc_config_free(ind);
	CHECK(dc_fc_model_find("dlinear") == &dc_fc_dlinear);
	CHECK(dc_fc_model_find("NLINEAR") == &dc_fc_nlinear);
	CHECK(dc_fc_model_find("nope") == NULL);
}

/* ts-forecast refuses a --set key not in the model's hp_keys, so the list
 * must be exactly what init reads: a value of no JSON type a getter takes
 * ([1]) fails init for every listed key and for no other key any model
 * lists. */
TEST(every_models_hp_keys_are_the_keys_its_init_reads)
{
	struct dc_fc_dims dims = { 24, 12, 8, 3, 4 };
	const struct dc_fc_model *k, *o;
	int n = 0;
	for (int i = 0; (k = dc_fc_model_at(i)); i++) {
		struct dc_forecaster f;
		CHECK(k->hp_keys && k->hp_keys[0]);
		CHECK_EQ_INT(dc_fc_create(&f, k, &dims, NULL, 1), DC_OK);
		dc_fc_release(&f);
		for (int j = 0; (o = dc_fc_model_at(j)); j++)
			for (const char *const *key = o->hp_keys; key && *key; key++) {
				char json[96];
				snprintf(json, sizeof json, "{\"%s\": [1]}", *key);
				struct dc_config *c = config(json);
				enum dc_status st = dc_fc_create(&f, k, &dims, c, 1);
				if (st == DC_OK)
					dc_fc_release(&f);
				if ((st != DC_OK) != dc_fc_model_has_hp(k, *key))
					T_FAILED("%s, %s = [1]: init %s", k->name, *key, st ? "fails" : "succeeds");
				dc_config_free(c);
				n++;
			}
	}
	CHECK(n >= 6 * 9);
	CHECK(dc_fc_model_has_hp(&dc_fc_dlinear, "moving_avg") && !dc_fc_model_has_hp(&dc_fc_nlinear, "moving_avg"));
}

int main(void)
{
	RUN(dlinear_forward_backward_vs_tslib_k5);
	RUN(dlinear_forward_backward_vs_tslib_k25_kernel_longer_than_input);
	RUN(nlinear_forward_backward_vs_ltsf_linear);
	RUN(dlinear_backward_finite_differences);
	RUN(nlinear_backward_finite_differences);
	RUN(init_as_reference_and_hyperparameters);
	RUN(every_models_hp_keys_are_the_keys_its_init_reads);
	return test_summary();
}
