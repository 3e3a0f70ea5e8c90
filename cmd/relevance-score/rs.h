/*
 * rs.h - the parts of relevance-score (see main.c): the built-in image
 * features for the Frechet distance (features.c), the combined score
 * (also features.c) and the bar chart (chart.c).
 */
#ifndef RS_H
#define RS_H

#include <stdint.h>

#include "core/core.h"
#include "models/vae.h"

/* Features per image for a VAE with `latent_channels` channels. */
int rs_nfeat(int latent_channels);

/*
 * Features of n images rgb[n][3][h][w] in [0, 1] with their canny edge
 * masks edges[n][h][w] (0/1) into feat[n][rs_nfeat(C)]:
 *   per VAE latent channel (posterior mean of the model's own encoder):
 *     the mean over each quadrant of the latent (4) and the spatial
 *     standard deviation (1)
 *   the mean and standard deviation of R, G and B (6)
 *   the edge density (fraction of canny pixels) (1)
 *   the mean gradient magnitude of the luma (central differences) (1)
 * h, w multiples of the VAE's factor; the VAE needs its encoder.
 */
enum dc_status rs_features(const struct dc_vae *vae, const float *rgb, const uint8_t *edges,
                           int n, int w, int h, double *feat);

/* Per-feature mean and population standard deviation of x[n][d] (a
 * deviation below 1e-12 becomes 1); out = (x - mu) / sd. */
void rs_standardise_params(const double *x, int n, int d, double *mu, double *sd);
void rs_standardise(const double *x, int n, int d, const double *mu, const double *sd,
                    double *out);

/* One TSV row.  block -1 = all blocks; mode 1 zero residual, 2 bypass. */
struct rs_row {
	int block, mode;
	double dfd, dhdd, df1;   /* FD to the reference, HDD increase, F1 drop */
	double score;
};

/*
 * score = (dfd / max|dfd| + dhdd / max|dhdd| + df1 / max|df1|) / 3, each
 * maximum over all n rows (a term whose maximum is 0 counts 0).
 */
void rs_scores(struct rs_row *rows, int n);

/* The bar chart PNG, written whole or not at all; an error exits. */
enum dc_status rs_chart(const char *path, const struct rs_row *rows, int n);

#endif /* RS_H */
