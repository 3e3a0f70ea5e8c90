/*
 * test_phonemize.c - the TTS pronunciation front end (lib/text/phonemize.c):
 * the phone set against flite's us_phoneset; 308 words against flite's own
 * pipeline and 180 sentences against flite and against festival (the
 * teacher voice), goldens from tests/golden/make_phonemize.sh; clitic and
 * "the" rules; spelled letters; pauses at punctuation with their classes
 * and word indices; phone -> word -> byte offsets; the user lexicon and
 * each kind of bad line; hand-made words (upper case, stray bytes, NULL
 * text, a 100 kB word); empty input; four threads at once; 1 MB of text
 * (words/s reported).
 */
#include "test.h"
#include "text/phonemize.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <flite/flite.h>

extern const cst_phoneset us_phoneset;  /* libflite_usenglish */

static const char *top_dir(void)
{
	const char *top = getenv("DC_TOP");
	return top ? top : ".";
}

/* Normalise and phonemize text; return the formatted phones (static buffer) or NULL. */
static const char *say_f(const char *text, const struct dc_lexicon *lex, unsigned flags)
{
	static char buf[65536];
	struct dc_words w;
	struct dc_phones p;
	buf[0] = 0;
	if (dc_tts_normalize(text, strlen(text), &w) != DC_OK) {
		dc_words_release(&w);
		return NULL;
	}
	enum dc_status st = dc_phonemize(&w, lex, flags, &p);
	dc_words_release(&w);
	char *s = NULL;
	if (st == DC_OK && dc_phones_format(&p, &s) == DC_OK) {
		snprintf(buf, sizeof buf, "%s", s);
		free(s);
	}
	dc_phones_release(&p);
	return st == DC_OK ? buf : NULL;
}

static const char *say(const char *text, const struct dc_lexicon *lex)
{
	return say_f(text, lex, 0);
}

#define CHECK_SAY(text, lex, want)                                                   \
	do { const char *_g = say(text, lex);                                        \
	     if (!_g || strcmp(_g, want)) T_FAILED("'%s' -> '%s', expected '%s'", text, \
	                                           _g ? _g : "(error)", want); } while (0)

/* ---- phone set ---------------------------------------------------------------------------- */

TEST(phone_set)
{
	CHECK_EQ_INT(DC_NPHONES, 48);
	int nv = 0;
	for (unsigned i = 0; i < DC_NPHONES; i++) {
		const char *n = dc_phone_name(i);
		CHECK(n != NULL);
		if (!n)
			continue;
		CHECK_EQ_INT(dc_phone_lookup(n, strlen(n)), i);
		nv += dc_phone_is_vowel(i);
	}
	CHECK_EQ_INT(nv, 20);
	CHECK(dc_phone_name(DC_NPHONES) == NULL);
	CHECK_EQ_INT(dc_phone_lookup("xx", 2), -1);
	CHECK_EQ_INT(dc_phone_lookup("aa1", 3), -1);
	CHECK_EQ_INT(dc_phone_lookup("a", 1), -1);
	CHECK_EQ_INT(dc_phone_lookup("aa", 2), DC_PH_AA);
	CHECK_EQ_INT(dc_phone_lookup("zh", 2), DC_PH_ZH);
	CHECK(!dc_phone_is_vowel(DC_PH_PAU) && !dc_phone_is_vowel(DC_NPHONES));
	/* every flite us_phoneset phone but h# and brth is ours, vowel iff vc=+ */
	int seen = 0;
	for (int i = 0; i < us_phoneset.num_phones; i++) {
		const char *n = us_phoneset.phonenames[i];
		if (!strcmp(n, "h#") || !strcmp(n, "brth"))
			continue;
		int id = dc_phone_lookup(n, strlen(n));
		if (id < 0) {
			T_FAILED("flite phone '%s' missing", n);
			continue;
		}
		seen++;
		int vc = !strcmp(phone_feature_string(&us_phoneset, n, "vc"), "+");
		if (vc != dc_phone_is_vowel((unsigned)id))
			T_FAILED("'%s': vowel %d, flite vc %d", n, dc_phone_is_vowel((unsigned)id), vc);
	}
	CHECK_EQ_INT(seen, DC_NPHONES);
	CHECK(dc_pause_nominal_s(DC_PAUSE_NONE) == 0);
	CHECK(dc_pause_nominal_s(DC_PAUSE_SHORT) > 0);
	CHECK(dc_pause_nominal_s(DC_PAUSE_LONG) > dc_pause_nominal_s(DC_PAUSE_SHORT));
}

/* ---- goldens ------------------------------------------------------------------------------ */

struct tsv {
	char **a, **b, **c;  /* columns */
	size_t n;
	char *data;
};

static int tsv_load(struct tsv *t, const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/tests/golden/phonemize/%s", top_dir(), name);
	memset(t, 0, sizeof *t);
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("#   cannot open %s\n", path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	t->data = malloc((size_t)sz + 1);
	if (!t->data || fread(t->data, 1, (size_t)sz, f) != (size_t)sz) {
		fclose(f);
		return -1;
	}
	fclose(f);
	t->data[sz] = 0;
	size_t lines = 0;
	for (long i = 0; i < sz; i++)
		lines += t->data[i] == '\n';
	t->a = calloc(lines + 1, sizeof *t->a);
	t->b = calloc(lines + 1, sizeof *t->b);
	t->c = calloc(lines + 1, sizeof *t->c);
	for (char *p = t->data, *e; *p; p = e + 1) {
		e = strchr(p, '\n');
		if (!e)
			break;
		*e = 0;
		char *tab = strchr(p, '\t');
		if (!tab)
			continue;
		*tab = 0;
		t->a[t->n] = p;
		t->b[t->n] = tab + 1;
		char *tab2 = strchr(tab + 1, '\t');
		if (tab2) {
			*tab2 = 0;
			t->c[t->n] = tab2 + 1;
		}
		t->n++;
	}
	return 0;
}

static void tsv_free(struct tsv *t)
{
	free(t->a);
	free(t->b);
	free(t->c);
	free(t->data);
}

/* Split a phone string into tokens; drop pauses if nopau, stress digits if nostress. */
static size_t tokens(const char *s, char tok[][8], size_t max, int nopau, int nostress)
{
	size_t n = 0;
	while (*s && n < max) {
		while (*s == ' ')
			s++;
		size_t l = strcspn(s, " ");
		if (!l)
			break;
		if (!(nopau && l == 3 && !strncmp(s, "pau", 3))) {
			size_t k = l < 7 ? l : 7;
			memcpy(tok[n], s, k);
			tok[n][k] = 0;
			if (nostress && k && tok[n][k - 1] >= '0' && tok[n][k - 1] <= '9')
				tok[n][k - 1] = 0;
			n++;
		}
		s += l;
	}
	return n;
}

/* Levenshtein distance between two token sequences. */
static size_t edits(char a[][8], size_t na, char b[][8], size_t nb)
{
	size_t *d = malloc((nb + 1) * sizeof *d);
	for (size_t j = 0; j <= nb; j++)
		d[j] = j;
	for (size_t i = 1; i <= na; i++) {
		size_t diag = d[0];
		d[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t up = d[j];
			size_t best = diag + (strcmp(a[i - 1], b[j - 1]) != 0);
			if (up + 1 < best)
				best = up + 1;
			if (d[j - 1] + 1 < best)
				best = d[j - 1] + 1;
			d[j] = best;
			diag = up;
		}
	}
	size_t r = d[nb];
	free(d);
	return r;
}

struct agree {
	size_t n, exact, exact_ns, ref, err, err_ns;
};

/* Compare ours with a reference over phones without pauses, with and without stress. */
static void agree_add(struct agree *g, const char *ours, const char *ref)
{
	static char a[4096][8], b[4096][8];
	size_t na = tokens(ours, a, 4096, 1, 0), nb = tokens(ref, b, 4096, 1, 0);
	size_t e = edits(a, na, b, nb);
	g->n++;
	g->ref += nb;
	g->err += e;
	g->exact += e == 0;
	na = tokens(ours, a, 4096, 1, 1);
	nb = tokens(ref, b, 4096, 1, 1);
	e = edits(a, na, b, nb);
	g->err_ns += e;
	g->exact_ns += e == 0;
}

/*
 * flite on single words: identical but for words whose pronunciation
 * flite picks by part of speech (with no POS we take the lexicon's first
 * entry) and the letter a, which flite spells "ey0" (an addendum without
 * stress) where festival and we say "ey1".
 */
TEST(flite_words)
{
	static const char *const known[][2] = {
		{ "live", "POS" },
		{ "does", "POS" },
		{ "thousandth", "letter a" },
	};
	struct tsv t;
	if (tsv_load(&t, "flite_words.tsv")) {
		T_FAILED("no golden");
		return;
	}
	CHECK_EQ_INT(t.n, 308);
	size_t same = 0, nk = 0;
	for (size_t i = 0; i < t.n; i++) {
		const char *g = say(t.a[i], NULL);
		if (g && !strcmp(g, t.b[i])) {
			same++;
			continue;
		}
		const char *why = NULL;
		for (size_t k = 0; k < sizeof known / sizeof *known; k++)
			if (!strcmp(known[k][0], t.a[i]))
				why = known[k][1];
		if (why) {
			nk++;
			printf("#   (%s) %s: '%s', flite '%s'\n", why, t.a[i], g ? g : "(error)", t.b[i]);
		} else {
			T_FAILED("%s: '%s', flite '%s'", t.a[i], g ? g : "(error)", t.b[i]);
		}
	}
	printf("# flite words: %zu of %zu identical (phones and stress), %zu known differences\n",
	       same, t.n, nk);
	CHECK_EQ_INT(same + nk, t.n);
	tsv_free(&t);
}

/* Length of the longest common subsequence of two short strings. */
static size_t lcs(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), d[64][64] = { { 0 } };
	if (na > 63)
		na = 63;
	if (nb > 63)
		nb = 63;
	for (size_t i = 1; i <= na; i++)
		for (size_t j = 1; j <= nb; j++)
			d[i][j] = a[i - 1] == b[j - 1] ? d[i - 1][j - 1] + 1 :
			          d[i - 1][j] > d[i][j - 1] ? d[i - 1][j] : d[i][j - 1];
	return d[na][nb];
}

/*
 * Sentences: phone error rate (edits / reference phones, pauses left out)
 * against flite and against festival.  Pauses against festival's, as
 * sequences of the punctuation marks they follow ("$" the end): matched
 * (longest common subsequence), ours only, festival's only; festival's
 * pauses where no punctuation is (its phrasing model) are counted apart.
 * DC_TEST_VERBOSE=1 prints the sentences that differ from festival.
 */
TEST(sentences)
{
	struct tsv fl, fe;
	if (tsv_load(&fl, "flite_sentences.tsv") || tsv_load(&fe, "festival_sentences.tsv")) {
		T_FAILED("no golden");
		return;
	}
	int verbose = getenv("DC_TEST_VERBOSE") != NULL;
	CHECK_EQ_INT(fl.n, 180);
	CHECK_EQ_INT(fe.n, 180);
	struct agree af = { 0 }, ae = { 0 }, ae0 = { 0 }, afe = { 0 };
	size_t p_match = 0, p_ours = 0, p_fest = 0, p_phrase = 0;
	double dur[5] = { 0 };  /* festival pause lengths: start, , ; :, . ? ! inside, end, phrasing */
	size_t ndur[5] = { 0 };
	for (size_t i = 0; i < fl.n && i < fe.n; i++) {
		CHECK(!strcmp(fl.a[i], fe.a[i]));
		const char *g0 = say(fl.a[i], NULL);
		char *g = g0 ? strdup(g0) : NULL;
		const char *gf = say_f(fl.a[i], NULL, DC_PHONEMIZE_FESTIVAL);
		if (!g || !gf) {
			T_FAILED("'%s' failed", fl.a[i]);
			free(g);
			continue;
		}
		size_t e0 = ae.err, f0 = af.err;
		agree_add(&af, g, fl.b[i]);
		agree_add(&ae, gf, fe.b[i]);
		agree_add(&ae0, g, fe.b[i]);
		agree_add(&afe, fl.b[i], fe.b[i]);
		if (verbose && af.err != f0)
			printf("#   %s\n#     ours  %s\n#     flite %s\n", fl.a[i], g, fl.b[i]);
		if (verbose && ae.err != e0)
			printf("#   %s\n#     ours     %s\n#     festival %s\n", fl.a[i], gf, fe.b[i]);
		free(g);
		/* our pauses as marks */
		char mo[64] = "", mf[64] = "";
		size_t no = 0, nf = 0;
		struct dc_words w;
		struct dc_phones p;
		if (dc_tts_normalize(fl.a[i], strlen(fl.a[i]), &w) == DC_OK &&
		    dc_phonemize(&w, NULL, 0, &p) == DC_OK) {
			for (size_t k = 0; k < p.n && no < 63; k++) {
				const struct dc_phone *f = &p.v[k];
				if (f->pause != DC_PAUSE_SHORT && f->pause != DC_PAUSE_LONG)
					continue;
				mo[no++] = k + 1 == p.n || f->word == DC_NO_WORD ? '$' : w.v[f->word].text[0];
			}
			mo[no] = 0;
		}
		dc_phones_release(&p);
		dc_words_release(&w);
		/* festival's: pau:dur:mark */
		for (const char *s = fe.c[i]; s && *s;) {
			double d = 0;
			char mark = 0;
			if (sscanf(s, "pau:%lf:%c", &d, &mark) == 2) {
				int cls = mark == '^' ? 0 : mark == ',' || mark == ';' || mark == ':' ? 1 :
				          mark == '$' ? 3 : mark == '_' ? 4 : 2;
				dur[cls] += d;
				ndur[cls]++;
				if (mark == '_')
					p_phrase++;
				else if (mark != '^' && nf < 63)
					mf[nf++] = mark;
			}
			s = strchr(s, ' ');
			if (s)
				s++;
		}
		mf[nf] = 0;
		size_t m = lcs(mo, mf);
		p_match += m;
		p_ours += no - m;
		p_fest += nf - m;
		if (verbose && (m != no || m != nf))
			printf("#   pauses '%s' festival '%s': %s\n", mo, mf, fl.a[i]);
	}
	printf("# vs flite    (%zu sentences): PER %.2f%% (%.2f%% without stress), %zu identical "
	       "(%zu without stress)\n", af.n, 100.0 * af.err / af.ref, 100.0 * af.err_ns / af.ref,
	       af.exact, af.exact_ns);
	printf("# vs festival (%zu sentences, DC_PHONEMIZE_FESTIVAL): PER %.2f%% (%.2f%% without "
	       "stress), %zu identical (%zu without stress)\n", ae.n, 100.0 * ae.err / ae.ref,
	       100.0 * ae.err_ns / ae.ref, ae.exact, ae.exact_ns);
	printf("# vs festival (flite's rules): PER %.2f%% (%.2f%% without stress), %zu identical\n",
	       100.0 * ae0.err / ae0.ref, 100.0 * ae0.err_ns / ae0.ref, ae0.exact);
	printf("# flite vs festival: PER %.2f%% (%.2f%% without stress), %zu identical\n",
	       100.0 * afe.err / afe.ref, 100.0 * afe.err_ns / afe.ref, afe.exact);
	printf("# pauses at punctuation and the end: %zu matched, %zu ours only, %zu festival's "
	       "only; festival's phrasing adds %zu more\n", p_match, p_ours, p_fest, p_phrase);
	printf("# festival pause means: start %.3f s (%zu), , ; : %.3f s (%zu), . ? ! inside "
	       "%.3f s (%zu), end %.3f s (%zu), phrasing %.3f s (%zu)\n",
	       dur[0] / (ndur[0] ? ndur[0] : 1), ndur[0], dur[1] / (ndur[1] ? ndur[1] : 1), ndur[1],
	       dur[2] / (ndur[2] ? ndur[2] : 1), ndur[2], dur[3] / (ndur[3] ? ndur[3] : 1), ndur[3],
	       dur[4] / (ndur[4] ? ndur[4] : 1), ndur[4]);
	CHECK(af.err * 1000 < af.ref * 5);     /* < 0.5% against flite (0.25% measured) */
	CHECK(ae.err * 1000 < ae.ref * 10);    /* < 1% against festival (0.50% measured) */
	CHECK(p_match * 10 > (p_match + p_ours + p_fest) * 9);
	tsv_free(&fl);
	tsv_free(&fe);
}

/* ---- rules -------------------------------------------------------------------------------- */

TEST(rules)
{
	/* clitics */
	CHECK_SAY("john's", NULL, "pau jh aa1 n z pau");
	CHECK_SAY("boss's", NULL, "pau b aa1 s ax0 z pau");
	CHECK_SAY("judge's", NULL, "pau jh ah1 jh ax0 z pau");
	CHECK_SAY("cat's", NULL, "pau k ae1 t s pau");
	CHECK_SAY("we'll", NULL, "pau w iy1 l pau");
	CHECK_SAY("it'll", NULL, "pau ih1 t ax0 l pau");
	CHECK_SAY("they'd", NULL, "pau dh ey1 d pau");
	CHECK_SAY("should've", NULL, "pau sh uh1 d ax0 v pau");
	/* other apostrophes dropped */
	CHECK_SAY("don't", NULL, "pau d ow1 n t pau");
	CHECK_SAY("o'clock", NULL, "pau ax0 k l aa1 k pau");
	/* festival's rules */
	const char *g = say_f("boss's church's judge's cat's the apple", NULL, DC_PHONEMIZE_FESTIVAL);
	const char *want = "pau b aa1 s ax0 s ch er1 ch ax0 s jh ah1 jh ax0 z k ae1 t s dh ax0 ae1 p "
	                   "ax0 l pau";
	if (!g || strcmp(g, want))
		T_FAILED("festival rules: '%s', expected '%s'", g ? g : "(error)", want);
	/* the -> thee before a vowel, not before a consonant or a pause */
	CHECK_SAY("the apple", NULL, "pau dh iy0 ae1 p ax0 l pau");
	CHECK_SAY("the pear", NULL, "pau dh ax0 p eh1 r pau");
	CHECK_SAY("the, apple", NULL, "pau dh ax0 pau ae1 p ax0 l pau");
	/* spelled letters: letter names */
	CHECK_SAY("FBI", NULL, "pau eh1 f b iy1 ay1 pau");
	CHECK_SAY("A.B.C.", NULL, "pau ey1 b iy1 s iy1 pau");
	CHECK_SAY("W", NULL, "pau d ah1 b ax0 l y uw0 pau");
	CHECK_SAY("a", NULL, "pau ax0 pau");
	/* a capital A before another single capital is a letter, else the article */
	CHECK_SAY("then A B C", NULL, "pau dh eh1 n ey1 b iy1 s iy1 pau");
	CHECK_SAY("A cat", NULL, "pau ax0 k ae1 t pau");
	CHECK_SAY("I", NULL, "pau ay1 pau");
	/* unpronounceable lower case: spelled; pronounceable OOV: letter-to-sound */
	CHECK_SAY("xkcd", NULL, "pau eh1 k s k ey1 s iy1 d iy1 pau");
	CHECK_SAY("blorptastic", NULL, "pau b l ao1 r p t ae1 s t ih0 k pau");
	/* numbers through the normaliser */
	CHECK_SAY("42", NULL, "pau f ao1 r t iy0 t uw1 pau");
	/* a word a number was read as is never spelled (flite's us_aswd would spell "thousandth") */
	CHECK_SAY("1000th", NULL, "pau w ah1 n th aw1 z ax0 n d th pau");

	/* sources */
	struct dc_words w;
	struct dc_phones p;
	const char *txt = "Hello FBI xkcd blorptastic the apple";
	CHECK_EQ_INT(dc_tts_normalize(txt, strlen(txt), &w), DC_OK);
	CHECK_EQ_INT(dc_phonemize(&w, NULL, 0, &p), DC_OK);
	int src[8] = { 0 };
	for (size_t i = 0; i < p.n; i++)
		if (p.v[i].src < 8)
			src[p.v[i].src]++;
	CHECK_EQ_INT(src[DC_PRON_NONE], 2);
	CHECK_EQ_INT(src[DC_PRON_LETTERS], 5 + 9);        /* FBI, xkcd */
	CHECK_EQ_INT(src[DC_PRON_RULE], 1);               /* thee */
	CHECK_EQ_INT(src[DC_PRON_FLITE], 4 + 11 + 1 + 4); /* hello blorptastic the apple */
	dc_phones_release(&p);
	dc_words_release(&w);
}

/* ---- pauses and word mapping -------------------------------------------------------------- */

TEST(pauses)
{
	const char *txt = "Hello, world; this: works. Really? Yes! And no";
	struct dc_words w;
	struct dc_phones p;
	CHECK_EQ_INT(dc_tts_normalize(txt, strlen(txt), &w), DC_OK);
	CHECK_EQ_INT(dc_phonemize(&w, NULL, 0, &p), DC_OK);
	char cls[64];
	size_t nc = 0;
	for (size_t i = 0; i < p.n && nc < 63; i++) {
		const struct dc_phone *f = &p.v[i];
		if (f->id != DC_PH_PAU) {
			CHECK(f->pause == DC_PAUSE_NONE);
			CHECK(f->word < w.n && w.v[f->word].kind != DC_WORD_PUNCT);
			CHECK(f->stress == (dc_phone_is_vowel(f->id) ? f->stress : -1));
			if (dc_phone_is_vowel(f->id))
				CHECK(f->stress >= 0 && f->stress <= 2);
			continue;
		}
		CHECK_EQ_INT(f->stress, -1);
		cls[nc++] = "-SsL"[f->pause];
		if (f->pause == DC_PAUSE_START) {
			CHECK_EQ_INT(i, 0);
			CHECK(f->word == DC_NO_WORD);
		} else if (i + 1 < p.n) {
			/* a pause inside the text is its punctuation token */
			CHECK(f->word < w.n && w.v[f->word].kind == DC_WORD_PUNCT);
		} else {
			CHECK(f->word == DC_NO_WORD);  /* added: no final punctuation */
		}
		if (i && i + 1 < p.n)
			CHECK(p.v[i - 1].id != DC_PH_PAU && p.v[i + 1].id != DC_PH_PAU);
	}
	cls[nc] = 0;
	if (strcmp(cls, "SsssLLLL"))
		T_FAILED("pause classes '%s'", cls);
	dc_phones_release(&p);
	dc_words_release(&w);

	/* a final comma becomes a long pause, on its token */
	CHECK_EQ_INT(dc_tts_normalize("yes,", 4, &w), DC_OK);
	CHECK_EQ_INT(dc_phonemize(&w, NULL, 0, &p), DC_OK);
	CHECK(p.n > 2 && p.v[p.n - 1].pause == DC_PAUSE_LONG && p.v[p.n - 1].word == 1);
	dc_phones_release(&p);
	dc_words_release(&w);

	/* phone -> word -> bytes */
	const char *hw = "  Hello   world.";
	CHECK_EQ_INT(dc_tts_normalize(hw, strlen(hw), &w), DC_OK);
	CHECK_EQ_INT(dc_phonemize(&w, NULL, 0, &p), DC_OK);
	CHECK_EQ_INT(p.n, 10);  /* pau hh ax l ow w er l d pau */
	if (p.n == 10) {
		for (int i = 1; i <= 4; i++) {
			CHECK_EQ_INT(w.v[p.v[i].word].begin, 2);
			CHECK_EQ_INT(w.v[p.v[i].word].end, 7);
		}
		for (int i = 5; i <= 8; i++) {
			CHECK_EQ_INT(w.v[p.v[i].word].begin, 10);
			CHECK_EQ_INT(w.v[p.v[i].word].end, 15);
		}
		CHECK_EQ_INT(w.v[p.v[9].word].begin, 15);
		CHECK_EQ_INT(w.v[p.v[9].word].end, 16);
	}
	dc_phones_release(&p);
	dc_words_release(&w);
}

TEST(empty)
{
	struct dc_words w;
	struct dc_phones p;
	static const char *const blank[] = { "", "   ", "\"()\"", "...", "\xe2\x80\x94" };
	for (size_t i = 0; i < sizeof blank / sizeof *blank; i++) {
		CHECK_EQ_INT(dc_tts_normalize(blank[i], strlen(blank[i]), &w), DC_OK);
		p.n = 99;
		CHECK_EQ_INT(dc_phonemize(&w, NULL, 0, &p), DC_OK);
		CHECK_EQ_INT(p.n, 0);
		CHECK(p.v == NULL);
		dc_phones_release(&p);
		dc_words_release(&w);
	}
	char *s = (char *)"x";
	CHECK_EQ_INT(dc_phones_format(&p, &s), DC_OK);
	CHECK(s && !strcmp(s, ""));
	free(s);
	/* words that give no phones: an apostrophe alone, with a pause */
	struct dc_word v[3] = {
		{ "'", 1, DC_WORD_WORD, 0, 1, 0 },
		{ ",", 1, DC_WORD_PUNCT, 1, 2, 0 },
		{ "''", 2, DC_WORD_WORD, 2, 4, 0 },
	};
	struct dc_words ww = { v, 3, 1, 0, NULL, 0, 0 };
	CHECK_EQ_INT(dc_phonemize(&ww, NULL, 0, &p), DC_OK);
	CHECK_EQ_INT(p.n, 0);
	dc_phones_release(&p);
	dc_phones_release(NULL);
}

TEST(hand_made_words)
{
	struct dc_phones p;
	/* upper case folded, other bytes ignored */
	struct dc_word v[4] = {
		{ "HeLLo", 5, DC_WORD_WORD, 0, 5, 0 },
		{ "w\xc3\xb6rld-1", 8, DC_WORD_WORD, 6, 14, 0 },
		{ "q", 1, DC_WORD_SPELLED, 15, 16, 0 },
		{ "?", 1, DC_WORD_PUNCT, 16, 17, 0 },
	};
	struct dc_words w = { v, 4, 1, 0, NULL, 0, 0 };
	CHECK_EQ_INT(dc_phonemize(&w, NULL, 0, &p), DC_OK);
	char *s = NULL;
	CHECK_EQ_INT(dc_phones_format(&p, &s), DC_OK);
	/* "wrld" is not pronounceable: spelled */
	CHECK(s && !strcmp(s, "pau hh ax0 l ow1 d ah1 b ax0 l y uw0 aa1 r eh1 l d iy1 k y uw1 pau"));
	if (s && strcmp(s, "pau hh ax0 l ow1 d ah1 b ax0 l y uw0 aa1 r eh1 l d iy1 k y uw1 pau"))
		printf("#   got '%s'\n", s);
	free(s);
	dc_phones_release(&p);
	/* NULL text, NULL arguments */
	v[1].text = NULL;
	CHECK_EQ_INT(dc_phonemize(&w, NULL, 0, &p), DC_EINVAL);
	CHECK(p.n == 0 && p.v == NULL);
	CHECK(strstr(dc_errmsg(), "word 1") != NULL);
	CHECK_EQ_INT(dc_phonemize(NULL, NULL, 0, &p), DC_EINVAL);
	CHECK_EQ_INT(dc_phonemize(&w, NULL, 0, NULL), DC_EINVAL);
	CHECK_EQ_INT(dc_phones_format(NULL, &s), DC_EINVAL);
	CHECK_EQ_INT(dc_phones_format(&p, NULL), DC_EINVAL);
	/* a 100 kB word: letter-to-sound in pieces, in bounded time */
	size_t n = 100000;
	char *big = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = "banana"[i % 6];
	big[n] = 0;
	struct dc_word bw = { big, n, DC_WORD_WORD, 0, n, 0 };
	struct dc_words b = { &bw, 1, 1, 0, NULL, 0, 0 };
	clock_t t0 = clock();
	CHECK_EQ_INT(dc_phonemize(&b, NULL, 0, &p), DC_OK);
	double sec = (double)(clock() - t0) / CLOCKS_PER_SEC;
	printf("# 100 kB word: %zu phones, %.3f s\n", p.n, sec);
	CHECK(p.n > n / 2 && p.n < 2 * n);
	for (size_t i = 1; i + 1 < p.n; i++)
		if (p.v[i].src != DC_PRON_FLITE || p.v[i].word != 0) {
			T_FAILED("phone %zu: src %d word %zu", i, p.v[i].src, p.v[i].word);
			break;
		}
	dc_phones_release(&p);
	free(big);
}

/* ---- user lexicon ------------------------------------------------------------------------- */

TEST(user_lexicon)
{
	static const char lexText[] =
		"\xef\xbb\xbf# a user lexicon\n"
		"diffcore\td ih1 f k ao0 r\r\n"
		"\n"
		"   Tomato  t ax0 m aa2 t ow0   # British, with stress 2\n"
		"read\tr iy1 d\n"
		"rock'n'roll\tr aa1 k ax0 n r ow1 l\n"
		"a\tey1\n";
	struct dc_lexicon *lex = NULL;
	CHECK_EQ_INT(dc_lexicon_parse_user(lexText, sizeof lexText - 1, "t.lex", &lex), DC_OK);
	CHECK_EQ_INT(dc_lexicon_count(lex), 5);
	CHECK_SAY("Diffcore", lex, "pau d ih1 f k ao0 r pau");
	CHECK_SAY("diffcore's", lex, "pau d ih1 f k ao0 r z pau");
	CHECK_SAY("tomato", lex, "pau t ax0 m aa2 t ow0 pau");
	CHECK_SAY("read", lex, "pau r iy1 d pau");
	CHECK_SAY("rock'n'roll", lex, "pau r aa1 k ax0 n r ow1 l pau");
	CHECK_SAY("a", lex, "pau ey1 pau");
	CHECK_SAY("A.", lex, "pau ey1 pau");  /* the spelled letter: not from the lexicon */
	CHECK_SAY("the diffcore", lex, "pau dh ax0 d ih1 f k ao0 r pau");
	CHECK_SAY("diffcore", NULL, "pau d ih1 f k ao1 r pau");
	/* sources */
	struct dc_words w;
	struct dc_phones p;
	CHECK_EQ_INT(dc_tts_normalize("diffcore", 8, &w), DC_OK);
	CHECK_EQ_INT(dc_phonemize(&w, lex, 0, &p), DC_OK);
	CHECK(p.n == 8 && p.v[1].src == DC_PRON_USER && p.v[5].stress == 0);
	dc_phones_release(&p);
	dc_words_release(&w);
	dc_lexicon_free(lex);
	dc_lexicon_free(NULL);
	CHECK_EQ_INT(dc_lexicon_count(NULL), 0);

	/* empty and comment-only files */
	CHECK_EQ_INT(dc_lexicon_parse_user("", 0, NULL, &lex), DC_OK);
	CHECK_EQ_INT(dc_lexicon_count(lex), 0);
	CHECK_SAY("read", lex, "pau r eh1 d pau");
	dc_lexicon_free(lex);
	CHECK_EQ_INT(dc_lexicon_parse_user("# x\n  \n#\n", 9, NULL, &lex), DC_OK);
	CHECK_EQ_INT(dc_lexicon_count(lex), 0);
	dc_lexicon_free(lex);

	/* load from a file; a missing file */
	char path[] = "/tmp/dc_test_lex_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd >= 0) {
		FILE *f = fdopen(fd, "w");
		fputs("flite\tf l ay1 t\n", f);
		fclose(f);
		CHECK_EQ_INT(dc_lexicon_load_user(path, &lex), DC_OK);
		CHECK_SAY("flite", lex, "pau f l ay1 t pau");
		dc_lexicon_free(lex);
		remove(path);
		lex = (struct dc_lexicon *)1;
		CHECK_EQ_INT(dc_lexicon_load_user(path, &lex), DC_ENOTFOUND);
		CHECK(lex == NULL);
		CHECK(strstr(dc_errmsg(), path) != NULL);
	}
	CHECK_EQ_INT(dc_lexicon_load_user("/", &lex), DC_EIO);
	CHECK_EQ_INT(dc_lexicon_load_user(NULL, &lex), DC_EINVAL);
	CHECK_EQ_INT(dc_lexicon_parse_user("a\tey1\n", 6, NULL, NULL), DC_EINVAL);
	CHECK_EQ_INT(dc_lexicon_parse_user(NULL, 5, NULL, &lex), DC_EINVAL);
}

TEST(user_lexicon_errors)
{
	static const char *const bad[][2] = {
		{ "ok\tow1 k ey1\nbad\tb xx d\n", "lex:2: unknown phone 'xx'" },
		{ "word\tw er d\n", "lex:1: vowel 'er' needs a stress digit 0, 1 or 2" },
		{ "word\tw er3 d\n", "lex:1: stress of 'er3' must be 0, 1 or 2" },
		{ "word\tw1 er1 d\n", "lex:1: 'w1': only vowels carry stress" },
		{ "word\tw er1 pau d\n", "lex:1: 'pau' is not allowed in a pronunciation" },
		{ "\n\nword\n", "lex:3: 'word' has no phones (expected word<TAB>phones)" },
		{ "word  # no phones\n", "lex:1: 'word' has no phones (expected word<TAB>phones)" },
		{ "two-part\tt uw1\n", "lex:1: word 'two-part' must be letters and apostrophes, with at "
		  "least one letter" },
		{ "caf\xc3\xa9\tk ae1 f ey1\n", "lex:1: word 'caf\xc3\xa9' must be letters and "
		  "apostrophes, with at least one letter" },
		{ "''\tt uw1\n", "lex:1: word '''' must be letters and apostrophes, with at least one "
		  "letter" },
		{ "x\teh1 k s\ny\tw ay1\nX\teh1 k s\n", "lex:3: 'x' is already defined on line 1" },
		{ "x\teh1 k s\n\x00y\tw ay1\n", "lex:2: NUL byte" },
		{ "x\t1\n", "lex:1: unknown phone '1'" },
		{ "x\teh1 k s 9\n", "lex:1: unknown phone '9'" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct dc_lexicon *lex = (struct dc_lexicon *)1;
		size_t len = strlen(bad[i][0]);
		if (strstr(bad[i][1], "NUL"))
			len = 20;
		enum dc_status st = dc_lexicon_parse_user(bad[i][0], len, "lex", &lex);
		if (st != DC_EFORMAT || lex != NULL || strcmp(dc_errmsg(), bad[i][1]))
			T_FAILED("case %zu: status %d, message '%s', expected '%s'", i, st, dc_errmsg(),
			         bad[i][1]);
	}
}

/* ---- threads and size --------------------------------------------------------------------- */

struct job {
	const char *text;
	char *out;
	enum dc_status st;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	for (int r = 0; r < 20; r++) {
		struct dc_words w;
		struct dc_phones p;
		j->st = dc_tts_normalize(j->text, strlen(j->text), &w);
		if (!j->st)
			j->st = dc_phonemize(&w, NULL, 0, &p);
		free(j->out);
		j->out = NULL;
		if (!j->st)
			j->st = dc_phones_format(&p, &j->out);
		dc_phones_release(&p);
		dc_words_release(&w);
		if (j->st)
			break;
	}
	return NULL;
}

TEST(threads)
{
	static const char *const texts[4] = {
		"The quick brown fox jumps over the lazy dog, blorptastic and xkcd.",
		"We'll see what they'd say about John's boss's car in 1999.",
		"Physicists study both the nature of matter and the forces which govern it.",
		"An owl and a hawk flew over the old barn; FBI agents watched.",
	};
	struct job j[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		j[i] = (struct job){ texts[i], NULL, DC_OK };
		pthread_create(&th[i], NULL, worker, &j[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ_INT(j[i].st, DC_OK);
		const char *g = say(texts[i], NULL);
		CHECK(g && j[i].out && !strcmp(g, j[i].out));
		free(j[i].out);
	}
}

TEST(megabyte)
{
	struct tsv t;
	if (tsv_load(&t, "flite_sentences.tsv")) {
		T_FAILED("no golden");
		return;
	}
	size_t n = (size_t)1 << 20, k = 0;
	char *s = malloc(n + 1);
	for (size_t i = 0; k < n; i = (i + 1) % t.n) {
		size_t l = strlen(t.a[i]);
		if (k + l + 1 > n)
			l = n - k - 1;
		memcpy(s + k, t.a[i], l);
		k += l;
		s[k++] = ' ';
	}
	s[n] = 0;
	struct dc_words w;
	struct dc_phones p;
	CHECK_EQ_INT(dc_tts_normalize(s, n, &w), DC_OK);
	clock_t t0 = clock();
	CHECK_EQ_INT(dc_phonemize(&w, NULL, 0, &p), DC_OK);
	double sec = (double)(clock() - t0) / CLOCKS_PER_SEC;
	size_t words = 0;
	for (size_t i = 0; i < w.n; i++)
		words += w.v[i].kind != DC_WORD_PUNCT;
	printf("# 1 MB of text: %zu words, %zu phones, %.3f s, %.0f words/s\n", words, p.n, sec,
	       words / (sec > 0 ? sec : 1e-9));
	CHECK(words > 150000);
	CHECK(p.n > 3 * words);
	CHECK(sec < 20.0);
	for (size_t i = 0; i < p.n; i++)
		if (p.v[i].id >= DC_NPHONES || (p.v[i].word != DC_NO_WORD && p.v[i].word >= w.n) ||
		    (i && p.v[i].word != DC_NO_WORD && p.v[i - 1].word != DC_NO_WORD &&
		     p.v[i].word < p.v[i - 1].word)) {
			T_FAILED("phone %zu malformed", i);
			break;
		}
	dc_phones_release(&p);
	dc_words_release(&w);
	free(s);
	tsv_free(&t);
}

int main(void)
{
	RUN(phone_set);
	RUN(flite_words);
	RUN(sentences);
	RUN(rules);
	RUN(pauses);
	RUN(empty);
	RUN(hand_made_words);
	RUN(user_lexicon);
	RUN(user_lexicon_errors);
	RUN(threads);
	RUN(megabyte);
	return test_summary();
}
