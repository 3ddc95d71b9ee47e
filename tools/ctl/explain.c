/*
 * explain.c: `eppgwctl explain [-f CONF] [--clid CLID] FILE...`
 *
 * Dry-runs EPP command files against the gateway's policy, with no gateway
 * running: one JSON object per file on stdout (command, objects, changes,
 * decision, reason, change_id; see DESIGN.md section 5).  A file that is
 * not acceptable EPP gets decision "reject" with the parser's reason.  Exit
 * 0 when every file was judged, 1 when one could not be read, 2 on usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "change.h"
#include "config.h"
#include "ctl.h"
#include "epp.h"
#include "err.h"
#include "frame.h"
#include "lock.h"
#include "pipeline.h"
#include "policy.h"
#include "xsd.h"

#ifndef EPPGW_CONF
#define EPPGW_CONF "/etc/eppgw/eppgw.conf"
#endif

/* A command file: less than a default frame. */
static int
slurp(const char *path, uint8_t **out, size_t *len)
{
	FILE *f;
	struct buf b;
	size_t r;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	buf_init(&b, FRAME_DEFAULT_MAX);
	do {
		if (buf_reserve(&b, 1) == -1) {
			buf_free(&b);
			fclose(f);
			errno = EFBIG;
			return -1;
		}
		r = fread(buf_end(&b), 1, buf_room(&b), f);
		buf_wrote(&b, r);
	} while (r > 0);
	fclose(f);
	/* There is room for the NUL: no copy, no failure. */
	*out = (uint8_t *)buf_detach(&b, len);
	return 0;
}

static json_t *
judge_file(const struct xsd *x, const struct policy *pol, const char *clid,
    const char *path, const uint8_t *xml, size_t len)
{
	struct pipe_out po;
	const struct epp_msg *m;
	const struct verdict *v = &po.v;
	json_t *o, *objs, *lines;

	if (pipeline_judge(x, pol, NULL, clid, xml, len, &po) != 0)
		return NULL;
	m = po.msg;
	if (!po.judged) {
		char reason[256];

		if (po.action != PIPE_REPLY) {
			/* hello: nothing to judge, forwarded as is */
			pipe_out_clear(&po);
			return json_pack("{s:s, s:s, s:[], s:[], s:s, s:s, "
			    "s:n}", "file", path, "command", "hello",
			    "objects", "changes", "decision",
			    decision_name(DECISION_ALLOW), "reason",
			    "nothing to judge", "change_id");
		}
		snprintf(reason, sizeof(reason), "syntax: %s", po.why);
		pipe_out_clear(&po);
		return json_pack("{s:s, s:n, s:[], s:[], s:s, s:s, s:n}",
		    "file", path, "command", "objects", "changes", "decision",
		    decision_name(DECISION_REJECT), "reason", reason,
		    "change_id");
	}
	objs = json_array();
	for (size_t i = 0; i < epp_msg_nobjects(m); i++)
		json_array_append_new(objs,
		    json_string(epp_msg_object(m, i, NULL, NULL)));
	lines = json_array();
	for (size_t i = 0; i < epp_msg_nchanges(m); i++)
		json_array_append_new(lines,
		    json_string(epp_msg_change(m, i, NULL)));
	o = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:o}",
	    "file", path, "command", epp_msg_name(m), "objects", objs,
	    "changes", change_classes_json(v->decision == DECISION_APPROVAL ?
	    v->classes : v->all_classes),
	    "decision", decision_name(v->decision), "reason", v->reason,
	    "change_id", v->change_id, "lines", lines);
	pipe_out_clear(&po);
	return o;
}

int
ctl_explain(const struct ctl_opts *o, int argc, char *argv[])
{
	struct config_errors errs = { NULL, 0, 0 };
	struct config *cfg = NULL;
	struct policy *empty = NULL;
	struct xsd *own_xsd = NULL;
	const struct policy *pol;
	const struct xsd *x;
	struct err e = ERR_INIT;
	const char *conf = o->conf, *clid = "";
	int i, rc = 0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "--clid") == 0 && i + 1 < argc)
			clid = argv[++i];
		else {
			fprintf(stderr, "usage: eppgwctl explain [-f CONF] "
			    "[--clid CLID] FILE...\n");
			return 2;
		}
	}
	if (i == argc) {
		fprintf(stderr, "eppgwctl: explain: no files\n");
		return 2;
	}
	if (conf == NULL && access(EPPGW_CONF, R_OK) == 0)
		conf = EPPGW_CONF;
	if (conf != NULL) {
		if ((cfg = config_load(conf, &errs)) == NULL) {
			fprintf(stderr, "eppgwctl: %s\n", errs.n ?
			    errs.msgs[0] : "cannot load the configuration");
			config_errors_clear(&errs);
			return 1;
		}
		config_policy_key_from_audit(cfg);
		pol = cfg->policy;
		x = cfg->xsd;
	} else {
		fprintf(stderr, "eppgwctl: no configuration: judging against "
		    "an empty lock list\n");
		if ((empty = policy_new(CLASS_ALL, locklist_new())) == NULL)
			return 1;
		pol = empty;
		if ((own_xsd = xsd_new(NULL, 0, &e)) == NULL) {
			fprintf(stderr, "eppgwctl: %s\n", err_msg(&e));
			policy_free(empty);
			return 1;
		}
		x = own_xsd;
	}
	for (; i < argc; i++) {
		uint8_t *xml;
		size_t len;
		json_t *res;

		if (slurp(argv[i], &xml, &len) != 0) {
			fprintf(stderr, "eppgwctl: %s: %s\n", argv[i],
			    strerror(errno));
			rc = 1;
			continue;
		}
		res = judge_file(x, pol, clid, argv[i], xml, len);
		free(xml);
		if (res == NULL) {
			fprintf(stderr, "eppgwctl: %s: out of memory\n",
			    argv[i]);
			rc = 1;
			continue;
		}
		json_dumpf(res, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(res);
	}
	config_unref(cfg);
	policy_free(empty);
	xsd_free(own_xsd);
	return rc;
}
