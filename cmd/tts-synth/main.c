/*
 * tts-synth - text to speech with a FastSpeech 2 voice and the Griffin-Lim
 * vocoder (see tts-synth(1)).
 *
 *   tts-synth [options] TEXT...          the words, joined by spaces, one utterance
 *   tts-synth [options] [-i FILE] < ...  one utterance per line (blank lines skipped,
 *                                        their numbers kept); -o 'out_%03d.wav'
 *                                        writes one file per line, a plain -o one
 *                                        file with every line
 *
 * Pipeline per utterance: dc_tts_normalize -> per sentence dc_phonemize
 * (a sentence over MAX_PHONES phones is cut at a pause or word boundary)
 * -> the voice's symbol ids (voice.c) -> dc_fs2_synth -> dc_mel_to_linear
 * -> dc_griffin_lim, padded to frames * hop samples, --sentence-silence
 * between sentences and between lines.  --timestamps writes phone and word
 * times from the predicted durations.
 *
 * --stream writes each sentence as soon as it is synthesized (tts_speak's
 * sink): a 16-bit PCM WAV header whose RIFF and data sizes are 0xFFFFFFFF
 * ("unknown length" as ffmpeg writes it to pipes; sox, aplay, libsndfile
 * and lib/io/audio.c read such a stream to its end, sox with a warning;
 * sox's own 0x7FFFF000 would be "truncated" to lib/io/audio.c), patched to
 * the real sizes at the end when the output is a regular file, or with
 * --raw no header at all.  The samples are those of the whole-file writer: clipped
 * to [-1, 1], NaN as 0, round-half-even(x * 32768), 32767 at most.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/media.h"
#include "models/fastspeech2.h"
#include "speech/tts_audio.h"
#include "text/normalize.h"
#include "text/phonemize.h"
#include "tts.h"

static const char usage[] =
	"usage: tts-synth [options] TEXT... [-o OUT.wav]\n"
	"       tts-synth [options] [-i FILE] < LINES.txt [-o OUT.wav | -o 'OUT_%03d.wav']\n"
	"voice:    --voice DIR (share/diffcore/models/tts-slt)\n"
	"          --vocoder vocos|griffin-lim (the voice's neural vocoder if it has one)\n"
	"          --gl-iters N (32)\n"
	"control:  --speed F (1)  --pitch F (1)  --energy F (1)  --sentence-silence SEC (0.2)\n"
	"text:     -i/--input FILE (one utterance per line; '-' stdin)  --lexicon FILE\n"
	"          --festival (festival's post-lexical rules)  --phonemes (print phones, no voice)\n"
	"output:   -o FILE (.wav or .flac; a %d pattern for one file per line)\n"
	"          --timestamps FILE.tsv (phone and word start/end seconds)\n"
	"          --stream (write each sentence as soon as it is ready; not with a\n"
	"          %d pattern or .flac)  --raw (16-bit little-endian PCM, no header)\n"
	"          --mel (the mel spectrogram and duration stream instead of audio)\n"
	"common:   -t/--threads N, -q/--quiet, -f/--force, -h/--help, --version\n";

enum {
	OPT_VOICE = DC_OPT_TOOL_BASE, OPT_GLITERS, OPT_SPEED, OPT_PITCH, OPT_ENERGY, OPT_SIL,
	OPT_LEXICON, OPT_FESTIVAL, OPT_PHONEMES, OPT_TIMESTAMPS, OPT_VOCODER, OPT_MEL,
	OPT_STREAM, OPT_RAW
};

static const struct option longopts[] = {
	{ "voice", required_argument, 0, OPT_VOICE },
	{ "gl-iters", required_argument, 0, OPT_GLITERS },
	{ "vocoder", required_argument, 0, OPT_VOCODER },
	{ "speed", required_argument, 0, OPT_SPEED },
	{ "pitch", required_argument, 0, OPT_PITCH },
	{ "energy", required_argument, 0, OPT_ENERGY },
	{ "sentence-silence", required_argument, 0, OPT_SIL },
	{ "input", required_argument, 0, 'i' },
	{ "lexicon", required_argument, 0, OPT_LEXICON },
	{ "festival", no_argument, 0, OPT_FESTIVAL },
	{ "phonemes", no_argument, 0, OPT_PHONEMES },
	{ "timestamps", required_argument, 0, OPT_TIMESTAMPS },
	{ "stream", no_argument, 0, OPT_STREAM },
	{ "raw", no_argument, 0, OPT_RAW },
	{ "mel", no_argument, 0, OPT_MEL },
	DC_CLI_LONGOPTS,
	{ 0, 0, 0, 0 }
};

#define DEFAULT_VOICE "tts-slt"
#define MAX_LINE 65536     /* bytes per utterance line */
#define MAX_PHONES 400     /* phones per synthesis call */

struct utt {
	char *text;
	size_t len;
	int index;          /* line number from 1 (1 for TEXT arguments) */
};

static struct dc_cli *cli;

/* ---- input ------------------------------------------------------------------------- */

static void push(struct utt **v, int *n, int *cap, char *text, size_t len, int index)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if (!(*v = realloc(*v, (size_t)*cap * sizeof **v)))
			dc_die("out of memory");
	}
	(*v)[*n].text = text;
	(*v)[*n].len = len;
	(*v)[(*n)++].index = index;
}

static struct utt *read_lines(FILE *fp, const char *name, int *count)
{
	struct utt *v = NULL;
	int n = 0, cap = 0, line = 0;
	char *buf = NULL;
	size_t bcap = 0;
	ssize_t len;
	while ((len = getline(&buf, &bcap, fp)) >= 0) {
		line++;
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = 0;
		if (len > MAX_LINE)
			dc_die("%s: line %d is %zd bytes, over the limit of %d (put one utterance "
			       "or sentence per line)", name, line, len, MAX_LINE);
		char *t = malloc((size_t)len + 1);
		if (!t)
			dc_die("out of memory");
		memcpy(t, buf, (size_t)len + 1);
		push(&v, &n, &cap, t, (size_t)len, line);
	}
	if (ferror(fp))
		dc_die("cannot read %s: %s", name, strerror(errno));
	free(buf);
	*count = n;
	return v;
}

/* ---- audio accumulation --------------------------------------------------------------- */

struct pcm {
	float *v;
	size_t n, cap;
};

static void pcm_add(struct pcm *p, const float *x, size_t n)
{
	if (p->n + n < p->n)
		dc_die("audio too long");
	if (p->n + n > p->cap) {
		size_t c = p->cap ? p->cap : 65536;
		while (c < p->n + n)
			c *= 2;
		if (!(p->v = realloc(p->v, c * sizeof *p->v)))
			dc_die("out of memory");
		p->cap = c;
	}
	if (x)
		memcpy(p->v + p->n, x, n * sizeof *x);
	else
		memset(p->v + p->n, 0, n * sizeof *x);
	p->n += n;
}

static const char *audio_format(const char *path)
{
	const char *dot = path ? strrchr(path, '.') : NULL;
	return dot && !strcasecmp(dot, ".flac") ? "flac" : "wav";
}

/* 16-bit little-endian PCM as dc_audio_write makes it (lib/io/audio.c):
 * clip to [-1, 1] (NaN as 0), round half to even of x * 32768, at most 32767. */
static void put_pcm16(FILE *fp, const float *x, size_t n, const char *path)
{
	unsigned char b[8192];
	for (size_t i = 0; i < n;) {
		size_t k = 0;
		for (; k < sizeof b / 2 && i < n; i++, k++) {
			float s = x[i];
			s = s > 1.0f ? 1.0f : s < -1.0f ? -1.0f : s == s ? s : 0.0f;
			double v = nearbyint((double)s * 32768.0);
			int q = v > 32767 ? 32767 : (int)v;
			b[2 * k] = (unsigned char)(q & 0xff);
			b[2 * k + 1] = (unsigned char)((q >> 8) & 0xff);
		}
		if (fwrite(b, 2, k, fp) != k)
			dc_die("cannot write '%s': %s", path ? path : "stdout", strerror(errno));
	}
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The 44-byte header libsndfile writes for 16-bit PCM mono WAV; `bytes` of data. */
static void wav_header(unsigned char h[44], int rate, uint32_t bytes)
{
	memcpy(h, "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0", 24);
	put_le32(h + 4, bytes == 0xFFFFFFFFu ? bytes : bytes + 36);
	put_le32(h + 24, (uint32_t)rate);
	put_le32(h + 28, (uint32_t)rate * 2);
	memcpy(h + 32, "\x02\0\x10\0data", 8);
	put_le32(h + 40, bytes);
}

static void write_audio(const struct pcm *p, int rate, const char *path, int raw)
{
	FILE *fp = dc_cli_open_output(1);
	if (raw) {
		put_pcm16(fp, p->v, p->n, path);
		dc_cli_commit_output();
		return;
	}
	for (size_t i = 0; i < p->n; i++) {   /* PCM_16: clip, NaN-safe */
		float s = p->v[i];
		p->v[i] = s > 1.0f ? 1.0f : s < -1.0f ? -1.0f : s == s ? s : 0.0f;
	}
	struct dc_audio au = { .sample_rate = rate, .channels = 1, .frames = p->n, .data = p->v };
	enum dc_status st = dc_audio_write(fp, &au, audio_format(path), 0);
	if (st)
		dc_die_status(st, "cannot write %s", path ? path : "stdout");
	dc_cli_commit_output();
}

/* ---- --stream: tts_speak's sink ----------------------------------------------------- */

struct stream {
	FILE *fp;
	const char *path;    /* for messages; NULL: stdout */
	int rate, raw;
	int started;         /* header written */
	off_t header_at;     /* where the header is, when the output can be patched; -1 if not */
	size_t pending;      /* silence owed before the next samples (between lines) */
	uint64_t samples;    /* written, silence included */
};

static enum dc_status stream_sink(void *ctx, const float *y, size_t n)
{
	struct stream *st = ctx;
	if (!st->started) {
		st->started = 1;
		st->header_at = -1;
		if (!st->raw) {
			struct stat sb;
			int fd = fileno(st->fp), fl = fcntl(fd, F_GETFL);
			if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && fl >= 0 && !(fl & O_APPEND))
				st->header_at = ftello(st->fp);
			unsigned char h[44];
			wav_header(h, st->rate, 0xFFFFFFFFu);
			if (fwrite(h, 1, sizeof h, st->fp) != sizeof h)
				dc_die("cannot write '%s': %s", st->path ? st->path : "stdout", strerror(errno));
		}
	}
	static const float zeros[1024];
	while (st->pending) {
		size_t k = st->pending < 1024 ? st->pending : 1024;
		put_pcm16(st->fp, zeros, k, st->path);
		st->pending -= k;
		st->samples += k;
	}
	put_pcm16(st->fp, y, n, st->path);
	st->samples += n;
	if (fflush(st->fp) != 0)
		dc_die("cannot write '%s': %s", st->path ? st->path : "stdout", strerror(errno));
	return DC_OK;
}

/* A regular file gets its real sizes (the bytes of the non-streamed WAV). */
static void stream_finish(struct stream *st)
{
	if (!st->raw && st->header_at >= 0 && st->samples <= (0xFFFFFFFFull - 4096) / 2) {
		unsigned char h[44];
		wav_header(h, st->rate, (uint32_t)(st->samples * 2));
		if (fflush(st->fp) != 0 || fseeko(st->fp, st->header_at, SEEK_SET) != 0 ||
		    fwrite(h, 1, sizeof h, st->fp) != sizeof h || fseeko(st->fp, 0, SEEK_END) != 0)
			dc_die("cannot write '%s': %s", st->path ? st->path : "stdout", strerror(errno));
	}
	dc_cli_commit_output();
}

/* ---- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	cli = dc_cli_init("tts-synth", usage);
	const char *voice_dir = NULL, *input = NULL, *lexicon = NULL, *ts_path = NULL;
	double speed = 1, pitch = 1, energy = 1, silence = 0.2;
	int gl_iters = 32, phonemes_only = 0, use_gl = -1, stream = 0, raw = 0, mel_only = 0, c;
	unsigned flags = 0;
	while ((c = getopt_long(argc, argv, DC_CLI_SHORTOPTS "i:", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_VOICE: voice_dir = optarg; break;
		case OPT_VOCODER:
			if (!strcmp(optarg, "vocos"))
				use_gl = 0;
			else if (!strcmp(optarg, "griffin-lim"))
				use_gl = 1;
			else
				dc_usage_error("--vocoder: '%s' is not vocos or griffin-lim", optarg);
			break;
		case OPT_GLITERS: gl_iters = (int)dc_cli_long("gl-iters", optarg, 1, 10000); break;
		case OPT_SPEED: speed = dc_cli_double("speed", optarg, 0.05, 20); break;
		case OPT_PITCH: pitch = dc_cli_double("pitch", optarg, 0, 20); break;
		case OPT_ENERGY: energy = dc_cli_double("energy", optarg, 0, 20); break;
		case OPT_SIL: silence = dc_cli_double("sentence-silence", optarg, 0, 60); break;
		case 'i': input = optarg; break;
		case OPT_LEXICON: lexicon = optarg; break;
		case OPT_FESTIVAL: flags |= DC_PHONEMIZE_FESTIVAL; break;
		case OPT_PHONEMES: phonemes_only = 1; break;
		case OPT_TIMESTAMPS: ts_path = optarg; break;
		case OPT_STREAM: stream = 1; break;
		case OPT_RAW: raw = 1; break;
		case OPT_MEL: mel_only = 1; break;
		default: dc_cli_option(cli, c, optarg);
		}
	}
	if (input && optind < argc)
		dc_usage_error("give TEXT or -i FILE, not both");
	if (phonemes_only && ts_path)
		dc_usage_error("--phonemes writes no audio, so no --timestamps");
	if (mel_only && (stream || raw || phonemes_only || use_gl >= 0))
		dc_usage_error("--mel writes the mel and duration stream, not audio (no %s)",
		               stream ? "--stream" : raw ? "--raw" : phonemes_only ? "--phonemes" : "--vocoder");
	if (phonemes_only && (stream || raw))
		dc_usage_error("--phonemes writes no audio, so no %s", stream ? "--stream" : "--raw");
	if (cli->output && !strcmp(audio_format(cli->output), "flac") && (stream || raw))
		dc_usage_error("%s writes 16-bit PCM %s, not FLAC ('%s')", stream ? "--stream" : "--raw",
		               raw ? "samples" : "WAV", cli->output);

	/* utterances */
	struct utt *utts = NULL;
	int nu = 0;
	if (optind < argc) {
		size_t total = 0;
		for (int k = optind; k < argc; k++)
			total += strlen(argv[k]) + 1;
		if (total > MAX_LINE + 1)
			dc_die("the TEXT is %zu bytes, over the limit of %d (give long text one "
			       "sentence per line with -i)", total - 1, MAX_LINE);
		char *t = malloc(total), *p = t;
		if (!t)
			dc_die("out of memory");
		for (int k = optind; k < argc; k++) {
			size_t l = strlen(argv[k]);
			memcpy(p, argv[k], l);
			p += l;
			*p++ = k + 1 < argc ? ' ' : 0;
		}
		int cap = 0;
		push(&utts, &nu, &cap, t, total - 1, 1);
	} else {
		if (!input && isatty(STDIN_FILENO))
			dc_usage_error("no TEXT (give it, or lines on stdin or -i FILE)");
		FILE *fp = dc_cli_open_input(input);
		utts = read_lines(fp, dc_cli_input_name(input), &nu);
		if (fp != stdin)
			fclose(fp);
	}
	const char *src = optind < argc ? "TEXT" : dc_cli_input_name(input);

	struct dc_lexicon *lex = NULL;
	enum dc_status st;
	if (lexicon && (st = dc_lexicon_load_user(lexicon, &lex)))
		dc_die_status(st, "cannot load lexicon '%s'", lexicon);

	/* --phonemes: one line per input line */
	if (phonemes_only) {
		FILE *fp = dc_cli_open_output(0);
		for (int k = 0; k < nu; k++) {
			struct dc_words w;
			struct dc_phones ph;
			char *s = NULL;
			size_t bad = tts_clean_utf8(utts[k].text, utts[k].len);
			if (bad)
				dc_warn("warning: %s: line %d: %zu bytes of invalid UTF-8 ignored", src,
				        utts[k].index, bad);
			if ((st = dc_tts_normalize(utts[k].text, utts[k].len, &w)) ||
			    (st = dc_phonemize(&w, lex, flags, &ph)) || (st = dc_phones_format(&ph, &s)))
				dc_die_status(st, "%s: line %d", src, utts[k].index);
			fprintf(fp, "%s\n", s);
			free(s);
			dc_phones_release(&ph);
			dc_words_release(&w);
		}
		dc_cli_commit_output();
		goto done;
	}

	/* output naming */
	int pattern = cli->output ? dc_cli_check_pattern(cli->output) : 0;
	if (pattern < 0)
		dc_usage_error("invalid -o pattern '%s' (one %%d, %%3d or %%03d index at most; "
		               "%%%% for a percent sign)", cli->output);
	if (pattern && mel_only)
		dc_usage_error("--mel writes one stream, not a file per line ('%s')", cli->output);
	if (pattern && stream)
		dc_usage_error("--stream writes one output, not a file per line ('%s')", cli->output);
	char *single = NULL;
	if (cli->output && !pattern && strchr(cli->output, '%'))
		cli->output = single = dc_cli_pattern_name(cli->output, 1);
	if (!pattern)
		dc_cli_open_output(1);   /* refuse a terminal before the work */

	/* the voice */
	char *defvoice = NULL;
	if (!voice_dir)
		voice_dir = defvoice = dc_cli_require_default_model(DEFAULT_VOICE, "config.json", "voice",
		                                                    "--voice DIR, a FastSpeech 2 folder (config.json "
		                                                    "with \"symbols\", model.safetensors)");
	struct tts_voice voice;
	if ((st = tts_voice_open(&voice, voice_dir)))
		dc_die_status(st, "cannot load voice '%s'", voice_dir);

	if (voice.pitch_resample && !(pitch >= 0.25 && pitch <= 4))
		dc_usage_error("--pitch %g: this voice shifts pitch by resampling, from 0.25 to 4", pitch);
	if (mel_only && voice.pitch_resample && pitch != 1)
		dc_usage_error("--pitch with --mel: this voice shifts pitch by resampling the audio");
	if (use_gl == 0 && !voice.vocos)
		dc_die("voice '%s' has no neural vocoder (no %s/vocoder folder); use --vocoder "
		       "griffin-lim", voice_dir, voice_dir);
	FILE *ts = NULL;
	if (ts_path) {
		ts = dc_cli_side_open(ts_path);   /* whole or not at all */
		fprintf(ts, "utterance\ttype\tstart\tend\tlabel\tbyte_begin\tbyte_end\n");
	}

	struct tts_params tp = {
		.ctl = { .duration = (float)(1.0 / speed), .pitch = (float)pitch, .energy = (float)energy,
		         .carry_rounding = 1 },
		.gl_iters = gl_iters, .griffin_lim = use_gl == 1, .silence = silence, .max_phones = MAX_PHONES, .flags = flags,
		.lex = lex, .ts = ts,
	};
	struct stream so = { .path = cli->output, .rate = voice.sample_rate, .raw = raw };
	if (stream) {
		so.fp = dc_cli_open_output(1);
		tp.sink = stream_sink;
		tp.sink_ctx = &so;
	}
	struct tts_mel_out mo;
	memset(&mo, 0, sizeof mo);
	if (mel_only) {
		if (dc_stream_writer_open(&mo.w, dc_cli_open_output(1)))
			dc_die("cannot write '%s': %s", cli->output ? cli->output : "stdout", strerror(errno));
		tp.mel = &mo;
	}
	struct pcm all = { 0 };
	int spoken = 0;
	for (int k = 0; k < nu; k++) {
		struct utt *u = &utts[k];
		if (strspn(u->text, " \t\v\f") == u->len)
			continue;   /* blank line */
		size_t bad = tts_clean_utf8(u->text, u->len);
		if (bad)
			dc_warn("warning: %s: line %d: %zu bytes of invalid UTF-8 ignored", src,
			        u->index, bad);
		struct pcm one = { 0 };
		struct pcm *dst = pattern ? &one : &all;
		size_t before = dst->n;
		/* silence between utterances of one file */
		size_t gap = (size_t)lround(silence * voice.mel.sample_rate);
		if (stream)
			so.pending = spoken ? gap : 0;   /* written with the first sentence */
		else if (!pattern && spoken)
			pcm_add(dst, NULL, gap);
		size_t start = stream ? (size_t)so.samples + so.pending : dst->n;
		float *y = NULL;
		size_t ny = 0;
		mo.utterance = u->index;
		mo.piece = 0;
		if ((st = tts_speak(&voice, &tp, u->text, u->len, u->index,
		                    (double)start / voice.mel.sample_rate, &y, &ny)))
			dc_die_status(st, "%s: line %d", src, u->index);
		if (ny == 0) {
			dst->n = before;   /* drop the gap */
			dc_warn("warning: %s: line %d: nothing to say (no words)", src, u->index);
			continue;
		}
		if (stream) {   /* already written */
			spoken++;
			continue;
		}
		pcm_add(dst, y, ny);
		free(y);
		spoken++;
		if (pattern) {
			const char *pat = cli->output;
			char *name = dc_cli_pattern_name(pat, u->index);
			cli->output = name;
			write_audio(&one, voice.sample_rate, name, raw);
			cli->output = pat;
			free(name);
			free(one.v);
		}
	}
	if (!spoken) {
		dc_warn("warning: nothing to say: the input has no words; no audio written");
		if (ts) {
			fclose(ts);
			ts = NULL;
		}
	} else if (stream) {
		stream_finish(&so);
	} else if (mel_only) {
		if (dc_stream_writer_finish(&mo.w))
			dc_die("cannot write '%s': %s", cli->output ? cli->output : "stdout", strerror(errno));
		dc_stream_writer_close(&mo.w);
		dc_cli_commit_output();
	} else if (!pattern) {
		write_audio(&all, voice.sample_rate, cli->output, raw);
	}
	if (ts)
		dc_cli_side_commit(ts);
	free(all.v);
	tts_voice_close(&voice);
	free(defvoice);
	free(single);
done:
	dc_lexicon_free(lex);
	for (int k = 0; k < nu; k++)
		free(utts[k].text);
	free(utts);
	return 0;
}
