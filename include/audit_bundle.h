/*
 * audit_bundle.h: evidence bundles (eppgw-audit export and verify-bundle,
 * tools/audit/bundle.c) and the proof machinery they share with prove
 * (tools/audit/prove.c).  See docs/audit-log.md, "Evidence bundles".
 */
#ifndef EPPGW_AUDIT_BUNDLE_H
#define EPPGW_AUDIT_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "audit_verify.h"
#include "checkpoint.h"
#include "merkle.h"

#define BUNDLE_FORMAT		"eppgw-evidence/1"
#define BUNDLE_FORMAT_PREFIX	"eppgw-evidence/"
#define BUNDLE_MAX_SIZE		(64UL * 1024 * 1024)

/*
 * Verify the whole log under dir with v (may be NULL), keeping the leaves
 * (and the line of want_seq, -1: none).  Exits as verify would on
 * tampering (1) or when it cannot (3), and 1 when no checkpoint covers
 * anything.  Free r with audit_verify_free.
 */
void audit_verified_tree(const char *dir, const struct note_verifier *v,
    int64_t want_seq, struct audit_verify_result *r);

/*
 * The inclusion proof of seq in the tree of the latest checkpoint of a
 * result of audit_verified_tree.  Exits 1, saying why, when seq is not
 * covered by it yet.
 */
void audit_inclusion(const struct audit_verify_result *r, uint64_t seq,
    merkle_hash proof[MERKLE_MAX_PROOF], size_t *plen);

/* eppgw-audit export and verify-bundle (tools/audit/bundle.c). */
int audit_cmd_export(int argc, char *argv[]);
int audit_cmd_verify_bundle(int argc, char *argv[]);

#endif
