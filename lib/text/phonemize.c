/*
 * phonemize.c - the pronunciation front end for TTS (see phonemize.h for
 * the rules): user lexicon, flite's CMU lexicon, letter-to-sound and
 * pronounceability test, flite's clitic splitting and post-lexical rules,
 * pauses at punctuation.
 *
 * flite is used through four functions: cmu_lex_init() (libflite_cmulex;
 * not declared in flite's installed headers), lex_lookup() and in_lex()
 * (libflite) and us_aswd() (libflite_usenglish).  lex_lookup returns a
 * cst_val list of phone strings such as "ax0" "l" "ow1"; the addenda may
 * return a vowel without a digit ("t ax" for "to"), read as stress 0.
 * Each call that reaches flite holds `flite_mu`: cmu_lex_init fills a
 * global structure on first use, and flite makes no promise about
 * threads.  The user lexicon is a sorted array searched by bisection.
 */
#include "phonemize.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flite/flite.h>

/* libflite_cmulex and libflite_usenglish (declared in headers Debian does not ship) */
cst_lexicon *cmu_lex_init(void);
int us_aswd(const char *word);

#define LEX_MAX_FILE ((size_t)64 << 20)
#define LTS_PIECE 64            /* longest word given to flite as one piece */

/* ---- phone set ------------------------------------------------------------------ */

static const char *const phone_names[DC_NPHONES] = {
	"pau",
	"aa", "ae", "ah", "ao", "aw", "ax", "axr", "ay",
	"b", "ch", "d", "dh", "dx",
	"eh", "el", "em", "en", "er", "ey",
	"f", "g", "hh", "hv",
	"ih", "iy", "jh", "k", "l", "m", "n", "nx", "ng",
	"ow", "oy", "p", "r", "s", "sh", "t", "th",
	"uh", "uw", "v", "w", "y", "z", "zh",
};

/* flite's us_phoneset vc=+ */
static const unsigned char vowel[DC_NPHONES] = {
	[DC_PH_AA] = 1, [DC_PH_AE] = 1, [DC_PH_AH] = 1, [DC_PH_AO] = 1, [DC_PH_AW] = 1,
	[DC_PH_AX] = 1, [DC_PH_AXR] = 1, [DC_PH_AY] = 1, [DC_PH_EH] = 1, [DC_PH_EL] = 1,
	[DC_PH_EM] = 1, [DC_PH_EN] = 1, [DC_PH_ER] = 1, [DC_PH_EY] = 1, [DC_PH_IH] = 1,
	[DC_PH_IY] = 1, [DC_PH_OW] = 1, [DC_PH_OY] = 1, [DC_PH_UH] = 1, [DC_PH_UW] = 1,
};

const char *dc_phone_name(unsigned id)
{
	return id < DC_NPHONES ? phone_names[id] : NULL;
}

int dc_phone_lookup(const char *name, size_t len)
{
	if (!name)
		return -1;
	for (int i = 0; i < DC_NPHONES; i++)
		if (strlen(phone_names[i]) == len && memcmp(phone_names[i], name, len) == 0)
			return i;
	return -1;
}

int dc_phone_is_vowel(unsigned id)
{
	return id < DC_NPHONES && vowel[id];
}

double dc_pause_nominal_s(enum dc_pause p)
{
	switch (p) {
	case DC_PAUSE_START: return 0.17;
	case DC_PAUSE_SHORT: return 0.12;
	case DC_PAUSE_LONG: return 0.14;
	default: return 0;
	}
}

/* ---- user lexicon ----------------------------------------------------------------- */

struct lex_entry {
	size_t word;      /* offset of the NUL-terminated word in words */
	const char *w;    /* words + word, once parsing is done */
	size_t ph, nph;   /* phones[ph .. ph+nph) */
	size_t line;
};

struct dc_lexicon {
	struct lex_entry *e;
	size_t n;
	char *words;
	struct dc_phone *phones;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 16;
	while (c < need) {
		if (c > SIZE_MAX / 2 / elem)
			return -1;
		c *= 2;
	}
	void *q = realloc(*p, c * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static int is_blank(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static int entry_cmp(const void *a, const void *b)
{
	const struct lex_entry *x = a, *y = b;
	int c = strcmp(x->w, y->w);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Print at most 40 bytes of s for a message, as is (the text is UTF-8 or bytes). */
#define SHOW(len) (int)((len) > 40 ? 40 : (len))

enum dc_status dc_lexicon_parse_user(const char *text, size_t len, const char *name,
                                     struct dc_lexicon **out)
{
	if (!out)
		return dc_fail(DC_EINVAL, "dc_lexicon_parse_user: NULL out");
	*out = NULL;
	if (!text && len)
		return dc_fail(DC_EINVAL, "dc_lexicon_parse_user: NULL text");
	if (!name)
		name = "lexicon";
	if (len > LEX_MAX_FILE)
		return dc_fail(DC_ELIMIT, "%s: larger than %zu bytes", name, LEX_MAX_FILE);
	struct dc_lexicon *L = calloc(1, sizeof *L);
	if (!L)
		return dc_fail(DC_ENOMEM, "%s: out of memory", name);
	size_t ecap = 0, wlen = 0, wcap = 0, pn = 0, pcap = 0;
	enum dc_status st = DC_OK;
	size_t i = 0, line = 0;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && !st) {
		line++;
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		size_t next = e + 1;
		const char *nul = memchr(text + i, 0, e - i);
		if (nul) {
			st = dc_fail(DC_EFORMAT, "%s:%zu: NUL byte", name, line);
			break;
		}
		const char *hash = memchr(text + i, '#', e - i);
		if (hash)
			e = (size_t)(hash - text);
		while (i < e && is_blank((unsigned char)text[i]))
			i++;
		while (e > i && is_blank((unsigned char)text[e - 1]))
			e--;
		if (i == e) {
			i = next;
			continue;
		}
		/* the word */
		size_t ws = i;
		while (i < e && !is_blank((unsigned char)text[i]))
			i++;
		size_t wl = i - ws;
		int letters = 0, bad = 0;
		for (size_t k = ws; k < ws + wl; k++) {
			int c = (unsigned char)text[k];
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
				letters = 1;
			else if (c != '\'')
				bad = 1;
		}
		if (bad || !letters) {
			st = dc_fail(DC_EFORMAT, "%s:%zu: word '%.*s' must be letters and apostrophes, "
			             "with at least one letter", name, line, SHOW(wl), text + ws);
			break;
		}
		if (grow((void **)&L->e, &ecap, L->n + 1, sizeof *L->e) ||
		    wl > SIZE_MAX - 1 - wlen || grow((void **)&L->words, &wcap, wlen + wl + 1, 1)) {
			st = dc_fail(DC_ENOMEM, "%s: out of memory", name);
			break;
		}
		struct lex_entry *en = &L->e[L->n];
		en->word = wlen;
		en->ph = pn;
		en->nph = 0;
		en->line = line;
		for (size_t k = 0; k < wl; k++) {
			int c = (unsigned char)text[ws + k];
			L->words[wlen++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		L->words[wlen++] = 0;
		/* the phones */
		for (;;) {
			while (i < e && is_blank((unsigned char)text[i]))
				i++;
			if (i == e)
				break;
			size_t ps = i;
			while (i < e && !is_blank((unsigned char)text[i]))
				i++;
			size_t pl = i - ps;
			int stress = -1;
			size_t nl = pl;
			if (text[ps + pl - 1] >= '0' && text[ps + pl - 1] <= '9') {
				stress = text[ps + pl - 1] - '0';
				nl--;
			}
			int id = dc_phone_lookup(text + ps, nl);
			if (id < 0 || nl == 0) {
				st = dc_fail(DC_EFORMAT, "%s:%zu: unknown phone '%.*s'", name, line,
				             SHOW(pl), text + ps);
				break;
			}
			if (id == DC_PH_PAU) {
				st = dc_fail(DC_EFORMAT, "%s:%zu: 'pau' is not allowed in a pronunciation",
				             name, line);
				break;
			}
			if (vowel[id] && stress < 0) {
				st = dc_fail(DC_EFORMAT, "%s:%zu: vowel '%s' needs a stress digit 0, 1 or 2",
				             name, line, phone_names[id]);
				break;
			}
			if (vowel[id] && stress > 2) {
				st = dc_fail(DC_EFORMAT, "%s:%zu: stress of '%.*s' must be 0, 1 or 2", name,
				             line, SHOW(pl), text + ps);
				break;
			}
			if (!vowel[id] && stress >= 0) {
				st = dc_fail(DC_EFORMAT, "%s:%zu: '%.*s': only vowels carry stress", name,
				             line, SHOW(pl), text + ps);
				break;
			}
			if (grow((void **)&L->phones, &pcap, pn + 1, sizeof *L->phones)) {
				st = dc_fail(DC_ENOMEM, "%s: out of memory", name);
				break;
			}
			L->phones[pn++] = (struct dc_phone){ (uint8_t)id, (int8_t)stress, DC_PAUSE_NONE,
			                                     DC_PRON_USER, 0 };
			en->nph++;
		}
		if (st)
			break;
		if (!en->nph) {
			st = dc_fail(DC_EFORMAT, "%s:%zu: '%s' has no phones (expected word<TAB>phones)",
			             name, line, L->words + en->word);
			break;
		}
		L->n++;
		i = next;
	}
	if (!st) {
		for (size_t k = 0; k < L->n; k++)
			L->e[k].w = L->words + L->e[k].word;
		if (L->n > 1)
			qsort(L->e, L->n, sizeof *L->e, entry_cmp);
		for (size_t k = 1; k < L->n; k++)
			if (strcmp(L->e[k].w, L->e[k - 1].w) == 0) {
				st = dc_fail(DC_EFORMAT, "%s:%zu: '%s' is already defined on line %zu", name,
				             L->e[k].line, L->e[k].w, L->e[k - 1].line);
				break;
			}
	}
	if (st) {
		dc_lexicon_free(L);
		return st;
	}
	*out = L;
	return DC_OK;
}

enum dc_status dc_lexicon_load_user(const char *path, struct dc_lexicon **out)
{
	if (!out || !path)
		return dc_fail(DC_EINVAL, "dc_lexicon_load_user: NULL argument");
	*out = NULL;
	char *buf;
	size_t n;
	enum dc_status st = dc_read_file(path, LEX_MAX_FILE, &buf, &n);
	if (st)
		return st;
	st = dc_lexicon_parse_user(buf, n, path, out);
	free(buf);
	return st;
}

void dc_lexicon_free(struct dc_lexicon *lex)
{
	if (!lex)
		return;
	free(lex->e);
	free(lex->words);
	free(lex->phones);
	free(lex);
}

size_t dc_lexicon_count(const struct dc_lexicon *lex)
{
	return lex ? lex->n : 0;
}

/* The entry for word s (len bytes, lower case), or NULL. */
static const struct lex_entry *lex_find(const struct dc_lexicon *L, const char *s, size_t len)
{
	if (!L)
		return NULL;
	size_t lo = 0, hi = L->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *w = L->e[mid].w;
		int c = strncmp(w, s, len);
		if (c == 0 && w[len])
			c = 1;
		if (c == 0)
			return &L->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- output ------------------------------------------------------------------------ */

struct ph {
	struct dc_phones *out;
	const struct dc_lexicon *user;
	unsigned flags;
	size_t word;
	int no_spell;      /* the word came from a number ("thousandth"): never spell it */
	enum dc_status err;
};

static void push(struct ph *z, int id, int stress, enum dc_pause pause, enum dc_pron_src src,
                 size_t word)
{
	struct dc_phones *o = z->out;
	if (z->err)
		return;
	if (grow((void **)&o->v, &o->cap, o->n + 1, sizeof *o->v)) {
		z->err = dc_fail(DC_ENOMEM, "phonemize: out of memory");
		return;
	}
	o->v[o->n++] = (struct dc_phone){ (uint8_t)id, (int8_t)(vowel[id] ? stress : -1),
	                                  (uint8_t)pause, (uint8_t)src, word };
}

static void push_pause(struct ph *z, enum dc_pause p, size_t word)
{
	struct dc_phones *o = z->out;
	if (o->n && o->v[o->n - 1].id == DC_PH_PAU) {
		struct dc_phone *l = &o->v[o->n - 1];
		if (l->pause != DC_PAUSE_START && p > l->pause)
			l->pause = (uint8_t)p;
		return;
	}
	push(z, DC_PH_PAU, -1, p, DC_PRON_NONE, word);
}

/* ---- flite ------------------------------------------------------------------------ */

static pthread_mutex_t flite_mu = PTHREAD_MUTEX_INITIALIZER;
static cst_lexicon *cmulex;

/* Append the phones of a flite phone list.  Called with flite_mu held. */
static void push_val(struct ph *z, const cst_val *v, enum dc_pron_src src)
{
	for (; v && !z->err; v = val_cdr(v)) {
		const char *s = val_string(val_car(v));
		size_t n = s ? strlen(s) : 0;
		int stress = 0;
		if (n && s[n - 1] >= '0' && s[n - 1] <= '2') {
			stress = s[n - 1] - '0';
			n--;
		}
		int id = dc_phone_lookup(s, n);
		if (id <= 0) {
			z->err = dc_fail(DC_EFORMAT, "phonemize: flite returned unknown phone '%s'",
			                 s ? s : "(null)");
			return;
		}
		push(z, id, stress, DC_PAUSE_NONE, src, z->word);
	}
}

/* The letter name of c (a-z).  Called with flite_mu held. */
static void flite_letter(struct ph *z, char c)
{
	char s[2] = { c, 0 };
	cst_val *v = lex_lookup(cmulex, s, "n", NULL);
	push_val(z, v, DC_PRON_LETTERS);
	delete_val(v);
}

/*
 * Phones of a word s (len > 0 bytes) from flite.  A clitic ("'s") goes
 * straight to lex_lookup; a plain word (a-z) may be spelled or cut into
 * pieces as phonemize.h says.
 */
static void flite_word(struct ph *z, const char *s, size_t len, int clitic)
{
	char buf[LTS_PIECE + 1];
	pthread_mutex_lock(&flite_mu);
	if (!cmulex)
		cmulex = cmu_lex_init();
	if (len > LTS_PIECE) {
		for (size_t i = 0; i < len && !z->err; i += LTS_PIECE) {
			size_t k = len - i < LTS_PIECE ? len - i : LTS_PIECE;
			memcpy(buf, s + i, k);
			buf[k] = 0;
			cst_val *v = lts_apply(buf, "", cmulex->lts_rule_set);
			push_val(z, v, DC_PRON_FLITE);
			delete_val(v);
		}
	} else {
		memcpy(buf, s, len);
		buf[len] = 0;
		/* as flite's us_tokentowords_one: spell a word that is neither listed
		   (in_lex is false too for the words left out of flite's lexicon
		   because its rules get them right) nor pronounceable */
		if (!clitic && !z->no_spell && len > 1 && !in_lex(cmulex, buf, NULL, NULL) &&
		    !us_aswd(buf)) {
			for (size_t i = 0; i < len && !z->err; i++)
				flite_letter(z, buf[i]);
		} else {
			cst_val *v = lex_lookup(cmulex, buf, NULL, NULL);
			push_val(z, v, DC_PRON_FLITE);
			delete_val(v);
		}
	}
	pthread_mutex_unlock(&flite_mu);
}

/* A piece without apostrophes, or a clitic: the user lexicon, else flite. */
static void lookup(struct ph *z, const char *s, size_t len, int clitic)
{
	if (!len || z->err)
		return;
	const struct lex_entry *e = lex_find(z->user, s, len);
	if (e) {
		for (size_t i = 0; i < e->nph; i++) {
			const struct dc_phone *p = &z->user->phones[e->ph + i];
			push(z, p->id, p->stress, DC_PAUSE_NONE, DC_PRON_USER, z->word);
		}
		return;
	}
	flite_word(z, s, len, clitic);
}

static int voiceless(int id)
{
	return id == DC_PH_P || id == DC_PH_T || id == DC_PH_K || id == DC_PH_F || id == DC_PH_TH ||
	       id == DC_PH_HH || id == DC_PH_PAU;
}

/*
 * The post-lexical rule for the clitic whose first phone is at index at:
 * flite's cmu_postlex apostrophe_s, or festival's postlex_apos_s_check.
 */
static void clitic_rule(struct ph *z, size_t at, const char *clitic)
{
	struct dc_phones *o = z->out;
	if (z->err || at >= o->n)
		return;
	int prev = at ? o->v[at - 1].id : DC_PH_PAU;
	int sibilant = prev == DC_PH_S || prev == DC_PH_Z || prev == DC_PH_SH || prev == DC_PH_ZH ||
	               prev == DC_PH_CH || prev == DC_PH_JH;
	int schwa = 0, devoice = 0;
	if (strcmp(clitic, "'s") == 0) {
		schwa = sibilant;
		if (z->flags & DC_PHONEMIZE_FESTIVAL)
			devoice = voiceless(prev) || prev == DC_PH_S || prev == DC_PH_SH || prev == DC_PH_CH;
		else
			devoice = !sibilant && voiceless(prev);
	} else {
		schwa = !vowel[prev];  /* 've 'll 'd after a consonant or a pause */
	}
	if (devoice && o->v[at].id == DC_PH_Z) {
		o->v[at].id = DC_PH_S;
		o->v[at].src = DC_PRON_RULE;
	}
	if (schwa) {
		push(z, DC_PH_AX, 0, DC_PAUSE_NONE, DC_PRON_RULE, z->word);
		if (z->err)
			return;
		memmove(&o->v[at + 1], &o->v[at], (o->n - 1 - at) * sizeof *o->v);
		o->v[at] = (struct dc_phone){ DC_PH_AX, 0, DC_PAUSE_NONE, DC_PRON_RULE, z->word };
	}
}

/*
 * A word (len bytes a-z and '), as flite's us_tokentowords_one reads an
 * apostrophe: a final 's 'll 've 'd (or 'tve) is a clitic, any other last
 * apostrophe is dropped, and the rest is read again.
 */
static void word_apos(struct ph *z, char *s, size_t len, int depth)
{
	size_t q = len;
	while (q > 0 && s[q - 1] != '\'')
		q--;
	if (q == 0 || depth > 64) {
		/* no apostrophe (or absurdly many: drop them all) */
		size_t k = 0;
		for (size_t i = 0; i < len; i++)
			if (s[i] != '\'')
				s[k++] = s[i];
		lookup(z, s, k, 0);
		return;
	}
	size_t p = q - 1;  /* the last apostrophe */
	const char *suf = s + p;
	size_t sl = len - p;
	static const char *const clitics[] = { "'s", "'ll", "'ve", "'d" };
	for (size_t c = 0; c < sizeof clitics / sizeof *clitics; c++)
		if (sl == strlen(clitics[c]) && memcmp(suf, clitics[c], sl) == 0) {
			word_apos(z, s, p, depth + 1);
			size_t at = z->out->n;
			lookup(z, clitics[c], sl, 1);
			clitic_rule(z, at, clitics[c]);
			return;
		}
	if (sl == 4 && memcmp(suf, "'tve", 4) == 0) {
		word_apos(z, s, p + 2, depth + 1);
		size_t at = z->out->n;
		lookup(z, "'ve", 3, 1);
		clitic_rule(z, at, "'ve");
		return;
	}
	memmove(s + p, s + p + 1, len - p - 1);
	word_apos(z, s, len - 1, depth + 1);
}

/* ---- phonemize --------------------------------------------------------------------- */

static enum dc_pause pause_of(char c)
{
	return c == ',' || c == ';' || c == ':' ? DC_PAUSE_SHORT : DC_PAUSE_LONG;
}

enum dc_status dc_phonemize(const struct dc_words *w, const struct dc_lexicon *user,
                            unsigned flags, struct dc_phones *out)
{
	if (!out)
		return dc_fail(DC_EINVAL, "dc_phonemize: NULL out");
	memset(out, 0, sizeof *out);
	if (!w || (w->n && !w->v))
		return dc_fail(DC_EINVAL, "dc_phonemize: NULL words");
	struct ph z = { .out = out, .user = user, .flags = flags, .err = DC_OK };
	char *buf = NULL;
	size_t bcap = 0;
	int any = 0;  /* a phone other than a pause */
	for (size_t i = 0; i < w->n && !z.err; i++) {
		const struct dc_word *d = &w->v[i];
		if (!d->text) {
			z.err = dc_fail(DC_EINVAL, "dc_phonemize: word %zu has NULL text", i);
			break;
		}
		z.word = i;
		z.no_spell = d->kind == DC_WORD_NUMBER;
		if (d->kind == DC_WORD_PUNCT) {
			if (out->n)
				push_pause(&z, pause_of(d->len ? d->text[0] : '.'), i);
			continue;
		}
		if (!out->n)
			push_pause(&z, DC_PAUSE_START, DC_NO_WORD);
		/* clean copy: lower case a-z and ' */
		if (grow((void **)&buf, &bcap, d->len + 1, 1)) {
			z.err = dc_fail(DC_ENOMEM, "phonemize: out of memory");
			break;
		}
		size_t k = 0;
		for (size_t j = 0; j < d->len; j++) {
			int c = (unsigned char)d->text[j];
			if (c >= 'A' && c <= 'Z')
				c += 32;
			if ((c >= 'a' && c <= 'z') || c == '\'')
				buf[k++] = (char)c;
		}
		buf[k] = 0;
		size_t before = out->n;
		if (d->kind == DC_WORD_SPELLED && k == 1 && buf[0] != '\'') {
			pthread_mutex_lock(&flite_mu);
			if (!cmulex)
				cmulex = cmu_lex_init();
			flite_letter(&z, buf[0]);
			pthread_mutex_unlock(&flite_mu);
		} else {
			const struct lex_entry *e = lex_find(user, buf, k);
			if (e)
				lookup(&z, buf, k, 0);
			else
				word_apos(&z, buf, k, 0);
		}
		if (out->n > before)
			any = 1;
	}
	free(buf);
	if (!z.err && any) {
		/* close with a long pause */
		struct dc_phone *l = &out->v[out->n - 1];
		if (l->id == DC_PH_PAU)
			l->pause = DC_PAUSE_LONG;
		else
			push(&z, DC_PH_PAU, -1, DC_PAUSE_LONG, DC_PRON_NONE, DC_NO_WORD);
	}
	if (!z.err && any && !(flags & DC_PHONEMIZE_FESTIVAL)) {
		/* "the" + vowel: ax -> iy */
		for (size_t i = 0; i + 1 < out->n; i++) {
			struct dc_phone *p = &out->v[i];
			if (p->id != DC_PH_AX || p->word == DC_NO_WORD || !vowel[out->v[i + 1].id])
				continue;
			const struct dc_word *d = &w->v[p->word];
			if (d->len == 3 && (d->text[0] | 32) == 't' && (d->text[1] | 32) == 'h' &&
			    (d->text[2] | 32) == 'e') {
				p->id = DC_PH_IY;
				p->src = DC_PRON_RULE;
			}
		}
	}
	if (z.err || !any)
		dc_phones_release(out);
	return z.err;
}

void dc_phones_release(struct dc_phones *p)
{
	if (!p)
		return;
	free(p->v);
	memset(p, 0, sizeof *p);
}

enum dc_status dc_phones_format(const struct dc_phones *p, char **out)
{
	if (!out)
		return dc_fail(DC_EINVAL, "dc_phones_format: NULL out");
	*out = NULL;
	if (!p || (p->n && !p->v))
		return dc_fail(DC_EINVAL, "dc_phones_format: NULL phones");
	size_t cap;
	if (dc_mul_size(p->n, 5, &cap) || dc_add_size(cap, 1, &cap))
		return dc_fail(DC_EOVERFLOW, "dc_phones_format: too many phones");
	char *s = malloc(cap);
	if (!s)
		return dc_fail(DC_ENOMEM, "dc_phones_format: out of memory");
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++) {
		const char *nm = dc_phone_name(p->v[i].id);
		if (!nm)
			nm = "?";
		if (i)
			s[k++] = ' ';
		size_t l = strlen(nm);
		memcpy(s + k, nm, l);
		k += l;
		if (dc_phone_is_vowel(p->v[i].id) && p->v[i].stress >= 0 && p->v[i].stress <= 9)
			s[k++] = (char)('0' + p->v[i].stress);
	}
	s[k] = 0;
	*out = s;
	return DC_OK;
}
