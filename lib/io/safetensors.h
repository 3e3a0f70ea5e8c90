/*
 * safetensors.h - safetensors files (read by mmap, zero copy; written to a
 * FILE*), JSON configuration objects, sharded-checkpoint indexes and model
 * folders as diffusers/transformers publish them.
 *
 * A .safetensors file is, byte for byte:
 *
 *   u64 LE   N                      header length, N <= 100 000 000
 *   N bytes  JSON object (UTF-8)    { "__metadata__": {"k": "v", ...},   (optional)
 *                                     "name": { "dtype": "F32",
 *                                               "shape": [2, 3],
 *                                               "data_offsets": [b, e] }, ... }
 *                                   padded with spaces so 8+N is a multiple of 8
 *   rest     data buffer            tensor bytes, little-endian, C order;
 *                                   [b, e) is relative to the start of the buffer
 *
 * Rules enforced on reading (the file is untrusted input): the header is a
 * JSON object and nothing but whitespace follows it; __metadata__, when
 * present, maps strings to strings; each tensor has a known dtype, a shape
 * of at most DC_MAX_RANK non-negative integers, and e - b equal to
 * numel * itemsize exactly (overflow-checked); sorted by offset, tensors
 * tile the data buffer exactly: no overlap, no hole, no trailing byte; a
 * name occurs once; at most 4096 __metadata__ pairs.  Statuses: header
 * length over the cap or rank > DC_MAX_RANK DC_ELIMIT; file shorter than
 * its header or a tensor ending past the end of the file DC_ETRUNC;
 * numel * itemsize overflowing DC_EOVERFLOW; a valid dtype this build
 * lacks (F8_E4M3, F8_E5M2, ...) DC_EUNSUPPORTED -- the whole file is then
 * refused; everything else (not JSON, not an object, bad UTF-8, unknown
 * dtype, size mismatch, overlap, hole, trailing bytes, duplicate name)
 * DC_EFORMAT.  Messages name the tensor and, for files, the path.
 *
 * THREAD SAFETY, for everything below: each object belongs to the thread
 * that creates or frees it while it does so; different objects may be
 * opened, written and freed from different threads at once (JSON parsing
 * is serialised internally around cJSON's global error state).  Every
 * function taking a `const` object pointer only reads it and may be called
 * from any number of threads at once.  Errors are reported through
 * dc_fail(), whose message is per thread.  A mapped file truncated by
 * another process while open makes later reads fault (SIGBUS): do not
 * rewrite model files in place (write a new file and rename it).
 *
 * OWNERSHIP: an open object owns its mapping and every string and view it
 * hands out; those stay valid until the object is closed/freed and must not
 * be freed or written by the caller (the mapping is read-only: a write
 * through a view faults).  Output buffers (dst arrays, struct dc_tensor
 * passed to *_load) belong to the caller.
 */
#ifndef DC_SAFETENSORS_H
#define DC_SAFETENSORS_H

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_ST_MAX_HEADER 100000000u  /* bytes, as the reference implementation */

/* ---- reading ------------------------------------------------------------- */

struct dc_safetensors;   /* opaque: one open file (or memory buffer) */

/* One tensor of an open file; owned by the file, valid until it closes. */
struct dc_st_tensor {
	const char *name;           /* NUL-terminated */
	enum dc_dtype dtype;
	int rank;                   /* 0..DC_MAX_RANK; 0 is a scalar */
	int64_t shape[DC_MAX_RANK];
	size_t numel;
	const void *data;           /* into the mapping (read-only); for nbytes == 0 it may
	                               point just past the data */
	size_t nbytes;
	size_t offset;              /* byte offset of data from the start of the file */
};

/*
 * Open and validate `path`, mapping it read-only (PROT_READ, MAP_PRIVATE).
 * On success *out is a new object the caller frees with
 * dc_safetensors_close(); on failure *out is NULL.  Errors: DC_EIO (open,
 * stat, mmap), DC_ETRUNC (shorter than its header says), and the format
 * errors listed above.  The header is copied once for parsing; tensor data
 * is never copied.
 */
enum dc_status dc_safetensors_open(struct dc_safetensors **out, const char *path);

/*
 * The same over a caller's buffer, which is borrowed, not copied: it must
 * stay valid and unchanged until dc_safetensors_close().  Views point into
 * it.  Used by the fuzzer and for embedded models.
 */
enum dc_status dc_safetensors_open_memory(struct dc_safetensors **out,
                                          const void *buf, size_t len);

/* Unmap and free everything; NULL is a no-op.  Views die with it. */
void dc_safetensors_close(struct dc_safetensors *st);

/* Number of tensors. */
size_t dc_safetensors_count(const struct dc_safetensors *st);

/* Tensor i in file order (ascending data offset), i < count; NULL past the end. */
const struct dc_st_tensor *dc_safetensors_at(const struct dc_safetensors *st, size_t i);

/* Tensor by name (hash lookup, O(1)); NULL if absent (no error recorded). */
const struct dc_st_tensor *dc_safetensors_find(const struct dc_safetensors *st,
                                               const char *name);

/*
 * A zero-copy view: fills *view with owned = 0 and data pointing into the
 * mapping.  The data is read-only (writing through it faults) and lives
 * until dc_safetensors_close(); dc_tensor_release() on a view only clears
 * it.  DC_ENOTFOUND if absent; DC_EUNSUPPORTED if the data is not aligned
 * to the element size (a file whose header was not padded to 8 bytes, as
 * writers before safetensors 0.3 did): use dc_safetensors_load or
 * dc_safetensors_read_f32 for such files.
 */
enum dc_status dc_safetensors_get(const struct dc_safetensors *st, const char *name,
                                  struct dc_tensor *view);

/*
 * An owned, 64-byte aligned copy of the tensor in its own dtype
 * (works whatever the alignment in the file).  The caller releases *out
 * with dc_tensor_release().  DC_ENOTFOUND, DC_ENOMEM.
 */
enum dc_status dc_safetensors_load(const struct dc_safetensors *st, const char *name,
                                   struct dc_tensor *out);

/*
 * Convert elements [first, first + n) of a tensor of any numeric dtype to
 * float into the caller's dst (n floats), on demand: a BF16 model is never
 * expanded whole.  Works for unaligned data too.  DC_ENOTFOUND if absent,
 * DC_EINVAL if the range exceeds the tensor.  Thread-safe.
 */
enum dc_status dc_safetensors_read_f32(const struct dc_safetensors *st, const char *name,
                                       size_t first, float *dst, size_t n);

/*
 * The whole tensor as float: `n` must equal its element count exactly
 * (DC_EINVAL otherwise, so a shape mix-up is caught).
 */
enum dc_status dc_safetensors_get_f32(const struct dc_safetensors *st, const char *name,
                                      float *dst, size_t n);

/* __metadata__ value for `key`, or NULL if absent.  Owned by st. */
const char *dc_safetensors_meta(const struct dc_safetensors *st, const char *key);
/* Number of __metadata__ pairs, and pair i (in header order). */
size_t dc_safetensors_meta_count(const struct dc_safetensors *st);
int dc_safetensors_meta_at(const struct dc_safetensors *st, size_t i,
                           const char **key, const char **value);

/* ---- writing ------------------------------------------------------------- */

/* One tensor to write; the caller owns every pointer. */
struct dc_st_write_entry {
	const char *name;           /* non-empty, not "__metadata__", unique */
	enum dc_dtype dtype;
	int rank;
	const int64_t *shape;       /* rank non-negative dims (NULL if rank 0) */
	const void *data;           /* numel * itemsize bytes, little-endian C order */
};

/* A metadata pair (both strings UTF-8, caller-owned). */
struct dc_st_kv {
	const char *key;
	const char *value;
};

/*
 * Write a safetensors file to `f` (caller's stream, left open, not
 * flushed; atomic replacement is the caller's business).  Layout as the
 * reference writer (huggingface/safetensors prepare()): tensors sorted by
 * dtype alignment descending -- the reference's Dtype order U64 I64 F64
 * F32 U32 I32 BF16 F16 U16 I16 I8 U8 BOOL -- then by name (bytewise);
 * header compact JSON, "__metadata__" first (pairs in the given order,
 * omitted when nmeta == 0), tensors in data order, padded with spaces to
 * a multiple of 8 bytes.  Errors: DC_EINVAL (bad entry, duplicate name,
 * duplicate metadata key), DC_EOVERFLOW, DC_ELIMIT (header > 100 MB),
 * DC_ENOMEM, DC_EIO (fwrite failed).  Thread-safe if `f` is not shared.
 */
enum dc_status dc_safetensors_write(FILE *f, const struct dc_st_write_entry *e, size_t n,
                                    const struct dc_st_kv *meta, size_t nmeta);

/* ---- JSON configuration objects ------------------------------------------ */

/*
 * A parsed JSON object such as config.json.  Paths are keys separated by
 * '.', descending into nested objects: "text_config.d_model"; a segment
 * of digits indexes an array: "block_out_channels.0".  Every getter
 * returns DC_ENOTFOUND ("config: no key 'x'") when the path does not
 * exist and DC_EFORMAT ("config: 'x' is a string, not an integer") when
 * it has the wrong type; outputs are untouched on error.  JSON null counts
 * as present but of the wrong type.
 */
struct dc_config;

/*
 * Parse `len` bytes of JSON text (need not be NUL-terminated).  The root
 * must be an object (DC_EFORMAT otherwise); text limit 16 MiB (DC_ELIMIT).
 * The caller frees *out with dc_config_free().
 */
enum dc_status dc_config_parse(struct dc_config **out, const char *text, size_t len);
/* Read and parse a file (DC_EIO if it cannot be read). */
enum dc_status dc_config_load(struct dc_config **out, const char *path);
void dc_config_free(struct dc_config *cfg);

/* 1 if the path exists (any type, null included), else 0.  cfg may be NULL. */
int dc_config_has(const struct dc_config *cfg, const char *path);
/* An integral JSON number within int64_t (3.0 is accepted, 3.5 is not; no bools). */
enum dc_status dc_config_int(const struct dc_config *cfg, const char *path, int64_t *out);
/* Any JSON number. */
enum dc_status dc_config_double(const struct dc_config *cfg, const char *path, double *out);
/* true / false only. */
enum dc_status dc_config_bool(const struct dc_config *cfg, const char *path, int *out);
/* A JSON string; *out is owned by cfg (valid until dc_config_free). */
enum dc_status dc_config_string(const struct dc_config *cfg, const char *path,
                                const char **out);
/*
 * An array of integers (doubles): *n receives its length; at most cap
 * values are stored, and DC_ELIMIT is returned if it has more than cap.
 */
enum dc_status dc_config_int_array(const struct dc_config *cfg, const char *path,
                                   int64_t *out, size_t cap, size_t *n);
enum dc_status dc_config_double_array(const struct dc_config *cfg, const char *path,
                                      double *out, size_t cap, size_t *n);

/* ---- sharded-checkpoint indexes (*.safetensors.index.json) --------------- */

/*
 * {"metadata": {...}, "weight_map": {"tensor name": "shard file", ...}}.
 * Validation: root and weight_map are objects, each value is a string
 * that is a plain file name -- non-empty, no '/', no '\\', not "." or
 * "..", no NUL, at most 255 bytes -- and a tensor is listed once.  At most
 * 65 536 distinct shards.
 */
struct dc_st_index;

/* Parse index JSON text.  The caller frees *out with dc_st_index_free(). */
enum dc_status dc_st_index_parse(struct dc_st_index **out, const char *text, size_t len);
void dc_st_index_free(struct dc_st_index *ix);
/* Distinct shard file names, in order of first appearance. */
size_t dc_st_index_shard_count(const struct dc_st_index *ix);
const char *dc_st_index_shard(const struct dc_st_index *ix, size_t i);  /* NULL past end */
/* Number of weight_map entries. */
size_t dc_st_index_count(const struct dc_st_index *ix);
/* Shard number holding `name` (binary search), or -1 if not listed. */
long dc_st_index_lookup(const struct dc_st_index *ix, const char *name);

/* ---- model folders -------------------------------------------------------- */

/*
 * A model: a configuration plus tensors from one or more safetensors
 * files, looked up by name across all of them.  dc_model_open(path):
 *
 *  - a directory: config.json (optional: absent means an empty config)
 *    plus the weights, found by trying in order
 *      model.safetensors.index.json, diffusion_pytorch_model.safetensors.index.json,
 *      model.safetensors, diffusion_pytorch_model.safetensors,
 *    then the only *.safetensors.index.json, then the only *.safetensors
 *    in the directory (DC_ENOTFOUND if none, DC_EFORMAT if ambiguous);
 *  - a *.json file: taken as a *.safetensors.index.json, config.json beside it;
 *  - a *.safetensors file: that file alone.  Convention for single-file
 *    models: the config is the JSON text of the __metadata__ key "config"
 *    (written e.g. by dc_safetensors_write with {"config", "{...}"});
 *    if that key is absent, config.json in the same directory is used
 *    when present, else the config is empty.
 *
 * Sharded models open each shard named by the index once.  Every tensor
 * the index lists must be in the shard it names; a tensor in two shards
 * is DC_EFORMAT; tensors present in a shard but not in the index are
 * still available (transformers loads whole shards the same way).
 * The caller frees the model with dc_model_free().
 */
struct dc_model;

enum dc_status dc_model_open(struct dc_model **out, const char *path);
void dc_model_free(struct dc_model *m);

/* The configuration (never NULL for an open model); owned by m. */
const struct dc_config *dc_model_config(const struct dc_model *m);
/* Number of shards (1 for a single file) and shard i; owned by m. */
size_t dc_model_shard_count(const struct dc_model *m);
const struct dc_safetensors *dc_model_shard(const struct dc_model *m, size_t i);

/* Total tensors; tensor i in shard order then file order. */
size_t dc_model_count(const struct dc_model *m);
const struct dc_st_tensor *dc_model_at(const struct dc_model *m, size_t i);
/* Lookup across shards (binary search); NULL if absent (no error recorded). */
const struct dc_st_tensor *dc_model_find(const struct dc_model *m, const char *name);
/*
 * A float tensor (F32, F16, BF16 or F64) of exactly `rank` dims `shape`, for
 * model loaders checking a checkpoint against its config: DC_ENOTFOUND
 * "no tensor 'NAME'", DC_EFORMAT "tensor 'NAME' has shape [..], the config
 * needs [..]" or a non-float dtype.  (`shape` holds at most 95 chars' worth
 * of dims in messages.)
 */
enum dc_status dc_model_find_checked(const struct dc_model *m, const char *name, int rank,
                                     const int64_t *shape, const struct dc_st_tensor **out);
/* As the dc_safetensors_ versions, across shards; errors name the tensor. */
enum dc_status dc_model_get(const struct dc_model *m, const char *name, struct dc_tensor *view);
enum dc_status dc_model_load(const struct dc_model *m, const char *name, struct dc_tensor *out);
enum dc_status dc_model_get_f32(const struct dc_model *m, const char *name,
                                float *dst, size_t n);

/*
 * Many f32 weights in one block, in two passes over the same list of
 * dc_f32_block_get calls: pass 0 checks each tensor's shape
 * (dc_model_find_checked) and adds its size to `cap`; the caller then
 * allocates `block` (cap floats) and sets pass = 1, and the same calls copy
 * the tensors in (dc_model_get_f32, any float dtype) one after the other,
 * setting *dst and advancing `used`.  Error messages start "WHO: ".
 */
struct dc_f32_block {
	const struct dc_model *m;
	const char *who;          /* "vocos", "fastspeech2": the message prefix */
	int pass;                 /* 0: check and count, 1: load */
	float *block;             /* cap floats, the caller's */
	size_t cap, used;
};
/* Repeat the current error (dc_errmsg) as "WHO: message" unless it already
 * starts so; returns s. */
enum dc_status dc_fail_prefixed(enum dc_status s, const char *who);
enum dc_status dc_f32_block_get(struct dc_f32_block *b, const float **dst, int rank,
                                const int64_t *shape, const char *fmt, ...) DC_PRINTF(5, 6);
enum dc_status dc_model_read_f32(const struct dc_model *m, const char *name,
                                 size_t first, float *dst, size_t n);

/* Config shortcuts: dc_config_*(dc_model_config(m), ...). */
enum dc_status dc_model_config_int(const struct dc_model *m, const char *path, int64_t *out);
enum dc_status dc_model_config_double(const struct dc_model *m, const char *path, double *out);
enum dc_status dc_model_config_bool(const struct dc_model *m, const char *path, int *out);
enum dc_status dc_model_config_string(const struct dc_model *m, const char *path,
                                      const char **out);
enum dc_status dc_model_config_int_array(const struct dc_model *m, const char *path,
                                         int64_t *out, size_t cap, size_t *n);

#ifdef __cplusplus
}
#endif
#endif /* DC_SAFETENSORS_H */
