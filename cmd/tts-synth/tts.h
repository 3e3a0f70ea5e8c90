/*
 * tts.h - the parts of tts-synth(1) below the command line: a voice (a
 * FastSpeech 2 folder with its symbol table and mel parameters, voice.c)
 * and the synthesis of one utterance with its timestamps (speak.c).
 */
#ifndef TTS_SYNTH_H
#define TTS_SYNTH_H

#include <stdio.h>

#include "models/fastspeech2.h"
#include "speech/tts_audio.h"
#include "speech/vocos.h"
#include "io/stream.h"
#include "text/phonemize.h"

/* At most two voice symbols per phone (el = AH0 L). */
#define TTS_MAX_SYM 2

struct tts_voice {
	struct dc_fs2 *fs2;
	struct dc_tts_mel_params mel;   /* n_mels from the model; the rest from config.json */
	int sample_rate;
	/* map[phone id][stress 0..2 or 3 for none] -> up to TTS_MAX_SYM symbol ids, -1 ends */
	int map[DC_NPHONES][4][TTS_MAX_SYM];
	int pause_id;
	struct dc_vocos *vocos;         /* DIR/vocoder, or NULL: Griffin-Lim only */
	unsigned phonemize_flags;
	int pitch_resample;             /* config "pitch_control": "resample" (else "embedding") */       /* config "phonemizer": "festival" -> DC_PHONEMIZE_FESTIVAL */
};

/*
 * Open `dir`: dc_fs2_open, then config.json's "symbols" (the ming024
 * text/symbols.py list, index = id: "@AH0" or "AH0", "@sp" or "sp", ...)
 * and optional "sampling_rate", "filter_length", "hop_length",
 * "win_length", "mel_fmin", "mel_fmax" (ming024's preprocess.yaml names;
 * defaults 22050, 1024, 256, 1024, 0, 8000).  Every phone of the radio set
 * with every stress must map onto the symbols, else DC_EFORMAT naming it.
 * Optional "phonemizer": "festival" (the voice was trained on festival's
 * post-lexical phones) or "flite"; optional "pitch_control": "embedding"
 * (FastSpeech 2's own: the predicted F0 is scaled before it is embedded)
 * or "resample" (for voices whose decoder ignores that embedding: the
 * durations are stretched by the factor, the mel's envelope pre-warped
 * and the audio resampled, dc_mel_envelope_warp).  A neural vocoder, when the folder has
 * one, is DIR/vocoder (a Vocos folder, lib/speech/vocos.h) whose mel
 * parameters must be the voice's.
 */
enum dc_status tts_voice_open(struct tts_voice *v, const char *dir);
void tts_voice_close(struct tts_voice *v);

struct tts_params {
	struct dc_fs2_controls ctl;
	int gl_iters;
	int griffin_lim;       /* 1: Griffin-Lim even when the voice has a vocoder */
	double silence;        /* seconds between sentences */
	int max_phones;        /* per synthesis call */
	unsigned flags;        /* dc_phonemize flags */
	const struct dc_lexicon *lex;
	FILE *ts;              /* timestamps TSV or NULL */
	/* --stream: when set, tts_speak hands each sentence's audio (after the
	 * silence before it) to sink as soon as it is synthesized and keeps none */
	enum dc_status (*sink)(void *ctx, const float *y, size_t n);
	void *sink_ctx;
	/* --mel: each synthesis call's mel spectrogram and durations go to this
	 * stream instead of a vocoder (the audio returned is silence of the
	 * same length, so timestamps and offsets hold) */
	struct tts_mel_out *mel;
};

struct tts_mel_out {
	struct dc_stream_writer w;
	int utterance;         /* set by the caller before each tts_speak */
	int piece;             /* synthesis calls so far in this utterance */
	long records;
};

/*
 * Speak `len` bytes of UTF-8 `text` (valid: see tts_clean_utf8): sentence
 * by sentence, silence between them; *y receives *n samples (malloc'd; 0
 * samples and NULL when there is nothing to say).  Timestamp rows (when
 * p->ts) are labelled `index`, times offset by t0 seconds.  With p->sink
 * the audio goes to the sink sentence by sentence instead (the same
 * samples, in order): *y is NULL and *n the number of samples sunk.
 */
enum dc_status tts_speak(const struct tts_voice *v, const struct tts_params *p, const char *text,
                         size_t len, int index, double t0, float **y, size_t *n);

/* Replace every byte of invalid UTF-8 (and C0 controls but tab) with a
 * space; returns how many invalid bytes there were. */
size_t tts_clean_utf8(char *s, size_t len);

#endif
