/*
 * regsim.h: shared declarations of eppgw-regsim, the EPP registry simulator
 * used by the end-to-end tests and the demo (DESIGN.md section 7).
 *
 * Layout:
 *   main.c     command line, signals, start and teardown
 *   server.c   TLS listener, sessions, RFC 5734 framing (libevent)
 *   epp.c      request parsing, dispatch, greeting, login/logout/poll,
 *              response building, the journal
 *   domain.c   domain commands (RFC 5731, RFC 5910 secDNS, RFC 3915 RGP)
 *   host.c     host commands (RFC 5732)
 *   contact.c  contact commands (RFC 5733)
 *   store.c    the in-memory registry
 *   seed.c     the seed file reader
 *   xml.c      namespace-aware libxml2 helpers
 *
 * Every non-static symbol carries the regsim_ prefix because the binary
 * links with libeppgw.a.
 */
#ifndef REGSIM_H
#define REGSIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <libxml/tree.h>

#define REGSIM_NS_EPP	  "urn:ietf:params:xml:ns:epp-1.0"
#define REGSIM_NS_DOMAIN  "urn:ietf:params:xml:ns:domain-1.0"
#define REGSIM_NS_HOST	  "urn:ietf:params:xml:ns:host-1.0"
#define REGSIM_NS_CONTACT "urn:ietf:params:xml:ns:contact-1.0"
#define REGSIM_NS_SECDNS  "urn:ietf:params:xml:ns:secDNS-1.1"
#define REGSIM_NS_SECDNS0 "urn:ietf:params:xml:ns:secDNS-1.0"
#define REGSIM_NS_RGP	  "urn:ietf:params:xml:ns:rgp-1.0"

#define REGSIM_MAX_NS	13	/* name servers per domain */
#define REGSIM_MAX_DS	8	/* DS or key records per domain */

/* ---- small containers (store.c) ---- */

/* A growable array of owned strings. */
struct regsim_strv {
	char	**v;
	size_t	  n;
};

int	regsim_strv_add(struct regsim_strv *sv, const char *s);
int	regsim_strv_find(const struct regsim_strv *sv, const char *s);
void	regsim_strv_del(struct regsim_strv *sv, size_t i);
int	regsim_strv_copy(struct regsim_strv *dst, const struct regsim_strv *src);
void	regsim_strv_free(struct regsim_strv *sv);

/* ---- registry objects (store.c) ---- */

struct regsim_registrar {
	char	*id;
	char	*pw;
};

struct regsim_ds {
	unsigned	 keytag, alg, dtype;
	char		*digest;	/* upper-case hex */
};

struct regsim_key {
	unsigned	 flags, proto, alg;
	char		*pubkey;	/* base64 as sent */
};

/* The last transfer of a domain or contact (RFC 5730 section 2.9.3.4). */
struct regsim_xfer {
	char	*trstatus;	/* NULL: never transferred */
	char	*reid, *acid;
	time_t	 redate, acdate;
	time_t	 exdate;	/* domains: expiry if approved, 0 if none */
	int	 years;		/* domains: period requested */
};

struct regsim_domain {
	char			*name, *roid;
	char			*clid, *crid, *upid;
	char			*registrant, *authpw;
	struct regsim_strv	 status;	/* without "ok": derived */
	struct regsim_strv	 ns;		/* hostObj names */
	struct regsim_strv	 admin, tech, billing;
	time_t			 crdate, update, exdate, trdate;
	struct regsim_ds	*ds;
	size_t			 nds;
	struct regsim_key	*keys;
	size_t			 nkeys;
	unsigned long		 maxsiglife;	/* 0: not set */
	int			 redemption;	/* deleted, restorable (RGP) */
	struct regsim_xfer	 xfer;
};

struct regsim_addr {
	int	 v6;
	char	*ip;
};

struct regsim_host {
	char			*name, *roid;
	char			*clid, *crid, *upid;
	struct regsim_strv	 status;
	struct regsim_addr	*addr;
	size_t			 naddr;
	time_t			 crdate, update, trdate;
};

struct regsim_contact {
	char			*id, *roid;
	char			*clid, *crid, *upid;
	char			*authpw;
	struct regsim_strv	 status;
	char			*pitype;	/* "int" or "loc" */
	char			*name, *org, *street[3], *city, *sp, *pc, *cc;
	char			*voice, *fax, *email;
	time_t			 crdate, update, trdate;
	struct regsim_xfer	 xfer;
};

struct regsim_store {
	struct regsim_registrar	**rar;
	size_t			  nrar;
	struct regsim_strv	  tlds;
	struct regsim_domain	**dom;
	size_t			  ndom;
	struct regsim_host	**host;
	size_t			  nhost;
	struct regsim_contact	**con;
	size_t			  ncon;
	unsigned long		  roid_seq;
};

struct regsim_store *regsim_store_new(void);
void	regsim_store_free(struct regsim_store *st);

struct regsim_registrar *regsim_registrar_find(struct regsim_store *st,
	    const char *id);
int	regsim_registrar_add(struct regsim_store *st, const char *id,
	    const char *pw);

struct regsim_domain *regsim_domain_find(struct regsim_store *st,
	    const char *name);
struct regsim_domain *regsim_domain_new(struct regsim_store *st,
	    const char *name, const char *clid, time_t now);
struct regsim_domain *regsim_domain_clone(const struct regsim_domain *d);
void	regsim_domain_free(struct regsim_domain *d);
int	regsim_domain_insert(struct regsim_store *st, struct regsim_domain *d);
void	regsim_domain_replace(struct regsim_store *st,
	    struct regsim_domain *old, struct regsim_domain *repl);
void	regsim_domain_remove(struct regsim_store *st, struct regsim_domain *d);
int	regsim_domain_add_ds(struct regsim_domain *d, unsigned keytag,
	    unsigned alg, unsigned dtype, const char *digest);
int	regsim_domain_add_key(struct regsim_domain *d, unsigned flags,
	    unsigned proto, unsigned alg, const char *pubkey);
const char *regsim_domain_tld(const struct regsim_store *st,
	    const char *name);

struct regsim_host *regsim_host_find(struct regsim_store *st,
	    const char *name);
struct regsim_host *regsim_host_new(struct regsim_store *st,
	    const char *name, const char *clid, time_t now);
void	regsim_host_free(struct regsim_host *h);
int	regsim_host_insert(struct regsim_store *st, struct regsim_host *h);
void	regsim_host_remove(struct regsim_store *st, struct regsim_host *h);
int	regsim_host_add_addr(struct regsim_host *h, const char *ip, int v6);
struct regsim_domain *regsim_host_superordinate(struct regsim_store *st,
	    const char *hostname);
int	regsim_host_linked(const struct regsim_store *st, const char *name);
size_t	regsim_domain_subordinates(const struct regsim_store *st,
	    const char *domain, struct regsim_strv *out);

struct regsim_contact *regsim_contact_find(struct regsim_store *st,
	    const char *id);
struct regsim_contact *regsim_contact_new(struct regsim_store *st,
	    const char *id, const char *clid, time_t now);
void	regsim_contact_free(struct regsim_contact *c);
int	regsim_contact_insert(struct regsim_store *st,
	    struct regsim_contact *c);
void	regsim_contact_remove(struct regsim_store *st,
	    struct regsim_contact *c);
int	regsim_contact_linked(const struct regsim_store *st, const char *id);

void	regsim_xfer_clear(struct regsim_xfer *x);
int	regsim_xfer_copy(struct regsim_xfer *dst, const struct regsim_xfer *src);

/* Replace *dst with a copy of src (NULL allowed); -1 on allocation failure. */
int	regsim_setstr(char **dst, const char *src);

/* ---- seed file (seed.c) ---- */

/* Load FILE into st; errors go to stderr as file:line: message.  0 or -1. */
int	regsim_seed_load(struct regsim_store *st, const char *path, time_t now);

/* ---- names and values (store.c) ---- */

int	regsim_valid_hostname(const char *name);
void	regsim_lower(char *s);
int	regsim_valid_ip(const char *ip, int v6);

/* ---- xml helpers (xml.c) ---- */

int	regsim_xml_is(const xmlNode *n, const char *ns, const char *name);
xmlNodePtr regsim_xml_first(xmlNodePtr parent);
xmlNodePtr regsim_xml_next(xmlNodePtr n);
xmlNodePtr regsim_xml_child(xmlNodePtr parent, const char *ns,
	    const char *name);
/* Trimmed text of n as a malloc'd string ("" for an empty node), NULL on OOM. */
char	*regsim_xml_text(const xmlNode *n);
/* Trimmed text of the first child ns:name, or NULL when absent. */
char	*regsim_xml_child_text(xmlNodePtr parent, const char *ns,
	    const char *name);
/* Attribute (no namespace) as a malloc'd string or NULL. */
char	*regsim_xml_attr(const xmlNode *n, const char *name);
int	regsim_xml_bool(const char *s, int *out);
int	regsim_xml_uint(const char *s, unsigned long max, unsigned long *out);
xmlNodePtr regsim_xml_add(xmlNodePtr parent, const char *name,
	    const char *text);
void	regsim_xml_time(char *buf, size_t len, time_t t);

/* ---- command context (epp.c) ---- */

/* What a session negotiated at login. */
struct regsim_sess {
	char	*clid;		/* NULL until login */
	int	 secdns;	/* 0 none, 10 secDNS-1.0, 11 secDNS-1.1 */
	int	 rgp;
};

/* The engine: the registry, the journal and the svTRID counter. */
struct regsim_epp {
	struct regsim_store	*st;
	struct xsd		*xsd;		/* the RFC schemas (xsd.h) */
	FILE			*journal;
	unsigned long		 svtrid_seq;
	int			 debug;
};

/* One command being executed. */
struct regsim_cmd {
	struct regsim_epp	*epp;
	struct regsim_store	*st;
	struct regsim_sess	*sess;
	const char		*clid;
	xmlNodePtr		 obj;		/* e.g. <domain:info> */
	xmlNodePtr		 ext;		/* <extension> or NULL */
	time_t			 now;
	/* the reply */
	int			 code;
	char			 reason[256];
	xmlDocPtr		 rdoc;
	xmlNodePtr		 resdata;	/* created on demand */
	xmlNodePtr		 rext;		/* created on demand */
	char			 objs[512];	/* for the journal */
};

enum regsim_action {
	REGSIM_REPLY,		/* send the reply */
	REGSIM_REPLY_CLOSE,	/* send the reply, then close */
	REGSIM_DROP		/* close at once without a reply */
};

int	regsim_fail(struct regsim_cmd *c, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
xmlNodePtr regsim_resdata(struct regsim_cmd *c, const char *ns,
	    const char *prefix, const char *name);
xmlNodePtr regsim_resext(struct regsim_cmd *c, const char *ns,
	    const char *prefix, const char *name);
void	regsim_note_obj(struct regsim_cmd *c, const char *name);
int	regsim_is_client_status(const char *s);

/* Handlers: verb is the EPP command element's local name. */
void	regsim_domain_cmd(struct regsim_cmd *c, const char *verb);
void	regsim_host_cmd(struct regsim_cmd *c, const char *verb);
void	regsim_contact_cmd(struct regsim_cmd *c, const char *verb);

/* Build the greeting; *out is xmlFree'd by the caller. */
int	regsim_epp_greeting(struct regsim_epp *e, xmlChar **out, int *outlen);
/* Handle one frame; *out (xmlFree'd by the caller) is set unless DROP. */
enum regsim_action regsim_epp_frame(struct regsim_epp *e,
	    struct regsim_sess *s, const char *xml, size_t len,
	    xmlChar **out, int *outlen);
void	regsim_sess_clear(struct regsim_sess *s);

#endif
