/*
 * embed.c - where spk-embed's embeddings come from: the model (opened on
 * first use: --model or the installed default), audio files (any format
 * libsndfile reads; mixed down to mono, checked for silence, clipping and
 * length, optionally trimmed by the energy VAD, resampled to the model's
 * rate inside dc_spk_embed_audio), and embedding streams (a file that
 * starts with the tensor-stream magic: its only record, or STREAM:NAME for
 * the record of that name).  Each distinct operand is embedded or read
 * once; the scores of pairs, with the cohort normalisations, are computed
 * here too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
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

#define DEFAULT_MODEL "spk-ecapa"
#define SILENCE_DBFS (-70.0)
#define VAD_DB 40.0
#define CLIP_LEVEL 0.999
#define CLIP_WARN 0.001     /* warn above 0.1% clipped samples */

static const unsigned char dts_magic[8] = { 0x89, 'D', 'T', 'S', '\r', '\n', 0x1a, '\n' };

void se_init(struct se_ctx *c, struct se_opts *o)
{
	memset(c, 0, sizeof *c);
	c->o = o;
}

void se_release(struct se_ctx *c)
{
	for (size_t i = 0; i < c->nitems; i++) {
		free(c->items[i].key);
		free(c->items[i].emb);
		free(c->items[i].cen);
	}
	free(c->items);
	free(c->hash);
	for (size_t s = 0; s < c->nstreams; s++) {
		struct se_stream *st = &c->streams[s];
		for (size_t i = 0; i < st->n; i++) {
			free(st->names[i]);
			free(st->vecs[i]);
		}
		free(st->names);
		free(st->vecs);
		free(st->dims);
		free(st->path);
	}
	free(c->streams);
	free(c->cohort);
	free(c->cmean);
	if (c->model)
		dc_spk_free(c->model);
	free(c->model_dir_owned);
	memset(c, 0, sizeof *c);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		dc_die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		dc_die("out of memory");
	return p;
}

/* ---- the model -------------------------------------------------------------------- */

struct dc_spk *se_model(struct se_ctx *c)
{
	if (c->model)
		return c->model;
	const char *dir = c->o->model;
	if (!dir)
		dir = c->model_dir_owned = dc_cli_require_default_model(
		        DEFAULT_MODEL, "config.json", "model",
		        "--model DIR, a folder with config.json and embedding_model.safetensors");
	struct stat sb;
	char cfg[PATH_MAX + 16];
	snprintf(cfg, sizeof cfg, "%s/config.json", dir);
	if (stat(dir, &sb) != 0)
		dc_die("cannot load model '%s': %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		dc_die("cannot load model '%s': not a folder (a speaker model is a folder with config.json and "
		       "embedding_model.safetensors)", dir);
	if (stat(cfg, &sb) != 0)
		dc_die("cannot load model '%s': no config.json (a speaker model is a folder with config.json and "
		       "embedding_model.safetensors)", dir);
	enum dc_status st = dc_spk_open(&c->model, dir);
	if (st)
		dc_die_status(st, "cannot load model '%s'", dir);
	if (c->o->precision != DC_PREC_F32 && (st = dc_spk_set_precision(c->model, c->o->precision)))
		dc_die_status(st, "cannot load model '%s'", dir);
	c->model_dir = dir;
	int d = dc_spk_dim(c->model);
	if (c->dim && c->dim != d)
		dc_die("model '%s' gives %d values per embedding, the embeddings read so far have %d", dir, d, c->dim);
	c->dim = d;
	return c->model;
}

/* ---- the item table ----------------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void rehash(struct se_ctx *c, size_t cap)
{
	free(c->hash);
	c->hash = calloc(cap, sizeof *c->hash);
	if (!c->hash)
		dc_die("out of memory");
	c->hcap = cap;
	for (size_t i = 0; i < c->nitems; i++) {
		size_t h = hash_str(c->items[i].key) & (cap - 1);
		while (c->hash[h])
			h = (h + 1) & (cap - 1);
		c->hash[h] = i + 1;
	}
}

size_t se_intern(struct se_ctx *c, const char *key, int line)
{
	if (c->hcap) {
		size_t h = hash_str(key) & (c->hcap - 1);
		for (; c->hash[h]; h = (h + 1) & (c->hcap - 1))
			if (strcmp(c->items[c->hash[h] - 1].key, key) == 0)
				return c->hash[h] - 1;
	}
	if (c->nitems == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct se_item *p = realloc(c->items, cap * sizeof *p);
		if (!p)
			dc_die("out of memory");
		c->items = p;
		c->cap = cap;
	}
	struct se_item *it = &c->items[c->nitems];
	memset(it, 0, sizeof *it);
	it->key = xstrdup(key);
	it->line = line;
	c->nitems++;
	if (2 * c->nitems > c->hcap)
		rehash(c, c->hcap ? 2 * c->hcap : 256);
	else {
		size_t h = hash_str(key) & (c->hcap - 1);
		while (c->hash[h])
			h = (h + 1) & (c->hcap - 1);
		c->hash[h] = c->nitems;
	}
	return c->nitems - 1;
}

/* ---- embedding streams ---------------------------------------------------------------- */

static int is_stream_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return 0;
	unsigned char b[8];
	int yes = fread(b, 1, 8, fp) == 8 && memcmp(b, dts_magic, 8) == 0;
	fclose(fp);
	return yes;
}

/* One record's values as floats: rank 1 [d] -> 1 row, rank 2 [n][d] -> n rows. */
static int record_rows(const struct dc_record *r, size_t *rows, int *d, char *msg, size_t len)
{
	if (r->dtype != DC_F32 && r->dtype != DC_F64 && r->dtype != DC_F16 && r->dtype != DC_BF16) {
		snprintf(msg, len, "record '%s' is %s, not a floating-point embedding", r->name, dc_dtype_name(r->dtype));
		return -1;
	}
	if (r->rank == 1) {
		*rows = 1;
		*d = (int)r->shape[0];
	} else if (r->rank == 2) {
		*rows = (size_t)r->shape[0];
		*d = (int)r->shape[1];
	} else {
		snprintf(msg, len, "record '%s' has rank %d, an embedding is [dim] (or [n, dim])", r->name, r->rank);
		return -1;
	}
	if (r->shape[r->rank - 1] < 1 || r->shape[r->rank - 1] > 1 << 20) {
		snprintf(msg, len, "record '%s': %lld values is not an embedding size", r->name,
		         (long long)r->shape[r->rank - 1]);
		return -1;
	}
	return 0;
}

static float *record_floats(const struct dc_record *r, size_t from, size_t count)
{
	size_t esz = dc_dtype_size(r->dtype);
	float *v = xmalloc(count * sizeof *v);
	if (r->dtype == DC_F64) {
		const double *s = (const double *)r->data + from;
		for (size_t i = 0; i < count; i++)
			v[i] = (float)s[i];
	} else {
		dc_convert_to_f32(v, (const unsigned char *)r->data + from * esz, r->dtype, count);
	}
	return v;
}

/* Load a whole embedding stream (cached by path); NULL with msg on failure. */
static struct se_stream *load_stream(struct se_ctx *c, const char *path, char *msg, size_t len)
{
	for (size_t s = 0; s < c->nstreams; s++)
		if (strcmp(c->streams[s].path, path) == 0)
			return &c->streams[s];
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		snprintf(msg, len, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	struct dc_stream_reader rd;
	struct dc_record rec;
	dc_record_init(&rec);
	struct se_stream st = { 0 };
	size_t cap = 0;
	int have_msg = 0;
	enum dc_status s = dc_stream_reader_open(&rd, fp);
	while (!s && !(s = dc_stream_read(&rd, &rec))) {
		size_t rows;
		int d;
		char why[300];
		if (record_rows(&rec, &rows, &d, why, sizeof why)) {
			snprintf(msg, len, "cannot read '%s': %s", path, why);
			have_msg = 1;
			s = DC_EFORMAT;
			break;
		}
		for (size_t r = 0; r < rows; r++) {
			if (st.n == cap) {
				cap = cap ? 2 * cap : 16;
				st.names = realloc(st.names, cap * sizeof *st.names);
				st.vecs = realloc(st.vecs, cap * sizeof *st.vecs);
				st.dims = realloc(st.dims, cap * sizeof *st.dims);
				if (!st.names || !st.vecs || !st.dims)
					dc_die("out of memory");
			}
			st.names[st.n] = xstrdup(rec.name);
			st.vecs[st.n] = record_floats(&rec, r * (size_t)d, (size_t)d);
			st.dims[st.n] = d;
			st.n++;
		}
	}
	dc_record_release(&rec);
	if (s == DC_EEOF && st.n == 0) {
		snprintf(msg, len, "cannot read '%s': the stream holds no embeddings", path);
		have_msg = 1;
		s = DC_EFORMAT;
	}
	if (s != DC_EEOF && !have_msg)
		snprintf(msg, len, "cannot read '%s': %s", path, dc_errmsg()[0] ? dc_errmsg() : dc_strstatus(s));
	dc_stream_reader_close(&rd);
	fclose(fp);
	if (s != DC_EEOF) {
		for (size_t i = 0; i < st.n; i++) {
			free(st.names[i]);
			free(st.vecs[i]);
		}
		free(st.names);
		free(st.vecs);
		free(st.dims);
		return NULL;
	}
	st.path = xstrdup(path);
	struct se_stream *p = realloc(c->streams, (c->nstreams + 1) * sizeof *p);
	if (!p)
		dc_die("out of memory");
	c->streams = p;
	c->streams[c->nstreams] = st;
	return &c->streams[c->nstreams++];
}

static int check_dim(struct se_ctx *c, const char *key, int d, char *msg, size_t len)
{
	if (c->dim && c->dim != d) {
		snprintf(msg, len, "cannot use '%s': it has %d values, the other embeddings %d", key, d, c->dim);
		return -1;
	}
	c->dim = d;
	return 0;
}

/* An embedding from a stream: the whole file (one record) or FILE:NAME. */
static int resolve_stream(struct se_ctx *c, struct se_item *it, const char *path, const char *name, char *msg,
                          size_t len)
{
	struct se_stream *st = load_stream(c, path, msg, len);
	if (!st)
		return -1;
	size_t k = st->n;
	if (!name) {
		if (st->n != 1) {
			snprintf(msg, len, "cannot use '%s': it holds %zu embeddings; choose one with '%s:NAME' (e.g. '%s:%s')",
			         path, st->n, path, path, st->names[0]);
			return -1;
		}
		k = 0;
	} else {
		for (size_t i = 0; i < st->n && k == st->n; i++)
			if (strcmp(st->names[i], name) == 0)
				k = i;
		if (k == st->n) {
			snprintf(msg, len, "cannot use '%s': '%s' has no record named '%s'", it->key, path, name);
			return -1;
		}
	}
	if (check_dim(c, it->key, st->dims[k], msg, len))
		return -1;
	it->emb = xmalloc((size_t)st->dims[k] * sizeof(float));
	memcpy(it->emb, st->vecs[k], (size_t)st->dims[k] * sizeof(float));
	return 0;
}

/* ---- audio ---------------------------------------------------------------------------- */

static int embed_audio(struct se_ctx *c, struct se_item *it, char *msg, size_t len)
{
	const char *path = it->key, *shown = dc_cli_input_name(path);
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!fp) {
		snprintf(msg, len, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	struct dc_audio au;
	enum dc_status st = dc_audio_read(fp, &au);
	if (fp != stdin)
		fclose(fp);
	if (st) {
		snprintf(msg, len, "cannot read '%s': %s", shown, dc_errmsg()[0] ? dc_errmsg() : dc_strstatus(st));
		return -1;
	}
	size_t n = au.frames, ch = (size_t)au.channels, clipped = 0;
	double sr = au.sample_rate;
	for (size_t i = 0; i < n * ch; i++) {
		if (!isfinite(au.data[i])) {
			snprintf(msg, len, "cannot embed '%s': sample %zu is not a finite number", shown, i / ch + 1);
			dc_audio_release(&au);
			return -1;
		}
		clipped += fabsf(au.data[i]) >= CLIP_LEVEL;
	}
	/* mono: the mean of the channels, in place */
	float *x = au.data;
	if (ch > 1) {
		for (size_t i = 0; i < n; i++) {
			double s = 0;
			for (size_t k = 0; k < ch; k++)
				s += x[i * ch + k];
			x[i] = (float)(s / (double)ch);
		}
	}
	double peak = 0;
	for (size_t i = 0; i < n; i++)
		peak = fmax(peak, fabs(x[i]));
	double peak_db = peak > 0 ? 20 * log10(peak) : -INFINITY;
	size_t a = 0, b = n;
	int silent = n > 0 && peak_db < SILENCE_DBFS;
	if (!silent && n > 0 && c->o->vad) {
		dc_vad_trim(x, n, sr, VAD_DB, &a, &b);
		silent = b <= a;
	}
	if (silent) {
		if (peak_db < SILENCE_DBFS)
			snprintf(msg, len, "cannot embed '%s': silence only (peak %.1f dBFS, below %.0f dBFS)", shown, peak_db,
			         SILENCE_DBFS);
		else
			snprintf(msg, len, "cannot embed '%s': silence only (the VAD found no speech)", shown);
		dc_audio_release(&au);
		return -1;
	}
	double dur = (double)(b - a) / sr;
	if (dur < c->o->min_dur) {
		snprintf(msg, len, "cannot embed '%s': too short: %.2f s of %s, at least %.2f s needed (--min-duration)",
		         shown, dur, c->o->vad && (a > 0 || b < n) ? "speech after --vad" : "audio", c->o->min_dur);
		dc_audio_release(&au);
		return -1;
	}
	struct dc_spk *m = se_model(c);
	double msr = dc_spk_config(m)->sample_rate;
	if (ch > 1)
		dc_warn("'%s': %zu channels mixed down to mono", shown, ch);
	if (msr > 0 && fabs(sr - msr) > 1e-6)
		dc_warn("'%s': resampled from %g Hz to %g Hz", shown, sr, msr);
	if ((double)clipped > CLIP_WARN * (double)(n * ch))
		dc_warn("warning: '%s': %.1f%% of the samples are clipped (at full scale); the embedding may be unreliable",
		        shown, 100.0 * (double)clipped / (double)(n * ch));
	int d = dc_spk_dim(m);
	if (check_dim(c, it->key, d, msg, len)) {
		dc_audio_release(&au);
		return -1;
	}
	it->emb = xmalloc((size_t)d * sizeof(float));
	st = dc_spk_embed_audio(m, x + a, b - a, sr, it->emb);
	dc_audio_release(&au);
	if (st) {
		snprintf(msg, len, "cannot embed '%s': %s", shown, dc_errmsg()[0] ? dc_errmsg() : dc_strstatus(st));
		free(it->emb);
		it->emb = NULL;
		return -1;
	}
	for (int i = 0; i < d; i++)
		if (!isfinite(it->emb[i])) {
			snprintf(msg, len, "cannot embed '%s': the model gave a non-finite embedding", shown);
			free(it->emb);
			it->emb = NULL;
			return -1;
		}
	it->duration = dur;
	return 0;
}

int se_resolve(struct se_ctx *c, size_t i, char *msg, size_t len)
{
	struct se_item *it = &c->items[i];
	if (it->emb)
		return 0;
	const char *key = it->key;
	struct stat sb;
	if (strcmp(key, "-") == 0)
		return embed_audio(c, it, msg, len);
	if (stat(key, &sb) == 0) {
		if (S_ISDIR(sb.st_mode)) {
			snprintf(msg, len, "cannot read '%s': is a directory", key);
			return -1;
		}
		if (is_stream_file(key))
			return resolve_stream(c, it, key, NULL, msg, len);
		return embed_audio(c, it, msg, len);
	}
	int err = errno;
	/* STREAM:NAME, the first ':' whose prefix is an existing stream file */
	for (const char *p = strchr(key, ':'); p; p = strchr(p + 1, ':')) {
		char *path = xstrdup(key);
		path[p - key] = 0;
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && is_stream_file(path)) {
			int r = resolve_stream(c, it, path, p + 1, msg, len);
			free(path);
			return r;
		}
		free(path);
	}
	snprintf(msg, len, "cannot read '%s': %s", key, strerror(err));
	return -1;
}

const float *se_get(struct se_ctx *c, size_t i)
{
	char msg[1024];
	if (se_resolve(c, i, msg, sizeof msg)) {
		if (c->items[i].line && c->trials_name)
			dc_die("%s (%s line %d)", msg, c->trials_name, c->items[i].line);
		dc_die("%s", msg);
	}
	return c->items[i].emb;
}

/* ---- cohort and scores ---------------------------------------------------------------- */

void se_load_cohort(struct se_ctx *c)
{
	char msg[1024];
	const char *path = c->o->cohort;
	if (!is_stream_file(path)) {
		FILE *fp = fopen(path, "rb");
		if (!fp)
			dc_die("cannot read '%s': %s", path, strerror(errno));
		fclose(fp);
		dc_die("cannot read '%s': not a tensor stream (make one with spk-embed FILE... -o COHORT.dts)", path);
	}
	struct se_stream *st = load_stream(c, path, msg, sizeof msg);
	if (!st)
		dc_die("%s", msg);
	if (st->n < 2)
		dc_die("cannot use '%s' as a cohort: it holds %zu embedding, at least 2 are needed", path, st->n);
	int d = st->dims[0];
	for (size_t i = 0; i < st->n; i++)
		if (st->dims[i] != d)
			dc_die("cannot use '%s' as a cohort: record '%s' has %d values, the first %d", path, st->names[i],
			       st->dims[i], d);
	if (c->dim && c->dim != d)
		dc_die("cannot use '%s' as a cohort: its embeddings have %d values, the others %d", path, d, c->dim);
	c->dim = d;
	c->ncohort = st->n;
	c->cohort = xmalloc(st->n * (size_t)d * sizeof(float));
	for (size_t i = 0; i < st->n; i++)
		memcpy(c->cohort + i * (size_t)d, st->vecs[i], (size_t)d * sizeof(float));
	if (c->o->norm == SE_NORM_MEAN || c->o->norm == SE_NORM_MEAN_ASNORM) {
		float *tmp = xmalloc(st->n * (size_t)d * sizeof(float));
		memcpy(tmp, c->cohort, st->n * (size_t)d * sizeof(float));
		for (size_t i = 0; i < st->n; i++)
			dc_l2_normalize(tmp + i * (size_t)d, (size_t)d);
		c->cmean = xmalloc((size_t)d * sizeof(float));
		dc_emb_mean(tmp, st->n, (size_t)d, c->cmean);
		if (c->o->norm == SE_NORM_MEAN_ASNORM) {   /* AS-norm on centred vectors */
			for (size_t i = 0; i < st->n; i++)
				for (int j = 0; j < d; j++)
					tmp[i * (size_t)d + j] -= c->cmean[j];
			free(c->cohort);
			c->cohort = tmp;
		} else {
			free(tmp);
		}
	}
}

/* The vector an item is scored with. */
static const float *vec(struct se_ctx *c, size_t i)
{
	struct se_item *it = &c->items[i];
	if (!c->cmean)
		return it->emb;
	if (!it->cen) {
		it->cen = xmalloc((size_t)c->dim * sizeof(float));
		memcpy(it->cen, it->emb, (size_t)c->dim * sizeof(float));
		dc_l2_normalize(it->cen, (size_t)c->dim);
		for (int j = 0; j < c->dim; j++)
			it->cen[j] -= c->cmean[j];
	}
	return it->cen;
}

static void stats(struct se_ctx *c, size_t i)
{
	struct se_item *it = &c->items[i];
	if (it->have_stats)
		return;
	enum dc_status st = dc_cohort_stats(vec(c, i), c->cohort, c->ncohort, (size_t)c->dim, (size_t)c->o->top_n,
	                                    &it->c_mean, &it->c_std);
	if (st)
		dc_die_status(st, "cannot normalise the scores of '%s'", it->key);
	it->have_stats = 1;
}

double se_score(struct se_ctx *c, size_t a, size_t b)
{
	double s = dc_cosine(vec(c, a), vec(c, b), (size_t)c->dim);
	if (c->o->norm == SE_NORM_ASNORM || c->o->norm == SE_NORM_MEAN_ASNORM) {
		stats(c, a);
		stats(c, b);
		s = dc_asnorm(s, c->items[a].c_mean, c->items[a].c_std, c->items[b].c_mean, c->items[b].c_std);
	}
	return s;
}

char *se_stem(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	char *s = xstrdup(*b ? b : path);
	char *dot = strrchr(s, '.');
	if (dot && dot != s)
		*dot = 0;
	return s;
}
