/*
 * vae.c - diffusers' AutoencoderKL forward passes (see vae.h), transcribed
 * from diffusers' autoencoders/autoencoder_kl.py, autoencoders/vae.py
 * (Encoder, Decoder), unets/unet_2d_blocks.py (DownEncoderBlock2D,
 * UpDecoderBlock2D, UNetMidBlock2D), resnet.py (ResnetBlock2D),
 * upsampling.py / downsampling.py and attention_processor.py (Attention
 * with group_norm, residual connection, rescale 1).
 *
 *   ResnetBlock2D(x): h = conv1(silu(gn1(x))); h = conv2(silu(gn2(h)));
 *                     out = (cin != cout ? conv_shortcut_1x1(x) : x) + h
 *   Attention(x[C][N]): t = gn(x)^T; q,k,v = t W^T + b; o = softmax(q k^T /
 *                     sqrt(C)) v; x += (o Wo^T + bo)^T          (one head)
 *   UNetMidBlock2D:   resnet0, attention (optional), resnet1
 *   Upsample2D:       nearest x2, conv3x3 pad 1
 *   Downsample2D:     pad (0,1,0,1), conv3x3 stride 2 pad 0
 *   Decoder:          conv_in, mid, up blocks (layers_per_block+1 resnets,
 *                     upsample but last), gn, silu, conv_out
 *   Encoder:          conv_in, down blocks (layers_per_block resnets,
 *                     downsample but last), mid, gn, silu, conv_out
 *                     (2*latent), quant_conv; mean | clamp(logvar,-30,20)
 *
 * GroupNorm eps is 1e-6 everywhere.  Convolutions are im2col + BLIS GEMM
 * done in horizontal strips, so the im2col scratch stays under
 * 3 * CONV_SCRATCH floats whatever the image size (a whole-image im2col of the
 * SD decoder's last block at 512^2 would be 2.4 GB); 1x1 convolutions are
 * one GEMM on the input.  Images of a batch are processed one at a time.
 */
#include "vae.h"

#include "../io/safetensors.h"
#include "../ops/ops.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define GN_EPS 1e-6f
#define CONV_SCRATCH ((size_t)4 << 20)   /* floats of one im2col strip */
#define MAX_CH 65536

struct conv {
	const float *w, *b;      /* [oc][ic][k][k], [oc] */
	int ic, oc, k;
};
struct gnorm {
	const float *w, *b;
	int c;
};
struct resnet {
	struct gnorm n1, n2;
	struct conv c1, c2, sc;  /* sc.w NULL: identity shortcut */
	int cin, cout;
};
struct attn {
	struct gnorm gn;
	const float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;
	int c;
};
struct mid {
	struct resnet r0, r1;
	struct attn at;
	int has_attn;
};
struct coder_block {
	struct resnet *res;      /* nres */
	int nres;
	struct conv samp;        /* up/down sampler conv; w NULL if none */
};
struct coder {
	struct conv conv_in, conv_out;
	struct mid mid;
	struct coder_block blk[DC_VAE_MAX_BLOCKS];
	struct gnorm norm_out;
};

struct dc_vae {
	struct dc_model *m;
	struct dc_vae_config cfg;
	struct coder enc, dec;
	struct conv quant, post_quant;   /* w NULL when unused */
	float **owned;                   /* converted (non-F32 / unaligned) weights */
	size_t nowned, capowned;
	int groups, scale;
};

/* ---- loading ------------------------------------------------------------------ */

static enum dc_status keep_owned(struct dc_vae *v, float *p)
{
	if (v->nowned == v->capowned) {
		size_t nc = v->capowned ? 2 * v->capowned : 64;
		float **n = dc_alloc(nc * sizeof *n);
		if (!n)
			return dc_fail(DC_ENOMEM, "vae: out of memory");
		if (v->nowned)
			memcpy(n, v->owned, v->nowned * sizeof *n);
		dc_free(v->owned);
		v->owned = n;
		v->capowned = nc;
	}
	v->owned[v->nowned++] = p;
	return DC_OK;
}

static void fmt_shape(char *buf, size_t cap, int rank, const int64_t *shape)
{
	size_t n = 0;
	n += (size_t)snprintf(buf + n, cap - n, "[");
	for (int i = 0; i < rank && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)shape[i]);
	if (n < cap)
		snprintf(buf + n, cap - n, "]");
}

/*
 * The tensor `name` as f32 with exactly the shape dims[0..rank); alt (may
 * be NULL) is an older name tried when `name` is absent; alt_rank4 accepts
 * [a][b][1][1] for a rank-2 [a][b] (old 1x1-conv attention weights).
 */
static enum dc_status get_w(struct dc_vae *v, const float **out, const char *name,
                            const char *alt, int rank, const int64_t *dims)
{
	const struct dc_st_tensor *t = dc_model_find(v->m, name);
	const char *nm = name;
	if (!t && alt) {
		t = dc_model_find(v->m, alt);
		nm = alt;
	}
	if (!t)
		return dc_fail(DC_ENOTFOUND, "vae: missing tensor '%s'", name);
	int ok = t->rank == rank;
	for (int i = 0; ok && i < rank; i++)
		ok = t->shape[i] == dims[i];
	if (!ok && alt && rank == 2 && t->rank == 4)
		ok = t->shape[0] == dims[0] && t->shape[1] == dims[1] && t->shape[2] == 1 &&
		     t->shape[3] == 1;
	if (!ok) {
		char a[128], b[128];
		fmt_shape(a, sizeof a, t->rank, t->shape);
		fmt_shape(b, sizeof b, rank, dims);
		return dc_fail(DC_EFORMAT, "vae: '%s' has shape %s, expected %s", nm, a, b);
	}
	if (t->dtype == DC_F32 && ((uintptr_t)t->data & 3) == 0) {
		*out = t->data;
		return DC_OK;
	}
	size_t bytes;
	if (dc_mul_size(t->numel, sizeof(float), &bytes))
		return dc_fail(DC_EOVERFLOW, "vae: '%s' too large", nm);
	float *p = dc_alloc(bytes);
	if (!p)
		return dc_fail(DC_ENOMEM, "vae: out of memory for '%s'", nm);
	enum dc_status s = dc_model_get_f32(v->m, nm, p, t->numel);
	if (s == DC_OK)
		s = keep_owned(v, p);
	if (s != DC_OK) {
		dc_free(p);
		return s;
	}
	*out = p;
	return DC_OK;
}

static enum dc_status load_conv(struct dc_vae *v, struct conv *c, const char *pre,
                                int ic, int oc, int k)
{
	char n[384];
	enum dc_status s;
	int64_t wd[4] = { oc, ic, k, k }, bd[1] = { oc };
	c->ic = ic;
	c->oc = oc;
	c->k = k;
	snprintf(n, sizeof n, "%s.weight", pre);
	if ((s = get_w(v, &c->w, n, NULL, 4, wd)) != DC_OK)
		return s;
	snprintf(n, sizeof n, "%s.bias", pre);
	return get_w(v, &c->b, n, NULL, 1, bd);
}

static enum dc_status load_gn(struct dc_vae *v, struct gnorm *g, const char *pre, int c)
{
	char n[384];
	enum dc_status s;
	int64_t d[1] = { c };
	g->c = c;
	snprintf(n, sizeof n, "%s.weight", pre);
	if ((s = get_w(v, &g->w, n, NULL, 1, d)) != DC_OK)
		return s;
	snprintf(n, sizeof n, "%s.bias", pre);
	return get_w(v, &g->b, n, NULL, 1, d);
}

static enum dc_status load_resnet(struct dc_vae *v, struct resnet *r, const char *pre,
                                  int cin, int cout)
{
	char n[320];
	enum dc_status s;
	r->cin = cin;
	r->cout = cout;
	snprintf(n, sizeof n, "%s.norm1", pre);
	if ((s = load_gn(v, &r->n1, n, cin)) != DC_OK)
		return s;
	snprintf(n, sizeof n, "%s.conv1", pre);
	if ((s = load_conv(v, &r->c1, n, cin, cout, 3)) != DC_OK)
		return s;
	snprintf(n, sizeof n, "%s.norm2", pre);
	if ((s = load_gn(v, &r->n2, n, cout)) != DC_OK)
		return s;
	snprintf(n, sizeof n, "%s.conv2", pre);
	if ((s = load_conv(v, &r->c2, n, cout, cout, 3)) != DC_OK)
		return s;
	memset(&r->sc, 0, sizeof r->sc);
	if (cin != cout) {
		snprintf(n, sizeof n, "%s.conv_shortcut", pre);
		if ((s = load_conv(v, &r->sc, n, cin, cout, 1)) != DC_OK)
			return s;
	}
	return DC_OK;
}

static enum dc_status load_attn(struct dc_vae *v, struct attn *a, const char *pre, int c)
{
	static const char *nk[4] = { "to_q", "to_k", "to_v", "to_out.0" };
	static const char *ok[4] = { "query", "key", "value", "proj_attn" };
	const float **w[4] = { &a->wq, &a->wk, &a->wv, &a->wo };
	const float **b[4] = { &a->bq, &a->bk, &a->bv, &a->bo };
	char n[320], o[320];
	enum dc_status s;
	int64_t wd[2] = { c, c }, bd[1] = { c };
	a->c = c;
	snprintf(n, sizeof n, "%s.group_norm", pre);
	if ((s = load_gn(v, &a->gn, n, c)) != DC_OK)
		return s;
	for (int i = 0; i < 4; i++) {
		snprintf(n, sizeof n, "%s.%s.weight", pre, nk[i]);
		snprintf(o, sizeof o, "%s.%s.weight", pre, ok[i]);
		if ((s = get_w(v, w[i], n, o, 2, wd)) != DC_OK)
			return s;
		snprintf(n, sizeof n, "%s.%s.bias", pre, nk[i]);
		snprintf(o, sizeof o, "%s.%s.bias", pre, ok[i]);
		if ((s = get_w(v, b[i], n, o, 1, bd)) != DC_OK)
			return s;
	}
	return DC_OK;
}

static enum dc_status load_mid(struct dc_vae *v, struct mid *md, const char *pre, int c)
{
	char n[256];
	enum dc_status s;
	snprintf(n, sizeof n, "%s.mid_block.resnets.0", pre);
	if ((s = load_resnet(v, &md->r0, n, c, c)) != DC_OK)
		return s;
	snprintf(n, sizeof n, "%s.mid_block.resnets.1", pre);
	if ((s = load_resnet(v, &md->r1, n, c, c)) != DC_OK)
		return s;
	md->has_attn = v->cfg.mid_block_add_attention;
	if (!md->has_attn)
		return DC_OK;
	snprintf(n, sizeof n, "%s.mid_block.attentions.0", pre);
	return load_attn(v, &md->at, n, c);
}

static enum dc_status alloc_res(struct dc_vae *v, struct coder_block *b, int nres)
{
	size_t bytes = (size_t)nres * sizeof *b->res;
	b->res = dc_alloc(bytes);
	if (!b->res)
		return dc_fail(DC_ENOMEM, "vae: out of memory");
	memset(b->res, 0, bytes);
	b->nres = nres;
	if (keep_owned(v, (float *)b->res) != DC_OK) {   /* freed with the weights */
		dc_free(b->res);
		b->res = NULL;
		return DC_ENOMEM;
	}
	return DC_OK;
}

static enum dc_status load_decoder(struct dc_vae *v)
{
	const struct dc_vae_config *c = &v->cfg;
	int nb = c->nblocks, top = c->block_out_channels[nb - 1];
	char n[256];
	enum dc_status s;
	if ((s = load_conv(v, &v->dec.conv_in, "decoder.conv_in", c->latent_channels, top, 3)))
		return s;
	if ((s = load_mid(v, &v->dec.mid, "decoder", top)))
		return s;
	int prev = top;
	for (int i = 0; i < nb; i++) {
		int oc = c->block_out_channels[nb - 1 - i];
		struct coder_block *b = &v->dec.blk[i];
		if ((s = alloc_res(v, b, c->layers_per_block + 1)))
			return s;
		for (int r = 0; r < b->nres; r++) {
			snprintf(n, sizeof n, "decoder.up_blocks.%d.resnets.%d", i, r);
			if ((s = load_resnet(v, &b->res[r], n, r ? oc : prev, oc)))
				return s;
		}
		memset(&b->samp, 0, sizeof b->samp);
		if (i < nb - 1) {
			snprintf(n, sizeof n, "decoder.up_blocks.%d.upsamplers.0.conv", i);
			if ((s = load_conv(v, &b->samp, n, oc, oc, 3)))
				return s;
		}
		prev = oc;
	}
	if ((s = load_gn(v, &v->dec.norm_out, "decoder.conv_norm_out", c->block_out_channels[0])))
		return s;
	if ((s = load_conv(v, &v->dec.conv_out, "decoder.conv_out", c->block_out_channels[0],
	                   c->out_channels, 3)))
		return s;
	memset(&v->post_quant, 0, sizeof v->post_quant);
	if (c->use_post_quant_conv)
		return load_conv(v, &v->post_quant, "post_quant_conv", c->latent_channels,
		                 c->latent_channels, 1);
	return DC_OK;
}

static enum dc_status load_encoder(struct dc_vae *v)
{
	const struct dc_vae_config *c = &v->cfg;
	int nb = c->nblocks, top = c->block_out_channels[nb - 1];
	char n[256];
	enum dc_status s;
	if ((s = load_conv(v, &v->enc.conv_in, "encoder.conv_in", c->in_channels,
	                   c->block_out_channels[0], 3)))
		return s;
	int prev = c->block_out_channels[0];
	for (int i = 0; i < nb; i++) {
		int oc = c->block_out_channels[i];
		struct coder_block *b = &v->enc.blk[i];
		if ((s = alloc_res(v, b, c->layers_per_block)))
			return s;
		for (int r = 0; r < b->nres; r++) {
			snprintf(n, sizeof n, "encoder.down_blocks.%d.resnets.%d", i, r);
			if ((s = load_resnet(v, &b->res[r], n, r ? oc : prev, oc)))
				return s;
		}
		memset(&b->samp, 0, sizeof b->samp);
		if (i < nb - 1) {
			snprintf(n, sizeof n, "encoder.down_blocks.%d.downsamplers.0.conv", i);
			if ((s = load_conv(v, &b->samp, n, oc, oc, 3)))
				return s;
		}
		prev = oc;
	}
	if ((s = load_mid(v, &v->enc.mid, "encoder", top)))
		return s;
	if ((s = load_gn(v, &v->enc.norm_out, "encoder.conv_norm_out", top)))
		return s;
	if ((s = load_conv(v, &v->enc.conv_out, "encoder.conv_out", top,
	                   2 * c->latent_channels, 3)))
		return s;
	memset(&v->quant, 0, sizeof v->quant);
	if (c->use_quant_conv)
		return load_conv(v, &v->quant, "quant_conv", 2 * c->latent_channels,
		                 2 * c->latent_channels, 1);
	return DC_OK;
}

/* integer config key with a default when absent; range-checked */
static enum dc_status cfg_int(const struct dc_model *m, const char *key, int def, int lo, int hi,
                              int *out)
{
	int64_t v = def;
	if (dc_config_has(dc_model_config(m), key)) {
		enum dc_status s = dc_model_config_int(m, key, &v);
		if (s != DC_OK)
			return dc_fail(s, "vae: config: %s", dc_errmsg());
	}
	if (v < lo || v > hi)
		return dc_fail(DC_EFORMAT, "vae: config: '%s' = %lld out of range [%d, %d]", key,
		               (long long)v, lo, hi);
	*out = (int)v;
	return DC_OK;
}

static enum dc_status cfg_bool(const struct dc_model *m, const char *key, int def, int *out)
{
	*out = def;
	if (dc_config_has(dc_model_config(m), key)) {
		enum dc_status s = dc_model_config_bool(m, key, out);
		if (s != DC_OK)
			return dc_fail(s, "vae: config: %s", dc_errmsg());
	}
	return DC_OK;
}

/* every entry of the string array `key` (if present) equals `want`; n entries */
static enum dc_status cfg_types(const struct dc_model *m, const char *key, const char *want,
                                int n)
{
	const struct dc_config *c = dc_model_config(m);
	char p[64];
	if (!dc_config_has(c, key))
		return DC_OK;
	for (int i = 0;; i++) {
		const char *s;
		snprintf(p, sizeof p, "%s.%d", key, i);
		if (!dc_config_has(c, p)) {
			if (i != n)
				return dc_fail(DC_EFORMAT, "vae: config: '%s' has %d entries, "
				               "block_out_channels %d", key, i, n);
			return DC_OK;
		}
		if (dc_config_string(c, p, &s) != DC_OK)
			return dc_fail(DC_EFORMAT, "vae: config: '%s' is not a string", p);
		if (strcmp(s, want))
			return dc_fail(DC_EUNSUPPORTED, "vae: config: '%s' is '%s', only '%s' is "
			               "supported", p, s, want);
	}
}

static enum dc_status read_config(struct dc_vae *v)
{
	struct dc_vae_config *c = &v->cfg;
	const struct dc_model *m = v->m;
	const struct dc_config *cj = dc_model_config(m);
	enum dc_status s;
	memset(c, 0, sizeof *c);
	if ((s = cfg_int(m, "in_channels", 3, 1, MAX_CH, &c->in_channels)) ||
	    (s = cfg_int(m, "out_channels", 3, 1, MAX_CH, &c->out_channels)) ||
	    (s = cfg_int(m, "latent_channels", 4, 1, MAX_CH, &c->latent_channels)) ||
	    (s = cfg_int(m, "layers_per_block", 1, 1, 64, &c->layers_per_block)) ||
	    (s = cfg_int(m, "norm_num_groups", 32, 1, MAX_CH, &c->norm_num_groups)) ||
	    (s = cfg_int(m, "sample_size", 32, 1, 1 << 20, &c->sample_size)) ||
	    (s = cfg_bool(m, "use_quant_conv", 1, &c->use_quant_conv)) ||
	    (s = cfg_bool(m, "use_post_quant_conv", 1, &c->use_post_quant_conv)) ||
	    (s = cfg_bool(m, "mid_block_add_attention", 1, &c->mid_block_add_attention)))
		return s;
	/* sample_size may be a list [h, w] in some configs */
	if (dc_config_has(cj, "block_out_channels")) {
		int64_t b[DC_VAE_MAX_BLOCKS + 1];
		size_t n = 0;
		s = dc_model_config_int_array(m, "block_out_channels", b, DC_VAE_MAX_BLOCKS + 1, &n);
		if (s == DC_ELIMIT || n > DC_VAE_MAX_BLOCKS)
			return dc_fail(DC_ELIMIT, "vae: config: more than %d block_out_channels",
			               DC_VAE_MAX_BLOCKS);
		if (s != DC_OK)
			return dc_fail(s, "vae: config: %s", dc_errmsg());
		if (n == 0)
			return dc_fail(DC_EFORMAT, "vae: config: 'block_out_channels' is empty");
		c->nblocks = (int)n;
		for (size_t i = 0; i < n; i++) {
			if (b[i] < 1 || b[i] > MAX_CH)
				return dc_fail(DC_EFORMAT, "vae: config: 'block_out_channels.%zu' = %lld "
				               "out of range", i, (long long)b[i]);
			c->block_out_channels[i] = (int)b[i];
		}
	} else {
		c->nblocks = 1;
		c->block_out_channels[0] = 64;
	}
	for (int i = 0; i < c->nblocks; i++)
		if (c->block_out_channels[i] % c->norm_num_groups)
			return dc_fail(DC_EFORMAT, "vae: config: block_out_channels.%d = %d is not a "
			               "multiple of norm_num_groups %d", i, c->block_out_channels[i],
			               c->norm_num_groups);
	if ((s = cfg_types(m, "down_block_types", "DownEncoderBlock2D", c->nblocks)) ||
	    (s = cfg_types(m, "up_block_types", "UpDecoderBlock2D", c->nblocks)))
		return s;
	if (dc_config_has(cj, "act_fn")) {
		const char *a;
		if (dc_config_string(cj, "act_fn", &a) != DC_OK || strcmp(a, "silu"))
			return dc_fail(DC_EUNSUPPORTED, "vae: config: only act_fn 'silu' is supported");
	}
	c->scaling_factor = 0.18215;
	if (dc_config_has(cj, "scaling_factor") &&
	    dc_config_double(cj, "scaling_factor", &c->scaling_factor) != DC_OK)
		return dc_fail(DC_EFORMAT, "vae: config: 'scaling_factor' is not a number");
	c->has_shift_factor = dc_config_double(cj, "shift_factor", &c->shift_factor) == DC_OK;
	if (!c->has_shift_factor)
		c->shift_factor = 0;
	v->groups = c->norm_num_groups;
	v->scale = 1 << (c->nblocks - 1);
	return DC_OK;
}

void dc_vae_free(struct dc_vae *vae)
{
	if (!vae)
		return;
	for (size_t i = 0; i < vae->nowned; i++)
		dc_free(vae->owned[i]);
	dc_free(vae->owned);
	dc_model_free(vae->m);
	dc_free(vae);
}

enum dc_status dc_vae_open(struct dc_vae **out, const char *dir)
{
	struct dc_vae *v;
	enum dc_status s;
	*out = NULL;
	v = dc_alloc(sizeof *v);
	if (!v)
		return dc_fail(DC_ENOMEM, "vae: out of memory");
	memset(v, 0, sizeof *v);
	if ((s = dc_model_open(&v->m, dir)) != DC_OK) {
		dc_free(v);
		return s;
	}
	if ((s = read_config(v)) == DC_OK && (s = load_decoder(v)) == DC_OK) {
		v->cfg.has_encoder = dc_model_find(v->m, "encoder.conv_in.weight") != NULL;
		if (v->cfg.has_encoder)
			s = load_encoder(v);
	}
	if (s != DC_OK) {
		dc_vae_free(v);
		return s;
	}
	*out = v;
	return DC_OK;
}

const struct dc_vae_config *dc_vae_config(const struct dc_vae *vae)
{
	return &vae->cfg;
}

int dc_vae_scale(const struct dc_vae *vae)
{
	return vae->scale;
}

/* ---- layers ------------------------------------------------------------------- */

/* col[(ic*k+kh)*k+kw][r*OW+ow] = x[ic][(r0+r)*s-pt+kh][ow*s-pl+kw], 0 outside */
static void im2col_rows(float *col, const float *x, int IC, int H, int W, int OW, int k,
                        int s, int pt, int pl, int r0, int R)
{
	int rows = IC * k * k;
	size_t n = (size_t)R * OW;
#pragma omp parallel for num_threads(dc_threads()) schedule(static) if ((size_t)rows * n >= 65536)
	for (int q = 0; q < rows; q++) {
		int ic = q / (k * k), kh = (q / k) % k, kw = q % k;
		const float *xp = x + (size_t)ic * H * W;
		float *cr = col + (size_t)q * n;
		/* valid ow: 0 <= ow*s - pl + kw < W */
		int off = kw - pl;
		int lo = off >= 0 ? 0 : (-off + s - 1) / s;
		int hi = W - 1 - off < 0 ? -1 : (W - 1 - off) / s;
		if (hi > OW - 1)
			hi = OW - 1;
		for (int r = 0; r < R; r++) {
			int ih = (r0 + r) * s - pt + kh;
			float *c = cr + (size_t)r * OW;
			if (ih < 0 || ih >= H || lo > hi) {
				memset(c, 0, (size_t)OW * sizeof *c);
				continue;
			}
			const float *xr = xp + (size_t)ih * W;
			for (int ow = 0; ow < lo; ow++)
				c[ow] = 0.0f;
			if (s == 1) {
				memcpy(c + lo, xr + lo + off, (size_t)(hi - lo + 1) * sizeof *c);
			} else {
				for (int ow = lo; ow <= hi; ow++)
					c[ow] = xr[ow * s + off];
			}
			for (int ow = hi + 1; ow < OW; ow++)
				c[ow] = 0.0f;
		}
	}
}

/* floats of scratch conv_forward needs for up to C channels at width OW */
static size_t conv_scratch(int C, int OW, int k)
{
	size_t row = (size_t)C * k * k * OW;
	return 3 * (row > CONV_SCRATCH ? row : CONV_SCRATCH);
}

/* b[C][R] = a[R][C] (+ bias[c] per row of b when bias != NULL); b has row
 * stride ldb, a row stride lda */
static void transpose_bias(float *b, size_t ldb, const float *a, size_t lda, int R, int C,
                           const float *bias)
{
#pragma omp parallel for num_threads(dc_threads()) schedule(static) if ((size_t)R * C >= 65536)
	for (int c0 = 0; c0 < C; c0 += 16)
		for (int r0 = 0; r0 < R; r0 += 64)
			for (int c = c0; c < C && c < c0 + 16; c++) {
				float bv = bias ? bias[c] : 0.0f;
				float *br = b + (size_t)c * ldb;
				int r1 = r0 + 64 < R ? r0 + 64 : R;
				for (int r = r0; r < r1; r++)
					br[r] = a[(size_t)r * lda + c] + bv;
			}
}

/*
 * y[oc][OH][OW] = conv(x[ic][H][W]) + bias: zero padding pt rows/columns
 * at the top/left and pb at the bottom/right, stride s.  k x k kernels run
 * as strips of R output rows: im2col of the strip (col[K][n], n = R*OW),
 * transposed to rows of patches (row[n][K]), one GEMM
 * out[n][oc] = row . W^T (BLIS runs this orientation 10-45% faster than
 * W . col when oc is 128-512), transposed into y with the bias.  The
 * scratch holds conv_scratch floats: col, row and out, each up to a third.
 */
static void conv_forward(const struct conv *c, const float *x, int H, int W, float *y,
                         int s, int pt, int pb, float *scratch)
{
	int k = c->k, pl = pt, OH = (H + pt + pb - k) / s + 1, OW = (W + pt + pb - k) / s + 1;
	size_t plane = (size_t)OH * OW;
	int K = c->ic * k * k;
	if (k == 1 && s == 1 && pt == 0 && pb == 0) {
		for (int o = 0; o < c->oc; o++) {
			float bv = c->b[o], *yo = y + (size_t)o * plane;
			for (size_t t = 0; t < plane; t++)
				yo[t] = bv;
		}
		dc_sgemm(0, 0, c->oc, (int)plane, K, 1.0f, c->w, K, x, (int)plane, 1.0f, y,
		         (int)plane, 0);
		return;
	}
	size_t rowsz = (size_t)(K > c->oc ? K : c->oc) * OW;
	int R = (int)(CONV_SCRATCH / rowsz);
	if (R < 1)
		R = 1;
	if (R > OH)
		R = OH;
	/* even strips: the last is not a sliver */
	int ns = (OH + R - 1) / R;
	R = (OH + ns - 1) / ns;
	size_t third = (size_t)R * rowsz;
	float *col = scratch, *row = scratch + third, *out = row + third;
	for (int r0 = 0; r0 < OH; r0 += R) {
		int rr = OH - r0 < R ? OH - r0 : R, n = rr * OW;
		im2col_rows(col, x, c->ic, H, W, OW, k, s, pt, pl, r0, rr);
		transpose_bias(row, (size_t)K, col, (size_t)n, K, n, NULL);
		dc_sgemm(0, 1, n, c->oc, K, 1.0f, row, K, c->w, K, 0.0f, out, c->oc, 0);
		transpose_bias(y + (size_t)r0 * OW, plane, out, (size_t)c->oc, n, c->oc, c->b);
	}
}

static void gn_silu(const struct gnorm *g, const float *x, float *y, int S, int G)
{
	dc_groupnorm_forward(y, x, g->w, g->b, 1, g->c, S, G, GN_EPS);
	dc_silu_forward(y, y, (size_t)g->c * S);
}

/* x[cin][H][W] -> x[cout][H][W]; t1, t2 hold max(cin,cout)*H*W floats */
static void resnet_forward(const struct resnet *r, float *x, int H, int W, float *t1,
                           float *t2, float *scr, int G)
{
	size_t S = (size_t)H * W, n = (size_t)r->cout * S;
	gn_silu(&r->n1, x, t1, (int)S, G);
	conv_forward(&r->c1, t1, H, W, t2, 1, 1, 1, scr);
	gn_silu(&r->n2, t2, t1, (int)S, G);
	conv_forward(&r->c2, t1, H, W, t2, 1, 1, 1, scr);
	if (r->sc.w) {
		conv_forward(&r->sc, x, H, W, t1, 1, 0, 0, scr);
#pragma omp parallel for simd num_threads(dc_threads()) if (n >= 262144)
		for (size_t i = 0; i < n; i++)
			x[i] = t1[i] + t2[i];
	} else {
#pragma omp parallel for simd num_threads(dc_threads()) if (n >= 262144)
		for (size_t i = 0; i < n; i++)
			x[i] += t2[i];
	}
}

/* a[R][C] -> b[C][R] */
static void transpose(float *b, const float *a, int R, int C)
{
#pragma omp parallel for num_threads(dc_threads()) schedule(static) if ((size_t)R * C >= 262144)
	for (int r0 = 0; r0 < R; r0 += 32)
		for (int c0 = 0; c0 < C; c0 += 32)
			for (int r = r0; r < R && r < r0 + 32; r++)
				for (int c = c0; c < C && c < c0 + 32; c++)
					b[(size_t)c * R + r] = a[(size_t)r * C + c];
}

/* x[C][N] += attention(x); ws holds 5*N*C floats */
static void attn_forward(const struct attn *a, float *x, int N, float *ws, int G)
{
	int C = a->c;
	size_t nc = (size_t)N * C;
	float *t = ws, *q = ws + nc, *k = q + nc, *v = k + nc, *o = v + nc;
	dc_groupnorm_forward(o, x, a->gn.w, a->gn.b, 1, C, N, G, GN_EPS);
	transpose(t, o, C, N);                         /* t[N][C] */
	dc_linear_forward(q, t, a->wq, a->bq, N, C, C);
	dc_linear_forward(k, t, a->wk, a->bk, N, C, C);
	dc_linear_forward(v, t, a->wv, a->bv, N, C, C);
	dc_attention_forward(o, C, q, C, k, C, v, C, N, N, 1, C, 0.0f, NULL, NULL);
	dc_linear_forward(t, o, a->wo, a->bo, N, C, C); /* t[N][C] */
	transpose(o, t, N, C);                         /* o[C][N] */
#pragma omp parallel for simd num_threads(dc_threads()) if (nc >= 262144)
	for (size_t i = 0; i < nc; i++)
		x[i] += o[i];
}

static void mid_forward(const struct mid *m, float *x, int H, int W, float *t1, float *t2,
                        float *scr, float *aws, int G)
{
	resnet_forward(&m->r0, x, H, W, t1, t2, scr, G);
	if (m->has_attn)
		attn_forward(&m->at, x, H * W, aws, G);
	resnet_forward(&m->r1, x, H, W, t1, t2, scr, G);
}

/* y[C][2H][2W] = nearest x2 of x[C][H][W] */
static void upsample2(float *y, const float *x, int C, int H, int W)
{
	int W2 = 2 * W;
#pragma omp parallel for num_threads(dc_threads()) schedule(static) if ((size_t)C * H * W >= 65536)
	for (int c = 0; c < C; c++)
		for (int i = 0; i < H; i++) {
			const float *xr = x + ((size_t)c * H + i) * W;
			float *y0 = y + ((size_t)c * 2 * H + 2 * i) * W2, *y1 = y0 + W2;
			for (int j = 0; j < W; j++)
				y0[2 * j] = y0[2 * j + 1] = xr[j];
			memcpy(y1, y0, (size_t)W2 * sizeof *y1);
		}
}

/* ---- decoder ------------------------------------------------------------------- */

/* Buffers of one decode of a latent h x w. */
struct dec_ws {
	float *x, *t1, *t2, *scr, *aws;
};

static void dec_ws_free(struct dec_ws *ws)
{
	dc_free(ws->x);
	dc_free(ws->t1);
	dc_free(ws->t2);
	dc_free(ws->scr);
	dc_free(ws->aws);
	memset(ws, 0, sizeof *ws);
}

static enum dc_status alloc_floats(float **p, size_t n)
{
	size_t b;
	if (dc_mul_size(n, sizeof(float), &b))
		return dc_fail(DC_EOVERFLOW, "vae: image too large");
	*p = dc_alloc(b);
	return *p ? DC_OK : dc_fail(DC_ENOMEM, "vae: out of memory (%zu MiB)", b >> 20);
}

/* sizes for the decoder at latent h x w (also valid for any smaller) */
static enum dc_status dec_ws_alloc(const struct dc_vae *v, struct dec_ws *ws, int h, int w)
{
	const struct dc_vae_config *c = &v->cfg;
	int nb = c->nblocks;
	size_t act = 0, scr = 3 * CONV_SCRATCH, S = 0;
	int prev = c->block_out_channels[nb - 1];
	enum dc_status s;
	memset(ws, 0, sizeof *ws);
	for (int i = 0; i < nb; i++) {
		int oc = c->block_out_channels[nb - 1 - i], cm = oc > prev ? oc : prev;
		size_t hh = (size_t)h << i, ww = (size_t)w << i, n;
		if (dc_mul_size(hh, ww, &S) || dc_mul_size(S, (size_t)cm, &n))
			return dc_fail(DC_EOVERFLOW, "vae: image too large");
		if (n > act)
			act = n;
		if (i < nb - 1 && dc_mul_size(4 * S, (size_t)oc, &n) == 0 && n > act)
			act = n;             /* upsampled activation */
		size_t sc = conv_scratch(cm, (int)(ww << (i < nb - 1)), 3);
		if (sc > scr)
			scr = sc;
	}
	/* conv_out's input at full resolution (already counted) and the latent */
	if ((size_t)h * w * c->latent_channels > act)
		act = (size_t)h * w * c->latent_channels;
	size_t nc = 0;
	if (c->mid_block_add_attention &&
	    (dc_mul_size((size_t)h * w, (size_t)prev * 5, &nc)))
		return dc_fail(DC_EOVERFLOW, "vae: image too large");
	if ((s = alloc_floats(&ws->x, act)) || (s = alloc_floats(&ws->t1, act)) ||
	    (s = alloc_floats(&ws->t2, act)) || (s = alloc_floats(&ws->scr, scr)) ||
	    (s = alloc_floats(&ws->aws, nc ? nc : 1))) {
		dec_ws_free(ws);
		return s;
	}
	return DC_OK;
}

/* one latent z[lat][h][w] -> img[out][h*s][w*s] */
static void decode_one(const struct dc_vae *v, struct dec_ws *ws, const float *z, int h, int w,
                       float *img)
{
	const struct dc_vae_config *c = &v->cfg;
	const struct coder *d = &v->dec;
	int G = v->groups, nb = c->nblocks;
	float *x = ws->x, *t1 = ws->t1, *t2 = ws->t2;
	if (v->post_quant.w) {
		conv_forward(&v->post_quant, z, h, w, t1, 1, 0, 0, ws->scr);
		conv_forward(&d->conv_in, t1, h, w, x, 1, 1, 1, ws->scr);
	} else {
		conv_forward(&d->conv_in, z, h, w, x, 1, 1, 1, ws->scr);
	}
	mid_forward(&d->mid, x, h, w, t1, t2, ws->scr, ws->aws, G);
	int H = h, W = w;
	for (int i = 0; i < nb; i++) {
		const struct coder_block *b = &d->blk[i];
		for (int r = 0; r < b->nres; r++)
			resnet_forward(&b->res[r], x, H, W, t1, t2, ws->scr, G);
		if (b->samp.w) {
			upsample2(t1, x, b->samp.ic, H, W);
			H *= 2;
			W *= 2;
			conv_forward(&b->samp, t1, H, W, x, 1, 1, 1, ws->scr);
		}
	}
	gn_silu(&d->norm_out, x, t1, H * W, G);
	conv_forward(&d->conv_out, t1, H, W, img, 1, 1, 1, ws->scr);
}

static enum dc_status check_dims(int B, int h, int w)
{
	if (B <= 0 || h <= 0 || w <= 0 || h > (1 << 16) || w > (1 << 16))
		return dc_fail(DC_EINVAL, "vae: bad latent size %dx%dx%d", B, h, w);
	return DC_OK;
}

enum dc_status dc_vae_decode(const struct dc_vae *vae, const float *z, int B, int h, int w,
                             float *img)
{
	struct dec_ws ws;
	enum dc_status s;
	if ((s = check_dims(B, h, w)) || (s = dec_ws_alloc(vae, &ws, h, w)))
		return s;
	size_t zn = (size_t)vae->cfg.latent_channels * h * w;
	size_t in = (size_t)vae->cfg.out_channels * h * w * vae->scale * vae->scale;
	for (int b = 0; b < B; b++)
		decode_one(vae, &ws, z + b * zn, h, w, img + b * in);
	dec_ws_free(&ws);
	return DC_OK;
}

/* tiles start at 0, ov, 2ov, ... < n; pixel rows each contributes */
static long tiled_extent(int n, int T, int ov, int s, int row_limit)
{
	long tot = 0;
	for (int i = 0; i < n; i += ov) {
		int len = (n - i < T ? n - i : T) * s;
		tot += len < row_limit ? len : row_limit;
	}
	return tot;
}

enum dc_status dc_vae_decode_tiled(const struct dc_vae *vae, const float *z, int B, int h,
                                   int w, float *img, int tile, double overlap)
{
	const struct dc_vae_config *c = &vae->cfg;
	int s = vae->scale, C = c->out_channels, L = c->latent_channels;
	enum dc_status st;
	if ((st = check_dims(B, h, w)))
		return st;
	if (tile <= 0)
		tile = (int)(c->sample_size / (double)s);
	if (!(overlap > 0 && overlap < 1))
		overlap = 0.25;
	if (tile < 1)
		return dc_fail(DC_EINVAL, "vae: tile size %d", tile);
	if (h <= tile && w <= tile)
		return dc_vae_decode(vae, z, B, h, w, img);
	int T = tile, TS = tile * s;
	int ov = (int)(T * (1 - overlap));
	int blend = (int)(TS * overlap);
	int row_limit = TS - blend;
	if (ov < 1 || row_limit < 1 ||
	    tiled_extent(h, T, ov, s, row_limit) != (long)h * s ||
	    tiled_extent(w, T, ov, s, row_limit) != (long)w * s)
		return dc_fail(DC_EINVAL, "vae: tile %d with overlap %g does not tile a %dx%d "
		               "latent (diffusers' output would not be %dx%d)", tile, overlap,
		               h, w, h * s, w * s);
	int nj = (w + ov - 1) / ov;
	struct dec_ws ws;
	float *zt = NULL, *dt = NULL, *vst = NULL, *hst = NULL;
	int *vh = NULL;   /* pixel heights of the stored tiles of the row above */
	size_t tpix = (size_t)TS * TS;
	if ((st = dec_ws_alloc(vae, &ws, T, T)))
		return st;
	/* vst[j]: bottom `blend` rows of blended tile (i-1, j), [C][blend][TS];
	 * hst: right `blend` columns of blended tile (i, j-1), [C][TS][blend] */
	if ((st = alloc_floats(&zt, (size_t)L * T * T)) ||
	    (st = alloc_floats(&dt, (size_t)C * tpix)) ||
	    (st = alloc_floats(&vst, (size_t)nj * C * (blend ? blend : 1) * TS)) ||
	    (st = alloc_floats(&hst, (size_t)C * TS * (blend ? blend : 1))))
		goto out;
	if (!(vh = dc_alloc((size_t)nj * sizeof *vh))) {
		st = dc_fail(DC_ENOMEM, "vae: out of memory");
		goto out;
	}
	size_t W = (size_t)w * s, Hh = (size_t)h * s;
	for (int b = 0; b < B; b++) {
		const float *zb = z + (size_t)b * L * h * w;
		float *ib = img + (size_t)b * C * Hh * W;
		int oy = 0;
		for (int i = 0; i < h; i += ov) {
			int th = h - i < T ? h - i : T, ph = th * s, ox = 0, hw_prev = 0;
			for (int jj = 0, j = 0; j < w; j += ov, jj++) {
				int tw = w - j < T ? w - j : T, pw = tw * s;
				for (int l = 0; l < L; l++)
					for (int r = 0; r < th; r++)
						memcpy(zt + ((size_t)l * th + r) * tw,
						       zb + ((size_t)l * h + i + r) * w + j,
						       (size_t)tw * sizeof *zt);
				decode_one(vae, &ws, zt, th, tw, dt);
				size_t pl = (size_t)ph * pw;
				if (i > 0) {   /* blend_v with the tile above (same width) */
					int e = blend < vh[jj] ? blend : vh[jj];
					if (ph < e)
						e = ph;
					int sb = blend < vh[jj] ? blend : vh[jj];  /* rows stored */
					for (int ch = 0; ch < C; ch++) {
						const float *a = vst + ((size_t)jj * C + ch) * blend * TS;
						float *d = dt + ch * pl;
						for (int y = 0; y < e; y++) {
							float wa = (float)(1 - (double)y / e);
							float wb = (float)((double)y / e);
							const float *ar = a + (size_t)(sb - e + y) * pw;
							for (int x = 0; x < pw; x++)
								d[(size_t)y * pw + x] = ar[x] * wa +
								                        d[(size_t)y * pw + x] * wb;
						}
					}
				}
				if (j > 0) {   /* blend_h with the tile to the left (same height) */
					int e = blend < hw_prev ? blend : hw_prev;
					if (pw < e)
						e = pw;
					int sb = blend < hw_prev ? blend : hw_prev;
					for (int ch = 0; ch < C; ch++) {
						const float *a = hst + (size_t)ch * TS * blend;
						float *d = dt + ch * pl;
						for (int y = 0; y < ph; y++)
							for (int x = 0; x < e; x++) {
								float wa = (float)(1 - (double)x / e);
								float wb = (float)((double)x / e);
								d[(size_t)y * pw + x] =
									a[(size_t)y * blend + sb - e + x] * wa +
									d[(size_t)y * pw + x] * wb;
							}
					}
				}
				/* keep this blended tile's bottom rows and right columns */
				int sv = blend < ph ? blend : ph, sh = blend < pw ? blend : pw;
				for (int ch = 0; ch < C; ch++) {
					float *a = vst + ((size_t)jj * C + ch) * blend * TS;
					const float *d = dt + ch * pl;
					memcpy(a, d + (size_t)(ph - sv) * pw, (size_t)sv * pw * sizeof *a);
					float *hh = hst + (size_t)ch * TS * blend;
					for (int y = 0; y < ph; y++)
						memcpy(hh + (size_t)y * blend, d + (size_t)y * pw + pw - sh,
						       (size_t)sh * sizeof *hh);
				}
				vh[jj] = ph;
				hw_prev = pw;
				/* crop [:row_limit, :row_limit] into the image */
				int cy = ph < row_limit ? ph : row_limit, cx = pw < row_limit ? pw : row_limit;
				for (int ch = 0; ch < C; ch++)
					for (int y = 0; y < cy; y++)
						memcpy(ib + ((size_t)ch * Hh + oy + y) * W + ox,
						       dt + ch * pl + (size_t)y * pw, (size_t)cx * sizeof *ib);
				ox += cx;
			}
			oy += ph < row_limit ? ph : row_limit;
		}
	}
out:
	dc_free(vh);
	dc_free(zt);
	dc_free(dt);
	dc_free(vst);
	dc_free(hst);
	dec_ws_free(&ws);
	return st;
}

/* ---- encoder ------------------------------------------------------------------- */

enum dc_status dc_vae_encode(const struct dc_vae *vae, const float *x, int B, int H, int W,
                             float *mean, float *logvar)
{
	const struct dc_vae_config *c = &vae->cfg;
	const struct coder *e = &vae->enc;
	int s = vae->scale, nb = c->nblocks, G = vae->groups, L = c->latent_channels;
	enum dc_status st;
	if (!c->has_encoder)
		return dc_fail(DC_EUNSUPPORTED, "vae: this model has no encoder weights");
	if (B <= 0 || H <= 0 || W <= 0 || H % s || W % s || H > (1 << 20) || W > (1 << 20))
		return dc_fail(DC_EINVAL, "vae: image %dx%d is not a positive multiple of %d", W, H,
		               s);
	/* widest activation: channel i at (H>>i) x (W>>i), and conv_in/out */
	size_t act = 0, scr = 3 * CONV_SCRATCH, n;
	int prev = c->block_out_channels[0];
	for (int i = 0; i < nb; i++) {
		int oc = c->block_out_channels[i], cm = oc > prev ? oc : prev;
		if (dc_mul_size((size_t)(H >> i) * (size_t)(W >> i), (size_t)cm, &n))
			return dc_fail(DC_EOVERFLOW, "vae: image too large");
		if (n > act)
			act = n;
		size_t sc = conv_scratch(cm, W >> i, 3);
		if (sc > scr)
			scr = sc;
		prev = oc;
	}
	if ((size_t)H * W * c->in_channels > act)
		act = (size_t)H * W * c->in_channels;
	size_t hw = (size_t)(H / s) * (W / s), top = (size_t)c->block_out_channels[nb - 1];
	if (hw * 2 * L > act)
		act = hw * 2 * L;
	struct dec_ws ws;
	memset(&ws, 0, sizeof ws);
	if ((st = alloc_floats(&ws.x, act)) || (st = alloc_floats(&ws.t1, act)) ||
	    (st = alloc_floats(&ws.t2, act)) || (st = alloc_floats(&ws.scr, scr)) ||
	    (st = alloc_floats(&ws.aws, c->mid_block_add_attention ? hw * top * 5 : 1))) {
		dec_ws_free(&ws);
		return st;
	}
	for (int b = 0; b < B; b++) {
		float *xa = ws.x, *t1 = ws.t1, *t2 = ws.t2;
		int h = H, w = W;
		conv_forward(&e->conv_in, x + (size_t)b * c->in_channels * H * W, h, w, xa, 1, 1, 1,
		             ws.scr);
		for (int i = 0; i < nb; i++) {
			const struct coder_block *bl = &e->blk[i];
			for (int r = 0; r < bl->nres; r++)
				resnet_forward(&bl->res[r], xa, h, w, t1, t2, ws.scr, G);
			if (bl->samp.w) {
				conv_forward(&bl->samp, xa, h, w, t1, 2, 0, 1, ws.scr);
				h /= 2;
				w /= 2;
				memcpy(xa, t1, (size_t)bl->samp.oc * h * w * sizeof *xa);
			}
		}
		mid_forward(&e->mid, xa, h, w, t1, t2, ws.scr, ws.aws, G);
		gn_silu(&e->norm_out, xa, t1, h * w, G);
		conv_forward(&e->conv_out, t1, h, w, t2, 1, 1, 1, ws.scr);
		float *mo = t2;
		if (vae->quant.w) {
			conv_forward(&vae->quant, t2, h, w, t1, 1, 0, 0, ws.scr);
			mo = t1;
		}
		size_t ln = (size_t)L * h * w;
		memcpy(mean + b * ln, mo, ln * sizeof *mean);
		if (logvar)
			for (size_t i = 0; i < ln; i++) {
				float lv = mo[ln + i];
				logvar[b * ln + i] = lv < -30.0f ? -30.0f : lv > 20.0f ? 20.0f : lv;
			}
	}
	dec_ws_free(&ws);
	return DC_OK;
}
