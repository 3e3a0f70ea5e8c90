/*
 * ts.h - time-series datasets for forecasting: a CSV table with a timestamp
 * column becomes a regular series (timestamps checked, frequency inferred,
 * missing cells interpolated), columns chosen and ordered as
 * Time-Series-Library's loaders do, a z-score scaler fitted on the training
 * rows, the standard train/validation/test borders (ETT month borders or
 * ratio splits as Dataset_Custom), TSLib "timeF" time features, and the
 * (seq_len, label_len, pred_len) windows the models eat.
 *
 * Column order (as Dataset_Custom): features M and MS give every value
 * column with the target moved last; S gives the target alone.  So the
 * target is always channel cols-1.
 *
 * Borders (TSLib data_loader.py), rows [begin, end) of each part:
 *   ett hourly  train [0, 8640)  val [8640-L, 11520)  test [11520-L, 14400)
 *   ett 15-min  the same times 4
 *   ratio a,b,c n_train = floor(N*a), n_test = floor(N*c), n_val = N-n_train-n_test;
 *               train [0, n_train) val [n_train-L, n_train+n_val) test [N-n_test-L, N)
 * A part with end - begin rows has end - begin - L - H + 1 windows; window i
 * is x = rows [begin+i, begin+i+L), y = rows [begin+i+L-S, begin+i+L+H).
 *
 * Time features (GluonTS/TSLib time_features, timeenc 1), each in [-0.5, 0.5]:
 *   freq 'h': HourOfDay hour/23, DayOfWeek weekday/6 (Monday 0),
 *             DayOfMonth (day-1)/30, DayOfYear (yday-1)/365   (each - 0.5)
 *   freq 't': MinuteOfHour minute/59, then the four above.
 * TSLib's scripts never pass --freq, so the reference feeds the 'h' set to
 * every dataset; that is the default here too.
 *
 * Objects are owned by the caller and released with dc_ts_release; not
 * thread-safe per object.
 */
#ifndef DC_TS_H
#define DC_TS_H

#include "../core/core.h"
#include "../io/media.h"

#ifdef __cplusplus
extern "C" {
#endif

enum dc_ts_features { DC_TS_M = 0, DC_TS_S, DC_TS_MS };

struct dc_ts {
	size_t rows;
	int cols;                /* channels after feature selection */
	char **names;            /* [cols] column names, target last */
	int64_t *time;           /* [rows] seconds since the epoch (UTC) */
	int64_t step;            /* inferred sampling interval in seconds */
	int untimed;             /* no timestamp column: time[i] = i, step 1, time features 0 */
	double *raw;             /* [rows][cols] original units, gaps interpolated */
	size_t n_filled;         /* cells filled by interpolation */
	size_t first_filled_row; /* row (0-based) of the first filled cell */
	int n_marks;             /* time features per row (0 if none) */
	float *marks;            /* [rows][n_marks] */
	double *mean, *std;      /* [cols] scaler (std 1 where the column is constant) */
	float *data;             /* [rows][cols] scaled, once a scaler is set */
};

/* Parse "M", "S", "MS" (case-insensitive); -1 if unknown. */
int dc_ts_features_parse(const char *s, enum dc_ts_features *out);
const char *dc_ts_features_name(enum dc_ts_features f);

/*
 * Check timestamps t[n]: parseable (done by the caller), strictly
 * increasing (DC_EFORMAT naming the row: "row 5: timestamp ... is not after
 * the previous one", "row 5: duplicate timestamp ..."), and infer the
 * step: the most common difference (ties: the smallest).  n >= 2.
 */
enum dc_status dc_ts_check_times(const int64_t *t, size_t n, int64_t *step);

/*
 * Business days: 1 when a daily series (step 86400) holds only Monday to
 * Friday and skips at least one weekend -- a trading calendar, whose next
 * step after a Friday is the Monday.  dc_ts_next_time gives the time after
 * t: t + step, or the next weekday at the same time of day.
 */
int dc_ts_business_days(const int64_t *t, size_t n, int64_t step);
int64_t dc_ts_next_time(int64_t t, int64_t step, int business);

/* A short name for a step: "h", "15min", "D", "30s", ... into buf[32]. */
void dc_ts_step_name(int64_t step, char buf[32]);

/* Number of time features for freq 'h' (4) or 't' (5); -1 otherwise. */
int dc_ts_n_marks(char freq);
/* out[n][dc_ts_n_marks(freq)] time features of timestamps t[n]. */
void dc_ts_time_features(const int64_t *t, size_t n, char freq, float *out);

/*
 * Build a dataset from a CSV: its timestamp index column parsed and
 * checked (a table without one is `untimed`: row numbers stand for the
 * times and the time features are zero), the columns selected for `features` with
 * `target` (NULL: "OT" if present, else the last column) moved last,
 * interior missing values linearly interpolated in time (counted in
 * n_filled); a column that starts or ends with a missing value, or is all
 * missing, is DC_EFORMAT.  mark_freq 'h' or 't' (or 0: no time features).
 * No scaler yet (data NULL).
 */
enum dc_status dc_ts_from_csv(struct dc_ts *ts, const struct dc_csv *csv,
                              enum dc_ts_features features, const char *target, char mark_freq);

/* Fit the scaler on rows [begin, end) (population std, as sklearn's
 * StandardScaler) and fill ts->data. */
enum dc_status dc_ts_fit_scaler(struct dc_ts *ts, size_t begin, size_t end);
/* Use a given scaler (e.g. from a model file) and fill ts->data. */
enum dc_status dc_ts_set_scaler(struct dc_ts *ts, const double *mean, const double *std);
void dc_ts_release(struct dc_ts *ts);

struct dc_ts_split {
	size_t begin[3], end[3];   /* train, val, test */
};

/* ETT borders: step 3600 (hourly) or 900 (15-minute), else DC_EINVAL;
 * DC_EINVAL also if rows are too few for the test border. */
enum dc_status dc_ts_split_ett(struct dc_ts_split *s, size_t rows, int64_t step, int seq_len);
/* Ratio borders as Dataset_Custom (train, val, test fractions; test may be 0). */
/* Whether TRAIN,VAL,TEST are fractions dc_ts_split_ratio takes: train > 0,
 * val and test >= 0, at most 1 in all. */
int dc_ts_split_fractions_ok(double train, double val, double test);
enum dc_status dc_ts_split_ratio(struct dc_ts_split *s, size_t rows, double train, double val,
                                 double test, int seq_len);
/* Windows of part p (0 train, 1 val, 2 test); 0 when too short. */
size_t dc_ts_windows(const struct dc_ts_split *s, int part, int seq_len, int pred_len);

/*
 * Gather B windows starting at rows start[b] (window's first x row) from
 * ts->data / ts->marks:
 *   x[B][L][C], x_mark[B][L][M], y[B][S+H][C], y_mark[B][S+H][M]
 * (any output may be NULL; marks skipped when n_marks is 0).  The caller
 * guarantees start[b] + L + H <= rows.
 */
void dc_ts_gather(const struct dc_ts *ts, const size_t *start, int B, int seq_len, int label_len,
                  int pred_len, float *x, float *x_mark, float *y, float *y_mark);

/* Deterministic permutation of idx[n] (Fisher-Yates on Philox (seed, stream)). */
void dc_ts_shuffle(size_t *idx, size_t n, uint64_t seed, uint64_t stream);

#ifdef __cplusplus
}
#endif
#endif /* DC_TS_H */
