/*
 * npy.c - NumPy .npy reader and writer (see npy.h for the byte layout and
 * the dtype table).  The header is an untrusted Python literal: it is parsed
 * by a small strict scanner (a dict of exactly 'descr', 'fortran_order' and
 * 'shape'), never evaluated.
 */
#include "npy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char npy_magic[6] = { (char)0x93, 'N', 'U', 'M', 'P', 'Y' };

static const struct { const char *descr; enum dc_dtype dt; } descr_table[] = {
	{ "<f4", DC_F32 }, { "<f2", DC_F16 }, { "<V2", DC_BF16 }, { "<f8", DC_F64 },
	{ "|i1", DC_I8 }, { "|u1", DC_U8 }, { "<i2", DC_I16 }, { "<u2", DC_U16 },
	{ "<i4", DC_I32 }, { "<u4", DC_U32 }, { "<i8", DC_I64 }, { "<u8", DC_U64 },
	{ "|b1", DC_BOOL },
};

const char *dc_npy_descr(enum dc_dtype t)
{
	for (size_t i = 0; i < sizeof descr_table / sizeof descr_table[0]; i++)
		if (descr_table[i].dt == t)
			return descr_table[i].descr;
	return NULL;
}

static int descr_parse(const char *s, enum dc_dtype *out)
{
	if (strlen(s) != 3)
		return -1;
	for (size_t i = 0; i < sizeof descr_table / sizeof descr_table[0]; i++) {
		const char *d = descr_table[i].descr;
		if (strcmp(s + 1, d + 1) != 0)
			continue;
		/* byte order: exact, '=' (native = little), or '<'/'|' for 1-byte and V2 */
		int one = d[0] == '|' || (d[1] == 'V' && d[2] == '2');
		if (s[0] == d[0] || s[0] == '=' || (one && (s[0] == '<' || s[0] == '|'))) {
			*out = descr_table[i].dt;
			return 0;
		}
	}
	return -1;
}

/* ---- header scanner ------------------------------------------------------------------ */

struct scan {
	const char *p, *end;
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int eat(struct scan *s, char c)
{
	skip_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return 1;
	}
	return 0;
}

/* A quoted string (no escapes needed for our keys/values) into buf. */
static int scan_str(struct scan *s, char *buf, size_t cap)
{
	skip_ws(s);
	if (s->p >= s->end || (*s->p != '\'' && *s->p != '"'))
		return -1;
	char q = *s->p++;
	size_t n = 0;
	while (s->p < s->end && *s->p != q) {
		if (*s->p == '\\' || n + 1 >= cap)
			return -1;
		buf[n++] = *s->p++;
	}
	if (s->p >= s->end)
		return -1;
	s->p++;
	buf[n] = 0;
	return 0;
}

static int scan_word(struct scan *s, const char *w)
{
	size_t n = strlen(w);
	skip_ws(s);
	if ((size_t)(s->end - s->p) >= n && memcmp(s->p, w, n) == 0) {
		s->p += n;
		return 1;
	}
	return 0;
}

static enum dc_status scan_shape(struct scan *s, struct dc_tensor *t)
{
	t->rank = 0;
	if (!eat(s, '('))
		return dc_fail(DC_EFORMAT, "npy header: 'shape' is not a tuple");
	for (;;) {
		if (eat(s, ')'))
			return DC_OK;
		if (t->rank >= DC_MAX_RANK)
			return dc_fail(DC_ELIMIT, "npy header: rank above %d", DC_MAX_RANK);
		skip_ws(s);
		int64_t v = 0;
		const char *start = s->p;
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
			v = v * 10 + (*s->p - '0');
			s->p++;
			if (v > DC_NPY_MAX_DIM)
				return dc_fail(DC_ELIMIT, "npy header: dimension above 2^48");
		}
		if (s->p == start)
			return dc_fail(DC_EFORMAT, "npy header: bad dimension in 'shape'");
		if (s->p < s->end && *s->p == 'L')
			s->p++;
		t->shape[t->rank++] = v;
		if (eat(s, ','))
			continue;
		if (eat(s, ')'))
			return DC_OK;
		return dc_fail(DC_EFORMAT, "npy header: bad 'shape' tuple");
	}
}

static enum dc_status parse_header(const char *h, size_t n, struct dc_tensor *t)
{
	struct scan s = { h, h + n };
	int have_descr = 0, have_fortran = 0, have_shape = 0;
	char key[32], descr[64];
	enum dc_status st;
	if (memchr(h, 0, n))
		return dc_fail(DC_EFORMAT, "npy header contains a NUL byte");
	if (!eat(&s, '{'))
		return dc_fail(DC_EFORMAT, "npy header is not a dict");
	while (!eat(&s, '}')) {
		if (scan_str(&s, key, sizeof key) || !eat(&s, ':'))
			return dc_fail(DC_EFORMAT, "npy header: malformed dict");
		if (strcmp(key, "descr") == 0 && !have_descr++) {
			if (scan_str(&s, descr, sizeof descr))
				return dc_fail(DC_EUNSUPPORTED, "npy header: structured or non-string 'descr' not supported");
			if (descr_parse(descr, &t->dtype))
				return dc_fail(DC_EUNSUPPORTED, "npy dtype '%s' not supported%s", descr,
				               descr[0] == '>' ? " (big-endian)" : "");
		} else if (strcmp(key, "fortran_order") == 0 && !have_fortran++) {
			if (scan_word(&s, "True"))
				return dc_fail(DC_EUNSUPPORTED, "Fortran-order arrays are not supported (save in C order)");
			if (!scan_word(&s, "False"))
				return dc_fail(DC_EFORMAT, "npy header: 'fortran_order' is not True or False");
		} else if (strcmp(key, "shape") == 0 && !have_shape++) {
			if ((st = scan_shape(&s, t)))
				return st;
		} else {
			return dc_fail(DC_EFORMAT, "npy header: unexpected or duplicate key '%s'", key);
		}
		if (!eat(&s, ',')) {
			if (eat(&s, '}'))
				break;
			return dc_fail(DC_EFORMAT, "npy header: malformed dict");
		}
	}
	skip_ws(&s);
	if (s.p != s.end)
		return dc_fail(DC_EFORMAT, "npy header: garbage after the dict");
	if (!have_descr || !have_fortran || !have_shape)
		return dc_fail(DC_EFORMAT, "npy header lacks '%s'",
		               !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
	return DC_OK;
}

/* ---- reading ------------------------------------------------------------------------- */

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

static enum dc_status short_read(FILE *fp, const char *part, size_t got, size_t want)
{
	if (ferror(fp))
		return dc_fail(DC_EIO, "read error: %s", strerror(errno));
	return dc_fail(DC_ETRUNC, "truncated npy %s (%zu of %zu bytes)", part, got, want);
}

enum dc_status dc_npy_read(FILE *fp, struct dc_tensor *t)
{
	unsigned char pre[12];
	enum dc_status st;
	memset(t, 0, sizeof *t);
	size_t got = read_full(fp, pre, 10);
	if (got == 0 && !ferror(fp))
		return DC_EEOF;
	if (memcmp(pre, npy_magic, got < 6 ? got : 6) != 0)
		return dc_fail(DC_EFORMAT, "not an npy file (bad magic)");
	if (got < 10)
		return short_read(fp, "preamble", got, 10);
	unsigned major = pre[6], minor = pre[7];
	size_t hlen, off;
	if (major == 1 && minor == 0) {
		hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
		off = 10;
	} else if ((major == 2 || major == 3) && minor == 0) {
		if (read_full(fp, pre + 10, 2) < 2)
			return short_read(fp, "preamble", 10, 12);
		hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
		off = 12;
	} else {
		return dc_fail(DC_EUNSUPPORTED, "unsupported npy format version %u.%u", major, minor);
	}
	if (hlen > DC_NPY_MAX_HEADER)
		return dc_fail(DC_ELIMIT, "npy header of %zu bytes exceeds the limit of %d", hlen, DC_NPY_MAX_HEADER);
	(void)off;
	char *h = malloc(hlen + 1);
	if (!h)
		return dc_fail(DC_ENOMEM, "out of memory");
	got = read_full(fp, h, hlen);
	if (got < hlen) {
		free(h);
		return short_read(fp, "header", got, hlen);
	}
	h[hlen] = 0;
	st = parse_header(h, hlen, t);
	free(h);
	if (st)
		return st;
	size_t numel, nbytes;
	if (dc_shape_numel(t->rank, t->shape, &numel) || dc_mul_size(numel, dc_dtype_size(t->dtype), &nbytes))
		return dc_fail(DC_EOVERFLOW, "npy shape too large");
	/* grow as bytes arrive */
	size_t cap = nbytes < ((size_t)1 << 20) ? nbytes : (size_t)1 << 20, have = 0;
	unsigned char *data = dc_alloc(cap);
	if (!data)
		return dc_fail(DC_ENOMEM, "out of memory");
	while (have < nbytes) {
		if (have == cap) {
			size_t ncap = cap > nbytes / 2 ? nbytes : cap * 2;
			unsigned char *nd = dc_alloc(ncap);
			if (!nd) {
				dc_free(data);
				return dc_fail(DC_ENOMEM, "out of memory for %zu bytes", ncap);
			}
			memcpy(nd, data, have);
			dc_free(data);
			data = nd;
			cap = ncap;
		}
		size_t k = read_full(fp, data + have, cap - have);
		have += k;
		if (have < cap) {
			dc_free(data);
			return short_read(fp, "data", have, nbytes);
		}
	}
	t->data = data;
	t->nbytes = nbytes;
	t->owned = 1;
	return DC_OK;
}

/* ---- writing ------------------------------------------------------------------------- */

enum dc_status dc_npy_write(FILE *fp, const struct dc_tensor *t)
{
	const char *descr = dc_npy_descr(t->dtype);
	char h[512];
	size_t numel, nbytes;
	if (!descr || t->rank < 0 || t->rank > DC_MAX_RANK)
		return dc_fail(DC_EINVAL, "cannot write dtype %s / rank %d as npy", dc_dtype_name(t->dtype), t->rank);
	if (dc_shape_numel(t->rank, t->shape, &numel) || dc_mul_size(numel, dc_dtype_size(t->dtype), &nbytes) ||
	    nbytes != t->nbytes)
		return dc_fail(DC_EINVAL, "tensor data size does not match its shape");
	/* numpy: "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }" */
	int n = snprintf(h + 10, sizeof h - 10, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
	for (int i = 0; i < t->rank; i++)
		n += snprintf(h + 10 + n, sizeof h - 10 - (size_t)n, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
	n += snprintf(h + 10 + n, sizeof h - 10 - (size_t)n, "%s), }", t->rank == 1 ? "," : "");
	if (t->rank > 0) { /* growth padding: 21 - len(repr(shape[0])) spaces */
		char d0[24];
		int dl = snprintf(d0, sizeof d0, "%lld", (long long)t->shape[0]);
		for (int i = dl; i < 21; i++)
			h[10 + n++] = ' ';
	}
	size_t hlen = (size_t)n + 1;
	size_t padlen = 64 - (10 + hlen) % 64;
	memset(h + 10 + n, ' ', padlen);
	h[10 + hlen + padlen - 1] = '\n';
	memcpy(h, npy_magic, 6);
	h[6] = 1;
	h[7] = 0;
	size_t total = hlen + padlen;
	h[8] = (char)(total & 0xff);
	h[9] = (char)(total >> 8);
	if (fwrite(h, 1, 10 + total, fp) != 10 + total || (nbytes && fwrite(t->data, 1, nbytes, fp) != nbytes))
		return dc_fail(DC_EIO, "write error: %s", strerror(errno));
	return DC_OK;
}
