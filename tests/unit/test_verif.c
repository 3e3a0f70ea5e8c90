/*
 * test_verif.c - the speaker-verification metrics of lib/metrics/verif.c
 * against plain-Python brute-force golden values
 * (tests/golden/make_verif.py, tests/golden/verif/cases.txt: operating
 * points counted threshold by threshold, EER interpolated where
 * P_miss = P_fa, SpeechBrain's minDCF re-implemented literally and checked
 * against SpeechBrain's own function, statistics.NormalDist().inv_cdf,
 * WeSpeaker's AS-norm cohort statistics).  Tolerances: EER, minDCF, DET
 * points 1e-12; probit 1e-14 relative; cosine and cohort statistics 1e-12;
 * means 1e-6.  Also: invariance of EER/minDCF to trial order and to a
 * monotone transform of the scores, bad input (no targets, NaN scores,
 * bad p_target, too small a cohort), and the DET plot (size, curve pixels,
 * a better system drawn nearer the origin).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/core.h"
#include "io/media.h"
#include "metrics/metrics.h"

static char top[4096];

static int readd(FILE *f, double *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char w[64];
		if (fscanf(f, "%63s", w) != 1)
			return -1;
		x[i] = strcmp(w, "inf") == 0 ? INFINITY : strcmp(w, "-inf") == 0 ? -INFINITY : strtod(w, NULL);
	}
	return 0;
}

static int readf(FILE *f, float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fscanf(f, "%f", &x[i]) != 1)
			return -1;
	return 0;
}

static FILE *open_golden(void)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/tests/golden/verif/cases.txt", top);
	FILE *f = fopen(p, "r");
	if (!f)
		T_FAILED("cannot open %s", p);
	return f;
}

static int near(double a, double b, double tol)
{
	return a == b || fabs(a - b) <= tol;
}

TEST(golden_trials)
{
	FILE *f = open_golden();
	if (!f)
		return;
	char tag[32], name[64];
	int ncase = 0;
	size_t n;
	double worst = 0;
	while (fscanf(f, "%31s", tag) == 1 && strcmp(tag, "case") == 0) {
		if (fscanf(f, "%63s %zu", name, &n) != 2)
			break;
		double *s = malloc(n * sizeof *s);
		uint8_t *l = malloc(n);
		int bad = readd(f, s, n);
		for (size_t i = 0; i < n && !bad; i++) {
			int v;
			bad = fscanf(f, "%d", &v) != 1;
			l[i] = (uint8_t)v;
		}
		if (bad) {
			T_FAILED("%s: truncated trials", name);
			break;
		}
		double ge, gt, e = -1, t = -1;
		if (fscanf(f, "%31s", tag) != 1 || readd(f, &ge, 1) || readd(f, &gt, 1)) {
			T_FAILED("%s: truncated golden", name);
			break;
		}
		CHECK(dc_eer(s, l, n, &e, &t) == DC_OK);
		if (!near(e, ge, 1e-12) || !near(t, gt, 1e-12))
			T_FAILED("%s: eer %.17g thr %.17g, golden %.17g %.17g", name, e, t, ge, gt);
		worst = fmax(worst, fabs(e - ge));
		printf("# %s (n %zu): EER %.6f%% (golden %.6f%%)", name, n, 100 * e, 100 * ge);
		for (int k = 0; k < 3; k++) {
			double g[6];
			struct dc_dcf d;
			if (fscanf(f, "%31s", tag) != 1 || readd(f, g, 6)) {
				T_FAILED("%s: truncated dcf", name);
				break;
			}
			CHECK(dc_min_dcf(s, l, n, g[0], 1, 1, &d) == DC_OK);
			if (!near(d.min_dcf, g[1], 1e-12) || !near(d.raw, g[2], 1e-12) || !near(d.threshold, g[3], 1e-12) ||
			    !near(d.p_miss, g[4], 1e-12) || !near(d.p_fa, g[5], 1e-12))
				T_FAILED("%s: minDCF(%g) %.17g raw %.17g thr %.17g pm %g pf %g; golden %.17g %.17g %.17g %g %g",
				         name, g[0], d.min_dcf, d.raw, d.threshold, d.p_miss, d.p_fa, g[1], g[2], g[3], g[4],
				         g[5]);
			worst = fmax(worst, fabs(d.min_dcf - g[1]));
			printf(" minDCF(%g) %.6f", g[0], d.min_dcf);
		}
		printf("\n");
		size_t K;
		if (fscanf(f, "%31s %zu", tag, &K) != 2) {
			T_FAILED("%s: truncated det", name);
			break;
		}
		double *gp = malloc(3 * K * sizeof *gp), *pfa, *pmiss, *thr;
		size_t np = 0;
		if (readd(f, gp, 3 * K)) {
			T_FAILED("%s: truncated det values", name);
			break;
		}
		CHECK(dc_det_curve(s, l, n, &pfa, &pmiss, &thr, &np) == DC_OK);
		CHECK_EQ_INT(np, K);
		if (np == K) {
			CHECK_CLOSE(pfa, gp, K, 1e-12, 0);
			CHECK_CLOSE(pmiss, gp + K, K, 1e-12, 0);
			CHECK(thr[0] == INFINITY && gp[2 * K] == INFINITY);
			CHECK_CLOSE(thr + 1, gp + 2 * K + 1, K - 1, 0, 0);
		}
		dc_free(pfa);
		dc_free(pmiss);
		dc_free(thr);

		/* order and a monotone transform of the scores change nothing but the thresholds */
		double *s2 = malloc(n * sizeof *s2);
		uint8_t *l2 = malloc(n);
		for (size_t i = 0; i < n; i++) {
			size_t j = (i * 7919 + 13) % n;   /* a permutation when gcd(7919, n) = 1 */
			s2[i] = s[j];
			l2[i] = l[j];
		}
		int perm = 1;
		for (size_t i = 0; i < n && perm; i++)
			for (size_t k = 0; k < i && perm; k++)
				perm = (i * 7919 + 13) % n != (k * 7919 + 13) % n;
		double e2 = -1;
		struct dc_dcf d1, d2;
		if (perm) {
			CHECK(dc_eer(s2, l2, n, &e2, NULL) == DC_OK);
			CHECK(e2 == e);
		}
		for (size_t i = 0; i < n; i++)
			s2[i] = exp(3 * s[i]) - 5;
		CHECK(dc_eer(s2, l, n, &e2, NULL) == DC_OK);
		CHECK(fabs(e2 - e) <= 1e-15);
		CHECK(dc_min_dcf(s, l, n, 0.01, 1, 1, &d1) == DC_OK);
		CHECK(dc_min_dcf(s2, l, n, 0.01, 1, 1, &d2) == DC_OK);
		CHECK(d1.min_dcf == d2.min_dcf);
		free(s2);
		free(l2);
		free(gp);
		free(s);
		free(l);
		ncase++;
	}
	fclose(f);
	CHECK_EQ_INT(ncase, 6);
	printf("# worst |EER or minDCF - golden| %.3g\n", worst);
}

/* skip the trial cases to the named section */
static FILE *seek_section(const char *want)
{
	FILE *f = open_golden();
	if (!f)
		return NULL;
	char w[64];
	while (fscanf(f, "%63s", w) == 1)
		if (strcmp(w, want) == 0)
			return f;
	fclose(f);
	T_FAILED("no '%s' section", want);
	return NULL;
}

TEST(probit)
{
	FILE *f = seek_section("probit");
	if (!f)
		return;
	int n;
	double worst = 0;
	CHECK(fscanf(f, "%d", &n) == 1);
	for (int i = 0; i < n; i++) {
		double pq[2];
		if (readd(f, pq, 2)) {
			T_FAILED("truncated probit");
			break;
		}
		double v = dc_probit(pq[0]), r = fabs(v - pq[1]) / fmax(fabs(pq[1]), 1e-300);
		if (pq[1] == 0 ? v != 0 : r > 1e-14)
			T_FAILED("probit(%.17g) = %.17g, golden %.17g", pq[0], v, pq[1]);
		if (pq[1] != 0)
			worst = fmax(worst, r);
	}
	fclose(f);
	printf("# probit: %d values, worst relative error %.3g\n", n, worst);
	CHECK(dc_probit(0) == -INFINITY);
	CHECK(dc_probit(1) == INFINITY);
	CHECK(isnan(dc_probit(-0.1)) && isnan(dc_probit(1.5)) && isnan(dc_probit(NAN)));
	CHECK(dc_probit(0.5) == 0);
	CHECK(fabs(dc_probit(0.3) + dc_probit(0.7)) < 1e-15);
}

TEST(cohort)
{
	FILE *f = seek_section("cohort");
	if (!f)
		return;
	int ncase = 0;
	do {
		int d, nc, top_n;
		if (fscanf(f, "%d %d %d", &d, &nc, &top_n) != 3)
			break;
		float *e = malloc(d * sizeof *e), *t = malloc(d * sizeof *t), *c = malloc((size_t)nc * d * sizeof *c);
		float *mean = malloc(d * sizeof *mean);
		double g[6], *gm = malloc(d * sizeof *gm);
		if (readf(f, e, d) || readf(f, t, d) || readf(f, c, (size_t)nc * d) || readd(f, g, 6) || readd(f, gm, d)) {
			T_FAILED("truncated cohort case");
			break;
		}
		double s = dc_cosine(e, t, d), me = 0, se = 0, mt = 0, st = 0;
		CHECK(near(s, g[0], 1e-12));
		CHECK(dc_cohort_stats(e, c, nc, d, top_n, &me, &se) == DC_OK);
		CHECK(dc_cohort_stats(t, c, nc, d, top_n, &mt, &st) == DC_OK);
		double an = dc_asnorm(s, me, se, mt, st);
		if (!near(me, g[1], 1e-12) || !near(se, g[2], 1e-12) || !near(mt, g[3], 1e-12) || !near(st, g[4], 1e-12) ||
		    !near(an, g[5], 1e-10))
			T_FAILED("cohort d %d nc %d top %d: %.17g %.17g %.17g %.17g -> %.17g; golden %.17g %.17g %.17g %.17g "
			         "-> %.17g", d, nc, top_n, me, se, mt, st, an, g[1], g[2], g[3], g[4], g[5]);
		printf("# cohort d %d nc %d top-n %d: score %.6f asnorm %.6f (golden %.6f)\n", d, nc, top_n, s, an, g[5]);
		CHECK(dc_emb_mean(c, nc, d, mean) == DC_OK);
		CHECK_CLOSE(mean, gm, d, 1e-6, 1e-6);
		ncase++;
		free(e); free(t); free(c); free(mean); free(gm);
		char w[16];
		if (fscanf(f, "%15s", w) != 1 || strcmp(w, "cohort"))
			break;
	} while (1);
	fclose(f);
	CHECK_EQ_INT(ncase, 3);
}

TEST(cosine_and_norm)
{
	float a[3] = { 3, 0, 4 }, b[3] = { 6, 0, 8 }, z[3] = { 0, 0, 0 }, m[3] = { -3, 0, -4 };
	CHECK(fabs(dc_cosine(a, b, 3) - 1) < 1e-15);
	CHECK(fabs(dc_cosine(a, m, 3) + 1) < 1e-15);
	CHECK(dc_cosine(a, z, 3) == 0);
	dc_l2_normalize(a, 3);
	CHECK(fabs(a[0] - 0.6f) < 1e-7 && fabs(a[2] - 0.8f) < 1e-7);
	dc_l2_normalize(z, 3);
	CHECK(z[0] == 0 && z[1] == 0 && z[2] == 0);
}

TEST(bad_input)
{
	double s[4] = { 0.1, 0.2, 0.3, 0.4 }, e, t;
	uint8_t all[4] = { 1, 1, 1, 1 }, none[4] = { 0 }, mixed[4] = { 1, 0, 1, 0 };
	struct dc_dcf d;
	CHECK(dc_eer(s, all, 4, &e, &t) == DC_EINVAL);
	CHECK(strstr(dc_errmsg(), "target and nontarget") != NULL);
	CHECK(dc_eer(s, none, 4, &e, &t) == DC_EINVAL);
	CHECK(dc_eer(s, mixed, 0, &e, &t) == DC_EINVAL);
	CHECK(dc_min_dcf(s, mixed, 4, 0, 1, 1, &d) == DC_EINVAL);
	CHECK(dc_min_dcf(s, mixed, 4, 1, 1, 1, &d) == DC_EINVAL);
	CHECK(dc_min_dcf(s, mixed, 4, 0.01, -1, 1, &d) == DC_EINVAL);
	s[2] = NAN;
	CHECK(dc_eer(s, mixed, 4, &e, &t) == DC_EINVAL);
	CHECK(strstr(dc_errmsg(), "score 3") != NULL);
	s[2] = INFINITY;
	CHECK(dc_min_dcf(s, mixed, 4, 0.01, 1, 1, &d) == DC_EINVAL);
	float x[4] = { 1, 0, 0, 1 }, c[4] = { 1, 0, 0, 1 };
	double m, sd;
	CHECK(dc_cohort_stats(x, c, 2, 2, 1, &m, &sd) == DC_EINVAL);     /* top-1: no spread */
	CHECK(dc_cohort_stats(x, c, 1, 2, 0, &m, &sd) == DC_EINVAL);     /* one cohort entry */
	float same[4] = { 1, 0, 1, 0 };
	CHECK(dc_cohort_stats(x, same, 2, 2, 0, &m, &sd) == DC_EINVAL);  /* equal scores */
	CHECK(dc_emb_mean(x, 0, 2, c) == DC_EINVAL);
}

static void red_centroid(const struct dc_image *img, double *cx, double *cy, size_t *count)
{
	const unsigned char *p = img->data;
	double sx = 0, sy = 0;
	size_t n = 0;
	for (int y = 0; y < img->height; y++)
		for (int x = 0; x < img->width; x++) {
			const unsigned char *q = p + ((size_t)y * img->width + x) * 3;
			if (q[0] == 205 && q[1] == 30 && q[2] == 30) {
				sx += x;
				sy += y;
				n++;
			}
		}
	*cx = n ? sx / n : 0;
	*cy = n ? sy / n : 0;
	*count = n;
}

/* Trials from two Gaussians d' apart (deterministic quantiles, no RNG). */
static void gauss_trials(double dprime, double *s, uint8_t *l, int n)
{
	for (int i = 0; i < n; i++) {
		double p = (i / 2 + 0.5) / (n / 2);
		l[i] = i % 2 == 0;
		s[i] = dc_probit(p) + (l[i] ? dprime : 0);
	}
}

TEST(det_plot)
{
	enum { N = 2000 };
	double *s = malloc(N * sizeof *s);
	uint8_t *l = malloc(N);
	double cx[2], cy[2];
	for (int k = 0; k < 2; k++) {
		gauss_trials(k == 0 ? 1.0 : 3.0, s, l, N);
		double *pfa, *pmiss, e;
		size_t np, nred;
		struct dc_dcf d;
		CHECK(dc_det_curve(s, l, N, &pfa, &pmiss, NULL, &np) == DC_OK);
		CHECK(dc_eer(s, l, N, &e, NULL) == DC_OK);
		CHECK(dc_min_dcf(s, l, N, 0.01, 1, 1, &d) == DC_OK);
		/* two Gaussians d' apart with unit variance: EER = Phi(-d'/2) */
		double want = 0.5 * erfc((k == 0 ? 1.0 : 3.0) / 2 / sqrt(2));
		printf("# d' %d: EER %.4f%% (theory %.4f%%), minDCF(0.01) %.4f\n", k == 0 ? 1 : 3, 100 * e, 100 * want,
		       d.min_dcf);
		CHECK(fabs(e - want) < 0.002);
		struct dc_det_plot_opts o = { .n_target = N / 2, .n_nontarget = N / 2, .eer = e, .dcf_pfa = d.p_fa,
			                      .dcf_pmiss = d.p_miss, .dcf_p_target = 0.01, .min_dcf = d.min_dcf,
			                      .title = "test det" };
		struct dc_image img = { 0 };
		CHECK(dc_det_plot(pfa, pmiss, np, &o, &img) == DC_OK);
		CHECK(img.width == 640 && img.height == 640 && img.channels == 3 && img.depth == 8);
		red_centroid(&img, &cx[k], &cy[k], &nred);
		CHECK(nred > 300);
		/* the curve is symmetric about the diagonal here: its centroid lies on it */
		CHECK(fabs((cx[k] - 64) / (640 - 20 - 64) - (640 - 52 - cy[k]) / (640 - 52 - 44)) < 0.05);
		dc_image_release(&img);
		dc_free(pfa);
		dc_free(pmiss);
	}
	/* the better system is drawn nearer the bottom-left corner */
	CHECK(cx[1] < cx[0] && cy[1] > cy[0]);
	struct dc_image img = { 0 };
	struct dc_det_plot_opts bad = { .width = 10, .height = 10 };
	double p0[2] = { 0, 1 }, p1[2] = { 1, 0 };
	CHECK(dc_det_plot(p0, p1, 2, &bad, &img) == DC_EINVAL);
	struct dc_det_plot_opts badr = { .lo = 0.5, .hi = 0.1 };
	CHECK(dc_det_plot(p0, p1, 2, &badr, &img) == DC_EINVAL);
	CHECK(dc_det_plot(p0, p1, 2, NULL, &img) == DC_OK);   /* defaults */
	dc_image_release(&img);
	free(s);
	free(l);
}

int main(void)
{
	const char *t = getenv("DC_TOP");
	snprintf(top, sizeof top, "%s", t ? t : ".");
	RUN(golden_trials);
	RUN(probit);
	RUN(cohort);
	RUN(cosine_and_norm);
	RUN(bad_input);
	RUN(det_plot);
	return test_summary();
}
