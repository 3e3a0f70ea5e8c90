/*
 * speak.c - one utterance of tts-synth: normalise, phonemize sentence by
 * sentence, map phones to the voice's symbols, FastSpeech 2, mel ->
 * linear magnitude -> Griffin-Lim; phone and word timestamps from the
 * predicted durations.  Also the small input helpers (UTF-8 cleaning, -o
 * patterns).
 *
 * Audio of a synthesis call is exactly frames * hop samples (Griffin-Lim
 * gives hop * (frames - 1); the rest is zeros), so phone k of a call
 * starts at hop * (sum of the durations before it) samples.  With a sink
 * (--stream) each sentence's audio, the silence before it included, is
 * handed over as soon as it is made instead of being kept.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/normalize.h"
#include "tts.h"

struct buf {
	float *v;
	size_t n, cap;
};

static enum dc_status buf_add(struct buf *b, const float *x, size_t n)
{
	if (n > SIZE_MAX / sizeof(float) / 2 - b->n)
		return dc_fail(DC_EOVERFLOW, "audio too long");
	if (b->n + n > b->cap) {
		size_t c = b->cap ? b->cap : 65536;
		while (c < b->n + n)
			c *= 2;
		float *v = realloc(b->v, c * sizeof *v);
		if (!v)
			return dc_fail(DC_ENOMEM, "out of memory");
		b->v = v;
		b->cap = c;
	}
	if (x)
		memcpy(b->v + b->n, x, n * sizeof *x);
	else
		memset(b->v + b->n, 0, n * sizeof *b->v);
	b->n += n;
	return DC_OK;
}

/* The input bytes [a, b) as a TSV field: tabs and controls become spaces. */
static void put_src(FILE *f, const char *text, size_t a, size_t b)
{
	for (size_t i = a; i < b; i++) {
		unsigned char ch = (unsigned char)text[i];
		fputc(ch < 0x20 || ch == 0x7f ? ' ' : ch, f);
	}
}

static void ts_row(FILE *f, int index, const char *type, double t0, double t1, const char *label,
                   const struct dc_word *w, const char *text)
{
	fprintf(f, "%d\t%s\t%.4f\t%.4f\t%s\t", index, type, t0, t1, label);
	if (w) {
		fprintf(f, "%zu\t%zu\t", w->begin, w->end);
		put_src(f, text, w->begin, w->end);
	} else {
		fputs("-\t-\t-", f);
	}
	fputc('\n', f);
}

/* --mel: records "mel" (F32 [frames][n_mels], the post-net output a vocoder
 * takes) and "durations" (I32 [symbols], frames per voice symbol). */
static enum dc_status mel_records(const struct tts_voice *v, struct tts_mel_out *m,
                                  const struct dc_fs2_output *o, const int *ids, int nt)
{
	char buf[64];
	struct dc_record r[2];
	enum dc_status s = DC_OK;
	for (int k = 0; k < 2; k++) {
		dc_record_init(&r[k]);
		const char *nm = k ? "durations" : "mel";
		s = dc_record_set_name(&r[k], nm);
		if (!s)
			s = dc_record_set_role(&r[k], nm);
		snprintf(buf, sizeof buf, "%d", m->utterance);
		if (!s)
			s = dc_record_meta_set(&r[k], "utterance", buf);
		snprintf(buf, sizeof buf, "%d", m->piece);
		if (!s)
			s = dc_record_meta_set(&r[k], "piece", buf);
	}
	snprintf(buf, sizeof buf, "%d", v->sample_rate);
	if (!s)
		s = dc_record_meta_set(&r[0], "sample_rate", buf);
	snprintf(buf, sizeof buf, "%d", v->mel.hop);
	if (!s)
		s = dc_record_meta_set(&r[0], "hop_length", buf);
	snprintf(buf, sizeof buf, "%d", nt);
	if (!s)
		s = dc_record_meta_set(&r[1], "symbols", buf);
	if (!s) {
		r[0].dtype = DC_F32;
		r[0].rank = 2;
		r[0].shape[0] = o->frames;
		r[0].shape[1] = v->mel.n_mels;
		r[0].data = o->mel_post;
		r[0].nbytes = (size_t)o->frames * (size_t)v->mel.n_mels * sizeof(float);
		r[1].dtype = DC_I32;
		r[1].rank = 1;
		r[1].shape[0] = nt;
		r[1].data = o->durations;
		r[1].nbytes = (size_t)nt * sizeof(int32_t);
		s = dc_stream_write(&m->w, &r[0]);
		if (!s)
			s = dc_stream_write(&m->w, &r[1]);
	}
	(void)ids;
	for (int k = 0; k < 2; k++) {
		r[k].data = NULL;
		dc_record_release(&r[k]);
	}
	if (!s) {
		m->piece++;
		m->records += 2;
	}
	return s;
}

/* Synthesize phones ph[np] (word indices into w) and append the audio to out. */
static enum dc_status synth_piece(const struct tts_voice *v, const struct tts_params *p,
                                  const struct dc_phone *ph, size_t np, const struct dc_words *w,
                                  const char *text, int index, double t0, struct buf *out)
{
	enum dc_status s = DC_OK;
	int *ids = malloc(np * TTS_MAX_SYM * sizeof *ids), *tok_phone = malloc(np * TTS_MAX_SYM * sizeof *ids);
	long *pframes = calloc(np, sizeof *pframes);
	struct dc_fs2_output o = { 0 };
	float *mag = NULL, *padded = NULL, *y = NULL;
	if (!ids || !tok_phone || !pframes) {
		s = dc_fail(DC_ENOMEM, "out of memory");
		goto done;
	}
	int nt = 0;
	for (size_t i = 0; i < np; i++) {
		int st = ph[i].stress >= 0 && ph[i].stress <= 2 ? ph[i].stress : 3;
		if (!dc_phone_is_vowel(ph[i].id))
			st = 3;
		for (int j = 0; j < TTS_MAX_SYM && v->map[ph[i].id][st][j] >= 0; j++) {
			ids[nt] = v->map[ph[i].id][st][j];
			tok_phone[nt++] = (int)i;
		}
	}
	/* pitch by resampling (voices whose pitch embedding does not steer F0):
	 * durations stretched by a, envelope pre-warped, audio resampled by a */
	struct dc_fs2_controls ctl = p->ctl;
	double a = 1;
	if (v->pitch_resample && ctl.pitch != 1) {
		a = ctl.pitch;
		ctl.duration *= (float)a;
		ctl.pitch = 1;
	}
	if ((s = dc_fs2_synth(v->fs2, ids, nt, 0, &ctl, &o)))
		goto done;
	for (int t = 0; t < nt; t++)
		pframes[tok_phone[t]] += o.durations[t];
	size_t F = (size_t)o.frames, hop = (size_t)v->mel.hop, bins = (size_t)v->mel.n_fft / 2 + 1;
	size_t want = F * hop;
	if (a != 1 && (s = dc_mel_envelope_warp(o.mel_post, F, &v->mel, a, 24)))
		goto done;
	if (p->mel) {
		if ((s = mel_records(v, p->mel, &o, ids, nt)) || (s = buf_add(out, NULL, want)))
			goto done;
		goto stamps;
	}
	if (v->vocos && !p->griffin_lim) {
		if (!(y = dc_alloc(want * sizeof *y))) {
			s = dc_fail(DC_ENOMEM, "out of memory");
			goto done;
		}
		if ((s = dc_vocos_synth(v->vocos, o.mel_post, (int)F, y)))
			goto done;
	} else {
		if ((s = dc_mel_to_linear(o.mel_post, F, &v->mel, 10, &mag, NULL)))
			goto done;
		/* Griffin-Lim needs hop * (frames - 1) > n_fft / 2: pad with silent frames */
		size_t Fp = (size_t)v->mel.n_fft / (2 * hop) + 2;
		if (Fp < F)
			Fp = F;
		if (!(padded = calloc(Fp * bins, sizeof *padded))) {
			s = dc_fail(DC_ENOMEM, "out of memory");
			goto done;
		}
		memcpy(padded, mag, F * bins * sizeof *padded);
		struct dc_griffin_lim_params gp;
		dc_griffin_lim_params_default(&gp);
		gp.n_fft = v->mel.n_fft;
		gp.hop = v->mel.hop;
		gp.win = v->mel.win;
		gp.n_iter = p->gl_iters;
		size_t ny = 0;
		if ((s = dc_griffin_lim(padded, Fp, &gp, &y, &ny)))
			goto done;
		if (ny < want) {      /* zero tail (Griffin-Lim's output is hop*(Fp-1) long) */
			float *z = dc_alloc(want * sizeof *z);
			if (!z) {
				s = dc_fail(DC_ENOMEM, "out of memory");
				goto done;
			}
			memcpy(z, y, ny * sizeof *z);
			memset(z + ny, 0, (want - ny) * sizeof *z);
			dc_free(y);
			y = z;
		}
	}
	if (a != 1) {
		float *r = NULL;
		size_t nr = 0;
		if ((s = dc_resample_factor(y, want, a, &r, &nr)))
			goto done;
		s = buf_add(out, r, nr);
		dc_free(r);
	} else {
		s = buf_add(out, y, want);
	}
	if (s)
		goto done;
stamps:
	if (p->ts) {
		double sr = v->mel.sample_rate * a;   /* resampled pieces are a times shorter */
		long f = 0;
		for (size_t i = 0; i < np; i++) {
			size_t wi = ph[i].word;
			const struct dc_word *wd = wi != DC_NO_WORD ? &w->v[wi] : NULL;
			if (wd && wd->kind != DC_WORD_PUNCT && (i == 0 || ph[i - 1].word != wi)) {
				long g = f;
				for (size_t k = i; k < np && ph[k].word == wi; k++)
					g += pframes[k];
				ts_row(p->ts, index, "word", t0 + (double)f * hop / sr, t0 + (double)g * hop / sr,
				       wd->text, wd, text);
			}
			char label[8];
			const char *nm = dc_phone_name(ph[i].id);
			if (dc_phone_is_vowel(ph[i].id) && ph[i].stress >= 0)
				snprintf(label, sizeof label, "%s%d", nm, ph[i].stress);
			else
				snprintf(label, sizeof label, "%s", nm);
			ts_row(p->ts, index, "phone", t0 + (double)f * hop / sr,
			       t0 + (double)(f + pframes[i]) * hop / sr, label, wd, text);
			f += pframes[i];
		}
	}
done:
	dc_fs2_output_free(&o);
	dc_free(mag);
	free(padded);
	dc_free(y);
	free(ids);
	free(tok_phone);
	free(pframes);
	return s;
}

enum dc_status tts_speak(const struct tts_voice *v, const struct tts_params *p, const char *text,
                         size_t len, int index, double t0, float **y, size_t *n)
{
	*y = NULL;
	*n = 0;
	struct dc_words w;
	struct buf out = { 0 };
	enum dc_status s = dc_tts_normalize(text, len, &w);
	if (s) {
		dc_words_release(&w);
		return s;
	}
	double sr = v->mel.sample_rate;
	size_t gap = (size_t)lround(p->silence * sr);
	size_t max = p->max_phones > 8 ? (size_t)p->max_phones : 8;
	size_t sunk = 0;   /* samples already handed to p->sink */
	for (size_t a = 0, b; a < w.n && !s; a = b) {
		for (b = a; b < w.n && w.v[b].sentence == w.v[a].sentence; b++)
			;
		struct dc_words view = { .v = w.v + a, .n = b - a, .nsentences = 1 };
		struct dc_phones ph;
		if ((s = dc_phonemize(&view, p->lex, p->flags | v->phonemize_flags, &ph))) {
			dc_phones_release(&ph);
			break;
		}
		for (size_t i = 0; i < ph.n; i++)
			if (ph.v[i].word != DC_NO_WORD)
				ph.v[i].word += a;
		if (ph.n && sunk + out.n)
			s = buf_add(&out, NULL, gap);
		for (size_t i = 0, e; i < ph.n && !s; i = e) {
			e = ph.n;
			if (e - i > max) {
				/* cut after a pause in the second half, else at a word boundary */
				size_t c = 0;
				for (size_t k = i + max; k > i + max / 2 && !c; k--)
					if (ph.v[k - 1].id == DC_PH_PAU)
						c = k;
				for (size_t k = i + max; k > i + 1 && !c; k--)
					if (ph.v[k].word != ph.v[k - 1].word)
						c = k;
				e = c ? c : i + max;
			}
			s = synth_piece(v, p, ph.v + i, e - i, &w, text, index,
			                t0 + (double)(sunk + out.n) / sr, &out);
		}
		dc_phones_release(&ph);
		if (!s && p->sink && out.n) {
			s = p->sink(p->sink_ctx, out.v, out.n);
			sunk += out.n;
			out.n = 0;
		}
	}
	dc_words_release(&w);
	if (s) {
		free(out.v);
		return s;
	}
	if (p->sink) {
		free(out.v);
		out.v = NULL;
	}
	*y = out.v;
	*n = sunk + out.n;
	return DC_OK;
}

size_t tts_clean_utf8(char *s, size_t len)
{
	size_t bad = 0;
	unsigned char *u = (unsigned char *)s;
	for (size_t i = 0; i < len;) {
		unsigned c = u[i];
		size_t k = 0;
		unsigned lo = 0x80, hi = 0xbf;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				u[i] = ' ';
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) k = 1;
		else if (c == 0xe0) k = 2, lo = 0xa0;
		else if (c >= 0xe1 && c <= 0xec) k = 2;
		else if (c == 0xed) k = 2, hi = 0x9f;
		else if (c >= 0xee && c <= 0xef) k = 2;
		else if (c == 0xf0) k = 3, lo = 0x90;
		else if (c >= 0xf1 && c <= 0xf3) k = 3;
		else if (c == 0xf4) k = 3, hi = 0x8f;
		size_t j = 1;
		if (k) {
			for (; j <= k && i + j < len; j++) {
				unsigned d = u[i + j];
				if (d < (j == 1 ? lo : 0x80) || d > (j == 1 ? hi : 0xbf))
					break;
			}
		}
		if (k && j == k + 1) {
			i += j;
			continue;
		}
		u[i++] = ' ';   /* one bad byte; resynchronise on the next */
		bad++;
	}
	return bad;
}

