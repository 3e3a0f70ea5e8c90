/*
 * test_pixart.c - parity of lib/models/pixart.c with diffusers'
 * PixArtTransformer2DModel and a torch transcription of PixArt-delta's
 * ControlNet-Transformer (tests/golden/make_pixart.py; golden tensors in
 * tests/golden/pixart/, reference computed in float64).  Tolerance: every
 * component within 1e-4 relative to the output's largest magnitude and
 * 1e-4 relative to itself (|d| <= 1e-5 max|ref| + 1e-4 |ref|).
 * Also: a bf16 copy of a checkpoint runs through per-block conversion,
 * control_scale 0 reproduces the base model, and bad folders fail with
 * messages naming the key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "core/core.h"
#include "io/safetensors.h"
#include "models/pixart.h"

#define GOLD "tests/golden/pixart"

static char top[4096];

static const char *path(const char *rel)
{
	static char buf[4][4200];
	static int k;
	k = (k + 1) & 3;
	snprintf(buf[k], sizeof buf[k], "%s/%s", top, rel);
	return buf[k];
}

static struct dc_safetensors *io;

static float *get(const char *name, size_t n)
{
	const struct dc_st_tensor *t = dc_safetensors_find(io, name);
	if (!t || t->numel != n) {
		printf("# golden tensor '%s' missing or of the wrong size\n", name);
		return NULL;
	}
	float *p = malloc(n * sizeof *p);
	if (dc_safetensors_get_f32(io, name, p, n)) {
		free(p);
		return NULL;
	}
	return p;
}

static void compare(const char *what, const float *got, const float *ref, size_t n)
{
	double mx = 0, ma = 0, mr = 0;
	for (size_t i = 0; i < n; i++)
		if (fabs(ref[i]) > mx)
			mx = fabs(ref[i]);
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - ref[i]);
		if (d > ma || d != d)
			ma = d;
		if (d / mx > mr || d != d)
			mr = d / mx;
	}
	printf("# %s: max abs %.3g, max rel (to max |ref| %.3g) %.3g\n", what, ma, mx, mr);
	CHECK(mx > 0.1);
	CHECK_CLOSE(got, ref, n, 1e-5 * mx, 1e-4);
}

struct case_in {
	struct dc_pixart_input in;
	float *lat, *text, *mask_f, *res, *ar, *ts, *ref, *ctl, *scale;
	unsigned char mask[64];
	size_t nout;
};

static int load_case(struct case_in *c, const char *k, int B, int Cin, int Hh, int Ww, int T,
                     int Cout, int micro)
{
	char n[64];
	memset(c, 0, sizeof *c);
	size_t nl = (size_t)B * Cin * Hh * Ww;
	c->nout = (size_t)B * Cout * Hh * Ww;
#define G(dst, nm, cnt) do { snprintf(n, sizeof n, "%s.%s", k, nm); dst = get(n, cnt); \
	if (!dst) return -1; } while (0)
	G(c->lat, "latents", nl);
	G(c->text, "text", (size_t)B * T * 16);
	G(c->mask_f, "mask", (size_t)B * T);
	G(c->ts, "timestep", 1);
	G(c->ref, "out", c->nout);
	if (micro) {
		G(c->res, "resolution", (size_t)B * 2);
		G(c->ar, "aspect", (size_t)B);
	}
#undef G
	for (int i = 0; i < B * T; i++)
		c->mask[i] = c->mask_f[i] != 0;
	c->in = (struct dc_pixart_input){ .batch = B, .height = Hh, .width = Ww, .latents = c->lat,
	                                  .timestep = c->ts[0], .text_len = T, .text = c->text,
	                                  .text_mask = c->mask, .resolution = c->res,
	                                  .aspect_ratio = c->ar };
	return 0;
}

static void free_case(struct case_in *c)
{
	free(c->lat); free(c->text); free(c->mask_f); free(c->res); free(c->ar); free(c->ts);
	free(c->ref); free(c->ctl); free(c->scale);
}

TEST(alpha_512_no_microconditions)
{
	struct dc_pixart *p;
	struct case_in c;
	enum dc_status s = dc_pixart_open(&p, path(GOLD "/a"));
	if (s) { T_FAILED("open: %s", dc_errmsg()); return; }
	CHECK_EQ_INT(dc_pixart_config(p)->micro_conditions, 0);
	CHECK_EQ_INT(dc_pixart_config(p)->hidden, 16);
	if (load_case(&c, "a", 2, 4, 8, 8, 6, 8, 0)) { T_FAILED("golden"); goto out; }
	float *o = calloc(c.nout, sizeof *o);
	struct dc_arena ar;
	CHECK(dc_arena_init(&ar, dc_pixart_scratch_bytes(p, 2, 8, 8, 6, 0)) == DC_OK);
	s = dc_pixart_forward(p, &c.in, o, &ar);
	if (s) T_FAILED("forward: %s", dc_errmsg());
	else compare("alpha-512 (a)", o, c.ref, c.nout);
	CHECK_EQ_INT(ar.used, 0);
	/* no arena: allocated internally, same result */
	float *o2 = calloc(c.nout, sizeof *o2);
	CHECK(dc_pixart_forward(p, &c.in, o2, NULL) == DC_OK);
	CHECK(memcmp(o, o2, c.nout * sizeof *o) == 0);
	/* the text mask matters: all tokens kept gives another answer */
	c.in.text_mask = NULL;
	CHECK(dc_pixart_forward(p, &c.in, o2, NULL) == DC_OK);
	CHECK(max_abs_diff(o, o2, c.nout) > 1e-3);
	dc_arena_release(&ar);
	free(o); free(o2);
	free_case(&c);
out:
	dc_pixart_free(p);
}

TEST(ms_1024_microconditions_nonsquare)
{
	struct dc_pixart *p;
	struct case_in c;
	enum dc_status s = dc_pixart_open(&p, path(GOLD "/b"));
	if (s) { T_FAILED("open: %s", dc_errmsg()); return; }
	CHECK_EQ_INT(dc_pixart_config(p)->micro_conditions, 1);
	CHECK(dc_pixart_config(p)->interpolation_scale == 2.0);
	if (load_case(&c, "b", 2, 4, 8, 12, 5, 8, 1)) { T_FAILED("golden"); goto out; }
	float *o = calloc(c.nout, sizeof *o);
	s = dc_pixart_forward(p, &c.in, o, NULL);
	if (s) T_FAILED("forward: %s", dc_errmsg());
	else compare("1024-MS (b), 8x12 latent", o, c.ref, c.nout);
	/* micro-conditions are required */
	c.in.resolution = NULL;
	CHECK(dc_pixart_forward(p, &c.in, o, NULL) == DC_EINVAL);
	/* odd latent size */
	c.in.resolution = c.res;
	c.in.width = 11;
	CHECK(dc_pixart_forward(p, &c.in, o, NULL) == DC_EINVAL);
	free(o);
	free_case(&c);
out:
	dc_pixart_free(p);
}

static void control_case(const char *file, const char *label)
{
	struct dc_pixart *p;
	struct dc_pixart_control *ctl = NULL;
	struct case_in c;
	if (dc_pixart_open(&p, path(GOLD "/b"))) { T_FAILED("open: %s", dc_errmsg()); return; }
	if (dc_pixart_control_open(&ctl, p, path(file))) {
		T_FAILED("control open: %s", dc_errmsg());
		goto out;
	}
	CHECK_EQ_INT(dc_pixart_control_blocks(ctl), 2);
	if (load_case(&c, "b", 2, 4, 8, 12, 5, 8, 1)) { T_FAILED("golden"); goto out; }
	float *ref_b = c.ref;
	c.ref = get("c.out", c.nout);
	c.ctl = get("c.control", (size_t)2 * 4 * 8 * 12);
	c.scale = get("c.scale", 1);
	if (!c.ref || !c.ctl || !c.scale) { T_FAILED("golden"); free(ref_b); free_case(&c); goto out; }
	c.in.control = ctl;
	c.in.control_latents = c.ctl;
	c.in.control_scale = c.scale[0];
	float *o = calloc(c.nout, sizeof *o);
	struct dc_arena ar;
	CHECK(dc_arena_init(&ar, dc_pixart_scratch_bytes(p, 2, 8, 12, 5, 1)) == DC_OK);
	if (dc_pixart_forward(p, &c.in, o, &ar)) T_FAILED("forward: %s", dc_errmsg());
	else compare(label, o, c.ref, c.nout);
	/* control_scale 0: the base model */
	c.in.control_scale = 0;
	if (dc_pixart_forward(p, &c.in, o, &ar) == DC_OK)
		CHECK_CLOSE(o, ref_b, c.nout, 1e-4, 1e-4);
	else
		T_FAILED("forward: %s", dc_errmsg());
	dc_arena_release(&ar);
	free(o);
	free(ref_b);
	free_case(&c);
out:
	dc_pixart_control_free(ctl);
	dc_pixart_free(p);
}

TEST(controlnet_official_keys) { control_case(GOLD "/control_official.safetensors", "control (official keys)"); }
TEST(controlnet_diffusers_keys) { control_case(GOLD "/control_diffusers.safetensors", "control (diffusers-port keys)"); }

/* Rewrite model b's checkpoint into dir in dtype dt, without tensor `drop`
 * (NULL: keep all), with its config. */
static int rewrite(const char *dir, enum dc_dtype dt, const char *drop)
{
	struct dc_safetensors *st;
	if (dc_safetensors_open(&st, path(GOLD "/b/diffusion_pytorch_model.safetensors")))
		return -1;
	size_t n = dc_safetensors_count(st), k = 0;
	struct dc_st_write_entry *e = calloc(n, sizeof *e);
	void **bufs = calloc(n, sizeof *bufs);
	int64_t (*shapes)[DC_MAX_RANK] = calloc(n, sizeof *shapes);
	for (size_t i = 0; i < n; i++) {
		const struct dc_st_tensor *t = dc_safetensors_at(st, i);
		if (drop && !strcmp(t->name, drop))
			continue;
		float *f = malloc(t->numel * sizeof *f + 8);
		dc_safetensors_get_f32(st, t->name, f, t->numel);
		bufs[k] = malloc(t->numel * 4 + 8);
		dc_convert_from_f32(bufs[k], dt, f, t->numel);
		free(f);
		memcpy(shapes[k], t->shape, sizeof shapes[k]);
		e[k] = (struct dc_st_write_entry){ t->name, dt, t->rank, shapes[k], bufs[k] };
		k++;
	}
	char fn[4300];
	snprintf(fn, sizeof fn, "%s/diffusion_pytorch_model.safetensors", dir);
	FILE *f = fopen(fn, "wb");
	int rc = f && dc_safetensors_write(f, e, k, NULL, 0) == DC_OK ? 0 : -1;
	if (f) fclose(f);
	snprintf(fn, sizeof fn, "cp '%s' '%s/config.json'", path(GOLD "/b/config.json"), dir);
	if (system(fn)) rc = -1;
	for (size_t i = 0; i < k; i++) free(bufs[i]);
	free(bufs); free(e); free(shapes);
	dc_safetensors_close(st);
	return rc;
}

TEST(bf16_checkpoint_and_bad_folders)
{
	char dir[] = "/tmp/dc_pixart_XXXXXX";
	if (!mkdtemp(dir)) { T_FAILED("mkdtemp"); return; }
	struct case_in c;
	if (load_case(&c, "b", 2, 4, 8, 12, 5, 8, 1)) { T_FAILED("golden"); return; }
	struct dc_pixart *p;
	CHECK(rewrite(dir, DC_BF16, NULL) == 0);
	if (dc_pixart_open(&p, dir) == DC_OK) {
		float *o = calloc(c.nout, sizeof *o);
		CHECK(dc_pixart_forward(p, &c.in, o, NULL) == DC_OK);
		double mx = 0, md = max_abs_diff(o, c.ref, c.nout);
		for (size_t i = 0; i < c.nout; i++)
			if (fabs(c.ref[i]) > mx) mx = fabs(c.ref[i]);
		printf("# bf16 weights (per-block conversion): max abs %.3g (rel %.3g)\n", md, md / mx);
		CHECK(md / mx < 0.05);
		CHECK(md / mx > 1e-6);   /* it really is bf16 */
		free(o);
		dc_pixart_free(p);
	} else {
		T_FAILED("bf16 open: %s", dc_errmsg());
	}
	/* a dropped key */
	CHECK(rewrite(dir, DC_F32, "transformer_blocks.1.attn2.to_k.weight") == 0);
	CHECK(dc_pixart_open(&p, dir) == DC_ENOTFOUND);
	CHECK(strstr(dc_errmsg(), "transformer_blocks.1.attn2.to_k.weight") != NULL);
	printf("# missing key: %s\n", dc_errmsg());
	/* a wrong shape: one FF weight stored transposed */
	{
		struct dc_safetensors *st;
		CHECK(dc_safetensors_open(&st, path(GOLD "/b/diffusion_pytorch_model.safetensors")) == 0);
		size_t n = dc_safetensors_count(st);
		struct dc_st_write_entry *e = calloc(n, sizeof *e);
		int64_t (*sh)[DC_MAX_RANK] = calloc(n, sizeof *sh);
		for (size_t i = 0; i < n; i++) {
			const struct dc_st_tensor *t = dc_safetensors_at(st, i);
			memcpy(sh[i], t->shape, sizeof sh[i]);
			if (!strcmp(t->name, "transformer_blocks.2.ff.net.0.proj.weight"))
				sh[i][0] = t->shape[1], sh[i][1] = t->shape[0];   /* transposed */
			e[i] = (struct dc_st_write_entry){ t->name, t->dtype, t->rank, sh[i], t->data };
		}
		char fn[4300];
		snprintf(fn, sizeof fn, "%s/diffusion_pytorch_model.safetensors", dir);
		FILE *f = fopen(fn, "wb");
		CHECK(f && dc_safetensors_write(f, e, n, NULL, 0) == DC_OK);
		if (f) fclose(f);
		free(e); free(sh);
		dc_safetensors_close(st);
	}
	CHECK(dc_pixart_open(&p, dir) == DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "transformer_blocks.2.ff.net.0.proj.weight") != NULL);
	printf("# wrong shape: %s\n", dc_errmsg());
	/* a control file for another model */
	if (dc_pixart_open(&p, path(GOLD "/a")) == DC_OK) {
		struct dc_pixart_control *ctl;
		CHECK(dc_pixart_control_open(&ctl, p, path(GOLD "/control_official.safetensors")) != DC_OK);
		printf("# control for another base: %s\n", dc_errmsg());
		CHECK(dc_pixart_control_open(&ctl, p, path(GOLD "/a/diffusion_pytorch_model.safetensors")) == DC_EFORMAT);
		dc_pixart_free(p);
	}
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd)) {}
	free_case(&c);
}

int main(void)
{
	const char *t = getenv("DC_TOP");
	snprintf(top, sizeof top, "%s", t ? t : ".");
	if (dc_safetensors_open(&io, path(GOLD "/io.safetensors"))) {
		printf("not ok 1 - cannot open golden io: %s\n", dc_errmsg());
		return 1;
	}
	RUN(alpha_512_no_microconditions);
	RUN(ms_1024_microconditions_nonsquare);
	RUN(controlnet_official_keys);
	RUN(controlnet_diffusers_keys);
	RUN(bf16_checkpoint_and_bad_folders);
	dc_safetensors_close(io);
	return test_summary();
}
