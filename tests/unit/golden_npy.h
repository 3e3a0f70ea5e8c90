/*
 * golden_npy.h - the unit tests' reader of golden files: a .npy file under
 * tests/golden/DIR/ that holds up to GOLDEN_MAXT arrays back to back (as
 * the make_*.py scripts write them), found from $DC_TOP (default ".").
 */
#ifndef GOLDEN_NPY_H
#define GOLDEN_NPY_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/npy.h"

#define GOLDEN_MAXT 8

struct golden {
	int n;
	struct dc_tensor t[GOLDEN_MAXT];
};

static inline const char *top_dir(void)
{
	const char *top = getenv("DC_TOP");
	return top ? top : ".";
}

/* Read tests/golden/DIR/NAME.npy into g; 0, or -1 with a "#" line printed. */
static inline int golden_npy_load(struct golden *g, const char *dir, const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/tests/golden/%s/%s.npy", top_dir(), dir, name);
	memset(g, 0, sizeof *g);
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		printf("#   cannot open %s\n", path);
		return -1;
	}
	while (g->n < GOLDEN_MAXT) {
		enum dc_status st = dc_npy_read(fp, &g->t[g->n]);
		if (st == DC_EEOF)
			break;
		if (st) {
			printf("#   %s: %s\n", path, dc_errmsg());
			fclose(fp);
			return -1;
		}
		g->n++;
	}
	fclose(fp);
	return 0;
}

static inline void golden_free(struct golden *g)
{
	for (int i = 0; i < g->n; i++)
		dc_tensor_release(&g->t[i]);
}

#endif
