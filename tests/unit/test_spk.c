/*
 * test_spk.c - speaker-embedding networks (lib/speech/spk.c) against the
 * reference code's embeddings: tests/golden/make_spk.py builds small
 * random-weight models with SpeechBrain's ECAPA_TDNN / Xvector and sugar's
 * DynamicTDNN (tests/data/spk-models/), and stores the float64 forward of
 * a few random feature sequences (tests/golden/spk/).  Also checks the
 * parameter and MAC counts, the errors (shape mismatch naming the tensor,
 * bad sub-network, too few frames) and that the thread count does not
 * change a bit of the result.  Run from the top (or set DC_TOP).
 */
#include "test.h"

#include "core/core.h"
#include "io/media.h"
#include "io/safetensors.h"
#include "speech/spk.h"

#include <sys/stat.h>
#include <unistd.h>

static char top[1024];
static struct dc_safetensors *gold, *counts;

static const char *path(const char *rel)
{
	static char buf[4][2048];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", top, rel);
	return buf[k];
}

static const char *model_dir(const char *name)
{
	static char buf[2048];
	snprintf(buf, sizeof buf, "%s/tests/data/spk-models/%s", top, name);
	return buf;
}

static const struct dc_st_tensor *gfind(const char *fmt, const char *m, int T)
{
	char name[256];
	snprintf(name, sizeof name, fmt, m, T);
	return gold ? dc_safetensors_find(gold, name) : NULL;
}

static double count(const char *fmt, const char *m, int T)
{
	char name[256];
	const struct dc_st_tensor *t;
	snprintf(name, sizeof name, fmt, m, T);
	t = counts ? dc_safetensors_find(counts, name) : NULL;
	return t && t->dtype == DC_F64 ? *(const double *)t->data : -1;
}

/* max |a-b| / max |b| */
static double rel_err(const float *a, const float *b, int n)
{
	double d = 0, s = 0;
	for (int i = 0; i < n; i++) {
		double e = fabs((double)a[i] - b[i]);
		d = e > d || e != e ? e : d;
		s = fabs(b[i]) > s ? fabs(b[i]) : s;
	}
	return d / (s > 0 ? s : 1);
}

/* embed golden "model/feats_T" with model folder `dir`, compare to "gname/emb_T" */
static void check_golden(const char *dir, const char *gname, int T, double tol)
{
	struct dc_spk *m = NULL;
	const struct dc_st_tensor *f = gfind("%s/feats_%d", gname, T);
	const struct dc_st_tensor *e = gfind("%s/emb_%d", gname, T);
	const struct dc_st_tensor *e32 = gfind("%s/emb32_%d", gname, T);
	float emb[256];
	enum dc_status st;

	CHECK(f && e && e32);
	if (!f || !e || !e32)
		return;
	st = dc_spk_open(&m, model_dir(dir));
	CHECK_EQ_INT(st, DC_OK);
	if (st) {
		printf("#   %s\n", dc_errmsg());
		return;
	}
	CHECK_EQ_INT(dc_spk_dim(m), (int)e->numel);
	CHECK_EQ_INT(f->shape[1], dc_spk_config(m)->in_channels);
	st = dc_spk_embed_feats(m, f->data, (size_t)f->shape[0], emb);
	CHECK_EQ_INT(st, DC_OK);
	if (st == DC_OK) {
		double r = rel_err(emb, e->data, (int)e->numel);
		double r32 = rel_err(e32->data, e->data, (int)e->numel);
		printf("# %-18s T=%-4d max rel err vs float64 reference %.2e (torch f32 %.2e)\n", dir,
		       T, r, r32);
		CHECK(r <= tol);
	}
	{
		double p = count("%s/params", gname, 0), mc = count("%s/macs_%d", gname, T);
		CHECK(p > 0 && mc > 0);
		CHECK_EQ_INT((long long)dc_spk_params(m), (long long)p);
		CHECK_EQ_INT((long long)dc_spk_macs(m, (size_t)T), (long long)mc);
		if (T > 100)
			printf("# %-18s %zu parameters, %.4g MMACs over %d frames\n", dir,
			       dc_spk_params(m), dc_spk_macs(m, (size_t)T) / 1e6, T);
	}
	dc_spk_free(m);
}

TEST(ecapa)
{
	check_golden("ecapa-tiny", "ecapa-tiny", 200, 1e-5);
	check_golden("ecapa-tiny", "ecapa-tiny", 5, 1e-5);
}

TEST(ecapa_noglob)
{
	check_golden("ecapa-noglob", "ecapa-noglob", 123, 1e-5);
	check_golden("ecapa-noglob", "ecapa-noglob", 5, 1e-5);
}

TEST(xvector)
{
	check_golden("xvector-tiny", "xvector-tiny", 150, 1e-5);
	check_golden("xvector-tiny", "xvector-tiny", 4, 1e-5);
}

TEST(etdnn)
{
	check_golden("etdnn-tiny", "etdnn-tiny", 137, 1e-5);
	check_golden("etdnn-tiny", "etdnn-tiny", 3, 1e-5);
	/* sugar's checkpoint layout + calibrated-BN file, converted with
	 * --subnet-bn --prune (only the sub-network stored) */
	check_golden("etdnn-tiny-bn", "etdnn-tiny-bn", 137, 1e-5);
	check_golden("etdnn-tiny-bn", "etdnn-tiny-bn", 3, 1e-5);
}

TEST(config_values)
{
	struct dc_spk *m = NULL;
	const struct dc_spk_config *c;
	CHECK_EQ_INT(dc_spk_open(&m, model_dir("ecapa-tiny")), DC_OK);
	if (!m)
		return;
	c = dc_spk_config(m);
	CHECK_EQ_INT(c->arch, DC_SPK_ECAPA);
	CHECK_EQ_INT(c->nlayers, 5);
	CHECK_EQ_INT(c->channels[4], 96);
	CHECK_EQ_INT(c->dilations[3], 4);
	CHECK_EQ_INT(c->res2net_scale, 4);
	CHECK_EQ_INT(c->global_context, 1);
	CHECK_EQ_INT(c->frontend, DC_FRONT_SPEECHBRAIN);
	CHECK_EQ_INT(c->num_mel_bins, 80);
	CHECK(c->sample_rate == 16000);
	CHECK_EQ_INT(c->cmn, 1);
	dc_spk_free(m);
	CHECK_EQ_INT(dc_spk_open(&m, model_dir("etdnn-tiny")), DC_OK);
	if (!m)
		return;
	c = dc_spk_config(m);
	CHECK_EQ_INT(c->arch, DC_SPK_ETDNN);
	CHECK_EQ_INT(c->depth, 3);
	CHECK_EQ_INT(c->widths[2], 64);
	CHECK_EQ_INT(c->kernels[3], 3);
	CHECK_EQ_INT(c->cat_channels, 72);
	CHECK_EQ_INT(c->frontend, DC_FRONT_KALDI);
	dc_spk_free(m);
}

/* a folder with config.json = `cfg` and the weights of `src` linked in */
static const char *bad_folder(const char *src, const char *cfg)
{
	static char dir[1100];
	char p[1200], w[2100];
	FILE *f;
	snprintf(dir, sizeof dir, "/tmp/test_spk_%d", (int)getpid());
	mkdir(dir, 0700);
	snprintf(p, sizeof p, "%s/embedding_model.safetensors", dir);
	snprintf(w, sizeof w, "%s/embedding_model.safetensors", model_dir(src));
	unlink(p);
	if (symlink(w, p))
		return NULL;
	snprintf(p, sizeof p, "%s/config.json", dir);
	f = fopen(p, "w");
	if (!f)
		return NULL;
	fputs(cfg, f);
	fclose(f);
	return dir;
}

static void clean_bad(void)
{
	char p[1200];
	snprintf(p, sizeof p, "/tmp/test_spk_%d/embedding_model.safetensors", (int)getpid());
	unlink(p);
	snprintf(p, sizeof p, "/tmp/test_spk_%d/config.json", (int)getpid());
	unlink(p);
	snprintf(p, sizeof p, "/tmp/test_spk_%d", (int)getpid());
	rmdir(p);
}

static void expect_open_error(const char *src, const char *cfg, enum dc_status want,
                              const char *needle)
{
	struct dc_spk *m = (struct dc_spk *)1;
	const char *dir = bad_folder(src, cfg);
	enum dc_status st;
	CHECK(dir != NULL);
	if (!dir)
		return;
	st = dc_spk_open(&m, dir);
	CHECK_EQ_INT(st, want);
	CHECK(m == NULL);
	if (!strstr(dc_errmsg(), needle))
		T_FAILED("message '%s' lacks '%s'", dc_errmsg(), needle);
	printf("#   %s\n", dc_errmsg());
	if (st == DC_OK)
		dc_spk_free(m);
	clean_bad();
}

#define ECAPA_CFG(att, se, extra)                                                            \
	"{\"arch\": \"ecapa\", \"in_channels\": 80, \"lin_neurons\": 24,"                    \
	" \"channels\": [32, 32, 32, 32, 96], \"kernel_sizes\": [5, 3, 3, 3, 1],"           \
	" \"dilations\": [1, 2, 3, 4, 1], \"attention_channels\": " att ","                 \
	" \"res2net_scale\": 4, \"se_channels\": " se extra "}"

#define ETDNN_CFG(sub)                                                                       \
	"{\"arch\": \"etdnn\", \"in_channels\": 40, \"lin_neurons\": 16,"                    \
	" \"channels\": [64, 64, 64, 64, 64, 96], \"kernel_sizes\": [5, 5, 5, 5, 5, 1],"    \
	" \"attention_channels\": 128, \"res2net_scale\": 8" sub "}"

TEST(bad_models)
{
	struct dc_spk *m = NULL;
	/* the unmodified config opens: the harness itself works */
	const char *dir = bad_folder("ecapa-tiny", ECAPA_CFG("16", "16", ""));
	CHECK(dir && dc_spk_open(&m, dir) == DC_OK);
	dc_spk_free(m);
	clean_bad();

	expect_open_error("ecapa-tiny", ECAPA_CFG("17", "16", ""), DC_EFORMAT,
	                  "'asp.tdnn.conv.conv.weight' has shape [16,288,1], the config needs [17,288,1]");
	expect_open_error("ecapa-tiny", ECAPA_CFG("16", "8", ""), DC_EFORMAT,
	                  "blocks.1.se_block.conv1.conv.weight");
	expect_open_error("ecapa-tiny", ECAPA_CFG("16", "16", ", \"global_context\": false"), DC_EFORMAT,
	                  "asp.tdnn.conv.conv.weight");
	expect_open_error("xvector-tiny", ECAPA_CFG("16", "16", ""), DC_ENOTFOUND,
	                  "no tensor 'blocks.0.conv.conv.weight'");
	expect_open_error("ecapa-tiny", "{\"arch\": \"resnet\"}", DC_EUNSUPPORTED, "resnet");
	expect_open_error("ecapa-tiny",
	                  "{\"arch\": \"ecapa\", \"in_channels\": 80, \"lin_neurons\": 24,"
	                  " \"channels\": [32, 32, 32, 32, 96], \"kernel_sizes\": [5, 3, 4, 3, 1],"
	                  " \"dilations\": [1, 2, 3, 4, 1]}", DC_EFORMAT, "even");
	expect_open_error("ecapa-tiny", ECAPA_CFG("16", "16", ", \"frontend\": {\"num_mel_bins\": 40}"),
	                  DC_EFORMAT, "num_mel_bins");
	expect_open_error("etdnn-tiny", ETDNN_CFG(", \"widths\": [72, 64, 64, 64, 64]"), DC_EFORMAT,
	                  "widths[0] = 72 exceeds");
	expect_open_error("etdnn-tiny", ETDNN_CFG(", \"depth\": 2, \"widths\": [64, 64]"),
	                  DC_EFORMAT, "depth 2 needs 3 widths and kernels, not 2 and 3");
	expect_open_error("etdnn-tiny", ETDNN_CFG(", \"depth\": 5"), DC_EFORMAT, "'depth' = 5");
	expect_open_error("etdnn-tiny",
	                  ETDNN_CFG(", \"depth\": 1, \"widths\": [64, 64], \"kernels\": [7, 5]"),
	                  DC_EFORMAT, "kernels[0] = 7");
	/* the pruned folder's tensors are smaller than this supernet config says */
	expect_open_error("etdnn-tiny-bn", ETDNN_CFG(""), DC_EFORMAT,
	                  "'layer1.conv.conv.weight' has shape [48,40,3], the config needs [64,40,5]");
}

TEST(too_short)
{
	struct dc_spk *m = NULL;
	float feats[80 * 5] = { 0 }, emb[64];
	CHECK_EQ_INT(dc_spk_open(&m, model_dir("ecapa-tiny")), DC_OK);
	if (!m)
		return;
	/* dilation 4, kernel 3: reflect padding of 4 needs 5 frames */
	CHECK_EQ_INT(dc_spk_embed_feats(m, feats, 4, emb), DC_EINVAL);
	if (!strstr(dc_errmsg(), "at least 5"))
		T_FAILED("message '%s'", dc_errmsg());
	CHECK_EQ_INT(dc_spk_embed_feats(m, feats, 0, emb), DC_EINVAL);
	CHECK_EQ_INT(dc_spk_embed_feats(m, feats, 5, emb), DC_OK);
	dc_spk_free(m);
	CHECK_EQ_INT(dc_spk_open(&m, model_dir("xvector-tiny")), DC_OK);
	if (!m)
		return;
	CHECK_EQ_INT(dc_spk_embed_feats(m, feats, 3, emb), DC_EINVAL);
	if (!strstr(dc_errmsg(), "at least 4"))
		T_FAILED("message '%s'", dc_errmsg());
	dc_spk_free(m);
}

/* bit-identical embeddings with 1 and 2 threads, on inputs long enough for
 * the parallel loops to split */
TEST(threads)
{
	static const char *names[] = { "ecapa-tiny", "ecapa-noglob", "xvector-tiny", "etdnn-tiny" };
	const size_t T = 3000;
	float *feats = malloc(T * 80 * sizeof(float));
	CHECK(feats != NULL);
	if (!feats)
		return;
	dc_rng_normal(5, 0, 0, feats, T * 80);
	for (int i = 0; i < 4; i++) {
		struct dc_spk *m = NULL;
		float e1[64], e2[64];
		int same;
		CHECK_EQ_INT(dc_spk_open(&m, model_dir(names[i])), DC_OK);
		if (!m)
			continue;
		dc_set_threads(1);
		CHECK_EQ_INT(dc_spk_embed_feats(m, feats, T, e1), DC_OK);
		dc_set_threads(2);
		CHECK_EQ_INT(dc_spk_embed_feats(m, feats, T, e2), DC_OK);
		same = !memcmp(e1, e2, (size_t)dc_spk_dim(m) * sizeof(float));
		if (!same)
			T_FAILED("%s: 1 and 2 threads differ (max |d| %g)", names[i],
			         max_abs_diff(e1, e2, (size_t)dc_spk_dim(m)));
		dc_spk_free(m);
	}
	dc_set_threads(0);
	free(feats);
}

/* reduced-precision GEMMs: close to the reference, but not equal; back to
 * f32 restores the f32 result bit for bit */
TEST(precision)
{
	static const char *names[] = { "ecapa-tiny", "xvector-tiny", "etdnn-tiny" };
	static const int Ts[] = { 200, 150, 137 };
	for (int i = 0; i < 3; i++) {
		struct dc_spk *m = NULL;
		const struct dc_st_tensor *f = gfind("%s/feats_%d", names[i], Ts[i]);
		const struct dc_st_tensor *e = gfind("%s/emb_%d", names[i], Ts[i]);
		float e32[64], eb[64], e8[64], again[64];
		CHECK(f && e);
		CHECK_EQ_INT(dc_spk_open(&m, model_dir(names[i])), DC_OK);
		if (!m || !f || !e) {
			dc_spk_free(m);
			continue;
		}
		int n = dc_spk_dim(m);
		CHECK_EQ_INT(dc_spk_embed_feats(m, f->data, (size_t)f->shape[0], e32), DC_OK);
		CHECK_EQ_INT(dc_spk_set_precision(m, DC_PREC_BF16), DC_OK);
		CHECK_EQ_INT(dc_spk_embed_feats(m, f->data, (size_t)f->shape[0], eb), DC_OK);
		CHECK_EQ_INT(dc_spk_set_precision(m, DC_PREC_INT8), DC_OK);
		CHECK_EQ_INT(dc_spk_embed_feats(m, f->data, (size_t)f->shape[0], e8), DC_OK);
		CHECK_EQ_INT(dc_spk_set_precision(m, DC_PREC_F32), DC_OK);
		CHECK_EQ_INT(dc_spk_embed_feats(m, f->data, (size_t)f->shape[0], again), DC_OK);
		double rb = rel_err(eb, e->data, n), r8 = rel_err(e8, e->data, n);
		printf("# %-14s bf16 max rel err %.2e, int8 %.2e\n", names[i], rb, r8);
		CHECK(rb > 1e-6 && rb < 3e-2);
		CHECK(r8 > 1e-6 && r8 < 6e-2);
		CHECK(!memcmp(e32, again, (size_t)n * sizeof(float)));
		CHECK_EQ_INT(dc_spk_set_precision(m, (enum dc_precision)7), DC_EINVAL);
		dc_spk_free(m);
	}
}

/* dc_spk_embed_audio on the speechocean762 clip: front end + CMN + model,
 * at 16 kHz and from an 8 kHz copy resampled inside */
static void check_audio(const char *name, const struct dc_audio *au, const float *x8, size_t n8)
{
	struct dc_spk *m = NULL;
	char key[128];
	const struct dc_st_tensor *e16, *e8;
	float emb[64];
	snprintf(key, sizeof key, "audio/%s", name);
	e16 = gold ? dc_safetensors_find(gold, key) : NULL;
	snprintf(key, sizeof key, "audio/%s_8k", name);
	e8 = gold ? dc_safetensors_find(gold, key) : NULL;
	CHECK(e16 && e8);
	CHECK_EQ_INT(dc_spk_open(&m, model_dir(name)), DC_OK);
	if (!m || !e16 || !e8)
		goto out;
	CHECK_EQ_INT(dc_spk_embed_audio(m, au->data, au->frames, au->sample_rate, emb), DC_OK);
	double r = rel_err(emb, e16->data, (int)e16->numel);
	printf("# %-14s audio 16 kHz: max rel err %.2e\n", name, r);
	CHECK(r < 2e-5);
	CHECK_EQ_INT(dc_spk_embed_audio(m, x8, n8, 8000, emb), DC_OK);
	r = rel_err(emb, e8->data, (int)e8->numel);
	printf("# %-14s audio  8 kHz: max rel err %.2e\n", name, r);
	CHECK(r < 2e-5);
	/* 400 samples: 3 frames of SpeechBrain's / 1 of Kaldi's, too few */
	CHECK_EQ_INT(dc_spk_embed_audio(m, au->data, 400, au->sample_rate, emb), DC_EINVAL);
	if (!strstr(dc_errmsg(), "at least 5"))
		T_FAILED("message '%s'", dc_errmsg());
	CHECK_EQ_INT(dc_spk_embed_audio(m, au->data, 0, au->sample_rate, emb), DC_EINVAL);
	CHECK_EQ_INT(dc_spk_embed_audio(m, au->data, au->frames, 16000.5, emb), DC_EINVAL);
	CHECK_EQ_INT(dc_spk_embed_audio(m, au->data, au->frames, 0, emb), DC_EINVAL);
out:
	dc_spk_free(m);
}

TEST(audio)
{
	struct dc_audio au = { 0 };
	const struct dc_st_tensor *x8 = gold ? dc_safetensors_find(gold, "audio/x8k") : NULL;
	FILE *f = fopen(path("tests/data/spk/so762_000010011.wav"), "rb");
	CHECK(f != NULL && x8 != NULL);
	if (!f || !x8) {
		if (f)
			fclose(f);
		return;
	}
	CHECK_EQ_INT(dc_audio_read(f, &au), DC_OK);
	fclose(f);
	CHECK_EQ_INT(au.sample_rate, 16000);
	CHECK_EQ_INT(au.channels, 1);
	check_audio("ecapa-tiny", &au, x8->data, x8->numel);     /* SpeechBrain Fbank */
	check_audio("ecapa-noglob", &au, x8->data, x8->numel);   /* Kaldi fbank */
	dc_audio_release(&au);
}

int main(void)
{
	const char *t = getenv("DC_TOP");
	if (!realpath(t ? t : ".", top))
		snprintf(top, sizeof top, "%s", t ? t : ".");
	if (dc_safetensors_open(&gold, path("tests/golden/spk/spk_golden.safetensors")) != DC_OK)
		printf("# cannot open goldens: %s\n", dc_errmsg());
	if (dc_safetensors_open(&counts, path("tests/golden/spk/spk_counts.safetensors")) != DC_OK)
		printf("# cannot open counts: %s\n", dc_errmsg());
	RUN(ecapa);
	RUN(ecapa_noglob);
	RUN(xvector);
	RUN(etdnn);
	RUN(config_values);
	RUN(bad_models);
	RUN(too_short);
	RUN(threads);
	RUN(audio);
	RUN(precision);
	dc_safetensors_close(gold);
	dc_safetensors_close(counts);
	return test_summary();
}
