/*
 * judge-bench.c: parse + judge (+ serialise, as the gateway forwards)
 * throughput on one core for ~1.5 KB commands, against a bare libxml2
 * parse of the same bytes measured in the same run.
 *
 *   judge-bench [CMD-FILE] [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>

#include "change.h"
#include "epp.h"
#include "lock.h"
#include "pipeline.h"
#include "policy.h"
#include "xsd.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if ((buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n)
		exit(2);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Run fn over the command until secs have passed; commands per second. */
static double
rate(int (*fn)(const char *, size_t, const struct policy *), const char *x,
    size_t len, const struct policy *p, double secs)
{
	double start = now(), t;
	unsigned long n = 0;

	do {
		for (int i = 0; i < 256; i++)
			if (fn(x, len, p) != 0) {
				fprintf(stderr, "judge-bench: command refused\n");
				exit(1);
			}
		n += 256;
		t = now() - start;
	} while (t < secs);
	return (double)n / t;
}

static int
bare_parse(const char *x, size_t len, const struct policy *p)
{
	xmlDocPtr d = xmlReadMemory(x, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);

	(void)p;
	if (d == NULL)
		return -1;
	xmlFreeDoc(d);
	return 0;
}

static struct xsd *schemas;

static int
judge(const char *x, size_t len, const struct policy *p)
{
	struct pipe_out po;
	int r;

	if (pipeline_judge(schemas, p, "registrar1", (const uint8_t *)x, len,
	    &po) != 0)
		return -1;
	r = po.action == PIPE_REPLY ? -1 : 0;
	pipe_out_clear(&po);
	return r;
}

int
main(int argc, char *argv[])
{
	const char *path = argc > 1 ? argv[1] : "tests/bench/cmd-1500.xml";
	double secs = argc > 2 ? atof(argv[2]) : 2.0, bare, full;
	struct locklist *l = locklist_new();
	struct policy *p;
	const char *why;
	size_t len;
	char *x = slurp(path, &len), *at, err[300];

	epp_init();
	if ((schemas = xsd_new(NULL, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "judge-bench: %s\n", err);
		return 1;
	}
	/* A realistic lock list: 10,000 names and a pattern. */
	for (int i = 0; i < 10000; i++) {
		char name[64];

		snprintf(name, sizeof(name), "locked%d.example", i);
		locklist_add(l, name, &why);
	}
	locklist_add(l, "*.bank.example", &why);
	p = policy_new(CLASS_ALL, l);
	if ((at = strstr(x, "@@CLTRID@@")) != NULL)
		memcpy(at, "BENCH-0001", 10);
	bare = rate(bare_parse, x, len, p, secs);
	full = rate(judge, x, len, p, secs);
	printf("judge-bench: %zu-byte command: parse+judge+serialise %.0f "
	    "cmds/s on one core (%.1f us each); bare libxml2 parse %.0f/s; "
	    "ratio %.2f\n", len, full, 1e6 / full, bare, full / bare);
	policy_free(p);
	free(x);
	return 0;
}
