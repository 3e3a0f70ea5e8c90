/*
 * dlinear.c - DLinear and NLinear (Zeng et al., "Are Transformers Effective
 * for Time Series Forecasting?"), as Time-Series-Library models/DLinear.py
 * and LTSF-Linear models/NLinear.py, with individual=False (one linear map
 * along time shared by all channels).
 *
 * DLinear: trend = moving average of x over `moving_avg` (25) steps with
 * the first/last value repeated (k-1)/2 times at each end (TSLib
 * series_decomp), seasonal = x - trend, and
 *   y = Linear_Seasonal(seasonal) + Linear_Trend(trend)   along time, per channel.
 * Both maps are linear in x, so the forward pass folds them into one
 * H x L matrix  W = Ws (I - A) + Wt A  (A the L x L moving-average
 * operator) and one GEMM over the B*C series; backward computes dW from one
 * GEMM and unfolds it: dWs = dW (I - A)^T, dWt = dW A^T; both biases get
 * the sum of dy.
 *
 * NLinear: y = Linear(x - x[L-1]) + x[L-1] per channel.
 *
 * Parameters (reference state_dict names):
 *   DLinear  Linear_Seasonal.weight [H][L], Linear_Seasonal.bias [H],
 *            Linear_Trend.weight [H][L],    Linear_Trend.bias [H]
 *   NLinear  Linear.weight [H][L], Linear.bias [H]
 * Initialisation as the reference: DLinear weights 1/L (TSLib overrides
 * them), biases and NLinear's weight U(-1/sqrt(L), 1/sqrt(L)).
 * Hyperparameters: moving_avg (odd, default 25), individual (false only).
 */
#include "fc_encoder.h"
#include "forecast.h"
#include "../ops/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct lin_state {
	int kind;          /* 0 DLinear, 1 NLinear */
	int kernel;        /* moving average window (DLinear) */
	int cap_b;         /* batch capacity of the buffers */
	float *w_eff;      /* [H][L] folded weight */
	float *b_eff;      /* [H] */
	float *xt;         /* [B*C][L] series (NLinear: minus the last value) */
	float *yt;         /* [B*C][H] */
	float *dw;         /* [H][L] */
	int cached_b;      /* batch of the cached forward (train), 0 if none */
};

/* out[H][L] = M[H][L] . A  (scatter each M[h][l]/k onto clamp(l+j)). */
static void times_avg(float *out, const float *Mx, int H, int L, int k)
{
	int p = (k - 1) / 2;
	float inv = 1.0f / (float)k;
	memset(out, 0, (size_t)H * (size_t)L * sizeof *out);
	for (int h = 0; h < H; h++) {
		const float *m = Mx + (size_t)h * (size_t)L;
		float *o = out + (size_t)h * (size_t)L;
		for (int l = 0; l < L; l++) {
			float v = m[l] * inv;
			for (int j = -p; j <= p; j++) {
				int t = l + j;
				t = t < 0 ? 0 : t >= L ? L - 1 : t;
				o[t] += v;
			}
		}
	}
}

/* out[H][L] = D[H][L] . A^T : the moving average of each row. */
static void times_avg_t(float *out, const float *D, int H, int L, int k)
{
	int p = (k - 1) / 2;
	float inv = 1.0f / (float)k;
	for (int h = 0; h < H; h++) {
		const float *d = D + (size_t)h * (size_t)L;
		float *o = out + (size_t)h * (size_t)L;
		for (int l = 0; l < L; l++) {
			float s = 0;
			for (int j = -p; j <= p; j++) {
				int t = l + j;
				s += d[t < 0 ? 0 : t >= L ? L - 1 : t];
			}
			o[l] = s * inv;
		}
	}
}

static void lin_release(struct dc_forecaster *f)
{
	struct lin_state *s = f->state;
	if (!s)
		return;
	dc_free(s->w_eff);
	dc_free(s->b_eff);
	dc_free(s->xt);
	dc_free(s->yt);
	dc_free(s->dw);
	free(s);
	f->state = NULL;
}

static enum dc_status lin_init(struct dc_forecaster *f, const struct dc_config *hp, uint64_t seed, int kind)
{
	int L = f->dims.seq_len, H = f->dims.pred_len;
	int64_t k = 25;
	int indiv = 0;
	if (kind == 0 && dc_config_has(hp, "moving_avg") && dc_config_int(hp, "moving_avg", &k))
		return dc_fail(DC_EINVAL, "moving_avg: %s", dc_errmsg());
	enum dc_status st = fc_hp_flag(hp, "individual", 0, &indiv);
	if (st)
		return st;
	if (indiv)
		return dc_fail(DC_EUNSUPPORTED, "individual=true (one linear map per channel) is not supported");
	if (kind == 0 && (k < 1 || k % 2 == 0 || k > 100001))
		return dc_fail(DC_EINVAL, "moving_avg must be odd and positive, got %lld", (long long)k);
	struct lin_state *s = calloc(1, sizeof *s);
	if (!s)
		return dc_fail(DC_ENOMEM, "out of memory");
	f->state = s;
	s->kind = kind;
	s->kernel = (int)k;
	int64_t wshape[2] = { H, L }, bshape[1] = { H };
	const char *names[2][4] = { { "Linear_Seasonal.weight", "Linear_Seasonal.bias", "Linear_Trend.weight",
		                      "Linear_Trend.bias" },
		                    { "Linear.weight", "Linear.bias", NULL, NULL } };
	int nlin = kind == 0 ? 2 : 1;
	for (int i = 0; i < nlin; i++)
		if (dc_fc_add_tensor(f, names[kind][2 * i], 2, wshape) == (size_t)-1 ||
		    dc_fc_add_tensor(f, names[kind][2 * i + 1], 1, bshape) == (size_t)-1)
			return dc_fail(DC_EOVERFLOW, "model too large");
	st = dc_fc_alloc_params(f);
	if (st)
		return st;
	size_t hl = (size_t)H * (size_t)L;
	float bound = 1.0f / sqrtf((float)L);
	for (int i = 0; i < nlin; i++) {
		float *w = dc_fc_param(f, names[kind][2 * i]);
		float *b = dc_fc_param(f, names[kind][2 * i + 1]);
		if (kind == 0)
			for (size_t j = 0; j < hl; j++)
				w[j] = 1.0f / (float)L;
		else
			dc_fc_init_uniform(w, hl, bound, seed, 2 * (uint64_t)i);
		dc_fc_init_uniform(b, (size_t)H, bound, seed, 2 * (uint64_t)i + 1);
	}
	s->w_eff = dc_alloc(hl * sizeof(float));
	s->b_eff = dc_alloc((size_t)H * sizeof(float));
	s->dw = dc_alloc(hl * sizeof(float));
	if (!s->w_eff || !s->b_eff || !s->dw)
		return dc_fail(DC_ENOMEM, "out of memory");
	return DC_OK;
}

static enum dc_status dlinear_init(struct dc_forecaster *f, const struct dc_config *hp, uint64_t seed)
{
	return lin_init(f, hp, seed, 0);
}

static enum dc_status nlinear_init(struct dc_forecaster *f, const struct dc_config *hp, uint64_t seed)
{
	return lin_init(f, hp, seed, 1);
}

/* Threads for a GEMM of m*n*k multiply-adds: below ~8M the fork/join costs
 * more than it saves (and oversubscribed machines make it much worse). */
static int gemm_threads(int m, int n, int k)
{
	return (double)m * n * k < 8e6 ? 1 : 0;
}

static enum dc_status ensure_batch(struct lin_state *s, int B, int C, int L, int H)
{
	if (B <= s->cap_b)
		return DC_OK;
	size_t n, m;
	if (dc_mul_size((size_t)B * (size_t)C, (size_t)L, &n) || dc_mul_size((size_t)B * (size_t)C, (size_t)H, &m))
		return dc_fail(DC_EOVERFLOW, "batch too large");
	dc_free(s->xt);
	dc_free(s->yt);
	s->xt = dc_alloc(n * sizeof(float));
	s->yt = dc_alloc(m * sizeof(float));
	s->cap_b = 0;
	if (!s->xt || !s->yt)
		return dc_fail(DC_ENOMEM, "cannot allocate a batch of %d", B);
	s->cap_b = B;
	return DC_OK;
}

/*
 * x[B][L][C] -> y[B][H][C].  Shapes inside: xt[B*C][L] . W^T[L][H] = yt[B*C][H].
 */
static enum dc_status lin_forward(struct dc_forecaster *f, int B, const float *x, const float *x_mark,
                                  const float *y_mark, float *y, int train, uint64_t seed)
{
	struct lin_state *s = f->state;
	int L = f->dims.seq_len, H = f->dims.pred_len, C = f->dims.n_vars;
	size_t hl = (size_t)H * (size_t)L;
	enum dc_status st = ensure_batch(s, B, C, L, H);
	if (st)
		return st;
	if (s->kind == 0) {
		const float *ws = dc_fc_param(f, "Linear_Seasonal.weight"), *bs = dc_fc_param(f, "Linear_Seasonal.bias");
		const float *wt = dc_fc_param(f, "Linear_Trend.weight"), *bt = dc_fc_param(f, "Linear_Trend.bias");
		/* W = Ws + (Wt - Ws) A */
		float *diff = s->dw; /* scratch */
		for (size_t i = 0; i < hl; i++)
			diff[i] = wt[i] - ws[i];
		times_avg(s->w_eff, diff, H, L, s->kernel);
		for (size_t i = 0; i < hl; i++)
			s->w_eff[i] += ws[i];
		for (int h = 0; h < H; h++)
			s->b_eff[h] = bs[h] + bt[h];
	} else {
		memcpy(s->w_eff, dc_fc_param(f, "Linear.weight"), hl * sizeof(float));
		memcpy(s->b_eff, dc_fc_param(f, "Linear.bias"), (size_t)H * sizeof(float));
	}
	/* transpose to series-major; NLinear subtracts the last value */
	for (int b = 0; b < B; b++)
		for (int c = 0; c < C; c++) {
			const float *xb = x + (size_t)b * (size_t)L * (size_t)C + (size_t)c;
			float *o = s->xt + ((size_t)b * (size_t)C + (size_t)c) * (size_t)L;
			float last = s->kind == 1 ? xb[(size_t)(L - 1) * (size_t)C] : 0.0f;
			for (int l = 0; l < L; l++)
				o[l] = xb[(size_t)l * (size_t)C] - last;
		}
	int N = B * C;
	for (int n = 0; n < N; n++)
		memcpy(s->yt + (size_t)n * (size_t)H, s->b_eff, (size_t)H * sizeof(float));
	dc_sgemm(0, 1, N, H, L, 1.0f, s->xt, L, s->w_eff, L, 1.0f, s->yt, H, gemm_threads(N, H, L));
	for (int b = 0; b < B; b++)
		for (int c = 0; c < C; c++) {
			const float *yr = s->yt + ((size_t)b * (size_t)C + (size_t)c) * (size_t)H;
			float last = s->kind == 1 ? x[((size_t)b * (size_t)L + (size_t)(L - 1)) * (size_t)C + (size_t)c] : 0.0f;
			for (int h = 0; h < H; h++)
				y[((size_t)b * (size_t)H + (size_t)h) * (size_t)C + (size_t)c] = yr[h] + last;
		}
	s->cached_b = train ? B : 0;
	return DC_OK;
}

static enum dc_status lin_backward(struct dc_forecaster *f, int B, const float *dy)
{
	struct lin_state *s = f->state;
	int L = f->dims.seq_len, H = f->dims.pred_len, C = f->dims.n_vars;
	if (s->cached_b != B)
		return dc_fail(DC_EINVAL, "backward without a matching training forward (batch %d)", B);
	size_t hl = (size_t)H * (size_t)L;
	int N = B * C;
	/* dyt[N][H] into yt (the forward output is no longer needed) */
	for (int b = 0; b < B; b++)
		for (int c = 0; c < C; c++) {
			float *o = s->yt + ((size_t)b * (size_t)C + (size_t)c) * (size_t)H;
			for (int h = 0; h < H; h++)
				o[h] = dy[((size_t)b * (size_t)H + (size_t)h) * (size_t)C + (size_t)c];
		}
	/* dW[H][L] = dyt^T . xt ; db[H] = column sums of dyt */
	dc_sgemm(1, 0, H, L, N, 1.0f, s->yt, H, s->xt, L, 0.0f, s->dw, L, gemm_threads(H, L, N));
	float *db = s->b_eff; /* scratch */
	for (int h = 0; h < H; h++) {
		double acc = 0;
		for (int n = 0; n < N; n++)
			acc += s->yt[(size_t)n * (size_t)H + (size_t)h];
		db[h] = (float)acc;
	}
	if (s->kind == 0) {
		float *gws = dc_fc_grad(f, "Linear_Seasonal.weight"), *gbs = dc_fc_grad(f, "Linear_Seasonal.bias");
		float *gwt = dc_fc_grad(f, "Linear_Trend.weight"), *gbt = dc_fc_grad(f, "Linear_Trend.bias");
		float *dwa = s->w_eff; /* scratch: dW A^T */
		times_avg_t(dwa, s->dw, H, L, s->kernel);
		for (size_t i = 0; i < hl; i++) {
			gws[i] += s->dw[i] - dwa[i];
			gwt[i] += dwa[i];
		}
		for (int h = 0; h < H; h++) {
			gbs[h] += db[h];
			gbt[h] += db[h];
		}
	} else {
		float *gw = dc_fc_grad(f, "Linear.weight"), *gb = dc_fc_grad(f, "Linear.bias");
		for (size_t i = 0; i < hl; i++)
			gw[i] += s->dw[i];
		for (int h = 0; h < H; h++)
			gb[h] += db[h];
	}
	s->cached_b = 0;
	return DC_OK;
}

static const char *const dlinear_keys[] = { "moving_avg", "individual", NULL };
static const char *const nlinear_keys[] = { "individual", NULL };

const struct dc_fc_model dc_fc_dlinear = {
	.name = "DLinear",
	.uses_marks = 0,
	.uses_decoder = 0,
	.hp_keys = dlinear_keys,
	.init = dlinear_init,
	.forward = lin_forward,
	.backward = lin_backward,
	.release = lin_release,
};

const struct dc_fc_model dc_fc_nlinear = {
	.name = "NLinear",
	.uses_marks = 0,
	.uses_decoder = 0,
	.hp_keys = nlinear_keys,
	.init = nlinear_init,
	.forward = lin_forward,
	.backward = lin_backward,
	.release = lin_release,
};
