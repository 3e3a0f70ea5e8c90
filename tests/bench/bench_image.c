/*
 * bench_image.c - times lib/image kernels on one PNG: Canny (RGB and gray,
 * 100/200), the resize_image() pipeline to 512 (INTER_AREA for a photo
 * larger than 512) and a LANCZOS4 upscale by 1.5.  Prints "name min_ms"
 * lines; used by tests/bench/ctrl_image.sh next to OpenCV's timings.
 *
 * usage: bench_image IMAGE.png RUNS THREADS
 */
#include <stdio.h>
#include <stdlib.h>

#include "image/image.h"
#include "io/media.h"

static struct dc_image rgb, gray;

static void run(const char *name, int runs, int which)
{
	double best = 1e30;
	for (int r = 0; r < runs; r++) {
		struct dc_image o;
		int w = 0, h = 0;
		enum dc_interp ip;
		double t0 = dc_time();
		enum dc_status st = DC_OK;
		switch (which) {
		case 0: st = dc_canny(&rgb, &o, 100, 200, 0); break;
		case 1: st = dc_canny(&gray, &o, 100, 200, 0); break;
		case 2:
			dc_resolution_size(rgb.width, rgb.height, 512, &w, &h, &ip);
			st = dc_image_resize(&rgb, &o, w, h, ip);
			break;
		case 3: st = dc_image_resize(&rgb, &o, rgb.width * 3 / 2, rgb.height * 3 / 2, DC_INTER_LANCZOS4); break;
		}
		double t = dc_time() - t0;
		if (st) {
			fprintf(stderr, "bench_image: %s: %s\n", name, dc_errmsg());
			exit(1);
		}
		dc_image_release(&o);
		if (t < best)
			best = t;
	}
	printf("%s %.3f\n", name, best * 1e3);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_image IMAGE.png RUNS THREADS\n");
		return 2;
	}
	FILE *fp = fopen(argv[1], "rb");
	struct dc_image raw;
	if (!fp || dc_png_read(fp, &raw) || dc_image_hwc3(&raw, &rgb) || dc_image_gray(&rgb, &gray)) {
		fprintf(stderr, "bench_image: cannot read %s\n", argv[1]);
		return 1;
	}
	fclose(fp);
	dc_set_threads(atoi(argv[3]));
	int runs = atoi(argv[2]);
	run("canny_rgb", runs, 0);
	run("canny_gray", runs, 1);
	run("resize_image_512", runs, 2);
	run("lanczos4_x1.5", runs, 3);
	return 0;
}
