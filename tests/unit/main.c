/*
 * main.c: run every unit suite (see suites.h).  Run from the top of the
 * tree: some suites read certs/dev/ (made by `make certs`) and the shared
 * corpus (../shared/corpus, or $EPPGW_CORPUS).
 *
 *   unit-tests [SUITE...]   only the named suites
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epp.h"
#include "err.h"
#include "suites.h"
#include "xsd.h"

#define MAX_SUITES 64

static struct {
	const char	*name;
	unit_suite_fn	 fn;
} registered[MAX_SUITES];
static size_t nregistered;
static struct xsd *schemas;

const char *
unit_corpus_dir(void)
{
	const char *d = getenv("EPPGW_CORPUS");

	return d != NULL ? d : "../shared/corpus/epp-samples";
}

char *
unit_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	ck_assert_ptr_nonnull(buf = malloc((size_t)n + 1));
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

const struct xsd *
unit_xsd(void)
{
	return schemas;
}

void
unit_register(const char *name, unit_suite_fn fn)
{
	if (nregistered == MAX_SUITES) {
		fprintf(stderr, "unit-tests: too many suites\n");
		abort();
	}
	registered[nregistered].name = name;
	registered[nregistered++].fn = fn;
}

/* "frame" selects frame_suite. */
static int
wanted(const char *name, int argc, char *argv[])
{
	size_t n;

	if (argc < 2)
		return 1;
	for (int a = 1; a < argc; a++) {
		n = strlen(argv[a]);
		if (strncmp(name, argv[a], n) == 0 &&
		    strcmp(name + n, "_suite") == 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	SRunner *sr = NULL;
	int failed;

	epp_init();
	{
		struct err e = ERR_INIT;

		if ((schemas = xsd_new(NULL, 0, &e)) == NULL) {
			fprintf(stderr, "unit-tests: %s\n", err_msg(&e));
			return EXIT_FAILURE;
		}
	}
	for (size_t i = 0; i < nregistered; i++) {
		Suite *s;

		if (!wanted(registered[i].name, argc, argv))
			continue;
		s = registered[i].fn();
		if (sr == NULL)
			sr = srunner_create(s);
		else
			srunner_add_suite(sr, s);
	}
	if (sr == NULL) {
		fprintf(stderr, "unit-tests: no such suite\n");
		return EXIT_FAILURE;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	xsd_free(schemas);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
