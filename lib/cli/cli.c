/*
 * cli.c - the command-line helper shared by every diffcore tool.
 *
 * Conventions (diffcore(7)): messages "tool: what: why" on stderr; exit 0
 * on success, 1 on a runtime or data error, 2 on a usage error; -o written
 * atomically through a temporary file in the target's directory which is
 * removed on any failure path (dc_die, exit with non-zero status, fatal
 * signals); binary output refused on a terminal unless -f; progress bars
 * only when stderr is a terminal and -q is not given.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct dc_cli g_cli;
static char g_tmp_path[PATH_MAX];   /* pending -o temporary file, "" if none */
static volatile sig_atomic_t g_tmp_live;
static FILE *g_out;
static int g_committed;
static int g_direct;     /* -o names a device, FIFO or socket: written in place */

/* dc_cli_side_open's files: a slot is free when !live */
#define SIDE_MAX 8
static struct side {
	FILE *fp;
	char *path;
	char tmp[PATH_MAX];
	volatile sig_atomic_t live;
} g_side[SIDE_MAX];

static void remove_tmp(void)
{
	if (g_tmp_live) {
		g_tmp_live = 0;
		unlink(g_tmp_path);
	}
	for (int i = 0; i < SIDE_MAX; i++)
		if (g_side[i].live) {
			g_side[i].live = 0;
			unlink(g_side[i].tmp);
		}
}

static void on_signal(int sig)
{
	if (g_tmp_live)
		unlink(g_tmp_path); /* async-signal-safe */
	for (int i = 0; i < SIDE_MAX; i++)
		if (g_side[i].live)
			unlink(g_side[i].tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT };
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		signal(sigs[i], on_signal);
}

/* "<dir>/.<base>.XXXXXX" for path into buf; 0, or -1 with the reason in *why */
static int tmp_name(char *buf, size_t size, const char *path, const char **why)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) + 1 : 0;
	const char *base = slash ? slash + 1 : path;
	*why = !*base ? "is a directory" : NULL;
	if (!*why && snprintf(buf, size, "%.*s.%s.XXXXXX", dirlen, path, base) >= (int)size)
		*why = "file name too long";
	return *why ? -1 : 0;
}

/* mkstemp(tmp) with the usual umask-based mode (mkstemp creates 0600) */
static int make_tmp(char *tmp)
{
	int fd = mkstemp(tmp);
	if (fd >= 0) {
		mode_t um = umask(0);
		umask(um);
		fchmod(fd, 0666 & ~um);
	}
	return fd;
}

FILE *dc_cli_side_open(const char *path)
{
	struct side *s = NULL;
	for (int i = 0; i < SIDE_MAX && !s; i++)
		if (!g_side[i].live && !g_side[i].fp)
			s = &g_side[i];
	if (!s)
		dc_die("cannot write '%s': too many open outputs", path);
	const char *why;
	if (tmp_name(s->tmp, sizeof s->tmp, path, &why))
		dc_die("cannot write '%s': %s", path, why);
	if (!(s->path = strdup(path)))
		dc_die("out of memory");
	catch_signals();
	int fd = make_tmp(s->tmp);
	if (fd < 0)
		dc_die("cannot write '%s': %s", path, strerror(errno));
	s->live = 1;
	if (!(s->fp = fdopen(fd, "wb")))
		dc_die("cannot write '%s': %s", path, strerror(errno));
	return s->fp;
}

void dc_cli_side_commit(FILE *fp)
{
	struct side *s = NULL;
	for (int i = 0; i < SIDE_MAX && !s; i++)
		if (g_side[i].fp == fp && fp)
			s = &g_side[i];
	if (!s)
		dc_die("internal error: dc_cli_side_commit of a file it did not open");
	s->fp = NULL;
	int bad = fflush(fp) != 0 || ferror(fp);
	if (!bad && fsync(fileno(fp)) != 0 && errno != EINVAL && errno != EROFS)
		bad = 1;
	int e = errno;
	if (fclose(fp) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (!bad && dc_cli_replace(s->tmp, s->path)) {
		bad = 1;
		e = errno;
	}
	if (bad)
		dc_die("cannot write '%s': %s", s->path, strerror(e ? e : EIO));
	s->live = 0;
	free(s->path);
	s->path = NULL;
}

static void at_exit(void)
{
	/* exit() without dc_cli_commit_output(): the output is incomplete */
	remove_tmp();
}

struct dc_cli *dc_cli_init(const char *prog, const char *usage)
{
	memset(&g_cli, 0, sizeof g_cli);
	g_cli.prog = prog;
	g_cli.usage = usage;
	atexit(at_exit);
	return &g_cli;
}

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", g_cli.prog ? g_cli.prog : "diffcore");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void dc_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", g_cli.prog);
	remove_tmp();
	exit(2);
}

void dc_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	remove_tmp();
	exit(1);
}

void dc_die_status(enum dc_status s, const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	const char *why = dc_errmsg();
	dc_die("%s: %s", what, why && *why ? why : dc_strstatus(s));
}

void dc_warn(const char *fmt, ...)
{
	va_list ap;
	if (g_cli.quiet)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

long dc_cli_long(const char *name, const char *arg, long min, long max)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		dc_usage_error("invalid value for --%s: '%s' (expected an integer from %ld to %ld)",
		               name, arg, min, max);
	return v;
}

double dc_cli_double(const char *name, const char *arg, double min, double max)
{
	char *end;
	double v;
	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= min && v <= max))
		dc_usage_error("invalid value for --%s: '%s' (expected a number from %g to %g)",
		               name, arg, min, max);
	return v;
}

static uint64_t parse_seed(const char *arg)
{
	char *end;
	unsigned long long v;
	errno = 0;
	if (*arg == '-')
		dc_usage_error("invalid value for --seed: '%s' (expected 0 to 2^64-1)", arg);
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end)
		dc_usage_error("invalid value for --seed: '%s' (expected 0 to 2^64-1)", arg);
	return (uint64_t)v;
}

void dc_cli_option(struct dc_cli *cli, int c, const char *arg)
{
	switch (c) {
	case 'h':
		fputs(cli->usage, stdout);
		exit(0);
	case DC_OPT_VERSION:
		printf("%s (diffcore) %s\n", cli->prog, DC_VERSION_STRING);
		exit(0);
	case 'o':
		if (!*arg)
			dc_usage_error("invalid value for --output: empty file name");
		cli->output = strcmp(arg, "-") == 0 ? NULL : arg;
		break;
	case 't':
		cli->threads = (int)dc_cli_long("threads", arg, 1, 4096);
		dc_set_threads(cli->threads);
		break;
	case DC_OPT_SEED:
		cli->seed = parse_seed(arg);
		cli->seed_given = 1;
		break;
	case 'q':
		cli->quiet = 1;
		break;
	case 'f':
		cli->force = 1;
		break;
	case '?':
		/* getopt_long already printed the reason */
		fprintf(stderr, "Try '%s --help' for more information.\n", cli->prog);
		exit(2);
	case ':':
		fprintf(stderr, "Try '%s --help' for more information.\n", cli->prog);
		exit(2);
	default:
		dc_usage_error("unhandled option");
	}
}

static int common_takes_value(const char *a)
{
	return strcmp(a, "-o") == 0 || strcmp(a, "-t") == 0 || strcmp(a, "--output") == 0 ||
	       strcmp(a, "--threads") == 0 || strcmp(a, "--seed") == 0;
}

void dc_cli_subcommand_first(int argc, char **argv)
{
	int i = 1;
	while (i < argc && argv[i][0] == '-' && argv[i][1])
		i += common_takes_value(argv[i]) ? 2 : 1;
	if (i < argc) {
		char *word = argv[i];
		memmove(argv + 2, argv + 1, (size_t)(i - 1) * sizeof *argv);
		argv[1] = word;
		return;
	}
	static const struct option longopts[] = { DC_CLI_LONGOPTS, { 0, 0, 0, 0 } };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, DC_CLI_SHORTOPTS, longopts, NULL)) != -1)
		dc_cli_option(&g_cli, c, optarg);
	dc_usage_error("missing subcommand");
}

const char *dc_cli_input_name(const char *path)
{
	return !path || strcmp(path, "-") == 0 ? "stdin" : path;
}

FILE *dc_cli_open_input(const char *path)
{
	if (!path || strcmp(path, "-") == 0)
		return stdin;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		dc_die("cannot open '%s': %s", path, strerror(errno));
	return fp;
}

FILE *dc_cli_open_output(int binary)
{
	const char *path = g_cli.output;
	if (g_out)
		return g_out;
	if (!path) {
		if (binary && !g_cli.force && isatty(STDOUT_FILENO))
			dc_die("refusing to write binary data to a terminal (use -o FILE or -f)");
		g_out = stdout;
		return g_out;
	}
	/* a device, FIFO or socket (-o /dev/null, -o /dev/stdout, a named pipe)
	 * is written in place: renaming a temporary file over it would replace
	 * the device node with a regular file */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		g_out = fopen(path, "wb");
		if (!g_out)
			dc_die("cannot write '%s': %s", path, strerror(errno));
		g_direct = 1;
		g_committed = 0;
		return g_out;
	}
	/* temporary file beside the target so rename(2) is atomic */
	const char *why;
	if (tmp_name(g_tmp_path, sizeof g_tmp_path, path, &why))
		dc_die("cannot write '%s': %s", path, why);
	catch_signals();
	int fd = make_tmp(g_tmp_path);
	if (fd < 0)
		dc_die("cannot write '%s': %s", path, strerror(errno));
	g_tmp_live = 1;
	g_committed = 0;   /* a tool writing several files opens one after another */
	g_out = fdopen(fd, "wb");
	if (!g_out)
		dc_die("cannot write '%s': %s", path, strerror(errno));
	return g_out;
}

void dc_cli_commit_output(void)
{
	if (!g_out || g_committed)
		return;
	if (fflush(g_out) != 0 || ferror(g_out))
		dc_die("cannot write '%s': %s", g_cli.output ? g_cli.output : "stdout", strerror(errno));
	if (g_out == stdout) {
		g_committed = 1;
		return;
	}
	if (g_direct) {
		int bad = fclose(g_out) != 0;
		g_out = NULL;
		g_direct = 0;
		if (bad)
			dc_die("cannot write '%s': %s", g_cli.output, strerror(errno));
		g_committed = 1;
		return;
	}
	if (fsync(fileno(g_out)) != 0 && errno != EINVAL && errno != EROFS)
		dc_die("cannot write '%s': %s", g_cli.output, strerror(errno));
	if (fclose(g_out) != 0) {
		g_out = NULL;
		dc_die("cannot write '%s': %s", g_cli.output, strerror(errno));
	}
	g_out = NULL;
	if (rename(g_tmp_path, g_cli.output) != 0)
		dc_die("cannot write '%s': %s", g_cli.output, strerror(errno));
	g_tmp_live = 0;
	g_committed = 1;
}

void dc_progress(const char *label, uint64_t done, uint64_t total)
{
	static int tty = -1;
	if (g_cli.quiet)
		return;
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty || total == 0)
		return;
	int width = 30, fill = (int)(done * (uint64_t)width / total);
	char bar[64];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = 0;
	fprintf(stderr, "\r%s: %s [%s] %3d%%", g_cli.prog, label, bar, (int)(done * 100 / total));
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

char *dc_cli_default_model(const char *name, const char *marker, char **where)
{
	char exe[PATH_MAX];
	if (where)
		*where = NULL;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *base = strrchr(exe, '/');   /* PREFIX/bin/tool -> PREFIX/bin */
	if (!base)
		return NULL;
	*base = 0;
	for (int up = 1; up <= 3; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash)
			break;
		*slash = 0;
		char *dir, *file, real[PATH_MAX];
		if (asprintf(&dir, "%s/share/diffcore/models/%s", exe, name) < 0)
			return NULL;
		if (up == 1 && where)
			*where = strdup(realpath(exe, real) ? real : exe);
		if (asprintf(&file, "%s/%s", dir, marker) < 0) {
			free(dir);
			return NULL;
		}
		struct stat sb;
		int found = stat(file, &sb) == 0;
		free(file);
		if (found)
			return dir;
		free(dir);
	}
	return NULL;
}

char *dc_cli_require_default_model(const char *name, const char *marker, const char *what, const char *hint)
{
	char *prefix = NULL, *dir = dc_cli_default_model(name, marker, &prefix);
	if (!dir)
		dc_die("no default %s is installed (%s/share/diffcore/models/%s); give %s", what,
		       prefix ? prefix : "PREFIX", name, hint);
	free(prefix);
	return dir;
}

int dc_cli_replace(const char *tmp, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		return rename(tmp, path);
	FILE *in = fopen(tmp, "rb");
	if (!in)
		return -1;
	FILE *out = fopen(path, "wb");
	if (!out) {
		int e = errno;
		fclose(in);
		errno = e;
		return -1;
	}
	char buf[65536];
	size_t n;
	int bad = 0, e = 0;
	while (!bad && (n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n) {
			bad = 1;
			e = errno;
		}
	if (!bad && ferror(in)) {
		bad = 1;
		e = errno;
	}
	fclose(in);
	if (fclose(out) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		errno = e ? e : EIO;
		return -1;
	}
	unlink(tmp);
	return 0;
}

int dc_cli_check_pattern(const char *s)
{
	int conv = 0;
	for (const char *p = s; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '%') {
			p++;
			continue;
		}
		const char *q = p + 1;
		if (*q == '0')
			q++;
		int digits = 0;
		while (*q >= '0' && *q <= '9' && digits < 3)
			q++, digits++;
		if (*q != 'd' || conv)
			return -1;
		conv = 1;
		p = q;
	}
	return conv;
}

char *dc_cli_pattern_name(const char *pattern, int index)
{
	char *out = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (asprintf(&out, pattern, index) < 0)
		dc_die("out of memory");
#pragma GCC diagnostic pop
	return out;
}
