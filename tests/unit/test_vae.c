/*
 * test_vae.c - AutoencoderKL (lib/models/vae.c) against diffusers: a tiny
 * random-weight model (tests/golden/vae/, made by tests/golden/make_vae.py
 * running diffusers in float64) loaded from its diffusers folder; decode,
 * encode (posterior mean and logvar) and tiled decode must match within
 * 1e-4 relative.  Also: tiled decode equals plain decode where there is a
 * single tile, refused tile settings, and one-line errors for a missing key,
 * a wrong shape and an unsupported block type.
 */
#include "../../lib/models/vae.h"
#include "../../lib/io/safetensors.h"
#include "test.h"

#include <stdint.h>
#include <unistd.h>

static char gdir[4096];

static const char *gpath(const char *name)
{
	static char buf[4200];
	snprintf(buf, sizeof buf, "%s/%s", gdir, name);
	return buf;
}

static struct dc_safetensors *io_st;

/* a golden tensor as a new float array (n elements) */
static float *golden(const char *name, size_t n)
{
	float *p = malloc(n * sizeof *p);
	if (!p || !io_st || dc_safetensors_get_f32(io_st, name, p, n) != DC_OK) {
		printf("# golden '%s': %s\n", name, dc_errmsg());
		free(p);
		return NULL;
	}
	return p;
}

/* report max abs / rel error and CHECK within tolerance */
static void compare(const char *what, const float *got, const float *want, size_t n)
{
	double mx = 0, rel = 0, ma = max_abs_diff(got, want, n);
	for (size_t i = 0; i < n; i++)
		if (fabs(want[i]) > mx)
			mx = fabs(want[i]);
	for (size_t i = 0; i < n; i++) {
		/* relative error over components not near zero (|ref| >= 1% of max) */
		double d = fabs((double)got[i] - want[i]);
		if (fabs(want[i]) >= 1e-2 * mx && (d / fabs(want[i]) > rel || d != d))
			rel = d / fabs(want[i]);
	}
	printf("# %s: max abs %.3g, max rel %.3g (max |ref| %.3g)\n", what, ma, rel, mx);
	/* f32 kernels vs a float64 reference: 1e-4 relative per component,
	 * with an absolute floor of 1e-4 * max|ref| for values near zero */
	CHECK_CLOSE(got, want, n, 1e-4 * mx, 1e-4);
}

TEST(open_config)
{
	struct dc_vae *v = NULL;
	CHECK_EQ_INT(dc_vae_open(&v, gdir), DC_OK);
	if (!v) {
		printf("# %s\n", dc_errmsg());
		return;
	}
	const struct dc_vae_config *c = dc_vae_config(v);
	CHECK_EQ_INT(c->nblocks, 3);
	CHECK_EQ_INT(c->block_out_channels[1], 16);
	CHECK_EQ_INT(c->norm_num_groups, 4);
	CHECK_EQ_INT(c->latent_channels, 4);
	CHECK_EQ_INT(c->has_encoder, 1);
	CHECK_EQ_INT(c->has_shift_factor, 0);
	CHECK(fabs(c->scaling_factor - 0.18215) < 1e-12);
	CHECK_EQ_INT(dc_vae_scale(v), 4);
	dc_vae_free(v);
}

TEST(decode)
{
	struct dc_vae *v = NULL;
	size_t nz = 2 * 4 * 6 * 5, ni = 2 * 3 * 24 * 20;
	float *z = golden("dec_z", nz), *want = golden("dec_img", ni), *got = calloc(ni, 4);
	CHECK_EQ_INT(dc_vae_open(&v, gdir), DC_OK);
	if (v && z && want && got) {
		CHECK_EQ_INT(dc_vae_decode(v, z, 2, 6, 5, got), DC_OK);
		compare("decode", got, want, ni);
		/* batch entries are independent: image 1 alone gives the same bytes */
		float *g1 = calloc(ni / 2, 4);
		CHECK_EQ_INT(dc_vae_decode(v, z + nz / 2, 1, 6, 5, g1), DC_OK);
		CHECK(memcmp(g1, got + ni / 2, ni / 2 * 4) == 0);
		free(g1);
	} else {
		CHECK(0);
	}
	dc_vae_free(v);
	free(z);
	free(want);
	free(got);
}

TEST(encode)
{
	struct dc_vae *v = NULL;
	size_t nx = 2 * 3 * 24 * 20, nl = 2 * 4 * 6 * 5;
	float *x = golden("enc_x", nx), *wm = golden("enc_mean", nl), *wl = golden("enc_logvar", nl);
	float *m = calloc(nl, 4), *l = calloc(nl, 4);
	CHECK_EQ_INT(dc_vae_open(&v, gdir), DC_OK);
	if (v && x && wm && wl) {
		CHECK_EQ_INT(dc_vae_encode(v, x, 2, 24, 20, m, l), DC_OK);
		compare("encode mean", m, wm, nl);
		compare("encode logvar", l, wl, nl);
		/* logvar optional */
		memset(m, 0, nl * 4);
		CHECK_EQ_INT(dc_vae_encode(v, x, 2, 24, 20, m, NULL), DC_OK);
		compare("encode mean (no logvar)", m, wm, nl);
		/* not a multiple of the scale */
		CHECK_EQ_INT(dc_vae_encode(v, x, 1, 22, 20, m, l), DC_EINVAL);
	} else {
		CHECK(0);
	}
	dc_vae_free(v);
	free(x);
	free(wm);
	free(wl);
	free(m);
	free(l);
}

TEST(decode_tiled)
{
	struct dc_vae *v = NULL;
	size_t nz = 4 * 20 * 14, ni = 3 * 80 * 56;
	float *z = golden("tile_z", nz), *want = golden("tile_img", ni), *got = calloc(ni, 4);
	float *full = calloc(ni, 4);
	CHECK_EQ_INT(dc_vae_open(&v, gdir), DC_OK);
	if (v && z && want) {
		/* defaults: sample_size 32 / 4 = 8 latents, overlap 0.25 */
		CHECK_EQ_INT(dc_vae_decode_tiled(v, z, 1, 20, 14, got, 0, 0), DC_OK);
		compare("tiled decode", got, want, ni);
		memset(got, 0, ni * 4);
		CHECK_EQ_INT(dc_vae_decode_tiled(v, z, 1, 20, 14, got, 8, 0.25), DC_OK);
		compare("tiled decode (explicit)", got, want, ni);
		/* tiles do change the image (the test can tell them apart) */
		CHECK_EQ_INT(dc_vae_decode(v, z, 1, 20, 14, full), DC_OK);
		CHECK(max_abs_diff(full, want, ni) > 1e-2);
		/* one tile covers it: same as the plain decode */
		CHECK_EQ_INT(dc_vae_decode_tiled(v, z, 1, 20, 14, got, 20, 0.25), DC_OK);
		CHECK(memcmp(got, full, ni * 4) == 0);
		/* diffusers would give another size: refused */
		CHECK_EQ_INT(dc_vae_decode_tiled(v, z, 1, 20, 14, got, 6, 0.25), DC_EINVAL);
		CHECK_EQ_INT(dc_vae_decode(v, z, 0, 20, 14, got), DC_EINVAL);
	} else {
		CHECK(0);
	}
	dc_vae_free(v);
	free(z);
	free(want);
	free(got);
	free(full);
}

/* copy the golden model to a temp folder with config/weights edited */
static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(p, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long len;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)len + 1)) && fread(p, 1, (size_t)len, f) == (size_t)len) {
		p[len] = 0;
		*n = (size_t)len;
	} else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

/* Build a variant folder: weights from the golden file with `drop` left
 * out and `reshape` given a wrong first dim; config with `from` -> `to`. */
static enum dc_status open_variant(const char *drop, const char *reshape, const char *from,
                                   const char *to)
{
	char dir[] = "/tmp/test_vae_XXXXXX", p[256];
	struct dc_safetensors *st = NULL;
	struct dc_vae *v = NULL;
	enum dc_status s = DC_EIO;
	size_t n = 0;
	char *cfg = NULL;
	if (!mkdtemp(dir))
		return DC_EIO;
	if (dc_safetensors_open(&st, gpath("diffusion_pytorch_model.safetensors")) != DC_OK)
		goto out;
	size_t cnt = dc_safetensors_count(st), k = 0;
	struct dc_st_write_entry *e = calloc(cnt, sizeof *e);
	int64_t (*shp)[DC_MAX_RANK] = calloc(cnt, sizeof *shp);
	for (size_t i = 0; i < cnt; i++) {
		const struct dc_st_tensor *t = dc_safetensors_at(st, i);
		if (drop && !strcmp(t->name, drop))
			continue;
		memcpy(shp[k], t->shape, sizeof shp[k]);
		e[k].name = t->name;
		e[k].dtype = t->dtype;
		e[k].rank = t->rank;
		e[k].shape = shp[k];
		e[k].data = t->data;
		if (reshape && !strcmp(t->name, reshape)) {   /* same bytes, other shape */
			shp[k][0] = t->shape[0] * t->shape[1];
			shp[k][1] = 1;
		}
		k++;
	}
	snprintf(p, sizeof p, "%s/diffusion_pytorch_model.safetensors", dir);
	FILE *f = fopen(p, "wb");
	if (f) {
		s = dc_safetensors_write(f, e, k, NULL, 0);
		fclose(f);
	}
	free(e);
	free(shp);
	cfg = slurp(gpath("config.json"), &n);
	if (s != DC_OK || !cfg)
		goto out;
	char *hit = from ? strstr(cfg, from) : NULL;
	char *nc = malloc(n + (to ? strlen(to) : 0) + 1);
	if (hit) {
		size_t a = (size_t)(hit - cfg);
		memcpy(nc, cfg, a);
		strcpy(nc + a, to);
		strcat(nc, hit + strlen(from));
	} else {
		strcpy(nc, cfg);
	}
	snprintf(p, sizeof p, "%s/config.json", dir);
	write_file(p, nc, strlen(nc));
	free(nc);
	s = dc_vae_open(&v, dir);
	printf("# variant: %s\n", s == DC_OK ? "opened" : dc_errmsg());
	dc_vae_free(v);
out:
	free(cfg);
	dc_safetensors_close(st);
	snprintf(p, sizeof p, "%s/diffusion_pytorch_model.safetensors", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/config.json", dir);
	unlink(p);
	rmdir(dir);
	return s;
}

TEST(bad_models)
{
	/* the unedited copy opens (so the failures below are the edits') */
	CHECK_EQ_INT(open_variant(NULL, NULL, NULL, NULL), DC_OK);
	CHECK_EQ_INT(open_variant("decoder.up_blocks.2.resnets.0.conv_shortcut.weight", NULL,
	                          NULL, NULL), DC_ENOTFOUND);
	CHECK(strstr(dc_errmsg(), "decoder.up_blocks.2.resnets.0.conv_shortcut.weight") != NULL);
	CHECK_EQ_INT(open_variant(NULL, "decoder.conv_in.weight", NULL, NULL), DC_EFORMAT);
	CHECK(strstr(dc_errmsg(), "'decoder.conv_in.weight' has shape [64,1,3,3], "
	                          "expected [16,4,3,3]") != NULL);
	CHECK_EQ_INT(open_variant(NULL, NULL, "\"UpDecoderBlock2D\",\n    \"Up",
	                          "\"AttnUpDecoderBlock2D\",\n    \"Up"), DC_EUNSUPPORTED);
	CHECK_EQ_INT(open_variant(NULL, NULL, "\"norm_num_groups\": 4", "\"norm_num_groups\": 3"),
	             DC_EFORMAT);
	/* config and weights disagree on layers_per_block */
	CHECK_EQ_INT(open_variant(NULL, NULL, "\"layers_per_block\": 1", "\"layers_per_block\": 2"),
	             DC_ENOTFOUND);
	/* a missing encoder key is fine when encoder.conv_in is absent (decoder-only) ... */
	CHECK_EQ_INT(open_variant("encoder.conv_in.weight", NULL, NULL, NULL), DC_OK);
	/* ... but not when the encoder is partly there */
	CHECK_EQ_INT(open_variant("encoder.mid_block.attentions.0.to_k.bias", NULL, NULL, NULL),
	             DC_ENOTFOUND);
}

int main(void)
{
	const char *top = getenv("DC_TOP");
	snprintf(gdir, sizeof gdir, "%s/tests/golden/vae", top ? top : ".");
	if (dc_safetensors_open(&io_st, gpath("vae_io.safetensors")) != DC_OK)
		printf("# cannot open golden io: %s\n", dc_errmsg());
	/* one thread: the tiny model's many small GEMMs only lose from more,
	 * and 2-thread BLIS stalls badly on an oversubscribed machine */
	dc_set_threads(1);
	RUN(open_config);
	RUN(decode);
	RUN(encode);
	RUN(decode_tiled);
	RUN(bad_models);
	dc_safetensors_close(io_st);
	return test_summary();
}
