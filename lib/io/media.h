/*
 * media.h - PNG images (libpng), audio (libsndfile) and CSV tables.
 *
 * All readers accept a FILE* so that pipes work (no seeking is required:
 * audio from a non-seekable stream is read through libsndfile's virtual I/O
 * with the whole input buffered first).  All functions return a dc_status and
 * set dc_errmsg() on failure; on failure nothing is left allocated.
 */
#ifndef DC_MEDIA_H
#define DC_MEDIA_H

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- PNG ------------------------------------------------------------------ */

/* Hard limits enforced by the readers (before any allocation). */
#define DC_IMAGE_MAX_DIM   32768
#define DC_IMAGE_MAX_PIXELS (1ull << 28)   /* 268M pixels */

/*
 * An image in memory: interleaved HWC, `channels` 1 (gray), 2 (gray+alpha),
 * 3 (RGB) or 4 (RGBA); `depth` 8 (uint8_t samples) or 16 (uint16_t samples,
 * native endianness in memory).  `data` is owned (dc_alloc).
 */
struct dc_image {
	int width, height, channels, depth;
	void *data;
};

/* Read a PNG of any colour type/bit depth. Palette expands to RGB(A),
 * depths 1/2/4 expand to 8, tRNS to alpha; 16-bit stays 16-bit. */
enum dc_status dc_png_read(FILE *fp, struct dc_image *img);
/* Write with the image's channels/depth.  `text` is NULL or a NULL-terminated
 * list of key, value, key, value, ... stored as tEXt chunks (values with
 * bytes >= 0x80 are taken as UTF-8 and stored as uncompressed iTXt). */
enum dc_status dc_png_write(FILE *fp, const struct dc_image *img, const char *const *text);
void dc_image_release(struct dc_image *img);

/* ---- audio ---------------------------------------------------------------- */

#define DC_AUDIO_MAX_CHANNELS 64
#define DC_AUDIO_MAX_FRAMES  (1ull << 32)

/* Interleaved float samples in [-1,1]. `data` is owned (dc_alloc).
 * `subtype` records the source sample format as a libsndfile SF_FORMAT_*
 * subtype value so a round trip can keep it (0 = unknown). */
struct dc_audio {
	int sample_rate, channels;
	size_t frames;
	float *data;
	int subtype;
};

/* Read WAV/FLAC/OGG/... from a file or pipe. */
enum dc_status dc_audio_read(FILE *fp, struct dc_audio *au);
/* Write; `format` is "wav", "flac" or "ogg"; `subtype` as in struct dc_audio
 * (0 = PCM_16 for wav/flac).  Writes to pipes too. */
enum dc_status dc_audio_write(FILE *fp, const struct dc_audio *au, const char *format, int subtype);
void dc_audio_release(struct dc_audio *au);

/* ---- CSV ------------------------------------------------------------------ */

#define DC_CSV_MAX_COLS 65536
#define DC_CSV_MAX_LINE (1u << 24)

/*
 * A numeric table with a header row.  If the first column's header is
 * "date" (any case) or its values are not numeric, it is kept as strings in
 * `index` (e.g. timestamps "2016-07-01 00:00:00") and not part of `values`.
 * values: [rows][cols] row-major doubles; NaN for empty cells and the
 * missing-value markers pandas reads by default (NA, N/A, NULL, null, None,
 * <NA>, #N/A, ...).  Blanks around header names are dropped.
 */
struct dc_csv {
	size_t rows, cols;
	char **colnames;        /* cols entries (value columns only) */
	char *index_name;       /* NULL when there is no index column */
	char **index;           /* rows entries, or NULL */
	double *values;
};

enum dc_status dc_csv_read(FILE *fp, struct dc_csv *csv);
/* Write with a header; doubles printed with %.17g unless `float_fmt` given. */
enum dc_status dc_csv_write(FILE *fp, const struct dc_csv *csv, const char *float_fmt);
void dc_csv_release(struct dc_csv *csv);

/* Parse "YYYY-MM-DD[ HH:MM[:SS]]" (also 'T' separator) to seconds since the
 * Unix epoch (UTC); returns -1 on a malformed timestamp. */
int dc_parse_timestamp(const char *s, int64_t *epoch_seconds);
/* Format seconds since the epoch as "YYYY-MM-DD HH:MM:SS" into buf[20]. */
void dc_format_timestamp(int64_t epoch_seconds, char buf[20]);
/* Format seconds since the epoch in the layout of the timestamp `like` (one
 * that dc_parse_timestamp reads): its date separator ('-' or '/'), date only
 * or with a time after ' ' or 'T', with or without seconds, a trailing 'Z'.
 * Fields are zero-padded and fractional seconds are not written; a time of
 * day the layout cannot show (not midnight for a date-only layout, seconds
 * for a minutes one) is written in full.  An unparseable `like` (or NULL)
 * gives dc_format_timestamp's layout. */
#define DC_TIMESTAMP_MAX 24
void dc_format_timestamp_like(int64_t epoch_seconds, const char *like, char buf[DC_TIMESTAMP_MAX]);

#ifdef __cplusplus
}
#endif
#endif /* DC_MEDIA_H */
