/*
 * test_normalize.c - English text normalisation for TTS: a table of input
 * -> expected words (sentence breaks shown as "|") covering every category
 * of normalize.h (numbers, ordinals, years, currency, percent, times,
 * dates, ranges and phone numbers, abbreviations, acronyms, initialisms,
 * units, URLs and e-mail, symbols, Unicode punctuation, unknown
 * characters, pauses, sentence splitting); word kinds and input byte
 * offsets; invalid UTF-8 and bad arguments; robustness: empty and blank
 * text, random bytes, every prefix of a mixed text, a 1 MB line in
 * bounded time.
 */
#include "test.h"
#include "text/normalize.h"

#include <stdint.h>
#include <time.h>

/* Render words as "w w , w . | w" (| between sentences). */
static char *render(const struct dc_words *w)
{
	static char buf[8192];
	size_t k = 0, s = 0;
	buf[0] = 0;
	for (size_t i = 0; i < w->n; i++) {
		if (w->v[i].sentence != s) {
			k += (size_t)snprintf(buf + k, sizeof buf - k, "%s|", k ? " " : "");
			s = w->v[i].sentence;
		}
		if (k < sizeof buf)
			k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", k ? " " : "", w->v[i].text);
		if (k >= sizeof buf)
			k = sizeof buf - 1;
	}
	return buf;
}

static const char *const cases[][2] = {
	/* cardinals */
	{"0", "zero"},
	{"7", "seven"},
	{"13", "thirteen"},
	{"42", "forty two"},
	{"100", "one hundred"},
	{"101", "one hundred one"},
	{"999", "nine hundred ninety nine"},
	{"1,299", "one thousand two hundred ninety nine"},
	{"12,000", "twelve thousand"},
	{"1,000,000", "one million"},
	{"2500000", "two million five hundred thousand"},
	{"123456789", "one hundred twenty three million four hundred fifty six thousand seven hundred eighty nine"},
	{"999999999999999", "nine hundred ninety nine trillion nine hundred ninety nine billion nine hundred ninety "
	 "nine million nine hundred ninety nine thousand nine hundred ninety nine"},
	{"1,000,000,000,000,000", "one quadrillion"},
	{"-5", "minus five"},
	{"\xe2\x88\x92" "12", "minus twelve"},
	{"+3", "plus three"},
	{"3.14", "three point one four"},
	{"0.5", "zero point five"},
	{"-0.25", "minus zero point two five"},
	{"1.2.3", "one point two point three"},
	{"12345678901234567", "one two three four five six seven eight nine zero one two three four five six seven"},
	{"007", "zero zero seven"},
	/* ordinals */
	{"1st", "first"},
	{"2nd 3rd 4th", "second third fourth"},
	{"22nd", "twenty second"},
	{"103rd", "one hundred third"},
	{"11th 12th 20th", "eleventh twelfth twentieth"},
	{"the 100th time", "the one hundredth time"},
	/* years */
	{"1999", "nineteen ninety nine"},
	{"2024", "twenty twenty four"},
	{"2000", "two thousand"},
	{"1905", "nineteen oh five"},
	{"1900", "nineteen hundred"},
	{"2005", "two thousand five"},
	{"In 1215, 1776 and 2010.", "in twelve fifteen , seventeen seventy six and twenty ten ."},
	{"1999 dollars", "one thousand nine hundred ninety nine dollars"},
	{"2000 people", "two thousand people"},
	{"3000", "three thousand"},
	{"the 1990s", "the nineteen nineties"},
	{"the 80s", "the eighties"},
	{"the '90s", "the nineties"},
	{"1999's best", "nineteen ninety nine's best"},
	/* currency */
	{"$1,299.99", "one thousand two hundred ninety nine dollars and ninety nine cents"},
	{"$5", "five dollars"},
	{"$1", "one dollar"},
	{"$0.99", "ninety nine cents"},
	{"$0.01", "one cent"},
	{"$1.5", "one point five dollars"},
	{"\xc2\xa3" "3.50", "three pounds and fifty pence"},
	{"\xe2\x82\xac" "1.01", "one euro and one cent"},
	{"5\xe2\x82\xac", "five euros"},
	{"\xc2\xa5" "100", "one hundred yen"},
	{"$5 million.", "five million dollars ."},
	{"-$20", "minus twenty dollars"},
	/* percent */
	{"50%", "fifty percent"},
	{"12.5%", "twelve point five percent"},
	{"100 % sure", "one hundred percent sure"},
	/* times */
	{"12:30", "twelve thirty"},
	{"9:05 am", "nine oh five a m"},
	{"9:05 a.m.", "nine oh five a m"},
	{"9:00", "nine o'clock"},
	{"9:00 pm", "nine p m"},
	{"14:00", "fourteen hundred"},
	{"7pm", "seven p m"},
	{"10:15:30", "ten fifteen and thirty seconds"},
	/* dates */
	{"2024-11-28", "november twenty eighth twenty twenty four"},
	{"11/28/2024", "november twenty eighth twenty twenty four"},
	{"1999-01-01", "january first nineteen ninety nine"},
	/* ranges, phone numbers */
	{"1990-1995", "nineteen ninety to nineteen ninety five"},
	{"pages 2-3", "pages two to three"},
	{"555-1234", "five five five one two three four"},
	{"1-800-555-0199", "one eight zero zero five five five zero one nine nine"},
	{"(555) 123-4567", "five five five one two three four five six seven"},
	/* abbreviations */
	{"Mr. Smith", "mister smith"},
	{"Mrs Jones", "missus jones"},
	{"Ms. Lee", "miz lee"},
	{"Dr. Who", "doctor who"},
	{"Elm Dr. is near", "elm drive is near"},
	{"St. Patrick", "saint patrick"},
	{"Main St.", "main street"},
	{"Dr. St. John", "doctor saint john"},
	{"Mr. St. Clair met Gen. St. Pierre", "mister saint clair met general saint pierre"},
	{"Baker St., Apt. 4", "baker street , apartment four"},
	{"5th St. is closed", "fifth street is closed"},
	{"Martin Luther King Jr.", "martin luther king junior"},
	{"cats vs. dogs", "cats versus dogs"},
	{"apples, etc.", "apples , et cetera"},
	{"e.g. this", "for example this"},
	{"i.e., that", "that is , that"},
	{"No. 5", "number five"},
	{"No. I won't.", "no . | i won't ."},
	{"Jan. 5", "january five"},
	{"Prof. Lee", "professor lee"},
	{"1066", "one thousand sixty six"},
	/* acronyms, initialisms, letters */
	{"FBI", "f b i"},
	{"NASA", "nasa"},
	{"USA", "u s a"},
	{"NYC", "n y c"},
	{"the CPUs", "the c p u's"},
	{"HTML and URL", "h t m l and u r l"},
	{"A.B.C.", "a b c"},
	{"the U.S. is big.", "the u s is big ."},
	{"Plan B", "plan b"},
	{"Plan A", "plan a"},
	{"A cat", "a cat"},
	{"AT&T", "a t and t"},
	{"UNESCO", "unesco"},
	/* units */
	{"5km", "five kilometers"},
	{"1 kg", "one kilogram"},
	{"3 GB", "three gigabytes"},
	{"60 mph", "sixty miles per hour"},
	{"20\xc2\xb0" "C", "twenty degrees celsius"},
	/* URLs and e-mail */
	{"someone@example.org", "someone at example dot org"},
	{"https://example.com/a?b=c", "h t t p s colon slash slash example dot com slash a question mark b equals c"},
	{"Visit www.google.com now.", "visit w w w dot google dot com now ."},
	{"see example.org/docs.", "see example dot org slash docs ."},
	{"mail j.doe_2@mit.edu", "mail j dot doe underscore two at mit dot edu"},
	/* symbols */
	{"R&D", "r and d"},
	{"1+1=2", "one plus one equals two"},
	{"#1", "number one"},
	{"#tag", "hash tag"},
	{"@user", "at user"},
	{"3\xc3\x97" "4", "three times four"},
	{"and/or", "and slash or"},
	{"state-of-the-art", "state of the art"},
	{"O'Neil's dog", "o'neil's dog"},
	/* Unicode punctuation, unknown characters */
	{"\xe2\x80\x9cHello,\xe2\x80\x9d she said.", "hello , she said ."},
	{"it\xe2\x80\x99s", "it's"},
	{"wait\xe2\x80\xa6 what", "wait . what"},
	{"yes\xe2\x80\x94no", "yes , no"},
	{"1990\xe2\x80\x93" "1995", "nineteen ninety to nineteen ninety five"},
	{"caf\xc3\xa9 na\xc3\xafve", "cafe naive"},
	{"\xe6\x97\xa5\xe6\x9c\xac x \xf0\x9f\x98\x80", "x"},
	{"a\xc2\xa0" "b", "a b"},
	{"\xef\xbc\xa6\xef\xbc\xa2\xef\xbc\xa9", "f b i"},
	{"zero\xe2\x80\x8bwidth", "zerowidth"},
	/* pauses and sentences */
	{"Hello, world.", "hello , world ."},
	{"Is it? Yes! No.", "is it ? | yes ! | no ."},
	{"one; two: three", "one ; two : three"},
	{"Hello!!! What?!", "hello ! | what ?"},
	{"x - y", "x , y"},
	{", leading", "leading"},
	{"Pi is 3.14. It is.", "pi is three point one four . | it is ."},
	{"Mr. Smith met Dr. Jones. He left.", "mister smith met doctor jones . | he left ."},
	{"He said \"stop.\" Then left.", "he said stop . | then left ."},
	{"not. a split", "not . a split"},
	{"I ate pears, etc. Then left.", "i ate pears , et cetera . | then left ."},
	{"He lives on Main St. The end.", "he lives on main street . | the end ."},
	{"In 2024. 5 cats.", "in twenty twenty four . | five cats ."},
};

TEST(table)
{
	size_t nc = sizeof cases / sizeof *cases;
	for (size_t i = 0; i < nc; i++) {
		struct dc_words w;
		enum dc_status st = dc_tts_normalize(cases[i][0], strlen(cases[i][0]), &w);
		CHECK_EQ_INT(st, DC_OK);
		const char *got = render(&w);
		if (strcmp(got, cases[i][1]))
			T_FAILED("\"%s\": got \"%s\", expected \"%s\"", cases[i][0], got, cases[i][1]);
		dc_words_release(&w);
	}
	printf("# %zu table cases\n", nc);
	CHECK(nc >= 80);
}

TEST(kinds_offsets)
{
	const char *s = "Dr. \xe2\x80\x9c" "FBI\xe2\x80\x9d paid $5, ok?";
	struct dc_words w;
	CHECK_EQ_INT(dc_tts_normalize(s, strlen(s), &w), DC_OK);
	CHECK_EQ_INT(w.n, 10);
	if (w.n == 10) {
		static const char *const t[] = {"doctor", "f", "b", "i", "paid", "five", "dollars", ",", "ok", "?"};
		static const enum dc_word_kind k[] = {
			DC_WORD_WORD, DC_WORD_SPELLED, DC_WORD_SPELLED, DC_WORD_SPELLED, DC_WORD_WORD,
			DC_WORD_NUMBER, DC_WORD_WORD, DC_WORD_PUNCT, DC_WORD_WORD, DC_WORD_PUNCT,
		};
		/* byte ranges: "Dr." 0-3, F 7-8, B 8-9, I 9-10, paid 14-18, $5 19-21 (both words), "," 21-22, ok 23-25, "?" 25-26 */
		static const size_t b[] = {0, 7, 8, 9, 14, 19, 19, 21, 23, 25},
				    e[] = {3, 8, 9, 10, 18, 21, 21, 22, 25, 26};
		for (int i = 0; i < 10; i++) {
			CHECK(!strcmp(w.v[i].text, t[i]));
			CHECK_EQ_INT(w.v[i].len, strlen(t[i]));
			CHECK_EQ_INT(w.v[i].kind, k[i]);
			CHECK_EQ_INT(w.v[i].begin, b[i]);
			CHECK_EQ_INT(w.v[i].end, e[i]);
			CHECK_EQ_INT(w.v[i].sentence, 0);
		}
	}
	dc_words_release(&w);
	CHECK(w.v == NULL && w.n == 0);

	s = "One. Two? Three!";
	CHECK_EQ_INT(dc_tts_normalize(s, strlen(s), &w), DC_OK);
	CHECK_EQ_INT(w.nsentences, 3);
	CHECK_EQ_INT(w.n, 6);
	for (size_t i = 0; i < w.n; i++)
		CHECK_EQ_INT(w.v[i].sentence, i / 2);
	if (w.n == 6) {
		CHECK_EQ_INT(w.v[5].begin, 15);
		CHECK_EQ_INT(w.v[4].kind, DC_WORD_WORD);
		CHECK_EQ_INT(w.v[5].kind, DC_WORD_PUNCT);
	}
	dc_words_release(&w);
}

TEST(bad_input)
{
	static const char *const bad[] = {
		"\xff", "abc\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "caf\xc3", "\xe2\x82",
		"\x80 x", "\xc1\xbf",
	};
	struct dc_words w;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK_EQ_INT(dc_tts_normalize(bad[i], strlen(bad[i]), &w), DC_EINVAL);
		CHECK(w.n == 0 && w.v == NULL);
		dc_words_release(&w);
	}
	CHECK_EQ_INT(dc_tts_normalize("x", 1, NULL), DC_EINVAL);
	CHECK_EQ_INT(dc_tts_normalize(NULL, 3, &w), DC_EINVAL);
	CHECK_EQ_INT(dc_tts_normalize(NULL, 0, &w), DC_OK);
	CHECK_EQ_INT(w.n, 0);
	dc_words_release(&w);
	CHECK_EQ_INT(dc_tts_normalize("x", (size_t)300 << 20, &w), DC_ELIMIT);
	dc_words_release(NULL);
	/* NUL bytes are valid and dropped */
	CHECK_EQ_INT(dc_tts_normalize("a\0b", 3, &w), DC_OK);
	CHECK(!strcmp(render(&w), "a b"));
	dc_words_release(&w);
}

TEST(blank)
{
	static const char *const s[] = {"", " ", " \t\r\n\v\f ", "\xc2\xa0\xe3\x80\x80", "\"\"()", "...", "\x01\x02"};
	for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
		struct dc_words w;
		CHECK_EQ_INT(dc_tts_normalize(s[i], strlen(s[i]), &w), DC_OK);
		CHECK_EQ_INT(w.n, 0);
		CHECK_EQ_INT(w.nsentences, 0);
		dc_words_release(&w);
	}
}

/* Every output word is lowercase ASCII (or one pause mark), in order, inside the input. */
static int well_formed(const struct dc_words *w, size_t len)
{
	size_t last = 0;
	for (size_t i = 0; i < w->n; i++) {
		const struct dc_word *d = &w->v[i];
		if (!d->len || d->len != strlen(d->text) || d->begin >= d->end || d->end > len)
			return 0;
		if (d->sentence >= w->nsentences || (i && d->sentence < w->v[i - 1].sentence))
			return 0;
		if (d->begin + 64 < last)     /* readers may reorder within a token ("$5") */
			return 0;
		last = d->begin;
		if (d->kind == DC_WORD_PUNCT) {
			if (d->len != 1 || !strchr(",;:.?!", d->text[0]))
				return 0;
			continue;
		}
		for (size_t k = 0; k < d->len; k++)
			if (!((d->text[k] >= 'a' && d->text[k] <= 'z') || d->text[k] == '\''))
				return 0;
		if (d->kind == DC_WORD_SPELLED && d->len != 1 && !(d->len == 3 && d->text[1] == '\''))
			return 0;
	}
	return 1;
}

TEST(random_bytes)
{
	uint32_t r = 12345;
	char buf[1024];
	int ok = 0, inval = 0, bad = 0;
	/* odd iterations: random bytes; even ones: random valid pieces */
	static const char *const piece[] = {
		"a", "Z", "0", "1", "9", " ", ".", ",", "$", "%", "-", ":", "/", "@", "#", "&", "'",
		"\"", "?", "!", "(", ")", "\xc2\xa3", "\xe2\x80\x9c", "\xe2\x80\x94", "\xe2\x80\xa6",
		"St", "Dr", "No", "e.g", "am", "http://", "www", "com", "1999", "22nd", "s", "th",
		"\xe6\x97\xa5", "\xc2\xb0", "C", "km", "FBI", "\t", "",
	};
	for (int it = 0; it < 20000; it++) {
		size_t n = 0, want = (size_t)(it % 97);
		while (n < want) {
			r = r * 1664525u + 1013904223u;
			if (it & 1) {
				buf[n++] = (char)(r >> 24);
			} else {
				const char *p = piece[(r >> 16) % (sizeof piece / sizeof *piece)];
				size_t k = strlen(p);
				memcpy(buf + n, p, k);
				n += k ? k : 1;
				if (!k)
					buf[n - 1] = 0;
			}
		}
		struct dc_words w;
		enum dc_status st = dc_tts_normalize(buf, n, &w);
		if (st == DC_OK) {
			ok++;
			bad += !well_formed(&w, n);
		} else {
			inval += st == DC_EINVAL;
			bad += st != DC_EINVAL || w.n != 0;
		}
		dc_words_release(&w);
	}
	printf("# random: %d ok, %d invalid UTF-8\n", ok, inval);
	CHECK_EQ_INT(bad, 0);
	CHECK(ok > 5000 && inval > 5000);
}

TEST(prefixes)
{
	/* every prefix of a text full of multi-byte and multi-token forms */
	static const char s[] =
		"On 2024-11-28 at 9:05 a.m., Dr. \xe2\x80\x9cO'Neil\xe2\x80\x9d paid $1,299.99 (12.5%) "
		"to someone@example.org \xe2\x80\x94 see https://ex.com/a?b=c#d, U.S.A. No. 5\xe2\x80\xa6 "
		"1-800-555-0199 -3.5e 22nd 1990s \xc2\xa3" "0.01 St. Ann St. 10:00:01 11/28/2024";
	size_t len = sizeof s - 1, valid = 0;
	for (size_t n = 0; n <= len; n++) {
		struct dc_words w;
		enum dc_status st = dc_tts_normalize(s, n, &w);
		CHECK(st == DC_OK || st == DC_EINVAL);
		if (st == DC_OK) {
			valid++;
			if (!well_formed(&w, n))
				T_FAILED("prefix %zu: malformed output", n);
		}
		dc_words_release(&w);
	}
	CHECK(valid > len * 3 / 4);
}

TEST(long_line)
{
	/* 1 MB: words, numbers, a 200 kB digit run, a 200 kB letter run */
	size_t n = (size_t)1 << 20;
	char *s = malloc(n);
	CHECK(s != NULL);
	if (!s)
		return;
	static const char piece[] = "Mr. Smith paid $1,299.99 on 2024-11-28, e.g. 12:30! ";
	size_t k = 0;
	while (k + sizeof piece < n / 2) {
		memcpy(s + k, piece, sizeof piece - 1);
		k += sizeof piece - 1;
	}
	size_t d0 = k;
	for (; k < d0 + 200000; k++)
		s[k] = (char)('0' + k % 10);
	s[k++] = ' ';
	for (; k < n; k++)
		s[k] = (char)('a' + k % 26);
	clock_t t0 = clock();
	struct dc_words w;
	CHECK_EQ_INT(dc_tts_normalize(s, n, &w), DC_OK);
	double sec = (double)(clock() - t0) / CLOCKS_PER_SEC;
	printf("# 1 MB line: %zu words, %zu sentences, %.3f s\n", w.n, w.nsentences, sec);
	CHECK(w.n > 200000);
	CHECK(sec < 5.0);
	CHECK(well_formed(&w, n));
	/* the digit run is read digit by digit, the letter run is one word */
	CHECK(w.n > 0 && w.v[w.n - 1].len == n - d0 - 200001);
	dc_words_release(&w);

	/* look-ahead from many tokens of one chunk into a long next chunk stays linear */
	k = 0;
	while (k + 2 < n / 2) {
		memcpy(s + k, "1/", 2);
		k += 2;
	}
	s[k++] = ' ';
	while (k < n)
		s[k++] = '(';
	t0 = clock();
	CHECK_EQ_INT(dc_tts_normalize(s, n, &w), DC_OK);
	sec = (double)(clock() - t0) / CLOCKS_PER_SEC;
	printf("# 1 MB of \"1/1/...\" then \"((...\": %zu words, %.3f s\n", w.n, sec);
	CHECK(w.n > 200000);
	CHECK(sec < 5.0);
	CHECK(well_formed(&w, n));
	dc_words_release(&w);
	free(s);
}

int main(void)
{
	RUN(table);
	RUN(kinds_offsets);
	RUN(bad_input);
	RUN(blank);
	RUN(random_bytes);
	RUN(prefixes);
	RUN(long_line);
	return test_summary();
}
