/*
 * suites.h: how a test file adds its Check suite to build/unit-tests.
 *
 * Each file ends with UNIT_SUITE(name_suite); the runner collects the
 * suites at start-up, so adding a test file never means editing main.c.
 */
#ifndef EPPGW_TEST_SUITES_H
#define EPPGW_TEST_SUITES_H

#include <stddef.h>
#include <stdio.h>

#include <check.h>

typedef Suite *(*unit_suite_fn)(void);

void unit_register(const char *name, unit_suite_fn fn);

/* The shared corpus of real EPP (../shared/corpus, or $EPPGW_CORPUS). */
const char *unit_corpus_dir(void);
/* A whole file, NUL-terminated (the caller frees); fails the test if it
 * cannot be read. */
char *unit_slurp(const char *path, size_t *len);

/* The built-in EPP schemas, compiled once before the suites run. */
struct xsd;
const struct xsd *unit_xsd(void);

/*
 * Configuration fixtures (test_config.c).  unit_min_conf: the smallest
 * valid configuration, every other key at its default.  unit_put_conf
 * writes text to f with "@C" standing for the dev certificates' directory
 * (certs/dev under the current one) and "@U" for this user's name.
 */
extern const char unit_min_conf[];
void unit_put_conf(FILE *f, const char *text);

#define UNIT_SUITE(fn)							\
	static void __attribute__((constructor)) unit_reg_##fn(void)	\
	{ unit_register(#fn, fn); }

#endif
