/*
 * informer.c - Informer (Zhou et al., AAAI 2021) as in Time-Series-Library
 * models/Informer.py and its layers (Embed.py, SelfAttention_Family.py
 * ProbAttention + AttentionLayer, Transformer_EncDec.py EncoderLayer,
 * ConvLayer, Encoder, DecoderLayer, Decoder), forward and backward.
 *
 *   enc = DataEmbedding(x[B][L][C], x_mark): TokenEmbedding (Conv1d(C, d,
 *         k 3, circular padding 1, no bias)) + TimeFeatureEmbedding
 *         (Linear(M, d, no bias)) + sinusoidal position, dropout
 *   enc --> e_layers x EncoderLayer(ProbAttention(mask off)), with a
 *         distilling ConvLayer between consecutive layers (Conv1d(d, d, 3,
 *         circular padding 2) -> BatchNorm1d -> ELU -> MaxPool1d(3, 2, 1):
 *         N tokens become (N+1)/2 + 1) --> LayerNorm
 *   dec = DataEmbedding(concat(x[:, L-S:], zeros[H]), y_mark[B][S+H][M])
 *   dec --> d_layers x DecoderLayer(ProbAttention(mask on) self-attention,
 *         ProbAttention(mask off) cross-attention over the encoder output,
 *         Conv1d(k=1) FFN; post-LN) --> LayerNorm --> Linear(d, C)
 *   y = the last H steps.
 *
 * ProbAttention, per call with L_Q queries and L_K keys:
 * U_part = min(factor*ceil(ln L_K), L_K) keys are sampled per query (one
 * [L_Q][U_part] index array per call, shared by the batch and the heads;
 * torch.randint in the reference, here Philox (seed, stream 1024 + call),
 * or fixed through dc_informer_set_samples); the sparsity measure
 * M_i = max_j q_i.k_s(i,j) - sum_j q_i.k_s(i,j) / L_K (unscaled) picks the
 * top u = min(factor*ceil(ln L_Q), L_Q) queries per (batch, head); those
 * get softmax(q k^T / sqrt(D)) V (causally masked in the decoder's
 * self-attention), the others mean(V) (cumsum(V) when masked).  As in the
 * reference the context [B][H][L_Q][D] is reinterpreted, not transposed,
 * as [B][L_Q][H*D] before the output projection (TSLib's view(B, L, -1)).
 * The attention dropout of ProbAttention is never applied by the reference,
 * so not here either.  Backward: through the selected rows' softmax and
 * through the mean / cumsum fill; the top-u choice itself is piecewise
 * constant and gets no gradient.
 *
 * Hyperparameters (TSLib names): d_model (512), n_heads (8), e_layers (2),
 * d_layers (1), d_ff (2048), factor (3, as TSLib's Informer ETT scripts;
 * run.py's default is 1), dropout (0.1), activation ("gelu"), distil (1).
 * Tensors carry TSLib's state_dict names; the distilling BatchNorm's
 * buffers (running_mean, running_var, num_batches_tracked) live in the
 * parameter buffer but get no gradient (see patchtst.c); the fixed
 * position table is recomputed.
 *
 * Test hooks (informer.h): dc_informer_set_samples replays given samples;
 * dc_informer_freeze keeps the last top-u / max-pool choices for
 * finite-difference checks.
 *
 * Dropout streams: 0 encoder embedding, 1 decoder embedding, 16 + 8*l
 * (+1 attention out, +2 FFN activation, +3 FFN out) encoder layer l,
 * 512 + 8*l (+1 self-attention out, +2 cross-attention out, +3, +4 FFN)
 * decoder layer l.
 */
#include "informer.h"
#include "fc_encoder.h"
#include "../ops/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define INF_MAX_LAYERS 8
#define INF_MAX_CALLS (3 * INF_MAX_LAYERS)
#define INF_DEC_NT 26

struct ia_call {
	int Lq, Lk, u, U, mask;
	size_t idx_off;              /* into the sample array */
};

/* projections of one attention call (TSLib AttentionLayer) */
struct ia_params {
	float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;
};

struct ia_cache {
	const float *xq, *xkv;
	float *q, *k, *v, *ctx, *prob;
	int *sel;
};

struct enc_cache {
	const float *x;
	struct ia_cache a;
	float *r1, *x1, *m1, *s1, *h, *g, *r2, *out, *m2, *s2;
};

struct conv_cache {
	float *col, *cv, *bm, *bs, *z, *a, *out;
	int *arg;
};

struct dec_cache {
	const float *x;
	struct ia_cache sa, ca;
	float *r1, *x1, *m1, *s1, *r2, *x2, *m2, *s2, *h, *g, *r3, *out, *m3, *s3;
};

struct inf_state {
	int d, nh, D, F, E, DL, factor, relu, distil;
	float p;
	int T;                                   /* S + H decoder steps */
	int N[INF_MAX_LAYERS];                   /* tokens into encoder layer l */
	int ncall;
	struct ia_call call[INF_MAX_CALLS];
	size_t nidx;
	int32_t *idx;                            /* current samples [nidx] */
	int forced;
	int frozen;                              /* keep the last top-u and argmax choices */
	size_t off_etok, off_etmp, off_dtok, off_dtmp;
	size_t off_enc[INF_MAX_LAYERS][FC_ENC_NT];
	size_t off_conv[INF_MAX_LAYERS][7];
	size_t off_enw, off_enb;
	size_t off_dec[INF_MAX_LAYERS][INF_DEC_NT];
	size_t off_dnw, off_dnb, off_pw, off_pb;
	float *pe;                               /* [max(L, T)][d] */
	size_t scr_stride;                       /* attention scratch per (batch, head) */
	float *ptr_params, *ptr_grads;           /* f->params, f->grads during a call */
	/* activations for batch capacity bcap */
	int bcap, last_b, last_train, marks_used;
	uint64_t last_seed;
	float *mem;
	const float *xmark, *ymark;
	float *xdec, *ecol, *dcol, *eemb, *demb, *enc, *enm, *ens, *dn, *dnm, *dns, *proj, *mscr;
	struct enc_cache ec[INF_MAX_LAYERS];
	struct conv_cache cc[INF_MAX_LAYERS];
	struct dec_cache dc[INF_MAX_LAYERS];
	/* backward scratch */
	float *g0, *g1, *sA, *sB, *dctx, *dq, *dk, *dv, *dff, *dcolw, *denc, *dproj;
};

static size_t a16(size_t n) { return (n + 15) & ~(size_t)15; }

static int ceil_ln(int n)
{
	return (int)ceil(log((double)n));
}

/* ---- memory layout: sizes on a NULL base, pointers on a real one ---------- */

struct lay {
	float *base;
	size_t n;
};

static float *take(struct lay *l, size_t n)
{
	float *p = l->base ? l->base + l->n : NULL;
	l->n += a16(n);
	return p;
}

static void lay_ia(struct lay *l, struct ia_cache *c, const struct ia_call *k, int B, int d, int nh)
{
	c->q = take(l, (size_t)B * k->Lq * d);
	c->k = take(l, (size_t)B * k->Lk * d);
	c->v = take(l, (size_t)B * k->Lk * d);
	c->ctx = take(l, (size_t)B * k->Lq * d);
	c->prob = take(l, (size_t)B * nh * k->u * k->Lk);
	c->sel = (int *)take(l, (size_t)B * nh * k->u);
}

static void layout(struct inf_state *s, struct lay *l, const struct dc_fc_dims *dm, int B)
{
	size_t L = (size_t)dm->seq_len, T = (size_t)s->T, C = (size_t)dm->n_vars, d = (size_t)s->d;
	size_t F = (size_t)s->F, Bz = (size_t)B;
	s->xdec = take(l, Bz * T * C);
	s->ecol = take(l, Bz * L * 3 * C);
	s->dcol = take(l, Bz * T * 3 * C);
	s->eemb = take(l, Bz * L * d);
	s->demb = take(l, Bz * T * d);
	for (int i = 0; i < s->E; i++) {
		struct enc_cache *e = &s->ec[i];
		size_t R = Bz * (size_t)s->N[i];
		lay_ia(l, &e->a, &s->call[i], B, (int)d, s->nh);
		float **rd[] = { &e->r1, &e->x1, &e->r2, &e->out };
		for (int j = 0; j < 4; j++)
			*rd[j] = take(l, R * d);
		float **rs[] = { &e->m1, &e->s1, &e->m2, &e->s2 };
		for (int j = 0; j < 4; j++)
			*rs[j] = take(l, R);
		e->h = take(l, R * F);
		e->g = take(l, R * F);
		if (s->distil && i < s->E - 1) {
			struct conv_cache *c = &s->cc[i];
			size_t R2 = Bz * (size_t)(s->N[i] + 2), Ro = Bz * (size_t)s->N[i + 1];
			c->col = take(l, R2 * 3 * d);
			c->cv = take(l, R2 * d);
			c->z = take(l, R2 * d);
			c->a = take(l, R2 * d);
			c->bm = take(l, d);
			c->bs = take(l, d);
			c->out = take(l, Ro * d);
			c->arg = (int *)take(l, Ro * d);
		}
	}
	size_t Re = Bz * (size_t)s->N[s->E - 1], Rt = Bz * T;
	s->enc = take(l, Re * d);
	s->enm = take(l, Re);
	s->ens = take(l, Re);
	for (int i = 0; i < s->DL; i++) {
		struct dec_cache *c = &s->dc[i];
		lay_ia(l, &c->sa, &s->call[s->E + 2 * i], B, (int)d, s->nh);
		lay_ia(l, &c->ca, &s->call[s->E + 2 * i + 1], B, (int)d, s->nh);
		float **rd[] = { &c->r1, &c->x1, &c->r2, &c->x2, &c->r3, &c->out };
		for (int j = 0; j < 6; j++)
			*rd[j] = take(l, Rt * d);
		float **rs[] = { &c->m1, &c->s1, &c->m2, &c->s2, &c->m3, &c->s3 };
		for (int j = 0; j < 6; j++)
			*rs[j] = take(l, Rt);
		c->h = take(l, Rt * F);
		c->g = take(l, Rt * F);
	}
	s->dn = take(l, Rt * d);
	s->dnm = take(l, Rt);
	s->dns = take(l, Rt);
	s->proj = take(l, Rt * C);
	/* scratch: per (batch, head) 2*maxL + D floats; backward buffers */
	size_t maxL = T > L + 2 ? T : L + 2;
	s->scr_stride = a16(2 * maxL + (size_t)s->D);
	s->mscr = take(l, Bz * s->nh * s->scr_stride);
	size_t Rm = Bz * maxL;
	float **wd[] = { &s->g0, &s->g1, &s->sA, &s->sB, &s->dctx, &s->dq, &s->dk, &s->dv };
	for (int j = 0; j < 8; j++)
		*wd[j] = take(l, Rm * d);
	s->dff = take(l, Rm * F);
	s->dcolw = take(l, Bz * (L + 2) * 3 * d);
	s->denc = take(l, Re * d);
	s->dproj = take(l, Rt * C);
}

/* ---- init ------------------------------------------------------------------ */

static size_t add_t(struct dc_forecaster *f, const char *name, int rank, int64_t a, int64_t b,
                    int64_t c)
{
	int64_t sh[3] = { a, b, c };
	return dc_fc_add_tensor(f, name, rank, sh);
}

static enum dc_status add_dec(struct dc_forecaster *f, int i, int d, int F, size_t *off)
{
	static const char *const at[2] = { "self_attention", "cross_attention" };
	static const char *const pr[4] = { "query", "key", "value", "out" };
	char name[DC_FC_NAME_MAX];
	int t = 0;
	for (int a = 0; a < 2; a++)
		for (int j = 0; j < 4; j++) {
			snprintf(name, sizeof name, "decoder.layers.%d.%s.%s_projection.weight", i, at[a], pr[j]);
			off[t++] = add_t(f, name, 2, d, d, 0);
			snprintf(name, sizeof name, "decoder.layers.%d.%s.%s_projection.bias", i, at[a], pr[j]);
			off[t++] = add_t(f, name, 1, d, 0, 0);
		}
	snprintf(name, sizeof name, "decoder.layers.%d.conv1.weight", i);
	off[t++] = add_t(f, name, 3, F, d, 1);
	snprintf(name, sizeof name, "decoder.layers.%d.conv1.bias", i);
	off[t++] = add_t(f, name, 1, F, 0, 0);
	snprintf(name, sizeof name, "decoder.layers.%d.conv2.weight", i);
	off[t++] = add_t(f, name, 3, d, F, 1);
	snprintf(name, sizeof name, "decoder.layers.%d.conv2.bias", i);
	off[t++] = add_t(f, name, 1, d, 0, 0);
	for (int j = 1; j <= 3; j++) {
		snprintf(name, sizeof name, "decoder.layers.%d.norm%d.weight", i, j);
		off[t++] = add_t(f, name, 1, d, 0, 0);
		snprintf(name, sizeof name, "decoder.layers.%d.norm%d.bias", i, j);
		off[t++] = add_t(f, name, 1, d, 0, 0);
	}
	for (int j = 0; j < t; j++)
		if (off[j] == (size_t)-1)
			return dc_fail(DC_ELIMIT, "too many tensors");
	return DC_OK;
}

/* PyTorch's initialisers by tensor: TokenEmbedding kaiming_normal (fan_in,
 * leaky_relu, a = 0: std sqrt(2 / fan_in)); Linear / Conv1d weight and
 * bias U(+-1/sqrt(fan_in)) (a bias takes the fan_in of the weight
 * registered just before it); LayerNorm / BatchNorm weight 1, bias 0;
 * running_mean 0, running_var 1, num_batches_tracked 0. */
static void init_params(struct dc_forecaster *f, uint64_t seed)
{
	size_t fan_in = 1;
	for (int i = 0; i < f->n_tensors; i++) {
		const struct dc_fc_tensor *t = &f->tensors[i];
		float *w = f->params + t->offset;
		size_t n;
		dc_shape_numel(t->rank, t->shape, &n);
		int is_bias = strstr(t->name, ".bias") != NULL;
		if (strstr(t->name, "running_var")) {
			for (size_t j = 0; j < n; j++)
				w[j] = 1.0f;
		} else if (strstr(t->name, "running_mean") || strstr(t->name, "num_batches")) {
			memset(w, 0, n * sizeof *w);
		} else if (strstr(t->name, "norm")) {
			for (size_t j = 0; j < n; j++)
				w[j] = is_bias ? 0.0f : 1.0f;
		} else if (strstr(t->name, "tokenConv")) {
			fan_in = n / (size_t)t->shape[0];
			dc_rng_normal(seed, 256 + (uint64_t)i, 0, w, n);
			float std = sqrtf(2.0f / (float)fan_in);
			for (size_t j = 0; j < n; j++)
				w[j] *= std;
		} else {
			if (!is_bias)
				fan_in = n / (size_t)t->shape[0];
			dc_fc_init_uniform(w, n, 1.0f / sqrtf((float)fan_in), seed, 256 + (uint64_t)i);
		}
	}
}

static enum dc_status inf_init(struct dc_forecaster *f, const struct dc_config *hp, uint64_t seed)
{
	struct inf_state *s = calloc(1, sizeof *s);
	if (!s)
		return dc_fail(DC_ENOMEM, "out of memory");
	f->state = s;
	int L = f->dims.seq_len, S = f->dims.label_len, H = f->dims.pred_len, C = f->dims.n_vars;
	int M = f->dims.n_marks;
	enum dc_status st;
	if ((st = fc_hp_int(hp, "d_model", 512, 1, 65536, &s->d)) ||
	    (st = fc_hp_int(hp, "d_ff", 2048, 1, 1 << 20, &s->F)) ||
	    (st = fc_hp_int(hp, "n_heads", 8, 1, 1024, &s->nh)) ||
	    (st = fc_hp_int(hp, "e_layers", 2, 1, INF_MAX_LAYERS, &s->E)) ||
	    (st = fc_hp_int(hp, "d_layers", 1, 1, INF_MAX_LAYERS, &s->DL)) ||
	    (st = fc_hp_int(hp, "factor", 3, 1, 1000, &s->factor)) ||
	    (st = fc_hp_flag(hp, "distil", 1, &s->distil)) ||
	    (st = fc_hp_float(hp, "dropout", 0.1, 0.0, 0.99, &s->p)) ||
	    (st = fc_hp_relu(hp, &s->relu)))
		return st;
	if (s->d % s->nh)
		return dc_fail(DC_EINVAL, "d_model %d is not a multiple of n_heads %d", s->d, s->nh);
	if (L < 2 || L > 1 << 20 || H > 1 << 20)
		return dc_fail(DC_EINVAL, "Informer needs seq_len >= 2 (got %d)", L);
	s->D = s->d / s->nh;
	s->T = S + H;
	if (s->T < 2)
		return dc_fail(DC_EINVAL, "Informer needs label_len + pred_len >= 2");
	int d = s->d, F = s->F;
	s->N[0] = L;
	for (int i = 1; i < s->E; i++) {
		int n = s->N[i - 1];
		s->N[i] = s->distil ? (n + 1) / 2 + 1 : n;
	}
	/* attention calls in the reference's order */
	s->ncall = 0;
	size_t off = 0;
	for (int i = 0; i < s->E + 2 * s->DL; i++) {
		struct ia_call *c = &s->call[s->ncall++];
		if (i < s->E) {
			c->Lq = c->Lk = s->N[i];
			c->mask = 0;
		} else if ((i - s->E) % 2 == 0) {
			c->Lq = c->Lk = s->T;
			c->mask = 1;
		} else {
			c->Lq = s->T;
			c->Lk = s->N[s->E - 1];
			c->mask = 0;
		}
		int U = s->factor * ceil_ln(c->Lk), u = s->factor * ceil_ln(c->Lq);
		c->U = U < 1 ? 1 : U < c->Lk ? U : c->Lk;
		c->u = u < 1 ? 1 : u < c->Lq ? u : c->Lq;
		c->idx_off = off;
		off += (size_t)c->Lq * c->U;
	}
	s->nidx = off;
	s->idx = malloc(off * sizeof *s->idx);
	if (!s->idx)
		return dc_fail(DC_ENOMEM, "out of memory");
	/* tensors, in TSLib's state_dict order */
	s->off_etok = add_t(f, "enc_embedding.value_embedding.tokenConv.weight", 3, d, C, 3);
	s->off_etmp = M ? add_t(f, "enc_embedding.temporal_embedding.embed.weight", 2, d, M, 0) : 0;
	s->off_dtok = add_t(f, "dec_embedding.value_embedding.tokenConv.weight", 3, d, C, 3);
	s->off_dtmp = M ? add_t(f, "dec_embedding.temporal_embedding.embed.weight", 2, d, M, 0) : 0;
	for (int i = 0; i < s->E; i++)
		if ((st = fc_enc_add(f, i, d, F, s->off_enc[i])))
			return st;
	for (int i = 0; s->distil && i < s->E - 1; i++) {
		static const char *const nm[7] = { "downConv.weight", "downConv.bias", "norm.weight",
			                           "norm.bias", "norm.running_mean", "norm.running_var",
			                           "norm.num_batches_tracked" };
		for (int j = 0; j < 7; j++) {
			char name[DC_FC_NAME_MAX];
			snprintf(name, sizeof name, "encoder.conv_layers.%d.%s", i, nm[j]);
			s->off_conv[i][j] = j == 0 ? add_t(f, name, 3, d, d, 3) :
			                    add_t(f, name, j == 6 ? 0 : 1, d, 0, 0);
			if (s->off_conv[i][j] == (size_t)-1)
				return dc_fail(DC_ELIMIT, "too many tensors");
		}
	}
	s->off_enw = add_t(f, "encoder.norm.weight", 1, d, 0, 0);
	s->off_enb = add_t(f, "encoder.norm.bias", 1, d, 0, 0);
	for (int i = 0; i < s->DL; i++)
		if ((st = add_dec(f, i, d, F, s->off_dec[i])))
			return st;
	s->off_dnw = add_t(f, "decoder.norm.weight", 1, d, 0, 0);
	s->off_dnb = add_t(f, "decoder.norm.bias", 1, d, 0, 0);
	s->off_pw = add_t(f, "decoder.projection.weight", 2, C, d, 0);
	s->off_pb = add_t(f, "decoder.projection.bias", 1, C, 0, 0);
	if (s->off_etok == (size_t)-1 || s->off_etmp == (size_t)-1 || s->off_dtmp == (size_t)-1 ||
	    s->off_enb == (size_t)-1 || s->off_pb == (size_t)-1)
		return dc_fail(DC_ELIMIT, "too many tensors");
	if ((st = dc_fc_alloc_params(f)))
		return st;
	int Lp = L > s->T ? L : s->T;
	s->pe = dc_alloc((size_t)Lp * d * sizeof(float));
	if (!s->pe)
		return dc_fail(DC_ENOMEM, "out of memory");
	dc_nn_sinusoid(s->pe, Lp, d);
	init_params(f, seed);
	return DC_OK;
}

size_t dc_informer_sample_count(const struct dc_forecaster *f)
{
	const struct inf_state *s = f->state;
	return s ? s->nidx : 0;
}

enum dc_status dc_informer_set_samples(struct dc_forecaster *f, const int32_t *idx, size_t n)
{
	struct inf_state *s = f->state;
	if (!s || f->kind != &dc_fc_informer)
		return dc_fail(DC_EINVAL, "not an Informer");
	if (!idx) {
		s->forced = 0;
		return DC_OK;
	}
	if (n != s->nidx)
		return dc_fail(DC_EINVAL, "%zu samples given, %zu expected", n, s->nidx);
	for (int c = 0; c < s->ncall; c++) {
		const struct ia_call *k = &s->call[c];
		for (size_t j = 0; j < (size_t)k->Lq * k->U; j++)
			if (idx[k->idx_off + j] < 0 || idx[k->idx_off + j] >= k->Lk)
				return dc_fail(DC_EINVAL, "sample %zu of call %d is out of range", j, c);
	}
	memcpy(s->idx, idx, n * sizeof *idx);
	s->forced = 1;
	return DC_OK;
}

enum dc_status dc_informer_freeze(struct dc_forecaster *f, int on)
{
	struct inf_state *s = f->state;
	if (!s || f->kind != &dc_fc_informer)
		return dc_fail(DC_EINVAL, "not an Informer");
	if (on && (!s->last_train || s->last_b <= 0))
		return dc_fail(DC_EINVAL, "nothing to freeze: no training forward yet");
	s->frozen = on != 0;
	return DC_OK;
}

static void draw_samples(struct inf_state *s, uint64_t seed)
{
	for (int c = 0; c < s->ncall; c++) {
		const struct ia_call *k = &s->call[c];
		size_t n = (size_t)k->Lq * k->U;
		int32_t *out = s->idx + k->idx_off;
		for (size_t j = 0; j < n; j += 4) {
			uint32_t r[4];
			dc_philox(seed, 1024 + (uint64_t)c, j / 4, r);
			for (size_t t = 0; t < 4 && j + t < n; t++)
				out[j + t] = (int32_t)(((uint64_t)r[t] * (uint64_t)k->Lk) >> 32);
		}
	}
}

/* ---- building blocks ---------------------------------------------------------- */

/* y[n] += x[n], on this thread (rows inside parallel loops; dc_vadd for
 * whole tensors) */
static void add_to(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] += x[i];
}

/* col[(b,t)][c*3 + k] = src[b][(t + k - pad) mod N][c], t < N + 2*pad - 2 */
static void im2col(float *col, const float *src, int B, int N, int C, int pad)
{
	int No = N + 2 * pad - 2, nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * No * C > 32768)
	for (int b = 0; b < B; b++)
		for (int t = 0; t < No; t++) {
			float *row = col + ((size_t)b * No + t) * 3 * C;
			for (int k = 0; k < 3; k++) {
				int r = ((t + k - pad) % N + N) % N;
				const float *x = src + ((size_t)b * N + r) * C;
				for (int c = 0; c < C; c++)
					row[c * 3 + k] = x[c];
			}
		}
}

/* adjoint: dsrc[b][(t+k-pad) mod N][c] += dcol[(b,t)][c*3+k] */
static void col2im(float *dsrc, const float *dcol, int B, int N, int C, int pad)
{
	int No = N + 2 * pad - 2, nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)B * No * C > 32768)
	for (int b = 0; b < B; b++)
		for (int t = 0; t < No; t++) {
			const float *row = dcol + ((size_t)b * No + t) * 3 * C;
			for (int k = 0; k < 3; k++) {
				int r = ((t + k - pad) % N + N) % N;
				float *x = dsrc + ((size_t)b * N + r) * C;
				for (int c = 0; c < C; c++)
					x[c] += row[c * 3 + k];
			}
		}
}

static float dot(const float *a, const float *b, int n)
{
	float s = 0;
	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* Four of dot(a, b[t], n) at once, each summed in dot's order (so to the
 * same bits): independent chains keep the FMA units busy where one chain
 * waits on its own latency. */
static void dot4(float *out, const float *a, const float *b0, const float *b1, const float *b2,
                 const float *b3, int n)
{
	float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	for (int i = 0; i < n; i++) {
		s0 += a[i] * b0[i];
		s1 += a[i] * b1[i];
		s2 += a[i] * b2[i];
		s3 += a[i] * b3[i];
	}
	out[0] = s0;
	out[1] = s1;
	out[2] = s2;
	out[3] = s3;
}

/* out[j] = dot(a, b + j*stride, n) for j < m */
static void dots(float *out, const float *a, const float *b, size_t stride, int m, int n)
{
	int j = 0;
	for (; j + 4 <= m; j += 4)
		dot4(out + j, a, b + (size_t)j * stride, b + (size_t)(j + 1) * stride, b + (size_t)(j + 2) * stride,
		     b + (size_t)(j + 3) * stride, n);
	for (; j < m; j++)
		out[j] = dot(a, b + (size_t)j * stride, n);
}

/*
 * ProbAttention core on projected q [B][Lq][d], k, v [B][Lk][d] (head h at
 * columns h*D..): ctx [B][nh][Lq][D]; sel [B][nh][u] the chosen queries,
 * prob [B][nh][u][Lk] their attention rows.  scr: B*nh*(2*maxL + D).
 */
static void pa_forward(float *ctx, int *sel, float *prob, const float *q, const float *k,
                       const float *v, const int32_t *idx, const struct ia_call *c, int B, int nh,
                       int D, float *scr, size_t scr_stride, int keep_sel)
{
	int Lq = c->Lq, Lk = c->Lk, u = c->u, U = c->U, d = nh * D, nt = dc_threads();
	float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for num_threads(nt) schedule(static)
	for (int bh = 0; bh < B * nh; bh++) {
		int b = bh / nh, h = bh % nh;
		const float *qb = q + (size_t)b * Lq * d + (size_t)h * D;
		const float *kb = k + (size_t)b * Lk * d + (size_t)h * D;
		const float *vb = v + (size_t)b * Lk * d + (size_t)h * D;
		float *cb = ctx + (size_t)bh * Lq * D, *Mv = scr + (size_t)bh * scr_stride;
		float *taken = Mv + Lq;
		int *sl = sel + (size_t)bh * u;
		float *pb = prob + (size_t)bh * u * Lk;
		for (int i = 0; i < Lq && !keep_sel; i++) {
			float mx = -INFINITY, sum = 0, sc[4];
			const float *qi = qb + (size_t)i * d;
			const int32_t *ix = idx + (size_t)i * U;
			for (int j = 0; j < U; j += 4) {
				int m = U - j < 4 ? U - j : 4;
				if (m == 4)
					dot4(sc, qi, kb + (size_t)ix[j] * d, kb + (size_t)ix[j + 1] * d,
					     kb + (size_t)ix[j + 2] * d, kb + (size_t)ix[j + 3] * d, D);
				else
					for (int t = 0; t < m; t++)
						sc[t] = dot(qi, kb + (size_t)ix[j + t] * d, D);
				for (int t = 0; t < m; t++) {
					mx = sc[t] > mx ? sc[t] : mx;
					sum += sc[t];
				}
			}
			Mv[i] = mx - sum / (float)Lk;
			taken[i] = 0;
		}
		for (int t = 0; t < u && !keep_sel; t++) {
			int best = -1;
			for (int i = 0; i < Lq; i++)
				if (!taken[i] && (best < 0 || Mv[i] > Mv[best]))
					best = i;
			taken[best] = 1;
			sl[t] = best;
		}
		/* row by row (each column summed in the same order as column by
		 * column, to the same bits), reading v's rows contiguously */
		if (!c->mask) {
			float *mean = taken + Lq;
			for (int e = 0; e < D; e++)
				mean[e] = 0;
			for (int j = 0; j < Lk; j++)
				add_to(mean, vb + (size_t)j * d, (size_t)D);
			for (int e = 0; e < D; e++)
				mean[e] /= (float)Lk;
			for (int i = 0; i < Lq; i++)
				memcpy(cb + (size_t)i * D, mean, (size_t)D * sizeof *cb);
		} else {
			for (int e = 0; e < D; e++)
				cb[e] = 0.0f + vb[e];   /* as acc = 0; acc += v: -0 becomes +0 */
			for (int i = 1; i < Lq; i++)
				for (int e = 0; e < D; e++)
					cb[(size_t)i * D + e] = cb[(size_t)(i - 1) * D + e] + vb[(size_t)i * d + e];
		}
		for (int t = 0; t < u; t++) {
			int i = sl[t], lim = c->mask ? i + 1 : Lk;
			float *row = pb + (size_t)t * Lk, mx = -INFINITY, sum = 0;
			const float *qi = qb + (size_t)i * d;
			dots(row, qi, kb, (size_t)d, lim, D);
			for (int j = 0; j < lim; j++) {
				row[j] *= scale;
				mx = row[j] > mx ? row[j] : mx;
			}
			for (int j = 0; j < lim; j++) {
				row[j] = expf(row[j] - mx);
				sum += row[j];
			}
			float inv = 1.0f / sum;
			for (int j = 0; j < lim; j++)
				row[j] *= inv;
			for (int j = lim; j < Lk; j++)
				row[j] = 0;
			float *o = cb + (size_t)i * D;
			memset(o, 0, (size_t)D * sizeof *o);
			for (int j = 0; j < lim; j++) {
				const float *vj = vb + (size_t)j * d;
				for (int e = 0; e < D; e++)
					o[e] += row[j] * vj[e];
			}
		}
	}
}

/* Gradients of pa_forward: dq [B][Lq][d], dk, dv [B][Lk][d] OVERWRITTEN. */
static void pa_backward(float *dq, float *dk, float *dv, const float *dctx, const int *sel,
                        const float *prob, const float *q, const float *k, const float *v,
                        const struct ia_call *c, int B, int nh, int D, float *scr,
                        size_t scr_stride)
{
	int Lq = c->Lq, Lk = c->Lk, u = c->u, d = nh * D, nt = dc_threads();
	float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for num_threads(nt) schedule(static)
	for (int bh = 0; bh < B * nh; bh++) {
		int b = bh / nh, h = bh % nh;
		const float *qb = q + (size_t)b * Lq * d + (size_t)h * D;
		const float *kb = k + (size_t)b * Lk * d + (size_t)h * D;
		const float *vb = v + (size_t)b * Lk * d + (size_t)h * D;
		float *dqb = dq + (size_t)b * Lq * d + (size_t)h * D;
		float *dkb = dk + (size_t)b * Lk * d + (size_t)h * D;
		float *dvb = dv + (size_t)b * Lk * d + (size_t)h * D;
		const float *gb = dctx + (size_t)bh * Lq * D;
		const int *sl = sel + (size_t)bh * u;
		const float *pb = prob + (size_t)bh * u * Lk;
		float *isel = scr + (size_t)bh * scr_stride, *dp = isel + Lq, *acc = dp + Lk;
		for (int i = 0; i < Lq; i++)
			memset(dqb + (size_t)i * d, 0, (size_t)D * sizeof(float));
		for (int j = 0; j < Lk; j++) {
			memset(dkb + (size_t)j * d, 0, (size_t)D * sizeof(float));
			memset(dvb + (size_t)j * d, 0, (size_t)D * sizeof(float));
		}
		for (int i = 0; i < Lq; i++)
			isel[i] = 0;
		for (int t = 0; t < u; t++)
			isel[sl[t]] = 1;
		memset(acc, 0, (size_t)D * sizeof *acc);
		if (!c->mask) {
			for (int i = 0; i < Lq; i++)
				if (!isel[i])
					add_to(acc, gb + (size_t)i * D, (size_t)D);
			for (int e = 0; e < D; e++)
				acc[e] /= (float)Lk;
			for (int j = 0; j < Lk; j++)
				add_to(dvb + (size_t)j * d, acc, (size_t)D);
		} else {
			for (int i = Lq - 1; i >= 0; i--) {
				if (!isel[i])
					add_to(acc, gb + (size_t)i * D, (size_t)D);
				add_to(dvb + (size_t)i * d, acc, (size_t)D);
			}
		}
		for (int t = 0; t < u; t++) {
			int i = sl[t], lim = c->mask ? i + 1 : Lk;
			const float *row = pb + (size_t)t * Lk, *gi = gb + (size_t)i * D;
			const float *qi = qb + (size_t)i * d;
			float *dqi = dqb + (size_t)i * d, tot = 0;
			dots(dp, gi, vb, (size_t)d, lim, D);
			for (int j = 0; j < lim; j++) {
				tot += row[j] * dp[j];
				float *dvj = dvb + (size_t)j * d;
				for (int e = 0; e < D; e++)
					dvj[e] += row[j] * gi[e];
			}
			for (int j = 0; j < lim; j++) {
				float ds = row[j] * (dp[j] - tot) * scale;
				const float *kj = kb + (size_t)j * d;
				float *dkj = dkb + (size_t)j * d;
				for (int e = 0; e < D; e++) {
					dqi[e] += ds * kj[e];
					dkj[e] += ds * qi[e];
				}
			}
		}
	}
}

static void ia_bind(struct ia_params *p, float *base, const size_t *off)
{
	float **slot[8] = { &p->wq, &p->bq, &p->wk, &p->bk, &p->wv, &p->bv, &p->wo, &p->bo };
	for (int t = 0; t < 8; t++)
		*slot[t] = base + off[t];
}

/* out[B*Lq][d] = out_projection(ProbAttention(xq, xkv)) */
static void ia_forward(struct inf_state *s, struct ia_cache *c, float *out, const float *xq,
                       const float *xkv, const struct ia_params *w, int ci, int B)
{
	const struct ia_call *k = &s->call[ci];
	int d = s->d, Rq = B * k->Lq, Rk = B * k->Lk;
	c->xq = xq;
	c->xkv = xkv;
	dc_nn_linear_forward(c->q, xq, w->wq, w->bq, Rq, d, d);
	dc_nn_linear_forward(c->k, xkv, w->wk, w->bk, Rk, d, d);
	dc_nn_linear_forward(c->v, xkv, w->wv, w->bv, Rk, d, d);
	pa_forward(c->ctx, c->sel, c->prob, c->q, c->k, c->v, s->idx + k->idx_off, k, B, s->nh, s->D,
	           s->mscr, s->scr_stride, s->frozen);
	dc_nn_linear_forward(out, c->ctx, w->wo, w->bo, Rq, d, d);
}

/* dxq += and dxkv += the input gradients (may be the same buffer), given
 * dout [B*Lq][d]; parameter gradients into g. */
static void ia_backward(struct inf_state *s, float *dxq, float *dxkv, const float *dout,
                        const struct ia_cache *c, const struct ia_params *w,
                        const struct ia_params *g, int ci, int B)
{
	const struct ia_call *k = &s->call[ci];
	int d = s->d, Rq = B * k->Lq, Rk = B * k->Lk;
	dc_vzero(s->dctx, (size_t)Rq * d);
	dc_nn_linear_backward(s->dctx, g->wo, g->bo, dout, c->ctx, w->wo, Rq, d, d);
	pa_backward(s->dq, s->dk, s->dv, s->dctx, c->sel, c->prob, c->q, c->k, c->v, k, B, s->nh, s->D,
	            s->mscr, s->scr_stride);
	dc_nn_linear_backward(dxq, g->wq, g->bq, s->dq, c->xq, w->wq, Rq, d, d);
	dc_nn_linear_backward(dxkv, g->wk, g->bk, s->dk, c->xkv, w->wk, Rk, d, d);
	dc_nn_linear_backward(dxkv, g->wv, g->bv, s->dv, c->xkv, w->wv, Rk, d, d);
}

/* r[R][d] = x + drop(conv2(drop(act(conv1(x))))); h, g [R][F] kept */
static void ffn_forward(struct inf_state *s, float *r, float *h, float *g, const float *x,
                        const float *w1, const float *b1, const float *w2, const float *b2, int R,
                        float p, uint64_t seed, uint64_t st_act, uint64_t st_out)
{
	int d = s->d, F = s->F;
	size_t RF = (size_t)R * F, Rd = (size_t)R * d;
	dc_nn_linear_forward(h, x, w1, b1, R, d, F);
	if (s->relu)
		dc_nn_relu_forward(g, h, RF);
	else
		dc_nn_gelu_forward(g, h, RF);
	dc_nn_dropout(g, g, RF, p, seed, st_act, 0);
	dc_nn_linear_forward(r, g, w2, b2, R, F, d);
	dc_nn_dropout(r, r, Rd, p, seed, st_out, 0);
	dc_vadd(r, x, Rd);
}

/* dx += FFN input gradient given dr (the gradient of r; destroyed) */
static void ffn_backward(struct inf_state *s, float *dx, float *dr, const float *h, const float *g,
                         const float *x, const float *w1, const float *w2, float *gw1, float *gb1,
                         float *gw2, float *gb2, int R, uint64_t seed, uint64_t st_act,
                         uint64_t st_out)
{
	int d = s->d, F = s->F;
	size_t RF = (size_t)R * F, Rd = (size_t)R * d;
	dc_nn_dropout(dr, dr, Rd, s->p, seed, st_out, 0);
	dc_vzero(s->dff, RF);
	dc_nn_linear_backward(s->dff, gw2, gb2, dr, g, w2, R, F, d);
	dc_nn_dropout(s->dff, s->dff, RF, s->p, seed, st_act, 0);
	if (s->relu)
		dc_nn_relu_backward(s->dff, s->dff, h, RF);
	else
		dc_nn_gelu_backward(s->dff, s->dff, h, RF);
	dc_nn_linear_backward(dx, gw1, gb1, s->dff, x, w1, R, d, F);
}

static void enc_forward(struct inf_state *s, int l, const float *x, int B, int train, uint64_t seed)
{
	struct enc_cache *c = &s->ec[l];
	struct ia_params w;
	struct dc_nn_enc_params e;
	float *P = s->ptr_params;
	int R = B * s->N[l], d = s->d;
	float p = train ? s->p : 0.0f;
	uint64_t st = 16 + 8 * (uint64_t)l;
	fc_enc_bind(&e, P, s->off_enc[l]);
	ia_bind(&w, P, s->off_enc[l]);
	c->x = x;
	ia_forward(s, &c->a, c->r1, x, x, &w, l, B);
	dc_nn_dropout(c->r1, c->r1, (size_t)R * d, p, seed, st + 1, 0);
	dc_vadd(c->r1, x, (size_t)R * d);
	dc_nn_layernorm_forward(c->x1, c->m1, c->s1, c->r1, e.ln1w, e.ln1b, R, d, 1e-5f);
	ffn_forward(s, c->r2, c->h, c->g, c->x1, e.w1, e.b1, e.w2, e.b2, R, p, seed, st + 2, st + 3);
	dc_nn_layernorm_forward(c->out, c->m2, c->s2, c->r2, e.ln2w, e.ln2b, R, d, 1e-5f);
}

/* gin[R][d]: in, the gradient of the layer output; out, of its input */
static void enc_backward(struct inf_state *s, int l, float *gin, int B, uint64_t seed)
{
	struct enc_cache *c = &s->ec[l];
	struct dc_nn_enc_params e, ge;
	struct ia_params w, g;
	float *P = s->ptr_params, *G = s->ptr_grads;
	int R = B * s->N[l], d = s->d;
	size_t Rd = (size_t)R * d;
	uint64_t st = 16 + 8 * (uint64_t)l;
	fc_enc_bind(&e, P, s->off_enc[l]);
	fc_enc_bind(&ge, G, s->off_enc[l]);
	ia_bind(&w, P, s->off_enc[l]);
	ia_bind(&g, G, s->off_enc[l]);
	dc_vzero(s->sA, Rd);
	dc_nn_layernorm_backward(s->sA, ge.ln2w, ge.ln2b, gin, c->r2, c->m2, c->s2, e.ln2w, R, d);
	dc_vcopy(s->sB, s->sA, Rd);
	ffn_backward(s, s->sB, s->sA, c->h, c->g, c->x1, e.w1, e.w2, ge.w1, ge.b1, ge.w2, ge.b2, R, seed,
	             st + 2, st + 3);
	dc_vzero(s->sA, Rd);
	dc_nn_layernorm_backward(s->sA, ge.ln1w, ge.ln1b, s->sB, c->r1, c->m1, c->s1, e.ln1w, R, d);
	dc_vcopy(gin, s->sA, Rd);
	dc_nn_dropout(s->sA, s->sA, Rd, s->p, seed, st + 1, 0);
	ia_backward(s, gin, gin, s->sA, &c->a, &w, &g, l, B);
}

/* distilling ConvLayer l: ec[l].out [B][N][d] -> cc[l].out [B][N'][d] */
static void conv_forward(struct inf_state *s, int l, const float *x, int B, int train)
{
	struct conv_cache *c = &s->cc[l];
	float *P = s->ptr_params;
	const size_t *o = s->off_conv[l];
	int N = s->N[l], N2 = N + 2, No = s->N[l + 1], d = s->d, R2 = B * N2, nt = dc_threads();
	size_t n2 = (size_t)R2 * d;
	im2col(c->col, x, B, N, d, 2);
	dc_nn_linear_forward(c->cv, c->col, P + o[0], P + o[1], R2, 3 * d, d);
	if (train) {
		dc_nn_batchnorm_forward_train(c->z, c->bm, c->bs, P + o[4], P + o[5], c->cv, P + o[2],
		                              P + o[3], R2, d, 1e-5f, 0.1f);
		P[o[6]] += 1.0f;
	} else {
		dc_nn_batchnorm_forward_eval(c->z, c->cv, P + o[2], P + o[3], P + o[4], P + o[5], R2, d,
		                             1e-5f);
	}
#pragma omp parallel for num_threads(nt) schedule(static) if (n2 > 65536)
	for (size_t i = 0; i < n2; i++)
		c->a[i] = c->z[i] > 0 ? c->z[i] : expm1f(c->z[i]);
	/* MaxPool1d(3, stride 2, padding 1): window 2t-1 .. 2t+1, first maximum */
#pragma omp parallel for num_threads(nt) schedule(static) if (n2 > 65536)
	for (int b = 0; b < B; b++)
		for (int t = 0; t < No; t++) {
			float *out = c->out + ((size_t)b * No + t) * d;
			int *arg = c->arg + ((size_t)b * No + t) * d;
			for (int ch = 0; ch < d; ch++) {
				float best = -INFINITY;
				int bi = -1;
				if (s->frozen) {
					out[ch] = c->a[((size_t)b * N2 + arg[ch]) * d + ch];
					continue;
				}
				for (int j = 2 * t - 1; j <= 2 * t + 1; j++) {
					if (j < 0 || j >= N2)
						continue;
					float v = c->a[((size_t)b * N2 + j) * d + ch];
					if (bi < 0 || v > best || v != v) {
						best = v;
						bi = j;
					}
				}
				out[ch] = best;
				arg[ch] = bi;
			}
		}
}

/* gout [B][N'][d] -> gx [B][N][d] (overwritten) */
static void conv_backward(struct inf_state *s, int l, float *gx, const float *gout, int B)
{
	struct conv_cache *c = &s->cc[l];
	float *P = s->ptr_params, *G = s->ptr_grads;
	const size_t *o = s->off_conv[l];
	int N = s->N[l], N2 = N + 2, No = s->N[l + 1], d = s->d, R2 = B * N2, nt = dc_threads();
	size_t n2 = (size_t)R2 * d;
	float *da = s->sA, *dcv = s->sB;
	dc_vzero(da, n2);
#pragma omp parallel for num_threads(nt) schedule(static) if (n2 > 65536)
	for (int b = 0; b < B; b++)
		for (int t = 0; t < No; t++) {
			const float *g = gout + ((size_t)b * No + t) * d;
			const int *arg = c->arg + ((size_t)b * No + t) * d;
			for (int ch = 0; ch < d; ch++)
				da[((size_t)b * N2 + arg[ch]) * d + ch] += g[ch];
		}
#pragma omp parallel for num_threads(nt) schedule(static) if (n2 > 65536)
	for (size_t i = 0; i < n2; i++)
		if (!(c->z[i] > 0))
			da[i] *= c->a[i] + 1.0f;
	dc_vzero(dcv, n2);
	dc_nn_batchnorm_backward(dcv, G + o[2], G + o[3], da, c->cv, c->bm, c->bs, P + o[2], R2, d);
	dc_vzero(s->dcolw, n2 * 3);
	dc_nn_linear_backward(s->dcolw, G + o[0], G + o[1], dcv, c->col, P + o[0], R2, 3 * d, d);
	dc_vzero(gx, (size_t)B * N * d);
	col2im(gx, s->dcolw, B, N, d, 2);
}

static void dec_bind(struct inf_state *s, float *base, int l, struct ia_params *sa,
                     struct ia_params *ca, float **f)
{
	const size_t *o = s->off_dec[l];
	ia_bind(sa, base, o);
	ia_bind(ca, base, o + 8);
	for (int j = 0; j < 10; j++)
		f[j] = base + o[16 + j];   /* w1 b1 w2 b2 n1w n1b n2w n2b n3w n3b */
}

static void dec_forward(struct inf_state *s, int l, const float *x, int B, int train, uint64_t seed)
{
	struct dec_cache *c = &s->dc[l];
	struct ia_params sa, ca;
	float *f[10];
	int R = B * s->T, d = s->d;
	size_t Rd = (size_t)R * d;
	float p = train ? s->p : 0.0f;
	uint64_t st = 512 + 8 * (uint64_t)l;
	int ci = s->E + 2 * l;
	dec_bind(s, s->ptr_params, l, &sa, &ca, f);
	c->x = x;
	ia_forward(s, &c->sa, c->r1, x, x, &sa, ci, B);
	dc_nn_dropout(c->r1, c->r1, Rd, p, seed, st + 1, 0);
	dc_vadd(c->r1, x, Rd);
	dc_nn_layernorm_forward(c->x1, c->m1, c->s1, c->r1, f[4], f[5], R, d, 1e-5f);
	ia_forward(s, &c->ca, c->r2, c->x1, s->enc, &ca, ci + 1, B);
	dc_nn_dropout(c->r2, c->r2, Rd, p, seed, st + 2, 0);
	dc_vadd(c->r2, c->x1, Rd);
	dc_nn_layernorm_forward(c->x2, c->m2, c->s2, c->r2, f[6], f[7], R, d, 1e-5f);
	ffn_forward(s, c->r3, c->h, c->g, c->x2, f[0], f[1], f[2], f[3], R, p, seed, st + 3, st + 4);
	dc_nn_layernorm_forward(c->out, c->m3, c->s3, c->r3, f[8], f[9], R, d, 1e-5f);
}

/* gin: in, gradient of the layer output; out, of its input.  The
 * encoder-output gradient accumulates into s->denc. */
static void dec_backward(struct inf_state *s, int l, float *gin, int B, uint64_t seed)
{
	struct dec_cache *c = &s->dc[l];
	struct ia_params sa, ca, gsa, gca;
	float *f[10], *gf[10];
	int R = B * s->T, d = s->d;
	size_t Rd = (size_t)R * d;
	uint64_t st = 512 + 8 * (uint64_t)l;
	int ci = s->E + 2 * l;
	dec_bind(s, s->ptr_params, l, &sa, &ca, f);
	dec_bind(s, s->ptr_grads, l, &gsa, &gca, gf);
	dc_vzero(s->sA, Rd);
	dc_nn_layernorm_backward(s->sA, gf[8], gf[9], gin, c->r3, c->m3, c->s3, f[8], R, d);
	dc_vcopy(s->sB, s->sA, Rd);
	ffn_backward(s, s->sB, s->sA, c->h, c->g, c->x2, f[0], f[2], gf[0], gf[1], gf[2], gf[3], R, seed,
	             st + 3, st + 4);
	dc_vzero(s->sA, Rd);
	dc_nn_layernorm_backward(s->sA, gf[6], gf[7], s->sB, c->r2, c->m2, c->s2, f[6], R, d);
	dc_vcopy(s->sB, s->sA, Rd);
	dc_nn_dropout(s->sA, s->sA, Rd, s->p, seed, st + 2, 0);
	ia_backward(s, s->sB, s->denc, s->sA, &c->ca, &ca, &gca, ci + 1, B);
	dc_vzero(s->sA, Rd);
	dc_nn_layernorm_backward(s->sA, gf[4], gf[5], s->sB, c->r1, c->m1, c->s1, f[4], R, d);
	dc_vcopy(gin, s->sA, Rd);
	dc_nn_dropout(s->sA, s->sA, Rd, s->p, seed, st + 1, 0);
	ia_backward(s, gin, gin, s->sA, &c->sa, &sa, &gsa, ci, B);
}

/* ---- the model ------------------------------------------------------------------ */

static enum dc_status inf_reserve(struct dc_forecaster *f, int B)
{
	struct inf_state *s = f->state;
	struct lay l = { NULL, 0 };
	layout(s, &l, &f->dims, B);
	if (B > s->bcap) {
		float *m = dc_alloc(l.n * sizeof(float));
		if (!m)
			return dc_fail(DC_ENOMEM, "cannot allocate activations for a batch of %d", B);
		dc_free(s->mem);
		s->mem = m;
		s->bcap = B;
	}
	l.base = s->mem;
	l.n = 0;
	layout(s, &l, &f->dims, B);
	return DC_OK;
}

/* emb[B*N][d] = tokenConv(col) + marks . Wt^T + pe, then dropout */
static void embed_forward(struct inf_state *s, float *emb, const float *col, const float *marks,
                          size_t off_tok, size_t off_tmp, int B, int N, int C, int M, float p,
                          uint64_t seed, uint64_t stream)
{
	float *P = s->ptr_params;
	int d = s->d, R = B * N;
	dc_nn_linear_forward(emb, col, P + off_tok, NULL, R, 3 * C, d);
	if (marks) {
		dc_nn_linear_forward(s->sA, marks, P + off_tmp, NULL, R, M, d);
		dc_vadd(emb, s->sA, (size_t)R * d);
	}
	int nt = dc_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)R * d >= 65536)
	for (int r = 0; r < R; r++)
		add_to(emb + (size_t)r * d, s->pe + (size_t)(r % N) * d, (size_t)d);
	dc_nn_dropout(emb, emb, (size_t)R * d, p, seed, stream, 0);
}

static enum dc_status inf_forward(struct dc_forecaster *f, int B, const float *x, const float *x_mark,
                                  const float *y_mark, float *y, int train, uint64_t seed)
{
	struct inf_state *s = f->state;
	int L = f->dims.seq_len, S = f->dims.label_len, H = f->dims.pred_len, C = f->dims.n_vars;
	int M = f->dims.n_marks, T = s->T, d = s->d;
	if (B <= 0)
		return dc_fail(DC_EINVAL, "batch size %d", B);
	if (s->frozen && B != s->last_b)
		return dc_fail(DC_EINVAL, "frozen choices are for a batch of %d", s->last_b);
	enum dc_status st = inf_reserve(f, B);
	if (st)
		return st;
	s->ptr_params = f->params;
	s->ptr_grads = f->grads;
	float p = train ? s->p : 0.0f;
	if (!s->forced)
		draw_samples(s, seed);
	s->marks_used = M > 0 && x_mark && y_mark;
	s->xmark = s->marks_used ? x_mark : NULL;
	s->ymark = s->marks_used ? y_mark : NULL;
	/* embeddings; decoder input = last S steps of x, then H zeros */
	for (int b = 0; b < B; b++) {
		float *xd = s->xdec + (size_t)b * T * C;
		memcpy(xd, x + ((size_t)b * L + (L - S)) * C, (size_t)S * C * sizeof(float));
		memset(xd + (size_t)S * C, 0, (size_t)H * C * sizeof(float));
	}
	im2col(s->ecol, x, B, L, C, 1);
	im2col(s->dcol, s->xdec, B, T, C, 1);
	embed_forward(s, s->eemb, s->ecol, s->xmark, s->off_etok, s->off_etmp, B, L, C, M, p, seed, 0);
	embed_forward(s, s->demb, s->dcol, s->ymark, s->off_dtok, s->off_dtmp, B, T, C, M, p, seed, 1);
	/* encoder */
	const float *h = s->eemb;
	for (int l = 0; l < s->E; l++) {
		enc_forward(s, l, h, B, train, seed);
		h = s->ec[l].out;
		if (s->distil && l < s->E - 1) {
			conv_forward(s, l, h, B, train);
			h = s->cc[l].out;
		}
	}
	int Re = B * s->N[s->E - 1], Rt = B * T;
	dc_nn_layernorm_forward(s->enc, s->enm, s->ens, h, f->params + s->off_enw, f->params + s->off_enb,
	                        Re, d, 1e-5f);
	/* decoder */
	h = s->demb;
	for (int l = 0; l < s->DL; l++) {
		dec_forward(s, l, h, B, train, seed);
		h = s->dc[l].out;
	}
	dc_nn_layernorm_forward(s->dn, s->dnm, s->dns, h, f->params + s->off_dnw, f->params + s->off_dnb,
	                        Rt, d, 1e-5f);
	dc_nn_linear_forward(s->proj, s->dn, f->params + s->off_pw, f->params + s->off_pb, Rt, d, C);
	for (int b = 0; b < B; b++)
		memcpy(y + (size_t)b * H * C, s->proj + ((size_t)b * T + S) * C, (size_t)H * C * sizeof(float));
	s->last_b = B;
	s->last_train = train;
	s->last_seed = seed;
	return DC_OK;
}

static enum dc_status inf_backward(struct dc_forecaster *f, int B, const float *dy)
{
	struct inf_state *s = f->state;
	int L = f->dims.seq_len, S = f->dims.label_len, H = f->dims.pred_len, C = f->dims.n_vars;
	int M = f->dims.n_marks, T = s->T, d = s->d;
	if (!s->last_train || B != s->last_b)
		return dc_fail(DC_EINVAL, "backward without a matching training forward");
	uint64_t seed = s->last_seed;
	float *P = f->params, *G = f->grads;
	s->ptr_params = P;
	s->ptr_grads = G;
	int Rt = B * T, Re = B * s->N[s->E - 1];
	/* projection and decoder norm */
	dc_vzero(s->dproj, (size_t)Rt * C);
	for (int b = 0; b < B; b++)
		memcpy(s->dproj + ((size_t)b * T + S) * C, dy + (size_t)b * H * C, (size_t)H * C * sizeof(float));
	dc_vzero(s->g0, (size_t)Rt * d);
	dc_nn_linear_backward(s->g0, G + s->off_pw, G + s->off_pb, s->dproj, s->dn, P + s->off_pw, Rt, d, C);
	dc_vzero(s->g1, (size_t)Rt * d);
	dc_nn_layernorm_backward(s->g1, G + s->off_dnw, G + s->off_dnb, s->g0, s->dc[s->DL - 1].out, s->dnm,
	                         s->dns, P + s->off_dnw, Rt, d);
	dc_vzero(s->denc, (size_t)Re * d);
	for (int l = s->DL - 1; l >= 0; l--)
		dec_backward(s, l, s->g1, B, seed);
	dc_nn_dropout(s->g1, s->g1, (size_t)Rt * d, s->p, seed, 1, 0);
	dc_nn_linear_backward(NULL, G + s->off_dtok, NULL, s->g1, s->dcol, P + s->off_dtok, Rt, 3 * C, d);
	if (s->ymark)
		dc_nn_linear_backward(NULL, G + s->off_dtmp, NULL, s->g1, s->ymark, P + s->off_dtmp, Rt, M, d);
	/* encoder */
	const float *last = s->ec[s->E - 1].out;
	dc_vzero(s->g0, (size_t)Re * d);
	dc_nn_layernorm_backward(s->g0, G + s->off_enw, G + s->off_enb, s->denc, last, s->enm, s->ens,
	                         P + s->off_enw, Re, d);
	float *gcur = s->g0, *gnext = s->g1;
	for (int l = s->E - 1; l >= 0; l--) {
		enc_backward(s, l, gcur, B, seed);
		if (l > 0 && s->distil) {
			conv_backward(s, l - 1, gnext, gcur, B);
			float *t = gcur;
			gcur = gnext;
			gnext = t;
		}
	}
	dc_nn_dropout(gcur, gcur, (size_t)B * L * d, s->p, seed, 0, 0);
	dc_nn_linear_backward(NULL, G + s->off_etok, NULL, gcur, s->ecol, P + s->off_etok, B * L, 3 * C, d);
	if (s->xmark)
		dc_nn_linear_backward(NULL, G + s->off_etmp, NULL, gcur, s->xmark, P + s->off_etmp, B * L, M, d);
	return DC_OK;
}

static void inf_release(struct dc_forecaster *f)
{
	struct inf_state *s = f->state;
	if (!s)
		return;
	dc_free(s->pe);
	dc_free(s->mem);
	free(s->idx);
	free(s);
	f->state = NULL;
}

static const char *const inf_keys[] = { "d_model", "d_ff",   "n_heads", "e_layers",   "d_layers",
	                                 "factor",  "distil", "dropout", "activation", NULL };

const struct dc_fc_model dc_fc_informer = {
	.name = "Informer",
	.uses_marks = 1,
	.uses_decoder = 1,
	.hp_keys = inf_keys,
	.init = inf_init,
	.forward = inf_forward,
	.backward = inf_backward,
	.release = inf_release,
};
