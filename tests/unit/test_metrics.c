/*
 * test_metrics.c: the series registry (metrics.h): registering, bumping,
 * labels and their bounds, and the exact text of a page, which must read
 * as it did before the modules registered their own series (the daemon's
 * page is compared byte for byte by scrapers and by promsum.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "admin.h"
#include "metrics.h"
#include "session.h"
#include "suites.h"

/* m rendered, NUL-terminated (the caller frees). */
static char *
render(struct metrics *m)
{
	struct evbuffer *b = evbuffer_new();
	size_t len;
	char *text;

	ck_assert_ptr_nonnull(b);
	metrics_render(m, b);
	len = evbuffer_get_length(b);
	text = malloc(len + 1);
	ck_assert_ptr_nonnull(text);
	evbuffer_remove(b, text, len);
	text[len] = '\0';
	evbuffer_free(b);
	return text;
}

START_TEST(small)
{
	struct metrics *m = metrics_new();
	struct metric *up, *open, *fam, *one;
	char *text;

	ck_assert_ptr_nonnull(m);
	up = metrics_counter(m, "t_up_total", "Ups.");
	open = metrics_gauge(m, "t_open", "Open now.");
	fam = metrics_family(m, "t_pairs_total", "Pairs.", "a", "b");
	one = metrics_family(m, "t_ones_total", "Ones.", "r", NULL);
	ck_assert_ptr_nonnull(up);
	ck_assert_ptr_nonnull(open);
	ck_assert_ptr_nonnull(fam);
	ck_assert_ptr_nonnull(one);
	/* A family needs a label. */
	ck_assert_ptr_null(metrics_family(m, "t_none", "None.", NULL, NULL));

	metric_inc(up);
	metric_inc(up);
	metric_inc(open);
	metric_dec(open);
	metric_dec(open);		/* a gauge stops at zero */
	metric_inc(open);
	metric_inc_labels(fam, "x", "y");
	metric_inc_labels(fam, "x", NULL);	/* "" is a value of its own */
	metric_inc_labels(fam, "x", "y");
	metric_inc_labels(fam, "q\"u\\o\nte", "z");
	metric_inc_labels(one, "granted", NULL);
	metric_inc_labels(one, "granted", "ignored");	/* no second label */
	/* NULL handles (registration out of memory) do nothing. */
	metric_inc(NULL);
	metric_dec(NULL);
	metric_inc_labels(NULL, "a", "b");
	ck_assert_uint_eq(metric_overflow(NULL), 0);

	text = render(m);
	ck_assert_str_eq(text,
	    "# HELP t_up_total Ups.\n"
	    "# TYPE t_up_total counter\n"
	    "t_up_total 2\n"
	    "# HELP t_open Open now.\n"
	    "# TYPE t_open gauge\n"
	    "t_open 1\n"
	    "# HELP t_pairs_total Pairs.\n"
	    "# TYPE t_pairs_total counter\n"
	    "t_pairs_total{a=\"x\",b=\"y\"} 2\n"
	    "t_pairs_total{a=\"x\",b=\"\"} 1\n"
	    "t_pairs_total{a=\"q_u_o_te\",b=\"z\"} 1\n"
	    "# HELP t_ones_total Ones.\n"
	    "# TYPE t_ones_total counter\n"
	    "t_ones_total{r=\"granted\"} 2\n");
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(overflow)
{
	struct metrics *m = metrics_new();
	struct metric *fam = metrics_family(m, "t_many_total", "Many.", "n",
	    NULL);
	char label[16], *text, *p;
	size_t lines = 0;

	ck_assert_ptr_nonnull(fam);
	for (int i = 0; i < 300; i++) {
		snprintf(label, sizeof(label), "v%d", i);
		metric_inc_labels(fam, label, NULL);
	}
	/* The series there are still count; new values only overflow. */
	metric_inc_labels(fam, "v0", NULL);
	metric_inc_labels(fam, "v299", NULL);
	ck_assert_uint_eq(metric_overflow(fam), 45);
	text = render(m);
	for (p = text; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	ck_assert_uint_eq(lines, 2 + 256);
	ck_assert_ptr_nonnull(strstr(text, "t_many_total{n=\"v0\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "t_many_total{n=\"v255\"} 1\n"));
	ck_assert_ptr_null(strstr(text, "v256"));
	free(text);
	metrics_free(m);
}
END_TEST

/* A long label value is cut to 39 bytes. */
START_TEST(long_label)
{
	struct metrics *m = metrics_new();
	struct metric *fam = metrics_family(m, "t_l_total", "L.", "r", NULL);
	char *text;

	metric_inc_labels(fam, "0123456789012345678901234567890123456789xyz",
	    NULL);
	text = render(m);
	ck_assert_str_eq(text, "# HELP t_l_total L.\n# TYPE t_l_total counter\n"
	    "t_l_total{r=\"012345678901234567890123456789012345678\"} 1\n");
	free(text);
	metrics_free(m);
}
END_TEST

static void
extra(void *arg, struct evbuffer *out)
{
	evbuffer_add_printf(out, "%s\n", (const char *)arg);
}

/*
 * A worker's page as the fixed-field metrics.c rendered it, for these
 * counts: the sessions' series (session.c), then the approvals family
 * (admin.c), then the extra lines.
 */
static const char worker_page[] =
    "# HELP eppgw_sessions_open Registrar sessions open now.\n"
    "# TYPE eppgw_sessions_open gauge\n"
    "eppgw_sessions_open 0\n"
    "# HELP eppgw_sessions_total Registrar sessions accepted.\n"
    "# TYPE eppgw_sessions_total counter\n"
    "eppgw_sessions_total 2\n"
    "# HELP eppgw_handshake_failures_total Registrar TLS handshakes refused or failed.\n"
    "# TYPE eppgw_handshake_failures_total counter\n"
    "eppgw_handshake_failures_total 1\n"
    "# HELP eppgw_upstream_errors_total Registry connections that failed or broke.\n"
    "# TYPE eppgw_upstream_errors_total counter\n"
    "eppgw_upstream_errors_total 2\n"
    "# HELP eppgw_audit_failures_total Commands refused because the audit log failed.\n"
    "# TYPE eppgw_audit_failures_total counter\n"
    "eppgw_audit_failures_total 1\n"
    "# HELP eppgw_commands_total Commands by type and decision.\n"
    "# TYPE eppgw_commands_total counter\n"
    "eppgw_commands_total{command=\"domain:update\",decision=\"allow\"} 2\n"
    "eppgw_commands_total{command=\"login\",decision=\"allow\"} 1\n"
    "eppgw_commands_total{command=\"domain:delete\",decision=\"approval_required\"} 1\n"
    "eppgw_commands_total{command=\"un_par_sable_\",decision=\"\"} 1\n"
    "# HELP eppgw_replies_total Replies by source (registry or gateway) and result code.\n"
    "# TYPE eppgw_replies_total counter\n"
    "eppgw_replies_total{src=\"registry\",code=\"1000\"} 2\n"
    "eppgw_replies_total{src=\"gateway\",code=\"2500\"} 1\n"
    "eppgw_replies_total{src=\"registry\",code=\"none\"} 2\n"
    "# HELP eppgw_approvals_total Approval attempts by result.\n"
    "# TYPE eppgw_approvals_total counter\n"
    "eppgw_approvals_total{result=\"granted\"} 2\n"
    "eppgw_approvals_total{result=\"bad_otp\"} 1\n"
    "eppgw_approvals_total{result=\"a_very_long_reason_that_is_longer_than_\"} 1\n"
    "# extra\n";

static const char empty_page[] =
    "# HELP eppgw_sessions_open Registrar sessions open now.\n"
    "# TYPE eppgw_sessions_open gauge\n"
    "eppgw_sessions_open 0\n"
    "# HELP eppgw_sessions_total Registrar sessions accepted.\n"
    "# TYPE eppgw_sessions_total counter\n"
    "eppgw_sessions_total 0\n"
    "# HELP eppgw_handshake_failures_total Registrar TLS handshakes refused or failed.\n"
    "# TYPE eppgw_handshake_failures_total counter\n"
    "eppgw_handshake_failures_total 0\n"
    "# HELP eppgw_upstream_errors_total Registry connections that failed or broke.\n"
    "# TYPE eppgw_upstream_errors_total counter\n"
    "eppgw_upstream_errors_total 0\n"
    "# HELP eppgw_audit_failures_total Commands refused because the audit log failed.\n"
    "# TYPE eppgw_audit_failures_total counter\n"
    "eppgw_audit_failures_total 0\n"
    "# HELP eppgw_commands_total Commands by type and decision.\n"
    "# TYPE eppgw_commands_total counter\n"
    "# HELP eppgw_replies_total Replies by source (registry or gateway) and result code.\n"
    "# TYPE eppgw_replies_total counter\n"
    "# HELP eppgw_approvals_total Approval attempts by result.\n"
    "# TYPE eppgw_approvals_total counter\n";

START_TEST(worker_layout)
{
	struct metrics *m = metrics_new();
	struct session_metrics sm;
	struct metric *ap;
	char *text;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(session_metrics_register(m, &sm), 0);
	ck_assert_ptr_nonnull(ap = admin_metrics_register(m));
	text = render(m);
	ck_assert_str_eq(text, empty_page);
	free(text);

	metric_inc(sm.open);
	metric_inc(sm.total);
	metric_inc(sm.open);
	metric_inc(sm.total);
	metric_dec(sm.open);
	metric_dec(sm.open);
	metric_dec(sm.open);
	metric_inc(sm.handshake_failures);
	metric_inc(sm.upstream_errors);
	metric_inc(sm.upstream_errors);
	metric_inc(sm.audit_failures);
	metric_inc_labels(sm.commands, "domain:update", "allow");
	metric_inc_labels(sm.commands, "login", "allow");
	metric_inc_labels(sm.commands, "domain:update", "allow");
	metric_inc_labels(sm.commands, "domain:delete", "approval_required");
	metric_inc_labels(sm.commands, "un\"par\\sable\n", NULL);
	metric_inc_labels(sm.replies, "registry", "1000");
	metric_inc_labels(sm.replies, "gateway", "2500");
	metric_inc_labels(sm.replies, "registry", "none");
	metric_inc_labels(sm.replies, "registry", "none");
	metric_inc_labels(sm.replies, "registry", "1000");
	metric_inc_labels(ap, "granted", NULL);
	metric_inc_labels(ap, "bad_otp", NULL);
	metric_inc_labels(ap, "granted", NULL);
	metric_inc_labels(ap,
	    "a_very_long_reason_that_is_longer_than_forty_characters_yes",
	    NULL);
	metrics_set_extra(m, extra, "# extra");
	text = render(m);
	ck_assert_str_eq(text, worker_page);
	free(text);
	metrics_free(m);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, small);
	tcase_add_test(tc, overflow);
	tcase_add_test(tc, long_label);
	tcase_add_test(tc, worker_layout);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(metrics_suite)
