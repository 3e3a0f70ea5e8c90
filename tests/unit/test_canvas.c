/*
 * test_canvas.c - lib/image/canvas.c, the charts' raster, against naive
 * expectations: the background fill, clipping (canvas edges and the clip
 * rectangle), rectangles in either corner order, Bresenham lines (both
 * ends, one pixel per step on a horizontal, a 45-degree and a steep
 * line, thick squares, the 4-on-4-off dash), glyph bitmaps at twice
 * their size, lower case as upper case, unknown characters as spaces and
 * the text width.
 */
#include <string.h>

#include "test.h"
#include "image/canvas.h"

#define W 40
#define H 30

static const unsigned char bg[3] = { 255, 255, 255 }, ink[3] = { 10, 20, 30 };
static unsigned char buf[W * H * 3];

static int on(int x, int y) { return memcmp(buf + ((size_t)y * W + x) * 3, ink, 3) == 0; }

static int count(void)
{
	int n = 0;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			n += on(x, y);
	return n;
}

static void fresh(struct dc_canvas *c) { dc_canvas_init(c, buf, W, H, bg); }

TEST(fill_px_clip)
{
	struct dc_canvas c;
	fresh(&c);
	for (size_t i = 0; i < sizeof buf; i++)
		CHECK(buf[i] == 255);
	dc_canvas_px(&c, 3, 4, ink);
	CHECK(on(3, 4) && count() == 1);
	// outside the canvas: nothing, no crash
	dc_canvas_px(&c, -1, 0, ink);
	dc_canvas_px(&c, W, 0, ink);
	dc_canvas_px(&c, 0, H, ink);
	dc_canvas_px(&c, 0, -7, ink);
	CHECK(count() == 1);
	// the clip rectangle is inclusive
	c.cx0 = 10; c.cy0 = 10; c.cx1 = 19; c.cy1 = 19;
	dc_canvas_rect(&c, 0, 0, W - 1, H - 1, ink);
	CHECK(count() == 1 + 100);
	CHECK(on(10, 10) && on(19, 19) && !on(9, 10) && !on(20, 19));
	// init with no background leaves the pixels
	dc_canvas_init(&c, buf, W, H, NULL);
	CHECK(count() == 101);
}

TEST(rect_corners)
{
	struct dc_canvas c;
	fresh(&c);
	dc_canvas_rect(&c, 8, 6, 2, 1, ink);   // corners in the other order
	CHECK(count() == 7 * 6);
	CHECK(on(2, 1) && on(8, 6) && !on(9, 6) && !on(2, 7));
}

TEST(lines)
{
	struct dc_canvas c;
	fresh(&c);
	dc_canvas_line(&c, 5, 3, 25, 3, ink, 1, 0);
	CHECK(count() == 21 && on(5, 3) && on(25, 3));
	fresh(&c);
	dc_canvas_line(&c, 20, 20, 10, 10, ink, 1, 0);   // 45 degrees, right to left
	CHECK(count() == 11);
	for (int i = 10; i <= 20; i++)
		CHECK(on(i, i));
	fresh(&c);
	dc_canvas_line(&c, 0, 0, 3, 20, ink, 1, 0);   // steep: one pixel per row
	CHECK(count() == 21 && on(0, 0) && on(3, 20));
	for (int y = 0; y <= 20; y++) {
		int n = 0;
		for (int x = 0; x < W; x++)
			n += on(x, y);
		CHECK(n == 1);
	}
	fresh(&c);
	dc_canvas_line(&c, 4, 4, 4, 4, ink, 1, 0);   // a point
	CHECK(count() == 1);
	fresh(&c);
	dc_canvas_line(&c, 2, 2, 11, 2, ink, 2, 0);   // thick: 2x2 squares
	CHECK(count() == 11 * 2 && on(12, 3) && on(2, 3));
	fresh(&c);
	dc_canvas_line(&c, 0, 5, 19, 5, ink, 1, 1);   // dash: 4 on, 4 off
	for (int x = 0; x < 20; x++)
		CHECK(on(x, 5) == (x % 8 < 4));
	fresh(&c);
	dc_canvas_line(&c, -30, 5, 80, 5, ink, 1, 0);   // clipped at both edges
	CHECK(count() == W);
}

TEST(text)
{
	struct dc_canvas c;
	fresh(&c);
	// "1" is { 2, 6, 2, 2, 7 }: rows of the 3-bit glyph, 4 = left column
	static const unsigned char one[5] = { 2, 6, 2, 2, 7 };
	dc_canvas_text(&c, 1, 2, "1", ink);
	int want = 0;
	for (int r = 0; r < 5; r++)
		for (int b = 0; b < 3; b++) {
			int set = (one[r] >> (2 - b)) & 1;
			want += 4 * set;
			for (int d = 0; d < 4; d++)
				CHECK(on(1 + 2 * b + (d & 1), 2 + 2 * r + (d >> 1)) == set);
		}
	CHECK(count() == want);
	// lower case is upper case; unknown characters are blank but advance
	unsigned char a[sizeof buf];
	fresh(&c);
	dc_canvas_text(&c, 0, 0, "x?Ab", ink);
	memcpy(a, buf, sizeof buf);
	fresh(&c);
	dc_canvas_text(&c, 0, 0, "X AB", ink);
	CHECK(memcmp(a, buf, sizeof buf) == 0);
	CHECK(count() > 0);
	fresh(&c);
	dc_canvas_text(&c, 0, 0, "\x01\xff~", ink);
	CHECK(count() == 0);
	CHECK(dc_canvas_text_width("") == 0);
	CHECK(dc_canvas_text_width("A") == 6);
	CHECK(dc_canvas_text_width("0.25") == 30);
}

int main(void)
{
	RUN(fill_px_clip);
	RUN(rect_corners);
	RUN(lines);
	RUN(text);
	return test_summary();
}
