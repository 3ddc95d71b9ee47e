/*
 * promsum.c: summing Prometheus pages (promsum.h).
 *
 * Families and samples keep the order in which they were first seen, so
 * the page reads like any one process's page.  Linear search: a page has
 * tens of families and a few hundred samples.
 */
#define _GNU_SOURCE	/* strndup(3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "promsum.h"

#define MAX_FAMILIES	256
#define MAX_SAMPLES	4096
#define MAX_LINE	1024

struct sample {
	char	*key;		/* name{labels} */
	double	 v;
	int	 fractional;	/* print with decimals */
};

struct family {
	char	*name;
	char	*help;		/* the whole line, or NULL */
	char	*type;		/* "counter", "gauge", ... or NULL */
	struct sample *s;
	size_t	 n, cap;
};

struct promsum {
	struct family	*f;
	size_t		 nf, cap;
	size_t		 nsamples;
};

struct promsum *
promsum_new(void)
{
	return calloc(1, sizeof(struct promsum));
}

void
promsum_free(struct promsum *ps)
{
	if (ps == NULL)
		return;
	for (size_t i = 0; i < ps->nf; i++) {
		for (size_t j = 0; j < ps->f[i].n; j++)
			free(ps->f[i].s[j].key);
		free(ps->f[i].s);
		free(ps->f[i].name);
		free(ps->f[i].help);
		free(ps->f[i].type);
	}
	free(ps->f);
	free(ps);
}

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == ':';
}

static struct family *
family(struct promsum *ps, const char *name, size_t len)
{
	struct family *f;

	for (size_t i = 0; i < ps->nf; i++)
		if (strlen(ps->f[i].name) == len &&
		    memcmp(ps->f[i].name, name, len) == 0)
			return &ps->f[i];
	if ((f = grow_array(ps->f, &ps->cap, ps->nf + 1, sizeof(*f),
	    MAX_FAMILIES)) == NULL)
		return NULL;
	ps->f = f;
	f = &ps->f[ps->nf];
	memset(f, 0, sizeof(*f));
	if ((f->name = strndup(name, len)) == NULL)
		return NULL;
	ps->nf++;
	return f;
}

/* "# HELP name text" or "# TYPE name type". */
static int
meta(struct promsum *ps, const char *line, int counters_only,
    const char **types, size_t ntypes)
{
	const char *name = line + 7, *end = name;
	struct family *f;
	int help = line[2] == 'H';

	(void)types;
	(void)ntypes;
	while (name_char(*end))
		end++;
	if (end == name || *end != ' ')
		return 0;
	if (counters_only && !help && strcmp(end + 1, "counter") != 0)
		return 0;
	if (counters_only && help)
		return 0;	/* added with its TYPE line, below */
	if ((f = family(ps, name, (size_t)(end - name))) == NULL)
		return -1;
	if (help && f->help == NULL && (f->help = strdup(line)) == NULL)
		return -1;
	if (!help && f->type == NULL && (f->type = strdup(end + 1)) == NULL)
		return -1;
	return 0;
}

static int
sample(struct promsum *ps, const char *line, int counters_only)
{
	const char *sp = strrchr(line, ' '), *p = line;
	struct family *f = NULL;
	char *endv;
	double v;

	if (sp == NULL || sp == line)
		return 0;
	v = strtod(sp + 1, &endv);
	if (*endv != '\0' || endv == sp + 1)
		return 0;
	while (name_char(*p))
		p++;
	if (p == line || (*p != '{' && p != sp))
		return 0;
	for (size_t i = 0; i < ps->nf; i++)
		if (strlen(ps->f[i].name) == (size_t)(p - line) &&
		    memcmp(ps->f[i].name, line, (size_t)(p - line)) == 0)
			f = &ps->f[i];
	if (f == NULL) {
		if (counters_only)
			return 0;	/* no TYPE counter line: not kept */
		if ((f = family(ps, line, (size_t)(p - line))) == NULL)
			return -1;
	}
	if (counters_only && (f->type == NULL || strcmp(f->type,
	    "counter") != 0))
		return 0;
	for (size_t i = 0; i < f->n; i++)
		if (strlen(f->s[i].key) == (size_t)(sp - line) &&
		    memcmp(f->s[i].key, line, (size_t)(sp - line)) == 0) {
			f->s[i].v += v;
			f->s[i].fractional |= strchr(sp + 1, '.') != NULL;
			return 0;
		}
	if (ps->nsamples == MAX_SAMPLES)
		return -1;
	{
		struct sample *s = grow_array(f->s, &f->cap, f->n + 1,
		    sizeof(*s), MAX_SAMPLES);

		if (s == NULL)
			return -1;
		f->s = s;
		if ((s[f->n].key = strndup(line, (size_t)(sp - line))) ==
		    NULL)
			return -1;
		s[f->n].v = v;
		s[f->n].fractional = strchr(sp + 1, '.') != NULL;
		f->n++;
		ps->nsamples++;
	}
	return 0;
}

int
promsum_add(struct promsum *ps, const char *text, size_t len,
    int counters_only)
{
	char line[MAX_LINE];
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t ll = nl != NULL ? (size_t)(nl - (text + i)) : len - i;
		int r = 0;

		if (ll > 0 && ll < sizeof(line) && memchr(text + i, '\0',
		    ll) == NULL) {
			memcpy(line, text + i, ll);
			line[ll] = '\0';
			if (strncmp(line, "# HELP ", 7) == 0 ||
			    strncmp(line, "# TYPE ", 7) == 0)
				r = meta(ps, line, counters_only, NULL, 0);
			else if (line[0] != '#')
				r = sample(ps, line, counters_only);
		}
		if (r != 0)
			return -1;
		i += ll + 1;
	}
	return 0;
}

char *
promsum_text(const struct promsum *ps, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &size)) == NULL)
		return NULL;
	for (size_t i = 0; i < ps->nf; i++) {
		const struct family *fa = &ps->f[i];

		if (fa->help != NULL)
			fprintf(f, "%s\n", fa->help);
		if (fa->type != NULL)
			fprintf(f, "# TYPE %s %s\n", fa->name, fa->type);
		for (size_t j = 0; j < fa->n; j++) {
			if (fa->s[j].fractional)
				fprintf(f, "%s %.6f\n", fa->s[j].key,
				    fa->s[j].v);
			else
				fprintf(f, "%s %.0f\n", fa->s[j].key,
				    fa->s[j].v);
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	if (len != NULL)
		*len = size;
	return buf;
}
