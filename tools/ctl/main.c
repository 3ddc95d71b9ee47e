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
	    "the policy\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct ctl_opts o = { NULL, NULL, NULL };
	int i;

	log_init("eppgwctl", LOG_TO_STDERR, LOG_LVL_WARN);
	epp_init();
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-V") == 0) {
			printf("eppgwctl %s\n", EPPGW_VERSION);
			return 0;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "-f") == 0)
			o.conf = argv[++i];
		else if (strcmp(argv[i], "--cert") == 0)
			o.cert = argv[++i];
		else if (strcmp(argv[i], "--key") == 0)
			o.key = argv[++i];
		else
			usage();
	}
	if (i >= argc)
		usage();
	if (strcmp(argv[i], "explain") == 0)
		return ctl_explain(&o, argc - i, argv + i);
	fprintf(stderr, "eppgwctl: unknown command \"%s\"\n", argv[i]);
	usage();
	return 2;
}
