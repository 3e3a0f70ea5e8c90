/*
 * test_spm.c - the SentencePiece unigram tokenizer against transformers'
 * T5Tokenizer (tests/golden/make_t5tok.py: tests/golden/t5/ids_full.txt and
 * ids_120.txt on the 360 prompts of t5/prompts.txt, made with the 2000-piece
 * t5/spiece.model), opened as spiece.model, as a published tokenizer/
 * folder and as its tokenizer.json alone; ruT5 (.ref/rut5, not committed;
 * skipped when absent); special tokens, truncation, unknown characters,
 * byte fallback and added tokens on small hand-made tokenizer.json files;
 * bad arguments; every truncation and random corruptions of spiece.model;
 * concurrent encoding; the time of one encode.
 */
#include "test.h"
#include "text/spm.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[1024];

static const char *path(const char *rel)
{
	static char buf[4][2048];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", top, rel);
	return buf[k];
}

static char *slurp(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *b = malloc(cap + 1);
	size_t got;
	while (b && (got = fread(b + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			cap *= 2;
			b = realloc(b, cap + 1);
		}
	}
	fclose(f);
	if (b)
		b[len] = 0;
	*n = len;
	return b;
}

/* Lines split on '\n' only (prompts may hold U+2028, tabs, control characters). */
struct lines {
	char *buf;
	char **s;
	size_t *len;
	int n;
};

static int read_lines(struct lines *l, const char *p)
{
	size_t n;
	memset(l, 0, sizeof *l);
	if (!(l->buf = slurp(p, &n)))
		return -1;
	for (size_t i = 0; i < n; i++)
		l->n += l->buf[i] == '\n';
	l->s = calloc(l->n + 1, sizeof *l->s);
	l->len = calloc(l->n + 1, sizeof *l->len);
	char *q = l->buf;
	for (int i = 0; i < l->n; i++) {
		char *e = memchr(q, '\n', l->buf + n - q);
		l->s[i] = q;
		l->len[i] = (size_t)(e - q);
		*e = 0;
		q = e + 1;
	}
	return 0;
}

static void free_lines(struct lines *l)
{
	free(l->buf);
	free(l->s);
	free(l->len);
}

/* Golden ids: one line of space-separated integers per prompt. */
struct golden {
	int32_t *ids;
	int *off, *n;
	int rows;
};

static int read_golden(struct golden *g, const char *p)
{
	struct lines l;
	if (read_lines(&l, p))
		return -1;
	g->rows = l.n;
	g->off = calloc(l.n, sizeof *g->off);
	g->n = calloc(l.n, sizeof *g->n);
	size_t total = 0;
	for (int i = 0; i < l.n; i++)
		total += l.len[i] / 2 + 1;
	g->ids = malloc(total * sizeof *g->ids);
	int k = 0;
	for (int i = 0; i < l.n; i++) {
		char *q = l.s[i], *e;
		g->off[i] = k;
		while (*q) {
			long v = strtol(q, &e, 10);
			if (e == q)
				break;
			g->ids[k++] = (int32_t)v;
			q = e;
		}
		g->n[i] = k - g->off[i];
	}
	free_lines(&l);
	return 0;
}

static void free_golden(struct golden *g)
{
	free(g->ids);
	free(g->off);
	free(g->n);
}

static struct lines prompts;
static struct golden full, g120;

/*
 * Rows of `g` that t reproduces (max_ids as given); with unk_as >= 0, an id
 * equal to t's <unk> also matches unk_as in the golden.  Truncation flags
 * must say whether the untruncated ids (ids_full) were longer.
 */
static int count_matches(const struct dc_spm *t, const struct golden *g, int max_ids, int unk_as,
                         int verbose)
{
	int32_t ids[4096];
	int ok = 0, shown = 0;
	for (int i = 0; i < prompts.n && i < g->rows; i++) {
		int n, tr;
		enum dc_status s = dc_spm_encode(t, prompts.s[i], prompts.len[i], ids, max_ids, &n, &tr);
		int same = s == DC_OK && n == g->n[i];
		for (int j = 0; same && j < n; j++) {
			int32_t want = g->ids[g->off[i] + j];
			same = ids[j] == want || (unk_as >= 0 && ids[j] == dc_spm_unk_id(t) && want == unk_as);
		}
		if (same && tr != (full.n[i] > max_ids))
			same = 0;
		ok += same;
		if (!same && verbose && shown++ < 3) {
			printf("#   prompt %d '%s': got", i, prompts.s[i]);
			for (int j = 0; j < n && j < 24; j++)
				printf(" %d", ids[j]);
			printf("\n#     want");
			for (int j = 0; j < g->n[i] && j < 24; j++)
				printf(" %d", g->ids[g->off[i] + j]);
			printf("\n");
		}
	}
	return ok;
}

TEST(golden_spiece_model)
{
	struct dc_spm *t;
	if (dc_spm_open(&t, path("tests/golden/t5/spiece.model"))) {
		T_FAILED("open: %s", dc_errmsg());
		return;
	}
	CHECK_EQ_INT(dc_spm_size(t), 2100);
	CHECK_EQ_INT(dc_spm_pad_id(t), 0);
	CHECK_EQ_INT(dc_spm_eos_id(t), 1);
	CHECK_EQ_INT(dc_spm_unk_id(t), 2);
	CHECK_EQ_INT(dc_spm_max_length(t), 0);
	CHECK(dc_spm_piece(t, 1) && strcmp(dc_spm_piece(t, 1), "</s>") == 0);
	CHECK(dc_spm_piece(t, 2099) && strcmp(dc_spm_piece(t, 2099), "<extra_id_0>") == 0);
	CHECK(dc_spm_piece(t, 2000) && strcmp(dc_spm_piece(t, 2000), "<extra_id_99>") == 0);
	CHECK(dc_spm_piece(t, -1) == NULL && dc_spm_piece(t, 2100) == NULL);
	int a = count_matches(t, &full, 4096, -1, 1), b = count_matches(t, &g120, 120, -1, 1);
	printf("# spiece.model: ids_full %d/%d, ids_120 %d/%d\n", a, full.rows, b, g120.rows);
	CHECK_EQ_INT(a, 360);
	CHECK_EQ_INT(b, 360);
	CHECK_EQ_INT(full.rows, 360);

	/* the same image from memory */
	size_t n;
	char *img = slurp(path("tests/golden/t5/spiece.model"), &n);
	struct dc_spm *m;
	CHECK(img && dc_spm_open_memory(&m, img, n) == DC_OK);
	if (img && m) {
		CHECK_EQ_INT(count_matches(m, &full, 4096, -1, 1), 360);
		dc_spm_free(m);
	}
	free(img);
	dc_spm_free(t);
}

TEST(golden_folder_and_tokenizer_json)
{
	struct dc_spm *dir, *js;
	if (dc_spm_open(&dir, path("tests/golden/pipe/model/tokenizer"))) {
		T_FAILED("open folder: %s", dc_errmsg());
		return;
	}
	if (dc_spm_open(&js, path("tests/golden/pipe/model/tokenizer/tokenizer.json"))) {
		T_FAILED("open tokenizer.json: %s", dc_errmsg());
		dc_spm_free(dir);
		return;
	}
	CHECK_EQ_INT(dc_spm_max_length(dir), 120);   /* tokenizer_config.json */
	CHECK_EQ_INT(dc_spm_max_length(js), 0);
	CHECK_EQ_INT(dc_spm_size(js), 2100);
	CHECK_EQ_INT(dc_spm_eos_id(js), 1);
	CHECK_EQ_INT(dc_spm_unk_id(js), 2);
	CHECK_EQ_INT(dc_spm_pad_id(js), 0);
	int r[4] = { count_matches(dir, &full, 4096, -1, 1), count_matches(dir, &g120, 120, -1, 1),
	             count_matches(js, &full, 4096, -1, 1), count_matches(js, &g120, 120, -1, 1) };
	printf("# folder: %d, %d; tokenizer.json: %d, %d of 360 (ids_full, ids_120)\n", r[0], r[1],
	       r[2], r[3]);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(r[i], 360);
	for (int i = 0; i < dc_spm_size(js); i++)
		if (strcmp(dc_spm_piece(js, i), dc_spm_piece(dir, i))) {
			T_FAILED("piece %d differs", i);
			break;
		}
	dc_spm_free(dir);
	dc_spm_free(js);
}

/*
 * ruT5 (32100 ids, eos 2, unk 1): transformers 5 emits id 2 for unknown
 * characters (T5Tokenizer builds Unigram(unk_id=2)); we emit the model's
 * <unk>.  Every row must match once that is allowed for.
 */
TEST(rut5_reference)
{
	struct golden rf, r120;
	const char *names[3] = { ".ref/rut5", ".ref/rut5/spiece.model", ".ref/rut5/tokenizer.json" };
	struct stat sb;
	if (stat(path(".ref/rut5/spiece.model"), &sb) ||
	    read_golden(&rf, path(".ref/rut5o/ids_full.txt"))) {
		printf("# SKIP ruT5: .ref/rut5 absent\n");
		return;
	}
	if (read_golden(&r120, path(".ref/rut5o/ids_120.txt"))) {
		free_golden(&rf);
		printf("# SKIP ruT5: ids_120 absent\n");
		return;
	}
	struct golden keep = full;
	full = rf;      /* truncation flags come from ruT5's own full ids */
	for (int k = 0; k < 3; k++) {
		struct dc_spm *t;
		if (dc_spm_open(&t, path(names[k]))) {
			T_FAILED("open %s: %s", names[k], dc_errmsg());
			continue;
		}
		CHECK_EQ_INT(dc_spm_size(t), 32100);
		CHECK_EQ_INT(dc_spm_eos_id(t), 2);
		CHECK_EQ_INT(dc_spm_unk_id(t), 1);
		CHECK_EQ_INT(dc_spm_pad_id(t), 0);
		int e1 = count_matches(t, &rf, 4096, -1, 0), e2 = count_matches(t, &r120, 120, -1, 0);
		int m1 = count_matches(t, &rf, 4096, 2, 1), m2 = count_matches(t, &r120, 120, 2, 1);
		printf("# ruT5 %s: exact %d/%d full, %d/%d 120; with unknown characters as id 2: "
		       "%d, %d\n", names[k], e1, rf.rows, e2, r120.rows, m1, m2);
		CHECK_EQ_INT(m1, 360);
		CHECK_EQ_INT(m2, 360);
		dc_spm_free(t);
	}
	full = keep;
	free_golden(&rf);
	free_golden(&r120);
}

static int enc(const struct dc_spm *t, const char *s, int32_t *ids, int max, int *tr)
{
	int n = -1;
	enum dc_status st = dc_spm_encode(t, s, strlen(s), ids, max, &n, tr);
	return st ? -(int)st : n;
}

static int ids_are(const int32_t *ids, int n, const int *want, int nw)
{
	if (n != nw)
		return 0;
	for (int i = 0; i < n; i++)
		if (ids[i] != want[i])
			return 0;
	return 1;
}

#define EXPECT_IDS(t, text, ...)                                                     \
	do {                                                                         \
		static const int _w[] = { __VA_ARGS__ };                             \
		int32_t _ids[256];                                                   \
		int _n = enc(t, text, _ids, 256, NULL);                              \
		if (!ids_are(_ids, _n, _w, (int)(sizeof _w / sizeof *_w))) {         \
			T_FAILED("'%s': %d ids:", text, _n);                         \
			for (int _i = 0; _i < _n; _i++)                              \
				printf(" %d", _ids[_i]);                             \
			printf("\n");                                                \
		}                                                                    \
	} while (0)

TEST(special_tokens_and_truncation)
{
	struct dc_spm *t;
	if (dc_spm_open(&t, path("tests/golden/t5/spiece.model"))) {
		T_FAILED("open: %s", dc_errmsg());
		return;
	}
	int32_t ids[256], ref[256];
	int tr = -1;
	/* empty and blank text: only </s> */
	CHECK_EQ_INT(enc(t, "", ids, 256, &tr), 1);
	CHECK_EQ_INT(ids[0], 1);
	CHECK_EQ_INT(tr, 0);
	CHECK_EQ_INT(enc(t, " \t\n\u3000 ", ids, 256, &tr), 1);
	CHECK_EQ_INT(dc_spm_encode(t, NULL, 0, ids, 5, &tr, NULL), DC_OK);
	/* special tokens written in the text */
	EXPECT_IDS(t, "<pad><unk></s>", 0, 2, 1, 1);
	EXPECT_IDS(t, "<extra_id_0><extra_id_99>", 2099, 2000, 1);
	int n = enc(t, "</s> looks special", ids, 256, NULL);
	CHECK(n > 3 && ids[0] == 1 && ids[1] == 7 && ids[n - 1] == 1);
	n = enc(t, "<extra_id_100>", ids, 256, NULL);          /* not a sentinel */
	CHECK(n > 3 && ids[0] != 2000 && ids[1] != 2000);
	n = enc(t, "</s", ids, 256, NULL);
	CHECK(n > 2 && ids[0] != 1);
	/* truncation keeps the first max-1 ids and appends </s> */
	const char *s = "a dragon made of glass, an astronaut riding a horse, the moon over the sea";
	int nf = enc(t, s, ref, 256, &tr);
	CHECK(nf > 10 && tr == 0);
	CHECK_EQ_INT(enc(t, s, ids, nf, &tr), nf);
	CHECK_EQ_INT(tr, 0);
	CHECK_EQ_INT(enc(t, s, ids, nf - 1, &tr), nf - 1);
	CHECK_EQ_INT(tr, 1);
	CHECK(memcmp(ids, ref, (size_t)(nf - 2) * sizeof *ids) == 0 && ids[nf - 2] == 1);
	CHECK_EQ_INT(enc(t, s, ids, 1, &tr), 1);
	CHECK(ids[0] == 1 && tr == 1);
	CHECK_EQ_INT(enc(t, "", ids, 1, &tr), 1);
	CHECK_EQ_INT(tr, 0);
	/* bad arguments */
	const char *bad[] = { "\x80", "a\xc0\xaf" "b", "\xe2\x96", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	                      "ok\xff", "\xf0\x9f\x8d" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		n = 99;
		CHECK_EQ_INT(dc_spm_encode(t, bad[i], strlen(bad[i]), ids, 256, &n, &tr), DC_EINVAL);
		CHECK_EQ_INT(n, 0);
	}
	CHECK_EQ_INT(dc_spm_encode(t, "a", 1, ids, 0, &n, NULL), DC_EINVAL);
	CHECK_EQ_INT(dc_spm_encode(t, "a", 1, NULL, 5, &n, NULL), DC_EINVAL);
	CHECK_EQ_INT(dc_spm_encode(t, NULL, 3, ids, 5, &n, NULL), DC_EINVAL);
	CHECK_EQ_INT(dc_spm_encode(t, "a", 1, ids, 5, NULL, NULL), DC_EINVAL);
	/* text with NUL bytes is text */
	CHECK(dc_spm_encode(t, "a\0b", 3, ids, 256, &n, NULL) == DC_OK && n >= 3);
	dc_spm_free(t);
}

/*
 * A hand-made Unigram tokenizer.json (no normaliser):
 *   0 <pad> 0, 1 </s> 0, 2 <unk> 0, 3 ▁ -1, 4 a -2, 5 b -2, 6 ab -1,
 *   7 ▁a -1.5, 8 <0x78> -5, 9 c -3; extra ids appended (10..109);
 *   added [M] = 200, single word.  min score -5, so <unk> scores -15.
 */
#define TINY(bf)                                                                           \
	"{\"added_tokens\": [{\"id\": 200, \"content\": \"[M]\", \"single_word\": true, "      \
	"\"special\": true, \"normalized\": false}], \"normalizer\": null, "                   \
	"\"model\": {\"type\": \"Unigram\", \"unk_id\": 2, \"byte_fallback\": " bf ", "        \
	"\"vocab\": [[\"<pad>\", 0], [\"</s>\", 0], [\"<unk>\", 0], [\"\xe2\x96\x81\", -1], "  \
	"[\"a\", -2], [\"b\", -2], [\"ab\", -1], [\"\xe2\x96\x81" "a\", -1.5], "              \
	"[\"<0x78>\", -5], [\"c\", -3]]}}"

TEST(lattice_unknowns_added_tokens)
{
	struct dc_spm *t, *bf;
	const char *j = TINY("false"), *jb = TINY("true");
	if (dc_spm_open_memory(&t, j, strlen(j)) || dc_spm_open_memory(&bf, jb, strlen(jb))) {
		T_FAILED("open: %s", dc_errmsg());
		return;
	}
	CHECK_EQ_INT(dc_spm_size(t), 201);
	CHECK(strcmp(dc_spm_piece(t, 109), "<extra_id_0>") == 0);
	CHECK(strcmp(dc_spm_piece(t, 10), "<extra_id_99>") == 0);
	CHECK(strcmp(dc_spm_piece(t, 200), "[M]") == 0);
	CHECK(dc_spm_piece(t, 150) == NULL);
	EXPECT_IDS(t, "ab", 3, 6, 1);                  /* ▁+ab (-2) beats ▁a+b (-3.5) */
	EXPECT_IDS(t, "a b", 7, 3, 5, 1);
	EXPECT_IDS(t, "a\tb", 7, 3, 5, 1);             /* White_Space splits words */
	EXPECT_IDS(t, "a\xe3\x80\x80" "b", 7, 3, 5, 1);
	EXPECT_IDS(t, "a\xc2\x85" "b", 7, 3, 5, 1);
	EXPECT_IDS(t, "  a   b  ", 7, 3, 5, 1);
	EXPECT_IDS(t, "a\xe2\x96\x81" "b", 7, 3, 5, 1);    /* cut before each ▁ */
	EXPECT_IDS(t, "\xe2\x96\x81\xe2\x96\x81" "a", 3, 7, 1);
	EXPECT_IDS(t, "xyz", 3, 2, 1);                 /* unknowns fuse into one <unk> */
	EXPECT_IDS(t, "xay", 3, 2, 4, 2, 1);
	EXPECT_IDS(t, "x y", 3, 2, 3, 2, 1);           /* not across words */
	EXPECT_IDS(t, "\xe6\x9d\xb1\xe4\xba\xac", 3, 2, 1);
	EXPECT_IDS(bf, "x", 3, 8, 1);                  /* byte fallback: <0x78> */
	EXPECT_IDS(bf, "xyz", 3, 2, 1);                /* no <0x79>: <unk> */
	EXPECT_IDS(t, "c<extra_id_0>c", 3, 9, 109, 3, 9, 1);
	EXPECT_IDS(t, "<extra_id_0", 3, 2, 4, 2, 1);
	EXPECT_IDS(t, "a [M] b", 7, 200, 3, 5, 1);
	EXPECT_IDS(t, "a[M]", 7, 2, 1);                /* single_word: not inside a word */
	EXPECT_IDS(t, "[M]", 200, 1);
	dc_spm_free(t);
	dc_spm_free(bf);
}

/* A normalised added token matches after the charsmap (fullwidth folds). */
TEST(normalized_added_token)
{
	size_t n;
	char *text = slurp(path("tests/golden/pipe/model/tokenizer/tokenizer.json"), &n);
	cJSON *root = text ? cJSON_Parse(text) : NULL;
	if (!root) {
		T_FAILED("cannot read tokenizer.json");
		free(text);
		return;
	}
	cJSON *added = cJSON_GetObjectItem(root, "added_tokens");
	cJSON *tok = cJSON_CreateObject();
	cJSON_AddNumberToObject(tok, "id", 2100);
	cJSON_AddStringToObject(tok, "content", "abc");
	cJSON_AddBoolToObject(tok, "normalized", 1);
	cJSON_AddBoolToObject(tok, "special", 0);
	cJSON_AddItemToArray(added, tok);
	char *out = cJSON_PrintUnformatted(root);
	struct dc_spm *t;
	if (dc_spm_open_memory(&t, out, strlen(out))) {
		T_FAILED("open: %s", dc_errmsg());
	} else {
		int32_t ids[64];
		int k = enc(t, "x\xef\xbd\x81\xef\xbd\x82\xef\xbd\x83y", ids, 64, NULL);   /* xａｂｃy */
		int found = 0;
		for (int i = 0; i < k; i++)
			found |= ids[i] == 2100;
		CHECK(found);
		CHECK_EQ_INT(dc_spm_size(t), 2101);
		dc_spm_free(t);
	}
	free(out);
	cJSON_Delete(root);
	free(text);
}

/* Top-level field boundaries of a protobuf and how many pieces precede each. */
static int boundaries(const unsigned char *b, size_t n, size_t *at, int *npieces, int cap)
{
	size_t i = 0;
	int k = 0, pieces = 0;
	at[k] = 0;
	npieces[k++] = 0;
	while (i < n && k < cap) {
		uint64_t tag = 0, len = 0;
		int sh = 0;
		while (b[i] & 0x80)
			tag |= (uint64_t)(b[i++] & 0x7f) << sh, sh += 7;
		tag |= (uint64_t)b[i++] << sh;
		sh = 0;
		while (b[i] & 0x80)
			len |= (uint64_t)(b[i++] & 0x7f) << sh, sh += 7;
		len |= (uint64_t)b[i++] << sh;
		i += len;
		pieces += (tag >> 3) == 1;
		at[k] = i;
		npieces[k++] = pieces;
	}
	return k;
}

TEST(malformed_models)
{
	size_t n;
	unsigned char *img = (unsigned char *)slurp(path("tests/golden/t5/spiece.model"), &n);
	if (!img) {
		T_FAILED("cannot read spiece.model");
		return;
	}
	static size_t at[8192];
	static int np[8192];
	int nb = boundaries(img, n, at, np, 8192);
	CHECK(nb > 2000 && at[nb - 1] == n);
	/* every cut of the first 700 and the last 300 bytes */
	int ok = 0, fmt = 0, wrong = 0;
	for (size_t len = 0; len <= n; len++) {
		if (len == 700)
			len = n - 300;
		int k = 0;
		while (k < nb && at[k] < len)
			k++;
		int valid = k < nb && at[k] == len && np[k] >= 3;   /* pad, eos, unk */
		struct dc_spm *t = (void *)1;
		enum dc_status s = dc_spm_open_memory(&t, img, len);
		if (s == DC_OK) {
			ok++;
			int32_t ids[64];
			int m;
			if (dc_spm_encode(t, "a red apple", 11, ids, 64, &m, NULL) || m < 2)
				wrong++;
			dc_spm_free(t);
		} else {
			fmt += s == DC_EFORMAT;
			if (t != NULL)
				wrong++;
		}
		if ((s == DC_OK) != valid || (s != DC_OK && s != DC_EFORMAT))
			wrong++;
	}
	printf("# truncations: %d accepted (at piece boundaries), %d DC_EFORMAT\n", ok, fmt);
	CHECK_EQ_INT(wrong, 0);
	CHECK(ok > 50 && fmt > 600);

	/* random corruption: never a crash; accepted models encode in range */
	unsigned char *c = malloc(n);
	uint64_t x = 88172645463325252ull;
	int acc = 0, rej = 0, bad = 0;
	for (int it = 0; it < 300; it++) {
		memcpy(c, img, n);
		int flips = 1 + it % 8;
		for (int f = 0; f < flips; f++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t pos = it % 3 == 0 ? (size_t)(x % 4096) : (size_t)(x % n);
			c[pos] ^= (unsigned char)(1 + (x >> 40) % 255);
		}
		struct dc_spm *t;
		enum dc_status s = dc_spm_open_memory(&t, c, n);
		if (s == DC_OK) {
			acc++;
			for (int p = 0; p < prompts.n; p += 7) {
				int32_t ids[512];
				int m;
				if (dc_spm_encode(t, prompts.s[p], prompts.len[p], ids, 512, &m, NULL)) {
					bad++;
					continue;
				}
				for (int q = 0; q < m; q++)
					bad += ids[q] < 0 || ids[q] >= dc_spm_size(t);
			}
			dc_spm_free(t);
		} else {
			rej++;
			bad += s != DC_EFORMAT && s != DC_EUNSUPPORTED && s != DC_ELIMIT;
		}
	}
	printf("# corruptions: %d accepted, %d rejected\n", acc, rej);
	CHECK_EQ_INT(bad, 0);

	/* a trainer_spec {model_type: BPE} appended (protobuf merges): unsupported */
	unsigned char *bpe = malloc(n + 8);
	memcpy(bpe, img, n);
	memcpy(bpe + n, "\x12\x02\x18\x02", 4);
	struct dc_spm *t;
	CHECK_EQ_INT(dc_spm_open_memory(&t, bpe, n + 4), DC_EUNSUPPORTED);
	CHECK(t == NULL);
	/* a group wire type, a length past the end */
	CHECK_EQ_INT(dc_spm_open_memory(&t, "\x0b\x0c", 2), DC_EFORMAT);
	CHECK_EQ_INT(dc_spm_open_memory(&t, "\x0a\x7f\x0a", 3), DC_EFORMAT);
	CHECK_EQ_INT(dc_spm_open_memory(&t, "", 0), DC_EFORMAT);
	/* a piece with invalid UTF-8, an empty piece */
	CHECK_EQ_INT(dc_spm_open_memory(&t, "\x0a\x03\x0a\x01\xff", 5), DC_EFORMAT);
	CHECK_EQ_INT(dc_spm_open_memory(&t, "\x0a\x02\x0a\x00", 4), DC_EFORMAT);
	/* a charsmap whose trie size is past its end */
	memcpy(bpe, img, n);
	memcpy(bpe + n, "\x1a\x06\x12\x04\xff\x00\x00\x00", 8);
	CHECK_EQ_INT(dc_spm_open_memory(&t, bpe, n + 8), DC_EFORMAT);
	printf("# %s\n", dc_errmsg());
	free(bpe);
	free(c);
	free(img);
}

TEST(malformed_json_and_files)
{
	struct dc_spm *t;
	const char *fmt[] = {
		"{", "{}", "{\"model\": 3}", "{\"model\": {\"type\": \"Unigram\", \"vocab\": 3}}",
		"{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}",
		"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\"]]}}",
		"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", \"x\"]]}}",
		"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"\", 0]]}}",
		"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"</s>\", 0], [\"<unk>\", 0]], \"unk_id\": 7}}",
		"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"</s>\", 0], [\"<unk>\", 0]]}} x",
		"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}}",     /* no </s>, no <unk> */
		"{\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"@@@@\"}, "
		"\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"</s>\", 0], [\"<unk>\", 0]]}}",
		"{\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"AAAA\"}, "
		"\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"</s>\", 0], [\"<unk>\", 0]]}}",
		"{\"added_tokens\": [{\"id\": -1, \"content\": \"x\"}], "
		"\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"</s>\", 0], [\"<unk>\", 0]]}}",
		"{\"added_tokens\": [{\"id\": 1, \"content\": 5}], "
		"\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"</s>\", 0], [\"<unk>\", 0]]}}",
	};
	for (size_t i = 0; i < sizeof fmt / sizeof *fmt; i++) {
		t = (void *)1;
		enum dc_status s = dc_spm_open_memory(&t, fmt[i], strlen(fmt[i]));
		if (s != DC_EFORMAT || t)
			T_FAILED("json %zu: %s (%s)", i, dc_strstatus(s), dc_errmsg());
	}
	const char *ok =
		"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"</s>\", 0], [\"<unk>\", 0]]}}";
	CHECK_EQ_INT(dc_spm_open_memory(&t, ok, strlen(ok)), DC_OK);
	dc_spm_free(t);
	const char *bpe = "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}";
	CHECK_EQ_INT(dc_spm_open_memory(&t, bpe, strlen(bpe)), DC_EUNSUPPORTED);

	CHECK_EQ_INT(dc_spm_open(&t, path("tests/golden/t5/no-such-file")), DC_ENOTFOUND);
	char dir[] = "/tmp/test_spm_XXXXXX";
	if (!mkdtemp(dir)) {
		T_FAILED("mkdtemp");
		return;
	}
	CHECK_EQ_INT(dc_spm_open(&t, dir), DC_ENOTFOUND);
	char p[256], cmd[1024];
	snprintf(cmd, sizeof cmd, "cp '%s' '%s/'", path("tests/golden/t5/spiece.model"), dir);
	CHECK(system(cmd) == 0);
	CHECK_EQ_INT(dc_spm_open(&t, dir), DC_OK);
	dc_spm_free(t);
	snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
	FILE *f = fopen(p, "w");
	fputs("{\"extra_ids\": \"many\"}", f);
	fclose(f);
	CHECK_EQ_INT(dc_spm_open(&t, dir), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "tokenizer_config.json") != NULL);
	f = fopen(p, "w");
	fputs("{\"extra_ids\": 0, \"model_max_length\": 77, \"eos_token\": {\"content\": \"</s>\"}}", f);
	fclose(f);
	if (dc_spm_open(&t, dir) == DC_OK) {
		CHECK_EQ_INT(dc_spm_size(t), 2000);
		CHECK_EQ_INT(dc_spm_max_length(t), 77);
		CHECK_EQ_INT(dc_spm_eos_id(t), 1);
		dc_spm_free(t);
	} else {
		T_FAILED("open with extra_ids 0: %s", dc_errmsg());
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd)) {}
}

/* Tokenizers are read-only: encoding from many threads gives the serial ids. */
TEST(concurrent_encode)
{
	struct dc_spm *t;
	if (dc_spm_open(&t, path("tests/golden/t5/spiece.model"))) {
		T_FAILED("open: %s", dc_errmsg());
		return;
	}
	int bad = 0;
	#pragma omp parallel for reduction(+:bad) num_threads(4)
	for (int r = 0; r < 4 * prompts.n; r++) {
		int i = r % prompts.n, n, k = full.n[i];
		int32_t ids[4096];
		if (dc_spm_encode(t, prompts.s[i], prompts.len[i], ids, 4096, &n, NULL) || n != k ||
		    memcmp(ids, full.ids + full.off[i], (size_t)k * sizeof *ids))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	dc_spm_free(t);
}

TEST(timing)
{
	struct dc_spm *t;
	if (dc_spm_open(&t, path("tests/golden/t5/spiece.model"))) {
		T_FAILED("open: %s", dc_errmsg());
		return;
	}
	/* the prompt whose full encoding is closest to 120 ids */
	int best = 0;
	for (int i = 0; i < full.rows; i++)
		if (abs(full.n[i] - 120) < abs(full.n[best] - 120))
			best = i;
	int32_t ids[512];
	int n, m, reps = 2000;
	double t0 = dc_time();
	for (int r = 0; r < reps; r++)
		dc_spm_encode(t, prompts.s[best], prompts.len[best], ids, 512, &n, NULL);
	double us = (dc_time() - t0) / reps * 1e6;
	t0 = dc_time();
	for (int i = 0; i < prompts.n; i++)
		dc_spm_encode(t, prompts.s[i], prompts.len[i], ids, 120, &m, NULL);
	printf("# encode: %.1f us for %zu bytes -> %d ids; all %d prompts %.2f ms\n", us,
	       prompts.len[best], n, prompts.n, (dc_time() - t0) * 1e3);
	CHECK(n == full.n[best]);
	dc_spm_free(t);
}

int main(void)
{
	const char *e = getenv("DC_TOP");
	snprintf(top, sizeof top, "%s", e ? e : ".");
	if (read_lines(&prompts, path("tests/golden/t5/prompts.txt")) ||
	    read_golden(&full, path("tests/golden/t5/ids_full.txt")) ||
	    read_golden(&g120, path("tests/golden/t5/ids_120.txt"))) {
		printf("not ok 1 - cannot read tests/golden/t5\n");
		return 1;
	}
	RUN(golden_spiece_model);
	RUN(golden_folder_and_tokenizer_json);
	RUN(rut5_reference);
	RUN(special_tokens_and_truncation);
	RUN(lattice_unknowns_added_tokens);
	RUN(normalized_added_token);
	RUN(malformed_models);
	RUN(malformed_json_and_files);
	RUN(concurrent_encode);
	RUN(timing);
	free_lines(&prompts);
	free_golden(&full);
	free_golden(&g120);
	return test_summary();
}
