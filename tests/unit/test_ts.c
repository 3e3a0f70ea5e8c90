/*
 * test_ts.c - lib/ts against Time-Series-Library's own data loaders
 * (Dataset_ETT_hour, Dataset_Custom with features M and S, timeenc 1)
 * run on synthetic CSVs by tests/golden/make_dlinear.py: window counts,
 * scaler, the first and last window of train/val/test (x, y, x_mark,
 * y_mark); time features for freq 't' and 'h'; timestamp checks, gap
 * interpolation and the refusals.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/npy.h"
#include "ts/ts.h"
#include "test.h"

#define MAXT 48
struct golden {
	int n;
	struct dc_tensor t[MAXT];
};

static int golden_load(struct golden *g, const char *name)
{
	char path[1024];
	const char *top = getenv("DC_TOP");
	snprintf(path, sizeof path, "%s/tests/golden/dlinear/%s.npy", top ? top : ".", name);
	memset(g, 0, sizeof *g);
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		printf("#   cannot open %s\n", path);
		return -1;
	}
	while (g->n < MAXT && dc_npy_read(fp, &g->t[g->n]) == DC_OK)
		g->n++;
	fclose(fp);
	return 0;
}

static void golden_free(struct golden *g)
{
	for (int i = 0; i < g->n; i++)
		dc_tensor_release(&g->t[i]);
}

/* the CSV of make_dlinear.py write_csv() */
static void make_csv(struct dc_csv *csv, int n, int step, const char *cols[3])
{
	size_t cap = (size_t)n * 64 + 64, k = 0;
	char *buf = malloc(cap);
	k += (size_t)snprintf(buf + k, cap - k, "date,%s,%s,%s\n", cols[0], cols[1], cols[2]);
	int64_t t0;
	dc_parse_timestamp("2016-07-01 00:00:00", &t0);
	for (int i = 0; i < n; i++) {
		char ts[20];
		dc_format_timestamp(t0 + (int64_t)i * step, ts);
		k += (size_t)snprintf(buf + k, cap - k, "%s", ts);
		for (int j = 0; j < 3; j++)
			k += (size_t)snprintf(buf + k, cap - k, ",%.1f", ((i * (7 + 2 * j) + 13 * j) % 101) / 10.0 - 3.5);
		buf[k++] = '\n';
	}
	FILE *fp = fmemopen(buf, k, "r");
	CHECK_EQ_INT(dc_csv_read(fp, csv), DC_OK);
	fclose(fp);
	free(buf);
}

static void check_loader(const char *gname, int n, int step, const char *cols[3], enum dc_ts_features fe,
                         const char *target, int ett, const char *last_name)
{
	struct golden g;
	if (golden_load(&g, gname) || g.n != 42) {
		CHECK(0);
		return;
	}
	struct dc_csv csv;
	make_csv(&csv, n, step, cols);
	struct dc_ts ts;
	CHECK_EQ_INT(dc_ts_from_csv(&ts, &csv, fe, target, 'h'), DC_OK);
	CHECK(strcmp(ts.names[ts.cols - 1], last_name) == 0);
	struct dc_ts_split sp;
	if (ett)
		CHECK_EQ_INT(dc_ts_split_ett(&sp, ts.rows, ts.step, 96), DC_OK);
	else
		CHECK_EQ_INT(dc_ts_split_ratio(&sp, ts.rows, 0.7, 0.1, 0.2, 96), DC_OK);
	CHECK_EQ_INT(dc_ts_fit_scaler(&ts, sp.begin[0], sp.end[0]), DC_OK);
	int C = ts.cols, L = 96, S = 48, H = 24, M = ts.n_marks;
	CHECK_EQ_INT(M, 4);
	float *x = malloc((size_t)L * C * 4), *y = malloc((size_t)(S + H) * C * 4);
	float *xm = malloc((size_t)L * M * 4), *ym = malloc((size_t)(S + H) * M * 4);
	int a = 0;
	for (int part = 0; part < 3; part++) {
		size_t nw = dc_ts_windows(&sp, part, L, H);
		for (int which = 0; which < 2; which++, a += 7) {
			CHECK_EQ_INT(nw, ((int64_t *)g.t[a].data)[0]);
			CHECK_CLOSE(ts.mean, (double *)g.t[a + 1].data, (size_t)C, 1e-12, 1e-12);
			CHECK_CLOSE(ts.std, (double *)g.t[a + 2].data, (size_t)C, 1e-12, 1e-12);
			size_t start = sp.begin[part] + (which ? nw - 1 : 0);
			dc_ts_gather(&ts, &start, 1, L, S, H, x, xm, y, ym);
			CHECK_CLOSE(x, (float *)g.t[a + 3].data, (size_t)L * C, 1e-6, 1e-6);
			CHECK_CLOSE(y, (float *)g.t[a + 4].data, (size_t)(S + H) * C, 1e-6, 1e-6);
			CHECK_CLOSE(xm, (float *)g.t[a + 5].data, (size_t)L * M, 1e-7, 0);
			CHECK_CLOSE(ym, (float *)g.t[a + 6].data, (size_t)(S + H) * M, 1e-7, 0);
		}
	}
	free(x);
	free(y);
	free(xm);
	free(ym);
	dc_ts_release(&ts);
	dc_csv_release(&csv);
	golden_free(&g);
}

TEST(ett_hour_loader_borders_scaler_windows)
{
	const char *cols[3] = { "HUFL", "HULL", "OT" };
	check_loader("loader_ett_m", 14400 + 37, 3600, cols, DC_TS_M, NULL, 1, "OT");
}

TEST(custom_loader_m_target_moved_last)
{
	const char *cols[3] = { "a", "OT", "b" };
	check_loader("loader_custom_m", 1000, 900, cols, DC_TS_M, "a", 0, "a");
}

TEST(custom_loader_s)
{
	const char *cols[3] = { "a", "OT", "b" };
	check_loader("loader_custom_s", 1000, 900, cols, DC_TS_S, "b", 0, "b");
}

TEST(time_features_t_and_h)
{
	struct golden g;
	if (golden_load(&g, "timefeat_t") || g.n != 3) {
		CHECK(0);
		return;
	}
	size_t n = (size_t)g.t[0].shape[0];
	float t5[64], h4[64];
	dc_ts_time_features(g.t[0].data, n, 't', t5);
	dc_ts_time_features(g.t[0].data, n, 'h', h4);
	CHECK_CLOSE(t5, (float *)g.t[1].data, n * 5, 1e-7, 0);
	CHECK_CLOSE(h4, (float *)g.t[2].data, n * 4, 1e-7, 0);
	golden_free(&g);
}

static enum dc_status from_text(struct dc_ts *ts, const char *text)
{
	struct dc_csv csv;
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	enum dc_status st = dc_csv_read(fp, &csv);
	fclose(fp);
	if (st)
		return st;
	st = dc_ts_from_csv(ts, &csv, DC_TS_M, NULL, 'h');
	dc_csv_release(&csv);
	return st;
}

TEST(timestamps_gaps_and_refusals)
{
	struct dc_ts ts;
	/* frequency is the most common step; a gap inside is interpolated in time */
	CHECK_EQ_INT(from_text(&ts, "date,v,w\n2020-01-01 00:00,1,10\n2020-01-01 01:00,,11\n"
	                            "2020-01-01 03:00,4,\n2020-01-01 04:00,5,14\n"),
	             DC_OK);
	CHECK_EQ_INT(ts.step, 3600);
	CHECK_EQ_INT(ts.n_filled, 2);
	CHECK(fabs(ts.raw[1 * 2 + 0] - 2.0) < 1e-12);   /* 1 + (4-1) * 1/3 */
	CHECK(fabs(ts.raw[2 * 2 + 1] - 13.0) < 1e-12);  /* 11 + (14-11) * 2/3 */
	CHECK_EQ_INT(ts.first_filled_row, 1);
	dc_ts_release(&ts);
	CHECK(from_text(&ts, "date,v\n2020-01-01 00:00,1\n2020-01-01 00:00,2\n") == DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "duplicate timestamp") != NULL);
	CHECK(from_text(&ts, "date,v\n2020-01-02,1\n2020-01-01,2\n") == DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "sorted") != NULL);
	CHECK(from_text(&ts, "date,v\n2020-01-01,\n2020-01-02,2\n2020-01-03,2\n") == DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "at the start") != NULL);
	CHECK(from_text(&ts, "date,v\n2020-01-01,1\n2020-01-02,2\n2020-01-03,\n") == DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "at the end") != NULL);
	CHECK(from_text(&ts, "date,v\n2020-13-01,1\n2020-01-02,2\n") == DC_EFORMAT);
	/* Exchange-style dates */
	CHECK_EQ_INT(from_text(&ts, "date,v\n1990/1/1 0:00,1\n1990/1/2 0:00,2\n1990/1/3 0:00,3\n"), DC_OK);
	CHECK_EQ_INT(ts.step, 86400);
	char b[32];
	dc_ts_step_name(ts.step, b);
	CHECK(strcmp(b, "D") == 0);
	dc_ts_step_name(900, b);
	CHECK(strcmp(b, "15min") == 0);
	dc_ts_release(&ts);
	/* no timestamp column: rows are the steps, gaps interpolated by row, no time features */
	CHECK_EQ_INT(from_text(&ts, "v,w\n1,10\n,11\n3,12\n4,13\n"), DC_OK);
	CHECK_EQ_INT(ts.untimed, 1);
	CHECK_EQ_INT(ts.cols, 2);
	CHECK_EQ_INT(ts.step, 1);
	CHECK_EQ_INT(ts.time[3], 3);
	CHECK_EQ_INT(ts.n_filled, 1);
	CHECK(fabs(ts.raw[1 * 2 + 0] - 2.0) < 1e-12);
	CHECK_EQ_INT(ts.n_marks, 4);
	int zero = 1;
	for (int k = 0; k < 4 * 4; k++)
		zero &= ts.marks[k] == 0.0f;
	CHECK(zero);
	dc_ts_release(&ts);
	CHECK_EQ_INT(from_text(&ts, "date,v\n2020-01-01,1\n2020-01-02,2\n"), DC_OK);
	CHECK_EQ_INT(ts.untimed, 0);
	dc_ts_release(&ts);
	CHECK(from_text(&ts, "Timestamp,v\n1700000000,1\n1700003600,2\n") == DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "column 'Timestamp' holds numbers, not timestamps") != NULL);
	/* working days: 2024-01-01 is a Monday */
	int64_t wd[8], t0;
	dc_parse_timestamp("2024-01-01", &t0);
	static const int day[8] = { 0, 1, 2, 3, 4, 7, 8, 9 }; /* Mon..Fri, Mon..Wed */
	for (int k = 0; k < 8; k++)
		wd[k] = t0 + day[k] * 86400;
	CHECK_EQ_INT(dc_ts_business_days(wd, 8, 86400), 1);
	CHECK_EQ_INT(dc_ts_business_days(wd, 5, 86400), 0);    /* no weekend crossed */
	CHECK_EQ_INT(dc_ts_business_days(wd, 8, 3600), 0);     /* not daily */
	wd[7] = t0 + 13 * 86400;                              /* a Sunday */
	CHECK_EQ_INT(dc_ts_business_days(wd, 8, 86400), 0);
	CHECK_EQ_INT(dc_ts_next_time(t0 + 4 * 86400, 86400, 1), t0 + 7 * 86400);        /* Fri -> Mon */
	CHECK_EQ_INT(dc_ts_next_time(t0 + 4 * 86400 + 3600, 86400, 1), t0 + 7 * 86400 + 3600);
	CHECK_EQ_INT(dc_ts_next_time(t0 + 4 * 86400, 86400, 0), t0 + 5 * 86400);
	CHECK_EQ_INT(dc_ts_next_time(-86400 * 3, 86400, 1), -86400 * 2);               /* 1969-12-29 Mon -> Tue */
	CHECK_EQ_INT(dc_ts_next_time(-86400 * 7, 86400, 1), -86400 * 6);               /* 1969-12-25 Thu -> Fri 26 */
	CHECK_EQ_INT(dc_ts_next_time(-86400 * 6, 86400, 1), -86400 * 3);               /* Fri 26 -> Mon 29 */
	CHECK(from_text(&ts, "date,v,w,v\n2020-01-01,1,2,3\n2020-01-02,2,3,4\n") == DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "column 'v' appears twice (columns 2 and 4)") != NULL);
}

/* values the models' single precision cannot hold once scaled are refused, not trained on as inf */
TEST(scaler_out_of_range)
{
	struct dc_ts ts;
	CHECK_EQ_INT(from_text(&ts, "date,v,w\n2020-01-01,1,5\n2020-01-02,2,6\n2020-01-03,3,7\n"
	                            "2020-01-04,1e100,8\n"),
	             DC_OK);
	CHECK(dc_ts_fit_scaler(&ts, 0, 3) == DC_EFORMAT);   /* fitted on rows 1-3, row 4 is 1e100 */
	CHECK(strstr(dc_errmsg(), "row 4, column 'v': value 1e+100 is out of range") != NULL);
	CHECK_EQ_INT(dc_ts_fit_scaler(&ts, 0, 4), DC_OK);  /* fitted with it: in range */
	CHECK(isfinite(ts.data[3 * 2]) && ts.data[3 * 2] > 1.7f && ts.data[3 * 2] < 1.8f); /* sqrt(3) */
	double mean[2] = { 2, 6 }, sd[2] = { 1e-300, 1 };
	CHECK(dc_ts_set_scaler(&ts, mean, sd) == DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "row 1, column 'v'") != NULL);
	dc_ts_release(&ts);
	/* squares that overflow double */
	CHECK_EQ_INT(from_text(&ts, "date,v\n2020-01-01,1e200\n2020-01-02,-1e200\n2020-01-03,0\n"), DC_OK);
	CHECK(dc_ts_fit_scaler(&ts, 0, 3) == DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "column 'v': values too large to scale") != NULL);
	dc_ts_release(&ts);
}

TEST(splits_and_shuffle)
{
	struct dc_ts_split s;
	CHECK_EQ_INT(dc_ts_split_ett(&s, 69680, 900, 96), DC_OK);
	CHECK(s.end[0] == 34560 && s.begin[1] == 34560 - 96 && s.end[2] == 57600);
	CHECK_EQ_INT(dc_ts_windows(&s, 2, 96, 96), 11425);
	CHECK(dc_ts_split_ett(&s, 17420, 1800, 96) == DC_EINVAL);
	CHECK(dc_ts_split_ett(&s, 14000, 3600, 96) == DC_EINVAL);
	CHECK_EQ_INT(dc_ts_split_ratio(&s, 7588, 0.7, 0.1, 0.2, 96), DC_OK);
	CHECK(s.end[0] == 5311 && s.end[1] == 7588 - 1517 && s.begin[2] == 7588 - 1517 - 96);
	CHECK_EQ_INT(dc_ts_windows(&s, 2, 96, 720), 798);
	size_t idx[100], seen[100] = { 0 };
	for (size_t i = 0; i < 100; i++)
		idx[i] = i;
	dc_ts_shuffle(idx, 100, 5, 1);
	int moved = 0;
	for (size_t i = 0; i < 100; i++) {
		seen[idx[i]]++;
		moved += idx[i] != i;
	}
	for (size_t i = 0; i < 100; i++)
		CHECK_EQ_INT(seen[i], 1);
	CHECK(moved > 80);
}

int main(void)
{
	RUN(ett_hour_loader_borders_scaler_windows);
	RUN(custom_loader_m_target_moved_last);
	RUN(custom_loader_s);
	RUN(time_features_t_and_h);
	RUN(timestamps_gaps_and_refusals);
	RUN(scaler_out_of_range);
	RUN(splits_and_shuffle);
	return test_summary();
}
