/*
 * bench_pixart_rss.c - peak resident memory of one PixArt forward from a
 * checkpoint on disk: opens a transformer folder (bf16 weights stay in the
 * mmapped file and are converted one block at a time), runs one forward at
 * the given latent size with 120 caption tokens and batch 2 (the CFG pair),
 * and prints the wall time and getrusage's peak RSS, before and after the
 * forward.  Usage: bench_pixart_rss DIR LATENT_SIDE [THREADS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "core/core.h"
#include "models/pixart.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double peak_mb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_pixart_rss DIR LATENT_SIDE [THREADS]\n");
		return 2;
	}
	int side = atoi(argv[2]);
	if (argc > 3)
		dc_set_threads(atoi(argv[3]));
	struct dc_pixart *p;
	double t0 = now();
	if (dc_pixart_open(&p, argv[1])) {
		fprintf(stderr, "bench_pixart_rss: %s\n", dc_errmsg());
		return 1;
	}
	const struct dc_pixart_config *c = dc_pixart_config(p);
	printf("open\t%.2f s\tpeak RSS %.0f MB\n", now() - t0, peak_mb());
	int B = 2, T = 120;
	size_t nl = (size_t)B * c->in_channels * side * side;
	float *lat = malloc(nl * sizeof *lat), *text = malloc((size_t)B * T * c->caption_channels * sizeof *text);
	float *out = malloc((size_t)B * c->out_channels * side * side * sizeof *out);
	float res[4] = { side * 8.0f, side * 8.0f, side * 8.0f, side * 8.0f }, ar[2] = { 1, 1 };
	if (!lat || !text || !out)
		return 1;
	for (size_t i = 0; i < nl; i++)
		lat[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
	for (size_t i = 0; i < (size_t)B * T * c->caption_channels; i++)
		text[i] = (float)((i * 40503u) % 1000) / 5000.0f - 0.1f;
	struct dc_pixart_input in = { .batch = B, .height = side, .width = side, .latents = lat,
	                              .timestep = 500, .text_len = T, .text = text,
	                              .resolution = c->micro_conditions ? res : NULL,
	                              .aspect_ratio = c->micro_conditions ? ar : NULL };
	printf("scratch\t%.0f MB\n", dc_pixart_scratch_bytes(p, B, side, side, T, 0) / 1e6);
	t0 = now();
	if (dc_pixart_forward(p, &in, out, NULL)) {
		fprintf(stderr, "bench_pixart_rss: %s\n", dc_errmsg());
		return 1;
	}
	printf("forward\t%.2f s\tpeak RSS %.0f MB\t(latent %dx%d, batch %d, %d tokens)\n", now() - t0,
	       peak_mb(), side, side, B, T);
	dc_pixart_free(p);
	free(lat);
	free(text);
	free(out);
	return 0;
}
