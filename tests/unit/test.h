/*
 * test.h - a minimal TAP-style unit-test harness for libdiffcore.
 *
 * Each tests/unit/test_*.c is one program: a list of TEST(name) functions
 * run from main() with RUN(name).  CHECK* macros record failures with file
 * and line and keep going; the program prints "ok"/"not ok" per test and
 * "# N passed, N failed", exiting 1 if anything failed.
 */
#ifndef DC_TEST_H
#define DC_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_fail_count, t_pass_count, t_cur_failed, t_num;

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                          \
	do {                                                               \
		t_cur_failed = 0;                                          \
		test_##name();                                             \
		t_num++;                                                   \
		if (t_cur_failed) { t_fail_count++; printf("not ok %d - %s\n", t_num, #name); } \
		else { t_pass_count++; printf("ok %d - %s\n", t_num, #name); } \
		fflush(stdout);                                            \
	} while (0)

#define T_FAILED(...)                                                      \
	do { t_cur_failed = 1; printf("#   %s:%d: ", __FILE__, __LINE__);   \
	     printf(__VA_ARGS__); printf("\n"); } while (0)

#define CHECK(cond)                                                        \
	do { if (!(cond)) T_FAILED("CHECK(%s)", #cond); } while (0)

#define CHECK_EQ_INT(a, b)                                                 \
	do { long long _a = (long long)(a), _b = (long long)(b);             \
	     if (_a != _b) T_FAILED("%s == %lld, expected %s == %lld", #a, _a, #b, _b); } while (0)

/* |a-b| <= atol + rtol*|b| elementwise over n floats; reports the worst. */
#define CHECK_CLOSE(a, b, n, atol, rtol)                                   \
	do { double _w = 0; size_t _wi = 0, _bad = 0;                         \
	     for (size_t _i = 0; _i < (size_t)(n); _i++) {                    \
		double _d = fabs((double)(a)[_i] - (double)(b)[_i]);        \
		double _tol = (atol) + (rtol) * fabs((double)(b)[_i]);      \
		if (!(_d <= _tol)) { _bad++; if (!(_d <= _w)) { _w = _d; _wi = _i; } } } \
	     if (_bad) T_FAILED("%s vs %s: %zu of %zu differ, worst |d|=%g at %zu (%g vs %g)", \
		#a, #b, _bad, (size_t)(n), _w, _wi, (double)(a)[_wi], (double)(b)[_wi]); } while (0)

static inline int test_summary(void)
{
	printf("# %d passed, %d failed\n", t_pass_count, t_fail_count);
	return t_fail_count ? 1 : 0;
}

/* Max |a-b| over n floats, for reporting parity figures. */
static inline double max_abs_diff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		if (d > m || d != d) m = d;
	}
	return m;
}

#endif
