/*
 * test_media.c - PNG, audio and CSV readers/writers (lib/io/media.h):
 * round trips through temporary files and pipes, decoding of the PNG
 * colour types we do not write ourselves (palette, tRNS, 1/2/4-bit,
 * interlaced; made here with libpng), malformed and truncated inputs,
 * lossless PCM round trips, CSV parsing rules and UTC timestamps.
 */
#include "test.h"

#include <png.h>
#include <sndfile.h>
#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

#include "io/media.h"

static uint32_t lcg_state = 12345;
static uint32_t lcg(void)
{
	lcg_state = lcg_state * 1664525u + 1013904223u;
	return lcg_state >> 8;
}

/* Whole contents of a stream (rewound first); caller frees. */
static unsigned char *slurp(FILE *f, size_t *len)
{
	rewind(f);
	size_t cap = 4096, n = 0;
	unsigned char *b = malloc(cap);
	size_t got;
	while ((got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap)
			b = realloc(b, cap *= 2);
	}
	*len = n;
	return b;
}

static FILE *mem_file(const void *data, size_t len)
{
	FILE *f = tmpfile();
	if (len)
		fwrite(data, 1, len, f);
	rewind(f);
	return f;
}

static int contains(const unsigned char *b, size_t n, const char *s)
{
	size_t k = strlen(s);
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(b + i, s, k))
			return 1;
	return 0;
}

/* ---- PNG ------------------------------------------------------------------- */

/* Write a PNG with libpng directly (any colour type/depth, packed rows). */
static void raw_png(FILE *f, int w, int h, int color_type, int depth, int interlace,
                    unsigned char **rows, const png_color *pal, int npal,
                    const unsigned char *trans, int ntrans, const png_color_16 *trans_color)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	if (setjmp(png_jmpbuf(png))) {
		fprintf(stderr, "raw_png failed\n");
		exit(2);
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, w, h, depth, color_type, interlace, 0, 0);
	if (pal)
		png_set_PLTE(png, info, pal, npal);
	if (trans || trans_color)
		png_set_tRNS(png, info, trans, ntrans, trans_color);
	png_write_info(png, info);
	png_write_image(png, rows);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	fflush(f);
	rewind(f);
}

TEST(png_roundtrip_all_layouts)
{
	const char *text[] = { "Software", "diffcore test", "seed", "42", NULL };
	for (int depth = 8; depth <= 16; depth += 8)
		for (int ch = 1; ch <= 4; ch++) {
			struct dc_image img = { 13, 7, ch, depth, NULL }, back;
			size_t n = (size_t)13 * 7 * ch;
			img.data = malloc(n * (depth / 8));
			for (size_t i = 0; i < n; i++) {
				if (depth == 8)
					((uint8_t *)img.data)[i] = (uint8_t)lcg();
				else
					((uint16_t *)img.data)[i] = (uint16_t)lcg();
			}
			FILE *f = tmpfile();
			CHECK_EQ_INT(dc_png_write(f, &img, text), DC_OK);
			size_t len;
			unsigned char *bytes = slurp(f, &len);
			CHECK(contains(bytes, len, "tEXtSoftware"));
			CHECK(contains(bytes, len, "diffcore test"));
			free(bytes);
			rewind(f);
			CHECK_EQ_INT(dc_png_read(f, &back), DC_OK);
			CHECK_EQ_INT(back.width, 13);
			CHECK_EQ_INT(back.height, 7);
			CHECK_EQ_INT(back.channels, ch);
			CHECK_EQ_INT(back.depth, depth);
			CHECK(back.data && !memcmp(back.data, img.data, n * (depth / 8)));
			dc_image_release(&back);
			CHECK(back.data == NULL);
			fclose(f);
			free(img.data);
		}
}

TEST(png_16bit_is_native_endian)
{
	/* File rows are big-endian; memory must hold native uint16 values. */
	unsigned char row[4] = { 0x01, 0x02, 0xA0, 0xB0 };
	unsigned char *rows[1] = { row };
	FILE *f = tmpfile();
	raw_png(f, 2, 1, PNG_COLOR_TYPE_GRAY, 16, 0, rows, NULL, 0, NULL, 0, NULL);
	struct dc_image back;
	CHECK_EQ_INT(dc_png_read(f, &back), DC_OK);
	CHECK_EQ_INT(back.depth, 16);
	if (back.data) {
		CHECK_EQ_INT(((uint16_t *)back.data)[0], 0x0102);
		CHECK_EQ_INT(((uint16_t *)back.data)[1], 0xA0B0);
	}
	dc_image_release(&back);
	fclose(f);
}

TEST(png_palette_and_trns)
{
	png_color pal[3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 } };
	unsigned char trans[2] = { 0, 128 };
	/* 4-bit palette, 5x2: indices 0 1 2 0 1 / 2 2 1 0 0 */
	unsigned char r0[3] = { 0x01, 0x20, 0x10 }, r1[3] = { 0x22, 0x10, 0x00 };
	unsigned char *rows[2] = { r0, r1 };
	int idx[10] = { 0, 1, 2, 0, 1, 2, 2, 1, 0, 0 };
	struct dc_image img;

	FILE *f = tmpfile();
	raw_png(f, 5, 2, PNG_COLOR_TYPE_PALETTE, 4, 0, rows, pal, 3, trans, 2, NULL);
	CHECK_EQ_INT(dc_png_read(f, &img), DC_OK);
	CHECK_EQ_INT(img.channels, 4);
	CHECK_EQ_INT(img.depth, 8);
	int bad = 0;
	for (int i = 0; i < 10 && img.data; i++) {
		const uint8_t *p = (uint8_t *)img.data + 4 * i;
		int a = idx[i] < 2 ? trans[idx[i]] : 255;
		bad += p[0] != pal[idx[i]].red || p[1] != pal[idx[i]].green ||
		       p[2] != pal[idx[i]].blue || p[3] != a;
	}
	CHECK_EQ_INT(bad, 0);
	dc_image_release(&img);
	fclose(f);

	/* Without tRNS: RGB. */
	f = tmpfile();
	raw_png(f, 5, 2, PNG_COLOR_TYPE_PALETTE, 4, 0, rows, pal, 3, NULL, 0, NULL);
	CHECK_EQ_INT(dc_png_read(f, &img), DC_OK);
	CHECK_EQ_INT(img.channels, 3);
	bad = 0;
	for (int i = 0; i < 10 && img.data; i++) {
		const uint8_t *p = (uint8_t *)img.data + 3 * i;
		bad += p[0] != pal[idx[i]].red || p[1] != pal[idx[i]].green || p[2] != pal[idx[i]].blue;
	}
	CHECK_EQ_INT(bad, 0);
	dc_image_release(&img);
	fclose(f);
}

TEST(png_low_bit_depth_gray)
{
	/* 8 pixels in one row for each depth; values cycle through the range. */
	for (int depth = 1; depth <= 4; depth *= 2) {
		int maxv = (1 << depth) - 1, scale = 255 / maxv;
		unsigned char row[4] = { 0 };
		int vals[8];
		for (int i = 0; i < 8; i++) {
			vals[i] = (i * 3 + 1) & maxv;
			int bitpos = i * depth;
			row[bitpos / 8] |= (unsigned char)(vals[i] << (8 - depth - bitpos % 8));
		}
		unsigned char *rows[1] = { row };
		FILE *f = tmpfile();
		raw_png(f, 8, 1, PNG_COLOR_TYPE_GRAY, depth, 0, rows, NULL, 0, NULL, 0, NULL);
		struct dc_image img;
		CHECK_EQ_INT(dc_png_read(f, &img), DC_OK);
		CHECK_EQ_INT(img.channels, 1);
		CHECK_EQ_INT(img.depth, 8);
		int bad = 0;
		for (int i = 0; i < 8 && img.data; i++)
			bad += ((uint8_t *)img.data)[i] != vals[i] * scale;
		if (bad)
			printf("# depth %d: %d pixels wrong\n", depth, bad);
		CHECK_EQ_INT(bad, 0);
		dc_image_release(&img);
		fclose(f);
	}
}

TEST(png_gray_and_rgb16_trns)
{
	unsigned char g[4] = { 7, 8, 7, 200 };
	unsigned char *grows[1] = { g };
	png_color_16 tc = { 0 };
	tc.gray = 7;
	FILE *f = tmpfile();
	raw_png(f, 4, 1, PNG_COLOR_TYPE_GRAY, 8, 0, grows, NULL, 0, NULL, 0, &tc);
	struct dc_image img;
	CHECK_EQ_INT(dc_png_read(f, &img), DC_OK);
	CHECK_EQ_INT(img.channels, 2);
	if (img.data) {
		const uint8_t *p = img.data;
		CHECK(p[0] == 7 && p[1] == 0 && p[2] == 8 && p[3] == 255 && p[4] == 7 && p[5] == 0 &&
		      p[6] == 200 && p[7] == 255);
	}
	dc_image_release(&img);
	fclose(f);

	/* 16-bit RGB with tRNS colour (0x1234, 0x5678, 0x9abc), big-endian rows. */
	unsigned char rgb[12] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xff, 0xff, 0x00, 0x01, 0x80, 0x00 };
	unsigned char *rrows[1] = { rgb };
	memset(&tc, 0, sizeof tc);
	tc.red = 0x1234;
	tc.green = 0x5678;
	tc.blue = 0x9abc;
	f = tmpfile();
	raw_png(f, 2, 1, PNG_COLOR_TYPE_RGB, 16, 0, rrows, NULL, 0, NULL, 0, &tc);
	CHECK_EQ_INT(dc_png_read(f, &img), DC_OK);
	CHECK_EQ_INT(img.channels, 4);
	CHECK_EQ_INT(img.depth, 16);
	if (img.data) {
		const uint16_t *p = img.data;
		CHECK(p[0] == 0x1234 && p[1] == 0x5678 && p[2] == 0x9abc && p[3] == 0);
		CHECK(p[4] == 0xffff && p[5] == 0x0001 && p[6] == 0x8000 && p[7] == 0xffff);
	}
	dc_image_release(&img);
	fclose(f);
}

TEST(png_interlaced)
{
	enum { W = 19, H = 11 };
	static unsigned char px[H][W * 3];
	unsigned char *rows[H];
	for (int y = 0; y < H; y++) {
		rows[y] = px[y];
		for (int x = 0; x < W * 3; x++)
			px[y][x] = (unsigned char)lcg();
	}
	FILE *f = tmpfile();
	raw_png(f, W, H, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, rows, NULL, 0, NULL, 0, NULL);
	struct dc_image img;
	CHECK_EQ_INT(dc_png_read(f, &img), DC_OK);
	CHECK_EQ_INT(img.width, W);
	CHECK_EQ_INT(img.channels, 3);
	CHECK(img.data && !memcmp(img.data, px, sizeof px));
	dc_image_release(&img);
	fclose(f);
}

TEST(png_from_pipe)
{
	char path[] = "/tmp/dc_test_media_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w+b");
	uint8_t px[6 * 5 * 2];
	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (uint8_t)(i * 7);
	struct dc_image img = { 6, 5, 2, 8, px }, back;
	CHECK_EQ_INT(dc_png_write(f, &img, NULL), DC_OK);
	fclose(f);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "cat %s", path);
	FILE *p = popen(cmd, "r");
	CHECK_EQ_INT(dc_png_read(p, &back), DC_OK);
	pclose(p);
	CHECK(back.data && back.channels == 2 && !memcmp(back.data, px, sizeof px));
	dc_image_release(&back);
	unlink(path);
}

/* A PNG signature + IHDR with the given size (valid CRC), nothing else. */
static size_t ihdr_only(unsigned char *b, uint32_t w, uint32_t h)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a };
	memcpy(b, sig, 8);
	unsigned char *c = b + 8;
	c[0] = c[1] = c[2] = 0;
	c[3] = 13;
	memcpy(c + 4, "IHDR", 4);
	unsigned char *d = c + 8;
	for (int i = 0; i < 4; i++) {
		d[i] = (unsigned char)(w >> (24 - 8 * i));
		d[4 + i] = (unsigned char)(h >> (24 - 8 * i));
	}
	d[8] = 8;   /* depth */
	d[9] = 6;   /* RGBA */
	d[10] = d[11] = d[12] = 0;
	uint32_t crc = (uint32_t)crc32(0, c + 4, 17);
	for (int i = 0; i < 4; i++)
		d[13 + i] = (unsigned char)(crc >> (24 - 8 * i));
	return 8 + 25;
}

TEST(png_bad_inputs)
{
	struct dc_image img = { 1, 1, 1, 8, (void *)1 };
	FILE *f = mem_file("hello world, not a png at all", 29);
	CHECK_EQ_INT(dc_png_read(f, &img), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "not a PNG file") != NULL);
	CHECK(img.data == NULL && img.width == 0);
	fclose(f);

	f = mem_file("", 0);
	CHECK_EQ_INT(dc_png_read(f, &img), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "not a PNG file") != NULL);
	fclose(f);

	/* Truncated: a valid PNG cut at several points. */
	uint8_t px[32 * 32 * 3];
	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (uint8_t)lcg();
	struct dc_image src = { 32, 32, 3, 8, px };
	FILE *full = tmpfile();
	CHECK_EQ_INT(dc_png_write(full, &src, NULL), DC_OK);
	size_t len;
	unsigned char *bytes = slurp(full, &len);
	fclose(full);
	size_t cuts[] = { 4, 20, 40, len / 2, len - 13, len - 1 };
	for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
		f = mem_file(bytes, cuts[k]);
		enum dc_status st = dc_png_read(f, &img);
		CHECK_EQ_INT(st, DC_ETRUNC);
		CHECK(strstr(dc_errmsg(), "truncated PNG data") != NULL);
		CHECK(img.data == NULL);
		fclose(f);
	}
	/* A flipped bit inside IDAT: CRC error -> corrupt. */
	bytes[len / 2] ^= 0x10;
	f = mem_file(bytes, len);
	CHECK_EQ_INT(dc_png_read(f, &img), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "corrupt PNG") != NULL);
	fclose(f);
	free(bytes);

	/* Oversized IHDR: refused before any pixel allocation. */
	unsigned char hdr[64];
	size_t n = ihdr_only(hdr, 40000, 40000);
	f = mem_file(hdr, n);
	CHECK_EQ_INT(dc_png_read(f, &img), DC_ELIMIT);
	CHECK(strstr(dc_errmsg(), "image too large (40000x40000)") != NULL);
	fclose(f);
	n = ihdr_only(hdr, 30000, 30000);   /* within the side limit, over the pixel limit */
	f = mem_file(hdr, n);
	CHECK_EQ_INT(dc_png_read(f, &img), DC_ELIMIT);
	fclose(f);
	n = ihdr_only(hdr, 0, 10);
	f = mem_file(hdr, n);
	CHECK_EQ_INT(dc_png_read(f, &img), DC_EFORMAT);
	fclose(f);
	/* A zTXt chunk declaring 1.3 GB: refused at its header, nothing allocated. */
	n = ihdr_only(hdr, 5, 3);
	memcpy(hdr + n, "\x4e\x00\x00\x15zTXtComment", 15);
	f = mem_file(hdr, n + 15);
	CHECK_EQ_INT(dc_png_read(f, &img), DC_ELIMIT);
	CHECK(strstr(dc_errmsg(), "PNG chunk 'zTXt' too large") != NULL);
	fclose(f);
	/* An acceptable IHDR with no IDAT after it: truncated, not too large. */
	n = ihdr_only(hdr, 100, 100);
	f = mem_file(hdr, n);
	CHECK_EQ_INT(dc_png_read(f, &img), DC_ETRUNC);
	fclose(f);
}

/* Above 64 MiB the reader grows its buffer row by row: check it is right. */
TEST(png_large_incremental)
{
	struct dc_image img = { 2900, 2900, 4, 16, NULL }, back;
	size_t n = (size_t)2900 * 2900 * 4;
	uint16_t *px = malloc(n * 2);
	for (size_t i = 0; i < n; i++)
		px[i] = (uint16_t)(i % 4 == 3 ? 65535 : (i / 4 % 2900) * 7 + i / (4 * 2900));
	img.data = px;
	FILE *f = tmpfile();
	CHECK_EQ_INT(dc_png_write(f, &img, NULL), DC_OK);
	rewind(f);
	CHECK_EQ_INT(dc_png_read(f, &back), DC_OK);
	CHECK(back.data && back.height == 2900 && !memcmp(back.data, px, n * 2));
	dc_image_release(&back);
	fclose(f);
	free(px);
}

TEST(png_write_invalid)
{
	uint8_t px[4] = { 0 };
	struct dc_image img = { 1, 1, 5, 8, px };
	FILE *f = tmpfile();
	CHECK_EQ_INT(dc_png_write(f, &img, NULL), DC_EINVAL);
	img.channels = 4;
	img.depth = 12;
	CHECK_EQ_INT(dc_png_write(f, &img, NULL), DC_EINVAL);
	img.depth = 8;
	const char *badkey[] = { "two  spaces", "v", NULL };
	CHECK_EQ_INT(dc_png_write(f, &img, badkey), DC_EINVAL);
	const char *nokey[] = { "key", NULL };
	CHECK_EQ_INT(dc_png_write(f, &img, nokey), DC_EINVAL);
	img.width = 0;
	CHECK_EQ_INT(dc_png_write(f, &img, NULL), DC_EINVAL);
	fclose(f);
}

/* ---- audio ------------------------------------------------------------------ */

/* n frames x ch channels of exact n-bit PCM values s / 2^(bits-1), with the
 * extremes included. */
static float *pcm_signal(size_t n, int ch, int bits)
{
	float *x = malloc(n * ch * sizeof *x);
	int64_t full = (int64_t)1 << (bits - 1);
	for (size_t i = 0; i < n * ch; i++) {
		int64_t s = (int64_t)(lcg() % (uint32_t)(2 * full)) - full;
		if (i == 0)
			s = -full;
		if (i == 1)
			s = full - 1;
		x[i] = (float)((double)s / (double)full);
	}
	return x;
}

static void audio_roundtrip(const char *fmt, int subtype, int bits, int ch)
{
	const size_t n = 3001;
	float *x = bits ? pcm_signal(n, ch, bits) : NULL;
	if (!bits) {
		x = malloc(n * ch * sizeof *x);
		for (size_t i = 0; i < n * ch; i++)
			x[i] = (float)((double)lcg() / (1 << 23) - 1.0);
	}
	struct dc_audio au = { 22050, ch, n, x, subtype }, back, back2;
	FILE *f = tmpfile();
	CHECK_EQ_INT(dc_audio_write(f, &au, fmt, subtype), DC_OK);
	size_t len1;
	unsigned char *b1 = slurp(f, &len1);
	rewind(f);
	CHECK_EQ_INT(dc_audio_read(f, &back), DC_OK);
	fclose(f);
	CHECK_EQ_INT(back.frames, n);
	CHECK_EQ_INT(back.channels, ch);
	CHECK_EQ_INT(back.sample_rate, 22050);
	CHECK_EQ_INT(back.subtype, subtype);
	if (back.data && back.frames == n) {
		size_t bad = 0;
		for (size_t i = 0; i < n * ch; i++)
			bad += memcmp(&back.data[i], &x[i], sizeof(float)) != 0;
		if (bad)
			printf("# %s/0x%x: %zu samples differ, max %g\n", fmt, subtype, bad,
			       max_abs_diff(back.data, x, n * ch));
		CHECK_EQ_INT(bad, 0);
	}
	/* Write what we read: byte-identical file. */
	f = tmpfile();
	CHECK_EQ_INT(dc_audio_write(f, &back, fmt, back.subtype), DC_OK);
	size_t len2;
	unsigned char *b2 = slurp(f, &len2);
	CHECK_EQ_INT(len2, len1);
	CHECK(len1 == len2 && !memcmp(b1, b2, len1));
	rewind(f);
	CHECK_EQ_INT(dc_audio_read(f, &back2), DC_OK);
	CHECK_EQ_INT(back2.frames, n);
	fclose(f);
	dc_audio_release(&back);
	dc_audio_release(&back2);
	free(b1);
	free(b2);
	free(x);
}

TEST(audio_wav_roundtrips)
{
	audio_roundtrip("wav", SF_FORMAT_PCM_16, 16, 2);
	audio_roundtrip("wav", SF_FORMAT_PCM_24, 24, 1);
	audio_roundtrip("wav", SF_FORMAT_PCM_U8, 8, 3);
	audio_roundtrip("wav", SF_FORMAT_FLOAT, 0, 2);
}

TEST(audio_flac_roundtrips)
{
	audio_roundtrip("flac", SF_FORMAT_PCM_16, 16, 2);
	audio_roundtrip("flac", SF_FORMAT_PCM_24, 24, 1);
}

TEST(audio_pcm16_scaling_and_clipping)
{
	/* Full scale and beyond: 1.0 and 1.5 clip to 32767, -1.0 and -2 to -32768,
	 * NaN -> 0, and half-way values round to even. */
	float x[8] = { 1.0f, 1.5f, -1.0f, -2.0f, NAN, 0.5f / 32768, 1.5f / 32768, -0.25f };
	struct dc_audio au = { 8000, 1, 8, x, 0 }, back;
	FILE *f = tmpfile();
	CHECK_EQ_INT(dc_audio_write(f, &au, "wav", 0), DC_OK);
	rewind(f);
	CHECK_EQ_INT(dc_audio_read(f, &back), DC_OK);
	CHECK_EQ_INT(back.subtype, SF_FORMAT_PCM_16);
	float want[8] = { 32767 / 32768.f, 32767 / 32768.f, -1, -1, 0, 0, 2 / 32768.f, -0.25f };
	if (back.data)
		CHECK_CLOSE(back.data, want, 8, 0, 0);
	dc_audio_release(&back);
	fclose(f);
}

TEST(audio_ogg)
{
	const size_t n = 8000;
	float *x = malloc(n * sizeof *x);
	for (size_t i = 0; i < n; i++)
		x[i] = 0.5f * sinf((float)i * 0.05f);
	struct dc_audio au = { 16000, 1, n, x, 0 }, back;
	FILE *f = tmpfile();
	CHECK_EQ_INT(dc_audio_write(f, &au, "ogg", 0), DC_OK);
	rewind(f);
	CHECK_EQ_INT(dc_audio_read(f, &back), DC_OK);
	CHECK_EQ_INT(back.subtype, SF_FORMAT_VORBIS);
	CHECK_EQ_INT(back.frames, n);
	if (back.data && back.frames == n) {
		double err = 0, sig = 0;
		for (size_t i = 0; i < n; i++) {
			err += (back.data[i] - x[i]) * (back.data[i] - x[i]);
			sig += x[i] * x[i];
		}
		CHECK(err < 0.01 * sig);   /* lossy, but close: SNR > 20 dB */
	}
	dc_audio_release(&back);
	fclose(f);
	free(x);
}

TEST(audio_pipes)
{
	const size_t n = 1000;
	float *x = pcm_signal(n, 2, 16);
	struct dc_audio au = { 44100, 2, n, x, 0 }, back;
	char path[] = "/tmp/dc_test_media_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	char cmd[128];
	/* Write into a pipe: the header must still carry the right sizes. */
	snprintf(cmd, sizeof cmd, "cat > %s", path);
	FILE *p = popen(cmd, "w");
	CHECK_EQ_INT(dc_audio_write(p, &au, "wav", SF_FORMAT_PCM_16), DC_OK);
	CHECK_EQ_INT(pclose(p), 0);
	FILE *ref = tmpfile();
	CHECK_EQ_INT(dc_audio_write(ref, &au, "wav", SF_FORMAT_PCM_16), DC_OK);
	size_t l1, l2;
	unsigned char *b1 = slurp(ref, &l1);
	FILE *g = fopen(path, "rb");
	unsigned char *b2 = slurp(g, &l2);
	fclose(g);
	CHECK(l1 == l2 && l1 == 44 + n * 4 && !memcmp(b1, b2, l1));
	/* RIFF size and data size in the header. */
	CHECK(l2 >= 44 && b2[4] + (b2[5] << 8) + (b2[6] << 16) == (int)(l2 - 8));
	CHECK(l2 >= 44 && b2[40] + (b2[41] << 8) + (b2[42] << 16) == (int)(n * 4));
	free(b1);
	free(b2);
	fclose(ref);
	/* Read from a pipe. */
	snprintf(cmd, sizeof cmd, "cat %s", path);
	p = popen(cmd, "r");
	CHECK_EQ_INT(dc_audio_read(p, &back), DC_OK);
	pclose(p);
	CHECK_EQ_INT(back.frames, n);
	CHECK(back.data && !memcmp(back.data, x, n * 2 * sizeof(float)));
	dc_audio_release(&back);
	unlink(path);
	free(x);
}

TEST(audio_bad_inputs)
{
	struct dc_audio au;
	FILE *f = mem_file("definitely not audio data, just some text here....", 50);
	CHECK_EQ_INT(dc_audio_read(f, &au), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "not a recognised audio file") != NULL);
	fclose(f);
	f = mem_file("", 0);
	CHECK(dc_audio_read(f, &au) != DC_OK);
	fclose(f);

	/* Truncated WAV and FLAC. */
	const size_t n = 4000;
	float *x = pcm_signal(n, 1, 16);
	struct dc_audio src = { 8000, 1, n, x, 0 };
	const char *fmts[2] = { "wav", "flac" };
	for (int k = 0; k < 2; k++) {
		FILE *full = tmpfile();
		CHECK_EQ_INT(dc_audio_write(full, &src, fmts[k], 0), DC_OK);
		size_t len;
		unsigned char *b = slurp(full, &len);
		fclose(full);
		size_t cuts[] = { 30, len / 2, len - 1 };
		for (int c = 0; c < 3; c++) {
			f = mem_file(b, cuts[c]);
			enum dc_status st = dc_audio_read(f, &au);
			if (st == DC_OK)
				printf("# %s cut at %zu of %zu read as OK\n", fmts[k], cuts[c], len);
			CHECK(st != DC_OK);
			CHECK(au.data == NULL);
			fclose(f);
		}
		f = mem_file(b, len / 2);
		CHECK_EQ_INT(dc_audio_read(f, &au), DC_ETRUNC);
		printf("# %s cut in half: %s\n", fmts[k], dc_errmsg());
		CHECK(strstr(dc_errmsg(), "truncated") != NULL);
		fclose(f);
		free(b);
	}
	free(x);

	/* Zero frames (a valid WAV made by libsndfile directly). */
	char path[] = "/tmp/dc_test_media_XXXXXX";
	close(mkstemp(path));
	SF_INFO info = { 0 };
	info.samplerate = 8000;
	info.channels = 1;
	info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
	CHECK(sf != NULL);
	sf_close(sf);
	f = fopen(path, "rb");
	CHECK_EQ_INT(dc_audio_read(f, &au), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "no audio frames") != NULL);
	fclose(f);
	unlink(path);

	/* Writer argument checks. */
	float one = 0;
	struct dc_audio a1 = { 8000, 1, 1, &one, 0 };
	f = tmpfile();
	CHECK_EQ_INT(dc_audio_write(f, &a1, "mp4", 0), DC_EINVAL);
	CHECK_EQ_INT(dc_audio_write(f, &a1, "flac", SF_FORMAT_FLOAT), DC_EINVAL);
	a1.frames = 0;
	CHECK_EQ_INT(dc_audio_write(f, &a1, "wav", 0), DC_EINVAL);
	a1.frames = 1;
	a1.channels = 0;
	CHECK_EQ_INT(dc_audio_write(f, &a1, "wav", 0), DC_EINVAL);
	fclose(f);
}

/* ---- CSV ---------------------------------------------------------------------- */

static enum dc_status csv_from(const char *text, struct dc_csv *csv)
{
	FILE *f = mem_file(text, strlen(text));
	enum dc_status st = dc_csv_read(f, csv);
	fclose(f);
	return st;
}

TEST(csv_date_index)
{
	struct dc_csv c;
	CHECK_EQ_INT(csv_from("Date,a,b\n2016-07-01 00:00:00,1.5,-2\n2016-07-01 01:00:00,3,4e3\n", &c),
	             DC_OK);
	CHECK_EQ_INT(c.rows, 2);
	CHECK_EQ_INT(c.cols, 2);
	CHECK(c.index_name && !strcmp(c.index_name, "Date"));
	CHECK(c.index && !strcmp(c.index[1], "2016-07-01 01:00:00"));
	CHECK(c.colnames && !strcmp(c.colnames[0], "a") && !strcmp(c.colnames[1], "b"));
	double want[4] = { 1.5, -2, 3, 4000 };
	if (c.values)
		CHECK_CLOSE(c.values, want, 4, 0, 0);
	dc_csv_release(&c);
	CHECK(c.values == NULL && c.index == NULL);

	/* "date" header with numeric-looking values is still an index. */
	CHECK_EQ_INT(csv_from("date,x\n1,2\n3,4\n", &c), DC_OK);
	CHECK(c.index && c.cols == 1 && !strcmp(c.index[0], "1"));
	dc_csv_release(&c);
}

TEST(csv_numeric_and_string_first_column)
{
	struct dc_csv c;
	CHECK_EQ_INT(csv_from("t,x\n0,10\n1,11\n2,\n", &c), DC_OK);
	CHECK(c.index == NULL && c.index_name == NULL);
	CHECK_EQ_INT(c.cols, 2);
	CHECK_EQ_INT(c.rows, 3);
	if (c.values) {
		CHECK(c.values[0] == 0 && c.values[1] == 10 && c.values[4] == 2);
		CHECK(isnan(c.values[5]));
	}
	dc_csv_release(&c);

	/* Non-numeric first column (even when the first rows are numbers). */
	CHECK_EQ_INT(csv_from("name,v\n12,1\nbob,2\n", &c), DC_OK);
	CHECK(c.index && c.index_name && !strcmp(c.index_name, "name"));
	CHECK(c.index && !strcmp(c.index[0], "12") && !strcmp(c.index[1], "bob"));
	CHECK_EQ_INT(c.cols, 1);
	dc_csv_release(&c);

	/* Header only: a valid empty table. */
	CHECK_EQ_INT(csv_from("a,b\n", &c), DC_OK);
	CHECK_EQ_INT(c.rows, 0);
	CHECK_EQ_INT(c.cols, 2);
	dc_csv_release(&c);
}

TEST(csv_quotes_crlf_nan)
{
	struct dc_csv c;
	const char *t = "\xEF\xBB\xBF" "date,\"a,b\",\"say \"\"hi\"\"\"\r\n"
	                "\"2020-01-01\",\" 1.25 \",\r\n"
	                "\r\n"
	                "\"multi\nline\",,\"-inf\"\r\n";
	CHECK_EQ_INT(csv_from(t, &c), DC_OK);
	CHECK_EQ_INT(c.rows, 2);
	CHECK_EQ_INT(c.cols, 2);
	CHECK(c.index_name && !strcmp(c.index_name, "date"));
	CHECK(c.colnames && !strcmp(c.colnames[0], "a,b") && !strcmp(c.colnames[1], "say \"hi\""));
	CHECK(c.index && !strcmp(c.index[0], "2020-01-01") && !strcmp(c.index[1], "multi\nline"));
	if (c.values) {
		CHECK(c.values[0] == 1.25);
		CHECK(isnan(c.values[1]) && isnan(c.values[2]));
		CHECK(isinf(c.values[3]) && c.values[3] < 0);
	}
	dc_csv_release(&c);
	/* blanks around header names; pandas' missing-value markers */
	CHECK_EQ_INT(csv_from("date, a ,\tb\n2020-01-01,NA,null\n2020-01-02,N/A,None\n"
	                      "2020-01-03,#N/A,<NA>\n2020-01-04, NULL ,nan\n2020-01-05,NAN,3\n", &c),
	             DC_OK);
	CHECK(c.colnames && !strcmp(c.colnames[0], "a") && !strcmp(c.colnames[1], "b"));
	if (c.values) {
		int nan = 1;
		for (int k = 0; k < 8; k++)
			nan &= isnan(c.values[k]);
		CHECK(nan);
		CHECK(isnan(c.values[8]) && c.values[9] == 3);
	}
	dc_csv_release(&c);
	CHECK_EQ_INT(csv_from("a,b\n1,Na\n", &c), DC_EFORMAT);
	CHECK_EQ_INT(csv_from("a,b\n1,NA NA\n", &c), DC_EFORMAT);
}

TEST(csv_errors)
{
	struct dc_csv c;
	CHECK_EQ_INT(csv_from("a,b\n1,2\n3\n", &c), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "line 3") != NULL);
	CHECK(c.values == NULL && c.colnames == NULL);
	CHECK_EQ_INT(csv_from("a,b\n1,2\n\n4,5,6\n", &c), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "line 4") != NULL);
	CHECK_EQ_INT(csv_from("a,b\n1,x2\n", &c), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "line 2") && strstr(dc_errmsg(), "'b'"));
	CHECK_EQ_INT(csv_from("", &c), DC_EFORMAT);
	CHECK_EQ_INT(csv_from("a,b\n\"1,2\n", &c), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "unterminated") != NULL);
	CHECK_EQ_INT(csv_from("a,b\n1\"x\",2\n", &c), DC_EFORMAT);
	FILE *nul = mem_file("a,b\n1,\0\n", 8);
	CHECK_EQ_INT(dc_csv_read(nul, &c), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "NUL") != NULL);
	fclose(nul);
	/* Over the column limit. */
	size_t n = (size_t)DC_CSV_MAX_COLS + 5;
	char *wide = malloc(2 * n + 2);
	for (size_t i = 0; i < n; i++) {
		wide[2 * i] = 'x';
		wide[2 * i + 1] = ',';
	}
	wide[2 * n - 1] = '\n';
	wide[2 * n] = 0;
	CHECK_EQ_INT(csv_from(wide, &c), DC_ELIMIT);
	free(wide);
}

TEST(csv_write_roundtrip)
{
	enum { R = 50, C = 3 };
	double v[R * C];
	for (int i = 0; i < R * C; i++) {
		union { uint64_t u; double d; } b;
		b.u = (uint64_t)lcg() << 40 ^ (uint64_t)lcg() << 20 ^ lcg();
		v[i] = isnan(b.d) ? 0.1 * i : b.d;
	}
	v[0] = -0.0;
	v[1] = 5e-324;
	v[2] = INFINITY;
	v[3] = NAN;
	v[4] = 1.0 / 3;
	char *names[C] = { "a", "b,c", "d\"e" };
	char *index[R];
	char ibuf[R][24];
	for (int i = 0; i < R; i++) {
		dc_format_timestamp((int64_t)i * 3600, ibuf[i]);
		index[i] = ibuf[i];
	}
	struct dc_csv c = { R, C, names, "date", index, v }, back;
	FILE *f = tmpfile();
	CHECK_EQ_INT(dc_csv_write(f, &c, NULL), DC_OK);
	rewind(f);
	CHECK_EQ_INT(dc_csv_read(f, &back), DC_OK);
	fclose(f);
	CHECK_EQ_INT(back.rows, R);
	CHECK_EQ_INT(back.cols, C);
	int bad = 0;
	for (int i = 0; back.values && i < R * C; i++)
		bad += isnan(v[i]) ? !isnan(back.values[i]) : memcmp(&v[i], &back.values[i], 8) != 0;
	CHECK_EQ_INT(bad, 0);
	CHECK(back.colnames && !strcmp(back.colnames[1], "b,c") && !strcmp(back.colnames[2], "d\"e"));
	CHECK(back.index && !strcmp(back.index[49], "1970-01-03 01:00:00"));
	dc_csv_release(&back);

	/* Caller's format; bad formats refused. */
	double w[2] = { 1.23456, 2 };
	char *n1[2] = { "x", "y" };
	struct dc_csv c2 = { 1, 2, n1, NULL, NULL, w };
	f = tmpfile();
	CHECK_EQ_INT(dc_csv_write(f, &c2, "%.2f"), DC_OK);
	size_t len;
	unsigned char *b = slurp(f, &len);
	CHECK(len == 14 && !memcmp(b, "x,y\n1.23,2.00\n", 14));
	free(b);
	CHECK_EQ_INT(dc_csv_write(f, &c2, "%s"), DC_EINVAL);
	CHECK_EQ_INT(dc_csv_write(f, &c2, "%f %f"), DC_EINVAL);
	CHECK_EQ_INT(dc_csv_write(f, &c2, "%n"), DC_EINVAL);
	fclose(f);

	/* One column of NaN must not turn into blank (skipped) lines. */
	double one[2] = { NAN, 1 };
	char *n2[1] = { "" };
	struct dc_csv c3 = { 2, 1, n2, NULL, NULL, one };
	f = tmpfile();
	CHECK_EQ_INT(dc_csv_write(f, &c3, NULL), DC_OK);
	rewind(f);
	CHECK_EQ_INT(dc_csv_read(f, &back), DC_OK);
	CHECK_EQ_INT(back.rows, 2);
	CHECK(back.values && isnan(back.values[0]) && back.values[1] == 1);
	dc_csv_release(&back);
	fclose(f);
}

TEST(timestamps)
{
	int64_t t = 123;
	char buf[20];
	CHECK_EQ_INT(dc_parse_timestamp("1970-01-01", &t), 0);
	CHECK_EQ_INT(t, 0);
	CHECK_EQ_INT(dc_parse_timestamp("1970-01-01 00:00:00", &t), 0);
	CHECK_EQ_INT(t, 0);
	CHECK_EQ_INT(dc_parse_timestamp("2016-07-01 00:00:00", &t), 0);
	CHECK_EQ_INT(t, 1467331200);
	CHECK_EQ_INT(dc_parse_timestamp("2018-06-26T19:00", &t), 0);
	CHECK_EQ_INT(t, 1530039600);
	CHECK_EQ_INT(dc_parse_timestamp("1600-02-29 12:34:56", &t), 0);
	CHECK_EQ_INT(t, -11670953104LL);
	CHECK_EQ_INT(dc_parse_timestamp("1969-12-31 23:59:59", &t), 0);
	CHECK_EQ_INT(t, -1);
	CHECK_EQ_INT(dc_parse_timestamp("1990/1/2 0:00", &t), 0);
	CHECK_EQ_INT(t, 631238400);
	CHECK_EQ_INT(dc_parse_timestamp("2000-02-29", &t), 0);
	CHECK_EQ_INT(dc_parse_timestamp("1900-02-29", &t), -1);
	CHECK_EQ_INT(dc_parse_timestamp("2001-02-29", &t), -1);
	CHECK_EQ_INT(dc_parse_timestamp("2001-13-01", &t), -1);
	CHECK_EQ_INT(dc_parse_timestamp("2001-04-31", &t), -1);
	CHECK_EQ_INT(dc_parse_timestamp("2001-01-01 24:00", &t), -1);
	CHECK_EQ_INT(dc_parse_timestamp("2001-01-01 10", &t), -1);
	CHECK_EQ_INT(dc_parse_timestamp("2001-01-01x", &t), -1);
	CHECK_EQ_INT(dc_parse_timestamp("01-01-2001", &t), -1);
	CHECK_EQ_INT(dc_parse_timestamp("", &t), -1);

	dc_format_timestamp(0, buf);
	CHECK(!strcmp(buf, "1970-01-01 00:00:00"));
	dc_format_timestamp(-1, buf);
	CHECK(!strcmp(buf, "1969-12-31 23:59:59"));
	dc_format_timestamp(951782400, buf);
	CHECK(!strcmp(buf, "2000-02-29 00:00:00"));
	dc_format_timestamp(253402300799LL, buf);
	CHECK(!strcmp(buf, "9999-12-31 23:59:59"));
	dc_format_timestamp(INT64_MAX, buf);
	CHECK(!strcmp(buf, "9999-12-31 23:59:59"));

	/* Another timestamp's layout */
	char lk[DC_TIMESTAMP_MAX];
	static const struct { const char *like; int64_t t; const char *want; } L[] = {
		{ "2016-07-01 00:00:00", 1467334800, "2016-07-01 01:00:00" },
		{ "2018-06-26T19:00", 1467334800, "2016-07-01T01:00" },
		{ "2018-06-26T19:00:00Z", 1467334800, "2016-07-01T01:00:00Z" },
		{ "2018-06-26T19:00:00.250Z", 1467334800, "2016-07-01T01:00:00Z" },
		{ "1990/1/2 0:00", 1467334800, "2016/07/01 01:00" },
		{ "2000-02-29", 1467331200, "2016-07-01" },
		{ " 2000/02/29\r", 1467331200, "2016/07/01" },
		{ "2000-02-29", 1467334800, "2016-07-01 01:00:00" },  /* a time a date-only layout cannot show */
		{ "2018-06-26T19:00", 1467334805, "2016-07-01T01:00:05" }, /* seconds a minutes layout cannot */
		{ "2018-06-26T19:00Z", 1467334805, "2016-07-01T01:00:05Z" },
		{ "not a date", 1467334800, "2016-07-01 01:00:00" },
		{ "", 1467334800, "2016-07-01 01:00:00" },
		{ NULL, 1467334800, "2016-07-01 01:00:00" },
		{ "2000-02-29 00:00", -60, "1969-12-31 23:59" },
		{ "2000-02-29 00:00:00Z", INT64_MAX, "9999-12-31 23:59:59Z" },
	};
	for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
		memset(lk, 'x', sizeof lk);
		dc_format_timestamp_like(L[i].t, L[i].like, lk);
		if (strcmp(lk, L[i].want))
			fprintf(stderr, "  like '%s': got '%s', want '%s'\n", L[i].like ? L[i].like : "(null)", lk,
			        L[i].want);
		CHECK(!strcmp(lk, L[i].want));
	}

	/* Round trip over ~1000 years in irregular steps (hits leap days). */
	int bad = 0;
	for (int64_t s = -11670953104LL; s < 20000000000LL; s += 86400 * 37 + 3607) {
		int64_t back;
		dc_format_timestamp(s, buf);
		if (dc_parse_timestamp(buf, &back) != 0 || back != s)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

TEST(csv_real_datasets)
{
	const char *top = getenv("DC_TOP");
	char path[1024];
	snprintf(path, sizeof path, "%s/../shared/data/ts/ETTh1.csv", top ? top : ".");
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("# skip csv_real_datasets: %s not present\n", path);
		return;
	}
	struct dc_csv c;
	double t0 = dc_time();
	CHECK_EQ_INT(dc_csv_read(f, &c), DC_OK);
	double dt = dc_time() - t0;
	fclose(f);
	CHECK_EQ_INT(c.rows, 17420);
	CHECK_EQ_INT(c.cols, 7);
	CHECK(c.index_name && !strcmp(c.index_name, "date"));
	CHECK(c.colnames && !strcmp(c.colnames[6], "OT"));
	CHECK(c.index && !strcmp(c.index[c.rows - 1], "2018-06-26 19:00:00"));
	if (c.values && c.rows == 17420)
		CHECK(c.values[0] == 5.827000141143799 && c.values[17419 * 7 + 6] == 9.56700038909912);
	int64_t t1, t2;
	CHECK(c.index && dc_parse_timestamp(c.index[0], &t1) == 0 &&
	      dc_parse_timestamp(c.index[1], &t2) == 0 && t2 - t1 == 3600);
	printf("# ETTh1.csv: %zu x %zu read in %.1f ms\n", c.rows, c.cols, dt * 1e3);
	dc_csv_release(&c);

	snprintf(path, sizeof path, "%s/../shared/data/ts/exchange_rate.csv", top ? top : ".");
	f = fopen(path, "rb");
	if (f) {
		CHECK_EQ_INT(dc_csv_read(f, &c), DC_OK);
		CHECK_EQ_INT(c.rows, 7588);
		CHECK_EQ_INT(c.cols, 8);
		int64_t t;
		CHECK(c.index && dc_parse_timestamp(c.index[7587], &t) == 0);
		dc_csv_release(&c);
		fclose(f);
	}
}

int main(void)
{
	RUN(png_roundtrip_all_layouts);
	RUN(png_16bit_is_native_endian);
	RUN(png_palette_and_trns);
	RUN(png_low_bit_depth_gray);
	RUN(png_gray_and_rgb16_trns);
	RUN(png_interlaced);
	RUN(png_from_pipe);
	RUN(png_bad_inputs);
	RUN(png_large_incremental);
	RUN(png_write_invalid);
	RUN(audio_wav_roundtrips);
	RUN(audio_flac_roundtrips);
	RUN(audio_pcm16_scaling_and_clipping);
	RUN(audio_ogg);
	RUN(audio_pipes);
	RUN(audio_bad_inputs);
	RUN(csv_date_index);
	RUN(csv_numeric_and_string_first_column);
	RUN(csv_quotes_crlf_nan);
	RUN(csv_errors);
	RUN(csv_write_roundtrip);
	RUN(timestamps);
	RUN(csv_real_datasets);
	return test_summary();
}
