/*
 * metrics.h - controllability metrics: how well a generated output follows
 * its condition (ctrl-extract(1) "compare"; also used by relevance-score
 * and dit-gen's tests).
 *
 * Every function works on caller-owned raw arrays, allocates only scratch
 * memory it frees before returning, computes in double precision and
 * returns a dc_status (DC_EINVAL with a dc_errmsg() for bad sizes, DC_ENOMEM,
 * DC_EOVERFLOW); results go to out-parameters.  Each one is defined to match
 * a named reference implementation, stated at the prototype; the golden
 * tests (tests/golden/make_metrics.py) check agreement to 1e-6.
 * All functions are thread-safe (no shared state); the image metrics use
 * dc_threads() OpenMP threads and give the same bits for any thread count.
 *
 * Images are interleaved HWC float arrays (`channels` samples per pixel,
 * row-major, no padding) in their native unit (0..255 for 8-bit PNGs);
 * masks are one byte per pixel, nonzero = set.
 */
#ifndef DC_METRICS_H
#define DC_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- distance transform --------------------------------------------------- */

/*
 * Exact squared Euclidean distance transform (Felzenszwalb-Huttenlocher):
 * out[y*w+x] = squared distance from (x,y) to the nearest set pixel of
 * `mask`, INFINITY when the mask is empty.  Equal to
 * scipy.ndimage.distance_transform_edt(mask == 0)**2.  out: w*h doubles.
 */
enum dc_status dc_edt_sq(const uint8_t *mask, int w, int h, double *out);

/* ---- edges ---------------------------------------------------------------- */

struct dc_prf {
	double precision, recall, f1;
	uint64_t n_ref, n_cand;          /* set pixels / events in each */
	uint64_t matched_ref, matched_cand;  /* those matched (equal without tolerance) */
};

/*
 * Edge F1 between two binary edge maps (ControlNet++ protocol: both maps
 * binarised by the caller, F1 over edge pixels = torchmetrics
 * BinaryF1Score on the flattened maps; 0 when there is nothing to match,
 * as torchmetrics' zero_division=0).
 * tolerance 0: a pixel matches only the same pixel of the other map, and
 * F1 = 2TP/(2TP+FP+FN).  tolerance K > 0: distance-transform matching as in
 * BSDS-style benchmarks without the one-to-one assignment: a candidate edge
 * pixel is correct if a reference edge pixel lies within Euclidean distance
 * K of it (precision = correct/n_cand), a reference pixel is recalled if a
 * candidate edge pixel lies within K (recall = recalled/n_ref),
 * F1 = 2PR/(P+R).
 */
enum dc_status dc_edge_f1(const uint8_t *ref, const uint8_t *cand, int w, int h,
                          double tolerance, struct dc_prf *out);

/*
 * Symmetric Hausdorff distance in pixels between the set pixels of two
 * masks, as skimage.metrics.hausdorff_distance (0 if both are empty,
 * INFINITY if exactly one is).  Exact, via dc_edt_sq (O(w*h)).
 */
enum dc_status dc_hausdorff(const uint8_t *a, const uint8_t *b, int w, int h, double *out);

/* ---- images --------------------------------------------------------------- */

struct dc_ssim_opts {
	int gaussian;          /* 0: uniform win_size window; 1: gaussian sigma, truncate 3.5 */
	int win_size;          /* uniform window (odd, >= 3); 0 = 7 */
	double sigma;          /* gaussian sigma; 0 = 1.5 (radius int(3.5*sigma+0.5)) */
	int sample_covariance; /* 1: NP/(NP-1) covariance normalisation */
	double k1, k2;         /* 0 = 0.01 / 0.03 */
	double data_range;     /* e.g. 255; must be > 0 */
};

/*
 * The two skimage.metrics.structural_similarity variants:
 *   uniform 7x7, sample covariance (its defaults), and
 *   gaussian_weights=True, sigma=1.5, use_sample_covariance=False.
 * The mean of the SSIM map over the region not touched by the border
 * (skimage crops (win-1)/2 pixels, so its reflect padding never matters),
 * averaged over channels (channel_axis=-1).  Needs w, h >= window size.
 */
void dc_ssim_opts_skimage(struct dc_ssim_opts *o, double data_range);
void dc_ssim_opts_gaussian(struct dc_ssim_opts *o, double data_range);
enum dc_status dc_ssim(const float *a, const float *b, int w, int h, int channels,
                       const struct dc_ssim_opts *o, double *out);

enum dc_msssim_border {
	/* Last-scale SSIM averaged over the valid (cropped) region: torchmetrics
	 * before PR #2721 (<= 1.4) and pytorch-msssim; the CLI default. */
	DC_MSSSIM_VALID = 0,
	/* Last-scale SSIM averaged over the full image computed on a
	 * torch-"reflect" padded image (edge not repeated): torchmetrics >= 1.5. */
	DC_MSSSIM_FULL = 1
};

/*
 * MS-SSIM as torchmetrics' multiscale_structural_similarity_index_measure
 * defaults: 5 scales, betas 0.0448 0.2856 0.3001 0.2363 0.1333, gaussian
 * 11x11 sigma 1.5, k1 0.01, k2 0.03, population covariance, variances
 * clamped at 0, normalize="relu" (each cs/ssim clamped at 0 before the
 * power), 2x2 average pooling with floor (odd last row/column dropped).
 * Contrast-sensitivity terms of scales 1-4 are averaged over the valid
 * region; `border` selects the averaging of the last-scale SSIM.  Channels
 * are averaged per scale (torchmetrics averages over C*H*W).  Needs
 * h/16 > 10 and w/16 > 10 (torchmetrics' check: at least 176x176).
 */
enum dc_status dc_msssim(const float *a, const float *b, int w, int h, int channels,
                         double data_range, enum dc_msssim_border border, double *out);

/* Mean squared error over n samples (skimage mean_squared_error). */
enum dc_status dc_mse(const float *a, const float *b, size_t n, double *out);
/* 10*log10(data_range^2/mse), skimage peak_signal_noise_ratio; INFINITY if
 * the inputs are equal. */
enum dc_status dc_psnr(const float *a, const float *b, size_t n, double data_range, double *out);

/* ---- label maps ------------------------------------------------------------- */

#define DC_MIOU_NO_IGNORE (-1LL)

/*
 * Mean IoU of two label maps of n pixels: per class c, |ref=c & cand=c| /
 * |ref=c | cand=c|, averaged over the classes present in either map.
 * Pixels whose reference label equals `ignore` (or DC_MIOU_NO_IGNORE) are
 * dropped (mmseg); a candidate pixel carrying the ignore value counts as
 * wrong but the ignore value is never a class.  *nclasses (may be NULL)
 * receives the number of classes averaged; with none, *out is NAN.
 */
enum dc_status dc_miou(const uint32_t *ref, const uint32_t *cand, size_t n, long long ignore,
                       double *out, size_t *nclasses);

/* ---- feature distributions (frechet.c) ---------------------------------------- */

/*
 * mu[d] = x.mean(0), cov[d][d] = np.cov(x, rowvar=False) (divisor n - 1)
 * of n >= 2 rows x[n][d].
 */
enum dc_status dc_mean_cov(const double *x, size_t n, int d, double *mu, double *cov);

/*
 * Frechet distance of N(mu1, s1) and N(mu2, s2), the FID formula
 * (pytorch-fid calculate_frechet_distance):
 *   |mu1 - mu2|^2 + Tr(s1 + s2 - 2 (s1 s2)^(1/2)),
 * with Tr (s1 s2)^(1/2) = Tr (s1^(1/2) s2 s1^(1/2))^(1/2) from two
 * symmetric Jacobi eigendecompositions (negative eigenvalues clamped to 0,
 * so singular covariances are fine; the result is clamped at 0).  Agrees
 * with scipy.linalg.sqrtm's value to 1e-9 relative where that is well
 * conditioned (tests/golden/make_frechet.py).  O(d^3): for d up to a few
 * hundred.
 */
enum dc_status dc_frechet(const double *mu1, const double *s1, const double *mu2,
                          const double *s2, int d, double *out);

/* dc_mean_cov of both sets [n1][d], [n2][d] then dc_frechet. */
enum dc_status dc_frechet_features(const double *x1, size_t n1, const double *x2, size_t n2,
                                   int d, double *out);

/* ---- music controls --------------------------------------------------------- */

/*
 * Melody accuracy (Music ControlNet; MuseControlLite's
 * ((gen==cond)&(gen==1)).sum()/min_len on one-hot chroma): over the first
 * min(t_ref, t_cand) frames of two [T][bins] streams, the fraction of frames
 * whose top pitch class (first maximum) is the same in both.  A frame with
 * no positive value (silence in a one-hot stream) has no pitch class and
 * never agrees.  NAN when min(t_ref, t_cand) is 0.
 */
enum dc_status dc_melody_accuracy(const float *ref, size_t t_ref, const float *cand, size_t t_cand,
                                  int bins, double *out);

/*
 * Pearson correlation of the first n samples of two curves, as
 * np.corrcoef(a, b)[0, 1] (clipped to [-1, 1]); NAN when n < 2 or either
 * curve is constant.
 */
enum dc_status dc_pearson(const float *a, const float *b, size_t n, double *out);

#define DC_BEAT_WINDOW 0.07
#define DC_BEAT_MAX_TIME 30000.0

/*
 * Beat F-measure, exactly mir_eval.beat.f_measure(ref, est, window) of
 * mir_eval 0.7, after dropping beats earlier than `min_time` from both
 * (mir_eval.beat.trim_beats; 0 keeps all, 5.0 is what mir_eval.beat.evaluate
 * does).  est[j] may match ref[i] when est[j]-window <= ref[i] <=
 * est[j]+window (its _fast_hit_windows); the maximum one-to-one matching
 * (its Hopcroft-Karp) is found greedily, which is optimal here because the
 * windows are ordered.  F = 0 if either list is empty.  Times must be
 * non-decreasing and <= 30000 s (DC_EINVAL otherwise, as mir_eval's
 * validate_events raises).
 */
enum dc_status dc_beat_f1(const double *ref, size_t n_ref, const double *est, size_t n_est,
                          double window, double min_time, struct dc_prf *out);

/* ---- speaker verification (verif.c) ------------------------------------------ */

/*
 * Trials are n scores with labels (nonzero = target: same speaker, 0 =
 * nontarget); a trial is accepted when its score is at or above the
 * decision threshold.  The operating points are those of
 * sklearn.metrics.roc_curve: one per distinct score (tied scores move
 * together), from "reject all" (P_fa 0, P_miss 1) to "accept all" (P_fa 1,
 * P_miss 0).  Every function needs at least one target and one nontarget
 * trial and finite scores (DC_EINVAL otherwise).
 */

/*
 * Equal error rate, the point where P_miss = P_fa on the straight segments
 * joining consecutive operating points (linear interpolation of the ROC:
 * sklearn roc_curve then brentq(lambda x: 1 - x -
 * interp1d(fpr, tpr)(x), 0, 1), equivalently the NIST SRE scoring tool's
 * compute_eer on tie-merged points).  *eer is a fraction (0..1);
 * *threshold (may be NULL) is the score threshold interpolated the same
 * way between the two points' thresholds (the lower point's score when
 * the crossing is on the segment leaving "reject all").
 */
enum dc_status dc_eer(const double *scores, const uint8_t *labels, size_t n, double *eer,
                      double *threshold);

struct dc_dcf {
	double min_dcf;       /* normalised: raw / min(c_miss p_target, c_fa (1 - p_target)) */
	double raw;           /* min over thresholds of c_miss P_miss p_target + c_fa P_fa (1 - p_target) */
	double threshold;     /* accept when score > threshold (SpeechBrain's convention); -INFINITY: accept all */
	double p_miss, p_fa;  /* at that threshold */
};

/*
 * Minimum detection cost.  `raw` is SpeechBrain's
 * speechbrain.utils.metric_stats.minDCF(pos, neg, c_miss, c_fa, p_target)
 * (same thresholds: the distinct scores, reject when score <= threshold;
 * the lowest threshold among equal costs) with the "accept all" point also
 * considered (it can only win when c_fa (1 - p_target) < c_miss p_target);
 * `min_dcf` is it normalised by the cost of the best trivial system, as the
 * NIST SRE scoring tools and Kaldi's compute_min_dcf.py report it (1.0 =
 * no better than always rejecting, or always accepting when p_target > 0.5).  Usual settings: p_target 0.01 or
 * 0.05, c_miss = c_fa = 1.
 */
enum dc_status dc_min_dcf(const double *scores, const uint8_t *labels, size_t n, double p_target,
                          double c_miss, double c_fa, struct dc_dcf *out);

/*
 * The DET curve: the operating points in order of decreasing threshold,
 * *npoints = distinct scores + 1: point 0 rejects all (p_fa 0, p_miss 1),
 * point k accepts the scores >= thr[k], the last accepts all.
 * *pfa, *pmiss and *thr (thr[0] = +INFINITY) are allocated with dc_alloc
 * and owned by the caller (dc_free); thr may be NULL.  Plot
 * dc_probit(pfa) against dc_probit(pmiss).
 */
enum dc_status dc_det_curve(const double *scores, const uint8_t *labels, size_t n, double **pfa,
                            double **pmiss, double **thr, size_t *npoints);

/* The standard normal quantile Phi^-1(p) (Wichura's AS241 PPND16, relative
 * error about 1e-16; Python's statistics.NormalDist().inv_cdf); -INFINITY
 * at 0, +INFINITY at 1, NAN outside [0, 1]. */
double dc_probit(double p);

struct dc_image;

/* What dc_det_plot draws besides the curve (any field may be 0 / NAN /
 * NULL to leave it out). */
struct dc_det_plot_opts {
	int width, height;        /* 0: 640 x 640 */
	double lo, hi;            /* axis range as probabilities (both axes); 0: lo is the
	                             grid value at or below min(1/n_target, 1/n_nontarget,
	                             1%) (at least 0.01%), hi the grid value at or above
	                             40%, 2 x EER when the EER is above 20%, and 1.1 x the
	                             minDCF point's rates (at most 99%) */
	size_t n_target, n_nontarget;   /* for the automatic range */
	double eer;               /* marked on the diagonal and printed */
	double dcf_pfa, dcf_pmiss, dcf_p_target, min_dcf;   /* the minDCF point */
	const char *title;        /* printed at the top (A-Z 0-9 and .,:-%()/=_+ ) */
};

/*
 * Render a DET plot (probit-scaled axes in percent, grid at 0.01 0.02
 * 0.05 0.1 0.2 0.5 1 2 5 10 20 40 60 80 90 95 98 99 %, the P_fa = P_miss
 * diagonal, the curve through the n points, the EER and minDCF points)
 * into *img, an 8-bit RGB image allocated here (dc_image_release).  Text is
 * a built-in 3x5 pixel font; no dependency beyond the PNG writer that
 * saves it.
 */
enum dc_status dc_det_plot(const double *pfa, const double *pmiss, size_t n,
                           const struct dc_det_plot_opts *o, struct dc_image *img);

/*
 * Cosine similarity of two d-vectors in double precision, as
 * torch.nn.functional.cosine_similarity (eps 1e-8): a.b /
 * sqrt(max(|a|^2 |b|^2, 1e-16)); 0 when either is zero.
 */
double dc_cosine(const float *a, const float *b, size_t d);

/* Scale x[d] to unit L2 norm in place (a zero vector is left as is). */
void dc_l2_normalize(float *x, size_t d);

/* mean[d] = the average of the n >= 1 rows x[n][d] (double accumulation). */
enum dc_status dc_emb_mean(const float *x, size_t n, size_t d, float *mean);

/*
 * Cohort statistics of one embedding for adaptive s-norm, as WeSpeaker's
 * score_norm.py get_mean_std: the cosine scores of e[d] against the nc
 * cohort rows cohort[nc][d], sorted in decreasing order, the first top_n
 * of them (all when top_n is 0 or >= nc: plain s-norm) -> their mean and
 * population standard deviation (numpy std, ddof 0).  DC_EINVAL when fewer
 * than 2 scores are kept or their spread is 0 (the normalised score would
 * be infinite).  Allocates nc doubles of scratch.
 */
enum dc_status dc_cohort_stats(const float *e, const float *cohort, size_t nc, size_t d,
                               size_t top_n, double *mean, double *std);

/* AS-norm of a raw score s of enrollment e and test t:
 * 0.5 ((s - mean_e) / std_e + (s - mean_t) / std_t). */
double dc_asnorm(double s, double mean_e, double std_e, double mean_t, double std_t);

#ifdef __cplusplus
}
#endif
#endif /* DC_METRICS_H */
