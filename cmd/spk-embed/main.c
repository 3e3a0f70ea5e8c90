/*
 * spk-embed - speaker embeddings of audio files, their scores and the
 * verification metrics (see spk-embed(1)).
 *
 *   spk-embed [options] [FILE...]               embeddings -> tensor stream
 *   spk-embed score [options] A B               cosine score of two inputs
 *   spk-embed score [options] --trials F        each trial with its score
 *   spk-embed eval [options] --trials F | --scores F   EER and minDCF
 *   spk-embed enroll [options] FILE...          one speaker model record
 *   spk-embed info [--model DIR]                describe the model
 *
 * This file parses options and runs the subcommands; embed.c gets the
 * embeddings (model, audio, streams, normalisation), trials.c reads the
 * trial and score lists, lib/metrics/verif.c has the metrics and the DET
 * plot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/media.h"
#include "io/stream.h"
#include "metrics/metrics.h"
#include "se.h"

static const char usage[] =
	"usage: spk-embed [options] [FILE...]\n"
	"       spk-embed score [options] A B\n"
	"       spk-embed score [options] --trials TRIALS\n"
	"       spk-embed eval [options] --trials TRIALS | --scores SCORES\n"
	"       spk-embed enroll [options] [--name NAME] FILE...\n"
	"       spk-embed info [--model DIR]\n"
	"inputs:   audio files (anything libsndfile reads), or embedding streams: STREAM (one record)\n"
	"          or STREAM:NAME; '-' is audio on stdin\n"
	"audio:    --model DIR (share/diffcore/models/spk-ecapa)  --vad  --min-duration SEC (0.5)\n"
	"          --keep-going (embed, enroll: skip bad files, exit 1 at the end)\n"
	"          --precision f32|bf16|int8 (the network's GEMMs; f32)\n"
	"scoring:  --norm none|mean|asnorm|mean+asnorm  --cohort STREAM  --top-n N (300)\n"
	"eval:     --p-target P (0.01 and 0.05; repeat for others)  --det FILE.png  --no-header\n"
	"common:   -o/--output FILE, -t/--threads N, -q/--quiet, -f/--force, -h/--help, --version\n";

enum {
	OPT_MODEL = DC_OPT_TOOL_BASE, OPT_VAD, OPT_MINDUR, OPT_KEEP, OPT_TRIALS, OPT_SCORES, OPT_COHORT, OPT_NORM,
	OPT_TOPN, OPT_DET, OPT_PT, OPT_NOHEADER, OPT_NAME, OPT_PREC, OPT_LAST
};

static const struct option longopts[] = {
	{ "model", required_argument, 0, OPT_MODEL },
	{ "vad", no_argument, 0, OPT_VAD },
	{ "min-duration", required_argument, 0, OPT_MINDUR },
	{ "keep-going", no_argument, 0, OPT_KEEP },
	{ "trials", required_argument, 0, OPT_TRIALS },
	{ "scores", required_argument, 0, OPT_SCORES },
	{ "cohort", required_argument, 0, OPT_COHORT },
	{ "norm", required_argument, 0, OPT_NORM },
	{ "top-n", required_argument, 0, OPT_TOPN },
	{ "det", required_argument, 0, OPT_DET },
	{ "p-target", required_argument, 0, OPT_PT },
	{ "no-header", no_argument, 0, OPT_NOHEADER },
	{ "name", required_argument, 0, OPT_NAME },
	{ "precision", required_argument, 0, OPT_PREC },
	DC_CLI_LONGOPTS,
	{ 0, 0, 0, 0 }
};

#define BIT(o) (1u << ((o) - OPT_MODEL))
#define AUDIO_OPTS (BIT(OPT_MODEL) | BIT(OPT_VAD) | BIT(OPT_MINDUR) | BIT(OPT_PREC))
#define NORM_OPTS (BIT(OPT_COHORT) | BIT(OPT_NORM) | BIT(OPT_TOPN))

static struct dc_cli *cli;
static unsigned given;   /* BIT() of the tool options seen */

static const char *opt_name(int o)
{
	for (const struct option *p = longopts; p->name; p++)
		if (p->val == o)
			return p->name;
	return "?";
}

/* Parse argv (argv[0] is the subcommand or the program); returns optind. */
static int parse(int argc, char **argv, struct se_opts *o, const char *sub, unsigned allowed)
{
	int c;
	optind = 1;
	argv[0] = (char *)"spk-embed";   /* getopt's messages */
	while ((c = getopt_long(argc, argv, DC_CLI_SHORTOPTS, longopts, NULL)) != -1) {
		if (c >= OPT_MODEL && c < OPT_LAST) {
			if (!(allowed & BIT(c))) {
				if (sub)
					dc_usage_error("--%s is not an option of '%s'", opt_name(c), sub);
				dc_usage_error("--%s is not an option of embedding (it belongs to a subcommand)", opt_name(c));
			}
			given |= BIT(c);
		}
		switch (c) {
		case OPT_MODEL: o->model = optarg; break;
		case OPT_VAD: o->vad = 1; break;
		case OPT_PREC:
			if (!strcmp(optarg, "f32"))
				o->precision = DC_PREC_F32;
			else if (!strcmp(optarg, "bf16"))
				o->precision = DC_PREC_BF16;
			else if (!strcmp(optarg, "int8"))
				o->precision = DC_PREC_INT8;
			else
				dc_usage_error("--precision: '%s' is not f32, bf16 or int8", optarg);
			break;
		case OPT_MINDUR: o->min_dur = dc_cli_double("min-duration", optarg, 0.01, 3600); break;
		case OPT_KEEP: o->keep_going = 1; break;
		case OPT_TRIALS: o->trials = optarg; break;
		case OPT_SCORES: o->scores = optarg; break;
		case OPT_COHORT: o->cohort = optarg; break;
		case OPT_NORM:
			if (strcmp(optarg, "none") == 0)
				o->norm = SE_NORM_NONE;
			else if (strcmp(optarg, "mean") == 0)
				o->norm = SE_NORM_MEAN;
			else if (strcmp(optarg, "asnorm") == 0)
				o->norm = SE_NORM_ASNORM;
			else if (strcmp(optarg, "mean+asnorm") == 0)
				o->norm = SE_NORM_MEAN_ASNORM;
			else
				dc_usage_error("invalid value for --norm: '%s' (none, mean, asnorm or mean+asnorm)", optarg);
			break;
		case OPT_TOPN: o->top_n = dc_cli_long("top-n", optarg, 2, 100000000); break;
		case OPT_DET: o->det = optarg; break;
		case OPT_PT:
			if (o->n_pt == SE_MAX_PT)
				dc_usage_error("at most %d --p-target values", SE_MAX_PT);
			o->p_target[o->n_pt++] = dc_cli_double("p-target", optarg, 1e-6, 1 - 1e-6);
			break;
		case OPT_NOHEADER: o->no_header = 1; break;
		case OPT_NAME:
			if (!*optarg)
				dc_usage_error("invalid value for --name: empty name");
			o->name = optarg;
			break;
		default: dc_cli_option(cli, c, optarg);
		}
	}
	if (o->norm != SE_NORM_NONE && !o->cohort)
		dc_usage_error("--norm %s needs --cohort STREAM", o->norm == SE_NORM_MEAN ? "mean" : "asnorm");
	if (o->cohort && o->norm == SE_NORM_NONE)
		dc_usage_error("--cohort needs --norm mean, asnorm or mean+asnorm");
	if ((given & BIT(OPT_TOPN)) && o->norm != SE_NORM_ASNORM && o->norm != SE_NORM_MEAN_ASNORM)
		dc_usage_error("--top-n needs --norm asnorm or mean+asnorm");
	return optind;
}

/* ---- embed / enroll ------------------------------------------------------------------ */

static int is_tty_stdin(void) { return isatty(STDIN_FILENO); }

static void write_record(struct dc_stream_writer *w, const char *name, const float *emb, int dim,
                         struct se_ctx *c, double duration, int enrolled)
{
	struct dc_record rec;
	dc_record_init(&rec);
	char buf[64];
	enum dc_status st = dc_record_set_name(&rec, name);
	if (!st)
		st = dc_record_set_role(&rec, "embedding");
	if (!st && c->model_dir)
		st = dc_record_meta_set(&rec, "model", c->model_dir);
	if (!st && duration > 0) {
		snprintf(buf, sizeof buf, "%.3f", duration);
		st = dc_record_meta_set(&rec, "duration", buf);
	}
	if (!st && enrolled) {
		snprintf(buf, sizeof buf, "%d", enrolled);
		st = dc_record_meta_set(&rec, "enrolled", buf);
	}
	if (st)
		dc_die_status(st, "cannot name the embedding of '%s'", name);
	rec.dtype = DC_F32;
	rec.rank = 1;
	rec.shape[0] = dim;
	rec.data = (void *)emb;
	rec.nbytes = (size_t)dim * sizeof(float);
	st = dc_stream_write(w, &rec);
	rec.data = NULL;
	dc_record_release(&rec);
	if (st)
		dc_die_status(st, "cannot write the embedding of '%s'", name);
}

static int cmd_embed(int argc, char **argv)
{
	struct se_opts o = { .min_dur = 0.5, .top_n = 300 };
	int i = parse(argc, argv, &o, NULL, AUDIO_OPTS | BIT(OPT_KEEP));
	char *stdin_arg[] = { "-" };
	char **files = argv + i;
	int nfiles = argc - i;
	if (nfiles == 0) {
		if (is_tty_stdin())
			dc_usage_error("no input files (give audio files, or pipe one in)");
		files = stdin_arg;
		nfiles = 1;
	}
	struct se_ctx c;
	se_init(&c, &o);
	struct dc_stream_writer w;
	int bad = 0, good = 0;
	for (int k = 0; k < nfiles; k++) {
		dc_progress("embedding", (uint64_t)k, (uint64_t)nfiles);
		size_t it = se_intern(&c, files[k], 0);
		char msg[1024];
		if (se_resolve(&c, it, msg, sizeof msg)) {
			if (!o.keep_going)
				dc_die("%s", msg);
			fprintf(stderr, "%s: %s\n", cli->prog, msg);
			bad++;
			continue;
		}
		if (!good) {   /* nothing is written before the first embedding exists */
			FILE *out = dc_cli_open_output(1);
			if (dc_stream_writer_open(&w, out))
				dc_die("cannot write '%s': %s", cli->output ? cli->output : "stdout", strerror(errno));
		}
		write_record(&w, files[k], c.items[it].emb, c.dim, &c, c.items[it].duration, 0);
		good++;
	}
	dc_progress("embedding", (uint64_t)nfiles, (uint64_t)nfiles);
	if (good == 0)
		dc_die("no embeddings written (%d bad input%s)", bad, bad == 1 ? "" : "s");
	if (dc_stream_writer_finish(&w))
		dc_die("cannot write '%s': %s", cli->output ? cli->output : "stdout", strerror(errno));
	dc_stream_writer_close(&w);
	dc_cli_commit_output();
	if (bad)
		fprintf(stderr, "%s: %d of %d inputs failed; the others were written\n", cli->prog, bad, nfiles);
	se_release(&c);
	return bad ? 1 : 0;
}

static int cmd_enroll(int argc, char **argv)
{
	struct se_opts o = { .min_dur = 0.5, .top_n = 300 };
	int i = parse(argc, argv, &o, "enroll", AUDIO_OPTS | BIT(OPT_KEEP) | BIT(OPT_NAME));
	if (i >= argc)
		dc_usage_error("enroll needs at least one input");
	struct se_ctx c;
	se_init(&c, &o);
	float *sum = NULL;
	int bad = 0, used = 0, n = argc - i;
	for (int k = i; k < argc; k++) {
		dc_progress("enrolling", (uint64_t)(k - i), (uint64_t)n);
		size_t it = se_intern(&c, argv[k], 0);
		char msg[1024];
		if (se_resolve(&c, it, msg, sizeof msg)) {
			if (!o.keep_going)
				dc_die("%s", msg);
			fprintf(stderr, "%s: %s\n", cli->prog, msg);
			bad++;
			continue;
		}
		if (!sum && !(sum = calloc((size_t)c.dim, sizeof *sum)))
			dc_die("out of memory");
		float *v = c.items[it].emb;
		dc_l2_normalize(v, (size_t)c.dim);
		for (int j = 0; j < c.dim; j++)
			sum[j] += v[j];
		used++;
	}
	dc_progress("enrolling", (uint64_t)n, (uint64_t)n);
	if (!used)
		dc_die("nothing to enroll (%d bad input%s)", bad, bad == 1 ? "" : "s");
	for (int j = 0; j < c.dim; j++)
		sum[j] /= (float)used;
	char *name = o.name ? strdup(o.name) : NULL;
	if (!name) {
		/* the first input's stem; for STREAM:NAME the record's name */
		const char *first = argv[i], *colon = strchr(first, ':');
		name = colon && access(first, F_OK) != 0 ? strdup(colon + 1) : se_stem(first);
	}
	FILE *out = dc_cli_open_output(1);
	struct dc_stream_writer w;
	if (dc_stream_writer_open(&w, out))
		dc_die("cannot write '%s': %s", cli->output ? cli->output : "stdout", strerror(errno));
	write_record(&w, name, sum, c.dim, &c, 0, used);
	if (dc_stream_writer_finish(&w))
		dc_die("cannot write '%s': %s", cli->output ? cli->output : "stdout", strerror(errno));
	dc_stream_writer_close(&w);
	dc_cli_commit_output();
	if (bad)
		fprintf(stderr, "%s: %d of %d inputs failed; '%s' was enrolled from the other %d\n", cli->prog, bad, n,
		        name, used);
	free(name);
	free(sum);
	se_release(&c);
	return bad ? 1 : 0;
}

/* ---- score / eval ------------------------------------------------------------------------ */

/* Embed every item of the trials (progress bar), then score each trial. */
static void score_trials(struct se_ctx *c, struct se_trial *t, size_t n)
{
	for (size_t i = 0; i < c->nitems; i++) {
		dc_progress("embedding", (uint64_t)i, (uint64_t)c->nitems);
		se_get(c, i);
	}
	dc_progress("embedding", (uint64_t)c->nitems, (uint64_t)c->nitems);
	if (c->o->cohort)
		se_load_cohort(c);
	for (size_t k = 0; k < n; k++)
		t[k].score = se_score(c, t[k].a, t[k].b);
}

static int cmd_score(int argc, char **argv)
{
	struct se_opts o = { .min_dur = 0.5, .top_n = 300 };
	int i = parse(argc, argv, &o, "score", AUDIO_OPTS | NORM_OPTS | BIT(OPT_TRIALS));
	struct se_ctx c;
	se_init(&c, &o);
	if (o.trials) {
		if (i < argc)
			dc_usage_error("score --trials takes no other inputs");
		size_t n;
		struct se_trial *t = se_read_trials(&c, o.trials, 0, &n);
		score_trials(&c, t, n);
		FILE *out = dc_cli_open_output(0);
		for (size_t k = 0; k < n; k++) {
			fprintf(out, "%s\t%.6f\n", t[k].line, t[k].score);
			free(t[k].line);
		}
		free(t);
	} else {
		if (argc - i != 2)
			dc_usage_error("score needs two inputs A B (or --trials FILE)");
		size_t a = se_intern(&c, argv[i], 0), b = se_intern(&c, argv[i + 1], 0);
		se_get(&c, a);
		se_get(&c, b);
		if (o.cohort)
			se_load_cohort(&c);
		double s = se_score(&c, a, b);
		FILE *out = dc_cli_open_output(0);
		fprintf(out, "%.6f\n", s);
	}
	dc_cli_commit_output();
	se_release(&c);
	return 0;
}

/* Write a PNG whole or not at all. */
static void write_png_atomic(const char *path, const struct dc_image *img)
{
	const char *txt[] = { "Software", "diffcore spk-embed", NULL };
	FILE *fp = dc_cli_side_open(path);
	enum dc_status st = dc_png_write(fp, img, txt);
	if (st)
		dc_die_status(st, "cannot write '%s'", path);
	dc_cli_side_commit(fp);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s && s[1] ? s + 1 : p;
}

static int cmd_eval(int argc, char **argv)
{
	struct se_opts o = { .min_dur = 0.5, .top_n = 300 };
	int i = parse(argc, argv, &o, "eval",
	              AUDIO_OPTS | NORM_OPTS | BIT(OPT_TRIALS) | BIT(OPT_SCORES) | BIT(OPT_DET) | BIT(OPT_PT) |
	                      BIT(OPT_NOHEADER));
	if (i < argc)
		dc_usage_error("eval takes no inputs besides --trials or --scores");
	if (!o.trials == !o.scores)
		dc_usage_error("eval needs --trials FILE (audio or embeddings) or --scores FILE (precomputed), not both");
	if (o.scores && (given & (AUDIO_OPTS | NORM_OPTS)))
		dc_usage_error("--scores evaluates precomputed scores: --model, --vad, --min-duration and --norm do not apply");
	if (!o.n_pt) {
		o.p_target[0] = 0.01;
		o.p_target[1] = 0.05;
		o.n_pt = 2;
	}
	double *scores = NULL;
	uint8_t *labels = NULL;
	size_t n;
	struct se_ctx c;
	se_init(&c, &o);
	if (o.trials) {
		struct se_trial *t = se_read_trials(&c, o.trials, 1, &n);
		score_trials(&c, t, n);
		scores = malloc(n * sizeof *scores);
		labels = malloc(n);
		if (!scores || !labels)
			dc_die("out of memory");
		for (size_t k = 0; k < n; k++) {
			scores[k] = t[k].score;
			labels[k] = (uint8_t)t[k].label;
			free(t[k].line);
		}
		free(t);
	} else {
		se_read_scores(o.scores, &scores, &labels, &n);
	}
	const char *src = dc_cli_input_name(o.trials ? o.trials : o.scores);
	size_t P = 0;
	for (size_t k = 0; k < n; k++)
		P += labels[k] != 0;
	if (P == 0 || P == n)
		dc_die("cannot evaluate '%s': it needs both target and nontarget trials (%zu target, %zu nontarget)", src,
		       P, n - P);
	double eer, thr;
	enum dc_status st = dc_eer(scores, labels, n, &eer, &thr);
	if (st)
		dc_die_status(st, "cannot evaluate '%s'", src);
	struct dc_dcf dcf[SE_MAX_PT];
	for (int k = 0; k < o.n_pt; k++)
		if ((st = dc_min_dcf(scores, labels, n, o.p_target[k], 1, 1, &dcf[k])))
			dc_die_status(st, "cannot evaluate '%s'", src);
	if (o.det) {
		double *pfa, *pmiss;
		size_t np;
		if ((st = dc_det_curve(scores, labels, n, &pfa, &pmiss, NULL, &np)))
			dc_die_status(st, "cannot draw the DET curve");
		char title[96];
		snprintf(title, sizeof title, "DET %.70s", base_name(src));
		struct dc_det_plot_opts po = { .n_target = P, .n_nontarget = n - P, .eer = eer, .dcf_pfa = dcf[0].p_fa,
			                       .dcf_pmiss = dcf[0].p_miss, .dcf_p_target = o.p_target[0],
			                       .min_dcf = dcf[0].min_dcf, .title = title };
		struct dc_image img = { 0 };
		if ((st = dc_det_plot(pfa, pmiss, np, &po, &img)))
			dc_die_status(st, "cannot draw the DET curve");
		write_png_atomic(o.det, &img);
		dc_image_release(&img);
		dc_free(pfa);
		dc_free(pmiss);
	}
	FILE *out = dc_cli_open_output(0);
	if (!o.no_header) {
		fprintf(out, "eer");
		for (int k = 0; k < o.n_pt; k++)
			fprintf(out, "\tmindcf_%g", o.p_target[k]);
		fprintf(out, "\ttrials\ttargets\tnontargets\n");
	}
	fprintf(out, "%.4f", 100 * eer);
	for (int k = 0; k < o.n_pt; k++)
		fprintf(out, "\t%.4f", dcf[k].min_dcf);
	fprintf(out, "\t%zu\t%zu\t%zu\n", n, P, n - P);
	dc_cli_commit_output();
	if (!cli->quiet) {
		fprintf(stderr, "%s: %s: EER %.4f%% at threshold %.6g", cli->prog, src, 100 * eer, thr);
		for (int k = 0; k < o.n_pt; k++)
			fprintf(stderr, "; minDCF(%g) %.4f at threshold %.6g", o.p_target[k], dcf[k].min_dcf,
			        dcf[k].threshold);
		fprintf(stderr, "\n");
	}
	free(scores);
	free(labels);
	se_release(&c);
	return 0;
}

/* ---- info --------------------------------------------------------------------------------- */

static void print_ints(const char *key, const int *v, int n)
{
	printf("%s\t", key);
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", v[i]);
	printf("\n");
}

static int cmd_info(int argc, char **argv)
{
	struct se_opts o = { .min_dur = 0.5, .top_n = 300 };
	int i = parse(argc, argv, &o, "info", BIT(OPT_MODEL));
	if (i < argc)
		dc_usage_error("info takes no inputs (the model is --model DIR)");
	struct se_ctx c;
	se_init(&c, &o);
	struct dc_spk *m = se_model(&c);
	const struct dc_spk_config *k = dc_spk_config(m);
	static const char *arch[] = { "ecapa", "xvector", "etdnn" };
	printf("model\t%s\n", c.model_dir);
	printf("arch\t%s\n", (unsigned)k->arch < 3 ? arch[k->arch] : "?");
	printf("embedding_dim\t%d\n", dc_spk_dim(m));
	printf("parameters\t%zu\n", dc_spk_params(m));
	/* per second of audio: 100 feature frames (10 ms hop), from 10 s to
	 * average away the fixed cost of pooling and the output layer */
	printf("macs_per_second\t%.0f\n", dc_spk_macs(m, 1000) / 10);
	printf("frontend\t%s\n", k->frontend == DC_FRONT_KALDI ? "kaldi" : "speechbrain");
	printf("sample_rate\t%g\n", k->sample_rate);
	printf("num_mel_bins\t%d\n", k->num_mel_bins);
	printf("cmn\t%s\n", k->cmn ? "yes" : "no");
	printf("in_channels\t%d\n", k->in_channels);
	print_ints("channels", k->channels, k->nlayers);
	print_ints("kernel_sizes", k->kernel_sizes, k->nlayers);
	print_ints("dilations", k->dilations, k->nlayers);
	if (k->arch == DC_SPK_ECAPA) {
		printf("attention_channels\t%d\n", k->attention_channels);
		printf("res2net_scale\t%d\n", k->res2net_scale);
		printf("se_channels\t%d\n", k->se_channels);
		printf("global_context\t%s\n", k->global_context ? "yes" : "no");
	}
	if (fflush(stdout) || ferror(stdout))
		dc_die("cannot write output");
	se_release(&c);
	return 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

/* Options that take a value, for finding the subcommand word. */
static int takes_value(const char *a)
{
	static const char *const v[] = { "-o", "-t", "--output", "--threads", "--seed", "--model", "--min-duration",
		                          "--trials", "--scores", "--cohort", "--norm", "--top-n", "--det", "--p-target",
		                          "--name", NULL };
	for (int i = 0; v[i]; i++)
		if (strcmp(a, v[i]) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	cli = dc_cli_init("spk-embed", usage);
	/* the first word that is not an option: a subcommand, or the first input */
	int w = 1;
	while (w < argc && argv[w][0] == '-' && argv[w][1] && strcmp(argv[w], "--") != 0)
		w += takes_value(argv[w]) ? 2 : 1;
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = { { "score", cmd_score }, { "eval", cmd_eval }, { "enroll", cmd_enroll }, { "info", cmd_info } };
	if (w < argc)
		for (size_t s = 0; s < sizeof subs / sizeof *subs; s++)
			if (strcmp(argv[w], subs[s].name) == 0) {
				char *word = argv[w];
				memmove(argv + 2, argv + 1, (size_t)(w - 1) * sizeof *argv);
				argv[1] = word;
				return subs[s].fn(argc - 1, argv + 1);
			}
	return cmd_embed(argc, argv);
}
