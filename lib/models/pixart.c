/*
 * pixart.c - PixArt-alpha transformer and PixArt-delta ControlNet-Transformer
 * forward (see pixart.h for the maths and the key names).
 *
 * Layout: activations are token-major, x[B*N][D] with token n = row*gw + col
 * of the patch grid (the conv flatten order); all tokens of a batch go
 * through one GEMM per linear layer.  Attention runs per batch element
 * through dc_attention_forward, q/k/v read strided out of one [B*N][3D]
 * buffer.  Block weights are resolved per forward: f32 tensors in place
 * (mmap), others converted into one per-block f32 buffer; or, after
 * dc_pixart_set_precision(BF16 | INT8), every block's linear layers are
 * packed once (struct pblock: q/k/v fused into one [3D][D] matrix, cross
 * k/v into one [2D][D]) and run through dc_gemm_wpack with the bias added
 * in its epilogue; the attention of packed blocks runs in bf16 too
 * (dc_attention_forward_bf16, scratch borrowed from the FF buffer).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pixart.h"
#include "../ops/ops.h"

/* ---- block weights ------------------------------------------------------- */

enum {
	W_SST, W_Q, W_QB, W_K, W_KB, W_V, W_VB, W_O, W_OB,
	W_CQ, W_CQB, W_CK, W_CKB, W_CV, W_CVB, W_CO, W_COB,
	W_F1, W_F1B, W_F2, W_F2B, W_NF
};

/* One stored tensor of a block; a fused one (qkv, kv) feeds nf fields. */
struct wspec {
	char suffix[40];
	int rank;
	int64_t shape[2];
	int nf;
	int field[3];
};

enum { SCHEME_DIFFUSERS = 0, SCHEME_OFFICIAL = 1 };

static void spec(struct wspec *s, int *n, const char *suf, int rank, int64_t d0, int64_t d1,
                 int nf, int f0, int f1, int f2)
{
	struct wspec *w = &s[(*n)++];
	snprintf(w->suffix, sizeof w->suffix, "%s", suf);
	w->rank = rank;
	w->shape[0] = d0;
	w->shape[1] = d1;
	w->nf = nf;
	w->field[0] = f0;
	w->field[1] = f1;
	w->field[2] = f2;
}

/* The tensors of one block under a naming scheme; returns the count. */
static int block_specs(int scheme, int64_t D, int64_t F, struct wspec *s)
{
	int n = 0;
	spec(s, &n, "scale_shift_table", 2, 6, D, 1, W_SST, 0, 0);
	if (scheme == SCHEME_OFFICIAL) {
		spec(s, &n, "attn.qkv.weight", 2, 3 * D, D, 3, W_Q, W_K, W_V);
		spec(s, &n, "attn.qkv.bias", 1, 3 * D, 0, 3, W_QB, W_KB, W_VB);
		spec(s, &n, "attn.proj.weight", 2, D, D, 1, W_O, 0, 0);
		spec(s, &n, "attn.proj.bias", 1, D, 0, 1, W_OB, 0, 0);
		spec(s, &n, "cross_attn.q_linear.weight", 2, D, D, 1, W_CQ, 0, 0);
		spec(s, &n, "cross_attn.q_linear.bias", 1, D, 0, 1, W_CQB, 0, 0);
		spec(s, &n, "cross_attn.kv_linear.weight", 2, 2 * D, D, 2, W_CK, W_CV, 0);
		spec(s, &n, "cross_attn.kv_linear.bias", 1, 2 * D, 0, 2, W_CKB, W_CVB, 0);
		spec(s, &n, "cross_attn.proj.weight", 2, D, D, 1, W_CO, 0, 0);
		spec(s, &n, "cross_attn.proj.bias", 1, D, 0, 1, W_COB, 0, 0);
		spec(s, &n, "mlp.fc1.weight", 2, F, D, 1, W_F1, 0, 0);
		spec(s, &n, "mlp.fc1.bias", 1, F, 0, 1, W_F1B, 0, 0);
		spec(s, &n, "mlp.fc2.weight", 2, D, F, 1, W_F2, 0, 0);
		spec(s, &n, "mlp.fc2.bias", 1, D, 0, 1, W_F2B, 0, 0);
		return n;
	}
	static const char *lin[8] = { "attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0",
	                              "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0" };
	char buf[40];
	for (int i = 0; i < 8; i++) {
		snprintf(buf, sizeof buf, "%s.weight", lin[i]);
		spec(s, &n, buf, 2, D, D, 1, W_Q + 2 * i, 0, 0);
		snprintf(buf, sizeof buf, "%s.bias", lin[i]);
		spec(s, &n, buf, 1, D, 0, 1, W_Q + 2 * i + 1, 0, 0);
	}
	spec(s, &n, "ff.net.0.proj.weight", 2, F, D, 1, W_F1, 0, 0);
	spec(s, &n, "ff.net.0.proj.bias", 1, F, 0, 1, W_F1B, 0, 0);
	spec(s, &n, "ff.net.2.weight", 2, D, F, 1, W_F2, 0, 0);
	spec(s, &n, "ff.net.2.bias", 1, D, 0, 1, W_F2B, 0, 0);
	return n;
}

static size_t spec_numel(const struct wspec *s)
{
	return (size_t)s->shape[0] * (s->rank == 2 ? (size_t)s->shape[1] : 1);
}

/* Where a set of blocks comes from: a model + key prefix, or owned arrays. */
struct blocksrc {
	const struct dc_model *m;
	int scheme;
	const char *fmt;            /* prefix with one %d */
	float **owned;              /* per block, spec order (synthetic models) */
	int n;
};

struct dc_pixart {
	struct dc_pixart_config cfg;
	struct dc_model *model;     /* NULL for synthetic */
	struct blocksrc blocks;
	float **owned_blocks;
	float *blockbuf;            /* one block converted to f32, allocated on demand */
	int need_buf;               /* some block tensor is not f32 in place */
	size_t block_floats;

	float *small;               /* owned f32 copy of every non-block weight */
	const float *pe_w, *pe_b;           /* [D][Cin*p*p], [D] */
	const float *te1_w, *te1_b, *te2_w, *te2_b;
	const float *re1_w, *re1_b, *re2_w, *re2_b;  /* resolution embedder */
	const float *ae1_w, *ae1_b, *ae2_w, *ae2_b;  /* aspect-ratio embedder */
	const float *ada_w, *ada_b;         /* [6D][D] */
	const float *cap1_w, *cap1_b, *cap2_w, *cap2_b;
	const float *sst_out;               /* [2][D] */
	const float *po_w, *po_b;           /* [p*p*Cout][D] */

	float *pos;                 /* cached position embedding [gh*gw][D] */
	int pos_gh, pos_gw;

	enum dc_precision prec;
	struct pblock *pb;          /* [layers] packed blocks; NULL at f32 */
};

struct dc_pixart_control {
	const struct dc_pixart *base;
	struct dc_model *model;
	struct blocksrc blocks;
	int need_buf;
	float *proj;                /* before_proj (W, b), then K after_proj (W, b) */
	enum dc_precision prec;
	struct pblock *pb;          /* [K] packed blocks; NULL at f32 */
};

/* ---- small helpers ------------------------------------------------------- */

/* Threads for a loop over `work` elements: one below 32k (a parallel region
 * costs more than it saves there, and far more on a loaded machine). */
static int nthr(size_t work)
{
	return work < (1u << 15) ? 1 : dc_threads();
}


/* Check every tensor of blocks 0..n-1 of a source; *conv = 1 if some
 * tensor must be converted to f32 at forward time. */
static enum dc_status blocks_validate(const struct blocksrc *src, int64_t D, int64_t F,
                                      int *conv)
{
	*conv = 0;
	struct wspec sp[32];
	int ns = block_specs(src->scheme, D, F, sp);
	char name[160];
	for (int i = 0; i < src->n; i++)
		for (int j = 0; j < ns; j++) {
			const struct dc_st_tensor *t;
			snprintf(name, sizeof name, src->fmt, i);
			strncat(name, sp[j].suffix, sizeof name - strlen(name) - 1);
			enum dc_status s = dc_model_find_checked(src->m, name, sp[j].rank, sp[j].shape, &t);
			if (s)
				return s;
			if (t->dtype != DC_F32 || ((uintptr_t)t->data & 3))
				*conv = 1;
		}
	return DC_OK;
}

/* Resolve block i's weight pointers (converting into buf where needed). */
static enum dc_status block_get(const struct blocksrc *src, int i, int64_t D, int64_t F,
                                float *buf, const float **w)
{
	struct wspec sp[32];
	int ns = block_specs(src->scheme, D, F, sp);
	size_t off = 0;
	char name[160];
	for (int j = 0; j < ns; j++) {
		size_t n = spec_numel(&sp[j]);
		const float *p;
		if (src->owned) {
			p = src->owned[i] + off;
		} else {
			snprintf(name, sizeof name, src->fmt, i);
			strncat(name, sp[j].suffix, sizeof name - strlen(name) - 1);
			const struct dc_st_tensor *t = dc_model_find(src->m, name);
			if (!t)
				return dc_fail(DC_ENOTFOUND, "no tensor '%s'", name);
			if (t->dtype == DC_F32 && ((uintptr_t)t->data & 3) == 0) {
				p = t->data;
			} else {
				enum dc_status s = dc_model_read_f32(src->m, name, 0, buf + off, n);
				if (s)
					return s;
				p = buf + off;
			}
		}
		for (int f = 0; f < sp[j].nf; f++)
			w[sp[j].field[f]] = p + (size_t)f * (n / (size_t)sp[j].nf);
		off += n;
	}
	return DC_OK;
}

static size_t block_numel(int64_t D, int64_t F)
{
	struct wspec sp[32];
	int ns = block_specs(SCHEME_DIFFUSERS, D, F, sp);
	size_t n = 0;
	for (int j = 0; j < ns; j++)
		n += spec_numel(&sp[j]);
	return n;
}

/* ---- packed blocks (bf16 / int8) --------------------------------------------- */

/* One block's linear layers packed for dc_gemm_wpack, and its vectors in f32:
 * vec = sst[6D] | q,k,v bias[3D] | o[D] | cq[D] | ck,cv[2D] | co[D] | f1[F] | f2[D] */
enum { P_QKV, P_O, P_CQ, P_CKV, P_CO, P_F1, P_F2, P_N };

struct pblock {
	struct dc_wpack w[P_N];
	float *vec;
};

static size_t pblock_vec_floats(int64_t D, int64_t F)
{
	return (size_t)(16 * D + F);
}

/* Where field f (a W_* index) lives in a packed block: a matrix pack and
 * its first row (return 1), or an offset into vec (return 0). */
static int pblock_where(int f, int64_t D, int64_t F, int *pack, int64_t *at)
{
	static const struct { int pack, rows_d; } mat[W_NF] = {
		[W_Q] = { P_QKV, 0 }, [W_K] = { P_QKV, 1 }, [W_V] = { P_QKV, 2 },
		[W_O] = { P_O, 0 }, [W_CQ] = { P_CQ, 0 }, [W_CK] = { P_CKV, 0 },
		[W_CV] = { P_CKV, 1 }, [W_CO] = { P_CO, 0 }, [W_F1] = { P_F1, 0 },
		[W_F2] = { P_F2, 0 },
	};
	switch (f) {
	case W_Q: case W_K: case W_V: case W_O: case W_CQ: case W_CK: case W_CV: case W_CO:
	case W_F1: case W_F2:
		*pack = mat[f].pack;
		*at = mat[f].rows_d * D;
		return 1;
	case W_SST: *at = 0; return 0;
	case W_QB: *at = 6 * D; return 0;
	case W_KB: *at = 7 * D; return 0;
	case W_VB: *at = 8 * D; return 0;
	case W_OB: *at = 9 * D; return 0;
	case W_CQB: *at = 10 * D; return 0;
	case W_CKB: *at = 11 * D; return 0;
	case W_CVB: *at = 12 * D; return 0;
	case W_COB: *at = 13 * D; return 0;
	case W_F1B: *at = 14 * D; return 0;
	default: *at = 14 * D + F; return 0;   /* W_F2B */
	}
}

/* w[] for a packed block: the vectors (biases, fused q|k|v and k|v
 * biases contiguous); the matrix fields stay NULL. */
static void pblock_fields(const struct pblock *pb, int64_t D, int64_t F, const float **w)
{
	for (int f = 0; f < W_NF; f++) {
		int pk;
		int64_t at;
		w[f] = pblock_where(f, D, F, &pk, &at) ? NULL : pb->vec + at;
	}
}

static void pblocks_free(struct pblock *pb, int n)
{
	if (!pb)
		return;
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < P_N; j++)
			dc_wpack_release(&pb[i].w[j]);
		dc_free(pb[i].vec);
	}
	free(pb);
}

/* Rows [r0, r0+rows) of a stored matrix (its row length K) into pack w at
 * row w0, converting through f32 in slices where the dtype asks for it. */
static enum dc_status pack_rows(struct dc_wpack *w, int64_t w0, const struct blocksrc *src,
                                const char *name, const float *owned,
                                const struct dc_st_tensor *t, int64_t r0, int64_t rows,
                                int64_t K, float *tmp, int64_t tmp_rows)
{
	if (owned)
		return dc_wpack_set_f32(w, (int)w0, (int)rows, owned + r0 * K, (size_t)K);
	if (t->dtype == DC_F32)
		return dc_wpack_set_f32(w, (int)w0, (int)rows,
		                        (const float *)((const char *)t->data + r0 * K * 4), (size_t)K);
	if (t->dtype == DC_BF16)
		return dc_wpack_set_bf16(w, (int)w0, (int)rows, (const char *)t->data + r0 * K * 2,
		                         (size_t)K);
	for (int64_t r = 0; r < rows; r += tmp_rows) {
		int64_t n = rows - r < tmp_rows ? rows - r : tmp_rows;
		enum dc_status s = dc_model_read_f32(src->m, name, (size_t)((r0 + r) * K), tmp,
		                                     (size_t)(n * K));
		if (s || (s = dc_wpack_set_f32(w, (int)(w0 + r), (int)n, tmp, (size_t)K)))
			return s;
	}
	return DC_OK;
}

/* Pack blocks 0..n-1 of a source into *out (NULL for DC_PREC_F32). */
static enum dc_status pack_blocks(const struct blocksrc *src, int64_t D, int64_t F,
                                  enum dc_precision prec, struct pblock **out)
{
	*out = NULL;
	if (prec == DC_PREC_F32)
		return DC_OK;
	if (prec != DC_PREC_BF16 && prec != DC_PREC_INT8)
		return dc_fail(DC_EINVAL, "pixart: unknown precision %d", (int)prec);
	struct pblock *pb = calloc((size_t)src->n, sizeof *pb);
	int64_t tmp_rows = 64;
	float *tmp = dc_alloc((size_t)(tmp_rows * (D > F ? D : F)) * sizeof(float));
	if (!pb || !tmp) {
		free(pb);
		dc_free(tmp);
		return dc_fail(DC_ENOMEM, "pixart: out of memory");
	}
	static const int nk[P_N][2] = { /* rows, cols in units of D (F = -1) */
		[P_QKV] = { 3, 1 }, [P_O] = { 1, 1 }, [P_CQ] = { 1, 1 }, [P_CKV] = { 2, 1 },
		[P_CO] = { 1, 1 }, [P_F1] = { -1, 1 }, [P_F2] = { 1, -1 },
	};
	struct wspec sp[32];
	int ns = block_specs(src->scheme, D, F, sp);
	enum dc_status s = DC_OK;
	char name[160];
	for (int i = 0; i < src->n && !s; i++) {
		struct pblock *b = &pb[i];
		for (int j = 0; j < P_N && !s; j++)
			s = dc_wpack_init(&b->w[j], prec, (int)(nk[j][0] < 0 ? F : nk[j][0] * D),
			                  (int)(nk[j][1] < 0 ? F : nk[j][1] * D));
		if (s)
			break;
		b->vec = dc_alloc(pblock_vec_floats(D, F) * sizeof(float));
		if (!b->vec) {
			s = dc_fail(DC_ENOMEM, "pixart: out of memory");
			break;
		}
		size_t off = 0;
		for (int j = 0; j < ns && !s; j++) {
			size_t n = spec_numel(&sp[j]);
			const float *owned = src->owned ? src->owned[i] + off : NULL;
			const struct dc_st_tensor *t = NULL;
			off += n;
			if (!owned) {
				snprintf(name, sizeof name, src->fmt, i);
				strncat(name, sp[j].suffix, sizeof name - strlen(name) - 1);
				if (!(t = dc_model_find(src->m, name))) {
					s = dc_fail(DC_ENOTFOUND, "no tensor '%s'", name);
					break;
				}
			}
			int64_t rows = sp[j].shape[0] / sp[j].nf;
			for (int f = 0; f < sp[j].nf && !s; f++) {
				int pk;
				int64_t at;
				if (pblock_where(sp[j].field[f], D, F, &pk, &at)) {
					s = pack_rows(&b->w[pk], at, src, name, owned, t, f * rows, rows,
					              sp[j].shape[1], tmp, tmp_rows);
				} else if (owned) {   /* a bias slice, or the [6][D] table */
					memcpy(b->vec + at, owned + f * (n / sp[j].nf),
					       n / sp[j].nf * sizeof(float));
				} else {
					s = dc_model_read_f32(src->m, name, f * (n / sp[j].nf), b->vec + at,
					                      n / sp[j].nf);
				}
			}
		}
	}
	dc_free(tmp);
	if (s) {
		pblocks_free(pb, src->n);
		return s;
	}
	*out = pb;
	return DC_OK;
}

/* ---- non-block weights ----------------------------------------------------- */

struct smallw {
	const char *name;
	int rank;
	int64_t shape[4];
	const float **dst;
	int matrix_ic;              /* for synthetic fill: fan-in (0 = vector) */
};

static int small_list(struct dc_pixart *p, struct smallw *l)
{
	const struct dc_pixart_config *c = &p->cfg;
	int64_t D = c->hidden, S = D / 3, P = c->patch;
	int n = 0;
#define SW(nm, r, a, b, cc, d, ptr, ic) \
	l[n++] = (struct smallw){ nm, r, { a, b, cc, d }, ptr, ic }
	SW("pos_embed.proj.weight", 4, D, c->in_channels, P, P, &p->pe_w, (int)(c->in_channels * P * P));
	SW("pos_embed.proj.bias", 1, D, 0, 0, 0, &p->pe_b, 0);
	SW("adaln_single.emb.timestep_embedder.linear_1.weight", 2, D, 256, 0, 0, &p->te1_w, 256);
	SW("adaln_single.emb.timestep_embedder.linear_1.bias", 1, D, 0, 0, 0, &p->te1_b, 0);
	SW("adaln_single.emb.timestep_embedder.linear_2.weight", 2, D, D, 0, 0, &p->te2_w, (int)D);
	SW("adaln_single.emb.timestep_embedder.linear_2.bias", 1, D, 0, 0, 0, &p->te2_b, 0);
	if (c->micro_conditions) {
		SW("adaln_single.emb.resolution_embedder.linear_1.weight", 2, S, 256, 0, 0, &p->re1_w, 256);
		SW("adaln_single.emb.resolution_embedder.linear_1.bias", 1, S, 0, 0, 0, &p->re1_b, 0);
		SW("adaln_single.emb.resolution_embedder.linear_2.weight", 2, S, S, 0, 0, &p->re2_w, (int)S);
		SW("adaln_single.emb.resolution_embedder.linear_2.bias", 1, S, 0, 0, 0, &p->re2_b, 0);
		SW("adaln_single.emb.aspect_ratio_embedder.linear_1.weight", 2, S, 256, 0, 0, &p->ae1_w, 256);
		SW("adaln_single.emb.aspect_ratio_embedder.linear_1.bias", 1, S, 0, 0, 0, &p->ae1_b, 0);
		SW("adaln_single.emb.aspect_ratio_embedder.linear_2.weight", 2, S, S, 0, 0, &p->ae2_w, (int)S);
		SW("adaln_single.emb.aspect_ratio_embedder.linear_2.bias", 1, S, 0, 0, 0, &p->ae2_b, 0);
	}
	SW("adaln_single.linear.weight", 2, 6 * D, D, 0, 0, &p->ada_w, (int)D);
	SW("adaln_single.linear.bias", 1, 6 * D, 0, 0, 0, &p->ada_b, 0);
	if (c->caption_channels) {
		SW("caption_projection.linear_1.weight", 2, D, c->caption_channels, 0, 0, &p->cap1_w,
		   c->caption_channels);
		SW("caption_projection.linear_1.bias", 1, D, 0, 0, 0, &p->cap1_b, 0);
		SW("caption_projection.linear_2.weight", 2, D, D, 0, 0, &p->cap2_w, (int)D);
		SW("caption_projection.linear_2.bias", 1, D, 0, 0, 0, &p->cap2_b, 0);
	}
	SW("scale_shift_table", 2, 2, D, 0, 0, &p->sst_out, 0);
	SW("proj_out.weight", 2, P * P * c->out_channels, D, 0, 0, &p->po_w, (int)D);
	SW("proj_out.bias", 1, P * P * c->out_channels, 0, 0, 0, &p->po_b, 0);
#undef SW
	return n;
}

static size_t shape_numel(int rank, const int64_t *sh)
{
	size_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= (size_t)sh[i];
	return n;
}

/* ---- configuration ----------------------------------------------------------- */

static enum dc_status cfg_int(const struct dc_model *m, const char *key, int64_t def,
                              int nullable, int64_t lo, int64_t hi, int *out)
{
	int64_t v;
	enum dc_status s = dc_model_config_int(m, key, &v);
	if (s == DC_ENOTFOUND || (s && nullable)) {
		v = def;
	} else if (s) {
		return dc_fail(s, "config: '%s' is not an integer", key);
	}
	if (v < lo || v > hi)
		return dc_fail(DC_EFORMAT, "config: '%s' = %lld is out of range [%lld, %lld]", key,
		               (long long)v, (long long)lo, (long long)hi);
	*out = (int)v;
	return DC_OK;
}

static enum dc_status cfg_expect_string(const struct dc_model *m, const char *key,
                                        const char *want)
{
	const char *v;
	if (dc_model_config_string(m, key, &v) != DC_OK)
		return DC_OK;   /* absent: the class default, which is `want` */
	if (strcmp(v, want))
		return dc_fail(DC_EUNSUPPORTED, "config: %s '%s' is not supported (only '%s')", key,
		               v, want);
	return DC_OK;
}

static enum dc_status read_config(const struct dc_model *m, struct dc_pixart_config *c)
{
	enum dc_status s;
	int b;
	double d;
	memset(c, 0, sizeof *c);
	if ((s = cfg_int(m, "num_attention_heads", 16, 0, 1, 4096, &c->heads)) ||
	    (s = cfg_int(m, "attention_head_dim", 72, 0, 1, 4096, &c->head_dim)) ||
	    (s = cfg_int(m, "in_channels", 4, 0, 1, 4096, &c->in_channels)) ||
	    (s = cfg_int(m, "num_layers", 28, 0, 1, 4096, &c->layers)) ||
	    (s = cfg_int(m, "patch_size", 2, 0, 1, 64, &c->patch)) ||
	    (s = cfg_int(m, "sample_size", 128, 0, 1, 1 << 16, &c->sample_size)) ||
	    (s = cfg_int(m, "out_channels", c->in_channels, 1, 1, 4096, &c->out_channels)) ||
	    (s = cfg_int(m, "caption_channels", 0, 1, 0, 1 << 20, &c->caption_channels)))
		return s;
	c->hidden = c->heads * c->head_dim;
	if (c->hidden > (1 << 16))
		return dc_fail(DC_ELIMIT, "config: hidden size %d is too large", c->hidden);
	c->ff = 4 * c->hidden;
	int cross;
	if ((s = cfg_int(m, "cross_attention_dim", c->hidden, 1, 1, 1 << 20, &cross)))
		return s;
	if (cross != c->hidden)
		return dc_fail(DC_EUNSUPPORTED, "config: cross_attention_dim %d differs from the "
		               "hidden size %d", cross, c->hidden);
	if ((s = cfg_expect_string(m, "norm_type", "ada_norm_single")) ||
	    (s = cfg_expect_string(m, "activation_fn", "gelu-approximate")))
		return s;
	if (dc_model_config_bool(m, "attention_bias", &b) == DC_OK && !b)
		return dc_fail(DC_EUNSUPPORTED, "config: attention_bias false is not supported");
	if (dc_model_config_bool(m, "norm_elementwise_affine", &b) == DC_OK && b)
		return dc_fail(DC_EUNSUPPORTED, "config: norm_elementwise_affine true is not supported");
	c->norm_eps = 1e-6f;
	if (dc_model_config_double(m, "norm_eps", &d) == DC_OK)
		c->norm_eps = (float)d;
	c->interpolation_scale = c->sample_size / 64 > 1 ? c->sample_size / 64 : 1;
	if (dc_model_config_double(m, "interpolation_scale", &d) == DC_OK) {
		if (!(d > 0))
			return dc_fail(DC_EFORMAT, "config: interpolation_scale must be positive");
		c->interpolation_scale = d;
	}
	c->micro_conditions = c->sample_size == 128;
	if (dc_model_config_bool(m, "use_additional_conditions", &b) == DC_OK)
		c->micro_conditions = b;
	return DC_OK;
}

static enum dc_status check_cfg(const struct dc_pixart_config *c)
{
	if (c->hidden % 4)
		return dc_fail(DC_EUNSUPPORTED, "hidden size %d is not a multiple of 4 (2-D sin-cos "
		               "positions)", c->hidden);
	if (c->micro_conditions && c->hidden % 3)
		return dc_fail(DC_EUNSUPPORTED, "hidden size %d is not a multiple of 3 (size "
		               "embeddings)", c->hidden);
	return DC_OK;
}

/* ---- open / free ------------------------------------------------------------- */

static enum dc_status alloc_small(struct dc_pixart *p, struct smallw *l, int n)
{
	size_t tot = 0;
	for (int i = 0; i < n; i++)
		tot += shape_numel(l[i].rank, l[i].shape);
	p->small = dc_alloc(tot * sizeof(float));
	if (!p->small)
		return dc_fail(DC_ENOMEM, "pixart: out of memory (%zu floats)", tot);
	return DC_OK;
}

enum dc_status dc_pixart_open(struct dc_pixart **out, const char *path)
{
	*out = NULL;
	struct dc_pixart *p = calloc(1, sizeof *p);
	if (!p)
		return dc_fail(DC_ENOMEM, "pixart: out of memory");
	enum dc_status s = dc_model_open(&p->model, path);
	if (s)
		goto fail;
	if ((s = read_config(p->model, &p->cfg)) || (s = check_cfg(&p->cfg)))
		goto fail;
	struct smallw l[32];
	int n = small_list(p, l);
	if ((s = alloc_small(p, l, n)))
		goto fail;
	float *dst = p->small;
	for (int i = 0; i < n; i++) {
		const struct dc_st_tensor *t;
		size_t k = shape_numel(l[i].rank, l[i].shape);
		if ((s = dc_model_find_checked(p->model, l[i].name, l[i].rank, l[i].shape, &t)) ||
		    (s = dc_model_get_f32(p->model, l[i].name, dst, k)))
			goto fail;
		*l[i].dst = dst;
		dst += k;
	}
	p->blocks = (struct blocksrc){ p->model, SCHEME_DIFFUSERS, "transformer_blocks.%d.", NULL,
	                               p->cfg.layers };
	if ((s = blocks_validate(&p->blocks, p->cfg.hidden, p->cfg.ff, &p->need_buf)))
		goto fail;
	p->block_floats = block_numel(p->cfg.hidden, p->cfg.ff);
	*out = p;
	return DC_OK;
fail:
	dc_pixart_free(p);
	return s;
}

static void synth_fill(float *w, size_t n, int fan_in)
{
	float sd = fan_in ? 1.0f / sqrtf((float)fan_in) : 0.02f;
	#pragma omp parallel for num_threads(nthr(n)) schedule(static)
	for (size_t i = 0; i < n; i++)
		w[i] = sd * (float)sin(0.7 * (double)i);
}

enum dc_status dc_pixart_new_synthetic(struct dc_pixart **out, const struct dc_pixart_config *cfg)
{
	*out = NULL;
	struct dc_pixart *p = calloc(1, sizeof *p);
	if (!p)
		return dc_fail(DC_ENOMEM, "pixart: out of memory");
	enum dc_status s;
	p->cfg = *cfg;
	p->cfg.hidden = cfg->heads * cfg->head_dim;
	p->cfg.ff = 4 * p->cfg.hidden;
	if (cfg->heads < 1 || cfg->head_dim < 1 || cfg->layers < 1 || cfg->patch < 1 ||
	    cfg->in_channels < 1 || cfg->out_channels < 1 || cfg->sample_size < 1 ||
	    !(cfg->interpolation_scale > 0) || p->cfg.hidden > (1 << 16)) {
		s = dc_fail(DC_EINVAL, "pixart: bad synthetic config");
		goto fail;
	}
	if ((s = check_cfg(&p->cfg)))
		goto fail;
	struct smallw l[32];
	int n = small_list(p, l);
	if ((s = alloc_small(p, l, n)))
		goto fail;
	float *dst = p->small;
	for (int i = 0; i < n; i++) {
		size_t k = shape_numel(l[i].rank, l[i].shape);
		synth_fill(dst, k, l[i].matrix_ic);
		*l[i].dst = dst;
		dst += k;
	}
	p->block_floats = block_numel(p->cfg.hidden, p->cfg.ff);
	p->owned_blocks = calloc((size_t)p->cfg.layers, sizeof *p->owned_blocks);
	if (!p->owned_blocks) {
		s = dc_fail(DC_ENOMEM, "pixart: out of memory");
		goto fail;
	}
	struct wspec sp[32];
	int ns = block_specs(SCHEME_DIFFUSERS, p->cfg.hidden, p->cfg.ff, sp);
	for (int i = 0; i < p->cfg.layers; i++) {
		float *b = dc_alloc(p->block_floats * sizeof(float));
		if (!b) {
			s = dc_fail(DC_ENOMEM, "pixart: out of memory for block %d", i);
			goto fail;
		}
		p->owned_blocks[i] = b;
		for (int j = 0; j < ns; j++) {
			size_t k = spec_numel(&sp[j]);
			synth_fill(b, k, sp[j].rank == 2 && j ? (int)sp[j].shape[1] : 0);
			b += k;
		}
	}
	p->blocks = (struct blocksrc){ NULL, SCHEME_DIFFUSERS, NULL, p->owned_blocks, p->cfg.layers };
	*out = p;
	return DC_OK;
fail:
	dc_pixart_free(p);
	return s;
}

void dc_pixart_free(struct dc_pixart *p)
{
	if (!p)
		return;
	if (p->owned_blocks) {
		for (int i = 0; i < p->cfg.layers; i++)
			dc_free(p->owned_blocks[i]);
		free(p->owned_blocks);
	}
	pblocks_free(p->pb, p->cfg.layers);
	dc_free(p->blockbuf);
	dc_free(p->small);
	dc_free(p->pos);
	dc_model_free(p->model);
	free(p);
}

const struct dc_pixart_config *dc_pixart_config(const struct dc_pixart *pix)
{
	return &pix->cfg;
}

enum dc_status dc_pixart_set_precision(struct dc_pixart *p, enum dc_precision prec)
{
	struct pblock *pb;
	if (prec == p->prec)
		return DC_OK;
	enum dc_status s = pack_blocks(&p->blocks, p->cfg.hidden, p->cfg.ff, prec, &pb);
	if (s)
		return s;
	pblocks_free(p->pb, p->cfg.layers);
	p->pb = pb;
	p->prec = prec;
	if (pb) {   /* the f32 block buffer is needed no more (a control's f32
	             * blocks get it back on demand) */
		dc_free(p->blockbuf);
		p->blockbuf = NULL;
	}
	return DC_OK;
}

enum dc_precision dc_pixart_precision(const struct dc_pixart *p)
{
	return p->prec;
}

/* ---- control ------------------------------------------------------------------ */

enum dc_status dc_pixart_control_open(struct dc_pixart_control **out,
                                      const struct dc_pixart *base, const char *path)
{
	*out = NULL;
	struct dc_pixart_control *c = calloc(1, sizeof *c);
	if (!c)
		return dc_fail(DC_ENOMEM, "pixart: out of memory");
	enum dc_status s = dc_model_open(&c->model, path);
	if (s)
		goto fail;
	c->base = base;
	int64_t D = base->cfg.hidden, F = base->cfg.ff;
	const char *proj_fmt;
	if (dc_model_find(c->model, "controlnet.0.copied_block.scale_shift_table")) {
		c->blocks = (struct blocksrc){ c->model, SCHEME_OFFICIAL, "controlnet.%d.copied_block.",
		                               NULL, 0 };
		proj_fmt = "controlnet.%d.%s.%s";
	} else if (dc_model_find(c->model, "controlnet_blocks.0.transformer_block.scale_shift_table")) {
		c->blocks = (struct blocksrc){ c->model, SCHEME_DIFFUSERS,
		                               "controlnet_blocks.%d.transformer_block.", NULL, 0 };
		proj_fmt = "controlnet_blocks.%d.%s.%s";
	} else {
		s = dc_fail(DC_EFORMAT, "'%s' is not a PixArt ControlNet-Transformer (no "
		            "controlnet.0.copied_block.* or controlnet_blocks.0.transformer_block.* "
		            "keys)", path);
		goto fail;
	}
	char name[160];
	int k = 0;
	for (;; k++) {
		snprintf(name, sizeof name, c->blocks.fmt, k);
		strncat(name, "scale_shift_table", sizeof name - strlen(name) - 1);
		if (!dc_model_find(c->model, name))
			break;
	}
	if (k > base->cfg.layers - 1) {
		s = dc_fail(DC_EFORMAT, "control has %d blocks, the base model (%d layers) takes at "
		            "most %d", k, base->cfg.layers, base->cfg.layers - 1);
		goto fail;
	}
	c->blocks.n = k;
	if ((s = blocks_validate(&c->blocks, D, F, &c->need_buf)))
		goto fail;
	size_t per = (size_t)D * D + D;
	c->proj = dc_alloc(per * (size_t)(k + 1) * sizeof(float));
	if (!c->proj) {
		s = dc_fail(DC_ENOMEM, "pixart: out of memory");
		goto fail;
	}
	for (int i = -1; i < k; i++) {
		int64_t wsh[2] = { D, D }, bsh[1] = { D };
		const struct dc_st_tensor *t;
		float *w = c->proj + per * (size_t)(i + 1);
		const char *what = i < 0 ? "before_proj" : "after_proj";
		snprintf(name, sizeof name, proj_fmt, i < 0 ? 0 : i, what, "weight");
		if ((s = dc_model_find_checked(c->model, name, 2, wsh, &t)) ||
		    (s = dc_model_get_f32(c->model, name, w, (size_t)D * D)))
			goto fail;
		snprintf(name, sizeof name, proj_fmt, i < 0 ? 0 : i, what, "bias");
		if ((s = dc_model_find_checked(c->model, name, 1, bsh, &t)) ||
		    (s = dc_model_get_f32(c->model, name, w + (size_t)D * D, D)))
			goto fail;
	}
	*out = c;
	return DC_OK;
fail:
	dc_pixart_control_free(c);
	return s;
}

void dc_pixart_control_free(struct dc_pixart_control *c)
{
	if (!c)
		return;
	pblocks_free(c->pb, c->blocks.n);
	dc_free(c->proj);
	dc_model_free(c->model);
	free(c);
}

int dc_pixart_control_blocks(const struct dc_pixart_control *c)
{
	return c->blocks.n;
}

enum dc_status dc_pixart_control_set_precision(struct dc_pixart_control *c,
                                               enum dc_precision prec)
{
	struct pblock *pb;
	if (prec == c->prec)
		return DC_OK;
	enum dc_status s = pack_blocks(&c->blocks, c->base->cfg.hidden, c->base->cfg.ff, prec, &pb);
	if (s)
		return s;
	pblocks_free(c->pb, c->blocks.n);
	c->pb = pb;
	c->prec = prec;
	return DC_OK;
}

/* ---- RelaCtrl ------------------------------------------------------------------ */

struct relablock {
	int pos, n;                 /* position in the base, expert count */
	int *g;                     /* [n] group sizes */
	float *before, *after;      /* W [D][D] then b [D] */
	float *sst;                 /* [6][D] */
	float **qkv, **proj;        /* per expert: W then b */
};

struct dc_relactrl {
	const struct dc_pixart *base;
	int n;
	struct relablock *b;
	float *w;                   /* every weight, f32 */
};

static const int rela_pos[11] = { 0, 2, 3, 4, 5, 6, 7, 8, 9, 18, 19 };
static const int rela_groups[11] = { 6, 2, 6, 4, 2, 2, 4, 4, 6, 6, 6 };

void dc_relactrl_free(struct dc_relactrl *r)
{
	if (!r)
		return;
	for (int k = 0; r->b && k < r->n; k++) {
		free(r->b[k].g);
		free(r->b[k].qkv);
		free(r->b[k].proj);
	}
	free(r->b);
	dc_free(r->w);
	free(r);
}

int dc_relactrl_blocks(const struct dc_relactrl *r) { return r->n; }
int dc_relactrl_position(const struct dc_relactrl *r, int k) { return r->b[k].pos; }
int dc_relactrl_groups(const struct dc_relactrl *r, int k) { return r->b[k].n; }

size_t dc_relactrl_perm_len(const struct dc_relactrl *r, int k, int tokens)
{
	(void)k;
	size_t D = (size_t)r->base->cfg.hidden;
	return D + (size_t)tokens * D;
}

int dc_relactrl_detect(const char *path)
{
	struct dc_model *m;
	if (dc_model_open(&m, path))
		return 0;
	int yes = dc_model_find(m, "controlnet.0.process.scale_shift_table") != NULL;
	dc_model_free(m);
	return yes;
}

/* Load tensor `name` (shape checked) as f32 into dst. */
static enum dc_status rela_get(const struct dc_model *m, const char *name, int rank,
                               int64_t d0, int64_t d1, float *dst)
{
	int64_t sh[2] = { d0, d1 };
	const struct dc_st_tensor *t;
	enum dc_status s = dc_model_find_checked(m, name, rank, sh, &t);
	if (!s)
		s = dc_model_get_f32(m, name, dst, rank == 2 ? (size_t)(d0 * d1) : (size_t)d0);
	return s;
}

enum dc_status dc_relactrl_open(struct dc_relactrl **out, const struct dc_pixart *base,
                                const char *path)
{
	*out = NULL;
	struct dc_model *m = NULL;
	struct dc_relactrl *r = calloc(1, sizeof *r);
	if (!r)
		return dc_fail(DC_ENOMEM, "relactrl: out of memory");
	r->base = base;
	enum dc_status s = dc_model_open(&m, path);
	if (s)
		goto fail;
	int64_t D = base->cfg.hidden;
	char name[200];
	int K = 0;
	for (;; K++) {
		snprintf(name, sizeof name, "controlnet.%d.process.scale_shift_table", K);
		if (!dc_model_find(m, name))
			break;
	}
	if (!K) {
		s = dc_fail(DC_EFORMAT, "'%s' is not a RelaCtrl branch (no "
		            "controlnet.0.process.scale_shift_table)", path);
		goto fail;
	}
	/* positions and group counts */
	int64_t pos[64], grp[64];
	size_t np = 0, ng = 0;
	enum dc_status sp = dc_model_config_int_array(m, "c_adding_index", pos, 64, &np);
	enum dc_status sg = dc_model_config_int_array(m, "prior2", grp, 64, &ng);
	if (sp == DC_ENOTFOUND && sg == DC_ENOTFOUND) {
		if (K != 11) {
			s = dc_fail(DC_EFORMAT, "relactrl: '%s' has %d blocks, not the official 11: a "
			            "config.json with c_adding_index and prior2 is needed", path, K);
			goto fail;
		}
		np = ng = 11;
		for (int k = 0; k < 11; k++) {
			pos[k] = rela_pos[k];
			grp[k] = rela_groups[k];
		}
	} else if (sp || sg || (int)np != K || (int)ng != K) {
		s = dc_fail(DC_EFORMAT, "relactrl: config c_adding_index and prior2 must be integer "
		            "lists of %d entries (one per block)", K);
		goto fail;
	}
	r->b = calloc((size_t)K, sizeof *r->b);
	if (!r->b) {
		s = dc_fail(DC_ENOMEM, "relactrl: out of memory");
		goto fail;
	}
	r->n = K;
	size_t total = 0;
	for (int k = 0; k < K; k++) {
		struct relablock *b = &r->b[k];
		if (pos[k] < 0 || pos[k] > base->cfg.layers - 2 || (k && pos[k] <= pos[k - 1])) {
			s = dc_fail(DC_EFORMAT, "relactrl: c_adding_index[%d] = %lld: positions must "
			            "increase within 0..%d", k, (long long)pos[k], base->cfg.layers - 2);
			goto fail;
		}
		b->pos = (int)pos[k];
		int n = 0;
		for (;; n++) {
			snprintf(name, sizeof name, "controlnet.%d.process.experts_attn.%d.attn.proj.weight",
			         k, n);
			if (!dc_model_find(m, name))
				break;
		}
		if (n != grp[k] || n < 1) {
			s = dc_fail(DC_EFORMAT, "relactrl: block %d has %d experts, prior2 says %lld", k, n,
			            (long long)grp[k]);
			goto fail;
		}
		b->n = n;
		b->g = calloc((size_t)n, sizeof *b->g);
		b->qkv = calloc((size_t)n, sizeof *b->qkv);
		b->proj = calloc((size_t)n, sizeof *b->proj);
		if (!b->g || !b->qkv || !b->proj) {
			s = dc_fail(DC_ENOMEM, "relactrl: out of memory");
			goto fail;
		}
		int64_t sum = 0;
		for (int j = 0; j < n; j++) {
			snprintf(name, sizeof name, "controlnet.%d.process.experts_attn.%d.attn.proj.weight",
			         k, j);
			const struct dc_st_tensor *t = dc_model_find(m, name);
			int64_t g = t->rank == 2 ? t->shape[0] : 0;
			if (g < 4 || g % 4 || g > D) {
				s = dc_fail(DC_EFORMAT, "relactrl: '%s' gives group size %lld, not a positive "
				            "multiple of the 4 heads up to %lld", name, (long long)g,
				            (long long)D);
				goto fail;
			}
			b->g[j] = (int)g;
			sum += g;
			total += (size_t)(4 * g * g + 4 * g);
		}
		if (sum != D) {
			s = dc_fail(DC_EFORMAT, "relactrl: block %d's group sizes sum to %lld, not hidden "
			            "%lld", k, (long long)sum, (long long)D);
			goto fail;
		}
		total += 2 * (size_t)(D * D + D) + 6 * (size_t)D;
	}
	r->w = dc_alloc(total * sizeof(float));
	if (!r->w) {
		s = dc_fail(DC_ENOMEM, "relactrl: out of memory for %zu weights", total);
		goto fail;
	}
	float *w = r->w;
	for (int k = 0; k < K; k++) {
		struct relablock *b = &r->b[k];
		const char *pj[2] = { "before_proj", "after_proj" };
		for (int i = 0; i < 2; i++) {
			float *dst = w;
			snprintf(name, sizeof name, "controlnet.%d.%s.weight", k, pj[i]);
			if ((s = rela_get(m, name, 2, D, D, w)))
				goto fail;
			w += D * D;
			snprintf(name, sizeof name, "controlnet.%d.%s.bias", k, pj[i]);
			if ((s = rela_get(m, name, 1, D, 0, w)))
				goto fail;
			w += D;
			*(i ? &b->after : &b->before) = dst;
		}
		snprintf(name, sizeof name, "controlnet.%d.process.scale_shift_table", k);
		if ((s = rela_get(m, name, 2, 6, D, w)))
			goto fail;
		b->sst = w;
		w += 6 * D;
		for (int j = 0; j < b->n; j++) {
			int64_t g = b->g[j];
			const char *pre = "controlnet.%d.process.experts_attn.%d.attn.%s";
			b->qkv[j] = w;
			snprintf(name, sizeof name, pre, k, j, "qkv.weight");
			if ((s = rela_get(m, name, 2, 3 * g, g, w)))
				goto fail;
			w += 3 * g * g;
			snprintf(name, sizeof name, pre, k, j, "qkv.bias");
			if ((s = rela_get(m, name, 1, 3 * g, 0, w)))
				goto fail;
			w += 3 * g;
			b->proj[j] = w;
			snprintf(name, sizeof name, pre, k, j, "proj.weight");
			if ((s = rela_get(m, name, 2, g, g, w)))
				goto fail;
			w += g * g;
			snprintf(name, sizeof name, pre, k, j, "proj.bias");
			if ((s = rela_get(m, name, 1, g, 0, w)))
				goto fail;
			w += g;
		}
	}
	dc_model_free(m);
	*out = r;
	return DC_OK;
fail:
	dc_model_free(m);
	dc_relactrl_free(r);
	return s;
}

void dc_relactrl_cost(int D, int N, int K, const int *groups, double *params, double *flops)
{
	double p = 0, f = 0, d = D, n = N;
	for (int k = 0; k < K; k++) {
		double g = d / groups[k];
		p += 2 * (d * d + d) + 6 * d + groups[k] * (4 * g * g + 4 * g);
		/* before, after: 2 N D^2 MAC; per expert: qkv 3 N g^2, proj N g^2,
		 * attention 4 segments x 2 (N/4)^2 g */
		f += 2 * (2 * n * d * d);
		f += groups[k] * 2 * (4 * n * g * g + 4 * 2 * (n / 4) * (n / 4) * g);
	}
	*params = p;
	*flops = f;
}

void dc_pixart_control_cost(int D, int N, int T, int Kd, double *params, double *flops)
{
	double d = D, n = N, t = T;
	/* block: qkv+o (4D^2+4D), cross q,kv,o (4D^2+4D), ff (8D^2+5D), sst 6D;
	 * plus after_proj per block and one before_proj */
	double pb = 16 * d * d + 13 * d + 6 * d;
	*params = Kd * (pb + d * d + d) + d * d + d;
	double fb = 2 * (4 * n * d * d + 2 * n * n * d        /* self-attention */
	                 + 2 * n * d * d + 2 * t * d * d + 2 * n * t * d   /* cross */
	                 + 8 * n * d * d);                     /* ff */
	*flops = Kd * (fb + 2 * n * d * d) + 2 * n * d * d;
}

/* ---- kernels ---------------------------------------------------------------------- */

/* y[N][ldy] (first OC columns) = x[N][ldx] . W[OC][IC]^T + b (+ y if accumulate). */
static void lin(float *y, int ldy, const float *x, int ldx, const float *W, const float *b,
                int N, int IC, int OC, int accumulate)
{
	size_t work = (size_t)N * OC * IC;
	dc_sgemm(0, 1, N, OC, IC, 1.0f, x, ldx, W, IC, accumulate ? 1.0f : 0.0f, y, ldy,
	         work < (1u << 20) ? 1 : 0);
	if (!b)
		return;
	#pragma omp parallel for num_threads(nthr((size_t)N * OC)) schedule(static)
	for (int n = 0; n < N; n++) {
		float *r = y + (size_t)n * ldy;
		for (int o = 0; o < OC; o++)
			r[o] += b[o];
	}
}

/* h = LN(x) * (1 + scale_b) + shift_b, rows of batch b = n / N; shift, scale
 * at row stride `mstride` per batch. */
static void ln_mod(float *h, const float *x, const float *shift, const float *scale,
                   size_t mstride, int B, int N, int D, float eps)
{
	#pragma omp parallel for num_threads(nthr((size_t)B * N * D)) schedule(static)
	for (long r = 0; r < (long)B * N; r++) {
		const float *xr = x + (size_t)r * D;
		float *hr = h + (size_t)r * D;
		const float *sh = shift + (size_t)(r / N) * mstride;
		const float *sc = scale + (size_t)(r / N) * mstride;
		double m = 0, v = 0;
		for (int c = 0; c < D; c++)
			m += xr[c];
		m /= D;
		for (int c = 0; c < D; c++) {
			double d = xr[c] - m;
			v += d * d;
		}
		v /= D;
		float rs = (float)(1.0 / sqrt(v + eps)), mf = (float)m;
		for (int c = 0; c < D; c++)
			hr[c] = (xr[c] - mf) * rs * (1.0f + sc[c]) + sh[c];
	}
}

/* x += gate_b * h */
static void gated_add(float *x, const float *h, const float *gate, size_t gstride, int B,
                      int N, int D)
{
	#pragma omp parallel for num_threads(nthr((size_t)B * N * D)) schedule(static)
	for (long r = 0; r < (long)B * N; r++) {
		float *xr = x + (size_t)r * D;
		const float *hr = h + (size_t)r * D;
		const float *g = gate + (size_t)(r / N) * gstride;
		for (int c = 0; c < D; c++)
			xr[c] += g[c] * hr[c];
	}
}

/* diffusers get_timestep_embedding(256, flip_sin_to_cos=True, shift=0), in
 * float32 arithmetic as torch computes it: [cos(t f_i), sin(t f_i)]. */
static void sinusoid256(float *out, float t)
{
	const float nl = (float)-log(10000.0);
	for (int i = 0; i < 128; i++) {
		float e = nl * (float)i;
		e = e / 128.0f;
		float a = t * expf(e);
		out[i] = cosf(a);
		out[128 + i] = sinf(a);
	}
}

/* 2-D sin-cos position embedding [gh*gw][D] for a gh x gw grid. */
static void pos_embed(float *pe, int gh, int gw, int D, int base, double interp)
{
	int q = D / 4;   /* frequencies per sin/cos half of each axis */
	#pragma omp parallel for num_threads(nthr((size_t)gh * gw * D)) schedule(static)
	for (int r = 0; r < gh; r++) {
		float ph = (float)r / (float)((double)gh / base);
		ph = ph / (float)interp;
		for (int c = 0; c < gw; c++) {
			float pw = (float)c / (float)((double)gw / base);
			pw = pw / (float)interp;
			float *e = pe + ((size_t)r * gw + c) * D;
			for (int k = 0; k < q; k++) {
				double om = 1.0 / pow(10000.0, (double)k / (D / 4.0));
				double aw = (double)pw * om, ah = (double)ph * om;
				e[k] = (float)sin(aw);          /* channels 0..D/2: column */
				e[q + k] = (float)cos(aw);
				e[2 * q + k] = (float)sin(ah);  /* channels D/2..D: row */
				e[3 * q + k] = (float)cos(ah);
			}
		}
	}
}

/* ---- forward ---------------------------------------------------------------------- */

struct fwd {
	const struct dc_pixart *p;
	int B, N, T, D, H, Dh, F;
	float *x, *h, *qkv, *att, *ff, *y, *ckv, *mod;
	const unsigned char *mask;  /* [B][T] or NULL */
	const unsigned char **kv;   /* per batch: key_valid or NULL */
};

/* y (ldy) = x . W^T + b (+ y): the packed matrix pw when there is one,
 * else the f32 W */
static void plin(float *y, int ldy, const float *x, int ldx, const struct dc_wpack *pw,
                 const float *W, const float *b, int N, int IC, int OC, int accumulate)
{
	if (pw)
		dc_gemm_wpack(y, ldy, x, ldx, pw, b, N, accumulate, 0);
	else
		lin(y, ldy, x, ldx, W, b, N, IC, OC, accumulate);
}

/* Attention of one batch element: f32, or for a packed block both products
 * in bf16 with f->ff (free until the feed-forward) as the scratch for the
 * bf16 copies of k and v, when it is large enough (else f32). */
static void attend(const struct fwd *f, int packed, float *out, const float *q, int ldq,
                   const float *k, const float *v, int ldkv, int N, int M,
                   const unsigned char *kv)
{
	size_t need = packed ? dc_attention_bf16_scratch(M, f->H, f->Dh) : 0;
	if (need && need <= (size_t)f->B * f->N * f->F * sizeof(float))
		dc_attention_forward_bf16(out, f->D, q, ldq, k, ldkv, v, ldkv, N, M, f->H, f->Dh, 0,
		                          NULL, kv, f->ff);
	else
		dc_attention_forward(out, f->D, q, ldq, k, ldkv, v, ldkv, N, M, f->H, f->Dh, 0,
		                     NULL, kv);
}

/* One BasicTransformerBlock (ada_norm_single) on x: f32 weights w, or the
 * packed block pb (then w holds its vectors, see pblock_fields). */
static void block_forward(struct fwd *f, const float **w, const struct pblock *pb,
                          const float *t6, float *x)
{
	const struct dc_wpack *pw = pb ? pb->w : NULL;
#define PW(i) (pw ? &pw[i] : NULL)
	int B = f->B, N = f->N, D = f->D, T = f->T, F = f->F;
	int BN = B * N;
	size_t ms = 6 * (size_t)D;
	/* m = scale_shift_table + t6: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp */
	for (int b = 0; b < B; b++)
		for (size_t i = 0; i < ms; i++)
			f->mod[b * ms + i] = w[W_SST][i] + t6[b * ms + i];
	const float *m = f->mod;

	ln_mod(f->h, x, m, m + D, ms, B, N, D, f->p->cfg.norm_eps);
	if (pw) {   /* fused q|k|v, biases contiguous */
		dc_gemm_wpack(f->qkv, 3 * D, f->h, D, &pw[P_QKV], w[W_QB], BN, 0, 0);
	} else {
		lin(f->qkv, 3 * D, f->h, D, w[W_Q], w[W_QB], BN, D, D, 0);
		lin(f->qkv + D, 3 * D, f->h, D, w[W_K], w[W_KB], BN, D, D, 0);
		lin(f->qkv + 2 * D, 3 * D, f->h, D, w[W_V], w[W_VB], BN, D, D, 0);
	}
	for (int b = 0; b < B; b++) {
		const float *q = f->qkv + (size_t)b * N * 3 * D;
		attend(f, pb != NULL, f->att + (size_t)b * N * D, q, 3 * D, q + D, q + 2 * D, 3 * D,
		       N, N, NULL);
	}
	plin(f->h, D, f->att, D, PW(P_O), w[W_O], w[W_OB], BN, D, D, 0);
	gated_add(x, f->h, m + 2 * D, ms, B, N, D);

	/* cross-attention: no norm, no gate */
	plin(f->qkv, D, x, D, PW(P_CQ), w[W_CQ], w[W_CQB], BN, D, D, 0);
	if (pw) {   /* fused k|v */
		dc_gemm_wpack(f->ckv, 2 * D, f->y, D, &pw[P_CKV], w[W_CKB], B * T, 0, 0);
	} else {
		lin(f->ckv, 2 * D, f->y, D, w[W_CK], w[W_CKB], B * T, D, D, 0);
		lin(f->ckv + D, 2 * D, f->y, D, w[W_CV], w[W_CVB], B * T, D, D, 0);
	}
	for (int b = 0; b < B; b++) {
		const float *kv = f->ckv + (size_t)b * T * 2 * D;
		attend(f, pb != NULL, f->att + (size_t)b * N * D, f->qkv + (size_t)b * N * D, D, kv,
		       kv + D, 2 * D, N, T, f->kv[b]);
	}
	plin(x, D, f->att, D, PW(P_CO), w[W_CO], w[W_COB], BN, D, D, 1);

	ln_mod(f->h, x, m + 3 * D, m + 4 * D, ms, B, N, D, f->p->cfg.norm_eps);
	plin(f->ff, F, f->h, D, PW(P_F1), w[W_F1], w[W_F1B], BN, D, F, 0);
	dc_gelu_tanh_forward(f->ff, f->ff, (size_t)BN * F);
	plin(f->h, D, f->ff, F, PW(P_F2), w[W_F2], w[W_F2B], BN, F, D, 0);
	gated_add(x, f->h, m + 5 * D, ms, B, N, D);
#undef PW
}

/* Philox Fisher-Yates: out = a permutation of 0..n-1 from (seed, stream);
 * swap i takes word i % 4 of counter i / 4 (multiply-shift, no rejection:
 * a bias below n / 2^32). */
static void rela_perm(int32_t *out, size_t n, uint64_t seed, uint64_t stream)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (int32_t)i;
	uint32_t u[4];
	size_t ctr = SIZE_MAX;
	for (size_t i = n; i-- > 1;) {
		if (i / 4 != ctr) {
			ctr = i / 4;
			dc_philox(seed, stream, ctr, u);
		}
		size_t j = (size_t)(((uint64_t)u[i % 4] * (uint64_t)(i + 1)) >> 32);
		int32_t t = out[i];
		out[i] = out[j];
		out[j] = t;
	}
}

/* RelaCtrl block k: c (cst) updated in place, c_skip = after_proj(c) into
 * cskip.  x: base stream; tout: [B*N][D] scratch; perm: D + N*D ints. */
static void rela_block(struct fwd *f, const struct dc_relactrl *r, int k, const float *t6,
                       const float *x, float *cst, float *cskip, float *tout,
                       const int32_t *perm)
{
	const struct relablock *b = &r->b[k];
	int B = f->B, N = f->N, D = f->D, BN = B * N;
	size_t n = (size_t)BN * D, ms = 6 * (size_t)D;
	if (k == 0) {   /* c = x + before_proj(c_emb) */
		lin(f->h, D, cst, D, b->before, b->before + (size_t)D * D, BN, D, D, 0);
		for (size_t i = 0; i < n; i++)
			cst[i] = x[i] + f->h[i];
	} else {        /* c = c + before_proj(x) */
		lin(cst, D, x, D, b->before, b->before + (size_t)D * D, BN, D, D, 1);
	}
	/* TDSM */
	for (int bb = 0; bb < B; bb++)
		for (size_t i = 0; i < ms; i++)
			f->mod[bb * ms + i] = b->sst[i] + t6[bb * ms + i];
	const float *m = f->mod;
	ln_mod(f->h, cst, m, m + D, ms, B, N, D, 1e-6f);
	const int32_t *cp = perm, *tp = perm + D;
	int o = 0;
	for (int j = 0; j < b->n; j++) {
		int g = b->g[j], Q = N / 4;
		size_t Lg = (size_t)N * g;
		float *G = f->ff, *S = G + Lg, *P = S + Lg;
		for (int bb = 0; bb < B; bb++) {
			const float *h = f->h + (size_t)bb * N * D;
			for (int l = 0; l < N; l++)
				for (int i = 0; i < g; i++)
					G[(size_t)l * g + i] = h[(size_t)l * D + cp[o + i]];
			for (size_t t = 0; t < Lg; t++)
				S[t] = G[tp[t]];
			lin(f->qkv, 3 * g, S, g, b->qkv[j], b->qkv[j] + (size_t)3 * g * g, N, g, 3 * g, 0);
			for (int sgm = 0; sgm < 4; sgm++) {
				const float *q = f->qkv + (size_t)sgm * Q * 3 * g;
				dc_attention_forward(f->att + (size_t)sgm * Q * g, g, q, 3 * g, q + g, 3 * g,
				                     q + 2 * g, 3 * g, Q, Q, 4, g / 4, 0, NULL, NULL);
			}
			lin(P, g, f->att, g, b->proj[j], b->proj[j] + (size_t)g * g, N, g, g, 0);
			for (size_t t = 0; t < Lg; t++)
				G[tp[t]] = P[t];
			float *to = tout + (size_t)bb * N * D;
			for (int l = 0; l < N; l++)
				for (int i = 0; i < g; i++)
					to[(size_t)l * D + cp[o + i]] = G[(size_t)l * g + i];
		}
		tp += Lg;
		o += g;
	}
	gated_add(cst, tout, m + 2 * D, ms, B, N, D);
	lin(cskip, D, cst, D, b->after, b->after + (size_t)D * D, BN, D, D, 0);
}

/* Patch embedding: x[B*N][D] = conv(lat) + bias + pos. */
static void patch_embed(const struct dc_pixart *p, float *x, float *patches, const float *lat,
                        int B, int Hh, int Ww, const float *pos)
{
	int P = p->cfg.patch, C = p->cfg.in_channels, D = p->cfg.hidden;
	int gh = Hh / P, gw = Ww / P, N = gh * gw, K = C * P * P;
	#pragma omp parallel for num_threads(nthr((size_t)B * N * K)) schedule(static)
	for (long t = 0; t < (long)B * N; t++) {
		int b = (int)(t / N), n = (int)(t % N), r = n / gw, col = n % gw;
		float *dst = patches + (size_t)t * K;
		for (int c = 0; c < C; c++)
			for (int i = 0; i < P; i++)
				for (int j = 0; j < P; j++)
					*dst++ = lat[(((size_t)b * C + c) * Hh + (size_t)r * P + i) * Ww +
					             (size_t)col * P + j];
	}
	lin(x, D, patches, K, p->pe_w, p->pe_b, B * N, K, D, 0);
	#pragma omp parallel for num_threads(nthr((size_t)B * N * D)) schedule(static)
	for (long t = 0; t < (long)B * N; t++) {
		float *xr = x + (size_t)t * D;
		const float *pr = pos + (size_t)(t % N) * D;
		for (int c = 0; c < D; c++)
			xr[c] += pr[c];
	}
}

/* A small MLP: out[n][OC] = l2(silu(l1(in))) */
static void mlp2(float *out, float *tmp, const float *in, int n, int IC, int HC, int OC,
                 const float *w1, const float *b1, const float *w2, const float *b2)
{
	lin(tmp, HC, in, IC, w1, b1, n, IC, HC, 0);
	dc_silu_forward(tmp, tmp, (size_t)n * HC);
	lin(out, OC, tmp, HC, w2, b2, n, HC, OC, 0);
}

struct sizes {
	size_t x, h, qkv, att, ff, y, ycap, ckv, patches, small, tok, c;
};

static enum dc_status plan(const struct dc_pixart *p, int B, int Hh, int Ww, int T, int ctl,
                           struct sizes *s, size_t *bytes)
{
	const struct dc_pixart_config *c = &p->cfg;
	size_t D = (size_t)c->hidden, N, BN, BT, tot = 0;
	if (B < 1 || Hh < 1 || Ww < 1 || T < 1 || Hh % c->patch || Ww % c->patch)
		return dc_fail(DC_EINVAL, "pixart: bad sizes (batch %d, latent %dx%d, text %d, "
		               "patch %d)", B, Hh, Ww, T, c->patch);
	N = (size_t)(Hh / c->patch) * (size_t)(Ww / c->patch);
	if (dc_mul_size(N, (size_t)B, &BN) || dc_mul_size((size_t)T, (size_t)B, &BT) ||
	    BN > INT32_MAX / 8 || BT > INT32_MAX / 8 || BN * D > ((size_t)1 << 40))
		return dc_fail(DC_EOVERFLOW, "pixart: sizes overflow");
	size_t cc = c->caption_channels ? (size_t)c->caption_channels : D;
	s->x = BN * D;
	s->h = BN * D;
	s->qkv = BN * 3 * D;
	s->att = BN * D;
	s->ff = BN * (size_t)c->ff;
	s->y = BT * D;
	s->ycap = BT * (D > cc ? D : cc);
	s->ckv = BT * 2 * D;
	s->patches = BN * (size_t)c->in_channels * c->patch * c->patch;
	s->small = (size_t)B * (6 * D * 2 + 3 * D + 4 * 256 + 4 * D) + 4096;
	s->tok = BN * (size_t)c->patch * c->patch * c->out_channels;
	/* control stream; with RelaCtrl also c_skip, TDSM output, permutations */
	s->c = ctl ? 3 * BN * D + D + N * D : 0;
	size_t *all = &s->x;
	for (int i = 0; i < 12; i++) {
		size_t b = (all[i] * sizeof(float) + 63) / 64 * 64;
		if (dc_add_size(tot, b, &tot))
			return dc_fail(DC_EOVERFLOW, "pixart: sizes overflow");
	}
	*bytes = tot + (size_t)B * sizeof(void *) + 64;
	return DC_OK;
}

size_t dc_pixart_scratch_bytes(const struct dc_pixart *pix, int batch, int height, int width,
                               int text_len, int with_control)
{
	struct sizes s;
	size_t b;
	if (plan(pix, batch, height, width, text_len, with_control, &s, &b))
		return 0;
	return b;
}

static float *afl(struct dc_arena *a, size_t n)
{
	return dc_arena_alloc(a, n * sizeof(float));
}

enum dc_status dc_pixart_forward(struct dc_pixart *p, const struct dc_pixart_input *in,
                                 float *out, struct dc_arena *scratch)
{
	const struct dc_pixart_config *c = &p->cfg;
	const struct dc_pixart_control *ctl = in->control;
	const struct dc_relactrl *rel = in->relactrl;
	struct sizes sz;
	size_t bytes;
	enum dc_status s = plan(p, in->batch, in->height, in->width, in->text_len,
	                        ctl != NULL || rel != NULL, &sz, &bytes);
	if (s)
		return s;
	if (ctl && rel)
		return dc_fail(DC_EINVAL, "pixart: a ControlNet and a RelaCtrl branch given together");
	if (rel && (rel->base != p || !in->control_latents))
		return dc_fail(DC_EINVAL, "pixart: RelaCtrl given without its latents or for "
		               "another base model");
	if (rel) {
		int Nt = (in->height / c->patch) * (in->width / c->patch);
		if (Nt % 4)
			return dc_fail(DC_EINVAL, "pixart: RelaCtrl needs a token count divisible by 4 "
			               "(latent %dx%d gives %d tokens)", in->height, in->width, Nt);
		for (int k = 0; in->relactrl_perms && k < rel->n; k++) {
			const int32_t *pm = in->relactrl_perms[k];
			size_t len = dc_relactrl_perm_len(rel, k, Nt), at = 0;
			int bad = !pm;
			for (int j = -1; !bad && j < rel->b[k].n; j++) {
				size_t cnt = j < 0 ? (size_t)c->hidden : (size_t)Nt * rel->b[k].g[j];
				for (size_t i = 0; !bad && i < cnt; i++)
					bad = pm[at + i] < 0 || (size_t)pm[at + i] >= cnt;
				at += cnt;
			}
			if (bad || at != len)
				return dc_fail(DC_EINVAL, "pixart: RelaCtrl permutation %d is missing or "
				               "out of range", k);
		}
	}
	if (!in->latents || !in->text || !out)
		return dc_fail(DC_EINVAL, "pixart: missing latents, text or output");
	if (c->micro_conditions && (!in->resolution || !in->aspect_ratio))
		return dc_fail(DC_EINVAL, "pixart: this model needs resolution and aspect-ratio "
		               "micro-conditions");
	if (ctl && (ctl->base != p || !in->control_latents))
		return dc_fail(DC_EINVAL, "pixart: control given without its latents or for "
		               "another base model");
	for (int k = 0; ctl && in->control_skip && k < ctl->blocks.n; k++)
		if (in->control_skip[k] > 2)
			return dc_fail(DC_EINVAL, "pixart: control_skip[%d] is %d (0 run, 1 zero "
			               "residual, 2 bypass)", k, in->control_skip[k]);
	int B = in->batch, T = in->text_len, D = c->hidden, P = c->patch;
	int gh = in->height / P, gw = in->width / P, N = gh * gw;

	/* buffers */
	struct dc_arena own = { 0 }, *a = scratch;
	size_t mark = 0;
	if (!a) {
		if ((s = dc_arena_init(&own, bytes)))
			return s;
		a = &own;
	} else {
		mark = a->used;
	}
	if (!p->blockbuf) {
		int need = (p->need_buf && !p->pb) || (ctl && ctl->need_buf && !ctl->pb);
		if (need) {
			p->blockbuf = dc_alloc(p->block_floats * sizeof(float));
			if (!p->blockbuf) {
				s = dc_fail(DC_ENOMEM, "pixart: out of memory for a block buffer");
				goto done;
			}
		}
	}
	if (p->pos_gh != gh || p->pos_gw != gw) {
		dc_free(p->pos);
		p->pos_gh = p->pos_gw = 0;
		p->pos = dc_alloc((size_t)N * D * sizeof(float));
		if (!p->pos) {
			s = dc_fail(DC_ENOMEM, "pixart: out of memory");
			goto done;
		}
		pos_embed(p->pos, gh, gw, D, c->sample_size / P, c->interpolation_scale);
		p->pos_gh = gh;
		p->pos_gw = gw;
	}
	struct fwd f = { .p = p, .B = B, .N = N, .T = T, .D = D, .H = c->heads, .Dh = c->head_dim,
	                 .F = c->ff };
	f.x = afl(a, sz.x);
	f.h = afl(a, sz.h);
	f.qkv = afl(a, sz.qkv);
	f.att = afl(a, sz.att);
	f.ff = afl(a, sz.ff);
	f.y = afl(a, sz.y);
	float *ycap = afl(a, sz.ycap);
	f.ckv = afl(a, sz.ckv);
	float *patches = afl(a, sz.patches);
	float *small = afl(a, sz.small);
	float *tok = afl(a, sz.tok);
	float *cst = (ctl || rel) ? afl(a, sz.c) : NULL;
	float *cskip = cst ? cst + (size_t)B * N * D : NULL, *tout = cskip ? cskip + (size_t)B * N * D : NULL;
	int32_t *permbuf = tout ? (int32_t *)(tout + (size_t)B * N * D) : NULL;
	f.kv = dc_arena_alloc(a, (size_t)B * sizeof(void *));
	if (!f.x || !f.h || !f.qkv || !f.att || !f.ff || !f.y || !ycap || !f.ckv || !patches ||
	    !small || !tok || ((ctl || rel) && !cst) || !f.kv) {
		s = dc_fail(DC_ENOMEM, "pixart: scratch arena too small (%zu bytes needed)", bytes);
		goto done;
	}
	for (int b = 0; b < B; b++) {
		f.kv[b] = NULL;
		if (in->text_mask)
			for (int t = 0; t < T; t++)
				if (in->text_mask[(size_t)b * T + t]) {
					f.kv[b] = in->text_mask + (size_t)b * T;
					break;
				}
	}
	/* small buffers */
	float *temb = small, *t6 = temb + (size_t)B * D, *sinb = t6 + (size_t)B * 6 * D;
	float *tmp = sinb + (size_t)B * 3 * 256, *tmp2 = tmp + (size_t)B * 3 * D;
	f.mod = tmp2 + (size_t)B * 3 * D;

	/* 1. patch embedding + positions */
	patch_embed(p, f.x, patches, in->latents, B, in->height, in->width, p->pos);

	/* 2. timestep (+ size) embedding, adaLN-single */
	for (int b = 0; b < B; b++)
		sinusoid256(sinb + (size_t)b * 256, in->timestep);
	mlp2(temb, tmp, sinb, B, 256, D, D, p->te1_w, p->te1_b, p->te2_w, p->te2_b);
	if (c->micro_conditions) {
		int S = D / 3;
		for (int i = 0; i < 2 * B; i++)
			sinusoid256(sinb + (size_t)i * 256, in->resolution[i]);
		mlp2(tmp2, tmp, sinb, 2 * B, 256, S, S, p->re1_w, p->re1_b, p->re2_w, p->re2_b);
		for (int b = 0; b < B; b++)
			for (int k = 0; k < 2 * S; k++)
				temb[(size_t)b * D + k] += tmp2[(size_t)b * 2 * S + k];
		for (int b = 0; b < B; b++)
			sinusoid256(sinb + (size_t)b * 256, in->aspect_ratio[b]);
		mlp2(tmp2, tmp, sinb, B, 256, S, S, p->ae1_w, p->ae1_b, p->ae2_w, p->ae2_b);
		for (int b = 0; b < B; b++)
			for (int k = 0; k < S; k++)
				temb[(size_t)b * D + 2 * S + k] += tmp2[(size_t)b * S + k];
	}
	memcpy(tmp, temb, (size_t)B * D * sizeof(float));
	dc_silu_forward(tmp, tmp, (size_t)B * D);
	lin(t6, 6 * D, tmp, D, p->ada_w, p->ada_b, B, D, 6 * D, 0);

	/* 3. caption projection */
	if (c->caption_channels) {
		lin(ycap, D, in->text, c->caption_channels, p->cap1_w, p->cap1_b, B * T,
		    c->caption_channels, D, 0);
		dc_gelu_tanh_forward(ycap, ycap, (size_t)B * T * D);
		lin(f.y, D, ycap, D, p->cap2_w, p->cap2_b, B * T, D, D, 0);
	} else {
		memcpy(f.y, in->text, (size_t)B * T * D * sizeof(float));
	}

	/* 4. blocks (with the control branch after block 0 .. K-1) */
	const float *w[W_NF];
	int K = ctl ? ctl->blocks.n : 0;
	size_t per = (size_t)D * D + D;
	int rk = 0, have_skip = 0;
	for (int i = 0; i < c->layers; i++) {
		if (rel && i >= 1) {
			if (rk < rel->n && rel->b[rk].pos == i - 1) {
				if (rk == 0)
					patch_embed(p, cst, patches, in->control_latents, B, in->height,
					            in->width, p->pos);
				const int32_t *pm = in->relactrl_perms ? in->relactrl_perms[rk] : permbuf;
				if (!in->relactrl_perms) {
					uint64_t st = (uint64_t)rk << 16;
					rela_perm(permbuf, (size_t)D, in->relactrl_seed, st);
					size_t at = (size_t)D;
					for (int j = 0; j < rel->b[rk].n; j++) {
						size_t cnt = (size_t)N * rel->b[rk].g[j];
						rela_perm(permbuf + at, cnt, in->relactrl_seed, st + 1 + (uint64_t)j);
						at += cnt;
					}
				}
				rela_block(&f, rel, rk, t6, f.x, cst, cskip, tout, pm);
				rk++;
				have_skip = 1;
			}
			float sc = in->control_scale;
			size_t n = have_skip ? (size_t)B * N * D : 0;
			#pragma omp parallel for num_threads(nthr(n)) schedule(static)
			for (size_t k = 0; k < n; k++)
				f.x[k] += sc * cskip[k];
		}
		if (i >= 1 && i <= K) {
			if (i == 1) {
				/* c = x + before_proj(x_embedder(control) + pos) */
				patch_embed(p, cst, patches, in->control_latents, B, in->height,
				            in->width, p->pos);
				lin(f.h, D, cst, D, ctl->proj, ctl->proj + (size_t)D * D, B * N, D, D, 0);
				size_t n = (size_t)B * N * D;
				#pragma omp parallel for num_threads(nthr(n)) schedule(static)
				for (size_t k = 0; k < n; k++)
					cst[k] = f.x[k] + f.h[k];
			}
			/* control_skip: 1 adds nothing, 2 also leaves cst as it is */
			int skip = in->control_skip ? in->control_skip[i - 1] : 0;
			const struct pblock *cb = ctl->pb ? &ctl->pb[i - 1] : NULL;
			if (skip == 2)
				;
			else if (cb)
				pblock_fields(cb, D, c->ff, w);
			else if ((s = block_get(&ctl->blocks, i - 1, D, c->ff, p->blockbuf, w)))
				goto done;
			if (skip != 2)
				block_forward(&f, w, cb, t6, cst);
			const float *aw = ctl->proj + per * (size_t)i;
			if (!skip)
				lin(f.h, D, cst, D, aw, aw + (size_t)D * D, B * N, D, D, 0);
			float sc = in->control_scale;
			size_t n = skip ? 0 : (size_t)B * N * D;
			#pragma omp parallel for num_threads(nthr(n)) schedule(static)
			for (size_t k = 0; k < n; k++)
				f.x[k] += sc * f.h[k];
		}
		const struct pblock *pb = p->pb ? &p->pb[i] : NULL;
		if (pb)
			pblock_fields(pb, D, c->ff, w);
		else if ((s = block_get(&p->blocks, i, D, c->ff, p->blockbuf, w)))
			goto done;
		block_forward(&f, w, pb, t6, f.x);
	}

	/* 5. final layer: LN, modulate with scale_shift_table + temb, proj_out */
	for (int b = 0; b < B; b++)
		for (int k = 0; k < 2 * D; k++)
			f.mod[(size_t)b * 2 * D + k] = p->sst_out[k] + temb[(size_t)b * D + k % D];
	ln_mod(f.h, f.x, f.mod, f.mod + D, 2 * (size_t)D, B, N, D, 1e-6f);
	int PC = P * P * c->out_channels, Co = c->out_channels;
	lin(tok, PC, f.h, D, p->po_w, p->po_b, B * N, D, PC, 0);

	/* 6. unpatchify: out[b][ch][r*P+i][col*P+j] = tok[b][r*gw+col][(i*P+j)*Co+ch] */
	#pragma omp parallel for num_threads(nthr((size_t)B * N * PC)) schedule(static)
	for (long t = 0; t < (long)B * N; t++) {
		int b = (int)(t / N), n = (int)(t % N), r = n / gw, col = n % gw;
		const float *tk = tok + (size_t)t * PC;
		for (int i = 0; i < P; i++)
			for (int j = 0; j < P; j++)
				for (int ch = 0; ch < Co; ch++)
					out[(((size_t)b * Co + ch) * in->height + (size_t)r * P + i) *
					    in->width + (size_t)col * P + j] = tk[(i * P + j) * Co + ch];
	}
	s = DC_OK;
done:
	if (a == &own)
		dc_arena_release(&own);
	else
		a->used = mark;
	return s;
}
