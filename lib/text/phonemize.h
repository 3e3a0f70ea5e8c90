/*
 * phonemize.h - the pronunciation front end for text-to-speech: the words
 * of dc_tts_normalize() in, a sequence of phones out, each with its stress,
 * its pause class and the index of the word it came from (so phone timings
 * map to words and, through struct dc_word's begin/end, to input bytes).
 *
 * Phones are the CMU "radio" set that festival and flite use (festival's
 * radio_phones.scm, flite's us_phoneset): pau plus 47 phones, listed with
 * their ids in enum dc_phone_id.  Vowels (those of flite's phone set with
 * vc=+, including the syllabic el em en) carry a stress 0 1 or 2; the CMU
 * lexicon as shipped by flite and festival uses only 0 and 1, a user
 * lexicon may use 2.  dx hv nx axr el em en are in the set for labels and
 * user lexicons; the CMU lexicon never produces them.
 *
 * Where a word's phones come from, in order:
 *
 *   1. the user lexicon (dc_lexicon_load_user), on the word as written;
 *   2. words with an apostrophe are split as flite splits them: a final
 *      's 'll 've 'd is a clitic read after its base ("john's" = "john" +
 *      "'s"), any other apostrophe is dropped ("don't" = "dont",
 *      "o'clock" = "oclock"); each piece goes through 1 and 3;
 *   3. flite's CMU lexicon and letter-to-sound rules (libflite_cmulex's
 *      lex_lookup; part of speech unknown, so a homograph gets the
 *      lexicon's first entry: "read" r eh1 d, "live" l ay1 v, "does" d
 *      ow1 z), except, as in flite's text analysis, that a word the
 *      lexicon does not list (it leaves out the words its rules get
 *      right) and that flite would not pronounce as a word (us_aswd:
 *      "xkcd", "mmm") is spelled out letter by letter (never a word a number
 *      was read as, DC_WORD_NUMBER: "thousandth"); a word of more than
 *      64 letters is read by letter-to-sound in pieces of 64 letters.
 *
 * Letters spelled by the normaliser (DC_WORD_SPELLED) are read as letter
 * names (the lexicon's noun entries: "a" ey1, "w" d ah1 b ax0 l y uw0),
 * never through the user lexicon.  Then the post-lexical rules, flite's
 * by default: "'s" is "ax z" after s z sh zh ch jh and "s" after p t k f
 * th hh (or a pause); "'ve" "'ll" "'d" take an "ax" after a consonant;
 * the "ax" of "the" becomes "iy" before a vowel ("the apple" dh iy0 ae1
 * p ax0 l).  With DC_PHONEMIZE_FESTIVAL, those of festival's slt voice
 * (the TTS teacher; its postlex_rules_hooks is postlex_apos_s_check
 * alone): "'s" is "ax s" after s sh ch, "ax z" after z zh jh, "s" after
 * p t k f th hh, and "the" keeps "ax".  A word may give no phones (it is
 * then absent from the sequence).
 *
 * Pauses (id DC_PH_PAU, stress -1) and their classes, with nominal
 * lengths (dc_pause_nominal_s: the means of festival slt's pauses on the
 * 180 sentences of tests/golden/phonemize, rounded):
 *
 *   DC_PAUSE_START  the pause that opens the sequence (word DC_NO_WORD),
 *                   as festival and flite open every utterance; 0.17 s
 *   DC_PAUSE_SHORT  at a "," ";" or ":" token (the normaliser also turns
 *                   an em dash or a lone "-" into ","); 0.12 s
 *   DC_PAUSE_LONG   at a "." "?" or "!" token, and closing the sequence
 *                   (a final short pause becomes long; without final
 *                   punctuation one is added, word DC_NO_WORD); 0.14 s
 *
 * A pause from punctuation belongs to that punctuation token's word index.
 * Two pauses never follow each other (the stronger class is kept, START
 * stays START).  Empty input, or words that give no phones, give an empty
 * sequence.  There is no phrase-break prediction: festival's slt voice
 * also pauses where no punctuation is (its POS n-gram phrasing, about one
 * sentence in three) and now and then not at a comma.
 *
 * flite's lexicon functions are not thread-safe; calls into it are
 * serialised by a mutex inside this module, so every function here may be
 * called from any number of threads at once (other code calling flite's
 * lexicon in the same process is not covered by that mutex).  flite
 * itself exits the process if malloc fails inside it.
 *
 * Goldens and agreement figures: tests/golden/make_phonemize.sh,
 * tests/unit/test_phonemize.c.
 */
#ifndef DC_PHONEMIZE_H
#define DC_PHONEMIZE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "normalize.h"

#ifdef __cplusplus
extern "C" {
#endif

enum dc_phone_id {
	DC_PH_PAU = 0,
	DC_PH_AA, DC_PH_AE, DC_PH_AH, DC_PH_AO, DC_PH_AW, DC_PH_AX, DC_PH_AXR, DC_PH_AY,
	DC_PH_B, DC_PH_CH, DC_PH_D, DC_PH_DH, DC_PH_DX,
	DC_PH_EH, DC_PH_EL, DC_PH_EM, DC_PH_EN, DC_PH_ER, DC_PH_EY,
	DC_PH_F, DC_PH_G, DC_PH_HH, DC_PH_HV,
	DC_PH_IH, DC_PH_IY, DC_PH_JH, DC_PH_K, DC_PH_L, DC_PH_M, DC_PH_N, DC_PH_NX, DC_PH_NG,
	DC_PH_OW, DC_PH_OY, DC_PH_P, DC_PH_R, DC_PH_S, DC_PH_SH, DC_PH_T, DC_PH_TH,
	DC_PH_UH, DC_PH_UW, DC_PH_V, DC_PH_W, DC_PH_Y, DC_PH_Z, DC_PH_ZH,
	DC_NPHONES /* 48 */
};

enum dc_pause {
	DC_PAUSE_NONE = 0,  /* not a pause */
	DC_PAUSE_START,
	DC_PAUSE_SHORT,
	DC_PAUSE_LONG,
};

/* Where a phone's pronunciation came from (for diagnostics). */
enum dc_pron_src {
	DC_PRON_NONE = 0,   /* a pause */
	DC_PRON_USER,       /* the user lexicon */
	DC_PRON_FLITE,      /* flite's CMU lexicon or letter-to-sound rules (its lexicon
	                       leaves out the words the rules get right, so the two
	                       cannot be told apart) */
	DC_PRON_LETTERS,    /* letter names: spelled by the normaliser or as unpronounceable */
	DC_PRON_RULE,       /* inserted or changed by a post-lexical rule */
};

#define DC_NO_WORD ((size_t)-1)

struct dc_phone {
	uint8_t id;      /* enum dc_phone_id */
	int8_t stress;   /* vowels: 0, 1 or 2; other phones and pauses: -1 */
	uint8_t pause;   /* enum dc_pause: DC_PAUSE_NONE unless id is DC_PH_PAU */
	uint8_t src;     /* enum dc_pron_src */
	size_t word;     /* index into the dc_words it came from, or DC_NO_WORD */
};

struct dc_phones {
	struct dc_phone *v;  /* n phones, in order */
	size_t n;
	/* private */
	size_t cap;
};

/* "aa" for DC_PH_AA ...; NULL for an id >= DC_NPHONES. */
const char *dc_phone_name(unsigned id);

/* The id of phone `name` (len bytes, no stress digit, lower case), or -1. */
int dc_phone_lookup(const char *name, size_t len);

/* 1 for the vowels (the phones that carry stress), else 0. */
int dc_phone_is_vowel(unsigned id);

/* Nominal length in seconds of a pause class (0 for DC_PAUSE_NONE). */
double dc_pause_nominal_s(enum dc_pause p);

/* ---- user lexicon ---------------------------------------------------------- */

/*
 * A user lexicon: a UTF-8 text file of lines "word<TAB>phones", e.g.
 *
 *     # project names
 *     diffcore	d ih1 f k ao0 r
 *     flite	f l ay1 t
 *
 * The word is letters and apostrophes (folded to lower case; it matches
 * the normaliser's words, so "diffcore's" finds "diffcore" too); spaces
 * may stand for the tab.  Phones are separated by spaces or tabs; each is
 * a phone name of enum dc_phone_id, a vowel with a stress digit 0 1 or 2
 * ("ih1"), a consonant without.  "#" starts a comment to the end of the
 * line; blank lines are skipped; a UTF-8 byte-order mark, CR LF line ends
 * are accepted.  A bad line (unknown phone, vowel without stress, stress
 * on a consonant, "pau", a word with other characters, a word without
 * phones, a word defined twice) fails the whole file with DC_EFORMAT and
 * a message naming it: "lex.txt:3: unknown phone 'xx'".  Files over
 * 64 MiB: DC_ELIMIT.  Immutable once loaded; shareable between threads.
 */
struct dc_lexicon;

/* Load the file `path`; on failure *out is NULL (missing file: DC_ENOTFOUND,
 * else DC_EIO).  Free with dc_lexicon_free(). */
enum dc_status dc_lexicon_load_user(const char *path, struct dc_lexicon **out);

/* The same over `len` bytes of text in memory; `name` (NULL: "lexicon")
 * prefixes the error messages. */
enum dc_status dc_lexicon_parse_user(const char *text, size_t len, const char *name,
                                     struct dc_lexicon **out);

void dc_lexicon_free(struct dc_lexicon *lex);  /* NULL is a no-op */

/* Number of entries. */
size_t dc_lexicon_count(const struct dc_lexicon *lex);

/* ---- phonemizing ----------------------------------------------------------- */

/* Flags of dc_phonemize(). */
#define DC_PHONEMIZE_FESTIVAL 1u  /* festival's post-lexical rules, not flite's */

/*
 * Turn the words `w` (as dc_tts_normalize makes them: lower case letters
 * and apostrophes; other bytes of a word are ignored, upper case folded)
 * into phones, looking words up in `user` first (NULL: none); `flags` 0
 * or DC_PHONEMIZE_FESTIVAL (other bits are ignored).  *out need
 * not be initialised and is overwritten; the caller releases it with
 * dc_phones_release(), after success or failure (on failure it is empty).
 * A NULL w or out, or a word with NULL text: DC_EINVAL.  DC_ENOMEM on
 * allocation failure; DC_EFORMAT if flite returns a phone outside the set
 * (a broken libflite).
 */
enum dc_status dc_phonemize(const struct dc_words *w, const struct dc_lexicon *user,
                            unsigned flags, struct dc_phones *out);

/* Free the phones; *p becomes empty.  NULL is a no-op. */
void dc_phones_release(struct dc_phones *p);

/*
 * Render phones as text, space-separated, vowels with their stress digit,
 * pauses as "pau": "pau hh ax0 l ow1 w er1 l d pau".  *out is a NUL-
 * terminated malloc'd string the caller frees (""  for no phones).
 */
enum dc_status dc_phones_format(const struct dc_phones *p, char **out);

#ifdef __cplusplus
}
#endif

#endif
