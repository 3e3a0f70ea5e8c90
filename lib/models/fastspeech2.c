/*
 * fastspeech2.c - FastSpeech 2 (ming024/FastSpeech2) inference in f32:
 * the encoder, variance adaptor, length regulator, decoder, mel_linear and
 * postnet of fastspeech2.h, batch of one.  Weights are converted to f32
 * at open into one block; activations are allocated per call.  Layouts
 * are time-major [L][C] as in the reference; the convolutions transpose
 * to [C][L] for dc_conv1d_forward and back.  With one sequence there is no
 * padding, so ming024's masks are all false and are not applied.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastspeech2.h"
#include "../io/safetensors.h"
#include "../ops/ops.h"

#define LN_EPS 1e-5f
#define BN_EPS 1e-5f
#define MAX_LAYERS 64

struct fft_w {
	const float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo, *ln1w, *ln1b;
	const float *w1, *b1, *w2, *b2, *ln2w, *ln2b;
};

struct vp_w {
	const float *c1w, *c1b, *ln1w, *ln1b, *c2w, *c2b, *ln2w, *ln2b, *lw, *lb;
};

struct pn_w {
	const float *w, *b, *bnw, *bnb, *rm, *rv;
	int ic, oc;
};

struct dc_fs2 {
	struct dc_fs2_config cfg;
	float *block;             /* every weight, f32 */
	size_t used, cap;
	const float *word_emb, *enc_pos, *dec_pos, *spk_emb;
	struct fft_w enc[MAX_LAYERS], dec[MAX_LAYERS];
	struct vp_w dur, pitch, energy;
	const float *pitch_bins, *energy_bins, *pitch_emb, *energy_emb;
	const float *mel_w, *mel_b;
	struct pn_w post[MAX_LAYERS];
};

/* ---- loading ---------------------------------------------------------------- */

struct loader {
	struct dc_fs2 *f;
	struct dc_f32_block b;   /* lib/io: check and count, then load */
};

/* Tensor `name` (printf format) of the given shape; pass 0 checks and counts. */
#define wget(L, ...) dc_f32_block_get(&(L)->b, __VA_ARGS__)

#define SH(...) ((const int64_t[]){ __VA_ARGS__ })

static enum dc_status load_fft(struct loader *L, struct fft_w *w, const char *pre, int i,
                               int d, int F, int k0, int k1)
{
	enum dc_status s;
#define G(dst, r, sh, suf) \
	if ((s = wget(L, &w->dst, r, sh, "%s.layer_stack.%d.%s", pre, i, suf))) return s
	G(wq, 2, SH(d, d), "slf_attn.w_qs.weight");
	G(bq, 1, SH(d), "slf_attn.w_qs.bias");
	G(wk, 2, SH(d, d), "slf_attn.w_ks.weight");
	G(bk, 1, SH(d), "slf_attn.w_ks.bias");
	G(wv, 2, SH(d, d), "slf_attn.w_vs.weight");
	G(bv, 1, SH(d), "slf_attn.w_vs.bias");
	G(wo, 2, SH(d, d), "slf_attn.fc.weight");
	G(bo, 1, SH(d), "slf_attn.fc.bias");
	G(ln1w, 1, SH(d), "slf_attn.layer_norm.weight");
	G(ln1b, 1, SH(d), "slf_attn.layer_norm.bias");
	G(w1, 3, SH(F, d, k0), "pos_ffn.w_1.weight");
	G(b1, 1, SH(F), "pos_ffn.w_1.bias");
	G(w2, 3, SH(d, F, k1), "pos_ffn.w_2.weight");
	G(b2, 1, SH(d), "pos_ffn.w_2.bias");
	G(ln2w, 1, SH(d), "pos_ffn.layer_norm.weight");
	G(ln2b, 1, SH(d), "pos_ffn.layer_norm.bias");
#undef G
	return DC_OK;
}

static enum dc_status load_vp(struct loader *L, struct vp_w *w, const char *which, int d, int f,
                              int k)
{
	enum dc_status s;
#define G(dst, r, sh, suf) \
	if ((s = wget(L, &w->dst, r, sh, "variance_adaptor.%s_predictor.%s", which, suf))) return s
	G(c1w, 3, SH(f, d, k), "conv_layer.conv1d_1.conv.weight");
	G(c1b, 1, SH(f), "conv_layer.conv1d_1.conv.bias");
	G(ln1w, 1, SH(f), "conv_layer.layer_norm_1.weight");
	G(ln1b, 1, SH(f), "conv_layer.layer_norm_1.bias");
	G(c2w, 3, SH(f, f, k), "conv_layer.conv1d_2.conv.weight");
	G(c2b, 1, SH(f), "conv_layer.conv1d_2.conv.bias");
	G(ln2w, 1, SH(f), "conv_layer.layer_norm_2.weight");
	G(ln2b, 1, SH(f), "conv_layer.layer_norm_2.bias");
	G(lw, 2, SH(1, f), "linear_layer.weight");
	G(lb, 1, SH(1), "linear_layer.bias");
#undef G
	return DC_OK;
}

static enum dc_status load_all(struct loader *L)
{
	struct dc_fs2 *f = L->f;
	const struct dc_fs2_config *c = &f->cfg;
	int d = c->hidden;
	enum dc_status s;
	if ((s = wget(L, &f->word_emb, 2, SH(c->n_vocab, d), "encoder.src_word_emb.weight")) ||
	    (s = wget(L, &f->enc_pos, 3, SH(1, c->max_seq_len + 1, d), "encoder.position_enc")) ||
	    (s = wget(L, &f->dec_pos, 3, SH(1, c->max_seq_len + 1, d), "decoder.position_enc")))
		return s;
	for (int i = 0; i < c->enc_layers; i++)
		if ((s = load_fft(L, &f->enc[i], "encoder", i, d, c->conv_filter, c->conv_k0,
		                  c->conv_k1)))
			return s;
	for (int i = 0; i < c->dec_layers; i++)
		if ((s = load_fft(L, &f->dec[i], "decoder", i, d, c->conv_filter, c->conv_k0,
		                  c->conv_k1)))
			return s;
	if (c->multi_speaker &&
	    (s = wget(L, &f->spk_emb, 2, SH(c->n_speakers, d), "speaker_emb.weight")))
		return s;
	if ((s = load_vp(L, &f->dur, "duration", d, c->var_filter, c->var_kernel)) ||
	    (s = load_vp(L, &f->pitch, "pitch", d, c->var_filter, c->var_kernel)) ||
	    (s = load_vp(L, &f->energy, "energy", d, c->var_filter, c->var_kernel)) ||
	    (s = wget(L, &f->pitch_bins, 1, SH(c->n_bins - 1), "variance_adaptor.pitch_bins")) ||
	    (s = wget(L, &f->energy_bins, 1, SH(c->n_bins - 1), "variance_adaptor.energy_bins")) ||
	    (s = wget(L, &f->pitch_emb, 2, SH(c->n_bins, d), "variance_adaptor.pitch_embedding.weight")) ||
	    (s = wget(L, &f->energy_emb, 2, SH(c->n_bins, d),
	              "variance_adaptor.energy_embedding.weight")) ||
	    (s = wget(L, &f->mel_w, 2, SH(c->n_mels, d), "mel_linear.weight")) ||
	    (s = wget(L, &f->mel_b, 1, SH(c->n_mels), "mel_linear.bias")))
		return s;
	for (int i = 0; i < c->postnet_layers; i++) {
		struct pn_w *p = &f->post[i];
		p->ic = i == 0 ? c->n_mels : c->postnet_dim;
		p->oc = i == c->postnet_layers - 1 ? c->n_mels : c->postnet_dim;
		int k = c->postnet_kernel;
#define G(dst, r, sh, suf) \
	if ((s = wget(L, &p->dst, r, sh, "postnet.convolutions.%d.%s", i, suf))) return s
		G(w, 3, SH(p->oc, p->ic, k), "0.conv.weight");
		G(b, 1, SH(p->oc), "0.conv.bias");
		G(bnw, 1, SH(p->oc), "1.weight");
		G(bnb, 1, SH(p->oc), "1.bias");
		G(rm, 1, SH(p->oc), "1.running_mean");
		G(rv, 1, SH(p->oc), "1.running_var");
#undef G
	}
	return DC_OK;
}

static enum dc_status cfg_int(const struct dc_model *m, const char *key, int *out, int lo,
                              int hi, int dflt, int have_dflt)
{
	int64_t v;
	enum dc_status s = dc_model_config_int(m, key, &v);
	if (s == DC_ENOTFOUND && have_dflt) {
		dc_clear_error();
		*out = dflt;
		return DC_OK;
	}
	if (s)
		return dc_fail(s, "fastspeech2: config.json: '%s' missing or not an integer", key);
	if (v < lo || v > hi)
		return dc_fail(DC_EFORMAT, "fastspeech2: config.json: '%s' = %lld out of range [%d, %d]",
		               key, (long long)v, lo, hi);
	*out = (int)v;
	return DC_OK;
}

static enum dc_status cfg_level(const struct dc_model *m, const char *key, const char *a,
                                const char *b, int *out)
{
	const char *v;
	if (dc_model_config_string(m, key, &v))
		return dc_fail(DC_EFORMAT, "fastspeech2: config.json: '%s' missing or not a string", key);
	if (!strcmp(v, a))
		*out = 0;
	else if (!strcmp(v, b))
		*out = 1;
	else
		return dc_fail(DC_EFORMAT, "fastspeech2: config.json: '%s' is \"%s\", expected \"%s\" or \"%s\"",
		               key, v, a, b);
	return DC_OK;
}

/* Dim `dim` of tensor `name`, or -1 when absent. */
static int64_t tdim(const struct dc_model *m, const char *name, int dim)
{
	const struct dc_st_tensor *t = dc_model_find(m, name);
	return t && t->rank > dim ? t->shape[dim] : -1;
}

static enum dc_status read_config(struct dc_fs2_config *c, const struct dc_model *m)
{
	enum dc_status s;
	int dh, k[2];
	int64_t kk[4];
	size_t nk;
	const int BIG = 1 << 20;
	if ((s = cfg_int(m, "encoder_layer", &c->enc_layers, 0, MAX_LAYERS, 0, 0)) ||
	    (s = cfg_int(m, "encoder_head", &c->enc_heads, 1, 4096, 0, 0)) ||
	    (s = cfg_int(m, "encoder_hidden", &c->hidden, 1, BIG, 0, 0)) ||
	    (s = cfg_int(m, "decoder_layer", &c->dec_layers, 0, MAX_LAYERS, 0, 0)) ||
	    (s = cfg_int(m, "decoder_head", &c->dec_heads, 1, 4096, 0, 0)) ||
	    (s = cfg_int(m, "decoder_hidden", &dh, 1, BIG, 0, 0)) ||
	    (s = cfg_int(m, "conv_filter_size", &c->conv_filter, 1, BIG, 0, 0)) ||
	    (s = cfg_int(m, "variance_filter_size", &c->var_filter, 1, BIG, 0, 0)) ||
	    (s = cfg_int(m, "variance_kernel_size", &c->var_kernel, 3, 3, 0, 0)) ||
	    (s = cfg_int(m, "n_bins", &c->n_bins, 2, BIG, 0, 0)) ||
	    (s = cfg_int(m, "n_mel_channels", &c->n_mels, 1, BIG, 0, 0)) ||
	    (s = cfg_int(m, "max_seq_len", &c->max_seq_len, 1, BIG, 0, 0)) ||
	    (s = cfg_level(m, "pitch_feature", "phoneme_level", "frame_level", &c->pitch_frame_level)) ||
	    (s = cfg_level(m, "energy_feature", "phoneme_level", "frame_level", &c->energy_frame_level)) ||
	    (s = cfg_level(m, "pitch_quantization", "linear", "log", &c->pitch_log)) ||
	    (s = cfg_level(m, "energy_quantization", "linear", "log", &c->energy_log)))
		return s;
	if (dh != c->hidden)
		return dc_fail(DC_EFORMAT, "fastspeech2: config.json: decoder_hidden %d != encoder_hidden %d",
		               dh, c->hidden);
	if (c->hidden % c->enc_heads || c->hidden % c->dec_heads)
		return dc_fail(DC_EFORMAT, "fastspeech2: config.json: hidden %d not divisible by the heads",
		               c->hidden);
	if (dc_model_config_int_array(m, "conv_kernel_size", kk, 4, &nk) || nk != 2)
		return dc_fail(DC_EFORMAT, "fastspeech2: config.json: 'conv_kernel_size' must be [k0, k1]");
	for (int i = 0; i < 2; i++) {
		if (kk[i] < 1 || kk[i] > 1023 || kk[i] % 2 == 0)
			return dc_fail(DC_EFORMAT, "fastspeech2: config.json: conv_kernel_size %lld must be odd",
			               (long long)kk[i]);
		k[i] = (int)kk[i];
	}
	c->conv_k0 = k[0];
	c->conv_k1 = k[1];
	if (dc_model_config_bool(m, "multi_speaker", &c->multi_speaker))
		return dc_fail(DC_EFORMAT, "fastspeech2: config.json: 'multi_speaker' missing or not a bool");
	int64_t v = tdim(m, "encoder.src_word_emb.weight", 0);
	if ((s = cfg_int(m, "n_src_vocab", &c->n_vocab, 1, 1 << 30, (int)(v > 0 && v < BIG ? v : 0),
	                 v > 0 && v < BIG)))
		return s;
	c->n_speakers = 0;
	if (c->multi_speaker) {
		v = tdim(m, "speaker_emb.weight", 0);
		if ((s = cfg_int(m, "n_speaker", &c->n_speakers, 1, 1 << 30,
		                 (int)(v > 0 && v < BIG ? v : 0), v > 0 && v < BIG)))
			return s;
	}
	v = tdim(m, "postnet.convolutions.0.0.conv.weight", 0);
	int64_t pk = tdim(m, "postnet.convolutions.0.0.conv.weight", 2);
	int nl = 0;
	for (; nl < MAX_LAYERS + 1; nl++) {
		char nm[96];
		snprintf(nm, sizeof nm, "postnet.convolutions.%d.0.conv.weight", nl);
		if (!dc_model_find(m, nm))
			break;
	}
	if ((s = cfg_int(m, "postnet_embedding_dim", &c->postnet_dim, 1, BIG,
	                 (int)(v > 0 && v < BIG ? v : 512), 1)) ||
	    (s = cfg_int(m, "postnet_kernel_size", &c->postnet_kernel, 1, 1023,
	                 (int)(pk > 0 && pk < 1024 ? pk : 5), 1)) ||
	    (s = cfg_int(m, "postnet_n_convolutions", &c->postnet_layers, 2, MAX_LAYERS,
	                 nl >= 2 ? nl : 5, 1)))
		return s;
	if (c->postnet_kernel % 2 == 0)
		return dc_fail(DC_EFORMAT, "fastspeech2: config.json: postnet_kernel_size must be odd");
	return DC_OK;
}

enum dc_status dc_fs2_open(struct dc_fs2 **out, const char *dir)
{
	*out = NULL;
	struct dc_model *m;
	enum dc_status s = dc_model_open(&m, dir);
	if (s)
		return dc_fail_prefixed(s, "fastspeech2");
	struct dc_fs2 *f = dc_calloc(1, sizeof *f);
	if (!f) {
		dc_model_free(m);
		return dc_fail(DC_ENOMEM, "fastspeech2: out of memory");
	}
	struct loader L = { f, { .m = m, .who = "fastspeech2" } };
	if ((s = read_config(&f->cfg, m)) || (s = load_all(&L)))
		goto fail;
	f->cap = L.b.cap;
	if (!(f->block = dc_calloc(f->cap, sizeof(float)))) {
		s = dc_fail(DC_ENOMEM, "fastspeech2: out of memory for %zu weights", f->cap);
		goto fail;
	}
	L.b.block = f->block;
	L.b.pass = 1;
	if ((s = load_all(&L)))
		goto fail;
	f->used = L.b.used;
	/* parameters: everything but the BatchNorm running statistics; trainable:
	 * also without the position tables and the bins */
	{
		const struct dc_fs2_config *c = &f->cfg;
		size_t np = f->used;
		for (int i = 0; i < c->postnet_layers; i++)
			np -= 2 * (size_t)f->post[i].oc;
		f->cfg.n_params = np;
		f->cfg.n_trainable = np - 2 * (size_t)(c->max_seq_len + 1) * c->hidden -
		                      2 * (size_t)(c->n_bins - 1);
	}
	dc_model_free(m);
	*out = f;
	return DC_OK;
fail:
	dc_model_free(m);
	dc_free(f->block);
	dc_free(f);
	return s;
}

void dc_fs2_free(struct dc_fs2 *m)
{
	if (!m)
		return;
	dc_free(m->block);
	dc_free(m);
}

const struct dc_fs2_config *dc_fs2_config(const struct dc_fs2 *m)
{
	return &m->cfg;
}

void dc_fs2_output_free(struct dc_fs2_output *o)
{
	if (!o)
		return;
	dc_free(o->mel);
	dc_free(o->mel_post);
	dc_free(o->durations);
	dc_free(o->log_durations);
	dc_free(o->pitch);
	dc_free(o->energy);
	memset(o, 0, sizeof *o);
}

/* ---- forward ------------------------------------------------------------------ */

/* Scratch for one call: sized for the longest sequence L and widest row. */
struct work {
	float *q, *k, *v, *a, *t1;   /* [L][d] */
	float *ct, *h, *cy;          /* [W][L]: transposed conv in/out (W = max width) */
};

static void transpose(float *dst, const float *src, int R, int C)
{
	for (int r = 0; r < R; r++)
		for (int c = 0; c < C; c++)
			dst[(size_t)c * R + r] = src[(size_t)r * C + c];
}

/* x[L][d] += sinusoid positions: the stored table when L <= max_seq_len,
 * else ming024's get_sinusoid_encoding_table computed afresh. */
static void add_positions(float *x, int L, int d, const float *table, int max_seq_len)
{
	if (L <= max_seq_len) {
		for (size_t i = 0; i < (size_t)L * d; i++)
			x[i] += table[i];
		return;
	}
	for (int p = 0; p < L; p++)
		for (int j = 0; j < d; j++) {
			double ang = (double)p / pow(10000.0, 2.0 * (j / 2) / (double)d);
			x[(size_t)p * d + j] += (float)(j % 2 ? cos(ang) : sin(ang));
		}
}

/* Conv1d on time-major x[L][IC] -> y[L][OC], zero padding pad. */
static void conv_tm(float *y, const float *x, const float *W, const float *b, int L, int IC,
                    int OC, int K, int pad, struct work *w)
{
	transpose(w->ct, x, L, IC);
	dc_conv1d_forward(w->cy, w->ct, W, b, 1, IC, L, OC, K, 1, pad, 1, 1);
	transpose(y, w->cy, OC, L);
}

static void fft_block(float *x, int L, int d, int H, int F, int k0, int k1,
                      const struct fft_w *p, struct work *w)
{
	size_t n = (size_t)L * d;
	int D = d / H;
	dc_linear_forward(w->q, x, p->wq, p->bq, L, d, d);
	dc_linear_forward(w->k, x, p->wk, p->bk, L, d, d);
	dc_linear_forward(w->v, x, p->wv, p->bv, L, d, d);
	dc_attention_forward(w->a, d, w->q, d, w->k, d, w->v, d, L, L, H, D,
	                     (float)(1.0 / sqrt((double)D)), NULL, NULL);
	dc_linear_forward(w->t1, w->a, p->wo, p->bo, L, d, d);
	for (size_t i = 0; i < n; i++)
		w->t1[i] += x[i];
	dc_layernorm_forward(x, w->t1, p->ln1w, p->ln1b, L, d, LN_EPS);
	/* position-wise convs: [d][L] -> [F][L] -> relu -> [d][L] */
	transpose(w->ct, x, L, d);
	dc_conv1d_forward(w->h, w->ct, p->w1, p->b1, 1, d, L, F, k0, 1, (k0 - 1) / 2, 1, 1);
	for (size_t i = 0; i < (size_t)F * L; i++)
		w->h[i] = w->h[i] > 0 ? w->h[i] : 0;
	dc_conv1d_forward(w->cy, w->h, p->w2, p->b2, 1, F, L, d, k1, 1, (k1 - 1) / 2, 1, 1);
	transpose(w->t1, w->cy, d, L);
	for (size_t i = 0; i < n; i++)
		w->t1[i] += x[i];
	dc_layernorm_forward(x, w->t1, p->ln2w, p->ln2b, L, d, LN_EPS);
}

/* VariancePredictor: out[L] from x[L][d]. */
static void var_pred(float *out, const float *x, int L, int d, int f, const struct vp_w *p,
                     struct work *w)
{
	conv_tm(w->q, x, p->c1w, p->c1b, L, d, f, 3, 1, w);
	for (size_t i = 0; i < (size_t)L * f; i++)
		w->q[i] = w->q[i] > 0 ? w->q[i] : 0;
	dc_layernorm_forward(w->q, w->q, p->ln1w, p->ln1b, L, f, LN_EPS);
	conv_tm(w->k, w->q, p->c2w, p->c2b, L, f, f, 3, 1, w);
	for (size_t i = 0; i < (size_t)L * f; i++)
		w->k[i] = w->k[i] > 0 ? w->k[i] : 0;
	dc_layernorm_forward(w->k, w->k, p->ln2w, p->ln2b, L, f, LN_EPS);
	dc_linear_forward(out, w->k, p->lw, p->lb, L, f, 1);
}

/* torch.bucketize(v, bins, right=False): the number of bins < v. */
static int bucketize(float v, const float *bins, int nb)
{
	int lo = 0, hi = nb;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (bins[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* pred[L] = predictor(x) * factor; x += emb[bucketize(pred)]. */
static void variance(float *pred, float *x, int L, const struct dc_fs2 *m, const struct vp_w *p,
                     const float *bins, const float *emb, float factor, struct work *w)
{
	int d = m->cfg.hidden;
	var_pred(pred, x, L, d, m->cfg.var_filter, p, w);
	for (int i = 0; i < L; i++) {
		pred[i] *= factor;
		const float *e = emb + (size_t)bucketize(pred[i], bins, m->cfg.n_bins - 1) * d;
		for (int j = 0; j < d; j++)
			x[(size_t)i * d + j] += e[j];
	}
}

static enum dc_status alloc_f(float **p, size_t a, size_t b)
{
	if (b && a > SIZE_MAX / sizeof(float) / b)
		return dc_fail(DC_EOVERFLOW, "fastspeech2: sizes overflow");
	*p = dc_alloc((a && b ? a * b : 1) * sizeof(float));
	return *p ? DC_OK : dc_fail(DC_ENOMEM, "fastspeech2: out of memory");
}

enum dc_status dc_fs2_synth(const struct dc_fs2 *m, const int *ids, int n, int speaker,
                            const struct dc_fs2_controls *ctl, struct dc_fs2_output *o)
{
	const struct dc_fs2_config *c = &m->cfg;
	struct dc_fs2_controls one = { .duration = 1.0f, .pitch = 1.0f, .energy = 1.0f };
	struct work w = { 0 };
	float *x = NULL, *y = NULL;
	enum dc_status s = DC_OK;
	int d = c->hidden;

	memset(o, 0, sizeof *o);
	if (!ctl)
		ctl = &one;
	if (n <= 0 || !ids)
		return dc_fail(DC_EINVAL, "fastspeech2: empty input (no phones)");
	for (int i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= c->n_vocab)
			return dc_fail(DC_EINVAL, "fastspeech2: phone id %d at %d outside [0, %d)",
			               ids[i], i, c->n_vocab);
	if (c->multi_speaker && (speaker < 0 || speaker >= c->n_speakers))
		return dc_fail(DC_EINVAL, "fastspeech2: speaker %d outside [0, %d)", speaker,
		               c->n_speakers);
	if (!(ctl->duration >= 0 && ctl->duration < 1e6f) || !isfinite(ctl->pitch) ||
	    !isfinite(ctl->energy))
		return dc_fail(DC_EINVAL, "fastspeech2: controls must be finite, duration >= 0");
	float efac = ctl->ming024_energy_bug ? ctl->pitch : ctl->energy;

	o->n_phones = n;
	if ((s = alloc_f(&x, n, d)) || (s = alloc_f(&o->log_durations, n, 1)))
		goto fail;
	if (!(o->durations = dc_calloc(n, sizeof(int)))) {
		s = dc_fail(DC_ENOMEM, "fastspeech2: out of memory");
		goto fail;
	}

	/* ---- encoder ---- */
	int Wd = d > c->conv_filter ? d : c->conv_filter;
	if (c->var_filter > Wd)
		Wd = c->var_filter;
	{
		int L = n;
		if ((s = alloc_f(&w.q, L, Wd)) || (s = alloc_f(&w.k, L, Wd)) ||
		    (s = alloc_f(&w.v, L, d)) || (s = alloc_f(&w.a, L, d)) ||
		    (s = alloc_f(&w.t1, L, d)) || (s = alloc_f(&w.ct, L, Wd)) ||
		    (s = alloc_f(&w.h, L, Wd)) || (s = alloc_f(&w.cy, L, Wd)))
			goto fail;
	}
	for (int i = 0; i < n; i++)
		memcpy(x + (size_t)i * d, m->word_emb + (size_t)ids[i] * d, d * sizeof(float));
	add_positions(x, n, d, m->enc_pos, c->max_seq_len);
	for (int l = 0; l < c->enc_layers; l++)
		fft_block(x, n, d, c->enc_heads, c->conv_filter, c->conv_k0, c->conv_k1, &m->enc[l], &w);
	if (c->multi_speaker)
		for (int i = 0; i < n; i++)
			for (int j = 0; j < d; j++)
				x[(size_t)i * d + j] += m->spk_emb[(size_t)speaker * d + j];

	/* ---- variance adaptor, phone level ---- */
	var_pred(o->log_durations, x, n, d, c->var_filter, &m->dur, &w);
	if (!c->pitch_frame_level) {
		o->n_pitch = n;
		if ((s = alloc_f(&o->pitch, n, 1)))
			goto fail;
		variance(o->pitch, x, n, m, &m->pitch, m->pitch_bins, m->pitch_emb, ctl->pitch, &w);
	}
	if (!c->energy_frame_level) {
		o->n_energy = n;
		if ((s = alloc_f(&o->energy, n, 1)))
			goto fail;
		variance(o->energy, x, n, m, &m->energy, m->energy_bins, m->energy_emb, efac, &w);
	}

	/* ---- durations and length regulator ---- */
	size_t T = 0;
	double cum = 0;     /* carry_rounding: the running sum of the scaled durations */
	long done_frames = 0;
	for (int i = 0; i < n; i++) {
		float r = nearbyintf(expf(o->log_durations[i]) - 1.0f) * ctl->duration;
		if (!(r > 0))
			r = 0;
		if (r > (float)(1 << 24))
			r = (float)(1 << 24);
		if (ctl->carry_rounding) {
			cum += r;
			long upto = lround(cum);
			o->durations[i] = (int)(upto - done_frames);
			done_frames = upto;
		} else {
			o->durations[i] = (int)r;
		}
		T += (size_t)o->durations[i];
	}
	if (T == 0) {
		s = dc_fail(DC_EINVAL, "fastspeech2: the predicted durations sum to zero frames");
		goto fail;
	}
	if (T > (size_t)1 << 24) {
		s = dc_fail(DC_ELIMIT, "fastspeech2: %zu frames is too long", T);
		goto fail;
	}
	int F = (int)T;
	o->frames = F;
	if ((s = alloc_f(&y, T, d)))
		goto fail;
	{
		size_t t = 0;
		for (int i = 0; i < n; i++)
			for (int r = 0; r < o->durations[i]; r++, t++)
				memcpy(y + t * d, x + (size_t)i * d, d * sizeof(float));
	}
	dc_free(x);
	x = NULL;
	dc_free(w.q); dc_free(w.k); dc_free(w.v); dc_free(w.a); dc_free(w.t1);
	dc_free(w.ct); dc_free(w.h); dc_free(w.cy);
	memset(&w, 0, sizeof w);
	int Wp = Wd > c->postnet_dim ? Wd : c->postnet_dim;
	if (c->n_mels > Wp)
		Wp = c->n_mels;
	if ((s = alloc_f(&w.q, T, Wp)) || (s = alloc_f(&w.k, T, Wp)) ||
	    (s = alloc_f(&w.v, T, d)) || (s = alloc_f(&w.a, T, d)) ||
	    (s = alloc_f(&w.t1, T, d)) || (s = alloc_f(&w.ct, T, Wp)) ||
	    (s = alloc_f(&w.h, T, Wp)) || (s = alloc_f(&w.cy, T, Wp)))
		goto fail;

	/* ---- variance adaptor, frame level ---- */
	if (c->pitch_frame_level) {
		o->n_pitch = F;
		if ((s = alloc_f(&o->pitch, T, 1)))
			goto fail;
		variance(o->pitch, y, F, m, &m->pitch, m->pitch_bins, m->pitch_emb, ctl->pitch, &w);
	}
	if (c->energy_frame_level) {
		o->n_energy = F;
		if ((s = alloc_f(&o->energy, T, 1)))
			goto fail;
		variance(o->energy, y, F, m, &m->energy, m->energy_bins, m->energy_emb, efac, &w);
	}

	/* ---- decoder, mel_linear ---- */
	add_positions(y, F, d, m->dec_pos, c->max_seq_len);
	for (int l = 0; l < c->dec_layers; l++)
		fft_block(y, F, d, c->dec_heads, c->conv_filter, c->conv_k0, c->conv_k1, &m->dec[l], &w);
	if ((s = alloc_f(&o->mel, T, c->n_mels)) || (s = alloc_f(&o->mel_post, T, c->n_mels)))
		goto fail;
	dc_linear_forward(o->mel, y, m->mel_w, m->mel_b, F, d, c->n_mels);

	/* ---- postnet on [C][T] ---- */
	{
		float *cur = w.q, *nxt = w.k;
		transpose(cur, o->mel, F, c->n_mels);
		for (int l = 0; l < c->postnet_layers; l++) {
			const struct pn_w *p = &m->post[l];
			dc_conv1d_forward(nxt, cur, p->w, p->b, 1, p->ic, F, p->oc, c->postnet_kernel, 1,
			                  (c->postnet_kernel - 1) / 2, 1, 1);
			int last = l == c->postnet_layers - 1;
			for (int ch = 0; ch < p->oc; ch++) {
				float inv = 1.0f / sqrtf(p->rv[ch] + BN_EPS);
				float *r = nxt + (size_t)ch * F;
				for (int t = 0; t < F; t++) {
					float v = (r[t] - p->rm[ch]) * inv * p->bnw[ch] + p->bnb[ch];
					r[t] = last ? v : tanhf(v);
				}
			}
			float *tmp = cur;
			cur = nxt;
			nxt = tmp;
		}
		transpose(o->mel_post, cur, c->n_mels, F);
		for (size_t i = 0; i < T * (size_t)c->n_mels; i++)
			o->mel_post[i] += o->mel[i];
	}
fail:
	dc_free(x);
	dc_free(y);
	dc_free(w.q); dc_free(w.k); dc_free(w.v); dc_free(w.a); dc_free(w.t1);
	dc_free(w.ct); dc_free(w.h); dc_free(w.cy);
	return s;
}
