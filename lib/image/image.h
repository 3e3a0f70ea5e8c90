/*
 * image.h - 8-bit image processing that reproduces OpenCV 4.6 and the
 * ControlNet annotators: resize (cv2.resize NEAREST/LINEAR/CUBIC/AREA/
 * LANCZOS4), HWC3, resize_image(), Gaussian blur, RGB->gray, Otsu, Canny,
 * and the classical control conditions (XDoG scribble, lineart_standard,
 * content shuffle, tile, binary, colour grid, invert, inpainting mask).
 *
 * Images are struct dc_image (lib/io/media.h) with depth 8: interleaved
 * HWC uint8.  Every function that produces an image allocates `out->data`
 * with dc_alloc (release with dc_image_release); on failure `out` is left
 * zeroed and dc_errmsg() says why.  Inputs are never modified.  Kernels
 * run over rows on dc_threads() threads (OpenMP, or for Canny, resize and
 * HWC3 the spin-free job runner of par.h); results do not depend on the
 * thread count.
 */
#ifndef DC_IMAGE_H
#define DC_IMAGE_H

#include "../core/core.h"
#include "../io/media.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cv2 interpolation codes (same numbering as OpenCV). */
enum dc_interp {
	DC_INTER_NEAREST = 0,
	DC_INTER_LINEAR = 1,
	DC_INTER_CUBIC = 2,
	DC_INTER_AREA = 3,
	DC_INTER_LANCZOS4 = 4
};

/* Allocate an uninitialised 8-bit w x h x c image. */
enum dc_status dc_image_alloc(struct dc_image *img, int w, int h, int c);

/* cv2.resize(src, (w, h), interpolation=interp) for 8-bit images with 1..4
 * channels. */
enum dc_status dc_image_resize(const struct dc_image *src, struct dc_image *dst,
                               int w, int h, enum dc_interp interp);

/* ControlNet's HWC3(): gray -> 3 equal channels, RGBA composited over white
 * (truncating), gray+alpha likewise; RGB copied.  16-bit input is refused
 * (DC_EUNSUPPORTED), as the annotators assert uint8. */
enum dc_status dc_image_hwc3(const struct dc_image *src, struct dc_image *dst);

/* The size resize_image(img, res) produces: k = res/min(h,w), each side
 * rint(side*k/64)*64 (round half to even, as np.round), and the
 * interpolation it uses (LANCZOS4 when k > 1, else AREA).  Fails with
 * DC_EINVAL when a side would be 0. */
enum dc_status dc_resolution_size(int w, int h, int res, int *ow, int *oh,
                                  enum dc_interp *interp);

/* cv2.cvtColor(RGB2GRAY) for 3/4 channels (15-bit fixed point, as OpenCV 4.6); a
 * 1-channel input is copied. Output has 1 channel. */
enum dc_status dc_image_gray(const struct dc_image *src, struct dc_image *dst);

/* Otsu's threshold of a 1-channel image, as cv2.threshold(THRESH_OTSU). */
int dc_otsu_threshold(const struct dc_image *gray);

/* cv2.GaussianBlur(float32(x), (0,0), sigma) with BORDER_REFLECT_101 on
 * an image of n_ch interleaved float channels, w x h.  In-place allowed
 * (dst == src). */
enum dc_status dc_gaussian_blur_f32(const float *src, float *dst, int w, int h,
                                    int n_ch, double sigma);

/*
 * cv2.Canny(src, low, high, apertureSize=3, L2gradient=l2), pixel-exact to
 * OpenCV 4.6: integer Sobel (BORDER_REPLICATE), multi-channel input uses
 * the channel of largest magnitude (first wins ties), thresholds swapped if
 * low > high, L2 compares squared magnitudes with squared thresholds.
 * Output: 1 channel, 0 or 255.
 */
enum dc_status dc_canny(const struct dc_image *src, struct dc_image *dst,
                        double low, double high, int l2);

/* ---- ControlNet annotators (inputs must be 3-channel, i.e. HWC3'd) ---- */

/* sd-webui scribble_xdog: 3-channel 0/255 output. */
enum dc_status dc_annot_xdog(const struct dc_image *src, struct dc_image *dst, int thr);
/* controlnet_aux lineart_standard: 1-channel output. */
enum dc_status dc_annot_lineart(const struct dc_image *src, struct dc_image *dst,
                                double sigma, double intensity_threshold);
/* ContentShuffleDetector with np.random.seed(seed) (MT19937), f = 256. */
enum dc_status dc_annot_shuffle(const struct dc_image *src, struct dc_image *dst,
                                uint32_t seed, int f);
/* Colour grid: INTER_CUBIC to (w/64, h/64), INTER_NEAREST back. */
enum dc_status dc_annot_color(const struct dc_image *src, struct dc_image *dst, int cell);
/* binary: RGB2GRAY then THRESH_BINARY_INV at thr (thr 0 or 255: Otsu);
 * 1-channel output; *used_thr receives the threshold applied. */
enum dc_status dc_annot_binary(const struct dc_image *src, struct dc_image *dst,
                               int thr, int *used_thr);
/* Tile, resample: INTER_AREA down to int(h/rate) x int(w/rate), then
 * INTER_LINEAR back to the input size (rate < 1.1: copy). */
enum dc_status dc_annot_tile_resample(const struct dc_image *src, struct dc_image *dst,
                                      double rate);
/* Tile, blur: Gaussian blur of sigma (float path, rounded back). */
enum dc_status dc_annot_tile_blur(const struct dc_image *src, struct dc_image *dst,
                                  double sigma);
/* 255 - x, any channel count. */
enum dc_status dc_annot_invert(const struct dc_image *src, struct dc_image *dst);

/* Inpainting mask, 1 channel, 255 = region to repaint. */
struct dc_mask_spec {
	int use_alpha;            /* 255 where alpha < alpha_thr */
	int alpha_thr;
	int use_key;              /* 255 where every |c - key[c]| <= tol */
	uint8_t key[3];
	int tol;
	int nrect;                /* 255 inside each rectangle */
	int rect[16][4];          /* x, y, w, h */
	int invert;
};
enum dc_status dc_annot_mask(const struct dc_image *src, struct dc_image *dst,
                             const struct dc_mask_spec *spec);

/* cv2.resize(float64 1-channel, (dw, dh), INTER_CUBIC). */
enum dc_status dc_resize_cubic_f64(const double *src, int sw, int sh, double *dst, int dw, int dh);

/* numpy's legacy MT19937: np.random.seed(seed); np.random.uniform(0,1,n). */
void dc_np_uniform(uint32_t seed_state[625], double *out, size_t n);
void dc_np_seed(uint32_t seed_state[625], uint32_t seed);

#ifdef __cplusplus
}
#endif
#endif /* DC_IMAGE_H */
