/*
 * eppgwctl: the operators' and approvers' tool (see eppgwctl(8)).
 *
 *   eppgwctl [-f CONF] [--cert FILE --key FILE] COMMAND [ARGS]
 *
 * Exit 0 on success; non-zero with a one-line reason otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ctl.h"
#include "epp.h"
#include "log.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: eppgwctl [-f CONF] [--cert FILE --key FILE] COMMAND ...\n"
	    "commands:\n"
	    "  explain [--clid CLID] FILE...  judge EPP command files against "
	    "the policy\n"
	    "  pending                        list pending changes\n"
	    "  show ID                        a change and its canonical text\n"
	    "  approve ID [--otp CODE]        approve (code from stdin if "
	    "absent)\n"
	    "  deny ID                        close a change\n"
	    "  reset-operator NAME            clear an operator's lockout\n"
	    "  locks | lock NAME | unlock NAME  the lock list\n"
	    "  state NAME                     a locked object as the registry "
	    "holds it\n"
	    "  drift                          registry changes no command "
	    "explains\n"
	    "options: --url URL --ca FILE (instead of -f), --json\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct ctl_opts o = { NULL, NULL, NULL, NULL, NULL, 0 };
	int i;

	log_init("eppgwctl", LOG_TO_STDERR, LOG_LVL_WARN);
	epp_init();
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-V") == 0) {
			printf("eppgwctl %s\n", EPPGW_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--json") == 0) {
			o.json = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "-f") == 0)
			o.conf = argv[++i];
		else if (strcmp(argv[i], "--cert") == 0)
			o.cert = argv[++i];
		else if (strcmp(argv[i], "--key") == 0)
			o.key = argv[++i];
		else if (strcmp(argv[i], "--url") == 0)
			o.url = argv[++i];
		else if (strcmp(argv[i], "--ca") == 0)
			o.ca = argv[++i];
		else
			usage();
	}
	if (i >= argc)
		usage();
	if (strcmp(argv[i], "explain") == 0)
		return ctl_explain(&o, argc - i, argv + i);
	if (strcmp(argv[i], "pending") == 0 || strcmp(argv[i], "show") == 0 ||
	    strcmp(argv[i], "approve") == 0 || strcmp(argv[i], "deny") == 0 ||
	    strcmp(argv[i], "reset-operator") == 0 ||
	    strcmp(argv[i], "locks") == 0 || strcmp(argv[i], "lock") == 0 ||
	    strcmp(argv[i], "unlock") == 0) {
		int rc;

		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = ctl_admin(&o, argc - i, argv + i);
		curl_global_cleanup();
		return rc;
	}
	if (strcmp(argv[i], "state") == 0 || strcmp(argv[i], "drift") == 0) {
		int rc;

		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = ctl_truth(&o, argc - i, argv + i);
		curl_global_cleanup();
		return rc;
	}
	fprintf(stderr, "eppgwctl: unknown command \"%s\"\n", argv[i]);
	usage();
	return 2;
}
