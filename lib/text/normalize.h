/*
 * normalize.h - English text normalisation for text-to-speech: UTF-8 text
 * in, the words to speak out (lowercase ASCII), with pause marks kept as
 * tokens of their own, sentence boundaries, and for every word the byte
 * range of the input it came from (for word timestamps).
 *
 * What is read how (lib/text/normalize.c has the full rules):
 *
 *   numbers      "1,299" "-5" "3.14" -> cardinals, American style without
 *                "and" ("one thousand two hundred ninety nine", "minus
 *                five", "three point one four"), up to 999 quadrillion
 *                with separators; a bare run of more than 15 digits, or a
 *                number with a leading zero ("007"), is read digit by digit
 *   ordinals     "1st" "22nd" "103rd" -> "first" "twenty second" ...
 *   years        a bare 4-digit integer 1100-2099 (no sign, separator,
 *                decimals, currency or "%", not followed by a unit or a
 *                counted noun such as "dollars", "people", "km") is a year:
 *                "1999" "nineteen ninety nine", "1905" "nineteen oh five",
 *                "1900" "nineteen hundred", "2000" "two thousand", "2005"
 *                "two thousand five", "2024" "twenty twenty four"; "1990s"
 *                "nineteen nineties", "'90s" "nineties", "1999's" "nineteen
 *                ninety nine's"
 *   currency     $ £ € ¥ before (or right after) an amount: "$1,299.99"
 *                "... dollars and ninety nine cents", "$1" "one dollar",
 *                "$0.99" "ninety nine cents", "$1.5" "one point five
 *                dollars"
 *   percent      "50%" "fifty percent"
 *   times        "12:30" "twelve thirty", "9:05 am" "nine oh five a m",
 *                "9:00" "nine o'clock", "14:00" "fourteen hundred"
 *   dates        "2024-11-28" and "11/28/2024" "november twenty eighth
 *                twenty twenty four"
 *   ranges       "1990-1995" "nineteen ninety to nineteen ninety five";
 *                digit groups joined by "-" that are not a date or a short
 *                range ("555-1234", "1-800-555-0199") are read digit by digit
 *   abbreviations Mr Mrs Ms Dr (doctor; drive after a capitalised word and
 *                not before one) St (street after a capitalised word or a
 *                number, else saint before a capitalised word, else street)
 *                Jr Sr Prof Mt vs etc e.g. i.e., "No." before a number;
 *                with a period only: months, Ave, Rd, Inc, Ltd, Fig, Vol...
 *   acronyms     an all-capitals word of 2-5 letters is spelled when it has
 *                no vowel (A E I O U) or is in a short spell list (FBI USA
 *                CPU URL API ...), else read as a word ("NASA" "nasa");
 *                a single capital letter other than "A" and "I" is spelled
 *                ("A" too after a capitalised word or before another single
 *                capital: "Plan A", "A B C");
 *                "A.B.C." and "a.m." are spelled
 *   units        km kg cm mm mg ml lb oz ft mph kb mb gb tb hz khz mhz ghz
 *                ms hr min right after a number, singular after 1
 *   URLs, e-mail spelled: runs of letters with a vowel are read as words,
 *                others letter by letter, digits as numbers (up to 4) or
 *                one by one, symbols named: "someone@example.org" "someone
 *                at example dot org", "https://example.com/a?b=c" "h t t p s
 *                colon slash slash example dot com slash a question mark b
 *                equals c"
 *   symbols      & and, % percent, + plus, = equals, @ at, # number (before
 *                a digit) / hash, / slash, ° degrees, × times
 *   Unicode      curly quotes, primes and guillemets are quotes; hyphens,
 *                en dash, minus sign are "-"; em dash is a "," pause; "…" is
 *                "..."; no-break and other spaces are spaces; fullwidth
 *                ASCII and Latin-1 letters fold to ASCII ("café" "cafe");
 *                every other character is dropped
 *
 * Punctuation: a run of , ; : . ? ! (or an em dash, or a lone "-") becomes
 * one token, its strongest member (? ! . ; : , in that order; "..." is ".").
 * Quotes and brackets are dropped.  A "." "?" or "!" token ends a sentence
 * when the next word starts with a capital letter or a digit (after any
 * quotes or brackets) or nothing follows.  The period of an abbreviation,
 * an initialism or a decimal does not end a sentence, except after "etc."
 * and "St." read as street when a capital follows (they then produce a "."
 * token).  No punctuation token starts the output or a sentence.
 *
 * Everything is linear in the input; no global state; thread-safe.
 */
#ifndef DC_NORMALIZE_H
#define DC_NORMALIZE_H

#include <stddef.h>

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

enum dc_word_kind {
	DC_WORD_WORD,    /* an ordinary word, looked up in the lexicon */
	DC_WORD_SPELLED, /* a letter name: text is the letter, "a".."z" */
	DC_WORD_NUMBER,  /* a word that a number was read as ("twenty") */
	DC_WORD_PUNCT,   /* a pause mark: "," ";" ":" "." "?" "!" */
};

struct dc_word {
	const char *text;     /* NUL-terminated lowercase ASCII (a-z, ' or punct) */
	size_t len;           /* strlen(text) */
	enum dc_word_kind kind;
	size_t begin, end;    /* byte range [begin, end) of the input it came from */
	size_t sentence;      /* 0-based index of its sentence */
};

struct dc_words {
	struct dc_word *v;    /* n words, in order */
	size_t n;
	size_t nsentences;    /* sentences holding at least one word (0 for no words) */
	/* private */
	size_t cap;
	char *pool;
	size_t pool_len, pool_cap;
};

/*
 * Normalise `len` bytes of UTF-8 `text` (NUL bytes allowed, dropped) into
 * *out, which need not be initialised and is overwritten; the caller
 * releases it with dc_words_release(), after success or failure.
 * Invalid UTF-8 (overlong forms, surrogates, > U+10FFFF, truncated
 * sequences), a NULL out, or NULL text with len > 0: DC_EINVAL (out empty).
 * More than 256 MiB: DC_ELIMIT.  DC_ENOMEM on allocation failure.  Empty or
 * blank text gives zero words and DC_OK.
 */
enum dc_status dc_tts_normalize(const char *text, size_t len, struct dc_words *out);

/* Free the words and their strings; *w becomes empty.  NULL is a no-op. */
void dc_words_release(struct dc_words *w);

#ifdef __cplusplus
}
#endif

#endif
