/*
 * bench_tts.c - wall-clock timing of a text-to-speech command for
 * tests/bench/tts.sh: whole-process time, and the time to first audio of a
 * streaming one (from just before fork until the first byte past the
 * header arrives on its stdout pipe).
 *
 *   bench_tts [-r R] [-i FILE] [-H BYTES] [-l LABEL] -- COMMAND [ARG...]
 *
 * Runs COMMAND R times (default 5), stdin from FILE (default /dev/null),
 * stdout a pipe read to EOF (and thrown away), stderr inherited.  Prints
 * "RESULT LABEL total min_ms median_ms" and, when any stdout byte past the
 * first BYTES (default 44, the WAV header) came, "RESULT LABEL ttfa min_ms
 * median_ms".  Exits 1 when a run fails.  Timings are reported, never
 * asserted.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXR 1000

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	int runs = 5, c;
	long header = 44;
	const char *input = "/dev/null", *label = "cmd";
	while ((c = getopt(argc, argv, "+r:i:H:l:")) != -1) {
		switch (c) {
		case 'r': runs = atoi(optarg); break;
		case 'i': input = optarg; break;
		case 'H': header = atol(optarg); break;
		case 'l': label = optarg; break;
		default: goto usage;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc || runs < 1 || runs > MAXR || header < 0) {
usage:
		fprintf(stderr, "usage: bench_tts [-r R] [-i FILE] [-H BYTES] [-l LABEL] -- COMMAND [ARG...]\n");
		return 2;
	}
	static double total[MAXR], ttfa[MAXR];
	int nttfa = 0;
	for (int r = 0; r < runs; r++) {
		int fd[2];
		int in = open(input, O_RDONLY);
		if (in < 0 || pipe(fd)) {
			perror(input);
			return 1;
		}
		double t0 = now_ms(), first = -1;
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			dup2(in, 0);
			dup2(fd[1], 1);
			close(in);
			close(fd[0]);
			close(fd[1]);
			execvp(argv[optind], argv + optind);
			perror(argv[optind]);
			_exit(127);
		}
		close(in);
		close(fd[1]);
		static char buf[1 << 16];
		long got = 0;
		ssize_t k;
		while ((k = read(fd[0], buf, sizeof buf)) > 0) {
			got += k;
			if (first < 0 && got > header)
				first = now_ms() - t0;
		}
		close(fd[0]);
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "bench_tts: %s: run %d failed\n", argv[optind], r + 1);
			return 1;
		}
		total[r] = now_ms() - t0;
		if (first >= 0)
			ttfa[nttfa++] = first;
	}
	double tmin = total[0];
	for (int r = 1; r < runs; r++)
		tmin = total[r] < tmin ? total[r] : tmin;
	printf("RESULT %s total %.1f %.1f\n", label, tmin, median(total, runs));
	if (nttfa) {
		double fmin = ttfa[0];
		for (int r = 1; r < nttfa; r++)
			fmin = ttfa[r] < fmin ? ttfa[r] : fmin;
		printf("RESULT %s ttfa %.1f %.1f\n", label, fmin, median(ttfa, nttfa));
	}
	return 0;
}
