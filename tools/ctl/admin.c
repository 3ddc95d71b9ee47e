/*
 * admin.c: the eppgwctl commands that talk to the gateway's admin
 * listener (mutual TLS with the operator's own certificate, libcurl).
 *
 * The commands, their operands and a line on each are in the table
 * admin_cmds at the end of this file (state and drift are in truth.c).
 *
 * Exit 0 on success; otherwise 1 with one line on stderr saying why (the
 * gateway's reason token first).  The TOTP code is sent once, in the body,
 * and wiped from memory afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "config.h"
#include "ctl.h"

/* The admin API's answer: 1 MiB at most. */
#define RESP_MAX	((size_t)1024 * 1024)

static size_t
collect(char *ptr, size_t size, size_t n, void *arg)
{
	struct buf *r = arg;
	size_t add = size * n;

	/* Over the maximum: 0 makes curl stop with an error. */
	return buf_add(r, ptr, add) == 0 ? add : 0;
}

/* Where the admin API is and which CA vouches for it. */
struct target {
	char	 url[512];
	char	*ca;
};

static int
find_target(const struct ctl_opts *o, struct target *t)
{
	struct config_errors errs = { NULL, 0, 0 };
	struct config *cfg;

	if (o->url != NULL) {
		snprintf(t->url, sizeof(t->url), "%s", o->url);
		t->ca = o->ca ? strdup(o->ca) : NULL;
		return 0;
	}
	if (o->conf == NULL) {
		fprintf(stderr, "eppgwctl: need -f CONF (or --url URL --ca "
		    "FILE)\n");
		return -1;
	}
	if ((cfg = config_load(o->conf, &errs)) == NULL) {
		fprintf(stderr, "eppgwctl: %s\n", errs.n ? errs.msgs[0] :
		    "cannot load the configuration");
		config_errors_clear(&errs);
		return -1;
	}
	if (!cfg->admin.enabled) {
		fprintf(stderr, "eppgwctl: %s has no [admin] listener\n",
		    o->conf);
		config_unref(cfg);
		return -1;
	}
	snprintf(t->url, sizeof(t->url), "https://%s", cfg->admin.listen.text);
	t->ca = strdup(o->ca ? o->ca : cfg->admin.client_ca);
	config_unref(cfg);
	return 0;
}

/*
 * One request.  Returns the HTTP status (0 on a transport failure, with the
 * reason printed) and the parsed JSON body in *out.
 */
long
ctl_call(const struct ctl_opts *o, const char *method, const char *path,
    const char *body, json_t **out)
{
	struct target t = { "", NULL };
	struct buf r;
	char url[1024], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURL *c;
	long status = 0;

	*out = NULL;
	buf_init(&r, RESP_MAX);
	if (o->cert == NULL || o->key == NULL) {
		fprintf(stderr, "eppgwctl: need --cert FILE --key FILE (your "
		    "own certificate)\n");
		return 0;
	}
	if (find_target(o, &t) != 0)
		return 0;
	snprintf(url, sizeof(url), "%s%s", t.url, path);
	if ((c = curl_easy_init()) == NULL) {
		free(t.ca);
		return 0;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, o->key);
	if (t.ca != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, t.ca);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	if (strcmp(method, "POST") == 0) {
		hdrs = curl_slist_append(hdrs,
		    "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "{}");
	}
	if (curl_easy_perform(c) != CURLE_OK)
		fprintf(stderr, "eppgwctl: %s: %s\n", t.url, errbuf[0] ?
		    errbuf : "request failed");
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (r.p != NULL)
		*out = json_loadb(buf_data(&r), r.len, 0, NULL);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	buf_free(&r);
	free(t.ca);
	return status;
}

/* Report a refusal in one line: "eppgwctl: TOKEN: message". */
int
ctl_refused(long status, json_t *j)
{
	const char *e = json_string_value(json_object_get(j, "error"));
	const char *m = json_string_value(json_object_get(j, "message"));

	if (status != 0)
		fprintf(stderr, "eppgwctl: %s: %s\n", e ? e : "error",
		    m ? m : "the gateway refused the request");
	json_decref(j);
	return 1;
}

static void
print_pending(json_t *list)
{
	size_t i;
	json_t *c;

	if (json_array_size(list) == 0) {
		printf("no pending changes\n");
		return;
	}
	printf("%-12s  %-10s  %-28s  %-12s  %-10s  %s\n", "ID", "STATE",
	    "OBJECT", "CLID", "REQUESTER", "EXPIRES");
	json_array_foreach(list, i, c) {
		printf("%-12s  %-10s  %-28s  %-12s  %-10s  %s\n",
		    json_string_value(json_object_get(c, "id")),
		    json_string_value(json_object_get(c, "state")),
		    json_string_value(json_object_get(c, "object")),
		    json_string_value(json_object_get(c, "clid")),
		    json_string_value(json_object_get(c, "requester")),
		    json_string_value(json_object_get(c, "expires")));
	}
}

static int
valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n < 6 || n > 64)
		return 0;
	for (; *id != '\0'; id++)
		if (!((*id >= '0' && *id <= '9') || (*id >= 'a' && *id <= 'f')))
			return 0;
	return 1;
}

/* The code: --otp, else one line from stdin. */
static int
read_otp(int argc, char *argv[], char *buf, size_t len)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], "--otp") == 0) {
			snprintf(buf, len, "%s", argv[i + 1]);
			return 0;
		}
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "TOTP code: ");
	if (fgets(buf, (int)len, stdin) == NULL)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* Ids are shown in lower case; accept them either way. */
static int
change_id(char *id)
{
	for (char *c = id; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'F')
			*c = (char)(*c - 'A' + 'a');
	if (!valid_id(id)) {
		fprintf(stderr, "eppgwctl: \"%s\" is not a change id (at least "
		    "6 lower-case hex digits)\n", id);
		return -1;
	}
	return 0;
}

static void
print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
	putchar('\n');
}

static int
cmd_pending(const struct ctl_opts *o, int argc, char *argv[])
{
	json_t *j;
	long st;

	(void)argc;
	(void)argv;
	if ((st = ctl_call(o, "GET", "/v1/pending", NULL, &j)) != 200)
		return ctl_refused(st, j);
	if (o->json)
		print_json(j);
	else
		print_pending(json_object_get(j, "pending"));
	json_decref(j);
	return 0;
}

static int
cmd_locks(const struct ctl_opts *o, int argc, char *argv[])
{
	json_t *j, *e;
	size_t i;
	long st;

	(void)argc;
	(void)argv;
	if ((st = ctl_call(o, "GET", "/v1/locks", NULL, &j)) != 200)
		return ctl_refused(st, j);
	json_array_foreach(json_object_get(j, "locks"), i, e)
		printf("%s\n", json_string_value(e));
	json_decref(j);
	return 0;
}

static int
cmd_show(const struct ctl_opts *o, int argc, char *argv[])
{
	const char *keys[] = { "id", "state", "object", "clid", "requester",
	    "created", "expires", "approver" };
	char path[512];
	json_t *j;
	long st;

	(void)argc;
	snprintf(path, sizeof(path), "/v1/pending/%s", argv[1]);
	if ((st = ctl_call(o, "GET", path, NULL, &j)) != 200)
		return ctl_refused(st, j);
	if (o->json) {
		print_json(j);
		json_decref(j);
		return 0;
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		json_t *v = json_object_get(j, keys[k]);

		if (json_is_string(v))
			printf("%-10s %s\n", keys[k], json_string_value(v));
	}
	printf("\n%s", json_string_value(json_object_get(j, "canonical")));
	/* The object at the registry, now and after. */
	if (json_object_get(j, "registry") != NULL)
		ctl_print_registry(j);
	json_decref(j);
	return 0;
}

static int
cmd_approve(const struct ctl_opts *o, int argc, char *argv[])
{
	char path[512], body[512], otp[64], *s;
	json_t *j, *req;
	long st;

	if (read_otp(argc, argv, otp, sizeof(otp)) != 0) {
		fprintf(stderr, "eppgwctl: no TOTP code given\n");
		return 1;
	}
	req = json_pack("{s:s}", "otp", otp);
	OPENSSL_cleanse(otp, sizeof(otp));
	s = json_dumps(req, JSON_COMPACT);
	snprintf(body, sizeof(body), "%s", s ? s : "{}");
	if (s != NULL)
		OPENSSL_cleanse(s, strlen(s));
	free(s);
	json_decref(req);
	snprintf(path, sizeof(path), "/v1/pending/%s/approve", argv[1]);
	st = ctl_call(o, "POST", path, body, &j);
	OPENSSL_cleanse(body, sizeof(body));
	if (st != 200)
		return ctl_refused(st, j);
	printf("approved %s: the registrar may now resend the change\n",
	    argv[1]);
	json_decref(j);
	return 0;
}

static int
cmd_deny(const struct ctl_opts *o, int argc, char *argv[])
{
	char path[512];
	json_t *j;
	long st;

	(void)argc;
	snprintf(path, sizeof(path), "/v1/pending/%s/deny", argv[1]);
	if ((st = ctl_call(o, "POST", path, NULL, &j)) != 200)
		return ctl_refused(st, j);
	printf("denied %s\n", argv[1]);
	json_decref(j);
	return 0;
}

static int
cmd_reset_operator(const struct ctl_opts *o, int argc, char *argv[])
{
	char path[512];
	json_t *j;
	long st;

	(void)argc;
	snprintf(path, sizeof(path), "/v1/operators/%s/reset", argv[1]);
	if ((st = ctl_call(o, "POST", path, NULL, &j)) != 200)
		return ctl_refused(st, j);
	printf("operator %s reset\n", argv[1]);
	json_decref(j);
	return 0;
}

/* lock and unlock: add is 1 for lock. */
static int
edit_locks(const struct ctl_opts *o, const char *name, int add)
{
	char body[512], *s;
	json_t *j, *req;
	long st;

	req = json_pack("{s:s}", "name", name);
	s = json_dumps(req, JSON_COMPACT);
	snprintf(body, sizeof(body), "%s", s ? s : "{}");
	free(s);
	json_decref(req);
	st = ctl_call(o, "POST", add ? "/v1/locks/add" : "/v1/locks/remove",
	    body, &j);
	if (st == 202) {
		printf("removing %s needs approval: change %s (run this again "
		    "once another approver approved it)\n", name,
		    json_string_value(json_object_get(j, "id")));
		json_decref(j);
		return 3;
	}
	if (st != 200)
		return ctl_refused(st, j);
	printf("%s %s\n", add ? "locked" : "unlocked", name);
	json_decref(j);
	return 0;
}

static int
cmd_lock(const struct ctl_opts *o, int argc, char *argv[])
{
	(void)argc;
	return edit_locks(o, argv[1], 1);
}

static int
cmd_unlock(const struct ctl_opts *o, int argc, char *argv[])
{
	(void)argc;
	return edit_locks(o, argv[1], 0);
}

/*
 * The commands, one row each (main.c sends these names here).  ctl_admin
 * checks the operand count and, for ADM_ID, the change id before the
 * handler runs, so argv[1] .. argv[nargs] are there.
 */
#define ADM_ID	0x01		/* argv[1] is a change id */

static const struct admin_cmd {
	const char	*name;
	int		(*run)(const struct ctl_opts *, int, char *[]);
	int		 nargs;		/* operands needed after the name */
	int		 flags;
	const char	*args;		/* operands, for a usage line */
	const char	*help;
} admin_cmds[] = {
	{ "pending", cmd_pending, 0, 0, "",
	    "list pending changes" },
	{ "show", cmd_show, 1, ADM_ID, "ID",
	    "one change with its canonical text" },
	{ "approve", cmd_approve, 1, ADM_ID, "ID [--otp CODE]",
	    "approve (the code is read from stdin if absent)" },
	{ "deny", cmd_deny, 1, ADM_ID, "ID",
	    "close a change" },
	{ "reset-operator", cmd_reset_operator, 1, 0, "NAME",
	    "clear an operator's lockout" },
	{ "locks", cmd_locks, 0, 0, "",
	    "the lock list" },
	{ "lock", cmd_lock, 1, 0, "NAME",
	    "add a lock entry" },
	{ "unlock", cmd_unlock, 1, 0, "NAME",
	    "remove a lock entry (needs a second approver)" },
};

int
ctl_admin(const struct ctl_opts *o, int argc, char *argv[])
{
	const struct admin_cmd *c;
	size_t i;

	for (i = 0; i < sizeof(admin_cmds) / sizeof(admin_cmds[0]); i++)
		if (strcmp(argv[0], admin_cmds[i].name) == 0)
			break;
	if (i == sizeof(admin_cmds) / sizeof(admin_cmds[0])) {
		fprintf(stderr, "eppgwctl: unknown command \"%s\"\n", argv[0]);
		return 2;
	}
	c = &admin_cmds[i];
	if (argc - 1 < c->nargs) {
		fprintf(stderr, "eppgwctl: %s needs an argument\n", c->name);
		return 2;
	}
	if ((c->flags & ADM_ID) && change_id(argv[1]) != 0)
		return 2;
	return c->run(o, argc, argv);
}
