/*
 * csv.c - numeric CSV tables with a header row, and UTC timestamps.
 *
 * Format read: records separated by LF or CRLF, fields by commas; a field
 * may be double-quoted, with "" standing for one quote and commas or line
 * breaks allowed inside the quotes.  A UTF-8 byte-order mark at the start
 * and blank lines are skipped; NUL bytes are an error.  The first record is the header.  Every
 * record must have as many fields as the header ("line N: ..." otherwise).
 * Cells are parsed with strtod (so "nan", "inf" and surrounding blanks are
 * accepted); empty cells are NaN.  The first column becomes the string
 * index when its header is "date" (any case) or any of its cells is not a
 * number.  Limits: DC_CSV_MAX_COLS fields per record, DC_CSV_MAX_LINE bytes
 * per record; every size product is overflow-checked.
 *
 * Format written: the same, numbers with "%.17g" (round-trips doubles) or
 * the caller's single-conversion format, NaN as an empty cell, fields
 * quoted only when they hold a comma, quote, CR or LF (or would otherwise
 * leave a blank line).  Everything in struct dc_csv is allocated with
 * dc_alloc, each string separately, and dc_csv_release frees it.
 *
 * Timestamps: proleptic Gregorian calendar in UTC with days-from-civil
 * arithmetic, no libc time zone functions.
 */
#include "media.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- a record reader ----------------------------------------------------------- */

struct csv_reader {
	FILE *fp;
	unsigned char inbuf[65536];
	size_t inpos, inlen;
	int eof;
	size_t line;            /* physical line number of the next byte (1-based) */
	/* The current record, with quotes removed; fields separated by offsets. */
	char *rec;
	size_t rec_len, rec_cap;
	size_t *fstart;         /* field i is rec[fstart[i] .. fstart[i]+flen[i]) */
	size_t *flen;
	unsigned char *fquoted;
	size_t nfields, fcap;
};

static int rd_byte(struct csv_reader *r)
{
	if (r->inpos == r->inlen) {
		if (r->eof)
			return EOF;
		/* On end of input the old buffer stays, so a peek can be undone. */
		size_t n = fread(r->inbuf, 1, sizeof r->inbuf, r->fp);
		if (n == 0) {
			r->eof = 1;
			return EOF;
		}
		r->inlen = n;
		r->inpos = 0;
	}
	return r->inbuf[r->inpos++];
}

static int rd_peek(struct csv_reader *r)
{
	int c = rd_byte(r);
	if (c != EOF)
		r->inpos--;
	return c;
}

static enum dc_status rec_put(struct csv_reader *r, char ch, size_t start_line)
{
	if (r->rec_len + 1 >= r->rec_cap) {
		if (r->rec_len + 1 > DC_CSV_MAX_LINE)
			return dc_fail(DC_ELIMIT, "line %zu: record longer than %u bytes", start_line,
			               DC_CSV_MAX_LINE);
		size_t cap = r->rec_cap ? r->rec_cap * 2 : 4096;
		char *p = realloc(r->rec, cap);
		if (!p)
			return dc_fail(DC_ENOMEM, "cannot allocate a %zu-byte line buffer", cap);
		r->rec = p;
		r->rec_cap = cap;
	}
	r->rec[r->rec_len++] = ch;
	return DC_OK;
}

static enum dc_status field_begin(struct csv_reader *r, size_t start_line)
{
	if (r->nfields == r->fcap) {
		if (r->nfields >= DC_CSV_MAX_COLS)
			return dc_fail(DC_ELIMIT, "line %zu: more than %d fields", start_line,
			               DC_CSV_MAX_COLS);
		size_t cap = r->fcap ? r->fcap * 2 : 64;
		size_t *a = realloc(r->fstart, cap * sizeof *a);
		if (a)
			r->fstart = a;
		size_t *b = a ? realloc(r->flen, cap * sizeof *b) : NULL;
		if (b)
			r->flen = b;
		unsigned char *q = b ? realloc(r->fquoted, cap) : NULL;
		if (!q)
			return dc_fail(DC_ENOMEM, "cannot allocate %zu fields", cap);
		r->fquoted = q;
		r->fcap = cap;
	}
	r->fstart[r->nfields] = r->rec_len;
	r->flen[r->nfields] = 0;
	r->fquoted[r->nfields] = 0;
	r->nfields++;
	return DC_OK;
}

/*
 * Read the next non-blank record.  Returns DC_OK with r->nfields > 0, DC_EEOF
 * at the end of input, or an error.  *start_line is where the record began.
 */
static enum dc_status rd_record(struct csv_reader *r, size_t *start_line)
{
	enum dc_status st;
	for (;;) {
		r->rec_len = 0;
		r->nfields = 0;
		*start_line = r->line;
		int c = rd_byte(r);
		if (c == EOF)
			return ferror(r->fp) ? dc_fail(DC_EIO, "read error") : DC_EEOF;
		/* Blank line (LF or CRLF). */
		if (c == '\n') {
			r->line++;
			continue;
		}
		if (c == '\r' && rd_peek(r) == '\n') {
			rd_byte(r);
			r->line++;
			continue;
		}
		if ((st = field_begin(r, *start_line)) != DC_OK)
			return st;
		int in_quotes = 0, after_quote = 0;
		for (;; c = rd_byte(r)) {
			if (c == EOF) {
				if (ferror(r->fp))
					return dc_fail(DC_EIO, "read error");
				if (in_quotes)
					return dc_fail(DC_EFORMAT, "line %zu: unterminated quoted field",
					               *start_line);
				break;
			}
			if (c == 0)
				return dc_fail(DC_EFORMAT, "line %zu: NUL byte (not a text file)", r->line);
			if (in_quotes) {
				if (c == '"') {
					if (rd_peek(r) == '"') {
						rd_byte(r);
					} else {
						in_quotes = 0;
						after_quote = 1;
						continue;
					}
				} else if (c == '\n') {
					r->line++;
				}
				if ((st = rec_put(r, (char)c, *start_line)) != DC_OK)
					return st;
				r->flen[r->nfields - 1]++;
				continue;
			}
			if (c == '\n') {
				r->line++;
				break;
			}
			if (c == '\r' && rd_peek(r) == '\n')
				continue;   /* the LF ends the record */
			if (c == ',') {
				after_quote = 0;
				if ((st = field_begin(r, *start_line)) != DC_OK)
					return st;
				continue;
			}
			if (c == '"' && r->flen[r->nfields - 1] == 0 && !r->fquoted[r->nfields - 1]) {
				in_quotes = 1;
				r->fquoted[r->nfields - 1] = 1;
				continue;
			}
			if (after_quote) {
				if (c == ' ' || c == '\t')
					continue;
				return dc_fail(DC_EFORMAT, "line %zu, field %zu: text after closing quote",
				               *start_line, r->nfields);
			}
			if (c == '"')
				return dc_fail(DC_EFORMAT, "line %zu, field %zu: stray quote in unquoted field",
				               *start_line, r->nfields);
			if ((st = rec_put(r, (char)c, *start_line)) != DC_OK)
				return st;
			r->flen[r->nfields - 1]++;
		}
		return DC_OK;
	}
}

/* Field i as a NUL-terminated string in `tmp`, or NULL if it does not fit. */
static const char *field(struct csv_reader *r, size_t i, char *tmp, size_t tmpn)
{
	size_t n = r->flen[i];
	if (n >= tmpn)
		return NULL;
	memcpy(tmp, r->rec + r->fstart[i], n);
	tmp[n] = 0;
	return tmp;
}

static char *dup_bytes(const char *s, size_t n)
{
	char *p = dc_alloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

/* The strings pandas' read_csv takes for a missing value (its default
 * na_values; strtod reads the NaN spellings itself). */
static int is_na(const char *s, size_t n)
{
	static const char *const na[] = { "NA", "N/A", "n/a", "NULL", "null", "None", "<NA>", "#N/A", "#N/A N/A",
	                                  "#NA", "1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN" };
	for (size_t i = 0; i < sizeof na / sizeof na[0]; i++)
		if (strlen(na[i]) == n && memcmp(na[i], s, n) == 0)
			return 1;
	return 0;
}

/* Parse a numeric cell: empty/blank or a missing-value marker (NA, null,
 * ...) -> NaN; returns -1 if not a number. */
static int parse_cell(const char *s, size_t n, double *out)
{
	char buf[1024];
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || is_na(s, n)) {
		*out = NAN;
		return 0;
	}
	if (n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	if (end != buf + n)
		return -1;
	*out = v;
	return 0;
}

/* Grow a dc_alloc'ed array to hold `need` elements of `elem` bytes. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 256, bytes;
	while (ncap < need) {
		if (dc_mul_size(ncap, 2, &ncap))
			return -1;
	}
	if (dc_mul_size(ncap, elem, &bytes))
		return -1;
	void *q = dc_alloc(bytes);
	if (!q)
		return -1;
	if (*p) {
		memcpy(q, *p, *cap * elem);
		dc_free(*p);
	}
	*p = q;
	*cap = ncap;
	return 0;
}

enum dc_status dc_csv_read(FILE *fp, struct dc_csv *csv)
{
	memset(csv, 0, sizeof *csv);
	struct csv_reader *r = calloc(1, sizeof *r);
	if (!r)
		return dc_fail(DC_ENOMEM, "cannot allocate CSV reader");
	r->fp = fp;
	r->line = 1;
	r->rec_cap = 4096;
	if (!(r->rec = malloc(r->rec_cap))) {
		free(r);
		return dc_fail(DC_ENOMEM, "cannot allocate CSV reader");
	}
	enum dc_status st;
	size_t line, ncols_all = 0, vcap = 0;
	char **first = NULL;      /* first-column cells as strings */
	double *firstv = NULL;    /* and as numbers */
	size_t fcap = 0, fvcap = 0;
	int first_numeric = 1;

	/* Skip a UTF-8 BOM. */
	if (rd_peek(r) == 0xEF) {
		rd_byte(r);
		if (rd_peek(r) == 0xBB) {
			rd_byte(r);
			if (rd_peek(r) == 0xBF)
				rd_byte(r);
			else
				r->inpos -= 2;
		} else {
			r->inpos--;
		}
	}
	st = rd_record(r, &line);
	if (st == DC_EEOF) {
		st = dc_fail(DC_EFORMAT, "empty input (no header row)");
		goto fail;
	}
	if (st != DC_OK)
		goto fail;
	ncols_all = r->nfields;
	char **names = dc_calloc(ncols_all, sizeof *names);
	if (!names) {
		st = dc_fail(DC_ENOMEM, "cannot allocate %zu column names", ncols_all);
		goto fail;
	}
	csv->colnames = names;
	for (size_t i = 0; i < ncols_all; i++) {
		/* "date, load, OT": names without the blanks around them */
		const char *nm = r->rec + r->fstart[i];
		size_t nl = r->flen[i];
		while (nl > 0 && (*nm == ' ' || *nm == '\t')) {
			nm++;
			nl--;
		}
		while (nl > 0 && (nm[nl - 1] == ' ' || nm[nl - 1] == '\t'))
			nl--;
		if (!(names[i] = dup_bytes(nm, nl))) {
			st = dc_fail(DC_ENOMEM, "cannot allocate column names");
			goto fail;
		}
	}
	int date_header = strcasecmp(names[0], "date") == 0;

	for (;;) {
		st = rd_record(r, &line);
		if (st == DC_EEOF)
			break;
		if (st != DC_OK)
			goto fail;
		if (r->nfields != ncols_all) {
			st = dc_fail(DC_EFORMAT, "line %zu: %zu fields, expected %zu as in the header",
			             line, r->nfields, ncols_all);
			goto fail;
		}
		size_t row = csv->rows, need;
		if (dc_add_size(row, 1, &need) || grow((void **)&first, &fcap, need, sizeof *first) ||
		    grow((void **)&firstv, &fvcap, need, sizeof *firstv)) {
			st = dc_fail(DC_ENOMEM, "cannot allocate %zu rows", need);
			goto fail;
		}
		if (!(first[row] = dup_bytes(r->rec + r->fstart[0], r->flen[0]))) {
			st = dc_fail(DC_ENOMEM, "cannot allocate index");
			goto fail;
		}
		csv->rows = need;   /* first[] now owns row entries */
		if (first_numeric && !date_header &&
		    parse_cell(first[row], r->flen[0], &firstv[row]) != 0)
			first_numeric = 0;
		/* Remaining columns. */
		size_t total;
		if (dc_mul_size(need, ncols_all - 1 ? ncols_all - 1 : 1, &total) ||
		    grow((void **)&csv->values, &vcap, total, sizeof(double))) {
			st = dc_fail(DC_ENOMEM, "cannot allocate values for %zu rows", need);
			goto fail;
		}
		double *dst = csv->values + row * (ncols_all - 1);
		for (size_t j = 1; j < ncols_all; j++) {
			if (parse_cell(r->rec + r->fstart[j], r->flen[j], &dst[j - 1]) != 0) {
				char tmp[48];
				const char *f = field(r, j, tmp, sizeof tmp);
				st = dc_fail(DC_EFORMAT, "line %zu, column '%s': not a number '%s'", line,
				             names[j], f ? f : "(long text)");
				goto fail;
			}
		}
	}
	if (!csv->values && !(csv->values = dc_alloc(0))) {
		st = dc_fail(DC_ENOMEM, "cannot allocate values");
		goto fail;
	}

	if (date_header || !first_numeric) {
		/* Index column: names[0] -> index_name, first[] -> index. */
		csv->index_name = names[0];
		memmove(names, names + 1, (ncols_all - 1) * sizeof *names);
		csv->cols = ncols_all - 1;
		if (!first && !(first = dc_alloc(0))) {
			st = dc_fail(DC_ENOMEM, "cannot allocate index");
			goto fail;
		}
		csv->index = first;
		first = NULL;
	} else {
		/* Numeric first column: rebuild values with it in front. */
		size_t total, bytes;
		if (dc_mul_size(csv->rows, ncols_all, &total) ||
		    dc_mul_size(total, sizeof(double), &bytes)) {
			st = dc_fail(DC_EOVERFLOW, "table too large");
			goto fail;
		}
		double *v = dc_alloc(bytes);
		if (!v) {
			st = dc_fail(DC_ENOMEM, "cannot allocate %zu values", total);
			goto fail;
		}
		for (size_t i = 0; i < csv->rows; i++) {
			v[i * ncols_all] = firstv[i];
			memcpy(v + i * ncols_all + 1, csv->values + i * (ncols_all - 1),
			       (ncols_all - 1) * sizeof(double));
		}
		dc_free(csv->values);
		csv->values = v;
		csv->cols = ncols_all;
		for (size_t i = 0; i < csv->rows; i++)
			dc_free(first[i]);
		dc_free(first);
		first = NULL;
	}
	dc_free(firstv);
	free(r->rec);
	free(r->fstart);
	free(r->flen);
	free(r->fquoted);
	free(r);
	return DC_OK;

fail:
	if (first) {
		for (size_t i = 0; i < csv->rows; i++)
			dc_free(first[i]);
		dc_free(first);
	}
	dc_free(firstv);
	if (csv->colnames) {
		for (size_t i = 0; i < ncols_all; i++)
			dc_free(csv->colnames[i]);
		dc_free(csv->colnames);
	}
	dc_free(csv->values);
	memset(csv, 0, sizeof *csv);
	free(r->rec);
	free(r->fstart);
	free(r->flen);
	free(r->fquoted);
	free(r);
	return st;
}

/* ---- writing ---------------------------------------------------------------- */

/* A printf format for one double: text, %% and exactly one
 * %[flags][width][.precision](a|A|e|E|f|F|g|G). */
static int valid_float_fmt(const char *f)
{
	int convs = 0;
	for (const char *p = f; *p; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == '%')
			continue;
		while (*p && strchr("-+ #0", *p))
			p++;
		int digits = 0;
		while (isdigit((unsigned char)*p) && digits < 3) {
			p++;
			digits++;
		}
		if (isdigit((unsigned char)*p))
			return 0;
		if (*p == '.') {
			p++;
			digits = 0;
			while (isdigit((unsigned char)*p) && digits < 3) {
				p++;
				digits++;
			}
			if (isdigit((unsigned char)*p))
				return 0;
		}
		if (!*p || !strchr("aAeEfFgG", *p))
			return 0;
		convs++;
	}
	return convs == 1;
}

static int needs_quotes(const char *s)
{
	return strpbrk(s, ",\"\r\n") != NULL;
}

/* `alone`: the only field of its line (an empty one must be quoted or the
 * line would read as blank); `first`: the first field of the file (one
 * that starts with a UTF-8 BOM is quoted, or the reader would strip it). */
static void put_field(FILE *fp, const char *s, int alone, int first)
{
	if (!needs_quotes(s) && !(alone && !*s) && !(first && !strncmp(s, "\xEF\xBB\xBF", 3))) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

enum dc_status dc_csv_write(FILE *fp, const struct dc_csv *csv, const char *float_fmt)
{
	const char *fmt = float_fmt ? float_fmt : "%.17g";
	if (!valid_float_fmt(fmt))
		return dc_fail(DC_EINVAL, "invalid number format '%s' (one %%e/%%f/%%g conversion)", fmt);
	size_t total;
	if (dc_mul_size(csv->rows, csv->cols, &total))
		return dc_fail(DC_EOVERFLOW, "table size overflows");
	if (total && !csv->values)
		return dc_fail(DC_EINVAL, "table has no values");
	if (csv->cols && !csv->colnames)
		return dc_fail(DC_EINVAL, "table has no column names");
	int has_index = csv->index != NULL || csv->index_name != NULL;
	size_t nf = csv->cols + (has_index ? 1 : 0);
	if (nf == 0)
		return dc_fail(DC_EINVAL, "table has no columns");
	/* Header. */
	if (has_index)
		put_field(fp, csv->index_name ? csv->index_name : "", nf == 1, 1);
	for (size_t j = 0; j < csv->cols; j++) {
		if (has_index || j)
			fputc(',', fp);
		put_field(fp, csv->colnames[j] ? csv->colnames[j] : "", nf == 1, !has_index && !j);
	}
	fputc('\n', fp);
	char buf[512];
	for (size_t i = 0; i < csv->rows; i++) {
		if (has_index)
			put_field(fp, csv->index && csv->index[i] ? csv->index[i] : "", nf == 1, 0);
		for (size_t j = 0; j < csv->cols; j++) {
			if (has_index || j)
				fputc(',', fp);
			double v = csv->values[i * csv->cols + j];
			if (isnan(v)) {
				if (nf == 1)
					fputs("\"\"", fp);
				continue;
			}
			int n = snprintf(buf, sizeof buf, fmt, v);
			if (n < 0 || (size_t)n >= sizeof buf)
				return dc_fail(DC_EINVAL, "number format '%s' gives over-long text", fmt);
			put_field(fp, buf, nf == 1, 0);
		}
		fputc('\n', fp);
		if (ferror(fp))
			return dc_fail(DC_EIO, "write error");
	}
	if (fflush(fp) != 0 || ferror(fp))
		return dc_fail(DC_EIO, "write error");
	return DC_OK;
}

void dc_csv_release(struct dc_csv *csv)
{
	if (!csv)
		return;
	if (csv->colnames)
		for (size_t j = 0; j < csv->cols; j++)
			dc_free(csv->colnames[j]);
	dc_free(csv->colnames);
	if (csv->index)
		for (size_t i = 0; i < csv->rows; i++)
			dc_free(csv->index[i]);
	dc_free(csv->index);
	dc_free(csv->index_name);
	dc_free(csv->values);
	memset(csv, 0, sizeof *csv);
}

/* ---- timestamps --------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                                   /* [0, 399] */
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;  /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Parse 1..maxd digits; returns the number or -1. */
static int digits(const char **s, int mind, int maxd)
{
	int v = 0, n = 0;
	while (n < maxd && isdigit((unsigned char)**s)) {
		v = v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	return n >= mind ? v : -1;
}

int dc_parse_timestamp(const char *s, int64_t *epoch_seconds)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (!s)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	int y = digits(&s, 4, 4);
	if (y < 0)
		return -1;
	char sep = *s;
	if (sep != '-' && sep != '/')
		return -1;
	s++;
	int mo = digits(&s, 1, 2);
	if (mo < 1 || mo > 12 || *s != sep)
		return -1;
	s++;
	int d = digits(&s, 1, 2);
	if (d < 1 || d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
		return -1;
	int h = 0, mi = 0, sec = 0;
	if (*s == ' ' || *s == 'T') {
		s++;
		h = digits(&s, 1, 2);
		if (h < 0 || h > 23 || *s != ':')
			return -1;
		s++;
		mi = digits(&s, 2, 2);
		if (mi < 0 || mi > 59)
			return -1;
		if (*s == ':') {
			s++;
			sec = digits(&s, 2, 2);
			if (sec < 0 || sec > 59)
				return -1;
			if (*s == '.') {   /* fractional seconds are dropped */
				s++;
				if (!isdigit((unsigned char)*s))
					return -1;
				while (isdigit((unsigned char)*s))
					s++;
			}
		}
		if (*s == 'Z')
			s++;
	}
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	if (*s)
		return -1;
	*epoch_seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
}

static void put_digits(char *p, int64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

void dc_format_timestamp(int64_t t, char buf[20])
{
	/* Clamp to years 0000..9999, the range the fixed width can show. */
	const int64_t lo = days_from_civil(0, 1, 1) * 86400;
	const int64_t hi = days_from_civil(10000, 1, 1) * 86400 - 1;
	if (t < lo)
		t = lo;
	if (t > hi)
		t = hi;
	int64_t days = t / 86400, secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	memcpy(buf, "0000-00-00 00:00:00", 20);
	put_digits(buf, y, 4);
	put_digits(buf + 5, m, 2);
	put_digits(buf + 8, d, 2);
	put_digits(buf + 11, secs / 3600, 2);
	put_digits(buf + 14, secs / 60 % 60, 2);
	put_digits(buf + 17, secs % 60, 2);
}

void dc_format_timestamp_like(int64_t t, const char *like, char buf[DC_TIMESTAMP_MAX])
{
	char full[20];
	int64_t unused;
	dc_format_timestamp(t, full);
	if (!like || dc_parse_timestamp(like, &unused)) {
		memcpy(buf, full, 20);
		return;
	}
	/* The layout of `like`, which parsed: YYYY s M s D [(' '|'T') h:mm[:ss[.f]]][Z] */
	const char *s = like;
	while (*s == ' ' || *s == '\t')
		s++;
	char dsep = s[4], tsep = 0;
	int secs = 0, zulu = 0;
	s += 5;
	while (isdigit((unsigned char)*s))
		s++;
	s++;
	while (isdigit((unsigned char)*s))
		s++;
	if (*s == ' ' || *s == 'T') {
		tsep = *s++;
		while (isdigit((unsigned char)*s))
			s++;
		s += 3; /* ":mm" */
		secs = *s == ':';
		while (*s && *s != 'Z' && *s != ' ' && *s != '\t' && *s != '\r')
			s++;
		zulu = *s == 'Z';
	}
	int64_t tod = t % 86400;
	if (tod < 0)
		tod += 86400;
	if (!tsep && tod) { /* a time of day on a date-only layout: written in full */
		tsep = ' ';
		secs = 1;
	}
	if (tod % 60)
		secs = 1;
	size_t n = 10;
	memcpy(buf, full, 10);
	buf[4] = buf[7] = dsep;
	if (tsep) {
		buf[n++] = tsep;
		memcpy(buf + n, full + 11, secs ? 8 : 5);
		n += secs ? 8 : 5;
		if (zulu)
			buf[n++] = 'Z';
	}
	buf[n] = 0;
}
