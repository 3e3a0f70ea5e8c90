/*
 * fuzz_phonemize.c - libFuzzer harness for the TTS pronunciation front
 * end.  The first byte chooses: bit 0 DC_PHONEMIZE_FESTIVAL, bit 1 a user
 * lexicon (the bytes up to the first NUL, parsed with
 * dc_lexicon_parse_user; it must succeed or fail with DC_EFORMAT and no
 * lexicon).  The rest is text, normalised (invalid UTF-8 is skipped) and
 * phonemized, which must succeed with: ids in the set, stress 0-2 on
 * vowels and -1 elsewhere, a pause class on pauses only, a START pause
 * first and a LONG pause last, never two pauses in a row, word indices
 * in range and never decreasing, phones on words and pauses on
 * punctuation tokens (or DC_NO_WORD), and a formatted string with one
 * token a phone.  Seeds (tests/fuzz/corpus/phonemize/): texts with
 * clitics, acronyms, unpronounceable and long words, with and without a
 * lexicon.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/phonemize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned mode = data[0];
	data++;
	size--;
	struct dc_lexicon *lex = NULL;
	if (mode & 2) {
		const uint8_t *z = memchr(data, 0, size);
		size_t n = z ? (size_t)(z - data) : size;
		enum dc_status st = dc_lexicon_parse_user((const char *)data, n, "fuzz", &lex);
		if (st != DC_OK && (st != DC_EFORMAT || lex || strncmp(dc_errmsg(), "fuzz:", 5)))
			abort();
		if (st == DC_OK && !lex)
			abort();
		data += n;
		size -= n;
	}
	struct dc_words w;
	if (dc_tts_normalize((const char *)data, size, &w) != DC_OK) {
		dc_words_release(&w);
		dc_lexicon_free(lex);
		return 0;
	}
	struct dc_phones p;
	if (dc_phonemize(&w, lex, mode & 1 ? DC_PHONEMIZE_FESTIVAL : 0, &p) != DC_OK)
		abort();
	size_t last = 0;
	for (size_t i = 0; i < p.n; i++) {
		const struct dc_phone *f = &p.v[i];
		if (f->id >= DC_NPHONES)
			abort();
		if (dc_phone_is_vowel(f->id) ? f->stress < 0 || f->stress > 2 : f->stress != -1)
			abort();
		if ((f->id == DC_PH_PAU) != (f->pause != DC_PAUSE_NONE) || f->pause > DC_PAUSE_LONG)
			abort();
		if (i && f->id == DC_PH_PAU && p.v[i - 1].id == DC_PH_PAU)
			abort();
		if ((i == 0) != (f->pause == DC_PAUSE_START))
			abort();
		if (i + 1 == p.n && f->pause != DC_PAUSE_LONG)
			abort();
		if (f->word == DC_NO_WORD) {
			if (f->id != DC_PH_PAU)
				abort();
			continue;
		}
		if (f->word >= w.n || f->word < last)
			abort();
		last = f->word;
		if ((w.v[f->word].kind == DC_WORD_PUNCT) != (f->id == DC_PH_PAU))
			abort();
	}
	char *s = NULL;
	if (dc_phones_format(&p, &s) != DC_OK)
		abort();
	size_t tok = 0;
	for (const char *c = s; *c; c++)
		tok += c == s || c[-1] == ' ';
	if (tok != p.n)
		abort();
	free(s);
	dc_phones_release(&p);
	dc_words_release(&w);
	dc_lexicon_free(lex);
	return 0;
}
