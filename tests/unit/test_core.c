/*
 * test_core.c - core: dtypes, half-precision conversion (exhaustive against
 * the compiler's _Float16), bf16 rounding, checked sizes, tensors, arena,
 * thread-count precedence, and the Philox RNG (Random123 known answers,
 * thread-count independence, distribution moments), whole-file reads and
 * UTF-8 validation.
 */
#include "core/core.h"
#include "test.h"

#include <omp.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static float bits_f(uint32_t u) { union { uint32_t u; float f; } v = { u }; return v.f; }
static uint32_t f_bits(float f) { union { float f; uint32_t u; } v = { f }; return v.u; }

TEST(dtype_names)
{
	enum dc_dtype t;
	for (int i = 0; i < DC_DTYPE_COUNT; i++) {
		CHECK(dc_dtype_parse(dc_dtype_name((enum dc_dtype)i), &t) == 0);
		CHECK_EQ_INT(t, i);
	}
	CHECK(dc_dtype_parse("f32", &t) != 0);
	CHECK(dc_dtype_parse("", &t) != 0);
	CHECK_EQ_INT(dc_dtype_size(DC_BF16), 2);
	CHECK_EQ_INT(dc_dtype_size(DC_I64), 8);
	CHECK_EQ_INT(dc_dtype_size((enum dc_dtype)99), 0);
}

TEST(f16_to_f32_exhaustive)
{
	int bad = 0;
	for (uint32_t h = 0; h < 65536; h++) {
		_Float16 r;
		uint16_t hb = (uint16_t)h;
		memcpy(&r, &hb, 2);
		float want = (float)r, got = dc_f16_to_f32(hb);
		if (f_bits(want) != f_bits(got) && !(want != want && got != got))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

TEST(f32_to_f16_rounding)
{
	/* every f16 value, the midpoints between neighbours and nudges either side */
	int bad = 0;
	uint32_t seeds[] = { 0, 1, 0x1234, 0x7fff };
	for (uint32_t h = 0; h < 0x7c00; h++) {
		float a = dc_f16_to_f32((uint16_t)h), b = dc_f16_to_f32((uint16_t)(h + 1));
		float mid = (float)(((double)a + (double)b) / 2);
		float xs[] = { a, mid, nextafterf(mid, 0), nextafterf(mid, INFINITY), -a, -mid };
		for (int k = 0; k < 6; k++) {
			_Float16 r = (_Float16)xs[k];
			uint16_t want;
			memcpy(&want, &r, 2);
			if (dc_f32_to_f16(xs[k]) != want)
				bad++;
		}
	}
	(void)seeds;
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(dc_f32_to_f16(1e6f), 0x7c00);
	CHECK_EQ_INT(dc_f32_to_f16(-INFINITY), 0xfc00);
	CHECK(dc_f16_to_f32(dc_f32_to_f16(NAN)) != dc_f16_to_f32(dc_f32_to_f16(NAN)));
}

TEST(bf16)
{
	/* reference: pick the nearer of the two bf16 neighbours, ties to even */
	int bad = 0;
	uint32_t x = 12345;
	for (int i = 0; i < 200000; i++) {
		x = x * 1664525u + 1013904223u;
		uint32_t u = x & 0xff7fffffu; /* avoid inf/nan exponents mostly */
		float f = bits_f(u);
		if (f != f || isinf(f))
			continue;
		uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
		double vh = dc_bf16_to_f32(hi);
		if (isinf(vh)) /* IEEE: overflow threshold is the midpoint to 2^128 */
			vh = copysign(ldexp(1.0, 128), vh);
		double dl = fabs((double)f - dc_bf16_to_f32(lo)), dh = fabs(vh - f);
		uint16_t want = dl < dh ? lo : dh < dl ? hi : ((lo & 1) ? hi : lo);
		if (dc_f32_to_bf16(f) != want)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(dc_f32_to_bf16(1.0f), 0x3f80);
	CHECK(isnan(dc_bf16_to_f32(dc_f32_to_bf16(NAN))));
}

TEST(convert)
{
	float src[6] = { -1.5f, 0.49f, 2.5f, 300.0f, -300.0f, NAN }, back[6];
	int8_t i8[6];
	uint8_t u8[6];
	dc_convert_from_f32(i8, DC_I8, src, 6);
	dc_convert_from_f32(u8, DC_U8, src, 6);
	CHECK_EQ_INT(i8[0], -2); CHECK_EQ_INT(i8[1], 0); CHECK_EQ_INT(i8[2], 3);
	CHECK_EQ_INT(i8[3], 127); CHECK_EQ_INT(i8[4], -128); CHECK_EQ_INT(i8[5], 0);
	CHECK_EQ_INT(u8[0], 0); CHECK_EQ_INT(u8[3], 255);
	dc_convert_to_f32(back, i8, DC_I8, 6);
	CHECK(back[0] == -2.0f && back[3] == 127.0f);
	double d[2] = { 1e300, -0.25 };
	float fd[2];
	dc_convert_to_f32(fd, d, DC_F64, 2);
	CHECK(isinf(fd[0]) && fd[1] == -0.25f);
}

TEST(sizes_and_tensors)
{
	size_t n;
	CHECK(dc_mul_size(SIZE_MAX / 2, 3, &n) != 0);
	CHECK(dc_add_size(SIZE_MAX, 1, &n) != 0);
	int64_t big[3] = { 1LL << 40, 1LL << 40, 1 << 20 };
	CHECK(dc_shape_numel(3, big, &n) != 0);
	int64_t neg[2] = { 3, -1 };
	CHECK(dc_shape_numel(2, neg, &n) != 0);
	CHECK(dc_shape_numel(DC_MAX_RANK + 1, big, &n) != 0);
	struct dc_tensor t;
	CHECK_EQ_INT(dc_tensor_alloc(&t, DC_F32, 3, big), DC_EOVERFLOW);
	CHECK(strstr(dc_errmsg(), "too large") != NULL);
	int64_t sh[2] = { 3, 5 };
	CHECK_EQ_INT(dc_tensor_alloc(&t, DC_BF16, 2, sh), DC_OK);
	CHECK_EQ_INT(t.nbytes, 30);
	CHECK_EQ_INT(dc_tensor_numel(&t), 15);
	CHECK(((uintptr_t)t.data & 63) == 0);
	dc_tensor_release(&t);
	CHECK(t.data == NULL);
	int64_t scalar[1];
	CHECK_EQ_INT(dc_tensor_alloc(&t, DC_F64, 0, scalar), DC_OK);
	CHECK_EQ_INT(t.nbytes, 8);
	dc_tensor_release(&t);
	CHECK(dc_alloc(SIZE_MAX - 10) == NULL);
	CHECK(dc_calloc(SIZE_MAX / 4, 8) == NULL);
}

TEST(arena)
{
	struct dc_arena a;
	CHECK_EQ_INT(dc_arena_init(&a, 1000), DC_OK);
	char *p = dc_arena_alloc(&a, 10), *q = dc_arena_alloc(&a, 10);
	CHECK(p && q && ((uintptr_t)q & 63) == 0 && q - p == 64);
	CHECK(dc_arena_alloc(&a, 2000) == NULL);
	CHECK(dc_arena_alloc(&a, SIZE_MAX) == NULL);
	dc_arena_reset(&a);
	CHECK(dc_arena_alloc(&a, 900) == p);
	CHECK_EQ_INT(a.peak, 900);
	dc_arena_release(&a);
}

TEST(thread_precedence)
{
	setenv("OMP_NUM_THREADS", "3", 1);
	unsetenv("DIFFCORE_NUM_THREADS");
	dc_set_threads(0);
	CHECK_EQ_INT(dc_threads(), 3);
	setenv("DIFFCORE_NUM_THREADS", "5", 1);
	CHECK_EQ_INT(dc_threads(), 5);
	dc_set_threads(7);
	CHECK_EQ_INT(dc_threads(), 7);
	dc_set_threads(0);
	setenv("DIFFCORE_NUM_THREADS", "junk", 1);
	CHECK_EQ_INT(dc_threads(), 3);
	unsetenv("DIFFCORE_NUM_THREADS");
	unsetenv("OMP_NUM_THREADS");
	CHECK(dc_threads() >= 1);
}

TEST(philox_known_answers)
{
	/* Random123 kat_vectors: philox4x32 10 rounds */
	uint32_t o[4];
	dc_philox(0, 0, 0, o);
	CHECK(o[0] == 0x6627e8d5u && o[1] == 0xe169c58du && o[2] == 0xbc57ac4cu && o[3] == 0x9b00dbd8u);
	dc_philox(~0ull, ~0ull, ~0ull, o);
	CHECK(o[0] == 0x408f276du && o[1] == 0x41c83b0eu && o[2] == 0xa20bc7c6u && o[3] == 0x6d5451fdu);
	dc_philox(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull, o);
	CHECK(o[0] == 0xd16cfe09u && o[1] == 0x94fdccebu && o[2] == 0x5001e420u && o[3] == 0x24126ea1u);
}

TEST(rng_thread_independent)
{
	size_t n = 300001;
	float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4);
	dc_set_threads(1);
	dc_rng_normal(42, 7, 0, a, n);
	dc_set_threads(2);
	dc_rng_normal(42, 7, 0, b, n);
	CHECK(memcmp(a, b, n * 4) == 0);
	/* a fill at an offset continues the same sequence */
	dc_rng_normal(42, 7, 1001, c, n - 1001);
	CHECK(memcmp(a + 1001, c, (n - 1001) * 4) == 0);
	dc_rng_normal(43, 7, 0, c, n);
	CHECK(memcmp(a, c, n * 4) != 0);
	double s = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) { s += a[i]; s2 += (double)a[i] * a[i]; }
	CHECK(fabs(s / n) < 0.01);
	CHECK(fabs(s2 / n - 1) < 0.01);
	dc_rng_uniform(1, 0, 0, a, n);
	dc_set_threads(1);
	dc_rng_uniform(1, 0, 0, b, n);
	CHECK(memcmp(a, b, n * 4) == 0);
	double mn = 1, mx = 0; s = 0;
	for (size_t i = 0; i < n; i++) { s += a[i]; if (a[i] < mn) mn = a[i]; if (a[i] > mx) mx = a[i]; }
	CHECK(mn >= 0 && mx < 1 && fabs(s / n - 0.5) < 0.01);
	dc_set_threads(0);
	free(a); free(b); free(c);
}

TEST(errors)
{
	CHECK_EQ_INT(dc_fail(DC_ECRC, "record %d: bad", 3), DC_ECRC);
	CHECK(strcmp(dc_errmsg(), "record 3: bad") == 0);
	dc_clear_error();
	CHECK(dc_errmsg()[0] == 0);
	CHECK(strcmp(dc_strstatus(DC_ETRUNC), "truncated input") == 0);
	CHECK(strcmp(dc_strstatus((enum dc_status)1000), "unknown error") == 0);
}

TEST(read_file)
{
	char path[] = "/tmp/dc_test_core_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	// 10000 bytes, a NUL among them: the buffer holds them all, NUL-terminated
	static char data[10000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)('a' + i % 26);
	data[4321] = 0;
	CHECK(write(fd, data, sizeof data) == (ssize_t)sizeof data);
	close(fd);
	char *buf;
	size_t len;
	CHECK_EQ_INT(dc_read_file(path, sizeof data, &buf, &len), DC_OK);
	CHECK_EQ_INT(len, sizeof data);
	CHECK(buf && memcmp(buf, data, sizeof data) == 0 && buf[len] == 0);
	free(buf);
	// one byte over the cap, and a cap far below the size
	CHECK_EQ_INT(dc_read_file(path, sizeof data - 1, &buf, &len), DC_ELIMIT);
	CHECK(buf == NULL && strstr(dc_errmsg(), "larger than 9999 bytes"));
	CHECK_EQ_INT(dc_read_file(path, 100, &buf, &len), DC_ELIMIT);
	unlink(path);
	CHECK_EQ_INT(dc_read_file(path, 100, &buf, &len), DC_ENOTFOUND);
	CHECK(strstr(dc_errmsg(), path) != NULL);
	// empty file
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	close(fd);
	CHECK_EQ_INT(dc_read_file(path, 100, &buf, &len), DC_OK);
	CHECK(len == 0 && buf && buf[0] == 0);
	free(buf);
	unlink(path);
	// a directory cannot be read
	CHECK(dc_read_file("/", 100, &buf, &len) != DC_OK);
	dc_clear_error();
}

TEST(utf8_valid)
{
	static const struct { const char *s; int ok; } c[] = {
		{ "", 1 }, { "plain ascii", 1 }, { "caf\xc3\xa9", 1 }, { "\xe2\x82\xac", 1 },
		{ "\xf0\x9f\x98\x80", 1 }, { "\xf4\x8f\xbf\xbf", 1 },         /* U+10FFFF */
		{ "\xed\x9f\xbf", 1 },                                        /* U+D7FF */
		{ "\xc0\xaf", 0 }, { "\xe0\x80\xaf", 0 }, { "\xf0\x80\x80\xaf", 0 }, /* overlong */
		{ "\xed\xa0\x80", 0 }, { "\xed\xbf\xbf", 0 },                   /* surrogates */
		{ "\xf4\x90\x80\x80", 0 }, { "\xf8\x88\x80\x80\x80", 0 },      /* > U+10FFFF */
		{ "\xc3", 0 }, { "ab\xe2\x82", 0 }, { "\x80", 0 }, { "\xc3\x28", 0 }, /* cut, stray */
		{ "\xff", 0 },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
		if (dc_utf8_valid((const unsigned char *)c[i].s, strlen(c[i].s)) != c[i].ok)
			T_FAILED("case %zu: expected %d", i, c[i].ok);
}

int main(void)
{
	RUN(dtype_names);
	RUN(f16_to_f32_exhaustive);
	RUN(f32_to_f16_rounding);
	RUN(bf16);
	RUN(convert);
	RUN(sizes_and_tensors);
	RUN(arena);
	RUN(thread_precedence);
	RUN(philox_known_answers);
	RUN(rng_thread_independent);
	RUN(errors);
	RUN(read_file);
	RUN(utf8_valid);
	return test_summary();
}
