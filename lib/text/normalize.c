/*
 * normalize.c - English text normalisation for TTS (see normalize.h for
 * what is read how).
 *
 * Two passes.  The first decodes and validates the UTF-8 and folds it to
 * an ASCII buffer (Unicode punctuation mapped, Latin-1 letters folded,
 * currency/degree/times signs turned into the private bytes 1..5, other
 * characters dropped), remembering for each ASCII byte the input byte
 * range it came from.  The second cuts the ASCII at white space into
 * chunks; each chunk loses its leading quotes/brackets and its trailing
 * quotes/brackets/punctuation (which become one pause token), and its
 * core is either spelled as a URL/e-mail address or scanned left to right
 * by a number reader, a letter-run reader (abbreviations, initialisms,
 * acronyms, units) and a symbol reader.  A reader may look at the next
 * chunk (year vs. count, am/pm, St/Dr, sentence ends) but never consumes
 * it, so the whole thing is linear in the input.
 */
#include "normalize.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NZ_MAX_INPUT ((size_t)256 << 20)

/* private bytes of the ASCII form */
#define CH_POUND  '\x01'
#define CH_EURO   '\x02'
#define CH_YEN    '\x03'
#define CH_DEGREE '\x04'
#define CH_TIMES  '\x05'

struct nz {
	char *a;            /* ASCII form, n bytes (+ NUL padding) */
	size_t n;
	size_t *ob, *oe;    /* input byte range of a[i] */
	struct dc_words *out;
	enum dc_status err;
	/* context of the last token read */
	int prev_cap;       /* a capitalised word or a number */
	int prev_title;     /* a title (Dr. Mr. Mrs. Ms. Prof. Gen. Gov. Sgt. Capt.): a name follows */
	int prev_num;       /* a number (for units, am/pm) */
	int prev_one;       /* ... equal to 1 */
	int prev_time;      /* a time or a number up to 12 */
	size_t cs, ce;      /* the chunk being read */
	size_t skip, skip_end; /* a word of the next chunk already read ("$5 million") */
};

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static int is_alnum(int c) { return is_alpha(c) || is_digit(c); }
static int is_cur(int c) { return c == '$' || c == CH_POUND || c == CH_EURO || c == CH_YEN; }
static int lower(int c) { return is_upper(c) ? c + 32 : c; }
static int is_vowel(int c) { c = lower(c); return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }
static int ch(const struct nz *z, size_t i) { return i < z->n ? (unsigned char)z->a[i] : 0; }

/* ---- output ------------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 64;
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

/* Append a word made of `len` bytes of s, from ASCII range [b, e). */
static void emitn(struct nz *z, const char *s, size_t len, enum dc_word_kind kind, size_t b, size_t e)
{
	struct dc_words *w = z->out;
	if (z->err || len == 0)
		return;
	if (kind == DC_WORD_PUNCT) {
		/* no pause at the start of the text or of a sentence; two pauses merge */
		if (w->n == 0 || w->v[w->n - 1].sentence != w->nsentences)
			return;
		struct dc_word *l = &w->v[w->n - 1];
		if (l->kind == DC_WORD_PUNCT) {
			static const char rank[] = ",:;.!?";
			const char *x = strchr(rank, s[0]), *y = strchr(rank, w->pool[(size_t)l->text]);
			if (x && y && x > y) {
				w->pool[(size_t)l->text] = s[0];
				if (e > b)
					l->end = z->oe[e - 1];
			}
			return;
		}
	}
	if (grow((void **)&w->v, &w->cap, w->n + 1, sizeof *w->v) ||
	    len > SIZE_MAX - 1 - w->pool_len ||
	    grow((void **)&w->pool, &w->pool_cap, w->pool_len + len + 1, 1)) {
		z->err = DC_ENOMEM;
		return;
	}
	struct dc_word *d = &w->v[w->n++];
	d->text = (const char *)(uintptr_t)w->pool_len;  /* fixed up at the end */
	d->len = len;
	d->kind = kind;
	if (b >= z->n)
		b = z->n ? z->n - 1 : 0;
	if (e <= b)
		e = b + 1;
	if (e > z->n)
		e = z->n;
	d->begin = z->n ? z->ob[b] : 0;
	d->end = z->n ? z->oe[e - 1] : 0;
	d->sentence = w->nsentences;
	for (size_t i = 0; i < len; i++)
		w->pool[w->pool_len + i] = (char)lower((unsigned char)s[i]);
	w->pool_len += len;
	w->pool[w->pool_len++] = 0;
}

static void emit(struct nz *z, const char *s, enum dc_word_kind kind, size_t b, size_t e)
{
	emitn(z, s, strlen(s), kind, b, e);
}

/* Emit the space-separated words of s. */
static void emit_words(struct nz *z, const char *s, enum dc_word_kind kind, size_t b, size_t e)
{
	while (*s) {
		size_t k = strcspn(s, " ");
		emitn(z, s, k, kind, b, e);
		s += k;
		while (*s == ' ')
			s++;
	}
}

/* Close the current sentence (if it has words). */
static void end_sentence(struct nz *z)
{
	struct dc_words *w = z->out;
	if (w->n && w->v[w->n - 1].sentence == w->nsentences)
		w->nsentences++;
}

/* Replace the text of the last word (which must be the last in the pool). */
static void replace_last(struct nz *z, const char *s)
{
	struct dc_words *w = z->out;
	if (z->err || !w->n)
		return;
	struct dc_word l = w->v[--w->n];
	w->pool_len = (size_t)l.text;
	emit(z, s, l.kind, 0, 0);
	if (!z->err) {
		w->v[w->n - 1].begin = l.begin;
		w->v[w->n - 1].end = l.end;
	}
}

static const char *last_text(const struct nz *z)
{
	const struct dc_words *w = z->out;
	return w->n ? w->pool + (size_t)w->v[w->n - 1].text : "";
}

/* ---- numbers ------------------------------------------------------------ */

static const char *const ones[] = {
	"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
	"eighteen", "nineteen",
};
static const char *const tens[] = {
	"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
};
static const char *const scales[] = {
	"", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion",
};
static const char *const months[] = {
	"", "january", "february", "march", "april", "may", "june", "july", "august",
	"september", "october", "november", "december",
};

static void say_below_1000(struct nz *z, unsigned v, size_t b, size_t e)
{
	if (v >= 100) {
		emit(z, ones[v / 100], DC_WORD_NUMBER, b, e);
		emit(z, "hundred", DC_WORD_NUMBER, b, e);
		v %= 100;
		if (!v)
			return;
	}
	if (v < 20) {
		emit(z, ones[v], DC_WORD_NUMBER, b, e);
	} else {
		emit(z, tens[v / 10], DC_WORD_NUMBER, b, e);
		if (v % 10)
			emit(z, ones[v % 10], DC_WORD_NUMBER, b, e);
	}
}

static void say_int(struct nz *z, uint64_t v, size_t b, size_t e)
{
	if (v == 0) {
		emit(z, "zero", DC_WORD_NUMBER, b, e);
		return;
	}
	unsigned g[7];
	int k = 0;
	while (v) {
		g[k++] = (unsigned)(v % 1000);
		v /= 1000;
	}
	while (k--) {
		if (!g[k])
			continue;
		say_below_1000(z, g[k], b, e);
		if (k)
			emit(z, scales[k], DC_WORD_NUMBER, b, e);
	}
}

static void say_digits(struct nz *z, size_t i, size_t j)
{
	for (; i < j; i++)
		if (is_digit(ch(z, i)))
			emit(z, ones[ch(z, i) - '0'], DC_WORD_NUMBER, i, i + 1);
}

static void say_year(struct nz *z, unsigned y, size_t b, size_t e)
{
	unsigned hi = y / 100, lo = y % 100;
	if (y >= 2000 && y < 2010) {
		say_int(z, y, b, e);
	} else if (lo == 0) {
		say_below_1000(z, hi, b, e);
		emit(z, "hundred", DC_WORD_NUMBER, b, e);
	} else {
		say_below_1000(z, hi, b, e);
		if (lo < 10)
			emit(z, "oh", DC_WORD_NUMBER, b, e);
		say_below_1000(z, lo, b, e);
	}
}

/* Turn the last word ("twenty", "three") into its ordinal. */
static void ordinalise_last(struct nz *z)
{
	static const char *const irr[][2] = {
		{"one", "first"}, {"two", "second"}, {"three", "third"}, {"five", "fifth"},
		{"eight", "eighth"}, {"nine", "ninth"}, {"twelve", "twelfth"},
	};
	const char *t = last_text(z);
	char buf[32];
	for (size_t i = 0; i < sizeof irr / sizeof *irr; i++)
		if (!strcmp(t, irr[i][0])) {
			replace_last(z, irr[i][1]);
			return;
		}
	size_t n = strlen(t);
	if (n == 0 || n > 20)
		return;
	if (t[n - 1] == 'y') {
		memcpy(buf, t, n - 1);
		memcpy(buf + n - 1, "ieth", 5);
	} else {
		memcpy(buf, t, n);
		memcpy(buf + n, "th", 3);
	}
	replace_last(z, buf);
}

static void pluralise_last(struct nz *z)
{
	const char *t = last_text(z);
	char buf[32];
	size_t n = strlen(t);
	if (n == 0 || n > 20)
		return;
	if (t[n - 1] == 'y') {
		memcpy(buf, t, n - 1);
		memcpy(buf + n - 1, "ies", 4);
	} else if (t[n - 1] == 'x') {
		memcpy(buf, t, n);
		memcpy(buf + n, "es", 3);
	} else {
		memcpy(buf, t, n);
		memcpy(buf + n, "s", 2);
	}
	replace_last(z, buf);
}

/* Value of the digits in [i, j) skipping commas; -1 when over 18 digits. */
static int64_t digits_value(const struct nz *z, size_t i, size_t j)
{
	uint64_t v = 0;
	int k = 0;
	for (; i < j; i++) {
		int c = ch(z, i);
		if (!is_digit(c))
			continue;
		if (++k > 18)
			return -1;
		v = v * 10 + (uint64_t)(c - '0');
	}
	return (int64_t)v;
}

/* ---- look-ahead --------------------------------------------------------- */

/* Start of the next chunk after position i (n when none). */
static size_t next_chunk(const struct nz *z, size_t i)
{
	while (i < z->n && z->a[i] != ' ')
		i++;
	while (i < z->n && z->a[i] == ' ')
		i++;
	return i;
}

/*
 * Start of the next chunk's content, past at most 8 opening quotes and
 * brackets (bounded so that many tokens looking ahead stay linear).
 */
static size_t next_content(const struct nz *z, size_t i)
{
	i = next_chunk(z, i);
	for (int k = 0; k < 8 && i < z->n && z->a[i] && strchr("\"'([{<", z->a[i]); k++)
		i++;
	return i;
}

/* The lowercase letter run at i into buf (at most cap-1 letters; longer runs give ""). */
static const char *word_at(const struct nz *z, size_t i, char *buf, size_t cap)
{
	size_t k = 0;
	while (i < z->n && is_alpha(ch(z, i))) {
		if (k + 1 >= cap) {
			k = 0;
			break;
		}
		buf[k++] = (char)lower(ch(z, i++));
	}
	buf[k] = 0;
	return buf;
}

static int in_list(const char *w, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(w, *list))
			return 1;
	return 0;
}

/* Units read after a number: abbreviation, singular, plural. */
static const char *const units[][3] = {
	{"km", "kilometer", "kilometers"}, {"cm", "centimeter", "centimeters"},
	{"mm", "millimeter", "millimeters"}, {"kg", "kilogram", "kilograms"},
	{"mg", "milligram", "milligrams"}, {"ml", "milliliter", "milliliters"},
	{"lb", "pound", "pounds"}, {"lbs", "pound", "pounds"}, {"oz", "ounce", "ounces"},
	{"ft", "foot", "feet"}, {"mph", "mile per hour", "miles per hour"},
	{"kph", "kilometer per hour", "kilometers per hour"},
	{"kb", "kilobyte", "kilobytes"}, {"mb", "megabyte", "megabytes"},
	{"gb", "gigabyte", "gigabytes"}, {"tb", "terabyte", "terabytes"},
	{"hz", "hertz", "hertz"}, {"khz", "kilohertz", "kilohertz"},
	{"mhz", "megahertz", "megahertz"}, {"ghz", "gigahertz", "gigahertz"},
	{"ms", "millisecond", "milliseconds"}, {"hr", "hour", "hours"}, {"hrs", "hour", "hours"},
	{"min", "minute", "minutes"},
};

static int unit_index(const char *w)
{
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (!strcmp(w, units[i][0]))
			return (int)i;
	return -1;
}

/* Words after which a 4-digit number is a count, not a year. */
static const char *const counted[] = {
	"dollars", "dollar", "euros", "euro", "pounds", "pound", "yen", "cents", "pence",
	"people", "persons", "men", "women", "children", "times", "items", "units", "words",
	"pages", "points", "miles", "meters", "metres", "kilometers", "feet", "km", "kg",
	"m", "g", "lb", "lbs", "ft", "mi", "bytes", "mb", "gb", "kb", "hours", "minutes",
	"seconds", "days", "years", "tons", "copies", "votes", "calories", "rows", "lines",
	"usd", "eur", "gbp", "percent", "x", NULL,
};

/* ---- the number reader -------------------------------------------------- */

static const char *const cur_names[4][4] = {
	/* one, many, sub one, sub many */
	{"dollar", "dollars", "cent", "cents"},
	{"pound", "pounds", "penny", "pence"},
	{"euro", "euros", "cent", "cents"},
	{"yen", "yen", NULL, NULL},
};

static int cur_index(int c)
{
	return c == '$' ? 0 : c == CH_POUND ? 1 : c == CH_EURO ? 2 : 3;
}

/* Read the number at i in the core [i, q); return where it ends. */
static size_t read_number(struct nz *z, size_t i, size_t q)
{
	size_t b = i;
	int neg = 0, plus = 0, cur = -1;
	if (ch(z, i) == '-' || ch(z, i) == '+') {
		neg = ch(z, i) == '-';
		plus = !neg;
		i++;
	}
	if (is_cur(ch(z, i))) {
		cur = cur_index(ch(z, i));
		i++;
		if (ch(z, i) == '-' && !neg && !plus) {
			neg = 1;
			i++;
		}
	}
	/* integer part, with thousands separators */
	size_t is = i;
	int grouped = 0;
	while (i < q && is_digit(ch(z, i)))
		i++;
	if (i > is && i - is <= 3)
		while (ch(z, i) == ',' && i + 3 < q + 1 && is_digit(ch(z, i + 1)) && is_digit(ch(z, i + 2)) &&
		       is_digit(ch(z, i + 3)) && !is_digit(ch(z, i + 4)) && i + 4 <= q) {
			i += 4;
			grouped = 1;
		}
	size_t ie = i, ndig = (ie - is) - (grouped ? (ie - is) / 4 : 0);
	/* fraction */
	size_t fs = 0, fe = 0;
	if (ch(z, i) == '.' && i + 1 < q && is_digit(ch(z, i + 1))) {
		fs = i + 1;
		for (i = fs; i < q && is_digit(ch(z, i)); i++)
			;
		fe = i;
	}
	int64_t iv = ie > is ? digits_value(z, is, ie) : 0;
	int plain = !neg && !plus && cur < 0 && !grouped && !fe && ie > is;

	/* times: H:MM[:SS] */
	if (plain && ch(z, i) == ':' && ie - is <= 2 && iv <= 24 && is_digit(ch(z, i + 1)) &&
	    is_digit(ch(z, i + 2)) && !is_digit(ch(z, i + 3)) && i + 3 <= q) {
		int mm = (ch(z, i + 1) - '0') * 10 + ch(z, i + 2) - '0';
		if (mm < 60) {
			size_t e = i + 3;
			int ss = -1;
			if (ch(z, e) == ':' && is_digit(ch(z, e + 1)) && is_digit(ch(z, e + 2)) &&
			    !is_digit(ch(z, e + 3)) && e + 3 <= q) {
				ss = (ch(z, e + 1) - '0') * 10 + ch(z, e + 2) - '0';
				e += 3;
			}
			int ampm = (lower(ch(z, e)) == 'a' || lower(ch(z, e)) == 'p') && lower(ch(z, e + 1)) == 'm';
			if (!ampm) {
				size_t nx = next_content(z, z->ce);
				int c0 = lower(ch(z, nx));
				ampm = (c0 == 'a' || c0 == 'p') &&
				       (lower(ch(z, nx + 1)) == 'm' || (ch(z, nx + 1) == '.' && lower(ch(z, nx + 2)) == 'm'));
				if (ampm && is_alpha(ch(z, nx + 2)))
					ampm = 0;
			}
			say_int(z, (uint64_t)iv, b, e);
			if (mm == 0 && ss <= 0) {
				if (!ampm)
					emit(z, iv <= 12 ? "o'clock" : "hundred", DC_WORD_NUMBER, b, e);
			} else {
				if (mm < 10)
					emit(z, mm ? "oh" : "hundred", DC_WORD_NUMBER, b, e);
				if (mm)
					say_int(z, (uint64_t)mm, b, e);
				if (ss > 0) {
					emit(z, "and", DC_WORD_NUMBER, b, e);
					say_int(z, (uint64_t)ss, b, e);
					emit(z, ss == 1 ? "second" : "seconds", DC_WORD_NUMBER, b, e);
				}
			}
			z->prev_num = 1;
			z->prev_one = 0;
			z->prev_time = 1;
			z->prev_cap = 1;
			return e;
		}
	}

	/* digit groups joined by '-': ISO date, short range, phone number */
	if (!grouped && !fe && cur < 0 && ie > is && ch(z, i) == '-' && is_digit(ch(z, i + 1)) && i + 1 < q) {
		size_t gs[8], ge[8];
		int ng = 0;
		size_t j = is;
		gs[0] = is;
		ge[0] = ie;
		ng = 1;
		j = ie;
		while (ng < 8 && ch(z, j) == '-' && j + 1 < q && is_digit(ch(z, j + 1))) {
			gs[ng] = j + 1;
			for (j = j + 1; j < q && is_digit(ch(z, j)); j++)
				;
			ge[ng++] = j;
		}
		if (is_alnum(ch(z, j)) && j < q)
			ng = 0;         /* e.g. "1-2a": leave to the generic path */
		if (ng == 3 && !neg && !plus && ge[0] - gs[0] == 4 && ge[1] - gs[1] == 2 &&
		    ge[2] - gs[2] == 2) {
			int y = (int)digits_value(z, gs[0], ge[0]), m = (int)digits_value(z, gs[1], ge[1]);
			int d = (int)digits_value(z, gs[2], ge[2]);
			if (m >= 1 && m <= 12 && d >= 1 && d <= 31) {
				emit(z, months[m], DC_WORD_WORD, b, j);
				say_int(z, (uint64_t)d, b, j);
				ordinalise_last(z);
				if (y >= 1100 && y < 2100)
					say_year(z, (unsigned)y, b, j);
				else
					say_int(z, (uint64_t)y, b, j);
				z->prev_num = 0;
				z->prev_cap = 1;
				return j;
			}
		}
		if (ng == 2 && ge[0] - gs[0] <= 4 && ge[1] - gs[1] <= 4 &&
		    !(ge[0] - gs[0] == 3 && ge[1] - gs[1] == 4) && ch(z, gs[0]) != '0' && ch(z, gs[1]) != '0') {
			if (neg)
				emit(z, "minus", DC_WORD_NUMBER, b, ge[0]);
			for (int g = 0; g < 2; g++) {
				int64_t v = digits_value(z, gs[g], ge[g]);
				if (g)
					emit(z, "to", DC_WORD_WORD, ge[0], gs[1]);
				if (ge[g] - gs[g] == 4 && v >= 1100 && v < 2100)
					say_year(z, (unsigned)v, g ? gs[g] : b, ge[g]);
				else
					say_int(z, (uint64_t)v, g ? gs[g] : b, ge[g]);
			}
			z->prev_num = 1;
			z->prev_one = 0;
			z->prev_cap = 1;
			return j;
		}
		if (ng >= 2) {
			if (plus)
				emit(z, "plus", DC_WORD_WORD, b, b + 1);
			say_digits(z, is, j);
			z->prev_num = 0;
			z->prev_cap = 1;
			return j;
		}
	}

	/* US date M/D/YYYY */
	if (plain && ch(z, i) == '/' && ie - is <= 2) {
		size_t d0 = i + 1, d1 = d0;
		while (d1 < q && is_digit(ch(z, d1)))
			d1++;
		if (d1 > d0 && d1 - d0 <= 2 && ch(z, d1) == '/' && d1 + 5 <= q && is_digit(ch(z, d1 + 1)) &&
		    is_digit(ch(z, d1 + 2)) && is_digit(ch(z, d1 + 3)) && is_digit(ch(z, d1 + 4)) &&
		    !is_digit(ch(z, d1 + 5))) {
			int m = (int)iv, d = (int)digits_value(z, d0, d1);
			int y = (int)digits_value(z, d1 + 1, d1 + 5);
			if (m >= 1 && m <= 12 && d >= 1 && d <= 31) {
				size_t e = d1 + 5;
				emit(z, months[m], DC_WORD_WORD, b, e);
				say_int(z, (uint64_t)d, b, e);
				ordinalise_last(z);
				if (y >= 1100 && y < 2100)
					say_year(z, (unsigned)y, b, e);
				else
					say_int(z, (uint64_t)y, b, e);
				z->prev_num = 0;
				z->prev_cap = 1;
				return e;
			}
		}
	}

	/* a trailing currency sign (5€) */
	if (cur < 0 && is_cur(ch(z, i)) && i < q) {
		cur = cur_index(ch(z, i));
		i++;
	}
	size_t e = i;

	/* long digit runs and leading zeros: digit by digit */
	if (ie > is && !grouped && (ndig > 15 || (ch(z, is) == '0' && ndig > 1))) {
		if (neg)
			emit(z, "minus", DC_WORD_NUMBER, b, is);
		if (plus)
			emit(z, "plus", DC_WORD_NUMBER, b, is);
		say_digits(z, is, ie);
		if (fe) {
			emit(z, "point", DC_WORD_NUMBER, ie, fs);
			say_digits(z, fs, fe);
		}
		z->prev_num = 0;
		z->prev_cap = 1;
		return fe ? fe : ie;
	}
	if (iv < 0) {           /* grouped beyond 18 digits */
		say_digits(z, is, ie);
		z->prev_num = 0;
		return ie;
	}

	/* ordinals */
	char sfx[4] = {(char)lower(ch(z, i)), (char)lower(ch(z, i + 1)), 0, 0};
	if (!fe && cur < 0 && ie > is && i + 2 <= q && !is_alpha(ch(z, i + 2)) &&
	    (!strcmp(sfx, "st") || !strcmp(sfx, "nd") || !strcmp(sfx, "rd") || !strcmp(sfx, "th"))) {
		if (neg)
			emit(z, "minus", DC_WORD_NUMBER, b, is);
		say_int(z, (uint64_t)iv, b, i + 2);
		ordinalise_last(z);
		z->prev_num = 0;
		z->prev_cap = 1;
		return i + 2;
	}

	/* currency */
	if (cur >= 0) {
		int64_t sub = -1;
		if (fe && fe - fs == 2 && cur_names[cur][2])
			sub = digits_value(z, fs, fe);
		if (neg)
			emit(z, "minus", DC_WORD_NUMBER, b, e);
		if (sub >= 0 && iv == 0 && ie > is) {
			say_int(z, (uint64_t)sub, b, e);
			emit(z, cur_names[cur][sub == 1 ? 2 : 3], DC_WORD_WORD, b, e);
		} else {
			say_int(z, (uint64_t)iv, b, e);
			if (fe && sub < 0) {
				emit(z, "point", DC_WORD_NUMBER, b, e);
				say_digits(z, fs, fe);
			}
			/* "$5 million": the scale word comes before the currency name */
			char nb[16];
			size_t nx = next_chunk(z, z->ce);
			const char *nw = e == z->ce && sub < 0 ? word_at(z, nx, nb, sizeof nb) : "";
			static const char *const big[] = {"thousand", "million", "billion", "trillion", NULL};
			if (in_list(nw, big)) {
				size_t ne = nx + strlen(nw);
				emit(z, nw, DC_WORD_NUMBER, nx, ne);
				z->skip = nx;
				z->skip_end = ne;
				emit(z, cur_names[cur][1], DC_WORD_WORD, b, e);
			} else {
				emit(z, cur_names[cur][iv == 1 && (!fe || sub >= 0) ? 0 : 1], DC_WORD_WORD, b, e);
			}
			if (sub > 0) {
				emit(z, "and", DC_WORD_WORD, b, e);
				say_int(z, (uint64_t)sub, b, e);
				emit(z, cur_names[cur][sub == 1 ? 2 : 3], DC_WORD_WORD, b, e);
			}
		}
		z->prev_num = 0;
		z->prev_cap = 1;
		return e;
	}

	/* years, decades */
	if (plain && ie - is == 4 && iv >= 1100 && iv < 2100 && ch(z, i) != '%') {
		char nb[16];
		int decade = ch(z, i) == 's' && !is_alpha(ch(z, i + 1)) && i < q;
		const char *nw = "";
		if (!decade) {
			if (i < q)
				nw = word_at(z, i, nb, sizeof nb);
			else if (e == z->ce)
				nw = word_at(z, next_chunk(z, z->ce), nb, sizeof nb);
		}
		if (decade || !in_list(nw, counted)) {
			say_year(z, (unsigned)iv, b, decade ? i + 1 : e);
			if (decade)
				pluralise_last(z);
			z->prev_num = !decade;
			z->prev_one = 0;
			z->prev_time = 0;
			z->prev_cap = 1;
			return decade ? i + 1 : e;
		}
	}

	/* cardinals and decimals */
	if (neg)
		emit(z, "minus", DC_WORD_NUMBER, b, is);
	if (plus)
		emit(z, "plus", DC_WORD_NUMBER, b, is);
	if (ie > is)
		say_int(z, (uint64_t)iv, b, ie > is ? ie : e);
	else if (!fe)
		emit(z, "zero", DC_WORD_NUMBER, b, e);
	if (fe) {
		emit(z, "point", DC_WORD_NUMBER, ie, fs);
		say_digits(z, fs, fe);
		/* version-like 1.2.3 */
		while (ch(z, i) == '.' && i + 1 < q && is_digit(ch(z, i + 1))) {
			emit(z, "point", DC_WORD_NUMBER, i, i + 1);
			size_t s2 = ++i;
			while (i < q && is_digit(ch(z, i)))
				i++;
			say_digits(z, s2, i);
		}
		e = i;
	}
	if (ch(z, i) == '%' && i < q) {
		emit(z, "percent", DC_WORD_WORD, i, i + 1);
		e = ++i;
		z->prev_num = 0;
		z->prev_cap = 1;
		return e;
	}
	if (ch(z, i) == 's' && !is_alpha(ch(z, i + 1)) && i < q && !fe && ie > is && iv >= 10 && iv % 10 == 0) {
		pluralise_last(z);
		z->prev_num = 0;
		return i + 1;
	}
	z->prev_num = 1;
	z->prev_one = !neg && !fe && iv == 1;
	z->prev_time = !neg && !fe && iv <= 12 && ie > is;
	z->prev_cap = 1;
	return e;
}

/* ---- letters -------------------------------------------------------------- */

static const char *const spell_list[] = {
	"fbi", "usa", "uk", "eu", "un", "cpu", "gpu", "url", "api", "ceo", "dna", "rna", "ai",
	"bbc", "cnn", "ibm", "id", "io", "ui", "os", "pc", "tv", "atm", "faq", "iou", "usb",
	"ufo", "cia", "nba", "nfl", "hiv", "eta", "ok", "pr", "ipo", "ui", "uv", "gui", "ram",
	"rom", "ieee", "oecd", "aws", "ios", "iot", "uae", "ussr", NULL,
};

struct abbr {
	const char *abbr;     /* lowercase */
	const char *say;
	int need_period;
};

static const struct abbr abbrs[] = {
	{"mr", "mister", 0}, {"mrs", "missus", 0}, {"ms", "miz", 0}, {"jr", "junior", 0},
	{"sr", "senior", 0}, {"vs", "versus", 0}, {"etc", "et cetera", 0}, {"prof", "professor", 1},
	{"mt", "mount", 1}, {"ave", "avenue", 1}, {"rd", "road", 1}, {"blvd", "boulevard", 1},
	{"inc", "incorporated", 1}, {"ltd", "limited", 1}, {"dept", "department", 1},
	{"apt", "apartment", 1},
	{"approx", "approximately", 1}, {"fig", "figure", 1}, {"vol", "volume", 1},
	{"gen", "general", 1}, {"gov", "governor", 1}, {"sgt", "sergeant", 1}, {"capt", "captain", 1},
	{"jan", "january", 1}, {"feb", "february", 1}, {"mar", "march", 1}, {"apr", "april", 1},
	{"jun", "june", 1}, {"jul", "july", 1}, {"aug", "august", 1}, {"sep", "september", 1},
	{"sept", "september", 1}, {"oct", "october", 1}, {"nov", "november", 1},
	{"dec", "december", 1},
};

static int next_is_capital(const struct nz *z)
{
	size_t nx = next_content(z, z->ce);
	return nx < z->n && is_upper(ch(z, nx));
}

/* The next word is one capital letter ("A B C"). */
static int next_is_letter(const struct nz *z)
{
	size_t nx = next_content(z, z->ce);
	return nx < z->n && is_upper(ch(z, nx)) && (nx + 1 >= z->n || !is_alpha(ch(z, nx + 1)));
}

static int next_is_digit(const struct nz *z)
{
	size_t nx = next_content(z, z->ce);
	return nx < z->n && (is_digit(ch(z, nx)) || (ch(z, nx) == '#' && is_digit(ch(z, nx + 1))));
}

static void spell(struct nz *z, size_t i, size_t j)
{
	for (; i < j; i++)
		if (is_alpha(ch(z, i))) {
			char c[2] = {(char)lower(ch(z, i)), 0};
			emit(z, c, DC_WORD_SPELLED, i, i + 1);
		}
}

/*
 * Read the letter run at i; *consumed is set when it took the '.' that
 * follows it (an abbreviation or initialism).  Returns where it ends.
 */
static size_t read_letters(struct nz *z, size_t i, size_t q, int *consumed, int *stop)
{
	size_t b = i;
	int pc = z->prev_cap, pn = z->prev_num, po = z->prev_one, pt = z->prev_time;
	int ptitle = z->prev_title;
	z->prev_cap = z->prev_num = z->prev_one = z->prev_time = z->prev_title = 0;
	*consumed = 0;
	*stop = 0;

	/* e.g. / i.e. */
	char eg[5] = {(char)lower(ch(z, i)), (char)ch(z, i + 1), (char)lower(ch(z, i + 2)), 0, 0};
	if ((!strcmp(eg, "e.g") || !strcmp(eg, "i.e")) && !is_alpha(ch(z, i + 3))) {
		emit_words(z, eg[0] == 'e' ? "for example" : "that is", DC_WORD_WORD, b, b + 3);
		if (ch(z, i + 3) == '.') {
			*consumed = i + 3 >= q;
			return i + 4 > q ? q : i + 4;
		}
		return i + 3;
	}

	/* initialism: single letters each followed by '.', at least two */
	size_t j = i;
	int k = 0;
	while (is_alpha(ch(z, j)) && !is_alpha(ch(z, j + 1)) && ch(z, j + 1) == '.' && j + 1 < z->ce) {
		k++;
		j += 2;
		if (j >= q)
			break;
	}
	if (k >= 2) {
		spell(z, i, j);
		if (j > q) {
			*consumed = 1;
			j = q;
		}
		return j;
	}

	/* a run of letters and inner apostrophes */
	for (j = i; j < q && (is_alpha(ch(z, j)) || (ch(z, j) == '\'' && j > i && is_alpha(ch(z, j + 1)) && j + 1 < q)); j++)
		;
	size_t len = j - i;
	char w[24];
	int long_word = len >= sizeof w;
	if (!long_word) {
		for (size_t t = 0; t < len; t++)
			w[t] = (char)lower(ch(z, i + t));
		w[len] = 0;
	} else {
		w[0] = 0;
	}
	int period = ch(z, j) == '.' && j < z->ce && !is_alpha(ch(z, j + 1));
	int caps = 0, vowels = 0, letters = 0;
	for (size_t t = i; t < j; t++) {
		int c = ch(z, t);
		if (!is_alpha(c))
			continue;
		letters++;
		caps += is_upper(c);
		vowels += is_vowel(c);
	}

	if (!long_word) {
		if (!strcmp(w, "dr") && (period || is_upper(ch(z, i)))) {
			int drive = pc && !pn && !next_is_capital(z);
			emit(z, drive ? "drive" : "doctor", DC_WORD_WORD, b, j + period);
			*consumed = period && j >= q;
			z->prev_cap = !drive;
			z->prev_title = !drive;
			return period && j < q ? j + 1 : j;
		}
		if (!strcmp(w, "st") && (period || is_upper(ch(z, i)))) {
			/* "Baker St." street, "St. John" and "Dr. St. John" saint */
			int street = (pc && !ptitle) || !next_is_capital(z);
			emit(z, street ? "street" : "saint", DC_WORD_WORD, b, j + period);
			*consumed = period && j >= q;
			if (street && period && j >= q && next_is_capital(z) &&
			    !(ch(z, j + 1) && strchr(",;:", ch(z, j + 1))))
				*stop = 1;
			z->prev_cap = !street;
			return period && j < q ? j + 1 : j;
		}
		if (!strcmp(w, "no") && period && next_is_digit(z) && j >= q) {
			emit(z, "number", DC_WORD_WORD, b, j + 1);
			*consumed = 1;
			return j;
		}
		if ((!strcmp(w, "am") || !strcmp(w, "pm")) && pt) {
			spell(z, i, j);
			return j;
		}
		if (pn) {
			int u = unit_index(w);
			if (u >= 0 && !(period && j < q)) {
				emit_words(z, units[u][po ? 1 : 2], DC_WORD_WORD, b, j);
				return j;
			}
		}
		for (size_t t = 0; t < sizeof abbrs / sizeof *abbrs; t++)
			if (!strcmp(w, abbrs[t].abbr) && (period || !abbrs[t].need_period)) {
				emit_words(z, abbrs[t].say, DC_WORD_WORD, b, j + period);
				*consumed = period && j >= q;
				if (!strcmp(w, "etc") && period && j >= q && next_is_capital(z))
					*stop = 1;
				z->prev_cap = is_upper(ch(z, i));
				char key[32];
				snprintf(key, sizeof key, " %s ", w);
				z->prev_title = strstr(" mr mrs ms prof gen gov sgt capt ", key) != NULL;
				return period && j < q ? j + 1 : j;
			}
	}

	/* acronyms: all capitals, optionally a plural 's' */
	int plural_s = len >= 3 && ch(z, j - 1) == 's' && caps == letters - 1;
	int acro_letters = letters - plural_s;
	if (!long_word && acro_letters >= 2 && acro_letters <= 5 && caps == acro_letters &&
	    !memchr(w, '\'', len)) {
		char base[8];
		memcpy(base, w, (size_t)acro_letters);
		base[acro_letters] = 0;
		int amp = ch(z, j) == '&' || (i > 0 && ch(z, i - 1) == '&');
		if (in_list(base, spell_list) || !vowels || amp) {
			spell(z, i, i + (size_t)acro_letters);
			if (plural_s) {
				char t[8] = {base[acro_letters - 1], '\'', 's', 0};
				replace_last(z, t);
				if (!z->err)
					z->out->v[z->out->n - 1].end = z->ob[j - 1] + 1;
			}
			z->prev_cap = 1;
			return j;
		}
	}
	if (letters == 1 && len == 1 && w[0] != 'a' && w[0] != 'i') {
		spell(z, i, j);
		z->prev_cap = 1;
		return j;
	}
	if (letters == 1 && len == 1 && w[0] == 'a' && is_upper(ch(z, i)) &&
	    (pc || next_is_letter(z))) {
		spell(z, i, j);   /* "Plan A", "Vitamin A", "A B C" */
		z->prev_cap = 1;
		return j;
	}
	emitn(z, z->a + i, len, DC_WORD_WORD, b, j);
	z->prev_cap = is_upper(ch(z, i));
	return j;
}

/* ---- symbols ------------------------------------------------------------ */

static const char *symbol_name(int c, int in_url)
{
	switch (c) {
	case '&': return "and";
	case '%': return "percent";
	case '+': return "plus";
	case '=': return "equals";
	case '@': return "at";
	case '#': return "hash";
	case '/': return "slash";
	case '\\': return "backslash";
	case CH_DEGREE: return "degrees";
	case CH_TIMES: return "times";
	case CH_POUND: return "pounds";
	case CH_EURO: return "euros";
	case CH_YEN: return "yen";
	case '$': return "dollars";
	}
	if (!in_url)
		return NULL;
	switch (c) {
	case ':': return "colon";
	case '.': return "dot";
	case '?': return "question mark";
	case '-': return "dash";
	case '_': return "underscore";
	case '~': return "tilde";
	case ',': return "comma";
	case ';': return "semicolon";
	case '!': return "exclamation mark";
	case '*': return "star";
	}
	return NULL;
}

/* ---- URLs and e-mail ---------------------------------------------------- */

static int starts_with_ci(const struct nz *z, size_t i, size_t q, const char *p)
{
	for (; *p; p++, i++)
		if (i >= q || lower(ch(z, i)) != *p)
			return 0;
	return 1;
}

static int is_url_or_email(const struct nz *z, size_t p, size_t q)
{
	if (starts_with_ci(z, p, q, "http://") || starts_with_ci(z, p, q, "https://") ||
	    starts_with_ci(z, p, q, "ftp://") || (starts_with_ci(z, p, q, "www.") && is_alnum(ch(z, p + 4)) && p + 4 < q))
		return 1;
	/* e-mail: local@domain.tld */
	size_t at = q;
	for (size_t i = p; i < q; i++) {
		int c = ch(z, i);
		if (c == '@') {
			if (at != q)
				return 0;
			at = i;
		} else if (!is_alnum(c) && !strchr(".-_+", c)) {
			if (at != q)
				return 0;
			at = q;
			break;
		}
	}
	if (at > p && at < q && is_alnum(ch(z, at - 1))) {
		size_t dot = 0;
		for (size_t i = at + 1; i < q; i++)
			if (ch(z, i) == '.')
				dot = i;
		if (dot && dot + 1 < q && is_alpha(ch(z, dot + 1)) && dot > at + 1)
			return 1;
	}
	/* a bare domain with a known top-level domain, optionally a path */
	static const char *const tlds[] = {
		"com", "org", "net", "edu", "gov", "io", "uk", "de", "fr", "info", "dev", NULL,
	};
	size_t i = p, last = 0;
	int labels = 0;
	while (i < q) {
		size_t s = i;
		while (i < q && (is_alnum(ch(z, i)) || ch(z, i) == '-'))
			i++;
		if (i == s)
			return 0;
		labels++;
		last = s;
		if (i < q && ch(z, i) == '.')
			i++;
		else
			break;
	}
	if (labels < 2 || (i < q && ch(z, i) != '/'))
		return 0;
	char tld[8];
	size_t n = 0;
	for (size_t t = last; t < q && is_alpha(ch(z, t)) && n < sizeof tld - 1; t++)
		tld[n++] = (char)lower(ch(z, t));
	tld[n] = 0;
	return (last + n == q || !is_alnum(ch(z, last + n))) && in_list(tld, tlds);
}

static void spell_url(struct nz *z, size_t p, size_t q)
{
	size_t i = p;
	while (i < q && !z->err) {
		int c = ch(z, i);
		size_t j = i + 1;
		if (is_alpha(c)) {
			int v = 0;
			for (j = i; j < q && is_alpha(ch(z, j)); j++)
				v += is_vowel(ch(z, j)) || lower(ch(z, j)) == 'y';
			if (v && j - i >= 2)
				emitn(z, z->a + i, j - i, DC_WORD_WORD, i, j);
			else
				spell(z, i, j);
		} else if (is_digit(c)) {
			for (j = i; j < q && is_digit(ch(z, j)); j++)
				;
			if (j - i <= 4 && (c != '0' || j - i == 1))
				say_int(z, (uint64_t)digits_value(z, i, j), i, j);
			else
				say_digits(z, i, j);
		} else {
			const char *s = symbol_name(c, 1);
			if (s)
				emit_words(z, s, DC_WORD_WORD, i, i + 1);
		}
		i = j;
	}
	z->prev_cap = z->prev_num = z->prev_time = z->prev_one = 0;
}

/* ---- chunks ------------------------------------------------------------- */

static int is_pause(int c) { return c && strchr(",;:.?!", c) != NULL; }
static int is_closer(int c) { return c && strchr("\"')]}>*_", c) != NULL; }
static int is_opener(int c) { return c && strchr("\"'([{<*_", c) != NULL; }

/* Emit the strongest pause of [i, j) and end the sentence where it should. */
static void pause_run(struct nz *z, size_t i, size_t j, int allow_end)
{
	int best = 0;
	size_t bi = i;
	static const char rank[] = ",:;.!?";
	for (size_t t = i; t < j; t++) {
		int c = ch(z, t);
		if (!is_pause(c))
			continue;
		if (!best || strchr(rank, c) > strchr(rank, best)) {
			best = c;
			bi = t;
		}
	}
	if (!best)
		return;
	char s[2] = {(char)best, 0};
	emit(z, s, DC_WORD_PUNCT, bi, bi + 1);
	if (allow_end && (best == '.' || best == '?' || best == '!')) {
		size_t nx = next_content(z, z->ce);
		int c = ch(z, nx);
		if (nx >= z->n || is_upper(c) || is_digit(c) || is_cur(c))
			end_sentence(z);
	}
	z->prev_cap = z->prev_num = z->prev_time = z->prev_one = 0;
}

static void read_chunk(struct nz *z, size_t cs, size_t ce)
{
	z->cs = cs;
	z->ce = ce;
	size_t p = cs, q = ce;
	while (p < q && is_opener(ch(z, p)))
		p++;
	while (q > p && (is_closer(ch(z, q - 1)) || is_pause(ch(z, q - 1))))
		q--;
	if (p == q) {
		/* a chunk of punctuation: a pause ("-", "--" and "..." too) */
		int dash = 0;
		for (size_t t = cs; t < ce; t++)
			dash |= ch(z, t) == '-';
		if (dash && !is_pause(ch(z, cs)))
			emit(z, ",", DC_WORD_PUNCT, cs, ce);
		else
			pause_run(z, cs, ce, 1);
		return;
	}
	size_t t = p;
	while (t < q && ch(z, t) == '-')
		t++;
	if (t == q) {           /* "-", "--": a pause */
		emit(z, ",", DC_WORD_PUNCT, p, q);
		pause_run(z, q, ce, 1);
		return;
	}
	/* "(555) 123-4567": an area code */
	size_t nx = next_chunk(z, ce);
	if (ce - cs == 5 && ch(z, cs) == '(' && ch(z, cs + 4) == ')' && is_digit(ch(z, cs + 1)) &&
	    is_digit(ch(z, cs + 2)) && is_digit(ch(z, cs + 3)) && is_digit(ch(z, nx)) &&
	    is_digit(ch(z, nx + 1)) && is_digit(ch(z, nx + 2)) && ch(z, nx + 3) == '-') {
		say_digits(z, p, q);
		return;
	}
	if (is_url_or_email(z, p, q)) {
		spell_url(z, p, q);
		pause_run(z, q, ce, 1);
		return;
	}
	size_t i = p;
	int consumed = 0, stop = 0;
	if (z->skip_end && z->skip == p && z->skip_end <= q)
		i = z->skip_end;
	z->skip = z->skip_end = 0;
	while (i < q && !z->err) {
		int c = ch(z, i);
		int c1 = ch(z, i + 1);
		consumed = 0;
		stop = 0;
		int prev_alnum = i > p && is_alnum(ch(z, i - 1));
		if (is_digit(c) || (is_cur(c) && (is_digit(c1) || (c1 == '-' && is_digit(ch(z, i + 2))))) ||
		    ((c == '-' || c == '+') && !prev_alnum && (is_digit(c1) || (is_cur(c1) && is_digit(ch(z, i + 2))))) ||
		    (c == '.' && is_digit(c1) && !prev_alnum)) {
			size_t e = read_number(z, i, q);
			i = e > i ? e : i + 1;
		} else if (is_alpha(c)) {
			size_t e = read_letters(z, i, q, &consumed, &stop);
			i = e > i ? e : i + 1;
		} else if (c == '\'' && lower(c1) == 's' && !is_alpha(ch(z, i + 2)) && z->out->n &&
			   z->out->v[z->out->n - 1].kind == DC_WORD_NUMBER && i > p && is_alnum(ch(z, i - 1))) {
			/* "1999's": the possessive goes on the number's last word */
			char t[32];
			const char *l = last_text(z);
			if (strlen(l) < sizeof t - 3) {
				snprintf(t, sizeof t, "%s's", l);
				replace_last(z, t);
			}
			i += 2;
		} else if (c == '#' && is_digit(c1)) {
			emit(z, "number", DC_WORD_WORD, i, i + 1);
			i++;
		} else if (c == CH_DEGREE && (c1 == 'C' || c1 == 'F') && !is_alpha(ch(z, i + 2))) {
			emit_words(z, c1 == 'C' ? "degrees celsius" : "degrees fahrenheit", DC_WORD_WORD, i, i + 2);
			i += 2;
		} else if (is_pause(c)) {
			size_t j = i;
			while (j < q && (is_pause(ch(z, j)) || is_closer(ch(z, j))))
				j++;
			pause_run(z, i, j, 0);
			i = j;
		} else {
			const char *s = symbol_name(c, 0);
			if (s && !(c == '/' && i + 1 < q && ch(z, i + 1) == '/'))
				emit_words(z, s, DC_WORD_WORD, i, i + 1);
			z->prev_num = z->prev_time = z->prev_one = 0;
			i++;
		}
	}
	if (z->err)
		return;
	if (i > q)
		q = i;
	if (stop) {
		emit(z, ".", DC_WORD_PUNCT, q - 1, q);
		end_sentence(z);
		return;
	}
	if (consumed && q < ce)
		q++;            /* the period of an abbreviation or initialism */
	pause_run(z, q, ce, 1);
}

/* ---- UTF-8 to ASCII ----------------------------------------------------- */

/* Latin-1 letters U+00C0..U+00FF folded to ASCII ("" drops). */
static const char *const latin1[64] = {
	"A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
	"D", "N", "O", "O", "O", "O", "O", "\x05", "O", "U", "U", "U", "U", "Y", "TH", "ss",
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", " divided by ", "o", "u", "u", "u", "u", "y", "th", "y",
};

static const char *map_cp(uint32_t cp, char *tmp)
{
	if (cp < 0x80) {
		if (cp < 0x20 || cp == 0x7f)
			return " ";
		tmp[0] = (char)cp;
		tmp[1] = 0;
		return tmp;
	}
	if (cp >= 0xC0 && cp <= 0xFF)
		return latin1[cp - 0xC0];
	if (cp >= 0xFF01 && cp <= 0xFF5E)
		return map_cp(cp - 0xFEE0, tmp);
	switch (cp) {
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
	case 0x3000:
		return " ";
	case 0x2018: case 0x2019: case 0x201A: case 0x201B: case 0x2032: case 0x02BC: case 0x2039:
	case 0x203A:
		return "'";
	case 0x201C: case 0x201D: case 0x201E: case 0x201F: case 0x2033: case 0xAB: case 0xBB:
		return "\"";
	case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2212: case 0xFE63:
		return "-";
	case 0x2014: case 0x2015:
		return " , ";
	case 0x2026:
		return "...";
	case 0xA3: return "\x01";
	case 0x20AC: return "\x02";
	case 0xA5: return "\x03";
	case 0xB0: return "\x04";
	case 0xD7: return "\x05";
	case 0x2022: case 0xB7: return " ";
	}
	if (cp >= 0x2000 && cp <= 0x200A)
		return " ";
	return "";
}

/* Decode one code point at s[i]; returns its length, 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, size_t i, uint32_t *cp)
{
	unsigned c = s[i];
	size_t k;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		k = 2; v = c & 0x1F; min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		k = 3; v = c & 0x0F; min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		k = 4; v = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n - i < k)
		return 0;
	for (size_t t = 1; t < k; t++) {
		if ((s[i + t] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i + t] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return k;
}

static enum dc_status to_ascii(struct nz *z, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t cap = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = utf8_decode(s, len, i, &cp);
		if (!k)
			return dc_fail(DC_EINVAL, "tts normalise: invalid UTF-8 at byte %zu", i);
		char tmp[2];
		const char *m = map_cp(cp, tmp);
		size_t ml = strlen(m);
		if (cp == 0)
			m = " ", ml = 1;
		if (z->n + ml + 8 > cap) {
			size_t c = cap ? cap : 256;
			while (c < z->n + ml + 8) {
				if (c > SIZE_MAX / 4 / sizeof(size_t))
					return dc_fail(DC_EOVERFLOW, "tts normalise: text too long");
				c *= 2;
			}
			char *a = realloc(z->a, c);
			if (!a)
				return dc_fail(DC_ENOMEM, "tts normalise: out of memory");
			z->a = a;
			size_t *ob = realloc(z->ob, c * sizeof *ob);
			if (!ob)
				return dc_fail(DC_ENOMEM, "tts normalise: out of memory");
			z->ob = ob;
			size_t *oe = realloc(z->oe, c * sizeof *oe);
			if (!oe)
				return dc_fail(DC_ENOMEM, "tts normalise: out of memory");
			z->oe = oe;
			cap = c;
		}
		for (size_t t = 0; t < ml; t++) {
			z->a[z->n] = m[t];
			z->ob[z->n] = i;
			z->oe[z->n] = i + k;
			z->n++;
		}
		i += k;
	}
	if (z->a)
		memset(z->a + z->n, 0, 8);
	return DC_OK;
}

/* ---- entry points ------------------------------------------------------- */

void dc_words_release(struct dc_words *w)
{
	if (!w)
		return;
	free(w->v);
	free(w->pool);
	memset(w, 0, sizeof *w);
}

enum dc_status dc_tts_normalize(const char *text, size_t len, struct dc_words *out)
{
	if (!out)
		return dc_fail(DC_EINVAL, "tts normalise: no output");
	memset(out, 0, sizeof *out);
	if (!text && len)
		return dc_fail(DC_EINVAL, "tts normalise: NULL text");
	if (len > NZ_MAX_INPUT)
		return dc_fail(DC_ELIMIT, "tts normalise: text of %zu bytes is over 256 MiB", len);
	struct nz z = {.out = out};
	enum dc_status st = to_ascii(&z, text, len);
	if (st == DC_OK) {
		/* ASCII white space to plain spaces */
		for (size_t i = 0; i < z.n; i++)
			if (isspace((unsigned char)z.a[i]))
				z.a[i] = ' ';
		size_t i = 0;
		while (i < z.n && !z.err) {
			while (i < z.n && z.a[i] == ' ')
				i++;
			size_t s = i;
			while (i < z.n && z.a[i] != ' ')
				i++;
			if (i > s)
				read_chunk(&z, s, i);
		}
		if (z.err)
			st = dc_fail(z.err, "tts normalise: out of memory");
	}
	free(z.a);
	free(z.ob);
	free(z.oe);
	if (st != DC_OK) {
		dc_words_release(out);
		return st;
	}
	end_sentence(&z);
	/* a trailing pause that opens an empty sentence cannot exist; fix up the strings */
	for (size_t k = 0; k < out->n; k++)
		out->v[k].text = out->pool + (size_t)out->v[k].text;
	return DC_OK;
}
