/*
 * ts.c - forecasting datasets: timestamps, column selection, gap filling,
 * scaler, splits, time features and windows (see ts.h for the layout and
 * the Time-Series-Library behaviour each part follows).
 */
#include "ts.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int dc_ts_features_parse(const char *s, enum dc_ts_features *out)
{
	if (strcasecmp(s, "M") == 0)
		*out = DC_TS_M;
	else if (strcasecmp(s, "S") == 0)
		*out = DC_TS_S;
	else if (strcasecmp(s, "MS") == 0)
		*out = DC_TS_MS;
	else
		return -1;
	return 0;
}

const char *dc_ts_features_name(enum dc_ts_features f)
{
	return f == DC_TS_S ? "S" : f == DC_TS_MS ? "MS" : "M";
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

enum dc_status dc_ts_check_times(const int64_t *t, size_t n, int64_t *step)
{
	char b0[20], b1[20];
	if (n < 2)
		return dc_fail(DC_EFORMAT, "need at least 2 rows, got %zu", n);
	for (size_t i = 1; i < n; i++) {
		if (t[i] == t[i - 1]) {
			dc_format_timestamp(t[i], b0);
			return dc_fail(DC_EFORMAT, "row %zu: duplicate timestamp %s", i + 1, b0);
		}
		if (t[i] < t[i - 1]) {
			dc_format_timestamp(t[i], b0);
			dc_format_timestamp(t[i - 1], b1);
			return dc_fail(DC_EFORMAT, "row %zu: timestamp %s is before the previous one (%s): rows must be sorted",
			               i + 1, b0, b1);
		}
	}
	int64_t *d = malloc((n - 1) * sizeof *d);
	if (!d)
		return dc_fail(DC_ENOMEM, "cannot allocate %zu differences", n - 1);
	for (size_t i = 1; i < n; i++)
		d[i - 1] = t[i] - t[i - 1];
	qsort(d, n - 1, sizeof *d, cmp_i64);
	int64_t best = d[0];
	size_t best_run = 0;
	for (size_t i = 0; i < n - 1;) {
		size_t j = i;
		while (j < n - 1 && d[j] == d[i])
			j++;
		if (j - i > best_run) {
			best_run = j - i;
			best = d[i];
		}
		i = j;
	}
	free(d);
	*step = best;
	return DC_OK;
}

static int weekday(int64_t t) /* Monday 0 */
{
	int64_t days = t / 86400 - (t % 86400 < 0);
	return (int)(((days % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday (3) */
}

int dc_ts_business_days(const int64_t *t, size_t n, int64_t step)
{
	if (step != 86400 || n < 2)
		return 0;
	int skips = 0;
	for (size_t i = 0; i < n; i++) {
		if (weekday(t[i]) >= 5)
			return 0;
		skips |= i > 0 && weekday(t[i]) < weekday(t[i - 1]) && t[i] - t[i - 1] < 7 * 86400;
	}
	return skips;
}

int64_t dc_ts_next_time(int64_t t, int64_t step, int business)
{
	t += step;
	while (business && weekday(t) >= 5)
		t += 86400;
	return t;
}

void dc_ts_step_name(int64_t step, char buf[32])
{
	if (step % 86400 == 0)
		snprintf(buf, 32, step == 86400 ? "D" : "%lldD", (long long)(step / 86400));
	else if (step % 3600 == 0)
		snprintf(buf, 32, step == 3600 ? "h" : "%lldh", (long long)(step / 3600));
	else if (step % 60 == 0)
		snprintf(buf, 32, "%lldmin", (long long)(step / 60));
	else
		snprintf(buf, 32, "%llds", (long long)step);
}

int dc_ts_n_marks(char freq)
{
	return freq == 'h' ? 4 : freq == 't' ? 5 : -1;
}

/* Days since 1970-01-01 to civil date (Hinnant's algorithm). */
static void civil(int64_t z, int64_t *y, int *m, int *d)
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

static int day_of_year(int64_t y, int m, int d)
{
	static const int cum[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return cum[m - 1] + d + (m > 2 && leap);
}

void dc_ts_time_features(const int64_t *t, size_t n, char freq, float *out)
{
	int nm = dc_ts_n_marks(freq);
	if (nm < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int64_t days = t[i] / 86400, secs = t[i] % 86400;
		if (secs < 0) {
			secs += 86400;
			days--;
		}
		int64_t y;
		int m, d;
		civil(days, &y, &m, &d);
		int hour = (int)(secs / 3600), minute = (int)(secs / 60 % 60);
		int dow = (int)(((days % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday (3) */
		float *o = out + i * (size_t)nm;
		if (freq == 't')
			*o++ = (float)(minute / 59.0 - 0.5);
		*o++ = (float)(hour / 23.0 - 0.5);
		*o++ = (float)(dow / 6.0 - 0.5);
		*o++ = (float)((d - 1) / 30.0 - 0.5);
		*o++ = (float)((day_of_year(y, m, d) - 1) / 365.0 - 0.5);
	}
}

void dc_ts_release(struct dc_ts *ts)
{
	if (ts->names)
		for (int i = 0; i < ts->cols; i++)
			free(ts->names[i]);
	free(ts->names);
	dc_free(ts->time);
	dc_free(ts->raw);
	dc_free(ts->marks);
	dc_free(ts->mean);
	dc_free(ts->std);
	dc_free(ts->data);
	memset(ts, 0, sizeof *ts);
}

struct named {
	const char *name;
	size_t col;
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->col > y->col) - (x->col < y->col);
}

/* Names pick the target and tie a model file to its columns: they must be
 * unique.  Sorted, so that wide tables cost n log n; the error names the
 * first repeated column (in table order) and where it was before. */
static enum dc_status unique_names(const struct dc_csv *csv)
{
	size_t n = csv->cols, dup = n, first = n;
	struct named *v = malloc(n * sizeof *v);
	if (!v)
		return dc_fail(DC_ENOMEM, "out of memory");
	for (size_t j = 0; j < n; j++)
		v[j] = (struct named){ csv->colnames[j], j };
	qsort(v, n, sizeof *v, cmp_named);
	for (size_t k = 1, f = 0; k < n; k++) {
		if (strcmp(v[k].name, v[f].name) != 0)
			f = k; /* a run of one name starts at its earliest column */
		else if (v[k].col < dup) {
			dup = v[k].col;
			first = v[f].col;
		}
	}
	free(v);
	if (dup == n)
		return DC_OK;
	size_t off = 1 + (csv->index != NULL); /* 1-based, counting the timestamp column */
	return dc_fail(DC_EFORMAT, "column '%s' appears twice (columns %zu and %zu)", csv->colnames[dup],
	               first + off, dup + off);
}

enum dc_status dc_ts_from_csv(struct dc_ts *ts, const struct dc_csv *csv,
                              enum dc_ts_features features, const char *target, char mark_freq)
{
	enum dc_status st;
	memset(ts, 0, sizeof *ts);
	if (csv->cols == 0) {
		/* a whole row in one field: another separator than the comma */
		const char *h = csv->index_name ? csv->index_name : "";
		const char *sep = strchr(h, ';') ? "';'" : strchr(h, '\t') ? "a tab" : NULL;
		if (sep)
			return dc_fail(DC_EFORMAT, "no value columns (the header is one field holding %s: "
			               "fields must be separated by commas)", sep);
		return dc_fail(DC_EFORMAT, "no value columns");
	}
	if (csv->rows < 2)
		return dc_fail(DC_EFORMAT, "need at least 2 rows, got %zu", csv->rows);
	if ((st = unique_names(csv)))
		return st;
	if (!csv->index) { /* numbers first: a table without timestamps, unless the name says otherwise */
		static const char *const timeish[] = { "time", "timestamp", "datetime", "ds", "epoch" };
		for (size_t k = 0; k < sizeof timeish / sizeof timeish[0]; k++)
			if (strcasecmp(csv->colnames[0], timeish[k]) == 0)
				return dc_fail(DC_EFORMAT, "column '%s' holds numbers, not timestamps "
				               "(YYYY-MM-DD[ HH:MM[:SS]])", csv->colnames[0]);
	}
	/* the target column */
	size_t tcol = csv->cols;
	if (target) {
		for (size_t j = 0; j < csv->cols; j++)
			if (strcmp(csv->colnames[j], target) == 0)
				tcol = j;
		if (tcol == csv->cols)
			return dc_fail(DC_ENOTFOUND, "no column '%s'", target);
	} else {
		tcol = csv->cols - 1;
		for (size_t j = 0; j < csv->cols; j++)
			if (strcmp(csv->colnames[j], "OT") == 0)
				tcol = j;
	}
	size_t C = features == DC_TS_S ? 1 : csv->cols;
	if (C > 1 << 20)
		return dc_fail(DC_ELIMIT, "too many columns (%zu)", C);
	size_t *src = malloc(C * sizeof *src);
	if (!src)
		return dc_fail(DC_ENOMEM, "out of memory");
	size_t k = 0;
	if (features != DC_TS_S)
		for (size_t j = 0; j < csv->cols; j++)
			if (j != tcol)
				src[k++] = j;
	src[k++] = tcol;

	size_t n = csv->rows, cells;
	if (dc_mul_size(n, C, &cells)) {
		free(src);
		return dc_fail(DC_EOVERFLOW, "table too large");
	}
	ts->rows = n;
	ts->cols = (int)C;
	ts->names = calloc(C, sizeof *ts->names);
	ts->time = dc_alloc(n * sizeof *ts->time);
	ts->raw = dc_calloc(cells, sizeof *ts->raw);
	if (!ts->names || !ts->time || !ts->raw) {
		st = dc_fail(DC_ENOMEM, "cannot allocate %zu rows", n);
		goto fail;
	}
	for (size_t j = 0; j < C; j++)
		if (!(ts->names[j] = strdup(csv->colnames[src[j]]))) {
			st = dc_fail(DC_ENOMEM, "out of memory");
			goto fail;
		}
	ts->untimed = !csv->index;
	for (size_t i = 0; i < n; i++)
		if (ts->untimed)
			ts->time[i] = (int64_t)i;
		else if (dc_parse_timestamp(csv->index[i], &ts->time[i])) {
			st = dc_fail(DC_EFORMAT, "row %zu: cannot parse timestamp '%s'", i + 1, csv->index[i]);
			goto fail;
		}
	if ((st = dc_ts_check_times(ts->time, n, &ts->step)))
		goto fail;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < C; j++)
			ts->raw[i * C + j] = csv->values[i * csv->cols + src[j]];
	/* gaps: linear interpolation in time inside each column */
	ts->first_filled_row = n;
	for (size_t j = 0; j < C; j++) {
		size_t prev = n; /* last valid row */
		for (size_t i = 0; i < n; i++) {
			double v = ts->raw[i * C + j];
			if (isnan(v))
				continue;
			if (!isfinite(v)) {
				st = dc_fail(DC_EFORMAT, "row %zu, column '%s': value is infinite", i + 1, ts->names[j]);
				goto fail;
			}
			if (prev == n && i > 0) {
				st = dc_fail(DC_EFORMAT, "column '%s': missing values at the start (rows 1-%zu); trim them",
				             ts->names[j], i);
				goto fail;
			}
			if (prev != n && i > prev + 1) {
				double v0 = ts->raw[prev * C + j];
				double t0 = (double)ts->time[prev], t1 = (double)ts->time[i];
				for (size_t r = prev + 1; r < i; r++) {
					double a = ((double)ts->time[r] - t0) / (t1 - t0);
					ts->raw[r * C + j] = v0 + a * (v - v0);
					ts->n_filled++;
					if (r < ts->first_filled_row)
						ts->first_filled_row = r;
				}
			}
			prev = i;
		}
		if (prev == n) {
			st = dc_fail(DC_EFORMAT, "column '%s': all values missing", ts->names[j]);
			goto fail;
		}
		if (prev != n - 1) {
			st = dc_fail(DC_EFORMAT, "column '%s': missing values at the end (rows %zu-%zu); trim them",
			             ts->names[j], prev + 2, n);
			goto fail;
		}
	}
	if (mark_freq) {
		int nm = dc_ts_n_marks(mark_freq);
		if (nm < 0) {
			st = dc_fail(DC_EINVAL, "unknown time-feature frequency '%c'", mark_freq);
			goto fail;
		}
		ts->n_marks = nm;
		if (!(ts->marks = dc_calloc(n * (size_t)nm, sizeof *ts->marks))) {
			st = dc_fail(DC_ENOMEM, "out of memory");
			goto fail;
		}
		if (!ts->untimed)
			dc_ts_time_features(ts->time, n, mark_freq, ts->marks);
	}
	free(src);
	return DC_OK;
fail:
	free(src);
	dc_ts_release(ts);
	return st;
}

static enum dc_status fill_scaled(struct dc_ts *ts)
{
	size_t C = (size_t)ts->cols, cells = ts->rows * C;
	if (!ts->data && !(ts->data = dc_alloc(cells * sizeof *ts->data)))
		return dc_fail(DC_ENOMEM, "out of memory");
	for (size_t i = 0; i < ts->rows; i++)
		for (size_t j = 0; j < C; j++) {
			double x = ts->raw[i * C + j], z = (x - ts->mean[j]) / ts->std[j];
			if (!(fabs(z) <= FLT_MAX)) /* would be inf in the models' single precision */
				return dc_fail(DC_EFORMAT,
				               "row %zu, column '%s': value %g is out of range (%.3g standard deviations "
				               "from the training mean)", i + 1, ts->names[j], x, z);
			ts->data[i * C + j] = (float)z;
		}
	return DC_OK;
}

static enum dc_status alloc_scaler(struct dc_ts *ts)
{
	if (!ts->mean)
		ts->mean = dc_calloc((size_t)ts->cols, sizeof *ts->mean);
	if (!ts->std)
		ts->std = dc_calloc((size_t)ts->cols, sizeof *ts->std);
	if (!ts->mean || !ts->std)
		return dc_fail(DC_ENOMEM, "out of memory");
	return DC_OK;
}

enum dc_status dc_ts_fit_scaler(struct dc_ts *ts, size_t begin, size_t end)
{
	if (end > ts->rows || begin >= end)
		return dc_fail(DC_EINVAL, "scaler rows [%zu, %zu) outside the %zu rows", begin, end, ts->rows);
	enum dc_status st = alloc_scaler(ts);
	if (st)
		return st;
	size_t C = (size_t)ts->cols;
	for (size_t j = 0; j < C; j++) {
		double s = 0, q = 0;
		for (size_t i = begin; i < end; i++)
			s += ts->raw[i * C + j];
		double mean = s / (double)(end - begin);
		for (size_t i = begin; i < end; i++) {
			double d = ts->raw[i * C + j] - mean;
			q += d * d;
		}
		double sd = sqrt(q / (double)(end - begin));
		if (!isfinite(mean) || isinf(sd))
			return dc_fail(DC_EFORMAT, "column '%s': values too large to scale (their sum or squares overflow)",
			               ts->names[j]);
		ts->mean[j] = mean;
		ts->std[j] = sd > 0 && isfinite(sd) ? sd : 1.0; /* sklearn: constant column -> scale 1 */
	}
	return fill_scaled(ts);
}

enum dc_status dc_ts_set_scaler(struct dc_ts *ts, const double *mean, const double *std)
{
	enum dc_status st = alloc_scaler(ts);
	if (st)
		return st;
	for (int j = 0; j < ts->cols; j++) {
		if (!isfinite(mean[j]) || !isfinite(std[j]) || std[j] <= 0)
			return dc_fail(DC_EFORMAT, "invalid scaler for column %d", j);
		ts->mean[j] = mean[j];
		ts->std[j] = std[j];
	}
	return fill_scaled(ts);
}

enum dc_status dc_ts_split_ett(struct dc_ts_split *s, size_t rows, int64_t step, int seq_len)
{
	size_t m;
	if (step == 3600)
		m = 1;
	else if (step == 900)
		m = 4;
	else
		return dc_fail(DC_EINVAL, "--split ett needs hourly or 15-minute data (the step is %lld s)",
		               (long long)step);
	size_t mon = 30 * 24 * m, L = (size_t)seq_len;
	if (rows < 20 * mon)
		return dc_fail(DC_EINVAL, "--split ett needs %zu rows (20 months of 30 days), got %zu", 20 * mon, rows);
	if (L > 12 * mon)
		return dc_fail(DC_EINVAL, "seq_len %d too long for --split ett", seq_len);
	s->begin[0] = 0;
	s->end[0] = 12 * mon;
	s->begin[1] = 12 * mon - L;
	s->end[1] = 16 * mon;
	s->begin[2] = 16 * mon - L;
	s->end[2] = 20 * mon;
	return DC_OK;
}

int dc_ts_split_fractions_ok(double train, double val, double test)
{
	return train > 0 && val >= 0 && test >= 0 && train + val + test <= 1.0 + 1e-9;
}

enum dc_status dc_ts_split_ratio(struct dc_ts_split *s, size_t rows, double train, double val,
                                 double test, int seq_len)
{
	if (!dc_ts_split_fractions_ok(train, val, test))
		return dc_fail(DC_EINVAL, "invalid split %g,%g,%g (fractions of the rows: train > 0, at most 1 in all)",
		               train, val, test);
	size_t n_train = (size_t)((double)rows * train);
	size_t n_test = (size_t)((double)rows * test);
	if (n_train + n_test > rows || n_train < (size_t)seq_len)
		return dc_fail(DC_EINVAL, "too few rows (%zu) for the split %g,%g,%g with seq_len %d", rows, train,
		               val, test, seq_len);
	size_t n_val = rows - n_train - n_test;
	size_t L = (size_t)seq_len;
	s->begin[0] = 0;
	s->end[0] = n_train;
	s->begin[1] = n_train - L;
	s->end[1] = n_train + n_val;
	s->begin[2] = rows - n_test >= L ? rows - n_test - L : 0;
	s->end[2] = rows;
	return DC_OK;
}

size_t dc_ts_windows(const struct dc_ts_split *s, int part, int seq_len, int pred_len)
{
	size_t len = s->end[part] - s->begin[part], need = (size_t)seq_len + (size_t)pred_len;
	return len >= need ? len - need + 1 : 0;
}

void dc_ts_gather(const struct dc_ts *ts, const size_t *start, int B, int seq_len, int label_len,
                  int pred_len, float *x, float *x_mark, float *y, float *y_mark)
{
	size_t C = (size_t)ts->cols, M = (size_t)ts->n_marks;
	size_t L = (size_t)seq_len, SH = (size_t)label_len + (size_t)pred_len;
	for (int b = 0; b < B; b++) {
		size_t s0 = start[b], r0 = s0 + L - (size_t)label_len;
		if (x)
			memcpy(x + (size_t)b * L * C, ts->data + s0 * C, L * C * sizeof *x);
		if (y)
			memcpy(y + (size_t)b * SH * C, ts->data + r0 * C, SH * C * sizeof *y);
		if (M && x_mark)
			memcpy(x_mark + (size_t)b * L * M, ts->marks + s0 * M, L * M * sizeof *x_mark);
		if (M && y_mark)
			memcpy(y_mark + (size_t)b * SH * M, ts->marks + r0 * M, SH * M * sizeof *y_mark);
	}
}

void dc_ts_shuffle(size_t *idx, size_t n, uint64_t seed, uint64_t stream)
{
	for (size_t i = n; i > 1; i--) {
		uint32_t r[4];
		dc_philox(seed, stream, i, r);
		uint64_t v = ((uint64_t)r[0] << 32) | r[1];
		size_t j = (size_t)(v % i);
		size_t tmp = idx[i - 1];
		idx[i - 1] = idx[j];
		idx[j] = tmp;
	}
}
