/*
 * core.h - status codes, error messages, dtypes, tensors, checked sizes,
 * half-precision conversion, thread counts and a bump arena.
 *
 * Everything else in libdiffcore stands on this header.  Library functions
 * return an enum dc_status and never print, exit or abort on bad input; the
 * human-readable detail of the last failure is kept per thread and read with
 * dc_errmsg().  Tools turn (status, message) into "tool: what: why" and an
 * exit code in one place (lib/cli).
 */
#ifndef DC_CORE_H
#define DC_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DC_VERSION_MAJOR 0
#define DC_VERSION_MINOR 1
#define DC_VERSION_PATCH 0
#define DC_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define DC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define DC_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define DC_PRINTF(f, a)
#define DC_WARN_UNUSED
#endif

/* ---- status ----------------------------------------------------------- */

enum dc_status {
	DC_OK = 0,
	DC_ENOMEM,       /* allocation failed */
	DC_EIO,          /* read/write/open failed (errno-level) */
	DC_EFORMAT,      /* malformed input: bad magic, bad header, bad value */
	DC_ETRUNC,       /* input ended early */
	DC_ECRC,         /* checksum mismatch */
	DC_ELIMIT,       /* input exceeds a documented hard limit */
	DC_EINVAL,       /* caller passed invalid arguments (shape mismatch...) */
	DC_EUNSUPPORTED, /* valid but not supported by this build */
	DC_ENOTFOUND,    /* named tensor / key / file not present */
	DC_EOVERFLOW,    /* size arithmetic would overflow */
	DC_EEOF,         /* clean end of data (not an error for iterators) */
	DC_STATUS_COUNT
};

/* Short fixed description of a status ("corrupt data", ...). Never NULL. */
const char *dc_strstatus(enum dc_status s);

/*
 * Per-thread message describing the most recent failure, e.g.
 * "record 3 ('latents'): payload CRC mismatch".  Set by the function that
 * returned the error.  dc_fail() formats the message and returns `s`, so
 * error paths read:  return dc_fail(DC_EFORMAT, "bad magic");
 * The returned pointer is valid until the next dc_fail on this thread.
 */
enum dc_status dc_fail(enum dc_status s, const char *fmt, ...) DC_PRINTF(2, 3);
const char *dc_errmsg(void);
void dc_clear_error(void);

/* ---- checked size arithmetic -------------------------------------------- */

/* Return 0 and store a*b (a+b) in *out, or return -1 on overflow. */
static inline int dc_mul_size(size_t a, size_t b, size_t *out)
{
	return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}
static inline int dc_add_size(size_t a, size_t b, size_t *out)
{
	return __builtin_add_overflow(a, b, out) ? -1 : 0;
}

/* ---- dtypes --------------------------------------------------------------- */

/* Names follow safetensors: "F32", "F16", "BF16", ... */
enum dc_dtype {
	DC_F32 = 0, DC_F16, DC_BF16, DC_F64,
	DC_I8, DC_U8, DC_I16, DC_U16, DC_I32, DC_U32, DC_I64, DC_U64,
	DC_BOOL,
	DC_DTYPE_COUNT
};

size_t dc_dtype_size(enum dc_dtype t);          /* bytes per element */
const char *dc_dtype_name(enum dc_dtype t);     /* "F32"; "?" if invalid */
/* Parse a safetensors dtype name (case-sensitive); -1 if unknown. */
int dc_dtype_parse(const char *name, enum dc_dtype *out);

/* ---- half precision ------------------------------------------------------- */

float dc_f16_to_f32(uint16_t h);
uint16_t dc_f32_to_f16(float f);               /* round to nearest even */
static inline float dc_bf16_to_f32(uint16_t h)
{
	union { uint32_t u; float f; } v = { (uint32_t)h << 16 };
	return v.f;
}
uint16_t dc_f32_to_bf16(float f);              /* round to nearest even, NaN kept */

/*
 * Convert n elements of any numeric dtype to float (or back).  Integer
 * sources convert by value; float destinations round to nearest even.
 * Conversions to integers saturate and round half away from zero.
 */
void dc_convert_to_f32(float *dst, const void *src, enum dc_dtype t, size_t n);
void dc_convert_from_f32(void *dst, enum dc_dtype t, const float *src, size_t n);

/* ---- tensors -------------------------------------------------------------- */

#define DC_MAX_RANK 8

/*
 * A dense C-order tensor.  `data` is owned by the tensor when `owned` is
 * set (freed by dc_tensor_release), otherwise it is a view into memory
 * owned elsewhere (an mmapped file, an arena).
 */
struct dc_tensor {
	enum dc_dtype dtype;
	int rank;
	int64_t shape[DC_MAX_RANK];
	void *data;
	size_t nbytes;
	int owned;
};

/* Element count; -1 (as size_t max) on overflow or negative dims. */
int dc_shape_numel(int rank, const int64_t *shape, size_t *numel);
/* Allocate a zeroed, 64-byte aligned owned tensor. */
enum dc_status dc_tensor_alloc(struct dc_tensor *t, enum dc_dtype dt,
                               int rank, const int64_t *shape);
void dc_tensor_release(struct dc_tensor *t);
static inline size_t dc_tensor_numel(const struct dc_tensor *t)
{
	return t->nbytes / dc_dtype_size(t->dtype);
}

/* ---- memory ----------------------------------------------------------------- */

/* 64-byte aligned allocation; size 0 returns a valid unique pointer. */
void *dc_alloc(size_t size);
void *dc_calloc(size_t n, size_t size);        /* overflow-checked, zeroed */
void dc_free(void *p);

/*
 * A bump arena: one block, allocations 64-byte aligned, freed all at once.
 * It owns the activations of one forward pass.  Not thread-safe.
 */
struct dc_arena {
	unsigned char *base;
	size_t cap, used, peak;
};
enum dc_status dc_arena_init(struct dc_arena *a, size_t cap);
void *dc_arena_alloc(struct dc_arena *a, size_t size);   /* NULL if full */
static inline void dc_arena_reset(struct dc_arena *a) { a->used = 0; }
void dc_arena_release(struct dc_arena *a);

/* ---- threads -------------------------------------------------------------- */

/*
 * The thread count used by every parallel kernel.  Default precedence:
 * dc_set_threads() (the tools' -t) > DIFFCORE_NUM_THREADS > OMP_NUM_THREADS
 * > CPUs in the affinity mask.  Thread-safe to read.
 */
int dc_threads(void);
void dc_set_threads(int n);                    /* n <= 0 restores the default */
/* The environment/affinity default alone (ignores dc_set_threads). */
int dc_threads_default(void);

/* ---- seeded counter-based RNG (Philox4x32-10) ------------------------------ */

/*
 * Random numbers depend only on (seed, stream, index): element i of a fill
 * is the same whatever the thread count or the chunking.  `stream` lets one
 * seed drive independent sequences (noise per image, dropout per layer).
 */
void dc_philox(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4]);
/* Uniform in [0,1) with 24-bit resolution, element i from counter offset+i. */
void dc_rng_uniform(uint64_t seed, uint64_t stream, uint64_t offset, float *out, size_t n);
/* Standard normal (Box-Muller on Philox pairs), element i from offset+i. */
void dc_rng_normal(uint64_t seed, uint64_t stream, uint64_t offset, float *out, size_t n);

/* ---- misc ----------------------------------------------------------------- */

/* Monotonic wall clock in seconds. */
double dc_time(void);

/* A whole file of at most cap bytes into a NUL-terminated buffer from
 * malloc (the caller frees it); *len gets its length.  DC_ENOTFOUND,
 * DC_EIO, DC_ELIMIT (larger than cap) or DC_ENOMEM, with the path in the
 * message. */
enum dc_status dc_read_file(const char *path, size_t cap, char **out, size_t *len);
/* 1 if the n bytes are valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int dc_utf8_valid(const unsigned char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* DC_CORE_H */
