/*
 * par.h - private to lib/image: run jobs 0..n-1 of a row kernel on up to
 * T threads without any spinning wait.  The calling thread takes jobs
 * too; helper threads are detached and claim jobs from a shared counter,
 * so a helper the scheduler has not started yet is never waited for (on a
 * loaded machine the caller then simply does the work itself).  The call
 * returns when every job has finished.  fn(ctx, job, tid) gets the
 * participant number tid in [0, T): 0 is the caller.  Jobs must not call
 * dc_fail (its message is per thread); report failure through ctx.
 */
#ifndef DC_IMAGE_PAR_H
#define DC_IMAGE_PAR_H

/* Number of participants worth using for `work` units (e.g. pixels) with
 * at least `min_work` per thread, capped by dc_threads() and by njobs. */
int dc_par_threads(size_t work, size_t min_work, int njobs);

void dc_par_run(int nthreads, int njobs, void (*fn)(void *ctx, int job, int tid), void *ctx);

#endif /* DC_IMAGE_PAR_H */
