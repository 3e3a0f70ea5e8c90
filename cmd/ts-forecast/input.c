/*
 * input.c - ts-forecast's input: the whole input is read into memory,
 * gunzipped when it starts with the gzip magic (1f 8b), and parsed as a
 * tensor stream when it starts with the DTS magic (a record of shape
 * [T][C] with meta "columns" (comma-separated names), "start" (timestamp)
 * and "step" or "freq" (seconds), as tensor-tool from-csv writes it), else
 * as CSV.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cli/cli.h"
#include "io/stream.h"
#include "tsf.h"

static unsigned char *slurp(FILE *fp, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	unsigned char *b = malloc(cap);
	if (!b)
		return NULL;
	for (;;) {
		if (n == cap) {
			unsigned char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
			if (!nb) {
				free(b);
				return NULL;
			}
			b = nb;
			cap *= 2;
		}
		size_t r = fread(b + n, 1, cap - n, fp);
		n += r;
		if (r == 0)
			break;
	}
	*len = n;
	return b;
}

static unsigned char *gunzip(const unsigned char *in, size_t len, size_t *outlen)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return NULL;
	size_t cap = len * 4 + 1024, n = 0;
	unsigned char *out = malloc(cap);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)len;
	int r = Z_OK;
	while (out && r != Z_STREAM_END) {
		if (n == cap) {
			unsigned char *nb = realloc(out, cap * 2);
			if (!nb) {
				free(out);
				out = NULL;
				break;
			}
			out = nb;
			cap *= 2;
		}
		z.next_out = out + n;
		z.avail_out = (uInt)(cap - n > UINT32_MAX ? UINT32_MAX : cap - n);
		r = inflate(&z, Z_NO_FLUSH);
		n = (size_t)(z.next_out - out);
		if (r != Z_OK && r != Z_STREAM_END) {
			free(out);
			out = NULL;
		}
	}
	inflateEnd(&z);
	*outlen = n;
	return out;
}

static void table_from_stream(FILE *fp, const char *name, struct dc_csv *csv)
{
	struct dc_stream_reader r;
	struct dc_record rec;
	dc_record_init(&rec);
	enum dc_status st = dc_stream_reader_open(&r, fp);
	if (!st)
		st = dc_stream_read(&r, &rec);
	if (st)
		dc_die_status(st, "cannot read '%s'", name);
	const char *cols = dc_record_meta_get(&rec, "columns");
	const char *start = dc_record_meta_get(&rec, "start");
	const char *step = dc_record_meta_get(&rec, "step");
	if (!step)
		step = dc_record_meta_get(&rec, "freq"); /* tensor-tool from-csv: seconds */
	const char *iname = dc_record_meta_get(&rec, "index_name");
	int64_t t0 = 0, dt = step ? strtoll(step, NULL, 10) : 0;
	/* without start and step: a series without timestamps, as a CSV without a date column */
	int timed = start || step;
	if (rec.rank != 2 || (timed && (!start || dt <= 0 || dc_parse_timestamp(start, &t0))))
		dc_die("cannot read '%s': a series record needs shape [T][C] and, for timestamps, meta start and step",
		       name);
	size_t T = (size_t)rec.shape[0], C = (size_t)rec.shape[1];
	memset(csv, 0, sizeof *csv);
	csv->rows = T;
	csv->cols = C;
	csv->colnames = dc_calloc(C ? C : 1, sizeof(char *));
	csv->index = timed ? dc_calloc(T ? T : 1, sizeof(char *)) : NULL;
	csv->values = dc_calloc(T * C + 1, sizeof(double));
	const char *nm = iname && *iname ? iname : "date";
	if (timed && (csv->index_name = dc_alloc(strlen(nm) + 1)))
		strcpy(csv->index_name, nm);
	float *tmp = dc_alloc((T * C + 1) * sizeof(float));
	if (!csv->colnames || (timed && (!csv->index || !csv->index_name)) || !csv->values || !tmp)
		dc_die("out of memory");
	const char *p = cols;
	for (size_t j = 0; j < C; j++) {
		char buf[256];
		size_t k = 0;
		while (p && *p && *p != ',' && k < sizeof buf - 1)
			buf[k++] = *p++;
		if (p && *p == ',')
			p++;
		if (k == 0)
			k = (size_t)snprintf(buf, sizeof buf, "%zu", j);
		buf[k] = 0;
		csv->colnames[j] = dc_alloc(k + 1);
		memcpy(csv->colnames[j], buf, k + 1);
	}
	if (rec.dtype == DC_F64) {
		memcpy(csv->values, rec.data, T * C * sizeof(double));
	} else {
		dc_convert_to_f32(tmp, rec.data, rec.dtype, T * C);
		for (size_t i = 0; i < T * C; i++)
			csv->values[i] = tmp[i];
	}
	for (size_t i = 0; timed && i < T; i++) {
		if (!(csv->index[i] = dc_alloc(20)))
			dc_die("out of memory");
		dc_format_timestamp(t0 + (int64_t)i * dt, csv->index[i]);
	}
	dc_free(tmp);
	dc_record_release(&rec);
	dc_stream_reader_close(&r);
}

void tsf_read_table(const char *path, struct dc_csv *csv)
{
	const char *name = dc_cli_input_name(path);
	FILE *in = dc_cli_open_input(path);
	size_t len;
	unsigned char *buf = slurp(in, &len);
	if (!buf)
		dc_die("cannot read '%s': out of memory", name);
	if (ferror(in))
		dc_die("cannot read '%s': read error", name);
	if (in != stdin)
		fclose(in);
	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
		size_t n;
		unsigned char *u = gunzip(buf, len, &n);
		if (!u)
			dc_die("cannot read '%s': corrupt gzip data", name);
		free(buf);
		buf = u;
		len = n;
	}
	FILE *fp = fmemopen(buf, len ? len : 1, "rb");
	if (!fp)
		dc_die("cannot read '%s': out of memory", name);
	if (len == 0)
		fgetc(fp); /* empty: make the reader see EOF */
	if (len >= 4 && buf[0] == 0x89 && buf[1] == 'D' && buf[2] == 'T' && buf[3] == 'S') {
		table_from_stream(fp, name, csv);
	} else {
		enum dc_status st = dc_csv_read(fp, csv);
		if (st)
			dc_die_status(st, "cannot read '%s'", name);
	}
	fclose(fp);
	free(buf);
}
