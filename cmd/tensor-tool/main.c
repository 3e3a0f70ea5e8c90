/*
 * tensor-tool - inspect diffcore tensor streams and convert them to and from
 * .npy, CSV, PNG and WAV (see tensor-tool(1), diffcore-stream(5)).
 *
 * Every subcommand reads its input front to back (pipes work) and fails
 * with one "tensor-tool: what: why" line and exit status 1 on bad data;
 * usage errors exit 2.  Output goes to stdout or, with -o, to a file that
 * appears only when the command succeeds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "io/media.h"
#include "io/npy.h"
#include "io/stream.h"

static const char usage[] =
	"usage: tensor-tool [-fhq] [-o file] command [argument ...]\n"
	"       tensor-tool info [--json] [file ...]\n"
	"       tensor-tool cat [file ...]\n"
	"       tensor-tool pick [-i file] name|index ...\n"
	"       tensor-tool split [-d dir] [-p prefix] [file]\n"
	"       tensor-tool set [-s select] [-N name] [-r role] [-S shape] [-m key=value] [-M key] [file]\n"
	"       tensor-tool to-npy [-s select] [file]\n"
	"       tensor-tool from-npy [-N name] [-r role] [-m key=value] [file ...]\n"
	"       tensor-tool to-csv [-s select] [file]\n"
	"       tensor-tool from-csv [-N name] [-r role] [-m key=value] [-T dtype] [file]\n"
	"       tensor-tool to-png [-s select] [file]\n"
	"       tensor-tool from-png [-N name] [-r role] [-m key=value] [file]\n"
	"       tensor-tool to-wav [-R rate] [-s select] [file]\n"
	"       tensor-tool from-wav [-N name] [-r role] [-m key=value] [file]\n"
	"common options: -o/--output FILE, -f/--force, -q/--quiet, -h/--help, --version\n";

enum {
	OPT_JSON = DC_OPT_TOOL_BASE,
};

static struct {
	const char *select;     /* -s: record name or index */
	const char *name;       /* -N */
	const char *role;       /* -r */
	const char *shape;      /* -S */
	const char *dtype;      /* -T */
	const char *dir;        /* -d */
	const char *prefix;     /* -p */
	const char *input;      /* -i */
	const char *rate;       /* -R */
	const char *meta[256];  /* -m key=value */
	int nmeta;
	const char *unset[256]; /* -M key */
	int nunset;
	int json;
} opt;

static char used_opts[64];

/* ---- helpers ------------------------------------------------------------------------ */

static void allow_only(const char *cmd, const char *allowed)
{
	for (const char *p = used_opts; *p; p++)
		if (!strchr(allowed, *p)) {
			if (*p == 'J')
				dc_usage_error("%s: option --json not allowed", cmd);
			dc_usage_error("%s: option -%c not allowed", cmd, *p);
		}
}

struct in_stream {
	const char *path;
	FILE *fp;
	struct dc_stream_reader r;
};

static void in_open(struct in_stream *in, const char *path, int skip)
{
	in->path = path;
	in->fp = dc_cli_open_input(path);
	enum dc_status st = dc_stream_reader_open(&in->r, in->fp);
	if (st)
		dc_die_status(st, "cannot read '%s'", dc_cli_input_name(path));
	in->r.skip_payload = skip;
}

/* 1 with a record, 0 at the END record; dies on any error. */
static int in_next(struct in_stream *in, struct dc_record *rec)
{
	enum dc_status st = dc_stream_read(&in->r, rec);
	if (st == DC_EEOF)
		return 0;
	if (st)
		dc_die_status(st, "cannot read '%s'", dc_cli_input_name(in->path));
	return 1;
}

static void in_close(struct in_stream *in)
{
	dc_stream_reader_close(&in->r);
	if (in->fp != stdin)
		fclose(in->fp);
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* A selector is a record index (all digits) or a name. */
static int selects(const char *sel, const struct dc_record *rec, uint64_t idx)
{
	if (all_digits(sel)) {
		errno = 0;
		unsigned long long v = strtoull(sel, NULL, 10);
		return errno != ERANGE && v == idx;
	}
	return strcmp(sel, rec->name) == 0;
}

static const char *shape_str(const struct dc_record *rec, char *buf, size_t n, char sep)
{
	int o = 0;
	buf[0] = 0;
	for (int i = 0; i < rec->rank && (size_t)o < n; i++)
		o += snprintf(buf + o, n - (size_t)o, "%s%lld", i ? (sep == 'x' ? "x" : " ") : "",
		              (long long)rec->shape[i]);
	if (rec->rank == 0)
		snprintf(buf, n, "scalar");
	return buf;
}

struct out_stream {
	FILE *fp;
	struct dc_stream_writer w;
};

static void out_open(struct out_stream *o)
{
	o->fp = dc_cli_open_output(1);
	enum dc_status st = dc_stream_writer_open(&o->w, o->fp);
	if (st)
		dc_die_status(st, "cannot write output");
}

static void out_write(struct out_stream *o, const struct dc_record *rec)
{
	enum dc_status st = dc_stream_write(&o->w, rec);
	if (st)
		dc_die_status(st, "cannot write output");
}

static void out_finish(struct out_stream *o)
{
	enum dc_status st = dc_stream_writer_finish(&o->w);
	if (st)
		dc_die_status(st, "cannot write output");
	dc_stream_writer_close(&o->w);
	dc_cli_commit_output();
}

/* Apply -N, -r, -m and -M to a record. */
static void apply_info_opts(struct dc_record *rec, const char *what)
{
	enum dc_status st;
	if (opt.name && (st = dc_record_set_name(rec, opt.name)))
		dc_die_status(st, "invalid value for -N");
	if (opt.role && (st = dc_record_set_role(rec, opt.role)))
		dc_die_status(st, "invalid value for -r");
	for (int i = 0; i < opt.nunset; i++)
		dc_record_meta_unset(rec, opt.unset[i]);
	for (int i = 0; i < opt.nmeta; i++) {
		const char *eq = strchr(opt.meta[i], '=');
		char key[DC_STREAM_MAX_KEY + 2];
		size_t kn = (size_t)(eq - opt.meta[i]);
		if (kn >= sizeof key)
			dc_die("invalid value for -m: '%s': key too long", opt.meta[i]);
		memcpy(key, opt.meta[i], kn);
		key[kn] = 0;
		if ((st = dc_record_meta_set(rec, key, eq + 1)))
			dc_die_status(st, "invalid value for -m");
	}
	(void)what;
}

/* Read the single selected record of a stream (by -s, or the only one). */
static void read_selected(const char *path, struct dc_record *out)
{
	struct in_stream in;
	struct dc_record rec;
	int found = 0;
	uint64_t n = 0;
	dc_record_init(&rec);
	dc_record_init(out);
	in_open(&in, path, 0);
	while (in_next(&in, &rec)) {
		int take = opt.select ? selects(opt.select, &rec, rec.index) : 1;
		if (take) {
			if (found && !opt.select)
				dc_die("cannot convert '%s': stream has several records; choose one with -s",
				       dc_cli_input_name(path));
			if (!found) {
				*out = rec;
				dc_record_init(&rec);
				found = 1;
			}
		}
		n++;
	}
	dc_record_release(&rec);
	in_close(&in);
	if (!found) {
		if (opt.select)
			dc_die("cannot convert '%s': no record '%s'", dc_cli_input_name(path), opt.select);
		dc_die("cannot convert '%s': stream has no records", dc_cli_input_name(path));
	}
}

static char *base_name(const char *path, const char *fallback)
{
	if (!path || strcmp(path, "-") == 0)
		return strdup(fallback);
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	char *s = strdup(*b ? b : fallback);
	char *dot = strrchr(s, '.');
	if (dot && dot != s)
		*dot = 0;
	return s;
}

/* ---- info ---------------------------------------------------------------------------- */

static int cmd_info(int argc, char **argv)
{
	allow_only("info", "Jo");
	int n = argc ? argc : 1;
	FILE *out = dc_cli_open_output(0);
	if (!opt.json)
		fprintf(out, "%sindex\tname\tdtype\tshape\trole\tbytes\toffset\tmeta\n", argc > 1 ? "file\t" : "");
	for (int f = 0; f < n; f++) {
		struct in_stream in;
		struct dc_record rec;
		dc_record_init(&rec);
		in_open(&in, argc ? argv[f] : NULL, 1);
		while (in_next(&in, &rec)) {
			char sh[256];
			uint64_t off = rec.offset;
			if (opt.json) {
				cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray(), *m = cJSON_CreateObject();
				if (argc > 1)
					cJSON_AddStringToObject(o, "file", argv[f]);
				cJSON_AddNumberToObject(o, "index", (double)rec.index);
				cJSON_AddStringToObject(o, "name", rec.name);
				cJSON_AddStringToObject(o, "dtype", dc_dtype_name(rec.dtype));
				for (int i = 0; i < rec.rank; i++)
					cJSON_AddItemToArray(a, cJSON_CreateNumber((double)rec.shape[i]));
				cJSON_AddItemToObject(o, "shape", a);
				if (rec.role)
					cJSON_AddStringToObject(o, "role", rec.role);
				else
					cJSON_AddNullToObject(o, "role");
				cJSON_AddNumberToObject(o, "bytes", (double)rec.nbytes);
				cJSON_AddNumberToObject(o, "offset", (double)off);
				for (size_t i = 0; i < rec.nmeta; i++)
					cJSON_AddStringToObject(m, rec.meta_keys[i], rec.meta_vals[i]);
				cJSON_AddItemToObject(o, "meta", m);
				char *s = cJSON_PrintUnformatted(o);
				if (!s)
					dc_die("out of memory");
				fprintf(out, "%s\n", s);
				cJSON_free(s);
				cJSON_Delete(o);
			} else {
				if (argc > 1)
					fprintf(out, "%s\t", argv[f]);
				fprintf(out, "%llu\t%s\t%s\t%s\t%s\t%zu\t%llu\t", (unsigned long long)rec.index, rec.name,
				       dc_dtype_name(rec.dtype), shape_str(&rec, sh, sizeof sh, 'x'),
				       rec.role ? rec.role : "-", rec.nbytes, (unsigned long long)off);
				for (size_t i = 0; i < rec.nmeta; i++)
					fprintf(out, "%s%s=%s", i ? " " : "", rec.meta_keys[i], rec.meta_vals[i]);
				fputs(rec.nmeta ? "\n" : "-\n", out);
			}
			dc_record_release(&rec);
		}
		in_close(&in);
	}
	dc_cli_commit_output();
	return 0;
}

/* ---- cat / pick / set ------------------------------------------------------------------ */

static int cmd_cat(int argc, char **argv)
{
	allow_only("cat", "o");
	struct out_stream o;
	struct dc_record rec;
	dc_record_init(&rec);
	int n = argc ? argc : 1;
	/* open the first input before the output so a bad input leaves nothing */
	out_open(&o);
	for (int f = 0; f < n; f++) {
		struct in_stream in;
		in_open(&in, argc ? argv[f] : NULL, 0);
		while (in_next(&in, &rec)) {
			out_write(&o, &rec);
			dc_record_release(&rec);
		}
		in_close(&in);
	}
	out_finish(&o);
	return 0;
}

static int cmd_pick(int argc, char **argv)
{
	allow_only("pick", "io");
	if (argc == 0)
		dc_usage_error("pick: no record name or index given");
	struct in_stream in;
	struct out_stream o;
	struct dc_record rec;
	static char *found; /* static: still reachable if we die midway */
	found = calloc((size_t)argc, 1);
	dc_record_init(&rec);
	in_open(&in, opt.input, 0);
	out_open(&o);
	uint64_t n = 0;
	while (in_next(&in, &rec)) {
		int take = 0;
		for (int i = 0; i < argc; i++)
			if (selects(argv[i], &rec, rec.index))
				take = found[i] = 1;
		if (take)
			out_write(&o, &rec);
		dc_record_release(&rec);
		n++;
	}
	for (int i = 0; i < argc; i++)
		if (!found[i])
			dc_die("cannot pick from '%s': no record '%s'", dc_cli_input_name(opt.input), argv[i]);
	in_close(&in);
	free(found);
	out_finish(&o);
	return 0;
}

static void parse_shape_arg(const char *s, int *rank, int64_t *shape)
{
	*rank = 0;
	if (strcmp(s, "scalar") == 0 || !*s)
		return;
	const char *p = s;
	for (;;) {
		char *end;
		if (*rank >= DC_MAX_RANK)
			dc_usage_error("invalid value for -S: '%s' (rank above %d)", s, DC_MAX_RANK);
		errno = 0;
		if (*p < '0' || *p > '9')
			dc_usage_error("invalid value for -S: '%s' (dimensions like 2x3x4)", s);
		unsigned long long v = strtoull(p, &end, 10);
		if (errno || v > (1ull << 48))
			dc_usage_error("invalid value for -S: '%s'", s);
		shape[(*rank)++] = (int64_t)v;
		if (!*end)
			return;
		if (*end != 'x' && *end != ',')
			dc_usage_error("invalid value for -S: '%s' (dimensions like 2x3x4)", s);
		p = end + 1;
	}
}

static int cmd_set(int argc, char **argv)
{
	allow_only("set", "sNrSmMo");
	if (argc > 1)
		dc_usage_error("set: at most one input file");
	struct in_stream in;
	struct out_stream o;
	struct dc_record rec;
	int rank = 0, hit = 0;
	int64_t shape[DC_MAX_RANK];
	if (opt.shape)
		parse_shape_arg(opt.shape, &rank, shape);
	dc_record_init(&rec);
	in_open(&in, argc ? argv[0] : NULL, 0);
	out_open(&o);
	uint64_t n = 0;
	while (in_next(&in, &rec)) {
		if (!opt.select || selects(opt.select, &rec, rec.index)) {
			hit = 1;
			apply_info_opts(&rec, "set");
			if (opt.shape) {
				size_t numel, nb;
				if (dc_shape_numel(rank, shape, &numel) || dc_mul_size(numel, dc_dtype_size(rec.dtype), &nb) ||
				    nb != rec.nbytes)
					dc_die("cannot reshape record %llu ('%s') to %s: element count differs",
					       (unsigned long long)n, rec.name, opt.shape);
				rec.rank = rank;
				memcpy(rec.shape, shape, sizeof shape);
			}
		}
		out_write(&o, &rec);
		dc_record_release(&rec);
		n++;
	}
	in_close(&in);
	if (!hit && opt.select)
		dc_die("cannot edit '%s': no record '%s'", dc_cli_input_name(argc ? argv[0] : NULL), opt.select);
	out_finish(&o);
	return 0;
}

/* ---- split ----------------------------------------------------------------------------- */

static int cmd_split(int argc, char **argv)
{
	allow_only("split", "dp");
	if (argc > 1)
		dc_usage_error("split: at most one input file");
	const char *dir = opt.dir ? opt.dir : ".";
	const char *prefix = opt.prefix ? opt.prefix : "";
	struct in_stream in;
	struct dc_record rec;
	static char **seen; /* static: still reachable if we die midway */
	static size_t nseen;
	dc_record_init(&rec);
	in_open(&in, argc ? argv[0] : NULL, 0);
	while (in_next(&in, &rec)) {
		/* file name: prefix + name with anything but [A-Za-z0-9._-] as '_' */
		size_t ln = strlen(rec.name);
		char *fn = malloc(strlen(dir) + strlen(prefix) + ln + 16);
		if (!fn)
			dc_die("out of memory");
		int o = sprintf(fn, "%s/%s", dir, prefix);
		for (size_t i = 0; i < ln; i++) {
			char c = rec.name[i];
			fn[o++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			          c == '-' || c == '_' || (c == '.' && i > 0) ? c : '_';
		}
		strcpy(fn + o, ".dts");
		for (size_t i = 0; i < nseen; i++)
			if (strcmp(seen[i], fn) == 0)
				dc_die("cannot split '%s': records %zu and %llu both map to '%s'",
				       dc_cli_input_name(argc ? argv[0] : NULL), i, (unsigned long long)rec.index, fn);
		FILE *fp = dc_cli_side_open(fn);   /* whole or not at all */
		struct dc_stream_writer w;
		enum dc_status st = dc_stream_writer_open(&w, fp);
		if (!st)
			st = dc_stream_write(&w, &rec);
		if (!st)
			st = dc_stream_writer_finish(&w);
		dc_stream_writer_close(&w);
		if (st)
			dc_die_status(st, "cannot write '%s'", fn);
		dc_cli_side_commit(fp);
		char **ns = realloc(seen, (nseen + 1) * sizeof *seen);
		if (!ns)
			dc_die("out of memory");
		seen = ns;
		seen[nseen++] = fn;
		dc_record_release(&rec);
	}
	in_close(&in);
	for (size_t i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	return 0;
}

/* ---- npy ------------------------------------------------------------------------------- */

static int cmd_to_npy(int argc, char **argv)
{
	allow_only("to-npy", "so");
	if (argc > 1)
		dc_usage_error("to-npy: at most one input file");
	struct in_stream in;
	struct dc_record rec;
	FILE *out = NULL;
	uint64_t n = 0;
	int found = 0;
	dc_record_init(&rec);
	in_open(&in, argc ? argv[0] : NULL, 0);
	while (in_next(&in, &rec)) {
		if (!opt.select || selects(opt.select, &rec, rec.index)) {
			struct dc_tensor t;
			dc_record_take_tensor(&rec, &t);
			if (!out)
				out = dc_cli_open_output(1);
			enum dc_status st = dc_npy_write(out, &t);
			dc_tensor_release(&t);
			if (st)
				dc_die_status(st, "cannot write record %llu ('%s') as npy", (unsigned long long)n, rec.name);
			found = 1;
		}
		dc_record_release(&rec);
		n++;
	}
	in_close(&in);
	if (!found)
		dc_die("cannot convert '%s': no record%s%s%s", dc_cli_input_name(argc ? argv[0] : NULL),
		       opt.select ? " '" : "s", opt.select ? opt.select : "", opt.select ? "'" : "");
	dc_cli_commit_output();
	return 0;
}

static int cmd_from_npy(int argc, char **argv)
{
	allow_only("from-npy", "Nrmo");
	struct out_stream o;
	int n = argc ? argc : 1, opened = 0;
	for (int f = 0; f < n; f++) {
		const char *path = argc ? argv[f] : NULL;
		FILE *fp = dc_cli_open_input(path);
		char *base = base_name(path, "array");
		for (int k = 0;; k++) {
			struct dc_tensor t;
			enum dc_status st = dc_npy_read(fp, &t);
			if (st == DC_EEOF) {
				if (k == 0)
					dc_die("cannot read '%s': empty input, expected an npy file", dc_cli_input_name(path));
				break;
			}
			if (st)
				dc_die_status(st, "cannot read '%s'", dc_cli_input_name(path));
			if (!opened) {
				out_open(&o);
				opened = 1;
			}
			struct dc_record rec;
			char nm[300];
			dc_record_init(&rec);
			apply_info_opts(&rec, "from-npy");
			const char *stem = opt.name ? opt.name : base;
			if (k)
				snprintf(nm, sizeof nm, "%.250s.%d", stem, k);
			else
				snprintf(nm, sizeof nm, "%.250s", stem);
			if ((st = dc_record_set_name(&rec, nm)))
				dc_die_status(st, "cannot name record from '%s'", dc_cli_input_name(path));
			dc_record_set_tensor(&rec, &t);
			out_write(&o, &rec);
			dc_record_release(&rec);
			dc_tensor_release(&t);
		}
		free(base);
		if (fp != stdin)
			fclose(fp);
	}
	out_finish(&o);
	return 0;
}

/* ---- CSV ------------------------------------------------------------------------------- */

/* Column names <-> meta.columns: comma separated, CSV quoting. */
static char *join_columns(char **names, size_t n)
{
	size_t cap = 16, len = 0;
	char *s = malloc(cap);
	for (size_t j = 0; j < n && s; j++) {
		const char *c = names[j] ? names[j] : "";
		int q = strpbrk(c, ",\"") != NULL;
		size_t need = len + 2 * strlen(c) + 4;
		if (need > cap) {
			while (cap < need)
				cap *= 2;
			char *ns = realloc(s, cap);
			if (!ns) {
				free(s);
				return NULL;
			}
			s = ns;
		}
		if (j)
			s[len++] = ',';
		if (q)
			s[len++] = '"';
		for (; *c; c++) {
			if (*c == '"')
				s[len++] = '"';
			s[len++] = *c;
		}
		if (q)
			s[len++] = '"';
	}
	if (s)
		s[len] = 0;
	return s;
}

/* Split meta.columns into exactly n names (malloc'd); 0 on success. */
static int split_columns(const char *s, size_t n, char **out)
{
	size_t j = 0;
	const char *p = s;
	for (;;) {
		size_t cap = strlen(p) + 1, len = 0;
		char *c = malloc(cap);
		if (!c)
			return -1;
		if (*p == '"') {
			p++;
			for (;;) {
				if (!*p) {
					free(c);
					return -1;
				}
				if (*p == '"') {
					if (p[1] == '"') {
						c[len++] = '"';
						p += 2;
						continue;
					}
					p++;
					break;
				}
				c[len++] = *p++;
			}
		} else {
			while (*p && *p != ',')
				c[len++] = *p++;
		}
		c[len] = 0;
		if (j >= n) {
			free(c);
			return -1;
		}
		out[j++] = c;
		if (!*p)
			break;
		if (*p != ',')
			return -1;
		p++;
	}
	return j == n ? 0 : -1;
}

static int cmd_to_csv(int argc, char **argv)
{
	allow_only("to-csv", "so");
	if (argc > 1)
		dc_usage_error("to-csv: at most one input file");
	struct dc_record rec;
	read_selected(argc ? argv[0] : NULL, &rec);
	if (rec.rank != 2 && rec.rank != 1)
		dc_die("cannot convert record %llu ('%s') to CSV: rank %d (need 1 or 2)",
		       (unsigned long long)rec.index, rec.name, rec.rank);
	struct dc_csv csv;
	memset(&csv, 0, sizeof csv);
	csv.rows = (size_t)rec.shape[0];
	csv.cols = rec.rank == 2 ? (size_t)rec.shape[1] : 1;
	size_t total = csv.rows * csv.cols;
	csv.values = malloc((total ? total : 1) * sizeof(double));
	csv.colnames = calloc(csv.cols ? csv.cols : 1, sizeof(char *));
	if (!csv.values || !csv.colnames)
		dc_die("out of memory");
	const char *fmt = "%.17g";
	const void *d = rec.data;
	for (size_t i = 0; i < total; i++) {
		double v;
		switch (rec.dtype) {
		case DC_F32: v = ((const float *)d)[i]; fmt = "%.9g"; break;
		case DC_F64: v = ((const double *)d)[i]; break;
		case DC_F16: v = dc_f16_to_f32(((const uint16_t *)d)[i]); fmt = "%.9g"; break;
		case DC_BF16: v = dc_bf16_to_f32(((const uint16_t *)d)[i]); fmt = "%.9g"; break;
		case DC_I8: v = ((const int8_t *)d)[i]; break;
		case DC_U8: v = ((const uint8_t *)d)[i]; break;
		case DC_I16: v = ((const int16_t *)d)[i]; break;
		case DC_U16: v = ((const uint16_t *)d)[i]; break;
		case DC_I32: v = ((const int32_t *)d)[i]; break;
		case DC_U32: v = ((const uint32_t *)d)[i]; break;
		case DC_BOOL: v = ((const uint8_t *)d)[i]; break;
		case DC_I64: {
			int64_t x = ((const int64_t *)d)[i];
			if (x > (INT64_C(1) << 53) || x < -(INT64_C(1) << 53))
				dc_die("cannot convert record %llu ('%s') to CSV: I64 value %lld is not exact as a number",
				       (unsigned long long)rec.index, rec.name, (long long)x);
			v = (double)x;
			break;
		}
		case DC_U64: {
			uint64_t x = ((const uint64_t *)d)[i];
			if (x > (UINT64_C(1) << 53))
				dc_die("cannot convert record %llu ('%s') to CSV: U64 value %llu is not exact as a number",
				       (unsigned long long)rec.index, rec.name, (unsigned long long)x);
			v = (double)x;
			break;
		}
		default: v = NAN;
		}
		csv.values[i] = v;
	}
	const char *cols = dc_record_meta_get(&rec, "columns");
	if (!cols || split_columns(cols, csv.cols, csv.colnames)) {
		for (size_t j = 0; j < csv.cols; j++) {
			free(csv.colnames[j]);
			if (asprintf(&csv.colnames[j], "%zu", j) < 0)
				dc_die("out of memory");
		}
	}
	/* a time axis (meta index_name, start, freq) becomes the first column again */
	const char *iname = dc_record_meta_get(&rec, "index_name"), *istart = dc_record_meta_get(&rec, "start");
	const char *ifreq = dc_record_meta_get(&rec, "freq");
	char (*stamps)[20] = NULL;
	if (iname) {
		int64_t t0 = 0, step = 0;
		char *end = NULL;
		if (csv.rows && (!istart || dc_parse_timestamp(istart, &t0)))
			dc_die("cannot convert record %llu ('%s') to CSV: bad or missing 'start' metadata",
			       (unsigned long long)rec.index, rec.name);
		if (csv.rows > 1 && (!ifreq || (step = strtoll(ifreq, &end, 10)) <= 0 || *end))
			dc_die("cannot convert record %llu ('%s') to CSV: bad or missing 'freq' metadata",
			       (unsigned long long)rec.index, rec.name);
		stamps = malloc((csv.rows ? csv.rows : 1) * sizeof *stamps);
		csv.index = malloc((csv.rows ? csv.rows : 1) * sizeof(char *));
		if (!stamps || !csv.index)
			dc_die("out of memory");
		for (size_t i = 0; i < csv.rows; i++) {
			dc_format_timestamp(t0 + (int64_t)i * step, stamps[i]);
			csv.index[i] = stamps[i];
		}
		csv.index_name = (char *)iname;
	}
	FILE *out = dc_cli_open_output(0);
	enum dc_status st = dc_csv_write(out, &csv, fmt);
	if (st)
		dc_die_status(st, "cannot write CSV");
	for (size_t j = 0; j < csv.cols; j++)
		free(csv.colnames[j]);
	free(csv.colnames);
	free(csv.values);
	free(csv.index);
	free(stamps);
	dc_record_release(&rec);
	dc_cli_commit_output();
	return 0;
}

/*
 * Convert doubles to `dt`: float types round to nearest (decimal text is
 * rarely exact in binary), integer types must hold the value exactly or
 * the conversion dies naming the first value that does not fit.
 */
static void convert_exact(const double *src, size_t n, enum dc_dtype dt, void *dst, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		double v = src[i], back;
		switch (dt) {
		case DC_F64: ((double *)dst)[i] = v; back = v; break;
		case DC_F32: ((float *)dst)[i] = (float)v; back = (float)v; break;
		case DC_F16: {
			uint16_t h = dc_f32_to_f16((float)v);
			((uint16_t *)dst)[i] = h;
			back = dc_f16_to_f32(h);
			break;
		}
		case DC_BF16: {
			uint16_t h = dc_f32_to_bf16((float)v);
			((uint16_t *)dst)[i] = h;
			back = dc_bf16_to_f32(h);
			break;
		}
#define INT_CASE(D, T, LO, HI)                                                   \
		case D:                                                          \
			if (!(v >= (double)(LO) && v <= (double)(HI)) || v != floor(v)) \
				goto inexact;                                    \
			((T *)dst)[i] = (T)v;                                    \
			back = (double)((T *)dst)[i];                            \
			break;
		INT_CASE(DC_I8, int8_t, INT8_MIN, INT8_MAX)
		INT_CASE(DC_U8, uint8_t, 0, UINT8_MAX)
		INT_CASE(DC_I16, int16_t, INT16_MIN, INT16_MAX)
		INT_CASE(DC_U16, uint16_t, 0, UINT16_MAX)
		INT_CASE(DC_I32, int32_t, INT32_MIN, INT32_MAX)
		INT_CASE(DC_U32, uint32_t, 0, UINT32_MAX)
		INT_CASE(DC_I64, int64_t, -9007199254740992.0, 9007199254740992.0)
		INT_CASE(DC_U64, uint64_t, 0, 9007199254740992.0)
		INT_CASE(DC_BOOL, uint8_t, 0, 1)
#undef INT_CASE
		default:
			goto inexact;
		}
		if (dt >= DC_I8 && back != v)
			goto inexact;
		continue;
inexact:
		dc_die("cannot convert %s: value %.17g (element %zu) is not exact as %s", what, v, i,
		       dc_dtype_name(dt));
	}
}

static int cmd_from_csv(int argc, char **argv)
{
	allow_only("from-csv", "NrmTo");
	if (argc > 1)
		dc_usage_error("from-csv: at most one input file");
	const char *path = argc ? argv[0] : NULL;
	enum dc_dtype dt = DC_F64;
	if (opt.dtype && dc_dtype_parse(opt.dtype, &dt))
		dc_usage_error("invalid value for -T: '%s' (F32, F64, I16, ...)", opt.dtype);
	FILE *fp = dc_cli_open_input(path);
	struct dc_csv csv;
	enum dc_status st = dc_csv_read(fp, &csv);
	if (st)
		dc_die_status(st, "cannot read '%s'", dc_cli_input_name(path));
	if (fp != stdin)
		fclose(fp);
	/* A date column must be a regular time axis: kept as start + freq. */
	char start[24] = "", freq[24] = "";
	if (csv.index) {
		int64_t t0 = 0, step = 0, t;
		for (size_t i = 0; i < csv.rows; i++) {
			if (dc_parse_timestamp(csv.index[i], &t))
				dc_die("cannot convert '%s': first column '%s' is neither numbers nor timestamps "
				       "('%s' in row %zu)", dc_cli_input_name(path), csv.index_name ? csv.index_name : "",
				       csv.index[i], i + 1);
			if (i == 0)
				t0 = t;
			else if (i == 1)
				step = t - t0;
			if (i && (step <= 0 || t != t0 + (int64_t)i * step))
				dc_die("cannot convert '%s': column '%s' is not a regular time axis (row %zu)",
				       dc_cli_input_name(path), csv.index_name ? csv.index_name : "", i + 1);
		}
		if (csv.rows) {
			dc_format_timestamp(t0, start);
			snprintf(freq, sizeof freq, "%lld", (long long)step);
		}
	}
	size_t total = csv.rows * csv.cols, nbytes;
	if (dc_mul_size(total, dc_dtype_size(dt), &nbytes))
		dc_die("cannot convert '%s': table too large", dc_cli_input_name(path));
	void *data = dc_alloc(nbytes);
	if (!data)
		dc_die("out of memory");
	char what[300];
	snprintf(what, sizeof what, "'%s'", dc_cli_input_name(path));
	convert_exact(csv.values, total, dt, data, what);
	struct dc_record rec;
	dc_record_init(&rec);
	char *base = base_name(path, "table");
	char *cols = join_columns(csv.colnames, csv.cols);
	if (!cols || (st = dc_record_set_name(&rec, base)) || (st = dc_record_meta_set(&rec, "columns", cols)))
		dc_die_status(st ? st : DC_ENOMEM, "cannot convert '%s'", dc_cli_input_name(path));
	if (csv.index && ((st = dc_record_meta_set(&rec, "index_name", csv.index_name ? csv.index_name : "")) ||
	                  (*start && (st = dc_record_meta_set(&rec, "start", start))) ||
	                  (*freq && csv.rows > 1 && (st = dc_record_meta_set(&rec, "freq", freq)))))
		dc_die_status(st, "cannot convert '%s'", dc_cli_input_name(path));
	apply_info_opts(&rec, "from-csv");
	rec.dtype = dt;
	rec.rank = 2;
	rec.shape[0] = (int64_t)csv.rows;
	rec.shape[1] = (int64_t)csv.cols;
	rec.data = data;
	rec.nbytes = nbytes;
	rec.owns_data = 1;
	struct out_stream o;
	out_open(&o);
	out_write(&o, &rec);
	out_finish(&o);
	free(base);
	free(cols);
	dc_record_release(&rec);
	dc_csv_release(&csv);
	return 0;
}

/* ---- PNG ------------------------------------------------------------------------------- */

static const char *const image_roles[5] = { NULL, "image.gray", "image.graya", "image.rgb", "image.rgba" };

static int cmd_to_png(int argc, char **argv)
{
	allow_only("to-png", "so");
	if (argc > 1)
		dc_usage_error("to-png: at most one input file");
	struct dc_record rec;
	read_selected(argc ? argv[0] : NULL, &rec);
	int64_t c = rec.rank == 3 ? rec.shape[2] : 1;
	if ((rec.dtype != DC_U8 && rec.dtype != DC_U16) || (rec.rank != 2 && rec.rank != 3) || c < 1 || c > 4 ||
	    rec.shape[0] < 1 || rec.shape[1] < 1 || rec.shape[0] > DC_IMAGE_MAX_DIM || rec.shape[1] > DC_IMAGE_MAX_DIM)
		dc_die("cannot convert record %llu ('%s') to PNG: need U8 or U16 [height, width, 1-4 channels], "
		       "not %s rank %d", (unsigned long long)rec.index, rec.name, dc_dtype_name(rec.dtype), rec.rank);
	struct dc_image img = { (int)rec.shape[1], (int)rec.shape[0], (int)c, rec.dtype == DC_U8 ? 8 : 16, rec.data };
	FILE *out = dc_cli_open_output(1);
	enum dc_status st = dc_png_write(out, &img, NULL);
	if (st)
		dc_die_status(st, "cannot write PNG");
	dc_record_release(&rec);
	dc_cli_commit_output();
	return 0;
}

static int cmd_from_png(int argc, char **argv)
{
	allow_only("from-png", "Nrmo");
	if (argc > 1)
		dc_usage_error("from-png: at most one input file");
	const char *path = argc ? argv[0] : NULL;
	FILE *fp = dc_cli_open_input(path);
	struct dc_image img;
	enum dc_status st = dc_png_read(fp, &img);
	if (st)
		dc_die_status(st, "cannot read '%s'", dc_cli_input_name(path));
	if (fp != stdin)
		fclose(fp);
	struct dc_record rec;
	dc_record_init(&rec);
	char *base = base_name(path, "image");
	if ((st = dc_record_set_name(&rec, base)) || (st = dc_record_set_role(&rec, image_roles[img.channels])))
		dc_die_status(st, "cannot convert '%s'", dc_cli_input_name(path));
	apply_info_opts(&rec, "from-png");
	rec.dtype = img.depth == 16 ? DC_U16 : DC_U8;
	rec.rank = 3;
	rec.shape[0] = img.height;
	rec.shape[1] = img.width;
	rec.shape[2] = img.channels;
	rec.data = img.data;
	rec.nbytes = (size_t)img.height * (size_t)img.width * (size_t)img.channels * (size_t)(img.depth / 8);
	struct out_stream o;
	out_open(&o);
	out_write(&o, &rec);
	out_finish(&o);
	free(base);
	dc_record_release(&rec);
	dc_image_release(&img);
	return 0;
}

/* ---- WAV ------------------------------------------------------------------------------- */

/* Sample formats kept exactly: name, libsndfile subtype, dtype, scale 2^(bits-1) (0: float). */
static const struct {
	const char *name;
	int subtype;
	enum dc_dtype dt;
	double scale;
} sample_formats[] = {
	{ "pcm8", SF_FORMAT_PCM_U8, DC_I8, 128.0 },
	{ "pcm16", SF_FORMAT_PCM_16, DC_I16, 32768.0 },
	{ "pcm24", SF_FORMAT_PCM_24, DC_I32, 8388608.0 },
	{ "float", SF_FORMAT_FLOAT, DC_F32, 0 },
};
#define NFORMATS (sizeof sample_formats / sizeof sample_formats[0])

static int cmd_from_wav(int argc, char **argv)
{
	allow_only("from-wav", "Nrmo");
	if (argc > 1)
		dc_usage_error("from-wav: at most one input file");
	const char *path = argc ? argv[0] : NULL;
	FILE *fp = dc_cli_open_input(path);
	struct dc_audio au;
	enum dc_status st = dc_audio_read(fp, &au);
	if (st)
		dc_die_status(st, "cannot read '%s'", dc_cli_input_name(path));
	if (fp != stdin)
		fclose(fp);
	size_t k = NFORMATS - 1; /* default: float */
	for (size_t i = 0; i < NFORMATS; i++)
		if (sample_formats[i].subtype == au.subtype ||
		    (au.subtype == SF_FORMAT_PCM_S8 && sample_formats[i].subtype == SF_FORMAT_PCM_U8))
			k = i;
	size_t n = au.frames * (size_t)au.channels, nbytes = n * dc_dtype_size(sample_formats[k].dt);
	void *data = dc_alloc(nbytes);
	if (!data)
		dc_die("out of memory");
	double sc = sample_formats[k].scale;
	for (size_t i = 0; i < n; i++) {
		switch (sample_formats[k].dt) {
		case DC_I8: ((int8_t *)data)[i] = (int8_t)lrint(au.data[i] * sc); break;
		case DC_I16: ((int16_t *)data)[i] = (int16_t)lrint(au.data[i] * sc); break;
		case DC_I32: ((int32_t *)data)[i] = (int32_t)lrint(au.data[i] * sc); break;
		default: ((float *)data)[i] = au.data[i];
		}
	}
	struct dc_record rec;
	dc_record_init(&rec);
	char *base = base_name(path, "audio"), rate[16];
	snprintf(rate, sizeof rate, "%d", au.sample_rate);
	if ((st = dc_record_set_name(&rec, base)) || (st = dc_record_set_role(&rec, "audio.pcm")) ||
	    (st = dc_record_meta_set(&rec, "sample_rate", rate)) ||
	    (st = dc_record_meta_set(&rec, "sample_format", sample_formats[k].name)))
		dc_die_status(st, "cannot convert '%s'", dc_cli_input_name(path));
	apply_info_opts(&rec, "from-wav");
	rec.dtype = sample_formats[k].dt;
	rec.rank = 2;
	rec.shape[0] = (int64_t)au.frames;
	rec.shape[1] = au.channels;
	rec.data = data;
	rec.nbytes = nbytes;
	rec.owns_data = 1;
	struct out_stream o;
	out_open(&o);
	out_write(&o, &rec);
	out_finish(&o);
	free(base);
	dc_record_release(&rec);
	dc_audio_release(&au);
	return 0;
}

static int cmd_to_wav(int argc, char **argv)
{
	allow_only("to-wav", "sRo");
	if (argc > 1)
		dc_usage_error("to-wav: at most one input file");
	long rate = opt.rate ? dc_cli_long("rate", opt.rate, 1, 1536000) : 0;
	struct dc_record rec;
	read_selected(argc ? argv[0] : NULL, &rec);
	if (!rate) {
		const char *r = dc_record_meta_get(&rec, "sample_rate");
		char *end;
		if (!r)
			dc_die("cannot convert record %llu ('%s') to WAV: no sample_rate metadata (use -R)",
			       (unsigned long long)rec.index, rec.name);
		errno = 0;
		rate = strtol(r, &end, 10);
		if (errno || *end || rate < 1 || rate > 1536000)
			dc_die("cannot convert record %llu ('%s') to WAV: bad sample_rate '%s'",
			       (unsigned long long)rec.index, rec.name, r);
	}
	const char *fmtname = dc_record_meta_get(&rec, "sample_format");
	size_t k = NFORMATS;
	for (size_t i = 0; i < NFORMATS; i++)
		if (sample_formats[i].dt == rec.dtype &&
		    (!fmtname || strcmp(fmtname, sample_formats[i].name) == 0 ||
		     (rec.dtype == DC_I32 && !fmtname)))
			k = i;
	if (k == NFORMATS || (rec.rank != 1 && rec.rank != 2) || rec.shape[0] < 1 ||
	    (rec.rank == 2 && (rec.shape[1] < 1 || rec.shape[1] > DC_AUDIO_MAX_CHANNELS)))
		dc_die("cannot convert record %llu ('%s') to WAV: need I8, I16, I32 (pcm24) or F32 "
		       "[frames, channels], not %s rank %d", (unsigned long long)rec.index, rec.name,
		       dc_dtype_name(rec.dtype), rec.rank);
	struct dc_audio au = { (int)rate, rec.rank == 2 ? (int)rec.shape[1] : 1, (size_t)rec.shape[0], NULL,
	                       sample_formats[k].subtype };
	size_t n = rec.nbytes / dc_dtype_size(rec.dtype);
	if (!(au.data = malloc((n ? n : 1) * sizeof(float))))
		dc_die("out of memory");
	double sc = sample_formats[k].scale;
	for (size_t i = 0; i < n; i++) {
		switch (rec.dtype) {
		case DC_I8: au.data[i] = (float)(((int8_t *)rec.data)[i] / sc); break;
		case DC_I16: au.data[i] = (float)(((int16_t *)rec.data)[i] / sc); break;
		case DC_I32: {
			int32_t v = ((int32_t *)rec.data)[i];
			if (v < -8388608 || v > 8388607)
				dc_die("cannot convert record %llu ('%s') to WAV: sample %d out of 24-bit range",
				       (unsigned long long)rec.index, rec.name, v);
			au.data[i] = (float)(v / sc);
			break;
		}
		default: au.data[i] = ((float *)rec.data)[i];
		}
	}
	FILE *out = dc_cli_open_output(1);
	enum dc_status st = dc_audio_write(out, &au, "wav", sample_formats[k].subtype);
	if (st)
		dc_die_status(st, "cannot write WAV");
	free(au.data);
	dc_record_release(&rec);
	dc_cli_commit_output();
	return 0;
}

/* ---- main ------------------------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{ "info", cmd_info }, { "cat", cmd_cat }, { "pick", cmd_pick }, { "split", cmd_split },
	{ "set", cmd_set },
	{ "to-npy", cmd_to_npy }, { "from-npy", cmd_from_npy },
	{ "to-csv", cmd_to_csv }, { "from-csv", cmd_from_csv },
	{ "to-png", cmd_to_png }, { "from-png", cmd_from_png },
	{ "to-wav", cmd_to_wav }, { "from-wav", cmd_from_wav },
};

static void mark(char c)
{
	size_t n = strlen(used_opts);
	if (!strchr(used_opts, c) && n + 1 < sizeof used_opts) {
		used_opts[n] = c;
		used_opts[n + 1] = 0;
	}
}

int main(int argc, char **argv)
{
	struct dc_cli *cli = dc_cli_init("tensor-tool", usage);
	static const struct option longopts[] = {
		DC_CLI_LONGOPTS,
		{ "json", no_argument, 0, OPT_JSON },
		{ "select", required_argument, 0, 's' },
		{ "name", required_argument, 0, 'N' },
		{ "role", required_argument, 0, 'r' },
		{ "shape", required_argument, 0, 'S' },
		{ "dtype", required_argument, 0, 'T' },
		{ "meta", required_argument, 0, 'm' },
		{ "unset", required_argument, 0, 'M' },
		{ "dir", required_argument, 0, 'd' },
		{ "prefix", required_argument, 0, 'p' },
		{ "input", required_argument, 0, 'i' },
		{ "rate", required_argument, 0, 'R' },
		{ 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, DC_CLI_SHORTOPTS "s:N:r:S:T:m:M:d:p:i:R:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': opt.select = optarg; break;
		case 'N': opt.name = optarg; break;
		case 'r': opt.role = optarg; break;
		case 'S': opt.shape = optarg; break;
		case 'T': opt.dtype = optarg; break;
		case 'd': opt.dir = optarg; break;
		case 'p': opt.prefix = optarg; break;
		case 'i': opt.input = optarg; break;
		case 'R': opt.rate = optarg; break;
		case OPT_JSON: opt.json = 1; c = 'J'; break;
		case 'm':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				dc_usage_error("invalid value for -m: '%s' (expected key=value)", optarg);
			if (opt.nmeta >= 256)
				dc_usage_error("too many -m options");
			opt.meta[opt.nmeta++] = optarg;
			break;
		case 'M':
			if (opt.nunset >= 256)
				dc_usage_error("too many -M options");
			opt.unset[opt.nunset++] = optarg;
			break;
		default:
			dc_cli_option(cli, c, optarg);
			if (c != 'o')
				continue;
		}
		mark((char)c);
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		dc_usage_error("no command given (info, cat, pick, split, set, to-npy, from-npy, ...)");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	dc_usage_error("unknown command '%s'", argv[0]);
}
