/*
 * features.c - relevance-score's built-in feature extractor for the
 * Frechet distance (ours, not Inception-v3): statistics of the model's own
 * VAE encoder posterior plus colour and edge statistics (rs.h lists them).
 * Deterministic; the VAE runs in batches of 8 images.  Also the
 * standardisation and the combined score.
 */
#include <math.h>
#include <stdlib.h>

#include "rs.h"

int rs_nfeat(int latent_channels)
{
	return 5 * latent_channels + 8;
}

enum dc_status rs_features(const struct dc_vae *vae, const float *rgb, const uint8_t *edges,
                           int n, int w, int h, double *feat)
{
	const struct dc_vae_config *vc = dc_vae_config(vae);
	int C = vc->latent_channels, nf = rs_nfeat(C), s = dc_vae_scale(vae);
	int lh = h / s, lw = w / s;
	size_t np = (size_t)3 * w * h, px = (size_t)w * h, nl = (size_t)C * lh * lw;
	float *x = malloc(8 * np * sizeof *x), *mean = malloc(8 * nl * sizeof *mean);
	if (!x || !mean) {
		free(x);
		free(mean);
		return dc_fail(DC_ENOMEM, "features: out of memory");
	}
	enum dc_status st = DC_OK;
	for (int b = 0; b < n && !st; b += 8) {
		int m = n - b < 8 ? n - b : 8;
		for (size_t i = 0; i < (size_t)m * np; i++)
			x[i] = 2.0f * rgb[(size_t)b * np + i] - 1.0f;
		if ((st = dc_vae_encode(vae, x, m, h, w, mean, NULL)))
			break;
		for (int j = 0; j < m; j++) {
			double *f = feat + (size_t)(b + j) * nf;
			const float *z = mean + (size_t)j * nl;
			for (int c = 0; c < C; c++) {
				const float *zc = z + (size_t)c * lh * lw;
				double q[4] = { 0 }, cnt[4] = { 0 }, sum = 0, sq = 0;
				for (int y = 0; y < lh; y++)
					for (int xx = 0; xx < lw; xx++) {
						double v = zc[(size_t)y * lw + xx];
						int k = (2 * y >= lh) * 2 + (2 * xx >= lw);
						q[k] += v;
						cnt[k]++;
						sum += v;
						sq += v * v;
					}
				for (int k = 0; k < 4; k++)
					f[5 * c + k] = cnt[k] ? q[k] / cnt[k] : 0;
				double mu = sum / (lh * lw), var = sq / (lh * lw) - mu * mu;
				f[5 * c + 4] = sqrt(var > 0 ? var : 0);
			}
			const float *im = rgb + (size_t)(b + j) * np;
			double *g = f + 5 * C;
			for (int c = 0; c < 3; c++) {
				double sum = 0, sq = 0;
				for (size_t i = 0; i < px; i++) {
					sum += im[c * px + i];
					sq += (double)im[c * px + i] * im[c * px + i];
				}
				double mu = sum / px, var = sq / px - mu * mu;
				g[c] = mu;
				g[3 + c] = sqrt(var > 0 ? var : 0);
			}
			const uint8_t *e = edges + (size_t)(b + j) * px;
			double ne = 0, gm = 0;
			for (size_t i = 0; i < px; i++)
				ne += e[i] != 0;
			g[6] = ne / px;
			for (int y = 0; y < h; y++)
				for (int xx = 0; xx < w; xx++) {
#define LUMA(Y, X) (0.299 * im[(size_t)(Y) * w + (X)] + 0.587 * im[px + (size_t)(Y) * w + (X)] + \
                    0.114 * im[2 * px + (size_t)(Y) * w + (X)])
					int x0 = xx > 0 ? xx - 1 : xx, x1 = xx < w - 1 ? xx + 1 : xx;
					int y0 = y > 0 ? y - 1 : y, y1 = y < h - 1 ? y + 1 : y;
					double gx = LUMA(y, x1) - LUMA(y, x0), gy = LUMA(y1, xx) - LUMA(y0, xx);
#undef LUMA
					gm += sqrt(gx * gx + gy * gy);
				}
			g[7] = gm / px;
		}
	}
	free(x);
	free(mean);
	return st;
}

void rs_standardise_params(const double *x, int n, int d, double *mu, double *sd)
{
	for (int j = 0; j < d; j++) {
		double s = 0, q = 0;
		for (int i = 0; i < n; i++)
			s += x[(size_t)i * d + j];
		mu[j] = s / n;
		for (int i = 0; i < n; i++)
			q += (x[(size_t)i * d + j] - mu[j]) * (x[(size_t)i * d + j] - mu[j]);
		sd[j] = sqrt(q / n);
		if (!(sd[j] > 1e-12))
			sd[j] = 1;
	}
}

void rs_standardise(const double *x, int n, int d, const double *mu, const double *sd,
                    double *out)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
			out[(size_t)i * d + j] = (x[(size_t)i * d + j] - mu[j]) / sd[j];
}

void rs_scores(struct rs_row *rows, int n)
{
	double m[3] = { 0, 0, 0 };
	for (int r = 0; r < n; r++) {
		m[0] = fmax(m[0], fabs(rows[r].dfd));
		m[1] = fmax(m[1], fabs(rows[r].dhdd));
		m[2] = fmax(m[2], fabs(rows[r].df1));
	}
	for (int r = 0; r < n; r++)
		rows[r].score = ((m[0] > 0 ? rows[r].dfd / m[0] : 0) +
		                 (m[1] > 0 ? rows[r].dhdd / m[1] : 0) +
		                 (m[2] > 0 ? rows[r].df1 / m[2] : 0)) / 3;
}
