/*
 * canvas.h - a small RGB raster for the tools' charts (ts-forecast --plot,
 * relevance-score --chart, spk-embed's DET plot): pixels, filled
 * rectangles, Bresenham lines (thick, dashed) and text in a 3x5 pixel
 * font drawn at twice its size.  No text-rendering library; everything
 * clips to the canvas's clip rectangle.
 */
#ifndef DC_CANVAS_H
#define DC_CANVAS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Interleaved 8-bit RGB, w x h, owned by the caller; drawing outside the
 * clip rectangle [cx0, cx1] x [cy0, cy1] (inclusive) is dropped. */
struct dc_canvas {
	unsigned char *p;
	int w, h;
	int cx0, cy0, cx1, cy1;
};

/* A canvas over rgb (w * h * 3 bytes), clip = all of it, filled with bg
 * (NULL: left as it is). */
void dc_canvas_init(struct dc_canvas *c, unsigned char *rgb, int w, int h, const unsigned char bg[3]);

void dc_canvas_px(struct dc_canvas *c, int x, int y, const unsigned char rgb[3]);

/* The filled rectangle between two corners (inclusive, either order). */
void dc_canvas_rect(struct dc_canvas *c, int x0, int y0, int x1, int y1, const unsigned char rgb[3]);

/* A line from (x0, y0) to (x1, y1), both ends drawn: each step a thick x
 * thick square with its top left on the line; dash: 4 steps on, 4 off. */
void dc_canvas_line(struct dc_canvas *c, int x0, int y0, int x1, int y1, const unsigned char rgb[3],
                    int thick, int dash);

/* Text with its top left at (x, y): glyphs 6 x 10 pixels, 8 apart.  The
 * font has digits, A-Z and . - % ( ) : / , = _ +; lower case is drawn as
 * upper case, anything else (space too) is left blank. */
void dc_canvas_text(struct dc_canvas *c, int x, int y, const char *s, const unsigned char rgb[3]);

/* Width in pixels of s drawn by dc_canvas_text (0 for ""). */
int dc_canvas_text_width(const char *s);

#ifdef __cplusplus
}
#endif
#endif /* DC_CANVAS_H */
