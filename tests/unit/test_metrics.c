/*
 * test_metrics.c - lib/metrics against golden values from skimage.metrics,
 * scipy, mir_eval 0.7, numpy and a numpy MS-SSIM port checked against
 * torchmetrics' code (tests/golden/make_metrics.py; inputs and
 * expected.tsv in tests/golden/metrics/, read from $DC_TOP or the current
 * directory).  Agreement: |ours - golden| <= 1e-6 absolute (the values are
 * O(1) to O(300); in practice the difference is ~1e-12).  Also: the
 * distance transform against brute force, the greedy beat matching against
 * an augmenting-path maximum matching, and the edge cases.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/core.h"
#include "io/media.h"
#include "metrics/metrics.h"

#define TOL 1e-6

static const char *gold_path(const char *name)
{
	static char path[4096];
	const char *top = getenv("DC_TOP");
	snprintf(path, sizeof path, "%s/tests/golden/metrics/%s", top ? top : ".", name);
	return path;
}

/* expected.tsv lookup; NAN (and a failure) if missing */
static double expect(const char *kase, const char *metric)
{
	FILE *f = fopen(gold_path("expected.tsv"), "r");
	char line[512], c[128], m[128];
	double v, r = NAN;
	if (!f) {
		T_FAILED("cannot open %s", gold_path("expected.tsv"));
		return NAN;
	}
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "%127s %127s %lf", c, m, &v) == 3 && !strcmp(c, kase) && !strcmp(m, metric))
			r = v;
	fclose(f);
	if (isnan(r))
		T_FAILED("no golden value for %s/%s", kase, metric);
	return r;
}

#define CHECK_GOLD(got, kase, metric)                                             \
	do { double _g = (got), _e = expect(kase, metric);                          \
	     if (!(fabs(_g - _e) <= TOL)) T_FAILED("%s/%s: %.12g, golden %.12g", kase, metric, _g, _e); \
	} while (0)

/* PNG -> float HWC */
static float *load_png(const char *name, int *w, int *h, int *c)
{
	struct dc_image img = {0};
	FILE *f = fopen(gold_path(name), "rb");
	if (!f || dc_png_read(f, &img) != DC_OK) {
		T_FAILED("cannot read %s: %s", name, dc_errmsg());
		if (f) fclose(f);
		return NULL;
	}
	fclose(f);
	size_t n = (size_t)img.width * img.height * img.channels;
	float *out = malloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++)
		out[i] = ((uint8_t *)img.data)[i];
	*w = img.width; *h = img.height; *c = img.channels;
	dc_image_release(&img);
	return out;
}

static uint8_t *load_mask(const char *name, int *w, int *h)
{
	int c;
	float *f = load_png(name, w, h, &c);
	if (!f)
		return NULL;
	size_t n = (size_t)*w * *h;
	uint8_t *m = malloc(n);
	for (size_t i = 0; i < n; i++)
		m[i] = f[i * c] == 255;
	free(f);
	return m;
}

static double *load_csv(const char *name, size_t *rows, size_t *cols)
{
	struct dc_csv csv = {0};
	FILE *f = fopen(gold_path(name), "r");
	if (!f || dc_csv_read(f, &csv) != DC_OK) {
		T_FAILED("cannot read %s: %s", name, dc_errmsg());
		if (f) fclose(f);
		return NULL;
	}
	fclose(f);
	*rows = csv.rows; *cols = csv.cols;
	double *v = malloc(csv.rows * csv.cols * sizeof(double));
	memcpy(v, csv.values, csv.rows * csv.cols * sizeof(double));
	dc_csv_release(&csv);
	return v;
}

static float *to_f32(const double *v, size_t n)
{
	float *f = malloc((n ? n : 1) * sizeof(float));
	for (size_t i = 0; i < n; i++)
		f[i] = (float)v[i];
	return f;
}

static double *load_times(const char *name, size_t *n)
{
	FILE *f = fopen(gold_path(name), "r");
	double *t = malloc(1024 * sizeof(double));
	*n = 0;
	if (!f) {
		T_FAILED("cannot open %s", name);
		return t;
	}
	while (*n < 1024 && fscanf(f, "%lf", &t[*n]) == 1)
		(*n)++;
	fclose(f);
	return t;
}

static void image_case(const char *kase, const char *ra, const char *rb)
{
	int w, h, c, w2, h2, c2;
	float *a = load_png(ra, &w, &h, &c), *b = load_png(rb, &w2, &h2, &c2);
	if (!a || !b) { free(a); free(b); return; }
	CHECK(w == w2 && h == h2 && c == c2);
	struct dc_ssim_opts o;
	double v;
	size_t n = (size_t)w * h * c;
	dc_ssim_opts_skimage(&o, 255);
	CHECK_EQ_INT(dc_ssim(a, b, w, h, c, &o, &v), DC_OK);
	CHECK_GOLD(v, kase, "ssim");
	dc_ssim_opts_gaussian(&o, 255);
	CHECK_EQ_INT(dc_ssim(a, b, w, h, c, &o, &v), DC_OK);
	CHECK_GOLD(v, kase, "ssim-gaussian");
	CHECK_EQ_INT(dc_msssim(a, b, w, h, c, 255, DC_MSSSIM_VALID, &v), DC_OK);
	CHECK_GOLD(v, kase, "ms-ssim");
	CHECK_EQ_INT(dc_msssim(a, b, w, h, c, 255, DC_MSSSIM_FULL, &v), DC_OK);
	CHECK_GOLD(v, kase, "ms-ssim-full");
	CHECK_EQ_INT(dc_psnr(a, b, n, 255, &v), DC_OK);
	CHECK_GOLD(v, kase, "psnr");
	CHECK_EQ_INT(dc_mse(a, b, n, &v), DC_OK);
	CHECK_GOLD(v, kase, "mse");
	CHECK_GOLD(sqrt(v), kase, "rmse");
	/* the same thread count gives the same bits; 1 vs 2 threads too */
	double v1, v2;
	dc_set_threads(1);
	dc_ssim_opts_skimage(&o, 255);
	dc_ssim(a, b, w, h, c, &o, &v1);
	dc_set_threads(2);
	dc_ssim(a, b, w, h, c, &o, &v2);
	dc_set_threads(0);
	CHECK(v1 == v2);
	free(a); free(b);
}

TEST(ssim_gray) { image_case("gray", "gray_ref.png", "gray_cand.png"); }
TEST(ssim_rgb) { image_case("rgb", "rgb_ref.png", "rgb_cand.png"); }

TEST(ssim_identical_and_small)
{
	float a[64 * 64];
	double v;
	struct dc_ssim_opts o;
	for (int i = 0; i < 64 * 64; i++)
		a[i] = (float)((i * 37) % 251);
	dc_ssim_opts_skimage(&o, 255);
	CHECK_EQ_INT(dc_ssim(a, a, 64, 64, 1, &o, &v), DC_OK);
	CHECK(fabs(v - 1) < 1e-12);
	CHECK_EQ_INT(dc_psnr(a, a, 64 * 64, 255, &v), DC_OK);
	CHECK(isinf(v) && v > 0);
	CHECK_EQ_INT(dc_ssim(a, a, 6, 6, 1, &o, &v), DC_EINVAL);      /* < 7x7 */
	CHECK_EQ_INT(dc_msssim(a, a, 64, 64, 1, 255, DC_MSSSIM_VALID, &v), DC_EINVAL);
	o.data_range = 0;
	CHECK_EQ_INT(dc_ssim(a, a, 64, 64, 1, &o, &v), DC_EINVAL);
	float *big = malloc(176 * 176 * sizeof(float));
	for (int i = 0; i < 176 * 176; i++)
		big[i] = (float)((i * 13) % 256);
	CHECK_EQ_INT(dc_msssim(big, big, 176, 176, 1, 255, DC_MSSSIM_FULL, &v), DC_OK);
	CHECK(fabs(v - 1) < 1e-12);
	CHECK_EQ_INT(dc_msssim(big, big, 175, 176, 1, 255, DC_MSSSIM_VALID, &v), DC_EINVAL);
	free(big);
}

static void edge_case(const char *kase, double tol)
{
	int w, h, w2, h2;
	uint8_t *r = load_mask("edge_ref.png", &w, &h), *c = load_mask("edge_cand.png", &w2, &h2);
	if (!r || !c) { free(r); free(c); return; }
	struct dc_prf p;
	CHECK_EQ_INT(dc_edge_f1(r, c, w, h, tol, &p), DC_OK);
	CHECK_GOLD(p.f1, kase, "f1");
	CHECK_GOLD(p.precision, kase, "precision");
	CHECK_GOLD(p.recall, kase, "recall");
	free(r); free(c);
}

TEST(edge_f1)
{
	edge_case("edge", 0);
	edge_case("edge_tol1", 1);
	edge_case("edge_tol1.5", 1.5);
	edge_case("edge_tol2", 2);
	edge_case("edge_tol3", 3);
}

TEST(hausdorff)
{
	int w, h;
	double v;
	uint8_t *r = load_mask("edge_ref.png", &w, &h), *c = load_mask("edge_cand.png", &w, &h);
	if (r && c) {
		CHECK_EQ_INT(dc_hausdorff(r, c, w, h, &v), DC_OK);
		CHECK_GOLD(v, "edge", "hausdorff");
	}
	free(r); free(c);
	r = load_mask("sparse_a.png", &w, &h);
	c = load_mask("sparse_b.png", &w, &h);
	if (r && c) {
		CHECK_EQ_INT(dc_hausdorff(r, c, w, h, &v), DC_OK);
		CHECK_GOLD(v, "sparse", "hausdorff");
		CHECK_EQ_INT(dc_hausdorff(c, r, w, h, &v), DC_OK);   /* symmetric */
		CHECK_GOLD(v, "sparse", "hausdorff");
	}
	free(r); free(c);
	uint8_t z[12] = {0}, one[12] = {0};
	one[5] = 1;
	CHECK_EQ_INT(dc_hausdorff(z, z, 4, 3, &v), DC_OK);
	CHECK(v == 0);
	CHECK_EQ_INT(dc_hausdorff(z, one, 4, 3, &v), DC_OK);
	CHECK(isinf(v));
	struct dc_prf p;
	CHECK_EQ_INT(dc_edge_f1(z, z, 4, 3, 0, &p), DC_OK);
	CHECK(p.f1 == 0);
	CHECK_EQ_INT(dc_edge_f1(one, one, 4, 3, 2, &p), DC_OK);
	CHECK(p.f1 == 1);
	CHECK_EQ_INT(dc_edge_f1(one, one, 4, 3, -1, &p), DC_EINVAL);
}

TEST(edt_brute_force)
{
	uint64_t s = 12345;
	int sizes[][2] = { {1, 1}, {1, 9}, {9, 1}, {17, 13}, {40, 31} };
	for (int t = 0; t < 5; t++) {
		int w = sizes[t][0], h = sizes[t][1];
		for (int rep = 0; rep < 4; rep++) {
			uint8_t *m = calloc((size_t)w * h, 1);
			double *d = malloc(sizeof(double) * w * h);
			for (int i = 0; i < w * h; i++) {
				s = s * 6364136223846793005ull + 1442695040888963407ull;
				m[i] = (s >> 33) % 100 < (unsigned)(rep * 3);   /* 0% .. 6% */
			}
			CHECK_EQ_INT(dc_edt_sq(m, w, h, d), DC_OK);
			int bad = 0;
			for (int y = 0; y < h; y++)
				for (int x = 0; x < w; x++) {
					double best = INFINITY;
					for (int yy = 0; yy < h; yy++)
						for (int xx = 0; xx < w; xx++)
							if (m[yy * w + xx]) {
								double dd = (double)(x - xx) * (x - xx) + (double)(y - yy) * (y - yy);
								if (dd < best) best = dd;
							}
					bad += !(d[y * w + x] == best);
				}
			CHECK_EQ_INT(bad, 0);
			free(m); free(d);
		}
	}
}

static uint32_t *labels_of(const char *name, int *w, int *h)
{
	int c;
	float *f = load_png(name, w, h, &c);
	if (!f)
		return NULL;
	size_t n = (size_t)*w * *h;
	uint32_t *l = malloc(n * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		l[i] = c == 1 ? (uint32_t)f[i] :
		       ((uint32_t)f[i * c] << 16) | ((uint32_t)f[i * c + 1] << 8) | (uint32_t)f[i * c + 2];
	free(f);
	return l;
}

TEST(miou)
{
	int w, h;
	double v;
	size_t nc;
	uint32_t *a = labels_of("label_ref.png", &w, &h), *b = labels_of("label_cand.png", &w, &h);
	if (a && b) {
		CHECK_EQ_INT(dc_miou(a, b, (size_t)w * h, DC_MIOU_NO_IGNORE, &v, &nc), DC_OK);
		CHECK_GOLD(v, "label", "miou");
		CHECK_EQ_INT(nc, 9);    /* 0..7 and 255 */
		CHECK_EQ_INT(dc_miou(a, b, (size_t)w * h, 255, &v, &nc), DC_OK);
		CHECK_GOLD(v, "label_ignore255", "miou");
		CHECK_EQ_INT(nc, 8);
	}
	free(a); free(b);
	a = labels_of("labelrgb_ref.png", &w, &h);
	b = labels_of("labelrgb_cand.png", &w, &h);
	if (a && b) {
		CHECK_EQ_INT(dc_miou(a, b, (size_t)w * h, DC_MIOU_NO_IGNORE, &v, NULL), DC_OK);
		CHECK_GOLD(v, "labelrgb", "miou");
	}
	free(a); free(b);
	uint32_t x[3] = { 5, 5, 5 };
	CHECK_EQ_INT(dc_miou(x, x, 3, 5, &v, &nc), DC_OK);
	CHECK(isnan(v) && nc == 0);
	CHECK_EQ_INT(dc_miou(x, x, 3, DC_MIOU_NO_IGNORE, &v, &nc), DC_OK);
	CHECK(v == 1 && nc == 1);
}

TEST(melody_and_dynamics)
{
	size_t ra, ca, rb, cb;
	double v;
	double *a = load_csv("melody_ref.csv", &ra, &ca), *b = load_csv("melody_cand.csv", &rb, &cb);
	if (a && b) {
		float *fa = to_f32(a, ra * ca), *fb = to_f32(b, rb * cb);
		CHECK(ca == 12 && cb == 12 && ra == 200 && rb == 190);
		CHECK_EQ_INT(dc_melody_accuracy(fa, ra, fb, rb, 12, &v), DC_OK);
		CHECK_GOLD(v, "melody", "melody-acc");
		CHECK_EQ_INT(dc_melody_accuracy(fa, 0, fb, rb, 12, &v), DC_OK);
		CHECK(isnan(v));
		free(fa); free(fb);
	}
	free(a); free(b);
	a = load_csv("chroma_a.csv", &ra, &ca);
	b = load_csv("chroma_b.csv", &rb, &cb);
	if (a && b) {
		float *fa = to_f32(a, ra * ca), *fb = to_f32(b, rb * cb);
		CHECK_EQ_INT(dc_melody_accuracy(fa, ra, fb, rb, 12, &v), DC_OK);
		CHECK_GOLD(v, "chroma", "melody-acc");
		free(fa); free(fb);
	}
	free(a); free(b);
	a = load_csv("dynamics_ref.csv", &ra, &ca);
	b = load_csv("dynamics_cand.csv", &rb, &cb);
	if (a && b) {
		float *fa = to_f32(a, ra), *fb = to_f32(b, rb);
		CHECK_EQ_INT(dc_pearson(fa, fb, rb < ra ? rb : ra, &v), DC_OK);
		CHECK_GOLD(v, "dynamics", "dynamics-r");
		float k[4] = { 2, 2, 2, 2 };
		CHECK_EQ_INT(dc_pearson(fa, k, 4, &v), DC_OK);
		CHECK(isnan(v));
		CHECK_EQ_INT(dc_pearson(fa, fa, 290, &v), DC_OK);
		CHECK(fabs(v - 1) < 1e-12);
		free(fa); free(fb);
	}
	free(a); free(b);
}

/* maximum matching by augmenting paths on the hit graph of mir_eval */
static int aug(int j, const double *r, size_t nr, const double *e, double w, int *mr, char *seen)
{
	for (size_t i = 0; i < nr; i++)
		if (!seen[i] && r[i] >= e[j] - w && r[i] <= e[j] + w) {
			seen[i] = 1;
			if (mr[i] < 0 || aug(mr[i], r, nr, e, w, mr, seen)) {
				mr[i] = j;
				return 1;
			}
		}
	return 0;
}

TEST(beat_f1)
{
	size_t nr, ne;
	double *r = load_times("beats_ref.txt", &nr), *e = load_times("beats_est.txt", &ne);
	struct dc_prf p;
	CHECK(nr == 40 && ne == 41);
	CHECK_EQ_INT(dc_beat_f1(r, nr, e, ne, 0.07, 0, &p), DC_OK);
	CHECK_GOLD(p.f1, "beats", "beat-f1");
	CHECK_EQ_INT(dc_beat_f1(r, nr, e, ne, 0.07, 5.0, &p), DC_OK);
	CHECK_GOLD(p.f1, "beats_trim5", "beat-f1");
	CHECK_EQ_INT(dc_beat_f1(r, nr, e, ne, 0.05, 0, &p), DC_OK);
	CHECK_GOLD(p.f1, "beats_w50", "beat-f1");
	CHECK_EQ_INT(dc_beat_f1(r, nr, e, 0, 0.07, 0, &p), DC_OK);
	CHECK(p.f1 == 0);
	double bad[2] = { 2.0, 1.0 }, late[1] = { 30001 };
	CHECK_EQ_INT(dc_beat_f1(bad, 2, e, ne, 0.07, 0, &p), DC_EINVAL);
	CHECK_EQ_INT(dc_beat_f1(r, nr, late, 1, 0.07, 0, &p), DC_EINVAL);
	/* greedy vs augmenting paths on dense random lists */
	uint64_t s = 99;
	int worse = 0;
	for (int rep = 0; rep < 300; rep++) {
		double a[30], b[30];
		size_t na = 5 + rep % 25, nb = 3 + (rep * 7) % 27;
		double ta = 0, tb = 0;
		for (size_t i = 0; i < na; i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			ta += (double)(s >> 40) / (1 << 24) * 0.12;
			a[i] = ta;
		}
		for (size_t i = 0; i < nb; i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			tb += (double)(s >> 40) / (1 << 24) * 0.15;
			b[i] = tb;
		}
		int mr[30];
		char seen[30];
		size_t m = 0;
		for (size_t i = 0; i < na; i++) mr[i] = -1;
		for (size_t j = 0; j < nb; j++) {
			memset(seen, 0, sizeof seen);
			m += aug((int)j, a, na, b, 0.07, mr, seen);
		}
		CHECK_EQ_INT(dc_beat_f1(a, na, b, nb, 0.07, 0, &p), DC_OK);
		worse += p.matched_ref != m;
	}
	CHECK_EQ_INT(worse, 0);
	free(r); free(e);
}

int main(void)
{
	RUN(ssim_gray);
	RUN(ssim_rgb);
	RUN(ssim_identical_and_small);
	RUN(edge_f1);
	RUN(hausdorff);
	RUN(edt_brute_force);
	RUN(miou);
	RUN(melody_and_dynamics);
	RUN(beat_f1);
	return test_summary();
}
