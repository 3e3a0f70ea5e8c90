/*
 * lsd.h - LSD line segment detector (von Gioi, Jakubowicz, Morel, Randall,
 * "LSD: a Line Segment Detector", IPOL 2012), computed the way OpenCV 4.6's
 * cv::createLineSegmentDetector() computes it, so that a ControlNet "lines"
 * condition built from it matches the Python reference.  Also a rasteriser
 * with cv::line()'s LINE_8 semantics for turning segments into a line map.
 *
 * The detector is an independent C implementation of the published
 * algorithm; it reproduces the numerical steps of OpenCV's lsd.cpp
 * (Apache-2.0, (C) OpenCV Foundation): bit-exact GaussianBlur (8-bit fixed
 * point) and resize(INTER_LINEAR_EXACT) for the scale step, 2x2 gradient,
 * pseudo-ordering into n_bins bins with libstdc++'s std::sort order,
 * region growing with OpenCV's float fastAtan2, rectangle fitting, the NFA
 * with Lanczos/Windschitl log-gamma, and the three refinement levels.
 */
#ifndef DC_IMAGE_LSD_H
#define DC_IMAGE_LSD_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One detected segment, in input-image pixel coordinates (pixel centres at
 * integer + 0.5 as in OpenCV: a segment along the left edge of pixel column
 * 0 has x = 0).  (x1,y1) -> (x2,y2) is oriented so that the darker side is
 * on the left, as OpenCV returns it.  width: width of the fitted rectangle;
 * prec: the probability p = angle tolerance / 180 deg of the final
 * rectangle (OpenCV's "prec" output); nfa: -log10(NFA) when refine == 2
 * (LSD_REFINE_ADV), NAN otherwise (OpenCV does not compute it then).
 */
struct dc_segment { float x1, y1, x2, y2, width, prec, nfa; };

struct dc_lsd_params {
	int refine;      /* 0 none, 1 standard, 2 advanced (OpenCV LSD_REFINE_*) */
	double scale;       /* image scale before detection, > 0 (usually (0,1]) */
	double sigma_scale; /* gaussian sigma = sigma_scale / scale (scale < 1) */
	double quant;       /* bound on gradient quantisation error, >= 0 */
	double ang_th;      /* angle tolerance in degrees, (0,180) */
	double log_eps;     /* detection threshold -log10(NFA) > log_eps (refine 2) */
	double density_th;  /* minimal density of aligned points in rect, [0,1) */
	int n_bins;         /* bins of the gradient pseudo-ordering, > 0 */
};

/* OpenCV's defaults: LSD_REFINE_STD, 0.8, 0.6, 2.0, 22.5, 0, 0.7, 1024. */
void dc_lsd_default_params(struct dc_lsd_params *p);

/*
 * Detect segments on an 8-bit single-channel image of w x h pixels (row
 * stride w).  On success *segs is a dc_alloc'ed array of *n segments (the
 * caller frees it with dc_free; it is a valid pointer even when *n == 0), in
 * OpenCV's output order.  p == NULL means the defaults.  Memory is
 * O(w*h) (about 40 bytes per pixel of the scaled image plus the regions).
 * Errors: DC_EINVAL for bad arguments or parameters (OpenCV's asserts),
 * DC_ELIMIT when w*h exceeds 2^31-1 pixels, DC_ENOMEM.  Thread-safe
 * (no shared state); single-threaded.
 */
enum dc_status dc_lsd_detect(const uint8_t *gray, int w, int h,
                             const struct dc_lsd_params *p,
                             struct dc_segment **segs, size_t *n);

/*
 * Rasterise segments into an 8-bit map [h][w] like
 * cv2.line(map, p1, p2, value, thickness) with lineType LINE_8, after
 * rounding each endpoint to integers.  dc_draw_segments rounds with
 * cvRound (nearest, ties to even: what cv::Point(cv::Point2f) does, e.g.
 * in LineSegmentDetector::drawSegments); dc_draw_segments_mode lets the
 * caller choose DC_LSD_ROUND_TRUNC instead (Python's int(), toward zero,
 * as ControlNet's MLSD annotator does before calling cv2.line).
 * Thickness 1 (or <= 1) follows cv::line's Bresenham LineIterator with
 * clipLine and is pixel-identical to cv2.line; thickness > 1 (capped at
 * 1024) approximates cv::line's thick path (a filled rotated rectangle plus
 * round caps): same shape, about 10% of the rim pixels differ.
 * Non-finite coordinates or |c| > 1e9 are skipped.
 */
enum dc_lsd_rounding { DC_LSD_ROUND_NEAREST = 0, DC_LSD_ROUND_TRUNC = 1 };
void dc_draw_segments(uint8_t *map, int w, int h, const struct dc_segment *s, size_t n,
                      int thickness, uint8_t value);
void dc_draw_segments_mode(uint8_t *map, int w, int h, const struct dc_segment *s,
                           size_t n, int thickness, uint8_t value,
                           enum dc_lsd_rounding mode);
/* Draw one segment with integer endpoints (cv::line LINE_8 semantics). */
void dc_draw_line(uint8_t *map, int w, int h, int x1, int y1, int x2, int y2,
                  int thickness, uint8_t value);

/*
 * The scale step on its own, exposed for tests: OpenCV 4.6
 * GaussianBlur(ksize, sigma, BORDER_DEFAULT) on CV_8U (bit-exact fixed
 * point path) and resize(fx=fy=scale, INTER_LINEAR_EXACT).
 * dc_lsd_gaussian_blur: dst is w*h; ksize odd > 0.
 * dc_lsd_resize: *dw = rint(w*scale), *dh = rint(h*scale); dst must hold
 * them (call with dst NULL to get the size).  Both return DC_EINVAL on bad
 * arguments.
 */
enum dc_status dc_lsd_gaussian_blur(const uint8_t *src, int w, int h, int ksize,
                                    double sigma, uint8_t *dst);
enum dc_status dc_lsd_resize(const uint8_t *src, int w, int h, double scale,
                             uint8_t *dst, int *dw, int *dh);

#ifdef __cplusplus
}
#endif
#endif /* DC_IMAGE_LSD_H */
