/*
 * tsf.h - internal interface between the files of ts-forecast(1):
 * main.c (options, subcommands), modelfile.c (model files: save, load),
 * plot.c (the --plot PNG) and input.c (CSV / gzip / tensor-stream input).
 */
#ifndef TSF_H
#define TSF_H

#include <cjson/cJSON.h>

#include "core/core.h"
#include "io/media.h"
#include "models/forecast.h"
#include "train/train.h"
#include "ts/ts.h"

#define TSF_NLEVELS 9
/* --checkpoint: also written mid-epoch once this many seconds have passed */
#define TSF_CHECKPOINT_SECONDS 300.0
extern const double tsf_levels[TSF_NLEVELS];

/* A fitted model: the forecaster plus everything predict needs. */
struct tsf_model {
	struct dc_forecaster f;
	cJSON *config;                 /* the "config" JSON (model, dims, hyperparameters) */
	enum dc_ts_features features;
	char *target;
	char mark_freq;                /* 'h', 't' or 0 */
	int cols;
	char **names;                  /* [cols] */
	double *mean, *std;            /* [cols] */
	int64_t step;
	char last_time[20];
	float *conformal;              /* [TSF_NLEVELS][H][C] |residual| quantiles (scaled), or NULL */
	cJSON *log;                    /* training log (may be NULL) */
	uint64_t seed;
};

/* input.c: read a CSV (plain or gzip) or a tensor stream from path (NULL
 * or "-": stdin) into a table; dies with a one-line message on error. */
void tsf_read_table(const char *path, struct dc_csv *csv);

/* modelfile.c */
void tsf_model_save(const struct tsf_model *m, const char *path_for_msgs, FILE *out);
void tsf_model_load(struct tsf_model *m, const char *path);
void tsf_model_release(struct tsf_model *m);

/* plot.c: history hist[nh] at times th, forecast fc[H] (lo/hi may be
 * NULL) at times tf; writes a PNG to fp.  xlab (may be NULL): the labels
 * under the first history time, the first forecast time and the last one;
 * title (may be NULL): the series' name, drawn above the chart. */
enum dc_status tsf_plot(FILE *fp, const double *hist, const int64_t *th, size_t nh, const double *fc,
                        const double *lo, const double *hi, const int64_t *tf, size_t H, const char *title,
                        const char *const xlab[3]);

#endif
