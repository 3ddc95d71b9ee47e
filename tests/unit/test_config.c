/*
 * test_config.c: configuration parsing and validation.  Every bad input must
 * be refused with "file:line: message", and nothing half-loaded survives.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "config.h"
#include "suites.h"

/* A valid base; tests append to it or replace it (suites.h). */
const char unit_min_conf[] =
    "[gateway]\n"
    "listen = 127.0.0.1:7000\n"
    "cert = @C/gateway.pem\n"
    "key = @C/gateway.key\n"
    "client_ca = @C/ca.pem\n"
    "[upstream]\n"
    "address = 127.0.0.1:7700\n"
    "server_name = localhost\n"
    "ca = @C/ca.pem\n"
    "cert = @C/upstream.pem\n"
    "key = @C/upstream.key\n"
    "[principal registrar]\n"
    "cert = @C/registrar.pem\n"
    "clids = registrar1\n"
    "roles = requester\n";

/* Text to f with "@C" and "@U" filled in (suites.h). */
void
unit_put_conf(FILE *f, const char *text)
{
	struct passwd *pw;
	char cwd[200];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	for (const char *p = text; *p != '\0'; p++) {
		if (p[0] == '@' && p[1] == 'C') {
			fprintf(f, "%s/certs/dev", cwd);
			p++;
		} else if (p[0] == '@' && p[1] == 'U') {
			ck_assert_ptr_nonnull(pw = getpwuid(geteuid()));
			fputs(pw->pw_name, f);
			p++;
		} else
			fputc(*p, f);
	}
}

static char path[256];

/* Write text to a temp file (unit_put_conf). */
static const char *
write_conf(const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/eppgw-test-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	unit_put_conf(f, text);
	fclose(f);
	return path;
}

/* Load text; expect failure with an error containing want. */
static void
expect_error(const char *text, const char *want)
{
	struct config_errors errs = { NULL, 0, 0 };
	struct config *cfg = config_load(write_conf(text), &errs);
	int found = 0;

	ck_assert_ptr_null(cfg);
	for (size_t i = 0; i < errs.n; i++) {
		ck_assert_msg(strncmp(errs.msgs[i], path, strlen(path)) == 0,
		    "error without file name: %s", errs.msgs[i]);
		if (strstr(errs.msgs[i], want) != NULL)
			found = 1;
	}
	ck_assert_msg(found, "no error containing \"%s\" (%zu errors%s%s)",
	    want, errs.n, errs.n ? ", first: " : "",
	    errs.n ? errs.msgs[0] : "");
	config_errors_clear(&errs);
	unlink(path);
}

static struct config *
expect_ok(const char *text)
{
	struct config_errors errs = { NULL, 0, 0 };
	struct config *cfg = config_load(write_conf(text), &errs);

	ck_assert_msg(cfg != NULL, "unexpected error: %s",
	    errs.n ? errs.msgs[0] : "?");
	unlink(path);
	return cfg;
}

/* unit_min_conf with its first "from" replaced by "to". */
static char *
replaced(const char *from, const char *to)
{
	static char buf[4096];
	const char *at = strstr(unit_min_conf, from);

	ck_assert_ptr_nonnull(at);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - unit_min_conf),
	    unit_min_conf, to, at + strlen(from));
	return buf;
}

static char *
with(const char *extra)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s%s", unit_min_conf, extra);
	return buf;
}

START_TEST(demo_config_loads)
{
	struct config_errors errs = { NULL, 0, 0 };
	struct config *cfg = config_load("examples/eppgw.conf", &errs);
	const struct principal *bob = NULL;

	ck_assert_msg(cfg != NULL, "%s", errs.n ? errs.msgs[0] : "?");
	ck_assert_str_eq(cfg->gateway.listen.text, "127.0.0.1:7000");
	ck_assert_str_eq(cfg->upstream.address.text, "127.0.0.1:7700");
	/* Relative paths are relative to the file's directory, made
	 * absolute. */
	ck_assert_int_eq(cfg->gateway.cert[0], '/');
	ck_assert_ptr_nonnull(strstr(cfg->gateway.cert,
	    "/examples/../certs/dev/gateway.pem"));
	ck_assert_uint_eq(cfg->nprincipals, 4);
	for (size_t i = 0; i < cfg->nprincipals; i++)
		if (strcmp(cfg->principals[i].name, "bob") == 0)
			bob = &cfg->principals[i];
	ck_assert_ptr_nonnull(bob);
	ck_assert(bob->roles & ROLE_APPROVER);
	ck_assert(principal_may_use_clid(bob, "registrar1"));
	ck_assert(!principal_may_use_clid(bob, "registrar2"));
	ck_assert(!principal_may_use_clid(bob, "REGISTRAR1"));
	ck_assert_ptr_eq(config_principal_by_fp(cfg, bob->fps[0]), bob);
	config_unref(cfg);
}
END_TEST

START_TEST(defaults)
{
	struct config *cfg = expect_ok(unit_min_conf);
	uint8_t zero[CONFIG_FP_LEN] = { 0 };

	ck_assert_uint_eq(cfg->gateway.max_frame, 65536);
	ck_assert_uint_eq(cfg->upstream.max_frame, 1048576);
	ck_assert_uint_eq(cfg->gateway.handshake_timeout, 10);
	ck_assert_uint_eq(cfg->gateway.idle_timeout, 600);
	ck_assert_uint_eq(cfg->gateway.frame_timeout, 30);
	ck_assert_uint_eq(cfg->upstream.reply_timeout, 60);
	ck_assert_ptr_null(config_principal_by_fp(cfg, zero));
	config_unref(cfg);
}
END_TEST

START_TEST(fingerprint_forms)
{
	struct config *cfg = expect_ok(with(
	    "[principal other]\n"
	    "cert_sha256 = AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:"
	    "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\n"
	    "clids = registrar2, registrar3\n"
	    "roles = requester approver\n"));
	const struct principal *p = &cfg->principals[1];

	ck_assert_uint_eq(p->nfps, 1);
	ck_assert_uint_eq(p->fps[0][0], 0xab);
	ck_assert_uint_eq(p->fps[0][31], 0x89);
	ck_assert_uint_eq(p->nclids, 2);
	ck_assert(principal_may_use_clid(p, "registrar3"));
	ck_assert_uint_eq(p->roles, ROLE_REQUESTER | ROLE_APPROVER);
	config_unref(cfg);
}
END_TEST

START_TEST(errors_name_their_line)
{
	expect_error(with("[gateway]\nbogus = 1\n"),
	    ":17: unknown key \"bogus\" in [gateway]");
	expect_error(with("[nonsense]\na = b\n"), ":16: unknown section [nonsense]");
	expect_error(with("[gateway]\nmax_frame = 12x\n"),
	    ":17: max_frame: expected a whole number");
	expect_error(with("[gateway]\nmax_frame = 100\n"),
	    ":17: max_frame: expected a whole number from 512");
	expect_error(with("[gateway]\nidle_timeout = -1\n"),
	    ":17: idle_timeout");
	expect_error(with("[gateway]\nlisten = 1.2.3.4:1\n"),
	    ":17: duplicate key \"listen\" (first at line 2)");
	expect_error(with("this is not ini\n"), ":16: syntax error");
	expect_error(replaced("127.0.0.1:7700", "127.0.0.1:0"),
	    ":7: address: port must be 1-65535");
	expect_error(replaced("127.0.0.1:7700", "127.0.0.1"),
	    ":7: address: expected host:port");
	expect_error(replaced("127.0.0.1:7700", "[::1:7700"),
	    ":7: address: expected [address]:port");
	expect_error(replaced("127.0.0.1:7000", "no-such-host.invalid:7"),
	    ":2: listen: ");
	expect_error(with("[principal x]\ncert_sha256 = 0011\n"
	    "clids = registrar1\nroles = requester\n"),
	    ":17: cert_sha256: expected 64 hex digits");
	expect_error(with("[principal x]\ncert = @C/registrar.key\n"),
	    ":17: cert: ");
	expect_error(with("[principal x y]\n"), "principal name \"x y\"");
	expect_error(with("[principal x]\nroles = admin\n"),
	    "unknown role \"admin\"");
	expect_error(with("[principal x]\nclids = ab\n"),
	    "\"ab\" is not a clID");
	expect_error(with("[principal x]\nclids = registrar1\n"
	    "roles = requester\n"), "principal x: needs cert");
	expect_error(with("[principal registrar]\nroles = approver\n"),
	    "already defined");
	expect_error(with("[policy]\nprotect = ,\n"),
	    ":17: protect: no change class");
}
END_TEST

/* A fault is reported once, at its line: an unknown protect class used to
 * come once per [policy] key, twice without a line. */
START_TEST(one_error_per_fault)
{
	struct config_errors errs = { NULL, 0, 0 };

	ck_assert_ptr_null(config_load(write_conf(with("[policy]\n"
	    "protect = ns bogus\n")), &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strstr(errs.msgs[0], ":17: protect: unknown change "
	    "class \"bogus\"") != NULL, "%s", errs.msgs[0]);
	config_errors_clear(&errs);
	unlink(path);
}
END_TEST

START_TEST(one_certificate_one_principal)
{
	expect_error(with("[principal copy]\ncert = @C/registrar.pem\n"
	    "clids = registrar1\nroles = requester\n"),
	    "its certificate is already used by registrar");
}
END_TEST

START_TEST(missing_required)
{
	expect_error("[gateway]\nlisten = 127.0.0.1:1\n",
	    "[upstream] address is required");
	expect_error("[gateway]\nlisten = 127.0.0.1:1\n",
	    "at least one [principal NAME] section is required");
	expect_error("", "[gateway] cert is required");
}
END_TEST

START_TEST(files_are_checked)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", unit_min_conf);
	/* A key where a certificate belongs, and a missing file. */
	memcpy(strstr(buf, "gateway.pem"), "gateway.key", 11);
	expect_error(buf, ":3: cert: ");
	snprintf(buf, sizeof(buf), "%s", unit_min_conf);
	memcpy(strstr(buf, "upstream.key"), "upstream.nop", 12);
	expect_error(buf, ":11: key: ");
}
END_TEST

/* A private key others may read is refused, with its line. */
START_TEST(private_keys_must_be_private)
{
	char cwd[200], key[300], buf[4096];
	FILE *in, *out;
	int c;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(key, sizeof(key), "%s/eppgw-test-key-%d.key",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	in = fopen("certs/dev/gateway.key", "r");
	out = fopen(key, "w");
	ck_assert(in != NULL && out != NULL);
	while ((c = getc(in)) != EOF)
		putc(c, out);
	fclose(in);
	fclose(out);
	chmod(key, 0644);
	snprintf(buf, sizeof(buf), "%s", unit_min_conf);
	{
		char *at = strstr(buf, "key = @C/gateway.key");
		char tail[4096];

		ck_assert_ptr_nonnull(at);
		snprintf(tail, sizeof(tail), "%s", at + strlen(
		    "key = @C/gateway.key"));
		snprintf(at, sizeof(buf) - (size_t)(at - buf), "key = %s%s",
		    key, tail);
	}
	expect_error(buf, ":4: key: ");
	expect_error(buf, "readable by group or others");
	chmod(key, 0600);
	config_unref(expect_ok(buf));
	unlink(key);
}
END_TEST

START_TEST(long_line_refused)
{
	char buf[4096], longv[400];

	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	snprintf(buf, sizeof(buf), "%s[gateway]\nidle_timeout = 5%s\n",
	    unit_min_conf, longv);
	expect_error(buf, ":17: line longer than");
}
END_TEST

START_TEST(missing_file)
{
	struct config_errors errs = { NULL, 0, 0 };

	ck_assert_ptr_null(config_load("/nonexistent/eppgw.conf", &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_ptr_nonnull(strstr(errs.msgs[0], "No such file"));
	config_errors_clear(&errs);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, demo_config_loads);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, fingerprint_forms);
	tcase_add_test(tc, errors_name_their_line);
	tcase_add_test(tc, one_error_per_fault);
	tcase_add_test(tc, one_certificate_one_principal);
	tcase_add_test(tc, missing_required);
	tcase_add_test(tc, files_are_checked);
	tcase_add_test(tc, long_line_refused);
	tcase_add_test(tc, private_keys_must_be_private);
	tcase_add_test(tc, missing_file);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(config_suite)
