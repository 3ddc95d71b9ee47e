/*
 * fuzz_epp.c: libFuzzer harness for parse + judge + serialise + redact.
 *
 * Whatever the input, the gateway must not crash or leak, and what it
 * would forward must parse again to the same decision and change id: the
 * registry must never receive something the gateway judged differently.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "epp.h"
#include "lock.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct policy *pol;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct locklist *l = locklist_new();
	const char *why;

	(void)argc;
	(void)argv;
	epp_init();
	locklist_add(l, "locked.example", &why);
	locklist_add(l, "*.bank.example", &why);
	pol = policy_new(CLASS_ALL, l);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct epp_msg *m = NULL, *again = NULL;
	struct verdict v, v2;
	const char *why;
	uint8_t *out = NULL;
	char *red = NULL;
	size_t len, rlen;

	if (size > 65536 || epp_parse(data, size, &m, &why) != 0)
		return 0;
	if (policy_judge(pol, m, "registrar1", &v) != 0)
		abort();
	if (epp_msg_redacted(m, &red, &rlen) != 0)
		abort();
	free(red);
	if (epp_msg_serialise(m, &out, &len) != 0)
		abort();
	if (epp_parse(out, len, &again, &why) != 0)
		abort();	/* our own output must be acceptable */
	if (policy_judge(pol, again, "registrar1", &v2) != 0)
		abort();
	if (v.decision != v2.decision ||
	    strcmp(v.change_id, v2.change_id) != 0)
		abort();	/* judged one thing, would forward another */
	verdict_clear(&v);
	verdict_clear(&v2);
	epp_msg_free(again);
	epp_msg_free(m);
	free(out);
	return 0;
}
