/*
 * stream.c - reader and writer of the diffcore tensor stream (DTS1).
 *
 * Byte layout (all integers little-endian; see stream.h and
 * diffcore-stream(5) for the full rules):
 *
 *   preamble  89 'D' 'T' 'S' 0D 0A 1A 0A | u32 version=1 | u32 flags=0 | 48 x 00
 *   record    "TENS" | u32 hdr_len | u64 data_len | u64 index | u32 hdr_crc | u32 0
 *             text header (hdr_len bytes: "key value\n"..., "ENDHDR\n", spaces)
 *             payload (data_len bytes) | u32 data_crc | u32 0 | zeros to 64
 *   end       "END\0" ... header "records N\nENDHDR\n", data_len 0
 *
 * The reader trusts nothing: limits are checked before allocation, the
 * header CRC before the header is parsed, the payload length against
 * dtype x shape before the payload is read, and the payload buffer grows
 * only as bytes arrive.  Nothing seeks.
 */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const unsigned char dts_magic[8] = { 0x89, 'D', 'T', 'S', 0x0D, 0x0A, 0x1A, 0x0A };

#define CHUNK_MIN ((size_t)1 << 20)  /* first payload buffer, grown by doubling */

/* ---- little-endian helpers ---------------------------------------------------- */

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const unsigned char *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}
static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

/* crc32 over any size (zlib takes uInt lengths). */
static uint32_t crc_update(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;
	while (n > 0) {
		uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
		crc = (uint32_t)crc32(crc, b, k);
		b += k;
		n -= k;
	}
	return crc;
}

/* ---- string rules --------------------------------------------------------------- */

/* Valid UTF-8 without control characters (< 0x20, 0x7f). */
static int text_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			p++;
			continue;
		}
		int len;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
		else return 0;
		if (end - p < len)
			return 0;
		for (int i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		p += len;
	}
	return 1;
}

static int key_ok(const char *k, size_t n)
{
	if (n == 0 || n > DC_STREAM_MAX_KEY)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

/* ---- records ------------------------------------------------------------------------ */

void dc_record_init(struct dc_record *rec)
{
	memset(rec, 0, sizeof *rec);
}

void dc_record_release(struct dc_record *rec)
{
	free(rec->name);
	free(rec->role);
	for (size_t i = 0; i < rec->nmeta; i++) {
		free(rec->meta_keys[i]);
		free(rec->meta_vals[i]);
	}
	free(rec->meta_keys);
	free(rec->meta_vals);
	if (rec->owns_data)
		dc_free(rec->data);
	memset(rec, 0, sizeof *rec);
}

static enum dc_status set_str(char **dst, const char *s, const char *what)
{
	if (!s || !*s) {
		free(*dst);
		*dst = NULL;
		return DC_OK;
	}
	size_t n = strlen(s);
	if (n > DC_STREAM_MAX_NAME)
		return dc_fail(DC_ELIMIT, "%s longer than %d bytes", what, DC_STREAM_MAX_NAME);
	if (!text_ok(s, n))
		return dc_fail(DC_EINVAL, "%s contains control characters or invalid UTF-8", what);
	char *d = dup_n(s, n);
	if (!d)
		return dc_fail(DC_ENOMEM, "out of memory");
	free(*dst);
	*dst = d;
	return DC_OK;
}

enum dc_status dc_record_set_name(struct dc_record *rec, const char *s)
{
	return set_str(&rec->name, s, "record name");
}

enum dc_status dc_record_set_role(struct dc_record *rec, const char *s)
{
	return set_str(&rec->role, s, "record role");
}

const char *dc_record_meta_get(const struct dc_record *rec, const char *key)
{
	for (size_t i = 0; i < rec->nmeta; i++)
		if (strcmp(rec->meta_keys[i], key) == 0)
			return rec->meta_vals[i];
	return NULL;
}

/* Append without validation (the reader validates first); takes ownership. */
static enum dc_status meta_append(struct dc_record *rec, char *k, char *v)
{
	if (rec->nmeta >= DC_STREAM_MAX_META) {
		free(k);
		free(v);
		return dc_fail(DC_ELIMIT, "more than %d metadata entries", DC_STREAM_MAX_META);
	}
	char **nk = realloc(rec->meta_keys, (rec->nmeta + 1) * sizeof *nk);
	if (nk)
		rec->meta_keys = nk;
	char **nv = nk ? realloc(rec->meta_vals, (rec->nmeta + 1) * sizeof *nv) : NULL;
	if (nv)
		rec->meta_vals = nv;
	if (!nk || !nv) {
		free(k);
		free(v);
		return dc_fail(DC_ENOMEM, "out of memory");
	}
	rec->meta_keys[rec->nmeta] = k;
	rec->meta_vals[rec->nmeta] = v;
	rec->nmeta++;
	return DC_OK;
}

enum dc_status dc_record_meta_set(struct dc_record *rec, const char *key, const char *value)
{
	size_t kn = strlen(key), vn = strlen(value);
	if (!key_ok(key, kn))
		return dc_fail(DC_EINVAL, "invalid metadata key '%.64s' (1-%d of A-Z a-z 0-9 _ . -)",
		               key, DC_STREAM_MAX_KEY);
	if (vn > DC_STREAM_MAX_VALUE)
		return dc_fail(DC_ELIMIT, "metadata value for '%s' longer than %d bytes", key,
		               DC_STREAM_MAX_VALUE);
	if (!text_ok(value, vn))
		return dc_fail(DC_EINVAL, "metadata value for '%s' contains control characters or invalid UTF-8", key);
	char *v = dup_n(value, vn);
	if (!v)
		return dc_fail(DC_ENOMEM, "out of memory");
	for (size_t i = 0; i < rec->nmeta; i++)
		if (strcmp(rec->meta_keys[i], key) == 0) {
			free(rec->meta_vals[i]);
			rec->meta_vals[i] = v;
			return DC_OK;
		}
	char *k = dup_n(key, kn);
	if (!k) {
		free(v);
		return dc_fail(DC_ENOMEM, "out of memory");
	}
	return meta_append(rec, k, v);
}

void dc_record_meta_unset(struct dc_record *rec, const char *key)
{
	for (size_t i = 0; i < rec->nmeta; i++)
		if (strcmp(rec->meta_keys[i], key) == 0) {
			free(rec->meta_keys[i]);
			free(rec->meta_vals[i]);
			memmove(rec->meta_keys + i, rec->meta_keys + i + 1, (rec->nmeta - i - 1) * sizeof(char *));
			memmove(rec->meta_vals + i, rec->meta_vals + i + 1, (rec->nmeta - i - 1) * sizeof(char *));
			rec->nmeta--;
			return;
		}
}

enum dc_status dc_record_copy_info(struct dc_record *dst, const struct dc_record *src)
{
	enum dc_status st;
	if ((st = dc_record_set_name(dst, src->name)) || (st = dc_record_set_role(dst, src->role)))
		return st;
	for (size_t i = 0; i < src->nmeta; i++)
		if ((st = dc_record_meta_set(dst, src->meta_keys[i], src->meta_vals[i])))
			return st;
	return DC_OK;
}

void dc_record_set_tensor(struct dc_record *rec, const struct dc_tensor *t)
{
	if (rec->owns_data)
		dc_free(rec->data);
	rec->dtype = t->dtype;
	rec->rank = t->rank;
	memset(rec->shape, 0, sizeof rec->shape);
	memcpy(rec->shape, t->shape, (size_t)t->rank * sizeof t->shape[0]);
	rec->data = t->data;
	rec->nbytes = t->nbytes;
	rec->owns_data = 0;
}

void dc_record_take_tensor(struct dc_record *rec, struct dc_tensor *t)
{
	memset(t, 0, sizeof *t);
	t->dtype = rec->dtype;
	t->rank = rec->rank;
	memcpy(t->shape, rec->shape, sizeof t->shape);
	t->data = rec->data;
	t->nbytes = rec->nbytes;
	t->owned = rec->owns_data;
	rec->data = NULL;
	rec->owns_data = 0;
}

/* ---- reader ------------------------------------------------------------------------- */

/* fread that returns the byte count actually read (short only at EOF/error). */
static size_t read_full(FILE *fp, void *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		size_t k = fread((char *)p + got, 1, n - got, fp);
		if (k == 0)
			break;
		got += k;
	}
	return got;
}

/* The "record N ('name')" prefix of messages. */
struct where {
	char s[320];
};
static const char *where(struct where *w, uint64_t idx, const char *name)
{
	if (name)
		snprintf(w->s, sizeof w->s, "record %llu ('%s')", (unsigned long long)idx, name);
	else
		snprintf(w->s, sizeof w->s, "record %llu", (unsigned long long)idx);
	return w->s;
}

static enum dc_status short_read(FILE *fp, const char *what, const char *part, size_t got, uint64_t want)
{
	if (ferror(fp))
		return dc_fail(DC_EIO, "%s: read error in %s: %s", what, part, strerror(errno));
	return dc_fail(DC_ETRUNC, "%s: truncated %s (%zu of %llu bytes)", what, part, got,
	               (unsigned long long)want);
}

enum dc_status dc_stream_reader_open(struct dc_stream_reader *r, FILE *fp)
{
	unsigned char pre[DC_STREAM_PREAMBLE_SIZE];
	memset(r, 0, sizeof *r);
	r->fp = fp;
	r->done = 1;
	size_t got = read_full(fp, pre, sizeof pre);
	if (ferror(fp))
		return dc_fail(DC_EIO, "read error: %s", strerror(errno));
	if (got == 0)
		return dc_fail(DC_ETRUNC, "empty input, expected a tensor stream");
	if (memcmp(pre, dts_magic, got < 8 ? got : 8) != 0)
		return dc_fail(DC_EFORMAT, "not a tensor stream (bad magic)");
	if (got < sizeof pre)
		return dc_fail(DC_ETRUNC, "truncated stream preamble (%zu of %d bytes)", got,
		               DC_STREAM_PREAMBLE_SIZE);
	r->version = get_u32(pre + 8);
	r->flags = get_u32(pre + 12);
	if (r->version != DC_STREAM_VERSION)
		return dc_fail(DC_EUNSUPPORTED, "unsupported stream version %u (this build reads %d)",
		               r->version, DC_STREAM_VERSION);
	if (r->flags != 0)
		return dc_fail(DC_EUNSUPPORTED, "unknown stream flags 0x%x", r->flags);
	for (int i = 16; i < DC_STREAM_PREAMBLE_SIZE; i++)
		if (pre[i])
			return dc_fail(DC_EFORMAT, "nonzero reserved bytes in stream preamble");
	r->offset = sizeof pre;
	r->done = 0;
	return DC_OK;
}

void dc_stream_reader_close(struct dc_stream_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->bufcap = 0;
}

static enum dc_status reader_buf(struct dc_stream_reader *r, size_t n)
{
	if (r->bufcap >= n)
		return DC_OK;
	unsigned char *b = realloc(r->buf, n);
	if (!b)
		return dc_fail(DC_ENOMEM, "out of memory");
	r->buf = b;
	r->bufcap = n;
	return DC_OK;
}

/* Parse "d0 d1 ..." (or "") into rank/shape. Returns 0 or -1. */
static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static enum dc_status parse_shape(const char *w, const char *s, size_t n, struct dc_record *rec)
{
	rec->rank = 0;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != ' ')
			j++;
		uint64_t d;
		if (rec->rank >= DC_MAX_RANK)
			return dc_fail(DC_ELIMIT, "%s: rank above %d", w, DC_MAX_RANK);
		if (parse_u64(s + i, j - i, (uint64_t)DC_STREAM_MAX_DIM, &d))
			return dc_fail(DC_EFORMAT, "%s: bad shape '%.*s' (dimensions are decimal, at most 2^48)",
			               w, (int)(n > 80 ? 80 : n), s);
		rec->shape[rec->rank++] = (int64_t)d;
		if (j == n)
			break;
		i = j + 1;
		if (i == n)
			return dc_fail(DC_EFORMAT, "%s: bad shape (trailing space)", w);
	}
	return DC_OK;
}

/*
 * Parse a header text (after its CRC was checked).  For TENS fills rec; for
 * END stores the record count in *records.  Keys: name dtype shape role
 * meta.* (TENS), records (END).  Lines are "key[ value]\n"; "ENDHDR\n" ends
 * the header; the rest must be spaces.
 */
static enum dc_status parse_header(uint64_t idx, const char *h, size_t n, int is_end,
                                   struct dc_record *rec, uint64_t *records)
{
	struct where W;
	const char *w = where(&W, idx, NULL);
	int have_name = 0, have_dtype = 0, have_shape = 0, have_role = 0, have_records = 0, ended = 0;
	size_t i = 0;
	enum dc_status st;
	while (i < n) {
		const char *line = h + i;
		const char *nl = memchr(line, '\n', n - i);
		if (!nl)
			return dc_fail(DC_EFORMAT, "%s: header has no ENDHDR line", w);
		size_t len = (size_t)(nl - line);
		i += len + 1;
		if (len == 6 && memcmp(line, "ENDHDR", 6) == 0) {
			ended = 1;
			break;
		}
		const char *sp = memchr(line, ' ', len);
		size_t kn = sp ? (size_t)(sp - line) : len;
		const char *val = sp ? sp + 1 : line + len;
		size_t vn = sp ? len - kn - 1 : 0;
		if (!text_ok(line, len))
			return dc_fail(DC_EFORMAT, "%s: header line has control characters or invalid UTF-8", w);
#define KEY(s) (kn == sizeof(s) - 1 && memcmp(line, s, kn) == 0)
		if (is_end) {
			if (KEY("records") && !have_records) {
				if (parse_u64(val, vn, UINT64_MAX, records))
					return dc_fail(DC_EFORMAT, "%s (END): bad record count", w);
				have_records = 1;
			} else {
				return dc_fail(DC_EFORMAT, "%s (END): unexpected header line '%.*s'", w,
				               (int)(kn > 64 ? 64 : kn), line);
			}
			continue;
		}
		if (KEY("name")) {
			if (have_name++)
				return dc_fail(DC_EFORMAT, "%s: duplicate key 'name'", w);
			if (vn == 0 || vn > DC_STREAM_MAX_NAME)
				return dc_fail(DC_ELIMIT, "%s: name empty or longer than %d bytes", w, DC_STREAM_MAX_NAME);
			if (!(rec->name = dup_n(val, vn)))
				return dc_fail(DC_ENOMEM, "out of memory");
			w = where(&W, idx, rec->name);
		} else if (KEY("dtype")) {
			char dt[8];
			if (have_dtype++)
				return dc_fail(DC_EFORMAT, "%s: duplicate key 'dtype'", w);
			if (vn == 0 || vn >= sizeof dt)
				return dc_fail(DC_EFORMAT, "%s: unknown dtype '%.*s'", w, (int)(vn > 16 ? 16 : vn), val);
			memcpy(dt, val, vn);
			dt[vn] = 0;
			if (dc_dtype_parse(dt, &rec->dtype))
				return dc_fail(DC_EFORMAT, "%s: unknown dtype '%s'", w, dt);
		} else if (KEY("shape")) {
			if (have_shape++)
				return dc_fail(DC_EFORMAT, "%s: duplicate key 'shape'", w);
			if ((st = parse_shape(w, val, vn, rec)))
				return st;
		} else if (KEY("role")) {
			if (have_role++)
				return dc_fail(DC_EFORMAT, "%s: duplicate key 'role'", w);
			if (vn > DC_STREAM_MAX_NAME)
				return dc_fail(DC_ELIMIT, "%s: role longer than %d bytes", w, DC_STREAM_MAX_NAME);
			if (vn && !(rec->role = dup_n(val, vn)))
				return dc_fail(DC_ENOMEM, "out of memory");
		} else if (kn > 5 && memcmp(line, "meta.", 5) == 0) {
			if (!key_ok(line + 5, kn - 5))
				return dc_fail(DC_EFORMAT, "%s: bad metadata key '%.*s'", w,
				               (int)(kn > 64 ? 64 : kn), line);
			if (vn > DC_STREAM_MAX_VALUE)
				return dc_fail(DC_ELIMIT, "%s: metadata value longer than %d bytes", w, DC_STREAM_MAX_VALUE);
			char *k = dup_n(line + 5, kn - 5), *v = k ? dup_n(val, vn) : NULL;
			if (!v) {
				free(k);
				return dc_fail(DC_ENOMEM, "out of memory");
			}
			if (dc_record_meta_get(rec, k)) {
				st = dc_fail(DC_EFORMAT, "%s: duplicate metadata key '%s'", w, k);
				free(k);
				free(v);
				return st;
			}
			if ((st = meta_append(rec, k, v)))
				return dc_fail(st, "%s: %s", w, dc_errmsg());
		} else {
			return dc_fail(DC_EFORMAT, "%s: unknown header key '%.*s'", w, (int)(kn > 64 ? 64 : kn), line);
		}
#undef KEY
	}
	if (!ended)
		return dc_fail(DC_EFORMAT, "%s: header has no ENDHDR line", w);
	for (; i < n; i++)
		if (h[i] != ' ')
			return dc_fail(DC_EFORMAT, "%s: bytes after ENDHDR are not space padding", w);
	if (is_end) {
		if (!have_records)
			return dc_fail(DC_EFORMAT, "%s (END): no record count", w);
		return DC_OK;
	}
	if (!have_name || !have_dtype || !have_shape)
		return dc_fail(DC_EFORMAT, "%s: header lacks '%s'", w,
		               !have_name ? "name" : !have_dtype ? "dtype" : "shape");
	return DC_OK;
}

/* Read `data_len` payload bytes (kept or only checksummed), then trailer and padding. */
static enum dc_status read_payload(struct dc_stream_reader *r, const char *w, uint64_t data_len,
                                   int keep, void **out)
{
	uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0);
	unsigned char *data = NULL;
	size_t cap = 0, have = 0;
	enum dc_status st;
	*out = NULL;
	if (keep) {
		cap = data_len < CHUNK_MIN ? (size_t)data_len : CHUNK_MIN;
		if (!(data = dc_alloc(cap)))
			return dc_fail(DC_ENOMEM, "%s: out of memory", w);
	} else if ((st = reader_buf(r, 65536))) {
		return st;
	}
	while (have < data_len) {
		size_t want;
		unsigned char *dst;
		if (keep) {
			if (have == cap) {
				size_t ncap = cap * 2 < cap || cap * 2 > data_len ? (size_t)data_len : cap * 2;
				unsigned char *nd = dc_alloc(ncap);
				if (!nd) {
					dc_free(data);
					return dc_fail(DC_ENOMEM, "%s: out of memory for %zu bytes", w, ncap);
				}
				memcpy(nd, data, have);
				dc_free(data);
				data = nd;
				cap = ncap;
			}
			dst = data + have;
			want = cap - have;
		} else {
			dst = r->buf;
			want = data_len - have < r->bufcap ? (size_t)(data_len - have) : r->bufcap;
		}
		size_t got = read_full(r->fp, dst, want);
		crc = crc_update(crc, dst, got);
		have += got;
		r->offset += got;
		if (got < want) {
			dc_free(data);
			return short_read(r->fp, w, "payload", have, data_len);
		}
	}
	/* trailer and padding */
	unsigned char tail[8 + DC_STREAM_ALIGN];
	size_t pad = (size_t)((DC_STREAM_ALIGN - (data_len + 8) % DC_STREAM_ALIGN) % DC_STREAM_ALIGN);
	size_t got = read_full(r->fp, tail, 8 + pad);
	r->offset += got;
	if (got < 8 + pad) {
		dc_free(data);
		return short_read(r->fp, w, "record trailer", got, 8 + pad);
	}
	if (get_u32(tail) != crc) {
		dc_free(data);
		return dc_fail(DC_ECRC, "%s: payload CRC mismatch (stored %08x, computed %08x)", w,
		               get_u32(tail), crc);
	}
	for (size_t i = 4; i < 8 + pad; i++)
		if (tail[i]) {
			dc_free(data);
			return dc_fail(DC_EFORMAT, "%s: nonzero bytes in record trailer or padding", w);
		}
	*out = data;
	return DC_OK;
}

static enum dc_status read_record(struct dc_stream_reader *r, struct dc_record *rec)
{
	unsigned char pre[DC_STREAM_PREFIX_SIZE];
	struct where W;
	const char *w = where(&W, r->next_index, NULL);
	enum dc_status st;

	size_t got = read_full(r->fp, pre, sizeof pre);
	r->offset += got;
	if (got == 0 && !ferror(r->fp))
		return dc_fail(DC_ETRUNC, "stream ends after %llu records without an END record (truncated?)",
		               (unsigned long long)r->next_index);
	if (got < sizeof pre)
		return short_read(r->fp, w, "record prefix", got, sizeof pre);

	uint32_t hdr_len = get_u32(pre + 4), hdr_crc = get_u32(pre + 24);
	uint64_t data_len = get_u64(pre + 8), index = get_u64(pre + 16);
	int is_tens = memcmp(pre, "TENS", 4) == 0, is_end = memcmp(pre, "END\0", 4) == 0;
	int ancillary = pre[0] >= 'a' && pre[0] <= 'z';
	if (!is_tens && !is_end && !ancillary) {
		char t[20];
		for (int i = 0; i < 4; i++)
			snprintf(t + 4 * i, 5, pre[i] >= 0x21 && pre[i] < 0x7f && pre[i] != '\\' ?
			         "%c" : "\\x%02x", pre[i]);
		return dc_fail(DC_EFORMAT, "%s: unknown record tag '%s'", w, t);
	}
	if (hdr_len > DC_STREAM_MAX_HEADER)
		return dc_fail(DC_ELIMIT, "%s: oversized header (%u bytes, limit %d)", w, hdr_len,
		               DC_STREAM_MAX_HEADER);
	if ((DC_STREAM_PREFIX_SIZE + hdr_len) % DC_STREAM_ALIGN)
		return dc_fail(DC_EFORMAT, "%s: header length %u leaves the payload unaligned", w, hdr_len);
	if (get_u32(pre + 28))
		return dc_fail(DC_EFORMAT, "%s: nonzero reserved field", w);
	if ((st = reader_buf(r, hdr_len + 1)))
		return st;
	got = read_full(r->fp, r->buf, hdr_len);
	r->offset += got;
	if (got < hdr_len)
		return short_read(r->fp, w, "header", got, hdr_len);
	uint32_t crc = crc_update((uint32_t)crc32(0, Z_NULL, 0), pre, 24);
	crc = crc_update(crc, r->buf, hdr_len);
	if (crc != hdr_crc)
		return dc_fail(DC_ECRC, "%s: header CRC mismatch (stored %08x, computed %08x)", w, hdr_crc, crc);
	if (index != r->next_index)
		return dc_fail(DC_EFORMAT, "%s: out-of-order record index %llu", w, (unsigned long long)index);

	if (ancillary) {
		void *dummy;
		if ((st = read_payload(r, w, data_len, 0, &dummy)))
			return st;
		r->next_index++;
		return DC_EEOF + 1; /* internal: "skipped, read on" */
	}

	uint64_t records = 0;
	dc_record_release(rec);
	if ((st = parse_header(index, (const char *)r->buf, hdr_len, is_end, rec, &records)))
		return st;
	if (is_end) {
		if (data_len != 0)
			return dc_fail(DC_EFORMAT, "%s (END): nonzero payload length", w);
		if (records != index)
			return dc_fail(DC_EFORMAT, "%s (END): record count %llu does not match %llu records read",
			               w, (unsigned long long)records, (unsigned long long)index);
		void *dummy;
		if ((st = read_payload(r, w, 0, 0, &dummy)))
			return st;
		if (fgetc(r->fp) != EOF)
			return dc_fail(DC_EFORMAT, "trailing garbage after END record");
		if (ferror(r->fp))
			return dc_fail(DC_EIO, "read error after END record: %s", strerror(errno));
		return DC_EEOF;
	}
	w = where(&W, index, rec->name);
	size_t numel, nbytes;
	if (dc_shape_numel(rec->rank, rec->shape, &numel) ||
	    dc_mul_size(numel, dc_dtype_size(rec->dtype), &nbytes))
		return dc_fail(DC_EOVERFLOW, "%s: shape too large", w);
	if (data_len != nbytes) {
		char sh[200];
		int o = 0;
		for (int i = 0; i < rec->rank; i++)
			o += snprintf(sh + o, sizeof sh - (size_t)o, "%s%lld", i ? "x" : "", (long long)rec->shape[i]);
		if (rec->rank == 0)
			snprintf(sh, sizeof sh, "scalar");
		return dc_fail(DC_EFORMAT, "%s: payload length %llu does not match %s %s (%zu bytes)", w,
		               (unsigned long long)data_len, dc_dtype_name(rec->dtype), sh, nbytes);
	}
	if (r->max_payload && nbytes > r->max_payload)
		return dc_fail(DC_ELIMIT, "%s: payload of %zu bytes exceeds the limit of %zu", w, nbytes,
		               r->max_payload);
	rec->offset = r->offset;
	if ((st = read_payload(r, w, data_len, !r->skip_payload, &rec->data)))
		return st;
	rec->nbytes = nbytes;
	rec->owns_data = rec->data != NULL;
	rec->index = index;
	r->next_index++;
	return DC_OK;
}

enum dc_status dc_stream_read(struct dc_stream_reader *r, struct dc_record *rec)
{
	enum dc_status st;
	if (r->done) {
		if (r->status == DC_OK)
			return dc_fail(DC_EINVAL, "read from an unopened stream");
		if (r->status != DC_EEOF)
			dc_fail(r->status, "%s", r->errmsg);
		return r->status;
	}
	do {
		st = read_record(r, rec);
	} while ((int)st == DC_EEOF + 1);
	if (st != DC_OK) {
		r->done = 1;
		r->status = st;
		snprintf(r->errmsg, sizeof r->errmsg, "%s", dc_errmsg());
		if (st != DC_EEOF)
			dc_record_release(rec);
	}
	return st;
}

/* ---- writer ------------------------------------------------------------------------- */

static enum dc_status put(struct dc_stream_writer *w, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, w->fp) != n)
		return dc_fail(DC_EIO, "write error: %s", strerror(errno));
	w->offset += n;
	return DC_OK;
}

enum dc_status dc_stream_writer_open(struct dc_stream_writer *w, FILE *fp)
{
	unsigned char pre[DC_STREAM_PREAMBLE_SIZE] = { 0 };
	memset(w, 0, sizeof *w);
	w->fp = fp;
	memcpy(pre, dts_magic, 8);
	put_u32(pre + 8, DC_STREAM_VERSION);
	put_u32(pre + 12, 0);
	return put(w, pre, sizeof pre);
}

void dc_stream_writer_close(struct dc_stream_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->bufcap = 0;
}

/* Append formatted text to the writer's header buffer. */
static enum dc_status hdr_add(struct dc_stream_writer *w, size_t *len, const char *a, size_t an,
                              const char *b, size_t bn)
{
	size_t need = *len + an + bn + 2;
	if (need > DC_STREAM_MAX_HEADER + 64)
		return dc_fail(DC_ELIMIT, "record header longer than %d bytes", DC_STREAM_MAX_HEADER);
	if (need > w->bufcap) {
		size_t nc = w->bufcap ? w->bufcap : 1024;
		while (nc < need)
			nc *= 2;
		char *nb = realloc(w->buf, nc);
		if (!nb)
			return dc_fail(DC_ENOMEM, "out of memory");
		w->buf = nb;
		w->bufcap = nc;
	}
	memcpy(w->buf + *len, a, an);
	*len += an;
	if (b) {
		w->buf[(*len)++] = ' ';
		memcpy(w->buf + *len, b, bn);
		*len += bn;
	}
	w->buf[(*len)++] = '\n';
	return DC_OK;
}


/* Write prefix + header text (already in w->buf[0..len)) + payload + trailer. */
static enum dc_status write_record(struct dc_stream_writer *w, const char tag[4], size_t len,
                                   const void *data, size_t nbytes)
{
	enum dc_status st;
	size_t hdr_len = len;
	while ((DC_STREAM_PREFIX_SIZE + hdr_len) % DC_STREAM_ALIGN)
		hdr_len++;
	if (hdr_len > DC_STREAM_MAX_HEADER)
		return dc_fail(DC_ELIMIT, "record header longer than %d bytes", DC_STREAM_MAX_HEADER);
	if (hdr_len > w->bufcap) {
		char *nb = realloc(w->buf, hdr_len);
		if (!nb)
			return dc_fail(DC_ENOMEM, "out of memory");
		w->buf = nb;
		w->bufcap = hdr_len;
	}
	memset(w->buf + len, ' ', hdr_len - len);
	unsigned char pre[DC_STREAM_PREFIX_SIZE] = { 0 };
	memcpy(pre, tag, 4);
	put_u32(pre + 4, (uint32_t)hdr_len);
	put_u64(pre + 8, nbytes);
	put_u64(pre + 16, w->index);
	uint32_t crc = crc_update((uint32_t)crc32(0, Z_NULL, 0), pre, 24);
	put_u32(pre + 24, crc_update(crc, w->buf, hdr_len));
	unsigned char tail[8 + DC_STREAM_ALIGN] = { 0 };
	put_u32(tail, crc_update((uint32_t)crc32(0, Z_NULL, 0), data, nbytes));
	size_t pad = (DC_STREAM_ALIGN - (nbytes + 8) % DC_STREAM_ALIGN) % DC_STREAM_ALIGN;
	if ((st = put(w, pre, sizeof pre)) || (st = put(w, w->buf, hdr_len)) ||
	    (st = put(w, data, nbytes)) || (st = put(w, tail, 8 + pad)))
		return st;
	w->index++;
	return DC_OK;
}

enum dc_status dc_stream_write(struct dc_stream_writer *w, const struct dc_record *rec)
{
	enum dc_status st;
	size_t len = 0, numel, nbytes;
	char sh[DC_MAX_RANK * 21 + 1];
	if (w->finished)
		return dc_fail(DC_EINVAL, "write after END");
	if (!rec->name || !*rec->name)
		return dc_fail(DC_EINVAL, "record %llu has no name", (unsigned long long)w->index);
	size_t nn = strlen(rec->name), rn = rec->role ? strlen(rec->role) : 0;
	if (nn > DC_STREAM_MAX_NAME || !text_ok(rec->name, nn))
		return dc_fail(DC_EINVAL, "record %llu: invalid name", (unsigned long long)w->index);
	if (rn > DC_STREAM_MAX_NAME || !text_ok(rec->role, rn))
		return dc_fail(DC_EINVAL, "record %llu ('%s'): invalid role", (unsigned long long)w->index, rec->name);
	if ((unsigned)rec->dtype >= DC_DTYPE_COUNT || rec->rank < 0 || rec->rank > DC_MAX_RANK)
		return dc_fail(DC_EINVAL, "record %llu ('%s'): invalid dtype or rank",
		               (unsigned long long)w->index, rec->name);
	for (int i = 0; i < rec->rank; i++)
		if (rec->shape[i] < 0 || rec->shape[i] > DC_STREAM_MAX_DIM)
			return dc_fail(DC_EINVAL, "record %llu ('%s'): dimension %d out of range",
			               (unsigned long long)w->index, rec->name, i);
	if (dc_shape_numel(rec->rank, rec->shape, &numel) ||
	    dc_mul_size(numel, dc_dtype_size(rec->dtype), &nbytes))
		return dc_fail(DC_EOVERFLOW, "record %llu ('%s'): shape too large",
		               (unsigned long long)w->index, rec->name);
	if (nbytes != rec->nbytes || (nbytes && !rec->data))
		return dc_fail(DC_EINVAL, "record %llu ('%s'): %zu data bytes, shape needs %zu",
		               (unsigned long long)w->index, rec->name, rec->nbytes, nbytes);
	int o = 0;
	sh[0] = 0;
	for (int i = 0; i < rec->rank; i++)
		o += snprintf(sh + o, sizeof sh - (size_t)o, "%s%lld", i ? " " : "", (long long)rec->shape[i]);
	const char *dt = dc_dtype_name(rec->dtype);
	if ((st = hdr_add(w, &len, "name", 4, rec->name, nn)) ||
	    (st = hdr_add(w, &len, "dtype", 5, dt, strlen(dt))) ||
	    (st = hdr_add(w, &len, "shape", 5, rec->rank ? sh : NULL, (size_t)o)))
		return st;
	if (rn && (st = hdr_add(w, &len, "role", 4, rec->role, rn)))
		return st;
	if (rec->nmeta > DC_STREAM_MAX_META)
		return dc_fail(DC_ELIMIT, "record %llu ('%s'): more than %d metadata entries",
		               (unsigned long long)w->index, rec->name, DC_STREAM_MAX_META);
	size_t order[DC_STREAM_MAX_META];
	for (size_t i = 0; i < rec->nmeta; i++)
		order[i] = i;
	for (size_t i = 1; i < rec->nmeta; i++) /* insertion sort: reentrant, n is small */
		for (size_t j = i; j > 0 && strcmp(rec->meta_keys[order[j - 1]], rec->meta_keys[order[j]]) > 0; j--) {
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	char key[5 + DC_STREAM_MAX_KEY + 1];
	for (size_t j = 0; j < rec->nmeta; j++) {
		size_t i = order[j];
		const char *k = rec->meta_keys[i], *v = rec->meta_vals[i];
		size_t kn = strlen(k), vn = strlen(v);
		if (!key_ok(k, kn) || vn > DC_STREAM_MAX_VALUE || !text_ok(v, vn) ||
		    (j && strcmp(k, rec->meta_keys[order[j - 1]]) == 0))
			return dc_fail(DC_EINVAL, "record %llu ('%s'): invalid metadata entry '%.64s'",
			               (unsigned long long)w->index, rec->name, k);
		memcpy(key, "meta.", 5);
		memcpy(key + 5, k, kn);
		if ((st = hdr_add(w, &len, key, 5 + kn, v, vn)))
			return dc_fail(st, "record %llu ('%s'): %s", (unsigned long long)w->index, rec->name,
			               dc_errmsg());
	}
	if ((st = hdr_add(w, &len, "ENDHDR", 6, NULL, 0)))
		return st;
	return write_record(w, "TENS", len, rec->data, nbytes);
}

enum dc_status dc_stream_writer_finish(struct dc_stream_writer *w)
{
	enum dc_status st;
	char num[24];
	size_t len = 0;
	if (w->finished)
		return DC_OK;
	snprintf(num, sizeof num, "%llu", (unsigned long long)w->index);
	if ((st = hdr_add(w, &len, "records", 7, num, strlen(num))) ||
	    (st = hdr_add(w, &len, "ENDHDR", 6, NULL, 0)) ||
	    (st = write_record(w, "END\0", len, NULL, 0)))
		return st;
	w->finished = 1;
	if (fflush(w->fp))
		return dc_fail(DC_EIO, "write error: %s", strerror(errno));
	return DC_OK;
}

enum dc_status dc_stream_write_tensor(struct dc_stream_writer *w, const char *name,
                                      const char *role, const struct dc_tensor *t)
{
	struct dc_record rec;
	enum dc_status st;
	dc_record_init(&rec);
	if (!(st = dc_record_set_name(&rec, name)) && !(st = dc_record_set_role(&rec, role))) {
		dc_record_set_tensor(&rec, t);
		st = dc_stream_write(w, &rec);
	}
	dc_record_release(&rec);
	return st;
}
