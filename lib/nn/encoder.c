/*
 * encoder.c - the Time-Series-Library Transformer EncoderLayer (post-norm
 * attention block + Conv1d(k=1) FFN), forward and backward, composed from
 * the layers in layers.c and attention.c.  Every matrix product runs on the
 * stacked [B*N][d] token matrix through multi-threaded BLIS.
 *
 * Dropout streams per layer call: stream+0 attention probabilities,
 * +1 attention output, +2 FFN activation, +3 FFN output (TSLib uses one
 * nn.Dropout module in all four places, with the same p).
 */
#include "nn.h"

#include <string.h>

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

size_t dc_nn_enc_cache_floats(const struct dc_nn_enc_shape *s)
{
	size_t R, Rd, RF, P, t;
	if (dc_mul_size((size_t)s->B, (size_t)s->N, &R) || dc_mul_size(R, (size_t)s->d, &Rd) ||
	    dc_mul_size(R, (size_t)s->F, &RF) || dc_mul_size(R * s->H, (size_t)s->N, &P))
		return 0;
	// q k v o r1 x1 r2 out ; 4 row stats ; h g ; prob
	if (dc_mul_size(up16(Rd), 8, &t) || dc_add_size(t, 4 * up16(R), &t) ||
	    dc_add_size(t, 2 * up16(RF), &t) || dc_add_size(t, up16(P), &t))
		return 0;
	return t;
}

size_t dc_nn_enc_work_floats(const struct dc_nn_enc_shape *s)
{
	size_t R, Rd, RF, P, t;
	if (dc_mul_size((size_t)s->B, (size_t)s->N, &R) || dc_mul_size(R, (size_t)s->d, &Rd) ||
	    dc_mul_size(R, (size_t)s->F, &RF) || dc_mul_size(R * s->H, (size_t)s->N, &P))
		return 0;
	if (dc_mul_size(up16(Rd), 7, &t) || dc_add_size(t, up16(RF), &t) || dc_add_size(t, up16(P), &t))
		return 0;
	return t;
}

void dc_nn_enc_cache_bind(struct dc_nn_enc_cache *c, float *mem, const struct dc_nn_enc_shape *s)
{
	size_t R = (size_t)s->B * s->N, Rd = up16(R * s->d), RF = up16(R * s->F);
	float **rd[] = { &c->q, &c->k, &c->v, &c->o, &c->r1, &c->x1, &c->r2, &c->out };
	for (size_t i = 0; i < sizeof rd / sizeof *rd; i++, mem += Rd)
		*rd[i] = mem;
	float **rs[] = { &c->mean1, &c->rstd1, &c->mean2, &c->rstd2 };
	for (size_t i = 0; i < 4; i++, mem += up16(R))
		*rs[i] = mem;
	c->h = mem;
	mem += RF;
	c->g = mem;
	mem += RF;
	c->prob = mem;
	c->x = NULL;
}

void dc_nn_enc_work_bind(struct dc_nn_enc_work *w, float *mem, const struct dc_nn_enc_shape *s)
{
	size_t R = (size_t)s->B * s->N, Rd = up16(R * s->d), RF = up16(R * s->F);
	float **rd[] = { &w->d1, &w->d2, &w->d3, &w->d4, &w->dq, &w->dk, &w->dv };
	for (size_t i = 0; i < sizeof rd / sizeof *rd; i++, mem += Rd)
		*rd[i] = mem;
	w->dg = mem;
	mem += RF;
	w->datt = mem;
}

static void add_to(float *y, const float *x, size_t n)
{
	int nt = dc_threads();
#pragma omp parallel for simd num_threads(nt) schedule(static) if (n >= 65536)
	for (size_t i = 0; i < n; i++)
		y[i] += x[i];
}

void dc_nn_enc_forward(struct dc_nn_enc_cache *c, const float *x, const struct dc_nn_enc_params *w,
                       const struct dc_nn_enc_shape *s, int train, uint64_t seed, uint64_t stream)
{
	int R = s->B * s->N, d = s->d, F = s->F;
	size_t Rd = (size_t)R * d, RF = (size_t)R * F;
	float p = train ? s->p : 0.0f;
	c->x = x;
	// attention block: q,k,v [R][d] -> o [R][d] -> out_projection
	dc_nn_linear_forward(c->q, x, w->wq, w->bq, R, d, d);
	dc_nn_linear_forward(c->k, x, w->wk, w->bk, R, d, d);
	dc_nn_linear_forward(c->v, x, w->wv, w->bv, R, d, d);
	dc_nn_attention_forward(c->o, c->prob, c->q, c->k, c->v, s->B, s->N, s->H, d / s->H, 0.0f,
	                        p, seed, stream);
	dc_nn_linear_forward(c->r1, c->o, w->wo, w->bo, R, d, d);
	dc_nn_dropout(c->r1, c->r1, Rd, p, seed, stream + 1, 0);
	add_to(c->r1, x, Rd);
	dc_nn_layernorm_forward(c->x1, c->mean1, c->rstd1, c->r1, w->ln1w, w->ln1b, R, d, 1e-5f);
	// FFN: h = conv1(x1) [R][F]; g = drop(act(h)); r2 = x1 + drop(conv2(g))
	dc_nn_linear_forward(c->h, c->x1, w->w1, w->b1, R, d, F);
	if (s->relu)
		dc_nn_relu_forward(c->g, c->h, RF);
	else
		dc_nn_gelu_forward(c->g, c->h, RF);
	dc_nn_dropout(c->g, c->g, RF, p, seed, stream + 2, 0);
	dc_nn_linear_forward(c->r2, c->g, w->w2, w->b2, R, F, d);
	dc_nn_dropout(c->r2, c->r2, Rd, p, seed, stream + 3, 0);
	add_to(c->r2, c->x1, Rd);
	dc_nn_layernorm_forward(c->out, c->mean2, c->rstd2, c->r2, w->ln2w, w->ln2b, R, d, 1e-5f);
}

void dc_nn_enc_backward(float *dx, const float *dout, const struct dc_nn_enc_cache *c,
                        const struct dc_nn_enc_params *w, const struct dc_nn_enc_params *g,
                        struct dc_nn_enc_work *wk, const struct dc_nn_enc_shape *s,
                        uint64_t seed, uint64_t stream)
{
	int R = s->B * s->N, d = s->d, F = s->F;
	size_t Rd = (size_t)R * d, RF = (size_t)R * F;
	float p = s->p;
	float *dr2 = wk->d1, *dx1 = wk->d2, *dr1 = wk->d3, *dO = wk->d4;
	// norm2
	memset(dr2, 0, Rd * sizeof *dr2);
	dc_nn_layernorm_backward(dr2, g->ln2w, g->ln2b, dout, c->r2, c->mean2, c->rstd2, w->ln2w, R, d);
	memcpy(dx1, dr2, Rd * sizeof *dx1);                   /* residual */
	dc_nn_dropout(dr2, dr2, Rd, p, seed, stream + 3, 0);  /* dr2 is now d(conv2 out) */
	memset(wk->dg, 0, RF * sizeof *wk->dg);
	dc_nn_linear_backward(wk->dg, g->w2, g->b2, dr2, c->g, w->w2, R, F, d);
	dc_nn_dropout(wk->dg, wk->dg, RF, p, seed, stream + 2, 0);
	if (s->relu)
		dc_nn_relu_backward(wk->dg, wk->dg, c->h, RF);
	else
		dc_nn_gelu_backward(wk->dg, wk->dg, c->h, RF);
	dc_nn_linear_backward(dx1, g->w1, g->b1, wk->dg, c->x1, w->w1, R, d, F);
	// norm1
	memset(dr1, 0, Rd * sizeof *dr1);
	dc_nn_layernorm_backward(dr1, g->ln1w, g->ln1b, dx1, c->r1, c->mean1, c->rstd1, w->ln1w, R, d);
	memcpy(dx, dr1, Rd * sizeof *dx);                     /* residual (dout no longer read) */
	dc_nn_dropout(dr1, dr1, Rd, p, seed, stream + 1, 0);
	memset(dO, 0, Rd * sizeof *dO);
	dc_nn_linear_backward(dO, g->wo, g->bo, dr1, c->o, w->wo, R, d, d);
	dc_nn_attention_backward(wk->dq, wk->dk, wk->dv, wk->datt, dO, c->prob, c->q, c->k, c->v,
	                         s->B, s->N, s->H, d / s->H, 0.0f, p, seed, stream);
	dc_nn_linear_backward(dx, g->wq, g->bq, wk->dq, c->x, w->wq, R, d, d);
	dc_nn_linear_backward(dx, g->wk, g->bk, wk->dk, c->x, w->wk, R, d, d);
	dc_nn_linear_backward(dx, g->wv, g->bv, wk->dv, c->x, w->wv, R, d, d);
}
