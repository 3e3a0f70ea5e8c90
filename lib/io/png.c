/*
 * png.c - PNG images through libpng: read any colour type and bit depth,
 * write 8/16-bit gray, gray+alpha, RGB and RGBA with tEXt chunks.
 *
 * Byte layout of a PNG file: the 8-byte signature 89 50 4E 47 0D 0A 1A 0A,
 * then chunks of (uint32 BE length, 4-byte type, data, uint32 BE CRC-32 of
 * type+data).  The first chunk is IHDR (13 bytes: width, height as uint32 BE,
 * bit depth, colour type, compression, filter, interlace); pixel data is the
 * zlib stream in the IDAT chunks; IEND closes the file.
 *
 * The reader takes its bytes through fread() only, so pipes work.  It reads
 * the signature and IHDR itself first and checks the dimensions against
 * DC_IMAGE_MAX_DIM / DC_IMAGE_MAX_PIXELS before libpng allocates anything;
 * libpng's own user limits and chunk cache/malloc limits are set as a
 * second line of defence.  Above 64 MiB, non-interlaced pixel buffers grow
 * with the rows actually decoded rather than with the size IHDR claims.  libpng errors arrive via longjmp and become a
 * dc_fail() message; libpng warnings are dropped (the library never prints).
 * In memory, images are interleaved HWC with 8-bit samples as uint8_t and
 * 16-bit samples as native-endian uint16_t.
 */
#include "media.h"

#include <png.h>
#include <setjmp.h>
#include <string.h>

/* Longest chunk libpng may allocate for ancillary data (text, iCCP, ...). */
#define PNG_CHUNK_MALLOC_MAX (8u << 20)
/* Most ancillary chunks (sPLT, tEXt, ...) kept in memory. */
#define PNG_CHUNK_CACHE_MAX 256
/* Images up to this size are allocated in one go before decoding. */
#define PNG_EAGER_BYTES (64u << 20)

struct png_ctx {
	FILE *fp;
	/* Bytes already read by us (signature + IHDR) that libpng reads first. */
	unsigned char pre[33];
	size_t pre_len, pre_pos;
	/* Chunk tracking over the byte stream (see track_chunks). */
	uint64_t consumed;
	uint64_t skip;             /* data + CRC bytes left in the current chunk */
	unsigned char hdr[8];
	int hdr_len;
	enum dc_status status;     /* set before png_error() by our callbacks */
	char msg[200];
	/* Owned allocations, freed by the caller on error. */
	unsigned char *data;
	png_bytep *rows;
};

static void png_ctx_error(png_structp png, png_const_charp msg)
{
	struct png_ctx *c = png_get_error_ptr(png);
	if (c && c->status == DC_OK) {
		c->status = DC_EFORMAT;
		snprintf(c->msg, sizeof c->msg, "corrupt PNG: %s", msg);
	}
	png_longjmp(png, 1);
}

static void png_ctx_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/*
 * Follow the chunk structure of the bytes handed to libpng and refuse any
 * non-IDAT chunk longer than PNG_CHUNK_MALLOC_MAX as soon as its 8-byte
 * header passes: libpng allocates ancillary chunk buffers from the declared
 * length before reading them, and some versions do so before applying
 * png_set_chunk_malloc_max.
 */
static void track_chunks(struct png_ctx *c, png_structp png, const unsigned char *p, size_t n)
{
	while (n > 0) {
		if (c->consumed < 8) {   /* signature */
			size_t t = (size_t)(8 - c->consumed) < n ? (size_t)(8 - c->consumed) : n;
			c->consumed += t;
			p += t;
			n -= t;
			continue;
		}
		if (c->skip > 0) {
			size_t t = c->skip < n ? (size_t)c->skip : n;
			c->skip -= t;
			c->consumed += t;
			p += t;
			n -= t;
			continue;
		}
		c->hdr[c->hdr_len++] = *p++;
		n--;
		c->consumed++;
		if (c->hdr_len < 8)
			continue;
		c->hdr_len = 0;
		uint32_t len = (uint32_t)c->hdr[0] << 24 | (uint32_t)c->hdr[1] << 16 |
		               (uint32_t)c->hdr[2] << 8 | c->hdr[3];
		if (memcmp(c->hdr + 4, "IDAT", 4) != 0 && len > PNG_CHUNK_MALLOC_MAX) {
			c->status = DC_ELIMIT;
			char name[5];
			for (int i = 0; i < 4; i++) {
				unsigned char ch = c->hdr[4 + i];
				name[i] = (char)((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ? ch : '?');
			}
			name[4] = 0;
			snprintf(c->msg, sizeof c->msg, "PNG chunk '%s' too large (%lu bytes)", name,
			         (unsigned long)len);
			png_error(png, c->msg);
		}
		c->skip = (uint64_t)len + 4;
	}
}

static void png_ctx_read(png_structp png, png_bytep out, size_t len)
{
	struct png_ctx *c = png_get_io_ptr(png);
	size_t got = 0;
	if (c->pre_pos < c->pre_len) {
		size_t n = c->pre_len - c->pre_pos;
		if (n > len)
			n = len;
		memcpy(out, c->pre + c->pre_pos, n);
		c->pre_pos += n;
		got = n;
	}
	if (got < len)
		got += fread(out + got, 1, len - got, c->fp);
	if (got < len) {
		if (ferror(c->fp)) {
			c->status = DC_EIO;
			snprintf(c->msg, sizeof c->msg, "read error");
		} else {
			c->status = DC_ETRUNC;
			snprintf(c->msg, sizeof c->msg, "truncated PNG data");
		}
		png_error(png, c->msg);
	}
	track_chunks(c, png, out, len);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int host_is_little_endian(void)
{
	const uint16_t one = 1;
	return *(const unsigned char *)&one == 1;
}

/* Read the signature and IHDR, checking magic and size limits. */
static enum dc_status png_read_head(struct png_ctx *c)
{
	size_t n = fread(c->pre, 1, 8, c->fp);
	if (n < 8) {
		if (ferror(c->fp))
			return dc_fail(DC_EIO, "read error");
		if (n == 0)
			return dc_fail(DC_EFORMAT, "not a PNG file (empty input)");
		if (png_sig_cmp(c->pre, 0, n) != 0)
			return dc_fail(DC_EFORMAT, "not a PNG file");
		return dc_fail(DC_ETRUNC, "truncated PNG data");
	}
	if (png_sig_cmp(c->pre, 0, 8) != 0)
		return dc_fail(DC_EFORMAT, "not a PNG file");
	/* IHDR: length(4) "IHDR"(4) data(13) CRC(4). */
	n = fread(c->pre + 8, 1, 25, c->fp);
	c->pre_len = 8 + n;
	if (n < 25) {
		if (ferror(c->fp))
			return dc_fail(DC_EIO, "read error");
		return dc_fail(DC_ETRUNC, "truncated PNG data");
	}
	if (be32(c->pre + 8) != 13 || memcmp(c->pre + 12, "IHDR", 4) != 0)
		return dc_fail(DC_EFORMAT, "corrupt PNG: IHDR is not the first chunk");
	uint32_t w = be32(c->pre + 16), h = be32(c->pre + 20);
	if (w == 0 || h == 0 || w > 0x7fffffffu || h > 0x7fffffffu)
		return dc_fail(DC_EFORMAT, "corrupt PNG: invalid image size %lux%lu",
		               (unsigned long)w, (unsigned long)h);
	if (w > DC_IMAGE_MAX_DIM || h > DC_IMAGE_MAX_DIM ||
	    (uint64_t)w * h > DC_IMAGE_MAX_PIXELS)
		return dc_fail(DC_ELIMIT, "image too large (%lux%lu)", (unsigned long)w,
		               (unsigned long)h);
	return DC_OK;
}

static void png_oom(struct png_ctx *c, png_structp png, size_t total, png_uint_32 w, png_uint_32 h)
{
	c->status = DC_ENOMEM;
	snprintf(c->msg, sizeof c->msg, "cannot allocate %zu bytes for a %lux%lu image", total,
	         (unsigned long)w, (unsigned long)h);
	png_error(png, c->msg);
}

/*
 * The libpng part of the reader.  Kept in its own function with every
 * resource reachable from `c`, so nothing here depends on locals surviving
 * the longjmp.
 */
static int png_decode(struct png_ctx *c, png_structp png, png_infop info, struct dc_image *img)
{
	if (setjmp(png_jmpbuf(png)))
		return -1;
	png_set_read_fn(png, c, png_ctx_read);
	png_set_user_limits(png, DC_IMAGE_MAX_DIM, DC_IMAGE_MAX_DIM);
	png_set_chunk_cache_max(png, PNG_CHUNK_CACHE_MAX);
	png_set_chunk_malloc_max(png, PNG_CHUNK_MALLOC_MAX);
	/* We verify CRCs of critical chunks (default) and ignore broken
	 * ancillary chunks rather than failing on a bad tEXt. */
	png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_WARN_DISCARD);
	png_read_info(png, info);

	png_uint_32 w, h;
	int bit_depth, color_type, interlace;
	png_get_IHDR(png, info, &w, &h, &bit_depth, &color_type, &interlace, NULL, NULL);
	/* Palette -> RGB, gray 1/2/4 -> 8, tRNS -> alpha. */
	png_set_expand(png);
	if (bit_depth == 16 && host_is_little_endian())
		png_set_swap(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);

	int channels = png_get_channels(png, info);
	int depth = png_get_bit_depth(png, info);
	if ((depth != 8 && depth != 16) || channels < 1 || channels > 4)
		png_error(png, "unexpected pixel layout after expansion");
	size_t rowbytes = png_get_rowbytes(png, info), want, total;
	if (dc_mul_size((size_t)w, (size_t)channels * (size_t)(depth / 8), &want) || rowbytes != want ||
	    dc_mul_size(rowbytes, h, &total)) {
		c->status = DC_EOVERFLOW;
		snprintf(c->msg, sizeof c->msg, "image size overflows");
		png_error(png, c->msg);
	}
	/*
	 * Interlaced images need the whole buffer at once.  Otherwise, past
	 * PNG_EAGER_BYTES the buffer grows with the rows actually decoded, so
	 * a small hostile file claiming a huge image cannot make us commit
	 * memory its data does not fill (zlib expands at most ~1032:1).
	 */
	size_t cap_rows = h;
	if (interlace == PNG_INTERLACE_NONE && total > PNG_EAGER_BYTES)
		cap_rows = PNG_EAGER_BYTES / rowbytes ? PNG_EAGER_BYTES / rowbytes : 1;
	c->data = dc_alloc(cap_rows * rowbytes);
	if (!c->data)
		png_oom(c, png, total, w, h);
	if (interlace != PNG_INTERLACE_NONE) {
		c->rows = dc_alloc((size_t)h * sizeof *c->rows);
		if (!c->rows)
			png_oom(c, png, total, w, h);
		for (png_uint_32 y = 0; y < h; y++)
			c->rows[y] = c->data + (size_t)y * rowbytes;
		png_read_image(png, c->rows);
	} else {
		for (png_uint_32 y = 0; y < h; y++) {
			if (y == cap_rows) {
				size_t ncap = cap_rows * 2 < h ? cap_rows * 2 : h;
				unsigned char *p = dc_alloc(ncap * rowbytes);
				if (!p)
					png_oom(c, png, total, w, h);
				memcpy(p, c->data, cap_rows * rowbytes);
				dc_free(c->data);
				c->data = p;
				cap_rows = ncap;
			}
			png_read_row(png, c->data + (size_t)y * rowbytes, NULL);
		}
	}
	/* Reads the chunks after IDAT up to IEND, so a truncated tail fails. */
	png_read_end(png, NULL);

	img->width = (int)w;
	img->height = (int)h;
	img->channels = channels;
	img->depth = depth;
	return 0;
}

enum dc_status dc_png_read(FILE *fp, struct dc_image *img)
{
	memset(img, 0, sizeof *img);
	struct png_ctx c;
	memset(&c, 0, sizeof c);
	c.fp = fp;
	c.status = DC_OK;
	enum dc_status st = png_read_head(&c);
	if (st != DC_OK)
		return st;

	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_ctx_error,
	                                         png_ctx_warning);
	if (!png)
		return dc_fail(DC_ENOMEM, "cannot create PNG reader");
	png_infop info = png_create_info_struct(png);
	if (!info) {
		png_destroy_read_struct(&png, NULL, NULL);
		return dc_fail(DC_ENOMEM, "cannot create PNG reader");
	}
	int rc = png_decode(&c, png, info, img);
	png_destroy_read_struct(&png, &info, NULL);
	dc_free(c.rows);
	if (rc != 0) {
		dc_free(c.data);
		memset(img, 0, sizeof *img);
		return dc_fail(c.status != DC_OK ? c.status : DC_EFORMAT, "%s",
		               c.msg[0] ? c.msg : "corrupt PNG");
	}
	img->data = c.data;
	return DC_OK;
}

/* ---- writer ----------------------------------------------------------------- */

struct png_wctx {
	FILE *fp;
	enum dc_status status;
	char msg[200];
};

static void png_wctx_error(png_structp png, png_const_charp msg)
{
	struct png_wctx *c = png_get_error_ptr(png);
	if (c && c->status == DC_OK) {
		c->status = DC_EINVAL;
		snprintf(c->msg, sizeof c->msg, "cannot write PNG: %s", msg);
	}
	png_longjmp(png, 1);
}

static void png_wctx_write(png_structp png, png_bytep data, size_t len)
{
	struct png_wctx *c = png_get_io_ptr(png);
	if (fwrite(data, 1, len, c->fp) != len) {
		c->status = DC_EIO;
		snprintf(c->msg, sizeof c->msg, "write error");
		png_error(png, c->msg);
	}
}

static void png_wctx_flush(png_structp png)
{
	(void)png;
}

/* A tEXt keyword: 1-79 Latin-1 printable bytes, no leading, trailing or
 * doubled spaces. */
static int valid_keyword(const char *k)
{
	size_t n = strlen(k);
	if (n < 1 || n > 79 || k[0] == ' ' || k[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)k[i];
		if (!((ch >= 32 && ch <= 126) || ch >= 161))
			return 0;
		if (ch == ' ' && k[i + 1] == ' ')
			return 0;
	}
	return 1;
}

static int png_encode(struct png_wctx *c, png_structp png, png_infop info,
                      const struct dc_image *img, png_textp texts, int ntext)
{
	if (setjmp(png_jmpbuf(png)))
		return -1;
	static const int types[5] = { 0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
	                              PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA };
	png_set_write_fn(png, c, png_wctx_write, png_wctx_flush);
	png_set_user_limits(png, DC_IMAGE_MAX_DIM, DC_IMAGE_MAX_DIM);
	png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, img->depth,
	             types[img->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
	             PNG_FILTER_TYPE_DEFAULT);
	if (ntext > 0)
		png_set_text(png, info, texts, ntext);
	png_write_info(png, info);
	if (img->depth == 16 && host_is_little_endian())
		png_set_swap(png);
	size_t rowbytes = (size_t)img->width * (size_t)img->channels * (size_t)(img->depth / 8);
	const unsigned char *p = img->data;
	for (int y = 0; y < img->height; y++)
		png_write_row(png, (png_const_bytep)(p + (size_t)y * rowbytes));
	png_write_end(png, info);
	return 0;
}

enum dc_status dc_png_write(FILE *fp, const struct dc_image *img, const char *const *text)
{
	if (!img || !img->data)
		return dc_fail(DC_EINVAL, "no image data");
	if (img->channels < 1 || img->channels > 4)
		return dc_fail(DC_EINVAL, "cannot write a PNG with %d channels", img->channels);
	if (img->depth != 8 && img->depth != 16)
		return dc_fail(DC_EINVAL, "cannot write a PNG with bit depth %d", img->depth);
	if (img->width < 1 || img->height < 1 || img->width > DC_IMAGE_MAX_DIM ||
	    img->height > DC_IMAGE_MAX_DIM ||
	    (uint64_t)img->width * (uint64_t)img->height > DC_IMAGE_MAX_PIXELS)
		return dc_fail(DC_EINVAL, "invalid image size %dx%d", img->width, img->height);

	int ntext = 0;
	if (text) {
		while (text[ntext]) {
			if (!text[ntext + 1])
				return dc_fail(DC_EINVAL, "PNG text key '%s' has no value", text[ntext]);
			if (!valid_keyword(text[ntext]))
				return dc_fail(DC_EINVAL, "invalid PNG text key '%s'", text[ntext]);
			ntext += 2;
			if (ntext > 2 * 4096)
				return dc_fail(DC_EINVAL, "too many PNG text entries");
		}
		ntext /= 2;
	}
	png_textp texts = NULL;
	if (ntext > 0) {
		texts = dc_calloc((size_t)ntext, sizeof *texts);
		if (!texts)
			return dc_fail(DC_ENOMEM, "cannot allocate PNG text");
		for (int i = 0; i < ntext; i++) {
			const char *v = text[2 * i + 1];
			int ascii = 1;
			for (const unsigned char *q = (const unsigned char *)v; *q; q++)
				ascii &= *q < 0x80;
			texts[i].key = (png_charp)text[2 * i];
			texts[i].text = (png_charp)v;
			if (ascii) {
				texts[i].compression = PNG_TEXT_COMPRESSION_NONE;
				texts[i].text_length = strlen(v);
			} else {
				/* tEXt is Latin-1: UTF-8 values go in an iTXt chunk */
				texts[i].compression = PNG_ITXT_COMPRESSION_NONE;
				texts[i].itxt_length = strlen(v);
				texts[i].lang = (png_charp)"";
				texts[i].lang_key = (png_charp)"";
			}
		}
	}

	struct png_wctx c;
	memset(&c, 0, sizeof c);
	c.fp = fp;
	c.status = DC_OK;
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, png_wctx_error,
	                                          png_ctx_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		dc_free(texts);
		return dc_fail(DC_ENOMEM, "cannot create PNG writer");
	}
	int rc = png_encode(&c, png, info, img, texts, ntext);
	png_destroy_write_struct(&png, &info);
	dc_free(texts);
	if (rc != 0)
		return dc_fail(c.status != DC_OK ? c.status : DC_EIO, "%s",
		               c.msg[0] ? c.msg : "cannot write PNG");
	if (fflush(fp) != 0 || ferror(fp))
		return dc_fail(DC_EIO, "write error");
	return DC_OK;
}

void dc_image_release(struct dc_image *img)
{
	if (!img)
		return;
	dc_free(img->data);
	memset(img, 0, sizeof *img);
}
