/*
 * test_image.c - lib/image: resize_image() sizes and round-half-even,
 * cv2.resize identities, HWC3 compositing, numpy's MT19937 stream, Canny on
 * constructed edges (thresholds, swap, L2, channel choice), error paths,
 * and the float-blur conditions (scribble, lineart, tile blur) against the
 * golden outputs of tests/golden/make_image.py with their stated
 * tolerance (|d| <= 1 for lineart/tile blur and at most 0.2 % of pixels
 * differing; scribble's binary output may flip at most 0.2 % of pixels).
 * The exact conditions are compared byte for byte by
 * tests/cli/ctrl-extract-image.bats.
 */
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "io/media.h"
#include "test.h"

static int read_golden(const char *name, struct dc_image *img)
{
	char path[512];
	const char *top = getenv("DC_TOP");
	snprintf(path, sizeof path, "%s/tests/golden/image/%s", top ? top : ".", name);
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		printf("#   cannot open %s\n", path);
		return -1;
	}
	enum dc_status st = dc_png_read(fp, img);
	fclose(fp);
	return st == DC_OK ? 0 : -1;
}

TEST(resolution_size)
{
	int w, h;
	enum dc_interp ip;
	CHECK(dc_resolution_size(600, 400, 512, &w, &h, &ip) == DC_OK);
	CHECK_EQ_INT(w, 768); CHECK_EQ_INT(h, 512); CHECK_EQ_INT(ip, DC_INTER_LANCZOS4);
	CHECK(dc_resolution_size(1680, 1050, 512, &w, &h, &ip) == DC_OK);
	CHECK_EQ_INT(w, 832); CHECK_EQ_INT(h, 512); CHECK_EQ_INT(ip, DC_INTER_AREA);
	/* k = 1: 544/64 = 8.5 -> 8 (half to even), 608/64 = 9.5 -> 10 */
	CHECK(dc_resolution_size(544, 512, 512, &w, &h, &ip) == DC_OK);
	CHECK_EQ_INT(w, 512); CHECK_EQ_INT(ip, DC_INTER_AREA);
	CHECK(dc_resolution_size(608, 512, 512, &w, &h, NULL) == DC_OK);
	CHECK_EQ_INT(w, 640);
	CHECK(dc_resolution_size(1, 1000, 64, &w, &h, NULL) != DC_OK);   /* 64 x 64000: too tall */
	CHECK(dc_resolution_size(0, 10, 64, &w, &h, NULL) == DC_EINVAL);
}

TEST(resize_basics)
{
	struct dc_image a, b;
	CHECK(dc_image_alloc(&a, 4, 2, 1) == DC_OK);
	uint8_t v[8] = { 0, 1, 10, 20, 3, 4, 30, 41 };
	memcpy(a.data, v, 8);
	/* exact 2x AREA: (sum + 2) >> 2 */
	CHECK(dc_image_resize(&a, &b, 2, 1, DC_INTER_AREA) == DC_OK);
	CHECK_EQ_INT(((uint8_t *)b.data)[0], 2);    /* (0+1+3+4+2)>>2 */
	CHECK_EQ_INT(((uint8_t *)b.data)[1], 25);   /* (10+20+30+41+2)>>2 */
	dc_image_release(&b);
	/* LINEAR at exactly 1/2 is AREA in OpenCV */
	CHECK(dc_image_resize(&a, &b, 2, 1, DC_INTER_LINEAR) == DC_OK);
	CHECK_EQ_INT(((uint8_t *)b.data)[1], 25);
	dc_image_release(&b);
	/* same size: a copy, whatever the interpolation */
	CHECK(dc_image_resize(&a, &b, 4, 2, DC_INTER_LANCZOS4) == DC_OK);
	CHECK(memcmp(a.data, b.data, 8) == 0);
	dc_image_release(&b);
	/* nearest 2x up duplicates */
	CHECK(dc_image_resize(&a, &b, 8, 4, DC_INTER_NEAREST) == DC_OK);
	CHECK_EQ_INT(((uint8_t *)b.data)[8 * 3 + 7], 41);
	dc_image_release(&b);
	/* a constant image stays constant under every interpolation */
	memset(a.data, 77, 8);
	for (int ip = 0; ip <= 4; ip++) {
		CHECK(dc_image_resize(&a, &b, 13, 7, ip) == DC_OK);
		int ok = 1;
		for (int i = 0; i < 13 * 7; i++)
			ok &= ((uint8_t *)b.data)[i] == 77;
		CHECK(ok);
		dc_image_release(&b);
	}
	CHECK(dc_image_resize(&a, &b, 0, 3, DC_INTER_AREA) == DC_EINVAL);
	CHECK(b.data == NULL);
	dc_image_release(&a);
}

TEST(hwc3)
{
	struct dc_image a = { 0 }, b;
	CHECK(dc_image_alloc(&a, 2, 1, 4) == DC_OK);
	uint8_t v[8] = { 10, 20, 30, 255, 100, 0, 200, 128 };
	memcpy(a.data, v, 8);
	CHECK(dc_image_hwc3(&a, &b) == DC_OK);
	uint8_t *p = b.data;
	CHECK_EQ_INT(p[0], 10); CHECK_EQ_INT(p[2], 30);
	/* 100*a + 255*(1-a), a = 128/255, truncated: 177.2 -> 177 */
	CHECK_EQ_INT(p[3], 177);
	CHECK_EQ_INT(p[4], 126);   /* 255*(1-a) = 126.99..: truncated, not rounded */
	dc_image_release(&b);
	a.depth = 16;
	CHECK(dc_image_hwc3(&a, &b) == DC_EUNSUPPORTED);
	a.depth = 8;
	dc_image_release(&a);
}

TEST(numpy_mt19937)
{
	uint32_t mt[625];
	double u[1000];
	dc_np_seed(mt, 12345);
	dc_np_uniform(mt, u, 3);
	CHECK(u[0] == 0.9296160928171479);
	CHECK(u[1] == 0.3163755545817859);
	CHECK(u[2] == 0.18391881167709445);
	dc_np_seed(mt, 0);
	dc_np_uniform(mt, u, 1000);     /* crosses a state refill */
	CHECK(u[999] == 0.6771411441114241);
}

static void step_image(struct dc_image *a, int w, int h, int cn, int lo, int hi, int col)
{
	dc_image_alloc(a, w, h, cn);
	uint8_t *p = a->data;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int c = 0; c < cn; c++)
				p[(y * w + x) * cn + c] = x < col ? lo : hi;
}

static int count_on(const struct dc_image *e)
{
	int n = 0;
	for (int i = 0; i < e->width * e->height; i++)
		n += ((uint8_t *)e->data)[i] == 255;
	return n;
}

TEST(canny_step)
{
	struct dc_image a, e;
	/* vertical step 0 -> 100 at column 8: |dx| = 400 on columns 7 and 8;
	 * NMS keeps column 7 (m > left, m >= right) */
	step_image(&a, 16, 10, 1, 0, 100, 8);
	CHECK(dc_canny(&a, &e, 100, 200, 0) == DC_OK);
	CHECK_EQ_INT(count_on(&e), 10);
	CHECK_EQ_INT(((uint8_t *)e.data)[3 * 16 + 7], 255);
	CHECK_EQ_INT(((uint8_t *)e.data)[3 * 16 + 8], 0);
	dc_image_release(&e);
	/* swapped thresholds give the same map */
	CHECK(dc_canny(&a, &e, 200, 100, 0) == DC_OK);
	CHECK_EQ_INT(count_on(&e), 10);
	dc_image_release(&e);
	/* high threshold equal to the magnitude: strict '>' -> no seed, no edge */
	CHECK(dc_canny(&a, &e, 100, 400, 0) == DC_OK);
	CHECK_EQ_INT(count_on(&e), 0);
	dc_image_release(&e);
	/* L2: 400^2 > 399^2 but not > 400^2 */
	CHECK(dc_canny(&a, &e, 10, 399.5, 1) == DC_OK);
	CHECK_EQ_INT(count_on(&e), 10);
	dc_image_release(&e);
	CHECK(dc_canny(&a, &e, 10, 400.5, 1) == DC_OK);
	CHECK_EQ_INT(count_on(&e), 0);
	dc_image_release(&e);
	dc_image_release(&a);
	/* colour: a step only in the last channel is found */
	step_image(&a, 16, 10, 3, 0, 0, 8);
	for (int y = 0; y < 10; y++)
		for (int x = 8; x < 16; x++)
			((uint8_t *)a.data)[(y * 16 + x) * 3 + 2] = 100;
	CHECK(dc_canny(&a, &e, 100, 200, 0) == DC_OK);
	CHECK_EQ_INT(count_on(&e), 10);
	dc_image_release(&e);
	dc_image_release(&a);
	/* 1x1 and flat images: no edges, no crash */
	step_image(&a, 1, 1, 1, 5, 5, 0);
	CHECK(dc_canny(&a, &e, 0, 0, 0) == DC_OK);
	CHECK_EQ_INT(count_on(&e), 0);
	dc_image_release(&e);
	dc_image_release(&a);
}

/* max |a-b| <= maxd and at most frac of the samples differ */
static void check_tol(const char *in, const char *gold, int which, int maxd, double frac)
{
	struct dc_image src, rgb, out, want;
	if (read_golden(in, &src) || read_golden(gold, &want)) {
		CHECK(!"golden files readable");
		return;
	}
	CHECK(dc_image_hwc3(&src, &rgb) == DC_OK);
	enum dc_status st = which == 0 ? dc_annot_xdog(&rgb, &out, 32)
	                  : which == 1 ? dc_annot_lineart(&rgb, &out, 6.0, 8)
	                  : dc_annot_tile_blur(&rgb, &out, 3.0);
	CHECK(st == DC_OK);
	if (st == DC_OK) {
		size_t n = (size_t)out.width * out.height * out.channels, bad = 0;
		int worst = 0;
		CHECK_EQ_INT(out.width * out.height * out.channels,
		             want.width * want.height * want.channels);
		for (size_t i = 0; i < n; i++) {
			int d = abs(((uint8_t *)out.data)[i] - ((uint8_t *)want.data)[i]);
			bad += d > 0;
			worst = d > worst ? d : worst;
		}
		printf("# %-28s %zu of %zu differ, max %d\n", gold, bad, n, worst);
		CHECK(worst <= maxd);
		CHECK(bad <= frac * n);
		dc_image_release(&out);
	}
	dc_image_release(&src);
	dc_image_release(&rgb);
	dc_image_release(&want);
}

TEST(golden_float_blur_conditions)
{
	static const char *names[] = { "astronaut", "camera", "coffee", "chelsea", "ladybird", "horse" };
	char in[64], g[96];
	for (int i = 0; i < 6; i++) {
		snprintf(in, sizeof in, "%s.png", names[i]);
		snprintf(g, sizeof g, "%s.scribble.png", names[i]);
		check_tol(in, g, 0, 255, 0.002);
		snprintf(g, sizeof g, "%s.lineart.png", names[i]);
		check_tol(in, g, 1, 1, 0.002);
		snprintf(g, sizeof g, "%s.tile_blur.png", names[i]);
		check_tol(in, g, 2, 1, 0.002);
	}
}

TEST(errors)
{
	struct dc_image a, b;
	step_image(&a, 8, 8, 1, 0, 9, 4);
	CHECK(dc_annot_xdog(&a, &b, 32) == DC_EINVAL);        /* needs 3 channels */
	CHECK(b.data == NULL);
	CHECK(dc_annot_color(&a, &b, 64) == DC_EINVAL);       /* smaller than a cell */
	CHECK(strstr(dc_errmsg(), "smaller") != NULL);
	struct dc_mask_spec m = { .use_alpha = 1, .alpha_thr = 128 };
	CHECK(dc_annot_mask(&a, &b, &m) == DC_EINVAL);        /* no alpha */
	float f[4] = { 0 };
	CHECK(dc_gaussian_blur_f32(f, f, 2, 2, 1, 0.0) == DC_EINVAL);
	dc_image_release(&a);
}

int main(void)
{
	RUN(resolution_size);
	RUN(resize_basics);
	RUN(hwc3);
	RUN(numpy_mt19937);
	RUN(canny_step);
	RUN(golden_float_blur_conditions);
	RUN(errors);
	return test_summary();
}
