/*
 * compare.c - "ctrl-extract compare": controllability metrics between
 * reference and candidate controls, one TSV line per pair (see the METRICS
 * section of ctrl-extract(1)).
 *
 * Each input is read whole and recognised by its content: a PNG (image,
 * edge map or label map), a diffcore tensor stream (music controls, found
 * by role: control.melody [T][12], control.dynamics [T],
 * control.rhythm.beat_times [N] in seconds, as music.c writes them) or a
 * text file of beat times (one per line, first column, as
 * mir_eval.io.load_events).  The metric columns come from --metric or, by
 * default, from the kind of the first pair.  The numbers themselves come
 * from lib/metrics.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"
#include "io/media.h"
#include "io/stream.h"
#include "metrics/metrics.h"
#include "ctrl.h"

static const char usage[] =
	"usage: ctrl-extract compare [--metric LIST] [--tolerance K] [--threshold T]\n"
	"                            [--data-range R] [--ignore-index N] [--beat-window S]\n"
	"                            [--beat-trim S] [--no-header] [--pairs FILE] [-o FILE]\n"
	"                            [REF CAND ...]\n"
	"metrics: f1 precision recall hausdorff (edge maps), ssim ssim-gaussian ms-ssim\n"
	"         ms-ssim-full psnr rmse mse (images), miou (label maps), melody-acc,\n"
	"         dynamics-r, beat-f1 beat-precision beat-recall (music controls)\n"
	"default: edge maps f1,hausdorff; images ssim,psnr,rmse; music: every control\n"
	"         present in both inputs\n";

enum kind { K_IMAGE = 1, K_EDGE = 2, K_LABEL = 4, K_MELODY = 8, K_DYN = 16, K_BEATS = 32 };

enum metric {
	M_F1, M_PREC, M_REC, M_HAUS, M_SSIM, M_SSIMG, M_MSSSIM, M_MSSSIMF, M_PSNR, M_RMSE, M_MSE,
	M_MIOU, M_MELODY, M_DYN, M_BEATF1, M_BEATP, M_BEATR, M_COUNT
};

static const struct { const char *name; enum kind needs; } metrics[M_COUNT] = {
	[M_F1] = { "f1", K_EDGE }, [M_PREC] = { "precision", K_EDGE },
	[M_REC] = { "recall", K_EDGE }, [M_HAUS] = { "hausdorff", K_EDGE },
	[M_SSIM] = { "ssim", K_IMAGE }, [M_SSIMG] = { "ssim-gaussian", K_IMAGE },
	[M_MSSSIM] = { "ms-ssim", K_IMAGE }, [M_MSSSIMF] = { "ms-ssim-full", K_IMAGE },
	[M_PSNR] = { "psnr", K_IMAGE }, [M_RMSE] = { "rmse", K_IMAGE }, [M_MSE] = { "mse", K_IMAGE },
	[M_MIOU] = { "miou", K_LABEL }, [M_MELODY] = { "melody-acc", K_MELODY },
	[M_DYN] = { "dynamics-r", K_DYN }, [M_BEATF1] = { "beat-f1", K_BEATS },
	[M_BEATP] = { "beat-precision", K_BEATS }, [M_BEATR] = { "beat-recall", K_BEATS },
};

static struct {
	double tolerance, threshold, data_range, beat_window, beat_trim;
	long long ignore;
} opt = { 0, 128, 0, DC_BEAT_WINDOW, 0, DC_MIOU_NO_IGNORE };

/* One loaded input. */
struct input {
	const char *path, *name;
	int is_png;
	struct dc_image img;
	float *melody; size_t mel_t; int mel_bins; const char *mel_rate;
	float *dyn; size_t dyn_t; const char *dyn_rate;
	double *beats; size_t nbeats; int has_beats;
	struct dc_record recs[3];
};

static void input_free(struct input *in)
{
	dc_image_release(&in->img);
	free(in->melody);
	free(in->dyn);
	free(in->beats);
	for (int i = 0; i < 3; i++)
		dc_record_release(&in->recs[i]);
	memset(in, 0, sizeof *in);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = dc_cli_open_input(path);
	size_t cap = 1 << 16, n = 0;
	unsigned char *buf = malloc(cap);
	if (!buf)
		dc_die("cannot read '%s': out of memory", dc_cli_input_name(path));
	for (;;) {
		if (n == cap) {
			if (cap > SIZE_MAX / 2 || !(buf = realloc(buf, cap *= 2)))
				dc_die("cannot read '%s': out of memory", dc_cli_input_name(path));
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f))
		dc_die("cannot read '%s': %s", dc_cli_input_name(path), strerror(errno));
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

static int ends_with_ci(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcasecmp(s + a - b, suf) == 0;
}

/* Copy a record's payload to floats, or die. */
static float *record_floats(const struct input *in, const struct dc_record *r, size_t *n)
{
	size_t numel;
	if (dc_shape_numel(r->rank, r->shape, &numel))
		dc_die("cannot read '%s': record '%s': bad shape", in->name, r->name);
	if (r->dtype == DC_BOOL)
		dc_die("cannot read '%s': record '%s': dtype BOOL is not numeric", in->name, r->name);
	float *f = malloc((numel ? numel : 1) * sizeof(float));
	if (!f)
		dc_die("cannot read '%s': out of memory", in->name);
	dc_convert_to_f32(f, r->data, r->dtype, numel);
	*n = numel;
	return f;
}

static const char *rate_of(const struct dc_record *r)
{
	const char *v = dc_record_meta_get(r, "frame_rate");
	return v ? v : dc_record_meta_get(r, "fps");
}

static void load_stream(struct input *in, FILE *fp)
{
	struct dc_stream_reader rd;
	struct dc_record rec;
	enum dc_status st;
	dc_record_init(&rec);
	if ((st = dc_stream_reader_open(&rd, fp)))
		dc_die_status(st, "cannot read '%s'", in->name);
	while ((st = dc_stream_read(&rd, &rec)) == DC_OK) {
		const char *role = rec.role ? rec.role : "";
		size_t n;
		if (!strcmp(role, "control.melody") && !in->melody) {
			if (rec.rank != 2 || rec.shape[1] < 1 || rec.shape[1] > 1024)
				dc_die("cannot read '%s': record '%s': control.melody must be [T][bins]", in->name, rec.name);
			in->melody = record_floats(in, &rec, &n);
			in->mel_t = (size_t)rec.shape[0];
			in->mel_bins = (int)rec.shape[1];
			dc_record_copy_info(&in->recs[0], &rec);
			in->mel_rate = rate_of(&in->recs[0]);
		} else if (!strcmp(role, "control.dynamics") && !in->dyn) {
			if (!(rec.rank == 1 || (rec.rank == 2 && rec.shape[1] == 1)))
				dc_die("cannot read '%s': record '%s': control.dynamics must be [T]", in->name, rec.name);
			in->dyn = record_floats(in, &rec, &in->dyn_t);
			dc_record_copy_info(&in->recs[1], &rec);
			in->dyn_rate = rate_of(&in->recs[1]);
		} else if ((!strcmp(role, "control.rhythm.beat_times") || !strcmp(role, "control.beats")) &&
		           !in->has_beats) {
			if (rec.rank != 1)
				dc_die("cannot read '%s': record '%s': control.beats must be [N]", in->name, rec.name);
			float *f = NULL;
			size_t nb = (size_t)rec.shape[0];
			const char *unit = dc_record_meta_get(&rec, "unit");
			int is_float = (rec.dtype == DC_F32 || rec.dtype == DC_F64 || rec.dtype == DC_F16 ||
			                rec.dtype == DC_BF16) && !(unit && !strcmp(unit, "frames"));
			double fr = 1;
			if (!is_float) {   /* frame indices: need the frame rate */
				const char *r = rate_of(&rec);
				char *e;
				fr = r ? strtod(r, &e) : 0;
				if (!r || *e || !(fr > 0) || !isfinite(fr))
					dc_die("cannot read '%s': record '%s': beat frames need meta frame_rate",
					       in->name, rec.name);
			}
			in->beats = malloc((nb ? nb : 1) * sizeof(double));
			if (!in->beats)
				dc_die("cannot read '%s': out of memory", in->name);
			if (rec.dtype == DC_F64) {
				memcpy(in->beats, rec.data, nb * sizeof(double));
			} else if (rec.dtype == DC_I64) {
				for (size_t i = 0; i < nb; i++)
					in->beats[i] = (double)((const int64_t *)rec.data)[i] / fr;
			} else {
				f = record_floats(in, &rec, &n);
				for (size_t i = 0; i < nb; i++)
					in->beats[i] = f[i] / fr;
				free(f);
			}
			in->nbeats = nb;
			in->has_beats = 1;
		}
	}
	if (st != DC_EEOF)
		dc_die_status(st, "cannot read '%s'", in->name);
	dc_record_release(&rec);
	dc_stream_reader_close(&rd);
	if (!in->melody && !in->dyn && !in->has_beats)
		dc_die("cannot read '%s': no control.melody, control.dynamics or "
		       "control.rhythm.beat_times record", in->name);
}

static void load_text(struct input *in, unsigned char *buf, size_t len)
{
	size_t cap = 64, n = 0, line = 0;
	in->beats = malloc(cap * sizeof(double));
	if (!in->beats)
		dc_die("cannot read '%s': out of memory", in->name);
	char *p = (char *)buf, *end = p + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		line++;
		*eol = 0;
		while (p < eol && isspace((unsigned char)*p))
			p++;
		if (p < eol && *p != '#') {
			char *e;
			errno = 0;
			double v = strtod(p, &e);
			if (e == p || errno || !isfinite(v) ||
			    (*e && !isspace((unsigned char)*e) && *e != ',' && *e != '\r'))
				dc_die("cannot read '%s': line %zu: not a beat time", in->name, line);
			if (n == cap && !(in->beats = realloc(in->beats, (cap *= 2) * sizeof(double))))
				dc_die("cannot read '%s': out of memory", in->name);
			in->beats[n++] = v;
		}
		p = eol + 1;
	}
	in->nbeats = n;
	in->has_beats = 1;
}

static void load_input(struct input *in, const char *path)
{
	memset(in, 0, sizeof *in);
	in->path = path;
	in->name = dc_cli_input_name(path);
	size_t len;
	unsigned char *buf = slurp(path, &len);
	static const unsigned char png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	static const unsigned char dts_magic[8] = { 0x89, 'D', 'T', 'S', '\r', '\n', 0x1a, '\n' };
	int is_png = len >= 8 && !memcmp(buf, png_magic, 8);
	int is_dts = len >= 8 && !memcmp(buf, dts_magic, 8);
	if (!is_png && !is_dts) {
		if (ends_with_ci(in->name, ".png"))
			dc_die("cannot read '%s': not a PNG file", in->name);
		if (ends_with_ci(in->name, ".dts"))
			dc_die("cannot read '%s': not a tensor stream", in->name);
		if (memchr(buf, 0, len) || (len && buf[0] == 0x89))
			dc_die("cannot read '%s': not a PNG file, tensor stream or text file of beat times", in->name);
		load_text(in, buf, len);
		free(buf);
		return;
	}
	FILE *fp = fmemopen(buf, len, "rb");
	if (!fp)
		dc_die("cannot read '%s': %s", in->name, strerror(errno));
	if (is_png) {
		enum dc_status st = dc_png_read(fp, &in->img);
		if (st)
			dc_die_status(st, "cannot read '%s'", in->name);
		in->is_png = 1;
	} else {
		load_stream(in, fp);
	}
	fclose(fp);
	free(buf);
}

/* ---- images ------------------------------------------------------------------- */

/* Colour channels kept (alpha dropped). */
static int colour_channels(const struct dc_image *im)
{
	return im->channels == 2 ? 1 : im->channels == 4 ? 3 : im->channels;
}

static double sample(const struct dc_image *im, size_t px, int c)
{
	size_t i = px * (size_t)im->channels + (size_t)c;
	return im->depth == 16 ? ((const uint16_t *)im->data)[i] : ((const uint8_t *)im->data)[i];
}

/* Float HWC with `ch` colour channels (gray replicated when ch is 3). */
static float *image_floats(const struct input *in, int ch)
{
	const struct dc_image *im = &in->img;
	size_t px = (size_t)im->width * im->height, n;
	if (dc_mul_size(px, (size_t)ch, &n) || n > SIZE_MAX / sizeof(float))
		dc_die("cannot read '%s': image too large", in->name);
	float *f = malloc(n * sizeof(float));
	if (!f)
		dc_die("cannot read '%s': out of memory", in->name);
	int own = colour_channels(im);
	for (size_t p = 0; p < px; p++)
		for (int c = 0; c < ch; c++)
			f[p * ch + c] = (float)sample(im, p, own == 1 ? 0 : c);
	return f;
}

/* All colour samples 0 or full scale, channels equal: an edge map. */
static int is_binary(const struct dc_image *im)
{
	size_t px = (size_t)im->width * im->height;
	double top = im->depth == 16 ? 65535 : 255;
	int ch = colour_channels(im);
	for (size_t p = 0; p < px; p++) {
		double v0 = sample(im, p, 0);
		if (v0 != 0 && v0 != top)
			return 0;
		for (int c = 1; c < ch; c++)
			if (sample(im, p, c) != v0)
				return 0;
	}
	return 1;
}

static uint8_t *edge_mask(const struct input *in)
{
	const struct dc_image *im = &in->img;
	size_t px = (size_t)im->width * im->height;
	double t = im->depth == 16 ? opt.threshold * 257.0 : opt.threshold;
	int ch = colour_channels(im);
	uint8_t *m = malloc(px ? px : 1);
	if (!m)
		dc_die("cannot read '%s': out of memory", in->name);
	for (size_t p = 0; p < px; p++) {
		double v = 0;
		for (int c = 0; c < ch; c++)
			if (sample(im, p, c) > v)
				v = sample(im, p, c);
		m[p] = v >= t;
	}
	return m;
}

static uint32_t *label_map(const struct input *in)
{
	const struct dc_image *im = &in->img;
	size_t px = (size_t)im->width * im->height;
	int ch = colour_channels(im);
	if (ch == 3 && im->depth == 16)
		dc_die("cannot read '%s': 16-bit colour label maps are not supported", in->name);
	uint32_t *l = malloc((px ? px : 1) * sizeof(uint32_t));
	if (!l)
		dc_die("cannot read '%s': out of memory", in->name);
	for (size_t p = 0; p < px; p++)
		l[p] = ch == 1 ? (uint32_t)sample(im, p, 0) :
		       ((uint32_t)sample(im, p, 0) << 16) | ((uint32_t)sample(im, p, 1) << 8) |
		       (uint32_t)sample(im, p, 2);
	return l;
}

/* ---- one pair ------------------------------------------------------------------- */

static const char *kind_name(const struct input *in)
{
	if (in->is_png)
		return "an image";
	if (in->melody || in->dyn)
		return "a music control stream";
	return "a list of beat times";
}

static double metric_value(enum metric m, struct input *a, struct input *b, int pairno)
{
	enum kind need = metrics[m].needs;
	int img = need & (K_IMAGE | K_EDGE | K_LABEL);
	if (img != 0) {
		if (!a->is_png || !b->is_png)
			dc_die("pair %d: %s needs two images, but '%s' is %s", pairno, metrics[m].name,
			       a->is_png ? b->name : a->name, kind_name(a->is_png ? b : a));
		if (a->img.width != b->img.width || a->img.height != b->img.height)
			dc_die("pair %d: '%s' is %dx%d but '%s' is %dx%d", pairno, a->name, a->img.width,
			       a->img.height, b->name, b->img.width, b->img.height);
		if (a->img.depth != b->img.depth)
			dc_die("pair %d: '%s' is %d-bit but '%s' is %d-bit", pairno, a->name, a->img.depth,
			       b->name, b->img.depth);
	}
	int w = a->img.width, h = a->img.height;
	size_t px = (size_t)w * (size_t)h;
	enum dc_status st = DC_OK;
	double v = NAN;
	if (need == K_EDGE) {
		uint8_t *ma = edge_mask(a), *mb = edge_mask(b);
		struct dc_prf p;
		if (m == M_HAUS) {
			st = dc_hausdorff(ma, mb, w, h, &v);
		} else if (!(st = dc_edge_f1(ma, mb, w, h, opt.tolerance, &p))) {
			v = m == M_F1 ? p.f1 : m == M_PREC ? p.precision : p.recall;
		}
		free(ma); free(mb);
	} else if (need == K_IMAGE) {
		int ca = colour_channels(&a->img), cb = colour_channels(&b->img);
		int ch = ca > cb ? ca : cb;
		float *fa = image_floats(a, ch), *fb = image_floats(b, ch);
		double range = opt.data_range > 0 ? opt.data_range : a->img.depth == 16 ? 65535 : 255;
		struct dc_ssim_opts o;
		switch (m) {
		case M_SSIM: dc_ssim_opts_skimage(&o, range); st = dc_ssim(fa, fb, w, h, ch, &o, &v); break;
		case M_SSIMG: dc_ssim_opts_gaussian(&o, range); st = dc_ssim(fa, fb, w, h, ch, &o, &v); break;
		case M_MSSSIM: st = dc_msssim(fa, fb, w, h, ch, range, DC_MSSSIM_VALID, &v); break;
		case M_MSSSIMF: st = dc_msssim(fa, fb, w, h, ch, range, DC_MSSSIM_FULL, &v); break;
		case M_PSNR: st = dc_psnr(fa, fb, px * ch, range, &v); break;
		case M_MSE: st = dc_mse(fa, fb, px * ch, &v); break;
		default: if (!(st = dc_mse(fa, fb, px * ch, &v))) v = sqrt(v); break;
		}
		free(fa); free(fb);
	} else if (need == K_LABEL) {
		uint32_t *la = label_map(a), *lb = label_map(b);
		if (colour_channels(&a->img) != colour_channels(&b->img))
			dc_die("pair %d: '%s' and '%s' are not both gray or both colour label maps",
			       pairno, a->name, b->name);
		st = dc_miou(la, lb, px, opt.ignore, &v, NULL);
		free(la); free(lb);
	} else if (need == K_MELODY) {
		struct input *x = !a->melody ? a : b;
		if (!a->melody || !b->melody)
			dc_die("pair %d: melody-acc: no control.melody record in '%s'", pairno, x->name);
		if (a->mel_bins != b->mel_bins)
			dc_die("pair %d: melody-acc: '%s' has %d pitch classes but '%s' has %d", pairno,
			       a->name, a->mel_bins, b->name, b->mel_bins);
		if (a->mel_rate && b->mel_rate && strtod(a->mel_rate, NULL) != strtod(b->mel_rate, NULL))
			dc_die("pair %d: melody-acc: frame rates differ (%s and %s)", pairno, a->mel_rate, b->mel_rate);
		st = dc_melody_accuracy(a->melody, a->mel_t, b->melody, b->mel_t, a->mel_bins, &v);
	} else if (need == K_DYN) {
		struct input *x = !a->dyn ? a : b;
		if (!a->dyn || !b->dyn)
			dc_die("pair %d: dynamics-r: no control.dynamics record in '%s'", pairno, x->name);
		if (a->dyn_rate && b->dyn_rate && strtod(a->dyn_rate, NULL) != strtod(b->dyn_rate, NULL))
			dc_die("pair %d: dynamics-r: frame rates differ (%s and %s)", pairno, a->dyn_rate, b->dyn_rate);
		st = dc_pearson(a->dyn, b->dyn, a->dyn_t < b->dyn_t ? a->dyn_t : b->dyn_t, &v);
	} else {
		struct input *x = !a->has_beats ? a : b;
		struct dc_prf p;
		if (!a->has_beats || !b->has_beats)
			dc_die("pair %d: %s: no beat times in '%s'", pairno, metrics[m].name, x->name);
		if (!(st = dc_beat_f1(a->beats, a->nbeats, b->beats, b->nbeats, opt.beat_window,
		                      opt.beat_trim, &p)))
			v = m == M_BEATF1 ? p.f1 : m == M_BEATP ? p.precision : p.recall;
	}
	if (st)
		dc_die_status(st, "pair %d ('%s', '%s'): %s", pairno, a->name, b->name, metrics[m].name);
	return v;
}

static int default_metrics(const struct input *a, const struct input *b, enum metric *list)
{
	int n = 0;
	if (a->is_png && b->is_png) {
		if (is_binary(&a->img) && is_binary(&b->img)) {
			list[n++] = M_F1;
			list[n++] = M_HAUS;
		} else {
			list[n++] = M_SSIM;
			list[n++] = M_PSNR;
			list[n++] = M_RMSE;
		}
		return n;
	}
	if (a->is_png || b->is_png)
		dc_die("pair 1: '%s' is %s but '%s' is %s", a->name, kind_name(a), b->name, kind_name(b));
	if (a->melody && b->melody) list[n++] = M_MELODY;
	if (a->dyn && b->dyn) list[n++] = M_DYN;
	if (a->has_beats && b->has_beats) list[n++] = M_BEATF1;
	if (!n)
		dc_die("pair 1: '%s' and '%s' have no control in common", a->name, b->name);
	return n;
}

static int parse_metrics(const char *arg, enum metric *list)
{
	int n = 0;
	char *s = strdup(arg), *save = NULL;
	if (!s)
		dc_die("out of memory");
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k;
		for (k = 0; k < M_COUNT; k++)
			if (!strcmp(t, metrics[k].name))
				break;
		if (k == M_COUNT)
			dc_usage_error("unknown metric '%s'", t);
		if (n == M_COUNT)
			dc_usage_error("too many metrics in --metric");
		list[n++] = (enum metric)k;
	}
	free(s);
	if (!n)
		dc_usage_error("invalid value for --metric: '%s'", arg);
	return n;
}

/* ---- pairs ---------------------------------------------------------------------- */

struct pairs {
	char **p;   /* 2n paths */
	size_t n, cap;
};

static void pairs_add(struct pairs *ps, const char *a, const char *b)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 16;
		if (!(ps->p = realloc(ps->p, ps->cap * 2 * sizeof(char *))))
			dc_die("out of memory");
	}
	if (!(ps->p[2 * ps->n] = strdup(a)) || !(ps->p[2 * ps->n + 1] = strdup(b)))
		dc_die("out of memory");
	ps->n++;
}

static void read_pairs_file(struct pairs *ps, const char *path)
{
	size_t len, line = 0, before = ps->n;
	unsigned char *buf = slurp(path, &len);
	const char *name = dc_cli_input_name(path);
	char *p = (char *)buf, *end = p + len;
	if (memchr(buf, 0, len))
		dc_die("cannot read '%s': not a text file", name);
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		line++;
		*eol = 0;
		if (eol > p && eol[-1] == '\r')
			eol[-1] = 0;
		if (*p && *p != '#') {
			char *tab = strchr(p, '\t');
			if (!tab || tab == p || !tab[1] || strchr(tab + 1, '\t'))
				dc_die("cannot read '%s': line %zu: expected 'REF<TAB>CAND'", name, line);
			*tab = 0;
			pairs_add(ps, p, tab + 1);
		}
		p = eol + 1;
	}
	free(buf);
	if (ps->n == before)
		dc_die("cannot read '%s': no pairs", name);
}

static void print_value(FILE *out, double v)
{
	if (isnan(v))
		fputs("nan", out);
	else if (isinf(v))
		fputs(v > 0 ? "inf" : "-inf", out);
	else
		fprintf(out, "%.10g", v);
}

enum {
	OPT_METRIC = DC_OPT_TOOL_BASE, OPT_TOL, OPT_THRESH, OPT_RANGE, OPT_IGNORE,
	OPT_BWIN, OPT_BTRIM, OPT_NOHDR, OPT_PAIRS
};

int ctrl_compare_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "metric", required_argument, 0, OPT_METRIC },
		{ "tolerance", required_argument, 0, OPT_TOL },
		{ "threshold", required_argument, 0, OPT_THRESH },
		{ "data-range", required_argument, 0, OPT_RANGE },
		{ "ignore-index", required_argument, 0, OPT_IGNORE },
		{ "beat-window", required_argument, 0, OPT_BWIN },
		{ "beat-trim", required_argument, 0, OPT_BTRIM },
		{ "no-header", no_argument, 0, OPT_NOHDR },
		{ "pairs", required_argument, 0, OPT_PAIRS },
		DC_CLI_LONGOPTS,
		{ 0, 0, 0, 0 }
	};
	struct dc_cli *cli = dc_cli_init("ctrl-extract", usage);
	enum metric list[M_COUNT];
	int nmetrics = 0, header = 1, c;
	const char *pairs_path = NULL;
	optind = 0;
	while ((c = getopt_long(argc, argv, DC_CLI_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_METRIC: nmetrics = parse_metrics(optarg, list); break;
		case OPT_TOL: opt.tolerance = dc_cli_double("tolerance", optarg, 0, 1e6); break;
		case OPT_THRESH: opt.threshold = dc_cli_double("threshold", optarg, 1, 255); break;
		case OPT_RANGE: opt.data_range = dc_cli_double("data-range", optarg, 1e-300, 1e300); break;
		case OPT_IGNORE: opt.ignore = dc_cli_long("ignore-index", optarg, 0, UINT32_MAX); break;
		case OPT_BWIN: opt.beat_window = dc_cli_double("beat-window", optarg, 0, 10); break;
		case OPT_BTRIM: opt.beat_trim = dc_cli_double("beat-trim", optarg, -1e6, 1e6); break;
		case OPT_NOHDR: header = 0; break;
		case OPT_PAIRS: pairs_path = optarg; break;
		default: dc_cli_option(cli, c, optarg);
		}
	}
	int npos = argc - optind;
	if (npos % 2)
		dc_usage_error("odd number of inputs: %d (expected REF CAND pairs)", npos);
	if (!npos && !pairs_path)
		dc_usage_error("missing REF CAND (or --pairs FILE)");
	struct pairs ps = {0};
	for (int i = optind; i < argc; i += 2)
		pairs_add(&ps, argv[i], argv[i + 1]);
	if (pairs_path)
		read_pairs_file(&ps, pairs_path);
	int nstdin = 0;
	for (size_t i = 0; i < 2 * ps.n; i++) {
		if (!strcmp(ps.p[i], "-"))
			nstdin++;
		if (strpbrk(ps.p[i], "\t\n"))
			dc_usage_error("input name with a tab or newline: '%s'", ps.p[i]);
	}
	if (nstdin > 1 || (nstdin && pairs_path && !strcmp(pairs_path, "-")))
		dc_usage_error("standard input can be read only once");

	FILE *out = dc_cli_open_output(0);
	for (size_t i = 0; i < ps.n; i++) {
		struct input a, b;
		int pairno = (int)(i + 1);
		load_input(&a, ps.p[2 * i]);
		load_input(&b, ps.p[2 * i + 1]);
		if (i == 0 && !nmetrics)
			nmetrics = default_metrics(&a, &b, list);
		double vals[M_COUNT];
		for (int k = 0; k < nmetrics; k++)
			vals[k] = metric_value(list[k], &a, &b, pairno);
		if (i == 0 && header) {   /* after the first pair worked */
			fputs("ref\tcand", out);
			for (int k = 0; k < nmetrics; k++)
				fprintf(out, "\t%s", metrics[list[k]].name);
			fputc('\n', out);
		}
		fprintf(out, "%s\t%s", ps.p[2 * i], ps.p[2 * i + 1]);
		for (int k = 0; k < nmetrics; k++) {
			fputc('\t', out);
			print_value(out, vals[k]);
		}
		fputc('\n', out);
		input_free(&a);
		input_free(&b);
	}
	dc_cli_commit_output();
	for (size_t i = 0; i < 2 * ps.n; i++)
		free(ps.p[i]);
	free(ps.p);
	return 0;
}
