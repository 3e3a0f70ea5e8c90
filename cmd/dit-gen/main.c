/*
 * dit-gen - text to image with PixArt-alpha/sigma, optionally controlled by
 * a PixArt-delta ControlNet-Transformer (see dit-gen(1)).
 *
 *   dit-gen [options] PROMPT                 one image
 *   dit-gen [options] < prompts.txt          one image per non-blank line;
 *                                            -o holds a %d (%03d, ...) index
 *
 * This file parses options, reads prompts and the control image, and
 * composes lib/models/dit (the pipeline); it writes PNGs with the prompt,
 * seed and settings in tEXt/iTXt chunks, or the final latents as a tensor
 * stream (--latents).  Image k of a batch (k = its line number, from 1)
 * uses seed + k - 1, so that `dit-gen --seed S+k-1 "line k"` reproduces it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/media.h"
#include "io/safetensors.h"
#include "io/stream.h"
#include "models/dit.h"
#include "models/pixart.h"
#include "sched/sched.h"

static const char usage[] =
	"usage: dit-gen [options] PROMPT [-o OUT.png]\n"
	"       dit-gen [options] < PROMPTS.txt -o 'OUT_%03d.png'   (one prompt per line)\n"
	"model:    --model DIR (the installed default)  --controlnet DIR\n"
	"image:    --size WxH (the model's, e.g. 1024x1024)  --no-binning\n"
	"          --vae-tiling auto|on|off (auto: above 512x512)\n"
	"sampling: --steps N (20; lcm 4)  --sampler dpm|ddim|euler|lcm (the model's)\n"
	"          --cfg G (4.5; lcm 0)  --negative-prompt TEXT (\"\")  --eta E (ddim, 0)\n"
	"          --null-caption FILE (the original PixArt's y_embedding as the negative)\n"
	"control:  --control IMG.png  --control-scale S (1.0)\n"
	"compute:  --precision f32|bf16|int8 (the DiT's linear layers and attention; f32)\n"
	"output:   -o FILE (PNG; a %d pattern for several prompts)  --latents (tensor stream)\n"
	"common:   -t/--threads N, --seed N (0), -q/--quiet, -f/--force, -h/--help, --version\n";

enum {
	OPT_MODEL = DC_OPT_TOOL_BASE, OPT_CONTROLNET, OPT_SIZE, OPT_NOBIN, OPT_TILING, OPT_STEPS,
	OPT_SAMPLER, OPT_CFG, OPT_NEG, OPT_ETA, OPT_CONTROL, OPT_CSCALE, OPT_LATENTS,
	OPT_PREC, OPT_NULLCAP
};

static const struct option longopts[] = {
	{ "model", required_argument, 0, OPT_MODEL },
	{ "controlnet", required_argument, 0, OPT_CONTROLNET },
	{ "size", required_argument, 0, OPT_SIZE },
	{ "no-binning", no_argument, 0, OPT_NOBIN },
	{ "vae-tiling", required_argument, 0, OPT_TILING },
	{ "steps", required_argument, 0, OPT_STEPS },
	{ "sampler", required_argument, 0, OPT_SAMPLER },
	{ "cfg", required_argument, 0, OPT_CFG },
	{ "negative-prompt", required_argument, 0, OPT_NEG },
	{ "eta", required_argument, 0, OPT_ETA },
	{ "control", required_argument, 0, OPT_CONTROL },
	{ "control-scale", required_argument, 0, OPT_CSCALE },
	{ "latents", no_argument, 0, OPT_LATENTS },
	{ "precision", required_argument, 0, OPT_PREC },
	{ "null-caption", required_argument, 0, OPT_NULLCAP },
	DC_CLI_LONGOPTS,
	{ 0, 0, 0, 0 }
};

struct prompt {
	char *text;
	int index;     /* line number (from 1), or 1 for the PROMPT argument */
};

static struct dc_cli *cli;

/*
 * The original PixArt's unconditional caption: the learned y_embedding
 * [T][dim] of its CaptionEmbedder (key y_embedder.y_embedding in the
 * official checkpoints, converted to safetensors; y_embedding accepted too),
 * used with every position attended, as the original sampler does.
 */
static enum dc_status load_null_caption(const char *path, int dim, struct dc_dit_text *t)
{
	struct dc_safetensors *st;
	enum dc_status s = dc_safetensors_open(&st, path);
	if (s)
		return s;
	const char *name = "y_embedder.y_embedding";
	const struct dc_st_tensor *ti = dc_safetensors_find(st, name);
	if (!ti)
		ti = dc_safetensors_find(st, name = "y_embedding");
	if (!ti) {
		dc_safetensors_close(st);
		return dc_fail(DC_ENOTFOUND, "no tensor 'y_embedder.y_embedding' or 'y_embedding'");
	}
	if (ti->rank != 2 || ti->shape[1] != dim || ti->shape[0] < 1 || ti->shape[0] > 4096) {
		dc_safetensors_close(st);
		return dc_fail(DC_EFORMAT, "'%s' must be [tokens][%d] (the model's caption channels)",
		               name, dim);
	}
	int T = (int)ti->shape[0];
	memset(t, 0, sizeof *t);
	t->batch = 1;
	t->len = T;
	t->dim = dim;
	t->ids = calloc((size_t)T, sizeof *t->ids);
	t->mask = malloc((size_t)T);
	t->embeds = dc_alloc((size_t)T * dim * sizeof *t->embeds);
	t->ntokens = malloc(sizeof *t->ntokens);
	t->full_tokens = malloc(sizeof *t->full_tokens);
	t->truncated = calloc(1, sizeof *t->truncated);
	if (!t->ids || !t->mask || !t->embeds || !t->ntokens || !t->full_tokens || !t->truncated) {
		dc_safetensors_close(st);
		dc_dit_text_release(t);
		return dc_fail(DC_ENOMEM, "out of memory");
	}
	memset(t->mask, 1, (size_t)T);
	t->ntokens[0] = t->full_tokens[0] = T;
	s = dc_safetensors_read_f32(st, name, 0, t->embeds, (size_t)T * dim);
	dc_safetensors_close(st);
	if (s)
		dc_dit_text_release(t);
	return s;
}

/* ---- options -------------------------------------------------------------------- */

static void parse_size(const char *arg, int *w, int *h)
{
	char *end;
	errno = 0;
	long a = strtol(arg, &end, 10);
	if (errno || end == arg || (*end != 'x' && *end != 'X'))
		goto bad;
	const char *p = end + 1;
	long b = strtol(p, &end, 10);
	if (errno || end == p || *end || a < 1 || b < 1 || a > DC_IMAGE_MAX_DIM || b > DC_IMAGE_MAX_DIM)
		goto bad;
	*w = (int)a;
	*h = (int)b;
	return;
bad:
	dc_usage_error("invalid value for --size: '%s' (expected WxH, e.g. 1024x768)", arg);
}

/* The default model's folder name under share/diffcore/models/. */
#define DEFAULT_MODEL "pixart-emoji"

/* ---- input ------------------------------------------------------------------------ */

static struct prompt *read_prompts(FILE *fp, int *count)
{
	struct prompt *v = NULL;
	int n = 0, cap = 0, line = 0;
	char *buf = NULL;
	size_t bcap = 0;
	ssize_t len;
	while ((len = getline(&buf, &bcap, fp)) >= 0) {
		line++;
		if ((size_t)len != strlen(buf))
			dc_die("stdin: line %d holds a NUL byte", line);
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = 0;
		if (strspn(buf, " \t\v\f") == (size_t)len)
			continue;   /* blank lines are skipped (they keep their number) */
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = realloc(v, (size_t)cap * sizeof *v);
			if (!v)
				dc_die("out of memory");
		}
		if (!(v[n].text = strdup(buf)))
			dc_die("out of memory");
		v[n++].index = line;
	}
	if (ferror(fp))
		dc_die("cannot read stdin: %s", strerror(errno));
	free(buf);
	*count = n;
	return v;
}

/* ---- progress --------------------------------------------------------------------- */

struct prog {
	char label[64];
};

static int on_step(void *user, int step, int steps, double t, const float *lat)
{
	struct prog *p = user;
	dc_progress(p->label, (uint64_t)step, (uint64_t)steps);
	return 0;
}

/* ---- main ----------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	cli = dc_cli_init("dit-gen", usage);
	enum dc_precision prec = DC_PREC_F32;
	const char *null_caption = NULL;
	int negative_given = 0;
	const char *model = NULL, *controlnet = NULL, *control_path = NULL, *negative = "";
	const char *sampler = NULL;
	int latents_mode = 0, steps_given = 0, cfg_given = 0, c;
	struct dc_dit_params p;
	dc_dit_params_init(&p);

	while ((c = getopt_long(argc, argv, DC_CLI_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MODEL: model = optarg; break;
		case OPT_CONTROLNET: controlnet = optarg; break;
		case OPT_SIZE: parse_size(optarg, &p.width, &p.height); break;
		case OPT_NOBIN: p.binning = 0; break;
		case OPT_TILING:
			if (strcmp(optarg, "auto") == 0) p.vae_tiling = -1;
			else if (strcmp(optarg, "on") == 0) p.vae_tiling = 1;
			else if (strcmp(optarg, "off") == 0) p.vae_tiling = 0;
			else dc_usage_error("invalid value for --vae-tiling: '%s' (auto, on or off)", optarg);
			break;
		case OPT_STEPS:
			p.steps = (int)dc_cli_long("steps", optarg, 1, 1000);
			steps_given = 1;
			break;
		case OPT_SAMPLER: {
			enum dc_sched_kind k;
			if (dc_sched_kind_parse(optarg, &k))
				dc_usage_error("invalid value for --sampler: '%s' (dpm, ddim, euler or lcm)",
				               optarg);
			sampler = optarg;
			break;
		}
		case OPT_CFG:
			p.guidance = (float)dc_cli_double("cfg", optarg, 0, 100);
			cfg_given = 1;
			break;
		case OPT_NEG: negative = optarg; negative_given = 1; break;
		case OPT_NULLCAP: null_caption = optarg; break;
		case OPT_ETA: p.eta = (float)dc_cli_double("eta", optarg, 0, 1); break;
		case OPT_CONTROL: control_path = optarg; break;
		case OPT_CSCALE: p.control_scale = (float)dc_cli_double("control-scale", optarg, 0, 100); break;
		case OPT_LATENTS: latents_mode = 1; break;
		case OPT_PREC:
			if (!strcmp(optarg, "f32"))
				prec = DC_PREC_F32;
			else if (!strcmp(optarg, "bf16"))
				prec = DC_PREC_BF16;
			else if (!strcmp(optarg, "int8"))
				prec = DC_PREC_INT8;
			else
				dc_usage_error("--precision: '%s' is not f32, bf16 or int8", optarg);
			break;
		default: dc_cli_option(cli, c, optarg);
		}
	}
	if (optind < argc - 1)
		dc_usage_error("one PROMPT at a time (quote it; several prompts go one per line on stdin)");
	if (controlnet && !control_path)
		dc_usage_error("--controlnet needs --control IMG.png");
	if (null_caption && negative_given)
		dc_usage_error("--null-caption and --negative-prompt exclude each other");
	uint64_t seed0 = cli->seed_given ? cli->seed : 0;

	/* prompts */
	struct prompt *prompts = NULL;
	int np = 0;
	if (optind < argc && strcmp(argv[optind], "-")) {
		prompts = malloc(sizeof *prompts);
		if (!prompts || !(prompts[0].text = strdup(argv[optind])))
			dc_die("out of memory");
		prompts[0].index = 1;
		np = 1;
	} else {
		if (control_path && strcmp(control_path, "-") == 0)
			dc_usage_error("--control - and prompts on stdin cannot share stdin");
		if (isatty(STDIN_FILENO))
			dc_usage_error("no PROMPT (give one, or prompts one per line on stdin)");
		prompts = read_prompts(stdin, &np);
		if (np == 0)
			dc_die("stdin: no prompt (every line is blank)");
	}
	int pattern = cli->output ? dc_cli_check_pattern(cli->output) : 0;
	if (pattern < 0)
		dc_usage_error("invalid -o pattern '%s' (one %%d, %%3d or %%03d index at most; "
		               "%%%% for a percent sign)", cli->output);
	char *single = NULL;
	if (cli->output && !pattern && strchr(cli->output, '%'))
		cli->output = single = dc_cli_pattern_name(cli->output, 1);   /* %% -> % */
	if (np > 1 && !pattern && !latents_mode)
		dc_usage_error("%d prompts need -o with a %%d index (e.g. -o 'img_%%03d.png'), "
		               "or --latents for one stream", np);

	/* the control image, before the model: a bad file fails fast */
	struct dc_image control = { 0 };
	if (control_path) {
		FILE *fp = dc_cli_open_input(control_path);
		enum dc_status st = dc_png_read(fp, &control);
		if (fp != stdin)
			fclose(fp);
		if (st)
			dc_die_status(st, "cannot read '%s'", dc_cli_input_name(control_path));
		if (control.depth != 8)
			dc_die("cannot use '%s': 16-bit PNG not supported (convert it to 8 bits)",
			       control_path);
	}

	/* the model */
	char *defmodel = NULL;
	if (!model)
		model = defmodel = dc_cli_require_default_model(DEFAULT_MODEL, "model_index.json", "model",
		                                                "--model DIR, a diffusers PixArt pipeline folder "
		                                                "(model_index.json, transformer/, vae/, ...)");
	struct dc_dit *d;
	enum dc_status st = dc_dit_open(&d, model, 0);
	if (st)
		dc_die_status(st, "cannot load model '%s'", model);
	const struct dc_dit_info *info = dc_dit_info(d);
	if (!info->has_text)
		dc_die("cannot load model '%s': no tokenizer/ and text_encoder/ (needed for prompts)",
		       model);
	if (controlnet && (st = dc_dit_set_controlnet(d, controlnet)))
		dc_die_status(st, "cannot load ControlNet '%s'", controlnet);
	if (prec != DC_PREC_F32) {
		struct dc_pixart_control *ctl = dc_dit_controlnet(d);
		if ((st = dc_pixart_set_precision(dc_dit_transformer(d), prec)) ||
		    (ctl && (st = dc_pixart_control_set_precision(ctl, prec))))
			dc_die_status(st, "cannot set precision");
	}
	if (control_path && !info->control_blocks)
		dc_die("--control needs a ControlNet-Transformer: give --controlnet DIR (the model "
		       "'%s' has no controlnet/)", model);

	/* LCM (PixArt-LCM / PixArt-delta) runs 4 steps without CFG unless told otherwise */
	enum dc_sched_kind kind;
	dc_sched_kind_parse(sampler ? sampler : info->sampler, &kind);
	if (kind == DC_SCHED_LCM) {
		if (!steps_given)
			p.steps = 4;
		if (!cfg_given)
			p.guidance = 0;
	}
	p.sampler = sampler;
	struct dc_dit_plan pl;
	if ((st = dc_dit_plan(d, &p, &pl)))
		dc_die_status(st, "bad --size");
	int cfg = p.guidance > 1.0f;

	/* the negative prompt, encoded once; or the original PixArt null caption */
	struct dc_dit_text unc = { 0 };
	if (cfg && null_caption) {
		if ((st = load_null_caption(null_caption, info->text_dim, &unc)))
			dc_die_status(st, "--null-caption '%s'", null_caption);
		negative = "(null caption)";
	} else if (cfg) {
		if ((st = dc_dit_encode_text(d, 1, &negative, 0, &unc)))
			dc_die_status(st, "negative prompt");
		if (unc.truncated[0])
			dc_warn("warning: the negative prompt has %d tokens; truncated to %d",
			        unc.full_tokens[0], info->max_tokens);
	}

	const char *mname = strrchr(model, '/') && strrchr(model, '/')[1] ? strrchr(model, '/') + 1 : model;
	char sizebuf[48], genbuf[48], stepsbuf[16], cfgbuf[32], cscale[32], seedbuf[32];
	snprintf(sizebuf, sizeof sizebuf, "%dx%d", pl.width, pl.height);
	snprintf(genbuf, sizeof genbuf, "%dx%d", pl.gen_width, pl.gen_height);
	snprintf(stepsbuf, sizeof stepsbuf, "%d", p.steps);
	snprintf(cfgbuf, sizeof cfgbuf, "%g", p.guidance);
	snprintf(cscale, sizeof cscale, "%g", p.control_scale);
	const char *sname = sampler ? sampler : info->sampler;
	if (sampler && dc_sched_kind_parse(sampler, &kind) == DC_OK)
		sname = dc_sched_kind_name(kind);

	int C = info->latent_channels;
	size_t nlat = (size_t)C * pl.lat_width * pl.lat_height;
	size_t nrgb = (size_t)3 * pl.width * pl.height;
	float *lat = malloc(nlat * sizeof *lat), *rgb = latents_mode ? NULL : malloc(nrgb * sizeof *rgb);
	if (!lat || (!latents_mode && !rgb))
		dc_die("out of memory");

	/* a single output is opened now, so that a terminal is refused before the work */
	if (!pattern)
		dc_cli_open_output(1);

	/* one stream for every record unless -o names each */
	struct dc_stream_writer w;
	int stream_open = 0;
	for (int k = 0; k < np; k++) {
		struct dc_dit_text cond;
		const char *text = prompts[k].text;
		uint64_t seed = seed0 + (uint64_t)(prompts[k].index - 1);
		if ((st = dc_dit_encode_text(d, 1, &text, 0, &cond)))
			dc_die_status(st, "prompt %d", prompts[k].index);
		if (cond.truncated[0])
			dc_warn("warning: prompt %d has %d tokens; truncated to %d (T5's limit here)",
			        prompts[k].index, cond.full_tokens[0], info->max_tokens);
		struct prog pr;
		if (np > 1)
			snprintf(pr.label, sizeof pr.label, "image %d/%d", k + 1, np);
		else
			snprintf(pr.label, sizeof pr.label, "sampling");
		p.progress = on_step;
		p.progress_user = &pr;
		struct dc_dit_request r = { .n = 1, .cond = &cond, .uncond = cfg ? &unc : NULL,
		                            .seeds = &seed, .control = control_path ? &control : NULL };
		if ((st = dc_dit_generate(d, &p, &r, lat, rgb)))
			dc_die_status(st, "prompt %d", prompts[k].index);
		dc_dit_text_release(&cond);
		snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)seed);

		/* -o with an index names each image's file (each written atomically) */
		char *name = NULL;
		const char *pat = cli->output;
		if (pattern) {
			name = dc_cli_pattern_name(pat, prompts[k].index);
			cli->output = name;
		}
		FILE *fp = dc_cli_open_output(1);
		if (latents_mode) {
			if (!stream_open && (st = dc_stream_writer_open(&w, fp)))
				dc_die_status(st, "cannot write");
			stream_open = 1;
			struct dc_record rec;
			struct dc_tensor t = { .dtype = DC_F32, .rank = 4, .data = lat,
			                       .nbytes = nlat * sizeof *lat };
			t.shape[0] = 1;
			t.shape[1] = C;
			t.shape[2] = pl.lat_height;
			t.shape[3] = pl.lat_width;
			char sf[32], idx[16];
			snprintf(sf, sizeof sf, "%.9g", info->scaling_factor);
			snprintf(idx, sizeof idx, "%d", prompts[k].index);
			dc_record_init(&rec);
			if ((st = dc_record_set_name(&rec, "latents")) ||
			    (st = dc_record_set_role(&rec, "latents")) ||
			    (st = dc_record_meta_set(&rec, "prompt", text)) ||
			    (cfg && (st = dc_record_meta_set(&rec, "negative_prompt", negative))) ||
			    (st = dc_record_meta_set(&rec, "seed", seedbuf)) ||
			    (st = dc_record_meta_set(&rec, "index", idx)) ||
			    (st = dc_record_meta_set(&rec, "model", mname)) ||
			    (st = dc_record_meta_set(&rec, "size", sizebuf)) ||
			    (st = dc_record_meta_set(&rec, "generated_size", genbuf)) ||
			    (st = dc_record_meta_set(&rec, "steps", stepsbuf)) ||
			    (st = dc_record_meta_set(&rec, "sampler", sname)) ||
			    (st = dc_record_meta_set(&rec, "cfg", cfgbuf)) ||
			    (st = dc_record_meta_set(&rec, "scaling_factor", sf)) ||
			    (control_path && ((st = dc_record_meta_set(&rec, "control", control_path)) ||
			                      (st = dc_record_meta_set(&rec, "control_scale", cscale)))))
				dc_die_status(st, "prompt %d: cannot write the stream record", prompts[k].index);
			dc_record_set_tensor(&rec, &t);
			if ((st = dc_stream_write(&w, &rec)))
				dc_die_status(st, "cannot write");
			dc_record_release(&rec);
			if (pattern || k == np - 1) {
				if ((st = dc_stream_writer_finish(&w)))
					dc_die_status(st, "cannot write");
				dc_stream_writer_close(&w);
				stream_open = 0;
			}
		} else {
			struct dc_image img;
			if ((st = dc_dit_to_image(rgb, pl.width, pl.height, &img)))
				dc_die_status(st, "prompt %d", prompts[k].index);
			const char *kv[32];
			int n = 0;
			kv[n++] = "Software"; kv[n++] = "dit-gen (diffcore) " DC_VERSION_STRING;
			kv[n++] = "prompt"; kv[n++] = text;
			if (cfg) {
				kv[n++] = "negative_prompt";
				kv[n++] = negative;
			}
			kv[n++] = "seed"; kv[n++] = seedbuf;
			kv[n++] = "model"; kv[n++] = mname;
			kv[n++] = "size"; kv[n++] = sizebuf;
			if (pl.binned) {
				kv[n++] = "generated_size";
				kv[n++] = genbuf;
			}
			kv[n++] = "steps"; kv[n++] = stepsbuf;
			kv[n++] = "sampler"; kv[n++] = sname;
			kv[n++] = "cfg"; kv[n++] = cfgbuf;
			if (control_path) {
				kv[n++] = "control"; kv[n++] = control_path;
				kv[n++] = "control_scale"; kv[n++] = cscale;
			}
			kv[n] = NULL;
			if ((st = dc_png_write(fp, &img, kv)))
				dc_die_status(st, "cannot write");
			dc_image_release(&img);
		}
		if (pattern || k == np - 1)
			dc_cli_commit_output();
		if (pattern) {
			cli->output = pat;
			free(name);
		}
	}
	free(lat);
	free(rgb);
	dc_dit_text_release(&unc);
	dc_image_release(&control);
	dc_dit_free(d);
	for (int k = 0; k < np; k++)
		free(prompts[k].text);
	free(prompts);
	free(defmodel);
	free(single);
	return 0;
}
