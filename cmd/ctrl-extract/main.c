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

/*
 * Common options may come before the condition (ctrl-extract -t 2 canny
 * ...): move the condition to the front, so that the options follow it and
 * the condition's own parser reads them.  Returns 0 when there is no
 * condition word at all.
 */
static int takes_arg(const char *a)
{
	return strcmp(a, "-o") == 0 || strcmp(a, "-t") == 0 || strcmp(a, "--output") == 0 ||
	       strcmp(a, "--threads") == 0 || strcmp(a, "--seed") == 0;
}

static int hoist_condition(int argc, char **argv)
{
	int i = 1;
	while (i < argc && argv[i][0] == '-' && argv[i][1])
		i += takes_arg(argv[i]) ? 2 : 1;
	if (i >= argc)
		return 0;
	char *cond = argv[i];
	memmove(argv + 2, argv + 1, (size_t)(i - 1) * sizeof *argv);
	argv[1] = cond;
	return 1;
}

/* Options only: --help, --version, or a usage error for a bad value. */
static int options_only(int argc, char **argv)
{
	static const struct option longopts[] = { DC_CLI_LONGOPTS, { 0, 0, 0, 0 } };
	struct dc_cli *cli = dc_cli_init("ctrl-extract", usage);
	int c;
	while ((c = getopt_long(argc, argv, DC_CLI_SHORTOPTS, longopts, NULL)) != -1)
		dc_cli_option(cli, c, optarg);
	dc_usage_error("missing condition");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !hoist_condition(argc, argv))
		return options_only(argc, argv);
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

