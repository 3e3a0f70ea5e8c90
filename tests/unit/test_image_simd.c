/*
 * test_image_simd.c - lib/image's vectorised kernels against their scalar
 * versions: Canny (1-4 channels, L1/L2, thresholds from negative to
 * beyond any magnitude) and cv2.resize (every interpolation, up and down,
 * integer and fractional factors) on smooth-plus-noise images whose widths
 * are not multiples of the vector lengths, with 1 and 3 threads (the
 * stripe split and the serial cross-stripe flood of Canny).  On a machine
 * without AVX-512 both sides run the scalar code and this only checks the
 * thread-count independence.  Exactness against OpenCV itself is checked
 * by tests/cli/ctrl-extract-image.bats and tests/golden/make_image.py.
 */
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/image_simd.h"
#include "test.h"

static uint32_t rng = 12345;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* blobs and ramps plus noise: plenty of weak and strong edges */
static void make_image(struct dc_image *a, int w, int h, int cn)
{
	CHECK(dc_image_alloc(a, w, h, cn) == DC_OK);
	uint8_t *p = a->data;
	int cx = (int)(next() % (unsigned)w), cy = (int)(next() % (unsigned)h), r = 3 + w / 4;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int c = 0; c < cn; c++) {
				int v = ((x * (c + 1) * 7 + y * 5) & 255) / 2;
				if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r)
					v += 90 + 20 * c;
				if (((x / 9) ^ (y / 7)) & 1)
					v += 40;
				v += (int)(next() % 23u);
				p[((size_t)y * w + x) * cn + c] = (uint8_t)(v > 255 ? 255 : v);
			}
}

static int same(const struct dc_image *a, const struct dc_image *b)
{
	return a->width == b->width && a->height == b->height && a->channels == b->channels &&
	       memcmp(a->data, b->data, (size_t)a->width * a->height * a->channels) == 0;
}

static int count_edges(const struct dc_image *e)
{
	int n = 0;
	for (size_t i = 0; i < (size_t)e->width * e->height; i++)
		n += ((uint8_t *)e->data)[i] == 255;
	return n;
}

TEST(canny_simd_matches_scalar)
{
	static const int dims[][2] = { { 1, 1 }, { 5, 3 }, { 17, 40 }, { 33, 65 }, { 95, 70 },
	                               { 130, 129 }, { 301, 97 } };
	static const double th[][3] = { { 100, 200, 0 }, { 20, 60, 0 }, { 10.5, 20.7, 1 },
	                                { 200, 100, 1 }, { -3, 40, 0 }, { 0, 0, 1 },
	                                { 5000, 9000, 0 }, { 1, 30000, 1 } };
	int total = 0;
	for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
		for (int cn = 1; cn <= 4; cn++) {
			struct dc_image a;
			make_image(&a, dims[d][0], dims[d][1], cn);
			for (size_t t = 0; t < sizeof th / sizeof th[0]; t++) {
				struct dc_image ref, o;
				dc_image_force_scalar = 1;
				dc_set_threads(1);
				CHECK(dc_canny(&a, &ref, th[t][0], th[t][1], (int)th[t][2]) == DC_OK);
				total += count_edges(&ref);
				for (int v = 0; v < 3; v++) {
					dc_image_force_scalar = v == 2;
					dc_set_threads(v == 0 ? 1 : 3);
					CHECK(dc_canny(&a, &o, th[t][0], th[t][1], (int)th[t][2]) == DC_OK);
					if (!same(&ref, &o))
						printf("#   canny %dx%dx%d thresholds %g/%g/%g variant %d differs\n",
						       dims[d][0], dims[d][1], cn, th[t][0], th[t][1], th[t][2], v);
					CHECK(same(&ref, &o));
					dc_image_release(&o);
				}
				dc_image_release(&ref);
			}
			dc_image_release(&a);
		}
	/* the images do have edges (else the comparison would prove little) */
	CHECK(total > 10000);
	dc_image_force_scalar = 0;
	dc_set_threads(0);
}

TEST(resize_simd_matches_scalar)
{
	static const int dims[][2] = { { 7, 5 }, { 97, 61 }, { 256, 130 }, { 411, 203 } };
	for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
		for (int cn = 1; cn <= 4; cn++) {
			struct dc_image a;
			int w = dims[d][0], h = dims[d][1];
			make_image(&a, w, h, cn);
			const int sz[][2] = { { w * 3 / 2, h * 3 / 2 }, { w * 2, h * 2 }, { w / 2 + 1, h / 2 + 1 },
			                      { w / 2 > 0 ? w / 2 : 1, h / 2 > 0 ? h / 2 : 1 },
			                      { w * 10 / 31 + 1, h * 10 / 31 + 1 }, { w / 7 + 1, h / 5 + 1 },
			                      { w + 13, h - 2 }, { 64, 64 } };
			for (size_t s = 0; s < sizeof sz / sizeof sz[0]; s++)
				for (int ip = 0; ip <= DC_INTER_LANCZOS4; ip++) {
					struct dc_image ref, o;
					dc_image_force_scalar = 1;
					dc_set_threads(1);
					CHECK(dc_image_resize(&a, &ref, sz[s][0], sz[s][1], ip) == DC_OK);
					for (int v = 0; v < 3; v++) {
						dc_image_force_scalar = v == 2;
						dc_set_threads(v == 0 ? 1 : 3);
						CHECK(dc_image_resize(&a, &o, sz[s][0], sz[s][1], ip) == DC_OK);
						if (!same(&ref, &o))
							printf("#   resize %dx%dx%d -> %dx%d interp %d variant %d differs\n",
							       w, h, cn, sz[s][0], sz[s][1], ip, v);
						CHECK(same(&ref, &o));
						dc_image_release(&o);
					}
					dc_image_release(&ref);
				}
			dc_image_release(&a);
		}
	dc_image_force_scalar = 0;
	dc_set_threads(0);
}

int main(void)
{
	RUN(canny_simd_matches_scalar);
	RUN(resize_simd_matches_scalar);
	return test_summary();
}
