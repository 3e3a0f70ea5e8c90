/*
 * par.c - the job runner of par.h.  A reference-counted control block
 * holds the job counter; detached helpers claim jobs with an atomic
 * fetch-add and never touch the caller's context once the counter is past
 * the last job, so the caller may return (after the jobs in flight are
 * done: mutex + condition variable, no spinning) while a late helper is
 * still starting up; the last one out frees the block.
 */
#include <pthread.h>
#include <stdlib.h>

#include "../core/core.h"
#include "par.h"

struct par_ctl {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int next, n, done, refs, tids;
	void (*fn)(void *, int, int);
	void *ctx;
};

static void ctl_release(struct par_ctl *c)
{
	pthread_mutex_lock(&c->mu);
	int last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (last) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		free(c);
	}
}

static void work(struct par_ctl *c, int tid)
{
	int j;
	while ((j = __atomic_fetch_add(&c->next, 1, __ATOMIC_ACQ_REL)) < c->n) {
		c->fn(c->ctx, j, tid);
		pthread_mutex_lock(&c->mu);
		if (++c->done == c->n)
			pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
}

static void *helper(void *arg)
{
	struct par_ctl *c = arg;
	int tid = __atomic_add_fetch(&c->tids, 1, __ATOMIC_ACQ_REL);
	work(c, tid);
	ctl_release(c);
	return NULL;
}

int dc_par_threads(size_t work_units, size_t min_work, int njobs)
{
	int t = dc_threads();
	size_t cap = min_work ? work_units / min_work : (size_t)t;
	if ((size_t)t > cap)
		t = (int)cap;
	if (t > njobs)
		t = njobs;
	return t < 1 ? 1 : t;
}

void dc_par_run(int nthreads, int njobs, void (*fn)(void *ctx, int job, int tid), void *ctx)
{
	struct par_ctl *c = NULL;
	if (nthreads > njobs)
		nthreads = njobs;
	if (nthreads > 1)
		c = malloc(sizeof *c);
	if (!c || pthread_mutex_init(&c->mu, NULL)) {
		free(c);
		for (int j = 0; j < njobs; j++)
			fn(ctx, j, 0);
		return;
	}
	if (pthread_cond_init(&c->cv, NULL)) {
		pthread_mutex_destroy(&c->mu);
		free(c);
		for (int j = 0; j < njobs; j++)
			fn(ctx, j, 0);
		return;
	}
	c->next = 0;
	c->n = njobs;
	c->done = 0;
	c->refs = 1;
	c->tids = 0;
	c->fn = fn;
	c->ctx = ctx;
	pthread_attr_t at;
	int attr = pthread_attr_init(&at) == 0;
	if (attr)
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	for (int t = 1; t < nthreads && attr; t++) {
		pthread_t th;
		pthread_mutex_lock(&c->mu);
		c->refs++;
		pthread_mutex_unlock(&c->mu);
		if (pthread_create(&th, &at, helper, c)) {
			pthread_mutex_lock(&c->mu);
			c->refs--;
			pthread_mutex_unlock(&c->mu);
			break;
		}
	}
	if (attr)
		pthread_attr_destroy(&at);
	work(c, 0);
	pthread_mutex_lock(&c->mu);
	while (c->done < c->n)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	ctl_release(c);
}
