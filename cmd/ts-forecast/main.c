/*
 * ts-forecast - fit forecasters to time series, forecast, evaluate on the
 * standard long-term protocol (see ts-forecast(1)).
 *
 *   ts-forecast fit [options] [IN] -o MODEL      train, write a model file
 *   ts-forecast predict [options] MODEL [IN]     forecast after IN's last row
 *   ts-forecast eval [options] IN                split, train, score the test part
 *   ts-forecast info MODEL                       describe a model file
 *
 * This file parses options and composes lib/ts (data), lib/train (loop),
 * lib/models (forecasters); modelfile.c, input.c and plot.c do the rest.
 */
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/stream.h"
#include "tsf.h"

static const char usage[] =
	"usage: ts-forecast fit [options] [IN.csv] -o MODEL.safetensors\n"
	"       ts-forecast predict [options] MODEL [IN.csv] [-o OUT.csv|--tensor -o OUT.dts]\n"
	"       ts-forecast eval [options] IN.csv\n"
	"       ts-forecast info MODEL\n"
	"data:     --features M|S|MS  --target COL  --split ett|TRAIN,VAL,TEST  --freq h|t\n"
	"window:   --seq-len N (96)  --label-len N (48)  --horizon N (96)\n"
	"model:    --model NAME (DLinear)  --set KEY=VALUE  --d-model N  --n-heads N  --e-layers N\n"
	"          --d-ff N  --dropout P  --moving-avg N  --patch-len N  --stride N\n"
	"training: --epochs N (10)  --batch-size N (32)  --lr X (DLinear/NLinear 1e-3, others 1e-4)\n"
	"          --lradj type1|type2|type3|cosine|constant\n"
	"          --patience N (3)  --seed N (2021)  --checkpoint FILE (resume from / save to)\n"
	"          --log FILE (per-epoch learning rate and losses, TSV)\n"
	"predict:  --interval P (e.g. 0.9)  --plot OUT.png  --tensor (a tensor stream, not CSV)\n"
	"          --horizon N (the first N steps of the model's)\n"
	"eval:     --no-header\n"
	"common:   -o/--output FILE, -t/--threads N, -q/--quiet, -f/--force, -h/--help, --version\n"
	"models:  ";

enum {
	OPT_MODEL = DC_OPT_TOOL_BASE, OPT_SEQ, OPT_LABEL, OPT_HORIZON, OPT_SPLIT, OPT_FEATURES, OPT_TARGET,
	OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_LRADJ, OPT_PATIENCE, OPT_SET, OPT_FREQ, OPT_INTERVAL, OPT_PLOT,
	OPT_NOHEADER, OPT_TENSOR, OPT_CHECKPOINT, OPT_LOG, OPT_HP_INT, OPT_HP_DOUBLE
};

/* named hyperparameter flags -> reference argument names */
static const struct {
	const char *flag, *key;
	int is_double;
} hp_flags[] = {
	{ "d-model", "d_model", 0 }, { "n-heads", "n_heads", 0 }, { "e-layers", "e_layers", 0 },
	{ "d-layers", "d_layers", 0 }, { "d-ff", "d_ff", 0 }, { "dropout", "dropout", 1 },
	{ "moving-avg", "moving_avg", 0 }, { "patch-len", "patch_len", 0 }, { "stride", "stride", 0 },
	{ "factor", "factor", 0 },
};
#define N_HP_FLAGS (int)(sizeof hp_flags / sizeof *hp_flags)

struct opts {
	const char *model, *split, *target, *lradj, *plot, *checkpoint, *log;
	enum dc_ts_features features;
	char freq;
	int seq_len, label_len, horizon, epochs, batch, patience, label_given, no_header;
	double lr, interval;
	cJSON *hp;   /* from --set and named flags */
	int tensor;  /* predict --tensor */
	const char *fit_opt;  /* the first option given that only fit and eval take */
	int horizon_given;
};

static struct dc_cli *cli;

static struct opts opts_default(void)
{
	return (struct opts){ .model = "DLinear", .lradj = "type1", .features = DC_TS_M, .freq = 'h', .seq_len = 96,
		              .label_len = 48, .horizon = 96, .epochs = 10, .batch = 32, .patience = 3, .lr = 1e-4,
		              .hp = cJSON_CreateObject() };
}

static void hp_set(struct opts *o, const char *key, const char *val)
{
	cJSON *v = NULL;
	char *end;
	double d = strtod(val, &end);
	if (*val && !*end)
		v = cJSON_CreateNumber(d);
	else if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0)
		v = cJSON_CreateBool(val[0] == 't');
	else
		v = cJSON_CreateString(val);
	cJSON_DeleteItemFromObjectCaseSensitive(o->hp, key);
	cJSON_AddItemToObject(o->hp, key, v);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static struct option lo[64] = {
		{ "model", required_argument, 0, OPT_MODEL }, { "seq-len", required_argument, 0, OPT_SEQ },
		{ "label-len", required_argument, 0, OPT_LABEL }, { "horizon", required_argument, 0, OPT_HORIZON },
		{ "pred-len", required_argument, 0, OPT_HORIZON }, { "split", required_argument, 0, OPT_SPLIT },
		{ "features", required_argument, 0, OPT_FEATURES }, { "target", required_argument, 0, OPT_TARGET },
		{ "epochs", required_argument, 0, OPT_EPOCHS }, { "batch-size", required_argument, 0, OPT_BATCH },
		{ "lr", required_argument, 0, OPT_LR }, { "lradj", required_argument, 0, OPT_LRADJ },
		{ "patience", required_argument, 0, OPT_PATIENCE }, { "set", required_argument, 0, OPT_SET },
		{ "freq", required_argument, 0, OPT_FREQ }, { "interval", required_argument, 0, OPT_INTERVAL },
		{ "plot", required_argument, 0, OPT_PLOT }, { "no-header", no_argument, 0, OPT_NOHEADER },
		{ "tensor", no_argument, 0, OPT_TENSOR }, { "checkpoint", required_argument, 0, OPT_CHECKPOINT },
		{ "log", required_argument, 0, OPT_LOG },
		DC_CLI_LONGOPTS,
	};
	int base = 0;
	while (lo[base].name)
		base++;
	for (int i = 0; i < N_HP_FLAGS; i++)
		lo[base + i] = (struct option){ hp_flags[i].flag, required_argument, 0, OPT_HP_INT + 16 + i };
	int c, li;
	optind = 1;
	while ((c = getopt_long(argc, argv, DC_CLI_SHORTOPTS, lo, &li)) != -1) {
		switch (c) {
		case OPT_MODEL:
			if (!dc_fc_model_find(optarg))
				dc_usage_error("unknown model '%s' (see --help)", optarg);
			o->model = optarg;
			break;
		case OPT_SEQ: o->seq_len = (int)dc_cli_long("seq-len", optarg, 1, 100000); break;
		case OPT_LABEL:
			o->label_len = (int)dc_cli_long("label-len", optarg, 0, 100000);
			o->label_given = 1;
			break;
		case OPT_HORIZON: o->horizon = (int)dc_cli_long("horizon", optarg, 1, 100000); break;
		case OPT_SPLIT: {
			double a, b, c;
			char tail;
			if (strcmp(optarg, "ett") &&
			    (sscanf(optarg, "%lf,%lf,%lf%c", &a, &b, &c, &tail) != 3 ||
			     !dc_ts_split_fractions_ok(a, b, c)))
				dc_usage_error("invalid value for --split: '%s' (ett, or TRAIN,VAL,TEST as fractions "
				               "of the rows: TRAIN > 0, at most 1 in all)", optarg);
			o->split = optarg;
			break;
		}
		case OPT_FEATURES:
			if (dc_ts_features_parse(optarg, &o->features))
				dc_usage_error("invalid value for --features: '%s' (M, S or MS)", optarg);
			break;
		case OPT_TARGET: o->target = optarg; break;
		case OPT_EPOCHS: o->epochs = (int)dc_cli_long("epochs", optarg, 1, 100000); break;
		case OPT_BATCH: o->batch = (int)dc_cli_long("batch-size", optarg, 1, 1 << 20); break;
		case OPT_LR: o->lr = dc_cli_double("lr", optarg, 1e-12, 10); break;
		case OPT_LRADJ:
			if (dc_lr_at(optarg, 1, 1, 1) < 0)
				dc_usage_error("invalid value for --lradj: '%s'", optarg);
			o->lradj = optarg;
			break;
		case OPT_PATIENCE: o->patience = (int)dc_cli_long("patience", optarg, 1, 100000); break;
		case OPT_SET: {
			char key[128];
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof key)
				dc_usage_error("invalid value for --set: '%s' (KEY=VALUE)", optarg);
			memcpy(key, optarg, (size_t)(eq - optarg));
			key[eq - optarg] = 0;
			hp_set(o, key, eq + 1);
			break;
		}
		case OPT_FREQ:
			if (strcmp(optarg, "h") && strcmp(optarg, "t"))
				dc_usage_error("invalid value for --freq: '%s' (h or t)", optarg);
			o->freq = optarg[0];
			break;
		case OPT_INTERVAL: o->interval = dc_cli_double("interval", optarg, 0.5, 0.99); break;
		case OPT_PLOT: o->plot = optarg; break;
		case OPT_NOHEADER: o->no_header = 1; break;
		case OPT_TENSOR: o->tensor = 1; break;
		case OPT_CHECKPOINT:
			if (!*optarg)
				dc_usage_error("--checkpoint needs a file name");
			o->checkpoint = optarg;
			break;
		case OPT_LOG:
			if (!*optarg)
				dc_usage_error("--log needs a file name");
			o->log = optarg;
			break;
		default:
			if (c >= OPT_HP_INT + 16 && c < OPT_HP_INT + 16 + N_HP_FLAGS) {
				int i = c - OPT_HP_INT - 16;
				if (hp_flags[i].is_double)
					dc_cli_double(hp_flags[i].flag, optarg, 0, 1);
				else
					dc_cli_long(hp_flags[i].flag, optarg, 1, 1 << 20);
				hp_set(o, hp_flags[i].key, optarg);
				if (!o->fit_opt)
					o->fit_opt = lo[li].name;
				break;
			}
			dc_cli_option(cli, c, optarg);
		}
		/* what predict and info would otherwise ignore: the model file has it */
		switch (c) {
		case OPT_MODEL: case OPT_SEQ: case OPT_LABEL: case OPT_SPLIT: case OPT_FEATURES: case OPT_TARGET:
		case OPT_EPOCHS: case OPT_BATCH: case OPT_LR: case OPT_LRADJ: case OPT_PATIENCE: case OPT_SET:
		case OPT_FREQ: case OPT_CHECKPOINT: case OPT_LOG:
			if (!o->fit_opt)
				o->fit_opt = lo[li].name;
			break;
		case OPT_HORIZON: o->horizon_given = 1; break;
		}
	}
	if (!o->label_given)
		o->label_len = o->seq_len < 48 ? o->seq_len / 2 : 48;
	if (o->label_len > o->seq_len)
		dc_usage_error("--label-len %d exceeds --seq-len %d", o->label_len, o->seq_len);
	return optind;
}

/* Every --set key (and shorthand) must be a hyperparameter the model reads:
 * a typo or another model's setting would otherwise change nothing. */
static void check_hp(const struct opts *o)
{
	static const char *const flag[][2] = {
		{ "seq_len", "--seq-len" },         { "label_len", "--label-len" },
		{ "pred_len", "--horizon" },        { "learning_rate", "--lr" },
		{ "batch_size", "--batch-size" },   { "train_epochs", "--epochs" },
		{ "patience", "--patience" },       { "lradj", "--lradj" },
		{ "features", "--features" },       { "target", "--target" },
		{ "model", "--model" },             { "freq", "--freq" },
		{ "mark_freq", "--freq" },          { "seed", "--seed" },
	};
	const struct dc_fc_model *k = dc_fc_model_find(o->model);
	for (const cJSON *it = o->hp->child; it; it = it->next) {
		const char *key = it->string;
		if (dc_fc_model_has_hp(k, key))
			continue;
		for (size_t j = 0; j < sizeof flag / sizeof *flag; j++)
			if (strcmp(key, flag[j][0]) == 0)
				dc_usage_error("--set %s: use %s", key, flag[j][1]);
		if (!strcmp(key, "enc_in") || !strcmp(key, "dec_in") || !strcmp(key, "c_out") ||
		    !strcmp(key, "n_marks"))
			dc_usage_error("--set %s: set from the input's columns", key);
		char list[256] = "";
		for (const char *const *h = k->hp_keys; h && *h; h++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", *list ? ", " : "", *h);
		dc_usage_error("hyperparameter '%s': not one of %s's (%s)", key, k->name, list);
	}
}

/* The reference's per-model ETTh1 settings (research notes §1.4). */
static cJSON *model_config(const struct opts *o, const struct dc_ts *ts)
{
	cJSON *c = cJSON_CreateObject();
	const struct dc_fc_model *k = dc_fc_model_find(o->model);
	cJSON_AddStringToObject(c, "model", k->name);
	if (strcasecmp(k->name, "iTransformer") == 0) {
		int d = o->horizon <= 192 ? 256 : 512;
		cJSON_AddNumberToObject(c, "e_layers", 2);
		cJSON_AddNumberToObject(c, "d_model", d);
		cJSON_AddNumberToObject(c, "d_ff", d);
	} else if (strcasecmp(k->name, "PatchTST") == 0) {
		cJSON_AddNumberToObject(c, "e_layers", 1);
		cJSON_AddNumberToObject(c, "n_heads", o->horizon <= 96 ? 2 : o->horizon <= 336 ? 8 : 16);
	} else if (strcasecmp(k->name, "Informer") == 0 || strcasecmp(k->name, "Autoformer") == 0) {
		cJSON_AddNumberToObject(c, "e_layers", 2);   /* TSLib ETT scripts: e2 d1 factor 3 */
		cJSON_AddNumberToObject(c, "d_layers", 1);
		cJSON_AddNumberToObject(c, "factor", 3);
	}
	for (cJSON *it = o->hp->child; it; it = it->next) {
		cJSON_DeleteItemFromObjectCaseSensitive(c, it->string);
		cJSON_AddItemToObject(c, it->string, cJSON_Duplicate(it, 1));
	}
	cJSON_DeleteItemFromObjectCaseSensitive(c, "model");
	cJSON_AddStringToObject(c, "model", k->name);
	cJSON_AddNumberToObject(c, "seq_len", o->seq_len);
	cJSON_AddNumberToObject(c, "label_len", o->label_len);
	cJSON_AddNumberToObject(c, "pred_len", o->horizon);
	cJSON_AddNumberToObject(c, "enc_in", ts->cols);
	cJSON_AddNumberToObject(c, "dec_in", ts->cols);
	cJSON_AddNumberToObject(c, "c_out", ts->cols);
	cJSON_AddNumberToObject(c, "n_marks", ts->n_marks);
	char mf[2] = { o->freq, 0 };
	cJSON_AddStringToObject(c, "mark_freq", mf);
	cJSON_AddStringToObject(c, "features", dc_ts_features_name(o->features));
	cJSON_AddStringToObject(c, "target", ts->names[ts->cols - 1]);
	cJSON_AddNumberToObject(c, "learning_rate", o->lr);
	cJSON_AddNumberToObject(c, "batch_size", o->batch);
	cJSON_AddNumberToObject(c, "train_epochs", o->epochs);
	cJSON_AddNumberToObject(c, "patience", o->patience);
	cJSON_AddStringToObject(c, "lradj", o->lradj);
	return c;
}

/* ---- progress ------------------------------------------------------------------ */

struct prog {
	double t0, val;   /* val: the last validation loss (NAN before the first) */
	char label[160];
	const struct opts *o;   /* for --log after each epoch */
	double f0;        /* the fraction done when this process began training: >0 on resuming */
	int started;
};

static void on_progress(void *ctx, int epoch, int epochs, size_t step, size_t steps, double tl, double vl)
{
	struct prog *p = ctx;
	double frac = ((double)(epoch - 1) + (double)step / (double)steps) / epochs;
	if (!p->started) {   /* the first call comes after this process's first step */
		p->started = 1;
		p->f0 = frac - (step ? 1.0 / ((double)epochs * (double)steps) : 0);
	}
	/* The time left at the pace of this process: a resumed run's earlier
	 * epochs are not in its elapsed time, so they are not in the rate. */
	double el = dc_time() - p->t0, eta = frac > p->f0 ? el * (1 - frac) / (frac - p->f0) : 0;
	if (!isnan(vl))
		p->val = vl;
	vl = p->val;
	if (isnan(vl))
		snprintf(p->label, sizeof p->label, "epoch %d/%d loss %.4f ETA %.0fs", epoch, epochs, tl, eta);
	else
		snprintf(p->label, sizeof p->label, "epoch %d/%d loss %.4f val %.4f ETA %.0fs", epoch, epochs, tl, vl,
		         eta);
	uint64_t total = (uint64_t)epochs * steps, done = (uint64_t)(epoch - 1) * steps + step;
	if (done >= total)
		done = total - 1; /* the line is ended once training finishes */
	dc_progress(p->label, done, total);
}

/* ---- data ------------------------------------------------------------------------ */

/* The input's timestamp column: its name and its last entry, whose layout the
 * forecast's timestamps follow. */
struct stamp_layout {
	char name[256];
	char last[64];
};

static void load_ts(const char *path, const struct opts *o, const char *target, struct dc_ts *ts,
                    struct stamp_layout *lay)
{
	struct dc_csv csv;
	tsf_read_table(path, &csv);
	if (lay) {
		snprintf(lay->name, sizeof lay->name, "%s", csv.index_name ? csv.index_name : "date");
		snprintf(lay->last, sizeof lay->last, "%s", csv.index && csv.rows ? csv.index[csv.rows - 1] : "");
	}
	enum dc_status st = dc_ts_from_csv(ts, &csv, o->features, target, o->freq);
	dc_csv_release(&csv);
	if (st)
		dc_die_status(st, "cannot use '%s'", dc_cli_input_name(path));
	if (ts->untimed && !lay) /* predict: the model says whether that is expected */
		dc_warn("warning: '%s': no timestamp column (the first column is a number); the rows are taken as "
		        "steps 1 to %zu, without time features", dc_cli_input_name(path), ts->rows);
	if (ts->n_filled) {
		char b[20];
		dc_format_timestamp(ts->time[ts->first_filled_row], b);
		dc_warn("warning: '%s': %zu missing values filled by linear interpolation (first at %s)",
		        dc_cli_input_name(path), ts->n_filled, b);
	}
	/* Irregular steps (missing rows): the models see rows, not times.  A
	 * table of working days steps over its weekends. */
	int business = dc_ts_business_days(ts->time, ts->rows, ts->step);
	size_t n_odd = 0, first_odd = 0;
	for (size_t r = 1; r < ts->rows; r++)
		if (ts->time[r] != dc_ts_next_time(ts->time[r - 1], ts->step, business) && !n_odd++)
			first_odd = r;
	if (n_odd) {
		char b[20], step[32], odd[32];
		dc_format_timestamp(ts->time[first_odd - 1], b);
		dc_ts_step_name(ts->step, step);
		dc_ts_step_name(ts->time[first_odd] - ts->time[first_odd - 1], odd);
		dc_warn("warning: '%s': irregular timestamps: %zu of %zu steps not %s%s (first after %s: %s%s); "
		        "rows are taken as consecutive", dc_cli_input_name(path), n_odd, ts->rows - 1,
		        business ? "a working day" : isdigit((unsigned char)step[0]) ? "" : "1", business ? "" : step, b,
		        isdigit((unsigned char)odd[0]) ? "" : "1", odd);
	}
}

static void make_split(const struct opts *o, const char *path, const struct dc_ts *ts, int is_eval,
                       struct dc_ts_split *sp)
{
	const char *s = o->split;
	enum dc_status st;
	if (!s || strcmp(s, "auto") == 0) {
		const char *base = path ? strrchr(path, '/') : NULL;
		base = base ? base + 1 : path ? path : "";
		if (is_eval && strncasecmp(base, "ETT", 3) == 0)
			s = "ett";
		else
			s = is_eval ? "0.7,0.1,0.2" : "0.8,0.2,0";
	}
	if (strcmp(s, "ett") == 0) {
		st = dc_ts_split_ett(sp, ts->rows, ts->step, o->seq_len);
	} else {
		double a, b, c;
		char tail;
		if (sscanf(s, "%lf,%lf,%lf%c", &a, &b, &c, &tail) != 3)
			dc_usage_error("invalid value for --split: '%s'", s);   /* checked in parse_opts */
		st = dc_ts_split_ratio(sp, ts->rows, a, b, c, o->seq_len);
	}
	if (st)
		dc_die_status(st, "cannot split '%s'", dc_cli_input_name(path));
	if (dc_ts_windows(sp, 0, o->seq_len, o->horizon) == 0)
		dc_die("too few rows in '%s': the training part has %zu rows, seq_len + horizon is %d",
		       dc_cli_input_name(path), sp->end[0] - sp->begin[0], o->seq_len + o->horizon);
}

/* ---- conformal residuals ----------------------------------------------------------- */

struct conf_ctx {
	size_t HC, stride, n, cap;
	float *res;   /* [n][HC] */
};

static void conf_visit(void *ctx, size_t first, int B, const float *pred, const float *truth)
{
	struct conf_ctx *c = ctx;
	for (int b = 0; b < B; b++) {
		if ((first + (size_t)b) % c->stride || c->n >= c->cap)
			continue;
		float *r = c->res + c->n * c->HC;
		for (size_t i = 0; i < c->HC; i++)
			r[i] = fabsf(pred[(size_t)b * c->HC + i] - truth[(size_t)b * c->HC + i]);
		c->n++;
	}
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Split-conformal |residual| quantiles per (level, step, channel) from the
 * validation windows; NULL when there are none. */
static float *conformal(struct dc_forecaster *f, const struct dc_ts *ts, const struct dc_ts_split *sp, int batch)
{
	size_t nv = dc_ts_windows(sp, 1, f->dims.seq_len, f->dims.pred_len);
	if (nv == 0)
		return NULL;
	struct conf_ctx c = { (size_t)f->dims.pred_len * (size_t)ts->cols, (nv + 1999) / 2000, 0, 0, NULL };
	c.cap = (nv + c.stride - 1) / c.stride;
	c.res = malloc(c.cap * c.HC * sizeof(float));
	float *col = malloc(c.cap * sizeof(float));
	float *q = malloc((size_t)TSF_NLEVELS * c.HC * sizeof(float));
	if (!c.res || !col || !q)
		dc_die("out of memory");
	enum dc_status st = dc_fc_predict_windows(f, ts, sp->begin[1], sp->end[1], batch, conf_visit, &c);
	if (st)
		dc_die_status(st, "conformal calibration failed");
	for (size_t i = 0; i < c.HC; i++) {
		for (size_t w = 0; w < c.n; w++)
			col[w] = c.res[w * c.HC + i];
		qsort(col, c.n, sizeof *col, cmp_float);
		for (int l = 0; l < TSF_NLEVELS; l++) {
			size_t k = (size_t)ceil((double)(c.n + 1) * tsf_levels[l]);
			if (k > c.n)
				k = c.n;
			q[(size_t)l * c.HC + i] = col[k ? k - 1 : 0];
		}
	}
	free(c.res);
	free(col);
	return q;
}

/* ---- fit / eval -------------------------------------------------------------------- */

/* With --checkpoint, SIGINT, SIGTERM and SIGHUP end training after the step
 * in progress, with the checkpoint written. */
static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
	g_signal = sig;
}

static int stop_requested(void *ctx)
{
	(void)ctx;
	return g_signal != 0;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* --log: one line per epoch (the first 64), the best epoch marked */
static void write_log(const char *path, const struct opts *o, const struct dc_fc_train_log *log)
{
	FILE *fp = dc_cli_side_open(path);
	fprintf(fp, "epoch\tlr\ttrain_loss\tval_loss\tbest\n");
	for (int e = 1; e <= log->epochs_run && e <= 64; e++)
		fprintf(fp, "%d\t%.6g\t%.6f\t%.6f\t%d\n", e, dc_lr_at(o->lradj, o->lr, e, o->epochs),
		        log->train_loss[e - 1], log->val_loss[e - 1], e == log->best_epoch);
	dc_cli_side_commit(fp);
}

/*
 * After each epoch: --log rewritten (atomically), so a long run can be
 * watched.  Not a FIFO or device: those get the whole log once, at the end.
 */
static void on_epoch(void *ctx, const struct dc_fc_train_log *log)
{
	const struct prog *p = ctx;
	struct stat sb;
	if (!p->o->log || (stat(p->o->log, &sb) == 0 && !S_ISREG(sb.st_mode)))
		return;
	write_log(p->o->log, p->o, log);
	if (p->o->checkpoint)
		catch_signals();   /* the side file's own handlers replaced ours */
}

static int cmd_fit(int argc, char **argv, int is_eval)
{
	struct opts o = opts_default();
	cli->seed = 2021;
	o.lr = 0;
	int i = parse_opts(argc, argv, &o);
	if (argc - i > 1)
		dc_usage_error("too many inputs");
	if (o.lr == 0) /* linear models: 1e-3 (TSLib default 1e-4 under-trains them in 10 halving epochs) */
		o.lr = strcasecmp(o.model, "DLinear") == 0 || strcasecmp(o.model, "NLinear") == 0 ? 1e-3 : 1e-4;
	const char *in = i < argc ? argv[i] : NULL;
	if (is_eval && !in)
		dc_usage_error("eval needs an input file");
	if (!is_eval && !cli->output)
		dc_usage_error("fit needs -o MODEL");
	if (o.interval || o.plot || o.tensor)
		dc_usage_error("--interval, --plot and --tensor are options of predict");
	check_hp(&o);
	if (!is_eval && o.no_header)
		dc_usage_error("--no-header is an option of eval");
	if (o.checkpoint && cli->output && strcmp(o.checkpoint, cli->output) == 0)
		dc_usage_error("--checkpoint and -o name the same file");
	if (o.log && ((cli->output && strcmp(o.log, cli->output) == 0) ||
	              (o.checkpoint && strcmp(o.log, o.checkpoint) == 0)))
		dc_usage_error("--log names the same file as -o or --checkpoint");
	double t0 = dc_time();
	struct dc_ts ts;
	load_ts(in, &o, o.target, &ts, NULL);
	struct dc_ts_split sp;
	make_split(&o, in, &ts, is_eval, &sp);
	enum dc_status st = dc_ts_fit_scaler(&ts, sp.begin[0], sp.end[0]);
	if (st)
		dc_die_status(st, "cannot scale");
	cJSON *config = model_config(&o, &ts);
	char *cfgtxt = cJSON_PrintUnformatted(config);
	struct dc_config *hp;
	if ((st = dc_config_parse(&hp, cfgtxt, strlen(cfgtxt))))
		dc_die_status(st, "bad hyperparameters");
	struct tsf_model m;
	memset(&m, 0, sizeof m);
	struct dc_fc_dims d = { o.seq_len, o.label_len, o.horizon, ts.cols, ts.n_marks };
	if ((st = dc_fc_create(&m.f, dc_fc_model_find(o.model), &d, hp, cli->seed)))
		dc_die_status(st, "cannot create %s", o.model);
	dc_config_free(hp);
	struct prog pr = { dc_time(), NAN, "", &o, 0, 0 };
	struct dc_fc_train_opts to = {
		.epochs = o.epochs, .batch_size = o.batch, .patience = o.patience, .lr = o.lr,
		.lr_schedule = o.lradj, .seed = cli->seed, .features = o.features,
		.progress = on_progress, .ctx = &pr,
		.checkpoint = o.checkpoint, .fingerprint = cfgtxt, .checkpoint_seconds = TSF_CHECKPOINT_SECONDS,
		.stop = o.checkpoint ? stop_requested : NULL, .epoch_done = on_epoch,
	};
	if (o.checkpoint)
		catch_signals();
	struct dc_fc_train_log log;
	if ((st = dc_fc_train(&m.f, &ts, &sp, &to, &log)))
		dc_die_status(st, "training failed");
	cJSON_free(cfgtxt);
	if (log.interrupted) {
		if (!cli->quiet && isatty(STDERR_FILENO))
			fputc('\n', stderr);   /* end the progress line */
		fprintf(stderr, "ts-forecast: interrupted (%s) in epoch %d; run the same command again to resume from '%s'\n",
		        strsignal(g_signal), log.epochs_run + 1, o.checkpoint);
		exit(128 + g_signal);
	}
	dc_progress(pr.label, 1, 1);
	if (log.resumed_epoch && !cli->quiet)
		fprintf(stderr, "ts-forecast: resumed from '%s' (epoch %d, step %zu)\n", o.checkpoint,
		        log.resumed_epoch, log.resumed_step);
	if (o.log)
		write_log(o.log, &o, &log);
	if (is_eval) {
		double mse, mae;
		size_t nw;
		if (dc_ts_windows(&sp, 2, o.seq_len, o.horizon) == 0)
			dc_die("too few rows in '%s': the test part has no window", dc_cli_input_name(in));
		if ((st = dc_fc_score(&m.f, &ts, sp.begin[2], sp.end[2], o.batch, o.features, &mse, &mae, &nw)))
			dc_die_status(st, "scoring failed");
		if (!o.no_header)
			printf("model\tdata\tseq_len\thorizon\tmse\tmae\tseconds\n");
		printf("%s\t%s\t%d\t%d\t%.6f\t%.6f\t%.2f\n", m.f.kind->name, in, o.seq_len, o.horizon, mse, mae,
		       dc_time() - t0);
		if (fflush(stdout))
			dc_die("cannot write output");
		if (!cli->quiet)
			fprintf(stderr, "ts-forecast: %s: %zu test windows, best epoch %d of %d (val mse %.6f), seed %llu\n",
			        in, nw, log.best_epoch, log.epochs_run, log.best_val, (unsigned long long)cli->seed);
	}
	if (cli->output) {
		m.config = config;
		m.features = o.features;
		m.cols = ts.cols;
		m.names = ts.names;
		m.mean = ts.mean;
		m.std = ts.std;
		m.step = ts.untimed ? 0 : ts.step; /* 0: fitted without timestamps */
		if (ts.untimed)
			m.last_time[0] = 0;
		else
			dc_format_timestamp(ts.time[ts.rows - 1], m.last_time);
		m.seed = cli->seed;
		m.conformal = conformal(&m.f, &ts, &sp, o.batch);
		cJSON *lg = cJSON_CreateObject();
		cJSON_AddNumberToObject(lg, "epochs_run", log.epochs_run);
		cJSON_AddNumberToObject(lg, "best_epoch", log.best_epoch);
		cJSON_AddNumberToObject(lg, "best_val_mse", log.best_val);
		int ne = log.epochs_run < 64 ? log.epochs_run : 64;
		cJSON_AddItemToObject(lg, "train_loss", cJSON_CreateDoubleArray(log.train_loss, ne));
		cJSON_AddItemToObject(lg, "val_loss", cJSON_CreateDoubleArray(log.val_loss, ne));
		cJSON_AddNumberToObject(lg, "train_windows", (double)dc_ts_windows(&sp, 0, o.seq_len, o.horizon));
		cJSON_AddNumberToObject(lg, "val_windows", (double)dc_ts_windows(&sp, 1, o.seq_len, o.horizon));
		cJSON_AddNumberToObject(lg, "rows", (double)ts.rows);
		cJSON_AddNumberToObject(lg, "filled_values", (double)ts.n_filled);
		cJSON_AddNumberToObject(lg, "threads", dc_threads());
		m.log = lg;
		FILE *out = dc_cli_open_output(1);
		tsf_model_save(&m, cli->output, out);
		dc_cli_commit_output();
		free(m.conformal);
		cJSON_Delete(lg);
	}
	cJSON_Delete(config);
	cJSON_Delete(o.hp);
	dc_fc_release(&m.f);
	dc_ts_release(&ts);
	return 0;
}

/* ---- predict --------------------------------------------------------------------- */

/* Column names as meta.columns: comma separated, a name holding ',' or '"'
 * quoted CSV-style (as tensor-tool from-csv writes them). */
static char *join_columns(char *const *names, size_t n)
{
	size_t len = 1;
	for (size_t j = 0; j < n; j++)
		len += 2 * strlen(names[j]) + 3;
	char *s = malloc(len), *p = s;
	if (!s)
		return NULL;
	for (size_t j = 0; j < n; j++) {
		const char *c = names[j];
		int q = strpbrk(c, ",\"") != NULL;
		if (j)
			*p++ = ',';
		if (q)
			*p++ = '"';
		for (; *c; c++) {
			if (*c == '"')
				*p++ = '"';
			*p++ = *c;
		}
		if (q)
			*p++ = '"';
	}
	*p = 0;
	return s;
}

/*
 * The forecast table as a one-record tensor stream: F64 [H][cols] named
 * "forecast", role "series", meta columns, index_name, start (the first
 * forecast timestamp), freq (the step in seconds) -- the layout tensor-tool
 * from-csv gives a table, so tensor-tool to-csv and ts-forecast read it back
 * -- plus model, and interval when --interval was given.  Without `start`
 * (a table without timestamps) the record has no time axis.
 */
static enum dc_status write_stream(FILE *fp, const struct dc_csv *t, const int64_t *start, int64_t step,
                                   const char *model, double interval)
{
	struct dc_stream_writer w;
	struct dc_record rec;
	char stamp[20], freq[24], level[24];
	dc_record_init(&rec);
	if (start)
		dc_format_timestamp(*start, stamp);
	snprintf(freq, sizeof freq, "%lld", (long long)step);
	snprintf(level, sizeof level, "%g", interval);
	char *cols = join_columns(t->colnames, t->cols);
	enum dc_status st = cols ? DC_OK : DC_ENOMEM;
	if (!st)
		st = dc_record_set_name(&rec, "forecast");
	if (!st)
		st = dc_record_set_role(&rec, "series");
	if (!st)
		st = dc_record_meta_set(&rec, "columns", cols);
	if (!st && start)
		st = dc_record_meta_set(&rec, "index_name", t->index_name);
	if (!st && start)
		st = dc_record_meta_set(&rec, "start", stamp);
	if (!st && start)
		st = dc_record_meta_set(&rec, "freq", freq);
	if (!st)
		st = dc_record_meta_set(&rec, "model", model);
	if (!st && interval > 0)
		st = dc_record_meta_set(&rec, "interval", level);
	free(cols);
	if (st) {
		dc_record_release(&rec);
		return st;
	}
	rec.dtype = DC_F64;
	rec.rank = 2;
	rec.shape[0] = (int64_t)t->rows;
	rec.shape[1] = (int64_t)t->cols;
	rec.data = t->values;
	rec.nbytes = t->rows * t->cols * sizeof(double); /* H * cols doubles, already allocated */
	if (!(st = dc_stream_writer_open(&w, fp))) {
		if (!(st = dc_stream_write(&w, &rec)))
			st = dc_stream_writer_finish(&w);
		dc_stream_writer_close(&w);
	}
	rec.data = NULL; /* borrowed */
	dc_record_release(&rec);
	return st;
}

static int cmd_predict(int argc, char **argv)
{
	struct opts o = opts_default();
	int i = parse_opts(argc, argv, &o);
	if (i >= argc)
		dc_usage_error("predict needs a model file");
	if (argc - i > 2)
		dc_usage_error("too many inputs");
	if (o.fit_opt)
		dc_usage_error("--%s is an option of fit and eval", o.fit_opt);
	if (o.no_header)
		dc_usage_error("--no-header is an option of eval");
	const char *mpath = argv[i], *in = i + 1 < argc ? argv[i + 1] : NULL;
	struct tsf_model m;
	tsf_model_load(&m, mpath);
	if (o.interval > 0 && !m.conformal)
		dc_die("'%s' has no calibration residuals (fitted without a validation part)", mpath);
	struct opts lo = o;
	lo.features = m.features;
	lo.freq = m.mark_freq;
	struct dc_ts ts;
	struct stamp_layout lay;
	load_ts(in, &lo, m.target, &ts, &lay);
	int same = ts.cols == m.cols;
	for (int j = 0; same && j < m.cols; j++)
		same = strcmp(ts.names[j], m.names[j]) == 0;
	if (!same) {
		char want[512] = "", got[512] = "";
		for (int j = 0; j < m.cols; j++)
			snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", j ? "," : "", m.names[j]);
		for (int j = 0; j < ts.cols; j++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", j ? "," : "", ts.names[j]);
		dc_die("'%s' was fitted on columns '%s', '%s' has '%s'", mpath, want, dc_cli_input_name(in), got);
	}
	const struct dc_fc_dims *d = &m.f.dims;
	if (o.horizon_given && o.horizon > d->pred_len)
		dc_die("'%s' forecasts %d steps, not %d: fit a model with --horizon %d", mpath, d->pred_len, o.horizon,
		       o.horizon);
	if (ts.rows < (size_t)d->seq_len)
		dc_die("too few rows in '%s': %zu, the model needs seq_len %d", dc_cli_input_name(in), ts.rows,
		       d->seq_len);
	if (m.step && ts.untimed)
		dc_die("'%s' was fitted on a table with timestamps, '%s' has none", mpath, dc_cli_input_name(in));
	if (m.step && ts.step != m.step)
		dc_warn("warning: '%s' has a step of %lld s, the model was fitted at %lld s", dc_cli_input_name(in),
		        (long long)ts.step, (long long)m.step);
	enum dc_status st = dc_ts_set_scaler(&ts, m.mean, m.std);
	if (st)
		dc_die_status(st, "cannot load '%s'", mpath);
	size_t L = (size_t)d->seq_len, H = (size_t)d->pred_len, S = (size_t)d->label_len, C = (size_t)m.cols;
	size_t M = (size_t)d->n_marks, s0 = ts.rows - L;
	float *x = malloc(L * C * sizeof *x), *y = malloc(H * C * sizeof *y);
	float *xm = calloc(L * M + 1, sizeof *xm), *ym = calloc((S + H) * M + 1, sizeof *ym);
	int64_t *tf = malloc(H * sizeof *tf), *tl = malloc((S + H) * sizeof *tl);
	if (!x || !y || !xm || !ym || !tf || !tl)
		dc_die("out of memory");
	memcpy(x, ts.data + s0 * C, L * C * sizeof *x);
	/* the next steps; a table of working days goes on over the weekends */
	int business = dc_ts_business_days(ts.time, ts.rows, ts.step);
	for (size_t h = 0; h < H; h++)
		tf[h] = dc_ts_next_time(h ? tf[h - 1] : ts.time[ts.rows - 1], ts.step, business);
	for (size_t k = 0; k < S; k++)
		tl[k] = ts.time[ts.rows - S + k];
	memcpy(tl + S, tf, H * sizeof *tf);
	if (M && m.step) { /* a model fitted without timestamps saw zero time features */
		memcpy(xm, ts.marks + s0 * M, L * M * sizeof *xm);
		dc_ts_time_features(tl, S + H, m.mark_freq, ym);
	}
	if ((st = m.f.kind->forward(&m.f, 1, x, M ? xm : NULL, M ? ym : NULL, y, 0, 0)))
		dc_die_status(st, "forecast failed");
	size_t Ho = o.horizon_given ? (size_t)o.horizon : H; /* the first Ho steps are written */
	/* interval half-widths from the stored quantiles, interpolated in the level */
	double *half = NULL;
	if (o.interval > 0) {
		half = calloc(H * C, sizeof *half);
		int l = 0;
		while (l + 1 < TSF_NLEVELS - 1 && tsf_levels[l + 1] < o.interval)
			l++;
		double a = (o.interval - tsf_levels[l]) / (tsf_levels[l + 1] - tsf_levels[l]);
		for (size_t k = 0; k < H * C; k++)
			half[k] = (1 - a) * m.conformal[(size_t)l * H * C + k] + a * m.conformal[(size_t)(l + 1) * H * C + k];
	}
	/* output table: M gives every column, S/MS the target */
	size_t c0 = m.features == DC_TS_M ? 0 : C - 1, oc = C - c0, per = half ? 3 : 1;
	struct dc_csv out = { 0 };
	out.rows = Ho;
	out.cols = oc * per;
	out.index_name = lay.name[0] ? lay.name : "date";
	out.colnames = calloc(out.cols, sizeof(char *));
	out.index = calloc(H, sizeof(char *));
	out.values = calloc(H * out.cols, sizeof(double));
	char (*tsbuf)[DC_TIMESTAMP_MAX] = calloc(H, DC_TIMESTAMP_MAX);
	if (!out.colnames || !out.index || !out.values || !tsbuf)
		dc_die("out of memory");
	for (size_t j = 0; j < oc; j++) {
		const char *nm = m.names[c0 + j];
		out.colnames[j * per] = strdup(nm);
		if (half) {
			size_t n = strlen(nm) + 8;
			out.colnames[j * per + 1] = malloc(n);
			out.colnames[j * per + 2] = malloc(n);
			snprintf(out.colnames[j * per + 1], n, "%s_lower", nm);
			snprintf(out.colnames[j * per + 2], n, "%s_upper", nm);
		}
	}
	if (ts.untimed)
		out.index_name = "row";
	for (size_t h = 0; h < Ho; h++) {
		if (ts.untimed) /* the row numbers continued */
			snprintf(tsbuf[h], sizeof tsbuf[h], "%zu", ts.rows + h + 1);
		else
			dc_format_timestamp_like(tf[h], lay.last, tsbuf[h]);
		out.index[h] = tsbuf[h];
		for (size_t j = 0; j < oc; j++) {
			size_t c = c0 + j;
			double v = y[h * C + c] * m.std[c] + m.mean[c];
			double *row = out.values + h * out.cols + j * per;
			row[0] = v;
			if (half) {
				row[1] = v - half[h * C + c] * m.std[c];
				row[2] = v + half[h * C + c] * m.std[c];
			}
		}
	}
	if (o.plot) {
		size_t tc = C - 1, nh = L * 2 < ts.rows ? L * 2 : ts.rows;
		double *hist = malloc(nh * sizeof *hist), *fc = malloc(H * sizeof *fc);
		double *lo = half ? malloc(H * sizeof *lo) : NULL, *hi = half ? malloc(H * sizeof *hi) : NULL;
		for (size_t k = 0; k < nh; k++)
			hist[k] = ts.raw[(ts.rows - nh + k) * C + tc];
		for (size_t h = 0; h < Ho; h++) {
			fc[h] = y[h * C + tc] * m.std[tc] + m.mean[tc];
			if (half) {
				lo[h] = fc[h] - half[h * C + tc] * m.std[tc];
				hi[h] = fc[h] + half[h * C + tc] * m.std[tc];
			}
		}
		FILE *pf = dc_cli_side_open(o.plot);
		/* the times under the axis, as the CSV writes them */
		char xb[3][DC_TIMESTAMP_MAX];
		const int64_t xt[3] = { ts.time[ts.rows - nh], tf[0], tf[Ho - 1] };
		for (int k = 0; k < 3; k++)
			if (ts.untimed)
				snprintf(xb[k], sizeof xb[k], "%lld", (long long)xt[k] + 1);
			else
				dc_format_timestamp_like(xt[k], lay.last, xb[k]);
		const char *const xlab[3] = { xb[0], xb[1], xb[2] };
		if ((st = tsf_plot(pf, hist, ts.time + ts.rows - nh, nh, fc, lo, hi, tf, Ho, m.names[tc], xlab)))
			dc_die_status(st, "cannot write '%s'", o.plot);
		dc_cli_side_commit(pf);
		free(hist);
		free(fc);
		free(lo);
		free(hi);
	}
	FILE *fo = dc_cli_open_output(o.tensor);
	if (o.tensor)
		st = write_stream(fo, &out, ts.untimed ? NULL : &tf[0], ts.step, m.f.kind->name, o.interval);
	else
		st = dc_csv_write(fo, &out, "%.8g");
	if (st)
		dc_die_status(st, "cannot write the forecast");
	dc_cli_commit_output();
	for (size_t j = 0; j < out.cols; j++)
		free(out.colnames[j]);
	free(out.colnames);
	free(out.index);
	free(out.values);
	free(tsbuf);
	free(half);
	free(x);
	free(y);
	free(xm);
	free(ym);
	free(tf);
	free(tl);
	dc_ts_release(&ts);
	tsf_model_release(&m);
	cJSON_Delete(o.hp);
	return 0;
}

/* ---- info ------------------------------------------------------------------------ */

static int cmd_info(int argc, char **argv)
{
	struct opts o = opts_default();
	int i = parse_opts(argc, argv, &o);
	if (argc - i != 1)
		dc_usage_error("info needs one model file");
	if (o.fit_opt || o.horizon_given)
		dc_usage_error("--%s is an option of fit and eval", o.fit_opt ? o.fit_opt : "horizon");
	if (o.interval || o.plot || o.tensor || o.no_header)
		dc_usage_error("info takes no options but the common ones");
	struct tsf_model m;
	tsf_model_load(&m, argv[i]);
	const struct dc_fc_dims *d = &m.f.dims;
	char freq[32] = "none";
	if (m.step)
		dc_ts_step_name(m.step, freq);
	printf("model\t%s\n", m.f.kind->name);
	printf("parameters\t%zu\n", (size_t)0 + ({
		size_t n = 0;
		for (int k = 0; k < m.f.n_tensors; k++) {
			size_t e;
			dc_shape_numel(m.f.tensors[k].rank, m.f.tensors[k].shape, &e);
			n += e;
		}
		n;
	}));
	printf("seq_len\t%d\nlabel_len\t%d\nhorizon\t%d\n", d->seq_len, d->label_len, d->pred_len);
	printf("features\t%s\ntarget\t%s\n", dc_ts_features_name(m.features), m.target);
	printf("columns\t");
	for (int j = 0; j < m.cols; j++)
		printf("%s%s", j ? "," : "", m.names[j]);
	printf("\nfreq\t%s\nlast_timestamp\t%s\nseed\t%llu\n", freq, m.last_time, (unsigned long long)m.seed);
	printf("intervals\t%s\n", m.conformal ? "yes" : "no");
	char *cfg = cJSON_PrintUnformatted(m.config);
	printf("config\t%s\n", cfg);
	cJSON_free(cfg);
	if (m.log) {
		char *lg = cJSON_PrintUnformatted(m.log);
		printf("train_log\t%s\n", lg);
		cJSON_free(lg);
	}
	printf("tensors\t%d\n", m.f.n_tensors);
	for (int k = 0; k < m.f.n_tensors; k++) {
		printf("  %s\t[", m.f.tensors[k].name);
		for (int r = 0; r < m.f.tensors[k].rank; r++)
			printf("%s%lld", r ? ", " : "", (long long)m.f.tensors[k].shape[r]);
		printf("]\n");
	}
	if (fflush(stdout))
		dc_die("cannot write output");
	tsf_model_release(&m);
	cJSON_Delete(o.hp);
	return 0;
}

int main(int argc, char **argv)
{
	static char full_usage[sizeof usage + 512];
	size_t n = strlen(usage);
	memcpy(full_usage, usage, n + 1);
	const struct dc_fc_model *k;
	for (int i = 0; (k = dc_fc_model_at(i)); i++)
		n += (size_t)snprintf(full_usage + n, sizeof full_usage - n, " %s", k->name);
	snprintf(full_usage + n, sizeof full_usage - n, "\n");
	cli = dc_cli_init("ts-forecast", full_usage);
	if (argc >= 2)
		dc_cli_subcommand_first(argc, argv);  /* ts-forecast -t 2 fit ... */
	if (argc < 2) {
		fprintf(stderr, "ts-forecast: missing subcommand\n%s", full_usage);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		fputs(full_usage, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("ts-forecast (diffcore) %s\n", DC_VERSION_STRING);
		return 0;
	}
	if (strcmp(cmd, "fit") == 0)
		return cmd_fit(argc - 1, argv + 1, 0);
	if (strcmp(cmd, "eval") == 0)
		return cmd_fit(argc - 1, argv + 1, 1);
	if (strcmp(cmd, "predict") == 0)
		return cmd_predict(argc - 1, argv + 1);
	if (strcmp(cmd, "info") == 0)
		return cmd_info(argc - 1, argv + 1);
	fprintf(stderr, "ts-forecast: unknown subcommand '%s'\nTry 'ts-forecast --help' for more information.\n", cmd);
	return 2;
}
