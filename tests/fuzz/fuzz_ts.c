/*
 * fuzz_ts.c - libFuzzer harness for ts-forecast's data path: arbitrary CSV
 * bytes through dc_csv_read and dc_ts_from_csv (timestamps checked, step
 * inferred, columns chosen, gaps interpolated, time features), then the
 * split, the scaler and the window gather.  The first input byte picks the
 * options: bits 0-1 features (M, S, MS), bits 2-3 time features (none, 'h',
 * 't'), bit 4 the split (ETT borders or 0.7/0.1/0.2), bits 5-7 the lookback
 * (1 to 8 rows, so short tables still give windows).
 *
 * An accepted series must hold: strictly increasing timestamps (the row
 * numbers, and zero time features, for a table without a timestamp column), one of whose
 * differences is the step, finite values (every gap filled, the count
 * within the cells), time features in [-0.5, 0.5], a scaler with positive
 * std, finite scaled data that maps back to the values, and gathered windows that
 * are the rows they name.  A refused one must say why.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/media.h"
#include "ts/ts.h"

static void check_series(const struct dc_ts *ts)
{
	if (ts->rows < 2 || ts->cols < 1 || ts->step <= 0 || !ts->names || !ts->raw || !ts->time)
		__builtin_trap();
	if (ts->n_filled > ts->rows * (size_t)ts->cols)
		__builtin_trap();
	int seen = 0;
	for (size_t i = 1; i < ts->rows; i++) {
		if (ts->time[i] <= ts->time[i - 1])
			__builtin_trap();
		seen |= ts->time[i] - ts->time[i - 1] == ts->step;
	}
	if (!seen)
		__builtin_trap();   /* the step is one of the differences */
	for (size_t i = 0; i < ts->rows * (size_t)ts->cols; i++)
		if (!isfinite(ts->raw[i]))
			__builtin_trap();
	for (int j = 0; j < ts->cols; j++)
		if (!ts->names[j])
			__builtin_trap();
	for (size_t i = 0; i < ts->rows * (size_t)ts->n_marks; i++)
		if (!(ts->marks[i] >= -0.5f && ts->marks[i] <= 0.5f) || (ts->untimed && ts->marks[i] != 0.0f))
			__builtin_trap();
	if (ts->untimed && (ts->step != 1 || ts->time[ts->rows - 1] != (int64_t)ts->rows - 1))
		__builtin_trap();   /* without timestamps the rows are the steps */
}

static void check_windows(const struct dc_ts *ts, const struct dc_ts_split *sp, int L, int S, int H)
{
	int C = ts->cols, M = ts->n_marks;
	for (int p = 0; p < 3; p++) {
		size_t nw = dc_ts_windows(sp, p, L, H);
		if (nw == 0)
			continue;
		if (sp->end[p] > ts->rows || sp->begin[p] + nw - 1 + (size_t)L + (size_t)H > ts->rows)
			__builtin_trap();
		size_t start[2] = { sp->begin[p], sp->begin[p] + nw - 1 };
		float *x = malloc(sizeof(float) * 2 * L * C), *y = malloc(sizeof(float) * 2 * (S + H) * C);
		float *xm = M ? malloc(sizeof(float) * 2 * L * M) : NULL;
		float *ym = M ? malloc(sizeof(float) * 2 * (S + H) * M) : NULL;
		dc_ts_gather(ts, start, 2, L, S, H, x, xm, y, ym);
		for (int b = 0; b < 2; b++) {
			for (int t = 0; t < L; t++)
				for (int c = 0; c < C; c++)
					if (memcmp(&x[((size_t)b * L + t) * C + c], &ts->data[(start[b] + t) * C + c],
					           sizeof(float)))
						__builtin_trap();
			for (int t = 0; t < S + H; t++)
				for (int c = 0; c < C; c++)
					if (memcmp(&y[((size_t)b * (S + H) + t) * C + c],
					           &ts->data[(start[b] + L - S + t) * C + c], sizeof(float)))
						__builtin_trap();
		}
		free(x);
		free(y);
		free(xm);
		free(ym);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t opt = data[0];
	enum dc_ts_features feat = (enum dc_ts_features)((opt & 3) % 3);
	char freq = "\0ht\0"[(opt >> 2) & 3];
	int ett = (opt >> 4) & 1, L = 1 + (opt >> 5);
	FILE *f = fmemopen((void *)(data + 1), size - 1, "rb");
	if (!f)
		return 0;
	struct dc_csv csv;
	enum dc_status st = dc_csv_read(f, &csv);
	fclose(f);
	if (st != DC_OK)
		return 0;
	struct dc_ts ts;
	st = dc_ts_from_csv(&ts, &csv, feat, NULL, freq);
	dc_csv_release(&csv);
	if (st != DC_OK) {
		if (!dc_errmsg()[0])
			__builtin_trap();
		return 0;
	}
	check_series(&ts);
	struct dc_ts_split sp;
	st = ett ? dc_ts_split_ett(&sp, ts.rows, ts.step, L) : dc_ts_split_ratio(&sp, ts.rows, 0.7, 0.1, 0.2, L);
	if (st == DC_OK && sp.end[0] > sp.begin[0] && dc_ts_fit_scaler(&ts, sp.begin[0], sp.end[0]) == DC_OK) {
		for (int j = 0; j < ts.cols; j++)
			if (!(ts.std[j] > 0) || !isfinite(ts.mean[j]))
				__builtin_trap();
		for (size_t i = 0; i < ts.rows; i++)
			for (int j = 0; j < ts.cols; j++) {
				float z = ts.data[i * ts.cols + j];
				double back = (double)z * ts.std[j] + ts.mean[j], want = ts.raw[i * ts.cols + j];
				/* float storage: relative to the value and the column's spread */
				if (!isfinite(z) || fabs(back - want) > 1e-6 * (fabs(want) + ts.std[j] * (fabs(z) + 1)))
					__builtin_trap();
			}
		check_windows(&ts, &sp, L, L / 2, 1 + (opt & 3));
	}
	dc_ts_release(&ts);
	return 0;
}
