/*
 * ctrl-extract - control signals from images and music, and the
 * controllability metrics (see ctrl-extract(1)).
 *
 * The first word names a condition or "compare"; everything after it is
 * parsed by the part that owns it (ctrl.h): image conditions in image.c,
 * music conditions in music.c, metrics in compare.c.  This file only
 * dispatches and answers the top-level --help and --version.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"
#include "ctrl.h"

static const char usage[] =
	"usage: ctrl-extract condition [options] [IN] [-o OUT]\n"
	"       ctrl-extract compare [options] REF CAND [REF CAND ...]\n"
	"image conditions (PNG in, PNG or --tensor out):\n"
	"  canny lines scribble lineart shuffle tile binary color gray invert mask\n"
	"music conditions (WAV/FLAC in, tensor stream out):\n"
	"  melody dynamics rhythm\n"
	"metrics: compare\n"
	"'ctrl-extract CONDITION --help' describes a condition's options.\n"
	"common options: -o/--output FILE, -t/--threads N, --seed N, -f/--force, -q/--quiet,\n"
	"                -h/--help, --version\n";

static const char *const image_conds[] = {
	"canny", "lines", "scribble", "lineart", "shuffle", "tile", "binary",
	"color", "gray", "invert", "mask", NULL
};
static const char *const music_conds[] = { "melody", "dynamics", "rhythm", NULL };

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	dc_cli_init("ctrl-extract", usage);
	if (argc >= 2)
		dc_cli_subcommand_first(argc, argv);  /* ctrl-extract -t 2 canny ... */
	if (argc < 2) {
		fprintf(stderr, "ctrl-extract: missing condition\n%s", usage);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("ctrl-extract (diffcore) %s\n", DC_VERSION_STRING);
		return 0;
	}
	if (in_list(cmd, image_conds))
		return ctrl_image_main(argc - 1, argv + 1);
	if (in_list(cmd, music_conds))
		return ctrl_music_main(argc - 1, argv + 1);
	if (strcmp(cmd, "compare") == 0)
		return ctrl_compare_main(argc - 1, argv + 1);
	fprintf(stderr, "ctrl-extract: unknown condition '%s'\n"
	        "Try 'ctrl-extract --help' for more information.\n", cmd);
	return 2;
}

