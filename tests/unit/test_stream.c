/*
 * test_stream.c - unit tests of the tensor stream (lib/io/stream.c) and the
 * .npy reader/writer (lib/io/npy.c).
 *
 * Run with "--gen KIND" it instead writes a deliberately bad stream with
 * valid CRCs to stdout, for the CLI tests (tests/cli/tensor-tool.bats):
 * badlen (payload length != dtype x shape), badindex (first record numbered
 * 1), badkey (unknown header key), noend, badversion, ancillary (a valid
 * stream with a skippable "xtra" record), endcount (END says 5 records).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/npy.h"
#include "io/stream.h"
#include "test.h"

/* ---- raw stream builder (independent of the writer under test) ----------------------- */

struct buf {
	unsigned char *p;
	size_t n, cap;
};

static void b_put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}
static void b_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24) };
	b_put(b, x, 4);
}
static void b_u64(struct buf *b, uint64_t v)
{
	b_u32(b, (uint32_t)v);
	b_u32(b, (uint32_t)(v >> 32));
}

static void raw_preamble(struct buf *b, uint32_t version)
{
	static const unsigned char m[8] = { 0x89, 'D', 'T', 'S', 0x0D, 0x0A, 0x1A, 0x0A };
	unsigned char z[48] = { 0 };
	b_put(b, m, 8);
	b_u32(b, version);
	b_u32(b, 0);
	b_put(b, z, 48);
}

static void raw_record_n(struct buf *b, const char tag[4], const char *text, const void *data,
                         uint64_t data_len, size_t put_len, uint64_t index)
{
	size_t tl = strlen(text), hl = tl;
	while ((32 + hl) % 64)
		hl++;
	char *h = malloc(hl);
	memcpy(h, text, tl);
	memset(h + tl, ' ', hl - tl);
	size_t start = b->n;
	b_put(b, tag, 4);
	b_u32(b, (uint32_t)hl);
	b_u64(b, data_len);
	b_u64(b, index);
	uint32_t crc = (uint32_t)crc32(0, b->p + start, 24);
	crc = (uint32_t)crc32(crc, (const unsigned char *)h, (uInt)hl);
	b_u32(b, crc);
	b_u32(b, 0);
	b_put(b, h, hl);
	free(h);
	b_put(b, data, put_len);
	b_u32(b, (uint32_t)crc32(0, data, (uInt)put_len));
	b_u32(b, 0);
	while (b->n % 64)
		b_put(b, "", 1);
}

static void raw_record(struct buf *b, const char tag[4], const char *text, const void *data,
                       uint64_t data_len, uint64_t index)
{
	raw_record_n(b, tag, text, data, data_len, (size_t)data_len, index);
}

static void raw_end(struct buf *b, uint64_t n, uint64_t index)
{
	char t[64];
	snprintf(t, sizeof t, "records %llu\nENDHDR\n", (unsigned long long)n);
	raw_record(b, "END", t, "", 0, index);
}

static const char hdr6[] = "name x\ndtype F32\nshape 2 3\nENDHDR\n";
static const float six[6] = { 1, 2, 3, 4, 5, 6 };

static int gen(const char *kind)
{
	struct buf b = { 0 };
	raw_preamble(&b, strcmp(kind, "badversion") == 0 ? 2 : 1);
	if (strcmp(kind, "badlen") == 0) {
		raw_record(&b, "TENS", hdr6, six, 20, 0);
	} else if (strcmp(kind, "badindex") == 0) {
		raw_record(&b, "TENS", hdr6, six, 24, 1);
	} else if (strcmp(kind, "badkey") == 0) {
		raw_record(&b, "TENS", "name x\ndtype F32\nshape 2 3\ncolour red\nENDHDR\n", six, 24, 0);
	} else if (strcmp(kind, "ancillary") == 0) {
		raw_record(&b, "xtra", "anything\n", "abc", 3, 0);
		raw_record(&b, "TENS", hdr6, six, 24, 1);
		raw_end(&b, 2, 2);
	} else if (strcmp(kind, "endcount") == 0) {
		raw_record(&b, "TENS", hdr6, six, 24, 0);
		raw_end(&b, 5, 1);
	} else if (strcmp(kind, "noend") == 0 || strcmp(kind, "badversion") == 0) {
		raw_record(&b, "TENS", hdr6, six, 24, 0);
	} else {
		fprintf(stderr, "test_stream: unknown --gen kind '%s'\n", kind);
		return 2;
	}
	if (strcmp(kind, "badlen") && strcmp(kind, "badindex") && strcmp(kind, "badkey") &&
	    strcmp(kind, "noend") && strcmp(kind, "ancillary") && strcmp(kind, "endcount"))
		raw_end(&b, 1, 1);
	fwrite(b.p, 1, b.n, stdout);
	free(b.p);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* Read all records of a memory stream; returns final status, count in *n. */
static enum dc_status read_all(const void *p, size_t n, int skip, size_t *count)
{
	FILE *fp = fmemopen((void *)p, n, "rb");
	struct dc_stream_reader r;
	struct dc_record rec;
	enum dc_status st;
	dc_record_init(&rec);
	*count = 0;
	if (!fp)
		return DC_EIO;
	if (n == 0) { /* fmemopen of size 0 may fail on some libcs; handled above */ }
	st = dc_stream_reader_open(&r, fp);
	if (!st) {
		r.skip_payload = skip;
		while ((st = dc_stream_read(&r, &rec)) == DC_OK) {
			(*count)++;
			dc_record_release(&rec);
		}
	}
	dc_stream_reader_close(&r);
	fclose(fp);
	return st;
}

/* A two-record stream written by the writer under test. */
static void make_stream(char **p, size_t *n)
{
	FILE *fp = open_memstream(p, n);
	struct dc_stream_writer w;
	struct dc_record rec;
	CHECK_EQ_INT(dc_stream_writer_open(&w, fp), DC_OK);
	dc_record_init(&rec);
	CHECK_EQ_INT(dc_record_set_name(&rec, "latents"), DC_OK);
	CHECK_EQ_INT(dc_record_set_role(&rec, "latents"), DC_OK);
	CHECK_EQ_INT(dc_record_meta_set(&rec, "seed", "42"), DC_OK);
	CHECK_EQ_INT(dc_record_meta_set(&rec, "model", "pixart"), DC_OK);
	rec.dtype = DC_F32;
	rec.rank = 2;
	rec.shape[0] = 2;
	rec.shape[1] = 3;
	rec.data = (void *)six;
	rec.nbytes = sizeof six;
	CHECK_EQ_INT(dc_stream_write(&w, &rec), DC_OK);
	dc_record_release(&rec);
	uint8_t bytes[5] = { 9, 8, 7, 6, 5 };
	dc_record_init(&rec);
	dc_record_set_name(&rec, "b");
	rec.dtype = DC_U8;
	rec.rank = 1;
	rec.shape[0] = 5;
	rec.data = bytes;
	rec.nbytes = 5;
	CHECK_EQ_INT(dc_stream_write(&w, &rec), DC_OK);
	dc_record_release(&rec);
	CHECK_EQ_INT(dc_stream_writer_finish(&w), DC_OK);
	dc_stream_writer_close(&w);
	fclose(fp);
}

/* ---- stream tests ------------------------------------------------------------------------- */

TEST(roundtrip_all_dtypes)
{
	char *p = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&p, &n);
	struct dc_stream_writer w;
	CHECK_EQ_INT(dc_stream_writer_open(&w, fp), DC_OK);
	unsigned char src[DC_DTYPE_COUNT][3 * 8];
	for (int d = 0; d < DC_DTYPE_COUNT; d++) {
		struct dc_tensor t = { (enum dc_dtype)d, 2, { 1, 3 }, src[d], 3 * dc_dtype_size((enum dc_dtype)d), 0 };
		for (size_t i = 0; i < t.nbytes; i++)
			src[d][i] = (unsigned char)(d * 31 + i * 7 + 1);
		char name[16];
		snprintf(name, sizeof name, "t%d", d);
		CHECK_EQ_INT(dc_stream_write_tensor(&w, name, d & 1 ? "embedding" : NULL, &t), DC_OK);
	}
	CHECK_EQ_INT(dc_stream_writer_finish(&w), DC_OK);
	dc_stream_writer_close(&w);
	fclose(fp);
	CHECK(n % 64 == 0);

	fp = fmemopen(p, n, "rb");
	struct dc_stream_reader r;
	struct dc_record rec;
	dc_record_init(&rec);
	CHECK_EQ_INT(dc_stream_reader_open(&r, fp), DC_OK);
	for (int d = 0; d < DC_DTYPE_COUNT; d++) {
		CHECK_EQ_INT(dc_stream_read(&r, &rec), DC_OK);
		CHECK_EQ_INT(rec.dtype, d);
		CHECK_EQ_INT(rec.rank, 2);
		CHECK_EQ_INT(rec.shape[1], 3);
		CHECK_EQ_INT(rec.index, d);
		CHECK(rec.offset % 64 == 0);
		CHECK(((uintptr_t)rec.data & 63) == 0);
		CHECK(rec.nbytes == 3 * dc_dtype_size((enum dc_dtype)d) && memcmp(rec.data, src[d], rec.nbytes) == 0);
		CHECK((rec.role != NULL) == (d & 1));
		CHECK(memcmp(p + rec.offset, src[d], rec.nbytes) == 0);
	}
	CHECK_EQ_INT(dc_stream_read(&r, &rec), DC_EEOF);
	CHECK_EQ_INT(dc_stream_read(&r, &rec), DC_EEOF);
	dc_record_release(&rec);
	dc_stream_reader_close(&r);
	fclose(fp);
	free(p);
}

TEST(scalar_empty_and_meta_order)
{
	char *p = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&p, &n);
	struct dc_stream_writer w;
	struct dc_record rec;
	double x = 3.5;
	dc_stream_writer_open(&w, fp);
	dc_record_init(&rec);
	dc_record_set_name(&rec, "s");
	CHECK_EQ_INT(dc_record_meta_set(&rec, "zeta", "last"), DC_OK);
	CHECK_EQ_INT(dc_record_meta_set(&rec, "alpha", "first"), DC_OK);
	CHECK_EQ_INT(dc_record_meta_set(&rec, "alpha", "again"), DC_OK); /* replace */
	CHECK_EQ_INT(dc_record_meta_set(&rec, "bad key", "x"), DC_EINVAL);
	CHECK_EQ_INT(dc_record_meta_set(&rec, "k", "line\nbreak"), DC_EINVAL);
	CHECK_EQ_INT(dc_record_set_name(&rec, "bad\xff"), DC_EINVAL);
	rec.dtype = DC_F64;
	rec.rank = 0;
	rec.data = &x;
	rec.nbytes = 8;
	CHECK_EQ_INT(dc_stream_write(&w, &rec), DC_OK);
	rec.rank = 1;
	rec.shape[0] = 0;
	rec.nbytes = 0;
	CHECK_EQ_INT(dc_stream_write(&w, &rec), DC_OK);
	rec.shape[0] = 2; /* nbytes 0 but shape needs 16 */
	CHECK_EQ_INT(dc_stream_write(&w, &rec), DC_EINVAL);
	dc_record_release(&rec);
	dc_stream_writer_finish(&w);
	dc_stream_writer_close(&w);
	fclose(fp);
	const char *a = memmem(p, n, "meta.alpha again\nmeta.zeta last\n", 32);
	CHECK(a != NULL);
	CHECK(memmem(p, n, "shape\n", 6) != NULL);
	size_t count;
	CHECK_EQ_INT(read_all(p, n, 0, &count), DC_EEOF);
	CHECK_EQ_INT(count, 2);
	free(p);
}

TEST(bit_flips_are_caught)
{
	char *p = NULL;
	size_t n = 0, count;
	make_stream(&p, &n);
	CHECK_EQ_INT(read_all(p, n, 0, &count), DC_EEOF);
	CHECK_EQ_INT(count, 2);
	/* header byte (in "name latents") */
	char *h = memmem(p, n, "latents", 7);
	h[0] ^= 1;
	CHECK_EQ_INT(read_all(p, n, 0, &count), DC_ECRC);
	CHECK(strstr(dc_errmsg(), "record 0: header CRC mismatch") != NULL);
	h[0] ^= 1;
	/* payload byte: first record's payload at 128 + hdr */
	char *d = memmem(p, n, six, sizeof six);
	d[5] ^= 0x10;
	CHECK_EQ_INT(read_all(p, n, 0, &count), DC_ECRC);
	CHECK(strstr(dc_errmsg(), "record 0 ('latents'): payload CRC mismatch") != NULL);
	CHECK_EQ_INT(read_all(p, n, 1, &count), DC_ECRC); /* skip mode checks too */
	d[5] ^= 0x10;
	/* every single-bit flip anywhere is an error */
	int undetected = 0;
	for (size_t i = 0; i < n; i++)
		for (int bit = 0; bit < 8; bit += 3) {
			p[i] ^= (char)(1 << bit);
			if (read_all(p, n, 0, &count) == DC_EEOF)
				undetected++;
			p[i] ^= (char)(1 << bit);
		}
	CHECK_EQ_INT(undetected, 0);
	free(p);
}

TEST(truncation_anywhere_is_an_error)
{
	char *p = NULL;
	size_t n = 0, count;
	make_stream(&p, &n);
	int bad = 0;
	for (size_t cut = 1; cut < n; cut++) {
		enum dc_status st = read_all(p, cut, 0, &count);
		if (st != DC_ETRUNC)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	/* cut at a record boundary: "without an END record" */
	CHECK_EQ_INT(read_all(p, n - 128, 0, &count), DC_ETRUNC);
	CHECK(strstr(dc_errmsg(), "without an END record") != NULL);
	free(p);
}

TEST(trailing_garbage_magic_version)
{
	char *p = NULL;
	size_t n = 0, count;
	make_stream(&p, &n);
	char *q = malloc(n + 1);
	memcpy(q, p, n);
	q[n] = 0;
	CHECK_EQ_INT(read_all(q, n + 1, 0, &count), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "trailing garbage") != NULL);
	q[1] = 'X';
	CHECK_EQ_INT(read_all(q, n, 0, &count), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "bad magic") != NULL);
	q[1] = 'D';
	q[8] = 2;
	CHECK_EQ_INT(read_all(q, n, 0, &count), DC_EUNSUPPORTED);
	q[8] = 1;
	q[12] = 1;
	CHECK_EQ_INT(read_all(q, n, 0, &count), DC_EUNSUPPORTED);
	CHECK(strstr(dc_errmsg(), "flags") != NULL);
	free(q);
	free(p);
}

TEST(crafted_records)
{
	struct buf b = { 0 };
	size_t count;
	raw_preamble(&b, 1);
	raw_record(&b, "TENS", hdr6, six, 20, 0);
	CHECK_EQ_INT(read_all(b.p, b.n, 0, &count), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "record 0 ('x'): payload length 20 does not match F32 2x3 (24 bytes)") != NULL);

	b.n = 64;
	raw_record(&b, "TENS", hdr6, six, 24, 7);
	CHECK_EQ_INT(read_all(b.p, b.n, 0, &count), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "out-of-order") != NULL);

	b.n = 64;
	raw_record(&b, "xtra", "whatever\n", "abc", 3, 0);
	raw_record(&b, "TENS", hdr6, six, 24, 1);
	raw_end(&b, 2, 2);
	CHECK_EQ_INT(read_all(b.p, b.n, 0, &count), DC_EEOF);
	CHECK_EQ_INT(count, 1);

	static const char *bad_headers[] = {
		"name x\ndtype F32\nshape 2 3\n",                      /* no ENDHDR */
		"name x\ndtype F32\nshape 2 3\nENDHDR\nxx",            /* junk after */
		"name x\ndtype F33\nshape 2 3\nENDHDR\n",              /* dtype */
		"name x\ndtype F32\nshape 2  3\nENDHDR\n",             /* shape */
		"name x\ndtype F32\nshape 2 03\nENDHDR\n",
		"name x\ndtype F32\nshape 1 1 1 1 1 1 1 1 6\nENDHDR\n", /* rank 9 */
		"name x\ndtype F32\nshape 281474976710657 0\nENDHDR\n", /* > 2^48 */
		"name x\nname y\ndtype F32\nshape 2 3\nENDHDR\n",      /* duplicate */
		"name x\ndtype F32\nshape 2 3\nmeta.a 1\nmeta.a 2\nENDHDR\n",
		"name x\ndtype F32\nshape 2 3\nmeta.a\tb 1\nENDHDR\n",
		"dtype F32\nshape 2 3\nENDHDR\n",                      /* no name */
		"name x\ndtype F32\nshape 2 3\nfoo bar\nENDHDR\n",     /* unknown key */
	};
	for (size_t i = 0; i < sizeof bad_headers / sizeof *bad_headers; i++) {
		b.n = 64;
		raw_record(&b, "TENS", bad_headers[i], six, 24, 0);
		raw_end(&b, 1, 1);
		enum dc_status st = read_all(b.p, b.n, 0, &count);
		if (st == DC_EEOF || st == DC_OK)
			T_FAILED("bad header %zu accepted", i);
	}
	/* a lying huge payload length: truncated, not out of memory */
	b.n = 64;
	raw_record_n(&b, "TENS", "name x\ndtype U8\nshape 1099511627776\nENDHDR\n", six, (uint64_t)1 << 40,
	             sizeof six, 0);
	CHECK_EQ_INT(read_all(b.p, b.n, 0, &count), DC_ETRUNC);
	/* oversized header length */
	b.n = 64;
	raw_record(&b, "TENS", hdr6, six, 24, 0);
	memcpy(b.p + 64 + 4, "\x20\x00\x10\x00", 4);
	CHECK_EQ_INT(read_all(b.p, b.n, 0, &count), DC_ELIMIT);
	CHECK(strstr(dc_errmsg(), "oversized header") != NULL);
	/* END with a wrong count */
	b.n = 64;
	raw_record(&b, "TENS", hdr6, six, 24, 0);
	raw_end(&b, 3, 1);
	CHECK_EQ_INT(read_all(b.p, b.n, 0, &count), DC_EFORMAT);
	free(b.p);
}

/* ---- npy tests ---------------------------------------------------------------------------- */

TEST(npy_matches_numpy_bytes)
{
	/* np.save of np.zeros((2,3), '<f4'), numpy 1.24 */
	static const char expect[] =
		"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
		"                                                          \n";
	float z[6] = { 0 };
	struct dc_tensor t = { DC_F32, 2, { 2, 3 }, z, sizeof z, 0 };
	char *p = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&p, &n);
	CHECK_EQ_INT(dc_npy_write(fp, &t), DC_OK);
	fclose(fp);
	CHECK_EQ_INT(n, 128 + 24);
	CHECK(memcmp(p, expect, 128) == 0);
	free(p);
}

TEST(npy_roundtrip_all_dtypes)
{
	for (int d = 0; d < DC_DTYPE_COUNT; d++) {
		unsigned char src[4 * 8];
		for (size_t i = 0; i < sizeof src; i++)
			src[i] = (unsigned char)(i * 13 + (size_t)d);
		int rank = d % 3; /* scalar, 1-D, 2-D */
		struct dc_tensor t = { (enum dc_dtype)d, rank, { 2, 2 }, src, 0, 0 };
		t.nbytes = dc_dtype_size(t.dtype) * (rank == 0 ? 1 : rank == 1 ? 2 : 4);
		char *p = NULL;
		size_t n = 0;
		FILE *fp = open_memstream(&p, &n);
		CHECK_EQ_INT(dc_npy_write(fp, &t), DC_OK);
		CHECK_EQ_INT(dc_npy_write(fp, &t), DC_OK); /* concatenated */
		fclose(fp);
		fp = fmemopen(p, n, "rb");
		for (int k = 0; k < 2; k++) {
			struct dc_tensor u;
			CHECK_EQ_INT(dc_npy_read(fp, &u), DC_OK);
			CHECK_EQ_INT(u.dtype, d);
			CHECK_EQ_INT(u.rank, rank);
			CHECK(u.nbytes == t.nbytes && memcmp(u.data, src, t.nbytes) == 0);
			dc_tensor_release(&u);
		}
		struct dc_tensor u;
		CHECK_EQ_INT(dc_npy_read(fp, &u), DC_EEOF);
		fclose(fp);
		free(p);
	}
}

static enum dc_status npy_from_header(const char *h, size_t datalen)
{
	char buf[512];
	size_t hl = strlen(h);
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (char)hl;
	buf[9] = 0;
	memcpy(buf + 10, h, hl);
	memset(buf + 10 + hl, 0, datalen);
	FILE *fp = fmemopen(buf, 10 + hl + datalen, "rb");
	struct dc_tensor t;
	enum dc_status st = dc_npy_read(fp, &t);
	if (st == DC_OK)
		dc_tensor_release(&t);
	fclose(fp);
	return st;
}

TEST(npy_rejects)
{
	CHECK_EQ_INT(npy_from_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8), DC_OK);
	CHECK_EQ_INT(npy_from_header("{\"shape\": (2L,), \"descr\": \"<i2\", \"fortran_order\": False}", 4), DC_OK);
	CHECK_EQ_INT(npy_from_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }\n", 8),
	             DC_EUNSUPPORTED);
	CHECK(strstr(dc_errmsg(), "Fortran") != NULL);
	CHECK_EQ_INT(npy_from_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8),
	             DC_EUNSUPPORTED);
	CHECK_EQ_INT(npy_from_header("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n", 16),
	             DC_EUNSUPPORTED);
	CHECK_EQ_INT(npy_from_header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", 8),
	             DC_EUNSUPPORTED);
	CHECK_EQ_INT(npy_from_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n", 8),
	             DC_EFORMAT);
	CHECK_EQ_INT(npy_from_header("{'descr': '<f4', 'fortran_order': False}\n", 8), DC_EFORMAT);
	CHECK_EQ_INT(npy_from_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 7), DC_ETRUNC);
	CHECK_EQ_INT(npy_from_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4),
	             DC_ELIMIT);
	CHECK_EQ_INT(npy_from_header("{'descr': '<u1', 'fortran_order': False, 'shape': (281474976710656, 281474976710656), }", 4),
	             DC_EOVERFLOW);
	/* a lying shape costs nothing: truncated */
	CHECK_EQ_INT(npy_from_header("{'descr': '<u1', 'fortran_order': False, 'shape': (281474976710656,), }", 4),
	             DC_ETRUNC);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--gen") == 0)
		return gen(argv[2]);
	RUN(roundtrip_all_dtypes);
	RUN(scalar_empty_and_meta_order);
	RUN(bit_flips_are_caught);
	RUN(truncation_anywhere_is_an_error);
	RUN(trailing_garbage_magic_version);
	RUN(crafted_records);
	RUN(npy_matches_numpy_bytes);
	RUN(npy_roundtrip_all_dtypes);
	RUN(npy_rejects);
	return test_summary();
}
