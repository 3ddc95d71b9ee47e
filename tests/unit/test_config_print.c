/*
 * test_config_print.c: `eppgw -T` (config_print) against config_load and
 * against eppgw.conf(5).
 *
 * A configuration that sets every key, none to its default, prints; that
 * output loads and prints the same again, with every key in it.  The keys
 * the parser knows (config_key) are exactly those the manual documents,
 * and the defaults and ranges the manual gives are those the parser
 * applies.  Run from the top of the tree (certs/dev, man/).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "change.h"
#include "config.h"
#include "hex.h"
#include "suites.h"

/*
 * The SHA-256 fingerprint (hex) of a certificate file: certs/dev is made
 * by `make certs` on each machine, so it cannot be written down here.
 */
static void
cert_sha256_hex(const char *path, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	X509 *x;
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(x = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	ck_assert_int_eq(X509_digest(x, EVP_sha256(), md, &n), 1);
	ck_assert_uint_eq(n, 32);
	X509_free(x);
	hex_encode(md, 32, out);
}

#define MANPAGE		"man/eppgw.conf.5"
#define LINE_MAX_READ	198	/* eppgw.conf(5): "at most 198" */

/* Two extension schemas (distinct namespaces) for [policy] schemas. */
#define XSD(ns)								\
    "<schema xmlns=\"http://www.w3.org/2001/XMLSchema\" "		\
    "targetNamespace=\"" ns "\" elementFormDefault=\"qualified\">"	\
    "<element name=\"x\" type=\"token\"/></schema>"

static char dir[300];		/* this test's files */

static void
put_file(const char *name, const char *text, mode_t mode)
{
	char p[400];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(p, mode), 0);
}

/* dir, and dir/conf for the configuration files. */
static void
make_dir(void)
{
	char conf[400];

	snprintf(dir, sizeof(dir), "%s/eppgw-print-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/conf", dir);
	ck_assert_int_eq(mkdir(conf, 0700), 0);
}

static void
remove_dir(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/*
 * Every key, none at its default.  Files of this test are named relative
 * to the file (dir/conf/eppgw.conf), so -T must print them resolved.  The
 * principal with three fingerprints and many clIDs makes lists longer than
 * a line; the clIDs that start with ';' and '#' would be comments if
 * printed carelessly.
 */
static const char full_conf[] =
    "[gateway]\n"
    "listen = 127.0.0.1:17000\n"
    "cert = @C/gateway.pem\n"
    "key = @C/gateway.key\n"
    "client_ca = @C/ca.pem\n"
    "max_frame = 32768\n"
    "handshake_timeout = 11\n"
    "idle_timeout = 601\n"
    "frame_timeout = 31\n"
    "workers = 3\n"
    "max_sessions = 100\n"
    "max_sessions_per_principal = 10\n"
    "max_sessions_per_address = 9\n"
    "login_timeout = 29\n"
    "metrics_listen = [::1]:17002\n"
    "user = @U\n"
    "run_as_root = yes\n"
    "chroot = /var/empty/eppgw\n"
    "[upstream]\n"
    "address = 127.0.0.1:17700\n"
    "server_name =;registry.example\n"
    "ca = @C/ca.pem\n"
    "cert = @C/upstream.pem\n"
    "key = @C/upstream.key\n"
    "max_frame = 2097152\n"
    "clid = watcher\n"
    "password_file = ../watch.pw\n"
    "refresh = 301\n"
    "keepalive = 61\n"
    "state = ../regstate.json\n"
    "state_max = 5000\n"
    "connect_timeout = 12\n"
    "reply_timeout = 62\n"
    "[audit]\n"
    "dir = ../audit\n"
    "signing_key = @C/audit.key\n"
    "publish_dir = ../publish\n"
    "origin = eppgw/test-origin\n"
    "segment_max = 1048576\n"
    "checkpoint_ms = 1500\n"
    "heartbeat = 120\n"
    "[alerts]\n"
    "url = https://hook:hunter2@alerts.example/hook?token=hunter2\n"
    "secret = ../alert.secret\n"
    "ca = @C/ca.pem\n"
    "queue_max = 50\n"
    "retries = 7\n"
    "timeout_ms = 1234\n"
    "[admin]\n"
    "listen = 127.0.0.1:17001\n"
    "cert = @C/gateway.pem\n"
    "key = @C/gateway.key\n"
    "client_ca = @C/ca.pem\n"
    "[approvals]\n"
    "seeds = ../demo.seeds\n"
    "state = ../approvals.json\n"
    "ticket_ttl = 300\n"
    "pending_ttl = 3600\n"
    "max_pending = 77\n"
    "max_pending_per_principal = 7\n"
    "totp_window = 2\n"
    "rate_attempts = 4\n"
    "rate_period = 45\n"
    "lockout_after = 6\n"
    "global_cap = 30\n"
    "global_period = 900\n"
    "[policy]\n"
    "locks = ../locks.txt\n"
    "schemas = ../one-extension-with-a-long-name-1.0.xsd\n"
    "    ../two-extension-with-a-long-name-1.0.xsd ; a comment\n"
    "secret_key = ../policy.key\n"
    "protect = ns, ds,registrant\n"
    "[principal registrar]\n"
    "cert = @C/registrar.pem\n"
    "cert_sha256 = 00112233445566778899aabbccddeeff"
    "00112233445566778899aabbccddeeff\n"
    "  AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:"
    "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\n"
    "clids = registrar1 registrar2 registrar3 registrar4 registrar5\n"
    "  registrar6,registrar7,;ab #cd registrar8\n"
    "roles = approver, requester\n"
    "approve = locked.example *.bank.example\n"
    "[principal ops.team-1]\n"
    "cert = @C/bob.pem @C/carol.pem\n"
    "clids = aaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbb cccccccccccccccc\n"
    "  dddddddddddddddd #eeeeeeeeeeeeeee,;fffffffffffffff\n"
    "roles = approver\n";

/* Write text to dir/conf/name (unit_put_conf). */
static char *
write_conf(const char *name, const char *text)
{
	static char p[400];
	FILE *f;

	snprintf(p, sizeof(p), "%s/conf/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	unit_put_conf(f, text);
	fclose(f);
	return p;
}

/* The files full_conf names. */
static void
full_files(void)
{
	put_file("watch.pw", "not-the-password-you-see\n", 0600);
	put_file("alert.secret", "alert-secret-bytes\n", 0600);
	put_file("policy.key", "policy-secret-key-of-32-bytes!!\n", 0600);
	put_file("locks.txt", "locked.example\n*.bank.example\n", 0644);
	put_file("demo.seeds", "", 0600);
	put_file("one-extension-with-a-long-name-1.0.xsd",
	    XSD("urn:example:one-1.0"), 0644);
	put_file("two-extension-with-a-long-name-1.0.xsd",
	    XSD("urn:example:two-1.0"), 0644);
}

static struct config *
load_ok(const char *path)
{
	struct config_errors errs = { NULL, 0, 0 };
	struct config *cfg = config_load(path, &errs);

	ck_assert_msg(cfg != NULL, "%s: %s", path, errs.n ? errs.msgs[0] :
	    "?");
	return cfg;
}

static char *
print(const struct config *cfg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	config_print(cfg, f);
	fclose(f);
	return out;
}

/* Load path and print it. */
static char *
load_print(const char *path)
{
	struct config *cfg = load_ok(path);
	char *out = print(cfg);

	config_unref(cfg);
	return out;
}

/* Fail at the first line where twice differs (Check's messages are short). */
static void
same_text(const char *once, const char *twice)
{
	size_t i = 0, bol = 0;

	for (; once[i] != '\0' && once[i] == twice[i]; i++)
		if (once[i] == '\n')
			bol = i + 1;
	ck_assert_msg(once[i] == twice[i], "printed again differently at "
	    "\"%.100s\": it was \"%.100s\"", twice + bol, once + bol);
}

/*
 * The value of key in section of printed config text (continuation lines
 * joined by a space), or NULL.  section "principal" is the first
 * [principal NAME].
 */
static char *
value_of(const char *text, const char *section, const char *key)
{
	static char val[2048];
	char sect[256] = "", line[1024];
	const char *p = text, *nl;
	int in = 0;
	size_t klen = strlen(key), n;

	val[0] = '\0';
	for (; *p != '\0'; p = nl + (*nl != '\0')) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		n = (size_t)(nl - p);
		ck_assert_uint_lt(n, sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		if (line[0] == '[') {
			if (in)
				break;
			snprintf(sect, sizeof(sect), "%.*s",
			    (int)strcspn(line + 1, " ]"), line + 1);
			continue;
		}
		if (strcmp(sect, section) != 0)
			continue;
		if (in && line[0] == '\t') {
			snprintf(val + strlen(val), sizeof(val) - strlen(val),
			    " %s", line + 1);
			continue;
		}
		if (in)
			break;
		if (strncmp(line, key, klen) == 0 && (line[klen] == '=' ||
		    strncmp(line + klen, " = ", 3) == 0)) {
			in = 1;
			snprintf(val, sizeof(val), "%s", line + klen +
			    (line[klen] == '=' ? 1 : 3));
		}
	}
	return in ? val : NULL;
}

/*
 * print, load, print: the same.  Every key is printed, none with its
 * default (so the output is not the defaults'), no line is longer than
 * config_load reads, and no secret shows.
 */
START_TEST(print_load_print)
{
	char *once, *twice, *dflt, path[400], regfp[65], want[256];
	const char *sect, *name, *v;
	FILE *f;

	make_dir();
	full_files();
	once = load_print(write_conf("eppgw.conf", full_conf));
	dflt = load_print(write_conf("min.conf", unit_min_conf));
	/* Loaded from elsewhere: nothing may depend on the file's place. */
	snprintf(path, sizeof(path), "%s/printed.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(once, f);
	fclose(f);
	twice = load_print(path);
	same_text(once, twice);

	for (size_t i = 0; config_key(i, &sect, &name); i++) {
		char set[2048];

		/* The one exception: certificates print as fingerprints. */
		if (strcmp(sect, "principal") == 0 &&
		    strcmp(name, "cert") == 0)
			name = "cert_sha256";
		ck_assert_msg((v = value_of(once, sect, name)) != NULL,
		    "[%s] %s is not printed", sect, name);
		/* Principals' keys and required keys have no default. */
		if (strcmp(sect, "principal") == 0 ||
		    value_of(unit_min_conf, sect, name) != NULL)
			continue;
		snprintf(set, sizeof(set), "%s", v);
		ck_assert_msg((v = value_of(dflt, sect, name)) == NULL ||
		    strcmp(set, v) != 0, "[%s] %s: the test sets its default",
		    sect, name);
	}
	for (const char *p = once, *nl; *p != '\0'; p = nl + 1) {
		ck_assert_ptr_nonnull(nl = strchr(p, '\n'));
		ck_assert_msg(nl - p <= LINE_MAX_READ, "too long: %.*s",
		    (int)(nl - p), p);
	}
	/* What was read is what is printed, in a form that reads back. */
	ck_assert_str_eq(value_of(once, "upstream", "server_name"),
	    ";registry.example");
	ck_assert_str_eq(value_of(once, "principal", "clids"),
	    "registrar1 registrar2 registrar3 registrar4 registrar5 "
	    "registrar6 registrar7,;ab #cd registrar8");
	/* cert (registrar.pem) first, then cert_sha256, as read. */
	cert_sha256_hex("certs/dev/registrar.pem", regfp);
	snprintf(want, sizeof(want), "%s "
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
	    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
	    regfp);
	ck_assert_str_eq(value_of(once, "principal", "cert_sha256"), want);
	/* A continuation line starts with ',' before '#' or ';'. */
	ck_assert_ptr_nonnull(strstr(once, " dddddddddddddddd\n"
	    "\t,#eeeeeeeeeeeeeee,;fffffffffffffff\n"));
	ck_assert_ptr_nonnull(strstr(once, "/two-extension-with-a-long-name"));
	/* Secrets: file names only, and the URL not at all. */
	ck_assert_ptr_null(strstr(once, "hunter2"));
	ck_assert_ptr_null(strstr(once, "alerts.example"));
	ck_assert_ptr_null(strstr(once, "not-the-password"));
	ck_assert_str_eq(value_of(once, "alerts", "url"),
	    "(not printed: it may hold credentials)");
	free(once);
	free(twice);
	free(dflt);
	remove_dir();
}
END_TEST

/*
 * Values at the edge of the line: a value too long for "name = value"
 * fits as "name=value", and loads back the same.
 */
START_TEST(long_values_print_loadably)
{
	char conf[4096], origin[200], *once, *twice, path[400];
	FILE *f;

	memset(origin, 'o', sizeof(origin) - 1);
	origin[LINE_MAX_READ - strlen("origin=")] = '\0';
	make_dir();
	snprintf(conf, sizeof(conf), "%s[audit]\norigin=%s\n", unit_min_conf,
	    origin);
	once = load_print(write_conf("eppgw.conf", conf));
	ck_assert_str_eq(value_of(once, "audit", "origin"), origin);
	snprintf(path, sizeof(path), "%s/printed.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(once, f);
	fclose(f);
	twice = load_print(path);
	same_text(once, twice);
	free(once);
	free(twice);
	remove_dir();
}
END_TEST

/*
 * Lines that start with white space continue the key above: lists grow,
 * other keys refuse them, and a header in one is no header.
 */
START_TEST(continuation_lines)
{
	struct config_errors errs = { NULL, 0, 0 };
	struct config *cfg;
	char conf[4096];
	int found = 0;

	make_dir();
	snprintf(conf, sizeof(conf), "%s[principal two]\n"
	    "cert = @C/alice.pem\nroles = requester\n"
	    "clids = registrar1\n  registrar2 ; comment\n"
	    "# a comment between\n\tregistrar3,registrar4\n", unit_min_conf);
	cfg = load_ok(write_conf("eppgw.conf", conf));
	ck_assert_uint_eq(cfg->principals[1].nclids, 4);
	ck_assert_str_eq(cfg->principals[1].clids[1], "registrar2");
	ck_assert_str_eq(cfg->principals[1].clids[3], "registrar4");
	config_unref(cfg);

	snprintf(conf, sizeof(conf), "%s[gateway]\nidle_timeout = 5\n"
	    "  6\n  [policy]\n", unit_min_conf);
	ck_assert_ptr_null(config_load(write_conf("eppgw.conf", conf),
	    &errs));
	for (size_t i = 0; i < errs.n; i++) {
		ck_assert_ptr_null(strstr(errs.msgs[i], "duplicate"));
		ck_assert_ptr_null(strstr(errs.msgs[i], "[policy]"));
		if (strstr(errs.msgs[i], ":18: idle_timeout takes one value"))
			found |= 1;
		if (strstr(errs.msgs[i], ":19: idle_timeout takes one value"))
			found |= 2;
	}
	ck_assert_msg(found == 3, "%zu errors, first: %s", errs.n,
	    errs.n ? errs.msgs[0] : "");
	config_errors_clear(&errs);

	/* protect is a list too. */
	snprintf(conf, sizeof(conf), "%s[policy]\nprotect = ns\n  ds,host\n",
	    unit_min_conf);
	cfg = load_ok(write_conf("eppgw.conf", conf));
	ck_assert_uint_eq(cfg->policy_conf.protect, change_class_parse("ns") |
	    change_class_parse("ds") | change_class_parse("host"));
	config_unref(cfg);

	/* The first key of a section may be indented: nothing to continue. */
	snprintf(conf, sizeof(conf), "%s[gateway]\n  idle_timeout = 5\n",
	    unit_min_conf);
	cfg = load_ok(write_conf("eppgw.conf", conf));
	ck_assert_uint_eq(cfg->gateway.idle_timeout, 5);
	config_unref(cfg);
	remove_dir();
}
END_TEST

/* ---- eppgw.conf(5) ---- */

/* The manual's section titles of the configuration's sections. */
static const struct {
	const char *title, *section;
} man_sections[] = {
	{ "GATEWAY", "gateway" },
	{ "UPSTREAM", "upstream" },
	{ "PRINCIPALS", "principal" },
	{ "POLICY", "policy" },
	{ "AUDIT", "audit" },
	{ "WEBHOOK ALERTS", "alerts" },
	{ "ADMIN", "admin" },
	{ "APPROVALS", "approvals" },
};
#define NMAN_SECTIONS	(sizeof(man_sections) / sizeof(man_sections[0]))

struct man_key {
	char	section[32];
	char	name[64];
	char	text[4096];	/* its paragraph, lines joined */
	int	found;		/* config_key knows it */
};

/*
 * The keys eppgw.conf(5) documents: each ".It Cm name" of the outermost
 * list under a section's .Sh, with the paragraph that follows.  Also
 * checks the section list in DESCRIPTION.
 */
static size_t
man_keys(struct man_key *keys, size_t max)
{
	size_t len, n = 0;
	char *man = unit_slurp(MANPAGE, &len), *line, *save = NULL;
	const char *sect = NULL;
	int depth = 0, desc = 0, listed[NMAN_SECTIONS] = { 0 };
	struct man_key *cur = NULL;

	for (line = strtok_r(man, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, ".Sh ", 4) == 0) {
			desc = strcmp(line + 4, "DESCRIPTION") == 0;
			sect = NULL;
			cur = NULL;
			for (size_t i = 0; i < NMAN_SECTIONS; i++)
				if (strcmp(line + 4, man_sections[i].title) ==
				    0)
					sect = man_sections[i].section;
			depth = 0;
			continue;
		}
		if (strncmp(line, ".Bl ", 4) == 0)
			depth++;
		else if (strncmp(line, ".El", 3) == 0) {
			if (--depth == 0)
				cur = NULL;
		} else if (desc && depth == 1 &&
		    strncmp(line, ".It Cm [", 8) == 0) {
			for (size_t i = 0; i < NMAN_SECTIONS; i++)
				if (strncmp(line + 8, man_sections[i].section,
				    strlen(man_sections[i].section)) == 0)
					listed[i] = 1;
		} else if (sect != NULL && depth == 1 &&
		    strncmp(line, ".It Cm ", 7) == 0) {
			ck_assert_uint_lt(n, max);
			cur = &keys[n++];
			memset(cur, 0, sizeof(*cur));
			snprintf(cur->section, sizeof(cur->section), "%s",
			    sect);
			snprintf(cur->name, sizeof(cur->name), "%.*s",
			    (int)strcspn(line + 7, " "), line + 7);
		} else if (cur != NULL && depth == 1)
			snprintf(cur->text + strlen(cur->text),
			    sizeof(cur->text) - strlen(cur->text), "%s ",
			    line);
	}
	for (size_t i = 0; i < NMAN_SECTIONS; i++)
		ck_assert_msg(listed[i], MANPAGE ": DESCRIPTION does not list "
		    "[%s]", man_sections[i].section);
	free(man);
	return n;
}

/* Keys documented and keys parsed: the same, both ways. */
START_TEST(manual_documents_every_key)
{
	static struct man_key keys[200];
	size_t n = man_keys(keys, 200), nsect[NMAN_SECTIONS] = { 0 };
	const char *sect, *name;

	ck_assert_uint_gt(n, 50);
	for (size_t i = 0; config_key(i, &sect, &name); i++) {
		size_t k;

		for (k = 0; k < n; k++)
			if (strcmp(keys[k].section, sect) == 0 &&
			    strcmp(keys[k].name, name) == 0)
				break;
		ck_assert_msg(k < n, "[%s] %s is parsed but not documented in "
		    MANPAGE, sect, name);
		ck_assert_msg(!keys[k].found, "[%s] %s documented twice",
		    sect, name);
		keys[k].found = 1;
	}
	for (size_t k = 0; k < n; k++) {
		ck_assert_msg(keys[k].found, "[%s] %s is documented in "
		    MANPAGE " but not parsed", keys[k].section, keys[k].name);
		for (size_t i = 0; i < NMAN_SECTIONS; i++)
			if (strcmp(keys[k].section, man_sections[i].section) ==
			    0)
				nsect[i]++;
	}
	for (size_t i = 0; i < NMAN_SECTIONS; i++)
		ck_assert_msg(nsect[i] > 0, "no keys under .Sh %s",
		    man_sections[i].title);
}
END_TEST

/* The first word in text, in any case, followed by a digit; or NULL. */
static const char *
find_number(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; *p != '\0'; p++)
		if (strncasecmp(p, word, n) == 0 &&
		    isdigit((unsigned char)p[n]))
			return p + n;
	return NULL;
}

static long long
number_after(const char *text, const char *word)
{
	const char *p = find_number(text, word);

	return p != NULL ? strtoll(p, NULL, 10) : -1;
}

/*
 * "Default N" and "range A\(enB" in the manual: what the parser applies.
 * Every number documented with a range gets a value that is no number,
 * all in one file; the parser's errors name the range it enforces.
 */
START_TEST(manual_defaults_and_ranges)
{
	static struct man_key keys[200];
	size_t n = man_keys(keys, 200), nranged = 0, len = 0;
	struct config_errors errs = { NULL, 0, 0 };
	char *dflt, *conf = NULL, want[300];
	const char *prev = "";
	int line[200] = { 0 }, ln = 0;
	FILE *f = open_memstream(&conf, &len);

	ck_assert_ptr_nonnull(f);
	make_dir();
	dflt = load_print(write_conf("min.conf", unit_min_conf));
	fputs(unit_min_conf, f);
	for (const char *p = unit_min_conf; *p != '\0'; p++)
		ln += *p == '\n';
	for (size_t k = 0; k < n; k++) {
		long long d = number_after(keys[k].text, "Default ");
		const char *v;

		if (d >= 0) {
			v = value_of(dflt, keys[k].section, keys[k].name);
			ck_assert_msg(v != NULL && strtoll(v, NULL, 10) == d,
			    "[%s] %s: documented default %lld, -T prints %s",
			    keys[k].section, keys[k].name, d, v ? v : "none");
		}
		v = value_of(dflt, keys[k].section, keys[k].name);
		if (number_after(keys[k].text, "range ") < 0) {
			ck_assert_msg(v == NULL || *v == '\0' ||
			    v[strspn(v, "0123456789")] != '\0',
			    "[%s] %s: a number, but no range documented",
			    keys[k].section, keys[k].name);
			continue;
		}
		ck_assert_str_ne(keys[k].section, "principal");
		if (strcmp(prev, keys[k].section) != 0) {
			fprintf(f, "[%s]\n", keys[k].section);
			ln++;
			prev = keys[k].section;
		}
		fprintf(f, "%s = x\n", keys[k].name);
		line[k] = ++ln;
		nranged++;
	}
	fclose(f);
	ck_assert_uint_gt(nranged, 25);
	ck_assert_ptr_null(config_load(write_conf("ranges.conf", conf),
	    &errs));
	for (size_t k = 0; k < n; k++) {
		int ok = 0;

		if (line[k] == 0)
			continue;
		snprintf(want, sizeof(want), ":%d: %s: expected a whole number "
		    "from %lld to %lld,", line[k], keys[k].name,
		    number_after(keys[k].text, "range "),
		    number_after(find_number(keys[k].text, "range "), "\\(en"));
		for (size_t i = 0; i < errs.n; i++)
			if (strstr(errs.msgs[i], want) != NULL)
				ok = 1;
		ck_assert_msg(ok, "[%s] %s: no error \"%s\": the documented "
		    "range is not the parser's", keys[k].section, keys[k].name,
		    want);
	}
	config_errors_clear(&errs);
	free(conf);
	free(dflt);
	remove_dir();
}
END_TEST

static Suite *
config_print_suite(void)
{
	Suite *s = suite_create("config_print");
	TCase *tc = tcase_create("config_print");

	tcase_add_test(tc, print_load_print);
	tcase_add_test(tc, long_values_print_loadably);
	tcase_add_test(tc, continuation_lines);
	tcase_add_test(tc, manual_documents_every_key);
	tcase_add_test(tc, manual_defaults_and_ranges);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(config_print_suite)
