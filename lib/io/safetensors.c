/*
 * safetensors.c - read safetensors files by mmap (zero copy) and write them.
 *
 * Byte layout (see safetensors.h for the full rules):
 *   [u64 LE N][N bytes JSON header, space padded][data buffer]
 * The header is copied once (NUL-terminated) and parsed with cJSON; the
 * tensor table keeps pointers into the mapping.  Lookup by name is an
 * open-addressing hash table (FNV-1a); the table array is in file order
 * (ascending data offset).  The writer follows the reference layout:
 * tensors sorted by dtype alignment descending then name, compact JSON,
 * "__metadata__" first, header padded with spaces to 8 bytes.
 */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

struct dc_safetensors {
	const unsigned char *buf;   /* whole file */
	size_t len;
	void *map;                  /* non-NULL when we own an mmap of len bytes */
	struct dc_st_tensor *t;     /* file order */
	size_t n;
	char *pool;                 /* names, metadata keys and values */
	uint32_t *slot;             /* hash: tensor index + 1, 0 = empty */
	size_t cap;                 /* power of two */
	const char **mkey, **mval;
	size_t nmeta;
};

/* ---- helpers --------------------------------------------------------------- */

/*
 * cJSON's parser writes a process-global error position, so parses are
 * serialised here to keep concurrent opens race-free.  `text` must be
 * NUL-terminated at text[len].  Shared with model.c.
 */
cJSON *dc__json_parse(const char *text, size_t len, const char **end);
cJSON *dc__json_parse(const char *text, size_t len, const char **end)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&lock);
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, end, 0);
	pthread_mutex_unlock(&lock);
	return root;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}


/* A JSON number that is an exact non-negative integer <= 2^53. */
static int json_uint(const cJSON *v, uint64_t *out)
{
	if (!cJSON_IsNumber(v))
		return -1;
	double d = v->valuedouble;
	if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d))
		return -1;
	*out = (uint64_t)d;
	return 0;
}

/* Valid safetensors dtypes this build has no type for. */
static int dtype_known_unsupported(const char *s)
{
	static const char *const names[] = {
		"F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
	};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcmp(s, names[i]) == 0)
			return 1;
	return 0;
}

static const struct dc_st_tensor *lookup(const struct dc_safetensors *st, const char *name)
{
	if (!st || !name || !st->cap)
		return NULL;
	size_t mask = st->cap - 1;
	for (size_t i = (size_t)fnv1a(name) & mask;; i = (i + 1) & mask) {
		uint32_t v = st->slot[i];
		if (!v)
			return NULL;
		if (strcmp(st->t[v - 1].name, name) == 0)
			return &st->t[v - 1];
	}
}

/* ---- parsing ------------------------------------------------------------- */

static int cmp_offset(const void *a, const void *b)
{
	const struct dc_st_tensor *x = a, *y = b;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	if (x->nbytes != y->nbytes)
		return x->nbytes < y->nbytes ? -1 : 1;
	return strcmp(x->name, y->name);
}

static enum dc_status parse_tensor(const cJSON *it, struct dc_st_tensor *t)
{
	const char *name = it->string;
	if (!cJSON_IsObject(it))
		return dc_fail(DC_EFORMAT, "tensor '%s': entry is not a JSON object", name);
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
	const cJSON *off = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
	if (!cJSON_IsString(dt))
		return dc_fail(DC_EFORMAT, "tensor '%s': missing or non-string \"dtype\"", name);
	if (dc_dtype_parse(dt->valuestring, &t->dtype) != 0) {
		if (dtype_known_unsupported(dt->valuestring))
			return dc_fail(DC_EUNSUPPORTED, "tensor '%s': dtype %s is not supported",
			               name, dt->valuestring);
		return dc_fail(DC_EFORMAT, "tensor '%s': unknown dtype '%.32s'", name, dt->valuestring);
	}
	if (!cJSON_IsArray(sh))
		return dc_fail(DC_EFORMAT, "tensor '%s': missing or non-array \"shape\"", name);
	int rank = cJSON_GetArraySize(sh);
	if (rank > DC_MAX_RANK)
		return dc_fail(DC_ELIMIT, "tensor '%s': rank %d exceeds the limit of %d",
		               name, rank, DC_MAX_RANK);
	size_t numel = 1;
	int r = 0;
	const cJSON *d;
	cJSON_ArrayForEach(d, sh) {
		uint64_t v;
		if (json_uint(d, &v))
			return dc_fail(DC_EFORMAT, "tensor '%s': shape[%d] is not a non-negative integer",
			               name, r);
		t->shape[r++] = (int64_t)v;
		if (dc_mul_size(numel, (size_t)v, &numel))
			return dc_fail(DC_EOVERFLOW, "tensor '%s': element count overflows", name);
	}
	t->rank = rank;
	t->numel = numel;
	size_t nbytes;
	if (dc_mul_size(numel, dc_dtype_size(t->dtype), &nbytes))
		return dc_fail(DC_EOVERFLOW, "tensor '%s': byte count overflows", name);
	uint64_t b, e;
	if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
	    json_uint(off->child, &b) || json_uint(off->child->next, &e))
		return dc_fail(DC_EFORMAT, "tensor '%s': \"data_offsets\" is not [begin, end] "
		               "with non-negative integers", name);
	if (e < b)
		return dc_fail(DC_EFORMAT, "tensor '%s': data_offsets end %" PRIu64
		               " before begin %" PRIu64, name, e, b);
	if (e - b != nbytes)
		return dc_fail(DC_EFORMAT, "tensor '%s': data_offsets span %" PRIu64 " bytes "
		               "but shape and dtype %s need %zu", name, e - b,
		               dc_dtype_name(t->dtype), nbytes);
	t->offset = (size_t)b;   /* relative to the data buffer until rebased */
	t->nbytes = nbytes;
	return DC_OK;
}

static enum dc_status parse(struct dc_safetensors *st)
{
	const unsigned char *p = st->buf;
	if (st->len < 8)
		return dc_fail(DC_ETRUNC, "file of %zu bytes is shorter than the 8-byte header length",
		               st->len);
	uint64_t hn = 0;
	for (int i = 7; i >= 0; i--)
		hn = (hn << 8) | p[i];
	if (hn > DC_ST_MAX_HEADER)
		return dc_fail(DC_ELIMIT, "header length %" PRIu64 " exceeds the limit of %u bytes",
		               hn, DC_ST_MAX_HEADER);
	if (hn < 2)
		return dc_fail(DC_EFORMAT, "header length %" PRIu64 " is too small for a JSON object", hn);
	if (hn > st->len - 8)
		return dc_fail(DC_ETRUNC, "header of %" PRIu64 " bytes but only %zu follow",
		               hn, st->len - 8);
	size_t n = (size_t)hn;
	if (!dc_utf8_valid(p + 8, n))
		return dc_fail(DC_EFORMAT, "header is not valid UTF-8");

	char *text = malloc(n + 1);
	if (!text)
		return dc_fail(DC_ENOMEM, "cannot allocate %zu bytes for the header", n + 1);
	memcpy(text, p + 8, n);
	text[n] = 0;
	const char *end = NULL;
	cJSON *root = dc__json_parse(text, n, &end);
	enum dc_status s = DC_OK;
	struct dc_st_tensor *t = NULL;
	if (!root) {
		size_t at = end && end >= text && end <= text + n ? (size_t)(end - text) : 0;
		s = dc_fail(DC_EFORMAT, "header is not valid JSON (near byte %zu)", at);
		goto out;
	}
	for (const char *q = end; q && q < text + n; q++)
		if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
			s = dc_fail(DC_EFORMAT, "header has data after the JSON object (byte %zu)",
			            (size_t)(q - text));
			goto out;
		}
	if (!cJSON_IsObject(root)) {
		s = dc_fail(DC_EFORMAT, "header is not a JSON object");
		goto out;
	}

	/* Count entries and string bytes. */
	size_t count = 0, pool = 0, nmeta = 0;
	const cJSON *it, *meta = NULL;
	cJSON_ArrayForEach(it, root) {
		if (strcmp(it->string, "__metadata__") == 0) {
			if (meta) {
				s = dc_fail(DC_EFORMAT, "header has two \"__metadata__\" entries");
				goto out;
			}
			meta = it;
			if (cJSON_IsNull(it))
				continue;
			if (!cJSON_IsObject(it)) {
				s = dc_fail(DC_EFORMAT, "\"__metadata__\" is not an object");
				goto out;
			}
			const cJSON *kv;
			cJSON_ArrayForEach(kv, it) {
				if (!cJSON_IsString(kv)) {
					s = dc_fail(DC_EFORMAT, "__metadata__ '%s' is not a string", kv->string);
					goto out;
				}
				pool += strlen(kv->string) + strlen(kv->valuestring) + 2;
				nmeta++;
			}
			continue;
		}
		count++;
		pool += strlen(it->string) + 1;
	}
	if (count > UINT32_MAX / 4) {
		s = dc_fail(DC_ELIMIT, "too many tensors (%zu)", count);
		goto out;
	}
	st->pool = malloc(pool ? pool : 1);
	t = calloc(count ? count : 1, sizeof *t);
	st->mkey = malloc((nmeta ? nmeta : 1) * sizeof *st->mkey);
	st->mval = malloc((nmeta ? nmeta : 1) * sizeof *st->mval);
	size_t cap = 16;
	while (cap < 2 * count)
		cap *= 2;
	st->slot = calloc(cap, sizeof *st->slot);
	if (!st->pool || !t || !st->mkey || !st->mval || !st->slot) {
		s = dc_fail(DC_ENOMEM, "cannot allocate the tensor table (%zu tensors)", count);
		goto out;
	}
	st->cap = cap;
	char *w = st->pool;
	if (meta && !cJSON_IsNull(meta)) {
		const cJSON *kv;
		cJSON_ArrayForEach(kv, meta) {
			size_t a = strlen(kv->string) + 1, b = strlen(kv->valuestring) + 1;
			for (size_t i = 0; i < st->nmeta; i++)
				if (strcmp(st->mkey[i], kv->string) == 0) {
					s = dc_fail(DC_EFORMAT, "__metadata__ key '%s' appears twice", kv->string);
					goto out;
				}
			st->mkey[st->nmeta] = memcpy(w, kv->string, a), w += a;
			st->mval[st->nmeta] = memcpy(w, kv->valuestring, b), w += b;
			st->nmeta++;
			if (st->nmeta > 4096) {
				s = dc_fail(DC_ELIMIT, "more than 4096 __metadata__ entries");
				goto out;
			}
		}
	}
	size_t k = 0;
	cJSON_ArrayForEach(it, root) {
		if (it == meta)
			continue;
		if ((s = parse_tensor(it, &t[k])) != DC_OK)
			goto out;
		size_t a = strlen(it->string) + 1;
		t[k].name = memcpy(w, it->string, a);
		w += a;
		k++;
	}

	/* Tile the data buffer exactly. */
	size_t base = 8 + n, dlen = st->len - base;
	qsort(t, count, sizeof *t, cmp_offset);
	size_t expect = 0;
	for (size_t i = 0; i < count; i++) {
		size_t e = t[i].offset + t[i].nbytes;   /* both <= 2^53: no overflow */
		if (e > dlen) {
			s = dc_fail(DC_ETRUNC, "tensor '%s' ends at byte %zu of the data buffer, "
			            "which has only %zu bytes", t[i].name, e, dlen);
			goto out;
		}
		if (t[i].offset < expect) {
			s = dc_fail(DC_EFORMAT, "tensor '%s' overlaps the previous tensor '%s' "
			            "(begins at %zu, before %zu)", t[i].name, t[i - 1].name,
			            t[i].offset, expect);
			goto out;
		}
		if (t[i].offset > expect) {
			s = dc_fail(DC_EFORMAT, "hole in the data buffer: bytes %zu..%zu before "
			            "tensor '%s' belong to no tensor", expect, t[i].offset, t[i].name);
			goto out;
		}
		expect = e;
	}
	if (expect != dlen) {
		s = dc_fail(DC_EFORMAT, "data buffer has %zu bytes after the last tensor",
		            dlen - expect);
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		t[i].offset += base;
		t[i].data = st->buf + t[i].offset;
	}
	st->t = t;
	st->n = count;
	t = NULL;
	for (size_t i = 0; i < count; i++) {
		size_t mask = cap - 1, j = (size_t)fnv1a(st->t[i].name) & mask;
		for (; st->slot[j]; j = (j + 1) & mask)
			if (strcmp(st->t[st->slot[j] - 1].name, st->t[i].name) == 0) {
				s = dc_fail(DC_EFORMAT, "tensor name '%s' appears twice", st->t[i].name);
				goto out;
			}
		st->slot[j] = (uint32_t)(i + 1);
	}
out:
	free(t);
	cJSON_Delete(root);
	free(text);
	return s;
}

static void st_free(struct dc_safetensors *st)
{
	if (!st)
		return;
	if (st->map)
		munmap(st->map, st->len);
	free(st->t);
	free(st->pool);
	free(st->slot);
	free(st->mkey);
	free(st->mval);
	free(st);
}

enum dc_status dc_safetensors_open_memory(struct dc_safetensors **out, const void *buf, size_t len)
{
	*out = NULL;
	if (!buf && len)
		return dc_fail(DC_EINVAL, "NULL buffer");
	struct dc_safetensors *st = calloc(1, sizeof *st);
	if (!st)
		return dc_fail(DC_ENOMEM, "out of memory");
	st->buf = buf;
	st->len = len;
	enum dc_status s = parse(st);
	if (s != DC_OK) {
		st_free(st);
		return s;
	}
	*out = st;
	return DC_OK;
}

enum dc_status dc_safetensors_open(struct dc_safetensors **out, const char *path)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dc_fail(DC_EIO, "cannot open '%s': %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		int e = errno;
		close(fd);
		return dc_fail(DC_EIO, "cannot stat '%s': %s", path, strerror(e));
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return dc_fail(DC_EIO, "'%s' is not a regular file", path);
	}
	if ((uint64_t)sb.st_size < 8) {
		close(fd);
		return dc_fail(DC_ETRUNC, "'%s': file of %lld bytes is shorter than the 8-byte "
		               "header length", path, (long long)sb.st_size);
	}
	if ((uint64_t)sb.st_size > SIZE_MAX) {
		close(fd);
		return dc_fail(DC_ELIMIT, "'%s' is too large to map", path);
	}
	size_t len = (size_t)sb.st_size;
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd);
	if (map == MAP_FAILED)
		return dc_fail(DC_EIO, "cannot map '%s': %s", path, strerror(e));
	struct dc_safetensors *st = calloc(1, sizeof *st);
	if (!st) {
		munmap(map, len);
		return dc_fail(DC_ENOMEM, "out of memory");
	}
	st->buf = map;
	st->len = len;
	st->map = map;
	enum dc_status s = parse(st);
	if (s != DC_OK) {
		char msg[400];
		snprintf(msg, sizeof msg, "%s", dc_errmsg());
		st_free(st);
		return dc_fail(s, "'%s': %s", path, msg);
	}
	*out = st;
	return DC_OK;
}

void dc_safetensors_close(struct dc_safetensors *st)
{
	st_free(st);
}

size_t dc_safetensors_count(const struct dc_safetensors *st)
{
	return st ? st->n : 0;
}

const struct dc_st_tensor *dc_safetensors_at(const struct dc_safetensors *st, size_t i)
{
	return st && i < st->n ? &st->t[i] : NULL;
}

const struct dc_st_tensor *dc_safetensors_find(const struct dc_safetensors *st, const char *name)
{
	return lookup(st, name);
}

const char *dc_safetensors_meta(const struct dc_safetensors *st, const char *key)
{
	if (!st || !key)
		return NULL;
	for (size_t i = 0; i < st->nmeta; i++)
		if (strcmp(st->mkey[i], key) == 0)
			return st->mval[i];
	return NULL;
}

size_t dc_safetensors_meta_count(const struct dc_safetensors *st)
{
	return st ? st->nmeta : 0;
}

int dc_safetensors_meta_at(const struct dc_safetensors *st, size_t i,
                           const char **key, const char **value)
{
	if (!st || i >= st->nmeta)
		return -1;
	*key = st->mkey[i];
	*value = st->mval[i];
	return 0;
}

/* ---- access ----------------------------------------------------------------- */

static enum dc_status find_or_fail(const struct dc_safetensors *st, const char *name,
                                   const struct dc_st_tensor **t)
{
	*t = lookup(st, name);
	if (!*t)
		return dc_fail(DC_ENOTFOUND, "no tensor '%s'", name ? name : "(null)");
	return DC_OK;
}

/* Shared by the model code in model.c through the public API. */
static enum dc_status tensor_view(const struct dc_st_tensor *t, struct dc_tensor *view)
{
	size_t isz = dc_dtype_size(t->dtype);
	if (t->nbytes && (uintptr_t)t->data % isz)
		return dc_fail(DC_EUNSUPPORTED, "tensor '%s': data not aligned to %zu bytes "
		               "(unpadded header); load or convert it instead", t->name, isz);
	memset(view, 0, sizeof *view);
	view->dtype = t->dtype;
	view->rank = t->rank;
	memcpy(view->shape, t->shape, sizeof view->shape);
	view->data = (void *)(uintptr_t)t->data;
	view->nbytes = t->nbytes;
	view->owned = 0;
	return DC_OK;
}

enum dc_status dc_safetensors_get(const struct dc_safetensors *st, const char *name,
                                  struct dc_tensor *view)
{
	const struct dc_st_tensor *t;
	enum dc_status s = find_or_fail(st, name, &t);
	return s ? s : tensor_view(t, view);
}

enum dc_status dc_safetensors_load(const struct dc_safetensors *st, const char *name,
                                   struct dc_tensor *out)
{
	const struct dc_st_tensor *t;
	enum dc_status s = find_or_fail(st, name, &t);
	if (s)
		return s;
	if ((s = dc_tensor_alloc(out, t->dtype, t->rank, t->shape)) != DC_OK)
		return s;
	if (out->nbytes != t->nbytes) {   /* cannot happen: both from the same shape */
		dc_tensor_release(out);
		return dc_fail(DC_EINVAL, "tensor '%s': size mismatch", t->name);
	}
	if (t->nbytes)
		memcpy(out->data, t->data, t->nbytes);
	return DC_OK;
}

static enum dc_status convert_range(const struct dc_st_tensor *t, size_t first,
                                    float *dst, size_t n)
{
	size_t last;
	if (dc_add_size(first, n, &last) || last > t->numel)
		return dc_fail(DC_EINVAL, "tensor '%s': elements [%zu, +%zu) outside its %zu",
		               t->name, first, n, t->numel);
	if (!n)
		return DC_OK;
	size_t isz = dc_dtype_size(t->dtype);
	const unsigned char *src = (const unsigned char *)t->data + first * isz;
	if ((uintptr_t)src % isz == 0) {
		dc_convert_to_f32(dst, src, t->dtype, n);
		return DC_OK;
	}
	/* Unaligned (unpadded header): bounce through an aligned buffer. */
	uint64_t tmp[512];
	size_t chunk = sizeof tmp / isz;
	for (size_t i = 0; i < n; i += chunk) {
		size_t m = n - i < chunk ? n - i : chunk;
		memcpy(tmp, src + i * isz, m * isz);
		dc_convert_to_f32(dst + i, tmp, t->dtype, m);
	}
	return DC_OK;
}

enum dc_status dc_safetensors_read_f32(const struct dc_safetensors *st, const char *name,
                                       size_t first, float *dst, size_t n)
{
	const struct dc_st_tensor *t;
	enum dc_status s = find_or_fail(st, name, &t);
	return s ? s : convert_range(t, first, dst, n);
}

enum dc_status dc_safetensors_get_f32(const struct dc_safetensors *st, const char *name,
                                      float *dst, size_t n)
{
	const struct dc_st_tensor *t;
	enum dc_status s = find_or_fail(st, name, &t);
	if (s)
		return s;
	if (n != t->numel)
		return dc_fail(DC_EINVAL, "tensor '%s' has %zu elements, caller expects %zu",
		               t->name, t->numel, n);
	return convert_range(t, 0, dst, n);
}

/* Entry points for model.c (declared there; not part of the public API). */
enum dc_status dc__st_tensor_view(const struct dc_st_tensor *t, struct dc_tensor *view);
enum dc_status dc__st_tensor_f32(const struct dc_st_tensor *t, size_t first, float *dst, size_t n);
enum dc_status dc__st_tensor_view(const struct dc_st_tensor *t, struct dc_tensor *view)
{
	return tensor_view(t, view);
}
enum dc_status dc__st_tensor_f32(const struct dc_st_tensor *t, size_t first, float *dst, size_t n)
{
	return convert_range(t, first, dst, n);
}

/* ---- writing ------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->n < n + 1) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->n < n + 1) {
			if (cap > SIZE_MAX / 2) { b->oom = 1; return; }
			cap *= 2;
		}
		char *p = realloc(b->p, cap);
		if (!p) { b->oom = 1; return; }
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_json_string(struct sbuf *b, const char *s)
{
	sb_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c == '"') sb_put(b, "\\\"", 2);
		else if (c == '\\') sb_put(b, "\\\\", 2);
		else if (c == '\n') sb_put(b, "\\n", 2);
		else if (c == '\r') sb_put(b, "\\r", 2);
		else if (c == '\t') sb_put(b, "\\t", 2);
		else if (c == '\b') sb_put(b, "\\b", 2);
		else if (c == '\f') sb_put(b, "\\f", 2);
		else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			sb_put(b, esc, 6);
		} else
			sb_put(b, (const char *)s, 1);
	}
	sb_put(b, "\"", 1);
}

/* The reference's Dtype order, "increasing alignment"; writing sorts it descending. */
static int dtype_rank(enum dc_dtype t)
{
	switch (t) {
	case DC_BOOL: return 0;
	case DC_U8: return 1;
	case DC_I8: return 2;
	case DC_I16: return 5;
	case DC_U16: return 6;
	case DC_F16: return 7;
	case DC_BF16: return 8;
	case DC_I32: return 9;
	case DC_U32: return 10;
	case DC_F32: return 11;
	case DC_F64: return 12;
	case DC_I64: return 13;
	case DC_U64: return 14;
	default: return -1;
	}
}

static int cmp_write_order(const void *a, const void *b)
{
	const struct dc_st_write_entry *x = *(const struct dc_st_write_entry *const *)a;
	const struct dc_st_write_entry *y = *(const struct dc_st_write_entry *const *)b;
	int rx = dtype_rank(x->dtype), ry = dtype_rank(y->dtype);
	if (rx != ry)
		return rx > ry ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_entry_name(const void *a, const void *b)
{
	const struct dc_st_write_entry *x = *(const struct dc_st_write_entry *const *)a;
	const struct dc_st_write_entry *y = *(const struct dc_st_write_entry *const *)b;
	return strcmp(x->name, y->name);
}

static int cmp_kv_key(const void *a, const void *b)
{
	const struct dc_st_kv *x = *(const struct dc_st_kv *const *)a;
	const struct dc_st_kv *y = *(const struct dc_st_kv *const *)b;
	return strcmp(x->key, y->key);
}

static int valid_utf8_str(const char *s)
{
	return dc_utf8_valid((const unsigned char *)s, strlen(s));
}

enum dc_status dc_safetensors_write(FILE *f, const struct dc_st_write_entry *e, size_t n,
                                    const struct dc_st_kv *meta, size_t nmeta)
{
	if (!f || (n && !e) || (nmeta && !meta))
		return dc_fail(DC_EINVAL, "safetensors write: NULL argument");
	const struct dc_st_write_entry **ord = malloc((n ? n : 1) * sizeof *ord);
	const struct dc_st_kv **mo = malloc((nmeta ? nmeta : 1) * sizeof *mo);
	size_t *nbytes = malloc((n ? n : 1) * sizeof *nbytes);
	struct sbuf h = { 0 };
	enum dc_status s = DC_OK;
	if (!ord || !mo || !nbytes) {
		s = dc_fail(DC_ENOMEM, "safetensors write: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dc_st_write_entry *x = &e[i];
		if (!x->name || !*x->name || strcmp(x->name, "__metadata__") == 0 ||
		    !valid_utf8_str(x->name)) {
			s = dc_fail(DC_EINVAL, "safetensors write: entry %zu: name must be non-empty "
			            "UTF-8 and not \"__metadata__\"", i);
			goto out;
		}
		if (dtype_rank(x->dtype) < 0 || x->rank < 0 || x->rank > DC_MAX_RANK ||
		    (x->rank && !x->shape)) {
			s = dc_fail(DC_EINVAL, "safetensors write: tensor '%s': bad dtype or rank",
			            x->name);
			goto out;
		}
		size_t numel = 1;
		for (int d = 0; d < x->rank; d++) {
			if (x->shape[d] < 0 || (uint64_t)x->shape[d] > 9007199254740992ull) {
				s = dc_fail(DC_EINVAL, "safetensors write: tensor '%s': dimension %d is "
				            "%" PRId64, x->name, d, x->shape[d]);
				goto out;
			}
			if (dc_mul_size(numel, (size_t)x->shape[d], &numel)) {
				s = dc_fail(DC_EOVERFLOW, "safetensors write: tensor '%s' too large", x->name);
				goto out;
			}
		}
		if (dc_mul_size(numel, dc_dtype_size(x->dtype), &nbytes[i])) {
			s = dc_fail(DC_EOVERFLOW, "safetensors write: tensor '%s' too large", x->name);
			goto out;
		}
		if (nbytes[i] && !x->data) {
			s = dc_fail(DC_EINVAL, "safetensors write: tensor '%s' has no data", x->name);
			goto out;
		}
		ord[i] = x;
	}
	for (size_t i = 0; i < nmeta; i++) {
		if (!meta[i].key || !meta[i].value || !valid_utf8_str(meta[i].key) ||
		    !valid_utf8_str(meta[i].value)) {
			s = dc_fail(DC_EINVAL, "safetensors write: metadata %zu: NULL or non-UTF-8", i);
			goto out;
		}
		mo[i] = &meta[i];
	}
	qsort(ord, n, sizeof *ord, cmp_entry_name);
	for (size_t i = 1; i < n; i++)
		if (strcmp(ord[i - 1]->name, ord[i]->name) == 0) {
			s = dc_fail(DC_EINVAL, "safetensors write: tensor name '%s' given twice",
			            ord[i]->name);
			goto out;
		}
	qsort(mo, nmeta, sizeof *mo, cmp_kv_key);
	for (size_t i = 1; i < nmeta; i++)
		if (strcmp(mo[i - 1]->key, mo[i]->key) == 0) {
			s = dc_fail(DC_EINVAL, "safetensors write: metadata key '%s' given twice",
			            mo[i]->key);
			goto out;
		}
	qsort(ord, n, sizeof *ord, cmp_write_order);

	sb_str(&h, "{");
	if (nmeta) {
		sb_str(&h, "\"__metadata__\":{");
		for (size_t i = 0; i < nmeta; i++) {
			if (i)
				sb_str(&h, ",");
			sb_json_string(&h, meta[i].key);
			sb_str(&h, ":");
			sb_json_string(&h, meta[i].value);
		}
		sb_str(&h, "}");
	}
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dc_st_write_entry *x = ord[i];
		size_t nb = nbytes[x - e], end;
		char num[48];
		if (dc_add_size(off, nb, &end)) {
			s = dc_fail(DC_EOVERFLOW, "safetensors write: total size overflows");
			goto out;
		}
		if (nmeta || i)
			sb_str(&h, ",");
		sb_json_string(&h, x->name);
		sb_str(&h, ":{\"dtype\":\"");
		sb_str(&h, dc_dtype_name(x->dtype));
		sb_str(&h, "\",\"shape\":[");
		for (int d = 0; d < x->rank; d++) {
			snprintf(num, sizeof num, "%s%" PRId64, d ? "," : "", x->shape[d]);
			sb_str(&h, num);
		}
		snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", off, end);
		sb_str(&h, num);
		off = end;
	}
	sb_str(&h, "}");
	while (!h.oom && h.n % 8)
		sb_put(&h, " ", 1);
	if (h.oom) {
		s = dc_fail(DC_ENOMEM, "safetensors write: out of memory for the header");
		goto out;
	}
	if (h.n > DC_ST_MAX_HEADER) {
		s = dc_fail(DC_ELIMIT, "safetensors write: header of %zu bytes exceeds the limit", h.n);
		goto out;
	}
	unsigned char len8[8];
	for (int i = 0; i < 8; i++)
		len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
	if (fwrite(len8, 1, 8, f) != 8 || fwrite(h.p, 1, h.n, f) != h.n) {
		s = dc_fail(DC_EIO, "safetensors write: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t nb = nbytes[ord[i] - e];
		if (nb && fwrite(ord[i]->data, 1, nb, f) != nb) {
			s = dc_fail(DC_EIO, "safetensors write: tensor '%s': %s", ord[i]->name,
			            strerror(errno));
			goto out;
		}
	}
out:
	free(ord);
	free(mo);
	free(nbytes);
	free(h.p);
	return s;
}
