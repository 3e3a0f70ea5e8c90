/*
 * patchtst.c - PatchTST (Nie et al., ICLR 2023) as in Time-Series-Library
 * models/PatchTST.py, forward and backward.
 *
 *   x[B][L][C] --instance norm (mean, sqrt(var+1e-5) over time)--> xn
 *   channel independence: each of the B*C series separately:
 *   ReplicationPad1d((0, stride)) -> unfold(patch_len, stride): Np =
 *   (L - patch_len)/stride + 2 patches -> patch_embedding.value_embedding
 *   Linear(patch_len, d, bias=False) + fixed sinusoidal position -> dropout
 *   --> e_layers x EncoderLayer (post-LN, GELU Conv1d FFN)
 *   --> encoder.norm = Transpose, BatchNorm1d(d), Transpose: batch
 *   statistics over all B*C*Np tokens in training, running statistics in
 *   evaluation --> FlattenHead: flatten [d][Np] (index dd*Np + n) ->
 *   Linear(d*Np, H) -> dropout --> [B][H][C] --> de-norm.
 *
 * Hyperparameters (TSLib names): d_model (512), d_ff (2048), n_heads,
 * e_layers (1), dropout (0.1), activation ("gelu"), patch_len (16),
 * stride (8).  Defaults follow TSLib's scripts/long_term_forecast/
 * ETT_script/PatchTST_ETTh1.sh: e_layers 1, n_heads 2 for pred_len 96,
 * 8 for 192 and 336, 16 for 720 (and beyond).  (TSLib's run.py has
 * --patch_len but the model ignores it and uses 16/8; here both can be set.)
 *
 * Tensors carry TSLib's state_dict names.  The BatchNorm buffers
 * encoder.norm.1.running_mean, running_var and num_batches_tracked (a
 * float here, int64 in torch) live in the parameter buffer so that model
 * files and best-checkpoint copies carry them, but they are not trainable:
 * forward(train) updates them (momentum 0.1, unbiased variance), backward
 * never writes their gradients, which stay 0, so Adam (without weight
 * decay) leaves them unchanged.  The fixed table
 * patch_embedding.position_embedding.pe (a [1][5000][d] buffer in torch)
 * is recomputed, not stored.
 *
 * Dropout streams: 0 embedding, 1 head, 16 + 8*l (.. +3) encoder layer l.
 */
#include "forecast.h"
#include "fc_encoder.h"

#include <stdlib.h>
#include <string.h>

#define PT_MAX_LAYERS 16

struct pt_state {
	int d, F, H, E, relu, plen, stride, Np;
	float p;
	size_t off_we, off_bnw, off_bnb, off_rm, off_rv, off_nbt, off_hw, off_hb;
	size_t off_enc[PT_MAX_LAYERS][FC_ENC_NT];
	float *pe;                               /* [Np][d] */
	int bcap, last_b, last_train;
	uint64_t last_seed;
	float *mem, *wmem;
	float *xn, *mean, *std, *pt, *emb, *z, *bmean, *brstd, *hin, *hout;
	struct dc_nn_enc_cache cache[PT_MAX_LAYERS];
	struct dc_nn_enc_work work;
	float *dhout, *dhin, *dz, *dlast;
};

static size_t a16(size_t n) { return (n + 15) & ~(size_t)15; }

static struct dc_nn_enc_shape pt_shape(const struct dc_forecaster *f, int B)
{
	const struct pt_state *s = f->state;
	struct dc_nn_enc_shape sh = { B * f->dims.n_vars, s->Np, s->d, s->H, s->F, s->p, s->relu };
	return sh;
}

static enum dc_status pt_init(struct dc_forecaster *f, const struct dc_config *hp, uint64_t seed)
{
	struct pt_state *s = calloc(1, sizeof *s);
	if (!s)
		return dc_fail(DC_ENOMEM, "out of memory");
	f->state = s;
	int L = f->dims.seq_len, H = f->dims.pred_len;
	int heads_def = H <= 96 ? 2 : H <= 336 ? 8 : 16;
	enum dc_status st;
	if ((st = fc_hp_int(hp, "d_model", 512, 1, 65536, &s->d)) ||
	    (st = fc_hp_int(hp, "d_ff", 2048, 1, 1 << 20, &s->F)) ||
	    (st = fc_hp_int(hp, "n_heads", heads_def, 1, 1024, &s->H)) ||
	    (st = fc_hp_int(hp, "e_layers", 1, 1, PT_MAX_LAYERS, &s->E)) ||
	    (st = fc_hp_float(hp, "dropout", 0.1, 0.0, 0.99, &s->p)) ||
	    (st = fc_hp_int(hp, "patch_len", 16, 1, 65536, &s->plen)) ||
	    (st = fc_hp_int(hp, "stride", 8, 1, 65536, &s->stride)) ||
	    (st = fc_hp_relu(hp, &s->relu)))
		return st;
	if (s->d % s->H)
		return dc_fail(DC_EINVAL, "d_model %d is not a multiple of n_heads %d", s->d, s->H);
	if (s->plen > L + s->stride)
		return dc_fail(DC_EINVAL, "patch_len %d is longer than seq_len %d + stride %d", s->plen, L,
		               s->stride);
	// torch: int((L - P)/S + 2) truncates toward zero; unfold gives floor((L+S-P)/S)+1
	s->Np = (L + s->stride - s->plen) / s->stride + 1;
	int d = s->d, Np = s->Np;
	int64_t sh[2];
	sh[0] = d; sh[1] = s->plen;
	s->off_we = dc_fc_add_tensor(f, "patch_embedding.value_embedding.weight", 2, sh);
	for (int l = 0; l < s->E; l++)
		if ((st = fc_enc_add(f, l, d, s->F, s->off_enc[l])))
			return st;
	s->off_bnw = dc_fc_add_tensor(f, "encoder.norm.1.weight", 1, sh);
	s->off_bnb = dc_fc_add_tensor(f, "encoder.norm.1.bias", 1, sh);
	s->off_rm = dc_fc_add_tensor(f, "encoder.norm.1.running_mean", 1, sh);
	s->off_rv = dc_fc_add_tensor(f, "encoder.norm.1.running_var", 1, sh);
	s->off_nbt = dc_fc_add_tensor(f, "encoder.norm.1.num_batches_tracked", 0, sh);
	sh[0] = H; sh[1] = (int64_t)d * Np;
	s->off_hw = dc_fc_add_tensor(f, "head.linear.weight", 2, sh);
	s->off_hb = dc_fc_add_tensor(f, "head.linear.bias", 1, sh);
	if (s->off_we == (size_t)-1 || s->off_hb == (size_t)-1 || s->off_nbt == (size_t)-1)
		return dc_fail(DC_ELIMIT, "too many tensors");
	if ((st = dc_fc_alloc_params(f)))
		return st;
	s->pe = dc_alloc((size_t)Np * d * sizeof(float));
	if (!s->pe)
		return dc_fail(DC_ENOMEM, "out of memory");
	dc_nn_sinusoid(s->pe, Np, d);
	float *P = f->params;
	dc_fc_init_uniform(P + s->off_we, (size_t)d * s->plen, 1.0f / sqrtf((float)s->plen), seed, 1);
	for (int l = 0; l < s->E; l++)
		fc_enc_init(P, s->off_enc[l], d, s->F, seed, 16 + 16 * (uint64_t)l);
	for (int c = 0; c < d; c++) {
		P[s->off_bnw + c] = 1.0f;
		P[s->off_bnb + c] = 0.0f;
		P[s->off_rm + c] = 0.0f;
		P[s->off_rv + c] = 1.0f;
	}
	P[s->off_nbt] = 0.0f;
	float bound = 1.0f / sqrtf((float)d * Np);
	dc_fc_init_uniform(P + s->off_hw, (size_t)H * d * Np, bound, seed, 3);
	dc_fc_init_uniform(P + s->off_hb, (size_t)H, bound, seed, 4);
	return DC_OK;
}

static enum dc_status pt_reserve(struct dc_forecaster *f, int B)
{
	struct pt_state *s = f->state;
	int L = f->dims.seq_len, C = f->dims.n_vars, Hp = f->dims.pred_len;
	struct dc_nn_enc_shape sh = pt_shape(f, B);
	size_t S = (size_t)B * C, R = S * s->Np, d = (size_t)s->d;
	size_t cf = dc_nn_enc_cache_floats(&sh), wf = dc_nn_enc_work_floats(&sh);
	if (!cf || !wf || R > ((size_t)1 << 40) / (size_t)(s->plen + 4 * s->d + Hp + 64))
		return dc_fail(DC_EOVERFLOW, "batch of %d is too large", B);
	size_t need = a16((size_t)B * L * C) + 2 * a16(S) + a16(R * s->plen) + 2 * a16(R * d) +
	              2 * a16(d) + a16(R * d) + a16(S * Hp) + (size_t)s->E * a16(cf);
	size_t wneed = a16(wf) + a16(S * Hp) + 3 * a16(R * d);
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
	s->mean = m; m += a16(S);
	s->std = m; m += a16(S);
	s->pt = m; m += a16(R * s->plen);
	s->emb = m; m += a16(R * d);
	s->z = m; m += a16(R * d);
	s->bmean = m; m += a16(d);
	s->brstd = m; m += a16(d);
	s->hin = m; m += a16(R * d);
	s->hout = m; m += a16(S * Hp);
	for (int l = 0; l < s->E; l++, m += a16(cf))
		dc_nn_enc_cache_bind(&s->cache[l], m, &sh);
	float *w = s->wmem;
	dc_nn_enc_work_bind(&s->work, w, &sh);
	w += a16(wf);
	s->dhout = w; w += a16(S * Hp);
	s->dhin = w; w += a16(R * d);
	s->dz = w; w += a16(R * d);
	s->dlast = w;
	return DC_OK;
}

static enum dc_status pt_forward(struct dc_forecaster *f, int B, const float *x, const float *x_mark,
                                 const float *y_mark, float *y, int train, uint64_t seed)
{
	struct pt_state *s = f->state;
	int L = f->dims.seq_len, C = f->dims.n_vars, Hp = f->dims.pred_len;
	int d = s->d, Np = s->Np, plen = s->plen;
	if (B <= 0)
		return dc_fail(DC_EINVAL, "batch size %d", B);
	enum dc_status st = pt_reserve(f, B);
	if (st)
		return st;
	float *P = f->params;
	int S = B * C, R = S * Np;
	if (train && R < 2)
		return dc_fail(DC_EINVAL, "BatchNorm needs at least two tokens in training");
	dc_nn_revin_forward(s->xn, s->mean, s->std, x, B, L, C, 1e-5f);
	// patches: pt[(b*C + c)*Np + n][k] = xn[b][min(n*stride + k, L-1)][c]
	for (int b = 0; b < B; b++)
		for (int c = 0; c < C; c++)
			for (int n = 0; n < Np; n++) {
				float *row = s->pt + (((size_t)b * C + c) * Np + n) * plen;
				for (int k = 0; k < plen; k++) {
					int t = n * s->stride + k;
					t = t < L ? t : L - 1;
					row[k] = s->xn[((size_t)b * L + t) * C + c];
				}
			}
	dc_nn_linear_forward(s->emb, s->pt, P + s->off_we, NULL, R, plen, d);
	for (int r = 0; r < R; r++) {
		float *e = s->emb + (size_t)r * d;
		const float *pe = s->pe + (size_t)(r % Np) * d;
		for (int c = 0; c < d; c++)
			e[c] += pe[c];
	}
	if (train)
		dc_nn_dropout(s->emb, s->emb, (size_t)R * d, s->p, seed, 0, 0);
	struct dc_nn_enc_shape sh = pt_shape(f, B);
	const float *h = fc_enc_stack_forward(s->cache, s->emb, P, s->off_enc, s->E, &sh, train, seed);
	if (train) {
		dc_nn_batchnorm_forward_train(s->z, s->bmean, s->brstd, P + s->off_rm, P + s->off_rv, h,
		                              P + s->off_bnw, P + s->off_bnb, R, d, 1e-5f, 0.1f);
		P[s->off_nbt] += 1.0f;
	} else {
		dc_nn_batchnorm_forward_eval(s->z, h, P + s->off_bnw, P + s->off_bnb, P + s->off_rm,
		                             P + s->off_rv, R, d, 1e-5f);
	}
	// flatten: hin[s][dd*Np + n] = z[s*Np + n][dd]
	for (int q = 0; q < S; q++)
		for (int n = 0; n < Np; n++)
			for (int dd = 0; dd < d; dd++)
				s->hin[(size_t)q * d * Np + (size_t)dd * Np + n] = s->z[((size_t)q * Np + n) * d + dd];
	dc_nn_linear_forward(s->hout, s->hin, P + s->off_hw, P + s->off_hb, S, d * Np, Hp);
	if (train)
		dc_nn_dropout(s->hout, s->hout, (size_t)S * Hp, s->p, seed, 1, 0);
	for (int b = 0; b < B; b++)
		for (int t = 0; t < Hp; t++)
			for (int c = 0; c < C; c++)
				y[((size_t)b * Hp + t) * C + c] = s->hout[((size_t)b * C + c) * Hp + t] *
				                                      s->std[(size_t)b * C + c] +
				                                  s->mean[(size_t)b * C + c];
	s->last_b = B;
	s->last_train = train;
	s->last_seed = seed;
	return DC_OK;
}

static enum dc_status pt_backward(struct dc_forecaster *f, int B, const float *dy)
{
	struct pt_state *s = f->state;
	int C = f->dims.n_vars, Hp = f->dims.pred_len;
	int d = s->d, Np = s->Np, S = B * C, R = S * Np;
	if (!s->last_train || B != s->last_b)
		return dc_fail(DC_EINVAL, "backward without a matching training forward");
	uint64_t seed = s->last_seed;
	float *P = f->params, *G = f->grads;
	for (int b = 0; b < B; b++)
		for (int t = 0; t < Hp; t++)
			for (int c = 0; c < C; c++)
				s->dhout[((size_t)b * C + c) * Hp + t] =
				    dy[((size_t)b * Hp + t) * C + c] * s->std[(size_t)b * C + c];
	dc_nn_dropout(s->dhout, s->dhout, (size_t)S * Hp, s->p, seed, 1, 0);
	memset(s->dhin, 0, (size_t)R * d * sizeof(float));
	dc_nn_linear_backward(s->dhin, G + s->off_hw, G + s->off_hb, s->dhout, s->hin, P + s->off_hw, S,
	                      d * Np, Hp);
	for (int q = 0; q < S; q++)
		for (int n = 0; n < Np; n++)
			for (int dd = 0; dd < d; dd++)
				s->dz[((size_t)q * Np + n) * d + dd] = s->dhin[(size_t)q * d * Np + (size_t)dd * Np + n];
	memset(s->dlast, 0, (size_t)R * d * sizeof(float));
	dc_nn_batchnorm_backward(s->dlast, G + s->off_bnw, G + s->off_bnb, s->dz, s->cache[s->E - 1].out,
	                         s->bmean, s->brstd, P + s->off_bnw, R, d);
	struct dc_nn_enc_shape sh = pt_shape(f, B);
	fc_enc_stack_backward(s->dlast, s->cache, P, G, s->off_enc, s->E, &s->work, &sh, seed);
	dc_nn_dropout(s->dlast, s->dlast, (size_t)R * d, s->p, seed, 0, 0);
	dc_nn_linear_backward(NULL, G + s->off_we, NULL, s->dlast, s->pt, P + s->off_we, R, s->plen, d);
	return DC_OK;
}

static void pt_release(struct dc_forecaster *f)
{
	struct pt_state *s = f->state;
	if (!s)
		return;
	dc_free(s->pe);
	dc_free(s->mem);
	dc_free(s->wmem);
	free(s);
	f->state = NULL;
}

static const char *const pt_keys[] = { "d_model", "d_ff",      "n_heads", "e_layers",
	                                "dropout", "patch_len", "stride",  "activation", NULL };

const struct dc_fc_model dc_fc_patchtst = {
	.name = "PatchTST",
	.uses_marks = 0,
	.uses_decoder = 0,
	.hp_keys = pt_keys,
	.init = pt_init,
	.forward = pt_forward,
	.backward = pt_backward,
	.release = pt_release,
};
