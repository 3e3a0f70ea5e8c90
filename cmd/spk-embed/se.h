/*
 * se.h - spk-embed's shared state: the options, the lazily opened model,
 * and the table of inputs (audio files and embedding-stream records, each
 * embedded or read once) that every subcommand draws embeddings from
 * (embed.c), and the trial lists (trials.c).
 */
#ifndef SE_H
#define SE_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "speech/spk.h"

enum se_norm { SE_NORM_NONE, SE_NORM_MEAN, SE_NORM_ASNORM, SE_NORM_MEAN_ASNORM };

#define SE_MAX_PT 8

struct se_opts {
	const char *model;         /* --model, NULL: the installed default */
	int vad, keep_going, no_header;
	enum dc_precision precision;  /* --precision (f32) */
	double min_dur;            /* --min-duration, seconds */
	const char *trials, *scores, *cohort, *det, *name;
	enum se_norm norm;
	long top_n;
	double p_target[SE_MAX_PT];
	int n_pt;
};

/* One input: the key is the operand as written (a path, "-", or
 * STREAM:NAME). */
struct se_item {
	char *key;
	float *emb;                /* dim values; NULL until embedded */
	float *cen;                /* --norm mean: L2-normalised, cohort mean removed */
	double c_mean, c_std;      /* AS-norm cohort statistics */
	int have_stats;
	double duration;           /* seconds of audio embedded (0 for stream records) */
	int line;                  /* trials line of first use (0: command line) */
};

struct se_ctx {
	struct se_opts *o;
	struct dc_spk *model;
	const char *model_dir;     /* resolved */
	char *model_dir_owned;     /* the default's path, freed by se_release */
	int dim;                   /* 0 until the first embedding */
	struct se_item *items;
	size_t nitems, cap;
	size_t *hash;              /* open addressing, index + 1, 0 = empty */
	size_t hcap;
	/* loaded embedding streams */
	struct se_stream *streams;
	size_t nstreams;
	/* cohort */
	float *cohort;             /* [ncohort][dim], centred for mean+asnorm */
	size_t ncohort;
	float *cmean;              /* mean of the L2-normalised cohort rows */
	const char *trials_name;   /* for messages */
};

struct se_stream {
	char *path;
	size_t n;
	char **names;
	float **vecs;              /* vecs[i] holds dim[i] values */
	int *dims;
};

void se_init(struct se_ctx *c, struct se_opts *o);
void se_release(struct se_ctx *c);

/* The model, opened on first use (dies with a message on failure). */
struct dc_spk *se_model(struct se_ctx *c);

/* Index of the item for `key`, added (not yet embedded) when new. */
size_t se_intern(struct se_ctx *c, const char *key, int line);

/*
 * Embed or read item i if not done yet.  0 on success; -1 with a one-line
 * message in msg ("cannot read 'x.wav': ..." / "cannot embed 'x.wav': ...")
 * for a problem with that input alone.  Problems that concern every input
 * (the model) end the program.
 */
int se_resolve(struct se_ctx *c, size_t i, char *msg, size_t len);

/* se_resolve or die (with the trials line in the message when known). */
const float *se_get(struct se_ctx *c, size_t i);

/* Read --cohort (every record, rank 1 [dim] or rank 2 [n][dim]). */
void se_load_cohort(struct se_ctx *c);

/* The score of items a and b after --norm (both resolved). */
double se_score(struct se_ctx *c, size_t a, size_t b);

/* Base name without directory and extension ("dir/a.b.wav" -> "a.b"). */
char *se_stem(const char *path);

/* ---- trials.c ---------------------------------------------------------------- */

struct se_trial {
	size_t a, b;               /* items */
	int label;                 /* 1 target, 0 nontarget, -1 none */
	double score;
	char *line;                /* the line as read, without the newline */
	int lineno;
};

/* Parse a label word: 1 / 0, target / nontarget, true / false; -1 if none of them. */
int se_parse_label(const char *s);

/* Read a trials file (a<TAB>b[<TAB>label]); `need_labels` makes a missing
 * label an error.  Items are interned in order of first use. */
struct se_trial *se_read_trials(struct se_ctx *c, const char *path, int need_labels, size_t *n);

/* Read a scores file: a<TAB>b<TAB>label<TAB>score or label<TAB>score. */
void se_read_scores(const char *path, double **scores, uint8_t **labels, size_t *n);

#endif
