/*
 * test_safetensors.c - safetensors reading (golden file from numpy/torch),
 * writing (byte-exact against the reference layout), every malformed
 * header case, sharded model folders, index.json and config lookups.
 * Golden files: tests/golden/make_safetensors.py.
 */
#include "test.h"
#include "io/safetensors.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char golden_dir[1024];

static const char *gpath(const char *name)
{
	static char buf[2048];
	snprintf(buf, sizeof buf, "%s/%s", golden_dir, name);
	return buf;
}

/* A file image: u64 LE length of `hdr`, hdr, then `dlen` data bytes of 0. */
static unsigned char *mkfile(const char *hdr, size_t dlen, size_t *len)
{
	size_t h = strlen(hdr);
	*len = 8 + h + dlen;
	unsigned char *b = calloc(1, *len);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)h >> (8 * i));
	memcpy(b + 8, hdr, h);
	return b;
}

static enum dc_status open_hdr(const char *hdr, size_t dlen)
{
	size_t len;
	unsigned char *b = mkfile(hdr, dlen, &len);
	struct dc_safetensors *st = (void *)1;
	enum dc_status s = dc_safetensors_open_memory(&st, b, len);
	if (s == DC_OK)
		dc_safetensors_close(st);
	else if (st != NULL)
		s = DC_STATUS_COUNT;  /* *out must be NULL on failure */
	free(b);
	return s;
}

static int write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

static int write_text(const char *path, const char *text)
{
	return write_file(path, text, strlen(text));
}

/* Serialise entries with the library writer into a memory buffer. */
static unsigned char *write_mem(const struct dc_st_write_entry *e, size_t n,
                                const struct dc_st_kv *kv, size_t nkv, size_t *len,
                                enum dc_status *st)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	*st = dc_safetensors_write(f, e, n, kv, nkv);
	fclose(f);
	*len = sz;
	return (unsigned char *)buf;
}

static int write_st_file(const char *path, const struct dc_st_write_entry *e, size_t n,
                         const struct dc_st_kv *kv, size_t nkv)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	enum dc_status s = dc_safetensors_write(f, e, n, kv, nkv);
	return fclose(f) == 0 && s == DC_OK ? 0 : -1;
}

static char tmpdir[256];

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/dc_st_XXXXXX");
	if (!mkdtemp(tmpdir))
		tmpdir[0] = 0;
}

static const char *tpath(const char *name)
{
	static char buf[2][512];
	static int k;
	k ^= 1;
	snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
	return buf[k];
}

static void tmp_clean(const char *const *names)
{
	for (; *names; names++)
		unlink(tpath(*names));
	rmdir(tmpdir);
}

/* ---- golden reading ----------------------------------------------------------- */

TEST(golden_read)
{
	struct dc_safetensors *st = NULL;
	enum dc_status s = dc_safetensors_open(&st, gpath("golden.safetensors"));
	CHECK_EQ_INT(s, DC_OK);
	if (s) { printf("# %s\n", dc_errmsg()); return; }
	CHECK_EQ_INT(dc_safetensors_count(st), 10);
	CHECK(dc_safetensors_meta(st, "format") && strcmp(dc_safetensors_meta(st, "format"), "pt") == 0);
	CHECK(dc_safetensors_meta(st, "nope") == NULL);
	CHECK_EQ_INT(dc_safetensors_meta_count(st), 2);

	/* File order: reference writer order (I64, F64, F32 x2, I32, BF16, F16, I8, U8, BOOL). */
	static const char *const order[] = { "idx.i64", "w.f64", "empty", "w.f32", "idx.i32",
	                                     "w.bf16", "w.f16", "b.i8", "b.u8", "mask" };
	size_t prev = 0;
	for (size_t i = 0; i < 10; i++) {
		const struct dc_st_tensor *t = dc_safetensors_at(st, i);
		CHECK(t && strcmp(t->name, order[i]) == 0);
		CHECK(t && t->offset >= prev);
		if (t) prev = t->offset + t->nbytes;
		CHECK(t && dc_safetensors_find(st, order[i]) == t);
	}
	CHECK(dc_safetensors_at(st, 10) == NULL);

	float f[6];
	static const float ef32[6] = { -1, -0.5f, 0, 0.5f, 1, 1.5f };
	CHECK_EQ_INT(dc_safetensors_get_f32(st, "w.f32", f, 6), DC_OK);
	CHECK_CLOSE(f, ef32, 6, 0, 0);
	static const float ef16[5] = { 1, -2.5f, 65504, 6.103515625e-05f, 5.960464477539063e-08f };
	CHECK_EQ_INT(dc_safetensors_get_f32(st, "w.f16", f, 5), DC_OK);
	CHECK_CLOSE(f, ef16, 5, 0, 0);
	static const float ebf[4] = { 1, -3.140625f, 3.00405527047391e+38f, 0.0078125f };
	CHECK_EQ_INT(dc_safetensors_get_f32(st, "w.bf16", f, 4), DC_OK);
	CHECK_CLOSE(f, ebf, 4, 0, 0);
	static const float ei64[3] = { -1, 0, 1099511627776.0f };
	CHECK_EQ_INT(dc_safetensors_get_f32(st, "idx.i64", f, 3), DC_OK);
	CHECK_CLOSE(f, ei64, 3, 0, 0);
	static const float eu8[3] = { 0, 7, 255 }, ei8[2] = { -128, 127 }, eb[3] = { 1, 0, 1 };
	CHECK_EQ_INT(dc_safetensors_get_f32(st, "b.u8", f, 3), DC_OK);
	CHECK_CLOSE(f, eu8, 3, 0, 0);
	CHECK_EQ_INT(dc_safetensors_get_f32(st, "b.i8", f, 2), DC_OK);
	CHECK_CLOSE(f, ei8, 2, 0, 0);
	CHECK_EQ_INT(dc_safetensors_get_f32(st, "mask", f, 3), DC_OK);
	CHECK_CLOSE(f, eb, 3, 0, 0);

	/* Zero-copy views. */
	struct dc_tensor v;
	CHECK_EQ_INT(dc_safetensors_get(st, "w.bf16", &v), DC_OK);
	CHECK_EQ_INT(v.owned, 0);
	CHECK_EQ_INT(v.dtype, DC_BF16);
	CHECK_EQ_INT(v.rank, 2);
	CHECK_EQ_INT(v.shape[0], 2);
	CHECK_EQ_INT(v.nbytes, 8);
	CHECK(v.data == dc_safetensors_find(st, "w.bf16")->data);
	CHECK_EQ_INT(((const uint16_t *)v.data)[2], 0x7f62);
	CHECK_EQ_INT(((const uint16_t *)v.data)[1], 0xc049);
	CHECK_EQ_INT(dc_safetensors_get(st, "idx.i64", &v), DC_OK);
	CHECK_EQ_INT(((const int64_t *)v.data)[2], (int64_t)1 << 40);
	CHECK_EQ_INT(dc_safetensors_get(st, "w.f64", &v), DC_OK);
	CHECK_EQ_INT(v.rank, 0);
	CHECK(((const double *)v.data)[0] == 2.718281828459045);
	CHECK_EQ_INT(dc_safetensors_get(st, "empty", &v), DC_OK);
	CHECK_EQ_INT(v.nbytes, 0);
	CHECK_EQ_INT(dc_safetensors_find(st, "empty")->numel, 0);
	CHECK_EQ_INT(dc_safetensors_get(st, "missing", &v), DC_ENOTFOUND);
	CHECK(strstr(dc_errmsg(), "missing") != NULL);

	/* Owned copy. */
	struct dc_tensor o;
	CHECK_EQ_INT(dc_safetensors_load(st, "idx.i32", &o), DC_OK);
	CHECK_EQ_INT(o.owned, 1);
	CHECK_EQ_INT(((int32_t *)o.data)[1], 123456);
	dc_tensor_release(&o);

	/* Ranges and count mismatches. */
	CHECK_EQ_INT(dc_safetensors_read_f32(st, "w.f32", 4, f, 2), DC_OK);
	CHECK(f[0] == 1.0f && f[1] == 1.5f);
	CHECK_EQ_INT(dc_safetensors_read_f32(st, "w.f32", 5, f, 2), DC_EINVAL);
	CHECK_EQ_INT(dc_safetensors_read_f32(st, "w.f32", SIZE_MAX, f, 2), DC_EINVAL);
	CHECK_EQ_INT(dc_safetensors_get_f32(st, "w.f32", f, 5), DC_EINVAL);
	dc_safetensors_close(st);
}

TEST(golden_model_single_file)
{
	/* Config from __metadata__["config"]. */
	struct dc_model *m = NULL;
	enum dc_status s = dc_model_open(&m, gpath("golden.safetensors"));
	CHECK_EQ_INT(s, DC_OK);
	if (s) { printf("# %s\n", dc_errmsg()); return; }
	int64_t v = 0;
	CHECK_EQ_INT(dc_model_config_int(m, "num_layers", &v), DC_OK);
	CHECK_EQ_INT(v, 2);
	CHECK_EQ_INT(dc_model_config_int(m, "text_config.d_model", &v), DC_OK);
	CHECK_EQ_INT(v, 8);
	double d = 0;
	CHECK_EQ_INT(dc_model_config_double(m, "text_config.dropout", &d), DC_OK);
	CHECK(d == 0.1);
	int b = 0;
	CHECK_EQ_INT(dc_model_config_bool(m, "use_bias", &b), DC_OK);
	CHECK_EQ_INT(b, 1);
	const char *str = NULL;
	CHECK_EQ_INT(dc_model_config_string(m, "act", &str), DC_OK);
	CHECK(str && strcmp(str, "gelu") == 0);
	int64_t arr[4];
	size_t n = 0;
	CHECK_EQ_INT(dc_model_config_int_array(m, "block_out_channels", arr, 4, &n), DC_OK);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(arr[1], 64);
	CHECK_EQ_INT(dc_model_shard_count(m), 1);
	CHECK_EQ_INT(dc_model_count(m), 10);
	float f[2];
	CHECK_EQ_INT(dc_model_get_f32(m, "b.i8", f, 2), DC_OK);
	CHECK(f[0] == -128.0f && f[1] == 127.0f);
	dc_model_free(m);
}

TEST(golden_sharded_folder)
{
	char dir[1100];
	snprintf(dir, sizeof dir, "%s/sharded", golden_dir);
	for (int pass = 0; pass < 2; pass++) {
		struct dc_model *m = NULL;
		char p[1200];
		snprintf(p, sizeof p, "%s%s", dir, pass ? "/model.safetensors.index.json" : "");
		enum dc_status s = dc_model_open(&m, p);
		CHECK_EQ_INT(s, DC_OK);
		if (s) { printf("# %s\n", dc_errmsg()); return; }
		CHECK_EQ_INT(dc_model_shard_count(m), 2);
		CHECK_EQ_INT(dc_model_count(m), 4);
		int64_t v = 0;
		CHECK_EQ_INT(dc_model_config_int(m, "hidden_size", &v), DC_OK);
		CHECK_EQ_INT(v, 2);
		float f[6];
		static const float e1[6] = { 1, 2, 3, 4, 5, 6 }, e2[2] = { 0.5f, -1.5f },
		                   e3[2] = { 2.0f, -0.25f };
		CHECK_EQ_INT(dc_model_get_f32(m, "embed.weight", f, 6), DC_OK);
		CHECK_CLOSE(f, e1, 6, 0, 0);
		CHECK_EQ_INT(dc_model_get_f32(m, "layers.0.w", f, 2), DC_OK);
		CHECK_CLOSE(f, e2, 2, 0, 0);
		CHECK_EQ_INT(dc_model_get_f32(m, "layers.1.w", f, 2), DC_OK);
		CHECK_CLOSE(f, e3, 2, 0, 0);
		CHECK_EQ_INT(dc_model_read_f32(m, "head.bias", 0, f, 1), DC_OK);
		CHECK(f[0] == 9.5f);
		CHECK(dc_model_find(m, "layers.1.w") == dc_safetensors_find(dc_model_shard(m, 1), "layers.1.w"));
		CHECK(dc_model_find(m, "nope") == NULL);
		struct dc_tensor t;
		CHECK_EQ_INT(dc_model_get(m, "nope", &t), DC_ENOTFOUND);
		CHECK_EQ_INT(dc_model_get(m, "layers.1.w", &t), DC_OK);
		CHECK_EQ_INT(t.dtype, DC_F16);
		dc_model_free(m);
	}
}

/* ---- writing ---------------------------------------------------------------- */

TEST(writer_golden)
{
	/* The same entries as writer_expect() in make_safetensors.py, shuffled. */
	uint16_t bf[4] = { dc_f32_to_bf16(1), dc_f32_to_bf16(2), dc_f32_to_bf16(-3), dc_f32_to_bf16(0.5f) };
	uint16_t h[3] = { dc_f32_to_f16(1), dc_f32_to_f16(0.5f), dc_f32_to_f16(-0.125f) };
	float zb[2] = { 0.25f, -0.25f };
	int64_t step = 42;
	uint8_t flag[2] = { 0, 1 }, mq = 9;
	int64_t s2[] = { 2 }, s22[] = { 2, 2 }, s3[] = { 3 }, s1[] = { 1 };
	struct dc_st_write_entry e[] = {
		{ "flag", DC_BOOL, 1, s2, flag },
		{ "norm.w\xc3\xa9ight", DC_F16, 1, s3, h },
		{ "a.weight", DC_BF16, 2, s22, bf },
		{ "step", DC_I64, 0, NULL, &step },
		{ "m\"q", DC_U8, 1, s1, &mq },
		{ "z.bias", DC_F32, 1, s2, zb },
	};
	struct dc_st_kv kv[] = { { "format", "pt" }, { "note", "tab\there\nnl" } };
	size_t len;
	enum dc_status s;
	unsigned char *got = write_mem(e, 6, kv, 2, &len, &s);
	CHECK_EQ_INT(s, DC_OK);
	FILE *f = fopen(gpath("writer_expect.safetensors"), "rb");
	CHECK(f != NULL);
	if (f) {
		unsigned char want[4096];
		size_t wl = fread(want, 1, sizeof want, f);
		fclose(f);
		CHECK_EQ_INT(len, wl);
		CHECK(len == wl && memcmp(got, want, wl) == 0);
		CHECK_EQ_INT((8 + (got[0] | got[1] << 8)) % 8, 0);
	}
	free(got);
}

TEST(roundtrip)
{
	tmp_setup();
	CHECK(tmpdir[0]);
	float a[6];
	for (int i = 0; i < 6; i++) a[i] = (float)i * 0.75f - 2;
	uint16_t bh[6], hh[6];
	dc_convert_from_f32(bh, DC_BF16, a, 6);
	dc_convert_from_f32(hh, DC_F16, a, 6);
	int32_t ii[3] = { -5, 0, 1 << 30 };
	double dd[2] = { 1e300, -1e-300 };
	int64_t sh23[] = { 2, 3 }, sh6[] = { 6 }, sh3[] = { 3 }, sh2[] = { 1, 1, 1, 1, 1, 1, 1, 2 };
	struct dc_st_write_entry e[] = {
		{ "x.f32", DC_F32, 2, sh23, a },
		{ "x.bf16", DC_BF16, 1, sh6, bh },
		{ "x.f16", DC_F16, 2, sh23, hh },
		{ "x.i32", DC_I32, 1, sh3, ii },
		{ "x.f64", DC_F64, 8, sh2, dd },
	};
	struct dc_st_kv kv[] = { { "config", "{\"n\": 3}" } };
	CHECK_EQ_INT(write_st_file(tpath("rt.safetensors"), e, 5, kv, 1), 0);
	struct dc_safetensors *st = NULL;
	enum dc_status s = dc_safetensors_open(&st, tpath("rt.safetensors"));
	CHECK_EQ_INT(s, DC_OK);
	if (st) {
		CHECK_EQ_INT(dc_safetensors_count(st), 5);
		float f[6];
		CHECK_EQ_INT(dc_safetensors_get_f32(st, "x.f32", f, 6), DC_OK);
		CHECK_CLOSE(f, a, 6, 0, 0);
		CHECK_EQ_INT(dc_safetensors_get_f32(st, "x.bf16", f, 6), DC_OK);
		CHECK_CLOSE(f, a, 6, 0, 1.0 / 128);
		CHECK_EQ_INT(dc_safetensors_get_f32(st, "x.f16", f, 6), DC_OK);
		CHECK_CLOSE(f, a, 6, 0, 1.0 / 1024);
		const struct dc_st_tensor *t = dc_safetensors_find(st, "x.f64");
		CHECK(t && t->rank == 8 && t->shape[7] == 2 && ((const double *)t->data)[0] == 1e300);
		t = dc_safetensors_find(st, "x.i32");
		CHECK(t && ((const int32_t *)t->data)[2] == 1 << 30);
		/* Every view aligned to its element size (header padded). */
		for (size_t i = 0; i < dc_safetensors_count(st); i++) {
			struct dc_tensor v;
			CHECK_EQ_INT(dc_safetensors_get(st, dc_safetensors_at(st, i)->name, &v), DC_OK);
			CHECK_EQ_INT((uintptr_t)v.data % dc_dtype_size(v.dtype), 0);
		}
		dc_safetensors_close(st);
	}
	/* The same file as a model: config from __metadata__. */
	struct dc_model *m = NULL;
	CHECK_EQ_INT(dc_model_open(&m, tpath("rt.safetensors")), DC_OK);
	int64_t n = 0;
	CHECK_EQ_INT(dc_model_config_int(m, "n", &n), DC_OK);
	CHECK_EQ_INT(n, 3);
	dc_model_free(m);
	static const char *const files[] = { "rt.safetensors", NULL };
	tmp_clean(files);
}

TEST(writer_errors)
{
	float x[2] = { 0 };
	int64_t s2[] = { 2 }, neg[] = { -1 };
	size_t len;
	enum dc_status s;
	struct dc_st_write_entry dup[] = { { "a", DC_F32, 1, s2, x }, { "a", DC_F16, 1, s2, x } };
	free(write_mem(dup, 2, NULL, 0, &len, &s));
	CHECK_EQ_INT(s, DC_EINVAL);
	CHECK_EQ_INT(len, 0);
	struct dc_st_write_entry meta[] = { { "__metadata__", DC_F32, 1, s2, x } };
	free(write_mem(meta, 1, NULL, 0, &len, &s));
	CHECK_EQ_INT(s, DC_EINVAL);
	struct dc_st_write_entry ng[] = { { "a", DC_F32, 1, neg, x } };
	free(write_mem(ng, 1, NULL, 0, &len, &s));
	CHECK_EQ_INT(s, DC_EINVAL);
	struct dc_st_write_entry nodata[] = { { "a", DC_F32, 1, s2, NULL } };
	free(write_mem(nodata, 1, NULL, 0, &len, &s));
	CHECK_EQ_INT(s, DC_EINVAL);
	struct dc_st_kv kv[] = { { "k", "1" }, { "k", "2" } };
	free(write_mem(NULL, 0, kv, 2, &len, &s));
	CHECK_EQ_INT(s, DC_EINVAL);
	int64_t big[] = { INT64_C(1) << 40, INT64_C(1) << 40 };
	struct dc_st_write_entry ov[] = { { "a", DC_F32, 2, big, x } };
	free(write_mem(ov, 1, NULL, 0, &len, &s));
	CHECK_EQ_INT(s, DC_EOVERFLOW);
	/* Empty file: "{}" padded, as the reference's test_empty. */
	unsigned char *b = write_mem(NULL, 0, NULL, 0, &len, &s);
	CHECK_EQ_INT(s, DC_OK);
	CHECK(len == 16 && b && memcmp(b, "\x08\0\0\0\0\0\0\0{}      ", 16) == 0);
	free(b);
}

TEST(many_tensors_lookup)
{
	enum { N = 1500 };
	static struct dc_st_write_entry e[N];
	static char names[N][32];
	static float vals[N];
	static int64_t one[] = { 1 };
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "blocks.%d.attn.w", (i * 7919) % N);
		vals[i] = (float)((i * 7919) % N);
		e[i] = (struct dc_st_write_entry){ names[i], i % 3 ? DC_F32 : DC_F32, 1, one, &vals[i] };
	}
	size_t len;
	enum dc_status s;
	unsigned char *b = write_mem(e, N, NULL, 0, &len, &s);
	CHECK_EQ_INT(s, DC_OK);
	struct dc_safetensors *st = NULL;
	CHECK_EQ_INT(dc_safetensors_open_memory(&st, b, len), DC_OK);
	int bad = 0;
	char nm[32];
	for (int k = 0; k < N; k++) {
		snprintf(nm, sizeof nm, "blocks.%d.attn.w", k);
		const struct dc_st_tensor *t = dc_safetensors_find(st, nm);
		if (!t || strcmp(t->name, nm) || ((const float *)t->data)[0] != (float)k)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(dc_safetensors_find(st, "blocks.1500.attn.w") == NULL);
	/* Same dtype: file order is name order. */
	for (size_t i = 1; i < dc_safetensors_count(st); i++)
		if (strcmp(dc_safetensors_at(st, i - 1)->name, dc_safetensors_at(st, i)->name) >= 0)
			bad++;
	CHECK_EQ_INT(bad, 0);
	dc_safetensors_close(st);
	free(b);
}

TEST(unaligned_data)
{
	/* Header of 61 bytes (unpadded): F32 data starts at byte 69, misaligned. */
	const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}  ";
	size_t len;
	unsigned char *b = mkfile(hdr, 12, &len);
	float want[3] = { 1.5f, -2, 1e-3f };
	memcpy(b + len - 12, want, 12);
	CHECK((8 + strlen(hdr)) % 4 != 0);
	struct dc_safetensors *st = NULL;
	CHECK_EQ_INT(dc_safetensors_open_memory(&st, b, len), DC_OK);
	struct dc_tensor v;
	CHECK_EQ_INT(dc_safetensors_get(st, "a", &v), ((uintptr_t)(b + 8 + strlen(hdr)) % 4) ? DC_EUNSUPPORTED : DC_OK);
	float f[3];
	CHECK_EQ_INT(dc_safetensors_get_f32(st, "a", f, 3), DC_OK);
	CHECK_CLOSE(f, want, 3, 0, 0);
	CHECK_EQ_INT(dc_safetensors_read_f32(st, "a", 1, f, 2), DC_OK);
	CHECK_CLOSE(f, want + 1, 2, 0, 0);
	struct dc_tensor o;
	CHECK_EQ_INT(dc_safetensors_load(st, "a", &o), DC_OK);
	CHECK(memcmp(o.data, want, 12) == 0);
	dc_tensor_release(&o);
	dc_safetensors_close(st);
	free(b);
}

/* ---- malformed input ------------------------------------------------------- */

#define T1(dt, shape, off) "{\"t\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" off "}}"

TEST(malformed_headers)
{
	static const struct { const char *hdr; size_t dlen; enum dc_status want; const char *what; } c[] = {
		{ "[1,2]", 0, DC_EFORMAT, "array" },
		{ "\"str\"", 0, DC_EFORMAT, "string" },
		{ "{\"a\":", 0, DC_EFORMAT, "invalid JSON" },
		{ "{} x", 0, DC_EFORMAT, "trailing junk" },
		{ "{}\xff ", 0, DC_EFORMAT, "invalid UTF-8" },
		{ T1("F17", "[1]", "[0,4]"), 4, DC_EFORMAT, "unknown dtype" },
		{ T1("F8_E4M3", "[1]", "[0,1]"), 1, DC_EUNSUPPORTED, "unsupported dtype" },
		{ "{\"t\":{\"dtype\":3,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, DC_EFORMAT, "dtype type" },
		{ T1("F32", "[2]", "[0,4]"), 4, DC_EFORMAT, "shape/bytes mismatch" },
		{ T1("F32", "[-1]", "[0,4]"), 4, DC_EFORMAT, "negative dim" },
		{ T1("F32", "[1.5]", "[0,4]"), 4, DC_EFORMAT, "fractional dim" },
		{ T1("F32", "[\"1\"]", "[0,4]"), 4, DC_EFORMAT, "string dim" },
		{ T1("F32", "{}", "[0,4]"), 4, DC_EFORMAT, "shape object" },
		{ T1("F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]"), 4, DC_ELIMIT, "rank 9" },
		{ T1("F32", "[9007199254740992,9007199254740992]", "[0,4]"), 4, DC_EOVERFLOW, "numel overflow" },
		{ T1("F32", "[4611686018427387904]", "[0,4]"), 4, DC_EFORMAT, "dim above 2^53" },
		{ T1("F32", "[1]", "[4,0]"), 4, DC_EFORMAT, "end before begin" },
		{ T1("F32", "[1]", "[0]"), 4, DC_EFORMAT, "one offset" },
		{ T1("F32", "[1]", "[0,4,8]"), 4, DC_EFORMAT, "three offsets" },
		{ T1("F32", "[1]", "[-4,0]"), 4, DC_EFORMAT, "negative offset" },
		{ T1("F32", "[2]", "[0,8]"), 4, DC_ETRUNC, "out of file" },
		{ T1("F32", "[1]", "[1e300,1e300]"), 4, DC_EFORMAT, "huge offsets" },
		{ T1("F32", "[1]", "[4,8]"), 8, DC_EFORMAT, "hole at start" },
		{ T1("F32", "[1]", "[0,4]"), 8, DC_EFORMAT, "trailing data" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, DC_EFORMAT, "overlap" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		  "\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8, DC_EFORMAT, "empty inside" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, DC_EFORMAT, "hole" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, DC_EFORMAT, "duplicate" },
		{ "{\"__metadata__\":{\"k\":1}}", 0, DC_EFORMAT, "metadata non-string" },
		{ "{\"__metadata__\":[]}", 0, DC_EFORMAT, "metadata array" },
		{ "{\"__metadata__\":{},\"__metadata__\":{}}", 0, DC_EFORMAT, "two metadata" },
		{ "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, DC_EFORMAT, "metadata dup key" },
		{ "{\"t\":[]}", 0, DC_EFORMAT, "entry array" },
		{ "{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, DC_EFORMAT, "no offsets" },
		/* Valid ones, to show the cases above fail for their stated reason. */
		{ T1("F32", "[1]", "[0,4]"), 4, DC_OK, "valid" },
		{ "{\"__metadata__\":null}", 0, DC_OK, "null metadata" },
		{ "{}      ", 0, DC_OK, "empty" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
		  "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0, DC_OK, "two empties" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
		  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, DC_OK, "any key order" },
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		enum dc_status s = open_hdr(c[i].hdr, c[i].dlen);
		if (s != c[i].want)
			T_FAILED("case '%s': status %d (%s), expected %d", c[i].what, s, dc_errmsg(),
			         c[i].want);
		else if (s != DC_OK && !*dc_errmsg())
			T_FAILED("case '%s': no message", c[i].what);
	}
	/* Length-field cases. */
	unsigned char b[16] = { 0 };
	struct dc_safetensors *st;
	CHECK_EQ_INT(dc_safetensors_open_memory(&st, b, 7), DC_ETRUNC);
	uint64_t huge = 200000000;
	memcpy(b, &huge, 8);
	CHECK_EQ_INT(dc_safetensors_open_memory(&st, b, 16), DC_ELIMIT);
	huge = UINT64_MAX;
	memcpy(b, &huge, 8);
	CHECK_EQ_INT(dc_safetensors_open_memory(&st, b, 16), DC_ELIMIT);
	huge = 9;
	memcpy(b, &huge, 8);
	CHECK_EQ_INT(dc_safetensors_open_memory(&st, b, 16), DC_ETRUNC);
	huge = 0;
	memcpy(b, &huge, 8);
	CHECK_EQ_INT(dc_safetensors_open_memory(&st, b, 8), DC_EFORMAT);
	/* Messages name the tensor. */
	open_hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
	         "\"bee\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[2,10]}}", 10);
	CHECK(strstr(dc_errmsg(), "bee") != NULL);
	/* Files. */
	CHECK_EQ_INT(dc_safetensors_open(&st, "/nonexistent/x.safetensors"), DC_EIO);
	CHECK_EQ_INT(dc_safetensors_open(&st, "/tmp"), DC_EIO);
	CHECK(st == NULL);
}

/* ---- config --------------------------------------------------------------------- */

TEST(config_lookups)
{
	const char *json = "{\"n\": 12, \"f\": 2.5, \"neg\": -3, \"big\": 1e30, \"s\": \"hi\","
	                   " \"t\": true, \"no\": false, \"z\": null, \"arr\": [1, 2, 3],"
	                   " \"farr\": [0.5, 1], \"mix\": [1, \"x\"], \"n3\": 3.0,"
	                   " \"text_config\": {\"d_model\": 64, \"inner\": {\"k\": [7, 8]}}}";
	struct dc_config *c = NULL;
	CHECK_EQ_INT(dc_config_parse(&c, json, strlen(json)), DC_OK);
	int64_t v = -1;
	CHECK_EQ_INT(dc_config_int(c, "n", &v), DC_OK);
	CHECK_EQ_INT(v, 12);
	CHECK_EQ_INT(dc_config_int(c, "neg", &v), DC_OK);
	CHECK_EQ_INT(v, -3);
	CHECK_EQ_INT(dc_config_int(c, "n3", &v), DC_OK);
	CHECK_EQ_INT(v, 3);
	CHECK_EQ_INT(dc_config_int(c, "text_config.d_model", &v), DC_OK);
	CHECK_EQ_INT(v, 64);
	CHECK_EQ_INT(dc_config_int(c, "text_config.inner.k.1", &v), DC_OK);
	CHECK_EQ_INT(v, 8);
	CHECK_EQ_INT(dc_config_int(c, "arr.2", &v), DC_OK);
	CHECK_EQ_INT(v, 3);
	v = 77;
	CHECK_EQ_INT(dc_config_int(c, "f", &v), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "'f'") != NULL);
	CHECK_EQ_INT(dc_config_int(c, "big", &v), DC_EFORMAT);
	CHECK_EQ_INT(dc_config_int(c, "s", &v), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "string") != NULL);
	CHECK_EQ_INT(dc_config_int(c, "t", &v), DC_EFORMAT);
	CHECK_EQ_INT(dc_config_int(c, "z", &v), DC_EFORMAT);
	CHECK_EQ_INT(v, 77);
	CHECK_EQ_INT(dc_config_int(c, "missing", &v), DC_ENOTFOUND);
	CHECK(strstr(dc_errmsg(), "missing") != NULL);
	CHECK_EQ_INT(dc_config_int(c, "text_config.nope", &v), DC_ENOTFOUND);
	CHECK_EQ_INT(dc_config_int(c, "n.x", &v), DC_ENOTFOUND);
	CHECK_EQ_INT(dc_config_int(c, "arr.3", &v), DC_ENOTFOUND);
	CHECK_EQ_INT(dc_config_int(c, "", &v), DC_ENOTFOUND);
	CHECK_EQ_INT(dc_config_int(c, "text_config.", &v), DC_ENOTFOUND);
	double d = 0;
	CHECK_EQ_INT(dc_config_double(c, "f", &d), DC_OK);
	CHECK(d == 2.5);
	CHECK_EQ_INT(dc_config_double(c, "n", &d), DC_OK);
	CHECK(d == 12);
	CHECK_EQ_INT(dc_config_double(c, "s", &d), DC_EFORMAT);
	int b = -1;
	CHECK_EQ_INT(dc_config_bool(c, "t", &b), DC_OK);
	CHECK_EQ_INT(b, 1);
	CHECK_EQ_INT(dc_config_bool(c, "no", &b), DC_OK);
	CHECK_EQ_INT(b, 0);
	CHECK_EQ_INT(dc_config_bool(c, "n", &b), DC_EFORMAT);
	const char *s = NULL;
	CHECK_EQ_INT(dc_config_string(c, "s", &s), DC_OK);
	CHECK(s && strcmp(s, "hi") == 0);
	CHECK_EQ_INT(dc_config_string(c, "n", &s), DC_EFORMAT);
	int64_t a[3];
	size_t n = 0;
	CHECK_EQ_INT(dc_config_int_array(c, "arr", a, 3, &n), DC_OK);
	CHECK(n == 3 && a[0] == 1 && a[2] == 3);
	CHECK_EQ_INT(dc_config_int_array(c, "arr", a, 2, &n), DC_ELIMIT);
	CHECK_EQ_INT(dc_config_int_array(c, "mix", a, 3, &n), DC_EFORMAT);
	CHECK_EQ_INT(dc_config_int_array(c, "farr", a, 3, &n), DC_EFORMAT);
	CHECK_EQ_INT(dc_config_int_array(c, "n", a, 3, &n), DC_EFORMAT);
	double fa[2];
	CHECK_EQ_INT(dc_config_double_array(c, "farr", fa, 2, &n), DC_OK);
	CHECK(n == 2 && fa[0] == 0.5 && fa[1] == 1);
	CHECK(dc_config_has(c, "z") && dc_config_has(c, "text_config.inner") && !dc_config_has(c, "q"));
	dc_config_free(c);

	CHECK_EQ_INT(dc_config_parse(&c, "[1]", 3), DC_EFORMAT);
	CHECK(c == NULL);
	CHECK_EQ_INT(dc_config_parse(&c, "{\"a\":1", 6), DC_EFORMAT);
	CHECK_EQ_INT(dc_config_parse(&c, "{} {}", 5), DC_EFORMAT);
	CHECK_EQ_INT(dc_config_parse(&c, "", 0), DC_EFORMAT);
	/* Length honoured: text after len ignored. */
	CHECK_EQ_INT(dc_config_parse(&c, "{\"a\":1}garbage", 7), DC_OK);
	dc_config_free(c);
}

/* ---- index.json and folders ------------------------------------------------------- */

TEST(index_parse)
{
	const char *j = "{\"metadata\":{\"total_size\":8},\"weight_map\":{"
	                "\"z\":\"b.safetensors\",\"a\":\"a.safetensors\",\"m\":\"b.safetensors\","
	                "\"c\":\"c.safetensors\"}}";
	struct dc_st_index *ix = NULL;
	CHECK_EQ_INT(dc_st_index_parse(&ix, j, strlen(j)), DC_OK);
	CHECK_EQ_INT(dc_st_index_shard_count(ix), 3);
	CHECK(strcmp(dc_st_index_shard(ix, 0), "b.safetensors") == 0);
	CHECK(strcmp(dc_st_index_shard(ix, 1), "a.safetensors") == 0);
	CHECK(strcmp(dc_st_index_shard(ix, 2), "c.safetensors") == 0);
	CHECK(dc_st_index_shard(ix, 3) == NULL);
	CHECK_EQ_INT(dc_st_index_count(ix), 4);
	CHECK_EQ_INT(dc_st_index_lookup(ix, "z"), 0);
	CHECK_EQ_INT(dc_st_index_lookup(ix, "m"), 0);
	CHECK_EQ_INT(dc_st_index_lookup(ix, "a"), 1);
	CHECK_EQ_INT(dc_st_index_lookup(ix, "c"), 2);
	CHECK_EQ_INT(dc_st_index_lookup(ix, "q"), -1);
	dc_st_index_free(ix);

	static const struct { const char *j; enum dc_status want; } bad[] = {
		{ "{\"weight_map\":{\"a\":\"../x.safetensors\"}}", DC_EFORMAT },
		{ "{\"weight_map\":{\"a\":\"/etc/passwd\"}}", DC_EFORMAT },
		{ "{\"weight_map\":{\"a\":\"sub/x.safetensors\"}}", DC_EFORMAT },
		{ "{\"weight_map\":{\"a\":\"..\"}}", DC_EFORMAT },
		{ "{\"weight_map\":{\"a\":\".\"}}", DC_EFORMAT },
		{ "{\"weight_map\":{\"a\":\"\"}}", DC_EFORMAT },
		{ "{\"weight_map\":{\"a\":\"x\\\\y\"}}", DC_EFORMAT },
		{ "{\"weight_map\":{\"a\":3}}", DC_EFORMAT },
		{ "{\"weight_map\":[]}", DC_EFORMAT },
		{ "{\"metadata\":{}}", DC_EFORMAT },
		{ "{\"weight_map\":{\"a\":\"x\",\"a\":\"y\"}}", DC_EFORMAT },
		{ "[]", DC_EFORMAT },
		{ "{\"weight_map\":{}}", DC_OK },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ix = (void *)1;
		enum dc_status s = dc_st_index_parse(&ix, bad[i].j, strlen(bad[i].j));
		if (s != bad[i].want)
			T_FAILED("index case %zu: status %d (%s)", i, s, dc_errmsg());
		if (s != DC_OK && ix != NULL)
			T_FAILED("index case %zu: out not NULL", i);
		if (s == DC_OK)
			dc_st_index_free(ix);
	}
}

TEST(folders)
{
	tmp_setup();
	CHECK(tmpdir[0]);
	float a[2] = { 1, 2 }, b[3] = { 3, 4, 5 };
	int64_t s2[] = { 2 }, s3[] = { 3 };
	struct dc_st_write_entry ea[] = { { "enc.w", DC_F32, 1, s2, a } };
	struct dc_st_write_entry eb[] = { { "dec.w", DC_F32, 1, s3, b } };
	struct dc_st_write_entry both[] = { { "enc.w", DC_F32, 1, s2, a }, { "dec.w", DC_F32, 1, s3, b } };
	struct dc_model *m = NULL;

	/* No weights. */
	CHECK_EQ_INT(dc_model_open(&m, tmpdir), DC_ENOTFOUND);
	CHECK(m == NULL);
	/* diffusers single file + config.json. */
	CHECK_EQ_INT(write_st_file(tpath("diffusion_pytorch_model.safetensors"), both, 2, NULL, 0), 0);
	CHECK_EQ_INT(write_text(tpath("config.json"), "{\"_class_name\": \"Toy\", \"sample_size\": 32}"), 0);
	CHECK_EQ_INT(dc_model_open(&m, tmpdir), DC_OK);
	if (m) {
		int64_t v = 0;
		CHECK_EQ_INT(dc_model_config_int(m, "sample_size", &v), DC_OK);
		CHECK_EQ_INT(v, 32);
		CHECK_EQ_INT(dc_model_count(m), 2);
		dc_model_free(m);
		m = NULL;
	}
	/* Single file named directly: no __metadata__ config, so config.json beside it. */
	CHECK_EQ_INT(dc_model_open(&m, tpath("diffusion_pytorch_model.safetensors")), DC_OK);
	if (m) {
		const char *cls = NULL;
		CHECK_EQ_INT(dc_model_config_string(m, "_class_name", &cls), DC_OK);
		CHECK(cls && strcmp(cls, "Toy") == 0);
		dc_model_free(m);
		m = NULL;
	}
	/* Bad config.json is an error, not silently empty. */
	CHECK_EQ_INT(write_text(tpath("config.json"), "{\"sample_size\": "), 0);
	CHECK_EQ_INT(dc_model_open(&m, tmpdir), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "config.json") != NULL);
	CHECK_EQ_INT(write_text(tpath("config.json"), "{\"sample_size\": 32}"), 0);
	unlink(tpath("diffusion_pytorch_model.safetensors"));

	/* Sharded, diffusers naming. */
	CHECK_EQ_INT(write_st_file(tpath("s1.safetensors"), ea, 1, NULL, 0), 0);
	CHECK_EQ_INT(write_st_file(tpath("s2.safetensors"), eb, 1, NULL, 0), 0);
	const char *ixp = tpath("diffusion_pytorch_model.safetensors.index.json");
	CHECK_EQ_INT(write_text(ixp, "{\"weight_map\":{\"enc.w\":\"s1.safetensors\",\"dec.w\":\"s2.safetensors\"}}"), 0);
	CHECK_EQ_INT(dc_model_open(&m, tmpdir), DC_OK);
	if (m) {
		float f[3];
		CHECK_EQ_INT(dc_model_get_f32(m, "dec.w", f, 3), DC_OK);
		CHECK_CLOSE(f, b, 3, 0, 0);
		CHECK_EQ_INT(dc_model_get_f32(m, "enc.w", f, 2), DC_OK);
		CHECK_CLOSE(f, a, 2, 0, 0);
		CHECK_EQ_INT(dc_model_get_f32(m, "enc.w", f, 3), DC_EINVAL);
		struct dc_tensor t;
		CHECK_EQ_INT(dc_model_load(m, "dec.w", &t), DC_OK);
		CHECK(t.owned && ((float *)t.data)[2] == 5);
		dc_tensor_release(&t);
		dc_model_free(m);
		m = NULL;
	}
	/* Index names a tensor its shard lacks. */
	CHECK_EQ_INT(write_text(ixp, "{\"weight_map\":{\"enc.w\":\"s2.safetensors\",\"dec.w\":\"s2.safetensors\"}}"), 0);
	CHECK_EQ_INT(dc_model_open(&m, tmpdir), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "enc.w") != NULL);
	/* Path traversal. */
	CHECK_EQ_INT(write_text(ixp, "{\"weight_map\":{\"enc.w\":\"../s1.safetensors\"}}"), 0);
	CHECK_EQ_INT(dc_model_open(&m, tmpdir), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "plain file name") != NULL);
	/* Missing shard file. */
	CHECK_EQ_INT(write_text(ixp, "{\"weight_map\":{\"enc.w\":\"gone.safetensors\"}}"), 0);
	CHECK_EQ_INT(dc_model_open(&m, tmpdir), DC_EIO);
	/* Tensor in two shards. */
	CHECK_EQ_INT(write_st_file(tpath("s3.safetensors"), both, 2, NULL, 0), 0);
	CHECK_EQ_INT(write_text(ixp, "{\"weight_map\":{\"enc.w\":\"s1.safetensors\",\"dec.w\":\"s3.safetensors\"}}"), 0);
	CHECK_EQ_INT(dc_model_open(&m, tmpdir), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "both") != NULL);
	CHECK(m == NULL);
	/* Without a recognised name: several *.safetensors is ambiguous. */
	unlink(ixp);
	CHECK_EQ_INT(dc_model_open(&m, tmpdir), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "several") != NULL);
	unlink(tpath("s2.safetensors"));
	unlink(tpath("s3.safetensors"));
	CHECK_EQ_INT(dc_model_open(&m, tmpdir), DC_OK);   /* the only one: s1 */
	CHECK_EQ_INT(dc_model_count(m), 1);
	dc_model_free(m);
	CHECK_EQ_INT(dc_model_open(&m, tpath("nothing-here")), DC_ENOTFOUND);

	static const char *const files[] = { "s1.safetensors", "s2.safetensors", "s3.safetensors",
	                                     "config.json", "diffusion_pytorch_model.safetensors",
	                                     "diffusion_pytorch_model.safetensors.index.json", NULL };
	tmp_clean(files);
}

int main(void)
{
	const char *top = getenv("DC_TOP");
	snprintf(golden_dir, sizeof golden_dir, "%s/tests/golden/safetensors", top ? top : ".");
	RUN(golden_read);
	RUN(golden_model_single_file);
	RUN(golden_sharded_folder);
	RUN(writer_golden);
	RUN(roundtrip);
	RUN(writer_errors);
	RUN(many_tensors_lookup);
	RUN(unaligned_data);
	RUN(malformed_headers);
	RUN(config_lookups);
	RUN(index_parse);
	RUN(folders);
	return test_summary();
}
