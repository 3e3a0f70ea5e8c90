/*
 * audio.c - audio files through libsndfile (WAV, FLAC, OGG/Vorbis and
 * whatever else the installed libsndfile decodes), from and to a FILE*.
 *
 * libsndfile needs to seek in most formats, and a pipe cannot seek, so the
 * reader first buffers the whole input in memory (at most
 * DC_AUDIO_MAX_INPUT = 4 GiB) and decodes it through sf_open_virtual; the
 * writer encodes into a memory buffer the same way (so a WAV header written
 * to a pipe still carries the right sizes) and then fwrite()s it out.
 *
 * Samples in memory are interleaved floats in [-1,1].  Integer PCM is
 * converted by us through sf_read_int/sf_write_int rather than by
 * libsndfile's float normalisation (whose write scale has differed between
 * releases, 0x7FFF against 0x8000 for reading, making round trips drift
 * near full scale; it also turns NaN into full negative scale): an n-bit
 * sample s reads as s / 2^(n-1), and a float f writes as
 * clip(round_half_even(f * 2^(n-1)), -2^(n-1), 2^(n-1)-1), NaN as 0.
 * Reading and rewriting 8/16/24-bit PCM is byte-exact whatever the
 * libsndfile version.  Other sample formats (float, double, Vorbis, ADPCM,
 * ...) go through libsndfile's float conversion with clipping on.
 *
 * Checks on reading: 1..DC_AUDIO_MAX_CHANNELS channels, a sample rate in
 * 1..DC_AUDIO_MAX_RATE, at least one frame ("no audio frames" otherwise:
 * every consumer needs samples), at most DC_AUDIO_MAX_FRAMES frames, and a
 * WAV whose data chunk claims more bytes than are present, or a file that
 * decodes to fewer frames than its header declares, is "truncated".
 */
#include "media.h"

#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DC_AUDIO_MAX_INPUT (1ull << 32)   /* bytes buffered from the input */
#define DC_AUDIO_MAX_RATE 1536000
#define CHUNK_FRAMES 16384

/* ---- an in-memory file for sf_open_virtual ------------------------------------- */

struct membuf {
	unsigned char *buf;
	size_t len, cap, pos;
	int oom;
};

static sf_count_t mb_filelen(void *u)
{
	return (sf_count_t)((struct membuf *)u)->len;
}

static sf_count_t mb_seek(sf_count_t off, int whence, void *u)
{
	struct membuf *m = u;
	sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (sf_count_t)m->pos
	                                                               : (sf_count_t)m->len;
	if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
		return -1;
	m->pos = (size_t)(base + off);
	return (sf_count_t)m->pos;
}

static sf_count_t mb_read(void *ptr, sf_count_t count, void *u)
{
	struct membuf *m = u;
	if (count <= 0 || m->pos >= m->len)
		return 0;
	size_t n = m->len - m->pos;
	if ((uint64_t)count < n)
		n = (size_t)count;
	memcpy(ptr, m->buf + m->pos, n);
	m->pos += n;
	return (sf_count_t)n;
}

static int mb_reserve(struct membuf *m, size_t need)
{
	if (need <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap : 65536;
	while (cap < need) {
		if (dc_mul_size(cap, 2, &cap))
			return -1;
	}
	unsigned char *p = realloc(m->buf, cap);
	if (!p)
		return -1;
	m->buf = p;
	m->cap = cap;
	return 0;
}

static sf_count_t mb_write(const void *ptr, sf_count_t count, void *u)
{
	struct membuf *m = u;
	size_t end;
	if (count <= 0)
		return 0;
	if (dc_add_size(m->pos, (size_t)count, &end) || mb_reserve(m, end)) {
		m->oom = 1;
		return 0;
	}
	if (m->pos > m->len)   /* a seek past the end leaves a zeroed gap */
		memset(m->buf + m->len, 0, m->pos - m->len);
	memcpy(m->buf + m->pos, ptr, (size_t)count);
	m->pos = end;
	if (end > m->len)
		m->len = end;
	return count;
}

static sf_count_t mb_tell(void *u)
{
	return (sf_count_t)((struct membuf *)u)->pos;
}

static SF_VIRTUAL_IO mb_vio = { mb_filelen, mb_seek, mb_read, mb_write, mb_tell };

/* ---- helpers ----------------------------------------------------------------- */

/* Bits per sample for integer PCM subtypes we convert ourselves; 0 otherwise. */
static int pcm_bits(int subtype)
{
	switch (subtype) {
	case SF_FORMAT_PCM_S8: case SF_FORMAT_PCM_U8: return 8;
	case SF_FORMAT_PCM_16: return 16;
	case SF_FORMAT_PCM_24: return 24;
	case SF_FORMAT_PCM_32: return 32;
	default: return 0;
	}
}

/* libsndfile's message without the trailing full stop, lower-cased first letter. */
static const char *sf_msg(SNDFILE *sf, char *buf, size_t n)
{
	const char *e = sf_strerror(sf);
	if (!strncasecmp(e, "error : ", 8))
		e += 8;
	snprintf(buf, n, "%s", e);
	size_t l = strlen(buf);
	while (l > 0 && (buf[l - 1] == '.' || buf[l - 1] == '\n' || buf[l - 1] == ' '))
		buf[--l] = 0;
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

static uint32_t rd32(const unsigned char *p, int big)
{
	return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
	           : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/*
 * RIFF/RIFX WAVE: does the data chunk claim more bytes than the input holds?
 * libsndfile quietly shortens such files; we call them truncated.  Sizes 0
 * and 0xFFFFFFFF are the "unknown length" placeholders streaming writers use.
 */
static int wav_truncated(const unsigned char *b, size_t len, uint64_t *claimed, uint64_t *present)
{
	if (len < 12 || memcmp(b + 8, "WAVE", 4) != 0)
		return 0;
	int big;
	if (memcmp(b, "RIFF", 4) == 0)
		big = 0;
	else if (memcmp(b, "RIFX", 4) == 0)
		big = 1;
	else
		return 0;
	size_t off = 12;
	while (len - off >= 8) {
		uint32_t sz = rd32(b + off + 4, big);
		if (memcmp(b + off, "data", 4) == 0) {
			if (sz == 0 || sz == 0xFFFFFFFFu)
				return 0;
			*claimed = sz;
			*present = len - off - 8;
			return sz > len - off - 8;
		}
		uint64_t next = (uint64_t)off + 8 + sz + (sz & 1);
		if (next > len)
			return 0;
		off = (size_t)next;
	}
	return 0;
}

/* Read all of fp into a malloc'ed buffer (at most DC_AUDIO_MAX_INPUT bytes). */
static enum dc_status slurp(FILE *fp, struct membuf *m)
{
	memset(m, 0, sizeof *m);
	for (;;) {
		if (m->len == m->cap) {
			/* Double, but never past the cap (+1 byte to detect overrun). */
			size_t cap = m->cap ? m->cap * 2 : 65536;
			if ((uint64_t)cap > DC_AUDIO_MAX_INPUT + 1)
				cap = (size_t)(DC_AUDIO_MAX_INPUT + 1);
			unsigned char *p = realloc(m->buf, cap);
			if (!p) {
				free(m->buf);
				return dc_fail(DC_ENOMEM, "cannot buffer %zu bytes of audio input", cap);
			}
			m->buf = p;
			m->cap = cap;
		}
		size_t want = m->cap - m->len;
		if ((uint64_t)m->len + want > DC_AUDIO_MAX_INPUT)
			want = (size_t)(DC_AUDIO_MAX_INPUT - m->len) + 1;
		size_t got = fread(m->buf + m->len, 1, want, fp);
		m->len += got;
		if (m->len > DC_AUDIO_MAX_INPUT) {
			free(m->buf);
			return dc_fail(DC_ELIMIT, "audio input larger than %llu bytes",
			               (unsigned long long)DC_AUDIO_MAX_INPUT);
		}
		if (got < want) {
			if (ferror(fp)) {
				free(m->buf);
				return dc_fail(DC_EIO, "read error");
			}
			return DC_OK;
		}
	}
}

/* Grow the float buffer of `au` to hold `need` frames (dc_alloc + copy). */
static int grow_frames(struct dc_audio *au, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : CHUNK_FRAMES, bytes;
	while (ncap < need) {
		if (dc_mul_size(ncap, 2, &ncap))
			return -1;
	}
	if (ncap > DC_AUDIO_MAX_FRAMES)
		ncap = need;
	if (dc_mul_size(ncap, (size_t)au->channels * sizeof(float), &bytes))
		return -1;
	float *p = dc_alloc(bytes);
	if (!p)
		return -1;
	if (au->data) {
		memcpy(p, au->data, au->frames * (size_t)au->channels * sizeof(float));
		dc_free(au->data);
	}
	au->data = p;
	*cap = ncap;
	return 0;
}

/* ---- reading ------------------------------------------------------------------ */

static enum dc_status decode(SNDFILE *sf, struct dc_audio *au)
{
	size_t cap = 0;
	int bits = pcm_bits(au->subtype);
	int32_t *ibuf = NULL;
	size_t ch = (size_t)au->channels;
	if (bits) {
		ibuf = malloc(CHUNK_FRAMES * ch * sizeof *ibuf);
		if (!ibuf)
			return dc_fail(DC_ENOMEM, "cannot allocate audio buffer");
	}
	/* au->frames carries the header's frame count when plausible (see
	 * dc_audio_read); one spare frame lets the final read see end of file
	 * without growing the buffer. */
	size_t first = au->frames ? au->frames + 1 : CHUNK_FRAMES;
	au->frames = 0;
	if (grow_frames(au, &cap, first)) {
		free(ibuf);
		return dc_fail(DC_ENOMEM, "cannot allocate audio buffer for %zu frames", first);
	}
	for (;;) {
		if (au->frames == cap) {
			if (au->frames >= DC_AUDIO_MAX_FRAMES) {
				free(ibuf);
				return dc_fail(DC_ELIMIT, "audio longer than %llu frames",
				               (unsigned long long)DC_AUDIO_MAX_FRAMES);
			}
			if (grow_frames(au, &cap, au->frames + 1)) {
				free(ibuf);
				return dc_fail(DC_ENOMEM, "cannot allocate audio buffer for %zu frames",
				               au->frames + 1);
			}
		}
		float *dst = au->data + au->frames * ch;
		sf_count_t want = cap - au->frames < CHUNK_FRAMES ? (sf_count_t)(cap - au->frames)
		                                                  : CHUNK_FRAMES;
		sf_count_t got;
		if (bits) {
			got = sf_readf_int(sf, ibuf, want);
			for (size_t i = 0; i < (size_t)(got > 0 ? got : 0) * ch; i++)
				dst[i] = (float)((double)ibuf[i] * (1.0 / 2147483648.0));
		} else {
			got = sf_readf_float(sf, dst, want);
		}
		if (got <= 0)
			break;
		au->frames += (size_t)got;
	}
	free(ibuf);
	return DC_OK;
}

enum dc_status dc_audio_read(FILE *fp, struct dc_audio *au)
{
	char eb[160];
	memset(au, 0, sizeof *au);
	struct membuf m;
	enum dc_status st = slurp(fp, &m);
	if (st != DC_OK)
		return st;
	if (m.len == 0) {
		free(m.buf);
		return dc_fail(DC_EFORMAT, "not an audio file (empty input)");
	}
	SF_INFO info;
	memset(&info, 0, sizeof info);
	SNDFILE *sf = sf_open_virtual(&mb_vio, SFM_READ, &info, &m);
	if (!sf) {
		int e = sf_error(NULL);
		st = e == SF_ERR_UNRECOGNISED_FORMAT
		         ? dc_fail(DC_EFORMAT, "not a recognised audio file")
		         : dc_fail(DC_EFORMAT, "cannot decode audio: %s", sf_msg(NULL, eb, sizeof eb));
		free(m.buf);
		return st;
	}
	uint64_t claimed = 0, present = 0;
	if ((info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV &&
	    wav_truncated(m.buf, m.len, &claimed, &present)) {
		st = dc_fail(DC_ETRUNC, "truncated WAV data (%llu of %llu bytes)",
		             (unsigned long long)present, (unsigned long long)claimed);
		goto out;
	}
	if (info.channels < 1 || info.channels > DC_AUDIO_MAX_CHANNELS) {
		st = dc_fail(DC_EFORMAT, "unsupported channel count %d (1 to %d)", info.channels,
		             DC_AUDIO_MAX_CHANNELS);
		goto out;
	}
	if (info.samplerate < 1 || info.samplerate > DC_AUDIO_MAX_RATE) {
		st = dc_fail(DC_EFORMAT, "implausible sample rate %d Hz", info.samplerate);
		goto out;
	}
	if (info.frames == 0) {
		st = dc_fail(DC_EFORMAT, "no audio frames");
		goto out;
	}
	au->channels = info.channels;
	au->sample_rate = info.samplerate;
	au->subtype = info.format & SF_FORMAT_SUBMASK;
	sf_command(sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
	/* Header frame count, if plausible (at most 64 frames per input byte),
	 * sizes the first allocation; passed to decode() through au->frames. */
	au->frames = 0;
	if (info.frames > 0 && info.frames != SF_COUNT_MAX &&
	    (uint64_t)info.frames <= (uint64_t)m.len * 64 + 65536)
		au->frames = (size_t)info.frames;
	st = decode(sf, au);
	if (st != DC_OK)
		goto out;
	/* Fewer frames than the header promised is truncation, whatever the
	 * decoder said about it (FLAC reports "lost sync"). */
	if ((info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_MPEG && info.frames > 0 &&
	    info.frames != SF_COUNT_MAX && (uint64_t)au->frames < (uint64_t)info.frames) {
		st = dc_fail(DC_ETRUNC, "truncated audio (%zu of %lld frames)", au->frames,
		             (long long)info.frames);
		goto out;
	}
	if (sf_error(sf) != SF_ERR_NO_ERROR) {
		st = dc_fail(DC_EFORMAT, "corrupt audio data: %s", sf_msg(sf, eb, sizeof eb));
		goto out;
	}
	if (au->frames == 0) {
		st = dc_fail(DC_EFORMAT, "no audio frames");
		goto out;
	}
out:
	sf_close(sf);
	free(m.buf);
	if (st != DC_OK) {
		dc_free(au->data);
		memset(au, 0, sizeof *au);
	}
	return st;
}

/* ---- writing ------------------------------------------------------------------ */

enum dc_status dc_audio_write(FILE *fp, const struct dc_audio *au, const char *format, int subtype)
{
	char eb[160];
	int major;
	if (!format)
		return dc_fail(DC_EINVAL, "no audio format given");
	if (!strcasecmp(format, "wav"))
		major = SF_FORMAT_WAV;
	else if (!strcasecmp(format, "flac"))
		major = SF_FORMAT_FLAC;
	else if (!strcasecmp(format, "ogg"))
		major = SF_FORMAT_OGG;
	else
		return dc_fail(DC_EINVAL, "unknown audio format '%s' (wav, flac or ogg)", format);
	if (subtype == 0)
		subtype = major == SF_FORMAT_OGG ? SF_FORMAT_VORBIS : SF_FORMAT_PCM_16;
	if (!au || (!au->data && au->frames))
		return dc_fail(DC_EINVAL, "no audio data");
	if (au->channels < 1 || au->channels > DC_AUDIO_MAX_CHANNELS)
		return dc_fail(DC_EINVAL, "cannot write %d audio channels (1 to %d)", au->channels,
		               DC_AUDIO_MAX_CHANNELS);
	if (au->sample_rate < 1 || au->sample_rate > DC_AUDIO_MAX_RATE)
		return dc_fail(DC_EINVAL, "invalid sample rate %d Hz", au->sample_rate);
	if (au->frames == 0)
		return dc_fail(DC_EINVAL, "no audio frames");
	if (au->frames > DC_AUDIO_MAX_FRAMES)
		return dc_fail(DC_ELIMIT, "audio longer than %llu frames",
		               (unsigned long long)DC_AUDIO_MAX_FRAMES);
	size_t ch = (size_t)au->channels, nsamp;
	if (dc_mul_size(au->frames, ch, &nsamp))
		return dc_fail(DC_EOVERFLOW, "audio size overflows");

	SF_INFO info;
	memset(&info, 0, sizeof info);
	info.samplerate = au->sample_rate;
	info.channels = au->channels;
	info.format = major | (subtype & SF_FORMAT_SUBMASK);
	if ((subtype & ~SF_FORMAT_SUBMASK) != 0 || !sf_format_check(&info))
		return dc_fail(DC_EINVAL, "sample format 0x%x cannot be written as %s", subtype, format);
	int bits = pcm_bits(subtype);
	if (major == SF_FORMAT_WAV) {
		/* RIFF sizes are 32-bit. */
		int bytes = bits ? bits / 8 : subtype == SF_FORMAT_DOUBLE ? 8 : 4;
		if ((uint64_t)nsamp * (uint64_t)bytes > 0xFFFFFFFFull - 4096)
			return dc_fail(DC_ELIMIT, "audio too long for WAV (%zu frames); use flac",
			               au->frames);
	}

	struct membuf m;
	memset(&m, 0, sizeof m);
	SNDFILE *sf = sf_open_virtual(&mb_vio, SFM_WRITE, &info, &m);
	if (!sf) {
		free(m.buf);
		return dc_fail(DC_EINVAL, "cannot write %s: %s", format, sf_msg(NULL, eb, sizeof eb));
	}
	sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	sf_command(sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
	/* no PEAK chunk: it carries a wall-clock timestamp, and equal input must give equal bytes */
	sf_command(sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);

	enum dc_status st = DC_OK;
	int32_t *ibuf = NULL;
	if (bits) {
		ibuf = malloc(CHUNK_FRAMES * ch * sizeof *ibuf);
		if (!ibuf) {
			st = dc_fail(DC_ENOMEM, "cannot allocate audio buffer");
			goto out;
		}
	}
	const double scale = ldexp(1.0, bits - 1);
	const double lo = -scale, hi = scale - 1;
	const int64_t shift = (int64_t)1 << (32 - (bits ? bits : 32));
	for (size_t f = 0; f < au->frames; f += CHUNK_FRAMES) {
		size_t n = au->frames - f < CHUNK_FRAMES ? au->frames - f : CHUNK_FRAMES;
		const float *src = au->data + f * ch;
		sf_count_t put;
		if (bits) {
			for (size_t i = 0; i < n * ch; i++) {
				double v = nearbyint((double)src[i] * scale);
				if (!(v >= lo))   /* also NaN -> lo; fixed below */
					v = src[i] != src[i] ? 0 : lo;
				else if (v > hi)
					v = hi;
				ibuf[i] = (int32_t)((int64_t)v * shift);
			}
			put = sf_writef_int(sf, ibuf, (sf_count_t)n);
		} else {
			put = sf_writef_float(sf, src, (sf_count_t)n);
		}
		if (put != (sf_count_t)n || m.oom) {
			st = m.oom ? dc_fail(DC_ENOMEM, "cannot buffer encoded audio")
			           : dc_fail(DC_EIO, "cannot encode %s: %s", format, sf_msg(sf, eb, sizeof eb));
			goto out;
		}
	}
out:
	free(ibuf);
	if (sf_close(sf) != 0 && st == DC_OK)
		st = dc_fail(DC_EIO, "cannot finish %s encoding", format);
	if (st == DC_OK && m.oom)
		st = dc_fail(DC_ENOMEM, "cannot buffer encoded audio");
	if (st == DC_OK && (fwrite(m.buf, 1, m.len, fp) != m.len || fflush(fp) != 0 || ferror(fp)))
		st = dc_fail(DC_EIO, "write error");
	free(m.buf);
	return st;
}

void dc_audio_release(struct dc_audio *au)
{
	if (!au)
		return;
	dc_free(au->data);
	memset(au, 0, sizeof *au);
}
