/*
 * audit_verify.h: verification of an audit log directory, shared by the
 * writer (at start), eppgw-audit and the tests.
 *
 * The directory holds segments seg-<first seq, 20 digits>.jsonl, the
 * latest signed checkpoint in "checkpoint", and the checkpoints signed at
 * each rotation and shutdown in checkpoints/<size>.cp.  See
 * docs/audit-log.md for the record layout.
 */
#ifndef EPPGW_AUDIT_VERIFY_H
#define EPPGW_AUDIT_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "checkpoint.h"
#include "merkle.h"

struct err;

/* eppgw-audit verify exit codes (DESIGN.md section 5). */
enum audit_verdict {
	AUDIT_VALID = 0,	/* valid and sealed */
	AUDIT_TAMPERED = 1,	/* altered, removed, reordered, rolled back */
	AUDIT_WARNINGS = 2,	/* valid, but: unsealed tail, recovery, ... */
	AUDIT_CANNOT = 3	/* usage, I/O, unknown version */
};

#define AUDIT_GENESIS_PREFIX	"eppgw-audit genesis\n"
#define AUDIT_SEG_PREFIX	"seg-"
#define AUDIT_SEG_SUFFIX	".jsonl"
#define AUDIT_SEG_NAMELEN	(4 + 20 + 6)
#define AUDIT_CHECKPOINT_FILE	"checkpoint"
#define AUDIT_CHECKPOINT_DIR	"checkpoints"
#define AUDIT_UNAUTH_DIR	"unauthenticated"	/* set aside at start */
#define AUDIT_MAX_WARNINGS	8

/*
 * A break record's signature: Ed25519 over AUDIT_BREAK_CONTEXT followed by
 * the record's canonical bytes without its "sig" member (compact, sorted
 * keys, as written).  Its seq may jump past the unverifiable records; the
 * Merkle tree gives each skipped seq the filler leaf
 * SHA-256(0x00), the leaf hash of an empty line, so tree index = seq.
 */
#define AUDIT_BREAK_CONTEXT	"eppgw-audit break v1\n"
#define AUDIT_BREAK_MAX_GAP	(1ULL << 32)

struct audit_verify_opts {
	const struct note_verifier *vkey;	/* NULL: signatures unchecked */
	const char * const *known;		/* known checkpoint files */
	size_t		 nknown;
	int		 require_sealed;	/* an unsealed tail is tampering */
	int		 keep_leaves;		/* fill leaves[] (proofs) */
	int64_t		 want_seq;		/* copy this line (-1: none) */
};

struct audit_verify_result {
	enum audit_verdict verdict;
	char		 error[768];	/* the first failure, located */
	size_t		 nwarnings;
	char		 warnings[AUDIT_MAX_WARNINGS][256];

	uint64_t	 records;	/* good lines, = the next seq */
	uint64_t	 segments;
	uint64_t	 bytes;
	uint64_t	 checkpoints;	/* valid checkpoint records */
	uint64_t	 recoveries;
	uint64_t	 breaks;	/* break records that cover a failure */
	uint64_t	 sealed;	/* size of the latest valid checkpoint */
	char		 origin[CHECKPOINT_MAX_NAME];
	char		 log_id[65];
	char		*latest_note;	/* the latest checkpoint note (malloc) */

	/* State the writer resumes from. */
	merkle_hash	 last_leaf;
	struct merkle_range range;
	char		 last_segment[AUDIT_SEG_NAMELEN + 1];
	merkle_hash	 last_segment_sha256;
	int		 last_closed;	/* the last segment ends with close */
	int		 torn;		/* its tail is torn */
	uint64_t	 good_bytes, torn_bytes;
	merkle_hash	 torn_sha256;
	uint64_t	*unanswered;	/* cmd seqs without an rsp */
	size_t		 nunanswered;
	/* Sessions opened and not closed since the last recovery or clean
	 * close, in ascending order: at a crash, the last reply of each and
	 * its last read-only command may not have been written. */
	uint64_t	*open_sessions;
	size_t		 nopen_sessions;
	/*
	 * With a vkey: the records a verified signature covers (a checkpoint
	 * record, its own line included, or a checkpoint file), and where
	 * they end: the segment and the offset after the last of them.
	 * What follows is not authenticated (a crash's torn tail, or lines
	 * someone added without the key).
	 */
	uint64_t	 auth_records;
	char		 auth_segment[AUDIT_SEG_NAMELEN + 1];
	uint64_t	 auth_offset;
	/* Records and bytes the writer set aside as unauthenticated, from
	 * the recovery records. */
	uint64_t	 set_aside_records, set_aside_bytes;

	/* Where the first failure was found, for eppgw-audit break:
	 * the index of its segment in name order, -1 before any segment
	 * (checkpoint files), the number of segments after the last one. */
	long		 fail_index;
	char		 fail_segment[AUDIT_SEG_NAMELEN + 1];
	uint64_t	 fail_line;

	merkle_hash	*leaves;	/* keep_leaves: records hashes */
	char		*want_line;	/* want_seq: that line, no newline */
	size_t		 want_len;
};

/*
 * Verify the whole log under dir.  Always fills r (free it with
 * audit_verify_free) and returns r->verdict.
 */
enum audit_verdict audit_verify_dir(const char *dir,
    const struct audit_verify_opts *o, struct audit_verify_result *r);
void audit_verify_free(struct audit_verify_result *r);

/* The genesis prev of a log: SHA-256(prefix || origin || "\n" || log_id). */
void audit_genesis(const char *origin, const char *log_id, merkle_hash out);

/*
 * The bytes a break record's signature covers (malloc'd; NULL if rec is
 * not an object or memory ran out).
 */
char *audit_break_signed_bytes(json_t *rec, size_t *len);

/* Sorted segment file names under dir (malloc'd array of malloc'd names). */
int audit_list_segments(const char *dir, char ***names, size_t *n);
/*
 * A segment's content: its n bytes without trailing NULs.  The writer
 * zero-fills the open segment ahead of its data (so that fdatasync has no
 * metadata to write); those zeros are space, not content, and no line
 * holds a NUL.
 */
size_t audit_content_len(const void *p, size_t n);
void audit_free_segments(char **names, size_t n);

/*
 * The leaf index of a sealed segment, seg-<first seq>.leaves beside it
 * (docs/audit-log.md, "Leaf index"): written by the writer when it seals
 * a segment (rotation, shutdown), read by eppgw-audit prove so that a
 * proof need not hash every line of every segment.  A cache, never
 * evidence: no signature covers it, and a proof made with it is given
 * only when the root of all leaves is a signed checkpoint's root.
 *
 * Layout: the 16-byte magic, then three unsigned 64-bit big-endian
 * integers (the segment's first seq, its record count, its size in
 * bytes), then count 32-byte RFC 6962 leaf hashes in seq order.
 */
#define AUDIT_LEAVES_SUFFIX	".leaves"
#define AUDIT_LEAVES_MAGIC	"eppgw-leaves v1\n"	/* 16 bytes */
#define AUDIT_LEAVES_MAGIC_LEN	16
#define AUDIT_LEAVES_HDR	(AUDIT_LEAVES_MAGIC_LEN + 3 * 8)
#define AUDIT_LEAVES_NAMELEN	(4 + 20 + 7)

/* The index name of a segment name (seg-N.jsonl -> seg-N.leaves); -1 if
 * segname is not a segment name. */
int audit_leaves_name(const char *segname, char out[AUDIT_LEAVES_NAMELEN + 1]);

/* The header of an index (AUDIT_LEAVES_HDR bytes into out). */
void audit_leaves_header(uint8_t out[AUDIT_LEAVES_HDR], uint64_t first,
    uint64_t count, uint64_t seg_bytes);

/*
 * Read the index of segment segname under dir, which must say it starts
 * at first and describes a segment of seg_bytes bytes: 0 with its leaves
 * (*leaves, malloc'd) and *count; 1 when there is no index; -1 with e
 * (err.h) when it cannot be used: ERR_CORRUPT for an index that does not
 * fit (e.g. a size that is not the segment's), ERR_SYSTEM, ERR_NOMEM or
 * ERR_INVALID (not a segment name) otherwise.  The leaves themselves are
 * not checked: that is the caller's root check.
 */
int audit_leaves_read(const char *dir, const char *segname, uint64_t first,
    uint64_t seg_bytes, merkle_hash **leaves, uint64_t *count,
    struct err *e);

/*
 * Top-level fields of one compact, key-sorted JSON line, located without
 * allocation.  -1 if the line is not such an object.
 */
struct audit_span {
	const char	*p;
	size_t		 n;
};
struct audit_line {
	struct audit_span prev, seq, t, ts, v, req, sess, event;
};
int audit_scan_line(const char *s, size_t n, struct audit_line *f);

#endif
