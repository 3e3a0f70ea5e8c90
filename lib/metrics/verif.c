/*
 * verif.c - speaker-verification metrics and scoring: the equal error rate,
 * the minimum detection cost (SpeechBrain's minDCF, normalised as NIST SRE
 * and Kaldi report it), DET curve points and a DET plot renderer (probit
 * axes, a built-in 3x5 pixel font, like the tools' charts), cosine scores,
 * cohort means and the cohort statistics of adaptive s-norm (WeSpeaker's
 * score_norm.py).
 *
 * All trial metrics start from one sort: the trials ordered by decreasing
 * score, tied scores merged into one operating point, so that
 * point k (k = 0 .. K, K distinct scores) accepts the scores >= the k-th
 * largest distinct score; point 0 accepts nothing.  Counts are kept as
 * integers; rates are formed only at the end, in double precision.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "../io/media.h"
#include "../image/canvas.h"

/* ---- operating points ------------------------------------------------------------ */

struct trial {
	double s;
	int target;
};

static int cmp_trial_desc(const void *a, const void *b)
{
	double x = ((const struct trial *)a)->s, y = ((const struct trial *)b)->s;
	return (x < y) - (x > y);
}

/*
 * The K + 1 operating points: tp[k], fp[k] accepted targets / nontargets,
 * thr[k] the score at which point k starts accepting (thr[0] = +inf).
 * Arrays allocated here (one block, *block to dc_free).
 */
struct roc {
	size_t n, P, N;        /* points, targets, nontargets */
	size_t *tp, *fp;
	double *thr;
	void *block;
};

static enum dc_status roc_build(const double *scores, const uint8_t *labels, size_t n, struct roc *r,
                                const char *who)
{
	memset(r, 0, sizeof *r);
	if (!scores || !labels || n == 0)
		return dc_fail(DC_EINVAL, "%s: no trials", who);
	size_t P = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(scores[i]))
			return dc_fail(DC_EINVAL, "%s: score %zu is not a finite number", who, i + 1);
		P += labels[i] != 0;
	}
	if (P == 0 || P == n)
		return dc_fail(DC_EINVAL, "%s: need both target and nontarget trials (%zu targets, %zu nontargets)",
		               who, P, n - P);
	size_t bt, bp;
	if (dc_mul_size(n, sizeof(struct trial), &bt) || dc_add_size(n, 1, &bp) ||
	    dc_mul_size(bp, 2 * sizeof(size_t) + sizeof(double), &bp) || dc_add_size(bt, bp, &bt))
		return dc_fail(DC_EOVERFLOW, "%s: too many trials", who);
	unsigned char *blk = dc_alloc(bt);
	if (!blk)
		return dc_fail(DC_ENOMEM, "%s: out of memory", who);
	struct trial *t = (struct trial *)blk;
	r->thr = (double *)(blk + n * sizeof *t);
	r->tp = (size_t *)(r->thr + n + 1);
	r->fp = r->tp + n + 1;
	r->block = blk;
	for (size_t i = 0; i < n; i++) {
		t[i].s = scores[i];
		t[i].target = labels[i] != 0;
	}
	qsort(t, n, sizeof *t, cmp_trial_desc);
	size_t k = 0, tp = 0, fp = 0;
	r->thr[0] = INFINITY;
	r->tp[0] = r->fp[0] = 0;
	for (size_t i = 0; i < n;) {
		double s = t[i].s;
		for (; i < n && t[i].s == s; i++) {
			tp += (size_t)t[i].target;
			fp += (size_t)!t[i].target;
		}
		k++;
		r->thr[k] = s;
		r->tp[k] = tp;
		r->fp[k] = fp;
	}
	r->n = k + 1;
	r->P = P;
	r->N = n - P;
	return DC_OK;
}

static double roc_pmiss(const struct roc *r, size_t k) { return (double)(r->P - r->tp[k]) / (double)r->P; }
static double roc_pfa(const struct roc *r, size_t k) { return (double)r->fp[k] / (double)r->N; }

/* ---- EER, minDCF, DET ---------------------------------------------------------------- */

enum dc_status dc_eer(const double *scores, const uint8_t *labels, size_t n, double *eer, double *threshold)
{
	struct roc r;
	enum dc_status st = roc_build(scores, labels, n, &r, "eer");
	if (st)
		return st;
	/* d = P_miss - P_fa falls strictly from 1 (point 0) to -1 (the last point):
	 * every point moves at least one trial. */
	size_t k = 1;
	while (k < r.n && roc_pmiss(&r, k) - roc_pfa(&r, k) > 0)
		k++;
	double m0 = roc_pmiss(&r, k - 1), f0 = roc_pfa(&r, k - 1);
	double m1 = roc_pmiss(&r, k), f1 = roc_pfa(&r, k);
	double d0 = m0 - f0, d1 = m1 - f1;     /* d0 > 0 >= d1 */
	double a = d0 / (d0 - d1);
	*eer = f0 + a * (f1 - f0);
	if (threshold)
		*threshold = k == 1 ? r.thr[1] : r.thr[k - 1] + a * (r.thr[k] - r.thr[k - 1]);
	dc_free(r.block);
	return DC_OK;
}

enum dc_status dc_min_dcf(const double *scores, const uint8_t *labels, size_t n, double p_target, double c_miss,
                          double c_fa, struct dc_dcf *out)
{
	if (!(p_target > 0 && p_target < 1) || !(c_miss > 0) || !(c_fa > 0) || !isfinite(c_miss) || !isfinite(c_fa))
		return dc_fail(DC_EINVAL, "min_dcf: need 0 < p_target < 1 and positive costs (p_target %g, c_miss %g, c_fa %g)",
		               p_target, c_miss, c_fa);
	struct roc r;
	enum dc_status st = roc_build(scores, labels, n, &r, "min_dcf");
	if (st)
		return st;
	/* SpeechBrain scans thresholds upwards and keeps the first minimum
	 * (torch.min): the lowest threshold.  Point k < last rejects scores
	 * <= thr[k+1]; scan k downwards from the last point. */
	size_t best = r.n - 1;
	double bc = INFINITY;
	for (size_t j = r.n; j-- > 0;) {
		double c = c_miss * roc_pmiss(&r, j) * p_target + c_fa * roc_pfa(&r, j) * (1 - p_target);
		if (c < bc) {
			bc = c;
			best = j;
		}
	}
	out->raw = bc;
	out->min_dcf = bc / fmin(c_miss * p_target, c_fa * (1 - p_target));
	out->threshold = best + 1 < r.n ? r.thr[best + 1] : -INFINITY;
	out->p_miss = roc_pmiss(&r, best);
	out->p_fa = roc_pfa(&r, best);
	dc_free(r.block);
	return DC_OK;
}

enum dc_status dc_det_curve(const double *scores, const uint8_t *labels, size_t n, double **pfa, double **pmiss,
                            double **thr, size_t *npoints)
{
	struct roc r;
	enum dc_status st = roc_build(scores, labels, n, &r, "det");
	if (st)
		return st;
	size_t bytes = r.n * sizeof(double);   /* r.n <= n + 1, already checked */
	double *a = dc_alloc(bytes), *b = dc_alloc(bytes), *c = thr ? dc_alloc(bytes) : NULL;
	if (!a || !b || (thr && !c)) {
		dc_free(a);
		dc_free(b);
		dc_free(c);
		dc_free(r.block);
		return dc_fail(DC_ENOMEM, "det: out of memory");
	}
	for (size_t k = 0; k < r.n; k++) {
		a[k] = roc_pfa(&r, k);
		b[k] = roc_pmiss(&r, k);
	}
	if (c)
		memcpy(c, r.thr, bytes);
	*pfa = a;
	*pmiss = b;
	if (thr)
		*thr = c;
	*npoints = r.n;
	dc_free(r.block);
	return DC_OK;
}

/* c[0] r^7 + c[1] r^6 + ... + c[7] (Horner) */
static double poly7(const double c[8], double r)
{
	double v = c[0];
	for (int i = 1; i < 8; i++)
		v = v * r + c[i];
	return v;
}

double dc_probit(double p)
{
	/* Wichura (1988), Algorithm AS241 PPND16 */
	static const double a[8] = { 2.5090809287301226727e+3, 3.3430575583588128105e+4, 6.7265770927008700853e+4,
		                     4.5921953931549871457e+4, 1.3731693765509461125e+4, 1.9715909503065514427e+3,
		                     1.3314166789178437745e+2, 3.3871328727963666080e+0 };
	static const double b[8] = { 5.2264952788528545610e+3, 2.8729085735721942674e+4, 3.9307895800092710610e+4,
		                     2.1213794301586595867e+4, 5.3941960214247511077e+3, 6.8718700749205790830e+2,
		                     4.2313330701600911252e+1, 1.0 };
	static const double c[8] = { 7.7454501427834140764e-4, 2.2723844989269184583e-2, 2.4178072517745061177e-1,
		                     1.2704582524523683826e+0, 3.6478483247632045265e+0, 5.7694972214606914055e+0,
		                     4.6303378461565452959e+0, 1.4234371107496835773e+0 };
	static const double d[8] = { 1.0507500716444168432e-9, 5.4759380849953449460e-4, 1.5198666563616457197e-2,
		                     1.4810397642748007459e-1, 6.8976733498510000455e-1, 1.6763848301838038494e+0,
		                     2.0531916266377588219e+0, 1.0 };
	static const double e[8] = { 2.0103343992922881327e-7, 2.7115555687434875782e-5, 1.2426609473880784386e-3,
		                     2.6532189526576123093e-2, 2.9656057182850489123e-1, 1.7848265399172913358e+0,
		                     5.4637849111641143699e+0, 6.6579046435011037772e+0 };
	static const double f[8] = { 2.0442631033899397856e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5,
		                     7.8686913114561325910e-4, 1.4875361290850614853e-2, 1.3692988092273580531e-1,
		                     5.9983220655588793769e-1, 1.0 };
	if (!(p >= 0 && p <= 1))
		return NAN;
	if (p == 0)
		return -INFINITY;
	if (p == 1)
		return INFINITY;
	double q = p - 0.5, r, x;
	if (fabs(q) <= 0.425) {
		r = 0.180625 - q * q;
		return q * poly7(a, r) / poly7(b, r);
	}
	r = sqrt(-log(q <= 0 ? p : 1 - p));
	if (r <= 5)
		x = poly7(c, r - 1.6) / poly7(d, r - 1.6);
	else
		x = poly7(e, r - 5) / poly7(f, r - 5);
	return q < 0 ? -x : x;
}

/* ---- DET plot ------------------------------------------------------------------------ */

static const double det_ticks[] = { 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
	                            0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99 };
#define N_TICKS (int)(sizeof det_ticks / sizeof *det_ticks)

/* "%g" of a percentage without float noise (0.01, 0.2, 5, 40, 99.5) */
static void pct_label(char *buf, size_t n, double p)
{
	snprintf(buf, n, "%.4g", p * 100);
}

enum dc_status dc_det_plot(const double *pfa, const double *pmiss, size_t n, const struct dc_det_plot_opts *o,
                           struct dc_image *img)
{
	static const unsigned char white[3] = { 255, 255, 255 }, black[3] = { 0, 0, 0 },
	                           grid[3] = { 222, 222, 222 }, grey[3] = { 110, 110, 110 },
	                           diag[3] = { 170, 170, 170 }, red[3] = { 205, 30, 30 },
	                           blue[3] = { 30, 70, 190 }, green[3] = { 20, 140, 60 }, dark[3] = { 50, 50, 50 };
	struct dc_det_plot_opts def = { 0 };
	if (!o)
		o = &def;
	if (!img || (n && (!pfa || !pmiss)))
		return dc_fail(DC_EINVAL, "det plot: no points");
	int W = o->width ? o->width : 640, H = o->height ? o->height : 640;
	if (W < 240 || H < 240 || W > 8192 || H > 8192)
		return dc_fail(DC_EINVAL, "det plot: size %dx%d out of range (240 to 8192)", W, H);
	/* axis range */
	double lo = o->lo, hi = o->hi;
	if (!(lo > 0)) {
		double m = 1;
		if (o->n_target && o->n_nontarget) {
			m = fmin(1.0 / (double)o->n_target, 1.0 / (double)o->n_nontarget);
		} else {
			for (size_t i = 0; i < n; i++) {
				if (pfa[i] > 0)
					m = fmin(m, pfa[i]);
				if (pmiss[i] > 0)
					m = fmin(m, pmiss[i]);
			}
		}
		m = fmin(m, 0.01);   /* show at least 1% to 40% */
		lo = det_ticks[0];
		for (int t = 0; t < N_TICKS; t++)
			if (det_ticks[t] <= m * (1 + 1e-9))
				lo = det_ticks[t];
	}
	if (!(hi > 0)) {
		double want = o->eer > 0.2 ? 2 * o->eer : 0.4;
		if (o->min_dcf > 0 && o->dcf_p_target > 0)   /* show the minDCF point */
			want = fmax(want, 1.1 * fmax(o->dcf_pmiss, o->dcf_pfa));
		want = fmin(want, 0.99);
		hi = det_ticks[N_TICKS - 1];
		for (int t = N_TICKS; t-- > 0;)
			if (det_ticks[t] >= want * (1 - 1e-9))
				hi = det_ticks[t];
	}
	if (!(lo > 0 && hi < 1 && lo < hi))
		return dc_fail(DC_EINVAL, "det plot: bad axis range %g to %g", lo, hi);
	double ulo = dc_probit(lo), uhi = dc_probit(hi);

	size_t npx = (size_t)W * (size_t)H;
	unsigned char *p = dc_alloc(npx * 3);
	if (!p)
		return dc_fail(DC_ENOMEM, "det plot: out of memory");
	struct dc_canvas c;
	dc_canvas_init(&c, p, W, H, white);
	int x0 = 64, x1 = W - 20, y0 = 44, y1 = H - 52;
#define XOF(u) (x0 + (int)lround(((u) - ulo) / (uhi - ulo) * (x1 - x0)))
#define YOF(u) (y1 - (int)lround(((u) - ulo) / (uhi - ulo) * (y1 - y0)))
	/* grid and tick labels (a label is skipped where it would touch the previous one) */
	int last_x = -1000, last_y = 100000;
	for (int t = 0; t < N_TICKS; t++) {
		double v = det_ticks[t];
		if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9))
			continue;
		double u = dc_probit(v);
		int x = XOF(u), y = YOF(u);
		dc_canvas_line(&c, x, y0, x, y1, grid, 1, 0);
		dc_canvas_line(&c, x0, y, x1, y, grid, 1, 0);
		char b[16];
		pct_label(b, sizeof b, v);
		int tw = dc_canvas_text_width(b);
		if (x - tw / 2 > last_x + 6) {
			dc_canvas_text(&c, x - tw / 2, y1 + 8, b, grey);
			last_x = x + tw / 2;
		}
		if (y + 5 < last_y - 4) {
			dc_canvas_text(&c, x0 - 8 - tw, y - 5, b, grey);
			last_y = y - 5;
		}
	}
	/* frame, labels, title */
	dc_canvas_line(&c, x0, y0, x1, y0, black, 1, 0);
	dc_canvas_line(&c, x0, y1, x1, y1, black, 1, 0);
	dc_canvas_line(&c, x0, y0, x0, y1, black, 1, 0);
	dc_canvas_line(&c, x1, y0, x1, y1, black, 1, 0);
	const char *xl = "false alarm probability (%)";
	dc_canvas_text(&c, (x0 + x1 - dc_canvas_text_width(xl)) / 2, y1 + 28, xl, dark);
	dc_canvas_text(&c, 8, y0 - 22, "miss probability (%)", dark);
	if (o->title && *o->title) {
		char tb[80];
		snprintf(tb, sizeof tb, "%s", o->title);
		int tw = dc_canvas_text_width(tb);
		dc_canvas_text(&c, tw < W ? (W - tw) / 2 : 4, 6, tb, black);
	}
	/* inside the plot only: diagonal, curve, points */
	c.cx0 = x0 + 1;
	c.cy0 = y0 + 1;
	c.cx1 = x1 - 1;
	c.cy1 = y1 - 1;
	dc_canvas_line(&c, x0, y1, x1, y0, diag, 1, 1);
	double umin = ulo - 2, umax = uhi + 2;   /* clamp infinities just outside the frame */
#define CL(u) ((u) < umin ? umin : (u) > umax ? umax : (u))
	int have = 0, px0 = 0, py0 = 0;
	for (size_t i = 0; i < n; i++) {
		double uf = dc_probit(pfa[i]), um = dc_probit(pmiss[i]);
		if (isnan(uf) || isnan(um))
			continue;
		int x = XOF(CL(uf)), y = YOF(CL(um));
		if (have && (x != px0 || y != py0))
			dc_canvas_line(&c, px0, py0, x, y, red, 2, 0);
		else if (!have)
			dc_canvas_px(&c, x, y, red);
		have = 1;
		px0 = x;
		py0 = y;
	}
	int ly = y0 + 8;
	if (o->eer > 0 && o->eer < 1) {
		double u = dc_probit(o->eer);
		int x = XOF(CL(u)), y = YOF(CL(u));
		for (int a = 0; a < 64; a++) {
			double t = 2 * M_PI * a / 64;
			dc_canvas_px(&c, x + (int)lround(6 * cos(t)), y + (int)lround(6 * sin(t)), blue);
			dc_canvas_px(&c, x + (int)lround(5 * cos(t)), y + (int)lround(5 * sin(t)), blue);
		}
		char b[48];
		snprintf(b, sizeof b, "EER %.2f%%", 100 * o->eer);
		dc_canvas_text(&c, x1 - 8 - dc_canvas_text_width(b), ly, b, blue);
		ly += 16;
	}
	if (o->min_dcf > 0 && o->dcf_p_target > 0) {
		double uf = dc_probit(o->dcf_pfa), um = dc_probit(o->dcf_pmiss);
		if (!isnan(uf) && !isnan(um)) {
			int x = XOF(CL(uf)), y = YOF(CL(um));
			for (int d = -5; d <= 5; d++) {
				dc_canvas_px(&c, x + d, y - 5, green);
				dc_canvas_px(&c, x + d, y + 5, green);
				dc_canvas_px(&c, x - 5, y + d, green);
				dc_canvas_px(&c, x + 5, y + d, green);
			}
		}
		char b[64];
		snprintf(b, sizeof b, "minDCF(%g) %.4f", o->dcf_p_target, o->min_dcf);
		dc_canvas_text(&c, x1 - 8 - dc_canvas_text_width(b), ly, b, green);
	}
#undef CL
#undef XOF
#undef YOF
	img->width = W;
	img->height = H;
	img->channels = 3;
	img->depth = 8;
	img->data = p;
	return DC_OK;
}

/* ---- scoring ------------------------------------------------------------------------- */

double dc_cosine(const float *a, const float *b, size_t d)
{
	double ab = 0, aa = 0, bb = 0;
	for (size_t i = 0; i < d; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	return ab / sqrt(fmax(aa * bb, 1e-16));
}

void dc_l2_normalize(float *x, size_t d)
{
	double s = 0;
	for (size_t i = 0; i < d; i++)
		s += (double)x[i] * x[i];
	if (s > 0) {
		double inv = 1 / sqrt(s);
		for (size_t i = 0; i < d; i++)
			x[i] = (float)(x[i] * inv);
	}
}

enum dc_status dc_emb_mean(const float *x, size_t n, size_t d, float *mean)
{
	if (!x || !mean || n == 0 || d == 0)
		return dc_fail(DC_EINVAL, "embedding mean: need at least one row of at least one value");
	for (size_t j = 0; j < d; j++) {
		double s = 0;
		for (size_t i = 0; i < n; i++)
			s += x[i * d + j];
		mean[j] = (float)(s / (double)n);
	}
	return DC_OK;
}

static int cmp_double_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x < y) - (x > y);
}

enum dc_status dc_cohort_stats(const float *e, const float *cohort, size_t nc, size_t d, size_t top_n,
                               double *mean, double *std)
{
	if (!e || !cohort || d == 0)
		return dc_fail(DC_EINVAL, "cohort statistics: no embedding");
	size_t k = top_n == 0 || top_n > nc ? nc : top_n;
	if (k < 2)
		return dc_fail(DC_EINVAL, "cohort statistics: need at least 2 cohort scores (cohort %zu, top-n %zu)", nc,
		               top_n);
	if (nc > SIZE_MAX / sizeof(double))
		return dc_fail(DC_EOVERFLOW, "cohort statistics: cohort too large");
	double *s = dc_alloc(nc * sizeof *s);
	if (!s)
		return dc_fail(DC_ENOMEM, "cohort statistics: out of memory");
	for (size_t i = 0; i < nc; i++)
		s[i] = dc_cosine(e, cohort + i * d, d);
	qsort(s, nc, sizeof *s, cmp_double_desc);
	double m = 0, v = 0;
	for (size_t i = 0; i < k; i++)
		m += s[i];
	m /= (double)k;
	for (size_t i = 0; i < k; i++)
		v += (s[i] - m) * (s[i] - m);
	v /= (double)k;
	dc_free(s);
	if (!(v > 0))
		return dc_fail(DC_EINVAL, "cohort statistics: the top %zu cohort scores are all equal", k);
	*mean = m;
	*std = sqrt(v);
	return DC_OK;
}

double dc_asnorm(double s, double mean_e, double std_e, double mean_t, double std_t)
{
	return 0.5 * ((s - mean_e) / std_e + (s - mean_t) / std_t);
}
