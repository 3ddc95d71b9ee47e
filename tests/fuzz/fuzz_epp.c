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
#include "pipeline.h"
#include "policy.h"
#include "xsd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct policy *pol;
static struct xsd *schemas;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct locklist *l = locklist_new();

	(void)argc;
	(void)argv;
	epp_init();
	locklist_add(l, "locked.example", NULL);
	locklist_add(l, "*.bank.example", NULL);
	pol = policy_new(CLASS_ALL, l);
	if ((schemas = xsd_new(NULL, 0, NULL)) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pipe_out po, again;
	char *red = NULL;
	size_t rlen;

	if (size > 65536)
		return 0;
	if (pipeline_judge(schemas, pol, NULL, "registrar1", data, size, &po) != 0)
		abort();
	if (po.action == PIPE_REPLY) {
		pipe_out_clear(&po);
		return 0;
	}
	if (epp_msg_redacted(po.msg, &red, &rlen) != 0)
		abort();
	free(red);
	/* What the registry gets, read again: the same command. */
	if (pipeline_judge(schemas, pol, NULL, "registrar1", po.fwd, po.fwd_len,
	    &again) != 0 || again.action != po.action)
		abort();	/* our own output must be read as judged */
	if (po.judged != again.judged || (po.judged &&
	    (po.v.decision != again.v.decision ||
	    po.v.all_classes != again.v.all_classes ||
	    strcmp(po.v.canonical, again.v.canonical) != 0)))
		abort();	/* judged one thing, would forward another */
	/* And the forwarded bytes are a fixed point: nothing left that a
	 * second reading would rewrite. */
	if (again.fwd_len != po.fwd_len ||
	    memcmp(again.fwd, po.fwd, po.fwd_len) != 0)
		abort();
	pipe_out_clear(&again);
	pipe_out_clear(&po);
	return 0;
}
