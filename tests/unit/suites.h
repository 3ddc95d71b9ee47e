/* suites.h: the Check suites that make up build/unit-tests. */
#ifndef EPPGW_TEST_SUITES_H
#define EPPGW_TEST_SUITES_H

#include <check.h>

Suite *frame_suite(void);
Suite *config_suite(void);
Suite *epp_suite(void);
Suite *reply_suite(void);

#endif
