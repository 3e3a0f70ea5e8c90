/*
 * spk.c - speaker-embedding networks (see spk.h): SpeechBrain's ECAPA-TDNN
 * and Xvector, and mechanicalsea/sugar's DynamicTDNN (EfficientTDNN)
 * sub-networks, transcribed from speechbrain/lobes/models/ECAPA_TDNN.py,
 * speechbrain/lobes/models/Xvector.py, speechbrain/nnet/{CNN,pooling}.py
 * and sugar/models/dynamictdnn.py + sugar/modules/dynamicarch.py.
 *
 *   TDNNBlock(x)      = BN(ReLU(conv(x)))          conv "same", REFLECT padding
 *   SERes2NetBlock(x) = SE(tdnn2(res2(tdnn1(x)))) + (shortcut(x) or x)
 *     res2: chunks h_0..h_{s-1}; y_0 = h_0, y_1 = blk_0(h_1),
 *           y_i = blk_{i-1}(h_i + y_{i-1})
 *     SE:   x * sigmoid(W2 relu(W1 mean_t(x) + b1) + b2)
 *   ECAPA  = blocks.0 (TDNN), SERes2Net blocks, MFA = TDNN(cat(block outs)),
 *            ASP (attention over [x, mean, std] or x: TDNN -> tanh -> conv
 *            -> softmax over time; weighted mean and std, eps 1e-12),
 *            asp_bn, fc
 *   Xvector = (conv -> LeakyReLU(0.01) -> BN) x n, mean and unbiased
 *            std (+1e-5), Linear
 *   DynamicTDNN = layer1 (conv zero-pad, no bias, ReLU, BN); per block:
 *            first_conv, res2 (chunks 0..s-2 through convs, sp_i =
 *            conv_i(x_i + sp_{i-1}), chunk s-1 passed last), last_conv, SE
 *            (Linear, reduction 4), + running sum of block outputs (dense);
 *            catconv (no bias) on cat(block outs) -> ReLU; attentive stats
 *            pool (no global context, no bias, std = sqrt(max(var, 1e-9)));
 *            bnpool; linear; bnembed
 *
 * Activations are time-major, x[T][C] (the features' own layout).  A
 * convolution of kernel k, dilation d is one BLIS GEMM:
 * y[T][OC] = col[T][k*IC] . W'[OC][k*IC]^T with col the k shifted copies of
 * the padded input rows (no im2col for k = 1), and W' the weight
 * rearranged at load to [oc][k][ic].  Bias, activation and BatchNorm (eval:
 * x*s + t, s = w/sqrt(var+eps), t = b - mean*s, eps 1e-5) are one sweep
 * over the GEMM output rows.  The ASP global-context convolution multiplies
 * only the C time-varying input channels; the mean/std channels, constant
 * in time, fold into a per-utterance bias (a third of that layer's MACs;
 * dc_spk_macs still counts the reference's).  Reductions over time (means,
 * softmax, statistics) and the per-utterance layers (SE, fc) run in double,
 * each channel's sum in time order, so results do not depend on the thread
 * count (BLIS does not split the GEMM's reduction either).  One forward
 * allocates its activations at once (about T * 6k floats for the C=512
 * ECAPA: the blocks' temporaries and the pooling's share a region).
 * dc_spk_set_precision swaps the f32 BLIS GEMMs for bf16/int8 packed-weight
 * ones (dc_gemm_wpack).
 *
 * All weights are converted to f32 (from F32/F16/BF16/F64) and, for
 * EfficientTDNN, sliced to the chosen sub-network when the model is
 * opened; the checkpoint is closed afterwards.
 */
#include "spk.h"

#include "../io/safetensors.h"
#include "../ops/ops.h"
#include "../ops/vmath.h"
#include "../signal/signal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BN_EPS 1e-5
#define MAX_CH 65536
#define MAX_K 63
#define MAX_DIL 1024
#define MAX_SCALE 64
#define MAX_FRAMES 10000000u     /* ~28 h of 10 ms frames */
#define LEAKY_SLOPE 0.01f

/* y = x*s + t per channel (eval BatchNorm) */
struct bn {
	float *s, *t;
};

/* time-major conv1d, output length = input length ("same"): w[oc][ldw]
 * holds W[oc][ic][k] as [oc][k*ic + i] (ldw = k*ic; for the ASP
 * global-context conv ic = 3C and only the first C columns are GEMMed). */
struct conv {
	float *w, *b;             /* b may be NULL */
	int ic, oc, k, dil, pad, reflect, ldw;
	struct dc_wpack pk;       /* dc_spk_set_precision: packed w (first kk columns) */
	int kk;                   /* GEMM reduction length (k*ic; C for the ASP gc conv) */
};

struct tdnn {
	struct conv c;
	struct bn n;              /* n.s NULL: no BatchNorm */
};

/* ECAPA SERes2NetBlock / DynamicTDNN block */
struct blk {
	struct tdnn first, last;  /* tdnn1/first_conv, tdnn2/last_conv */
	struct tdnn *res;         /* nres res2 convolutions */
	int nres, scale, w;       /* chunk width */
	struct conv se1, se2;     /* k = 1 */
	struct conv sc;           /* ECAPA shortcut; sc.w NULL if none */
	int cin, c;               /* input, output channels */
	int mid;                  /* res2 channels (scale * w) */
};

struct dc_spk {
	struct dc_spk_config cfg;
	int min_frames;
	size_t nparams;
	double macs_frame, macs_fixed;
	int in;                   /* input feature channels */
	struct tdnn first;        /* ECAPA blocks.0, etdnn layer1 */
	struct tdnn lay[DC_SPK_MAX_LAYERS];  /* xvector blocks */
	int nlay;
	struct blk blk[DC_SPK_MAX_LAYERS];
	int nblk, cat_c;          /* blocks, channels of their concatenation */
	struct tdnn mfa;          /* ECAPA mfa, etdnn catconv (no BN) */
	struct tdnn att;          /* asp.tdnn / pooling.linear1 (no bias, no BN) */
	struct conv att2;         /* asp.conv / pooling.linear2 */
	int gc;                   /* ASP global context */
	int pool_c;               /* channels pooled */
	struct bn pool_bn;        /* asp_bn / bnpool; s NULL for xvector */
	struct conv out;          /* fc / linear / xvector Linear */
	struct bn emb_bn;         /* etdnn bnembed */
	void **bufs;              /* owned f32 parameter buffers */
	size_t nbufs, capbufs;
};

/* ---- open: configuration ---------------------------------------------------------- */

struct ld {
	struct dc_model *mdl;
	struct dc_spk *m;
	const char *dir;
};

static enum dc_status cfail(const struct ld *L, enum dc_status st)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s", dc_errmsg());
	return dc_fail(st, "%s: %s", L->dir, msg);
}

static enum dc_status get_int(const struct ld *L, const char *key, int def, int lo, int hi,
                              int *out)
{
	const struct dc_config *c = dc_model_config(L->mdl);
	int64_t v;
	enum dc_status st;
	if (!dc_config_has(c, key)) {
		if (def == INT32_MIN)
			return dc_fail(DC_ENOTFOUND, "%s: config.json: no key '%s'", L->dir, key);
		*out = def;
		return DC_OK;
	}
	if ((st = dc_config_int(c, key, &v)) != DC_OK)
		return cfail(L, st);
	if (v < lo || v > hi)
		return dc_fail(DC_EFORMAT, "%s: config.json: '%s' = %lld is out of range [%d, %d]",
		               L->dir, key, (long long)v, lo, hi);
	*out = (int)v;
	return DC_OK;
}

static enum dc_status get_ints(const struct ld *L, const char *key, int lo, int hi, int *out,
                               int *n, int required)
{
	const struct dc_config *c = dc_model_config(L->mdl);
	int64_t v[DC_SPK_MAX_LAYERS];
	size_t k;
	enum dc_status st;
	if (!dc_config_has(c, key)) {
		if (required)
			return dc_fail(DC_ENOTFOUND, "%s: config.json: no key '%s'", L->dir, key);
		*n = 0;
		return DC_OK;
	}
	st = dc_config_int_array(c, key, v, DC_SPK_MAX_LAYERS, &k);
	if (st == DC_ELIMIT)
		return dc_fail(DC_ELIMIT, "%s: config.json: '%s' has more than %d entries", L->dir,
		               key, DC_SPK_MAX_LAYERS);
	if (st != DC_OK)
		return cfail(L, st);
	for (size_t i = 0; i < k; i++) {
		if (v[i] < lo || v[i] > hi)
			return dc_fail(DC_EFORMAT, "%s: config.json: '%s'[%zu] = %lld is out of range "
			               "[%d, %d]", L->dir, key, i, (long long)v[i], lo, hi);
		out[i] = (int)v[i];
	}
	*n = (int)k;
	return DC_OK;
}

static enum dc_status parse_config(const struct ld *L, struct dc_spk_config *cf)
{
	const struct dc_config *c = dc_model_config(L->mdl);
	const char *s;
	enum dc_status st;
	int n, nk, nd;

	memset(cf, 0, sizeof *cf);
	if ((st = dc_config_string(c, "arch", &s)) != DC_OK)
		return cfail(L, st);
	if (!strcmp(s, "ecapa"))
		cf->arch = DC_SPK_ECAPA;
	else if (!strcmp(s, "xvector"))
		cf->arch = DC_SPK_XVECTOR;
	else if (!strcmp(s, "etdnn"))
		cf->arch = DC_SPK_ETDNN;
	else
		return dc_fail(DC_EUNSUPPORTED, "%s: config.json: arch '%s' is not ecapa, xvector "
		               "or etdnn", L->dir, s);
	if ((st = get_int(L, "in_channels", INT32_MIN, 1, MAX_CH, &cf->in_channels)) ||
	    (st = get_int(L, "lin_neurons", INT32_MIN, 1, MAX_CH, &cf->lin_neurons)) ||
	    (st = get_ints(L, "channels", 1, MAX_CH, cf->channels, &n, 1)) ||
	    (st = get_ints(L, "kernel_sizes", 1, MAX_K, cf->kernel_sizes, &nk, 1)) ||
	    (st = get_ints(L, "dilations", 1, MAX_DIL, cf->dilations, &nd,
	                   cf->arch != DC_SPK_ETDNN)))
		return st;
	cf->nlayers = n;
	if (nk != n || (nd != n && cf->arch != DC_SPK_ETDNN) ||
	    (cf->arch == DC_SPK_ETDNN && nd != 0 && nd != n))
		return dc_fail(DC_EFORMAT, "%s: config.json: channels, kernel_sizes and dilations "
		               "have %d, %d and %d entries", L->dir, n, nk, nd);
	for (int i = 0; i < n; i++)
		if (cf->kernel_sizes[i] % 2 == 0)
			return dc_fail(DC_EFORMAT, "%s: config.json: kernel_sizes[%d] = %d is even "
			               "('same' padding needs odd kernels)", L->dir, i,
			               cf->kernel_sizes[i]);
	if ((cf->arch == DC_SPK_ECAPA && n < 3) || (cf->arch == DC_SPK_XVECTOR && n < 1) ||
	    (cf->arch == DC_SPK_ETDNN && n < 3))
		return dc_fail(DC_EFORMAT, "%s: config.json: %d channels entries are too few for "
		               "%s", L->dir, n, s);
	if ((st = get_int(L, "attention_channels", 128, 1, MAX_CH, &cf->attention_channels)) ||
	    (st = get_int(L, "res2net_scale", 8, 1, MAX_SCALE, &cf->res2net_scale)) ||
	    (st = get_int(L, "se_channels", 128, 1, MAX_CH, &cf->se_channels)))
		return st;
	cf->global_context = 1;
	if (dc_config_has(c, "global_context") &&
	    (st = dc_config_bool(c, "global_context", &cf->global_context)) != DC_OK)
		return cfail(L, st);

	if (cf->arch == DC_SPK_ETDNN) {
		int nb = n - 2, nw, nkk;
		for (int i = 0; i < n; i++) {
			int d = (i == 0 || i == n - 1) ? 1 : i + 1;
			if (nd && cf->dilations[i] != d)
				return dc_fail(DC_EFORMAT, "%s: config.json: dilations[%d] = %d, but "
				               "DynamicTDNN's are fixed (layer1 1, block i i+2: %d)",
				               L->dir, i, cf->dilations[i], d);
			cf->dilations[i] = d;
		}
		for (int i = 0; i < n - 1; i++)
			if (cf->kernel_sizes[i] > 7)
				return dc_fail(DC_EUNSUPPORTED, "%s: config.json: supernet kernel %d: "
				               "sugar's DynamicConv1d shrinks kernels up to 7", L->dir,
				               cf->kernel_sizes[i]);
		if (cf->kernel_sizes[n - 1] != 1)
			return dc_fail(DC_EFORMAT, "%s: config.json: the catconv kernel_sizes entry "
			               "must be 1", L->dir);
		if ((st = get_int(L, "depth", nb, 1, nb, &cf->depth)) ||
		    (st = get_ints(L, "widths", 1, MAX_CH, cf->widths, &nw, 0)) ||
		    (st = get_ints(L, "kernels", 1, 7, cf->kernels, &nkk, 0)) ||
		    (st = get_int(L, "cat_channels", cf->channels[n - 1], 1, cf->channels[n - 1],
		                  &cf->cat_channels)))
			return st;
		if (nw == 0)
			for (nw = 0; nw <= cf->depth; nw++)
				cf->widths[nw] = cf->channels[nw];
		if (nkk == 0)
			for (nkk = 0; nkk <= cf->depth; nkk++)
				cf->kernels[nkk] = cf->kernel_sizes[nkk];
		if (nw != cf->depth + 1 || nkk != cf->depth + 1)
			return dc_fail(DC_EFORMAT, "%s: config.json: depth %d needs %d widths and "
			               "kernels, not %d and %d", L->dir, cf->depth, cf->depth + 1, nw,
			               nkk);
		for (int i = 0; i <= cf->depth; i++) {
			if (cf->widths[i] > cf->channels[i])
				return dc_fail(DC_EFORMAT, "%s: config.json: widths[%d] = %d exceeds the "
				               "supernet's %d", L->dir, i, cf->widths[i], cf->channels[i]);
			if (cf->kernels[i] % 2 == 0 || cf->kernels[i] > cf->kernel_sizes[i])
				return dc_fail(DC_EFORMAT, "%s: config.json: kernels[%d] = %d: must be odd "
				               "and at most the supernet's %d", L->dir, i, cf->kernels[i],
				               cf->kernel_sizes[i]);
			if (i > 0 && (cf->channels[i] % cf->res2net_scale ||
			              cf->widths[i] < cf->res2net_scale))
				return dc_fail(DC_EFORMAT, "%s: config.json: block width %d (supernet %d) "
				               "does not split into res2net_scale %d chunks", L->dir,
				               cf->widths[i], cf->channels[i], cf->res2net_scale);
		}
		if (cf->channels[0] % 4 || cf->widths[0] < 4)
			return dc_fail(DC_EFORMAT, "%s: config.json: layer1 width %d (supernet %d) "
			               "does not fit the SE reduction 4", L->dir, cf->widths[0],
			               cf->channels[0]);
	} else if (cf->arch == DC_SPK_ECAPA) {
		int sum = 0;
		for (int i = 1; i < n - 1; i++) {
			if (cf->channels[i] % cf->res2net_scale)
				return dc_fail(DC_EFORMAT, "%s: config.json: channels[%d] = %d is not a "
				               "multiple of res2net_scale %d", L->dir, i, cf->channels[i],
				               cf->res2net_scale);
			sum += cf->channels[i];
		}
		if (sum != cf->channels[n - 2] * (n - 2))
			return dc_fail(DC_EFORMAT, "%s: config.json: the SE-Res2Net blocks' channels "
			               "differ (SpeechBrain's MFA takes channels[-2] * %d inputs)",
			               L->dir, n - 2);
	}

	/* front end */
	cf->frontend = DC_FRONT_KALDI;
	cf->num_mel_bins = cf->in_channels;
	cf->cmn = 1;
	cf->sample_rate = 16000;
	cf->dither = 0;
	if (dc_config_has(c, "frontend.type")) {
		if ((st = dc_config_string(c, "frontend.type", &s)) != DC_OK)
			return cfail(L, st);
		if (!strcmp(s, "speechbrain"))
			cf->frontend = DC_FRONT_SPEECHBRAIN;
		else if (strcmp(s, "kaldi"))
			return dc_fail(DC_EUNSUPPORTED, "%s: config.json: frontend.type '%s' is not "
			               "kaldi or speechbrain", L->dir, s);
	}
	if ((st = get_int(L, "frontend.num_mel_bins", cf->in_channels, 1, MAX_CH,
	                  &cf->num_mel_bins)))
		return st;
	if (cf->num_mel_bins != cf->in_channels)
		return dc_fail(DC_EFORMAT, "%s: config.json: frontend.num_mel_bins %d differs from "
		               "in_channels %d", L->dir, cf->num_mel_bins, cf->in_channels);
	if (dc_config_has(c, "frontend.cmn") &&
	    (st = dc_config_bool(c, "frontend.cmn", &cf->cmn)) != DC_OK)
		return cfail(L, st);
	if (dc_config_has(c, "frontend.sample_rate") &&
	    (st = dc_config_double(c, "frontend.sample_rate", &cf->sample_rate)) != DC_OK)
		return cfail(L, st);
	if (dc_config_has(c, "frontend.dither") &&
	    (st = dc_config_double(c, "frontend.dither", &cf->dither)) != DC_OK)
		return cfail(L, st);
	if (!(cf->sample_rate >= 1000 && cf->sample_rate <= 384000) ||
	    cf->sample_rate != floor(cf->sample_rate))
		return dc_fail(DC_EFORMAT, "%s: config.json: frontend.sample_rate %g is not an "
		               "integer rate in [1000, 384000]", L->dir, cf->sample_rate);
	if (!(cf->dither >= 0 && cf->dither <= 1e6))
		return dc_fail(DC_EFORMAT, "%s: config.json: frontend.dither %g is out of range",
		               L->dir, cf->dither);
	return DC_OK;
}

/* ---- open: tensors -------------------------------------------------------------------- */

static void *keep_bytes(struct dc_spk *m, size_t bytes)
{
	void *p;
	if (m->nbufs == m->capbufs) {
		size_t cap = m->capbufs ? 2 * m->capbufs : 64;
		void **nb = realloc(m->bufs, cap * sizeof *nb);
		if (!nb)
			return NULL;
		m->bufs = nb;
		m->capbufs = cap;
	}
	p = dc_calloc(1, bytes);
	if (p)
		m->bufs[m->nbufs++] = p;
	return p;
}

static float *keep(struct dc_spk *m, size_t n)
{
	return keep_bytes(m, n * sizeof(float));
}

/* Tensor `name` (printf format) of shape d[0..rank) as f32: into a kept
 * buffer (tmp 0) or a dc_alloc'd one the caller frees (tmp 1). */
static enum dc_status DC_PRINTF(6, 7)
tload(struct ld *L, float **out, int tmp, int rank, const int64_t *d, const char *fmt, ...)
{
	char name[256];
	const struct dc_st_tensor *t;
	enum dc_status st;
	va_list ap;
	float *p;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	if ((st = dc_model_find_checked(L->mdl, name, rank, d, &t)) != DC_OK)
		return cfail(L, st);
	p = tmp ? dc_alloc(t->numel * sizeof(float)) : keep(L->m, t->numel);
	if (!p)
		return dc_fail(DC_ENOMEM, "%s: out of memory loading '%s'", L->dir, name);
	dc_convert_to_f32(p, t->data, t->dtype, t->numel);
	*out = p;
	return DC_OK;
}

#define SHAPE(...) ((const int64_t[]){ __VA_ARGS__ })

/* conv from W[oc][ic][k] (any row/col selection already applied): rearranged copy */
static enum dc_status conv_set(struct dc_spk *m, struct conv *c, const float *W, float *b,
                               int oc, int ic, int k, int dil, int reflect)
{
	size_t ldw = (size_t)k * ic;
	c->w = keep(m, (size_t)oc * ldw);
	if (!c->w)
		return dc_fail(DC_ENOMEM, "out of memory");
	for (int o = 0; o < oc; o++)
		for (int i = 0; i < ic; i++)
			for (int j = 0; j < k; j++)
				c->w[o * ldw + (size_t)j * ic + i] = W[((size_t)o * ic + i) * k + j];
	c->b = b;
	c->ic = ic;
	c->oc = oc;
	c->k = k;
	c->dil = dil;
	c->pad = (k - 1) / 2 * dil;
	c->reflect = reflect;
	c->ldw = (int)ldw;
	c->kk = (int)ldw;
	m->nparams += (size_t)oc * ldw + (b ? (size_t)oc : 0);
	m->macs_frame += (double)oc * ldw;
	return DC_OK;
}

/* SpeechBrain Conv1d `pre`.conv.{weight,bias} (the nn.Conv1d inside) */
static enum dc_status sb_conv(struct ld *L, struct conv *c, const char *pre, int ic, int oc,
                              int k, int dil, int bias)
{
	float *W, *b = NULL;
	enum dc_status st;
	if ((st = tload(L, &W, 1, 3, SHAPE(oc, ic, k), "%s.conv.weight", pre)))
		return st;
	if (bias && (st = tload(L, &b, 0, 1, SHAPE(oc), "%s.conv.bias", pre))) {
		dc_free(W);
		return st;
	}
	st = conv_set(L->m, c, W, b, oc, ic, k, dil, 1);
	dc_free(W);
	return st;
}

/* BatchNorm from its four vectors, channels sel[0..c) (sel NULL: 0..c-1) */
static enum dc_status bn_make(struct ld *L, struct bn *n, const char *pre, int full,
                              const int *sel, int c)
{
	float *v[4];
	static const char *leaf[4] = { "weight", "bias", "running_mean", "running_var" };
	enum dc_status st = DC_OK;
	int i;
	for (i = 0; i < 4; i++)
		if ((st = tload(L, &v[i], 1, 1, SHAPE(full), "%s.%s", pre, leaf[i])))
			break;
	if (st == DC_OK) {
		n->s = keep(L->m, (size_t)c);
		n->t = keep(L->m, (size_t)c);
		if (!n->s || !n->t)
			st = dc_fail(DC_ENOMEM, "out of memory");
		for (int j = 0; st == DC_OK && j < c; j++) {
			int q = sel ? sel[j] : j;
			double s = v[0][q] / sqrt((double)v[3][q] + BN_EPS);
			n->s[j] = (float)s;
			n->t[j] = (float)(v[1][q] - v[2][q] * s);
		}
		L->m->nparams += 2 * (size_t)c;
	}
	while (i-- > 0)
		dc_free(v[i]);
	return st;
}

/* SpeechBrain TDNNBlock `pre` (conv.conv.*, norm.norm.*) */
static enum dc_status sb_tdnn(struct ld *L, struct tdnn *t, const char *pre, int ic, int oc,
                              int k, int dil)
{
	char p[200];
	enum dc_status st;
	snprintf(p, sizeof p, "%s.conv", pre);
	if ((st = sb_conv(L, &t->c, p, ic, oc, k, dil, 1)))
		return st;
	snprintf(p, sizeof p, "%s.norm.norm", pre);
	return bn_make(L, &t->n, p, oc, NULL, oc);
}

static enum dc_status open_ecapa(struct ld *L)
{
	struct dc_spk *m = L->m;
	const struct dc_spk_config *cf = &m->cfg;
	int n = cf->nlayers, cl = cf->channels[n - 1], a = cf->attention_channels;
	char p[200];
	enum dc_status st;

	if ((st = sb_tdnn(L, &m->first, "blocks.0", cf->in_channels, cf->channels[0],
	                  cf->kernel_sizes[0], cf->dilations[0])))
		return st;
	m->nblk = n - 2;
	m->cat_c = 0;
	for (int i = 1; i < n - 1; i++) {
		struct blk *b = &m->blk[i - 1];
		int cin = cf->channels[i - 1], c = cf->channels[i], s = cf->res2net_scale;
		b->cin = cin;
		b->c = c;
		b->mid = c;
		b->scale = s;
		b->w = c / s;
		b->nres = s - 1;
		snprintf(p, sizeof p, "blocks.%d.tdnn1", i);
		if ((st = sb_tdnn(L, &b->first, p, cin, c, 1, 1)))
			return st;
		if (b->nres > 0) {
			b->res = keep_bytes(m, sizeof(struct tdnn) * (size_t)b->nres);
			if (!b->res)
				return dc_fail(DC_ENOMEM, "out of memory");
		}
		for (int j = 0; j < b->nres; j++) {
			snprintf(p, sizeof p, "blocks.%d.res2net_block.blocks.%d", i, j);
			if ((st = sb_tdnn(L, &b->res[j], p, b->w, b->w, cf->kernel_sizes[i],
			                  cf->dilations[i])))
				return st;
		}
		snprintf(p, sizeof p, "blocks.%d.tdnn2", i);
		if ((st = sb_tdnn(L, &b->last, p, c, c, 1, 1)))
			return st;
		snprintf(p, sizeof p, "blocks.%d.se_block.conv1", i);
		if ((st = sb_conv(L, &b->se1, p, c, cf->se_channels, 1, 1, 1)))
			return st;
		snprintf(p, sizeof p, "blocks.%d.se_block.conv2", i);
		if ((st = sb_conv(L, &b->se2, p, cf->se_channels, c, 1, 1, 1)))
			return st;
		/* the SE convs run once per utterance, not per frame */
		m->macs_frame -= 2.0 * c * cf->se_channels;
		m->macs_fixed += 2.0 * c * cf->se_channels;
		if (cin != c) {
			snprintf(p, sizeof p, "blocks.%d.shortcut", i);
			if ((st = sb_conv(L, &b->sc, p, cin, c, 1, 1, 1)))
				return st;
		}
		m->cat_c += c;
	}
	if ((st = sb_tdnn(L, &m->mfa, "mfa", m->cat_c, cl, cf->kernel_sizes[n - 1],
	                  cf->dilations[n - 1])))
		return st;
	m->gc = cf->global_context;
	if ((st = sb_tdnn(L, &m->att, "asp.tdnn", m->gc ? 3 * cl : cl, a, 1, 1)) ||
	    (st = sb_conv(L, &m->att2, "asp.conv", a, cl, 1, 1, 1)) ||
	    (st = bn_make(L, &m->pool_bn, "asp_bn.norm", 2 * cl, NULL, 2 * cl)) ||
	    (st = sb_conv(L, &m->out, "fc", 2 * cl, cf->lin_neurons, 1, 1, 1)))
		return st;
	if (m->gc)
		m->att.c.kk = cl;   /* the mean/std inputs fold into a per-utterance bias */
	m->pool_c = cl;
	m->macs_frame -= 2.0 * cl * cf->lin_neurons;
	m->macs_fixed += 2.0 * cl * cf->lin_neurons;
	m->in = cf->in_channels;
	m->min_frames = 1;
	for (int i = 0; i < n; i++) {
		int pad = (cf->kernel_sizes[i] - 1) / 2 * cf->dilations[i];
		if (pad + 1 > m->min_frames)
			m->min_frames = pad + 1;
	}
	return DC_OK;
}

static enum dc_status open_xvector(struct ld *L)
{
	struct dc_spk *m = L->m;
	const struct dc_spk_config *cf = &m->cfg;
	int n = cf->nlayers, in = cf->in_channels;
	char p[200];
	enum dc_status st;

	m->nlay = n;
	m->min_frames = 2;
	for (int i = 0; i < n; i++) {
		struct tdnn *t = &m->lay[i];
		int pad = (cf->kernel_sizes[i] - 1) / 2 * cf->dilations[i];
		snprintf(p, sizeof p, "blocks.%d", 3 * i);
		if ((st = sb_conv(L, &t->c, p, in, cf->channels[i], cf->kernel_sizes[i],
		                  cf->dilations[i], 1)))
			return st;
		snprintf(p, sizeof p, "blocks.%d.norm", 3 * i + 2);
		if ((st = bn_make(L, &t->n, p, cf->channels[i], NULL, cf->channels[i])))
			return st;
		in = cf->channels[i];
		if (pad + 1 > m->min_frames)
			m->min_frames = pad + 1;
	}
	{
		float *W, *b;
		if ((st = tload(L, &W, 1, 2, SHAPE(cf->lin_neurons, 2 * in), "blocks.%d.w.weight",
		                3 * n + 1)))
			return st;
		st = tload(L, &b, 0, 1, SHAPE(cf->lin_neurons), "blocks.%d.w.bias", 3 * n + 1);
		if (st == DC_OK)
			st = conv_set(m, &m->out, W, b, cf->lin_neurons, 2 * in, 1, 1, 0);
		dc_free(W);
		if (st)
			return st;
	}
	m->pool_c = in;
	m->macs_frame -= 2.0 * in * cf->lin_neurons;
	m->macs_fixed += 2.0 * in * cf->lin_neurons;
	m->in = cf->in_channels;
	return DC_OK;
}

/* sugar DynamicConv1d.weight for an active kernel k: the centre taps of
 * W[o][i][K] through k75, k53, k31 in turn (W is replaced, freed). */
static enum dc_status kshrink(struct ld *L, float **W, int o, int i, int K, int k,
                              const char *pre)
{
	static const struct { int from; const char *key; } step[3] = {
		{ 7, "k75" }, { 5, "k53" }, { 3, "k31" } };
	enum dc_status st;
	for (int s = 0; s < 3; s++) {
		int kf = step[s].from, kt = kf - 2;
		float *km, *nw;
		if (!(K >= kf && k < kf))
			continue;
		/* K here is the current width: K >= kf means K == kf after earlier steps */
		if ((st = tload(L, &km, 1, 2, SHAPE(kt, kt), "%s.%s", pre, step[s].key)))
			return st;
		nw = dc_alloc((size_t)o * i * kt * sizeof(float));
		if (!nw) {
			dc_free(km);
			return dc_fail(DC_ENOMEM, "out of memory");
		}
		for (size_t r = 0; r < (size_t)o * i; r++)
			for (int j = 0; j < kt; j++) {
				double acc = 0;
				for (int q = 0; q < kt; q++)
					acc += (double)(*W)[r * K + 1 + q] * km[q * kt + j];
				nw[r * kt + j] = (float)acc;
			}
		dc_free(km);
		dc_free(*W);
		*W = nw;
		K = kt;
	}
	return DC_OK;
}

/* rows rsel[0..ro) (NULL: 0..ro-1), cols csel[0..co) of W[R][C][K] -> new [ro][co][K] */
static float *wslice(const float *W, int C, int K, const int *rsel, int ro, const int *csel,
                     int co)
{
	float *o = dc_alloc((size_t)ro * co * K * sizeof(float));
	if (!o)
		return NULL;
	for (int r = 0; r < ro; r++)
		for (int c = 0; c < co; c++)
			memcpy(o + ((size_t)r * co + c) * K,
			       W + ((size_t)(rsel ? rsel[r] : r) * C + (csel ? csel[c] : c)) * K,
			       (size_t)K * sizeof(float));
	return o;
}

/* DynamicConv1d `pre`.conv.weight [R][C][K] -> conv of the selection, kernel k,
 * zero padding (no bias in sugar's DynamicConv1d) */
static enum dc_status dyn_conv(struct ld *L, struct conv *c, const char *pre, int R, int C,
                               int K, const int *rsel, int ro, const int *csel, int co, int k,
                               int dil)
{
	float *W, *S;
	enum dc_status st;
	if ((st = tload(L, &W, 1, 3, SHAPE(R, C, K), "%s.conv.weight", pre)))
		return st;
	S = wslice(W, C, K, rsel, ro, csel, co);
	dc_free(W);
	if (!S)
		return dc_fail(DC_ENOMEM, "out of memory");
	if (k < K && (st = kshrink(L, &S, ro, co, K, k, pre))) {
		dc_free(S);
		return st;
	}
	st = conv_set(L->m, c, S, NULL, ro, co, k, dil, 0);
	dc_free(S);
	return st;
}

/* DynamicLinear `pre`.linear.{weight [R][C], bias [R]} -> k = 1 conv */
static enum dc_status dyn_linear(struct ld *L, struct conv *c, const char *pre, int R, int C,
                                 int ro, const int *csel, int co)
{
	float *W, *S, *b, *bs;
	enum dc_status st;
	if ((st = tload(L, &W, 1, 2, SHAPE(R, C), "%s.linear.weight", pre)))
		return st;
	S = wslice(W, C, 1, NULL, ro, csel, co);
	dc_free(W);
	if (!S)
		return dc_fail(DC_ENOMEM, "out of memory");
	if ((st = tload(L, &b, 1, 1, SHAPE(R), "%s.linear.bias", pre))) {
		dc_free(S);
		return st;
	}
	bs = keep(L->m, (size_t)ro);
	if (bs)
		memcpy(bs, b, (size_t)ro * sizeof(float));
	dc_free(b);
	st = bs ? conv_set(L->m, c, S, bs, ro, co, 1, 1, 0) : dc_fail(DC_ENOMEM, "out of memory");
	dc_free(S);
	return st;
}

static enum dc_status open_etdnn(struct ld *L)
{
	struct dc_spk *m = L->m;
	const struct dc_spk_config *cf = &m->cfg;
	int n = cf->nlayers, nb = n - 2, c0f = cf->channels[0], catf = cf->channels[n - 1];
	int c0 = cf->widths[0], cat = cf->cat_channels, s = cf->res2net_scale;
	int a = cf->attention_channels, e = cf->lin_neurons, depth = cf->depth;
	int nconv = s > 1 ? s - 1 : 1;
	int *sel = NULL;
	char p[200];
	enum dc_status st;

	for (int i = 0; i < nb; i++)
		if (cf->channels[1 + i] % s)
			return dc_fail(DC_EFORMAT, "%s: config.json: channels[%d] = %d is not a "
			               "multiple of res2net_scale %d", L->dir, 1 + i,
			               cf->channels[1 + i], s);
	sel = malloc(sizeof(int) * (size_t)(2 * catf > nb * c0f ? 2 * catf : nb * c0f) +
	             sizeof(int) * (size_t)MAX_CH);
	if (!sel)
		return dc_fail(DC_ENOMEM, "out of memory");

	m->in = cf->in_channels;
	if ((st = dyn_conv(L, &m->first.c, "layer1.conv", c0f, cf->in_channels,
	                   cf->kernel_sizes[0], NULL, c0, NULL, cf->in_channels, cf->kernels[0], 1)) ||
	    (st = bn_make(L, &m->first.n, "layer1.bn.bn", c0f, NULL, c0)))
		goto out;
	m->nblk = depth;
	m->cat_c = depth * c0;
	for (int i = 0; i < depth; i++) {
		struct blk *b = &m->blk[i];
		int mf = cf->channels[1 + i], w = cf->widths[1 + i] / s, mid = s * w;
		b->cin = c0;
		b->c = c0;
		b->scale = s;
		b->w = w;
		b->mid = mid;
		b->nres = nconv;
		for (int q = 0; q < s; q++)
			for (int j = 0; j < w; j++)
				sel[q * w + j] = q * (mf / s) + j;
		snprintf(p, sizeof p, "blocks.%d.first_conv.conv", i);
		if ((st = dyn_conv(L, &b->first.c, p, mf, c0f, 1, sel, mid, NULL, c0, 1, 1)))
			goto out;
		snprintf(p, sizeof p, "blocks.%d.first_conv.bn.bn", i);
		if ((st = bn_make(L, &b->first.n, p, mf, sel, mid)))
			goto out;
		b->res = keep_bytes(m, sizeof(struct tdnn) * (size_t)nconv);
		if (!b->res) {
			st = dc_fail(DC_ENOMEM, "out of memory");
			goto out;
		}
		for (int j = 0; j < nconv; j++) {
			snprintf(p, sizeof p, "blocks.%d.resconv.convs.%d.conv", i, j);
			if ((st = dyn_conv(L, &b->res[j].c, p, mf / s, mf / s, cf->kernel_sizes[1 + i],
			                   NULL, w, NULL, w, cf->kernels[1 + i], i + 2)))
				goto out;
			snprintf(p, sizeof p, "blocks.%d.resconv.convs.%d.bn.bn", i, j);
			if ((st = bn_make(L, &b->res[j].n, p, mf / s, NULL, w)))
				goto out;
		}
		snprintf(p, sizeof p, "blocks.%d.last_conv.conv", i);
		if ((st = dyn_conv(L, &b->last.c, p, c0f, mf, 1, NULL, c0, sel, mid, 1, 1)))
			goto out;
		snprintf(p, sizeof p, "blocks.%d.last_conv.bn.bn", i);
		if ((st = bn_make(L, &b->last.n, p, c0f, NULL, c0)))
			goto out;
		snprintf(p, sizeof p, "blocks.%d.se.reduce", i);
		if ((st = dyn_linear(L, &b->se1, p, c0f / 4, c0f, c0 / 4, NULL, c0)))
			goto out;
		snprintf(p, sizeof p, "blocks.%d.se.expand", i);
		if ((st = dyn_linear(L, &b->se2, p, c0f, c0f / 4, c0, NULL, c0 / 4)))
			goto out;
		m->macs_frame -= 2.0 * c0 * (c0 / 4);
		m->macs_fixed += 2.0 * c0 * (c0 / 4);
	}
	for (int d = 0; d < depth; d++)
		for (int j = 0; j < c0; j++)
			sel[d * c0 + j] = d * c0f + j;
	if ((st = dyn_conv(L, &m->mfa.c, "catconv", catf, nb * c0f, 1, NULL, cat, sel, depth * c0,
	                   1, 1)))
		goto out;
	if ((st = dyn_conv(L, &m->att.c, "pooling.linear1", a, catf, 1, NULL, a, NULL, cat, 1, 1)) ||
	    (st = dyn_conv(L, &m->att2, "pooling.linear2", catf, a, 1, NULL, cat, NULL, a, 1, 1)))
		goto out;
	m->gc = 0;
	m->pool_c = cat;
	for (int j = 0; j < cat; j++) {
		sel[j] = j;
		sel[cat + j] = catf + j;
	}
	if ((st = bn_make(L, &m->pool_bn, "bnpool.bn", 2 * catf, sel, 2 * cat)))
		goto out;
	{
		float *W, *S, *b;
		if ((st = tload(L, &W, 1, 2, SHAPE(e, 2 * catf), "linear.linear.weight")))
			goto out;
		S = wslice(W, 2 * catf, 1, NULL, e, sel, 2 * cat);
		dc_free(W);
		if (!S) {
			st = dc_fail(DC_ENOMEM, "out of memory");
			goto out;
		}
		st = tload(L, &b, 0, 1, SHAPE(e), "linear.linear.bias");
		if (st == DC_OK)
			st = conv_set(m, &m->out, S, b, e, 2 * cat, 1, 1, 0);
		dc_free(S);
		if (st)
			goto out;
		m->macs_frame -= 2.0 * cat * e;
		m->macs_fixed += 2.0 * cat * e;
	}
	if ((st = bn_make(L, &m->emb_bn, "bnembed", e, NULL, e)))
		goto out;
	m->min_frames = 1;
out:
	free(sel);
	return st;
}

enum dc_status dc_spk_open(struct dc_spk **out, const char *dir)
{
	struct dc_spk *m;
	struct ld L = { NULL, NULL, dir };
	enum dc_status st;

	*out = NULL;
	m = calloc(1, sizeof *m);
	if (!m)
		return dc_fail(DC_ENOMEM, "out of memory");
	L.m = m;
	if ((st = dc_model_open(&L.mdl, dir)) != DC_OK) {
		free(m);
		return st;
	}
	st = parse_config(&L, &m->cfg);
	if (st == DC_OK) {
		switch (m->cfg.arch) {
		case DC_SPK_ECAPA: st = open_ecapa(&L); break;
		case DC_SPK_XVECTOR: st = open_xvector(&L); break;
		case DC_SPK_ETDNN: st = open_etdnn(&L); break;
		}
	}
	dc_model_free(L.mdl);
	if (st != DC_OK) {
		dc_spk_free(m);
		return st;
	}
	*out = m;
	return DC_OK;
}

/* every per-frame convolution of the model (the GEMMs), for packing */
static int convs_of(struct dc_spk *m, struct conv **out, int cap)
{
	int n = 0;
#define ADD(c) do { if ((c)->w && n < cap) out[n++] = (c); } while (0)
	ADD(&m->first.c);
	for (int i = 0; i < m->nlay; i++)
		ADD(&m->lay[i].c);
	for (int i = 0; i < m->nblk; i++) {
		struct blk *b = &m->blk[i];
		ADD(&b->first.c);
		ADD(&b->last.c);
		ADD(&b->sc);
		for (int j = 0; j < b->nres; j++)
			ADD(&b->res[j].c);
	}
	ADD(&m->mfa.c);
	ADD(&m->att.c);
	ADD(&m->att2);
#undef ADD
	return n;
}

#define MAX_CONVS (4 + 2 * DC_SPK_MAX_LAYERS + DC_SPK_MAX_LAYERS * (3 + MAX_SCALE))

enum dc_status dc_spk_set_precision(struct dc_spk *m, enum dc_precision prec)
{
	struct conv *cv[MAX_CONVS];
	int n = convs_of(m, cv, MAX_CONVS);
	enum dc_status st = DC_OK;
	if (prec != DC_PREC_F32 && prec != DC_PREC_BF16 && prec != DC_PREC_INT8)
		return dc_fail(DC_EINVAL, "spk: unknown precision %d", (int)prec);
	for (int i = 0; i < n; i++)
		dc_wpack_release(&cv[i]->pk);
	if (prec == DC_PREC_F32)
		return DC_OK;
	for (int i = 0; i < n && st == DC_OK; i++) {
		struct conv *c = cv[i];
		st = dc_wpack_init(&c->pk, prec, c->oc, c->kk);
		if (st == DC_OK)
			st = dc_wpack_set_f32(&c->pk, 0, c->oc, c->w, (size_t)c->ldw);
	}
	if (st != DC_OK) {
		enum dc_status s2 = st;
		char msg[256];
		snprintf(msg, sizeof msg, "%s", dc_errmsg());
		for (int i = 0; i < n; i++)
			dc_wpack_release(&cv[i]->pk);
		return dc_fail(s2, "spk: packing weights: %s", msg);
	}
	return DC_OK;
}

void dc_spk_free(struct dc_spk *m)
{
	if (!m)
		return;
	dc_spk_set_precision(m, DC_PREC_F32);
	for (size_t i = 0; i < m->nbufs; i++)
		dc_free(m->bufs[i]);
	free(m->bufs);
	free(m);
}

const struct dc_spk_config *dc_spk_config(const struct dc_spk *m) { return &m->cfg; }
int dc_spk_dim(const struct dc_spk *m) { return m->cfg.lin_neurons; }
size_t dc_spk_params(const struct dc_spk *m) { return m->nparams; }

double dc_spk_macs(const struct dc_spk *m, size_t frames)
{
	return m->macs_frame * (double)frames + m->macs_fixed;
}

/* ---- forward kernels (time-major x[T][ld]) ------------------------------------------- */

enum { ACT_NONE, ACT_RELU, ACT_LEAKY };

#define PAR_MIN 32768   /* elements below which loops stay on one thread */

/* col[t][j*ic + i] = (x + x2)[pad_idx(t + j*dil - pad)][i]; x2 may be NULL */
static void im2col(float *col, const float *x, int ldx, const float *x2, int ldx2, int T,
                   const struct conv *c, int nt)
{
	int ic = c->ic, k = c->k;
	size_t ldc = (size_t)k * ic;
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)T * ldc >= PAR_MIN)
	for (int t = 0; t < T; t++) {
		for (int j = 0; j < k; j++) {
			float *d = col + (size_t)t * ldc + (size_t)j * ic;
			long s = (long)t + (long)j * c->dil - c->pad;
			if (s < 0 || s >= T) {
				if (!c->reflect) {
					memset(d, 0, (size_t)ic * sizeof(float));
					continue;
				}
				s = s < 0 ? -s : 2L * (T - 1) - s;   /* T > pad: in range */
			}
			const float *a = x + (size_t)s * ldx;
			if (x2) {
				const float *b = x2 + (size_t)s * ldx2;
#pragma omp simd
				for (int i = 0; i < ic; i++)
					d[i] = a[i] + b[i];
			} else {
				memcpy(d, a, (size_t)ic * sizeof(float));
			}
		}
	}
}

/* y[T][ldy] = a[T][lda] . W[:, :kk]^T, in f32 (BLIS) or through the packed weights */
static void gemm_w(const struct conv *c, const float *a, int lda, float *y, int ldy, int T,
                   int nt)
{
	if (c->pk.data)
		dc_gemm_wpack(y, ldy, a, lda, &c->pk, NULL, T, 0, nt);
	else
		dc_sgemm(0, 1, T, c->oc, c->kk, 1.0f, a, lda, c->w, c->ldw, 0.0f, y, ldy, nt);
}

/* y[T][ldy] (first oc columns) = conv(x (+ x2)), no bias; col: scratch */
static void conv_fwd(const struct conv *c, const float *x, int ldx, const float *x2, int ldx2,
                     float *y, int ldy, int T, float *col, int nt)
{
	const float *a = x;
	int lda = ldx;
	if (c->k > 1 || x2) {
		im2col(col, x, ldx, x2, ldx2, T, c, nt);
		a = col;
		lda = c->k * c->ic;
	}
	gemm_w(c, a, lda, y, ldy, T, nt);
}

static inline float tanh_fast(float x)
{
	/* 1 - 2/(e^{2|x|}+1) with the sign of x; |x| < 2^-5 by the odd series
	 * (no cancellation); branch-free so that it vectorises */
	float ax = fabsf(x), x2 = x * x;
	float small = x * (1.0f - x2 * (1.0f / 3 - x2 * (2.0f / 15)));
	float big = copysignf(1.0f - 2.0f / (dc_vexpf(2.0f * ax) + 1.0f), x);
	return ax < 0.03125f ? small : big;
}

/*
 * y = post(bn(act(y + bias))); bias, bn may be NULL.  One simple loop per
 * step over a row (in L1): a single loop with the NULL tests inside
 * vectorises to masked loads from the NULL pointers, which some CPUs (AMD
 * Zen) execute through a microcode assist at ~100x the cost.
 */
static void epilogue(float *y, int ldy, int T, int c, const float *bias, int act,
                     const struct bn *n, int post_tanh, int nt)
{
	const float *s = n ? n->s : NULL, *tt = n ? n->t : NULL;
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)T * c >= PAR_MIN)
	for (int t = 0; t < T; t++) {
		float *r = y + (size_t)t * ldy;
		if (bias)
#pragma omp simd
			for (int i = 0; i < c; i++)
				r[i] += bias[i];
		if (act == ACT_RELU)
#pragma omp simd
			for (int i = 0; i < c; i++)
				r[i] = r[i] > 0 ? r[i] : 0;
		else if (act == ACT_LEAKY)
#pragma omp simd
			for (int i = 0; i < c; i++)
				r[i] = r[i] > 0 ? r[i] : r[i] * LEAKY_SLOPE;
		if (s)
#pragma omp simd
			for (int i = 0; i < c; i++)
				r[i] = r[i] * s[i] + tt[i];
		if (post_tanh)
#pragma omp simd
			for (int i = 0; i < c; i++)
				r[i] = tanh_fast(r[i]);
	}
}

/* conv -> act -> BN in one call */
static void tdnn_fwd(const struct tdnn *t, const float *x, int ldx, const float *x2, int ldx2,
                     float *y, int ldy, int T, float *col, int act, int nt)
{
	conv_fwd(&t->c, x, ldx, x2, ldx2, y, ldy, T, col, nt);
	epilogue(y, ldy, T, t->c.oc, t->c.b, act, t->n.s ? &t->n : NULL, 0, nt);
}

#define CBLK 64   /* channels per task in the time reductions */

/* mean over time of each of C columns (double) */
static void col_mean(const float *x, int ld, int T, int C, double *mean, int nt)
{
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)T * C >= PAR_MIN)
	for (int c0 = 0; c0 < C; c0 += CBLK) {
		int nc = C - c0 < CBLK ? C - c0 : CBLK;
		double acc[CBLK] = { 0 };
		for (int t = 0; t < T; t++) {
			const float *r = x + (size_t)t * ld + c0;
#pragma omp simd
			for (int i = 0; i < nc; i++)
				acc[i] += r[i];
		}
		for (int i = 0; i < nc; i++)
			mean[c0 + i] = acc[i] / T;
	}
}

/* sum over time of (x - mean)^2 per column */
static void col_sqdev(const float *x, int ld, int T, int C, const double *mean, double *out,
                      int nt)
{
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)T * C >= PAR_MIN)
	for (int c0 = 0; c0 < C; c0 += CBLK) {
		int nc = C - c0 < CBLK ? C - c0 : CBLK;
		double acc[CBLK] = { 0 };
		for (int t = 0; t < T; t++) {
			const float *r = x + (size_t)t * ld + c0;
#pragma omp simd
			for (int i = 0; i < nc; i++) {
				double d = r[i] - mean[c0 + i];
				acc[i] += d * d;
			}
		}
		for (int i = 0; i < nc; i++)
			out[c0 + i] = acc[i];
	}
}

/* y[o] = b[o] + W[o][:n] . x (a k = 1 conv on one vector, double sums; n is
 * the input width, c->ic by default) */
static void conv_vec_n(const struct conv *c, const float *wbase, int n, const double *x,
                       double *y, int nt)
{
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)c->oc * n >= 262144)
	for (int o = 0; o < c->oc; o++) {
		const float *w = wbase + (size_t)o * c->ldw;
		double acc = 0.0;
#pragma omp simd reduction(+:acc)
		for (int i = 0; i < n; i++)
			acc += (double)w[i] * x[i];
		y[o] = acc + (c->b ? c->b[o] : 0.0);
	}
}

static void conv_vec(const struct conv *c, const double *x, double *y, int nt)
{
	conv_vec_n(c, c->w, c->ic, x, y, nt);
}

/*
 * Attentive statistics: softmax over time of logits[T][C] (in place: becomes
 * exp(l - max)), then per channel the weighted mean and
 * sqrt(max(sum a (x - mean)^2, eps)) of x[T][C] into out[0..C), out[C..2C).
 */
static void att_stats(float *logit, const float *x, int T, int C, double eps, double *out,
                      int nt)
{
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)T * C >= PAR_MIN)
	for (int c0 = 0; c0 < C; c0 += CBLK) {
		int nc = C - c0 < CBLK ? C - c0 : CBLK;
		float mx[CBLK];
		double sum[CBLK] = { 0 }, mu[CBLK] = { 0 }, var[CBLK] = { 0 };
		for (int i = 0; i < nc; i++)
			mx[i] = -INFINITY;
		for (int t = 0; t < T; t++) {
			const float *l = logit + (size_t)t * C + c0;
#pragma omp simd
			for (int i = 0; i < nc; i++)
				mx[i] = l[i] > mx[i] ? l[i] : mx[i];
		}
		for (int t = 0; t < T; t++) {
			float *l = logit + (size_t)t * C + c0;
			const float *r = x + (size_t)t * C + c0;
#pragma omp simd
			for (int i = 0; i < nc; i++) {
				float e = dc_vexpf(l[i] - mx[i]);
				l[i] = e;
				sum[i] += e;
				mu[i] += (double)e * r[i];
			}
		}
		for (int i = 0; i < nc; i++)
			mu[i] /= sum[i];
		for (int t = 0; t < T; t++) {
			const float *l = logit + (size_t)t * C + c0;
			const float *r = x + (size_t)t * C + c0;
#pragma omp simd
			for (int i = 0; i < nc; i++) {
				double d = r[i] - mu[i];
				var[i] += l[i] * d * d;
			}
		}
		for (int i = 0; i < nc; i++) {
			double v = var[i] / sum[i];
			out[c0 + i] = mu[i];
			out[C + c0 + i] = sqrt(v > eps ? v : eps);
		}
	}
}

/* ---- workspace ----------------------------------------------------------------------------- */

struct ws {
	float *base;
	size_t used, cap;     /* floats */
};

/* add a*b floats (rounded up to 16) to *acc; -1 on overflow */
static int wadd(size_t *acc, size_t a, size_t b)
{
	size_t n;
	if (dc_mul_size(a, b, &n) || dc_add_size(n, 15, &n))
		return -1;
	n &= ~(size_t)15;
	return dc_add_size(*acc, n, acc);
}

static float *wtake(struct ws *w, size_t a, size_t b)
{
	size_t n = (a * b + 15) & ~(size_t)15;
	float *p = w->base + w->used;
	w->used += n;
	return p;
}

static double *wtake_d(struct ws *w, size_t n)
{
	return (double *)wtake(w, 2, n);
}

/* the largest im2col of a conv over T frames (k > 1, or with an add) */
static size_t col_need(const struct conv *c, int with_add)
{
	return (c->k > 1 || with_add) ? (size_t)c->k * c->ic : 0;
}

/* ---- forwards -------------------------------------------------------------------------------- */

/* SpeechBrain Res2NetBlock on h[T][C] -> y[T][C] (chunk 0 copied) */
static void sb_res2(const struct blk *b, const float *h, float *y, int T, float *col, int nt)
{
	int C = b->c, w = b->w;
	for (int t = 0; t < T; t++)
		memcpy(y + (size_t)t * C, h + (size_t)t * C, (size_t)w * sizeof(float));
	for (int s = 1; s < b->scale; s++) {
		const float *xs = h + (size_t)s * w;
		const float *prev = s >= 2 ? y + (size_t)(s - 1) * w : NULL;
		tdnn_fwd(&b->res[s - 1], xs, C, prev, C, y + (size_t)s * w, C, T, col, ACT_RELU, nt);
	}
}

/* sugar DynamicRes2Conv1dReLUBN on h[T][mid] -> y[T][mid] (last chunk copied) */
static void sugar_res2(const struct blk *b, const float *h, float *y, int T, float *col, int nt)
{
	int M = b->mid, w = b->w;
	for (int s = 0; s < b->nres; s++) {
		const float *prev = s >= 1 ? y + (size_t)(s - 1) * w : NULL;
		tdnn_fwd(&b->res[s], h + (size_t)s * w, M, prev, M, y + (size_t)s * w, M, T, col,
		         ACT_RELU, nt);
	}
	if (b->scale > 1)
		for (int t = 0; t < T; t++)
			memcpy(y + (size_t)t * M + (size_t)b->nres * w,
			       h + (size_t)t * M + (size_t)b->nres * w, (size_t)w * sizeof(float));
}

/* SE gate g[C] of h[T][C] */
static void se_gate(const struct blk *b, const float *h, int T, double *tmp, double *g, int nt)
{
	int C = b->c, S = b->se1.oc;
	double *m = tmp, *r = tmp + C;
	col_mean(h, C, T, C, m, nt);
	conv_vec(&b->se1, m, r, nt);
	for (int i = 0; i < S; i++)
		r[i] = r[i] > 0 ? r[i] : 0;
	conv_vec(&b->se2, r, g, nt);
	for (int i = 0; i < C; i++)
		g[i] = 1.0 / (1.0 + exp(-g[i]));
}

/* y[t][c] = h[t][c] * g[c] + r[t][c] (r row stride ldr), y row stride ldy */
static void gate_add(float *y, int ldy, const float *h, const double *g, const float *r,
                     int ldr, int T, int C, int nt)
{
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)T * C >= PAR_MIN)
	for (int t = 0; t < T; t++) {
		float *yo = y + (size_t)t * ldy;
		const float *hi = h + (size_t)t * C, *ri = r + (size_t)t * ldr;
#pragma omp simd
		for (int i = 0; i < C; i++)
			yo[i] = hi[i] * (float)g[i] + ri[i];
	}
}

static enum dc_status ws_alloc(struct ws *w, size_t need)
{
	w->base = dc_alloc(need * sizeof(float));
	w->used = 0;
	w->cap = need;
	if (!w->base)
		return dc_fail(DC_ENOMEM, "spk: out of memory (%zu MiB of activations)",
		               need / (256 * 1024));
	return DC_OK;
}

static enum dc_status ecapa_fwd(const struct dc_spk *m, const float *feats, int T, float *emb,
                                int nt)
{
	int cl = m->pool_c, A = m->att.c.oc, cmax = 1, C0 = m->first.c.oc, E = m->out.oc, smax = 1;
	size_t colmax = col_need(&m->first.c, 0), need = 0;
	struct ws w;
	enum dc_status st;

	for (int i = 0; i < m->nblk; i++) {
		const struct blk *b = &m->blk[i];
		cmax = b->c > cmax ? b->c : cmax;
		smax = b->se1.oc > smax ? b->se1.oc : smax;
		for (int j = 0; j < b->nres; j++) {
			size_t q = col_need(&b->res[j].c, j > 0);
			colmax = q > colmax ? q : colmax;
		}
	}
	colmax = col_need(&m->mfa.c, 0) > colmax ? col_need(&m->mfa.c, 0) : colmax;
	/* kept: cat, xm, small vectors; the blocks' and MFA's temporaries
	 * (phase 1) and the pooling's (phase 2) share one region */
	size_t p1 = 0, p2 = 0;
	if (wadd(&need, T, m->cat_c) || wadd(&need, T, cl) || wadd(&need, 1, A) ||
	    wadd(&need, 2, 2 * (size_t)cmax + smax + A + 4 * (size_t)cl + E + 64) ||
	    wadd(&p1, T, C0) || wadd(&p1, T, 4 * (size_t)cmax) || wadd(&p1, T, colmax) ||
	    wadd(&p2, T, A) || wadd(&p2, T, cl) || dc_add_size(need, p1 > p2 ? p1 : p2, &need))
		return dc_fail(DC_EOVERFLOW, "spk: activation size overflows");
	if ((st = ws_alloc(&w, need)))
		return st;
	float *cat = wtake(&w, T, m->cat_c), *xm = wtake(&w, T, cl), *gb = wtake(&w, 1, A);
	double *dv = wtake_d(&w, 2 * (size_t)cmax + smax + A + 4 * (size_t)cl + E + 64);
	size_t ph = w.used;
	float *x0 = wtake(&w, T, C0);
	float *h1 = wtake(&w, T, cmax), *h2 = wtake(&w, T, cmax), *h3 = wtake(&w, T, cmax);
	float *rs = wtake(&w, T, cmax), *col = wtake(&w, T, colmax);
	w.used = ph;
	float *at = wtake(&w, T, A), *lg = wtake(&w, T, cl);

	tdnn_fwd(&m->first, feats, m->in, NULL, 0, x0, C0, T, col, ACT_RELU, nt);
	const float *x = x0;
	int ldx = C0, off = 0;
	for (int i = 0; i < m->nblk; i++) {
		const struct blk *b = &m->blk[i];
		const float *r = x;
		int ldr = ldx;
		double *g = dv + b->c + b->se1.oc + 8;
		if (b->sc.w) {
			conv_fwd(&b->sc, x, ldx, NULL, 0, rs, b->c, T, col, nt);
			epilogue(rs, b->c, T, b->c, b->sc.b, ACT_NONE, NULL, 0, nt);
			r = rs;
			ldr = b->c;
		}
		tdnn_fwd(&b->first, x, ldx, NULL, 0, h1, b->c, T, col, ACT_RELU, nt);
		sb_res2(b, h1, h2, T, col, nt);
		tdnn_fwd(&b->last, h2, b->c, NULL, 0, h3, b->c, T, col, ACT_RELU, nt);
		se_gate(b, h3, T, dv, g, nt);
		gate_add(cat + off, m->cat_c, h3, g, r, ldr, T, b->c, nt);
		x = cat + off;
		ldx = m->cat_c;
		off += b->c;
	}
	tdnn_fwd(&m->mfa, cat, m->cat_c, NULL, 0, xm, cl, T, col, ACT_RELU, nt);

	/* attentive statistics pooling */
	double *gbias = dv, *ms = dv + A, *pooled = ms + 2 * (size_t)cl;
	if (m->gc) {
		const struct conv *c = &m->att.c;
		double *sq = pooled;
		col_mean(xm, cl, T, cl, ms, nt);
		col_sqdev(xm, cl, T, cl, ms, sq, nt);
		for (int i = 0; i < cl; i++) {
			double v = sq[i] / T;
			ms[cl + i] = sqrt(v > 1e-12 ? v : 1e-12);
		}
		conv_vec_n(c, c->w + cl, 2 * cl, ms, gbias, nt);   /* + b */
		gemm_w(c, xm, cl, at, A, T, nt);
		for (int o = 0; o < A; o++)
			gb[o] = (float)gbias[o];
		epilogue(at, A, T, A, gb, ACT_RELU, &m->att.n, 1, nt);
	} else {
		conv_fwd(&m->att.c, xm, cl, NULL, 0, at, A, T, NULL, nt);
		epilogue(at, A, T, A, m->att.c.b, ACT_RELU, &m->att.n, 1, nt);
	}
	conv_fwd(&m->att2, at, A, NULL, 0, lg, cl, T, NULL, nt);
	epilogue(lg, cl, T, cl, m->att2.b, ACT_NONE, NULL, 0, nt);
	att_stats(lg, xm, T, cl, 1e-12, pooled, nt);
	for (int i = 0; i < 2 * cl; i++)
		pooled[i] = pooled[i] * m->pool_bn.s[i] + m->pool_bn.t[i];
	double *e = pooled + 2 * (size_t)cl;
	conv_vec(&m->out, pooled, e, nt);
	for (int i = 0; i < E; i++)
		emb[i] = (float)e[i];
	dc_free(w.base);
	return DC_OK;
}

static enum dc_status xvector_fwd(const struct dc_spk *m, const float *feats, int T, float *emb,
                                  int nt)
{
	int cmax = 1, E = m->out.oc, C = m->pool_c;
	size_t colmax = 0, need = 0;
	struct ws w;
	enum dc_status st;

	for (int i = 0; i < m->nlay; i++) {
		cmax = m->lay[i].c.oc > cmax ? m->lay[i].c.oc : cmax;
		colmax = col_need(&m->lay[i].c, 0) > colmax ? col_need(&m->lay[i].c, 0) : colmax;
	}
	if (wadd(&need, T, 2 * (size_t)cmax) || wadd(&need, T, colmax) ||
	    wadd(&need, 2, 4 * (size_t)(C + E) + 32))
		return dc_fail(DC_EOVERFLOW, "spk: activation size overflows");
	if ((st = ws_alloc(&w, need)))
		return st;
	float *buf[2] = { wtake(&w, T, cmax), wtake(&w, T, cmax) }, *col = wtake(&w, T, colmax);
	double *st2 = wtake_d(&w, 4 * (size_t)(C + E) + 32), *e = st2 + 2 * (size_t)C;
	const float *x = feats;
	int ldx = m->in;
	for (int i = 0; i < m->nlay; i++) {
		float *y = buf[i & 1];
		tdnn_fwd(&m->lay[i], x, ldx, NULL, 0, y, m->lay[i].c.oc, T, col, ACT_LEAKY, nt);
		x = y;
		ldx = m->lay[i].c.oc;
	}
	col_mean(x, C, T, C, st2, nt);
	col_sqdev(x, C, T, C, st2, st2 + C, nt);
	for (int i = 0; i < C; i++)
		st2[C + i] = sqrt(st2[C + i] / (T - 1)) + 1e-5;
	conv_vec(&m->out, st2, e, nt);
	for (int i = 0; i < E; i++)
		emb[i] = (float)e[i];
	dc_free(w.base);
	return DC_OK;
}

static enum dc_status etdnn_fwd(const struct dc_spk *m, const float *feats, int T, float *emb,
                                int nt)
{
	int C0 = m->first.c.oc, cat = m->pool_c, A = m->att.c.oc, E = m->out.oc, mmax = 1;
	size_t colmax = col_need(&m->first.c, 0), need = 0;
	struct ws w;
	enum dc_status st;

	for (int i = 0; i < m->nblk; i++) {
		const struct blk *b = &m->blk[i];
		mmax = b->mid > mmax ? b->mid : mmax;
		for (int j = 0; j < b->nres; j++) {
			size_t q = col_need(&b->res[j].c, j > 0);
			colmax = q > colmax ? q : colmax;
		}
	}
	/* kept: cc, xc, small vectors; the blocks' temporaries (phase 1) and the
	 * pooling's (phase 2) share one region */
	size_t p1 = 0, p2 = 0;
	if (wadd(&need, T, m->cat_c) || wadd(&need, T, cat) ||
	    wadd(&need, 2, 8 * (size_t)(C0 + cat + E) + 64) ||
	    wadd(&p1, T, 3 * (size_t)C0) || wadd(&p1, T, 2 * (size_t)mmax) ||
	    wadd(&p1, T, colmax) || wadd(&p2, T, A) || wadd(&p2, T, cat) ||
	    dc_add_size(need, p1 > p2 ? p1 : p2, &need))
		return dc_fail(DC_EOVERFLOW, "spk: activation size overflows");
	if ((st = ws_alloc(&w, need)))
		return st;
	float *cc = wtake(&w, T, m->cat_c), *xc = wtake(&w, T, cat);
	double *dv = wtake_d(&w, 8 * (size_t)(C0 + cat + E) + 64);
	size_t ph = w.used;
	float *x0 = wtake(&w, T, C0), *sum = wtake(&w, T, C0), *h3 = wtake(&w, T, C0);
	float *h1 = wtake(&w, T, mmax), *h2 = wtake(&w, T, mmax), *col = wtake(&w, T, colmax);
	w.used = ph;
	float *at = wtake(&w, T, A), *lg = wtake(&w, T, cat);

	tdnn_fwd(&m->first, feats, m->in, NULL, 0, x0, C0, T, col, ACT_RELU, nt);
	memcpy(sum, x0, (size_t)T * C0 * sizeof(float));
	const float *x = x0;
	int ldx = C0;
	for (int i = 0; i < m->nblk; i++) {
		const struct blk *b = &m->blk[i];
		double *g = dv + 2 * (size_t)C0 + 8;
		float *y = cc + (size_t)i * C0;
		tdnn_fwd(&b->first, x, ldx, NULL, 0, h1, b->mid, T, col, ACT_RELU, nt);
		sugar_res2(b, h1, h2, T, col, nt);
		tdnn_fwd(&b->last, h2, b->mid, NULL, 0, h3, C0, T, col, ACT_RELU, nt);
		se_gate(b, h3, T, dv, g, nt);
		gate_add(y, m->cat_c, h3, g, sum, C0, T, C0, nt);
		if (i + 1 < m->nblk) {
#pragma omp parallel for num_threads(nt) schedule(static) if ((size_t)T * C0 >= PAR_MIN)
			for (int t = 0; t < T; t++) {
				float *s = sum + (size_t)t * C0;
				const float *yr = y + (size_t)t * m->cat_c;
#pragma omp simd
				for (int c = 0; c < C0; c++)
					s[c] += yr[c];
			}
		}
		x = y;
		ldx = m->cat_c;
	}
	conv_fwd(&m->mfa.c, cc, m->cat_c, NULL, 0, xc, cat, T, col, nt);
	epilogue(xc, cat, T, cat, NULL, ACT_RELU, NULL, 0, nt);
	conv_fwd(&m->att.c, xc, cat, NULL, 0, at, A, T, NULL, nt);
	epilogue(at, A, T, A, NULL, ACT_NONE, NULL, 1, nt);
	conv_fwd(&m->att2, at, A, NULL, 0, lg, cat, T, NULL, nt);
	double *pooled = dv, *e = dv + 2 * (size_t)cat;
	att_stats(lg, xc, T, cat, 1e-9, pooled, nt);
	for (int i = 0; i < 2 * cat; i++)
		pooled[i] = pooled[i] * m->pool_bn.s[i] + m->pool_bn.t[i];
	conv_vec(&m->out, pooled, e, nt);
	for (int i = 0; i < E; i++)
		emb[i] = (float)(e[i] * m->emb_bn.s[i] + m->emb_bn.t[i]);
	dc_free(w.base);
	return DC_OK;
}

enum dc_status dc_spk_embed_feats(const struct dc_spk *m, const float *feats, size_t frames,
                                  float *emb)
{
	int nt = dc_threads();
	if (!m || !feats || !emb)
		return dc_fail(DC_EINVAL, "spk: NULL argument");
	if (frames < (size_t)m->min_frames)
		return dc_fail(DC_EINVAL, "spk: %zu feature frames are too few: the model needs at "
		               "least %d", frames, m->min_frames);
	if (frames > MAX_FRAMES)
		return dc_fail(DC_ELIMIT, "spk: %zu feature frames exceed the limit of %u", frames,
		               MAX_FRAMES);
	switch (m->cfg.arch) {
	case DC_SPK_ECAPA: return ecapa_fwd(m, feats, (int)frames, emb, nt);
	case DC_SPK_XVECTOR: return xvector_fwd(m, feats, (int)frames, emb, nt);
	case DC_SPK_ETDNN: return etdnn_fwd(m, feats, (int)frames, emb, nt);
	}
	return dc_fail(DC_EINVAL, "spk: bad model");
}

/*
 * Front end per config.json: resample to the model's rate (dc_audio_resample,
 * integer rates), then Kaldi fbank on int16-scale samples (x * 32768; the
 * model's dither, seed 0) or SpeechBrain's Fbank on [-1,1] samples, then the
 * per-utterance mean subtraction when cmn is set.
 */
enum dc_status dc_spk_embed_audio(const struct dc_spk *m, const float *x, size_t n,
                                  double sample_rate, float *emb)
{
	const struct dc_spk_config *cf;
	float *rs = NULL, *scaled = NULL, *feats = NULL;
	const float *a = x;
	size_t na = n, frames = 0;
	enum dc_status st;

	if (!m || (!x && n) || !emb)
		return dc_fail(DC_EINVAL, "spk: NULL argument");
	cf = &m->cfg;
	if (!(sample_rate >= 1 && sample_rate <= 1e7) || sample_rate != floor(sample_rate))
		return dc_fail(DC_EINVAL, "spk: sample rate %g is not a positive integer",
		               sample_rate);
	if (sample_rate != cf->sample_rate) {
		st = dc_audio_resample(x, n, (int)sample_rate, (int)cf->sample_rate, &rs, &na);
		if (st != DC_OK)
			return st;
		a = rs;
	}
	if (cf->frontend == DC_FRONT_KALDI) {
		struct dc_fbank_kaldi_opts o;
		dc_fbank_kaldi_defaults(&o);
		o.sample_frequency = cf->sample_rate;
		o.num_mel_bins = cf->num_mel_bins;
		o.dither = cf->dither;
		o.seed = 0;
		scaled = dc_alloc((na ? na : 1) * sizeof(float));
		if (!scaled) {
			st = dc_fail(DC_ENOMEM, "spk: out of memory (%zu samples)", na);
			goto out;
		}
		for (size_t i = 0; i < na; i++)
			scaled[i] = a[i] * 32768.0f;
		st = dc_fbank_kaldi(scaled, na, &o, &feats, &frames);
	} else {
		st = dc_fbank_speechbrain(a, na, cf->sample_rate, cf->num_mel_bins, &feats, &frames);
	}
	if (st != DC_OK)
		goto out;
	if (cf->cmn)
		dc_feats_cmn(feats, frames, cf->num_mel_bins);
	if (frames < (size_t)m->min_frames) {
		st = dc_fail(DC_EINVAL, "spk: %zu samples at %g Hz give %zu feature frames; the "
		             "model needs at least %d (%.0f ms)", n, sample_rate, frames,
		             m->min_frames, m->min_frames * 10.0 + 15.0);
		goto out;
	}
	st = dc_spk_embed_feats(m, feats, frames, emb);
out:
	dc_free(rs);
	dc_free(scaled);
	dc_free(feats);
	return st;
}
