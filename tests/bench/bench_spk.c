/*
 * bench_spk.c - speaker embedding (lib/speech/spk.c), SpeechBrain
 * ECAPA-TDNN at the C=512 shape (channels 512,512,512,512,1536, kernels
 * 5,3,3,3,1, dilations 1,2,3,4,1, attention 128, scale 8, se 128, lin 192,
 * 80 mels, global context: WeSpeaker's/the paper's "C=512", 6.19 M
 * parameters), for tests/bench/spk.sh.
 *
 *   bench_spk make DIR [-c C]       write the model folder (config.json +
 *                                   embedding_model.safetensors, F32, seeded
 *                                   random weights and BatchNorm statistics,
 *                                   Philox seed 7) and DIR/feats.f32, 3000
 *                                   frames x 80 of N(0,1) features, read by
 *                                   both us and the PyTorch peer (spk_torch.py)
 *   bench_spk embed DIR [-r R] [-T frames] [-l label] [-p f32|bf16|int8]
 *                                   min/median ms of one embedding of the
 *                                   first `frames` feature frames (default
 *                                   300 = 3 s), after one warm-up run, with
 *                                   the GEMMs at precision -p (dc_spk_set_precision)
 * embed prints the embedding's sum and first values (the peer's must agree)
 * and "RESULT label frames min_ms median_ms MMACs".  Timings are reported,
 * never asserted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "io/safetensors.h"
#include "speech/spk.h"

#define MAXT 512
#define FEAT_T 3000
#define MELS 80

static struct dc_st_write_entry ent[MAXT];
static int64_t shp[MAXT][3];
static char names[MAXT][128];
static float *bufs[MAXT];
static int nent;
static uint64_t stream;

static void add(const char *name, int rank, int64_t a, int64_t b, int64_t c, float mean,
                float sd, int uniform)
{
	int64_t s[3] = { a, b, c };
	size_t n = 1;
	if (nent == MAXT) {
		fprintf(stderr, "bench_spk: too many tensors\n");
		exit(1);
	}
	for (int i = 0; i < rank; i++) {
		shp[nent][i] = s[i];
		n *= (size_t)s[i];
	}
	snprintf(names[nent], sizeof names[nent], "%s", name);
	bufs[nent] = dc_alloc(n * sizeof(float));
	if (!bufs[nent]) {
		fprintf(stderr, "bench_spk: out of memory\n");
		exit(1);
	}
	if (uniform)
		dc_rng_uniform(7, stream++, 0, bufs[nent], n);
	else
		dc_rng_normal(7, stream++, 0, bufs[nent], n);
	for (size_t i = 0; i < n; i++)
		bufs[nent][i] = mean + sd * bufs[nent][i];
	ent[nent] = (struct dc_st_write_entry){ names[nent], DC_F32, rank, shp[nent], bufs[nent] };
	nent++;
}

static void conv(const char *pre, int ic, int oc, int k)
{
	char n[128];
	snprintf(n, sizeof n, "%s.conv.weight", pre);
	add(n, 3, oc, ic, k, 0.0f, 1.5f / sqrtf((float)ic * k), 0);
	snprintf(n, sizeof n, "%s.conv.bias", pre);
	add(n, 1, oc, 0, 0, 0.0f, 0.1f, 0);
}

static void bn(const char *pre, int c)
{
	char n[128];
	snprintf(n, sizeof n, "%s.weight", pre);
	add(n, 1, c, 0, 0, 0.5f, 1.0f, 1);
	snprintf(n, sizeof n, "%s.bias", pre);
	add(n, 1, c, 0, 0, 0.0f, 0.1f, 0);
	snprintf(n, sizeof n, "%s.running_mean", pre);
	add(n, 1, c, 0, 0, 0.0f, 0.3f, 0);
	snprintf(n, sizeof n, "%s.running_var", pre);
	add(n, 1, c, 0, 0, 0.5f, 1.0f, 1);
}

static void tdnn(const char *pre, int ic, int oc, int k)
{
	char n[128];
	snprintf(n, sizeof n, "%s.conv", pre);
	conv(n, ic, oc, k);
	snprintf(n, sizeof n, "%s.norm.norm", pre);
	bn(n, oc);
}

static int make(const char *dir, int C)
{
	static const int ks[5] = { 5, 3, 3, 3, 1 };
	const int A = 128, S = 128, E = 192, scale = 8, CL = 3 * C;
	char p[4096], n[64];
	FILE *f;
	float *feats;
	mkdir(dir, 0755);
	tdnn("blocks.0", MELS, C, ks[0]);
	for (int i = 1; i <= 3; i++) {
		snprintf(n, sizeof n, "blocks.%d.tdnn1", i);
		tdnn(n, C, C, 1);
		for (int j = 0; j < scale - 1; j++) {
			snprintf(n, sizeof n, "blocks.%d.res2net_block.blocks.%d", i, j);
			tdnn(n, C / scale, C / scale, ks[i]);
		}
		snprintf(n, sizeof n, "blocks.%d.tdnn2", i);
		tdnn(n, C, C, 1);
		snprintf(n, sizeof n, "blocks.%d.se_block.conv1", i);
		conv(n, C, S, 1);
		snprintf(n, sizeof n, "blocks.%d.se_block.conv2", i);
		conv(n, S, C, 1);
	}
	tdnn("mfa", 3 * C, CL, 1);
	tdnn("asp.tdnn", 3 * CL, A, 1);
	conv("asp.conv", A, CL, 1);
	bn("asp_bn.norm", 2 * CL);
	conv("fc", 2 * CL, E, 1);
	snprintf(p, sizeof p, "%s/embedding_model.safetensors", dir);
	f = fopen(p, "wb");
	if (!f || dc_safetensors_write(f, ent, (size_t)nent, NULL, 0) != DC_OK || fclose(f)) {
		fprintf(stderr, "bench_spk: cannot write '%s'\n", p);
		return 1;
	}
	snprintf(p, sizeof p, "%s/config.json", dir);
	f = fopen(p, "w");
	if (!f)
		return 1;
	fprintf(f, "{\"arch\": \"ecapa\", \"in_channels\": %d, \"lin_neurons\": %d,\n"
	        " \"channels\": [%d, %d, %d, %d, %d], \"kernel_sizes\": [5, 3, 3, 3, 1],\n"
	        " \"dilations\": [1, 2, 3, 4, 1], \"attention_channels\": %d,\n"
	        " \"res2net_scale\": %d, \"se_channels\": %d, \"global_context\": true,\n"
	        " \"frontend\": {\"type\": \"speechbrain\", \"num_mel_bins\": %d}}\n",
	        MELS, E, C, C, C, C, CL, A, scale, S, MELS);
	if (fclose(f))
		return 1;
	feats = malloc((size_t)FEAT_T * MELS * sizeof(float));
	if (!feats)
		return 1;
	dc_rng_normal(11, 0, 0, feats, (size_t)FEAT_T * MELS);
	snprintf(p, sizeof p, "%s/feats.f32", dir);
	f = fopen(p, "wb");
	if (!f || fwrite(feats, sizeof(float), (size_t)FEAT_T * MELS, f) != (size_t)FEAT_T * MELS ||
	    fclose(f)) {
		fprintf(stderr, "bench_spk: cannot write '%s'\n", p);
		return 1;
	}
	free(feats);
	return 0;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int embed(const char *dir, int runs, int T, const char *label, enum dc_precision prec)
{
	struct dc_spk *m;
	char p[4096];
	FILE *f;
	float *feats, emb[1024];
	double t[256], sum = 0;
	if (dc_spk_open(&m, dir) != DC_OK) {
		fprintf(stderr, "bench_spk: %s\n", dc_errmsg());
		return 1;
	}
	if (dc_spk_set_precision(m, prec) != DC_OK) {
		fprintf(stderr, "bench_spk: %s\n", dc_errmsg());
		return 1;
	}
	feats = malloc((size_t)T * MELS * sizeof(float));
	snprintf(p, sizeof p, "%s/feats.f32", dir);
	f = fopen(p, "rb");
	if (!feats || !f || fread(feats, sizeof(float), (size_t)T * MELS, f) != (size_t)T * MELS) {
		fprintf(stderr, "bench_spk: cannot read %d frames from '%s'\n", T, p);
		return 1;
	}
	fclose(f);
	for (int r = -1; r < runs; r++) {
		double t0 = dc_time();
		if (dc_spk_embed_feats(m, feats, (size_t)T, emb) != DC_OK) {
			fprintf(stderr, "bench_spk: %s\n", dc_errmsg());
			return 1;
		}
		if (r >= 0)
			t[r] = (dc_time() - t0) * 1e3;
	}
	qsort(t, (size_t)runs, sizeof t[0], cmpd);
	for (int i = 0; i < dc_spk_dim(m); i++)
		sum += emb[i];
	printf("%s%s ECAPA %zu params, %d frames (%.0f MMACs), %d threads: min %.2f ms, median "
	       "%.2f ms; emb sum %.5f, emb[0..2] %.5f %.5f %.5f\n", label,
	       prec == DC_PREC_BF16 ? " (bf16 GEMMs)" : prec == DC_PREC_INT8 ? " (int8 GEMMs)" : "",
	       dc_spk_params(m), T,
	       dc_spk_macs(m, (size_t)T) / 1e6, dc_threads(), t[0], t[runs / 2], sum, emb[0],
	       emb[1], emb[2]);
	printf("RESULT %s %d %.3f %.3f %.0f\n", label, T, t[0], t[runs / 2],
	       dc_spk_macs(m, (size_t)T) / 1e6);
	free(feats);
	dc_spk_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 20, T = 300, C = 512;
	const char *label = "ours";
	enum dc_precision prec = DC_PREC_F32;
	if (argc < 3) {
		fprintf(stderr, "usage: bench_spk make DIR [-c C] | embed DIR [-r R] [-T frames] "
		        "[-l label]\n");
		return 2;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-r"))
			runs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-T"))
			T = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-c"))
			C = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-l"))
			label = argv[i + 1];
		else if (!strcmp(argv[i], "-p"))
			prec = !strcmp(argv[i + 1], "bf16") ? DC_PREC_BF16
			     : !strcmp(argv[i + 1], "int8") ? DC_PREC_INT8 : DC_PREC_F32;
	}
	if (runs < 1 || runs > 256 || T < 5 || T > FEAT_T || C < 8 || C % 8) {
		fprintf(stderr, "bench_spk: bad -r, -T or -c\n");
		return 2;
	}
	if (!strcmp(argv[1], "make"))
		return make(argv[2], C);
	if (!strcmp(argv[1], "embed"))
		return embed(argv[2], runs, T, label, prec);
	fprintf(stderr, "bench_spk: unknown command '%s'\n", argv[1]);
	return 2;
}
