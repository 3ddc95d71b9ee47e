/*
 * eppgw-audit: the compliance reviewer's tool (see eppgw-audit(1)).
 * Placeholder until the audit log lands.
 */
#include <stdio.h>
#include <string.h>

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "-V") == 0) {
		printf("eppgw-audit %s\n", EPPGW_VERSION);
		return 0;
	}
	fprintf(stderr, "eppgw-audit: not implemented yet\n");
	return 3;
}
