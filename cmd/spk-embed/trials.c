/*
 * trials.c - spk-embed's trial lists and score files, both text, one trial
 * per line, fields separated by tabs (paths may hold spaces):
 *
 *   trials:  ENROLL<TAB>TEST[<TAB>LABEL]
 *   scores:  ENROLL<TAB>TEST<TAB>LABEL<TAB>SCORE   (what score --trials prints)
 *            LABEL<TAB>SCORE
 *
 * LABEL is 1, target or true for a same-speaker trial, 0, nontarget or
 * false for a different-speaker one.  Empty lines and lines starting with
 * '#' are skipped; a CR before the newline is ignored.  Any other line is
 * an error naming the file and line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "se.h"

int se_parse_label(const char *s)
{
	if (strcmp(s, "1") == 0 || strcasecmp(s, "target") == 0 || strcasecmp(s, "true") == 0)
		return 1;
	if (strcmp(s, "0") == 0 || strcasecmp(s, "nontarget") == 0 || strcasecmp(s, "false") == 0)
		return 0;
	return -1;
}

/* Split `line` in place at tabs into at most `max` fields; returns the count
 * (max + 1 when there are more). */
static int split_tabs(char *line, char **f, int max)
{
	int n = 0;
	for (char *p = line;;) {
		if (n == max)
			return max + 1;
		f[n++] = p;
		char *t = strchr(p, '\t');
		if (!t)
			return n;
		*t = 0;
		p = t + 1;
	}
}

/* getline without the newline (and a CR before it); -1 at the end. */
static ssize_t read_line(FILE *fp, char **buf, size_t *cap)
{
	ssize_t n = getline(buf, cap, fp);
	if (n < 0)
		return -1;
	if (n && (*buf)[n - 1] == '\n')
		(*buf)[--n] = 0;
	if (n && (*buf)[n - 1] == '\r')
		(*buf)[--n] = 0;
	return n;
}

static int skip_line(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == 0 || *s == '#';
}

static void free_trials(struct se_trial *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].line);
	free(t);
}

struct se_trial *se_read_trials(struct se_ctx *c, const char *path, int need_labels, size_t *count)
{
	const char *shown = dc_cli_input_name(path);
	FILE *fp = dc_cli_open_input(path);
	struct se_trial *t = NULL;
	size_t n = 0, cap = 0, bcap = 0;
	char *buf = NULL, err[1024] = "";
	int lineno = 0;
	c->trials_name = shown;
	while (read_line(fp, &buf, &bcap) >= 0) {
		lineno++;
		if (skip_line(buf))
			continue;
		char *f[4];
		size_t len = strlen(buf);
		int nf = split_tabs(buf, f, 3), label = -1;
		if (nf == 1)
			snprintf(err, sizeof err, "'%s' line %d: expected ENROLL<TAB>TEST[<TAB>LABEL], found one field "
			         "(fields are separated by tabs)", shown, lineno);
		else if (nf > 3)
			snprintf(err, sizeof err, "'%s' line %d: expected ENROLL<TAB>TEST[<TAB>LABEL], found more than 3 "
			         "tab-separated fields", shown, lineno);
		else if (!*f[0] || !*f[1])
			snprintf(err, sizeof err, "'%s' line %d: empty file name", shown, lineno);
		else if (nf == 3 && (label = se_parse_label(f[2])) < 0)
			snprintf(err, sizeof err, "'%s' line %d: bad label '%.200s' (1, target or true; 0, nontarget or false)",
			         shown, lineno, f[2]);
		else if (need_labels && label < 0)
			snprintf(err, sizeof err, "'%s' line %d: no label (eval needs a third field: 1 or target, 0 or "
			         "nontarget)", shown, lineno);
		if (*err)
			break;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			struct se_trial *p = realloc(t, cap * sizeof *p);
			if (!p)
				dc_die("out of memory");
			t = p;
		}
		/* the line as read: the fields joined again by their tabs */
		char *copy = malloc(len + 1);
		if (!copy)
			dc_die("out of memory");
		memcpy(copy, buf, len + 1);
		for (size_t k = 0; k < len; k++)
			if (!copy[k])
				copy[k] = '\t';
		t[n].a = se_intern(c, f[0], lineno);
		t[n].b = se_intern(c, f[1], lineno);
		t[n].label = label;
		t[n].score = NAN;
		t[n].line = copy;
		t[n].lineno = lineno;
		n++;
	}
	if (!*err && ferror(fp))
		snprintf(err, sizeof err, "cannot read '%s': %s", shown, strerror(errno));
	if (!*err && n == 0)
		snprintf(err, sizeof err, "'%s': no trials", shown);
	if (fp != stdin)
		fclose(fp);
	free(buf);
	if (*err) {
		free_trials(t, n);
		dc_die("%s", err);
	}
	*count = n;
	return t;
}

void se_read_scores(const char *path, double **scores, uint8_t **labels, size_t *count)
{
	const char *shown = dc_cli_input_name(path);
	FILE *fp = dc_cli_open_input(path);
	double *s = NULL;
	uint8_t *l = NULL;
	size_t n = 0, cap = 0, bcap = 0;
	char *buf = NULL, err[1024] = "";
	int lineno = 0;
	while (read_line(fp, &buf, &bcap) >= 0) {
		lineno++;
		if (skip_line(buf))
			continue;
		char *f[5], *end;
		int nf = split_tabs(buf, f, 4), label = -1;
		double v = 0;
		if (nf == 3)
			snprintf(err, sizeof err, "'%s' line %d: no label (a scores line is ENROLL<TAB>TEST<TAB>LABEL<TAB>SCORE "
			         "or LABEL<TAB>SCORE)", shown, lineno);
		else if (nf != 2 && nf != 4)
			snprintf(err, sizeof err, "'%s' line %d: expected ENROLL<TAB>TEST<TAB>LABEL<TAB>SCORE or "
			         "LABEL<TAB>SCORE, found %s tab-separated field%s", shown, lineno,
			         nf == 1 ? "one" : "more than 4", nf == 1 ? "" : "s");
		else if ((label = se_parse_label(f[nf - 2])) < 0)
			snprintf(err, sizeof err, "'%s' line %d: bad label '%.200s' (1, target or true; 0, nontarget or false)",
			         shown, lineno, f[nf - 2]);
		else if (v = strtod(f[nf - 1], &end), end == f[nf - 1] || *end || !isfinite(v))
			snprintf(err, sizeof err, "'%s' line %d: bad score '%.200s'", shown, lineno, f[nf - 1]);
		if (*err)
			break;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			double *s2 = realloc(s, cap * sizeof *s);
			uint8_t *l2 = s2 ? realloc(l, cap) : NULL;
			if (!s2 || !l2)
				dc_die("out of memory");
			s = s2;
			l = l2;
		}
		s[n] = v;
		l[n] = (uint8_t)label;
		n++;
	}
	if (!*err && ferror(fp))
		snprintf(err, sizeof err, "cannot read '%s': %s", shown, strerror(errno));
	if (!*err && n == 0)
		snprintf(err, sizeof err, "'%s': no scores", shown);
	if (fp != stdin)
		fclose(fp);
	free(buf);
	if (*err) {
		free(s);
		free(l);
		dc_die("%s", err);
	}
	*scores = s;
	*labels = l;
	*count = n;
}
