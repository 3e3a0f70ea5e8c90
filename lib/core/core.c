/*
 * core.c - status strings, per-thread error messages, dtypes, half
 * conversions, tensors, aligned allocation, arenas, thread counts and time.
 */
#define _GNU_SOURCE
#include "core.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- status and errors ---------------------------------------------------- */

static const char *const status_text[DC_STATUS_COUNT] = {
	[DC_OK] = "success",
	[DC_ENOMEM] = "out of memory",
	[DC_EIO] = "input/output error",
	[DC_EFORMAT] = "invalid format",
	[DC_ETRUNC] = "truncated input",
	[DC_ECRC] = "checksum mismatch",
	[DC_ELIMIT] = "size limit exceeded",
	[DC_EINVAL] = "invalid argument",
	[DC_EUNSUPPORTED] = "not supported",
	[DC_ENOTFOUND] = "not found",
	[DC_EOVERFLOW] = "size overflow",
	[DC_EEOF] = "end of data",
};

const char *dc_strstatus(enum dc_status s)
{
	if ((unsigned)s >= DC_STATUS_COUNT)
		return "unknown error";
	return status_text[s];
}

static _Thread_local char errbuf[512];

enum dc_status dc_fail(enum dc_status s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	return s;
}

const char *dc_errmsg(void) { return errbuf; }
void dc_clear_error(void) { errbuf[0] = 0; }

/* ---- dtypes ----------------------------------------------------------------- */

static const struct { const char *name; size_t size; } dtypes[DC_DTYPE_COUNT] = {
	[DC_F32] = { "F32", 4 }, [DC_F16] = { "F16", 2 }, [DC_BF16] = { "BF16", 2 },
	[DC_F64] = { "F64", 8 }, [DC_I8] = { "I8", 1 }, [DC_U8] = { "U8", 1 },
	[DC_I16] = { "I16", 2 }, [DC_U16] = { "U16", 2 }, [DC_I32] = { "I32", 4 },
	[DC_U32] = { "U32", 4 }, [DC_I64] = { "I64", 8 }, [DC_U64] = { "U64", 8 },
	[DC_BOOL] = { "BOOL", 1 },
};

size_t dc_dtype_size(enum dc_dtype t)
{
	return (unsigned)t < DC_DTYPE_COUNT ? dtypes[t].size : 0;
}

const char *dc_dtype_name(enum dc_dtype t)
{
	return (unsigned)t < DC_DTYPE_COUNT ? dtypes[t].name : "?";
}

int dc_dtype_parse(const char *name, enum dc_dtype *out)
{
	for (int i = 0; i < DC_DTYPE_COUNT; i++)
		if (strcmp(name, dtypes[i].name) == 0) {
			*out = (enum dc_dtype)i;
			return 0;
		}
	return -1;
}

/* ---- half precision --------------------------------------------------------- */

float dc_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
	if (exp == 0) {
		if (man == 0) {
			u = sign;
		} else { /* subnormal: renormalise */
			int e = -1;
			do { e++; man <<= 1; } while (!(man & 0x400));
			u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
		}
	} else if (exp == 31) {
		u = sign | 0x7f800000u | (man << 13);
	} else {
		u = sign | ((exp + 112) << 23) | (man << 13);
	}
	union { uint32_t u; float f; } v = { u };
	return v.f;
}

uint16_t dc_f32_to_f16(float f)
{
	union { float f; uint32_t u; } v = { f };
	uint32_t u = v.u, sign = (u >> 16) & 0x8000;
	uint32_t absu = u & 0x7fffffffu;
	if (absu >= 0x7f800000u) /* inf or nan */
		return (uint16_t)(sign | 0x7c00 | (absu > 0x7f800000u ? 0x200 | ((absu >> 13) & 0x3ff) : 0));
	if (absu >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
		return (uint16_t)(sign | 0x7c00);
	if (absu < 0x38800000u) { /* subnormal or zero in f16 */
		if (absu < 0x33000000u) /* < 2^-25: rounds to zero */
			return (uint16_t)sign;
		uint32_t e = absu >> 23, m = (absu & 0x7fffff) | 0x800000;
		int shift = 126 - (int)e; /* 14 + (113 - e) ... shift of mantissa */
		/* value = m * 2^(e-150); f16 subnormal unit 2^-24 -> q = m >> (126 - e) */
		uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
		if (rem > half || (rem == half && (q & 1)))
			q++;
		return (uint16_t)(sign | q);
	}
	uint32_t r = absu + 0xfff + ((absu >> 13) & 1); /* round to nearest even */
	r -= 0x38000000u;                                  /* rebias 127 -> 15 */
	return (uint16_t)(sign | (r >> 13));
}

uint16_t dc_f32_to_bf16(float f)
{
	union { float f; uint32_t u; } v = { f };
	if ((v.u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((v.u >> 16) | 0x40); /* quiet NaN */
	uint32_t r = v.u + 0x7fff + ((v.u >> 16) & 1);
	return (uint16_t)(r >> 16);
}

void dc_convert_to_f32(float *dst, const void *src, enum dc_dtype t, size_t n)
{
	switch (t) {
	case DC_F32: memmove(dst, src, n * 4); break;
	case DC_F16: for (size_t i = 0; i < n; i++) dst[i] = dc_f16_to_f32(((const uint16_t *)src)[i]); break;
	case DC_BF16: for (size_t i = 0; i < n; i++) dst[i] = dc_bf16_to_f32(((const uint16_t *)src)[i]); break;
	case DC_F64: for (size_t i = 0; i < n; i++) dst[i] = (float)((const double *)src)[i]; break;
	case DC_I8: for (size_t i = 0; i < n; i++) dst[i] = ((const int8_t *)src)[i]; break;
	case DC_U8: case DC_BOOL: for (size_t i = 0; i < n; i++) dst[i] = ((const uint8_t *)src)[i]; break;
	case DC_I16: for (size_t i = 0; i < n; i++) dst[i] = ((const int16_t *)src)[i]; break;
	case DC_U16: for (size_t i = 0; i < n; i++) dst[i] = ((const uint16_t *)src)[i]; break;
	case DC_I32: for (size_t i = 0; i < n; i++) dst[i] = (float)((const int32_t *)src)[i]; break;
	case DC_U32: for (size_t i = 0; i < n; i++) dst[i] = (float)((const uint32_t *)src)[i]; break;
	case DC_I64: for (size_t i = 0; i < n; i++) dst[i] = (float)((const int64_t *)src)[i]; break;
	case DC_U64: for (size_t i = 0; i < n; i++) dst[i] = (float)((const uint64_t *)src)[i]; break;
	default: break;
	}
}

static double sat_round(float x, double lo, double hi)
{
	if (x != x) return 0;
	double r = round((double)x);
	return r < lo ? lo : r > hi ? hi : r;
}

void dc_convert_from_f32(void *dst, enum dc_dtype t, const float *src, size_t n)
{
	switch (t) {
	case DC_F32: memmove(dst, src, n * 4); break;
	case DC_F16: for (size_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = dc_f32_to_f16(src[i]); break;
	case DC_BF16: for (size_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = dc_f32_to_bf16(src[i]); break;
	case DC_F64: for (size_t i = 0; i < n; i++) ((double *)dst)[i] = src[i]; break;
	case DC_I8: for (size_t i = 0; i < n; i++) ((int8_t *)dst)[i] = (int8_t)sat_round(src[i], INT8_MIN, INT8_MAX); break;
	case DC_U8: for (size_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)sat_round(src[i], 0, UINT8_MAX); break;
	case DC_BOOL: for (size_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = src[i] != 0; break;
	case DC_I16: for (size_t i = 0; i < n; i++) ((int16_t *)dst)[i] = (int16_t)sat_round(src[i], INT16_MIN, INT16_MAX); break;
	case DC_U16: for (size_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = (uint16_t)sat_round(src[i], 0, UINT16_MAX); break;
	case DC_I32: for (size_t i = 0; i < n; i++) ((int32_t *)dst)[i] = (int32_t)sat_round(src[i], INT32_MIN, INT32_MAX); break;
	case DC_U32: for (size_t i = 0; i < n; i++) ((uint32_t *)dst)[i] = (uint32_t)sat_round(src[i], 0, UINT32_MAX); break;
	case DC_I64: for (size_t i = 0; i < n; i++) ((int64_t *)dst)[i] = (int64_t)sat_round(src[i], -9.2233720368547748e18, 9.2233720368547748e18 - 1024); break;
	case DC_U64: for (size_t i = 0; i < n; i++) ((uint64_t *)dst)[i] = (uint64_t)sat_round(src[i], 0, 1.8446744073709552e19 - 2048); break;
	default: break;
	}
}

/* ---- memory ------------------------------------------------------------------ */

void *dc_alloc(size_t size)
{
	size_t rounded;
	if (dc_add_size(size, 63, &rounded))
		return NULL;
	rounded &= ~(size_t)63;
	if (rounded == 0)
		rounded = 64;
	return aligned_alloc(64, rounded);
}

void *dc_calloc(size_t n, size_t size)
{
	size_t total;
	if (dc_mul_size(n, size, &total))
		return NULL;
	void *p = dc_alloc(total);
	if (p)
		memset(p, 0, total);
	return p;
}

void dc_free(void *p) { free(p); }

/* ---- tensors ------------------------------------------------------------------- */

int dc_shape_numel(int rank, const int64_t *shape, size_t *numel)
{
	size_t n = 1;
	if (rank < 0 || rank > DC_MAX_RANK)
		return -1;
	for (int i = 0; i < rank; i++) {
		if (shape[i] < 0 || dc_mul_size(n, (size_t)shape[i], &n))
			return -1;
	}
	*numel = n;
	return 0;
}

enum dc_status dc_tensor_alloc(struct dc_tensor *t, enum dc_dtype dt, int rank, const int64_t *shape)
{
	size_t n, bytes;
	memset(t, 0, sizeof *t);
	if ((unsigned)dt >= DC_DTYPE_COUNT)
		return dc_fail(DC_EINVAL, "invalid dtype %d", (int)dt);
	if (dc_shape_numel(rank, shape, &n) || dc_mul_size(n, dc_dtype_size(dt), &bytes))
		return dc_fail(DC_EOVERFLOW, "tensor shape too large");
	t->data = dc_calloc(bytes, 1);
	if (!t->data)
		return dc_fail(DC_ENOMEM, "cannot allocate %zu bytes", bytes);
	t->dtype = dt;
	t->rank = rank;
	memcpy(t->shape, shape, (size_t)rank * sizeof *shape);
	t->nbytes = bytes;
	t->owned = 1;
	return DC_OK;
}

void dc_tensor_release(struct dc_tensor *t)
{
	if (t->owned)
		dc_free(t->data);
	memset(t, 0, sizeof *t);
}

/* ---- arena -------------------------------------------------------------------- */

enum dc_status dc_arena_init(struct dc_arena *a, size_t cap)
{
	memset(a, 0, sizeof *a);
	a->base = dc_alloc(cap);
	if (!a->base)
		return dc_fail(DC_ENOMEM, "cannot allocate arena of %zu bytes", cap);
	a->cap = cap;
	return DC_OK;
}

void *dc_arena_alloc(struct dc_arena *a, size_t size)
{
	size_t start = (a->used + 63) & ~(size_t)63, end;
	if (start < a->used || dc_add_size(start, size, &end) || end > a->cap)
		return NULL;
	a->used = end;
	if (end > a->peak)
		a->peak = end;
	return a->base + start;
}

void dc_arena_release(struct dc_arena *a)
{
	dc_free(a->base);
	memset(a, 0, sizeof *a);
}

/* ---- threads ------------------------------------------------------------------- */

static int threads_override; /* set by dc_set_threads; 0 = default */

static int env_threads(const char *name)
{
	const char *s = getenv(name);
	char *end;
	long v;
	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || (*end && *end != ',') || v <= 0 || v > 4096)
		return 0;
	return (int)v;
}

int dc_threads_default(void)
{
	int n = env_threads("DIFFCORE_NUM_THREADS");
	if (!n)
		n = env_threads("OMP_NUM_THREADS");
	if (!n) {
		cpu_set_t set;
		if (sched_getaffinity(0, sizeof set, &set) == 0)
			n = CPU_COUNT(&set);
	}
	return n > 0 ? n : 1;
}

int dc_threads(void)
{
	int n = __atomic_load_n(&threads_override, __ATOMIC_RELAXED);
	return n > 0 ? n : dc_threads_default();
}

void dc_set_threads(int n)
{
	__atomic_store_n(&threads_override, n > 0 ? n : 0, __ATOMIC_RELAXED);
}

/* ---- files and text ------------------------------------------------------------- */

enum dc_status dc_read_file(const char *path, size_t cap, char **out, size_t *len)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return dc_fail(errno == ENOENT ? DC_ENOTFOUND : DC_EIO, "cannot open '%s': %s",
		               path, strerror(errno));
	size_t n = 0, sz = 4096;
	char *buf = malloc(sz + 1);
	enum dc_status s = DC_OK;
	while (buf) {
		size_t got = fread(buf + n, 1, sz - n, f);
		n += got;
		if (n < sz) {
			if (ferror(f))
				s = dc_fail(DC_EIO, "cannot read '%s': %s", path, strerror(errno));
			break;
		}
		if (sz >= cap + 1) {
			s = dc_fail(DC_ELIMIT, "'%s' is larger than %zu bytes", path, cap);
			break;
		}
		sz = sz * 2 > cap + 1 ? cap + 1 : sz * 2;
		char *p = realloc(buf, sz + 1);
		if (!p) {
			free(buf);
			buf = NULL;
		} else
			buf = p;
	}
	fclose(f);
	if (!buf)
		return dc_fail(DC_ENOMEM, "cannot read '%s': out of memory", path);
	if (s) {
		free(buf);
		return s;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return DC_OK;
}

int dc_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		uint32_t cp, min;
		if (c < 0x80) { i++; continue; }
		else if ((c & 0xe0) == 0xc0) { k = 1; cp = c & 0x1f; min = 0x80; }
		else if ((c & 0xf0) == 0xe0) { k = 2; cp = c & 0x0f; min = 0x800; }
		else if ((c & 0xf8) == 0xf0) { k = 3; cp = c & 0x07; min = 0x10000; }
		else return 0;
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* ---- time ---------------------------------------------------------------------- */

double dc_time(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
