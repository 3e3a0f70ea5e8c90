/*
 * make-corpus.c - writes the seed corpora in tests/fuzz/corpus/{png,audio,csv}
 * with the library's own writers (and libpng for colour types we never
 * write).  Not built by make; regenerate with
 *   cc -std=gnu11 -Ilib $(DEP_CFLAGS) tests/fuzz/make-corpus.c build/libdiffcore.a \
 *      -fopenmp $(DEP_LIBS) -lm -o /tmp/mc && /tmp/mc tests/fuzz/corpus
 */
#include <math.h>
#include <png.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/media.h"

static FILE *out(const char *dir, const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	return f;
}

static void png_raw(const char *dir, const char *name, int w, int h, int type, int depth,
                    int interlace, int trns)
{
	FILE *f = out(dir, name);
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	if (setjmp(png_jmpbuf(png)))
		exit(1);
	png_init_io(png, f);
	png_set_IHDR(png, info, w, h, depth, type, interlace, 0, 0);
	png_color pal[4] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 9, 9, 9 } };
	unsigned char tr[2] = { 0, 100 };
	png_color_16 tc = { 0, 1, 2, 3, 4 };
	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_PLTE(png, info, pal, 4);
	if (trns)
		png_set_tRNS(png, info, type == PNG_COLOR_TYPE_PALETTE ? tr : NULL, 2, &tc);
	png_text t = { PNG_TEXT_COMPRESSION_zTXt, "Comment", "seed", 4, 0, NULL, NULL };
	png_set_text(png, info, &t, 1);
	png_write_info(png, info);
	size_t rb = png_get_rowbytes(png, info);
	unsigned char *row = calloc(1, rb);
	int passes = png_set_interlace_handling(png);
	for (int p = 0; p < passes; p++)
		for (int y = 0; y < h; y++) {
			for (size_t i = 0; i < rb; i++)
				row[i] = (unsigned char)(i * 37 + y * 11) &
				         (type == PNG_COLOR_TYPE_PALETTE && depth == 8 ? 3 : 255);
			png_write_row(png, row);
		}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(row);
	fclose(f);
}

static void audio(const char *dir, const char *name, const char *fmt, int sub, int ch, int n)
{
	float *x = malloc(sizeof *x * n * ch);
	for (int i = 0; i < n * ch; i++)
		x[i] = 0.8f * sinf(i * 0.3f);
	struct dc_audio au = { 8000, ch, (size_t)n, x, sub };
	FILE *f = out(dir, name);
	if (dc_audio_write(f, &au, fmt, sub) != DC_OK) {
		fprintf(stderr, "%s: %s\n", name, dc_errmsg());
		exit(1);
	}
	fclose(f);
	free(x);
}

static void text(const char *dir, const char *name, const char *s)
{
	FILE *f = out(dir, name);
	fputs(s, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *top = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	char d[1024];
	snprintf(d, sizeof d, "%s/png", top);
	png_raw(d, "gray1.png", 9, 5, PNG_COLOR_TYPE_GRAY, 1, 0, 0);
	png_raw(d, "gray4-trns.png", 7, 3, PNG_COLOR_TYPE_GRAY, 4, 0, 1);
	png_raw(d, "palette2-trns.png", 8, 4, PNG_COLOR_TYPE_PALETTE, 2, 0, 1);
	png_raw(d, "palette8-adam7.png", 11, 9, PNG_COLOR_TYPE_PALETTE, 8, 1, 0);
	png_raw(d, "rgb16-trns.png", 4, 4, PNG_COLOR_TYPE_RGB, 16, 0, 1);
	png_raw(d, "ga8-adam7.png", 10, 10, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 1, 0);
	png_raw(d, "rgba16.png", 5, 3, PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, 0);

	snprintf(d, sizeof d, "%s/audio", top);
	audio(d, "pcm16-stereo.wav", "wav", SF_FORMAT_PCM_16, 2, 64);
	audio(d, "pcm24.wav", "wav", SF_FORMAT_PCM_24, 1, 50);
	audio(d, "u8.wav", "wav", SF_FORMAT_PCM_U8, 1, 40);
	audio(d, "float.wav", "wav", SF_FORMAT_FLOAT, 1, 32);
	audio(d, "pcm16.flac", "flac", SF_FORMAT_PCM_16, 1, 300);
	audio(d, "pcm24-stereo.flac", "flac", SF_FORMAT_PCM_24, 2, 100);
	audio(d, "vorbis.ogg", "ogg", 0, 1, 200);

	snprintf(d, sizeof d, "%s/csv", top);
	text(d, "etth1-head.csv",
	     "date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT\n"
	     "2016-07-01 00:00:00,5.827000141143799,2.009000062942505,1.5989999771118164,0.4620000123977661,4.203000068664552,1.3400000333786009,30.5310001373291\n"
	     "2016-07-01 01:00:00,5.692999839782715,2.075999975204468,1.4919999837875366,0.4259999990463257,4.142000198364259,1.371000051498413,27.78700065612793\n"
	     "2016-07-01 02:00:00,5.1570000648498535,1.741000056266785,1.2790000438690186,0.35499998927116394,3.776999950408936,1.218000054359436,27.78700065612793\n");
	text(d, "exchange-head.csv",
	     "date,0,1,2,3,4,5,6,OT\n"
	     "1990/1/1 0:00,0.7855,1.611,0.861698,0.634196,0.211242,0.006838,0.525486,0.593\n"
	     "1990/1/2 0:00,0.7818,1.61,0.861104,0.633513,0.211242,0.006863,0.523972,0.594");
	text(d, "quoted-crlf.csv",
	     "\xEF\xBB\xBF" "name,\"a,b\",\"q\"\"x\"\r\n\"multi\nline\",1e-3,\r\nbob,,-inf\r\n\r\n");
	text(d, "numeric.csv", "t,x,y\n0,1.5,nan\n1,0x1p-3,2\n2,,  3  \n");
	text(d, "iso.csv", "Date,v\n2000-02-29T12:00:00Z,1\n1969-12-31 23:59,2\n");
	return 0;
}
