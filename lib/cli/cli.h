/*
 * cli.h - the one command-line helper every diffcore tool uses (see
 * diffcore(7)).
 *
 * A tool declares its own getopt_long table with DC_CLI_LONGOPTS appended
 * and DC_CLI_SHORTOPTS prepended to its short options, and passes every
 * option it does not handle itself to dc_cli_option().  The helper then
 * provides: --help (prints the tool's usage, exit 0), --version, -o/--output
 * written atomically (temporary file in the same directory + rename, removed
 * on any failure or signal), refusal to write binary to a terminal unless
 * -f, -t/--threads, --seed, -q, tty-only progress bars on stderr, and the
 * "tool: what: why" messages with exit status 0/1/2.
 *
 * The helper is process-global state (one tool per process), not
 * thread-safe; call it from the main thread only.
 */
#ifndef DC_CLI_H
#define DC_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
	DC_OPT_VERSION = 0x1000,
	DC_OPT_SEED,
	DC_OPT_TOOL_BASE = 0x1100  /* tools number their long-only options from here */
};

#define DC_CLI_SHORTOPTS "ho:t:qf"
#define DC_CLI_LONGOPTS                                  \
	{ "help", no_argument, 0, 'h' },                 \
	{ "version", no_argument, 0, DC_OPT_VERSION },   \
	{ "output", required_argument, 0, 'o' },         \
	{ "threads", required_argument, 0, 't' },        \
	{ "seed", required_argument, 0, DC_OPT_SEED },   \
	{ "quiet", no_argument, 0, 'q' },                \
	{ "force", no_argument, 0, 'f' }

struct dc_cli {
	const char *prog;      /* tool name used in messages */
	const char *usage;     /* SYNOPSIS-style text printed by --help */
	const char *output;    /* -o argument or NULL (stdout) */
	int threads;           /* -t value, 0 if not given */
	uint64_t seed;         /* --seed value, or a default chosen by the tool */
	int seed_given;
	int quiet;
	int force;
};

/* Initialise the global helper; returns the struct the tool fills via
 * dc_cli_option(). `usage` is printed verbatim by --help. */
struct dc_cli *dc_cli_init(const char *prog, const char *usage);

/*
 * Handle one of the common options (c as returned by getopt_long).  Exits
 * 0 for --help/--version, 2 for a bad value or for '?' (unknown option,
 * getopt already printed why) and for any c it does not know.
 * After parsing, dc_cli_option applies -t via dc_set_threads().
 */
void dc_cli_option(struct dc_cli *cli, int c, const char *arg);

/*
 * For tools with subcommands (tool SUBCOMMAND [options]): common options
 * may also come before the subcommand word (tool -t 2 fit ...).  Moves the
 * first word that is not an option (skipping the values of -o, -t,
 * --output, --threads and --seed) to argv[1], keeping the order of the
 * rest, so the subcommand's own parser sees the options.  When there is
 * no such word, parses the common options (--help prints the usage given
 * to dc_cli_init, --version, bad values are usage errors) and exits 2 with
 * "missing subcommand".  Call after dc_cli_init.
 */
void dc_cli_subcommand_first(int argc, char **argv);

/* Print "prog: message" on stderr and exit 2 (usage error). */
void dc_usage_error(const char *fmt, ...) DC_PRINTF(1, 2) __attribute__((noreturn));
/* Print "prog: message" on stderr, remove a pending -o temporary file and
 * exit 1. */
void dc_die(const char *fmt, ...) DC_PRINTF(1, 2) __attribute__((noreturn));
/* dc_die with ": <dc_errmsg()>" (or the status text) appended. */
void dc_die_status(enum dc_status s, const char *fmt, ...) DC_PRINTF(2, 3) __attribute__((noreturn));
/* "prog: message" on stderr unless -q; no exit. */
void dc_warn(const char *fmt, ...) DC_PRINTF(1, 2);

/* Parse helpers: exit 2 with "prog: invalid value for --NAME: 'ARG'". */
long dc_cli_long(const char *name, const char *arg, long min, long max);
double dc_cli_double(const char *name, const char *arg, double min, double max);

/*
 * Open an input: NULL or "-" is stdin.  Exits 1 with
 * "prog: cannot open 'path': reason" on failure.
 */
FILE *dc_cli_open_input(const char *path);
/* The display name used in messages for an input path ("-"/NULL -> "stdin"). */
const char *dc_cli_input_name(const char *path);

/*
 * Open the output: cli->output or stdout.  With -o, a temporary file
 * "<dir>/.<name>.XXXXXX" is created and renamed over the target only by
 * dc_cli_commit_output(); until then any dc_die, exit(!=0) or SIGINT/SIGTERM/
 * SIGPIPE/SIGHUP removes it.  If `binary` and the output is a terminal and
 * -f was not given, exits 1 with "refusing to write binary data to a
 * terminal".
 */
FILE *dc_cli_open_output(int binary);
/* Flush, fsync and rename the temporary file into place (or flush stdout);
 * exits 1 with a message on any write error (e.g. ENOSPC, EPIPE). */
void dc_cli_commit_output(void);

/*
 * A further output file beside the main one (a chart, a log, a timestamp
 * list, one file of many): written like -o into a temporary file
 * "<dir>/.<name>.XXXXXX" with the usual umask-based mode, removed by any
 * dc_die, exit or signal, and put in place by dc_cli_side_commit() (through
 * dc_cli_replace: a device, FIFO or socket is written into).  Exits 1 with
 * "cannot write 'path': reason" when it cannot be created; at most 8 are
 * open at a time.
 */
FILE *dc_cli_side_open(const char *path);
/* Flush, fsync, close and put fp (from dc_cli_side_open) in place; exits 1
 * with "cannot write 'path': reason" on any error, the temporary removed. */
void dc_cli_side_commit(FILE *fp);

/*
 * rename(tmp, path) for a tool's own temporary files, except that a target
 * that is a device, FIFO or socket (e.g. --chart /dev/null) gets tmp's
 * bytes written into it and tmp removed, instead of being replaced by a
 * regular file.  0 on success; -1 with errno set otherwise (tmp is left
 * for the caller to remove).
 */
int dc_cli_replace(const char *tmp, const char *path);

/*
 * The installed default model `name` (a folder under share/diffcore/models/
 * holding the file `marker`, e.g. "model_index.json"): PREFIX/share/... for
 * a tool installed as PREFIX/bin/tool, or the source tree's when the tool
 * runs from build/bin or build/X/bin.  Returns a malloc'ed path, or NULL;
 * when `where` is not NULL, *where receives a malloc'ed PREFIX (the
 * binary's parent folder, for the "no default model in PREFIX" message) or
 * NULL.  Never exits.
 */
char *dc_cli_default_model(const char *name, const char *marker, char **where);

/*
 * dc_cli_default_model, or exit 1 with "no default WHAT is installed
 * (PREFIX/share/diffcore/models/NAME); give HINT".  Returns a malloc'ed path.
 */
char *dc_cli_require_default_model(const char *name, const char *marker, const char *what, const char *hint);

/*
 * -o patterns for one file per item (dit-gen, tts-synth): 1 if `s` holds
 * one %d conversion (%d, %5d, %05d: an optional 0 and up to 3 digits), 0
 * if it holds none, -1 if it is malformed (another conversion, two of
 * them); %% is a literal percent.  dc_cli_pattern_name formats item
 * `index` under a checked pattern (malloc'ed; dies on out of memory).
 */
int dc_cli_check_pattern(const char *s);
char *dc_cli_pattern_name(const char *pattern, int index);

/*
 * Progress bar on stderr, only when stderr is a terminal and -q was not
 * given.  Call with done <= total; done == total ends the line.
 */
void dc_progress(const char *label, uint64_t done, uint64_t total);

#ifdef __cplusplus
}
#endif
#endif /* DC_CLI_H */
