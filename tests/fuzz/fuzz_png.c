/*
 * fuzz_png.c - libFuzzer harness for dc_png_read: arbitrary bytes through
 * fmemopen.  A successful decode must give a consistent image, and writing
 * it with dc_png_write and reading it back must give the same pixels.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* Interlaced images are decoded into a buffer of the claimed size; skip
	 * claims over 16M pixels so the fuzzer's RSS limit measures leaks, not
	 * legitimately large allocations.  (Non-interlaced buffers grow with
	 * the data, see png.c.) */
	if (size >= 33 && data[28] != 0) {
		uint64_t w = (uint64_t)data[16] << 24 | data[17] << 16 | data[18] << 8 | data[19];
		uint64_t h = (uint64_t)data[20] << 24 | data[21] << 16 | data[22] << 8 | data[23];
		if (w * h > (1u << 24))
			return 0;
	}
	FILE *f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	struct dc_image img;
	enum dc_status st = dc_png_read(f, &img);
	fclose(f);
	if (st != DC_OK) {
		if (img.data || !dc_errmsg()[0])
			__builtin_trap();
		return 0;
	}
	if (img.width < 1 || img.height < 1 || img.channels < 1 || img.channels > 4 ||
	    (img.depth != 8 && img.depth != 16) || !img.data)
		__builtin_trap();
	size_t n = (size_t)img.width * img.height * img.channels * (img.depth / 8);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	const char *text[] = { "k", "v", NULL };
	if (dc_png_write(m, &img, text) != DC_OK)
		__builtin_trap();
	fclose(m);
	f = fmemopen(buf, len, "rb");
	struct dc_image back;
	if (dc_png_read(f, &back) != DC_OK || back.width != img.width ||
	    back.height != img.height || back.channels != img.channels ||
	    back.depth != img.depth || memcmp(back.data, img.data, n) != 0)
		__builtin_trap();
	fclose(f);
	free(buf);
	dc_image_release(&back);
	dc_image_release(&img);
	return 0;
}
