/*
 * test_relevance.c - the per-control-block skip of the PixArt-delta
 * ControlNet-Transformer (dc_pixart_input.control_skip and
 * dc_dit_params.control_skip) that relevance-score probes with:
 *   - zeroing every block's residual (1) gives exactly (bit for bit) the
 *     control_scale 0 output, and so does bypassing every block (2);
 *   - bypassing a block that has later blocks differs from zeroing its
 *     residual (the control stream reaching the later blocks changes) and
 *     from running it; for the last block the two are the same;
 *   - all zeros equals NULL; a value above 2 is DC_EINVAL.
 * Fixtures: tests/golden/pixart/b with its 2-block control (transformer
 * level) and the tiny pipeline tests/golden/pipe/model with the 1-block
 * tests/golden/dit/controlnet (pipeline level).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/core.h"
#include "io/safetensors.h"
#include "models/dit.h"
#include "models/pixart.h"

static char top[4096];

static const char *path(const char *rel)
{
	static char buf[4][4200];
	static int k;
	k = (k + 1) & 3;
	snprintf(buf[k], sizeof buf[k], "%s/%s", top, rel);
	return buf[k];
}

static float *get(struct dc_safetensors *io, const char *name, size_t n)
{
	const struct dc_st_tensor *t = dc_safetensors_find(io, name);
	if (!t || t->numel != n)
		return NULL;
	float *p = malloc(n * sizeof *p);
	if (p && dc_safetensors_get_f32(io, name, p, n)) {
		free(p);
		return NULL;
	}
	return p;
}

/* Shapes of the "b" case of tests/golden/make_pixart.py. */
#define B_ 2
#define H_ 8
#define W_ 12
#define T_ 5

TEST(transformer_skip_modes)
{
	struct dc_safetensors *io = NULL;
	struct dc_pixart *p = NULL;
	struct dc_pixart_control *ctl = NULL;
	float *lat = NULL, *text = NULL, *maskf = NULL, *res = NULL, *asp = NULL, *ts = NULL,
	      *cl = NULL;
	size_t nl = (size_t)B_ * 4 * H_ * W_, no = (size_t)B_ * 8 * H_ * W_;
	float *o[8] = { 0 };
	if (dc_safetensors_open(&io, path("tests/golden/pixart/io.safetensors")) ||
	    dc_pixart_open(&p, path("tests/golden/pixart/b")) ||
	    dc_pixart_control_open(&ctl, p, path("tests/golden/pixart/control_official.safetensors"))) {
		T_FAILED("open: %s", dc_errmsg());
		goto out;
	}
	CHECK_EQ_INT(dc_pixart_control_blocks(ctl), 2);
	lat = get(io, "b.latents", nl);
	text = get(io, "b.text", (size_t)B_ * T_ * 16);
	maskf = get(io, "b.mask", (size_t)B_ * T_);
	res = get(io, "b.resolution", (size_t)B_ * 2);
	asp = get(io, "b.aspect", B_);
	ts = get(io, "b.timestep", 1);
	cl = get(io, "c.control", nl);
	if (!lat || !text || !maskf || !res || !asp || !ts || !cl) {
		T_FAILED("golden tensors missing");
		goto out;
	}
	unsigned char mask[B_ * T_];
	for (int i = 0; i < B_ * T_; i++)
		mask[i] = maskf[i] != 0;
	for (int i = 0; i < 8; i++)
		if (!(o[i] = calloc(no, sizeof(float)))) {
			T_FAILED("out of memory");
			goto out;
		}
	struct dc_pixart_input in = { .batch = B_, .height = H_, .width = W_, .latents = lat,
	                              .timestep = ts[0], .text_len = T_, .text = text,
	                              .text_mask = mask, .resolution = res, .aspect_ratio = asp,
	                              .control = ctl, .control_latents = cl,
	                              .control_scale = 1.0f };
	static const unsigned char s00[2] = { 0, 0 }, s11[2] = { 1, 1 }, s22[2] = { 2, 2 },
	                           s10[2] = { 1, 0 }, s20[2] = { 2, 0 }, s01[2] = { 0, 1 },
	                           s02[2] = { 0, 2 }, bad[2] = { 0, 3 };
	const unsigned char *sk[8] = { NULL, s00, s11, s22, s10, s20, s01, s02 };
	for (int i = 0; i < 8; i++) {
		in.control_skip = sk[i];
		if (dc_pixart_forward(p, &in, o[i], NULL)) {
			T_FAILED("forward %d: %s", i, dc_errmsg());
			goto out;
		}
	}
	float *base = calloc(no, sizeof *base);
	in.control_skip = NULL;
	in.control_scale = 0;
	CHECK(base && dc_pixart_forward(p, &in, base, NULL) == DC_OK);
	if (base) {
		CHECK(memcmp(o[2], base, no * sizeof *base) == 0);   /* all zeroed == scale 0 */
		CHECK(memcmp(o[3], base, no * sizeof *base) == 0);   /* all bypassed == scale 0 */
		CHECK(max_abs_diff(o[0], base, no) > 1e-3);          /* the control matters */
	}
	free(base);
	CHECK(memcmp(o[0], o[1], no * sizeof(float)) == 0);      /* zeros == NULL */
	double d_zero = max_abs_diff(o[4], o[0], no), d_bypass = max_abs_diff(o[5], o[0], no),
	       d_modes = max_abs_diff(o[5], o[4], no), d_last = max_abs_diff(o[7], o[6], no);
	printf("# block 0 of 2: zero vs run %.4g, bypass vs run %.4g, bypass vs zero %.4g; "
	       "last block bypass vs zero %.3g\n", d_zero, d_bypass, d_modes, d_last);
	CHECK(d_zero > 1e-3);
	CHECK(d_bypass > 1e-3);
	CHECK(d_modes > 1e-3);
	CHECK(d_last == 0);
	CHECK(max_abs_diff(o[6], o[0], no) > 1e-3);
	in.control_scale = 1;
	in.control_skip = bad;
	CHECK(dc_pixart_forward(p, &in, o[0], NULL) == DC_EINVAL);
	printf("# bad skip value: %s\n", dc_errmsg());
out:
	for (int i = 0; i < 8; i++)
		free(o[i]);
	free(lat); free(text); free(maskf); free(res); free(asp); free(ts); free(cl);
	dc_pixart_control_free(ctl);
	dc_pixart_free(p);
	dc_safetensors_close(io);
}

TEST(pipeline_skip)
{
	struct dc_dit *d = NULL;
	if (dc_dit_open(&d, path("tests/golden/pipe/model"), 0) ||
	    dc_dit_set_controlnet(d, path("tests/golden/dit/controlnet"))) {
		T_FAILED("open: %s", dc_errmsg());
		dc_dit_free(d);
		return;
	}
	const struct dc_dit_info *info = dc_dit_info(d);
	CHECK_EQ_INT(info->control_blocks, 1);
	struct dc_dit_params pr;
	dc_dit_params_init(&pr);
	pr.steps = 3;
	struct dc_dit_plan pl;
	if (dc_dit_plan(d, &pr, &pl)) {
		T_FAILED("plan: %s", dc_errmsg());
		dc_dit_free(d);
		return;
	}
	int w = pl.width, h = pl.height;
	/* a control image: a white square outline on black */
	unsigned char *px = calloc((size_t)w * h, 1);
	for (int y = h / 4; y < 3 * h / 4; y++)
		for (int x = w / 4; x < 3 * w / 4; x++)
			if (y == h / 4 || y == 3 * h / 4 - 1 || x == w / 4 || x == 3 * w / 4 - 1)
				px[(size_t)y * w + x] = 255;
	struct dc_image img = { w, h, 1, 8, px };
	const char *prompts[2] = { "a red apple", "a blue square" };
	uint64_t seeds[2] = { 3, 4 };
	struct dc_dit_request rq = { .n = 2, .prompts = prompts, .seeds = seeds, .control = &img };
	size_t nl = (size_t)2 * info->latent_channels * pl.lat_height * pl.lat_width;
	float *full = calloc(nl, 4), *zero = calloc(nl, 4), *byp = calloc(nl, 4), *s0 = calloc(nl, 4);
	static const unsigned char one[1] = { 1 }, two[1] = { 2 };
	CHECK(dc_dit_generate(d, &pr, &rq, full, NULL) == DC_OK);
	pr.control_skip = one;
	CHECK(dc_dit_generate(d, &pr, &rq, zero, NULL) == DC_OK);
	pr.control_skip = two;
	CHECK(dc_dit_generate(d, &pr, &rq, byp, NULL) == DC_OK);
	pr.control_skip = NULL;
	pr.control_scale = 0;
	CHECK(dc_dit_generate(d, &pr, &rq, s0, NULL) == DC_OK);
	CHECK(memcmp(zero, s0, nl * 4) == 0);
	CHECK(memcmp(byp, zero, nl * 4) == 0);     /* one block: nothing downstream */
	double df = max_abs_diff(full, zero, nl);
	printf("# pipeline, 1 control block: full vs zeroed residual %.4g\n", df);
	CHECK(df > 1e-3);
	free(full); free(zero); free(byp); free(s0); free(px);
	dc_dit_free(d);
}

int main(void)
{
	const char *t = getenv("DC_TOP");
	snprintf(top, sizeof top, "%s", t ? t : ".");
	RUN(transformer_skip_modes);
	RUN(pipeline_skip);
	return test_summary();
}
