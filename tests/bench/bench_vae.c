/*
 * bench_vae.c - AutoencoderKL decode (lib/models/vae.c) at the SD-VAE shape
 * (sd-vae-ft-ema: block_out_channels 128,256,512,512, layers_per_block 2,
 * 32 groups, 4 latent channels), for tests/bench/vae.sh.
 *
 *   bench_vae make DIR              write a decoder-only diffusers vae/ folder
 *                                   (config.json + diffusion_pytorch_model.
 *                                   safetensors, F32) with seeded random
 *                                   weights (Philox, seed 7), read by both us
 *                                   and the PyTorch peer (vae_torch.py)
 *   bench_vae decode DIR [-r R] [-s LAT] [-l label]
 *                                   min/median ms of a LAT x LAT latent decode
 *   bench_vae tiled DIR [-s LAT] [-T TILE]
 *                                   one tiled decode (diffusers' tiling,
 *                                   TILE latents, default 32 = 256 px)
 * decode and tiled also print the peak RSS of the process (getrusage), a
 * checksum of the image, and "RESULT label LAT min_ms median_ms peak_MiB".
 * Timings are reported, never asserted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "core/core.h"
#include "io/safetensors.h"
#include "models/vae.h"

#define MAXT 256

static struct dc_st_write_entry ent[MAXT];
static int64_t shp[MAXT][4];
static char names[MAXT][96];
static float *bufs[MAXT];
static int nent;
static uint64_t stream;

static void add(const char *name, int rank, int64_t a, int64_t b, int64_t c, int64_t d,
                float mean, float sd)
{
	int64_t s[4] = { a, b, c, d };
	size_t n = 1;
	if (nent == MAXT) {
		fprintf(stderr, "bench_vae: too many tensors\n");
		exit(1);
	}
	for (int i = 0; i < rank; i++) {
		shp[nent][i] = s[i];
		n *= (size_t)s[i];
	}
	snprintf(names[nent], sizeof names[nent], "%s", name);
	bufs[nent] = dc_alloc(n * sizeof(float));
	if (!bufs[nent]) {
		fprintf(stderr, "bench_vae: out of memory\n");
		exit(1);
	}
	dc_rng_normal(7, stream++, 0, bufs[nent], n);
	for (size_t i = 0; i < n; i++)
		bufs[nent][i] = mean + sd * bufs[nent][i];
	ent[nent] = (struct dc_st_write_entry){ names[nent], DC_F32, rank, shp[nent], bufs[nent] };
	nent++;
}

static void conv(const char *pre, int ic, int oc, int k)
{
	char n[96];
	snprintf(n, sizeof n, "%s.weight", pre);
	add(n, 4, oc, ic, k, k, 0.0f, 1.0f / sqrtf((float)ic * k * k));
	snprintf(n, sizeof n, "%s.bias", pre);
	add(n, 1, oc, 0, 0, 0, 0.0f, 0.02f);
}

static void gn(const char *pre, int c)
{
	char n[96];
	snprintf(n, sizeof n, "%s.weight", pre);
	add(n, 1, c, 0, 0, 0, 1.0f, 0.1f);
	snprintf(n, sizeof n, "%s.bias", pre);
	add(n, 1, c, 0, 0, 0, 0.0f, 0.1f);
}

static void resnet(const char *pre, int cin, int cout)
{
	char n[96];
	snprintf(n, sizeof n, "%s.norm1", pre);
	gn(n, cin);
	snprintf(n, sizeof n, "%s.conv1", pre);
	conv(n, cin, cout, 3);
	snprintf(n, sizeof n, "%s.norm2", pre);
	gn(n, cout);
	snprintf(n, sizeof n, "%s.conv2", pre);
	conv(n, cout, cout, 3);
	if (cin != cout) {
		snprintf(n, sizeof n, "%s.conv_shortcut", pre);
		conv(n, cin, cout, 1);
	}
}

static void linear(const char *pre, int c)
{
	char n[96];
	snprintf(n, sizeof n, "%s.weight", pre);
	add(n, 2, c, c, 0, 0, 0.0f, 1.0f / sqrtf((float)c));
	snprintf(n, sizeof n, "%s.bias", pre);
	add(n, 1, c, 0, 0, 0, 0.0f, 0.02f);
}

static const int boc[4] = { 128, 256, 512, 512 };

static int make(const char *dir)
{
	char p[4096], n[96];
	mkdir(dir, 0755);
	conv("post_quant_conv", 4, 4, 1);
	conv("decoder.conv_in", 4, 512, 3);
	resnet("decoder.mid_block.resnets.0", 512, 512);
	gn("decoder.mid_block.attentions.0.group_norm", 512);
	linear("decoder.mid_block.attentions.0.to_q", 512);
	linear("decoder.mid_block.attentions.0.to_k", 512);
	linear("decoder.mid_block.attentions.0.to_v", 512);
	linear("decoder.mid_block.attentions.0.to_out.0", 512);
	resnet("decoder.mid_block.resnets.1", 512, 512);
	int prev = 512;
	for (int i = 0; i < 4; i++) {
		int oc = boc[3 - i];
		for (int r = 0; r < 3; r++) {
			snprintf(n, sizeof n, "decoder.up_blocks.%d.resnets.%d", i, r);
			resnet(n, r ? oc : prev, oc);
		}
		if (i < 3) {
			snprintf(n, sizeof n, "decoder.up_blocks.%d.upsamplers.0.conv", i);
			conv(n, oc, oc, 3);
		}
		prev = oc;
	}
	gn("decoder.conv_norm_out", 128);
	conv("decoder.conv_out", 128, 3, 3);
	snprintf(p, sizeof p, "%s/diffusion_pytorch_model.safetensors", dir);
	FILE *f = fopen(p, "wb");
	if (!f || dc_safetensors_write(f, ent, (size_t)nent, NULL, 0) != DC_OK || fclose(f)) {
		fprintf(stderr, "bench_vae: cannot write '%s'\n", p);
		return 1;
	}
	snprintf(p, sizeof p, "%s/config.json", dir);
	f = fopen(p, "w");
	if (!f)
		return 1;
	fprintf(f, "{\"_class_name\": \"AutoencoderKL\", \"act_fn\": \"silu\",\n"
	        " \"block_out_channels\": [128, 256, 512, 512],\n"
	        " \"down_block_types\": [\"DownEncoderBlock2D\", \"DownEncoderBlock2D\", "
	        "\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"],\n"
	        " \"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\", "
	        "\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"],\n"
	        " \"in_channels\": 3, \"out_channels\": 3, \"latent_channels\": 4,\n"
	        " \"layers_per_block\": 2, \"norm_num_groups\": 32, \"sample_size\": 256,\n"
	        " \"scaling_factor\": 0.18215}\n");
	return fclose(f) ? 1 : 0;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double peak_mib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv)
{
	const char *label = "ours";
	int runs = 3, lat = 64, tile = 32;
	if (argc < 3) {
		fprintf(stderr, "usage: bench_vae make|decode|tiled DIR [-r R] [-s LAT] [-T TILE] [-l label]\n");
		return 2;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-r"))
			runs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-s"))
			lat = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-T"))
			tile = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-l"))
			label = argv[i + 1];
	}
	if (!strcmp(argv[1], "make"))
		return make(argv[2]);
	struct dc_vae *v;
	if (dc_vae_open(&v, argv[2]) != DC_OK) {
		fprintf(stderr, "bench_vae: %s\n", dc_errmsg());
		return 1;
	}
	size_t nz = (size_t)4 * lat * lat, ni = (size_t)3 * 64 * lat * lat;
	float *z = dc_alloc(nz * sizeof *z), *img = dc_alloc(ni * sizeof *img);
	dc_rng_normal(11, 0, 0, z, nz);
	{   /* the latent, for the peer to decode the same one */
		char zp[4096];
		snprintf(zp, sizeof zp, "%s/z%d.f32", argv[2], lat);
		FILE *f = fopen(zp, "wb");
		if (f) {
			fwrite(z, sizeof *z, nz, f);
			fclose(f);
		}
	}
	int tiled = !strcmp(argv[1], "tiled");
	if (tiled)
		runs = 1;
	double t[64];
	if (runs > 64)
		runs = 64;
	for (int r = 0; r < runs; r++) {
		double t0 = dc_time();
		enum dc_status s = tiled ? dc_vae_decode_tiled(v, z, 1, lat, lat, img, tile, 0.25)
		                         : dc_vae_decode(v, z, 1, lat, lat, img);
		t[r] = (dc_time() - t0) * 1e3;
		if (s != DC_OK) {
			fprintf(stderr, "bench_vae: %s\n", dc_errmsg());
			return 1;
		}
	}
	double sum = 0;
	for (size_t i = 0; i < ni; i++)
		sum += img[i];
	qsort(t, (size_t)runs, sizeof *t, cmpd);
	printf("%s %s %dx%d latent -> %dx%d: min %.0f ms, median %.0f ms, peak RSS %.0f MiB, "
	       "image mean %.6f\n", label, tiled ? "tiled decode" : "decode", lat, lat, 8 * lat,
	       8 * lat, t[0], t[runs / 2], peak_mib(), sum / ni);
	printf("RESULT %s %d %.1f %.1f %.0f\n", label, lat, t[0], t[runs / 2], peak_mib());
	dc_vae_free(v);
	dc_free(z);
	dc_free(img);
	return 0;
}
