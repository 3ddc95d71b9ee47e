/*
 * test_forward.c: "forward what you judged", as a property over whole input
 * classes rather than over a few hand-made cases.
 *
 * Inputs: every command and hello frame of the shared corpus and, for each,
 * many mutations made on the bytes (white space in attribute values
 * and around text, elements inside text fields, eppgw's own elements in odd
 * places, namespace prefix games, duplicated fields, secDNS 1.0/1.1 and
 * xs:boolean spellings, status spellings, comments, CDATA and character
 * references).  Each input is judged by pipeline_judge(), with a policy that
 * locks the base command's own object and with the demo lock list.
 *
 * The property, for every input: it is refused, or the bytes it forwards,
 * judged again, give the same action, decision, classes, objects and
 * canonical change text (so the same change digest), and are a fixed point
 * of the serialisation.  A mutation that cannot change what the command
 * means (white space around a token, a prefix, a CDATA split ...) must give
 * the base command's digest when it is accepted.
 *
 * The gateway compared with itself could agree on a misreading, so accepted
 * domain:update commands are also read by an independent oracle: plain
 * libxml2 and XPath by namespace URI on the forwarded bytes, read the way a
 * registry reads them, whose findings must match the command model.
 *
 * The test prints how many inputs it tried and accepted, per mutation kind.
 * A broken property is printed with its input (the first few whole, then
 * one line each; EPPGW_FORWARD_SHOW=KIND prints every case of one kind
 * whole), and the test fails once the whole corpus has run.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "change.h"
#include "epp.h"
#include "err.h"
#include "lock.h"
#include "pipeline.h"
#include "policy.h"
#include "regstate.h"
#include "suites.h"

#define NS_EPP	"urn:ietf:params:xml:ns:epp-1.0"
#define NS_DOM	"urn:ietf:params:xml:ns:domain-1.0"
#define NS_HOST	"urn:ietf:params:xml:ns:host-1.0"
#define NS_CON	"urn:ietf:params:xml:ns:contact-1.0"
#define NS_S10	"urn:ietf:params:xml:ns:secDNS-1.0"
#define NS_S11	"urn:ietf:params:xml:ns:secDNS-1.1"
#define NS_RGP	"urn:ietf:params:xml:ns:rgp-1.0"
#define NS_GW	EPPGW_EXT_NS
#define NS_ODD	"urn:example:smuggle"

/* eppgw's own extension element, as an approval would carry it. */
#define GW_EL	"<g:approval xmlns:g=\"" NS_GW "\"><g:otp>123456</g:otp>" \
		"</g:approval>"

#define CLID	"registrar1"
/*
 * Check's ck_assert records every passing check (a write per call), far too
 * slow for the inner loop of tens of thousands of inputs: NEED only
 * reports failures.
 */
#define NEED(c)	do {							\
	if (!(c))							\
		ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c);	\
} while (0)

#define SITES	3	/* sites per mutation kind and base */

static char *xprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* asprintf, which C11 and POSIX do not have. */
static char *
xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	NEED(n >= 0);
	s = malloc((size_t)n + 1);
	NEED(s != NULL);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* --- a lexical view of a document ----------------------------------------
 *
 * Mutations are made on the bytes, as an attacker would send them, so the
 * test needs to know where elements, text and attribute values are, and
 * which namespace each element is in.  This scanner is enough for the
 * corpus and for what the mutations make; it is not an XML parser.
 */

#define MAX_EL		600
#define MAX_ATTR	16
#define MAX_DEPTH	40
#define MAX_BIND	64

struct xattr {
	size_t	 no, ne;	/* name */
	size_t	 vo, ve;	/* value, inside the quotes */
};

struct xel {
	size_t		 so, se;	/* start tag: '<' and just after '>' */
	size_t		 eo, ee;	/* end tag; both se for <a/> */
	size_t		 slash;		/* <a/>: where "/>" starts */
	int		 empty;		/* <a/> */
	int		 parent;	/* index, -1 for the root */
	int		 nkids;		/* element children */
	int		 text;		/* non-blank character data inside */
	int		 depth;		/* root: 1 */
	char		 prefix[32], local[64], uri[160];
	struct xattr	 attr[MAX_ATTR];
	size_t		 nattr;
};

struct xdoc {
	const char	*s;
	size_t		 len;
	struct xel	 el[MAX_EL];
	size_t		 nel;
};

static int
starts(const char *s, size_t len, size_t i, const char *w)
{
	size_t n = strlen(w);

	return len - i >= n && memcmp(s + i, w, n) == 0;
}

/* Offset just after the next w at or after i, or 0 when there is none. */
static size_t
after(const char *s, size_t len, size_t i, const char *w)
{
	size_t n = strlen(w);

	for (; i + n <= len; i++)
		if (memcmp(s + i, w, n) == 0)
			return i + n;
	return 0;
}

static void
copy_span(char *dst, size_t dlen, const char *s, size_t o, size_t e)
{
	size_t n = e - o < dlen - 1 ? e - o : dlen - 1;

	memcpy(dst, s + o, n);
	dst[n] = '\0';
}

static int
scan(struct xdoc *d, const char *s, size_t len)
{
	struct {
		char	prefix[32], uri[160];
		int	depth;
	} bind[MAX_BIND];
	int stack[MAX_DEPTH], depth = 0;
	size_t nbind = 0, i = 0, j;
	struct xel *e;

	d->s = s;
	d->len = len;
	d->nel = 0;
	while (i < len) {
		if (s[i] != '<') {
			if (depth > 0 && !isspace((unsigned char)s[i]))
				d->el[stack[depth - 1]].text = 1;
			i++;
			continue;
		}
		if (starts(s, len, i, "<!--")) {
			if ((i = after(s, len, i + 4, "-->")) == 0)
				return -1;
			continue;
		}
		if (starts(s, len, i, "<![CDATA[")) {
			if (depth > 0)
				d->el[stack[depth - 1]].text = 1;
			if ((i = after(s, len, i + 9, "]]>")) == 0)
				return -1;
			continue;
		}
		if (starts(s, len, i, "<?")) {
			if ((i = after(s, len, i + 2, "?>")) == 0)
				return -1;
			continue;
		}
		if (starts(s, len, i, "<!")) {
			if ((i = after(s, len, i + 2, ">")) == 0)
				return -1;
			continue;
		}
		if (starts(s, len, i, "</")) {
			if (depth == 0)
				return -1;
			e = &d->el[stack[--depth]];
			e->eo = i;
			if ((i = after(s, len, i, ">")) == 0)
				return -1;
			e->ee = i;
			while (nbind > 0 && bind[nbind - 1].depth > depth)
				nbind--;
			continue;
		}
		if (d->nel == MAX_EL || depth == MAX_DEPTH)
			return -1;
		e = &d->el[d->nel];
		memset(e, 0, sizeof(*e));
		e->so = i;
		e->parent = depth > 0 ? stack[depth - 1] : -1;
		e->depth = depth + 1;
		if (depth > 0)
			d->el[stack[depth - 1]].nkids++;
		for (j = i + 1; j < len && !isspace((unsigned char)s[j]) &&
		    s[j] != '/' && s[j] != '>'; j++)
			;
		{
			char q[128];
			char *colon;

			copy_span(q, sizeof(q), s, i + 1, j);
			if ((colon = strchr(q, ':')) != NULL) {
				*colon = '\0';
				snprintf(e->prefix, sizeof(e->prefix), "%.31s",
				    q);
				snprintf(e->local, sizeof(e->local), "%.63s",
				    colon + 1);
			} else
				snprintf(e->local, sizeof(e->local), "%.63s",
				    q);
		}
		for (;;) {
			struct xattr *a;
			char quote, an[64];

			while (j < len && isspace((unsigned char)s[j]))
				j++;
			if (j >= len)
				return -1;
			if (s[j] == '/') {
				if (j + 1 >= len || s[j + 1] != '>')
					return -1;
				e->empty = 1;
				e->slash = j;
				j += 2;
				break;
			}
			if (s[j] == '>') {
				j++;
				break;
			}
			if (e->nattr == MAX_ATTR)
				return -1;
			a = &e->attr[e->nattr++];
			a->no = j;
			while (j < len && !isspace((unsigned char)s[j]) &&
			    s[j] != '=')
				j++;
			a->ne = j;
			while (j < len && isspace((unsigned char)s[j]))
				j++;
			if (j >= len || s[j] != '=')
				return -1;
			for (j++; j < len && isspace((unsigned char)s[j]); j++)
				;
			if (j >= len || (s[j] != '"' && s[j] != '\''))
				return -1;
			quote = s[j++];
			a->vo = j;
			while (j < len && s[j] != quote)
				j++;
			if (j >= len)
				return -1;
			a->ve = j++;
			copy_span(an, sizeof(an), s, a->no, a->ne);
			if (strcmp(an, "xmlns") == 0 ||
			    strncmp(an, "xmlns:", 6) == 0) {
				if (nbind == MAX_BIND)
					return -1;
				snprintf(bind[nbind].prefix,
				    sizeof(bind[nbind].prefix), "%.31s",
				    an[5] == ':' ? an + 6 : "");
				copy_span(bind[nbind].uri,
				    sizeof(bind[nbind].uri), s, a->vo, a->ve);
				bind[nbind++].depth = depth + 1;
			}
		}
		e->se = j;
		for (size_t b = nbind; b > 0; b--)
			if (strcmp(bind[b - 1].prefix, e->prefix) == 0) {
				snprintf(e->uri, sizeof(e->uri), "%s",
				    bind[b - 1].uri);
				break;
			}
		if (e->empty) {
			e->eo = e->ee = j;
			while (nbind > 0 && bind[nbind - 1].depth > depth)
				nbind--;
		} else
			stack[depth++] = (int)d->nel;
		d->nel++;
		i = j;
	}
	return depth == 0 && d->nel > 0 ? 0 : -1;
}

static int
el_is(const struct xel *e, const char *uri, const char *local)
{
	return strcmp(e->uri, uri) == 0 &&
	    (local == NULL || strcmp(e->local, local) == 0);
}

/* The first element (uri, local) at index from or later; -1 if none. */
static int
find_el(const struct xdoc *d, int from, const char *uri, const char *local)
{
	for (size_t i = (size_t)from; i < d->nel; i++)
		if (el_is(&d->el[i], uri, local))
			return (int)i;
	return -1;
}

static int
child_el(const struct xdoc *d, int parent, const char *uri, const char *local)
{
	for (size_t i = (size_t)parent + 1; i < d->nel; i++)
		if (d->el[i].parent == parent && el_is(&d->el[i], uri, local))
			return (int)i;
	return -1;
}

/* A field holding a value: text and no element children. */
static int
is_leaf(const struct xel *e)
{
	return e->text && e->nkids == 0;
}

static void
qname(const struct xel *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", e->prefix, e->prefix[0] ? ":" : "",
	    e->local);
}

static int
attr_is_xmlns(const struct xdoc *d, const struct xattr *a)
{
	return starts(d->s, d->len, a->no, "xmlns") &&
	    (a->ne - a->no == 5 || d->s[a->no + 5] == ':');
}

static int
attr_qualified(const struct xdoc *d, const struct xattr *a)
{
	return memchr(d->s + a->no, ':', a->ne - a->no) != NULL;
}

/* The namespaces the gateway has schemas for: their values it rewrites. */
static int
builtin(const char *uri)
{
	return strcmp(uri, NS_EPP) == 0 || strcmp(uri, NS_DOM) == 0 ||
	    strcmp(uri, NS_HOST) == 0 || strcmp(uri, NS_CON) == 0 ||
	    strcmp(uri, NS_S10) == 0 || strcmp(uri, NS_S11) == 0 ||
	    strcmp(uri, NS_RGP) == 0;
}

/*
 * Namespaces whose prefixes never reach the canonical change text: the
 * contact mapping's changes and an RGP report go in as exclusive C14N,
 * which names its prefixes, so renaming those is a different text.
 */
static int
prefix_free(const char *uri)
{
	return strcmp(uri, NS_EPP) == 0 || strcmp(uri, NS_DOM) == 0 ||
	    strcmp(uri, NS_HOST) == 0 || strcmp(uri, NS_S10) == 0 ||
	    strcmp(uri, NS_S11) == 0;
}

/*
 * Whether white space around this field's text reads as the same value to
 * a validating registry and to the digest: an xs:token-like field of a
 * mapping the model reads value by value.  Passwords are normalizedString
 * (not trimmed); the contact mapping's changes and anything unknown go in
 * as C14N, white space included.
 */
static int
token_field(const struct xel *e)
{
	if (strcmp(e->local, "pw") == 0 || strcmp(e->local, "newPW") == 0)
		return 0;
	if (strcmp(e->uri, NS_CON) == 0)
		return strcmp(e->local, "id") == 0;
	return builtin(e->uri) && strcmp(e->uri, NS_RGP) != 0;
}

/* --- edits ------------------------------------------------------------ */

#define MAX_EDITS	1024

struct edit {
	size_t	 off, del;
	char	*ins;
};

struct mut {
	struct edit	 e[MAX_EDITS];
	size_t		 n;
};

static void ed(struct mut *m, size_t off, size_t del, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Replace del bytes at off with the formatted text. */
static void
ed(struct mut *m, size_t off, size_t del, const char *fmt, ...)
{
	va_list ap;
	int n;

	NEED(m->n < MAX_EDITS);
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	NEED(n >= 0);
	m->e[m->n].ins = malloc((size_t)n + 1);
	NEED(m->e[m->n].ins != NULL);
	va_start(ap, fmt);
	vsnprintf(m->e[m->n].ins, (size_t)n + 1, fmt, ap);
	va_end(ap);
	m->e[m->n].off = off;
	m->e[m->n].del = del;
	m->n++;
}

/* The base with the edits applied (stable by offset); frees the edits. */
static char *
apply(const char *s, size_t len, struct mut *m, size_t *outlen)
{
	size_t total = len, pos = 0, o = 0;
	char *out;

	for (size_t i = 1; i < m->n; i++)
		for (size_t j = i; j > 0 && m->e[j - 1].off > m->e[j].off;
		    j--) {
			struct edit t = m->e[j];

			m->e[j] = m->e[j - 1];
			m->e[j - 1] = t;
		}
	for (size_t i = 0; i < m->n; i++)
		total += strlen(m->e[i].ins);
	out = malloc(total + 1);
	NEED(out != NULL);
	for (size_t i = 0; i < m->n; i++) {
		NEED(m->e[i].off >= pos);
		memcpy(out + o, s + pos, m->e[i].off - pos);
		o += m->e[i].off - pos;
		memcpy(out + o, m->e[i].ins, strlen(m->e[i].ins));
		o += strlen(m->e[i].ins);
		pos = m->e[i].off + m->e[i].del;
		free(m->e[i].ins);
	}
	memcpy(out + o, s + pos, len - pos);
	o += len - pos;
	out[o] = '\0';
	*outlen = o;
	m->n = 0;
	return out;
}

/* Text as the first (at_end: last) child of element i. */
static void
ed_child(struct mut *m, const struct xdoc *d, int i, int at_end,
    const char *text)
{
	const struct xel *e = &d->el[i];
	char q[128];

	if (e->empty) {
		qname(e, q, sizeof(q));
		ed(m, e->slash, 2, ">%s</%s>", text, q);
	} else
		ed(m, at_end ? e->eo : e->se, 0, "%s", text);
}

/* An attribute added to element i's start tag, right after its name. */
static void
ed_attr(struct mut *m, const struct xdoc *d, int i, const char *attr)
{
	const struct xel *e = &d->el[i];
	char q[128];

	qname(e, q, sizeof(q));
	ed(m, e->so + 1 + strlen(q), 0, " %s", attr);
}

/* --- the run: counters, policies, the property ------------------------ */

struct group {
	char		 key[40];
	int		 pi;
	enum decision	 dec;
	unsigned	 all;
	char		*canon;
};

struct ref {
	int		 ok;		/* the base itself was accepted */
	enum decision	 dec;
	unsigned	 all;
	char		*canon;
};

struct base {
	const char	*path;		/* for messages */
	const char	*s;
	size_t		 len;
	struct xdoc	*d;
	struct policy	*pol[2];	/* its own object locked; the demo */
	struct regstate	*rs[2];		/* what the registry says, per policy */
	char		 lock[256];	/* policy 0's lock entry, "" if none */
	int		 lock_host;	/* that entry names a host */
	struct ref	 ref[2];
	struct group	 groups[64];
	size_t		 ngroups;
	uint64_t	 rng;
};

struct run {
	unsigned long	 inputs, judged, accepted, refused, approvals;
	unsigned long	 same_checked, same_refused, group_checked;
	unsigned long	 oracle, oracle_ns, oracle_status, oracle_unlock;
	unsigned long	 oracle_secdns, oracle_locked, oracle_unknown;
	unsigned long	 failures;
	char		 kinds[64][24];
	unsigned long	 kind_tried[64], kind_ok[64];
	size_t		 nkinds;
};

static void fail_case(struct run *r, const struct base *b, int pi,
    const char *kind, const char *xml, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/*
 * Record a broken property; the first few are printed whole so they can be
 * reproduced, and the test fails at the end with the count.
 */
static void
fail_case(struct run *r, const struct base *b, int pi, const char *kind,
    const char *xml, size_t len, const char *fmt, ...)
{
	va_list ap;
	char msg[256];
	const char *show;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msg[strcspn(msg, "\n")] = '\0';
	show = getenv("EPPGW_FORWARD_SHOW");
	if (r->failures++ >= 8 && (show == NULL || strcmp(show, kind) != 0)) {
		/* One line each for the rest: enough to see the pattern. */
		if (r->failures <= 200)
			fprintf(stderr, "forward: FAILED %s, mutation %s, "
			    "policy %s: %s\n", b->path, kind, pi == 0 ?
			    "own-object" : "demo", msg);
		return;
	}
	fprintf(stderr, "\nforward: FAILED %s, mutation %s, policy %s: ",
	    b->path, kind, pi == 0 ? "own-object" : "demo");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n--- input (%zu bytes) ---\n%.*s\n--- end ---\n",
	    len, (int)(len < 4000 ? len : 4000), xml);
}

static void
count_kind(struct run *r, const char *kind, int accepted)
{
	size_t i;

	for (i = 0; i < r->nkinds; i++)
		if (strcmp(r->kinds[i], kind) == 0)
			break;
	if (i == r->nkinds) {
		NEED(r->nkinds < 64);
		snprintf(r->kinds[r->nkinds++], sizeof(r->kinds[0]), "%s",
		    kind);
	}
	r->kind_tried[i]++;
	r->kind_ok[i] += accepted != 0;
}

/* The model's change lines, with their classes, sorted: one string. */
static char *
lines_of(const struct epp_msg *m)
{
	size_t n = m ? epp_msg_nchanges(m) : 0, total = 1, o = 0;
	char **v = calloc(n + 1, sizeof(*v)), *out;

	NEED(v != NULL);
	for (size_t i = 0; i < n; i++) {
		unsigned cls;
		const char *t = epp_msg_change(m, i, &cls);

		v[i] = xprintf("%04x %s", cls, t);
		total += strlen(v[i]) + 1;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	out = malloc(total);
	NEED(out != NULL);
	for (size_t i = 0; i < n; i++) {
		o += (size_t)snprintf(out + o, total - o, "%s\n", v[i]);
		free(v[i]);
	}
	out[o] = '\0';
	free(v);
	return out;
}

/* Objects and extensions (but eppgw's own, which is never forwarded). */
static char *
objects_of(const struct epp_msg *m)
{
	char *out, *t;

	out = xprintf("%s|%s|%s|", epp_msg_name(m),
	    epp_msg_cltrid(m) ? epp_msg_cltrid(m) : "-",
	    epp_msg_login_clid(m) ? epp_msg_login_clid(m) : "-");
	for (size_t i = 0; i < epp_msg_nobjects(m); i++) {
		enum epp_obj_type type;
		int valid;
		const char *name = epp_msg_object(m, i, &type, &valid);

		t = xprintf("%s%d:%d:%s,", out, (int)type, valid, name);
		free(out);
		out = t;
	}
	for (size_t i = 0; i < epp_msg_nextensions(m); i++) {
		if (strcmp(epp_msg_extension(m, i), NS_GW) == 0)
			continue;
		t = xprintf("%s ext=%s", out, epp_msg_extension(m, i));
		free(out);
		out = t;
	}
	return out;
}

static void oracle(struct run *r, const struct base *b, int pi,
    const struct pipe_out *o, const char *kind, const char *xml, size_t len);

/* Compare with the base's judgement or with the variant's group. */
static void
compare_group(struct run *r, struct base *b, int pi, const struct pipe_out *o,
    const char *kind, const char *group, const char *xml, size_t len)
{
	const char *canon = NULL;
	enum decision dec = DECISION_ALLOW;
	unsigned all = 0;

	if (strcmp(group, "base") == 0) {
		if (!b->ref[pi].ok)
			return;
		canon = b->ref[pi].canon;
		dec = b->ref[pi].dec;
		all = b->ref[pi].all;
		r->same_checked++;
	} else {
		size_t i;

		for (i = 0; i < b->ngroups; i++)
			if (b->groups[i].pi == pi &&
			    strcmp(b->groups[i].key, group) == 0)
				break;
		if (i == b->ngroups) {
			NEED(b->ngroups < 64);
			snprintf(b->groups[i].key, sizeof(b->groups[i].key),
			    "%s", group);
			b->groups[i].pi = pi;
			b->groups[i].dec = o->v.decision;
			b->groups[i].all = o->v.all_classes;
			b->groups[i].canon = strdup(o->v.canonical);
			b->ngroups++;
			return;
		}
		canon = b->groups[i].canon;
		dec = b->groups[i].dec;
		all = b->groups[i].all;
		r->group_checked++;
	}
	if (strcmp(canon, o->v.canonical) != 0 || dec != o->v.decision ||
	    all != o->v.all_classes)
		fail_case(r, b, pi, kind, xml, len, "the same command (group "
		    "%s) judged differently: %s %#x\n%s--- vs %s %#x\n%s",
		    group, decision_name(dec), all, canon,
		    decision_name(o->v.decision), o->v.all_classes,
		    o->v.canonical);
}

/*
 * The property for one input under one policy.  Returns whether it was
 * accepted.
 */
static int
check_one(struct run *r, struct base *b, int pi, const char *xml, size_t len,
    const char *kind, const char *group)
{
	struct pipe_out a, c;
	char *la, *lc, *oa, *oc;
	uint8_t *again = NULL;
	size_t again_len = 0;

	NEED(pipeline_judge(unit_xsd(), b->pol[pi], b->rs[pi], CLID,
	    (const uint8_t *)xml, len, &a) == 0);
	r->judged++;
	if (a.action == PIPE_REPLY) {
		NEED(a.code == 2001);
		NEED(a.fwd == NULL);
		r->refused++;
		/* Fails closed.  What this counts today: libxml2's
		 * validator refuses white space around xs:unsignedShort,
		 * xs:int and xs:date values, which XSD says collapse. */
		if (group != NULL && strcmp(group, "base") == 0 &&
		    b->ref[pi].ok)
			r->same_refused++;
		pipe_out_clear(&a);
		return 0;
	}
	r->accepted++;
	r->approvals += a.action == PIPE_APPROVAL;
	NEED(a.fwd != NULL);
	NEED(pipeline_judge(unit_xsd(), b->pol[pi], b->rs[pi], CLID, a.fwd,
	    a.fwd_len, &c) == 0);
	if (c.action != a.action || c.judged != a.judged) {
		fail_case(r, b, pi, kind, xml, len, "forwarded bytes judged "
		    "again: action %d (%s), first %d\n--- forwarded ---\n%.*s",
		    (int)c.action, c.why ? c.why : "-", (int)a.action,
		    (int)a.fwd_len, (const char *)a.fwd);
		goto out;
	}
	if (a.judged && (a.v.decision != c.v.decision ||
	    a.v.all_classes != c.v.all_classes ||
	    a.v.classes != c.v.classes ||
	    strcmp(a.v.canonical, c.v.canonical) != 0 ||
	    memcmp(a.v.digest, c.v.digest, sizeof(a.v.digest)) != 0))
		fail_case(r, b, pi, kind, xml, len, "forwarded bytes judged "
		    "again differ: %s %#x\n%s--- forwarded gives %s %#x\n%s",
		    decision_name(a.v.decision), a.v.all_classes,
		    a.v.canonical, decision_name(c.v.decision),
		    c.v.all_classes, c.v.canonical);
	la = lines_of(a.msg);
	lc = lines_of(c.msg);
	oa = objects_of(a.msg);
	oc = objects_of(c.msg);
	if (strcmp(la, lc) != 0 || strcmp(oa, oc) != 0)
		fail_case(r, b, pi, kind, xml, len, "forwarded model differs:"
		    "\n%s\n%s--- forwarded gives\n%s\n%s", oa, la, oc, lc);
	free(la);
	free(lc);
	free(oa);
	free(oc);
	if (c.fwd_len != a.fwd_len || memcmp(c.fwd, a.fwd, a.fwd_len) != 0)
		fail_case(r, b, pi, kind, xml, len, "forwarded bytes are not "
		    "a fixed point:\n%.*s\n--- serialised again ---\n%.*s",
		    (int)a.fwd_len, (const char *)a.fwd, (int)c.fwd_len,
		    (const char *)c.fwd);
	/* The same, asked of the serialiser itself: the pipeline must hand
	 * out its serialisation, whatever it did to the tree. */
	else if (c.msg != NULL && (epp_msg_serialise(c.msg, &again,
	    &again_len) != 0 || again_len != a.fwd_len ||
	    memcmp(again, a.fwd, a.fwd_len) != 0))
		fail_case(r, b, pi, kind, xml, len, "forwarded bytes are not "
		    "what the parsed tree serialises to:\n%.*s\n--- "
		    "serialised ---\n%.*s", (int)a.fwd_len,
		    (const char *)a.fwd, again ? (int)again_len : 0,
		    again ? (const char *)again : "");
	free(again);
	if (a.judged && strcmp(epp_msg_name(a.msg), "domain:update") == 0)
		oracle(r, b, pi, &a, kind, xml, len);
	if (a.judged && group != NULL)
		compare_group(r, b, pi, &a, kind, group, xml, len);
out:
	pipe_out_clear(&a);
	pipe_out_clear(&c);
	return 1;
}

/* One input, under both policies. */
static void
try_input(struct run *r, struct base *b, const char *xml, size_t len,
    const char *kind, const char *group)
{
	int ok;

	r->inputs++;
	ok = check_one(r, b, 0, xml, len, kind, group);
	ok |= check_one(r, b, 1, xml, len, kind, group);
	count_kind(r, kind, ok);
}

static void
emit(struct run *r, struct base *b, struct mut *m, const char *kind,
    const char *group)
{
	size_t len;
	char *xml = apply(b->s, b->len, m, &len);

	try_input(r, b, xml, len, kind, group);
	free(xml);
}

/* --- the oracle: a registry's reading of the forwarded bytes ---------- */

/* xs:token: trimmed, inner white space runs collapsed to one space. */
static char *
collapse(const xmlChar *in)
{
	char *out = malloc(strlen((const char *)in) + 1), *w = out;
	int space = 0;

	NEED(out != NULL);
	for (const xmlChar *p = in; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			space = w != out;
			continue;
		}
		if (space)
			*w++ = ' ';
		space = 0;
		*w++ = (char)*p;
	}
	*w = '\0';
	return out;
}

/*
 * A host or domain name as a registry compares it: collapsed, lower case,
 * without the root's trailing dot when the rest is a plain LDH name.
 */
static char *
dns_name(const xmlChar *in)
{
	char *n = collapse(in);
	size_t len = strlen(n);
	int ldh = len > 1;

	for (size_t i = 0; i < len; i++) {
		n[i] = (char)tolower((unsigned char)n[i]);
		if (!isalnum((unsigned char)n[i]) && n[i] != '-' &&
		    n[i] != '.')
			ldh = 0;
	}
	if (ldh && n[len - 1] == '.' && n[len - 2] != '.')
		n[len - 1] = '\0';
	return n;
}

static xmlXPathObjectPtr
xp(xmlXPathContextPtr x, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, x);

	if (o == NULL)
		ck_abort_msg("XPath %s", expr);
	return o;
}

static int
xp_count(xmlXPathContextPtr x, const char *expr)
{
	xmlXPathObjectPtr o = xp(x, expr);
	int n = o->nodesetval ? o->nodesetval->nodeNr : 0;

	xmlXPathFreeObject(o);
	return n;
}

/* Distinct strings, small sets. */
struct sset {
	char	*v[128];
	size_t	 n;
};

static void
sset_add(struct sset *s, char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], v) == 0) {
			free(v);
			return;
		}
	NEED(s->n < 128);
	s->v[s->n++] = v;
}

static int
sset_has(const struct sset *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], v) == 0)
			return 1;
	return 0;
}

static void
sset_free(struct sset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
}

/* What a set of nodes reads as: names, or attribute s collapsed. */
static void
read_nodes(xmlXPathContextPtr x, const char *expr, int names, struct sset *s)
{
	xmlXPathObjectPtr o = xp(x, expr);

	for (int i = 0; o->nodesetval && i < o->nodesetval->nodeNr; i++) {
		xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[i]);

		NEED(t != NULL);
		sset_add(s, names ? dns_name(t) : collapse(t));
		xmlFree(t);
	}
	xmlXPathFreeObject(o);
}

/*
 * The values of the model's lines starting with prefix, without a
 * hostAttr's addresses (" v4:192.0.2.1 v6:2001:db8::1" at the end).
 */
static void
model_values(const struct epp_msg *m, const char *prefix, struct sset *s)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < epp_msg_nchanges(m); i++) {
		const char *l = epp_msg_change(m, i, NULL);
		char *v, *sp;

		if (strncmp(l, prefix, n) != 0)
			continue;
		v = strdup(l + n);
		NEED(v != NULL);
		while ((sp = strrchr(v, ' ')) != NULL &&
		    (strncmp(sp + 1, "v4:", 3) == 0 ||
		    strncmp(sp + 1, "v6:", 3) == 0))
			*sp = '\0';
		sset_add(s, v);
	}
}

static int
model_has(const struct epp_msg *m, const char *line)
{
	for (size_t i = 0; i < epp_msg_nchanges(m); i++)
		if (strcmp(epp_msg_change(m, i, NULL), line) == 0)
			return 1;
	return 0;
}

/* Whether the oracle's set and the model's agree; says how if not. */
static int
same_set(const struct sset *o, const struct sset *g, char *why, size_t len)
{
	for (size_t i = 0; i < o->n; i++)
		if (!sset_has(g, o->v[i])) {
			snprintf(why, len, "registry reads \"%s\", model "
			    "lacks it", o->v[i]);
			return 0;
		}
	for (size_t i = 0; i < g->n; i++)
		if (!sset_has(o, g->v[i])) {
			snprintf(why, len, "model has \"%s\", registry does "
			    "not read it", g->v[i]);
			return 0;
		}
	return 1;
}

static int
oracle_locked(const struct base *b, int pi, const char *name)
{
	static const char sfx[] = ".bank.example";
	size_t n = strlen(name), k = sizeof(sfx) - 1;

	if (pi == 0)
		return b->lock[0] != '\0' && !b->lock_host &&
		    strcmp(name, b->lock) == 0;
	return strcmp(name, "locked.example") == 0 ||
	    (n > k && strcmp(name + n - k, sfx) == 0);
}

/*
 * "ext.N=" and the exclusive C14N of node n's subtree, by plain libxml2, as
 * the line the model keeps for the N-th unknown extension element.  A line
 * cannot hold a line end: they are escaped as \n and \r (and a backslash
 * as two).
 */
static char *
c14n_line(xmlDocPtr doc, xmlXPathContextPtr x, xmlNodePtr n, int ordinal)
{
	xmlXPathObjectPtr o;
	xmlChar *out = NULL;
	char *line, *w;

	x->node = n;
	o = xp(x, "(.//. | .//@* | .//namespace::*)");
	NEED(xmlC14NDocDumpMemory(doc, o->nodesetval,
	    XML_C14N_EXCLUSIVE_1_0, NULL, 0, &out) >= 0);
	xmlXPathFreeObject(o);
	x->node = xmlDocGetRootElement(doc);
	line = malloc(16 + 2 * strlen((char *)out) + 1);
	NEED(line != NULL);
	w = line + snprintf(line, 16, "ext.%d=", ordinal);
	for (const char *p = (char *)out; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\\') {
			*w++ = '\\';
			*w++ = *p == '\n' ? 'n' : *p == '\r' ? 'r' : '\\';
		} else
			*w++ = *p;
	}
	*w = '\0';
	xmlFree(out);
	return line;
}

#define UPD	"/e:epp/e:command/e:update/d:update"
#define EXT	"/e:epp/e:command/e:extension"

static void
oracle(struct run *r, const struct base *b, int pi, const struct pipe_out *o,
    const char *kind, const char *xml, size_t len)
{
	static const char *const unknown_ext = EXT "/*[namespace-uri() != '"
	    NS_S10 "' and namespace-uri() != '" NS_S11 "' and "
	    "namespace-uri() != '" NS_RGP "']";
	const struct epp_msg *m = o->msg;
	struct sset os = { .n = 0 }, gs = { .n = 0 };
	xmlDocPtr doc;
	xmlXPathContextPtr x;
	xmlXPathObjectPtr xo;
	char why[512], *name = NULL;
	unsigned want = 0;
	int locked, unlock = 0, ok = 1, nsec;
	static const struct {
		const char	*expr, *prefix;
		int		 names;
	} sets[] = {
		{ UPD "/d:add/d:ns/d:hostObj | " UPD "/d:add/d:ns/d:hostAttr/"
		    "d:hostName", "add.ns=", 1 },
		{ UPD "/d:rem/d:ns/d:hostObj | " UPD "/d:rem/d:ns/d:hostAttr/"
		    "d:hostName", "rem.ns=", 1 },
		{ UPD "/d:add/d:status/@s", "add.status=", 0 },
		{ UPD "/d:rem/d:status/@s", "rem.status=", 0 },
	};

	r->oracle++;
	doc = xmlReadMemory((const char *)o->fwd, (int)o->fwd_len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	NEED(doc != NULL);
	x = xmlXPathNewContext(doc);
	NEED(x != NULL);
	xmlXPathRegisterNs(x, BAD_CAST "e", BAD_CAST NS_EPP);
	xmlXPathRegisterNs(x, BAD_CAST "d", BAD_CAST NS_DOM);
	xmlXPathRegisterNs(x, BAD_CAST "s0", BAD_CAST NS_S10);
	xmlXPathRegisterNs(x, BAD_CAST "s1", BAD_CAST NS_S11);
	xmlXPathRegisterNs(x, BAD_CAST "r", BAD_CAST NS_RGP);
	xmlXPathRegisterNs(x, BAD_CAST "g", BAD_CAST NS_GW);

	/* The domain the registry will update. */
	xo = xp(x, UPD "/d:name");
	if (xo->nodesetval == NULL || xo->nodesetval->nodeNr != 1) {
		snprintf(why, sizeof(why), "not exactly one domain:name");
		ok = 0;
	} else {
		xmlChar *t = xmlNodeGetContent(xo->nodesetval->nodeTab[0]);

		name = dns_name(t);
		xmlFree(t);
		if (epp_msg_nobjects(m) != 1 || strcmp(name,
		    epp_msg_object(m, 0, NULL, NULL)) != 0) {
			snprintf(why, sizeof(why), "registry updates \"%s\", "
			    "model judged \"%s\"", name,
			    epp_msg_nobjects(m) ? epp_msg_object(m, 0, NULL,
			    NULL) : "(none)");
			ok = 0;
		}
	}
	xmlXPathFreeObject(xo);
	locked = ok && oracle_locked(b, pi, name);

	/* Name servers and statuses added and removed: the same sets. */
	for (size_t i = 0; ok && i < sizeof(sets) / sizeof(sets[0]); i++) {
		read_nodes(x, sets[i].expr, sets[i].names, &os);
		model_values(m, sets[i].prefix, &gs);
		if (!same_set(&os, &gs, why, sizeof(why))) {
			ok = 0;
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			    " (%s)", sets[i].prefix);
		}
		if (os.n > 0 && i < 2) {
			want |= CLASS_NS;
			r->oracle_ns++;
		}
		for (size_t j = 0; j < os.n; j++) {
			size_t n = strlen(os.v[j]);
			int prohib = n > 10 &&
			    strcmp(os.v[j] + n - 10, "Prohibited") == 0;

			if (i == 2 && !prohib)
				want |= CLASS_STATUS;
			if (i == 3 && prohib)
				want |= CLASS_STATUS;
			if (i == 3 && (strcmp(os.v[j],
			    "clientUpdateProhibited") == 0 ||
			    strcmp(os.v[j], "serverUpdateProhibited") == 0))
				unlock = 1;
		}
		if (i >= 2 && os.n > 0)
			r->oracle_status++;
		sset_free(&os);
		sset_free(&gs);
	}
	if (xp_count(x, UPD "/d:add/d:contact | " UPD "/d:rem/d:contact") > 0)
		want |= CLASS_CONTACT;
	if (xp_count(x, UPD "/d:chg/d:registrant") > 0)
		want |= CLASS_REGISTRANT;
	if (xp_count(x, UPD "/d:chg/d:authInfo") > 0)
		want |= CLASS_AUTHINFO;
	if (xp_count(x, EXT "/r:update") > 0)
		want |= CLASS_DELETE;

	/* DNSSEC: any secDNS update is a DS change; all="1" removes all. */
	nsec = xp_count(x, EXT "/s1:update | " EXT "/s0:update");
	if (nsec > 0) {
		want |= CLASS_DS;
		r->oracle_secdns++;
	}
	if (ok && ((xp_count(x, EXT "/s1:update") > 0) !=
	    model_has(m, "secdns.update=1.1") || (xp_count(x,
	    EXT "/s0:update") > 0) != model_has(m, "secdns.update=1.0"))) {
		snprintf(why, sizeof(why), "secDNS update element and model "
		    "disagree");
		ok = 0;
	}
	read_nodes(x, EXT "/s1:update/s1:rem/s1:all", 0, &os);
	if (ok && os.n > 0) {
		int all = 0;

		for (size_t j = 0; j < os.n; j++)
			all |= strcmp(os.v[j], "true") == 0 ||
			    strcmp(os.v[j], "1") == 0;
		if (all != model_has(m, "secdns.rem.all=1")) {
			snprintf(why, sizeof(why), "<all>%s</all> read as "
			    "remove-all %d, model says %d", os.v[0], all,
			    !all);
			ok = 0;
		}
	}
	sset_free(&os);

	/* Anything else in the extension: unknown, in as its C14N. */
	xo = xp(x, unknown_ext);
	for (int i = 0; xo->nodesetval && i < xo->nodesetval->nodeNr; i++) {
		xmlNodePtr n = xo->nodesetval->nodeTab[i];
		char *line;
		int secret;

		want |= CLASS_UNKNOWN;
		r->oracle_unknown++;
		x->node = n;
		secret = xp_count(x, "descendant-or-self::*[local-name() = "
		    "'pw' or local-name() = 'newPW' or local-name() = "
		    "'authInfo']") > 0;
		x->node = xmlDocGetRootElement(doc);
		if (secret || !ok)
			continue;
		line = c14n_line(doc, x, n, i + 1);
		if (!model_has(m, line)) {
			snprintf(why, sizeof(why), "registry gets extension "
			    "%.300s; no such change line", line);
			ok = 0;
		}
		free(line);
	}
	xmlXPathFreeObject(xo);
	/* eppgw's own extension never reaches the registry as such. */
	if (ok && xp_count(x, EXT "/g:*") > 0) {
		snprintf(why, sizeof(why), "eppgw extension forwarded");
		ok = 0;
	}

	/* What the registry will do, judged as the lock policy says. */
	if (ok && o->v.all_classes != want) {
		snprintf(why, sizeof(why), "registry reads classes %#x, model "
		    "%#x", want, o->v.all_classes);
		ok = 0;
	}
	if (ok && unlock) {
		r->oracle_unlock++;
		if (o->v.decision != DECISION_APPROVAL ||
		    !(o->v.classes & CLASS_STATUS)) {
			snprintf(why, sizeof(why), "clientUpdateProhibited "
			    "removed, decision %s", decision_name(
			    o->v.decision));
			ok = 0;
		}
	}
	if (ok && locked) {
		r->oracle_locked++;
		if (want != 0 && (o->v.decision != DECISION_APPROVAL ||
		    o->v.classes != want)) {
			snprintf(why, sizeof(why), "locked %s changes %#x, "
			    "decision %s for %#x", name, want,
			    decision_name(o->v.decision), o->v.classes);
			ok = 0;
		}
		if (want == 0 && o->v.decision != DECISION_ALLOW) {
			snprintf(why, sizeof(why), "locked %s, nothing "
			    "changed, decision %s", name,
			    decision_name(o->v.decision));
			ok = 0;
		}
	}
	if (ok && !locked && !unlock && o->v.decision != DECISION_ALLOW) {
		snprintf(why, sizeof(why), "%s not locked, decision %s", name,
		    decision_name(o->v.decision));
		ok = 0;
	}
	if (!ok)
		fail_case(r, b, pi, kind, xml, len, "oracle: %s\n--- forwarded "
		    "---\n%.*s", why, (int)o->fwd_len, (const char *)o->fwd);
	free(name);
	xmlXPathFreeContext(x);
	xmlFreeDoc(doc);
}

/* --- mutations -------------------------------------------------------- */

static uint64_t
rnd(struct base *b)
{
	/* xorshift64: deterministic, seeded per base. */
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return b->rng;
}

/*
 * Up to k of the n candidates in cand[], chosen deterministically; cand[0]
 * (the most interesting site, when the caller put one there) is kept.
 */
static size_t
pick(struct base *b, int *cand, size_t n, size_t k)
{
	if (n <= k)
		return n;
	for (size_t i = 1; i < k; i++) {
		size_t j = i + (size_t)(rnd(b) % (n - i));
		int t = cand[i];

		cand[i] = cand[j];
		cand[j] = t;
	}
	return k;
}

/* The value fields, the object's name first. */
static size_t
leaves(struct base *b, int *cand, size_t k)
{
	const struct xdoc *d = b->d;
	size_t n = 0;

	for (size_t i = 0; i < d->nel; i++)
		if (is_leaf(&d->el[i]) && (el_is(&d->el[i], NS_DOM, "name") ||
		    el_is(&d->el[i], NS_HOST, "name") ||
		    el_is(&d->el[i], NS_CON, "id"))) {
			cand[n++] = (int)i;
			break;
		}
	for (size_t i = 0; i < d->nel; i++)
		if (is_leaf(&d->el[i]) && (n == 0 || (int)i != cand[0]))
			cand[n++] = (int)i;
	return pick(b, cand, n, k);
}

/* Trimmed value span of leaf e: [*vo, *ve). */
static void
value_span(const struct xdoc *d, const struct xel *e, size_t *vo, size_t *ve)
{
	*vo = e->se;
	*ve = e->eo;
	while (*vo < *ve && isspace((unsigned char)d->s[*vo]))
		(*vo)++;
	while (*ve > *vo && isspace((unsigned char)d->s[*ve - 1]))
		(*ve)--;
}

/*
 * A point inside the value where markup may go: not inside a reference,
 * not inside a UTF-8 sequence.  0 when the value is too short.
 */
static size_t
mid_point(const struct xdoc *d, size_t vo, size_t ve)
{
	for (size_t p = vo + (ve - vo) / 2; p > vo && p < ve; p++) {
		size_t q;
		int inref = 0;

		if (((unsigned char)d->s[p] & 0xc0) == 0x80)
			continue;
		for (q = vo; q < p; q++)
			if (d->s[q] == '&')
				inref = 1;
			else if (d->s[q] == ';')
				inref = 0;
		if (!inref)
			return p;
	}
	return 0;
}

static void
mut_ws_text(struct run *r, struct base *b)
{
	static const struct {
		const char	*pre, *post;
	} ws[] = {
		{ " ", "" }, { "", "\n" }, { "\t\n ", " \t\r\n" },
		{ "&#32;", "&#9;" }, { "&#13;&#10;", "" },
	};
	const struct xdoc *d = b->d;
	struct mut m = { .n = 0 };
	int cand[MAX_EL];
	size_t n = leaves(b, cand, SITES), vo, ve, mid;

	for (size_t c = 0; c < n; c++) {
		const struct xel *e = &d->el[cand[c]];
		const char *g = token_field(e) ? "base" : NULL;

		for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
			ed(&m, e->se, 0, "%s", ws[i].pre);
			ed(&m, e->eo, 0, "%s", ws[i].post);
			emit(r, b, &m, "ws-text", g);
		}
		/* Inside the value: another value (or an invalid one). */
		value_span(d, e, &vo, &ve);
		if ((mid = mid_point(d, vo, ve)) != 0) {
			ed(&m, mid, 0, " ");
			emit(r, b, &m, "ws-in-text", NULL);
			ed(&m, mid, 0, "&#10;");
			emit(r, b, &m, "ws-in-text", NULL);
		}
	}
}

static size_t
attrs(struct base *b, int *ce, int *ca, size_t k, int xmlns)
{
	const struct xdoc *d = b->d;
	int idx[MAX_EL * 2];
	size_t n = 0;

	for (size_t i = 0; i < d->nel && n < MAX_EL * 2; i++)
		for (size_t a = 0; a < d->el[i].nattr && n < MAX_EL * 2; a++)
			if (attr_is_xmlns(d, &d->el[i].attr[a]) == xmlns)
				idx[n++] = (int)(i * MAX_ATTR + a);
	n = pick(b, idx, n, k);
	for (size_t i = 0; i < n; i++) {
		ce[i] = idx[i] / MAX_ATTR;
		ca[i] = idx[i] % MAX_ATTR;
	}
	return n;
}

static void
mut_ws_attr(struct run *r, struct base *b)
{
	static const struct {
		const char	*pre, *post;
	} ws[] = {
		{ " ", "" }, { "", "\n" }, { "\t", " \r\n" }, { "&#9;", "" },
		{ "", "&#10;&#13;" },
	};
	const struct xdoc *d = b->d;
	struct mut m = { .n = 0 };
	int ce[MAX_EL * 2], ca[MAX_EL * 2];
	size_t n = attrs(b, ce, ca, SITES, 0);

	for (size_t c = 0; c < n; c++) {
		const struct xel *e = &d->el[ce[c]];
		const struct xattr *a = &e->attr[ca[c]];
		const char *g = builtin(e->uri) && !attr_qualified(d, a) ?
		    "base" : NULL;

		for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
			ed(&m, a->vo, 0, "%s", ws[i].pre);
			ed(&m, a->ve, 0, "%s", ws[i].post);
			emit(r, b, &m, "ws-attr", g);
		}
		if (a->ve - a->vo >= 2) {
			ed(&m, a->vo + (a->ve - a->vo) / 2, 0, " ");
			emit(r, b, &m, "ws-in-attr", NULL);
		}
		/* Character reference for the first character. */
		if (a->ve > a->vo && isalnum((unsigned char)d->s[a->vo])) {
			ed(&m, a->vo, 1, "&#%d;", d->s[a->vo]);
			emit(r, b, &m, "charref-attr", "base");
		}
		/* Single quotes. */
		if (memchr(d->s + a->vo, '\'', a->ve - a->vo) == NULL) {
			ed(&m, a->vo - 1, 1, "'");
			ed(&m, a->ve, 1, "'");
			emit(r, b, &m, "quote-attr", "base");
		}
	}
	/* A namespace name with white space is another namespace. */
	n = attrs(b, ce, ca, 2, 1);
	for (size_t c = 0; c < n; c++) {
		ed(&m, d->el[ce[c]].attr[ca[c]].ve, 0, " ");
		emit(r, b, &m, "ws-xmlns", NULL);
	}
}

static void
mut_elem_in_text(struct run *r, struct base *b)
{
	static const char *const els[] = {
		"<x:y xmlns:x=\"" NS_GW "\"/>",
		"<eppgw:approval xmlns:eppgw=\"" NS_GW "\">1</eppgw:approval>",
		"<u:y xmlns:u=\"" NS_ODD "\"/>",
		"<e:hello xmlns:e=\"" NS_EPP "\"/>",
	};
	const struct xdoc *d = b->d;
	struct mut m = { .n = 0 };
	int cand[MAX_EL];
	size_t n = leaves(b, cand, SITES), vo, ve, mid;

	for (size_t c = 0; c < n; c++) {
		const struct xel *e = &d->el[cand[c]];

		value_span(d, e, &vo, &ve);
		if ((mid = mid_point(d, vo, ve)) == 0)
			mid = vo;
		for (size_t i = 0; i < sizeof(els) / sizeof(els[0]); i++) {
			ed(&m, mid, 0, "%s", els[i]);
			emit(r, b, &m, "element-in-text", NULL);
		}
	}
	/* Every leaf of an extension we have no schema for gets one: the
	 * registry may read that text without the element. */
	for (size_t i = 0; i < d->nel; i++) {
		const struct xel *e = &d->el[i];

		if (!is_leaf(e) || builtin(e->uri) || e->uri[0] == '\0')
			continue;
		value_span(d, e, &vo, &ve);
		if ((mid = mid_point(d, vo, ve)) == 0)
			mid = vo;
		ed(&m, mid, 0, "%s", els[0]);
		emit(r, b, &m, "element-in-ext-text", NULL);
	}
}

/* Where a new element under <command> goes: before clTRID, or last. */
static size_t
command_tail(const struct xdoc *d, int cmd)
{
	int t = child_el(d, cmd, NS_EPP, "clTRID");

	return t >= 0 ? d->el[t].so : d->el[cmd].eo;
}

/* Text as a new first child of <command><extension>, made if need be. */
static void
ed_extension(struct mut *m, const struct xdoc *d, int cmd, const char *text)
{
	int ext = child_el(d, cmd, NS_EPP, "extension");
	const char *p = d->el[cmd].prefix;

	if (ext >= 0)
		ed_child(m, d, ext, 0, text);
	else
		ed(m, command_tail(d, cmd), 0, "<%s%sextension>%s</%s%s"
		    "extension>", p, *p ? ":" : "", text, p, *p ? ":" : "");
}

static void
mut_eppgw(struct run *r, struct base *b)
{
	const struct xdoc *d = b->d;
	struct mut m = { .n = 0 };
	int cmd = find_el(d, 0, NS_EPP, "command");
	int ext, verb = -1, obj = -1, root = 0;
	char q[128];

	if (cmd < 0)
		return;
	for (size_t i = (size_t)cmd + 1; i < d->nel; i++)
		if (d->el[i].parent == cmd && !el_is(&d->el[i], NS_EPP,
		    "extension") && !el_is(&d->el[i], NS_EPP, "clTRID")) {
			verb = (int)i;
			break;
		}
	if (verb >= 0 && d->el[verb].nkids > 0)
		obj = verb + 1;

	/* Its own place: a direct child of <command><extension>.  Stripped,
	 * so the same command. */
	ed_extension(&m, d, cmd, GW_EL);
	emit(r, b, &m, "eppgw-own-place", "base");
	ed_extension(&m, d, cmd, "<approval xmlns=\"" NS_GW "\"><otp>1</otp>"
	    "</approval>");
	emit(r, b, &m, "eppgw-own-place", "base");
	if ((ext = child_el(d, cmd, NS_EPP, "extension")) >= 0) {
		ed_child(&m, d, ext, 1, GW_EL);
		emit(r, b, &m, "eppgw-own-place", "base");
	}

	/* Odd places: directly under <command>, in the verb, in the object. */
	if (verb >= 0) {
		ed(&m, d->el[verb].so, 0, GW_EL);
		emit(r, b, &m, "eppgw-under-command", NULL);
		ed_child(&m, d, verb, 0, GW_EL);
		emit(r, b, &m, "eppgw-in-verb", NULL);
	}
	ed(&m, command_tail(d, cmd), 0, GW_EL);
	emit(r, b, &m, "eppgw-under-command", NULL);
	if (obj >= 0) {
		ed_child(&m, d, obj, 1, GW_EL);
		emit(r, b, &m, "eppgw-in-object", NULL);
	}
	/* Inside domain:add/rem/chg and inside every extension child and
	 * everything under a secDNS element. */
	for (size_t i = 0; i < d->nel; i++) {
		const struct xel *e = &d->el[i];
		int in_ext = ext >= 0 && e->parent == ext;
		int secdns = el_is(e, NS_S11, NULL) || el_is(e, NS_S10, NULL);

		if (el_is(e, NS_DOM, "add") || el_is(e, NS_DOM, "rem") ||
		    el_is(e, NS_DOM, "chg")) {
			ed_child(&m, d, (int)i, 0, GW_EL);
			emit(r, b, &m, "eppgw-in-domain-add", NULL);
			ed_child(&m, d, (int)i, 1, GW_EL);
			emit(r, b, &m, "eppgw-in-domain-add", NULL);
		} else if (in_ext || (secdns && !is_leaf(e))) {
			ed_child(&m, d, (int)i, 0, GW_EL);
			emit(r, b, &m, secdns ? "eppgw-in-secdns" :
			    "eppgw-in-ext-child", NULL);
			ed_child(&m, d, (int)i, 1, "<eppgw:x xmlns:eppgw=\""
			    NS_GW "\"/>");
			emit(r, b, &m, secdns ? "eppgw-in-secdns" :
			    "eppgw-in-ext-child", NULL);
		}
	}

	/* <epp><extension>: a protocol extension command carrying eppgw's
	 * element, alone and with the command's object. */
	qname(&d->el[root], q, sizeof(q));
	{
		const char *p = d->el[root].prefix, *c = *p ? ":" : "";
		char *xml;

		xml = xprintf("%.*s<%s%sextension>%s"
		    "</%s%sextension></%s>", (int)(d->el[root].se -
		    d->el[root].so), d->s + d->el[root].so, p, c, GW_EL, p, c,
		    q);
		try_input(r, b, xml, strlen(xml), "eppgw-epp-extension", NULL);
		free(xml);
		if (obj >= 0) {
			xml = xprintf("%.*s<%s%sextension>%s"
			    "%.*s</%s%sextension></%s>", (int)(d->el[root].se -
			    d->el[root].so), d->s + d->el[root].so, p, c, GW_EL,
			    (int)(d->el[obj].ee - d->el[obj].so),
			    d->s + d->el[obj].so, p, c, q);
			try_input(r, b, xml, strlen(xml),
			    "eppgw-epp-extension", NULL);
			free(xml);
		}
	}
}

/*
 * Rename prefix `from` where it is bound to uri, to `to` ("" for a default
 * namespace): element names and the declarations binding it to uri.
 */
static void
ed_rename(struct mut *m, const struct xdoc *d, const char *from,
    const char *uri, const char *to)
{
	const char *c = *to ? ":" : "";

	for (size_t i = 0; i < d->nel; i++) {
		const struct xel *e = &d->el[i];
		size_t plen = strlen(e->prefix) + (e->prefix[0] ? 1 : 0);

		for (size_t a = 0; a < e->nattr; a++) {
			const struct xattr *at = &e->attr[a];
			char an[64], val[160];

			if (!attr_is_xmlns(d, at))
				continue;
			copy_span(an, sizeof(an), d->s, at->no, at->ne);
			copy_span(val, sizeof(val), d->s, at->vo, at->ve);
			if (strcmp(an[5] == ':' ? an + 6 : "", from) == 0 &&
			    strcmp(val, uri) == 0)
				ed(m, at->no, at->ne - at->no, "xmlns%s%s", c,
				    to);
		}
		if (strcmp(e->prefix, from) != 0 || strcmp(e->uri, uri) != 0)
			continue;
		ed(m, e->so + 1, plen, "%s%s", to, c);
		if (!e->empty)
			ed(m, e->eo + 2, plen, "%s%s", to, c);
	}
}

static void
mut_prefix(struct run *r, struct base *b)
{
	const struct xdoc *d = b->d;
	struct mut m = { .n = 0 };
	struct {
		char	prefix[32], uri[160];
	} used[16];
	size_t nused = 0, n;
	int cand[MAX_EL];
	char decl[512];

	for (size_t i = 0; i < d->nel; i++) {
		size_t u;

		for (u = 0; u < nused; u++)
			if (strcmp(used[u].prefix, d->el[i].prefix) == 0 &&
			    strcmp(used[u].uri, d->el[i].uri) == 0)
				break;
		if (u == nused && nused < 16) {
			snprintf(used[nused].prefix, sizeof(used[0].prefix),
			    "%s", d->el[i].prefix);
			snprintf(used[nused].uri, sizeof(used[0].uri), "%s",
			    d->el[i].uri);
			nused++;
		}
	}

	/* Another prefix for each namespace. */
	for (size_t u = 0; u < nused; u++) {
		ed_rename(&m, d, used[u].prefix, used[u].uri, "q7");
		emit(r, b, &m, "prefix-rename", prefix_free(used[u].uri) ?
		    "base" : NULL);
	}
	/* Defaults become prefixes, then one prefix becomes the default. */
	{
		struct xdoc *d2 = malloc(sizeof(*d2));
		char *s1 = NULL, *s2;
		size_t l1 = 0, l2;
		int same = 1;

		NEED(d2 != NULL);
		for (size_t u = 0; u < nused; u++)
			if (used[u].prefix[0] == '\0') {
				char to[8];

				snprintf(to, sizeof(to), "n%zu", u);
				ed_rename(&m, d, "", used[u].uri, to);
				same &= prefix_free(used[u].uri);
			}
		if (m.n > 0) {
			s1 = apply(d->s, d->len, &m, &l1);
			try_input(r, b, s1, l1, "prefix-no-default",
			    same ? "base" : NULL);
			NEED(scan(d2, s1, l1) == 0);
			for (size_t u = 0; u < nused; u++) {
				if (used[u].prefix[0] == '\0')
					continue;
				ed_rename(&m, d2, used[u].prefix, used[u].uri,
				    "");
				s2 = apply(s1, l1, &m, &l2);
				try_input(r, b, s2, l2, "prefix-default-swap",
				    same && prefix_free(used[u].uri) ? "base" :
				    NULL);
				free(s2);
			}
		} else {
			/* No default namespace at all: make one. */
			for (size_t u = 0; u < nused; u++) {
				ed_rename(&m, d, used[u].prefix, used[u].uri,
				    "");
				emit(r, b, &m, "prefix-default-swap",
				    prefix_free(used[u].uri) ? "base" : NULL);
			}
		}
		free(s1);
		free(d2);
	}

	/* Declared again, on inner elements: same URI, a decoy default on a
	 * prefixed field, another URI for a prefix in use. */
	n = leaves(b, cand, SITES);
	for (size_t c = 0; c < n; c++) {
		const struct xel *e = &d->el[cand[c]];
		const char *p = e->prefix, *col = *p ? ":" : "";

		snprintf(decl, sizeof(decl), "xmlns%s%s=\"%s\"", col, p,
		    e->uri);
		ed_attr(&m, d, cand[c], decl);
		emit(r, b, &m, "prefix-redeclared", "base");
		if (*p != '\0') {
			ed_attr(&m, d, cand[c], "xmlns=\"" NS_ODD "\"");
			emit(r, b, &m, "prefix-decoy-default", "base");
		}
		snprintf(decl, sizeof(decl), "xmlns%s%s=\"%s\"", col, p,
		    strcmp(e->uri, NS_DOM) == 0 ? NS_HOST : NS_DOM);
		ed_attr(&m, d, cand[c], decl);
		emit(r, b, &m, "prefix-rebound", NULL);
	}
	/* On an element with children: the children move. */
	n = 0;
	for (size_t i = 1; i < d->nel; i++)
		if (d->el[i].nkids > 0)
			cand[n++] = (int)i;
	n = pick(b, cand, n, SITES);
	for (size_t c = 0; c < n; c++) {
		const struct xel *k = &d->el[cand[c] + 1];
		const char *p = k->prefix, *col = *p ? ":" : "";

		snprintf(decl, sizeof(decl), "xmlns%s%s=\"" NS_ODD "\"", col,
		    p);
		ed_attr(&m, d, cand[c], decl);
		emit(r, b, &m, "prefix-rebound", NULL);
	}
	/* The same prefix declared at the root too: rightly, and as a decoy
	 * that the inner declaration overrides. */
	for (size_t u = 0; u < nused; u++) {
		int declared = 0;

		if (used[u].prefix[0] == '\0')
			continue;
		for (size_t a = 0; a < d->el[0].nattr; a++) {
			char an[64];

			copy_span(an, sizeof(an), d->s, d->el[0].attr[a].no,
			    d->el[0].attr[a].ne);
			declared |= strncmp(an, "xmlns:", 6) == 0 &&
			    strcmp(an + 6, used[u].prefix) == 0;
		}
		if (declared)
			continue;
		snprintf(decl, sizeof(decl), "xmlns:%.31s=\"%.159s\"",
		    used[u].prefix, used[u].uri);
		ed_attr(&m, d, 0, decl);
		emit(r, b, &m, "prefix-twice", "base");
		snprintf(decl, sizeof(decl), "xmlns:%.31s=\"" NS_ODD "\"",
		    used[u].prefix);
		ed_attr(&m, d, 0, decl);
		emit(r, b, &m, "prefix-twice", "base");
	}
}

static void
mut_dup(struct run *r, struct base *b)
{
	static const struct {
		const char	*uri, *local;
		int		 same;		/* a repeat changes nothing */
		const char	*other;		/* a second, other value */
	} targets[] = {
		{ NS_DOM, "name", 0, "locked.example" },
		{ NS_DOM, "add", 0, NULL },
		{ NS_DOM, "rem", 0, NULL },
		{ NS_DOM, "chg", 0, NULL },
		{ NS_DOM, "ns", 0, NULL },
		{ NS_DOM, "hostObj", 1, "ns1.evil.example" },
		{ NS_DOM, "status", 1, NULL },
		{ NS_DOM, "contact", 1, NULL },
		{ NS_DOM, "registrant", 0, "evil-1" },
		{ NS_HOST, "name", 0, "ns1.locked.example" },
		{ NS_HOST, "addr", 0, "203.0.113.66" },
		{ NS_CON, "id", 0, "evil-1" },
		{ NS_EPP, "extension", 0, NULL },
		{ NS_EPP, "clTRID", 0, "OTHER-1" },
		{ NS_S11, "update", 0, NULL },
		{ NS_S10, "update", 0, NULL },
		{ NS_S11, "all", 0, "0" },
		{ NS_S11, "dsData", 0, NULL },
		{ NS_RGP, "update", 0, NULL },
	};
	const struct xdoc *d = b->d;
	struct mut m = { .n = 0 };

	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		int i = find_el(d, 0, targets[t].uri, targets[t].local);
		const struct xel *e;
		char q[128];

		if (i < 0)
			continue;
		e = &d->el[i];
		ed(&m, e->ee, 0, "%.*s", (int)(e->ee - e->so), d->s + e->so);
		emit(r, b, &m, "duplicate", targets[t].same ? "base" : NULL);
		if (targets[t].other == NULL || !is_leaf(e))
			continue;
		qname(e, q, sizeof(q));
		ed(&m, e->ee, 0, "%.*s%s</%s>", (int)(e->se - e->so),
		    d->s + e->so, targets[t].other, q);
		emit(r, b, &m, "duplicate-other", NULL);
		ed(&m, e->so, 0, "%.*s%s</%s>", (int)(e->se - e->so),
		    d->s + e->so, targets[t].other, q);
		emit(r, b, &m, "duplicate-other", NULL);
	}
	/* A second <extension> with only eppgw's element in it. */
	{
		int cmd = find_el(d, 0, NS_EPP, "command");

		if (cmd >= 0) {
			const char *p = d->el[cmd].prefix;
			const char *c = *p ? ":" : "";

			ed(&m, command_tail(d, cmd), 0, "<%s%sextension>" GW_EL
			    "</%s%sextension>", p, c, p, c);
			ed(&m, command_tail(d, cmd), 0, "<%s%sextension>" GW_EL
			    "</%s%sextension>", p, c, p, c);
			emit(r, b, &m, "duplicate", NULL);
		}
	}
}

/* Replace leaf i's content with v. */
static void
ed_value(struct mut *m, const struct xdoc *d, int i, const char *v)
{
	const struct xel *e = &d->el[i];

	ed(m, e->se, e->eo - e->se, "%s", v);
}

static void
mut_secdns(struct run *r, struct base *b)
{
	static const struct {
		const char	*v, *group;
	} alls[] = {
		{ "true", "all-T" }, { " true ", "all-T" }, { "1", "all-T" },
		{ "\n1\t", "all-T" }, { "&#32;true", "all-T" },
		{ "false", "all-F" }, { "0", "all-F" }, { " false\n", "all-F" },
		{ "TRUE", NULL }, { "yes", NULL }, { "", NULL },
		{ "tr<!-- x -->ue", "all-T" }, { "<![CDATA[1]]>", "all-T" },
	};
	static const struct {
		const char	*v, *group;
	} urgents[] = {
		{ "true", "urg-T" }, { " true ", "urg-T" }, { "1", "urg-T" },
		{ "false", "urg-F" }, { " 0 ", "urg-F" }, { "maybe", NULL },
	};
	static const struct {
		const char	*el, *group;
	} adds[] = {
		{ "<s:update xmlns:s=\"" NS_S10 "\"><s:chg/></s:update>",
		    NULL },
		{ "<s:update xmlns:s=\"" NS_S10 "\"><s:chg><s:dsData><s:keyTag>"
		    "1</s:keyTag><s:alg>13</s:alg><s:digestType>2"
		    "</s:digestType><s:digest>ab</s:digest></s:dsData></s:chg>"
		    "</s:update>", "chg10" },
		{ "<s:update xmlns:s=\"" NS_S10 "\"><s:chg><s:dsData><s:keyTag>"
		    " 1 </s:keyTag><s:alg>13</s:alg><s:digestType>2"
		    "</s:digestType><s:digest>\nAB\n</s:digest></s:dsData>"
		    "</s:chg></s:update>", "chg10" },
		{ "<s:update xmlns:s=\"" NS_S10 "\"><s:rem><s:keyTag>12345"
		    "</s:keyTag></s:rem></s:update>", NULL },
		{ "<s:update xmlns:s=\"" NS_S11 "\"/>", "empty11" },
		{ "<update xmlns=\"" NS_S11 "\"></update>", "empty11" },
		{ "<s:update xmlns:s=\"" NS_S11 "\"><s:chg><s:maxSigLife>604800"
		    "</s:maxSigLife></s:chg></s:update>", NULL },
		{ "<s:update xmlns:s=\"" NS_S11 "\" urgent=\"1\"><s:rem><s:all>"
		    "true</s:all></s:rem></s:update>", "urgent-all" },
		{ "<s:update xmlns:s=\"" NS_S11 "\" urgent=\" true \"><s:rem>"
		    "<s:all>1</s:all></s:rem></s:update>", "urgent-all" },
		{ "<s:update xmlns:s=\"" NS_S11 "\"><s:rem><s:all>false</s:all>"
		    "</s:rem><s:add><s:dsData><s:keyTag>1</s:keyTag><s:alg>13"
		    "</s:alg><s:digestType>2</s:digestType><s:digest>AB"
		    "</s:digest></s:dsData></s:add></s:update>", NULL },
	};
	const struct xdoc *d = b->d;
	struct mut m = { .n = 0 };
	int cmd = find_el(d, 0, NS_EPP, "command"), i, upd;
	char el[256], key[32];

	/* The other version's namespace, everywhere. */
	for (int v = 0; v < 2; v++) {
		const char *from = v ? NS_S10 : NS_S11, *to = v ? NS_S11 :
		    NS_S10;
		const char *p = d->s;

		while ((p = strstr(p, from)) != NULL) {
			ed(&m, (size_t)(p - d->s), strlen(from), "%s", to);
			p += strlen(from);
		}
		if (m.n > 0)
			emit(r, b, &m, "secdns-version", NULL);
	}
	/* <all> as every xs:boolean spelling (and some that are not). */
	if ((i = find_el(d, 0, NS_S11, "all")) >= 0)
		for (size_t s = 0; s < sizeof(alls) / sizeof(alls[0]); s++) {
			ed_value(&m, d, i, alls[s].v);
			emit(r, b, &m, "secdns-all", alls[s].group);
		}
	if ((upd = find_el(d, 0, NS_S11, "update")) >= 0 ||
	    (upd = find_el(d, 0, NS_S10, "update")) >= 0) {
		for (size_t s = 0; s < sizeof(urgents) / sizeof(urgents[0]);
		    s++) {
			const struct xel *e = &d->el[upd];
			size_t a;

			for (a = 0; a < e->nattr; a++)
				if (starts(d->s, d->len, e->attr[a].no,
				    "urgent"))
					break;
			if (a < e->nattr)
				ed(&m, e->attr[a].vo, e->attr[a].ve -
				    e->attr[a].vo, "%s", urgents[s].v);
			else {
				snprintf(el, sizeof(el), "urgent=\"%s\"",
				    urgents[s].v);
				ed_attr(&m, d, upd, el);
			}
			emit(r, b, &m, "secdns-urgent", urgents[s].group);
		}
	}
	/* A secDNS update added to a domain:update. */
	if (cmd < 0 || find_el(d, 0, NS_DOM, "update") < 0)
		return;
	for (size_t s = 0; s < sizeof(alls) / sizeof(alls[0]); s++) {
		snprintf(el, sizeof(el), "<s:update xmlns:s=\"" NS_S11 "\">"
		    "<s:rem><s:all>%s</s:all></s:rem></s:update>", alls[s].v);
		ed_extension(&m, d, cmd, el);
		snprintf(key, sizeof(key), "added-%s", alls[s].group ?
		    alls[s].group : "");
		emit(r, b, &m, "secdns-added", alls[s].group ? key : NULL);
	}
	for (size_t s = 0; s < sizeof(adds) / sizeof(adds[0]); s++) {
		ed_extension(&m, d, cmd, adds[s].el);
		emit(r, b, &m, "secdns-added", adds[s].group);
	}
}

/* Add a status element to the update's add or rem, making it if need be. */
static void
ed_status(struct mut *m, const struct xdoc *d, int upd, const char *uri,
    const char *op, const char *status, int times)
{
	const char *p = d->el[upd].prefix, *c = *p ? ":" : "";
	int el = child_el(d, upd, uri, op), at;
	char s[600];

	s[0] = '\0';
	while (times-- > 0)
		snprintf(s + strlen(s), sizeof(s) - strlen(s),
		    "<%.31s%sstatus s=\"%.200s\"/>", p, c, status);
	if (el >= 0) {
		ed_child(m, d, el, 1, s);
		return;
	}
	/* update: name, add?, rem?, chg? */
	at = child_el(d, upd, uri, "name");
	if (strcmp(op, "rem") == 0 && child_el(d, upd, uri, "add") >= 0)
		at = child_el(d, upd, uri, "add");
	NEED(at >= 0);
	ed(m, d->el[at].ee, 0, "<%s%s%s>%s</%s%s%s>", p, c, op, s, p, c, op);
}

static void
mut_status(struct run *r, struct base *b)
{
	static const struct {
		const char	*op, *s, *group;
	} st[] = {
		{ "rem", "clientUpdateProhibited", "rem-cup" },
		{ "rem", " clientUpdateProhibited ", "rem-cup" },
		{ "rem", "clientUpdateProhibited\n", "rem-cup" },
		{ "rem", "\tclientUpdateProhibited&#10;", "rem-cup" },
		{ "rem", "&#99;lientUpdateProhibited", "rem-cup" },
		{ "rem", "clientupdateprohibited", NULL },
		{ "rem", "client UpdateProhibited", NULL },
		{ "rem", "serverUpdateProhibited", "rem-sup" },
		{ "rem", "clientHold", "rem-hold" },
		{ "rem", " clientHold", "rem-hold" },
		{ "add", "clientHold", "add-hold" },
		{ "add", "clientHold\r\n", "add-hold" },
		{ "add", "clienthold", NULL },
		{ "add", "clientDeleteProhibited", "add-cdp" },
		{ "add", "\nclientDeleteProhibited ", "add-cdp" },
	};
	const struct xdoc *d = b->d;
	struct mut m = { .n = 0 };
	int upd;

	if ((upd = find_el(d, 0, NS_DOM, "update")) < 0 &&
	    (upd = find_el(d, 0, NS_HOST, "update")) < 0)
		return;
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		ed_status(&m, d, upd, d->el[upd].uri, st[i].op, st[i].s, 1);
		emit(r, b, &m, "status", st[i].group);
	}
	/* The same status, twice: still one change. */
	ed_status(&m, d, upd, d->el[upd].uri, "rem", "clientUpdateProhibited",
	    2);
	emit(r, b, &m, "status", "rem-cup");
}

/* Comments, CDATA and character references: the same text to XML. */
static void
mut_syntax(struct run *r, struct base *b)
{
	const struct xdoc *d = b->d;
	struct mut m = { .n = 0 };
	int cand[MAX_EL];
	size_t n = leaves(b, cand, SITES), vo, ve, mid;

	for (size_t c = 0; c < n; c++) {
		const struct xel *e = &d->el[cand[c]];

		value_span(d, e, &vo, &ve);
		if (memchr(d->s + vo, '<', ve - vo) != NULL)
			continue;
		if ((mid = mid_point(d, vo, ve)) != 0) {
			ed(&m, mid, 0, "<!-- split -->");
			emit(r, b, &m, "comment-split", "base");
			ed(&m, mid, 0, "<![CDATA[]]>");
			emit(r, b, &m, "cdata-split", "base");
			ed(&m, mid, ve - mid, "<![CDATA[%.*s]]>",
			    (int)(ve - mid), d->s + mid);
			emit(r, b, &m, "cdata-split", "base");
		}
		if (ve > vo && memchr(d->s + vo, '&', ve - vo) == NULL &&
		    after(d->s, ve, vo, "]]>") == 0) {
			ed(&m, vo, ve - vo, "<![CDATA[%.*s]]>", (int)(ve - vo),
			    d->s + vo);
			emit(r, b, &m, "cdata-whole", "base");
		}
		ed(&m, e->se, 0, "<!---->");
		ed(&m, e->eo, 0, "<!-- -->");
		emit(r, b, &m, "comment-around", "base");
		if (ve > vo && isalnum((unsigned char)d->s[vo])) {
			ed(&m, vo, 1, "&#%d;", d->s[vo]);
			emit(r, b, &m, "charref", "base");
		}
		if (ve > vo && isalnum((unsigned char)d->s[ve - 1])) {
			ed(&m, ve - 1, 1, "&#x%X;", d->s[ve - 1]);
			emit(r, b, &m, "charref", "base");
		}
	}
}

/*
 * The object itself, renamed onto the demo lock list in every spelling of
 * the same name: one command, locked under the demo policy.
 */
static void
mut_object(struct run *r, struct base *b)
{
	static const struct {
		const char	*uri, *v, *group;
	} names[] = {
		{ NS_DOM, "locked.example", "locked" },
		{ NS_DOM, "LOCKED.example.", "locked" },
		{ NS_DOM, " Locked.Example\n", "locked" },
		{ NS_DOM, "lock<!-- x -->ed.example", "locked" },
		{ NS_DOM, "lock<![CDATA[ed.exa]]>mple", "locked" },
		{ NS_DOM, "&#108;ocked.exampl&#x65;", "locked" },
		{ NS_DOM, "pay.BANK.example", "bank" },
		{ NS_DOM, "locked..example", NULL },
		{ NS_DOM, "lo<x:y xmlns:x=\"" NS_GW "\"/>cked.example", NULL },
		{ NS_HOST, "ns1.locked.example", "host" },
		{ NS_HOST, "NS1.Locked.Example.", "host" },
		{ NS_HOST, "ns1.pay.bank.example", NULL },
	};
	const struct xdoc *d = b->d;
	struct mut m = { .n = 0 };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int el = find_el(d, 0, names[i].uri, "name");

		if (el < 0 || !is_leaf(&d->el[el]))
			continue;
		ed_value(&m, d, el, names[i].v);
		emit(r, b, &m, "object-renamed", names[i].group);
	}
}

/* Spellings of the same document: declaration, tags, empty elements. */
static void
mut_misc(struct run *r, struct base *b)
{
	const struct xdoc *d = b->d;
	struct mut m = { .n = 0 };
	size_t root = d->el[0].so;
	int cand[MAX_EL];
	size_t n = 0;

	ed(&m, 0, root, "%s", "");
	emit(r, b, &m, "xml-declaration", "base");
	ed(&m, 0, root, "<?xml version='1.0' encoding='utf-8'?>\n");
	emit(r, b, &m, "xml-declaration", "base");
	ed(&m, 0, root, "\xef\xbb\xbf<?xml version=\"1.0\"?><!-- c -->");
	emit(r, b, &m, "xml-declaration", "base");
	ed(&m, 0, root, "<?xml version=\"1.1\"?>");
	emit(r, b, &m, "xml-declaration", NULL);
	ed(&m, 0, root, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>");
	emit(r, b, &m, "xml-declaration", NULL);
	ed(&m, d->len, 0, "<!-- after -->\n");
	emit(r, b, &m, "comment-outside", "base");
	ed(&m, d->el[0].ee, 0, "<?pi after?>");
	emit(r, b, &m, "pi", NULL);

	/* White space inside tags. */
	for (size_t i = 0; i < d->nel; i++)
		cand[n++] = (int)i;
	n = pick(b, cand, n, SITES);
	for (size_t c = 0; c < n; c++) {
		const struct xel *e = &d->el[cand[c]];

		ed(&m, e->empty ? e->slash : e->se - 1, 0, "\n\t");
		if (!e->empty)
			ed(&m, e->ee - 1, 0, " ");
		emit(r, b, &m, "ws-in-tag", "base");
	}
	/* <a/> and <a></a>. */
	n = 0;
	for (size_t i = 0; i < d->nel; i++)
		if (d->el[i].empty)
			cand[n++] = (int)i;
	n = pick(b, cand, n, SITES);
	for (size_t c = 0; c < n; c++) {
		const struct xel *e = &d->el[cand[c]];
		char q[128];

		qname(e, q, sizeof(q));
		ed(&m, e->slash, 2, "></%s>", q);
		emit(r, b, &m, "empty-element", "base");
	}
}

/* --- bases ------------------------------------------------------------ */

static struct policy *
demo_policy(void)
{
	struct locklist *l = locklist_new();

	NEED(locklist_add(l, "locked.example", NULL) == 0);
	NEED(locklist_add(l, "*.bank.example", NULL) == 0);
	return policy_new(CLASS_ALL, l);
}

/* Policy 0: the base command's own first object is locked. */
static void
base_policy(struct base *b)
{
	struct locklist *l = locklist_new();
	struct epp_msg *m = NULL;
	struct err e = ERR_INIT;

	b->lock[0] = '\0';
	b->rs[0] = b->rs[1] = NULL;
	if (epp_parse_command(unit_xsd(), (const uint8_t *)b->s, b->len, &m,
	    NULL, 0, &e) == 0 && epp_msg_nobjects(m) > 0) {
		enum epp_obj_type t;
		int valid;
		const char *name = epp_msg_object(m, 0, &t, &valid);

		if (valid && (t == EPP_OBJ_DOMAIN || t == EPP_OBJ_HOST) &&
		    locklist_add(l, name, NULL) == 0) {
			snprintf(b->lock, sizeof(b->lock), "%s", name);
			b->lock_host = t == EPP_OBJ_HOST;
		} else if (valid && t == EPP_OBJ_CONTACT) {
			/* A contact is locked as one a locked domain names,
			 * as the registry reports it. */
			char fact[300];
			const char *f = fact;

			snprintf(fact, sizeof(fact), "contact=admin:%s", name);
			NEED(locklist_add(l, "owner.example", NULL) == 0);
			b->rs[0] = regstate_new(0);
			NEED(b->rs[0] != NULL && regstate_put(b->rs[0],
			    RS_DOMAIN, "owner.example", &f, 1, 0, NULL) == 0);
		}
	}
	epp_msg_free(m);
	b->pol[0] = policy_new(CLASS_ALL, l);
	b->pol[1] = demo_policy();
}

static void
base_ref(struct base *b)
{
	for (int pi = 0; pi < 2; pi++) {
		struct pipe_out o;

		b->ref[pi].ok = 0;
		b->ref[pi].canon = NULL;
		NEED(pipeline_judge(unit_xsd(), b->pol[pi], b->rs[pi], CLID,
		    (const uint8_t *)b->s, b->len, &o) == 0);
		if (o.action != PIPE_REPLY && o.judged) {
			b->ref[pi].ok = 1;
			b->ref[pi].dec = o.v.decision;
			b->ref[pi].all = o.v.all_classes;
			b->ref[pi].canon = strdup(o.v.canonical);
		}
		pipe_out_clear(&o);
	}
}

static void
run_base(struct run *r, const char *path, const char *s, size_t len,
    struct xdoc *d)
{
	struct base b;

	memset(&b, 0, sizeof(b));
	b.path = path;
	b.s = s;
	b.len = len;
	b.d = d;
	b.rng = 0x9e3779b97f4a7c15ULL;
	for (const char *p = path; *p != '\0'; p++)
		b.rng = (b.rng ^ (unsigned char)*p) * 0x100000001b3ULL;
	b.rng |= 1;
	ck_assert_msg(scan(d, s, len) == 0, "%s: cannot scan", path);
	base_policy(&b);
	base_ref(&b);
	try_input(r, &b, s, len, "none", "base");
	mut_ws_text(r, &b);
	mut_ws_attr(r, &b);
	mut_elem_in_text(r, &b);
	mut_eppgw(r, &b);
	mut_prefix(r, &b);
	mut_dup(r, &b);
	mut_secdns(r, &b);
	mut_status(r, &b);
	mut_syntax(r, &b);
	mut_misc(r, &b);
	mut_object(r, &b);
	for (int pi = 0; pi < 2; pi++) {
		free(b.ref[pi].canon);
		policy_free(b.pol[pi]);
	}
	for (size_t i = 0; i < b.ngroups; i++)
		free(b.groups[i].canon);
	regstate_free(b.rs[0]);
}

START_TEST(forward_what_was_judged)
{
	char mpath[1024], line[4096], path[1024];
	struct run *r = calloc(1, sizeof(*r));
	struct xdoc *d = malloc(sizeof(*d));
	size_t frames = 0;
	FILE *f;

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(d);
	snprintf(mpath, sizeof(mpath), "%s/MANIFEST.tsv", unit_corpus_dir());
	f = fopen(mpath, "r");
	ck_assert_msg(f != NULL, "cannot open %s", mpath);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *col[3] = { NULL, NULL, NULL }, *p = line, *xml;
		size_t len;

		line[strcspn(line, "\n")] = '\0';
		for (size_t c = 0; c < 3; c++)
			col[c] = strsep(&p, "\t");
		if (col[2] == NULL || (strcmp(col[2], "command") != 0 &&
		    strcmp(col[2], "hello") != 0))
			continue;
		frames++;
		snprintf(path, sizeof(path), "%s/%s", unit_corpus_dir(), col[0]);
		xml = unit_slurp(path, &len);
		run_base(r, col[0], xml, len, d);
		free(xml);
	}
	fclose(f);

	printf("forward: %zu corpus frames; %lu inputs, %lu judgements: "
	    "%lu accepted (%lu held for approval), %lu refused\n"
	    "forward: same-command digests compared %lu (%lu same-command "
	    "variants refused), spelling groups compared %lu\n"
	    "forward: oracle read %lu forwarded domain:updates: %lu with "
	    "name servers, %lu with statuses, %lu unlocks, %lu secDNS, "
	    "%lu unknown extensions, %lu on a locked domain\n", frames,
	    r->inputs, r->judged, r->accepted, r->approvals, r->refused,
	    r->same_checked, r->same_refused, r->group_checked, r->oracle,
	    r->oracle_ns, r->oracle_status, r->oracle_unlock,
	    r->oracle_secdns, r->oracle_unknown, r->oracle_locked);
	for (size_t k = 0; k < r->nkinds; k++)
		printf("forward:   %-22s %6lu tried %6lu accepted\n",
		    r->kinds[k], r->kind_tried[k], r->kind_ok[k]);
	fflush(stdout);

	ck_assert_msg(r->failures == 0, "%lu inputs broke the property (the "
	    "first are printed above)", r->failures);
	/* Not vacuous: the classes of input were really exercised. */
	ck_assert_uint_ge(frames, 200);
	ck_assert_uint_ge(r->inputs, 20000);
	ck_assert_uint_ge(r->accepted, 15000);
	ck_assert_uint_ge(r->approvals, 5000);
	ck_assert_uint_ge(r->same_checked, 10000);
	ck_assert_uint_ge(r->group_checked, 2000);
	ck_assert_uint_ge(r->oracle, 6000);
	ck_assert_uint_ge(r->oracle_ns, 2500);
	ck_assert_uint_ge(r->oracle_status, 2500);
	ck_assert_uint_ge(r->oracle_unlock, 500);
	ck_assert_uint_ge(r->oracle_secdns, 2000);
	ck_assert_uint_ge(r->oracle_locked, 3000);
	ck_assert_uint_ge(r->oracle_unknown, 1000);
	free(d);
	free(r);
}
END_TEST

static Suite *
forward_suite(void)
{
	Suite *s = suite_create("forward");
	TCase *tc = tcase_create("forward");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, forward_what_was_judged);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(forward_suite)
