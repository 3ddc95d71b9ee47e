/*
 * config.c: parse and validate the INI configuration (see config.h).
 *
 * libinih does the lexing.  We feed it lines through our own reader so that
 * every message can name its line (Debian builds inih without line numbers
 * in the handler) and so that over-long lines are reported instead of being
 * split silently.  Keys are described by tables, so defaults, parsing and
 * `eppgw -T` cannot drift apart: each section's, with its struct, belongs
 * to the module that uses it (conf.h); here are only the machinery, the
 * list of sections and the checks that span them.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ini.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "change.h"
#include "audit.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "fileio.h"
#include "lock.h"
#include "policy.h"
#include "xsd.h"

#define VALUE_MAX	1024
#define ERRORS_MAX	1000	/* problems reported; the rest are dropped */
#define PRINCIPALS_MAX	10000	/* [principal NAME] sections */
#define LIST_MAX	1024	/* certificates, clids, approve of one */

/*
 * The sections, in the order `eppgw -T` prints them: each its module's
 * table of keys (conf.h) and where its struct is in struct config.
 */
struct conf_section {
	const char			*name;
	const struct conf_keyword	*keys;	/* ends with a NULL name */
	size_t				 off;
};

#define S(m) offsetof(struct config, m)
static const struct conf_section sections[] = {
	{ "gateway", gateway_keywords, S(gateway) },
	{ "upstream", upstream_keywords, S(upstream) },
	{ "audit", audit_keywords, S(audit) },
	{ "alerts", alert_keywords, S(alerts) },
	{ "admin", admin_keywords, S(admin) },
	{ "approvals", approval_keywords, S(approvals) },
	{ "policy", policy_keywords, S(policy_conf) },
};
#undef S
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/*
 * Keys are numbered in order across all the sections (ps->seen_line).
 * The number of key name of section sect, with its section and keyword in
 * *sp and *kwp when they are not NULL; -1 if there is none.  With sect
 * NULL: how many keys there are.
 */
static int
find_key(const char *sect, const char *name, const struct conf_section **sp,
    const struct conf_keyword **kwp)
{
	const struct conf_keyword *kw;
	int i = 0;

	for (size_t j = 0; j < NSECTIONS; j++)
		for (kw = sections[j].keys; kw->name != NULL; kw++, i++)
			if (sect != NULL &&
			    strcmp(sections[j].name, sect) == 0 &&
			    strcmp(kw->name, name) == 0) {
				if (sp != NULL)
					*sp = &sections[j];
				if (kwp != NULL)
					*kwp = kw;
				return i;
			}
	return sect == NULL ? i : -1;
}

/* Parser state: the config being built and what we know about lines. */
struct parse {
	struct config		*cfg;
	struct config_errors	*errs;
	const char		*file;
	char			*dir;		/* for relative paths */
	FILE			*fp;
	int			 line;
	int			 line_bad;	/* this line was already reported */
	int			 cont;		/* it continues the key above */
	int			 in_key;	/* a key was read in this section */
	int			 section_bad;	/* ignore keys until the next one */
	int			*seen_line;	/* by key number (find_key) */
	struct principal	*cur;		/* [principal NAME] being read */
	int			*p_line;	/* line of each principal's header */
	unsigned		*p_seen;	/* per principal: keys seen */
	size_t			 cap_principals, cap_line, cap_seen;
	size_t			 cap_fps;	/* of cur's fps */
};

/* The keys of a [principal NAME] section, each a list; bit 1 << index. */
static const char *const principal_keys[] = {
	"cert", "cert_sha256", "clids", "roles", "approve"
};
#define NPRINCIPAL_KEYS	(sizeof(principal_keys) / sizeof(*principal_keys))
#define P_CERT		1
#define P_FP		2
#define P_CLIDS		4
#define P_ROLES		8
#define P_APPROVE	16

static void
adderr(struct config_errors *errs, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
adderr(struct config_errors *errs, const char *file, int line,
    const char *fmt, ...)
{
	char msg[1024], full[1400], **n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%d: %s", file, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", file, msg);
	if ((n = grow_array(errs->msgs, &errs->cap, errs->n + 1, sizeof(*n),
	    ERRORS_MAX)) == NULL)
		return;
	errs->msgs = n;
	if ((n[errs->n] = strdup(full)) != NULL)
		errs->n++;
}

void
config_errors_clear(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = errs->cap = 0;
}

static int
parse_uint(const char *v, unsigned long min, unsigned long max,
    unsigned long *out)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* "host:port", "[v6]:port" or "v4:port"; host names are resolved once. */
static int
parse_addr(const char *v, struct sockaddr_cfg *out, struct err *e)
{
	char host[256];
	const char *colon, *port;
	size_t hlen;
	struct addrinfo hints, *res = NULL;
	unsigned long pn;
	int r;

	if (v[0] == '[') {
		const char *rb = strchr(v, ']');
		if (rb == NULL || rb[1] != ':') {
			return err_set(e, ERR_INVALID, "expected [address]:port");
		}
		hlen = (size_t)(rb - v - 1);
		memcpy(host, v + 1, hlen < sizeof(host) ? hlen : 0);
		port = rb + 2;
	} else {
		if ((colon = strrchr(v, ':')) == NULL) {
			return err_set(e, ERR_INVALID, "expected host:port");
		}
		hlen = (size_t)(colon - v);
		port = colon + 1;
		if (hlen < sizeof(host))
			memcpy(host, v, hlen);
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		return err_set(e, ERR_INVALID, "bad host");
	}
	host[hlen] = '\0';
	if (parse_uint(port, 1, 65535, &pn) != 0) {
		return err_set(e, ERR_INVALID, "port must be 1-65535");
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0 || res == NULL) {
		return err_set(e, ERR_INVALID, "%s",
		    r == 0 ? "no address" : gai_strerror(r));
	}
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	snprintf(out->text, sizeof(out->text), "%s", v);
	freeaddrinfo(res);
	return 0;
}

static char *
resolve_path(const struct parse *ps, const char *v)
{
	char *p;
	size_t n;

	if (v[0] == '/' || ps->dir == NULL)
		return strdup(v);
	n = strlen(ps->dir) + 1 + strlen(v) + 1;
	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s/%s", ps->dir, v);
	return p;
}

static int split_list(const char *v, char ***out, size_t *nout);

/*
 * A list of file names, each resolved, joined by single spaces and added to
 * those already in *out (a continuation line adds to the list).
 */
static int
set_paths(struct parse *ps, char **out, const char *v)
{
	char **list = NULL, *joined = NULL, *p;
	size_t n = 0, len = 1, off = 0, w;
	int r = -1;

	if (split_list(v, &list, &n) != 0)
		return -1;
	if (*out != NULL)
		len += strlen(*out) + 1;
	for (size_t i = 0; i < n; i++) {
		if ((p = resolve_path(ps, list[i])) == NULL)
			goto out;
		free(list[i]);
		list[i] = p;
		len += strlen(p) + 1;
	}
	if ((joined = calloc(1, len)) == NULL)
		goto out;
	if (*out != NULL) {
		w = strlen(*out);
		memcpy(joined, *out, w + 1);
		off = w;
	}
	for (size_t i = 0; i < n; i++) {
		w = strlen(list[i]);
		if (off + (off > 0) + w >= len) {
			free(joined);
			goto out;
		}
		if (off > 0)
			joined[off++] = ' ';
		memcpy(joined + off, list[i], w + 1);
		off += w;
	}
	free(*out);
	*out = joined;
	r = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return r;
}

static int
set_keyword(struct parse *ps, const struct conf_section *sect,
    const struct conf_keyword *kw, const char *v)
{
	char *base = (char *)ps->cfg + sect->off, *old, *p;
	unsigned long n;
	struct err e = ERR_INIT;

	switch (kw->type) {
	case KW_PATH:
		if (*v == '\0')
			goto empty;
		if ((*(char **)(base + kw->off) = resolve_path(ps, v)) == NULL)
			goto nomem;
		return 0;
	case KW_PATHS:
		if (set_paths(ps, (char **)(base + kw->off), v) != 0)
			goto nomem;
		return 0;
	case KW_STRING:
	case KW_SECRET:
	case KW_WORDS:
		old = *(char **)(base + kw->off);
		if (old != NULL) {	/* KW_WORDS: a continuation line */
			n = strlen(old) + 1 + strlen(v) + 1;
			if ((p = malloc(n)) == NULL)
				goto nomem;
			snprintf(p, n, "%s %s", old, v);
		} else if ((p = strdup(v)) == NULL)
			goto nomem;
		if (strlen(p) < kw->min || strlen(p) > kw->max) {
			adderr(ps->errs, ps->file, ps->line,
			    "%s: length must be %lu-%lu", kw->name, kw->min,
			    kw->max);
			free(p);
			return -1;
		}
		free(old);
		*(char **)(base + kw->off) = p;
		return 0;
	case KW_UINT:
	case KW_SIZE:
		if (parse_uint(v, kw->min, kw->max, &n) != 0) {
			adderr(ps->errs, ps->file, ps->line,
			    "%s: expected a whole number from %lu to %lu, "
			    "got \"%s\"", kw->name, kw->min, kw->max, v);
			return -1;
		}
		if (kw->type == KW_UINT)
			*(unsigned *)(base + kw->off) = (unsigned)n;
		else
			*(size_t *)(base + kw->off) = n;
		return 0;
	case KW_ADDR:
		if (parse_addr(v, (struct sockaddr_cfg *)(base + kw->off),
		    &e) != 0) {
			adderr(ps->errs, ps->file, ps->line, "%s: %s: \"%s\"",
			    kw->name, err_msg(&e), v);
			return -1;
		}
		return 0;
	}
	return -1;
empty:
	adderr(ps->errs, ps->file, ps->line, "%s: empty value", kw->name);
	return -1;
nomem:
	adderr(ps->errs, ps->file, ps->line, "out of memory");
	return -1;
}

/* Split a list on commas and white space into a fresh array of strings. */
static int
split_list(const char *v, char ***out, size_t *nout)
{
	char *copy, *tok, *save = NULL, **arr = NULL, **n;
	size_t cnt = 0, cap = 0, max = strlen(v) / 2 + 1;	/* "a,b,c" */
	int r = -1;

	if ((copy = strdup(v)) == NULL)
		return -1;
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if ((n = grow_array(arr, &cap, cnt + 1, sizeof(*arr), max)) ==
		    NULL)
			goto out;
		arr = n;
		if ((arr[cnt] = strdup(tok)) == NULL)
			goto out;
		cnt++;
	}
	*out = arr;
	*nout = cnt;
	arr = NULL;
	cnt = 0;
	r = 0;
out:
	for (size_t i = 0; i < cnt; i++)
		free(arr[i]);
	free(arr);
	free(copy);
	return r;
}

static int
cert_file_fp(const char *path, uint8_t fp[CONFIG_FP_LEN], struct err *e)
{
	FILE *f;
	X509 *x = NULL;
	unsigned len = 0;
	int r = -1;

	if ((f = fopen(path, "r")) == NULL) {
		return err_set(e, ERR_SYSTEM, "%s", strerror(errno));
	}
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		err_set(e, ERR_INVALID, "not a PEM certificate");
		goto out;
	}
	if (X509_digest(x, EVP_sha256(), fp, &len) != 1 ||
	    len != CONFIG_FP_LEN) {
		err_set(e, ERR_CRYPTO, "cannot hash certificate");
		goto out;
	}
	r = 0;
out:
	X509_free(x);
	fclose(f);
	return r;
}

/* 64 hex digits, optionally in colon-separated pairs. */
static int
parse_fp(const char *v, uint8_t fp[CONFIG_FP_LEN])
{
	size_t n = 0;

	while (*v != '\0') {
		int hi, lo;

		if (*v == ':') {
			v++;
			continue;
		}
		if (n == CONFIG_FP_LEN || !isxdigit((unsigned char)v[0]) ||
		    !isxdigit((unsigned char)v[1]))
			return -1;
		hi = isdigit((unsigned char)v[0]) ? v[0] - '0' :
		    tolower((unsigned char)v[0]) - 'a' + 10;
		lo = isdigit((unsigned char)v[1]) ? v[1] - '0' :
		    tolower((unsigned char)v[1]) - 'a' + 10;
		fp[n++] = (uint8_t)(hi << 4 | lo);
		v += 2;
	}
	return n == CONFIG_FP_LEN ? 0 : -1;
}

/* What a failed grow_array means, for the message. */
static const char *
grow_failed(void)
{
	return errno == ERANGE ? "too many entries" : "out of memory";
}

/* p is ps->cur, whose fps only this grows. */
static int
add_fp(struct parse *ps, struct principal *p,
    const uint8_t fp[CONFIG_FP_LEN])
{
	uint8_t (*n)[CONFIG_FP_LEN];

	if ((n = grow_array(p->fps, &ps->cap_fps, p->nfps + 1, sizeof(*n),
	    LIST_MAX)) == NULL)
		return -1;
	p->fps = n;
	memcpy(p->fps[p->nfps++], fp, CONFIG_FP_LEN);
	return 0;
}

static int
valid_clid(const char *s)
{
	size_t n = strlen(s);

	if (n < 3 || n > CONFIG_CLID_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!isgraph((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * Move list's strings to the end of *arr and free list: on failure they
 * are freed, and *arr is left as it was.  A list spans at most a few
 * continuation lines: a fresh array each time, at most LIST_MAX.
 */
static int
append_list(char ***arr, size_t *n, char **list, size_t nlist)
{
	char **m;
	size_t cap = 0;

	if (nlist == 0) {
		free(list);
		return 0;
	}
	if (*arr == NULL && nlist <= LIST_MAX) {
		*arr = list;
		*n = nlist;
		return 0;
	}
	if (nlist > LIST_MAX - *n || (m = grow_array(NULL, &cap, *n + nlist,
	    sizeof(*m), LIST_MAX)) == NULL) {
		if (nlist > LIST_MAX - *n)
			errno = ERANGE;
		for (size_t i = 0; i < nlist; i++)
			free(list[i]);
		free(list);
		return -1;
	}
	if (*n > 0)
		memcpy(m, *arr, *n * sizeof(*m));
	memcpy(m + *n, list, nlist * sizeof(*m));
	free(*arr);
	*arr = m;
	*n += nlist;
	free(list);
	return 0;
}

static void
principal_key(struct parse *ps, const char *name, const char *v)
{
	struct principal *p = ps->cur;
	unsigned *seen = &ps->p_seen[ps->cfg->nprincipals - 1];
	uint8_t fp[CONFIG_FP_LEN];
	struct err e = ERR_INIT;
	char **list = NULL, *path;
	size_t nlist = 0, k;
	unsigned bit;

	for (k = 0; k < NPRINCIPAL_KEYS; k++)
		if (strcmp(name, principal_keys[k]) == 0)
			break;
	if (k == NPRINCIPAL_KEYS) {
		if (!ps->cont)	/* else its key's line said so */
			adderr(ps->errs, ps->file, ps->line,
			    "unknown key \"%s\" in [principal %s]", name,
			    p->name);
		return;
	}
	bit = 1U << k;
	/* A continuation line adds to the list of the key above it. */
	if ((*seen & bit) && !ps->cont) {
		adderr(ps->errs, ps->file, ps->line, "duplicate key \"%s\"",
		    name);
		return;
	}
	*seen |= bit;
	if (split_list(v, &list, &nlist) != 0) {
		adderr(ps->errs, ps->file, ps->line, "out of memory");
		return;
	}
	if (nlist == 0)
		adderr(ps->errs, ps->file, ps->line, "%s: empty value", name);
	for (size_t i = 0; i < nlist; i++) {
		switch (bit) {
		case P_CERT:
			if ((path = resolve_path(ps, list[i])) == NULL)
				break;
			if (cert_file_fp(path, fp, &e) != 0)
				adderr(ps->errs, ps->file, ps->line,
				    "cert: %s: %s", list[i], err_msg(&e));
			else if (add_fp(ps, p, fp) != 0)
				adderr(ps->errs, ps->file, ps->line,
				    "cert: %s", grow_failed());
			free(path);
			break;
		case P_FP:
			if (parse_fp(list[i], fp) != 0)
				adderr(ps->errs, ps->file, ps->line,
				    "cert_sha256: expected 64 hex digits, "
				    "got \"%s\"", list[i]);
			else if (add_fp(ps, p, fp) != 0)
				adderr(ps->errs, ps->file, ps->line,
				    "cert_sha256: %s", grow_failed());
			break;
		case P_CLIDS:
			if (!valid_clid(list[i]))
				adderr(ps->errs, ps->file, ps->line,
				    "clids: \"%s\" is not a clID "
				    "(3-16 printable characters)", list[i]);
			break;
		case P_ROLES:
			if (strcmp(list[i], "requester") == 0)
				p->roles |= ROLE_REQUESTER;
			else if (strcmp(list[i], "approver") == 0)
				p->roles |= ROLE_APPROVER;
			else
				adderr(ps->errs, ps->file, ps->line,
				    "roles: unknown role \"%s\" (requester, "
				    "approver)", list[i]);
			break;
		}
	}
	if (bit == P_CLIDS) {
		/* The strings' ownership moves to the principal. */
		if (append_list(&p->clids, &p->nclids, list, nlist) != 0)
			adderr(ps->errs, ps->file, ps->line, "clids: %s",
			    grow_failed());
		return;
	}
	if (bit == P_APPROVE) {
		/* Each entry must be a valid lock entry (or "*"). */
		struct locklist *chk = locklist_new();

		for (size_t i = 0; chk != NULL && i < nlist; i++) {
			struct err bad = ERR_INIT;

			if (strcmp(list[i], "*") != 0 &&
			    locklist_add(chk, list[i], &bad) != 0)
				adderr(ps->errs, ps->file, ps->line,
				    "approve: \"%s\": %s", list[i],
				    err_msg(&bad));
		}
		locklist_free(chk);
		if (append_list(&p->approve, &p->napprove, list, nlist) != 0)
			adderr(ps->errs, ps->file, ps->line, "approve: %s",
			    grow_failed());
		return;
	}
	for (size_t i = 0; i < nlist; i++)
		free(list[i]);
	free(list);
}

static int
new_principal(struct parse *ps, const char *name)
{
	struct config *cfg = ps->cfg;
	struct principal *n;
	int *nl;
	unsigned *ns;

	for (const char *s = name; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.') {
			adderr(ps->errs, ps->file, ps->line,
			    "principal name \"%s\": use letters, digits, "
			    "'-', '_' and '.'", name);
			return -1;
		}
	if (*name == '\0') {
		adderr(ps->errs, ps->file, ps->line, "principal needs a name");
		return -1;
	}
	for (size_t i = 0; i < cfg->nprincipals; i++)
		if (strcmp(cfg->principals[i].name, name) == 0) {
			adderr(ps->errs, ps->file, ps->line,
			    "principal \"%s\" already defined at line %d",
			    name, ps->p_line[i]);
			return -1;
		}
	if (cfg->nprincipals == PRINCIPALS_MAX) {
		adderr(ps->errs, ps->file, ps->line, "more than %d principals",
		    PRINCIPALS_MAX);
		return -1;
	}
	n = grow_array(cfg->principals, &ps->cap_principals,
	    cfg->nprincipals + 1, sizeof(*n), PRINCIPALS_MAX);
	if (n == NULL)
		return -1;
	cfg->principals = n;
	nl = grow_array(ps->p_line, &ps->cap_line, cfg->nprincipals + 1,
	    sizeof(*nl), PRINCIPALS_MAX);
	if (nl == NULL)
		return -1;
	ps->p_line = nl;
	ns = grow_array(ps->p_seen, &ps->cap_seen, cfg->nprincipals + 1,
	    sizeof(*ns), PRINCIPALS_MAX);
	if (ns == NULL)
		return -1;
	ps->p_seen = ns;
	memset(&n[cfg->nprincipals], 0, sizeof(*n));
	if ((n[cfg->nprincipals].name = strdup(name)) == NULL)
		return -1;
	ps->p_line[cfg->nprincipals] = ps->line;
	ps->p_seen[cfg->nprincipals] = 0;
	ps->cur = &n[cfg->nprincipals];
	cfg->nprincipals++;
	return 0;
}

/*
 * A continuation line's value without its comment: inih strips "value ;
 * comment" on a key's own line but not (in all versions) on the lines that
 * continue it.
 */
static const char *
strip_comment(const char *v, char *buf, size_t size)
{
	size_t n;

	snprintf(buf, size, "%s", v);
	for (n = 1; buf[0] != '\0' && buf[n] != '\0'; n++)
		if (buf[n] == ';' && isspace((unsigned char)buf[n - 1])) {
			buf[n] = '\0';
			break;
		}
	n = strlen(buf);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return buf;
}

/*
 * inih's callback: one "name = value" line of section, or a line that
 * continues the key above it (ps->cont: inih passes it with that key's
 * name).  Sets the key, or adds to its list; every problem is reported
 * with its line, and parsing goes on.
 */
static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	char buf[VALUE_MAX + 1];
	const struct conf_section *sect;
	const struct conf_keyword *kw;
	int i;

	ps->in_key = 1;
	if (ps->line_bad || ps->section_bad)
		return 1;
	if (strlen(value) > VALUE_MAX) {
		adderr(ps->errs, ps->file, ps->line, "%s: value too long",
		    name);
		return 1;
	}
	if (ps->cont)
		value = strip_comment(value, buf, sizeof(buf));
	if (strncmp(section, "principal ", 10) == 0) {
		if (ps->cur != NULL)
			principal_key(ps, name, value);
		return 1;
	}
	if ((i = find_key(section, name, &sect, &kw)) == -1) {
		if (!ps->cont)	/* else its key's line said so */
			adderr(ps->errs, ps->file, ps->line,
			    "unknown key \"%s\" in [%s]", name, section);
		return 1;
	}
	if (ps->cont) {
		if (kw->type == KW_PATHS || kw->type == KW_WORDS)
			set_keyword(ps, sect, kw, value);
		else
			adderr(ps->errs, ps->file, ps->line,
			    "%s takes one value (a line that starts with white "
			    "space continues the key above it)", name);
		return 1;
	}
	if (ps->seen_line[i] != 0) {
		adderr(ps->errs, ps->file, ps->line,
		    "duplicate key \"%s\" (first at line %d)", name,
		    ps->seen_line[i]);
		return 1;
	}
	ps->seen_line[i] = ps->line;
	set_keyword(ps, sect, kw, value);
	return 1;
}

/*
 * inih does not tell handlers where a section starts, so the reader spots
 * "[name]" lines itself: that is how an empty or repeated [principal NAME]
 * section is noticed, and how errors name the header's line.
 */
static void
section_start(struct parse *ps, const char *line, size_t n)
{
	char name[256];
	const char *p = line, *end;
	size_t len, i;

	while (p < line + n && (*p == ' ' || *p == '\t'))
		p++;
	if (p == line + n || *p != '[')
		return;
	if ((end = memchr(p, ']', (size_t)(line + n - p))) == NULL)
		return;		/* inih reports the syntax error */
	len = (size_t)(end - p - 1);
	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, p + 1, len);
	name[len] = '\0';
	ps->cur = NULL;
	ps->section_bad = 0;
	ps->in_key = 0;
	if (strncmp(name, "principal ", 10) == 0) {
		if (new_principal(ps, name + 10) != 0)
			ps->section_bad = 1;
		return;
	}
	for (i = 0; i < NSECTIONS; i++)
		if (strcmp(name, sections[i].name) == 0)
			break;
	if (i == NSECTIONS) {
		adderr(ps->errs, ps->file, ps->line, "unknown section [%s]",
		    name);
		ps->section_bad = 1;
	}
}

/*
 * Whether inih takes this line as the continuation of the key above it (as
 * Python's configparser does): it starts with white space, follows a key
 * of the same section, and is neither blank nor a comment.  inih then
 * passes it as a value of that key; a header in it is no header.
 */
static int
continues(const struct parse *ps, const char *line, size_t n)
{
	size_t i = 0;

	if (!ps->in_key || n == 0 || !isspace((unsigned char)line[0]))
		return 0;
	while (i < n && isspace((unsigned char)line[i]))
		i++;
	return i < n && line[i] != ';' && line[i] != '#';
}

/*
 * inih's line reader.  We read whole lines ourselves so that we know the
 * line number and can refuse lines longer than inih's buffer instead of
 * letting the tail be parsed as a line of its own.
 */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	int c;
	size_t n = 0;

	if (num < 2)
		return NULL;
	ps->line++;
	ps->line_bad = 0;
	while ((c = getc(ps->fp)) != EOF) {
		if (n < (size_t)num - 2)
			str[n++] = (char)c;
		else if (c != '\n') {
			if (!ps->line_bad)
				adderr(ps->errs, ps->file, ps->line,
				    "line longer than %d characters",
				    num - 2);
			ps->line_bad = 1;
			continue;
		}
		if (c == '\n')
			break;
	}
	if (c == EOF && n == 0 && !ps->line_bad)
		return NULL;
	ps->cont = 0;
	if (ps->line_bad)
		n = 0;	/* hand inih an empty line instead of a fragment */
	else if (continues(ps, str, n))
		ps->cont = 1;
	else
		section_start(ps, str, n);
	str[n] = '\0';
	if (n > 0 && str[n - 1] != '\n' && c == '\n') {
		str[n++] = '\n';
		str[n] = '\0';
	}
	return str;
}

static int kw_line(const struct parse *ps, const char *sect,
    const char *name);

static void
check_files(struct parse *ps)
{
	const struct { const char *name; const char *sect; const char *path;
	    int iskey; } files[] = {
		{ "cert", "gateway", ps->cfg->gateway.cert, 0 },
		{ "key", "gateway", ps->cfg->gateway.key, 1 },
		{ "client_ca", "gateway", ps->cfg->gateway.client_ca, 0 },
		{ "ca", "upstream", ps->cfg->upstream.ca, 0 },
		{ "cert", "upstream", ps->cfg->upstream.cert, 0 },
		{ "key", "upstream", ps->cfg->upstream.key, 1 },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int line = kw_line(ps, files[i].sect, files[i].name);
		FILE *f;
		void *obj;

		if (files[i].path == NULL)
			continue;
		if ((f = fopen(files[i].path, "r")) == NULL) {
			adderr(ps->errs, ps->file, line,
			    "%s: %s: %s", files[i].name, files[i].path,
			    strerror(errno));
			continue;
		}
		if (files[i].iskey) {
			struct stat st;

			/* A private key others can read is not private. */
			if (fstat(fileno(f), &st) == 0 &&
			    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
				adderr(ps->errs, ps->file, line,
				    "%s: %s: readable by group or others "
				    "(chmod 600)", files[i].name,
				    files[i].path);
		}
		if (files[i].iskey)
			obj = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		else
			obj = PEM_read_X509(f, NULL, NULL, NULL);
		if (obj == NULL)
			adderr(ps->errs, ps->file, line,
			    "%s: %s: not a PEM %s", files[i].name,
			    files[i].path, files[i].iskey ? "private key" :
			    "certificate");
		if (files[i].iskey)
			EVP_PKEY_free(obj);
		else
			X509_free(obj);
		fclose(f);
	}
}

/* protect = class tokens; at least one class, "none" for none. */
static void
parse_protect(struct parse *ps, int line)
{
	struct config *cfg = ps->cfg;
	char **list = NULL;
	size_t n = 0;

	if (cfg->policy_conf.protect_text == NULL)
		return;
	if (split_list(cfg->policy_conf.protect_text, &list, &n) != 0) {
		adderr(ps->errs, ps->file, line, "out of memory");
		return;
	}
	if (n == 0)
		adderr(ps->errs, ps->file, line, "protect: no change class "
		    "(\"none\" for none)");
	for (size_t i = 0; i < n; i++) {
		unsigned bit = change_class_parse(list[i]);

		if (strcmp(list[i], "none") == 0 && n == 1)
			bit = 0;
		else if (bit == 0)
			adderr(ps->errs, ps->file, line, "protect: unknown "
			    "change class \"%s\" (ns ds host status registrant "
			    "contact authinfo transfer delete unknown)", list[i]);
		cfg->policy_conf.protect |= bit;
	}
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/*
 * The lock list file: one entry a line ("name" or "*.suffix"), '#'
 * comments.  Errors name the list file's own lines.
 */
static struct locklist *
load_locks(struct parse *ps, int line)
{
	struct locklist *l;
	FILE *f;
	char buf[1024];
	int ln = 0;

	if ((l = locklist_new()) == NULL)
		return NULL;
	if (ps->cfg->policy_conf.locks_path == NULL)
		return l;
	if ((f = fopen(ps->cfg->policy_conf.locks_path, "r")) == NULL) {
		adderr(ps->errs, ps->file, line, "locks: %s: %s",
		    ps->cfg->policy_conf.locks_path, strerror(errno));
		return l;
	}
	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *p = buf, *e;
		struct err lerr = ERR_INIT;

		ln++;
		if (strchr(buf, '\n') == NULL && !feof(f)) {
			adderr(ps->errs, ps->cfg->policy_conf.locks_path, ln,
			    "line too long");
			while (fgets(buf, sizeof(buf), f) != NULL &&
			    strchr(buf, '\n') == NULL)
				;
			continue;
		}
		if ((e = strchr(p, '#')) != NULL)
			*e = '\0';
		while (isspace((unsigned char)*p))
			p++;
		e = p + strlen(p);
		while (e > p && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*p == '\0')
			continue;
		if (locklist_add(l, p, &lerr) != 0)
			adderr(ps->errs, ps->cfg->policy_conf.locks_path, ln,
			    "\"%s\": %s", p, err_msg(&lerr));
	}
	fclose(f);
	return l;
}

static void
build_policy(struct parse *ps)
{
	struct locklist *l;

	parse_protect(ps, kw_line(ps, "policy", "protect"));
	if ((l = load_locks(ps, kw_line(ps, "policy", "locks"))) == NULL ||
	    (ps->cfg->policy = policy_new(ps->cfg->policy_conf.protect,
	    l)) == NULL) {
		locklist_free(l);
		adderr(ps->errs, ps->file, 0, "out of memory");
	}
}

/*
 * The EPP schemas: the built-in ones plus [policy] schemas, the XSDs of the
 * registry's own extensions.  Compiled once here; a reload compiles anew.
 */
static void
build_xsd(struct parse *ps)
{
	struct xsd_file *files = NULL;
	char **list = NULL;
	struct err e = ERR_INIT;
	size_t n = 0, nread = 0;
	int line = kw_line(ps, "policy", "schemas");

	if (ps->cfg->policy_conf.schemas != NULL &&
	    split_list(ps->cfg->policy_conf.schemas, &list, &n) != 0) {
		adderr(ps->errs, ps->file, line, "out of memory");
		return;
	}
	if (n > 0 && (files = calloc(n, sizeof(*files))) == NULL) {
		adderr(ps->errs, ps->file, line, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		FILE *f = fopen(list[i], "r");
		struct buf data;
		size_t got;

		if (f == NULL) {
			adderr(ps->errs, ps->file, line, "schemas: %s: %s",
			    list[i], strerror(errno));
			goto out;
		}
		buf_init(&data, (size_t)4 << 20);
		do {
			if (buf_reserve(&data, 1) == -1) {
				adderr(ps->errs, ps->file, line,
				    "schemas: %s: larger than 4 MiB", list[i]);
				buf_free(&data);
				fclose(f);
				goto out;
			}
			got = fread(buf_end(&data), 1, buf_room(&data), f);
			buf_wrote(&data, got);
		} while (got > 0);
		fclose(f);
		files[nread].name = list[i];
		/* Room for the NUL is there: no copy, no failure. */
		files[nread].data = buf_detach(&data, &files[nread].len);
		nread++;
	}
	if ((ps->cfg->xsd = xsd_new(files, nread, &e)) == NULL)
		adderr(ps->errs, ps->file, line, "%s", err_msg(&e));
out:
	for (size_t i = 0; i < nread; i++)
		free((char *)files[i].data);
	free(files);
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/*
 * The key of the hashes of secrets in change digests (policy.h): from
 * [policy] secret_key when given.  Without it the daemon's workers get a
 * key derived from the audit signing key by the audit writer
 * (audit_keys): the daemon's parent never reads that key.  Tools that need
 * the same digests call config_policy_key_from_audit().
 */
static void
key_policy(struct parse *ps)
{
	static const char label[] = "eppgw-change-secret/1";
	struct config *cfg = ps->cfg;
	uint8_t key[32];
	size_t len = 0;
	unsigned n = 0;
	char *data = NULL;
	struct err e = ERR_INIT;
	int line = kw_line(ps, "policy", "secret_key");

	if (cfg->policy == NULL || cfg->policy_conf.secret_key == NULL)
		return;
	if (file_read(cfg->policy_conf.secret_key, 4096, 1, &data, &len, NULL, &e) != 0) {
		adderr(ps->errs, ps->file, line, "secret_key: %s",
		    err_msg(&e));
		return;
	}
	if (len < 16)
		adderr(ps->errs, ps->file, line, "secret_key: %s: "
		    "shorter than 16 bytes", cfg->policy_conf.secret_key);
	else if (HMAC(EVP_sha256(), data, (int)len,
	    (const unsigned char *)label, sizeof(label) - 1, key,
	    &n) != NULL && n == 32)
		policy_set_secret_key(cfg->policy, key);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(data, len);
	free(data);
}

void
config_policy_key_from_audit(struct config *cfg)
{
	uint8_t key[32];
	EVP_PKEY *pk = NULL;
	FILE *f;

	if (cfg->policy == NULL || cfg->policy_conf.secret_key != NULL ||
	    cfg->audit.signing_key == NULL ||
	    (f = fopen(cfg->audit.signing_key, "r")) == NULL)
		return;
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	/* The key the audit writer hands the workers (audit_keys). */
	if (pk != NULL && audit_policy_key(pk, key) == 0)
		policy_set_secret_key(cfg->policy, key);
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_free(pk);
}

static int
kw_line(const struct parse *ps, const char *sect, const char *name)
{
	int k = find_key(sect, name, NULL, NULL);

	return k == -1 ? 0 : ps->seen_line[k];
}

/* [admin] is all or nothing; approvals need it, and need a state file. */
static void
check_admin(struct parse *ps)
{
	struct config *cfg = ps->cfg;
	int any = kw_line(ps, "admin", "listen") || cfg->admin.cert ||
	    cfg->admin.key || cfg->admin.client_ca;
	int all = kw_line(ps, "admin", "listen") && cfg->admin.cert &&
	    cfg->admin.key && cfg->admin.client_ca;

	if (any && !all)
		adderr(ps->errs, ps->file, 0, "[admin] needs listen, cert, "
		    "key and client_ca together");
	cfg->admin.enabled = all;
	if (cfg->gateway.run_as_root != NULL &&
	    strcmp(cfg->gateway.run_as_root, "yes") != 0 &&
	    strcmp(cfg->gateway.run_as_root, "no") != 0)
		adderr(ps->errs, ps->file, kw_line(ps, "gateway", "run_as_root"),
		    "run_as_root: yes or no");
	if (cfg->gateway.user != NULL && getpwnam(cfg->gateway.user) == NULL)
		adderr(ps->errs, ps->file, kw_line(ps, "gateway", "user"),
		    "user: no such user \"%s\"", cfg->gateway.user);
	if ((cfg->audit.dir == NULL) != (cfg->audit.signing_key == NULL))
		adderr(ps->errs, ps->file, kw_line(ps, "audit", "dir") ?
		    kw_line(ps, "audit", "dir") :
		    kw_line(ps, "audit", "signing_key"),
		    "[audit] needs dir and signing_key together");
	if (cfg->audit.signing_key != NULL) {
		struct stat st;

		if (stat(cfg->audit.signing_key, &st) != 0 ||
		    access(cfg->audit.signing_key, R_OK) != 0)
			adderr(ps->errs, ps->file, kw_line(ps, "audit",
			    "signing_key"), "signing_key: %s: %s",
			    cfg->audit.signing_key, strerror(errno));
		else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
			adderr(ps->errs, ps->file, kw_line(ps, "audit",
			    "signing_key"), "signing_key: %s: readable by group "
			    "or others (chmod 600)", cfg->audit.signing_key);
	}
	/* The watch session: a login, a private password, a state file. */
	if ((cfg->upstream.clid == NULL) !=
	    (cfg->upstream.password_file == NULL))
		adderr(ps->errs, ps->file, kw_line(ps, "upstream", "clid") ?
		    kw_line(ps, "upstream", "clid") :
		    kw_line(ps, "upstream", "password_file"),
		    "[upstream] clid and password_file go together (the watch "
		    "session's login)");
	if (cfg->upstream.clid != NULL && cfg->upstream.state_path == NULL)
		adderr(ps->errs, ps->file, kw_line(ps, "upstream", "clid"),
		    "[upstream] clid needs state (where the registry's state "
		    "of locked objects is kept)");
	if (cfg->upstream.password_file != NULL) {
		struct stat st;

		if (stat(cfg->upstream.password_file, &st) != 0)
			adderr(ps->errs, ps->file, kw_line(ps, "upstream",
			    "password_file"), "password_file: %s: %s",
			    cfg->upstream.password_file, strerror(errno));
		else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
			adderr(ps->errs, ps->file, kw_line(ps, "upstream",
			    "password_file"), "password_file: %s: readable "
			    "by group or others (chmod 600)",
			    cfg->upstream.password_file);
	}
	if (cfg->approvals.seeds_path != NULL && !all)
		adderr(ps->errs, ps->file, kw_line(ps, "approvals", "seeds"),
		    "approvals need the [admin] listener");
	if (cfg->approvals.seeds_path != NULL &&
	    cfg->approvals.state_path == NULL)
		adderr(ps->errs, ps->file, kw_line(ps, "approvals", "seeds"),
		    "[approvals] seeds needs state (where tickets are kept)");
	if (all) {
		const char *files[] = { cfg->admin.cert, cfg->admin.key,
		    cfg->admin.client_ca };
		const char *names[] = { "cert", "key", "client_ca" };

		for (int i = 0; i < 3; i++)
			if (access(files[i], R_OK) != 0)
				adderr(ps->errs, ps->file,
				    kw_line(ps, "admin", names[i]),
				    "%s: %s: %s", names[i], files[i],
				    strerror(errno));
	}
}

static void
validate(struct parse *ps)
{
	struct config *cfg = ps->cfg;
	const struct conf_section *sect;
	const struct conf_keyword *kw;
	size_t i, j, a, b;
	int k = 0;

	for (sect = sections; sect < sections + NSECTIONS; sect++)
		for (kw = sect->keys; kw->name != NULL; kw++, k++) {
			if (ps->seen_line[k] != 0)
				continue;
			if (kw->required)
				adderr(ps->errs, ps->file, 0,
				    "[%s] %s is required", sect->name,
				    kw->name);
			else if (kw->dflt != NULL)
				set_keyword(ps, sect, kw, kw->dflt);
		}
	if (cfg->nprincipals == 0)
		adderr(ps->errs, ps->file, 0,
		    "at least one [principal NAME] section is required");
	for (i = 0; i < cfg->nprincipals; i++) {
		struct principal *p = &cfg->principals[i];

		if (p->nfps == 0)
			adderr(ps->errs, ps->file, ps->p_line[i],
			    "principal %s: needs cert or cert_sha256",
			    p->name);
		if (p->nclids == 0)
			adderr(ps->errs, ps->file, ps->p_line[i],
			    "principal %s: needs clids", p->name);
		if (p->roles == 0)
			adderr(ps->errs, ps->file, ps->p_line[i],
			    "principal %s: needs roles", p->name);
		/* One certificate, one principal: else who acted is unknown. */
		for (j = 0; j <= i; j++)
			for (a = 0; a < p->nfps; a++)
				for (b = 0; b < cfg->principals[j].nfps; b++) {
					if (j == i && b >= a)
						break;
					if (memcmp(p->fps[a],
					    cfg->principals[j].fps[b],
					    CONFIG_FP_LEN) == 0)
						adderr(ps->errs, ps->file,
						    ps->p_line[i],
						    "principal %s: its "
						    "certificate is already "
						    "used by %s", p->name,
						    cfg->principals[j].name);
				}
	}
	check_files(ps);
	build_policy(ps);
	build_xsd(ps);
	check_admin(ps);
	key_policy(ps);
}

static void
free_principal(struct principal *p)
{
	for (size_t i = 0; i < p->napprove; i++)
		free(p->approve[i]);
	free(p->approve);
	free(p->name);
	free(p->fps);
	for (size_t i = 0; i < p->nclids; i++)
		free(p->clids[i]);
	free(p->clids);
}

static void
config_free(struct config *cfg)
{
	const struct conf_section *sect;
	const struct conf_keyword *kw;

	if (cfg == NULL)
		return;
	free(cfg->path);
	for (sect = sections; sect < sections + NSECTIONS; sect++)
		for (kw = sect->keys; kw->name != NULL; kw++)
			if (kw->type != KW_UINT && kw->type != KW_SIZE &&
			    kw->type != KW_ADDR)
				free(*(char **)((char *)cfg + sect->off +
				    kw->off));
	policy_free(cfg->policy);
	xsd_free(cfg->xsd);
	for (size_t i = 0; i < cfg->nprincipals; i++)
		free_principal(&cfg->principals[i]);
	free(cfg->principals);
	free(cfg);
}

struct config *
config_load(const char *path, struct config_errors *errs)
{
	struct parse ps;
	struct config *cfg = NULL;
	char *slash;
	size_t before = errs->n;
	int r;

	memset(&ps, 0, sizeof(ps));
	ps.file = path;
	ps.errs = errs;
	if ((ps.fp = fopen(path, "r")) == NULL) {
		adderr(errs, path, 0, "%s", strerror(errno));
		goto out;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(path)) == NULL ||
	    (ps.seen_line = calloc((size_t)find_key(NULL, NULL, NULL, NULL),
	    sizeof(*ps.seen_line))) == NULL) {
		adderr(errs, path, 0, "out of memory");
		goto out;
	}
	cfg->refs = 1;
	ps.cfg = cfg;
	/*
	 * Relative paths in the file are relative to its directory, made
	 * absolute here so logs, -T and a later chdir all agree.
	 */
	{
		char *d = slash = NULL;

		if ((slash = strrchr(path, '/')) != NULL)
			d = strndup(path, (size_t)(slash - path) +
			    (slash == path));
		else
			d = strdup(".");
		if (d == NULL)
			goto out;
		ps.dir = realpath(d, NULL);
		free(d);
		if (ps.dir == NULL) {
			adderr(errs, path, 0, "cannot resolve its directory: %s",
			    strerror(errno));
			goto out;
		}
	}
	r = ini_parse_stream(reader, &ps, on_key, &ps);
	if (r > 0 && !ps.line_bad)
		adderr(errs, path, r, "syntax error (expected [section] or "
		    "key = value)");
	else if (r < 0)
		adderr(errs, path, 0, "cannot read the file");
	validate(&ps);
out:
	if (ps.fp != NULL)
		fclose(ps.fp);
	free(ps.dir);
	free(ps.p_line);
	free(ps.p_seen);
	free(ps.seen_line);
	if (errs->n != before) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct config *
config_ref(struct config *cfg)
{
	cfg->refs++;
	return cfg;
}

void
config_unref(struct config *cfg)
{
	if (cfg != NULL && --cfg->refs == 0)
		config_free(cfg);
}

const struct principal *
config_principal_by_fp(const struct config *cfg,
    const uint8_t fp[CONFIG_FP_LEN])
{
	for (size_t i = 0; i < cfg->nprincipals; i++)
		for (size_t j = 0; j < cfg->principals[i].nfps; j++)
			if (memcmp(cfg->principals[i].fps[j], fp,
			    CONFIG_FP_LEN) == 0)
				return &cfg->principals[i];
	return NULL;
}

int
principal_may_use_clid(const struct principal *p, const char *clid)
{
	/* clIDs are compared exactly: the registry decides their case. */
	for (size_t i = 0; i < p->nclids; i++)
		if (strcmp(p->clids[i], clid) == 0)
			return 1;
	return 0;
}

const struct principal *
config_principal_by_name(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nprincipals; i++)
		if (strcmp(cfg->principals[i].name, name) == 0)
			return &cfg->principals[i];
	return NULL;
}

int
principal_may_approve(const struct principal *p, const char *object)
{
	struct locklist *l;
	int ok = 0;

	if (!(p->roles & ROLE_APPROVER))
		return 0;
	if (p->napprove == 0)
		return 1;
	/* The same matching as locks: a name, *.suffix, or a host under. */
	if ((l = locklist_new()) == NULL)
		return 0;
	for (size_t i = 0; i < p->napprove; i++) {
		if (strcmp(p->approve[i], "*") == 0)
			ok = 1;
		else
			(void)locklist_add(l, p->approve[i], NULL);
	}
	if (!ok)
		ok = locklist_domain(l, object, NULL) ||
		    locklist_host(l, object, NULL);
	locklist_free(l);
	return ok;
}

int
config_key(size_t i, const char **section, const char **name)
{
	const struct conf_keyword *kw;

	for (size_t j = 0; j < NSECTIONS; j++)
		for (kw = sections[j].keys; kw->name != NULL; kw++)
			if (i-- == 0) {
				*section = sections[j].name;
				*name = kw->name;
				return 1;
			}
	if (i < NPRINCIPAL_KEYS) {
		*section = "principal";
		*name = principal_keys[i];
		return 1;
	}
	return 0;
}

/* Whether a keyword has a value (unset optional keys are not printed). */
static int
kw_set(const struct config *cfg, const struct conf_section *sect,
    const struct conf_keyword *kw)
{
	const char *base = (const char *)cfg + sect->off;

	switch (kw->type) {
	case KW_PATH:
	case KW_PATHS:
	case KW_STRING:
	case KW_SECRET:
	case KW_WORDS:
		return *(char *const *)(base + kw->off) != NULL;
	case KW_ADDR:
		return ((const struct sockaddr_cfg *)(base + kw->off))->text[0]
		    != '\0';
	default:
		return 1;
	}
}

/*
 * config_print() keeps each line within what config_load() reads back:
 * lists go on to lines that start with a tab (continuation lines) rather
 * than grow past PRINT_WIDTH columns, and a value too long for "name =
 * value" is printed as "name=value".  Only a single value longer than
 * PRINT_LINE_MAX allows (a path made long by its directory) cannot be.
 */
#define PRINT_WIDTH	80
#define PRINT_LINE_MAX	198	/* inih's buffer less "\n" and NUL */
#define PRINT_TAB	8
#define NOT_PRINTED	"(not printed: it may hold credentials)"

/*
 * "name = value", or "name=value" where only that reads back as value: a
 * ';' after white space starts a comment.
 */
static void
print_value(FILE *fp, const char *name, const char *value)
{
	if (value[0] == ';' ||
	    strlen(name) + 3 + strlen(value) > PRINT_LINE_MAX)
		fprintf(fp, "%s=%s\n", name, value);
	else
		fprintf(fp, "%s = %s\n", name, value);
}

/* A list being printed: list_start(), list_item() each, list_end(). */
struct list_out {
	FILE	*fp;
	size_t	 col;	/* columns on the current line */
	size_t	 n;	/* items so far */
};

static void
list_start(struct list_out *l, FILE *fp, const char *name)
{
	l->fp = fp;
	l->n = 0;
	l->col = strlen(name) + 2;
	fprintf(fp, "%s =", name);
}

/*
 * Items are separated by a space, but one that starts with ';' by a comma
 * (after white space it would start a comment), and a continuation line
 * starts with a comma when its item starts with ';' or '#' (either starts
 * a comment at the start of a line).
 */
static void
list_item(struct list_out *l, const char *item)
{
	const char *sep = " ";
	size_t w = strlen(item);

	if (l->n > 0 && l->col + 1 + w > PRINT_WIDTH)
		sep = item[0] == ';' || item[0] == '#' ? "\n\t," : "\n\t";
	else if (item[0] == ';')
		sep = l->n > 0 ? "," : "";	/* "name =;item" */
	fprintf(l->fp, "%s%s", sep, item);
	if (sep[0] == '\n')
		l->col = PRINT_TAB + strlen(sep) - 2 + w;
	else
		l->col += strlen(sep) + w;
	l->n++;
}

static void
list_end(struct list_out *l)
{
	fputc('\n', l->fp);
}

static void
print_strings(FILE *fp, const char *name, char *const *items, size_t n)
{
	struct list_out l;

	list_start(&l, fp, name);
	for (size_t i = 0; i < n; i++)
		list_item(&l, items[i]);
	list_end(&l);
}

/* A KW_PATHS or KW_WORDS value, item by item. */
static void
print_split(FILE *fp, const char *name, const char *joined)
{
	char **list = NULL;
	size_t n = 0;

	if (split_list(joined, &list, &n) != 0 || n == 0) {
		print_value(fp, name, joined);	/* one line, if it fits */
		free(list);
		return;
	}
	print_strings(fp, name, list, n);
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* "name = value" for a key that has a value, v. */
static void
print_keyword(FILE *fp, const struct conf_keyword *kw, const void *v)
{
	char num[32];

	switch (kw->type) {
	case KW_PATH:
	case KW_STRING:
		print_value(fp, kw->name, *(char *const *)v);
		break;
	case KW_SECRET:
		print_value(fp, kw->name, NOT_PRINTED);
		break;
	case KW_PATHS:
	case KW_WORDS:
		print_split(fp, kw->name, *(char *const *)v);
		break;
	case KW_UINT:
		snprintf(num, sizeof(num), "%u", *(const unsigned *)v);
		print_value(fp, kw->name, num);
		break;
	case KW_SIZE:
		snprintf(num, sizeof(num), "%zu", *(const size_t *)v);
		print_value(fp, kw->name, num);
		break;
	case KW_ADDR:
		print_value(fp, kw->name, ((const struct sockaddr_cfg *)v)->text);
		break;
	}
}

/*
 * The effective configuration, in a form config_load() reads back to the
 * same configuration, printed the same: every key with a value, defaults
 * included; paths absolute, as resolved; principals' certificates as
 * their fingerprints.  Secrets are never printed: keys that name a file
 * print its name, and [alerts] url (which may hold credentials) prints
 * NOT_PRINTED, which loads but is no URL, so the daemon would not start
 * with it.
 */
void
config_print(const struct config *cfg, FILE *fp)
{
	const struct conf_section *sect, *last = NULL;
	const struct conf_keyword *kw;
	char hex[2 * CONFIG_FP_LEN + 1];
	struct list_out l;

	for (sect = sections; sect < sections + NSECTIONS; sect++)
		for (kw = sect->keys; kw->name != NULL; kw++) {
			if (!kw_set(cfg, sect, kw))
				continue;
			if (last != sect) {
				fprintf(fp, "%s[%s]\n", last ? "\n" : "",
				    sect->name);
				last = sect;
			}
			print_keyword(fp, kw,
			    (const char *)cfg + sect->off + kw->off);
		}
	for (size_t i = 0; i < cfg->nprincipals; i++) {
		const struct principal *p = &cfg->principals[i];

		fprintf(fp, "\n[principal %s]\n", p->name);
		list_start(&l, fp, "cert_sha256");
		for (size_t j = 0; j < p->nfps; j++) {
			for (size_t k = 0; k < CONFIG_FP_LEN; k++)
				snprintf(hex + 2 * k, 3, "%02x", p->fps[j][k]);
			list_item(&l, hex);
		}
		list_end(&l);
		print_strings(fp, "clids", p->clids, p->nclids);
		list_start(&l, fp, "roles");
		if (p->roles & ROLE_REQUESTER)
			list_item(&l, "requester");
		if (p->roles & ROLE_APPROVER)
			list_item(&l, "approver");
		list_end(&l);
		if (p->napprove > 0)
			print_strings(fp, "approve", p->approve, p->napprove);
	}
}
