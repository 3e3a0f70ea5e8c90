/*
 * relevance-score - how much each control block of a PixArt-delta
 * ControlNet-Transformer matters (RelaCtrl's "ControlNet Relevance Score";
 * see relevance-score(1)).
 *
 *   relevance-score [--model DIR] [--controlnet DIR] [--steps N] [--count N]
 *                   [--seed S] [-o OUT.tsv] [--chart OUT.png]
 *
 * The built-in evaluation set: item i has a prompt A_i and a prompt B_i
 * from a fixed list, picture A_i is generated without control (seed S+i),
 * its canny edges (OpenCV 100/200) become the control image of prompt B_i
 * (seed S+1000+i).  The full ControlNet's outputs are the reference; then
 * every control block k is skipped in turn, by zeroing its residual and by
 * bypassing it (dc_pixart_input.control_skip), and once all of them
 * (control_scale 0).  For each configuration: the Frechet distance of
 * its outputs' features to the reference's (features.c), and the mean
 * Hausdorff distance and edge F1 between the control edges and the canny
 * edges of each output (ctrl-extract compare's metrics).  Output: one TSV
 * row per block and mode (and "all zero") with the deltas against the full
 * ControlNet and our combined score; --chart draws the scores (chart.c).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"
#include "io/media.h"
#include "metrics/metrics.h"
#include "models/dit.h"
#include "models/pixart.h"
#include "rs.h"

static const char usage[] =
	"usage: relevance-score [options] [-o OUT.tsv]\n"
	"model:    --model DIR (the installed default)  --controlnet DIR (the model's controlnet/)\n"
	"set:      --count N evaluation items (24)  --steps N sampler steps (20)  --seed S (0)\n"
	"output:   -o FILE (TSV; stdout)  --chart FILE.png (bar chart of the scores)\n"
	"compare:  --compare DIR (repeatable): rows of cost, time, FD, HDD, F1 per branch\n"
	"common:   -t/--threads N, -q/--quiet, -h/--help, --version\n";

enum { OPT_MODEL = DC_OPT_TOOL_BASE, OPT_CONTROLNET, OPT_STEPS, OPT_COUNT, OPT_CHART,
       OPT_COMPARE };

static const struct option longopts[] = {
	{ "model", required_argument, 0, OPT_MODEL },
	{ "controlnet", required_argument, 0, OPT_CONTROLNET },
	{ "steps", required_argument, 0, OPT_STEPS },
	{ "count", required_argument, 0, OPT_COUNT },
	{ "chart", required_argument, 0, OPT_CHART },
	{ "compare", required_argument, 0, OPT_COMPARE },
	DC_CLI_LONGOPTS,
	{ 0, 0, 0, 0 }
};

/* The built-in prompts (concepts the default emoji model knows). */
static const char *const prompts[] = {
	"a red apple", "a rocket", "a red heart", "pizza", "flag of japan", "a cat face",
	"a banana", "a star", "a house", "a car", "a tree", "a sun", "a smiling face", "a fish",
	"a guitar", "a pineapple", "a bicycle", "an umbrella", "a snowman", "a ghost", "a crown",
	"a key", "a clock", "a dog face",
};
#define NPROMPTS ((int)(sizeof prompts / sizeof prompts[0]))
#define BATCH 8
#define CANNY_LOW 100.0
#define CANNY_HIGH 200.0

#define DEFAULT_MODEL "pixart-emoji"
#define MAX_COMPARE 16

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		dc_die("out of memory");
	return p;
}

/* One configuration's per-image measurements. */
struct run {
	double *feat;     /* [n][nf] */
	double hdd, f1;   /* means over the images */
	double seconds;   /* generating the set */
};

struct ctx {
	struct dc_dit *d;
	struct dc_dit_params p;
	struct dc_dit_plan pl;
	int n, w, h, nf;
	const char **pb;        /* prompts B */
	uint64_t *sb;           /* seeds B */
	float *clat;            /* control latents [n][C][lh][lw] */
	uint8_t *cmask;         /* control edges [n][h][w] */
	int done, total;        /* progress over configurations */
};

static void progress(struct ctx *c)
{
	dc_progress("configurations", (uint64_t)c->done, (uint64_t)c->total);
}

/* Generate the n images of prompt list `pr` / seeds `seeds` in batches, with
 * control latents `clat` (or none), into rgb [n][3][h][w]. */
static void generate(struct ctx *c, const char *const *pr, const uint64_t *seeds,
                     const float *clat, float *rgb)
{
	const struct dc_dit_info *info = dc_dit_info(c->d);
	size_t nl = (size_t)info->latent_channels * c->pl.lat_height * c->pl.lat_width;
	size_t np = (size_t)3 * c->w * c->h;
	for (int b = 0; b < c->n; b += BATCH) {
		int m = c->n - b < BATCH ? c->n - b : BATCH;
		struct dc_dit_request r = { .n = m, .prompts = pr + b, .seeds = seeds + b,
		                            .control_latents = clat ? clat + (size_t)b * nl : NULL };
		enum dc_status st = dc_dit_generate(c->d, &c->p, &r, NULL, rgb + (size_t)b * np);
		if (st)
			dc_die_status(st, "generating evaluation images");
	}
}

/* rgb [3][h][w] in [0,1] -> canny mask [h][w] (0/1). */
static void canny_mask(const float *rgb, int w, int h, uint8_t *mask)
{
	struct dc_image img, e;
	enum dc_status st = dc_dit_to_image(rgb, w, h, &img);
	if (!st)
		st = dc_canny(&img, &e, CANNY_LOW, CANNY_HIGH, 0);
	if (st)
		dc_die_status(st, "canny");
	const uint8_t *px = e.data;
	for (size_t i = 0; i < (size_t)w * h; i++)
		mask[i] = px[i] >= 128;
	dc_image_release(&img);
	dc_image_release(&e);
}

/* One configuration: generate with `skip` (NULL = all run) and `scale`, measure. */
static void measure(struct ctx *c, const unsigned char *skip, float scale, struct run *out)
{
	size_t np = (size_t)3 * c->w * c->h, px = (size_t)c->w * c->h;
	float *rgb = xcalloc((size_t)c->n * np, sizeof *rgb);
	uint8_t *m = xcalloc((size_t)c->n * px, 1);
	c->p.control_skip = skip;
	c->p.control_scale = scale;
	double t0 = dc_time();
	generate(c, c->pb, c->sb, scale > 0 ? c->clat : NULL, rgb);
	out->seconds = dc_time() - t0;
	c->p.control_skip = NULL;
	c->p.control_scale = 1.0f;
	double diag = sqrt((double)c->w * c->w + (double)c->h * c->h), hs = 0, fs = 0;
	for (int i = 0; i < c->n; i++) {
		canny_mask(rgb + (size_t)i * np, c->w, c->h, m + (size_t)i * px);
		double hd;
		struct dc_prf prf;
		enum dc_status st = dc_hausdorff(c->cmask + (size_t)i * px, m + (size_t)i * px, c->w,
		                                 c->h, &hd);
		if (!st)
			st = dc_edge_f1(c->cmask + (size_t)i * px, m + (size_t)i * px, c->w, c->h, 0,
			                &prf);
		if (st)
			dc_die_status(st, "metrics");
		hs += isfinite(hd) ? hd : diag;   /* edges on one side only: the diagonal */
		fs += prf.f1;
	}
	out->hdd = hs / c->n;
	out->f1 = fs / c->n;
	out->feat = xcalloc((size_t)c->n * c->nf, sizeof(double));
	enum dc_status st = rs_features(dc_dit_vae(c->d), rgb, m, c->n, c->w, c->h, out->feat);
	if (st)
		dc_die_status(st, "features");
	free(rgb);
	free(m);
	c->done++;
	progress(c);
}

/* The branch attached to c->d: kind, blocks, parameters and FLOPs of one
 * forward (dc_relactrl_cost / dc_pixart_control_cost). */
static void branch_cost(struct ctx *c, const char **kind, int *blocks, double *params,
                        double *flops)
{
	const struct dc_dit_info *info = dc_dit_info(c->d);
	const struct dc_pixart_config *pc = dc_pixart_config(dc_dit_transformer(c->d));
	int N = (c->pl.lat_height / info->patch) * (c->pl.lat_width / info->patch);
	*blocks = info->control_blocks;
	if (!*blocks) {
		*kind = "none";
		*params = *flops = 0;
	} else if (info->control_relactrl) {
		struct dc_relactrl *r = dc_dit_relactrl(c->d);
		int g[64];
		for (int k = 0; k < *blocks && k < 64; k++)
			g[k] = dc_relactrl_groups(r, k);
		*kind = "relactrl";
		dc_relactrl_cost(pc->hidden, N, *blocks, g, params, flops);
	} else {
		*kind = "controlnet";
		dc_pixart_control_cost(pc->hidden, N, info->max_tokens, *blocks, params, flops);
	}
}

/* RelaCtrl's experiment: no control and each branch in `dirs` on the set. */
static void compare(struct ctx *c, FILE *out, const char *const *dirs, int nd, uint64_t seed)
{
	int n = c->n, nf = c->nf;
	uint64_t *sr = xcalloc((size_t)n, sizeof *sr);
	for (int i = 0; i < n; i++)
		sr[i] = seed + 2000 + (uint64_t)i;
	/* the quality reference: the model's own images of prompts B, other seeds */
	struct run ref;
	uint64_t *sb = c->sb;
	c->sb = sr;
	measure(c, NULL, 0.0f, &ref);
	c->sb = sb;
	double *mu = xcalloc((size_t)nf, sizeof *mu), *sd = xcalloc((size_t)nf, sizeof *sd);
	rs_standardise_params(ref.feat, n, nf, mu, sd);
	double *fa = xcalloc((size_t)n * nf, sizeof *fa), *fb = xcalloc((size_t)n * nf, sizeof *fb);
	rs_standardise(ref.feat, n, nf, mu, sd, fa);
	const struct dc_pixart_config *pc = dc_pixart_config(dc_dit_transformer(c->d));
	int N = (c->pl.lat_height / dc_dit_info(c->d)->patch) *
	        (c->pl.lat_width / dc_dit_info(c->d)->patch);
	double base_params, base_flops;
	dc_pixart_control_cost(pc->hidden, N, dc_dit_info(c->d)->max_tokens, pc->layers,
	                       &base_params, &base_flops);
	fprintf(out, "# base transformer blocks: %.6g parameters, %.6g GFLOPs per forward; "
	        "%d items, %d steps\n", base_params, base_flops / 1e9, n, c->p.steps);
	fprintf(out, "branch\tkind\tblocks\tparams\tgflops\tsec_per_image\tfd\thdd\tf1\n");
	for (int r = -1; r < nd; r++) {
		enum dc_status st;
		if (r >= 0 && (st = dc_dit_set_controlnet(c->d, dirs[r])))
			dc_die_status(st, "cannot load control branch '%s'", dirs[r]);
		const char *kind;
		int blocks;
		double params, flops, fd;
		struct run x;
		branch_cost(c, &kind, &blocks, &params, &flops);
		measure(c, NULL, r < 0 ? 0.0f : 1.0f, &x);
		rs_standardise(x.feat, n, nf, mu, sd, fb);
		if ((st = dc_frechet_features(fb, (size_t)n, fa, (size_t)n, nf, &fd)))
			dc_die_status(st, "Frechet distance");
		fprintf(out, "%s\t%s\t%d\t%.0f\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\n", r < 0 ? "-" : dirs[r],
		        r < 0 ? "none" : kind, r < 0 ? 0 : blocks, r < 0 ? 0 : params,
		        r < 0 ? 0 : flops / 1e9, x.seconds / n, fd, x.hdd, x.f1);
		free(x.feat);
	}
	free(ref.feat);
	free(sr); free(mu); free(sd); free(fa); free(fb);
}

int main(int argc, char **argv)
{
	struct dc_cli *cli = dc_cli_init("relevance-score", usage);
	const char *model = NULL, *controlnet = NULL, *chart = NULL, *cmp[MAX_COMPARE];
	int steps = 20, count = 24, ncmp = 0, c;
	while ((c = getopt_long(argc, argv, DC_CLI_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MODEL: model = optarg; break;
		case OPT_CONTROLNET: controlnet = optarg; break;
		case OPT_STEPS: steps = (int)dc_cli_long("steps", optarg, 1, 1000); break;
		case OPT_COUNT: count = (int)dc_cli_long("count", optarg, 2, 1000); break;
		case OPT_CHART: chart = optarg; break;
		case OPT_COMPARE:
			if (ncmp == MAX_COMPARE)
				dc_usage_error("at most %d --compare branches", MAX_COMPARE);
			if (!*optarg)
				dc_usage_error("invalid value for --compare: ''");
			cmp[ncmp++] = optarg;
			break;
		default: dc_cli_option(cli, c, optarg);
		}
	}
	if (optind < argc)
		dc_usage_error("unexpected argument '%s' (the evaluation set is built in)", argv[optind]);
	if (chart && !*chart)
		dc_usage_error("invalid value for --chart: ''");
	if (ncmp && (chart || controlnet))
		dc_usage_error("--compare takes the branches to compare: not with --chart or --controlnet");
	uint64_t seed = cli->seed_given ? cli->seed : 0;

	char *defmodel = NULL;
	if (!model)
		model = defmodel = dc_cli_require_default_model(DEFAULT_MODEL, "model_index.json", "model", "--model DIR");
	struct ctx cx = { 0 };
	enum dc_status st = dc_dit_open(&cx.d, model, 0);
	if (st)
		dc_die_status(st, "cannot load model '%s'", model);
	const struct dc_dit_info *info = dc_dit_info(cx.d);
	if (!info->has_text)
		dc_die("cannot load model '%s': no tokenizer/ and text_encoder/ (needed for prompts)",
		       model);
	if (controlnet && (st = dc_dit_set_controlnet(cx.d, controlnet)))
		dc_die_status(st, "cannot load ControlNet '%s'", controlnet);
	int K = info->control_blocks;
	if (!K && !ncmp)
		dc_die("model '%s' has no controlnet/: give --controlnet DIR", model);
	dc_dit_params_init(&cx.p);
	cx.p.steps = steps;
	if ((st = dc_dit_plan(cx.d, &cx.p, &cx.pl)))
		dc_die_status(st, "model '%s'", model);
	cx.n = count;
	cx.nf = rs_nfeat(info->latent_channels);
	cx.w = cx.pl.width;
	cx.h = cx.pl.height;
	if (cx.w % info->vae_scale || cx.h % info->vae_scale)
		dc_die("model '%s': image size %dx%d is not a multiple of the VAE's %d", model, cx.w,
		       cx.h, info->vae_scale);

	/* open the TSV now: a bad -o fails before the work */
	FILE *out = dc_cli_open_output(0);

	/* the evaluation set */
	int n = count;
	size_t np = (size_t)3 * cx.w * cx.h, px = (size_t)cx.w * cx.h;
	size_t nl = (size_t)info->latent_channels * cx.pl.lat_height * cx.pl.lat_width;
	const char **pa = xcalloc((size_t)n, sizeof *pa);
	cx.pb = xcalloc((size_t)n, sizeof *cx.pb);
	uint64_t *sa = xcalloc((size_t)n, sizeof *sa);
	cx.sb = xcalloc((size_t)n, sizeof *cx.sb);
	for (int i = 0; i < n; i++) {
		pa[i] = prompts[i % NPROMPTS];
		cx.pb[i] = prompts[(i + 7 + i / NPROMPTS) % NPROMPTS];
		sa[i] = seed + (uint64_t)i;
		cx.sb[i] = seed + 1000 + (uint64_t)i;
	}
	/* configurations: A, full, K zero, K-1 bypass (the last block's bypass is
	 * its zeroing: nothing follows it), all off; compare: A, reference, none,
	 * each branch */
	cx.total = ncmp ? 3 + ncmp : 1 + 1 + K + (K - 1) + 1;
	float *rgb = xcalloc((size_t)n * np, sizeof *rgb);
	generate(&cx, pa, sa, NULL, rgb);
	cx.cmask = xcalloc((size_t)n * px, 1);
	cx.clat = xcalloc((size_t)n * nl, sizeof *cx.clat);
	for (int i = 0; i < n; i++) {
		struct dc_image e = { cx.w, cx.h, 1, 8, NULL };
		uint8_t *m = cx.cmask + (size_t)i * px;
		canny_mask(rgb + (size_t)i * np, cx.w, cx.h, m);
		e.data = xcalloc(px, 1);
		for (size_t k = 0; k < px; k++)
			((uint8_t *)e.data)[k] = m[k] ? 255 : 0;
		if ((st = dc_dit_control_latents(cx.d, &cx.p, &e, cx.sb[i], cx.clat + (size_t)i * nl)))
			dc_die_status(st, "control latents");
		free(e.data);
	}
	free(rgb);
	cx.done = 1;
	progress(&cx);
	if (ncmp) {
		compare(&cx, out, cmp, ncmp, seed);
		dc_cli_commit_output();
		free(pa); free(cx.pb); free(sa); free(cx.sb); free(cx.cmask); free(cx.clat);
		dc_dit_free(cx.d);
		free(defmodel);
		return 0;
	}

	/* the reference and the probes */
	struct run full, *zero = xcalloc((size_t)K, sizeof *zero), *byp = xcalloc((size_t)K, sizeof *byp),
	                  off;
	measure(&cx, NULL, 1.0f, &full);
	unsigned char *skip = xcalloc((size_t)K, 1);
	for (int k = 0; k < K; k++) {
		memset(skip, 0, (size_t)K);
		skip[k] = 1;
		measure(&cx, skip, 1.0f, &zero[k]);
		if (k < K - 1) {
			skip[k] = 2;
			measure(&cx, skip, 1.0f, &byp[k]);
		} else {
			byp[k] = zero[k];
		}
	}
	measure(&cx, NULL, 0.0f, &off);

	/* deltas against the full ControlNet; features standardised by the reference's spread */
	int nrow = 2 * K + 1;
	struct rs_row *rows = xcalloc((size_t)nrow, sizeof *rows);
	int nf = cx.nf;
	double *mu = xcalloc((size_t)nf, sizeof *mu), *sd = xcalloc((size_t)nf, sizeof *sd);
	rs_standardise_params(full.feat, n, nf, mu, sd);
	double *fa = xcalloc((size_t)n * nf, sizeof *fa), *fb = xcalloc((size_t)n * nf, sizeof *fb);
	rs_standardise(full.feat, n, nf, mu, sd, fa);
	for (int r = 0; r < nrow; r++) {
		const struct run *x = r == nrow - 1 ? &off : (r % 2 ? &byp[r / 2] : &zero[r / 2]);
		rows[r].block = r == nrow - 1 ? -1 : r / 2;
		rows[r].mode = r == nrow - 1 ? 1 : 1 + r % 2;
		rs_standardise(x->feat, n, nf, mu, sd, fb);
		if ((st = dc_frechet_features(fb, (size_t)n, fa, (size_t)n, nf, &rows[r].dfd)))
			dc_die_status(st, "Frechet distance");
		rows[r].dhdd = x->hdd - full.hdd;
		rows[r].df1 = full.f1 - x->f1;
	}
	rs_scores(rows, nrow);
	dc_warn("%d items, %d steps, %d control blocks; full ControlNet: HDD %.3f F1 %.4f; "
	        "no control: HDD %.3f F1 %.4f FD %.4g", n, steps, K, full.hdd, full.f1, off.hdd,
	        off.f1, rows[nrow - 1].dfd);

	fprintf(out, "block\tmode\tdelta_fd\tdelta_hdd\tdelta_f1\tscore\n");
	for (int r = 0; r < nrow; r++) {
		char b[16];
		if (rows[r].block < 0)
			snprintf(b, sizeof b, "all");
		else
			snprintf(b, sizeof b, "%d", rows[r].block);
		fprintf(out, "%s\t%s\t%.6g\t%.6g\t%.6g\t%.6g\n", b, rows[r].mode == 1 ? "zero" : "bypass",
		        rows[r].dfd, rows[r].dhdd, rows[r].df1, rows[r].score);
	}
	if (chart && (st = rs_chart(chart, rows, nrow)))
		dc_die_status(st, "cannot write '%s'", chart);
	dc_cli_commit_output();

	for (int k = 0; k < K; k++) {
		free(zero[k].feat);
		if (k < K - 1)
			free(byp[k].feat);
	}
	free(full.feat);
	free(off.feat);
	free(zero);
	free(byp);
	free(skip);
	free(rows);
	free(mu); free(sd); free(fa); free(fb);
	free(pa); free(cx.pb); free(sa); free(cx.sb); free(cx.cmask); free(cx.clat);
	dc_dit_free(cx.d);
	free(defmodel);
	return 0;
}
