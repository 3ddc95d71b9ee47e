/*
 * eppgwctl: the operators' and approvers' tool (see eppgwctl(8)).
 * Commands arrive with the approvals and policy work; for now it only
 * identifies itself.
 */
#include <stdio.h>
#include <string.h>

int
main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "-V") == 0) {
		printf("eppgwctl %s\n", EPPGW_VERSION);
		return 0;
	}
	fprintf(stderr, "eppgwctl: no commands yet\n");
	return 2;
}
