/*
 * music.c - the music conditions of ctrl-extract(1): melody, dynamics and
 * rhythm, Music ControlNet's time-varying controls computed by lib/signal.
 *
 * Audio (WAV/FLAC/... through libsndfile) is mixed down to mono by
 * averaging the channels and resampled with dc_audio_resample to the
 * control's analysis rate when it differs.  The output is a tensor stream
 * with one record per control (rhythm: five), every record carrying its
 * frame rate, sample rate, hop and definition in the metadata; --csv
 * writes "time,value..." text instead.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/media.h"
#include "io/stream.h"
#include "signal/signal.h"
#include "ctrl.h"

static const char usage_melody[] =
	"usage: ctrl-extract melody [--csv] [--sample-rate HZ] [--n-fft N] [--hop N]\n"
	"                           [--cutoff HZ] [IN] [-o OUT]\n";
static const char usage_dynamics[] =
	"usage: ctrl-extract dynamics [--csv] [--sample-rate HZ] [--n-fft N] [--hop N]\n"
	"                             [--mels N] [--fmax HZ] [--savgol-window N]\n"
	"                             [--savgol-order N] [--amplitude-db] [IN] [-o OUT]\n";
static const char usage_rhythm[] =
	"usage: ctrl-extract rhythm [--csv] [--sample-rate HZ] [--n-fft N] [--hop N]\n"
	"                           [--start-bpm BPM] [--bpm BPM] [--tightness T] [--no-trim]\n"
	"                           [--beats-per-bar N] [--activation-rate FPS] [--sigma S]\n"
	"                           [IN] [-o OUT]\n";

enum {
	OPT_CSV = DC_OPT_TOOL_BASE,
	OPT_SR,
	OPT_NFFT,
	OPT_HOP,
	OPT_CUTOFF,
	OPT_MELS,
	OPT_FMAX,
	OPT_SGW,
	OPT_SGO,
	OPT_ADB,
	OPT_START_BPM,
	OPT_BPM,
	OPT_TIGHT,
	OPT_NOTRIM,
	OPT_BPB,
	OPT_ARATE,
	OPT_SIGMA,
};

static const struct option longopts[] = {
	{ "csv", no_argument, 0, OPT_CSV },
	{ "sample-rate", required_argument, 0, OPT_SR },
	{ "n-fft", required_argument, 0, OPT_NFFT },
	{ "hop", required_argument, 0, OPT_HOP },
	{ "cutoff", required_argument, 0, OPT_CUTOFF },
	{ "mels", required_argument, 0, OPT_MELS },
	{ "fmax", required_argument, 0, OPT_FMAX },
	{ "savgol-window", required_argument, 0, OPT_SGW },
	{ "savgol-order", required_argument, 0, OPT_SGO },
	{ "amplitude-db", no_argument, 0, OPT_ADB },
	{ "start-bpm", required_argument, 0, OPT_START_BPM },
	{ "bpm", required_argument, 0, OPT_BPM },
	{ "tightness", required_argument, 0, OPT_TIGHT },
	{ "no-trim", no_argument, 0, OPT_NOTRIM },
	{ "beats-per-bar", required_argument, 0, OPT_BPB },
	{ "activation-rate", required_argument, 0, OPT_ARATE },
	{ "sigma", required_argument, 0, OPT_SIGMA },
	DC_CLI_LONGOPTS,
	{ 0, 0, 0, 0 }
};

/* which options each condition accepts */
static const int melody_opts[] = { OPT_CSV, OPT_SR, OPT_NFFT, OPT_HOP, OPT_CUTOFF, 0 };
static const int dynamics_opts[] = { OPT_CSV, OPT_SR, OPT_NFFT, OPT_HOP, OPT_MELS, OPT_FMAX,
                                     OPT_SGW, OPT_SGO, OPT_ADB, 0 };
static const int rhythm_opts[] = { OPT_CSV, OPT_SR, OPT_NFFT, OPT_HOP, OPT_START_BPM, OPT_BPM,
                                   OPT_TIGHT, OPT_NOTRIM, OPT_BPB, OPT_ARATE, OPT_SIGMA, 0 };

static const char *opt_name(int c)
{
	for (const struct option *o = longopts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

static const char *const pc_names[12] = {
	"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"
};

/* ---- helpers ------------------------------------------------------------------------ */

static void meta(struct dc_record *rec, const char *key, const char *fmt, ...) DC_PRINTF(3, 4);
static void meta(struct dc_record *rec, const char *key, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	enum dc_status st = dc_record_meta_set(rec, key, buf);
	if (st)
		dc_die_status(st, "cannot set metadata '%s'", key);
}

/* Read, mix down and resample to `sr` (0: keep the file's rate). */
static float *load_mono(const char *path, int sr, size_t *n, int *src_rate, int *src_channels)
{
	FILE *fp = dc_cli_open_input(path);
	struct dc_audio au;
	enum dc_status st = dc_audio_read(fp, &au);
	if (fp != stdin)
		fclose(fp);
	if (st)
		dc_die_status(st, "cannot read '%s'", dc_cli_input_name(path));
	if (au.frames == 0) {
		dc_audio_release(&au);
		dc_die("cannot read '%s': no audio samples", dc_cli_input_name(path));
	}
	/* mix down in place (sample i only reads samples >= i) and keep the buffer */
	size_t ch = (size_t)au.channels;
	float *mono = au.data;
	if (ch > 1)
		for (size_t i = 0; i < au.frames; i++) {
			float s = 0;
			for (size_t c = 0; c < ch; c++)
				s += au.data[i * ch + c];
			mono[i] = s / (float)ch;
		}
	au.data = NULL;
	*src_rate = au.sample_rate;
	*src_channels = au.channels;
	size_t frames = au.frames;
	dc_audio_release(&au);
	if (sr > 0 && sr != *src_rate) {
		float *y;
		size_t ny;
		st = dc_audio_resample(mono, frames, *src_rate, sr, &y, &ny);
		dc_free(mono);
		if (st)
			dc_die_status(st, "cannot resample '%s' from %d Hz to %d Hz",
			              dc_cli_input_name(path), *src_rate, sr);
		mono = y;
		frames = ny;
	}
	*n = frames;
	return mono;
}

static void common_meta(struct dc_record *rec, const char *control, double sr, int n_fft, int hop,
                        double frame_rate, int src_rate, int src_channels)
{
	meta(rec, "control", "%s", control);
	meta(rec, "sample_rate", "%.10g", sr);
	meta(rec, "n_fft", "%d", n_fft);
	meta(rec, "hop", "%d", hop);
	meta(rec, "frame_rate", "%.10g", frame_rate);
	meta(rec, "frame_time", "t = frame * hop / sample_rate (centred frames)");
	meta(rec, "source_sample_rate", "%d", src_rate);
	meta(rec, "source_channels", "%d", src_channels);
	meta(rec, "mixdown", "mean of the channels");
	if (src_rate != (int)sr)
		meta(rec, "resample", "scipy resample_poly semantics (Kaiser 5 windowed sinc)");
}

struct out {
	FILE *fp;
	struct dc_stream_writer w;
	int csv;
};

static void out_open(struct out *o, int csv)
{
	o->csv = csv;
	o->fp = dc_cli_open_output(!csv);
	if (!csv) {
		enum dc_status st = dc_stream_writer_open(&o->w, o->fp);
		if (st)
			dc_die_status(st, "cannot write output");
	}
}

static void out_record(struct out *o, struct dc_record *rec, const void *data, enum dc_dtype dt,
                       int rank, const int64_t *shape)
{
	rec->dtype = dt;
	rec->rank = rank;
	size_t numel = 1;
	for (int i = 0; i < rank; i++) {
		rec->shape[i] = shape[i];
		numel *= (size_t)shape[i];
	}
	rec->data = (void *)data;
	rec->nbytes = numel * dc_dtype_size(dt);
	rec->owns_data = 0;
	enum dc_status st = dc_stream_write(&o->w, rec);
	if (st)
		dc_die_status(st, "cannot write output");
	rec->data = NULL;
	dc_record_release(rec);
}

static void out_finish(struct out *o)
{
	if (!o->csv) {
		enum dc_status st = dc_stream_writer_finish(&o->w);
		if (st)
			dc_die_status(st, "cannot write output");
		dc_stream_writer_close(&o->w);
	}
	if (ferror(o->fp))
		dc_die("cannot write output");
	dc_cli_commit_output();
}

static void new_record(struct dc_record *rec, const char *name, const char *role)
{
	dc_record_init(rec);
	if (dc_record_set_name(rec, name) || dc_record_set_role(rec, role))
		dc_die("out of memory");
}

/* ---- options ---------------------------------------------------------------------- */

struct opts {
	int csv;
	long sr, n_fft, hop;
	int sr_set, n_fft_set, hop_set;
	double cutoff;
	int cutoff_set;
	long mels, sgw, sgo;
	double fmax;
	int adb;
	double start_bpm, bpm, tightness, arate, sigma;
	int notrim;
	long bpb;
};

static int allowed(const int *list, int c)
{
	for (; *list; list++)
		if (*list == c)
			return 1;
	return 0;
}

/* ---- melody ---------------------------------------------------------------------- */

static int run_melody(const struct opts *o, const char *in)
{
	struct dc_melody_params p;
	dc_melody_params_default(&p);
	if (o->sr_set) p.sr = (double)o->sr;
	if (o->n_fft_set) p.n_fft = (int)o->n_fft;
	if (o->hop_set) p.hop = (int)o->hop;
	if (o->cutoff_set) p.cutoff = o->cutoff;
	if (p.cutoff >= p.sr / 2)
		dc_usage_error("invalid value for --cutoff: %g Hz is not below the Nyquist frequency %g Hz",
		               p.cutoff, p.sr / 2);
	size_t n;
	int src_rate, src_ch;
	float *y = load_mono(in, (int)p.sr, &n, &src_rate, &src_ch);
	uint8_t *pc;
	size_t T;
	enum dc_status st = dc_melody(y, n, &p, &pc, &T);
	dc_free(y);
	if (st)
		dc_die_status(st, "melody of '%s'", dc_cli_input_name(in));
	double fr = p.sr / p.hop;
	struct out out;
	out_open(&out, o->csv);
	if (o->csv) {
		fprintf(out.fp, "time,pitch_class,note\n");
		for (size_t t = 0; t < T; t++)
			fprintf(out.fp, "%.6f,%d,%s\n", t / fr, pc[t], pc_names[pc[t]]);
	} else {
		float *oh = dc_calloc(T * 12, sizeof(float));
		if (!oh)
			dc_die("out of memory");
		for (size_t t = 0; t < T; t++)
			oh[t * 12 + pc[t]] = 1.0f;
		struct dc_record rec;
		new_record(&rec, "melody", "control.melody");
		common_meta(&rec, "melody", p.sr, p.n_fft, p.hop, fr, src_rate, src_ch);
		if (p.cutoff > 0)
			meta(&rec, "filter", "butterworth order 2 high-pass %.10g Hz, zero-phase (scipy filtfilt)",
			     p.cutoff);
		else
			meta(&rec, "filter", "none");
		meta(&rec, "cutoff", "%.10g", p.cutoff);
		meta(&rec, "chroma", "power STFT (periodic Hann, centred, zero padded), librosa 0.10 "
		     "filters.chroma(n_chroma=12, tuning=0, ctroct=5, octwidth=2, norm=2, base_c=True)");
		meta(&rec, "definition", "one-hot of the argmax pitch class per frame (ties and silence: C)");
		meta(&rec, "classes", "C,C#,D,D#,E,F,F#,G,G#,A,A#,B");
		int64_t shape[2] = { (int64_t)T, 12 };
		out_record(&out, &rec, oh, DC_F32, 2, shape);
		dc_free(oh);
	}
	dc_free(pc);
	out_finish(&out);
	return 0;
}

/* ---- dynamics -------------------------------------------------------------------- */

static int run_dynamics(const struct opts *o, const char *in)
{
	struct dc_dynamics_params p;
	dc_dynamics_params_default(&p);
	if (o->sr_set) p.sr = (double)o->sr;
	if (o->n_fft_set) p.n_fft = (int)o->n_fft;
	if (o->hop_set) p.hop = (int)o->hop;
	if (o->mels) p.n_mels = (int)o->mels;
	if (o->fmax > 0) p.fmax = o->fmax;
	if (o->sgw) p.sg_window = (int)o->sgw;
	if (o->sgo >= 0) p.sg_order = (int)o->sgo;
	if (o->adb) {
		p.db_factor = 20;
		p.amin = 1e-5;
	}
	if (p.fmax > p.sr / 2)
		dc_usage_error("invalid value for --fmax: %g Hz is above the Nyquist frequency %g Hz",
		               p.fmax, p.sr / 2);
	if (p.sg_window > 0 && p.sg_window % 2 == 0)
		dc_usage_error("invalid value for --savgol-window: '%d' (must be odd)", p.sg_window);
	size_t n;
	int src_rate, src_ch;
	float *y = load_mono(in, (int)p.sr, &n, &src_rate, &src_ch);
	float *db;
	size_t T;
	enum dc_status st = dc_dynamics(y, n, &p, &db, &T);
	dc_free(y);
	if (st)
		dc_die_status(st, "dynamics of '%s'", dc_cli_input_name(in));
	double fr = p.sr / p.hop;
	int w = dc_dynamics_window(&p, T);
	struct out out;
	out_open(&out, o->csv);
	if (o->csv) {
		fprintf(out.fp, "time,db\n");
		for (size_t t = 0; t < T; t++)
			fprintf(out.fp, "%.6f,%.6f\n", t / fr, db[t]);
	} else {
		struct dc_record rec;
		new_record(&rec, "dynamics", "control.dynamics");
		common_meta(&rec, "dynamics", p.sr, p.n_fft, p.hop, fr, src_rate, src_ch);
		meta(&rec, "mel", "%d bands, %.10g-%.10g Hz, Slaney scale and norm, magnitude STFT",
		     p.n_mels, p.fmin, p.fmax);
		meta(&rec, "definition", "e[t] = sum over bands of mel[t]^2; "
		     "db[t] = %g*log10(max(%g, e[t]) / max(%g, max e)), floored at -%g; "
		     "then Savitzky-Golay smoothing", p.db_factor, p.amin, p.amin, p.top_db);
		meta(&rec, "savgol_window", "%d", w);
		meta(&rec, "savgol_order", "%d", p.sg_order);
		meta(&rec, "unit", "dB relative to the loudest frame");
		int64_t shape[1] = { (int64_t)T };
		out_record(&out, &rec, db, DC_F32, 1, shape);
	}
	dc_free(db);
	out_finish(&out);
	return 0;
}

/* ---- rhythm ---------------------------------------------------------------------- */

/* Gaussian bumps (peak 1, max over beats) at `times` on a grid of `rate` fps. */
static float *activation(const double *times, size_t nt, double rate, size_t frames, double sigma)
{
	float *a = dc_calloc(frames ? frames : 1, sizeof(float));
	if (!a)
		dc_die("out of memory");
	double reach = 5 * sigma;
	for (size_t b = 0; b < nt; b++) {
		long lo = (long)floor((times[b] - reach) * rate), hi = (long)ceil((times[b] + reach) * rate);
		if (lo < 0) lo = 0;
		if (hi > (long)frames - 1) hi = (long)frames - 1;
		for (long f = lo; f <= hi; f++) {
			double z = (f / rate - times[b]) / sigma;
			float v = (float)exp(-0.5 * z * z);
			if (v > a[f])
				a[f] = v;
		}
	}
	return a;
}

static int run_rhythm(const struct opts *o, const char *in)
{
	double sr = o->sr_set ? (double)o->sr : 22050;
	int n_fft = o->n_fft_set ? (int)o->n_fft : 2048, hop = o->hop_set ? (int)o->hop : 512;
	size_t n;
	int src_rate, src_ch;
	float *y = load_mono(in, (int)sr, &n, &src_rate, &src_ch);
	float *env;
	size_t T;
	enum dc_status st = dc_onset_strength(y, n, sr, n_fft, hop, 128, &env, &T);
	dc_free(y);
	if (st)
		dc_die_status(st, "rhythm of '%s'", dc_cli_input_name(in));
	double fr = sr / hop, bpm = o->bpm;
	struct dc_tempo_params tp;
	dc_tempo_params_default(&tp, sr, hop);
	tp.start_bpm = o->start_bpm;
	if (!(bpm > 0) && (st = dc_tempo(env, T, &tp, &bpm, NULL, NULL)))
		dc_die_status(st, "rhythm of '%s'", dc_cli_input_name(in));
	int64_t *bf;
	size_t nb;
	if ((st = dc_beat_track(env, T, fr, bpm, o->tightness, !o->notrim, &bf, &nb)))
		dc_die_status(st, "rhythm of '%s'", dc_cli_input_name(in));
	int phase = 0;
	if ((st = dc_downbeat_phase(env, T, bf, nb, (int)o->bpb, &phase)))
		dc_die_status(st, "rhythm of '%s'", dc_cli_input_name(in));
	size_t nd = nb > (size_t)phase ? (nb - (size_t)phase + (size_t)o->bpb - 1) / (size_t)o->bpb : 0;
	double *bt = dc_alloc((nb + 1) * sizeof(double)), *dt = dc_alloc((nd + 1) * sizeof(double));
	float *btf = dc_alloc((nb + 1) * sizeof(float)), *dtf = dc_alloc((nd + 1) * sizeof(float));
	if (!bt || !dt || !btf || !dtf)
		dc_die("out of memory");
	for (size_t i = 0; i < nb; i++)
		btf[i] = (float)(bt[i] = bf[i] / fr);
	for (size_t i = 0; i < nd; i++)
		dtf[i] = (float)(dt[i] = bt[(size_t)phase + i * (size_t)o->bpb]);
	double arate = o->arate > 0 ? o->arate : fr;
	double dur = (double)n / sr;
	size_t TA = o->arate > 0 ? (size_t)floor(dur * arate) + 1 : T;
	float *ba = activation(bt, nb, arate, TA, o->sigma), *da = activation(dt, nd, arate, TA, o->sigma);
	struct out out;
	out_open(&out, o->csv);
	if (o->csv) {
		unsigned char *isb = dc_calloc(T ? T : 1, 1);
		if (!isb)
			dc_die("out of memory");
		for (size_t i = 0; i < nb; i++)
			isb[bf[i]] = 1;
		for (size_t i = 0; i < nd; i++)
			isb[bf[(size_t)phase + i * (size_t)o->bpb]] = 2;
		fprintf(out.fp, "time,onset,beat,downbeat\n");
		for (size_t t = 0; t < T; t++)
			fprintf(out.fp, "%.6f,%.6f,%d,%d\n", t / fr, env[t], isb[t] >= 1, isb[t] == 2);
		dc_free(isb);
	} else {
		static const char *const names[5] = { "onset_strength", "beat_activation",
		                                      "downbeat_activation", "beats", "downbeats" };
		static const char *const roles[5] = { "control.rhythm.onset", "control.rhythm.beat",
		                                      "control.rhythm.downbeat", "control.rhythm.beat_times",
		                                      "control.rhythm.downbeat_times" };
		const float *data[5] = { env, ba, da, btf, dtf };
		int64_t len[5] = { (int64_t)T, (int64_t)TA, (int64_t)TA, (int64_t)nb, (int64_t)nd };
		for (int r = 0; r < 5; r++) {
			struct dc_record rec;
			new_record(&rec, names[r], roles[r]);
			common_meta(&rec, "rhythm", sr, n_fft, hop, r == 1 || r == 2 ? arate : fr,
			            src_rate, src_ch);
			if ((r == 1 || r == 2) && o->arate > 0)
				meta(&rec, "hop", "none (activation grid of activation_rate frames per second)");
			if (r == 1 || r == 2)
				meta(&rec, "activation_rate", "%.10g", arate);
			meta(&rec, "tempo", "%.10g", bpm);
			meta(&rec, "tempo_source", "%s", o->bpm > 0 ? "--bpm" : "librosa 0.10 feature.tempo "
			     "(autocorrelation tempogram, 8 s window, log-normal prior)");
			meta(&rec, "start_bpm", "%.10g", o->start_bpm);
			meta(&rec, "tightness", "%.10g", o->tightness);
			meta(&rec, "trim", "%s", o->notrim ? "no" : "yes");
			meta(&rec, "beats_per_bar", "%ld", o->bpb);
			meta(&rec, "downbeat_phase", "%d", phase);
			meta(&rec, "onset", "librosa 0.10 onset_strength: power mel (128 bands, Slaney), "
			     "power_to_db(top_db=80), positive first difference, median over bands");
			meta(&rec, "beats", "librosa 0.10.2 beat_track (Ellis dynamic programming)");
			meta(&rec, "downbeats", "every beats_per_bar-th beat from the phase whose beats have "
			     "the largest mean onset strength");
			if (r == 1 || r == 2)
				meta(&rec, "definition", "max over beats of exp(-0.5*((t - beat)/%.10g)^2)", o->sigma);
			else if (r >= 3)
				meta(&rec, "unit", "seconds");
			int64_t shape[1] = { len[r] };
			out_record(&out, &rec, data[r], DC_F32, 1, shape);
		}
	}
	out_finish(&out);
	dc_free(env); dc_free(bf); dc_free(bt); dc_free(dt); dc_free(btf); dc_free(dtf);
	dc_free(ba); dc_free(da);
	return 0;
}

/* ---- entry ----------------------------------------------------------------------- */

int ctrl_music_main(int argc, char **argv)
{
	const char *cond = argv[0];
	const char *usage;
	const int *ok;
	if (strcmp(cond, "melody") == 0) {
		usage = usage_melody;
		ok = melody_opts;
	} else if (strcmp(cond, "dynamics") == 0) {
		usage = usage_dynamics;
		ok = dynamics_opts;
	} else {
		usage = usage_rhythm;
		ok = rhythm_opts;
	}
	struct dc_cli *cli = dc_cli_init("ctrl-extract", usage);
	struct opts o = { .sgo = -1, .start_bpm = 120, .tightness = 100, .bpb = 4, .sigma = 0.025 };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, DC_CLI_SHORTOPTS, longopts, NULL)) != -1) {
		if (c >= OPT_CSV && c <= OPT_SIGMA && !allowed(ok, c))
			dc_usage_error("%s: option --%s not allowed", cond, opt_name(c));
		switch (c) {
		case OPT_CSV: o.csv = 1; break;
		case OPT_SR: o.sr = dc_cli_long("sample-rate", optarg, 1000, 384000); o.sr_set = 1; break;
		case OPT_NFFT:
			o.n_fft = dc_cli_long("n-fft", optarg, 16, 65536);
			if (o.n_fft % 2)
				dc_usage_error("invalid value for --n-fft: '%s' (must be even)", optarg);
			o.n_fft_set = 1;
			break;
		case OPT_HOP: o.hop = dc_cli_long("hop", optarg, 1, 65536); o.hop_set = 1; break;
		case OPT_CUTOFF: o.cutoff = dc_cli_double("cutoff", optarg, 0, 192000); o.cutoff_set = 1; break;
		case OPT_MELS: o.mels = dc_cli_long("mels", optarg, 1, 512); break;
		case OPT_FMAX: o.fmax = dc_cli_double("fmax", optarg, 1, 192000); break;
		case OPT_SGW: o.sgw = dc_cli_long("savgol-window", optarg, 1, 1000001); break;
		case OPT_SGO: o.sgo = dc_cli_long("savgol-order", optarg, 0, 12); break;
		case OPT_ADB: o.adb = 1; break;
		case OPT_START_BPM: o.start_bpm = dc_cli_double("start-bpm", optarg, 1, 1000); break;
		case OPT_BPM: o.bpm = dc_cli_double("bpm", optarg, 1, 1000); break;
		case OPT_TIGHT: o.tightness = dc_cli_double("tightness", optarg, 1e-6, 1e6); break;
		case OPT_NOTRIM: o.notrim = 1; break;
		case OPT_BPB: o.bpb = dc_cli_long("beats-per-bar", optarg, 1, 64); break;
		case OPT_ARATE: o.arate = dc_cli_double("activation-rate", optarg, 1, 10000); break;
		case OPT_SIGMA: o.sigma = dc_cli_double("sigma", optarg, 1e-4, 10); break;
		default: dc_cli_option(cli, c, optarg);
		}
	}
	if (argc - optind > 1)
		dc_usage_error("%s: more than one input", cond);
	const char *in = optind < argc ? argv[optind] : NULL;
	if (cond[0] == 'm')
		return run_melody(&o, in);
	if (cond[0] == 'd')
		return run_dynamics(&o, in);
	return run_rhythm(&o, in);
}
