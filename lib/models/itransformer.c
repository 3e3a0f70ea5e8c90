/*
 * itransformer.c - iTransformer (Liu et al., ICLR 2024) as in
 * Time-Series-Library models/iTransformer.py, forward and backward.
 *
 *   x[B][L][C] --instance norm (mean, sqrt(var+1e-5) over time)--> xn
 *   tokens: each variate's whole series xn[:, :, c] (C tokens) and each
 *   time-feature series x_mark[:, :, m] (M tokens): T = C + M tokens of
 *   length L  --enc_embedding.value_embedding Linear(L, d)--> dropout
 *   --> e_layers x EncoderLayer (full attention over the T tokens, post-LN,
 *   Conv1d(k=1) GELU FFN) --> encoder.norm LayerNorm --> projection
 *   Linear(d, H) --> first C tokens, transposed to [B][H][C] --> de-norm.
 *
 * Hyperparameters (TSLib names): d_model, d_ff, n_heads (8), e_layers (2),
 * dropout (0.1), activation ("gelu").  Defaults for d_model and d_ff follow
 * the authors' ETTh1 script (scripts/multivariate_forecasting/ETT/
 * iTransformer_ETTh1.sh): d_model = 256 for pred_len <= 192, 512 beyond;
 * d_ff = d_model (as in all of the authors' scripts).  Tensors carry
 * TSLib's state_dict names and shapes.
 *
 * Dropout streams: 0 embedding, 16 + 8*l (.. +3) encoder layer l.
 * Activations for backward are kept for the largest batch seen.
 */
#include "forecast.h"
#include "fc_encoder.h"

#include <stdlib.h>
#include <string.h>

#define IT_MAX_LAYERS 16

struct it_state {
	int d, F, H, E, relu;
	float p;
	int T;                               /* tokens: C + M */
	size_t off_we, off_be, off_nw, off_nb, off_pw, off_pb;
	size_t off_enc[IT_MAX_LAYERS][FC_ENC_NT];
	/* activations for batch capacity bcap */
	int bcap, last_b, last_train;
	uint64_t last_seed;
	float *mem, *wmem;
	float *xn, *mean, *std, *tin, *emb, *z, *fmean, *frstd, *proj;
	struct dc_nn_enc_cache cache[IT_MAX_LAYERS];
	struct dc_nn_enc_work work;
	float *dproj, *dz, *dlast;
};

static size_t a16(size_t n) { return (n + 15) & ~(size_t)15; }

static struct dc_nn_enc_shape it_shape(const struct dc_forecaster *f, int B)
{
	const struct it_state *s = f->state;
	struct dc_nn_enc_shape sh = { B, s->T, s->d, s->H, s->F, s->p, s->relu };
	return sh;
}

static enum dc_status it_init(struct dc_forecaster *f, const struct dc_config *hp, uint64_t seed)
{
	struct it_state *s = calloc(1, sizeof *s);
	if (!s)
		return dc_fail(DC_ENOMEM, "out of memory");
	f->state = s;
	int L = f->dims.seq_len, H = f->dims.pred_len;
	int dm_def = H <= 192 ? 256 : 512;
	enum dc_status st;
	if ((st = fc_hp_int(hp, "d_model", dm_def, 1, 65536, &s->d)) ||
	    (st = fc_hp_int(hp, "d_ff", s->d, 1, 1 << 20, &s->F)) ||
	    (st = fc_hp_int(hp, "n_heads", 8, 1, 1024, &s->H)) ||
	    (st = fc_hp_int(hp, "e_layers", 2, 1, IT_MAX_LAYERS, &s->E)) ||
	    (st = fc_hp_float(hp, "dropout", 0.1, 0.0, 0.99, &s->p)) ||
	    (st = fc_hp_relu(hp, &s->relu)))
		return st;
	if (s->d % s->H)
		return dc_fail(DC_EINVAL, "d_model %d is not a multiple of n_heads %d", s->d, s->H);
	s->T = f->dims.n_vars + f->dims.n_marks;
	int d = s->d;
	int64_t sh[2];
	sh[0] = d; sh[1] = L;
	s->off_we = dc_fc_add_tensor(f, "enc_embedding.value_embedding.weight", 2, sh);
	s->off_be = dc_fc_add_tensor(f, "enc_embedding.value_embedding.bias", 1, sh);
	for (int l = 0; l < s->E; l++)
		if ((st = fc_enc_add(f, l, d, s->F, s->off_enc[l])))
			return st;
	s->off_nw = dc_fc_add_tensor(f, "encoder.norm.weight", 1, sh);
	s->off_nb = dc_fc_add_tensor(f, "encoder.norm.bias", 1, sh);
	sh[0] = H; sh[1] = d;
	s->off_pw = dc_fc_add_tensor(f, "projection.weight", 2, sh);
	s->off_pb = dc_fc_add_tensor(f, "projection.bias", 1, sh);
	if (s->off_we == (size_t)-1 || s->off_pb == (size_t)-1)
		return dc_fail(DC_ELIMIT, "too many tensors");
	if ((st = dc_fc_alloc_params(f)))
		return st;
	float *P = f->params;
	dc_fc_init_uniform(P + s->off_we, (size_t)d * L, 1.0f / sqrtf((float)L), seed, 1);
	dc_fc_init_uniform(P + s->off_be, (size_t)d, 1.0f / sqrtf((float)L), seed, 2);
	for (int l = 0; l < s->E; l++)
		fc_enc_init(P, s->off_enc[l], d, s->F, seed, 16 + 16 * (uint64_t)l);
	for (int c = 0; c < d; c++) {
		P[s->off_nw + c] = 1.0f;
		P[s->off_nb + c] = 0.0f;
	}
	dc_fc_init_uniform(P + s->off_pw, (size_t)H * d, 1.0f / sqrtf((float)d), seed, 3);
	dc_fc_init_uniform(P + s->off_pb, (size_t)H, 1.0f / sqrtf((float)d), seed, 4);
	return DC_OK;
}

/* (Re)allocate activations for B samples and bind the pointers for B. */
static enum dc_status it_reserve(struct dc_forecaster *f, int B)
{
	struct it_state *s = f->state;
	int L = f->dims.seq_len, C = f->dims.n_vars, Hp = f->dims.pred_len;
	struct dc_nn_enc_shape sh = it_shape(f, B);
	size_t R = (size_t)B * s->T;
	size_t cf = dc_nn_enc_cache_floats(&sh), wf = dc_nn_enc_work_floats(&sh);
	if (!cf || !wf || R > ((size_t)1 << 40) / (size_t)(L + 3 * s->d + Hp + 64))
		return dc_fail(DC_EOVERFLOW, "batch of %d is too large", B);
	size_t need = a16((size_t)B * L * C) + 2 * a16((size_t)B * C) + a16(R * L) + 2 * a16(R * s->d) +
	              2 * a16(R) + a16(R * Hp) + (size_t)s->E * a16(cf);
	size_t wneed = a16(wf) + a16(R * Hp) + 2 * a16(R * s->d);
	if (B > s->bcap) {
		float *m = dc_alloc(need * sizeof(float)), *w = dc_alloc(wneed * sizeof(float));
		if (!m || !w) {
			dc_free(m);
			dc_free(w);
			return dc_fail(DC_ENOMEM, "cannot allocate activations for a batch of %d", B);
		}
		dc_free(s->mem);
		dc_free(s->wmem);
		s->mem = m;
		s->wmem = w;
		s->bcap = B;
	}
	float *m = s->mem;
	s->xn = m; m += a16((size_t)B * L * C);
	s->mean = m; m += a16((size_t)B * C);
	s->std = m; m += a16((size_t)B * C);
	s->tin = m; m += a16(R * L);
	s->emb = m; m += a16(R * s->d);
	s->z = m; m += a16(R * s->d);
	s->fmean = m; m += a16(R);
	s->frstd = m; m += a16(R);
	s->proj = m; m += a16(R * Hp);
	for (int l = 0; l < s->E; l++, m += a16(cf))
		dc_nn_enc_cache_bind(&s->cache[l], m, &sh);
	float *w = s->wmem;
	dc_nn_enc_work_bind(&s->work, w, &sh);
	w += a16(wf);
	s->dproj = w; w += a16(R * Hp);
	s->dz = w; w += a16(R * s->d);
	s->dlast = w;
	return DC_OK;
}

static enum dc_status it_forward(struct dc_forecaster *f, int B, const float *x, const float *x_mark,
                                 const float *y_mark, float *y, int train, uint64_t seed)
{
	struct it_state *s = f->state;
	int L = f->dims.seq_len, C = f->dims.n_vars, M = f->dims.n_marks, Hp = f->dims.pred_len;
	int T = s->T, d = s->d;
	if (B <= 0)
		return dc_fail(DC_EINVAL, "batch size %d", B);
	if (M > 0 && !x_mark)
		return dc_fail(DC_EINVAL, "iTransformer needs the time features x_mark");
	enum dc_status st = it_reserve(f, B);
	if (st)
		return st;
	const float *P = f->params;
	int R = B * T;
	// instance normalisation
	dc_nn_revin_forward(s->xn, s->mean, s->std, x, B, L, C, 1e-5f);
	// tokens: tin[b*T + c][t] = xn[b][t][c]; tin[b*T + C + m][t] = x_mark[b][t][m]
	for (int b = 0; b < B; b++)
		for (int t = 0; t < L; t++) {
			for (int c = 0; c < C; c++)
				s->tin[((size_t)b * T + c) * L + t] = s->xn[((size_t)b * L + t) * C + c];
			for (int m = 0; m < M; m++)
				s->tin[((size_t)b * T + C + m) * L + t] = x_mark[((size_t)b * L + t) * M + m];
		}
	dc_nn_linear_forward(s->emb, s->tin, P + s->off_we, P + s->off_be, R, L, d);
	if (train)
		dc_nn_dropout(s->emb, s->emb, (size_t)R * d, s->p, seed, 0, 0);
	struct dc_nn_enc_shape sh = it_shape(f, B);
	const float *h = fc_enc_stack_forward(s->cache, s->emb, f->params, s->off_enc, s->E, &sh, train,
	                                      seed);
	dc_nn_layernorm_forward(s->z, s->fmean, s->frstd, h, P + s->off_nw, P + s->off_nb, R, d, 1e-5f);
	dc_nn_linear_forward(s->proj, s->z, P + s->off_pw, P + s->off_pb, R, d, Hp);
	// y[b][t][c] = proj[b*T + c][t] * std + mean
	for (int b = 0; b < B; b++)
		for (int t = 0; t < Hp; t++)
			for (int c = 0; c < C; c++)
				y[((size_t)b * Hp + t) * C + c] =
				    s->proj[((size_t)b * T + c) * Hp + t] * s->std[(size_t)b * C + c] +
				    s->mean[(size_t)b * C + c];
	s->last_b = B;
	s->last_train = train;
	s->last_seed = seed;
	return DC_OK;
}

static enum dc_status it_backward(struct dc_forecaster *f, int B, const float *dy)
{
	struct it_state *s = f->state;
	int L = f->dims.seq_len, C = f->dims.n_vars, Hp = f->dims.pred_len;
	int T = s->T, d = s->d, R = B * T;
	if (!s->last_train || B != s->last_b)
		return dc_fail(DC_EINVAL, "backward without a matching training forward");
	uint64_t seed = s->last_seed;
	float *P = f->params, *G = f->grads;
	// dproj: de-normalisation scale for the C variate tokens, 0 for marks
	memset(s->dproj, 0, (size_t)R * Hp * sizeof(float));
	for (int b = 0; b < B; b++)
		for (int t = 0; t < Hp; t++)
			for (int c = 0; c < C; c++)
				s->dproj[((size_t)b * T + c) * Hp + t] =
				    dy[((size_t)b * Hp + t) * C + c] * s->std[(size_t)b * C + c];
	memset(s->dz, 0, (size_t)R * d * sizeof(float));
	dc_nn_linear_backward(s->dz, G + s->off_pw, G + s->off_pb, s->dproj, s->z, P + s->off_pw, R, d, Hp);
	memset(s->dlast, 0, (size_t)R * d * sizeof(float));
	dc_nn_layernorm_backward(s->dlast, G + s->off_nw, G + s->off_nb, s->dz, s->cache[s->E - 1].out,
	                         s->fmean, s->frstd, P + s->off_nw, R, d);
	struct dc_nn_enc_shape sh = it_shape(f, B);
	fc_enc_stack_backward(s->dlast, s->cache, P, G, s->off_enc, s->E, &s->work, &sh, seed);
	dc_nn_dropout(s->dlast, s->dlast, (size_t)R * d, s->p, seed, 0, 0);
	dc_nn_linear_backward(NULL, G + s->off_we, G + s->off_be, s->dlast, s->tin, P + s->off_we, R, L, d);
	return DC_OK;
}

static void it_release(struct dc_forecaster *f)
{
	struct it_state *s = f->state;
	if (!s)
		return;
	dc_free(s->mem);
	dc_free(s->wmem);
	free(s);
	f->state = NULL;
}

static const char *const it_keys[] = { "d_model", "d_ff", "n_heads", "e_layers", "dropout", "activation", NULL };

const struct dc_fc_model dc_fc_itransformer = {
	.name = "iTransformer",
	.uses_marks = 1,
	.uses_decoder = 0,
	.hp_keys = it_keys,
	.init = it_init,
	.forward = it_forward,
	.backward = it_backward,
	.release = it_release,
};
