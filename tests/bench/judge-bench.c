/*
 * judge-bench.c: what judging one registrar command costs, per KiB, for
 * ordinary commands and for adversarial frames, and what schema
 * validation adds to the parse.
 *
 *   judge-bench [-c NAME | -p NAME] [-w DIR] [CMD-FILE [SECONDS]]
 *
 * "Judging" is pipeline_judge() NULL,, the step the gateway runs for every
 * registrar command: bounded parse, schema validation, model, judge,
 * serialise.  The reference is CMD-FILE (default tests/bench/cmd-1500.xml):
 * every ratio is a frame's cost per KiB over the reference's, measured in
 * the same round, so the figures are ratios within one run; absolute times
 * move with the machine.  A few real commands of the shared corpus
 * ($EPPGW_CORPUS, default ../shared/corpus/epp-samples) are measured next
 * to it when the corpus is there.
 *
 * The adversarial frames are built here from epp_command_limits: each
 * construct at its limit (the largest input that gets through the cheap
 * checks, which schema validation may still refuse) and one over it, and
 * grown to the largest frame the default max_frame lets through, as long
 * as the pipeline still treats it as it treats the smallest (see build()).
 * An attacker wants the most work per byte, so nothing cheap pads a
 * frame: the construct itself fills it.  Any of them costing more than
 * MAX_RATIO times the reference per KiB is a FAIL, and the exit status
 * is 1.
 *
 * SECONDS (default 2) is the measuring time per case, spent in REPS rounds
 * that visit every case in turn, so drift on a busy machine hits all cases
 * alike; each figure is the median of the rounds.
 *
 * -c NAME measures only the cases whose name contains NAME (and the
 * reference); -p NAME runs only pipeline_judge on the case called NAME
 * for SECONDS (at least once), nothing else, for perf or callgrind; -w DIR
 * also writes every frame there.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "change.h"
#include "epp.h"
#include "err.h"
#include "frame.h"
#include "lock.h"
#include "pipeline.h"
#include "policy.h"
#include "xsd.h"

#define REPS		5
#define MAX_RATIO	5.0
/* eppgw.conf(5): the default [gateway] max_frame, header included. */
#define MAX_FRAME	65536
#define BUDGET		(MAX_FRAME - FRAME_HEADER_LEN)
/* The parser options of epp.c's read_doc(), for the bare parse. */
#define PARSE_OPTS	(XML_PARSE_NONET | XML_PARSE_NOERROR | \
			 XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | \
			 XML_PARSE_COMPACT)

static const struct epp_limits *lim = &epp_command_limits;
static struct xsd *schemas;
static struct policy *pol;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n)) == NULL) {
		perror("judge-bench");
		exit(2);
	}
	return p;
}

/* A growing byte string: the frames are built in these. */
struct buf {
	char	*s;
	size_t	 len, cap;
};

static void
bgrow(struct buf *b, size_t n)
{
	char *t;

	if (b->len + n + 1 <= b->cap)
		return;
	while (b->cap < b->len + n + 1)
		b->cap = b->cap ? b->cap * 2 : 4096;
	if ((t = realloc(b->s, b->cap)) == NULL) {
		perror("judge-bench");
		exit(2);
	}
	b->s = t;
}

static void
bputn(struct buf *b, int c, size_t n)
{
	bgrow(b, n);
	memset(b->s + b->len, c, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void __attribute__((format(printf, 2, 3)))
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		exit(2);
	bgrow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/*
 * The frame most generators share: a domain:update of a domain no lock
 * names (so nothing is held for approval and an accepted frame goes all
 * the way to the serialisation), with the construct in <extension>, where
 * any namespace may appear and the schema is lax.  SKEL_* is what the
 * skeleton itself spends of the limits.
 */
#define SKEL_ELEMENTS	7	/* epp command update domain:update
				   domain:name extension clTRID */
#define SKEL_NS		2	/* epp's default namespace, domain */
#define EXT_DEPTH	4	/* the depth of a child of <extension> */
#define X_NS		"urn:example:adversary-1.0"

static void
open_update(struct buf *b)
{
	bprintf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><update>"
	    "<domain:update xmlns:domain=\"urn:ietf:params:xml:ns:"
	    "domain-1.0\"><domain:name>open.example</domain:name>");
}

static void
close_command(struct buf *b)
{
	bprintf(b, "<clTRID>ADV-0001</clTRID></command></epp>\n");
}

/* The skeleton up to the inside of <extension>, which declares x. */
static void
open_ext(struct buf *b)
{
	open_update(b);
	bprintf(b, "</domain:update></update><extension xmlns:x=\"%s\">",
	    X_NS);
}

static void
close_ext(struct buf *b)
{
	bprintf(b, "</extension>");
	close_command(b);
}

/*
 * The generators.  n is the count the limit bounds; pad (the filler of
 * the construct itself: URI, name, value or text length, attributes per
 * element) is grown until the frame is as large as max_frame allows.
 */
typedef void gen_fn(struct buf *, size_t, size_t);

/*
 * Prefix x redeclared n times inside one unknown extension element, each
 * time with another URI, pad bytes long: nested as deep as the depth limit
 * allows, then as siblings in the innermost element.
 */
static void
gen_nsbomb(struct buf *b, size_t n, size_t pad)
{
	size_t levels = lim->max_depth - EXT_DEPTH, i;

	if (levels > n)
		levels = n;
	open_update(b);
	bprintf(b, "</domain:update></update><extension>");
	for (i = 0; i < n; i++) {
		bprintf(b, "<x:e xmlns:x=\"urn:x:%zu:", i);
		bputn(b, 'u', pad);
		bprintf(b, i < levels ? "\">" : "\"/>");
	}
	for (i = 0; i < levels; i++)
		bprintf(b, "</x:e>");
	close_ext(b);
}

static size_t
n_nsbomb(void)
{
	return lim->max_ns - SKEL_NS;
}

/*
 * One prefix declared once, on <extension>, with a pad-byte URI, and used
 * by n unknown extension elements: each is canonicalised on its own (its
 * change line), and exclusive C14N writes the declaration into each one.
 */
static void
gen_nsreuse(struct buf *b, size_t n, size_t pad)
{
	open_update(b);
	bprintf(b, "</domain:update></update><extension xmlns:x=\"urn:x:");
	bputn(b, 'u', pad);
	bprintf(b, "\">");
	for (size_t i = 0; i < n; i++)
		bprintf(b, "<x:a/>");
	close_ext(b);
}

static size_t
n_elements(void)
{
	return lim->max_elements - SKEL_ELEMENTS;
}

/*
 * n prefixes declared on <command> and <extension> (max_attrs per tag),
 * with pad-byte URIs; the rest of the frame filled with unknown elements,
 * each using max_attrs of them (its own and one per attribute), so each
 * canonical form carries that many declarations.  Most of them when the
 * declarations take half the frame: MAXPAD_NSATTRS.  The shape that stays
 * worst if the length of URIs is capped.
 */
#define MAXPAD_NSATTRS	(BUDGET / 2 / 64)

static void
gen_nsattrs(struct buf *b, size_t n, size_t pad)
{
	size_t per = lim->max_attrs, e = 0;

	bprintf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command");
	for (size_t i = 0; i < n; i++) {
		if (i == per - 1)
			bprintf(b, "><update><domain:update xmlns:domain=\""
			    "urn:ietf:params:xml:ns:domain-1.0\"><domain:name>"
			    "open.example</domain:name></domain:update>"
			    "</update><extension");
		bprintf(b, " xmlns:p%zu=\"urn:p:%zu:", i, i);
		bputn(b, 'u', pad);
		bprintf(b, "\"");
	}
	bprintf(b, ">");
	/* Each element: "<pI:a", an attribute per other prefix, "/>". */
	while (b->len + 8 + per * 10 + 80 < BUDGET &&
	    e < lim->max_elements - SKEL_ELEMENTS) {
		bprintf(b, "<p%zu:a", e % n);
		for (size_t j = 1; j < per && j < n; j++)
			bprintf(b, " p%zu:a=\"\"", (e + j) % n);
		bprintf(b, "/>");
		e++;
	}
	close_ext(b);
}

/*
 * Chains of unknown elements nested down to depth n, as many chains as
 * the element limit allows (the first one n deep, the others at the
 * limit, so the variant over the limit is refused for its depth alone);
 * element names pad bytes long.
 */
static void
gen_deep(struct buf *b, size_t n, size_t pad)
{
	size_t full = lim->max_depth - EXT_DEPTH + 1;
	size_t chains = n_elements() / full, levels;

	open_ext(b);
	for (size_t c = 0; c < chains; c++) {
		levels = c == 0 ? n - EXT_DEPTH + 1 : full;
		for (size_t i = 0; i < levels; i++) {
			bprintf(b, "<x:d");
			bputn(b, 'd', pad);
			bprintf(b, ">");
		}
		for (size_t i = 0; i < levels; i++) {
			bprintf(b, "</x:d");
			bputn(b, 'd', pad);
			bprintf(b, ">");
		}
	}
	close_ext(b);
}

static size_t
n_depth(void)
{
	return lim->max_depth;
}

/* One unknown extension element: its namespace declaration and n
 * attributes with pad-byte values. */
static void
gen_attrs(struct buf *b, size_t n, size_t pad)
{
	open_update(b);
	bprintf(b, "</domain:update></update><extension><x:a xmlns:x=\"%s\"",
	    X_NS);
	for (size_t i = 0; i < n; i++) {
		bprintf(b, " a%zu=\"", i);
		bputn(b, 'v', pad);
		bprintf(b, "\"");
	}
	bprintf(b, "/>");
	close_ext(b);
}

static size_t
n_attrs(void)
{
	return lim->max_attrs - 1;	/* the xmlns:x counts */
}

/*
 * Siblings in known namespaces, validated and modelled one by one: a
 * domain:check of n names (the model takes 100 at most, after the schema
 * has read them all) and a domain:update adding n name servers (the model
 * takes any number).  Names are pad bytes longer than "nNNNN-.example";
 * a label holds 63 bytes: MAXPAD_SIBLINGS.
 */
#define CHECK_SKEL	5	/* epp command check domain:check clTRID */
#define NS_SKEL		8	/* epp command update domain:update
				   domain:name domain:add domain:ns clTRID */
#define MAXPAD_SIBLINGS	57

static void
gen_check(struct buf *b, size_t n, size_t pad)
{
	bprintf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><check>"
	    "<domain:check xmlns:domain=\"urn:ietf:params:xml:ns:"
	    "domain-1.0\">");
	for (size_t i = 0; i < n; i++) {
		bprintf(b, "<domain:name>n%04zu-", i % 10000);
		bputn(b, 'a', pad);
		bprintf(b, ".example</domain:name>");
	}
	bprintf(b, "</domain:check></check>");
	close_command(b);
}

static size_t
n_check(void)
{
	return lim->max_elements - CHECK_SKEL;
}

static void
gen_hostobj(struct buf *b, size_t n, size_t pad)
{
	open_update(b);
	bprintf(b, "<domain:add><domain:ns>");
	for (size_t i = 0; i < n; i++) {
		bprintf(b, "<domain:hostObj>n%04zu-", i % 10000);
		bputn(b, 'a', pad);
		bprintf(b, ".example</domain:hostObj>");
	}
	bprintf(b, "</domain:ns></domain:add></domain:update></update>");
	close_command(b);
}

static size_t
n_hostobj(void)
{
	return lim->max_elements - NS_SKEL;
}

/*
 * An authInfo change whose password is n bytes; the frame filled with
 * pad more bytes of text in unknown extension elements, each holding as
 * much as one text node may.
 */
static void
gen_text(struct buf *b, size_t n, size_t pad)
{
	open_update(b);
	bprintf(b, "<domain:chg><domain:authInfo><domain:pw>");
	bputn(b, 'p', n);
	bprintf(b, "</domain:pw></domain:authInfo></domain:chg>"
	    "</domain:update></update>");
	if (pad > 0) {
		bprintf(b, "<extension xmlns:x=\"%s\">", X_NS);
		while (pad > 0) {
			size_t t = pad < lim->max_text ? pad : lim->max_text;

			bprintf(b, "<x:t>");
			bputn(b, 't', t);
			bprintf(b, "</x:t>");
			pad -= t;
		}
		close_ext(b);
	} else
		close_command(b);
}

static size_t
n_text(void)
{
	return lim->max_text;
}

/* n unknown extension elements, pad attributes each. */
static void
gen_unknown(struct buf *b, size_t n, size_t pad)
{
	open_ext(b);
	for (size_t i = 0; i < n; i++) {
		bprintf(b, "<x:a");
		for (size_t j = 0; j < pad; j++)
			bprintf(b, " a%zu=\"\"", j);
		bprintf(b, "/>");
	}
	close_ext(b);
}

/* The text of one field split into pad text nodes by comments, which the
 * parse removes, leaving the text nodes apart. */
static void
gen_textnodes(struct buf *b, size_t n, size_t pad)
{
	(void)n;
	open_update(b);
	bprintf(b, "<domain:chg><domain:authInfo><domain:pw>");
	for (size_t i = 0; i < pad; i++)
		bprintf(b, "p<!---->");
	bprintf(b, "</domain:pw></domain:authInfo></domain:chg>"
	    "</domain:update></update>");
	close_command(b);
}

/* One comment of pad bytes, inside the command. */
static void
gen_comment(struct buf *b, size_t n, size_t pad)
{
	(void)n;
	open_update(b);
	bprintf(b, "<!--");
	bputn(b, 'c', pad);
	bprintf(b, "--></domain:update></update>");
	close_command(b);
}

/* A password of pad character references. */
static void
gen_charref(struct buf *b, size_t n, size_t pad)
{
	(void)n;
	open_update(b);
	bprintf(b, "<domain:chg><domain:authInfo><domain:pw>");
	for (size_t i = 0; i < pad; i++)
		bprintf(b, "&#%zu;", 65 + i % 26);
	bprintf(b, "</domain:pw></domain:authInfo></domain:chg>"
	    "</domain:update></update>");
	close_command(b);
}

static size_t
n_none(void)
{
	return 0;
}

/*
 * over: the family has a count limit, and a variant one over it.  A
 * family bounded by max_frame alone has none: a longer frame closes the
 * connection before anything parses it.
 */
static const struct family {
	const char	*name;
	const char	*what;
	gen_fn		*gen;
	size_t		(*count)(void);
	int		 over;
	size_t		 maxpad;	/* 0: no filler */
} families[] = {
	{ "ns-bomb", "prefix redeclared max_ns times in an unknown element, "
	    "long URIs", gen_nsbomb, n_nsbomb, 1, BUDGET },
	{ "ns-reuse", "one long-URI prefix on <extension>, used by "
	    "max_elements unknown elements", gen_nsreuse, n_elements, 1,
	    BUDGET },
	{ "ns-reuse-attrs", "max_ns prefixes on <command> and <extension>, "
	    "each unknown element using max_attrs", gen_nsattrs, n_nsbomb, 1,
	    MAXPAD_NSATTRS },
	{ "deep", "unknown elements nested max_depth deep, chains up to "
	    "max_elements, long names", gen_deep, n_depth, 1, 1024 },
	{ "attrs", "max_attrs attributes on one tag, long values", gen_attrs,
	    n_attrs, 1, BUDGET },
	{ "siblings-check", "domain:check of max_elements names",
	    gen_check, n_check, 1, MAXPAD_SIBLINGS },
	{ "siblings-ns", "domain:update adding max_elements name servers",
	    gen_hostobj, n_hostobj, 1, MAXPAD_SIBLINGS },
	{ "text", "max_text-byte password, the frame filled with "
	    "max_text-byte text nodes", gen_text, n_text, 1, BUDGET },
	{ "unknown-ext", "max_elements unknown extension elements, "
	    "no attributes", gen_unknown, n_elements, 1, 0 },
	{ "unknown-ext-attrs", "max_elements unknown extension elements, "
	    "attributes filling the frame", gen_unknown, n_elements, 1,
	    64 },
	{ "comment", "one comment filling the frame", gen_comment, n_none, 0,
	    BUDGET },
	{ "charrefs", "a password of character references filling the frame",
	    gen_charref, n_none, 0, BUDGET },
	{ "text-nodes", "a password split by empty comments into text nodes",
	    gen_textnodes, n_none, 0, BUDGET },
};

/* One measured case. */
struct kase {
	char		 name[48];
	const char	*what;
	char		*xml;
	size_t		 len;
	int		 adversarial, reference;
	char		 outcome[160];
	double		 t[REPS];	/* seconds per frame, by round */
	double		 ratio[REPS];	/* per KiB, to the reference */
};

static int
judge(const char *x, size_t len, struct pipe_out *po)
{
	if (pipeline_judge(schemas, pol, NULL, "registrar1", (const uint8_t *)x,
	    len, po) != 0) {
		fprintf(stderr, "judge-bench: pipeline_judge: out of memory\n");
		exit(2);
	}
	return po->action == PIPE_REPLY ? -1 : 0;
}

static void
run_judge(const struct kase *k)
{
	struct pipe_out po;

	judge(k->xml, k->len, &po);
	pipe_out_clear(&po);
}

/* Whether the pipeline does with b what it did with base: the same action
 * and, for a refusal, the same reason. */
static int
same_outcome(const struct buf *b, const struct pipe_out *base)
{
	struct pipe_out po;
	int same;

	judge(b->s, b->len, &po);
	same = po.action == base->action && (po.why == base->why ||
	    (po.why != NULL && base->why != NULL &&
	    strcmp(po.why, base->why) == 0));
	pipe_out_clear(&po);
	return same;
}

/*
 * The frame for n with the largest pad (up to maxpad) that fits BUDGET
 * and that the pipeline treats as it treats the frame without filler: a
 * pad that trips some other bound (a cap on the length of a namespace
 * name, say) would measure that cheap refusal instead of the construct,
 * so the search stops short of it, at the largest input that still gets
 * as far as the unpadded one.
 */
static struct buf
build(const struct family *f, size_t n)
{
	struct buf b = { NULL, 0, 0 };
	struct pipe_out base;
	size_t lo = 0, hi = f->maxpad, mid;

	f->gen(&b, n, 0);
	if (b.len > BUDGET) {
		fprintf(stderr, "judge-bench: %s: %zu bytes even unpadded\n",
		    f->name, b.len);
		exit(2);
	}
	judge(b.s, b.len, &base);
	/* The size grows with pad; the outcome changes once if at all. */
	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		b.len = 0;
		f->gen(&b, n, mid);
		if (b.len <= BUDGET && same_outcome(&b, &base))
			lo = mid;
		else
			hi = mid - 1;
	}
	pipe_out_clear(&base);
	b.len = 0;
	f->gen(&b, n, lo);
	return b;
}

/* What the pipeline does with it, and a warning when a frame meant to be
 * at a limit hits it, or one meant to be over it does not. */
static void
describe(struct kase *k, int over)
{
	static const char *const bounds[] = {
		"too many elements", "elements nested too deep",
		"too many namespace declarations", "too many attributes",
		"text too long"
	};
	struct pipe_out po;
	int bounded = 0;

	if (judge(k->xml, k->len, &po) == 0) {
		snprintf(k->outcome, sizeof(k->outcome), "accepted (%s)",
		    po.action == PIPE_APPROVAL ? "held for approval" :
		    "forwarded");
	} else {
		snprintf(k->outcome, sizeof(k->outcome), "refused %d %s: %s",
		    po.code, po.token, po.why ? po.why : "?");
		for (size_t i = 0; i < sizeof(bounds) / sizeof(*bounds); i++)
			if (po.why != NULL && strcmp(po.why, bounds[i]) == 0)
				bounded = 1;
	}
	if (k->adversarial && over != bounded)
		fprintf(stderr, "judge-bench: warning: %s: %s: the generator "
		    "misses the limit\n", k->name, k->outcome);
	pipe_out_clear(&po);
}

/* Seconds per call of fn(k), looping for secs (at least one call). */
static double
per_call(void (*fn)(const struct kase *), const struct kase *k, double secs)
{
	double start = now(), t;
	unsigned long n = 0;

	do {
		fn(k);
		n++;
		t = now() - start;
	} while (t < secs);
	return t / (double)n;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(const double *v)
{
	double s[REPS];

	memcpy(s, v, sizeof(s));
	qsort(s, REPS, sizeof(*s), cmp_double);
	return s[REPS / 2];
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Real commands of the shared corpus, besides the reference: a DS-laden
 * create, a 50-name check, a long update and a contact update. */
static const char *const corpus_cmds[] = {
	"nomulus/domain/domain_create_dsdata_9_records.xml",
	"nomulus/host/host_check_50.xml",
	"nomulus/domain/domain_update_max_everything.xml",
	"instant-epp/tests/resources/request/contact/update.xml",
};

static struct kase *cases;
static size_t ncases;

static struct kase *
add_case(const char *name, const char *what, char *xml, size_t len)
{
	struct kase *k;

	if ((k = realloc(cases, (ncases + 1) * sizeof(*k))) == NULL) {
		perror("judge-bench");
		exit(2);
	}
	cases = k;
	k = &cases[ncases++];
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->what = what;
	k->xml = xml;
	k->len = len;
	return k;
}

static void
write_frame(const char *dir, const struct kase *k)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.xml", dir, k->name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(k->xml, 1, k->len, f) != k->len || fclose(f) != 0) {
		fprintf(stderr, "judge-bench: %s: %s\n", path,
		    strerror(errno));
		exit(2);
	}
}

/*
 * Part b: the parse alone (libxml2 with read_doc's options, and the
 * gateway's bounded parse, which is epp_parse_reply's: it refuses a
 * command only after parsing it), schema validation of the parsed tree
 * alone, and the whole pipeline.
 */
static void
run_xmlread(const struct kase *k)
{
	xmlDocPtr d = xmlReadMemory(k->xml, (int)k->len, NULL, NULL,
	    PARSE_OPTS);

	xmlFreeDoc(d);
}

static void
run_secure(const struct kase *k)
{
	struct epp_msg *m;

	if (epp_parse_reply((const uint8_t *)k->xml, k->len, &m, NULL) == 0)
		epp_msg_free(m);
}

static xmlDocPtr valid_doc;

static void
run_validate(const struct kase *k)
{
	struct err e = ERR_INIT;

	(void)k;
	if (xsd_validate(schemas, valid_doc, &e) != 0) {
		fprintf(stderr, "judge-bench: %s: %s\n", k->name, err_msg(&e));
		exit(2);
	}
}

static void
validation_cost(double secs)
{
	double t[4][REPS], tot[4] = { 0, 0, 0, 0 }, m[4];
	size_t n = 0;

	printf("\n(b) schema validation per ordinary command: median us per "
	    "command\n%-34s %6s %8s %8s %9s %9s\n", "command", "bytes",
	    "xmlRead", "secure", "validate", "pipeline");
	for (size_t i = 0; i < ncases; i++) {
		struct kase *k = &cases[i];

		if (k->adversarial)
			continue;
		valid_doc = xmlReadMemory(k->xml, (int)k->len, NULL, NULL,
		    PARSE_OPTS);
		if (valid_doc == NULL)
			exit(2);
		for (int r = 0; r < REPS; r++) {
			t[0][r] = per_call(run_xmlread, k, secs / REPS / 4);
			t[1][r] = per_call(run_secure, k, secs / REPS / 4);
			t[2][r] = per_call(run_validate, k, secs / REPS / 4);
			t[3][r] = per_call(run_judge, k, secs / REPS / 4);
		}
		xmlFreeDoc(valid_doc);
		for (int j = 0; j < 4; j++) {
			m[j] = median(t[j]) * 1e6;
			tot[j] += m[j];
		}
		printf("%-34.34s %6zu %8.1f %8.1f %9.1f %9.1f\n", k->name,
		    k->len, m[0], m[1], m[2], m[3]);
		if (k->reference)
			printf("  %s: schema validation adds %.1f us per "
			    "command = %.2f x the parse (the bounded parse; "
			    "%.2f x a bare libxml2 parse)\n", k->name, m[2],
			    m[2] / m[1], m[2] / m[0]);
		n++;
	}
	if (n > 1)
		printf("  all %zu: schema validation adds %.1f us per command "
		    "= %.2f x the parse (%.2f x a bare libxml2 parse); the "
		    "whole pipeline is %.2f x the parse\n", n, tot[2] / n,
		    tot[2] / tot[1], tot[2] / tot[0], tot[3] / tot[1]);
}

/* Comments out of the tree, as the pipeline removes them before it
 * validates. */
static void
strip_comments(xmlNode *n)
{
	xmlNode *next;

	for (; n != NULL; n = next) {
		next = n->next;
		if (n->type == XML_COMMENT_NODE) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		} else if (n->type == XML_ELEMENT_NODE)
			strip_comments(n->children);
	}
}

/*
 * Part c: for each frame over MAX_RATIO, the bounded parse alone, schema
 * validation alone (of the tree that parse builds) and, as the rest of
 * the pipeline, the model, judge and serialisation.  For finding where a
 * regression sits; perf or callgrind on -p NAME says which function.
 */
static void
breakdown(double secs)
{
	double t[3][REPS], m[3];
	int header = 0;

	for (size_t i = 0; i < ncases; i++) {
		struct kase *k = &cases[i];

		if (!k->adversarial || median(k->ratio) <= MAX_RATIO)
			continue;
		if (!header++)
			printf("\n(c) where the time goes in each FAIL: median "
			    "us per frame\n%-34s %9s %9s %9s %9s\n", "frame",
			    "parse", "validate", "the rest", "pipeline");
		valid_doc = xmlReadMemory(k->xml, (int)k->len, NULL, NULL,
		    PARSE_OPTS);
		if (valid_doc == NULL)
			continue;
		strip_comments(xmlDocGetRootElement(valid_doc));
		if (xsd_validate(schemas, valid_doc, NULL) != 0) {
			/* Refused by the schema: the rest never runs. */
			xmlFreeDoc(valid_doc);
			continue;
		}
		for (int r = 0; r < REPS; r++) {
			t[0][r] = per_call(run_secure, k, secs / REPS / 2);
			t[1][r] = per_call(run_validate, k, secs / REPS / 2);
		}
		xmlFreeDoc(valid_doc);
		m[0] = median(t[0]) * 1e6;
		m[1] = median(t[1]) * 1e6;
		m[2] = median(k->t) * 1e6;
		printf("%-34.34s %9.1f %9.1f %9.1f %9.1f\n", k->name, m[0],
		    m[1], m[2] - m[0] - m[1], m[2]);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: judge-bench [-c NAME | -p NAME] [-w DIR] "
	    "[CMD-FILE [SECONDS]]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char *path = "tests/bench/cmd-1500.xml", *only = NULL;
	const char *dir = NULL, *profile = NULL, *corpus;
	struct locklist *l = locklist_new();
	struct kase *k;
	double secs = 2.0, worst = 0;
	char *x, *at;
	struct err e = ERR_INIT;
	size_t len;
	int ch, fails = 0;

	while ((ch = getopt(argc, argv, "c:p:w:")) != -1) {
		switch (ch) {
		case 'c':
			only = optarg;
			break;
		case 'p':
			only = profile = optarg;
			break;
		case 'w':
			dir = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 2)
		usage();
	if (argc > 0)
		path = argv[0];
	if (argc > 1 && (secs = atof(argv[1])) <= 0)
		usage();

	epp_init();
	if ((schemas = xsd_new(NULL, 0, &e)) == NULL) {
		fprintf(stderr, "judge-bench: %s\n", err_msg(&e));
		return 2;
	}
	/* A realistic lock list: 10,000 names and a pattern. */
	for (int i = 0; i < 10000; i++) {
		char name[64];

		snprintf(name, sizeof(name), "locked%d.example", i);
		locklist_add(l, name, NULL);
	}
	locklist_add(l, "*.bank.example", NULL);
	pol = policy_new(CLASS_ALL, l);

	if ((x = slurp(path, &len)) == NULL) {
		fprintf(stderr, "judge-bench: %s: %s\n", path,
		    strerror(errno));
		return 2;
	}
	if ((at = strstr(x, "@@CLTRID@@")) != NULL)
		memcpy(at, "BENCH-0001", 10);
	k = add_case(strrchr(path, '/') ? strrchr(path, '/') + 1 : path,
	    "reference", x, len);
	k->reference = 1;
	if ((corpus = getenv("EPPGW_CORPUS")) == NULL)
		corpus = "../shared/corpus";
	for (size_t i = 0; only == NULL &&
	    i < sizeof(corpus_cmds) / sizeof(*corpus_cmds); i++) {
		char p[1024];

		snprintf(p, sizeof(p), "%s/epp-samples/%s", corpus,
		    corpus_cmds[i]);
		if ((x = slurp(p, &len)) != NULL)
			add_case(strrchr(p, '/') + 1, "corpus", x, len);
	}
	for (size_t i = 0; i < sizeof(families) / sizeof(*families); i++) {
		const struct family *f = &families[i];

		for (int over = 0; over <= f->over; over++) {
			char name[48];
			struct buf b;

			snprintf(name, sizeof(name), "%s%s", f->name,
			    over ? "+1" : "");
			if (only != NULL && (profile != NULL ?
			    strcmp(name, profile) != 0 :
			    strstr(name, only) == NULL))
				continue;
			b = build(f, f->count() + (size_t)over);
			k = add_case(name, f->what, b.s, b.len);
			k->adversarial = 1;
			describe(k, over);
		}
	}
	for (size_t i = 0; i < ncases; i++) {
		if (!cases[i].adversarial)
			describe(&cases[i], 0);
		if (dir != NULL)
			write_frame(dir, &cases[i]);
	}

	if (profile != NULL) {
		for (size_t i = 0; i < ncases; i++) {
			if (strcmp(cases[i].name, profile) != 0)
				continue;
			printf("%s: %zu bytes, %.1f us per frame\n",
			    profile, cases[i].len,
			    per_call(run_judge, &cases[i], secs) * 1e6);
			return 0;
		}
		fprintf(stderr, "judge-bench: no case %s\n", profile);
		return 2;
	}

	printf("judge-bench: pipeline_judge (bounded parse, schema "
	    "validation, model, judge,\nserialise) on one core; %d rounds of "
	    "%.2gs per case, medians.  Figures are ratios\nwithin one run: "
	    "absolute times move with this machine, ratios much less.\n"
	    "Adversarial frames: at each limit of epp_command_limits "
	    "(elements %zu, attrs %zu,\nns %zu, depth %zu, text %zu) and one "
	    "over it (+1), grown to max_frame %d;\nPASS: under %.0fx the "
	    "reference's cost per KiB.\n", REPS, secs / REPS,
	    lim->max_elements, lim->max_attrs, lim->max_ns, lim->max_depth,
	    lim->max_text, MAX_FRAME, MAX_RATIO);
	fflush(stdout);

	for (int r = 0; r < REPS; r++) {
		double ref;

		for (size_t i = 0; i < ncases; i++)
			cases[i].t[r] = per_call(run_judge, &cases[i],
			    secs / REPS);
		ref = cases[0].t[r] / ((double)cases[0].len / 1024);
		for (size_t i = 0; i < ncases; i++)
			cases[i].ratio[r] = cases[i].t[r] /
			    ((double)cases[i].len / 1024) / ref;
	}

	printf("\n(a) %-32s %6s %10s %9s %8s\n", "frame", "bytes",
	    "us/frame", "us/KiB", "x ref");
	for (size_t i = 0; i < ncases; i++) {
		double t, ratio;
		const char *verdict = "";

		k = &cases[i];
		t = median(k->t);
		ratio = median(k->ratio);
		if (k->adversarial) {
			verdict = ratio > MAX_RATIO ? "FAIL" : "PASS";
			if (ratio > MAX_RATIO)
				fails++;
			if (ratio > worst)
				worst = ratio;
		}
		printf("%-36.36s %6zu %10.1f %9.2f %8.2f %s\n", k->name,
		    k->len, t * 1e6, t * 1e6 / ((double)k->len / 1024), ratio,
		    verdict);
		printf("    %s\n", k->outcome);
		if (k->adversarial)
			printf("    (%s)\n", k->what);
	}
	printf("worst adversarial frame: %.2f x the reference per KiB: %s "
	    "(limit %.0fx, %d over)\n", worst, fails ? "FAIL" : "PASS",
	    MAX_RATIO, fails);

	validation_cost(secs);
	breakdown(secs);

	for (size_t i = 0; i < ncases; i++)
		free(cases[i].xml);
	free(cases);
	policy_free(pol);
	xsd_free(schemas);
	return fails ? 1 : 0;
}
