/*
 * fuzz_normalize.c - libFuzzer harness for the TTS text normaliser: each
 * input is normalised as text.  It must succeed on valid UTF-8 and fail
 * with DC_EINVAL and no words otherwise; every word must be non-empty
 * lowercase ASCII (a-z and '), or one pause mark for DC_WORD_PUNCT, with
 * a byte range inside the input and a sentence index below nsentences,
 * never decreasing.  Seeds (tests/fuzz/corpus/normalize/): short texts
 * with numbers, currency, dates, times, abbreviations, acronyms, URLs and
 * e-mail addresses, Unicode punctuation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dc_words w;
	enum dc_status st = dc_tts_normalize((const char *)data, size, &w);
	if (st != DC_OK) {
		if (st != DC_EINVAL || w.n || w.v)
			abort();
		dc_words_release(&w);
		return 0;
	}
	for (size_t i = 0; i < w.n; i++) {
		const struct dc_word *d = &w.v[i];
		if (!d->len || strlen(d->text) != d->len || d->begin >= d->end || d->end > size ||
		    d->sentence >= w.nsentences || (i && d->sentence < w.v[i - 1].sentence))
			abort();
		if (d->kind == DC_WORD_PUNCT) {
			if (d->len != 1 || !strchr(",;:.?!", d->text[0]))
				abort();
			continue;
		}
		for (size_t k = 0; k < d->len; k++)
			if (!((d->text[k] >= 'a' && d->text[k] <= 'z') || d->text[k] == '\''))
				abort();
	}
	dc_words_release(&w);
	return 0;
}
