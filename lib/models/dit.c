/*
 * dit.c - the PixArt-alpha/sigma text-to-image pipeline (see dit.h):
 * opening a diffusers pipeline folder, text preprocessing and encoding,
 * aspect-ratio binning, the sampler loop with classifier-free guidance,
 * the learned-sigma split and PixArt-delta's ControlNet-Transformer, VAE
 * decoding, and the two image resamplers the reference pipeline uses
 * (torch's bilinear interpolate for binning, PIL's LANCZOS for control
 * images).
 *
 * Memory per generation: the transformer's scratch arena (sized by
 * dc_pixart_scratch_bytes for the CFG batch), the latents, model inputs and
 * outputs (a few times rows * 8 * h * w floats), the text batch, and for
 * decoding one image at a time.
 */
#define _GNU_SOURCE
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <wctype.h>

#include "dit.h"
#include "pixart.h"
#include "t5.h"
#include "vae.h"
#include "../io/safetensors.h"
#include "../sched/sched.h"
#include "../text/spm.h"

struct dc_dit {
	struct dc_dit_info info;
	char *dir;
	struct dc_spm *spm;
	struct dc_t5 *t5;
	struct dc_pixart *pix;
	struct dc_pixart_control *ctl;
	struct dc_relactrl *rel;          /* a RelaCtrl branch instead of ctl */
	struct dc_vae *vae;
	char *sched_json;                 /* scheduler_config.json text (NULL: defaults) */
	size_t sched_len;
	char sampler_name[16];
	/* the last negative prompt's encoding, reused across calls */
	char *neg_str;
	int neg_maxtok;
	struct dc_dit_text neg;
};

/* Prefix the current message with the component's folder name. */
static enum dc_status comp_fail(enum dc_status s, const char *comp)
{
	char msg[768];
	const char *m = dc_errmsg();
	snprintf(msg, sizeof msg, "%s", m && *m ? m : dc_strstatus(s));
	return dc_fail(s, "%s/: %s", comp, msg);
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);
	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}


/* ---- text preprocessing ---------------------------------------------------------- */

static locale_t g_utf8;
static pthread_once_t g_utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
	g_utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (!g_utf8)
		g_utf8 = newlocale(LC_CTYPE_MASK, "C.utf8", (locale_t)0);
}

/* The C.UTF-8 locale for towlower_l (NULL if the C library has none: then
 * only ASCII is lowercased). */
static locale_t utf8_locale(void)
{
	pthread_once(&g_utf8_once, utf8_locale_init);
	return g_utf8;
}

/* Decode strict UTF-8 (no overlongs, surrogates or values > U+10FFFF). */
static int utf8_decode(const unsigned char *s, size_t len, uint32_t *cp, size_t *n)
{
	size_t i = 0, k = 0;
	while (i < len) {
		uint32_t c = s[i], min;
		int extra;
		if (c < 0x80) { extra = 0; min = 0; }
		else if ((c & 0xe0) == 0xc0) { c &= 0x1f; extra = 1; min = 0x80; }
		else if ((c & 0xf0) == 0xe0) { c &= 0x0f; extra = 2; min = 0x800; }
		else if ((c & 0xf8) == 0xf0) { c &= 0x07; extra = 3; min = 0x10000; }
		else return -1;
		if ((size_t)extra > len - 1 - i)
			return -1;
		for (int e = 1; e <= extra; e++) {
			if ((s[i + e] & 0xc0) != 0x80)
				return -1;
			c = (c << 6) | (s[i + e] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return -1;
		cp[k++] = c;
		i += (size_t)extra + 1;
	}
	*n = k;
	return 0;
}

static size_t utf8_put(char *o, uint32_t c)
{
	if (c < 0x80) { o[0] = (char)c; return 1; }
	if (c < 0x800) { o[0] = (char)(0xc0 | (c >> 6)); o[1] = (char)(0x80 | (c & 0x3f)); return 2; }
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | (c >> 12)); o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (c >> 18)); o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f)); o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* Python's str.isspace() set. */
static int py_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202f || c == 0x205f || c == 0x3000;
}

static uint32_t lower1(uint32_t c, locale_t loc)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	return loc ? (uint32_t)towlower_l((wint_t)c, loc) : c;
}

/* Approximations of Unicode's Cased and Case_Ignorable (for the final sigma). */
static int is_cased(uint32_t c, locale_t loc)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	return loc && ((uint32_t)towlower_l((wint_t)c, loc) != c ||
	               (uint32_t)towupper_l((wint_t)c, loc) != c);
}

static int is_case_ignorable(uint32_t c)
{
	return c == '\'' || c == '.' || c == ':' || c == '^' || c == '`' || c == 0xa8 ||
	       c == 0xad || c == 0xaf || c == 0xb4 || c == 0xb7 || c == 0xb8 ||
	       (c >= 0x300 && c <= 0x36f) || (c >= 0x483 && c <= 0x489) || c == 0x2018 ||
	       c == 0x2019 || c == 0x2024 || c == 0x2027;
}

enum dc_status dc_dit_preprocess(const char *text, char **out)
{
	*out = NULL;
	size_t len = strlen(text), n;
	uint32_t *cp = malloc((len + 1) * sizeof *cp);
	char *o = malloc(len * 2 + 8);   /* lowercase grows by at most 1 byte per char + U+0307 */
	if (!cp || !o) {
		free(cp);
		free(o);
		return dc_fail(DC_ENOMEM, "out of memory");
	}
	if (utf8_decode((const unsigned char *)text, len, cp, &n)) {
		free(cp);
		free(o);
		return dc_fail(DC_EINVAL, "text is not valid UTF-8");
	}
	locale_t loc = utf8_locale();
	/* lower() first, then strip(), as diffusers does; strip is the same
	 * either way since no whitespace changes under lowercasing */
	size_t a = 0, b = n;
	while (a < b && py_space(cp[a]))
		a++;
	while (b > a && py_space(cp[b - 1]))
		b--;
	size_t k = 0;
	for (size_t i = a; i < b; i++) {
		uint32_t c = cp[i];
		if (c == 0x130) {                 /* İ -> i + combining dot above */
			k += utf8_put(o + k, 'i');
			k += utf8_put(o + k, 0x307);
			continue;
		}
		if (c == 0x3a3) {                 /* Σ: final sigma context */
			size_t j = i;
			uint32_t p = 0;
			int fin = 0;
			while (j > 0) {
				p = cp[--j];
				if (!is_case_ignorable(p)) {
					fin = is_cased(p, loc);
					break;
				}
			}
			if (fin) {
				for (j = i + 1; j < n; j++)
					if (!is_case_ignorable(cp[j]))
						break;
				fin = j == n || !is_cased(cp[j], loc);
			}
			k += utf8_put(o + k, fin ? 0x3c2 : 0x3c3);
			continue;
		}
		uint32_t l = lower1(c, loc);
		/* keep the byte budget: a mapping to a longer encoding is rare
		 * (U+023A etc.); the buffer has room for 2x */
		k += utf8_put(o + k, l);
	}
	o[k] = 0;
	free(cp);
	*out = o;
	return DC_OK;
}

/* ---- aspect-ratio bins ------------------------------------------------------------ */

struct bin { double ratio; short h, w; };

/* diffusers ASPECT_RATIO_1024_BIN; the 512 and 256 tables are it / 2 and / 4. */
static const struct bin bins1024[] = {
	{ 0.25, 512, 2048 }, { 0.28, 512, 1856 }, { 0.32, 576, 1792 }, { 0.33, 576, 1728 },
	{ 0.35, 576, 1664 }, { 0.4, 640, 1600 }, { 0.42, 640, 1536 }, { 0.48, 704, 1472 },
	{ 0.5, 704, 1408 }, { 0.52, 704, 1344 }, { 0.57, 768, 1344 }, { 0.6, 768, 1280 },
	{ 0.68, 832, 1216 }, { 0.72, 832, 1152 }, { 0.78, 896, 1152 }, { 0.82, 896, 1088 },
	{ 0.88, 960, 1088 }, { 0.94, 960, 1024 }, { 1.0, 1024, 1024 }, { 1.07, 1024, 960 },
	{ 1.13, 1088, 960 }, { 1.21, 1088, 896 }, { 1.29, 1152, 896 }, { 1.38, 1152, 832 },
	{ 1.46, 1216, 832 }, { 1.67, 1280, 768 }, { 1.75, 1344, 768 }, { 2.0, 1408, 704 },
	{ 2.09, 1472, 704 }, { 2.4, 1536, 640 }, { 2.5, 1600, 640 }, { 3.0, 1728, 576 },
	{ 4.0, 2048, 512 },
};

/* diffusers ASPECT_RATIO_2048_BIN (pipeline_pixart_sigma.py). */
static const struct bin bins2048[] = {
	{ 0.25, 1024, 4096 }, { 0.26, 1024, 3968 }, { 0.27, 1024, 3840 }, { 0.28, 1024, 3712 },
	{ 0.32, 1152, 3584 }, { 0.33, 1152, 3456 }, { 0.35, 1152, 3328 }, { 0.4, 1280, 3200 },
	{ 0.42, 1280, 3072 }, { 0.48, 1408, 2944 }, { 0.5, 1408, 2816 }, { 0.52, 1408, 2688 },
	{ 0.57, 1536, 2688 }, { 0.6, 1536, 2560 }, { 0.68, 1664, 2432 }, { 0.72, 1664, 2304 },
	{ 0.78, 1792, 2304 }, { 0.82, 1792, 2176 }, { 0.88, 1920, 2176 }, { 0.94, 1920, 2048 },
	{ 1.0, 2048, 2048 }, { 1.07, 2048, 1920 }, { 1.13, 2176, 1920 }, { 1.21, 2176, 1792 },
	{ 1.29, 2304, 1792 }, { 1.38, 2304, 1664 }, { 1.46, 2432, 1664 }, { 1.67, 2560, 1536 },
	{ 1.75, 2688, 1536 }, { 2.0, 2816, 1408 }, { 2.09, 2944, 1408 }, { 2.4, 3072, 1280 },
	{ 2.5, 3200, 1280 }, { 2.89, 3328, 1152 }, { 3.0, 3456, 1152 }, { 3.11, 3584, 1152 },
	{ 3.62, 3712, 1024 }, { 3.75, 3840, 1024 }, { 3.88, 3968, 1024 }, { 4.0, 4096, 1024 },
};

int dc_dit_bin(enum dc_dit_kind kind, int sample_size, int height, int width, int *bh, int *bw)
{
	const struct bin *t;
	size_t n;
	int div = 1;
	switch (sample_size) {
	case 256:
		if (kind != DC_DIT_SIGMA)
			return 0;
		t = bins2048, n = sizeof bins2048 / sizeof *bins2048;
		break;
	case 128: t = bins1024, n = sizeof bins1024 / sizeof *bins1024; break;
	case 64: t = bins1024, n = sizeof bins1024 / sizeof *bins1024, div = 2; break;
	case 32: t = bins1024, n = sizeof bins1024 / sizeof *bins1024, div = 4; break;
	default: return 0;
	}
	if (height <= 0 || width <= 0)
		return 0;
	double ar = (double)height / (double)width;
	size_t best = 0;
	double bd = fabs(t[0].ratio - ar);
	for (size_t i = 1; i < n; i++) {
		double d = fabs(t[i].ratio - ar);
		if (d < bd) {
			bd = d;
			best = i;
		}
	}
	*bh = t[best].h / div;
	*bw = t[best].w / div;
	return 1;
}

/* ---- opening -------------------------------------------------------------------- */

struct component { const char *name; const char *const *classes; int optional; };

static const char *const cls_tok[] = { "T5Tokenizer", "T5TokenizerFast", NULL };
static const char *const cls_te[] = { "T5EncoderModel", NULL };
static const char *const cls_tr[] = { "PixArtTransformer2DModel", "Transformer2DModel", NULL };
static const char *const cls_vae[] = { "AutoencoderKL", NULL };

/*
 * Check model_index.json's entry for `name`: 1 = listed with a class,
 * 0 = absent or [null, null].  A listed class not in `classes` (NULL: any)
 * is DC_EFORMAT.
 */
static enum dc_status index_entry(const struct dc_config *ix, const char *name,
                                  const char *const *classes, int *listed)
{
	char key[64];
	const char *cls;
	*listed = 0;
	if (!dc_config_has(ix, name))
		return DC_OK;
	snprintf(key, sizeof key, "%s.1", name);
	if (!dc_config_has(ix, key) || dc_config_string(ix, key, &cls)) {
		/* [null, null] marks a component left out */
		dc_clear_error();
		return DC_OK;
	}
	*listed = 1;
	if (!classes)
		return DC_OK;
	for (const char *const *c = classes; *c; c++)
		if (strcmp(*c, cls) == 0)
			return DC_OK;
	return dc_fail(DC_EFORMAT, "model_index.json: %s is a '%s', expected %s", name, cls,
	               classes[0]);
}

static enum dc_status need_dir(const char *dir, const char *comp)
{
	char *p = path_join(dir, comp);
	if (!p)
		return dc_fail(DC_ENOMEM, "out of memory");
	int ok = is_dir(p);
	free(p);
	if (!ok)
		return dc_fail(DC_ENOTFOUND, "%s/: no such folder in '%s'", comp, dir);
	return DC_OK;
}

void dc_dit_free(struct dc_dit *d)
{
	if (!d)
		return;
	dc_spm_free(d->spm);
	dc_t5_free(d->t5);
	dc_pixart_control_free(d->ctl);
	dc_relactrl_free(d->rel);
	dc_pixart_free(d->pix);
	dc_vae_free(d->vae);
	free(d->sched_json);
	free(d->neg_str);
	dc_dit_text_release(&d->neg);
	free(d->dir);
	free(d);
}

const struct dc_dit_info *dc_dit_info(const struct dc_dit *d)
{
	return &d->info;
}

enum dc_status dc_dit_open(struct dc_dit **out, const char *dir, unsigned flags)
{
	*out = NULL;
	struct dc_dit *d = calloc(1, sizeof *d);
	struct dc_config *ix = NULL;
	char *p = NULL;
	enum dc_status s;
	if (!d || !(d->dir = strdup(dir))) {
		free(d);
		return dc_fail(DC_ENOMEM, "out of memory");
	}
	if (!is_dir(dir)) {
		s = dc_fail(DC_ENOTFOUND, "'%s' is not a folder (a diffusers pipeline folder with "
		            "model_index.json)", dir);
		goto fail;
	}
	if (!(p = path_join(dir, "model_index.json"))) {
		s = dc_fail(DC_ENOMEM, "out of memory");
		goto fail;
	}
	{
		struct stat st;
		if (stat(p, &st) != 0) {
			s = dc_fail(DC_ENOTFOUND, "no model_index.json in '%s' (not a diffusers "
			            "pipeline folder)", dir);
			goto fail;
		}
	}
	if ((s = dc_config_load(&ix, p))) {
		char msg[768];
		snprintf(msg, sizeof msg, "%s", dc_errmsg());
		s = dc_fail(s, "model_index.json: %s", msg);
		goto fail;
	}
	free(p);
	p = NULL;
	const char *cls = NULL;
	if (dc_config_string(ix, "_class_name", &cls)) {
		s = dc_fail(DC_EFORMAT, "model_index.json: no _class_name");
		goto fail;
	}
	if (strcmp(cls, "PixArtAlphaPipeline") == 0) {
		d->info.kind = DC_DIT_ALPHA;
		d->info.max_tokens = 120;
	} else if (strcmp(cls, "PixArtSigmaPipeline") == 0) {
		d->info.kind = DC_DIT_SIGMA;
		d->info.max_tokens = 300;
	} else {
		s = dc_fail(DC_EUNSUPPORTED, "model_index.json: pipeline '%s' is not supported "
		            "(PixArtAlphaPipeline, PixArtSigmaPipeline)", cls);
		goto fail;
	}

	/* classes and folders first, so that a wrong pipeline fails before loading */
	int l_tok, l_te, l_tr, l_vae, l_sch, l_ctl;
	if ((s = index_entry(ix, "tokenizer", cls_tok, &l_tok)) ||
	    (s = index_entry(ix, "text_encoder", cls_te, &l_te)) ||
	    (s = index_entry(ix, "transformer", cls_tr, &l_tr)) ||
	    (s = index_entry(ix, "vae", cls_vae, &l_vae)) ||
	    (s = index_entry(ix, "scheduler", NULL, &l_sch)) ||
	    (s = index_entry(ix, "controlnet", NULL, &l_ctl)))
		goto fail;
	if (!l_tr || !l_vae) {
		s = dc_fail(DC_EFORMAT, "model_index.json: no %s component", !l_tr ? "transformer" : "vae");
		goto fail;
	}
	int want_text = !(flags & DC_DIT_OPEN_NO_TEXT) && l_tok && l_te;
	if ((s = need_dir(dir, "transformer")) || (s = need_dir(dir, "vae")) ||
	    (l_sch && (s = need_dir(dir, "scheduler"))) ||
	    (want_text && ((s = need_dir(dir, "tokenizer")) || (s = need_dir(dir, "text_encoder")))) ||
	    (l_ctl && (s = need_dir(dir, "controlnet"))))
		goto fail;

	/* scheduler: keep the JSON text; every image gets its own scheduler */
	if (l_sch) {
		if (!(p = path_join(dir, "scheduler/scheduler_config.json"))) {
			s = dc_fail(DC_ENOMEM, "out of memory");
			goto fail;
		}
		if ((s = dc_read_file(p, (size_t)16 << 20, &d->sched_json, &d->sched_len))) {
			s = comp_fail(s, "scheduler");
			goto fail;
		}
		free(p);
		p = NULL;
	}
	{
		struct dc_sched *sc;
		if ((s = d->sched_json ? dc_sched_parse(&sc, d->sched_json, d->sched_len, NULL)
		                       : dc_sched_create(&sc, NULL, NULL))) {
			s = comp_fail(s, "scheduler");
			goto fail;
		}
		snprintf(d->sampler_name, sizeof d->sampler_name, "%s",
		         dc_sched_kind_name(dc_sched_kind(sc)));
		dc_sched_free(sc);
		d->info.sampler = d->sampler_name;
	}

	/* transformer */
	if (!(p = path_join(dir, "transformer"))) {
		s = dc_fail(DC_ENOMEM, "out of memory");
		goto fail;
	}
	if ((s = dc_pixart_open(&d->pix, p))) {
		s = comp_fail(s, "transformer");
		goto fail;
	}
	free(p);
	p = NULL;
	const struct dc_pixart_config *pc = dc_pixart_config(d->pix);

	/* vae */
	if (!(p = path_join(dir, "vae"))) {
		s = dc_fail(DC_ENOMEM, "out of memory");
		goto fail;
	}
	if ((s = dc_vae_open(&d->vae, p))) {
		s = comp_fail(s, "vae");
		goto fail;
	}
	free(p);
	p = NULL;
	const struct dc_vae_config *vc = dc_vae_config(d->vae);
	if (vc->latent_channels != pc->in_channels) {
		s = dc_fail(DC_EFORMAT, "vae/ has %d latent channels, transformer/ takes %d",
		            vc->latent_channels, pc->in_channels);
		goto fail;
	}
	if (vc->out_channels != 3) {
		s = dc_fail(DC_EUNSUPPORTED, "vae/ decodes %d channels, not RGB", vc->out_channels);
		goto fail;
	}
	if (pc->out_channels != pc->in_channels && pc->out_channels != 2 * pc->in_channels) {
		s = dc_fail(DC_EUNSUPPORTED, "transformer/ has %d output channels for %d latent "
		            "channels (expected the same or twice, learned sigma)", pc->out_channels,
		            pc->in_channels);
		goto fail;
	}

	/* text */
	if (want_text) {
		if (!(p = path_join(dir, "tokenizer"))) {
			s = dc_fail(DC_ENOMEM, "out of memory");
			goto fail;
		}
		if ((s = dc_spm_open(&d->spm, p))) {
			s = comp_fail(s, "tokenizer");
			goto fail;
		}
		free(p);
		if (!(p = path_join(dir, "text_encoder"))) {
			s = dc_fail(DC_ENOMEM, "out of memory");
			goto fail;
		}
		if ((s = dc_t5_open(&d->t5, p))) {
			s = comp_fail(s, "text_encoder");
			goto fail;
		}
		free(p);
		p = NULL;
		const struct dc_t5_config *tc = dc_t5_config(d->t5);
		if (tc->d_model != pc->caption_channels) {
			s = dc_fail(DC_EFORMAT, "text_encoder/ has d_model %d, transformer/ takes "
			            "caption_channels %d", tc->d_model, pc->caption_channels);
			goto fail;
		}
		if (dc_spm_size(d->spm) > tc->vocab) {
			s = dc_fail(DC_EFORMAT, "tokenizer/ has %d ids, text_encoder/ embeds %d",
			            dc_spm_size(d->spm), tc->vocab);
			goto fail;
		}
		d->info.has_text = 1;
	}

	d->info.sample_size = pc->sample_size;
	d->info.patch = pc->patch;
	d->info.latent_channels = pc->in_channels;
	d->info.vae_scale = dc_vae_scale(d->vae);
	d->info.default_width = d->info.default_height = pc->sample_size * d->info.vae_scale;
	d->info.text_dim = pc->caption_channels ? pc->caption_channels : pc->hidden;
	d->info.micro_conditions = pc->micro_conditions;
	d->info.scaling_factor = vc->scaling_factor;
	{
		int bh, bw;
		d->info.has_bins = dc_dit_bin(d->info.kind, pc->sample_size, 1, 1, &bh, &bw);
	}

	/* controlnet: listed, or a folder of that name */
	if (!l_ctl && (p = path_join(dir, "controlnet")) && is_dir(p))
		l_ctl = 1;
	free(p);
	p = NULL;
	if (l_ctl) {
		if (!(p = path_join(dir, "controlnet"))) {
			s = dc_fail(DC_ENOMEM, "out of memory");
			goto fail;
		}
		if ((s = dc_dit_set_controlnet(d, p))) {
			s = comp_fail(s, "controlnet");
			goto fail;
		}
		free(p);
		p = NULL;
	}
	dc_config_free(ix);
	*out = d;
	return DC_OK;
fail:
	free(p);
	dc_config_free(ix);
	dc_dit_free(d);
	return s;
}

struct dc_pixart *dc_dit_transformer(struct dc_dit *d) { return d->pix; }
struct dc_pixart_control *dc_dit_controlnet(struct dc_dit *d) { return d->ctl; }
struct dc_vae *dc_dit_vae(struct dc_dit *d) { return d->vae; }
struct dc_t5 *dc_dit_text_encoder(struct dc_dit *d) { return d->t5; }

struct dc_relactrl *dc_dit_relactrl(struct dc_dit *d) { return d->rel; }

enum dc_status dc_dit_set_controlnet(struct dc_dit *d, const char *path)
{
	if (dc_relactrl_detect(path)) {
		struct dc_relactrl *r;
		enum dc_status s = dc_relactrl_open(&r, d->pix, path);
		if (s)
			return s;
		dc_pixart_control_free(d->ctl);
		dc_relactrl_free(d->rel);
		d->ctl = NULL;
		d->rel = r;
		d->info.control_blocks = dc_relactrl_blocks(r);
		d->info.control_relactrl = 1;
		return DC_OK;
	}
	struct dc_pixart_control *c;
	enum dc_status s = dc_pixart_control_open(&c, d->pix, path);
	if (s)
		return s;
	dc_pixart_control_free(d->ctl);
	dc_relactrl_free(d->rel);
	d->rel = NULL;
	d->ctl = c;
	d->info.control_blocks = dc_pixart_control_blocks(c);
	d->info.control_relactrl = 0;
	return DC_OK;
}

/* ---- text -------------------------------------------------------------------------- */

void dc_dit_text_release(struct dc_dit_text *t)
{
	if (!t)
		return;
	free(t->ids);
	free(t->mask);
	dc_free(t->embeds);
	free(t->ntokens);
	free(t->full_tokens);
	free(t->truncated);
	memset(t, 0, sizeof *t);
}

static int max_tokens_of(const struct dc_dit *d, int max_tokens)
{
	return max_tokens > 0 ? max_tokens : d->info.max_tokens;
}

enum dc_status dc_dit_tokenize(const struct dc_dit *d, const char *text, int max_tokens,
                               int32_t *ids, int *ntok, int *full)
{
	if (!d->spm)
		return dc_fail(DC_EINVAL, "this pipeline was opened without its tokenizer");
	max_tokens = max_tokens_of(d, max_tokens);
	char *pre;
	enum dc_status s = dc_dit_preprocess(text, &pre);
	if (s)
		return s;
	int n = 0, trunc = 0, pad = dc_spm_pad_id(d->spm);
	size_t len = strlen(pre);
	s = dc_spm_encode(d->spm, pre, len, ids, max_tokens, &n, &trunc);
	if (!s && full) {
		*full = n;
		if (trunc) {
			/* the count before truncation, for the warning */
			size_t cap = len + 16;
			int32_t *all = malloc(cap * sizeof *all);
			int m = 0;
			if (!all)
				s = dc_fail(DC_ENOMEM, "out of memory");
			else if (!(s = dc_spm_encode(d->spm, pre, len, all, (int)(cap < 1u << 30 ? cap : 1u << 30),
			                             &m, NULL)))
				*full = m;
			free(all);
		}
	}
	free(pre);
	if (s)
		return s;
	for (int i = n; i < max_tokens; i++)
		ids[i] = pad;
	*ntok = n;
	return DC_OK;
}

enum dc_status dc_dit_encode_text(struct dc_dit *d, int n, const char *const *texts,
                                  int max_tokens, struct dc_dit_text *out)
{
	memset(out, 0, sizeof *out);
	if (!d->spm || !d->t5)
		return dc_fail(DC_EINVAL, "this pipeline has no text encoder (tokenizer/ and "
		               "text_encoder/)");
	if (n < 1)
		return dc_fail(DC_EINVAL, "no text to encode");
	max_tokens = max_tokens_of(d, max_tokens);
	int D = dc_t5_config(d->t5)->d_model;
	size_t nall;
	if (dc_mul_size((size_t)n, (size_t)max_tokens, &nall) || nall > ((size_t)1 << 28))
		return dc_fail(DC_ELIMIT, "text batch too large (%d texts of %d tokens)", n, max_tokens);
	int32_t *all = malloc(nall * sizeof *all);
	out->ntokens = calloc((size_t)n, sizeof(int));
	out->full_tokens = calloc((size_t)n, sizeof(int));
	out->truncated = calloc((size_t)n, sizeof(int));
	enum dc_status s = DC_OK;
	if (!all || !out->ntokens || !out->full_tokens || !out->truncated) {
		s = dc_fail(DC_ENOMEM, "out of memory");
		goto done;
	}
	int T = 1;
	for (int i = 0; i < n; i++) {
		int32_t *ids = all + (size_t)i * max_tokens;
		if ((s = dc_dit_tokenize(d, texts[i], max_tokens, ids, &out->ntokens[i],
		                         &out->full_tokens[i])))
			goto done;
		out->truncated[i] = out->full_tokens[i] > out->ntokens[i];
		if (out->ntokens[i] > T)
			T = out->ntokens[i];
	}
	size_t nt = (size_t)n * (size_t)T, ne;
	if (dc_mul_size(nt, (size_t)D, &ne)) {
		s = dc_fail(DC_EOVERFLOW, "text batch too large");
		goto done;
	}
	out->ids = malloc(nt * sizeof *out->ids);
	out->mask = malloc(nt);
	out->embeds = dc_alloc(ne * sizeof(float));
	if (!out->ids || !out->mask || !out->embeds) {
		s = dc_fail(DC_ENOMEM, "out of memory for the text batch");
		goto done;
	}
	for (int i = 0; i < n; i++)
		for (int t = 0; t < T; t++) {
			out->ids[(size_t)i * T + t] = all[(size_t)i * max_tokens + t];
			out->mask[(size_t)i * T + t] = t < out->ntokens[i];
		}
	out->batch = n;
	out->len = T;
	out->dim = D;
	if ((s = dc_t5_encode(d->t5, n, T, out->ids, out->mask, out->embeds)))
		s = comp_fail(s, "text_encoder");
done:
	free(all);
	if (s)
		dc_dit_text_release(out);
	return s;
}

/* ---- sizes ----------------------------------------------------------------------- */

void dc_dit_params_init(struct dc_dit_params *p)
{
	memset(p, 0, sizeof *p);
	p->binning = 1;
	p->steps = 20;
	p->guidance = 4.5f;
	p->control_scale = 1.0f;
	p->vae_tiling = -1;
}

enum dc_status dc_dit_plan(const struct dc_dit *d, const struct dc_dit_params *p,
                           struct dc_dit_plan *out)
{
	const struct dc_dit_info *in = &d->info;
	memset(out, 0, sizeof *out);
	int W = p->width > 0 ? p->width : in->default_width;
	int H = p->height > 0 ? p->height : in->default_height;
	int q = in->vae_scale * in->patch;
	if (W > DC_IMAGE_MAX_DIM || H > DC_IMAGE_MAX_DIM)
		return dc_fail(DC_EINVAL, "size %dx%d is larger than %d pixels a side", W, H,
		               DC_IMAGE_MAX_DIM);
	if (W < q || H < q)
		return dc_fail(DC_EINVAL, "size %dx%d is smaller than one patch (%d pixels)", W, H, q);
	int gw = W, gh = H;
	if (p->binning && in->has_bins) {
		dc_dit_bin(in->kind, in->sample_size, H, W, &gh, &gw);
	} else if (W % q || H % q) {
		return dc_fail(DC_EINVAL, "size %dx%d is not a multiple of %d (VAE factor %d x patch "
		               "%d)%s", W, H, q, in->vae_scale, in->patch,
		               in->has_bins ? " without binning" : "");
	}
	out->width = W;
	out->height = H;
	out->gen_width = gw;
	out->gen_height = gh;
	out->lat_width = gw / in->vae_scale;
	out->lat_height = gh / in->vae_scale;
	out->binned = gw != W || gh != H;
	out->tiled = p->vae_tiling > 0 ||
	             (p->vae_tiling < 0 && (int64_t)gw * gh > (int64_t)512 * 512);
	return DC_OK;
}

/* ---- image resampling ----------------------------------------------------------- */

void dc_dit_resize_crop(const float *src, int c, int sh, int sw, float *dst, int dh, int dw)
{
	if (sh == dh && sw == dw) {
		memcpy(dst, src, (size_t)c * sh * sw * sizeof *dst);
		return;
	}
	/* resize_and_crop_tensor: ratio in Python floats, sizes truncated */
	double ratio = fmax((double)dh / sh, (double)dw / sw);
	int rw = (int)(sw * ratio), rh = (int)(sh * ratio);
	int x0 = (rw - dw) / 2, y0 = (rh - dh) / 2;   /* both >= 0 */
	/* F.interpolate bilinear, align_corners=False, as torch's CPU kernel:
	 * scale = in / out in float, source index and weights in double (its
	 * accumulate type), weights rounded to float */
	double scy = (float)sh / (float)rh, scx = (float)sw / (float)rw;
	#pragma omp parallel for schedule(static) num_threads(dc_threads())
	for (int y = 0; y < dh; y++) {
		int oy = y + y0, iy0, iy1;
		float ly0, ly1;
		if (rh == sh) {
			iy0 = iy1 = oy;
			ly0 = 1, ly1 = 0;
		} else {
			double r = scy * (oy + 0.5) - 0.5, l;
			if (r < 0)
				r = 0;
			iy0 = (int)r;
			iy1 = iy0 + (iy0 < sh - 1);
			l = fmin(fmax(r - iy0, 0.0), 1.0);
			ly1 = (float)l;
			ly0 = (float)(1.0 - l);
		}
		for (int x = 0; x < dw; x++) {
			int ox = x + x0, ix0, ix1;
			float lx0, lx1;
			if (rw == sw) {
				ix0 = ix1 = ox;
				lx0 = 1, lx1 = 0;
			} else {
				double r = scx * (ox + 0.5) - 0.5, l;
				if (r < 0)
					r = 0;
				ix0 = (int)r;
				ix1 = ix0 + (ix0 < sw - 1);
				l = fmin(fmax(r - ix0, 0.0), 1.0);
				lx1 = (float)l;
				lx0 = (float)(1.0 - l);
			}
			for (int ch = 0; ch < c; ch++) {
				const float *s = src + (size_t)ch * sh * sw;
				float t0 = s[(size_t)iy0 * sw + ix0] * lx0 + s[(size_t)iy0 * sw + ix1] * lx1;
				float t1 = s[(size_t)iy1 * sw + ix0] * lx0 + s[(size_t)iy1 * sw + ix1] * lx1;
				dst[((size_t)ch * dh + y) * dw + x] = t0 * ly0 + t1 * ly1;
			}
		}
	}
}

/* PIL's Resample.c, LANCZOS (support 3), 8 bits per channel. */
#define PIL_PREC 22

static double sinc_f(double x)
{
	if (x == 0.0)
		return 1.0;
	x *= M_PI;
	return sin(x) / x;
}

static double lanczos_f(double x)
{
	if (-3.0 <= x && x < 3.0)
		return sinc_f(x) * sinc_f(x / 3);
	return 0.0;
}

/* precompute_coeffs + normalize_coeffs_8bpc; returns ksize or -1. */
static int pil_coeffs(int in_size, int out_size, int **boundsp, int32_t **kkp)
{
	double scale = (double)in_size / out_size, fscale = scale < 1.0 ? 1.0 : scale;
	double support = 3.0 * fscale;
	int ksize = (int)ceil(support) * 2 + 1;
	double *kk = malloc((size_t)out_size * ksize * sizeof *kk);
	int *bounds = malloc((size_t)out_size * 2 * sizeof *bounds);
	int32_t *ik = malloc((size_t)out_size * ksize * sizeof *ik);
	if (!kk || !bounds || !ik) {
		free(kk);
		free(bounds);
		free(ik);
		return -1;
	}
	for (int xx = 0; xx < out_size; xx++) {
		double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / fscale;
		int xmin = (int)(center - support + 0.5), xmax;
		if (xmin < 0)
			xmin = 0;
		xmax = (int)(center + support + 0.5);
		if (xmax > in_size)
			xmax = in_size;
		xmax -= xmin;
		double *k = kk + (size_t)xx * ksize;
		int x;
		for (x = 0; x < xmax; x++) {
			double w = lanczos_f((x + xmin - center + 0.5) * ss);
			k[x] = w;
			ww += w;
		}
		for (x = 0; x < xmax; x++)
			if (ww != 0.0)
				k[x] /= ww;
		for (; x < ksize; x++)
			k[x] = 0;
		bounds[xx * 2] = xmin;
		bounds[xx * 2 + 1] = xmax;
	}
	for (size_t i = 0; i < (size_t)out_size * ksize; i++)
		ik[i] = kk[i] < 0 ? (int32_t)(-0.5 + kk[i] * (1 << PIL_PREC))
		                  : (int32_t)(0.5 + kk[i] * (1 << PIL_PREC));
	free(kk);
	*boundsp = bounds;
	*kkp = ik;
	return ksize;
}

static inline uint8_t pil_clip8(int64_t v)
{
	if (v >= ((int64_t)1 << PIL_PREC << 8))
		return 255;
	if (v <= 0)
		return 0;
	return (uint8_t)(v >> PIL_PREC);
}

enum dc_status dc_dit_resize_lanczos(const struct dc_image *src, struct dc_image *dst, int dw,
                                     int dh)
{
	memset(dst, 0, sizeof *dst);
	if (src->depth != 8)
		return dc_fail(DC_EUNSUPPORTED, "16-bit images are not supported here");
	int sw = src->width, sh = src->height, C = src->channels;
	if (dw < 1 || dh < 1 || dw > DC_IMAGE_MAX_DIM || dh > DC_IMAGE_MAX_DIM)
		return dc_fail(DC_EINVAL, "bad resize target %dx%d", dw, dh);
	int *bh = NULL, *bv = NULL;
	int32_t *kh = NULL, *kv = NULL;
	uint8_t *tmp = NULL, *out = NULL;
	enum dc_status s = DC_OK;
	int ksh = pil_coeffs(sw, dw, &bh, &kh);
	int ksv = ksh < 0 ? -1 : pil_coeffs(sh, dh, &bv, &kv);
	if (ksh < 0 || ksv < 0) {
		s = dc_fail(DC_ENOMEM, "out of memory");
		goto done;
	}
	/* only the source rows the vertical pass reads get a horizontal pass */
	int yfirst = bv[0], ylast = bv[(dh - 1) * 2] + bv[(dh - 1) * 2 + 1];
	int need_h = dw != sw, need_v = dh != sh;
	const uint8_t *in = src->data;
	int th = sh;
	if (need_h) {
		th = ylast - yfirst;
		tmp = dc_alloc((size_t)dw * th * C);
		if (!tmp) {
			s = dc_fail(DC_ENOMEM, "out of memory");
			goto done;
		}
		#pragma omp parallel for schedule(static) num_threads(dc_threads())
		for (int y = 0; y < th; y++) {
			const uint8_t *row = in + (size_t)(y + yfirst) * sw * C;
			for (int x = 0; x < dw; x++) {
				const int32_t *k = kh + (size_t)x * ksh;
				int xmin = bh[x * 2], xmax = bh[x * 2 + 1];
				for (int c = 0; c < C; c++) {
					int64_t ss = 1 << (PIL_PREC - 1);
					for (int i = 0; i < xmax; i++)
						ss += (int64_t)row[(size_t)(i + xmin) * C + c] * k[i];
					tmp[((size_t)y * dw + x) * C + c] = pil_clip8(ss);
				}
			}
		}
		in = tmp;
		for (int i = 0; i < dh; i++)
			bv[i * 2] -= yfirst;
	}
	if (!(out = dc_alloc((size_t)dw * dh * C))) {
		s = dc_fail(DC_ENOMEM, "out of memory");
		goto done;
	}
	if (need_v) {
		#pragma omp parallel for schedule(static) num_threads(dc_threads())
		for (int y = 0; y < dh; y++) {
			const int32_t *k = kv + (size_t)y * ksv;
			int ymin = bv[y * 2], ymax = bv[y * 2 + 1];
			for (int x = 0; x < dw; x++)
				for (int c = 0; c < C; c++) {
					int64_t ss = 1 << (PIL_PREC - 1);
					for (int i = 0; i < ymax; i++)
						ss += (int64_t)in[((size_t)(i + ymin) * dw + x) * C + c] * k[i];
					out[((size_t)y * dw + x) * C + c] = pil_clip8(ss);
				}
		}
	} else {
		memcpy(out, in, (size_t)dw * dh * C);
	}
	dst->width = dw;
	dst->height = dh;
	dst->channels = C;
	dst->depth = 8;
	dst->data = out;
	out = NULL;
done:
	free(bh);
	free(bv);
	free(kh);
	free(kv);
	dc_free(tmp);
	dc_free(out);
	return s;
}

enum dc_status dc_dit_to_image(const float *rgb, int w, int h, struct dc_image *img)
{
	memset(img, 0, sizeof *img);
	size_t hw = (size_t)w * h;
	uint8_t *o = dc_alloc(hw * 3);
	if (!o)
		return dc_fail(DC_ENOMEM, "out of memory");
	for (size_t i = 0; i < hw; i++)
		for (int c = 0; c < 3; c++) {
			float v = rgb[(size_t)c * hw + i] * 255.0f;
			v = nearbyintf(v);               /* numpy round: half to even */
			o[i * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
	img->width = w;
	img->height = h;
	img->channels = 3;
	img->depth = 8;
	img->data = o;
	return DC_OK;
}

/* ---- control ------------------------------------------------------------------------ */

enum dc_status dc_dit_control_latents(struct dc_dit *d, const struct dc_dit_params *p,
                                      const struct dc_image *img, uint64_t seed, float *out)
{
	struct dc_dit_plan pl;
	enum dc_status s = dc_dit_plan(d, p, &pl);
	if (s)
		return s;
	if (img->depth != 8)
		return dc_fail(DC_EUNSUPPORTED, "control image: 16-bit PNG not supported (convert "
		               "it to 8 bits)");
	if (!dc_vae_config(d->vae)->has_encoder)
		return dc_fail(DC_EUNSUPPORTED, "vae/ has no encoder weights (needed for a control "
		               "image)");
	int W = pl.gen_width, H = pl.gen_height, C = d->info.latent_channels;
	size_t hw = (size_t)W * H, lhw = (size_t)pl.lat_width * pl.lat_height;
	/* convert('RGB'): gray replicated, alpha dropped */
	struct dc_image rgb = { 0 }, rs = { 0 };
	if (!(rgb.data = dc_alloc((size_t)img->width * img->height * 3)))
		return dc_fail(DC_ENOMEM, "out of memory");
	rgb.width = img->width;
	rgb.height = img->height;
	rgb.channels = 3;
	rgb.depth = 8;
	{
		const uint8_t *sp = img->data;
		uint8_t *dp = rgb.data;
		int ic = img->channels;
		for (size_t i = 0; i < (size_t)img->width * img->height; i++)
			for (int c = 0; c < 3; c++)
				dp[i * 3 + c] = sp[i * ic + (ic >= 3 ? c : 0)];
	}
	const struct dc_image *use = &rgb;
	if (img->width != W || img->height != H) {
		if ((s = dc_dit_resize_lanczos(&rgb, &rs, W, H))) {
			dc_image_release(&rgb);
			return s;
		}
		use = &rs;
	}
	float *x = dc_alloc(hw * 3 * sizeof *x);
	float *mean = dc_alloc(lhw * C * sizeof *mean), *lv = dc_alloc(lhw * C * sizeof *lv);
	if (!x || !mean || !lv) {
		s = dc_fail(DC_ENOMEM, "out of memory");
		goto done;
	}
	{
		const uint8_t *sp = use->data;
		for (size_t i = 0; i < hw; i++)
			for (int c = 0; c < 3; c++)
				x[(size_t)c * hw + i] = 2.0f * ((float)sp[i * 3 + c] / 255.0f) - 1.0f;
	}
	if ((s = dc_vae_encode(d->vae, x, 1, H, W, mean, lv))) {
		s = comp_fail(s, "vae");
		goto done;
	}
	dc_rng_normal(seed, DC_DIT_CONTROL_STREAM, 0, out, lhw * C);
	float sf = (float)d->info.scaling_factor;
	for (size_t i = 0; i < lhw * C; i++)
		out[i] = (mean[i] + expf(0.5f * lv[i]) * out[i]) * sf;
done:
	dc_free(x);
	dc_free(mean);
	dc_free(lv);
	dc_image_release(&rgb);
	dc_image_release(&rs);
	return s;
}

/* ---- decoding -------------------------------------------------------------------------- */

enum dc_status dc_dit_decode(struct dc_dit *d, const struct dc_dit_plan *pl, int n,
                             const float *latents, float *rgb)
{
	int C = d->info.latent_channels;
	size_t lhw = (size_t)pl->lat_width * pl->lat_height, ghw = (size_t)pl->gen_width * pl->gen_height;
	size_t ohw = (size_t)pl->width * pl->height;
	float *z = dc_alloc(lhw * C * sizeof *z), *img = dc_alloc(ghw * 3 * sizeof *img);
	enum dc_status s = DC_OK;
	if (!z || !img) {
		s = dc_fail(DC_ENOMEM, "out of memory for decoding");
		goto done;
	}
	float sf = (float)d->info.scaling_factor;
	for (int b = 0; b < n; b++) {
		const float *lb = latents + (size_t)b * lhw * C;
		for (size_t i = 0; i < lhw * C; i++)
			z[i] = lb[i] / sf;
		s = pl->tiled ? dc_vae_decode_tiled(d->vae, z, 1, pl->lat_height, pl->lat_width, img, 0, 0)
		              : dc_vae_decode(d->vae, z, 1, pl->lat_height, pl->lat_width, img);
		if (s) {
			s = comp_fail(s, "vae");
			goto done;
		}
		float *o = rgb + (size_t)b * ohw * 3;
		dc_dit_resize_crop(img, 3, pl->gen_height, pl->gen_width, o, pl->height, pl->width);
		for (size_t i = 0; i < ohw * 3; i++) {
			float v = o[i] * 0.5f + 0.5f;
			o[i] = v < 0 ? 0 : v > 1 ? 1 : v;
		}
	}
done:
	dc_free(z);
	dc_free(img);
	return s;
}

/* ---- generation ------------------------------------------------------------------------- */

/* The cached encoding of the negative prompt `neg`. */
static enum dc_status negative_text(struct dc_dit *d, const char *neg, int max_tokens,
                                    const struct dc_dit_text **out)
{
	if (!d->neg_str || strcmp(d->neg_str, neg) || d->neg_maxtok != max_tokens) {
		free(d->neg_str);
		d->neg_str = NULL;
		dc_dit_text_release(&d->neg);
		enum dc_status s = dc_dit_encode_text(d, 1, &neg, max_tokens, &d->neg);
		if (s)
			return s;
		if (!(d->neg_str = strdup(neg)))
			return dc_fail(DC_ENOMEM, "out of memory");
		d->neg_maxtok = max_tokens;
	}
	*out = &d->neg;
	return DC_OK;
}

/* Copy rows of `t` (row r of the batch = row r % t->batch) into text[rows][T][D]. */
static void put_text(const struct dc_dit_text *t, int rows, int T, float *text,
                     unsigned char *mask)
{
	int D = t->dim;
	for (int r = 0; r < rows; r++) {
		int sr = r % t->batch;
		for (int k = 0; k < T; k++) {
			float *dst = text + ((size_t)r * T + k) * D;
			if (k < t->len) {
				memcpy(dst, t->embeds + ((size_t)sr * t->len + k) * D, (size_t)D * sizeof *dst);
				mask[(size_t)r * T + k] = t->mask[(size_t)sr * t->len + k];
			} else {
				memset(dst, 0, (size_t)D * sizeof *dst);
				mask[(size_t)r * T + k] = 0;
			}
		}
	}
}

enum dc_status dc_dit_generate(struct dc_dit *d, const struct dc_dit_params *p,
                               const struct dc_dit_request *r, float *latents_out,
                               float *rgb_out)
{
	struct dc_dit_plan pl;
	struct dc_dit_text own_cond = { 0 };
	const struct dc_dit_text *cond = r->cond, *unc = r->uncond;
	struct dc_sched **sch = NULL;
	float *x = NULL, *min = NULL, *mout = NULL, *eps = NULL, *x0 = NULL, *text = NULL;
	float *ctl = NULL, *ctl_in = NULL, *res = NULL, *ar = NULL;
	unsigned char *mask = NULL;
	struct dc_arena arena = { 0 };
	enum dc_status s;
	int n = r->n;

	if ((s = dc_dit_plan(d, p, &pl)))
		return s;
	if (n < 1 || n > 65536)
		return dc_fail(DC_EINVAL, "bad batch size %d", n);
	if (p->steps < 1)
		return dc_fail(DC_EINVAL, "steps must be at least 1");
	if ((r->control || r->control_latents) && !d->ctl && !d->rel)
		return dc_fail(DC_EINVAL, "a control image needs a ControlNet-Transformer (none is "
		               "loaded)");
	int maxtok = max_tokens_of(d, p->max_tokens);
	int cfg = p->guidance > 1.0f;
	int C = d->info.latent_channels, Dt = d->info.text_dim;
	const struct dc_pixart_config *pc = dc_pixart_config(d->pix);
	int Co = pc->out_channels;
	size_t lhw = (size_t)pl.lat_width * pl.lat_height, npix = lhw * C;
	int rows = cfg ? 2 * n : n;

	/* text */
	if (!cond) {
		if (!r->prompts)
			return dc_fail(DC_EINVAL, "no prompts");
		if ((s = dc_dit_encode_text(d, n, r->prompts, maxtok, &own_cond)))
			return s;
		cond = &own_cond;
	}
	if (cond->batch != n || cond->dim != Dt || cond->len < 1) {
		s = dc_fail(DC_EINVAL, "text conditioning has %d rows of width %d, expected %d of %d",
		            cond->batch, cond->dim, n, Dt);
		goto done;
	}
	if (cfg && !unc && (s = negative_text(d, r->negative ? r->negative : "", maxtok, &unc)))
		goto done;
	if (cfg && ((unc->batch != 1 && unc->batch != n) || unc->dim != Dt || unc->len < 1)) {
		s = dc_fail(DC_EINVAL, "negative text conditioning has %d rows of width %d, expected "
		            "1 or %d of %d", unc->batch, unc->dim, n, Dt);
		goto done;
	}
	int T = cond->len;
	if (cfg && unc->len > T)
		T = unc->len;

	size_t sz_x, sz_m, sz_t;
	if (dc_mul_size(npix, (size_t)n, &sz_x) || dc_mul_size(lhw * Co, (size_t)rows, &sz_m) ||
	    dc_mul_size((size_t)rows * T, (size_t)Dt, &sz_t)) {
		s = dc_fail(DC_EOVERFLOW, "sizes overflow");
		goto done;
	}
	x = dc_alloc(sz_x * sizeof *x);
	x0 = dc_alloc(npix * sizeof *x0);
	eps = dc_alloc(sz_x * sizeof *eps);
	min = dc_alloc(npix * rows * sizeof *min);
	mout = dc_alloc(sz_m * sizeof *mout);
	text = dc_alloc(sz_t * sizeof *text);
	mask = malloc((size_t)rows * T);
	sch = calloc((size_t)n, sizeof *sch);
	res = malloc((size_t)rows * 2 * sizeof *res);
	ar = malloc((size_t)rows * sizeof *ar);
	if (!x || !x0 || !eps || !min || !mout || !text || !mask || !sch || !res || !ar) {
		s = dc_fail(DC_ENOMEM, "out of memory");
		goto done;
	}
	if (cfg) {
		put_text(unc, n, T, text, mask);
		put_text(cond, n, T, text + (size_t)n * T * Dt, mask + (size_t)n * T);
	} else {
		put_text(cond, n, T, text, mask);
	}
	for (int i = 0; i < rows; i++) {
		res[2 * i] = (float)pl.gen_height;
		res[2 * i + 1] = (float)pl.gen_width;
		ar[i] = (float)((double)pl.gen_height / pl.gen_width);
	}

	/* control latents, the same for both CFG halves */
	if (r->control || r->control_latents) {
		ctl = dc_alloc(sz_x * sizeof *ctl);
		ctl_in = dc_alloc(npix * rows * sizeof *ctl_in);
		if (!ctl || !ctl_in) {
			s = dc_fail(DC_ENOMEM, "out of memory");
			goto done;
		}
		for (int b = 0; b < n; b++) {
			if (r->control_latents)
				memcpy(ctl + (size_t)b * npix, r->control_latents + (size_t)b * npix,
				       npix * sizeof *ctl);
			else if ((s = dc_dit_control_latents(d, p, r->control, r->seeds ? r->seeds[b] : (uint64_t)b,
			                                     ctl + (size_t)b * npix)))
				goto done;
		}
		for (int k = 0; k < rows; k++)
			memcpy(ctl_in + (size_t)k * npix, ctl + (size_t)(k % n) * npix, npix * sizeof *ctl);
	}

	/* one scheduler per image */
	for (int b = 0; b < n; b++) {
		s = d->sched_json ? dc_sched_parse(&sch[b], d->sched_json, d->sched_len, p->sampler)
		                  : dc_sched_create(&sch[b], NULL, p->sampler);
		if (s) {
			s = comp_fail(s, "scheduler");
			goto done;
		}
		dc_sched_set_eta(sch[b], p->eta);
		if ((s = dc_sched_set_timesteps(sch[b], p->steps)))
			goto done;
	}
	int steps = dc_sched_num_steps(sch[0]);

	/* initial latents */
	for (int b = 0; b < n; b++) {
		float *xb = x + (size_t)b * npix;
		if (r->noise)
			memcpy(xb, r->noise + (size_t)b * npix, npix * sizeof *xb);
		else
			dc_rng_normal(r->seeds ? r->seeds[b] : (uint64_t)b, DC_DIT_NOISE_STREAM, 0, xb, npix);
		float sig = dc_sched_init_noise_sigma(sch[b]);
		if (sig != 1.0f)
			for (size_t i = 0; i < npix; i++)
				xb[i] *= sig;
	}

	size_t need = dc_pixart_scratch_bytes(d->pix, rows, pl.lat_height, pl.lat_width, T,
	                                      ctl_in != NULL);
	if (need == 0) {
		s = dc_fail(DC_EOVERFLOW, "transformer activations too large for this size");
		goto done;
	}
	if ((s = dc_arena_init(&arena, need))) {
		s = dc_fail(DC_ENOMEM, "out of memory for the transformer's activations (%zu MB)",
		            need >> 20);
		goto done;
	}

	struct dc_pixart_input in = { 0 };
	in.batch = rows;
	in.height = pl.lat_height;
	in.width = pl.lat_width;
	in.latents = min;
	in.text_len = T;
	in.text = text;
	in.text_mask = mask;
	if (pc->micro_conditions) {
		in.resolution = res;
		in.aspect_ratio = ar;
	}
	if (ctl_in && d->rel) {
		if (p->control_skip) {
			s = dc_fail(DC_EINVAL, "control_skip is for a ControlNet-Transformer, not RelaCtrl");
			goto done;
		}
		in.relactrl = d->rel;
		in.control_latents = ctl_in;
		in.control_scale = p->control_scale;
	} else if (ctl_in) {
		in.control = d->ctl;
		in.control_latents = ctl_in;
		in.control_scale = p->control_scale;
		in.control_skip = p->control_skip;
	}
	for (int i = 0; i < steps; i++) {
		for (int b = 0; b < n; b++) {
			dc_sched_scale_model_input(sch[b], i, x + (size_t)b * npix, min + (size_t)b * npix,
			                           npix);
			if (cfg)
				memcpy(min + (size_t)(n + b) * npix, min + (size_t)b * npix, npix * sizeof *min);
		}
		double t = dc_sched_timestep(sch[0], i);
		in.timestep = (float)t;
		/* RelaCtrl draws fresh permutations per call: from the first seed and the step */
		in.relactrl_seed = (r->seeds ? r->seeds[0] : 0) * 0x9E3779B97F4A7C15ull +
		                   DC_DIT_RELACTRL_STREAM + (uint64_t)i;
		if ((s = dc_pixart_forward(d->pix, &in, mout, &arena))) {
			s = comp_fail(s, "transformer");
			goto done;
		}
		size_t per = lhw * Co * (size_t)n;
		if (cfg)
			dc_cfg_combine(mout, mout, mout + per, per, p->guidance);
		if (Co == 2 * C)
			dc_learned_sigma_split(eps, mout, n, Co, C, lhw);
		else
			memcpy(eps, mout, sz_x * sizeof *eps);
		for (int b = 0; b < n; b++) {
			float *xb = x + (size_t)b * npix;
			uint64_t seed = r->seeds ? r->seeds[b] : (uint64_t)b;
			if (steps == 1 && d->info.kind == DC_DIT_ALPHA) {
				/* the alpha pipeline takes step(...)[1] for a single step */
				s = dc_sched_step_x0(sch[b], i, eps + (size_t)b * npix, xb, x0, npix, seed);
				memcpy(xb, x0, npix * sizeof *xb);
			} else {
				s = dc_sched_step(sch[b], i, eps + (size_t)b * npix, xb, npix, seed);
			}
			if (s)
				goto done;
		}
		if (p->progress && p->progress(p->progress_user, i + 1, steps, t, x)) {
			s = dc_fail(DC_EINVAL, "stopped by the caller");
			goto done;
		}
	}
	dc_arena_release(&arena);
	if (latents_out)
		memcpy(latents_out, x, sz_x * sizeof *x);
	if (rgb_out)
		s = dc_dit_decode(d, &pl, n, x, rgb_out);
done:
	dc_arena_release(&arena);
	if (sch)
		for (int b = 0; b < n; b++)
			dc_sched_free(sch[b]);
	free(sch);
	dc_free(x);
	dc_free(x0);
	dc_free(eps);
	dc_free(min);
	dc_free(mout);
	dc_free(text);
	dc_free(ctl);
	dc_free(ctl_in);
	free(mask);
	free(res);
	free(ar);
	dc_dit_text_release(&own_cond);
	return s;
}
