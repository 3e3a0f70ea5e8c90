/*
 * test_t5.c - parity of lib/models/t5.c with transformers' T5EncoderModel
 * (tests/golden/make_t5.py: T5 v1.1, gated-gelu, a tiny random-weight
 * config, reference in float64; golden tensors in tests/golden/t5/).
 * Tolerance: max |ours - ref| <= 1e-4 max|ref|, and every component within
 * 1e-5 max|ref| + 1e-4 |ref|, padded positions included.  The f32 and the
 * bf16 checkpoint (same values) must both pass.  Also: the relative
 * position buckets against a transcription of transformers'
 * _relative_position_bucket and against values printed by torch 1.13;
 * the other activations (relu, gated-silu, gelu) against a naive double
 * reference that is itself checked against the golden first (also a row
 * with every token masked, and T = 2100, where the attention scores go in
 * chunks and the GEMMs use every thread); files whose tensors are
 * unaligned (f32 and bf16, converted through dc_model_read_f32); two
 * encodes at once on one object; bad ids and sizes; mutated checkpoints
 * (missing key, wrong shape, embed_tokens alias, unsupported activation,
 * bad bucket config) written to a temporary folder.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "core/core.h"
#include "io/safetensors.h"
#include "models/t5.h"

#define GOLD "tests/golden/t5"
#define DM 32        /* d_model of the golden config */

static char top[4096];

static const char *path(const char *rel)
{
	static char buf[4][4200];
	static int k;
	k = (k + 1) & 3;
	snprintf(buf[k], sizeof buf[k], "%s/%s", top, rel);
	return buf[k];
}

static struct dc_safetensors *io;

static float *get(const char *name, size_t n)
{
	const struct dc_st_tensor *t = dc_safetensors_find(io, name);
	if (!t || t->numel != n) {
		printf("# golden tensor '%s' missing or of the wrong size\n", name);
		return NULL;
	}
	float *p = malloc(n * sizeof *p);
	if (dc_safetensors_get_f32(io, name, p, n)) {
		free(p);
		return NULL;
	}
	return p;
}

/* The golden inputs: a (2 x 24, row 1 padded after 13) and b (1 x 160). */
struct gcase {
	int B, T;
	int32_t ids[2 * 160];
	unsigned char mask[2 * 160];
	int has_mask;
	float *ref;
};

static int load_case(struct gcase *c, const char *k, int B, int T, int has_mask)
{
	char n[32];
	memset(c, 0, sizeof *c);
	c->B = B;
	c->T = T;
	c->has_mask = has_mask;
	snprintf(n, sizeof n, "%s.ids", k);
	float *ids = get(n, (size_t)B * T);
	snprintf(n, sizeof n, "%s.out", k);
	c->ref = get(n, (size_t)B * T * DM);
	float *m = NULL;
	if (has_mask) {
		snprintf(n, sizeof n, "%s.mask", k);
		m = get(n, (size_t)B * T);
	}
	if (!ids || !c->ref || (has_mask && !m)) {
		free(ids); free(m); free(c->ref);
		return -1;
	}
	for (int i = 0; i < B * T; i++) {
		c->ids[i] = (int32_t)ids[i];
		c->mask[i] = has_mask ? m[i] != 0 : 1;
	}
	free(ids);
	free(m);
	return 0;
}

/* Max |d| / max|ref| over n; the check itself. */
static double compare(const char *what, const float *got, const float *ref, size_t n)
{
	double mx = 0, ma = 0, me = 0;
	for (size_t i = 0; i < n; i++)
		if (fabs(ref[i]) > mx)
			mx = fabs(ref[i]);
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - ref[i]);
		if (d > ma || d != d)
			ma = d;
		double e = d / (fabs(ref[i]) + 1e-3 * mx);   /* elementwise, floored */
		if (e > me || e != e)
			me = e;
	}
	printf("# %s: max abs %.3g, max rel to max|ref| (%.3g) %.3g, max elementwise rel "
	       "(floor 1e-3 max|ref|) %.3g\n", what, ma, mx, ma / mx, me);
	CHECK(mx > 0.1);
	CHECK(ma / mx <= 1e-4);
	CHECK_CLOSE(got, ref, n, 1e-5 * mx, 1e-4);
	return ma / mx;
}

static void golden_folder(const char *dir, const char *label)
{
	struct dc_t5 *t5;
	enum dc_status s = dc_t5_open(&t5, path(dir));
	if (s) { T_FAILED("open %s: %s", dir, dc_errmsg()); return; }
	const struct dc_t5_config *c = dc_t5_config(t5);
	CHECK_EQ_INT(c->vocab, 2100);
	CHECK_EQ_INT(c->d_model, DM);
	CHECK_EQ_INT(c->d_kv, 8);
	CHECK_EQ_INT(c->heads, 4);
	CHECK_EQ_INT(c->d_ff, 48);
	CHECK_EQ_INT(c->layers, 2);
	CHECK_EQ_INT(c->buckets, 32);
	CHECK_EQ_INT(c->max_distance, 128);
	CHECK_EQ_INT(c->gated, 1);
	CHECK_EQ_INT(c->act, DC_T5_GELU_TANH);
	CHECK(c->eps == 1e-6f);
	struct gcase a, b;
	char what[128];
	if (load_case(&a, "a", 2, 24, 1) || load_case(&b, "b", 1, 160, 0)) {
		T_FAILED("golden");
		dc_t5_free(t5);
		return;
	}
	size_t na = (size_t)2 * 24 * DM, nb = (size_t)160 * DM;
	float *o = calloc(nb, sizeof *o), *o2 = calloc(nb, sizeof *o2);
	if (dc_t5_encode(t5, 2, 24, a.ids, a.mask, o)) {
		T_FAILED("encode a: %s", dc_errmsg());
	} else {
		snprintf(what, sizeof what, "%s a [2,24] padded", label);
		compare(what, o, a.ref, na);
		/* the padded positions alone (row 1, tokens 13..23) */
		snprintf(what, sizeof what, "%s a padded positions", label);
		compare(what, o + (24 + 13) * DM, a.ref + (24 + 13) * DM, 11 * DM);
		/* the mask matters for row 1 only */
		CHECK(dc_t5_encode(t5, 2, 24, a.ids, NULL, o2) == DC_OK);
		CHECK(max_abs_diff(o, o2, 24 * DM) < 1e-6);
		CHECK(max_abs_diff(o + 24 * DM, o2 + 24 * DM, 13 * DM) > 1e-3);
		/* two encodes on the object at once give the serial bytes */
		float *o3 = calloc(nb, sizeof *o3), *o4 = calloc(nb, sizeof *o4);
		enum dc_status s3 = DC_EIO, s4 = DC_EIO;
		#pragma omp parallel sections num_threads(2)
		{
			#pragma omp section
			s3 = dc_t5_encode(t5, 2, 24, a.ids, a.mask, o3);
			#pragma omp section
			s4 = dc_t5_encode(t5, 2, 24, a.ids, a.mask, o4);
		}
		CHECK(s3 == DC_OK && s4 == DC_OK);
		CHECK(memcmp(o3, o, na * sizeof *o) == 0);
		CHECK(memcmp(o4, o, na * sizeof *o) == 0);
		free(o3);
		free(o4);
		/* row 0 alone is batch row 0 */
		CHECK(dc_t5_encode(t5, 1, 24, a.ids, a.mask, o2) == DC_OK);
		CHECK_CLOSE(o2, o, 24 * DM, 1e-5, 1e-5);
	}
	if (dc_t5_encode(t5, 1, 160, b.ids, NULL, o)) {
		T_FAILED("encode b: %s", dc_errmsg());
	} else {
		snprintf(what, sizeof what, "%s b [1,160] (distances past 128)", label);
		compare(what, o, b.ref, nb);
		/* an all-ones mask is no mask */
		CHECK(dc_t5_encode(t5, 1, 160, b.ids, b.mask, o2) == DC_OK);
		CHECK(memcmp(o, o2, nb * sizeof *o) == 0);
	}
	free(o); free(o2); free(a.ref); free(b.ref);
	dc_t5_free(t5);
}

TEST(golden_f32) { golden_folder(GOLD "/enc", "f32"); }
TEST(golden_bf16) { golden_folder(GOLD "/enc_bf16", "bf16"); }

/* ---- buckets ----------------------------------------------------------------------- */

/* transformers' _relative_position_bucket, line by line (bidirectional). */
static int naive_bucket(int relative_position, int num_buckets, int max_distance)
{
	int relative_buckets = 0;
	num_buckets /= 2;
	relative_buckets += (relative_position > 0) * num_buckets;
	relative_position = abs(relative_position);
	int max_exact = num_buckets / 2;
	int is_small = relative_position < max_exact;
	/* torch: float32 tensor ops, the python double log rounded to float */
	float lg = logf((float)relative_position / (float)max_exact);
	float f = lg / (float)log((double)max_distance / max_exact) * (float)(num_buckets - max_exact);
	long if_large = max_exact + (long)f;
	if (if_large > num_buckets - 1)
		if_large = num_buckets - 1;
	relative_buckets += is_small ? relative_position : (int)if_large;
	return relative_buckets;
}

/* torch 1.13 for rel = -300..300, 'A' + bucket (26.. as 'a'..), 32 buckets, 128 */
static const char torch_32_128[] =
	"PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP"
	"PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP"
	"PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPOOOOOO"
	"OOOOOOOOOOOOOOOOOOOOONNNNNNNNNNNNNNNNNNMMMMMMMMMMMMMMLLLLLLLLLKKKKKKKJJJ"
	"JIIIIHGFEDCBARSTUVWXYYYYZZZZaaaaaaabbbbbbbbbccccccccccccccdddddddddddddd"
	"ddddeeeeeeeeeeeeeeeeeeeeeeeeeeefffffffffffffffffffffffffffffffffffffffff"
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	"fffffffffffffffffffffffff";
/* the same, '0' + bucket, 64 buckets, max distance 100 */
static const char torch_64_100[] =
	"OOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOO"
	"OOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOO"
	"OOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOONNNNN"
	"NNNNNMMMMMMMMMLLLLLLLKKKKKKKJJJJJJIIIIIIHHHHHGGGGFFFFEEEDDDCCCBBAAA@@?>="
	"<;:9876543210QRSTUVWXYZ[\\]^_``aaabbcccdddeeeffffgggghhhhhiiiiiijjjjjjkkk"
	"kkkklllllllmmmmmmmmmnnnnnnnnnnoooooooooooooooooooooooooooooooooooooooooo"
	"oooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo"
	"oooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo"
	"ooooooooooooooooooooooooo";

TEST(relative_position_buckets)
{
	static const int cfgs[][2] = { { 32, 128 }, { 32, 64 }, { 64, 100 }, { 16, 32 }, { 8, 20 },
	                               { 4, 8 }, { 33, 128 }, { 32, 9 }, { 128, 4096 } };
	int bad = 0;
	for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++)
		for (int r = -300; r <= 300; r++) {
			int want = naive_bucket(r, cfgs[c][0], cfgs[c][1]);
			int got = dc_t5_bucket(r, cfgs[c][0], cfgs[c][1]);
			if (got != want && bad++ < 5)
				T_FAILED("bucket(%d, %d, %d) = %d, naive %d", r, cfgs[c][0], cfgs[c][1],
				         got, want);
			if (got < 0 || got >= cfgs[c][0])
				T_FAILED("bucket(%d, %d, %d) = %d out of range", r, cfgs[c][0], cfgs[c][1], got);
		}
	CHECK_EQ_INT(strlen(torch_32_128), 601);
	CHECK_EQ_INT(strlen(torch_64_100), 601);
	for (int r = -300; r <= 300; r++) {
		char ch = torch_32_128[r + 300];
		int want = ch >= 'a' ? ch - 'a' + 26 : ch - 'A';
		if (dc_t5_bucket(r, 32, 128) != want && bad++ < 10)
			T_FAILED("bucket(%d, 32, 128) = %d, torch %d", r, dc_t5_bucket(r, 32, 128), want);
		want = torch_64_100[r + 300] - '0';
		if (dc_t5_bucket(r, 64, 100) != want && bad++ < 10)
			T_FAILED("bucket(%d, 64, 100) = %d, torch %d", r, dc_t5_bucket(r, 64, 100), want);
	}
	/* the exact/log boundary and far distances */
	CHECK_EQ_INT(dc_t5_bucket(0, 32, 128), 0);
	CHECK_EQ_INT(dc_t5_bucket(7, 32, 128), 23);
	CHECK_EQ_INT(dc_t5_bucket(-7, 32, 128), 7);
	CHECK_EQ_INT(dc_t5_bucket(8, 32, 128), 24);
	CHECK_EQ_INT(dc_t5_bucket(-1000000, 32, 128), 15);
	CHECK_EQ_INT(dc_t5_bucket(2147483647, 32, 128), 31);
	CHECK_EQ_INT(dc_t5_bucket(-2147483647 - 1, 32, 128), 15);
}

/* ---- a naive double reference, for the other activations ------------------------------ */

static double *ld(struct dc_model *m, const char *name, size_t n)
{
	float *f = malloc(n * sizeof *f);
	double *d = malloc(n * sizeof *d);
	if (dc_model_get_f32(m, name, f, n)) {
		printf("# ref: %s\n", dc_errmsg());
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		d[i] = f[i];
	free(f);
	return d;
}

static void rms(double *o, const double *x, const double *w, int D)
{
	double s = 0;
	for (int i = 0; i < D; i++)
		s += x[i] * x[i];
	double r = 1 / sqrt(s / D + 1e-6);
	for (int i = 0; i < D; i++)
		o[i] = x[i] * r * w[i];
}

static double act_d(double v, int act)
{
	switch (act) {
	case DC_T5_RELU: return v > 0 ? v : 0;
	case DC_T5_GELU: return 0.5 * v * (1 + erf(v / sqrt(2.0)));
	case DC_T5_SILU: return v / (1 + exp(-v));
	default: return 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
	}
}

/* out[T][32] for one sequence of the golden config's shape, in double. */
static void ref_encode(const char *dir, int gated, int act, const char *wi0, int T,
                       const int32_t *ids, const unsigned char *mask, float *out)
{
	enum { D = DM, H = 4, K = 8, F = 48 };
	struct dc_model *m;
	if (dc_model_open(&m, dir)) {
		printf("# ref: %s\n", dc_errmsg());
		exit(1);
	}
	double *E = ld(m, "shared.weight", (size_t)2100 * D);
	double *rel = ld(m, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
	                 32 * H);
	double *x = calloc((size_t)T * D, sizeof *x), *h = calloc((size_t)T * D, sizeof *h);
	double *q = calloc((size_t)T * D, sizeof *q), *k = calloc((size_t)T * D, sizeof *k);
	double *v = calloc((size_t)T * D, sizeof *v), *o = calloc((size_t)T * D, sizeof *o);
	double *p = calloc((size_t)T, sizeof *p), *a = calloc(F, sizeof *a);
	int any = !mask;
	for (int j = 0; mask && j < T; j++)
		any |= mask[j] != 0;
	for (int t = 0; t < T; t++)
		for (int d = 0; d < D; d++)
			x[t * D + d] = E[(size_t)ids[t] * D + d];
	char n[160];
	for (int l = 0; l < 2; l++) {
#define W(suf, cnt) (snprintf(n, sizeof n, "encoder.block.%d.%s", l, suf), ld(m, n, cnt))
		double *ln0 = W("layer.0.layer_norm.weight", D);
		double *wq = W("layer.0.SelfAttention.q.weight", D * D);
		double *wk = W("layer.0.SelfAttention.k.weight", D * D);
		double *wv = W("layer.0.SelfAttention.v.weight", D * D);
		double *wo = W("layer.0.SelfAttention.o.weight", D * D);
		double *ln1 = W("layer.1.layer_norm.weight", D);
		double *w0 = W(wi0, F * D);
		double *w1 = gated ? W("layer.1.DenseReluDense.wi_1.weight", F * D) : NULL;
		double *w2 = W("layer.1.DenseReluDense.wo.weight", D * F);
#undef W
		for (int t = 0; t < T; t++) {
			rms(h + t * D, x + t * D, ln0, D);
			for (int r = 0; r < D; r++) {
				double sq = 0, sk = 0, sv = 0;
				for (int c = 0; c < D; c++) {
					sq += wq[r * D + c] * h[t * D + c];
					sk += wk[r * D + c] * h[t * D + c];
					sv += wv[r * D + c] * h[t * D + c];
				}
				q[t * D + r] = sq, k[t * D + r] = sk, v[t * D + r] = sv;
			}
		}
		for (int hh = 0; hh < H; hh++)
			for (int i = 0; i < T; i++) {
				double mx = -INFINITY, s = 0;
				for (int j = 0; j < T; j++) {
					double d = 0;
					for (int e = 0; e < K; e++)
						d += q[i * D + hh * K + e] * k[j * D + hh * K + e];
					d += rel[naive_bucket(j - i, 32, 128) * H + hh];
					p[j] = mask && !mask[j] ? -INFINITY : d;
					if (!any)   /* every key + finfo.min rounds to finfo.min */
						p[j] = 0;
					mx = p[j] > mx ? p[j] : mx;
				}
				for (int j = 0; j < T; j++)
					s += p[j] = exp(p[j] - mx);
				for (int e = 0; e < K; e++) {
					double acc = 0;
					for (int j = 0; j < T; j++)
						acc += p[j] / s * v[j * D + hh * K + e];
					o[i * D + hh * K + e] = acc;
				}
			}
		for (int t = 0; t < T; t++) {
			for (int r = 0; r < D; r++) {
				double acc = 0;
				for (int c = 0; c < D; c++)
					acc += wo[r * D + c] * o[t * D + c];
				x[t * D + r] += acc;
			}
			rms(h + t * D, x + t * D, ln1, D);
			for (int f = 0; f < F; f++) {
				double s0 = 0, s1 = 0;
				for (int c = 0; c < D; c++) {
					s0 += w0[f * D + c] * h[t * D + c];
					if (gated)
						s1 += w1[f * D + c] * h[t * D + c];
				}
				a[f] = act_d(s0, act) * (gated ? s1 : 1);
			}
			for (int r = 0; r < D; r++) {
				double acc = 0;
				for (int f = 0; f < F; f++)
					acc += w2[r * F + f] * a[f];
				x[t * D + r] += acc;
			}
		}
		free(ln0); free(wq); free(wk); free(wv); free(wo); free(ln1); free(w0); free(w1);
		free(w2);
	}
	double *fl = ld(m, "encoder.final_layer_norm.weight", D);
	for (int t = 0; t < T; t++) {
		rms(h + t * D, x + t * D, fl, D);
		for (int d = 0; d < D; d++)
			out[t * D + d] = (float)h[t * D + d];
	}
	free(fl); free(E); free(rel); free(x); free(h); free(q); free(k); free(v); free(o);
	free(p); free(a);
	dc_model_free(m);
}

/* Copy src (a safetensors file) to dst/model.safetensors with one more
 * space in its header, so every tensor is 1 byte off its alignment (as
 * files written before safetensors 0.3), and the config beside it. */
static int write_unaligned(const char *src, const char *cfg, const char *dir)
{
	FILE *f = fopen(src, "rb");
	if (!f) return -1;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc((size_t)len);
	int rc = fread(b, 1, (size_t)len, f) == (size_t)len ? 0 : -1;
	fclose(f);
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--) n = n << 8 | b[i];
	uint64_t n1 = n + 1;
	unsigned char hdr[8];
	for (int i = 0; i < 8; i++) hdr[i] = (unsigned char)(n1 >> (8 * i));
	char fn[4300];
	snprintf(fn, sizeof fn, "%s/model.safetensors", dir);
	f = fopen(fn, "wb");
	if (!f || fwrite(hdr, 1, 8, f) != 8 || fwrite(b + 8, 1, n, f) != n || fputc(' ', f) == EOF ||
	    fwrite(b + 8 + n, 1, (size_t)len - 8 - n, f) != (size_t)len - 8 - n) rc = -1;
	if (f) fclose(f);
	free(b);
	char cmd[8800];
	snprintf(cmd, sizeof cmd, "cp '%s' '%s/config.json'", cfg, dir);
	if (system(cmd)) rc = -1;
	return rc;
}

TEST(unaligned_checkpoints)
{
	static const char *srcs[2] = { GOLD "/enc/model.safetensors",
	                               GOLD "/enc_bf16/model.safetensors" };
	static const char *cfgs[2] = { GOLD "/enc/config.json", GOLD "/enc_bf16/config.json" };
	char dir[] = "/tmp/dc_t5_unal_XXXXXX";
	if (!mkdtemp(dir)) { T_FAILED("mkdtemp"); return; }
	for (int k = 0; k < 2; k++) {
		CHECK(write_unaligned(path(srcs[k]), path(cfgs[k]), dir) == 0);
		char fn[4300];
		struct dc_safetensors *st;
		snprintf(fn, sizeof fn, "%s/model.safetensors", dir);
		if (dc_safetensors_open(&st, fn) == DC_OK) {   /* really unaligned */
			const struct dc_st_tensor *t = dc_safetensors_find(st, "shared.weight");
			CHECK(t && ((uintptr_t)t->data & 1));
			dc_safetensors_close(st);
		} else {
			T_FAILED("unaligned file: %s", dc_errmsg());
		}
		struct dc_t5 *t5;
		struct gcase a;
		if (dc_t5_open(&t5, dir) == DC_OK && load_case(&a, "a", 2, 24, 1) == 0) {
			float out[2 * 24 * DM];
			CHECK(dc_t5_encode(t5, 2, 24, a.ids, a.mask, out) == DC_OK);
			compare(k ? "unaligned bf16 file" : "unaligned f32 file", out, a.ref, 2 * 24 * DM);
			free(a.ref);
			dc_t5_free(t5);
		} else {
			T_FAILED("unaligned: %s", dc_errmsg());
		}
	}
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd)) {}
}

/* T = 2100: the attention scores go in chunks of 3 of the 4 heads (64 MB
 * each), and the GEMMs use every thread. */
TEST(long_sequence_chunked_attention)
{
	enum { T = 2100 };
	struct dc_t5 *t5;
	if (dc_t5_open(&t5, path(GOLD "/enc"))) { T_FAILED("open: %s", dc_errmsg()); return; }
	int32_t *ids = malloc(T * sizeof *ids);
	unsigned char *mask = malloc(T);
	float *out = malloc((size_t)T * DM * sizeof *out), *ref = malloc((size_t)T * DM * sizeof *ref);
	for (int i = 0; i < T; i++) {
		ids[i] = 3 + (int32_t)(((uint32_t)i * 2654435761u) % 2097u);
		mask[i] = i < T - 150;
	}
	CHECK(dc_t5_encode(t5, 1, T, ids, mask, out) == DC_OK);
	ref_encode(path(GOLD "/enc"), 1, DC_T5_GELU_TANH, "layer.1.DenseReluDense.wi_0.weight", T,
	           ids, mask, ref);
	compare("T = 2100, chunked attention, 150 padded", out, ref, (size_t)T * DM);
	free(ids); free(mask); free(out); free(ref);
	dc_t5_free(t5);
}

/* ---- mutated checkpoints ------------------------------------------------------------ */

struct mut {
	const char *drop[2];              /* tensors left out */
	const char *from[2], *to[2];      /* tensors renamed */
	const char *transpose;            /* one matrix stored with swapped dims */
	const char *extra;                /* one more tensor (a copy of final_layer_norm) */
	const char *config;               /* config.json text; NULL = the golden one */
};

static int eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static int write_ckpt(const char *dir, const struct mut *mu)
{
	struct dc_safetensors *st;
	if (dc_safetensors_open(&st, path(GOLD "/enc/model.safetensors")))
		return -1;
	size_t n = dc_safetensors_count(st), k = 0;
	struct dc_st_write_entry *e = calloc(n + 1, sizeof *e);
	int64_t (*sh)[DC_MAX_RANK] = calloc(n + 1, sizeof *sh);
	for (size_t i = 0; i < n; i++) {
		const struct dc_st_tensor *t = dc_safetensors_at(st, i);
		if (eq(t->name, mu->drop[0]) || eq(t->name, mu->drop[1]))
			continue;
		memcpy(sh[k], t->shape, sizeof sh[k]);
		if (eq(t->name, mu->transpose))
			sh[k][0] = t->shape[1], sh[k][1] = t->shape[0];
		const char *nm = eq(t->name, mu->from[0]) ? mu->to[0] :
		                 eq(t->name, mu->from[1]) ? mu->to[1] : t->name;
		e[k] = (struct dc_st_write_entry){ nm, t->dtype, t->rank, sh[k], t->data };
		k++;
		if (mu->extra && !strcmp(t->name, "encoder.final_layer_norm.weight")) {
			memcpy(sh[k], t->shape, sizeof sh[k]);
			e[k] = (struct dc_st_write_entry){ mu->extra, t->dtype, t->rank, sh[k], t->data };
			k++;
		}
	}
	char fn[4300];
	snprintf(fn, sizeof fn, "%s/model.safetensors", dir);
	FILE *f = fopen(fn, "wb");
	int rc = f && dc_safetensors_write(f, e, k, NULL, 0) == DC_OK ? 0 : -1;
	if (f) fclose(f);
	free(e);
	free(sh);
	dc_safetensors_close(st);
	snprintf(fn, sizeof fn, "%s/config.json", dir);
	if (mu->config) {
		f = fopen(fn, "w");
		if (!f || fputs(mu->config, f) < 0) rc = -1;
		if (f) fclose(f);
	} else {
		char cmd[8800];
		snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path(GOLD "/enc/config.json"), fn);
		if (system(cmd)) rc = -1;
	}
	return rc;
}

#define CFG(ffp, more) \
	"{\"vocab_size\": 2100, \"d_model\": 32, \"d_kv\": 8, \"num_heads\": 4, \"d_ff\": 48, " \
	"\"num_layers\": 2, \"relative_attention_num_buckets\": 32, " \
	"\"layer_norm_epsilon\": 1e-06, \"feed_forward_proj\": \"" ffp "\"" more "}"

/* Open dir, encode golden a, compare with the naive reference. */
static void act_case(const char *dir, const char *label, int gated, int act, const char *wi0)
{
	struct dc_t5 *t5;
	struct gcase a;
	if (dc_t5_open(&t5, dir)) { T_FAILED("%s: open: %s", label, dc_errmsg()); return; }
	CHECK_EQ_INT(dc_t5_config(t5)->gated, gated);
	CHECK_EQ_INT(dc_t5_config(t5)->act, act);
	if (load_case(&a, "a", 2, 24, 1)) { T_FAILED("golden"); dc_t5_free(t5); return; }
	float out[2 * 24 * DM], ref[2 * 24 * DM];
	CHECK(dc_t5_encode(t5, 2, 24, a.ids, a.mask, out) == DC_OK);
	for (int b = 0; b < 2; b++)
		ref_encode(dir, gated, act, wi0, 24, a.ids + b * 24, a.mask + b * 24, ref + b * 24 * DM);
	compare(label, out, ref, sizeof out / sizeof out[0]);
	double dg = max_abs_diff(out, a.ref, sizeof out / sizeof out[0]);
	printf("#   (differs from the gated-gelu golden by %.3g)\n", dg);
	CHECK(dg > 3e-5);   /* the activation really changed: 10x our error */
	free(a.ref);
	dc_t5_free(t5);
}

TEST(naive_reference_and_other_activations)
{
	/* the reference itself reproduces the golden (gated-gelu) */
	struct gcase a;
	if (load_case(&a, "a", 2, 24, 1)) { T_FAILED("golden"); return; }
	float ref[2 * 24 * DM];
	for (int b = 0; b < 2; b++)
		ref_encode(path(GOLD "/enc"), 1, DC_T5_GELU_TANH, "layer.1.DenseReluDense.wi_0.weight",
		           24, a.ids + b * 24, a.mask + b * 24, ref + b * 24 * DM);
	CHECK_CLOSE(ref, a.ref, sizeof ref / sizeof ref[0], 1e-6, 1e-5);
	printf("# naive double reference vs golden: max abs %.3g\n",
	       max_abs_diff(ref, a.ref, sizeof ref / sizeof ref[0]));
	/* a row with no real token: uniform attention over all keys */
	struct dc_t5 *t5;
	if (dc_t5_open(&t5, path(GOLD "/enc")) == DC_OK) {
		float out[2 * 24 * DM];
		memset(a.mask + 24, 0, 24);
		CHECK(dc_t5_encode(t5, 2, 24, a.ids, a.mask, out) == DC_OK);
		ref_encode(path(GOLD "/enc"), 1, DC_T5_GELU_TANH, "layer.1.DenseReluDense.wi_0.weight",
		           24, a.ids + 24, a.mask + 24, ref + 24 * DM);
		compare("row with every token masked", out + 24 * DM, ref + 24 * DM, 24 * DM);
		CHECK_CLOSE(out, a.ref, 24 * DM, 1e-4, 1e-4);   /* row 0 untouched */
		dc_t5_free(t5);
	}
	free(a.ref);

	char dir[] = "/tmp/dc_t5_act_XXXXXX";
	if (!mkdtemp(dir)) { T_FAILED("mkdtemp"); return; }
	const char *wi0 = "layer.1.DenseReluDense.wi_0.weight";
	struct mut mu = { .config = CFG("gated-silu", "") };
	CHECK(write_ckpt(dir, &mu) == 0);
	act_case(dir, "gated-silu", 1, DC_T5_SILU, wi0);
	/* dense_act_fn overrides feed_forward_proj, as in transformers */
	mu.config = CFG("gated-gelu", ", \"dense_act_fn\": \"gelu\"");
	CHECK(write_ckpt(dir, &mu) == 0);
	act_case(dir, "gated-gelu with dense_act_fn gelu (erf)", 1, DC_T5_GELU, wi0);
	/* relu (original T5): wi instead of wi_0, no wi_1 */
	struct mut r = { .drop = { "encoder.block.0.layer.1.DenseReluDense.wi_1.weight",
	                           "encoder.block.1.layer.1.DenseReluDense.wi_1.weight" },
	                 .from = { "encoder.block.0.layer.1.DenseReluDense.wi_0.weight",
	                           "encoder.block.1.layer.1.DenseReluDense.wi_0.weight" },
	                 .to = { "encoder.block.0.layer.1.DenseReluDense.wi.weight",
	                         "encoder.block.1.layer.1.DenseReluDense.wi.weight" },
	                 .config = CFG("relu", "") };
	CHECK(write_ckpt(dir, &r) == 0);
	act_case(dir, "relu (wi)", 0, DC_T5_RELU, "layer.1.DenseReluDense.wi.weight");
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd)) {}
}

/* dir holds a checkpoint that must fail with status st naming `key`. */
static void expect_fail(const char *dir, enum dc_status st, const char *key, const char *what)
{
	struct dc_t5 *t5 = (struct dc_t5 *)1;
	enum dc_status s = dc_t5_open(&t5, dir);
	printf("# %s: %s\n", what, s ? dc_errmsg() : "(opened)");
	CHECK_EQ_INT(s, st);
	CHECK(t5 == NULL);
	if (s)
		CHECK(strstr(dc_errmsg(), key) != NULL);
	if (!s)
		dc_t5_free(t5);
}

TEST(mutated_checkpoints)
{
	char dir[] = "/tmp/dc_t5_mut_XXXXXX";
	if (!mkdtemp(dir)) { T_FAILED("mkdtemp"); return; }
	const char *k;
	struct mut mu = { .drop = { k = "encoder.block.1.layer.0.SelfAttention.v.weight" } };
	CHECK(write_ckpt(dir, &mu) == 0);
	expect_fail(dir, DC_ENOTFOUND, k, "missing key");
	mu = (struct mut){ .transpose = k = "encoder.block.1.layer.1.DenseReluDense.wo.weight" };
	CHECK(write_ckpt(dir, &mu) == 0);
	expect_fail(dir, DC_EFORMAT, k, "wrong shape");
	mu = (struct mut){ .transpose = k = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight" };
	CHECK(write_ckpt(dir, &mu) == 0);
	expect_fail(dir, DC_EFORMAT, k, "wrong shape");
	mu = (struct mut){ .drop = { k = "encoder.final_layer_norm.weight" } };
	CHECK(write_ckpt(dir, &mu) == 0);
	expect_fail(dir, DC_ENOTFOUND, k, "missing key");
	mu = (struct mut){ .drop = { "shared.weight" } };
	CHECK(write_ckpt(dir, &mu) == 0);
	expect_fail(dir, DC_ENOTFOUND, "shared.weight", "no embedding");
	/* a relu config over gated weights: no 'wi' */
	mu = (struct mut){ .config = CFG("relu", "") };
	CHECK(write_ckpt(dir, &mu) == 0);
	expect_fail(dir, DC_ENOTFOUND, "encoder.block.0.layer.1.DenseReluDense.wi.weight",
	            "relu config, gated weights");
	mu = (struct mut){ .config = CFG("gated-tanh", "") };
	CHECK(write_ckpt(dir, &mu) == 0);
	expect_fail(dir, DC_EUNSUPPORTED, "tanh", "unsupported activation");
	mu = (struct mut){ .config = CFG("gelu-gated", "") };
	CHECK(write_ckpt(dir, &mu) == 0);
	expect_fail(dir, DC_EUNSUPPORTED, "gelu-gated", "malformed feed_forward_proj");
	mu = (struct mut){ .config = CFG("gated-gelu", ", \"relative_attention_max_distance\": 8") };
	CHECK(write_ckpt(dir, &mu) == 0);
	expect_fail(dir, DC_EFORMAT, "max distance", "max distance <= buckets / 4");
	mu = (struct mut){ .config = "{\"vocab_size\": 2100, \"d_model\": 48, \"d_kv\": 8, "
	                             "\"num_heads\": 4, \"d_ff\": 48, \"num_layers\": 2, "
	                             "\"feed_forward_proj\": \"gated-gelu\"}" };
	CHECK(write_ckpt(dir, &mu) == 0);
	expect_fail(dir, DC_EFORMAT, "shared.weight", "d_model differs from the weights");

	/* only encoder.embed_tokens.weight (the tied alias), plus a decoder key,
	 * and a config relying on a default (max distance): the golden */
	mu = (struct mut){ .from = { "shared.weight" }, .to = { "encoder.embed_tokens.weight" },
	                   .extra = "decoder.final_layer_norm.weight",
	                   .config = CFG("gated-gelu", "") };
	CHECK(write_ckpt(dir, &mu) == 0);
	struct dc_t5 *t5;
	struct gcase a;
	if (dc_t5_open(&t5, dir) == DC_OK && load_case(&a, "a", 2, 24, 1) == 0) {
		float out[2 * 24 * DM];
		CHECK(dc_t5_encode(t5, 2, 24, a.ids, a.mask, out) == DC_OK);
		compare("embed_tokens alias, decoder key ignored", out, a.ref, 2 * 24 * DM);
		free(a.ref);
		dc_t5_free(t5);
	} else {
		T_FAILED("embed_tokens alias: %s", dc_errmsg());
	}
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd)) {}
}

TEST(bad_inputs)
{
	struct dc_t5 *t5;
	if (dc_t5_open(&t5, path(GOLD "/enc"))) { T_FAILED("open: %s", dc_errmsg()); return; }
	int32_t ids[4] = { 5, 6, 7, 8 };
	float out[4 * DM];
	CHECK(dc_t5_encode(t5, 1, 4, ids, NULL, out) == DC_OK);
	ids[2] = 2100;
	CHECK(dc_t5_encode(t5, 1, 4, ids, NULL, out) == DC_EINVAL);
	printf("# id 2100: %s\n", dc_errmsg());
	CHECK(strstr(dc_errmsg(), "2100") != NULL);
	ids[2] = -1;
	CHECK(dc_t5_encode(t5, 2, 2, ids, NULL, out) == DC_EINVAL);
	printf("# id -1: %s\n", dc_errmsg());
	ids[2] = 7;
	CHECK(dc_t5_encode(t5, 0, 4, ids, NULL, out) == DC_EINVAL);
	CHECK(dc_t5_encode(t5, 1, 0, ids, NULL, out) == DC_EINVAL);
	CHECK(dc_t5_encode(t5, 1, 4, NULL, NULL, out) == DC_EINVAL);
	CHECK(dc_t5_encode(t5, 1, 16385, ids, NULL, out) == DC_ELIMIT);
	dc_t5_free(t5);
	dc_t5_free(NULL);
	/* synthetic: a bad config is refused, a good one runs */
	struct dc_t5_config c = { .vocab = 50, .d_model = 16, .d_kv = 4, .heads = 2, .d_ff = 24,
	                          .layers = 1, .buckets = 8, .max_distance = 16, .eps = 1e-6f,
	                          .gated = 1, .act = DC_T5_GELU_TANH };
	CHECK(dc_t5_new_synthetic(&t5, &c) == DC_OK);
	if (t5) {
		float o[4 * 16];
		CHECK(dc_t5_encode(t5, 1, 4, ids, NULL, o) == DC_OK);
		CHECK(isfinite(o[0]) && fabs(o[0]) > 0);
		dc_t5_free(t5);
	}
	c.max_distance = 2;
	CHECK(dc_t5_new_synthetic(&t5, &c) == DC_EINVAL);
	printf("# bad synthetic: %s\n", dc_errmsg());
}

int main(void)
{
	const char *t = getenv("DC_TOP");
	snprintf(top, sizeof top, "%s", t ? t : ".");
	if (dc_safetensors_open(&io, path(GOLD "/t5_io.safetensors"))) {
		printf("not ok 1 - cannot open golden io: %s\n", dc_errmsg());
		return 1;
	}
	RUN(golden_f32);
	RUN(golden_bf16);
	RUN(relative_position_buckets);
	RUN(naive_reference_and_other_activations);
	RUN(unaligned_checkpoints);
	RUN(long_sequence_chunked_attention);
	RUN(mutated_checkpoints);
	RUN(bad_inputs);
	dc_safetensors_close(io);
	return test_summary();
}
