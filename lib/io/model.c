/*
 * model.c - JSON configuration objects (config.json), sharded-checkpoint
 * indexes (*.safetensors.index.json) and model folders: a config plus
 * tensors looked up by name across one or more safetensors files.
 *
 * index.json layout (transformers/diffusers):
 *   {"metadata": {"total_size": N}, "weight_map": {"tensor": "shard file", ...}}
 * Shard names are untrusted: they must be plain file names in the folder.
 * The unified tensor table is sorted by name and searched by bsearch.
 */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_MAX_BYTES (16u << 20)
#define INDEX_MAX_SHARDS 65536

/* From safetensors.c. */
cJSON *dc__json_parse(const char *text, size_t len, const char **end);
enum dc_status dc__st_tensor_view(const struct dc_st_tensor *t, struct dc_tensor *view);
enum dc_status dc__st_tensor_f32(const struct dc_st_tensor *t, size_t first, float *dst, size_t n);

/* ---- files ---------------------------------------------------------------- */


static int is_regular(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);
	if (p) {
		memcpy(p, dir, a);
		p[a] = '/';
		memcpy(p + a + 1, name, b + 1);
	}
	return p;
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* ---- config ----------------------------------------------------------------- */

struct dc_config {
	cJSON *root;
};

enum dc_status dc_config_parse(struct dc_config **out, const char *text, size_t len)
{
	*out = NULL;
	if (!text && len)
		return dc_fail(DC_EINVAL, "config: NULL text");
	if (len > CONFIG_MAX_BYTES)
		return dc_fail(DC_ELIMIT, "config: %zu bytes exceeds the limit of %u", len,
		               CONFIG_MAX_BYTES);
	/* cJSON wants the text NUL-terminated to be safe: copy it. */
	char *copy = malloc(len + 1);
	if (!copy)
		return dc_fail(DC_ENOMEM, "config: out of memory");
	if (len)
		memcpy(copy, text, len);
	copy[len] = 0;
	const char *end = NULL;
	cJSON *root = dc__json_parse(copy, len, &end);
	enum dc_status s = DC_OK;
	if (!root) {
		size_t at = end && end >= copy && end <= copy + len ? (size_t)(end - copy) : 0;
		s = dc_fail(DC_EFORMAT, "config: not valid JSON (near byte %zu)", at);
	} else if (!cJSON_IsObject(root)) {
		s = dc_fail(DC_EFORMAT, "config: top level is not a JSON object");
	} else {
		for (const char *q = end; q && q < copy + len; q++)
			if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r') {
				s = dc_fail(DC_EFORMAT, "config: data after the JSON object (byte %zu)",
				            (size_t)(q - copy));
				break;
			}
	}
	free(copy);
	if (s == DC_OK) {
		*out = malloc(sizeof **out);
		if (!*out)
			s = dc_fail(DC_ENOMEM, "config: out of memory");
		else
			(*out)->root = root;
	}
	if (s != DC_OK)
		cJSON_Delete(root);
	return s;
}

enum dc_status dc_config_load(struct dc_config **out, const char *path)
{
	char *text;
	size_t len;
	*out = NULL;
	enum dc_status s = dc_read_file(path, CONFIG_MAX_BYTES, &text, &len);
	if (s)
		return s;
	s = dc_config_parse(out, text, len);
	free(text);
	if (s) {
		char msg[400];
		snprintf(msg, sizeof msg, "%s", dc_errmsg());
		return dc_fail(s, "'%s': %s", path, msg);
	}
	return DC_OK;
}

void dc_config_free(struct dc_config *cfg)
{
	if (cfg) {
		cJSON_Delete(cfg->root);
		free(cfg);
	}
}

/* Resolve a dotted path; NULL if absent (no error recorded). */
static const cJSON *resolve(const struct dc_config *cfg, const char *path)
{
	if (!cfg || !cfg->root || !path)
		return NULL;
	const cJSON *cur = cfg->root;
	char seg[256];
	const char *p = path;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof seg)
			return NULL;
		memcpy(seg, p, n);
		seg[n] = 0;
		if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
		} else if (cJSON_IsArray(cur) && n > 0 && n < 10 && strspn(seg, "0123456789") == n) {
			cur = cJSON_GetArrayItem(cur, atoi(seg));
		} else
			return NULL;
		if (!cur)
			return NULL;
		if (!dot)
			return cur;
		p = dot + 1;
	}
}

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsNull(v)) return "null";
	if (cJSON_IsBool(v)) return "a boolean";
	if (cJSON_IsNumber(v)) return "a number";
	if (cJSON_IsString(v)) return "a string";
	if (cJSON_IsArray(v)) return "an array";
	if (cJSON_IsObject(v)) return "an object";
	return "invalid";
}

static enum dc_status get(const struct dc_config *cfg, const char *path, const cJSON **v)
{
	*v = resolve(cfg, path);
	if (!*v)
		return dc_fail(DC_ENOTFOUND, "config: no key '%s'", path ? path : "(null)");
	return DC_OK;
}

static int num_to_int(const cJSON *v, int64_t *out)
{
	if (!cJSON_IsNumber(v))
		return -1;
	double d = v->valuedouble;
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d))
		return -1;
	*out = (int64_t)d;
	return 0;
}

int dc_config_has(const struct dc_config *cfg, const char *path)
{
	return resolve(cfg, path) != NULL;
}

enum dc_status dc_config_int(const struct dc_config *cfg, const char *path, int64_t *out)
{
	const cJSON *v;
	enum dc_status s = get(cfg, path, &v);
	if (s)
		return s;
	int64_t x;
	if (num_to_int(v, &x))
		return dc_fail(DC_EFORMAT, "config: '%s' is %s, not an integer", path,
		               cJSON_IsNumber(v) ? "a non-integral number" : type_name(v));
	*out = x;
	return DC_OK;
}

enum dc_status dc_config_double(const struct dc_config *cfg, const char *path, double *out)
{
	const cJSON *v;
	enum dc_status s = get(cfg, path, &v);
	if (s)
		return s;
	if (!cJSON_IsNumber(v))
		return dc_fail(DC_EFORMAT, "config: '%s' is %s, not a number", path, type_name(v));
	*out = v->valuedouble;
	return DC_OK;
}

enum dc_status dc_config_bool(const struct dc_config *cfg, const char *path, int *out)
{
	const cJSON *v;
	enum dc_status s = get(cfg, path, &v);
	if (s)
		return s;
	if (!cJSON_IsBool(v))
		return dc_fail(DC_EFORMAT, "config: '%s' is %s, not a boolean", path, type_name(v));
	*out = cJSON_IsTrue(v) ? 1 : 0;
	return DC_OK;
}

enum dc_status dc_config_string(const struct dc_config *cfg, const char *path, const char **out)
{
	const cJSON *v;
	enum dc_status s = get(cfg, path, &v);
	if (s)
		return s;
	if (!cJSON_IsString(v))
		return dc_fail(DC_EFORMAT, "config: '%s' is %s, not a string", path, type_name(v));
	*out = v->valuestring;
	return DC_OK;
}

static enum dc_status get_array(const struct dc_config *cfg, const char *path, size_t cap,
                                size_t *n, const cJSON **arr)
{
	enum dc_status s = get(cfg, path, arr);
	if (s)
		return s;
	if (!cJSON_IsArray(*arr))
		return dc_fail(DC_EFORMAT, "config: '%s' is %s, not an array", path, type_name(*arr));
	size_t len = (size_t)cJSON_GetArraySize(*arr);
	if (len > cap)
		return dc_fail(DC_ELIMIT, "config: '%s' has %zu elements, more than the %zu expected",
		               path, len, cap);
	*n = len;
	return DC_OK;
}

enum dc_status dc_config_int_array(const struct dc_config *cfg, const char *path,
                                   int64_t *out, size_t cap, size_t *n)
{
	const cJSON *arr, *v;
	size_t len, i = 0;
	enum dc_status s = get_array(cfg, path, cap, &len, &arr);
	if (s)
		return s;
	cJSON_ArrayForEach(v, arr) {
		int64_t x;
		if (num_to_int(v, &x))
			return dc_fail(DC_EFORMAT, "config: '%s' element %zu is not an integer", path, i);
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(v, arr)
		num_to_int(v, &out[i++]);
	*n = len;
	return DC_OK;
}

enum dc_status dc_config_double_array(const struct dc_config *cfg, const char *path,
                                      double *out, size_t cap, size_t *n)
{
	const cJSON *arr, *v;
	size_t len, i = 0;
	enum dc_status s = get_array(cfg, path, cap, &len, &arr);
	if (s)
		return s;
	cJSON_ArrayForEach(v, arr) {
		if (!cJSON_IsNumber(v))
			return dc_fail(DC_EFORMAT, "config: '%s' element %zu is not a number", path, i);
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(v, arr)
		out[i++] = v->valuedouble;
	*n = len;
	return DC_OK;
}

/* ---- index.json --------------------------------------------------------------- */

struct ix_entry {
	const char *name;
	uint32_t shard;
};

struct dc_st_index {
	cJSON *root;                 /* names and shard strings point into it */
	struct ix_entry *e;          /* sorted by name */
	size_t n;
	const char **shard;
	size_t nshard;
};

struct ix_tmp {
	const char *shard;
	size_t i;                    /* entry number in file order */
};

static int cmp_tmp(const void *a, const void *b)
{
	const struct ix_tmp *x = a, *y = b;
	int c = strcmp(x->shard, y->shard);
	return c ? c : (x->i < y->i ? -1 : x->i > y->i);
}

static int cmp_ix_name(const void *a, const void *b)
{
	return strcmp(((const struct ix_entry *)a)->name, ((const struct ix_entry *)b)->name);
}

static int cmp_tmp_i(const void *a, const void *b)
{
	const struct ix_tmp *x = a, *y = b;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int plain_file_name(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 255 && !strchr(s, '/') && !strchr(s, '\\') &&
	       strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

enum dc_status dc_st_index_parse(struct dc_st_index **out, const char *text, size_t len)
{
	*out = NULL;
	struct dc_config *cfg;
	enum dc_status s = dc_config_parse(&cfg, text, len);
	if (s) {
		char msg[400];
		snprintf(msg, sizeof msg, "%s", dc_errmsg());
		return dc_fail(s, "index: %s", msg);
	}
	struct dc_st_index *ix = calloc(1, sizeof *ix);
	if (!ix) {
		dc_config_free(cfg);
		return dc_fail(DC_ENOMEM, "index: out of memory");
	}
	ix->root = cfg->root;
	free(cfg);
	struct ix_tmp *tmp = NULL;
	size_t *first = NULL, *gid = NULL, *rank = NULL;

	const cJSON *wm = cJSON_GetObjectItemCaseSensitive(ix->root, "weight_map");
	if (!cJSON_IsObject(wm)) {
		s = dc_fail(DC_EFORMAT, "index: no \"weight_map\" object");
		goto fail;
	}
	size_t n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, wm) {
		if (!cJSON_IsString(it)) {
			s = dc_fail(DC_EFORMAT, "index: weight_map value for '%s' is not a string",
			            it->string);
			goto fail;
		}
		if (!plain_file_name(it->valuestring)) {
			s = dc_fail(DC_EFORMAT, "index: shard '%.64s' for '%s' is not a plain file name",
			            it->valuestring, it->string);
			goto fail;
		}
		n++;
	}
	ix->e = malloc((n ? n : 1) * sizeof *ix->e);
	tmp = malloc((n ? n : 1) * sizeof *tmp);
	gid = malloc((n ? n : 1) * sizeof *gid);
	first = malloc((n ? n : 1) * sizeof *first);
	rank = malloc((n ? n : 1) * sizeof *rank);
	if (!ix->e || !tmp || !gid || !first || !rank) {
		s = dc_fail(DC_ENOMEM, "index: out of memory");
		goto fail;
	}
	size_t i = 0;
	cJSON_ArrayForEach(it, wm) {
		ix->e[i].name = it->string;
		tmp[i].shard = it->valuestring;
		tmp[i].i = i;
		i++;
	}
	/* Number shards by first appearance: group equal names, order groups by first entry. */
	qsort(tmp, n, sizeof *tmp, cmp_tmp);
	size_t ng = 0;
	for (i = 0; i < n; i++) {
		if (i == 0 || strcmp(tmp[i].shard, tmp[i - 1].shard) != 0) {
			if (ng == INDEX_MAX_SHARDS) {
				s = dc_fail(DC_ELIMIT, "index: more than %d shards", INDEX_MAX_SHARDS);
				goto fail;
			}
			first[ng++] = tmp[i].i;
		}
		gid[tmp[i].i] = ng - 1;
	}
	/* Rank the groups by their first entry: rank[g] is the shard number. */
	struct ix_tmp *grp = malloc((ng ? ng : 1) * sizeof *grp);
	ix->shard = malloc((ng ? ng : 1) * sizeof *ix->shard);
	if (!grp || !ix->shard) {
		free(grp);
		s = dc_fail(DC_ENOMEM, "index: out of memory");
		goto fail;
	}
	for (size_t g = 0; g < ng; g++) {
		grp[g].i = first[g];          /* entry numbers are distinct */
		grp[g].shard = NULL;
		rank[g] = g;
	}
	qsort(grp, ng, sizeof *grp, cmp_tmp_i);
	for (size_t r = 0; r < ng; r++) {
		size_t g = gid[grp[r].i];
		rank[g] = r;
	}
	free(grp);
	ix->nshard = ng;
	for (i = 0; i < n; i++) {
		size_t r = rank[gid[tmp[i].i]];
		ix->e[tmp[i].i].shard = (uint32_t)r;
		ix->shard[r] = tmp[i].shard;
	}
	ix->n = n;
	qsort(ix->e, n, sizeof *ix->e, cmp_ix_name);
	for (i = 1; i < n; i++)
		if (strcmp(ix->e[i - 1].name, ix->e[i].name) == 0) {
			s = dc_fail(DC_EFORMAT, "index: tensor '%s' listed twice", ix->e[i].name);
			goto fail;
		}
	free(tmp);
	free(first);
	free(gid);
	free(rank);
	*out = ix;
	return DC_OK;
fail:
	free(tmp);
	free(first);
	free(gid);
	free(rank);
	dc_st_index_free(ix);
	return s;
}

void dc_st_index_free(struct dc_st_index *ix)
{
	if (!ix)
		return;
	cJSON_Delete(ix->root);
	free(ix->e);
	free(ix->shard);
	free(ix);
}

size_t dc_st_index_shard_count(const struct dc_st_index *ix)
{
	return ix ? ix->nshard : 0;
}

const char *dc_st_index_shard(const struct dc_st_index *ix, size_t i)
{
	return ix && i < ix->nshard ? ix->shard[i] : NULL;
}

size_t dc_st_index_count(const struct dc_st_index *ix)
{
	return ix ? ix->n : 0;
}

long dc_st_index_lookup(const struct dc_st_index *ix, const char *name)
{
	if (!ix || !name)
		return -1;
	struct ix_entry key = { name, 0 };
	const struct ix_entry *e = bsearch(&key, ix->e, ix->n, sizeof key, cmp_ix_name);
	return e ? (long)e->shard : -1;
}

/* ---- model ------------------------------------------------------------------- */

struct mt {
	const struct dc_st_tensor *t;
	uint32_t shard;
};

struct dc_model {
	struct dc_config *cfg;
	struct dc_safetensors **shard;
	char **shard_name;
	size_t nshard;
	struct mt *all;       /* shard order then file order */
	struct mt *sorted;    /* by name */
	size_t n;
};

static int cmp_mt_name(const void *a, const void *b)
{
	return strcmp(((const struct mt *)a)->t->name, ((const struct mt *)b)->t->name);
}

void dc_model_free(struct dc_model *m)
{
	if (!m)
		return;
	dc_config_free(m->cfg);
	for (size_t i = 0; i < m->nshard; i++) {
		dc_safetensors_close(m->shard ? m->shard[i] : NULL);
		free(m->shard_name ? m->shard_name[i] : NULL);
	}
	free(m->shard);
	free(m->shard_name);
	free(m->all);
	free(m->sorted);
	free(m);
}

static enum dc_status empty_config(struct dc_config **cfg)
{
	return dc_config_parse(cfg, "{}", 2);
}

/* Open the listed shard files (names relative to dir) and build the tables. */
static enum dc_status open_shards(struct dc_model *m, const char *dir,
                                  const char *const *names, size_t k)
{
	m->shard = calloc(k ? k : 1, sizeof *m->shard);
	m->shard_name = calloc(k ? k : 1, sizeof *m->shard_name);
	if (!m->shard || !m->shard_name)
		return dc_fail(DC_ENOMEM, "model: out of memory");
	m->nshard = k;
	size_t total = 0;
	for (size_t i = 0; i < k; i++) {
		m->shard_name[i] = dir ? join(dir, names[i]) : strdup(names[i]);
		if (!m->shard_name[i])
			return dc_fail(DC_ENOMEM, "model: out of memory");
		enum dc_status s = dc_safetensors_open(&m->shard[i], m->shard_name[i]);
		if (s)
			return s;
		if (dc_add_size(total, dc_safetensors_count(m->shard[i]), &total))
			return dc_fail(DC_EOVERFLOW, "model: too many tensors");
	}
	m->all = malloc((total ? total : 1) * sizeof *m->all);
	m->sorted = malloc((total ? total : 1) * sizeof *m->sorted);
	if (!m->all || !m->sorted)
		return dc_fail(DC_ENOMEM, "model: out of memory");
	size_t j = 0;
	for (size_t i = 0; i < k; i++)
		for (size_t t = 0; t < dc_safetensors_count(m->shard[i]); t++) {
			m->all[j].t = dc_safetensors_at(m->shard[i], t);
			m->all[j].shard = (uint32_t)i;
			j++;
		}
	m->n = total;
	memcpy(m->sorted, m->all, total * sizeof *m->all);
	qsort(m->sorted, total, sizeof *m->sorted, cmp_mt_name);
	for (size_t i = 1; i < total; i++)
		if (strcmp(m->sorted[i - 1].t->name, m->sorted[i].t->name) == 0)
			return dc_fail(DC_EFORMAT, "model: tensor '%s' is in both '%s' and '%s'",
			               m->sorted[i].t->name, m->shard_name[m->sorted[i - 1].shard],
			               m->shard_name[m->sorted[i].shard]);
	return DC_OK;
}

static enum dc_status load_config_beside(struct dc_model *m, const char *dir, int required)
{
	char *p = join(dir, "config.json");
	if (!p)
		return dc_fail(DC_ENOMEM, "model: out of memory");
	enum dc_status s;
	if (is_regular(p) || required)
		s = dc_config_load(&m->cfg, p);
	else
		s = empty_config(&m->cfg);
	free(p);
	return s;
}

static enum dc_status open_index(struct dc_model *m, const char *dir, const char *index_path)
{
	char *text;
	size_t len;
	enum dc_status s = dc_read_file(index_path, CONFIG_MAX_BYTES, &text, &len);
	if (s)
		return s;
	struct dc_st_index *ix;
	s = dc_st_index_parse(&ix, text, len);
	free(text);
	if (s) {
		char msg[400];
		snprintf(msg, sizeof msg, "%s", dc_errmsg());
		return dc_fail(s, "'%s': %s", index_path, msg);
	}
	s = open_shards(m, dir, ix->shard, ix->nshard);
	for (size_t i = 0; s == DC_OK && i < ix->n; i++) {
		const struct dc_st_tensor *t = dc_safetensors_find(m->shard[ix->e[i].shard],
		                                                   ix->e[i].name);
		if (!t)
			s = dc_fail(DC_EFORMAT, "'%s' lists tensor '%s' in '%s', which lacks it",
			            index_path, ix->e[i].name, ix->shard[ix->e[i].shard]);
	}
	dc_st_index_free(ix);
	return s;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* The single file in dir whose name ends with suffix: 1 found, 0 none, -1 several. */
static int find_only(const char *dir, const char *suffix, const char *not_suffix, char **out)
{
	DIR *d = opendir(dir);
	*out = NULL;
	if (!d)
		return 0;
	int found = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !ends_with(de->d_name, suffix) ||
		    (not_suffix && ends_with(de->d_name, not_suffix)))
			continue;
		char *p = join(dir, de->d_name);
		if (!p || !is_regular(p)) {
			free(p);
			continue;
		}
		if (found++) {
			free(p);
			free(*out);
			*out = NULL;
			found = -1;
			break;
		}
		*out = p;
	}
	closedir(d);
	return found;
}

static enum dc_status open_dir(struct dc_model *m, const char *dir)
{
	static const char *const indexes[] = {
		"model.safetensors.index.json", "diffusion_pytorch_model.safetensors.index.json",
	};
	static const char *const singles[] = {
		"model.safetensors", "diffusion_pytorch_model.safetensors",
	};
	enum dc_status s = load_config_beside(m, dir, 0);
	if (s)
		return s;
	for (size_t i = 0; i < 2; i++) {
		char *p = join(dir, indexes[i]);
		if (!p)
			return dc_fail(DC_ENOMEM, "model: out of memory");
		if (is_regular(p)) {
			s = open_index(m, dir, p);
			free(p);
			return s;
		}
		free(p);
	}
	for (size_t i = 0; i < 2; i++) {
		char *p = join(dir, singles[i]);
		if (!p)
			return dc_fail(DC_ENOMEM, "model: out of memory");
		if (is_regular(p)) {
			const char *name = singles[i];
			s = open_shards(m, dir, &name, 1);
			free(p);
			return s;
		}
		free(p);
	}
	char *p;
	int r = find_only(dir, ".safetensors.index.json", NULL, &p);
	if (r < 0)
		return dc_fail(DC_EFORMAT, "'%s': several *.safetensors.index.json files; "
		               "name the one to use", dir);
	if (r > 0) {
		s = open_index(m, dir, p);
		free(p);
		return s;
	}
	r = find_only(dir, ".safetensors", NULL, &p);
	if (r < 0)
		return dc_fail(DC_EFORMAT, "'%s': several *.safetensors files; name the one to use",
		               dir);
	if (r == 0)
		return dc_fail(DC_ENOTFOUND, "'%s': no safetensors weights in this folder", dir);
	const char *name = p;
	s = open_shards(m, NULL, &name, 1);
	free(p);
	return s;
}

enum dc_status dc_model_open(struct dc_model **out, const char *path)
{
	*out = NULL;
	struct stat sb;
	if (!path || stat(path, &sb) != 0)
		return dc_fail(errno == ENOENT ? DC_ENOTFOUND : DC_EIO, "cannot open model '%s': %s",
		               path ? path : "(null)", strerror(errno));
	struct dc_model *m = calloc(1, sizeof *m);
	if (!m)
		return dc_fail(DC_ENOMEM, "model: out of memory");
	enum dc_status s;
	char *dir = NULL;
	if (S_ISDIR(sb.st_mode)) {
		s = open_dir(m, path);
	} else if (!(dir = dir_of(path))) {
		s = dc_fail(DC_ENOMEM, "model: out of memory");
	} else if (ends_with(path, ".json")) {
		s = load_config_beside(m, dir, 0);
		if (!s)
			s = open_index(m, dir, path);
	} else {
		s = open_shards(m, NULL, &path, 1);
		const char *cfg = s ? NULL : dc_safetensors_meta(m->shard[0], "config");
		if (cfg) {
			s = dc_config_parse(&m->cfg, cfg, strlen(cfg));
			if (s) {
				char msg[400];
				snprintf(msg, sizeof msg, "%s", dc_errmsg());
				s = dc_fail(s, "'%s': __metadata__ \"config\": %s", path, msg);
			}
		} else if (!s)
			s = load_config_beside(m, dir, 0);
	}
	free(dir);
	if (s) {
		dc_model_free(m);
		return s;
	}
	*out = m;
	return DC_OK;
}

const struct dc_config *dc_model_config(const struct dc_model *m)
{
	return m ? m->cfg : NULL;
}

size_t dc_model_shard_count(const struct dc_model *m)
{
	return m ? m->nshard : 0;
}

const struct dc_safetensors *dc_model_shard(const struct dc_model *m, size_t i)
{
	return m && i < m->nshard ? m->shard[i] : NULL;
}

size_t dc_model_count(const struct dc_model *m)
{
	return m ? m->n : 0;
}

const struct dc_st_tensor *dc_model_at(const struct dc_model *m, size_t i)
{
	return m && i < m->n ? m->all[i].t : NULL;
}

static int cmp_key_mt(const void *k, const void *b)
{
	return strcmp((const char *)k, ((const struct mt *)b)->t->name);
}

const struct dc_st_tensor *dc_model_find(const struct dc_model *m, const char *name)
{
	if (!m || !name)
		return NULL;
	const struct mt *e = bsearch(name, m->sorted, m->n, sizeof *m->sorted, cmp_key_mt);
	return e ? e->t : NULL;
}

enum dc_status dc_model_find_checked(const struct dc_model *m, const char *name, int rank,
                                     const int64_t *shape, const struct dc_st_tensor **out)
{
	const struct dc_st_tensor *t = dc_model_find(m, name);
	if (!t)
		return dc_fail(DC_ENOTFOUND, "no tensor '%s'", name ? name : "(null)");
	int ok = t->rank == rank;
	for (int i = 0; ok && i < rank; i++)
		ok = t->shape[i] == shape[i];
	if (!ok) {
		char want[96] = "[", got[96] = "[";
		for (int i = 0; i < rank && i < DC_MAX_RANK; i++)
			snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld",
			         i ? "," : "", (long long)shape[i]);
		for (int i = 0; i < t->rank && i < DC_MAX_RANK; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "," : "",
			         (long long)t->shape[i]);
		strcat(want, "]");
		strcat(got, "]");
		return dc_fail(DC_EFORMAT, "tensor '%s' has shape %s, the config needs %s", name,
		               got, want);
	}
	switch (t->dtype) {
	case DC_F32: case DC_F16: case DC_BF16: case DC_F64:
		break;
	default:
		return dc_fail(DC_EFORMAT, "tensor '%s' has dtype %s, not a float type", name,
		               dc_dtype_name(t->dtype));
	}
	*out = t;
	return DC_OK;
}

static enum dc_status model_find(const struct dc_model *m, const char *name,
                                 const struct dc_st_tensor **t)
{
	*t = dc_model_find(m, name);
	if (!*t)
		return dc_fail(DC_ENOTFOUND, "model has no tensor '%s'", name ? name : "(null)");
	return DC_OK;
}

enum dc_status dc_model_get(const struct dc_model *m, const char *name, struct dc_tensor *view)
{
	const struct dc_st_tensor *t;
	enum dc_status s = model_find(m, name, &t);
	return s ? s : dc__st_tensor_view(t, view);
}

enum dc_status dc_model_load(const struct dc_model *m, const char *name, struct dc_tensor *out)
{
	const struct dc_st_tensor *t;
	enum dc_status s = model_find(m, name, &t);
	if (s)
		return s;
	if ((s = dc_tensor_alloc(out, t->dtype, t->rank, t->shape)) != DC_OK)
		return s;
	if (t->nbytes)
		memcpy(out->data, t->data, t->nbytes);
	return DC_OK;
}

enum dc_status dc_model_get_f32(const struct dc_model *m, const char *name, float *dst, size_t n)
{
	const struct dc_st_tensor *t;
	enum dc_status s = model_find(m, name, &t);
	if (s)
		return s;
	if (n != t->numel)
		return dc_fail(DC_EINVAL, "tensor '%s' has %zu elements, caller expects %zu",
		               t->name, t->numel, n);
	return dc__st_tensor_f32(t, 0, dst, n);
}

enum dc_status dc_model_read_f32(const struct dc_model *m, const char *name,
                                 size_t first, float *dst, size_t n)
{
	const struct dc_st_tensor *t;
	enum dc_status s = model_find(m, name, &t);
	return s ? s : dc__st_tensor_f32(t, first, dst, n);
}

enum dc_status dc_model_config_int(const struct dc_model *m, const char *path, int64_t *out)
{
	return dc_config_int(dc_model_config(m), path, out);
}

enum dc_status dc_model_config_double(const struct dc_model *m, const char *path, double *out)
{
	return dc_config_double(dc_model_config(m), path, out);
}

enum dc_status dc_model_config_bool(const struct dc_model *m, const char *path, int *out)
{
	return dc_config_bool(dc_model_config(m), path, out);
}

enum dc_status dc_model_config_string(const struct dc_model *m, const char *path,
                                      const char **out)
{
	return dc_config_string(dc_model_config(m), path, out);
}

enum dc_status dc_model_config_int_array(const struct dc_model *m, const char *path,
                                         int64_t *out, size_t cap, size_t *n)
{
	return dc_config_int_array(dc_model_config(m), path, out, cap, n);
}

/* ---- two-pass f32 weight blocks ---------------------------------------------------- */

enum dc_status dc_fail_prefixed(enum dc_status s, const char *who)
{
	char msg[512];
	size_t k = strlen(who);
	snprintf(msg, sizeof msg, "%s", dc_errmsg());
	if (strncmp(msg, who, k) == 0 && msg[k] == ':')
		return dc_fail(s, "%s", msg);
	return dc_fail(s, "%s: %s", who, msg);
}

enum dc_status dc_f32_block_get(struct dc_f32_block *b, const float **dst, int rank,
                                const int64_t *shape, const char *fmt, ...)
{
	char name[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	size_t n;
	if (dc_shape_numel(rank, shape, &n))
		return dc_fail(DC_EOVERFLOW, "%s: '%s' too large", b->who, name);
	if (b->pass == 0) {
		const struct dc_st_tensor *t;
		enum dc_status s = dc_model_find_checked(b->m, name, rank, shape, &t);
		if (s)
			return dc_fail_prefixed(s, b->who);
		if (b->cap > SIZE_MAX / sizeof(float) - n)
			return dc_fail(DC_EOVERFLOW, "%s: model too large", b->who);
		b->cap += n;
		return DC_OK;
	}
	if (n > b->cap - b->used)
		return dc_fail(DC_EINVAL, "%s: '%s' does not fit the weight block", b->who, name);
	float *p = b->block + b->used;
	enum dc_status s = dc_model_get_f32(b->m, name, p, n);
	if (s)
		return dc_fail_prefixed(s, b->who);
	b->used += n;
	*dst = p;
	return DC_OK;
}
