/*
 * main.c: run every unit suite.  Run from the top of the tree (the config
 * tests read certs/dev/, made by `make certs`).
 */
#include <stdlib.h>

#include "epp.h"
#include "suites.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	epp_init();
	sr = srunner_create(frame_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, epp_suite());
	srunner_add_suite(sr, reply_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
