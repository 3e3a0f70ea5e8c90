/*
 * test_frechet.c - dc_mean_cov and dc_frechet (lib/metrics/frechet.c)
 * against numpy/scipy golden values (tests/golden/make_frechet.py,
 * tests/golden/frechet/cases.txt: pytorch-fid's formula with
 * scipy.linalg.sqrtm; the rank-deficient case with scipy's eigh form).
 * Agreement: mean and covariance 1e-12 relative, FD 1e-9 relative.  Also:
 * FD of a set with itself is 0, FD is symmetric, a pure mean shift gives
 * |shift|^2, and bad sizes are DC_EINVAL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/core.h"
#include "metrics/metrics.h"

static char top[4096];

static int readv(FILE *f, double *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fscanf(f, "%lf", &x[i]) != 1)
			return -1;
	return 0;
}

TEST(golden_cases)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/tests/golden/frechet/cases.txt", top);
	FILE *f = fopen(p, "r");
	if (!f) { T_FAILED("cannot open %s", p); return; }
	char name[64];
	int n1, n2, d, ncase = 0;
	while (fscanf(f, "%63s %d %d %d", name, &n1, &n2, &d) == 4) {
		double *x1 = malloc(sizeof(double) * n1 * d), *x2 = malloc(sizeof(double) * n2 * d),
		       *mu = malloc(sizeof(double) * d), *cov = malloc(sizeof(double) * d * d),
		       *gmu = malloc(sizeof(double) * d), *gcov = malloc(sizeof(double) * d * d), fd;
		if (readv(f, x1, (size_t)n1 * d) || readv(f, x2, (size_t)n2 * d) || readv(f, gmu, d) ||
		    readv(f, gcov, (size_t)d * d) || fscanf(f, "%lf", &fd) != 1) {
			T_FAILED("%s: truncated golden", name);
			break;
		}
		CHECK(dc_mean_cov(x1, n1, d, mu, cov) == DC_OK);
		CHECK_CLOSE(mu, gmu, d, 1e-12, 1e-12);
		CHECK_CLOSE(cov, gcov, (size_t)d * d, 1e-12, 1e-12);
		double got = -1, rev = -1, self = -1;
		CHECK(dc_frechet_features(x1, n1, x2, n2, d, &got) == DC_OK);
		CHECK(dc_frechet_features(x2, n2, x1, n1, d, &rev) == DC_OK);
		CHECK(dc_frechet_features(x1, n1, x1, n1, d, &self) == DC_OK);
		printf("# %s (n %d/%d, d %d): fd %.12g golden %.12g rel err %.2g; reversed %.2g; "
		       "self %.2g\n", name, n1, n2, d, got, fd, fabs(got - fd) / fd,
		       fabs(rev - fd) / fd, self);
		CHECK(fabs(got - fd) <= 1e-9 * fd);
		CHECK(fabs(rev - fd) <= 1e-9 * fd);
		CHECK(self <= 1e-9 * fd);
		/* a pure shift of the mean adds |shift|^2 */
		for (int i = 0; i < n1; i++)
			x1[(size_t)i * d] += 3.0;
		double sh = -1;
		CHECK(dc_mean_cov(x1, n1, d, mu, cov) == DC_OK);
		CHECK(dc_frechet(mu, cov, gmu, gcov, d, &sh) == DC_OK);
		if (!(fabs(sh - 9.0) <= 1e-9))
			T_FAILED("%s: shifted by 3: %.12g, expected 9", name, sh);
		ncase++;
		free(x1); free(x2); free(mu); free(cov); free(gmu); free(gcov);
	}
	fclose(f);
	CHECK_EQ_INT(ncase, 3);
}

TEST(bad_sizes)
{
	double x[4] = { 1, 2, 3, 4 }, mu[2], cov[4], out;
	CHECK(dc_mean_cov(x, 1, 2, mu, cov) == DC_EINVAL);
	CHECK(dc_frechet(mu, cov, mu, cov, 0, &out) == DC_EINVAL);
	CHECK(dc_frechet_features(x, 1, x, 2, 2, &out) == DC_EINVAL);
	/* a 1-D case by hand: N(0,1) vs N(1,4): 1 + 1 + 4 - 2*2 = 2 */
	double m1 = 0, v1 = 1, m2 = 1, v2 = 4;
	CHECK(dc_frechet(&m1, &v1, &m2, &v2, 1, &out) == DC_OK);
	CHECK(fabs(out - 2.0) < 1e-12);
}

int main(void)
{
	const char *t = getenv("DC_TOP");
	snprintf(top, sizeof top, "%s", t ? t : ".");
	RUN(golden_cases);
	RUN(bad_sizes);
	return test_summary();
}
