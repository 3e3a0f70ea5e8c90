/*
 * modelfile.c - ts-forecast model files: one safetensors file holding the
 * forecaster's parameters under the reference state_dict names (F32), the
 * tensor "conformal.abs_residual_quantiles" [levels][H][C] when intervals
 * are available, and __metadata__:
 *   format        "ts-forecast 1"
 *   config        JSON: model, seq_len, label_len, pred_len, enc_in, n_marks,
 *                 mark_freq, features, target and the hyperparameters
 *   columns       JSON array of the channel names (target last)
 *   scaler_mean, scaler_std   JSON arrays (original units)
 *   step_seconds, freq, last_timestamp
 *   conformal_levels          JSON array of the interval levels
 *   train_log     JSON summary (epochs, best epoch, losses, windows)
 *   seed
 * Nothing time- or machine-dependent is stored, so the same data, seed
 * and thread count give the same bytes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/safetensors.h"
#include "tsf.h"

const double tsf_levels[TSF_NLEVELS] = { 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99 };

static char *json_doubles(const double *v, int n)
{
	size_t cap = (size_t)n * 26 + 3, k = 0;
	char *s = malloc(cap);
	if (!s)
		dc_die("out of memory");
	s[k++] = '[';
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(s + k, cap - k, "%s%.17g", i ? "," : "", v[i]);
	s[k++] = ']';
	s[k] = 0;
	return s;
}

void tsf_model_save(const struct tsf_model *m, const char *name, FILE *out)
{
	const struct dc_forecaster *f = &m->f;
	int nt = f->n_tensors;
	struct dc_st_write_entry *e = calloc((size_t)nt + 1, sizeof *e);
	if (!e)
		dc_die("out of memory");
	for (int i = 0; i < nt; i++) {
		e[i].name = f->tensors[i].name;
		e[i].dtype = DC_F32;
		e[i].rank = f->tensors[i].rank;
		e[i].shape = f->tensors[i].shape;
		e[i].data = f->params + f->tensors[i].offset;
	}
	int64_t cshape[3] = { TSF_NLEVELS, f->dims.pred_len, f->dims.n_vars };
	size_t n = (size_t)nt;
	if (m->conformal) {
		e[n].name = "conformal.abs_residual_quantiles";
		e[n].dtype = DC_F32;
		e[n].rank = 3;
		e[n].shape = cshape;
		e[n].data = m->conformal;
		n++;
	}
	char *config = cJSON_PrintUnformatted(m->config);
	cJSON *cols = cJSON_CreateArray();
	for (int j = 0; j < m->cols; j++)
		cJSON_AddItemToArray(cols, cJSON_CreateString(m->names[j]));
	char *colstr = cJSON_PrintUnformatted(cols);
	cJSON_Delete(cols);
	char *mean = json_doubles(m->mean, m->cols), *std = json_doubles(m->std, m->cols);
	char *levels = json_doubles(tsf_levels, TSF_NLEVELS);
	char *log = m->log ? cJSON_PrintUnformatted(m->log) : NULL;
	char stepbuf[32], freq[32], seed[32];
	snprintf(stepbuf, sizeof stepbuf, "%lld", (long long)m->step);
	if (m->step)
		dc_ts_step_name(m->step, freq);
	else
		strcpy(freq, "none"); /* fitted on a table without timestamps */
	snprintf(seed, sizeof seed, "%llu", (unsigned long long)m->seed);
	if (!config || !colstr)
		dc_die("out of memory");
	struct dc_st_kv meta[12];
	size_t nm = 0;
	meta[nm++] = (struct dc_st_kv){ "format", "ts-forecast 1" };
	meta[nm++] = (struct dc_st_kv){ "config", config };
	meta[nm++] = (struct dc_st_kv){ "columns", colstr };
	meta[nm++] = (struct dc_st_kv){ "scaler_mean", mean };
	meta[nm++] = (struct dc_st_kv){ "scaler_std", std };
	meta[nm++] = (struct dc_st_kv){ "step_seconds", stepbuf };
	meta[nm++] = (struct dc_st_kv){ "freq", freq };
	meta[nm++] = (struct dc_st_kv){ "last_timestamp", m->last_time };
	if (m->conformal)
		meta[nm++] = (struct dc_st_kv){ "conformal_levels", levels };
	if (log)
		meta[nm++] = (struct dc_st_kv){ "train_log", log };
	meta[nm++] = (struct dc_st_kv){ "seed", seed };
	enum dc_status st = dc_safetensors_write(out, e, n, meta, nm);
	if (st)
		dc_die_status(st, "cannot write '%s'", name);
	free(e);
	cJSON_free(config);
	cJSON_free(colstr);
	free(mean);
	free(std);
	free(levels);
	if (log)
		cJSON_free(log);
}

static double *parse_doubles(const char *s, int n, const char *path, const char *key)
{
	cJSON *a = s ? cJSON_Parse(s) : NULL;
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
		dc_die("cannot load '%s': bad or missing metadata '%s'", path, key);
	double *v = malloc((size_t)n * sizeof *v);
	if (!v)
		dc_die("out of memory");
	for (int i = 0; i < n; i++) {
		cJSON *it = cJSON_GetArrayItem(a, i);
		if (!cJSON_IsNumber(it))
			dc_die("cannot load '%s': bad metadata '%s'", path, key);
		v[i] = it->valuedouble;
	}
	cJSON_Delete(a);
	return v;
}

static int cfg_int(cJSON *c, const char *k, const char *path)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(c, k);
	if (!cJSON_IsNumber(v) || v->valuedouble != (int)v->valuedouble || v->valuedouble < 0 ||
	    v->valuedouble > 1e7)
		dc_die("cannot load '%s': config has no valid '%s'", path, k);
	return (int)v->valuedouble;
}

void tsf_model_load(struct tsf_model *m, const char *path)
{
	memset(m, 0, sizeof *m);
	struct dc_safetensors *st;
	enum dc_status s = dc_safetensors_open(&st, path);
	if (s)
		dc_die_status(s, "cannot load '%s'", path);
	const char *fmt = dc_safetensors_meta(st, "format");
	if (!fmt || strncmp(fmt, "ts-forecast ", 12) != 0)
		dc_die("cannot load '%s': not a ts-forecast model file", path);
	const char *cfg = dc_safetensors_meta(st, "config");
	m->config = cfg ? cJSON_Parse(cfg) : NULL;
	if (!cJSON_IsObject(m->config))
		dc_die("cannot load '%s': bad config metadata", path);
	cJSON *mn = cJSON_GetObjectItemCaseSensitive(m->config, "model");
	const struct dc_fc_model *kind = cJSON_IsString(mn) ? dc_fc_model_find(mn->valuestring) : NULL;
	if (!kind)
		dc_die("cannot load '%s': unknown model '%s'", path, cJSON_IsString(mn) ? mn->valuestring : "?");
	struct dc_fc_dims d = { cfg_int(m->config, "seq_len", path), cfg_int(m->config, "label_len", path),
		                cfg_int(m->config, "pred_len", path), cfg_int(m->config, "enc_in", path),
		                cfg_int(m->config, "n_marks", path) };
	cJSON *fe = cJSON_GetObjectItemCaseSensitive(m->config, "features");
	if (!cJSON_IsString(fe) || dc_ts_features_parse(fe->valuestring, &m->features))
		dc_die("cannot load '%s': bad 'features' in config", path);
	cJSON *tg = cJSON_GetObjectItemCaseSensitive(m->config, "target");
	m->target = strdup(cJSON_IsString(tg) ? tg->valuestring : "");
	cJSON *mf = cJSON_GetObjectItemCaseSensitive(m->config, "mark_freq");
	m->mark_freq = cJSON_IsString(mf) && mf->valuestring[0] ? mf->valuestring[0] : 0;
	if ((m->mark_freq ? dc_ts_n_marks(m->mark_freq) : 0) != d.n_marks)
		dc_die("cannot load '%s': n_marks does not match mark_freq", path);
	struct dc_config *hp;
	if ((s = dc_config_parse(&hp, cfg, strlen(cfg))))
		dc_die_status(s, "cannot load '%s'", path);
	if ((s = dc_fc_create(&m->f, kind, &d, hp, 0)))
		dc_die_status(s, "cannot load '%s'", path);
	dc_config_free(hp);
	for (int i = 0; i < m->f.n_tensors; i++) {
		const struct dc_fc_tensor *t = &m->f.tensors[i];
		const struct dc_st_tensor *ft = dc_safetensors_find(st, t->name);
		if (!ft || ft->rank != t->rank || memcmp(ft->shape, t->shape, (size_t)t->rank * sizeof(int64_t)))
			dc_die("cannot load '%s': tensor '%s' missing or of the wrong shape", path, t->name);
		if ((s = dc_safetensors_get_f32(st, t->name, m->f.params + t->offset, ft->numel)))
			dc_die_status(s, "cannot load '%s'", path);
	}
	const char *cols = dc_safetensors_meta(st, "columns");
	cJSON *ca = cols ? cJSON_Parse(cols) : NULL;
	if (!cJSON_IsArray(ca) || cJSON_GetArraySize(ca) != d.n_vars)
		dc_die("cannot load '%s': bad 'columns' metadata", path);
	m->cols = d.n_vars;
	m->names = calloc((size_t)m->cols, sizeof *m->names);
	for (int j = 0; j < m->cols; j++) {
		cJSON *it = cJSON_GetArrayItem(ca, j);
		if (!cJSON_IsString(it))
			dc_die("cannot load '%s': bad 'columns' metadata", path);
		m->names[j] = strdup(it->valuestring);
	}
	cJSON_Delete(ca);
	m->mean = parse_doubles(dc_safetensors_meta(st, "scaler_mean"), m->cols, path, "scaler_mean");
	m->std = parse_doubles(dc_safetensors_meta(st, "scaler_std"), m->cols, path, "scaler_std");
	const char *step = dc_safetensors_meta(st, "step_seconds");
	m->step = step ? strtoll(step, NULL, 10) : 0;
	const char *lt = dc_safetensors_meta(st, "last_timestamp");
	snprintf(m->last_time, sizeof m->last_time, "%s", lt ? lt : "");
	const char *seed = dc_safetensors_meta(st, "seed");
	m->seed = seed ? strtoull(seed, NULL, 10) : 0;
	const char *log = dc_safetensors_meta(st, "train_log");
	m->log = log ? cJSON_Parse(log) : NULL;
	const struct dc_st_tensor *ct = dc_safetensors_find(st, "conformal.abs_residual_quantiles");
	if (ct) {
		size_t n = (size_t)TSF_NLEVELS * (size_t)d.pred_len * (size_t)d.n_vars;
		m->conformal = malloc(n * sizeof(float));
		if (!m->conformal || ct->numel != n || dc_safetensors_get_f32(st, ct->name, m->conformal, n))
			dc_die("cannot load '%s': bad conformal tensor", path);
	}
	dc_safetensors_close(st);
}

void tsf_model_release(struct tsf_model *m)
{
	dc_fc_release(&m->f);
	cJSON_Delete(m->config);
	cJSON_Delete(m->log);
	for (int j = 0; j < m->cols; j++)
		free(m->names[j]);
	free(m->names);
	free(m->mean);
	free(m->std);
	free(m->conformal);
	free(m->target);
	memset(m, 0, sizeof *m);
}
