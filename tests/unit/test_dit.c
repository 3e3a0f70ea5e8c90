/*
 * test_dit.c - the PixArt pipeline (lib/models/dit.c) against diffusers'
 * PixArtAlphaPipeline run end to end on the tiny random-weight pipeline of
 * tests/golden/make_pipe.py (prompts -> ids -> T5 embeddings -> 4 DPM-Solver++
 * steps at cfg 4.5 -> latents -> VAE -> image, reference in float64), and
 * the pieces make_dit.py checks with torch/PIL themselves: PIL's LANCZOS
 * resize (control images), resize_and_crop_tensor (binning), plus the
 * aspect-ratio bins (expected values computed with diffusers' tables and
 * classify_height_width_bin), Python's lower().strip(), a ControlNet on the
 * pipeline, seeds, the step callback and bad requests.
 *
 * Tolerances: latents and image |d| <= 1e-5 max|ref| + 1e-4 |ref| (about
 * 1e-4 relative); embeddings likewise; ids exact; LANCZOS exact; bilinear
 * 1e-6 absolute.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/core.h"
#include "io/safetensors.h"
#include "models/dit.h"
#include "models/vae.h"
#include "text/spm.h"

#define PIPE "tests/golden/pipe"
#define DIT "tests/golden/dit"

static char top[4096];

static const char *path(const char *rel)
{
	static char buf[4][4200];
	static int k;
	k = (k + 1) & 3;
	snprintf(buf[k], sizeof buf[k], "%s/%s", top, rel);
	return buf[k];
}

static struct dc_safetensors *io, *rz;

static float *get(struct dc_safetensors *st, const char *name, size_t n)
{
	const struct dc_st_tensor *t = dc_safetensors_find(st, name);
	if (!t || t->numel != n) {
		printf("# golden tensor '%s' missing or of the wrong size\n", name);
		return NULL;
	}
	float *p = malloc(n * sizeof *p);
	if (dc_safetensors_get_f32(st, name, p, n)) {
		free(p);
		return NULL;
	}
	return p;
}

/* |d| <= 1e-5 max|ref| + 1e-4 |ref|; prints the figures. */
static void compare(const char *what, const float *got, const float *ref, size_t n)
{
	double mx = 0, ma = 0, mr = 0, rr = 0;
	for (size_t i = 0; i < n; i++)
		if (fabs(ref[i]) > mx)
			mx = fabs(ref[i]);
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - ref[i]);
		if (d > ma || d != d)
			ma = d;
		if (d / mx > mr || d != d)
			mr = d / mx;
		if (fabs(ref[i]) > 1e-2 * mx && d / fabs(ref[i]) > rr)
			rr = d / fabs(ref[i]);
	}
	printf("# %s: max abs %.3g, max abs / max|ref| (%.3g) %.3g, max rel (|ref| > 1%% of max) %.3g\n",
	       what, ma, mx, mr, rr);
	CHECK(mx > 0.05);
	CHECK_CLOSE(got, ref, n, 1e-5 * mx, 1e-4);
}

enum { B = 2, C = 4, L = 8, NTOK = 120, DT = 32, IMG = 32, TR = 23 /* real tokens of the longer prompt */ };

/* The golden text conditioning as dc_dit_text: all 120 positions or the first `len`. */
static int golden_text(const char *emb, const char *msk, int rows, int len, struct dc_dit_text *t)
{
	float *e = get(io, emb, (size_t)rows * NTOK * DT), *m = get(io, msk, (size_t)rows * NTOK);
	if (!e || !m) {
		free(e);
		free(m);
		return -1;
	}
	memset(t, 0, sizeof *t);
	t->batch = rows;
	t->len = len;
	t->dim = DT;
	t->embeds = dc_alloc((size_t)rows * len * DT * sizeof(float));
	t->mask = malloc((size_t)rows * len);
	for (int r = 0; r < rows; r++)
		for (int k = 0; k < len; k++) {
			memcpy(t->embeds + ((size_t)r * len + k) * DT, e + ((size_t)r * NTOK + k) * DT,
			       DT * sizeof(float));
			t->mask[(size_t)r * len + k] = m[(size_t)r * NTOK + k] != 0;
		}
	free(e);
	free(m);
	return 0;
}

static int max_real(const char *msk, int rows)
{
	float *m = get(io, msk, (size_t)rows * NTOK);
	int T = 1;
	for (int r = 0; r < rows; r++)
		for (int k = 0; k < NTOK; k++)
			if (m[(size_t)r * NTOK + k] != 0 && k + 1 > T)
				T = k + 1;
	free(m);
	return T;
}

static void golden_params(struct dc_dit_params *p)
{
	dc_dit_params_init(p);
	p->width = p->height = IMG;
	p->steps = 4;
	p->guidance = 4.5f;
}

TEST(aspect_ratio_bins)
{
	/* kind, sample_size, h, w -> bin h, w: diffusers' classify_height_width_bin */
	static const int cases[][6] = {
		{ 0, 128, 1024, 1024, 1024, 1024 }, { 0, 128, 768, 1360, 768, 1344 },
		{ 0, 128, 1360, 768, 1344, 768 }, { 0, 128, 1000, 700, 1216, 832 },
		{ 0, 128, 700, 1000, 832, 1216 }, { 0, 128, 512, 512, 1024, 1024 },
		{ 0, 128, 100, 400, 512, 2048 }, { 0, 128, 400, 100, 2048, 512 },
		{ 0, 128, 1, 1000, 512, 2048 }, { 0, 128, 1000, 1, 2048, 512 },
		{ 0, 128, 545, 1000, 768, 1344 }, { 0, 128, 1000, 1030, 1024, 1024 },
		{ 0, 128, 300, 299, 1024, 1024 }, { 0, 64, 512, 512, 512, 512 },
		{ 0, 64, 480, 640, 416, 576 }, { 0, 64, 1080, 1920, 384, 672 },
		{ 0, 32, 256, 256, 256, 256 }, { 0, 32, 200, 300, 208, 304 },
		{ 0, 32, 333, 222, 304, 208 }, { 1, 256, 2048, 2048, 2048, 2048 },
		{ 1, 256, 1024, 4000, 1024, 3968 }, { 1, 256, 3000, 1000, 3456, 1152 },
		{ 1, 256, 1500, 1000, 2432, 1664 }, { 1, 128, 1000, 700, 1216, 832 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int bh = 0, bw = 0;
		int ok = dc_dit_bin((enum dc_dit_kind)cases[i][0], cases[i][1], cases[i][2],
		                    cases[i][3], &bh, &bw);
		if (!ok || bh != cases[i][4] || bw != cases[i][5])
			T_FAILED("bin(%d, %dx%d) = %d, %dx%d, expected %dx%d", cases[i][1], cases[i][2],
			         cases[i][3], ok, bh, bw, cases[i][4], cases[i][5]);
	}
	int bh, bw;
	CHECK_EQ_INT(dc_dit_bin(DC_DIT_ALPHA, 256, 100, 100, &bh, &bw), 0);  /* alpha: no 2048 table */
	CHECK_EQ_INT(dc_dit_bin(DC_DIT_ALPHA, 8, 100, 100, &bh, &bw), 0);
}

TEST(lowercase_strip_as_python)
{
	/* input, Python's s.lower().strip() */
	static const char *const cases[][2] = {
		{ "  An ASTRONAUT  ", "an astronaut" },
		{ "\xc3\x89T\xc3\x89 \xc3\x80 PARIS", "\xc3\xa9t\xc3\xa9 \xc3\xa0 paris" },
		{ "\xc4\xb0STANBUL", "i\xcc\x87stanbul" },
		{ "\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3",
		  "\xce\xbf\xce\xb4\xce\xbf\xcf\x82 \xcf\x83\xce\xbf\xcf\x86\xce\xbf\xcf\x82" },
		{ "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2",
		  "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
		{ "\xe3\x80\x80\xc2\xa0Hello\xe2\x80\x83", "hello" },
		{ "STRASSE \xe1\xba\x9e", "strasse \xc3\x9f" },
		{ "\xef\xbc\xa1\xef\xbc\xa2" "C", "\xef\xbd\x81\xef\xbd\x82" "c" },
		{ "A\xce\xa3", "a\xcf\x82" },
		{ "\xce\xa3", "\xcf\x83" },
		{ "\t\n", "" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *o = NULL;
		if (dc_dit_preprocess(cases[i][0], &o)) {
			T_FAILED("case %zu: %s", i, dc_errmsg());
			continue;
		}
		if (strcmp(o, cases[i][1]))
			T_FAILED("case %zu: got '%s', expected '%s'", i, o, cases[i][1]);
		free(o);
	}
	char *o = NULL;
	CHECK(dc_dit_preprocess("bad \xc3 utf8", &o) == DC_EINVAL);
	CHECK(dc_dit_preprocess("\xed\xa0\x80", &o) == DC_EINVAL);   /* a surrogate */
	CHECK(dc_dit_preprocess("\xc0\xaf", &o) == DC_EINVAL);       /* overlong */
	CHECK(o == NULL);
}

TEST(lanczos_resize_as_pil)
{
	const struct dc_st_tensor *t = dc_safetensors_find(rz, "img_u8");
	if (!t) { T_FAILED("golden img_u8"); return; }
	struct dc_image src = { .width = (int)t->shape[1], .height = (int)t->shape[0],
	                        .channels = 3, .depth = 8, .data = (void *)t->data };
	static const int sz[][2] = { { 32, 32 }, { 64, 48 }, { 53, 37 }, { 20, 60 }, { 107, 75 } };
	for (size_t i = 0; i < sizeof sz / sizeof *sz; i++) {
		char nm[32];
		snprintf(nm, sizeof nm, "lz_%dx%d", sz[i][0], sz[i][1]);
		const struct dc_st_tensor *r = dc_safetensors_find(rz, nm);
		struct dc_image dst;
		if (!r || dc_dit_resize_lanczos(&src, &dst, sz[i][0], sz[i][1])) {
			T_FAILED("%s: %s", nm, r ? dc_errmsg() : "no golden");
			continue;
		}
		size_t n = (size_t)sz[i][0] * sz[i][1] * 3, bad = 0;
		int worst = 0;
		for (size_t k = 0; k < n; k++) {
			int d = abs((int)((uint8_t *)dst.data)[k] - (int)((const uint8_t *)r->data)[k]);
			bad += d != 0;
			worst = d > worst ? d : worst;
		}
		if (bad)
			T_FAILED("%s: %zu of %zu bytes differ from PIL (worst %d)", nm, bad, n, worst);
		dc_image_release(&dst);
	}
	/* gray (1 channel) works too: each channel is filtered alone */
	uint8_t g[6] = { 0, 50, 100, 150, 200, 250 };
	struct dc_image gs = { .width = 3, .height = 2, .channels = 1, .depth = 8, .data = g }, gd;
	CHECK(dc_dit_resize_lanczos(&gs, &gd, 6, 4) == DC_OK);
	CHECK_EQ_INT(gd.channels, 1);
	dc_image_release(&gd);
}

TEST(resize_and_crop_as_torch)
{
	float *in = get(rz, "crop_in", 2 * 3 * 20 * 28);
	if (!in) { T_FAILED("golden"); return; }
	static const int sz[][2] = { { 28, 20 }, { 24, 24 }, { 40, 18 }, { 17, 33 }, { 56, 40 } };
	for (size_t i = 0; i < sizeof sz / sizeof *sz; i++) {
		int w = sz[i][0], h = sz[i][1];
		char nm[32];
		snprintf(nm, sizeof nm, "crop_%dx%d", w, h);
		size_t n = (size_t)2 * 3 * w * h;
		float *ref = get(rz, nm, n), *o = malloc(n * sizeof *o);
		if (!ref) { T_FAILED("golden %s", nm); free(o); continue; }
		for (int b = 0; b < 2; b++)
			dc_dit_resize_crop(in + (size_t)b * 3 * 20 * 28, 3, 20, 28, o + (size_t)b * 3 * w * h,
			                   h, w);
		double e = max_abs_diff(o, ref, n);
		printf("# resize_and_crop 28x20 -> %dx%d: max abs %.3g\n", w, h, e);
		CHECK(e <= 1e-6);
		free(ref);
		free(o);
	}
	free(in);
}

/* The pipeline from the golden embeddings (no tokenizer or T5 needed). */
TEST(pipeline_from_golden_embeddings)
{
	struct dc_dit *d;
	if (dc_dit_open(&d, path(PIPE "/model"), DC_DIT_OPEN_NO_TEXT)) {
		T_FAILED("open: %s", dc_errmsg());
		return;
	}
	const struct dc_dit_info *inf = dc_dit_info(d);
	CHECK_EQ_INT(inf->kind, DC_DIT_ALPHA);
	CHECK_EQ_INT(inf->has_text, 0);
	CHECK_EQ_INT(inf->vae_scale, 4);
	CHECK_EQ_INT(inf->default_width, 32);
	CHECK_EQ_INT(inf->has_bins, 0);
	CHECK_EQ_INT(inf->max_tokens, 120);
	CHECK(strcmp(inf->sampler, "dpm++2m") == 0);
	size_t nl = (size_t)B * C * L * L, ni = (size_t)B * 3 * IMG * IMG;
	float *lin = get(io, "latents_in", nl), *lref = get(io, "latents_out", nl);
	float *iref = get(io, "image", ni);
	float *lat = calloc(nl, sizeof *lat), *img = calloc(ni, sizeof *img);
	float *lat2 = calloc(nl, sizeof *lat2), *img2 = calloc(ni, sizeof *img2);
	struct dc_dit_text cond, unc, cond_t, unc_t;
	if (!lin || !lref || !iref || golden_text("embeds", "mask", B, NTOK, &cond) ||
	    golden_text("neg_embeds", "neg_mask", 1, NTOK, &unc)) {
		T_FAILED("golden");
		goto out;
	}
	struct dc_dit_params p;
	golden_params(&p);
	struct dc_dit_request r = { .n = B, .cond = &cond, .uncond = &unc, .noise = lin };
	if (dc_dit_generate(d, &p, &r, lat, img)) {
		T_FAILED("generate: %s", dc_errmsg());
	} else {
		compare("latents (golden embeddings, 120 positions)", lat, lref, nl);
		compare("image (golden embeddings, 120 positions)", img, iref, ni);
	}
	/* only the real tokens' positions: the same answer */
	int T = max_real("mask", B);
	CHECK_EQ_INT(T, TR);
	golden_text("embeds", "mask", B, T, &cond_t);
	golden_text("neg_embeds", "neg_mask", 1, 1, &unc_t);
	r.cond = &cond_t;
	r.uncond = &unc_t;
	if (dc_dit_generate(d, &p, &r, lat2, img2)) {
		T_FAILED("generate: %s", dc_errmsg());
	} else {
		compare("latents (golden embeddings, real positions only)", lat2, lref, nl);
		printf("# 120 positions vs real only: latents max abs %.3g\n", max_abs_diff(lat, lat2, nl));
		CHECK(max_abs_diff(lat, lat2, nl) < 1e-5);
	}
	/* latents only (no decode) are the same latents */
	memset(lat2, 0, nl * sizeof *lat2);
	CHECK(dc_dit_generate(d, &p, &r, lat2, NULL) == DC_OK);
	CHECK(max_abs_diff(lat2, lat, nl) < 1e-5);
	/* decode alone reproduces the image */
	struct dc_dit_plan pl;
	CHECK(dc_dit_plan(d, &p, &pl) == DC_OK);
	CHECK_EQ_INT(pl.lat_width, 8);
	CHECK_EQ_INT(pl.binned, 0);
	CHECK_EQ_INT(pl.tiled, 0);
	CHECK(dc_dit_decode(d, &pl, B, lat, img2) == DC_OK);
	CHECK(max_abs_diff(img, img2, ni) == 0);
	/* guidance matters: cfg 1 (no CFG, cond rows only) differs */
	p.guidance = 1.0f;
	CHECK(dc_dit_generate(d, &p, &r, lat2, NULL) == DC_OK);
	CHECK(max_abs_diff(lat2, lat, nl) > 1e-3);
	/* prompts without a text encoder: a clear error */
	struct dc_dit_request rp = { .n = 1, .prompts = (const char *[]){ "a cat" } };
	CHECK(dc_dit_generate(d, &p, &rp, lat2, NULL) == DC_EINVAL);
	CHECK(strstr(dc_errmsg(), "text encoder") != NULL);
	dc_dit_text_release(&cond_t);
	dc_dit_text_release(&unc_t);
	dc_dit_text_release(&cond);
	dc_dit_text_release(&unc);
out:
	free(lin); free(lref); free(iref); free(lat); free(img); free(lat2); free(img2);
	dc_dit_free(d);
}

/* End to end from the prompts of pipe.json, with the golden initial latents. */
TEST(pipeline_end_to_end_from_prompts)
{
	struct dc_dit *d;
	if (dc_dit_open(&d, path(PIPE "/model"), 0)) {
		T_FAILED("open: %s", dc_errmsg());
		return;
	}
	CHECK_EQ_INT(dc_dit_info(d)->has_text, 1);
	const char *prompts[B] = { "a red apple", "An astronaut riding a horse, oil painting" };
	size_t nl = (size_t)B * C * L * L, ni = (size_t)B * 3 * IMG * IMG;
	float *gid = get(io, "ids", (size_t)B * NTOK), *gnid = get(io, "neg_ids", NTOK);
	float *ge = get(io, "embeds", (size_t)B * NTOK * DT), *gne = get(io, "neg_embeds", NTOK * DT);
	float *lin = get(io, "latents_in", nl), *lref = get(io, "latents_out", nl);
	float *iref = get(io, "image", ni);
	float *lat = calloc(nl, sizeof *lat), *img = calloc(ni, sizeof *img);
	struct dc_dit_text t = { 0 }, nt = { 0 };
	if (!gid || !gnid || !ge || !gne || !lin || !lref || !iref) {
		T_FAILED("golden");
		goto out;
	}
	/* ids: make_pipe.py saved the tokenizer's ids of the raw prompts (the
	 * pipeline itself tokenizes the lowercased text, which its embeddings
	 * below check): the raw prompts through the tokenizer give the same ids,
	 * padding included, and dc_dit_tokenize is that of the lowercased text */
	struct dc_spm *spm;
	if (dc_spm_open(&spm, path(PIPE "/model/tokenizer"))) {
		T_FAILED("tokenizer: %s", dc_errmsg());
		goto out;
	}
	for (int b = 0; b < B; b++) {
		int32_t ids[NTOK], raw[NTOK];
		int n = 0, full = 0, nr = 0;
		if (dc_dit_tokenize(d, prompts[b], 0, ids, &n, &full) ||
		    dc_spm_encode(spm, prompts[b], strlen(prompts[b]), raw, NTOK, &nr, NULL)) {
			T_FAILED("tokenize: %s", dc_errmsg());
			continue;
		}
		CHECK_EQ_INT(n, full);
		for (int k = nr; k < NTOK; k++)
			raw[k] = 0;
		for (int k = 0; k < NTOK; k++)
			if (raw[k] != (int32_t)gid[b * NTOK + k]) {
				T_FAILED("prompt %d: id %d is %d, transformers %d", b, k, raw[k],
				         (int)gid[b * NTOK + k]);
				break;
			}
		char *low;
		int32_t lids[NTOK];
		int nl2 = 0;
		CHECK(dc_dit_preprocess(prompts[b], &low) == DC_OK);
		CHECK(dc_spm_encode(spm, low, strlen(low), lids, NTOK, &nl2, NULL) == DC_OK);
		CHECK_EQ_INT(n, nl2);
		CHECK(memcmp(ids, lids, (size_t)nl2 * sizeof *ids) == 0);
		for (int k = n; k < NTOK; k++)
			CHECK_EQ_INT(ids[k], 0);
		free(low);
	}
	dc_spm_free(spm);
	/* the golden ids of "" */
	{
		int32_t ids[NTOK];
		int n = 0;
		CHECK(dc_dit_tokenize(d, "", 0, ids, &n, NULL) == DC_OK);
		CHECK_EQ_INT(n, 1);
		for (int k = 0; k < NTOK; k++)
			CHECK_EQ_INT(ids[k], (int)gnid[k]);
	}
	/* embeddings at the encoded positions */
	if (dc_dit_encode_text(d, B, prompts, 0, &t) || dc_dit_encode_text(d, 1, (const char *[]){ "" }, 0, &nt)) {
		T_FAILED("encode: %s", dc_errmsg());
		goto out;
	}
	CHECK_EQ_INT(nt.len, 1);
	CHECK_EQ_INT(nt.ids[0], (int)gnid[0]);
	CHECK_EQ_INT(t.len, t.ntokens[0] > t.ntokens[1] ? t.ntokens[0] : t.ntokens[1]);
	{
		float *ref = malloc((size_t)B * t.len * DT * sizeof *ref);
		for (int b = 0; b < B; b++)
			memcpy(ref + (size_t)b * t.len * DT, ge + (size_t)b * NTOK * DT,
			       (size_t)t.len * DT * sizeof *ref);
		compare("T5 embeddings (prompts, encoded positions)", t.embeds, ref, (size_t)B * t.len * DT);
		compare("T5 embeddings (\"\")", nt.embeds, gne, DT);
		free(ref);
	}
	struct dc_dit_params p;
	golden_params(&p);
	struct dc_dit_request r = { .n = B, .prompts = prompts, .noise = lin };
	if (dc_dit_generate(d, &p, &r, lat, img)) {
		T_FAILED("generate: %s", dc_errmsg());
	} else {
		compare("latents (end to end from prompts)", lat, lref, nl);
		compare("image (end to end from prompts)", img, iref, ni);
	}
	/* a prompt over the limit is truncated to 120 with </s> last, and says so */
	{
		char longp[4096] = "";
		for (int i = 0; i < 150; i++)
			strcat(longp, "apple ");
		int32_t ids[NTOK];
		int n, full;
		CHECK(dc_dit_tokenize(d, longp, 0, ids, &n, &full) == DC_OK);
		CHECK_EQ_INT(n, 120);
		CHECK(full > 120);
		CHECK_EQ_INT(ids[119], 1);
		struct dc_dit_text lt;
		const char *lp = longp;
		CHECK(dc_dit_encode_text(d, 1, &lp, 0, &lt) == DC_OK);
		CHECK_EQ_INT(lt.truncated[0], 1);
		CHECK_EQ_INT(lt.len, 120);
		dc_dit_text_release(&lt);
	}
out:
	dc_dit_text_release(&t);
	dc_dit_text_release(&nt);
	free(gid); free(gnid); free(ge); free(gne); free(lin); free(lref); free(iref);
	free(lat); free(img);
	dc_dit_free(d);
}

static int steps_seen;
static int on_step(void *user, int step, int steps, double t, const float *lat)
{
	steps_seen++;
	return user && step == 2;   /* stop after step 2 when asked */
}

TEST(seeds_callback_and_bad_requests)
{
	struct dc_dit *d;
	if (dc_dit_open(&d, path(PIPE "/model"), DC_DIT_OPEN_NO_TEXT)) {
		T_FAILED("open: %s", dc_errmsg());
		return;
	}
	struct dc_dit_text cond, unc;
	if (golden_text("embeds", "mask", B, TR, &cond) ||
	    golden_text("neg_embeds", "neg_mask", 1, 1, &unc)) {
		T_FAILED("golden");
		dc_dit_free(d);
		return;
	}
	size_t n1 = (size_t)C * L * L;
	float *a = calloc(2 * n1, sizeof *a), *b = calloc(2 * n1, sizeof *b);
	struct dc_dit_params p;
	golden_params(&p);
	uint64_t seeds[2] = { 5, 6 };
	struct dc_dit_request r = { .n = 2, .cond = &cond, .uncond = &unc, .seeds = seeds };
	CHECK(dc_dit_generate(d, &p, &r, a, NULL) == DC_OK);
	/* the second image alone with its seed: the same latents (batch-independent) */
	struct dc_dit_text c1 = cond;
	c1.batch = 1;
	c1.embeds = cond.embeds + (size_t)TR * DT;
	c1.mask = cond.mask + TR;
	struct dc_dit_request r1 = { .n = 1, .cond = &c1, .uncond = &unc, .seeds = seeds + 1 };
	CHECK(dc_dit_generate(d, &p, &r1, b, NULL) == DC_OK);
	printf("# image 2 of a batch vs alone: max abs %.3g\n", max_abs_diff(a + n1, b, n1));
	CHECK(max_abs_diff(a + n1, b, n1) < 1e-5);
	/* the same seed twice: identical bytes; another seed: another image */
	CHECK(dc_dit_generate(d, &p, &r1, b + n1, NULL) == DC_OK);
	CHECK(memcmp(b, b + n1, n1 * sizeof *b) == 0);
	uint64_t s7 = 7;
	r1.seeds = &s7;
	CHECK(dc_dit_generate(d, &p, &r1, b + n1, NULL) == DC_OK);
	CHECK(max_abs_diff(b, b + n1, n1) > 1e-2);
	/* every sampler runs; LCM without CFG */
	static const char *const samplers[] = { "ddim", "euler", "lcm", "dpm" };
	for (int i = 0; i < 4; i++) {
		p.sampler = samplers[i];
		p.guidance = i == 2 ? 0.0f : 4.5f;
		if (dc_dit_generate(d, &p, &r1, b + n1, NULL) != DC_OK)
			T_FAILED("%s: %s", samplers[i], dc_errmsg());
		for (size_t k = 0; k < n1; k++)
			if (!isfinite(b[n1 + k])) {
				T_FAILED("%s: non-finite latents", samplers[i]);
				break;
			}
	}
	p.sampler = "bogus";
	CHECK(dc_dit_generate(d, &p, &r1, b, NULL) != DC_OK);
	p.sampler = NULL;
	p.guidance = 4.5f;
	/* the callback sees every step and can stop the run */
	p.progress = on_step;
	steps_seen = 0;
	CHECK(dc_dit_generate(d, &p, &r1, b, NULL) == DC_OK);
	CHECK_EQ_INT(steps_seen, 4);
	steps_seen = 0;
	p.progress_user = &steps_seen;
	CHECK(dc_dit_generate(d, &p, &r1, b, NULL) == DC_EINVAL);
	CHECK_EQ_INT(steps_seen, 2);
	p.progress = NULL;
	/* bad sizes */
	struct dc_dit_plan pl;
	p.width = 30;
	CHECK(dc_dit_plan(d, &p, &pl) == DC_EINVAL);
	CHECK(strstr(dc_errmsg(), "multiple of 8") != NULL);
	CHECK(dc_dit_generate(d, &p, &r1, b, NULL) == DC_EINVAL);
	p.width = 4;
	CHECK(dc_dit_plan(d, &p, &pl) == DC_EINVAL);
	p.width = 40;
	CHECK(dc_dit_plan(d, &p, &pl) == DC_OK);
	CHECK_EQ_INT(pl.lat_width, 10);
	/* text of the wrong width */
	struct dc_dit_text bad = c1;
	bad.dim = 16;
	r1.cond = &bad;
	CHECK(dc_dit_generate(d, &p, &r1, b, NULL) == DC_EINVAL);
	/* a control image without a ControlNet */
	uint8_t px[3 * 32 * 32] = { 0 };
	struct dc_image ci = { .width = 32, .height = 32, .channels = 3, .depth = 8, .data = px };
	r1.cond = &c1;
	r1.control = &ci;
	CHECK(dc_dit_generate(d, &p, &r1, b, NULL) == DC_EINVAL);
	CHECK(strstr(dc_errmsg(), "ControlNet") != NULL);
	free(a);
	free(b);
	dc_dit_text_release(&cond);
	dc_dit_text_release(&unc);
	dc_dit_free(d);
}

TEST(controlnet_on_the_pipeline)
{
	struct dc_dit *d;
	if (dc_dit_open(&d, path(PIPE "/model"), DC_DIT_OPEN_NO_TEXT)) {
		T_FAILED("open: %s", dc_errmsg());
		return;
	}
	CHECK(dc_dit_set_controlnet(d, path("tests/golden/no/such")) != DC_OK);
	CHECK_EQ_INT(dc_dit_info(d)->control_blocks, 0);
	CHECK(dc_dit_controlnet(d) == NULL);
	CHECK(dc_dit_text_encoder(d) == NULL);           /* opened without text */
	CHECK(dc_dit_transformer(d) != NULL && dc_dit_vae(d) != NULL);
	if (dc_dit_set_controlnet(d, path(DIT "/controlnet"))) {
		T_FAILED("controlnet: %s", dc_errmsg());
		dc_dit_free(d);
		return;
	}
	CHECK_EQ_INT(dc_dit_info(d)->control_blocks, 1);
	CHECK(dc_dit_controlnet(d) != NULL);
	struct dc_dit_text cond, unc;
	golden_text("embeds", "mask", B, TR, &cond);
	golden_text("neg_embeds", "neg_mask", 1, 1, &unc);
	cond.batch = 1;
	size_t n1 = (size_t)C * L * L, hw = (size_t)IMG * IMG;
	float *base = calloc(n1, sizeof *base), *o = calloc(n1, sizeof *o), *o2 = calloc(n1, sizeof *o2);
	float *cl = calloc(n1, sizeof *cl), *cl2 = calloc(n1, sizeof *cl2);
	uint8_t *px = malloc(hw * 3), *small = malloc((size_t)20 * 28);
	for (size_t i = 0; i < hw * 3; i++)
		px[i] = (uint8_t)((i * 37) % 251);
	for (size_t i = 0; i < (size_t)20 * 28; i++)
		small[i] = (uint8_t)(i % 7 ? 0 : 255);
	struct dc_image ci = { .width = IMG, .height = IMG, .channels = 3, .depth = 8, .data = px };
	struct dc_image cs = { .width = 28, .height = 20, .channels = 1, .depth = 8, .data = small };
	struct dc_dit_params p;
	golden_params(&p);
	uint64_t seed = 3;
	struct dc_dit_request r = { .n = 1, .cond = &cond, .uncond = &unc, .seeds = &seed };
	CHECK(dc_dit_generate(d, &p, &r, base, NULL) == DC_OK);
	/* control latents: deterministic per seed, and the posterior sample of the VAE */
	CHECK(dc_dit_control_latents(d, &p, &ci, 3, cl) == DC_OK);
	CHECK(dc_dit_control_latents(d, &p, &ci, 3, cl2) == DC_OK);
	CHECK(memcmp(cl, cl2, n1 * sizeof *cl) == 0);
	CHECK(dc_dit_control_latents(d, &p, &ci, 4, cl2) == DC_OK);
	CHECK(max_abs_diff(cl, cl2, n1) > 1e-3);
	/* a gray control image of another size is converted and resized */
	CHECK(dc_dit_control_latents(d, &p, &cs, 3, cl2) == DC_OK);
	CHECK(max_abs_diff(cl, cl2, n1) > 1e-3);
	/* scale 0: the base model's output */
	r.control = &ci;
	p.control_scale = 0;
	CHECK(dc_dit_generate(d, &p, &r, o, NULL) == DC_OK);
	printf("# control scale 0 vs no control: max abs %.3g\n", max_abs_diff(o, base, n1));
	CHECK(max_abs_diff(o, base, n1) < 1e-6);
	/* scale 1: a different image; image control = its latents given directly */
	p.control_scale = 1;
	CHECK(dc_dit_generate(d, &p, &r, o, NULL) == DC_OK);
	printf("# control scale 1 vs no control: max abs %.3g\n", max_abs_diff(o, base, n1));
	CHECK(max_abs_diff(o, base, n1) > 1e-2);
	r.control = NULL;
	r.control_latents = cl;
	CHECK(dc_dit_generate(d, &p, &r, o2, NULL) == DC_OK);
	CHECK(memcmp(o, o2, n1 * sizeof *o) == 0);
	/* 16-bit control images are refused */
	struct dc_image c16 = ci;
	c16.depth = 16;
	CHECK(dc_dit_control_latents(d, &p, &c16, 3, cl2) == DC_EUNSUPPORTED);
	free(base); free(o); free(o2); free(cl); free(cl2); free(px); free(small);
	cond.batch = B;
	dc_dit_text_release(&cond);
	dc_dit_text_release(&unc);
	dc_dit_free(d);
}

/* Binning end to end: the fixture's transformer runs at any grid, so give it
 * sample_size 32 (the 256 table) to exercise bin -> generate -> resize/crop. */
TEST(binning_end_to_end)
{
	struct dc_dit *d;
	if (dc_dit_open(&d, path(PIPE "/model"), DC_DIT_OPEN_NO_TEXT)) {
		T_FAILED("open: %s", dc_errmsg());
		return;
	}
	struct dc_dit_info *inf = (struct dc_dit_info *)dc_dit_info(d);
	inf->sample_size = 32;
	inf->has_bins = 1;
	struct dc_dit_text cond, unc;
	golden_text("embeds", "mask", B, TR, &cond);
	golden_text("neg_embeds", "neg_mask", 1, 1, &unc);
	cond.batch = 1;
	struct dc_dit_params p;
	golden_params(&p);
	p.steps = 2;
	p.width = 50;
	p.height = 33;     /* h/w 0.66 -> key 0.68 -> 208 x 304 */
	struct dc_dit_plan pl;
	CHECK(dc_dit_plan(d, &p, &pl) == DC_OK);
	CHECK_EQ_INT(pl.gen_height, 208);
	CHECK_EQ_INT(pl.gen_width, 304);
	CHECK_EQ_INT(pl.lat_width, 76);
	CHECK_EQ_INT(pl.binned, 1);
	size_t nl = (size_t)C * pl.lat_width * pl.lat_height;
	float *lat = calloc(nl, sizeof *lat), *img = calloc((size_t)3 * 50 * 33, sizeof *img);
	float *full = calloc((size_t)3 * 304 * 208, sizeof *full), *ref = calloc((size_t)3 * 50 * 33, sizeof *ref);
	struct dc_dit_request r = { .n = 1, .cond = &cond, .uncond = &unc };
	if (dc_dit_generate(d, &p, &r, lat, img)) {
		T_FAILED("generate: %s", dc_errmsg());
	} else {
		/* the same as diffusers: VAE decode at the bin's size, resize_and_crop
		 * on the [-1, 1] image, then (x/2 + 0.5) clamped */
		struct dc_vae *vae;
		if (dc_vae_open(&vae, path(PIPE "/model/vae"))) {
			T_FAILED("vae: %s", dc_errmsg());
		} else {
			for (size_t i = 0; i < nl; i++)
				lat[i] /= 0.18215f;
			CHECK(dc_vae_decode(vae, lat, 1, 52, 76, full) == DC_OK);
			dc_vae_free(vae);
		}
		dc_dit_resize_crop(full, 3, 208, 304, ref, 33, 50);
		for (size_t i = 0; i < (size_t)3 * 50 * 33; i++) {
			float v = ref[i] * 0.5f + 0.5f;
			ref[i] = v < 0 ? 0 : v > 1 ? 1 : v;
		}
		printf("# binned 50x33 (generated 304x208): vs decode+resize_and_crop max abs %.3g\n",
		       max_abs_diff(img, ref, (size_t)3 * 50 * 33));
		CHECK(max_abs_diff(img, ref, (size_t)3 * 50 * 33) < 1e-5);
	}
	/* binning off: the exact size must be a multiple of 8 */
	p.binning = 0;
	CHECK(dc_dit_plan(d, &p, &pl) == DC_EINVAL);
	p.width = 48;
	p.height = 32;
	CHECK(dc_dit_plan(d, &p, &pl) == DC_OK);
	CHECK_EQ_INT(pl.binned, 0);
	/* tiling: auto above 512x512, forced on */
	p.vae_tiling = 1;
	CHECK(dc_dit_plan(d, &p, &pl) == DC_OK);
	CHECK_EQ_INT(pl.tiled, 1);
	free(lat); free(img); free(full); free(ref);
	cond.batch = B;
	dc_dit_text_release(&cond);
	dc_dit_text_release(&unc);
	dc_dit_free(d);
}

TEST(to_image_rounds_half_even)
{
	float rgb[3] = { 0.5f / 255, 1.5f / 255, 1.0f };   /* 0.5 -> 0, 1.5 -> 2, 255 */
	struct dc_image im;
	CHECK(dc_dit_to_image(rgb, 1, 1, &im) == DC_OK);
	uint8_t *p = im.data;
	CHECK_EQ_INT(p[0], 0);
	CHECK_EQ_INT(p[1], 2);
	CHECK_EQ_INT(p[2], 255);
	dc_image_release(&im);
}

TEST(bad_folders)
{
	struct dc_dit *d;
	CHECK(dc_dit_open(&d, path("tests/golden/no/such/dir"), 0) == DC_ENOTFOUND);
	CHECK(d == NULL);
	CHECK(dc_dit_open(&d, path(PIPE), 0) == DC_ENOTFOUND);       /* no model_index.json */
	CHECK(strstr(dc_errmsg(), "model_index.json") != NULL);
	CHECK(dc_dit_open(&d, path(PIPE "/model/vae"), 0) == DC_ENOTFOUND);
}

int main(void)
{
	const char *t = getenv("DC_TOP");
	snprintf(top, sizeof top, "%s", t ? t : ".");
	if (dc_safetensors_open(&io, path(PIPE "/pipe_io.safetensors")) ||
	    dc_safetensors_open(&rz, path(DIT "/resize.safetensors"))) {
		printf("not ok 1 - cannot open goldens: %s\n", dc_errmsg());
		return 1;
	}
	RUN(aspect_ratio_bins);
	RUN(lowercase_strip_as_python);
	RUN(lanczos_resize_as_pil);
	RUN(resize_and_crop_as_torch);
	RUN(pipeline_from_golden_embeddings);
	RUN(pipeline_end_to_end_from_prompts);
	RUN(seeds_callback_and_bad_requests);
	RUN(controlnet_on_the_pipeline);
	RUN(binning_end_to_end);
	RUN(to_image_rounds_half_even);
	RUN(bad_folders);
	dc_safetensors_close(io);
	dc_safetensors_close(rz);
	return test_summary();
}
