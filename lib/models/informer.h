/*
 * informer.h - extras of the Informer forecaster (lib/models/informer.c)
 * beyond the generic dc_fc_model interface: a hook that fixes ProbSparse
 * attention's sampled keys, so that the unit tests can replay the samples
 * Time-Series-Library drew with torch.randint and compare outputs.
 */
#ifndef DC_INFORMER_H
#define DC_INFORMER_H

#include "forecast.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const struct dc_fc_model dc_fc_informer;

/*
 * Total number of sampled key indices one forward pass draws: the sum over
 * the ProbSparse attention calls, in the reference's call order (encoder
 * layers 0..e_layers-1, then for each decoder layer its self-attention and
 * its cross-attention), of L_Q x U_part, U_part = min(factor *
 * ceil(ln L_K), L_K).
 */
size_t dc_informer_sample_count(const struct dc_forecaster *f);

/*
 * Use idx (n = dc_informer_sample_count values, each call's [L_Q][U_part]
 * array in row-major order, concatenated in call order) as the sampled key
 * indices of every following forward pass, instead of drawing them from
 * (seed, call).  idx == NULL returns to drawing.  The array is copied.
 * DC_EINVAL if n is not the count or an index is out of range.
 */
enum dc_status dc_informer_set_samples(struct dc_forecaster *f, const int32_t *idx, size_t n);

/*
 * Test hook for finite-difference checks: while on, forward passes reuse
 * the discrete choices of the last training forward (each ProbSparse call's
 * top-u queries and the distilling max-pool's argmaxes) instead of making
 * them again, so the output is a smooth function of the parameters -- the
 * function whose gradient backward computes.  Only for the same batch
 * size; off (0) restores normal operation.
 */
enum dc_status dc_informer_freeze(struct dc_forecaster *f, int on);

#ifdef __cplusplus
}
#endif
#endif /* DC_INFORMER_H */
