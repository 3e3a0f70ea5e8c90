/*
 * image.c - the image conditions of ctrl-extract(1): read a PNG, apply
 * ControlNet's HWC3 (gray -> 3 channels, alpha composited over white),
 * optionally resize_image() to --resolution, run the condition and write a
 * PNG (default) or a one-record tensor stream (--tensor: u8 [H,W,C], role
 * "image.control", meta condition/parameters/seed).  The output file
 * appears only when everything succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "image/image.h"
#include "image/lsd.h"
#include "io/media.h"
#include "io/stream.h"
#include "ctrl.h"

static const char usage[] =
	"usage: ctrl-extract condition [options] [IN.png] [-o OUT]\n"
	"  canny    [--low T] [--high T] [--l2]      cv2.Canny, aperture 3 (100/200)\n"
	"  lines    [--thickness N]                  LSD line segments drawn white on black\n"
	"  scribble [--threshold T]                  XDoG scribble (32)\n"
	"  lineart  [--sigma S] [--threshold T]      lineart_standard (6.0, 8)\n"
	"  shuffle  [--cell F] [--seed N]            content shuffle (256, 12345)\n"
	"  tile     [--mode resample|blur] [--rate R] [--sigma S]   (resample, 2.0, 9.0)\n"
	"  binary   [--threshold T]                  inverted threshold, 0 = Otsu (0)\n"
	"  color    [--cell N]                       colour grid (64)\n"
	"  gray | invert\n"
	"  mask     [--alpha[=T]] [--key RRGGBB] [--tol N] [--rect X,Y,W,H]... [--invert]\n"
	"options: --resolution N (resize as the annotators' resize_image), --tensor\n"
	"common options: -o/--output FILE, -t/--threads N, -f/--force, -q/--quiet,\n"
	"                -h/--help, --version\n";

enum {
	OPT_LOW = DC_OPT_TOOL_BASE, OPT_HIGH, OPT_L2, OPT_THRESHOLD, OPT_SIGMA, OPT_CELL,
	OPT_MODE, OPT_RATE, OPT_ALPHA, OPT_KEY, OPT_TOL, OPT_RECT, OPT_INVERT,
	OPT_RESOLUTION, OPT_TENSOR, OPT_THICKNESS, OPT_COUNT
};

static const struct option longopts[] = {
	{ "low", required_argument, 0, OPT_LOW },
	{ "high", required_argument, 0, OPT_HIGH },
	{ "l2", no_argument, 0, OPT_L2 },
	{ "threshold", required_argument, 0, OPT_THRESHOLD },
	{ "sigma", required_argument, 0, OPT_SIGMA },
	{ "cell", required_argument, 0, OPT_CELL },
	{ "mode", required_argument, 0, OPT_MODE },
	{ "rate", required_argument, 0, OPT_RATE },
	{ "alpha", optional_argument, 0, OPT_ALPHA },
	{ "key", required_argument, 0, OPT_KEY },
	{ "tol", required_argument, 0, OPT_TOL },
	{ "rect", required_argument, 0, OPT_RECT },
	{ "invert", no_argument, 0, OPT_INVERT },
	{ "resolution", required_argument, 0, OPT_RESOLUTION },
	{ "tensor", no_argument, 0, OPT_TENSOR },
	{ "thickness", required_argument, 0, OPT_THICKNESS },
	DC_CLI_LONGOPTS,
	{ 0, 0, 0, 0 }
};

/* Which condition-specific options each condition takes. */
static const struct { const char *name; int opts[6]; } allowed[] = {
	{ "canny", { OPT_LOW, OPT_HIGH, OPT_L2 } },
	{ "lines", { OPT_THICKNESS } },
	{ "scribble", { OPT_THRESHOLD } },
	{ "lineart", { OPT_SIGMA, OPT_THRESHOLD } },
	{ "shuffle", { OPT_CELL } },
	{ "tile", { OPT_MODE, OPT_RATE, OPT_SIGMA } },
	{ "binary", { OPT_THRESHOLD } },
	{ "color", { OPT_CELL } },
	{ "gray", { 0 } },
	{ "invert", { 0 } },
	{ "mask", { OPT_ALPHA, OPT_KEY, OPT_TOL, OPT_RECT, OPT_INVERT } },
};

static const char *opt_name(int o)
{
	for (const struct option *p = longopts; p->name; p++)
		if (p->val == o)
			return p->name;
	return "?";
}

static void parse_rect(const char *arg, int r[4])
{
	char *end;
	const char *p = arg;
	for (int i = 0; i < 4; i++) {
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p || errno || v < 0 || v > DC_IMAGE_MAX_DIM || (i < 3 && *end != ',') ||
		    (i == 3 && *end))
			dc_usage_error("invalid value for --rect: '%s' (expected X,Y,W,H)", arg);
		r[i] = (int)v;
		p = end + 1;
	}
}

static void parse_key(const char *arg, uint8_t key[3])
{
	const char *p = arg[0] == '#' ? arg + 1 : arg;
	if (strlen(p) != 6 || strspn(p, "0123456789abcdefABCDEF") != 6)
		dc_usage_error("invalid value for --key: '%s' (expected RRGGBB)", arg);
	unsigned long v = strtoul(p, NULL, 16);
	key[0] = (uint8_t)(v >> 16);
	key[1] = (uint8_t)(v >> 8);
	key[2] = (uint8_t)v;
}

int ctrl_image_main(int argc, char **argv)
{
	const char *cond = argv[0];
	struct dc_cli *cli = dc_cli_init("ctrl-extract", usage);
	double low = 100, high = 200, sigma = NAN, rate = 2.0;
	int l2 = 0, thr = -1, cell = -1, resolution = 0, tensor = 0, thickness = 1;
	const char *mode = "resample";
	struct dc_mask_spec mask = { 0 };
	int seen[OPT_COUNT - DC_OPT_TOOL_BASE] = { 0 };
	int c;

	mask.alpha_thr = 128;
	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, DC_CLI_SHORTOPTS, longopts, NULL)) != -1) {
		if (c >= DC_OPT_TOOL_BASE && c < OPT_COUNT)
			seen[c - DC_OPT_TOOL_BASE] = 1;
		switch (c) {
		case OPT_LOW: low = dc_cli_double("low", optarg, 0, 1e6); break;
		case OPT_HIGH: high = dc_cli_double("high", optarg, 0, 1e6); break;
		case OPT_L2: l2 = 1; break;
		case OPT_THRESHOLD: thr = (int)dc_cli_long("threshold", optarg, 0, 255); break;
		case OPT_SIGMA: sigma = dc_cli_double("sigma", optarg, 0.01, 100); break;
		case OPT_CELL: cell = (int)dc_cli_long("cell", optarg, 1, 4096); break;
		case OPT_MODE:
			if (strcmp(optarg, "resample") && strcmp(optarg, "blur"))
				dc_usage_error("invalid value for --mode: '%s' (expected resample or blur)", optarg);
			mode = optarg;
			break;
		case OPT_RATE: rate = dc_cli_double("rate", optarg, 1.0, 1024); break;
		case OPT_ALPHA:
			mask.use_alpha = 1;
			if (optarg)
				mask.alpha_thr = (int)dc_cli_long("alpha", optarg, 1, 256);
			break;
		case OPT_KEY: parse_key(optarg, mask.key); mask.use_key = 1; break;
		case OPT_TOL: mask.tol = (int)dc_cli_long("tol", optarg, 0, 255); break;
		case OPT_RECT:
			if (mask.nrect == 16)
				dc_usage_error("too many --rect options (at most 16)");
			parse_rect(optarg, mask.rect[mask.nrect++]);
			break;
		case OPT_INVERT: mask.invert = 1; break;
		case OPT_RESOLUTION: resolution = (int)dc_cli_long("resolution", optarg, 64, 16384); break;
		case OPT_TENSOR: tensor = 1; break;
		case OPT_THICKNESS: thickness = (int)dc_cli_long("thickness", optarg, 1, 64); break;
		default: dc_cli_option(cli, c, optarg);
		}
	}
	/* reject options that belong to another condition */
	size_t ci;
	for (ci = 0; ci < sizeof allowed / sizeof *allowed; ci++)
		if (strcmp(allowed[ci].name, cond) == 0)
			break;
	if (ci == sizeof allowed / sizeof *allowed)
		dc_usage_error("unknown condition '%s'", cond);
	for (int o = OPT_LOW; o < OPT_RESOLUTION; o++) {
		if (!seen[o - DC_OPT_TOOL_BASE])
			continue;
		int ok = 0;
		for (int k = 0; k < 6; k++)
			if (allowed[ci].opts[k] == o)
				ok = 1;
		if (!ok)
			dc_usage_error("%s: option --%s does not apply", cond, opt_name(o));
	}
	if (cli->seed_given && strcmp(cond, "shuffle"))
		dc_usage_error("%s: option --seed does not apply", cond);
	if (optind < argc - 1)
		dc_usage_error("%s: too many inputs (one image at a time)", cond);
	if (strcmp(cond, "tile") == 0) {
		if (seen[OPT_SIGMA - DC_OPT_TOOL_BASE] && strcmp(mode, "blur"))
			dc_usage_error("tile: --sigma needs --mode blur");
		if (seen[OPT_RATE - DC_OPT_TOOL_BASE] && strcmp(mode, "resample"))
			dc_usage_error("tile: --rate needs --mode resample");
	}
	if (strcmp(cond, "mask") == 0 && !mask.use_alpha && !mask.use_key && !mask.nrect)
		mask.use_alpha = 1;
	if (seen[OPT_TOL - DC_OPT_TOOL_BASE] && !mask.use_key)
		dc_usage_error("mask: --tol needs --key");

	const char *path = optind < argc ? argv[optind] : NULL;
	const char *name = dc_cli_input_name(path);
	FILE *in = dc_cli_open_input(path);
	struct dc_image raw, img = { 0 }, out = { 0 };
	enum dc_status st = dc_png_read(in, &raw);
	if (in != stdin)
		fclose(in);
	if (st)
		dc_die_status(st, "%s", name);
	if (raw.depth != 8) {
		dc_image_release(&raw);
		dc_die("%s: 16-bit PNG not supported (the annotators take 8-bit images; convert it first)", name);
	}
	int is_mask = strcmp(cond, "mask") == 0;
	if (is_mask) {
		img = raw;        /* the mask needs the alpha channel */
	} else {
		st = dc_image_hwc3(&raw, &img);
		if (st)
			dc_die_status(st, "%s", name);
		if (strcmp(cond, "canny") == 0 && raw.channels == 1) {
			/* three equal channels give the same edges as one */
			dc_image_release(&img);
			img = raw;
		} else {
			dc_image_release(&raw);
		}
	}
	if (resolution) {
		int ow, oh;
		enum dc_interp ip;
		struct dc_image r;
		if ((st = dc_resolution_size(img.width, img.height, resolution, &ow, &oh, &ip)) ||
		    (st = dc_image_resize(&img, &r, ow, oh, ip)))
			dc_die_status(st, "%s", name);
		dc_image_release(&img);
		img = r;
	}

	char params[256] = "";
	uint64_t seed = 12345;
	if (strcmp(cond, "canny") == 0) {
		st = dc_canny(&img, &out, low, high, l2);
		snprintf(params, sizeof params, "low=%g high=%g l2=%d", low, high, l2);
	} else if (strcmp(cond, "lines") == 0) {
		struct dc_image g;
		struct dc_segment *segs = NULL;
		size_t n = 0;
		if (!(st = dc_image_gray(&img, &g))) {
			st = dc_lsd_detect(g.data, g.width, g.height, NULL, &segs, &n);
			if (!st && !(st = dc_image_alloc(&out, img.width, img.height, 1))) {
				memset(out.data, 0, (size_t)img.width * img.height);
				dc_draw_segments(out.data, img.width, img.height, segs, n, thickness, 255);
			}
			dc_free(segs);
			dc_image_release(&g);
		}
		snprintf(params, sizeof params, "thickness=%d segments=%zu", thickness, n);
	} else if (strcmp(cond, "scribble") == 0) {
		thr = thr < 0 ? 32 : thr;
		st = dc_annot_xdog(&img, &out, thr);
		snprintf(params, sizeof params, "threshold=%d", thr);
	} else if (strcmp(cond, "lineart") == 0) {
		sigma = isnan(sigma) ? 6.0 : sigma;
		thr = thr < 0 ? 8 : thr;
		st = dc_annot_lineart(&img, &out, sigma, thr);
		snprintf(params, sizeof params, "sigma=%g threshold=%d", sigma, thr);
	} else if (strcmp(cond, "shuffle") == 0) {
		cell = cell < 0 ? 256 : cell;
		if (cli->seed_given)
			seed = cli->seed;
		if (seed > UINT32_MAX)
			dc_usage_error("shuffle: --seed must be below 2^32 (numpy's legacy seeding)");
		st = dc_annot_shuffle(&img, &out, (uint32_t)seed, cell);
		snprintf(params, sizeof params, "cell=%d", cell);
	} else if (strcmp(cond, "tile") == 0) {
		if (strcmp(mode, "blur") == 0) {
			sigma = isnan(sigma) ? 9.0 : sigma;
			st = dc_annot_tile_blur(&img, &out, sigma);
			snprintf(params, sizeof params, "mode=blur sigma=%g", sigma);
		} else {
			st = dc_annot_tile_resample(&img, &out, rate);
			snprintf(params, sizeof params, "mode=resample rate=%g", rate);
		}
	} else if (strcmp(cond, "binary") == 0) {
		int used = 0;
		thr = thr < 0 ? 0 : thr;
		st = dc_annot_binary(&img, &out, thr, &used);
		snprintf(params, sizeof params, "threshold=%d applied=%d", thr, used);
	} else if (strcmp(cond, "color") == 0) {
		cell = cell < 0 ? 64 : cell;
		st = dc_annot_color(&img, &out, cell);
		snprintf(params, sizeof params, "cell=%d", cell);
	} else if (strcmp(cond, "gray") == 0) {
		st = dc_image_gray(&img, &out);
	} else if (strcmp(cond, "invert") == 0) {
		st = dc_annot_invert(&img, &out);
	} else {
		st = dc_annot_mask(&img, &out, &mask);
		snprintf(params, sizeof params, "alpha=%d key=%d tol=%d rects=%d invert=%d",
		         mask.use_alpha ? mask.alpha_thr : 0, mask.use_key, mask.tol, mask.nrect,
		         mask.invert);
	}
	dc_image_release(&img);
	if (st)
		dc_die_status(st, "%s: %s", cond, name);
	if (resolution) {
		size_t l = strlen(params);
		snprintf(params + l, sizeof params - l, "%sresolution=%d", l ? " " : "", resolution);
	}

	FILE *fp = dc_cli_open_output(1);
	char seedbuf[32];
	snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)seed);
	int with_seed = strcmp(cond, "shuffle") == 0;
	if (tensor) {
		struct dc_stream_writer w;
		struct dc_record rec;
		struct dc_tensor t = { 0 };
		t.dtype = DC_U8;
		t.rank = 3;
		t.shape[0] = out.height;
		t.shape[1] = out.width;
		t.shape[2] = out.channels;
		t.data = out.data;
		t.nbytes = (size_t)out.width * out.height * out.channels;
		dc_record_init(&rec);
		if ((st = dc_stream_writer_open(&w, fp)))
			dc_die_status(st, "cannot write");
		if ((st = dc_record_set_name(&rec, "control")) ||
		    (st = dc_record_set_role(&rec, "image.control")) ||
		    (st = dc_record_meta_set(&rec, "condition", cond)) ||
		    (params[0] && (st = dc_record_meta_set(&rec, "parameters", params))) ||
		    (with_seed && (st = dc_record_meta_set(&rec, "seed", seedbuf))))
			dc_die_status(st, "cannot write");
		dc_record_set_tensor(&rec, &t);
		if ((st = dc_stream_write(&w, &rec)) || (st = dc_stream_writer_finish(&w)))
			dc_die_status(st, "cannot write");
		dc_record_release(&rec);
		dc_stream_writer_close(&w);
	} else {
		const char *text[9] = { "Software", "ctrl-extract (diffcore) " DC_VERSION_STRING,
		                        "condition", cond, NULL, NULL, NULL, NULL, NULL };
		int k = 4;
		if (params[0]) {
			text[k++] = "parameters";
			text[k++] = params;
		}
		if (with_seed) {
			text[k++] = "seed";
			text[k++] = seedbuf;
		}
		if ((st = dc_png_write(fp, &out, text)))
			dc_die_status(st, "cannot write");
	}
	dc_cli_commit_output();
	dc_image_release(&out);
	return 0;
}
