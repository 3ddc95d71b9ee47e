/*
 * audit_int.h: the inside of the audit log writer, shared by audit.c (the
 * running writer) and audit_break.c (eppgw-audit break, which writes a
 * break segment offline with the same serialiser and signer).  Nothing
 * else includes it: everyone else has audit.h.
 */
#ifndef EPPGW_AUDIT_INT_H
#define EPPGW_AUDIT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "audit.h"
#include "buf.h"
#include "audit_verify.h"
#include "checkpoint.h"
#include "merkle.h"
#include "strmap.h"

#ifndef EPPGW_VERSION
#define EPPGW_VERSION "unknown"
#endif

/* The members the writer puts into every record, in key order. */
enum audit_wmember { AW_PREV, AW_REQ, AW_SEQ, AW_T, AW_TS, AW_V, AW_N };

struct audit_entry {
	struct audit_entry	*next;
	char			*body;		/* canonical fields (jcanon.h) */
	size_t			 len;
	/* Where each writer's member goes: the offset in body of the first
	 * member whose key sorts after it, or of the closing brace. */
	size_t			 at[AW_N];
	char			 t[33];
	audit_cb		 cb;
	void			*arg;
	enum audit_ref_op	 ref_op;
	char			*ref_key;
	int			 status;
	uint64_t		 seq;
	merkle_hash		 leaf;
};

/*
 * The writer's output, one batch: what arrived during one fdatasync, each
 * record at most one IPC message (IPC_MAX_DEFAULT).  Far above any batch;
 * it only stops a runaway from taking all memory.
 */
#define AUDIT_OUT_MAX	((size_t)1 << 30)

struct audit {
	struct event_base	*base;
	struct event		*ev;
	int			 efd;
	/* Submitted during this loop turn, the loop's alone: handed to the
	 * writer together, with one lock and one wake-up (push_local). */
	struct audit_entry	*lhead, **ltail;
	struct event		*ev_submit;
	pthread_t		 thr;
	int			 thr_started;

	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct audit_entry	*qhead, **qtail;	/* submitted */
	struct audit_entry	*dhead, **dtail;	/* durable or failed */
	int			 stop;
	int			 cp_wanted;
	atomic_int		 failed;
	int			 failure_told;	/* the loop's */
	void			(*on_failure)(void *);
	void			*on_failure_arg;
	/* Group-commit figures for metrics, under mu. */
	uint64_t		 st_records;
	uint64_t		 st_syncs;
	uint64_t		 st_sync_us;
	uint64_t		 st_sync_us_max;
	uint64_t		 st_batch_max;

	/* Owned by the writer thread once it runs. */
	struct audit_conf	 o;	/* audit_open's, defaults applied */
	struct audit_env	 env;	/* likewise */
	char			*dir;
	int			 dirfd, cpdirfd, fd;
	int			 pubfd;		/* publish_dir, or -1 */
	char			 pubname[CHECKPOINT_MAX_NAME + 8];
	char			 segname[AUDIT_SEG_NAMELEN + 1];
	uint64_t		 seg_bytes;
	/* The segment file is zero-filled up to seg_alloc ahead of the
	 * data (preallocate()); seg_noalloc once that failed for it. */
	uint64_t		 seg_alloc;
	int			 seg_noalloc;
	int64_t			 seg_day;
	EVP_MD_CTX		*seg_sha;	/* the whole segment file */
	EVP_PKEY		*key;
	/* Keyed hashes of what may hold a secret (see audit_frame_mac):
	 * set before the writer thread starts, read-only after. */
	uint8_t			 mac_key[32];
	char			 mac_key_id[17];
	char			 origin[CHECKPOINT_MAX_NAME];
	char			 log_id[65];
	uint64_t		 next_seq;
	char			 prev_hex[2 * MERKLE_HASH_LEN + 1];
	struct merkle_range	 range;
	struct buf		 out;
	/* audit_submit_ref: key -> the kept record's seq (uint64_t *),
	 * the writer thread's alone; its size for readers (no lock on the
	 * writer's path). */
	struct strmap		*refs;
	atomic_size_t		 nrefs;
	uint64_t		 sealed;	/* records covered, own cp included */
	uint64_t		 file_size;	/* ...by the checkpoint file */
	/* The leaf hashes of the current segment's lines, for its index;
	 * seg_leaves_lost when memory ran out (then it gets none). */
	merkle_hash		*seg_leaves;
	uint64_t		 seg_nleaves, seg_first;
	size_t			 seg_capleaves;
	int			 seg_leaves_lost;
	pthread_t		 ithr;		/* writes the last index */
	int			 ithr_started;
	struct timespec		 last_file_cp;	/* its last replacement */
	struct timespec		 last_cp;
	char			*pending_note;	/* to write to DIR/checkpoint */
};

/*
 * How much of a verifier's finding (audit_verify_result.error, up to 768
 * bytes) fits in an error message (err.h, ERR_MSG_MAX) whose other text
 * takes rest bytes: a message with text after the finding cuts the
 * finding ("%.*s"), never that text, which says what happens now.
 */
int audit_finding_room(int rest);
/* Every byte through the write hook (audit_env.write_fn); -1 on error. */
int audit_write_all(struct audit *a, int fd, const char *p, size_t len);
/* The common fields of the next record (v, seq, ts, prev). */
int audit_stamp_record(struct audit *a, json_t *fields);
/* Serialise a stamped record onto a->out and advance the chain. */
int audit_emit_record(struct audit *a, json_t *fields, uint64_t *seqp,
    merkle_hash leaf);
/* Sign the current tree; the note (malloc'd) or NULL. */
char *audit_sign_now(struct audit *a, struct checkpoint *cp);
/* write(2), the default write hook. */
ssize_t audit_default_write(int fd, const void *p, size_t len);
/* A record of type t written by the log itself (fields stolen). */
int audit_append_type(struct audit *a, const char *t, json_t *fields);
/* A signed checkpoint record over everything so far. */
int audit_append_checkpoint(struct audit *a);
/* Free a writer that is not running (or has stopped). */
void audit_free(struct audit *a);

#endif
