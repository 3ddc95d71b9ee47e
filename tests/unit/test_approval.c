/*
 * test_approval.c: pending changes, tickets, TOTP limits and durable state
 * (a snapshot and its journal, including what a crash leaves of them), all
 * against an injected clock.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <oath.h>

#include "approval.h"
#include "err.h"
#include "suites.h"

/* Test-only seeds (20 bytes each) and their base32 forms. */
#define KEY_ALICE	"alice-totp-seed-0001"
#define KEY_BOB		"bob-totp-seed-000002"
#define KEY_CAROL	"carol-totp-seed-0003"
#define B32_ALICE	"MFWGSY3FFV2G65DQFVZWKZLEFUYDAMBR"
#define B32_BOB		"MJXWELLUN52HALLTMVSWILJQGAYDAMBS"
#define B32_CAROL	"MNQXE33MFV2G65DQFVZWKZLEFUYDAMBT"

/* 30 * 56666667: a step boundary, plus 5 s. */
#define T0		(1700000010LL + 5)

static struct {
	char		 dir[64];
	char		 state[128];
	char		 journal[160];	/* state + ".journal" */
	char		 seeds[128];
	int64_t		 now;
	struct approval_conf o;
	struct approval_env env;
	struct approvals *a;
	char		 codes[64][8];	/* every code submitted, for grepping */
	size_t		 ncodes;
} fx;

static int64_t
test_clock(void *arg)
{
	return *(int64_t *)arg;
}

static void
write_seeds(void)
{
	static const char text[] =
	    "alice SHA1 6 30 " B32_ALICE "\n"
	    "bob SHA1 6 30 " B32_BOB "\n"
	    "carol SHA1 6 30 " B32_CAROL "\n";
	int fd;

	fd = open(fx.seeds, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	close(fd);
}

static struct approvals *
reopen(void)
{
	struct seeds *s = NULL;
	struct err e = ERR_INIT;

	approvals_free(fx.a);
	fx.a = NULL;
	ck_assert_msg(seeds_load(fx.seeds, &s, &e) == 0, "%s", err_msg(&e));
	ck_assert_msg(approvals_open(&fx.o, &fx.env, s, &fx.a, &e) == 0, "%s",
	    err_msg(&e));
	return fx.a;
}

static void
setup(void)
{
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/eppgw-appr-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.state, sizeof(fx.state), "%s/state.json", fx.dir);
	snprintf(fx.journal, sizeof(fx.journal), "%s.journal", fx.state);
	snprintf(fx.seeds, sizeof(fx.seeds), "%s/seeds", fx.dir);
	write_seeds();
	fx.now = T0;
	fx.o.state_path = fx.state;
	fx.o.window = 1;
	fx.env.clock = test_clock;
	fx.env.clock_arg = &fx.now;
	reopen();
}

static void
teardown(void)
{
	char tmp[160];

	approvals_free(fx.a);
	snprintf(tmp, sizeof(tmp), "%s.tmp", fx.state);
	unlink(tmp);
	unlink(fx.state);
	unlink(fx.journal);
	unlink(fx.seeds);
	rmdir(fx.dir);
}

/* The operator's code for the current step plus off steps. */
static const char *
code(const char *key, int off)
{
	char *out;

	ck_assert_uint_lt(fx.ncodes, 64);
	out = fx.codes[fx.ncodes++];
	ck_assert_int_eq(oath_totp_generate2(key, strlen(key),
	    (time_t)(fx.now + off * 30), 30, 0, 6, 0, out), OATH_OK);
	return out;
}

/* A code that is certainly wrong now (none of the window's steps). */
static const char *
wrong(const char *key)
{
	static char buf[8];
	const char *near[3];

	near[0] = code(key, -1);
	near[1] = code(key, 0);
	near[2] = code(key, 1);
	for (unsigned v = 0;; v++) {
		snprintf(buf, sizeof(buf), "%06u", 123456 + v);
		if (strcmp(buf, near[0]) && strcmp(buf, near[1]) &&
		    strcmp(buf, near[2]))
			return buf;
	}
}

static void
digest(uint8_t d[32], unsigned tag)
{
	memset(d, 0xaa, 32);
	d[3] = (uint8_t)tag;
}

static const char *const tokens[] = {
	APPROVAL_REQUIRED, APPROVAL_TICKET_EXPIRED, APPROVAL_DIGEST_MISMATCH,
	APPROVAL_SELF, APPROVAL_INVALID_OTP, APPROVAL_REPLAYED_OTP,
	APPROVAL_LOCKED_OUT, APPROVAL_RATE_LIMITED, APPROVAL_PAUSED,
	APPROVAL_UNKNOWN, APPROVAL_NOT_PENDING, APPROVAL_NO_SEED,
	APPROVAL_STORAGE, APPROVAL_PENDING_LIMIT,
};

/* Reasons are fixed tokens: never a code or a seed. */
static void
check_reason(const char *reason)
{
	ck_assert_ptr_nonnull(reason);
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		if (strcmp(reason, tokens[i]) == 0)
			return;
	ck_abort_msg("unexpected reason %s", reason);
}

/* require() with the default binding; returns the need. */
static enum approval_need
req(unsigned tag, const char *object, const char *clid,
    const char *requester, char id[13], const char **reason,
    char approver[APPROVAL_NAME_MAX])
{
	enum approval_need need = NEED_APPROVAL;
	uint8_t d[32];

	digest(d, tag);
	ck_assert_int_eq(approvals_require(fx.a, d, "eppgw-change/1\nclid\n",
	    object, clid, requester, &need, id, reason, approver), 0);
	if (need == NEED_APPROVAL) {
		check_reason(*reason);
		ck_assert_uint_eq(strlen(id), 12);
	}
	return need;
}

#define REQ(tag, id, r, ap) \
	req(tag, "locked.example", "registrar1", "alice", id, r, ap)

static void
approve_ok(const char *id, const char *who, const char *otp)
{
	const char *r = "unset";

	ck_assert_msg(approvals_approve(fx.a, id, who, otp, &r) == 0,
	    "approve refused: %s", r);
}

static void
approve_bad(const char *id, const char *who, const char *otp,
    const char *want)
{
	const char *r = NULL;

	ck_assert_int_eq(approvals_approve(fx.a, id, who, otp, &r), -1);
	check_reason(r);
	ck_assert_str_eq(r, want);
}

/* A whole file (NUL-terminated), or NULL if there is none. */
static char *
read_opt(const char *path, size_t *len)
{
	*len = 0;
	if (access(path, F_OK) == -1)
		return NULL;
	return unit_slurp(path, len);
}

/* Write a file afresh; NULL removes it. */
static void
write_file(const char *path, const char *buf, size_t len)
{
	int fd;

	if (buf == NULL) {
		unlink(path);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/*
 * The persisted state as the next start reads it: the state file and its
 * journal copied aside and opened there (which folds the journal into the
 * copy's state file), then that state file, parsed.
 */
static json_t *
state_file(void)
{
	struct approval_conf o = fx.o;
	struct approvals *a = NULL;
	char dir[96], path[128], jpath[160], *buf;
	struct err er = ERR_INIT;
	json_error_t e;
	json_t *root;
	size_t len;

	snprintf(dir, sizeof(dir), "%s/copy", fx.dir);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(jpath, sizeof(jpath), "%s.journal", path);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	buf = read_opt(fx.state, &len);
	write_file(path, buf, len);
	free(buf);
	buf = read_opt(fx.journal, &len);
	write_file(jpath, buf, len);
	free(buf);
	o.state_path = path;
	ck_assert_msg(approvals_open(&o, &fx.env, NULL, &a, &er) == 0, "%s",
	    err_msg(&er));
	approvals_free(a);
	root = json_load_file(path, 0, &e);
	ck_assert_msg(root != NULL, "%s", e.text);
	unlink(path);
	unlink(jpath);
	rmdir(dir);
	return root;
}

static const char *
show_state(const char *id)
{
	static char buf[32];
	json_t *o = approvals_show_json(fx.a, id);

	ck_assert_ptr_nonnull(o);
	snprintf(buf, sizeof(buf), "%s",
	    json_string_value(json_object_get(o, "state")));
	json_decref(o);
	return buf;
}

START_TEST(happy_path)
{
	char id[13], id2[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	ck_assert_int_eq(REQ(1, id, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(r, APPROVAL_REQUIRED);
	ck_assert_str_eq(id, "aaaaaa01aaaa");
	/* The same change again finds the same pending change. */
	ck_assert_int_eq(REQ(1, id2, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(id2, id);
	ck_assert_str_eq(show_state(id), "pending");

	approve_ok(id, "bob", code(KEY_BOB, 0));
	ck_assert_str_eq(show_state(id), "approved");
	approve_bad(id, "carol", code(KEY_CAROL, 0), APPROVAL_NOT_PENDING);

	fx.now += 5;
	ck_assert_int_eq(REQ(1, id2, &r, ap), NEED_NONE);
	ck_assert_str_eq(ap, "bob");
	ck_assert_str_eq(id2, id);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(show_state(id), "consumed");
	approve_bad(id, "carol", code(KEY_CAROL, 0), APPROVAL_NOT_PENDING);

	/* Single use: the next resend needs a new approval. */
	ck_assert_int_eq(REQ(1, id2, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(r, APPROVAL_REQUIRED);
	ck_assert_str_eq(ap, "");
	ck_assert_str_eq(show_state(id), "pending");
}
END_TEST

START_TEST(self_and_unknown)
{
	char id[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	ck_assert_int_eq(req(1, "locked.example", "registrar1", "bob", id, &r,
	    ap), NEED_APPROVAL);
	approve_bad(id, "bob", code(KEY_BOB, 0), APPROVAL_SELF);
	approve_bad(id, "dave", "123456", APPROVAL_NO_SEED);
	approve_bad(id, NULL, "123456", APPROVAL_NO_SEED);
	approve_bad("ffffffffffff", "carol", code(KEY_CAROL, 0),
	    APPROVAL_UNKNOWN);
	approve_bad("not-an-id", "carol", code(KEY_CAROL, 0), APPROVAL_UNKNOWN);
	ck_assert_str_eq(show_state(id), "pending");
	approve_ok(id, "carol", code(KEY_CAROL, 0));

	/* Without seeds nobody can approve. */
	approvals_free(fx.a);
	ck_assert_int_eq(approvals_open(&fx.o, &fx.env, NULL, &fx.a, NULL), 0);
	ck_assert_int_eq(req(2, "locked.example", "registrar1", "alice", id,
	    &r, ap), NEED_APPROVAL);
	approve_bad(id, "bob", "123456", APPROVAL_NO_SEED);
}
END_TEST

START_TEST(wrong_code_counted)
{
	char id[13], ap[APPROVAL_NAME_MAX];
	const char *r;
	json_t *st, *op;

	REQ(1, id, &r, ap);
	approve_bad(id, "bob", wrong(KEY_BOB), APPROVAL_INVALID_OTP);
	approve_bad(id, "bob", "12345", APPROVAL_INVALID_OTP);
	approve_bad(id, "bob", "12a456", APPROVAL_INVALID_OTP);
	st = state_file();
	op = json_array_get(json_object_get(st, "operators"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(op, "name")), "bob");
	ck_assert_int_eq(json_integer_value(json_object_get(op, "failures")),
	    3);
	ck_assert_int_eq(json_array_size(json_object_get(st,
	    "global_failures")), 3);
	json_decref(st);
	ck_assert_str_eq(show_state(id), "pending");
	/* Success resets the consecutive count. */
	fx.now += 30;
	approve_ok(id, "bob", code(KEY_BOB, 0));
	st = state_file();
	op = json_array_get(json_object_get(st, "operators"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(op, "failures")),
	    0);
	json_decref(st);
}
END_TEST

START_TEST(replay)
{
	char id1[13], id2[13], ap[APPROVAL_NAME_MAX];
	const char *r, *c1;

	REQ(1, id1, &r, ap);
	REQ(2, id2, &r, ap);
	/* A code from the next step (prover ahead) is accepted ... */
	c1 = code(KEY_BOB, 1);
	approve_ok(id1, "bob", c1);
	/* ... and then neither it nor the current (older) step again. */
	approve_bad(id2, "bob", c1, APPROVAL_REPLAYED_OTP);
	approve_bad(id2, "bob", code(KEY_BOB, 0), APPROVAL_REPLAYED_OTP);
	/* Another operator is not affected. */
	approve_ok(id2, "carol", code(KEY_CAROL, 0));
	/* A newer step works for bob. */
	REQ(3, id2, &r, ap);
	fx.now += 60;
	approve_ok(id2, "bob", code(KEY_BOB, 0));
}
END_TEST

START_TEST(skew)
{
	char id1[13], id2[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	REQ(1, id1, &r, ap);
	REQ(2, id2, &r, ap);
	approve_bad(id1, "bob", code(KEY_BOB, -2), APPROVAL_INVALID_OTP);
	approve_bad(id1, "bob", code(KEY_BOB, 2), APPROVAL_INVALID_OTP);
	fx.now += 31;
	approve_ok(id1, "bob", code(KEY_BOB, -1));
	approve_ok(id2, "bob", code(KEY_BOB, 1));
}
END_TEST

START_TEST(lockout)
{
	char id[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	REQ(1, id, &r, ap);
	for (int i = 0; i < 5; i++) {
		approve_bad(id, "bob", wrong(KEY_BOB), APPROVAL_INVALID_OTP);
		fx.now += 31;	/* stay under the rate limit */
	}
	approve_bad(id, "bob", code(KEY_BOB, 0), APPROVAL_LOCKED_OUT);
	fx.now += 86400;
	REQ(1, id, &r, ap);
	approve_bad(id, "bob", code(KEY_BOB, 0), APPROVAL_LOCKED_OUT);
	/* Others are not locked. */
	approve_ok(id, "carol", code(KEY_CAROL, 0));
	REQ(2, id, &r, ap);
	ck_assert_int_eq(approvals_reset_operator(fx.a, "bob", &r), 0);
	approve_ok(id, "bob", code(KEY_BOB, 0));
	ck_assert_int_eq(approvals_reset_operator(fx.a, "carol", &r), 0);
	ck_assert_int_eq(approvals_reset_operator(fx.a, "alice", &r), 0);
	ck_assert_int_eq(approvals_reset_operator(fx.a, "mallory", &r), -1);
	check_reason(r);
}
END_TEST

START_TEST(rate_limit)
{
	char id[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	REQ(1, id, &r, ap);
	approve_bad(id, "bob", wrong(KEY_BOB), APPROVAL_INVALID_OTP);
	fx.now += 10;
	approve_bad(id, "bob", wrong(KEY_BOB), APPROVAL_INVALID_OTP);
	fx.now += 10;
	approve_bad(id, "bob", wrong(KEY_BOB), APPROVAL_INVALID_OTP);
	fx.now += 9;
	/* Fourth attempt within 30 s: refused even with the right code. */
	approve_bad(id, "bob", code(KEY_BOB, 0), APPROVAL_RATE_LIMITED);
	approve_ok(id, "carol", code(KEY_CAROL, 0));
	REQ(2, id, &r, ap);
	fx.now += 1;	/* the first attempt is now 30 s old */
	approve_ok(id, "bob", code(KEY_BOB, 0));
}
END_TEST

START_TEST(global_cap)
{
	char id[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	fx.o.global_cap = 4;
	fx.o.global_period = 600;
	reopen();
	REQ(1, id, &r, ap);
	for (int i = 0; i < 2; i++) {
		approve_bad(id, "bob", wrong(KEY_BOB), APPROVAL_INVALID_OTP);
		approve_bad(id, "carol", wrong(KEY_CAROL),
		    APPROVAL_INVALID_OTP);
		fx.now += 31;
	}
	/* Four failures in ten minutes: approvals pause for everyone. */
	approve_bad(id, "bob", code(KEY_BOB, 0), APPROVAL_PAUSED);
	approve_bad(id, "carol", code(KEY_CAROL, 0), APPROVAL_PAUSED);
	/* Nobody is locked out: once the failures age out, it works. */
	fx.now = T0 + 599;
	approve_bad(id, "bob", code(KEY_BOB, 0), APPROVAL_PAUSED);
	fx.now = T0 + 600;
	approve_ok(id, "bob", code(KEY_BOB, 0));
}
END_TEST

START_TEST(ticket_expiry)
{
	struct err e = ERR_INIT;
	char id[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	fx.o.ticket_ttl = 120;
	reopen();
	REQ(1, id, &r, ap);
	approve_ok(id, "bob", code(KEY_BOB, 0));
	fx.now += 120;
	ck_assert_str_eq(show_state(id), "expired");
	ck_assert_int_eq(REQ(1, id, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(r, APPROVAL_TICKET_EXPIRED);
	/* It is pending again and can be approved again. */
	ck_assert_str_eq(show_state(id), "pending");
	ck_assert_int_eq(REQ(1, id, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(r, APPROVAL_REQUIRED);
	approve_ok(id, "carol", code(KEY_CAROL, 0));
	fx.now += 119;
	ck_assert_int_eq(REQ(1, id, &r, ap), NEED_NONE);
	ck_assert_str_eq(ap, "carol");

	/* At most an hour. */
	approvals_free(fx.a);
	fx.a = NULL;
	fx.o.ticket_ttl = 3601;
	ck_assert_int_eq(approvals_open(&fx.o, &fx.env, NULL, &fx.a, &e), -1);
	ck_assert_ptr_null(fx.a);
	ck_assert_int_eq(e.code, ERR_INVALID);
}
END_TEST

START_TEST(pending_expiry)
{
	char id[13], ap[APPROVAL_NAME_MAX];
	const char *r;
	json_t *o;

	fx.o.pending_ttl = 3600;
	reopen();
	REQ(1, id, &r, ap);
	o = approvals_show_json(fx.a, id);
	ck_assert_str_eq(json_string_value(json_object_get(o, "created")),
	    "2023-11-14T22:13:35Z");
	ck_assert_str_eq(json_string_value(json_object_get(o, "expires")),
	    "2023-11-14T23:13:35Z");
	json_decref(o);
	fx.now += 3600;
	ck_assert_str_eq(show_state(id), "expired");
	approve_bad(id, "bob", code(KEY_BOB, 0), APPROVAL_NOT_PENDING);
	/* Sent again: a fresh pending change. */
	ck_assert_int_eq(REQ(1, id, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(r, APPROVAL_REQUIRED);
	ck_assert_str_eq(show_state(id), "pending");
	fx.now += 30;
	approve_ok(id, "bob", code(KEY_BOB, 0));
}
END_TEST

START_TEST(binding)
{
	char id[13], id2[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	REQ(1, id, &r, ap);
	approve_ok(id, "bob", code(KEY_BOB, 0));
	/* Another change by the same requester on the same object. */
	ck_assert_int_eq(REQ(2, id2, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(r, APPROVAL_DIGEST_MISMATCH);
	ck_assert_str_ne(id2, id);
	/* The same digest under another clID, requester or object. */
	ck_assert_int_eq(req(1, "locked.example", "registrar2", "alice", id2,
	    &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(id2, id);
	ck_assert_int_eq(req(1, "locked.example", "registrar1", "carol", id2,
	    &r, ap), NEED_APPROVAL);
	ck_assert_int_eq(req(1, "other.example", "registrar1", "alice", id2,
	    &r, ap), NEED_APPROVAL);
	/* Another requester's unrelated change is not a mismatch. */
	ck_assert_int_eq(req(3, "locked.example", "registrar1", "carol", id2,
	    &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(r, APPROVAL_REQUIRED);
	/* None of that used the ticket. */
	ck_assert_str_eq(show_state(id), "approved");
	ck_assert_int_eq(REQ(1, id2, &r, ap), NEED_NONE);
	ck_assert_str_eq(ap, "bob");
	/* Consumed: no longer a mismatch for the other change. */
	ck_assert_int_eq(REQ(2, id2, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(r, APPROVAL_REQUIRED);
}
END_TEST

START_TEST(deny)
{
	char id[13], id2[13], ap[APPROVAL_NAME_MAX];
	const char *r;
	json_t *o;

	REQ(1, id, &r, ap);
	ck_assert_int_eq(approvals_deny(fx.a, id, "carol", &r), 0);
	ck_assert_str_eq(show_state(id), "denied");
	approve_bad(id, "bob", code(KEY_BOB, 0), APPROVAL_NOT_PENDING);
	ck_assert_int_eq(approvals_deny(fx.a, id, "carol", &r), -1);
	ck_assert_str_eq(r, APPROVAL_NOT_PENDING);
	ck_assert_int_eq(approvals_deny(fx.a, "abcdef", "carol", &r), -1);
	ck_assert_str_eq(r, APPROVAL_UNKNOWN);
	/* Resending does not reopen it. */
	ck_assert_int_eq(REQ(1, id2, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(id2, id);
	ck_assert_str_eq(show_state(id), "denied");
	o = approvals_show_json(fx.a, id);
	ck_assert_str_eq(json_string_value(json_object_get(o, "denied_by")),
	    "carol");
	json_decref(o);

	/* An unused ticket can be withdrawn. */
	REQ(2, id, &r, ap);
	fx.now += 30;
	approve_ok(id, "bob", code(KEY_BOB, 0));
	ck_assert_int_eq(approvals_deny(fx.a, id, "carol", &r), 0);
	ck_assert_int_eq(REQ(2, id2, &r, ap), NEED_APPROVAL);
}
END_TEST

START_TEST(id_prefix)
{
	char id1[13], id2[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	REQ(1, id1, &r, ap);
	ck_assert_int_eq(req(2, "other.example", "registrar1", "alice", id2,
	    &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(id1, "aaaaaa01aaaa");
	ck_assert_str_eq(id2, "aaaaaa02aaaa");
	ck_assert_str_eq(approvals_object(fx.a, id1), "locked.example");
	ck_assert_str_eq(approvals_object(fx.a, "aaaaaa02"), "other.example");
	ck_assert_str_eq(approvals_object(fx.a, "AAAAAA02AAAA"),
	    "other.example");
	ck_assert_ptr_null(approvals_object(fx.a, "aaaaaa"));	/* both */
	ck_assert_ptr_null(approvals_object(fx.a, "aaaaa"));	/* short */
	ck_assert_ptr_null(approvals_object(fx.a, "aaaaaa02aaaaa"));
	ck_assert_ptr_null(approvals_object(fx.a, "aaaaaa0g"));
	ck_assert_ptr_null(approvals_object(fx.a, ""));
	ck_assert_ptr_null(approvals_object(fx.a, NULL));
	ck_assert_ptr_null(approvals_show_json(fx.a, "aaaaaa"));
	approve_bad("aaaaaa", "bob", code(KEY_BOB, 0), APPROVAL_UNKNOWN);
	approve_ok("aaaaaa01", "bob", code(KEY_BOB, 0));
}
END_TEST

START_TEST(survives_reopen)
{
	char id1[13], id2[13], ap[APPROVAL_NAME_MAX];
	const char *r, *c;
	json_t *st;

	REQ(1, id1, &r, ap);
	REQ(2, id2, &r, ap);
	c = code(KEY_BOB, 0);
	approve_ok(id1, "bob", c);
	for (int i = 0; i < 5; i++) {
		approve_bad(id2, "carol", wrong(KEY_CAROL),
		    APPROVAL_INVALID_OTP);
		fx.now += 31;
	}
	fx.now = T0 + 20;	/* bob's code is still in the window */
	reopen();
	approve_bad(id2, "bob", c, APPROVAL_REPLAYED_OTP);
	approve_bad(id2, "carol", code(KEY_CAROL, 0), APPROVAL_LOCKED_OUT);
	ck_assert_str_eq(show_state(id2), "pending");
	ck_assert_int_eq(REQ(1, id1, &r, ap), NEED_NONE);
	ck_assert_str_eq(ap, "bob");
	reopen();
	ck_assert_str_eq(show_state(id1), "consumed");

	/* The file is compact JSON with the documented layout. */
	st = state_file();
	ck_assert_int_eq(json_integer_value(json_object_get(st, "version")),
	    1);
	ck_assert_int_eq(json_array_size(json_object_get(st, "changes")), 2);
	json_decref(st);

	/* Memory only works too. */
	approvals_free(fx.a);
	fx.a = NULL;
	fx.o.state_path = NULL;
	reopen();
	REQ(1, id1, &r, ap);
	approve_ok(id1, "bob", code(KEY_BOB, 0));
}
END_TEST

static void
open_fails(const char *text)
{
	struct approvals *a = NULL;
	struct err e = ERR_INIT;
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(fx.state, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(approvals_open(&fx.o, &fx.env, NULL, &a, &e), -1);
	ck_assert_ptr_null(a);
	ck_assert_msg(strstr(err_msg(&e), "corrupt") != NULL, "%s",
	    err_msg(&e));
	ck_assert_int_eq(e.code, ERR_CORRUPT);
}

START_TEST(corrupt_state)
{
	static const char *const bad[] = {
		"",
		"{not json",
		"[]",
		"{\"version\":2,\"changes\":[],\"operators\":[],"
		    "\"global_failures\":[]}",
		"{\"version\":1,\"changes\":[],\"operators\":[]}",
		"{\"version\":1,\"changes\":[{\"id\":1}],\"operators\":[],"
		    "\"global_failures\":[]}",
		"{\"version\":1,\"changes\":[],\"operators\":[{\"name\":"
		    "\"bob\",\"last_step\":\"x\",\"failures\":0,\"locked\":"
		    "false,\"attempts\":[]}],\"global_failures\":[]}",
		"{\"version\":1,\"changes\":[],\"operators\":[],"
		    "\"global_failures\":[\"now\"]}",
		"{\"version\":1,\"version\":1,\"changes\":[],\"operators\":[],"
		    "\"global_failures\":[]}",
	};
	char id[13], ap[APPROVAL_NAME_MAX], *text;
	const char *r;
	json_t *st, *ch;

	approvals_free(fx.a);
	fx.a = NULL;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		open_fails(bad[i]);

	/* A real file with one field damaged: refused too. */
	unlink(fx.state);
	reopen();
	REQ(1, id, &r, ap);
	approvals_free(fx.a);
	fx.a = NULL;
	st = state_file();
	ch = json_array_get(json_object_get(st, "changes"), 0);
	json_object_set_new(ch, "state", json_string("granted"));
	text = json_dumps(st, JSON_COMPACT);
	open_fails(text);
	free(text);
	json_object_set_new(ch, "state", json_string("pending"));
	json_object_set_new(ch, "id", json_string("bbbbbb01aaaa"));
	text = json_dumps(st, JSON_COMPACT);
	open_fails(text);
	free(text);
	json_decref(st);
}
END_TEST

START_TEST(storage_failure)
{
	char id1[13], id2[13], scratch[13], ap[APPROVAL_NAME_MAX];
	const char *r = NULL;
	enum approval_need need = NEED_NONE;
	uint8_t d[32];

	REQ(1, id1, &r, ap);
	REQ(2, id2, &r, ap);
	approve_ok(id1, "bob", code(KEY_BOB, 0));
	fx.now += 30;

	/* Take the directory away (works as root, unlike chmod). */
	ck_assert_int_eq(unlink(fx.state), 0);
	ck_assert_int_eq(unlink(fx.journal), 0);
	ck_assert_int_eq(unlink(fx.seeds), 0);
	ck_assert_int_eq(rmdir(fx.dir), 0);

	approve_bad(id2, "carol", code(KEY_CAROL, 0), APPROVAL_STORAGE);
	ck_assert_str_eq(show_state(id2), "pending");
	digest(d, 1);
	ck_assert_int_eq(approvals_require(fx.a, d, "x", "locked.example",
	    "registrar1", "alice", &need, scratch, &r, ap), -1);
	ck_assert_int_eq(need, NEED_APPROVAL);
	ck_assert_str_eq(r, APPROVAL_STORAGE);
	ck_assert_str_eq(show_state(id1), "approved");
	digest(d, 9);
	ck_assert_int_eq(approvals_require(fx.a, d, "x", "locked.example",
	    "registrar1", "alice", &need, scratch, &r, ap), -1);
	ck_assert_str_eq(r, APPROVAL_STORAGE);
	ck_assert_ptr_null(approvals_object(fx.a, "aaaaaa09"));
	ck_assert_int_eq(approvals_deny(fx.a, id1, "carol", &r), -1);
	ck_assert_str_eq(r, APPROVAL_STORAGE);

	/* Storage back: nothing was lost or granted on the way. */
	ck_assert_int_eq(mkdir(fx.dir, 0700), 0);
	write_seeds();
	ck_assert_str_eq(show_state(id1), "approved");
	ck_assert_int_eq(REQ(1, id1, &r, ap), NEED_NONE);
	REQ(2, id2, &r, ap);
	approve_ok(id2, "carol", code(KEY_CAROL, 0));
}
END_TEST

static int
file_has(const char *path, const char *needle)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

START_TEST(no_secrets)
{
	char id1[13], id2[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	REQ(1, id1, &r, ap);
	REQ(2, id2, &r, ap);
	approve_bad(id1, "bob", wrong(KEY_BOB), APPROVAL_INVALID_OTP);
	approve_ok(id1, "bob", code(KEY_BOB, 0));
	approve_bad(id2, "bob", code(KEY_BOB, 0), APPROVAL_REPLAYED_OTP);
	approve_ok(id2, "carol", code(KEY_CAROL, -1));
	REQ(1, id1, &r, ap);
	static const char *const secrets[] = {
		KEY_ALICE, KEY_BOB, KEY_CAROL, B32_ALICE, B32_BOB, B32_CAROL,
		"MJXWELLUN52H", "bob-totp",
	};
	/* The journal holds all of it now, the state file after a stop. */
	for (int pass = 0; pass < 2; pass++) {
		const char *path = pass == 0 ? fx.journal : fx.state;

		if (pass == 1)
			reopen();
		ck_assert_int_gt(file_size(path), 100);
		for (size_t i = 0; i < fx.ncodes; i++)
			ck_assert_msg(!file_has(path, fx.codes[i]),
			    "code in %s", path);
		for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]);
		    i++)
			ck_assert_msg(!file_has(path, secrets[i]),
			    "seed in %s", path);
	}
}
END_TEST

static int
drop_bob(void *arg, const char *object, const char *requester,
    const char *approver)
{
	(*(int *)arg)++;
	ck_assert_str_eq(requester, "alice");
	if (strcmp(object, "gone.example") == 0)
		return 0;
	return approver == NULL || strcmp(approver, "bob") != 0;
}

START_TEST(revalidate)
{
	char id1[13], id2[13], id3[13], id4[13], ap[APPROVAL_NAME_MAX];
	const char *r;
	int calls = 0;

	REQ(1, id1, &r, ap);
	REQ(2, id2, &r, ap);
	REQ(3, id3, &r, ap);
	req(4, "gone.example", "registrar1", "alice", id4, &r, ap);
	approve_ok(id1, "bob", code(KEY_BOB, 0));
	approve_ok(id2, "carol", code(KEY_CAROL, 0));
	ck_assert_int_eq(approvals_revalidate(fx.a, drop_bob, &calls), 0);
	ck_assert_int_eq(calls, 4);
	ck_assert_str_eq(show_state(id1), "expired");
	ck_assert_str_eq(show_state(id2), "approved");
	ck_assert_str_eq(show_state(id3), "pending");
	ck_assert_str_eq(show_state(id4), "expired");
	approve_bad(id4, "carol", code(KEY_CAROL, 1), APPROVAL_NOT_PENDING);
	/* Dropped for good: it survives a restart. */
	reopen();
	ck_assert_int_eq(REQ(1, id1, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(r, APPROVAL_TICKET_EXPIRED);
	ck_assert_int_eq(REQ(2, id2, &r, ap), NEED_NONE);
	ck_assert_str_eq(ap, "carol");
}
END_TEST

START_TEST(json_views)
{
	char id1[13], id2[13], ap[APPROVAL_NAME_MAX];
	static const char *const fields[] = {
		"id", "object", "clid", "requester", "created", "expires",
		"state",
	};
	const char *r;
	json_t *list, *o;

	list = approvals_list_json(fx.a);
	ck_assert_uint_eq(json_array_size(list), 0);
	json_decref(list);
	REQ(1, id1, &r, ap);
	REQ(2, id2, &r, ap);
	approve_ok(id1, "bob", code(KEY_BOB, 0));
	list = approvals_list_json(fx.a);
	ck_assert_uint_eq(json_array_size(list), 2);
	for (size_t i = 0; i < 2; i++) {
		o = json_array_get(list, i);
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
			ck_assert_msg(json_is_string(json_object_get(o,
			    fields[f])), "missing %s", fields[f]);
		ck_assert_ptr_null(json_object_get(o, "canonical"));
	}
	o = json_array_get(list, 0);
	ck_assert_str_eq(json_string_value(json_object_get(o, "id")), id1);
	ck_assert_str_eq(json_string_value(json_object_get(o, "state")),
	    "approved");
	ck_assert_str_eq(json_string_value(json_object_get(o, "approver")),
	    "bob");
	ck_assert_str_eq(json_string_value(json_object_get(o, "clid")),
	    "registrar1");
	ck_assert_str_eq(json_string_value(json_object_get(o, "requester")),
	    "alice");
	/* Approved: expires is the ticket's, ten minutes. */
	ck_assert_str_eq(json_string_value(json_object_get(o, "expires")),
	    "2023-11-14T22:23:35Z");
	o = json_array_get(list, 1);
	ck_assert_str_eq(json_string_value(json_object_get(o, "state")),
	    "pending");
	ck_assert_ptr_null(json_object_get(o, "approver"));
	json_decref(list);

	o = approvals_show_json(fx.a, id2);
	ck_assert_str_eq(json_string_value(json_object_get(o, "canonical")),
	    "eppgw-change/1\nclid\n");
	ck_assert_str_eq(json_string_value(json_object_get(o, "object")),
	    "locked.example");
	ck_assert_str_eq(json_string_value(json_object_get(o, "created")),
	    "2023-11-14T22:13:35Z");
	json_decref(o);
	ck_assert_ptr_null(approvals_show_json(fx.a, "ffffffffffff"));
}
END_TEST

/* Pending changes are capped per requester and in all; the text kept
 * with each is bounded too. */
START_TEST(pending_caps)
{
	char id[13], ap[APPROVAL_NAME_MAX], big[20000];
	const char *r;
	enum approval_need need;
	uint8_t d[32];
	json_t *j;

	fx.o.max_pending = 5;
	fx.o.max_pending_requester = 3;
	reopen();
	for (unsigned t = 1; t <= 3; t++)
		ck_assert_int_eq(REQ(t, id, &r, ap), NEED_APPROVAL);
	digest(d, 4);
	ck_assert_int_eq(approvals_require(fx.a, d, "x\n", "locked.example",
	    "registrar1", "alice", &need, id, &r, ap), 0);
	ck_assert_str_eq(r, APPROVAL_PENDING_LIMIT);
	ck_assert_str_eq(id, "");
	ck_assert_ptr_null(approvals_object(fx.a, "aaaaaa04aaaa"));
	/* A change already pending is still named, cap or not. */
	ck_assert_int_eq(REQ(2, id, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(r, APPROVAL_REQUIRED);
	/* Another requester has room, up to the global cap. */
	ck_assert_int_eq(req(5, "locked.example", "registrar1", "bob", id,
	    &r, ap), NEED_APPROVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	digest(d, 6);
	ck_assert_int_eq(approvals_require(fx.a, d, big, "locked.example",
	    "registrar1", "carol", &need, id, &r, ap), 0);
	ck_assert_str_eq(r, APPROVAL_REQUIRED);
	j = approvals_show_json(fx.a, id);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_lt(strlen(json_string_value(json_object_get(j,
	    "canonical"))), 8400);
	json_decref(j);
	digest(d, 7);
	ck_assert_int_eq(approvals_require(fx.a, d, "y\n", "locked.example",
	    "registrar1", "carol", &need, id, &r, ap), 0);
	ck_assert_str_eq(r, APPROVAL_PENDING_LIMIT);
	/* Room again once a change is closed. */
	ck_assert_int_eq(approvals_deny(fx.a, "aaaaaa01aaaa", "bob", &r), 0);
	digest(d, 4);
	ck_assert_int_eq(approvals_require(fx.a, d, "x\n", "locked.example",
	    "registrar1", "alice", &need, id, &r, ap), 0);
	ck_assert_str_eq(r, APPROVAL_REQUIRED);
}
END_TEST

/* --- the journal: crashes, damage, compaction ----------------------------- */

/* Everything the views show of every change, as one string to compare. */
static char *
views(void)
{
	json_t *all = json_array(), *list = approvals_list_json(fx.a), *v;
	char *text;
	size_t i;

	ck_assert_ptr_nonnull(all);
	ck_assert_ptr_nonnull(list);
	json_array_foreach(list, i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));

		ck_assert_int_eq(json_array_append_new(all,
		    approvals_show_json(fx.a, id)), 0);
	}
	ck_assert_int_eq(json_array_append_new(all, list), 0);
	ck_assert_ptr_nonnull(text = json_dumps(all, JSON_COMPACT |
	    JSON_SORT_KEYS));
	json_decref(all);
	return text;
}

/* The views are equal (a short message where they are not). */
static void
same_views(const char *after, const char *before)
{
	size_t i = 0, from;

	while (after[i] != '\0' && after[i] == before[i])
		i++;
	from = i > 20 ? i - 20 : 0;
	ck_assert_msg(after[i] == before[i], "after reopen, at byte %zu: "
	    "\"%.80s\" where it was \"%.80s\"", i, after + from,
	    before + from);
}

/* The files as a crash at this moment would leave them. */
struct image {
	char	*state, *journal;
	size_t	 slen, jlen;
};

static void
image_take(struct image *im)
{
	im->state = read_opt(fx.state, &im->slen);
	im->journal = read_opt(fx.journal, &im->jlen);
	ck_assert_ptr_nonnull(im->state);
}

static void
image_put(const struct image *im)
{
	write_file(fx.state, im->state, im->slen);
	write_file(fx.journal, im->journal, im->jlen);
}

static void
image_free(struct image *im)
{
	free(im->state);
	free(im->journal);
	memset(im, 0, sizeof(*im));
}

/* A copy of im with n bytes of text in its journal at offset at. */
static struct image
image_with(const struct image *im, size_t at, const char *text, size_t n)
{
	struct image out = *im;

	ck_assert_uint_le(at, im->jlen);
	ck_assert_ptr_nonnull(out.journal = malloc(im->jlen + n + 1));
	memcpy(out.journal, im->journal, at);
	memcpy(out.journal + at, text, n);
	memcpy(out.journal + at + n, im->journal + at, im->jlen - at);
	out.jlen = im->jlen + n;
	return out;
}

/* Stop without the clean stop: free, then put the crash image back. */
static void
crash(const struct image *im)
{
	approvals_free(fx.a);
	fx.a = NULL;
	image_put(im);
}

/*
 * Crash now and start again: the state must be what it was, read from the
 * journal (not empty, or nothing is tested), which the start folds into a
 * new state file.
 */
static void
crash_reopen(void)
{
	struct image im;
	char *before = views(), *after;

	image_take(&im);
	ck_assert_uint_gt(im.jlen, 0);
	crash(&im);
	reopen();
	after = views();
	same_views(after, before);
	ck_assert_int_eq(file_size(fx.journal), 0);
	free(before);
	free(after);
	image_free(&im);
}

static int64_t
state_generation(void)
{
	json_error_t e;
	json_t *root = json_load_file(fx.state, 0, &e);
	int64_t gen;

	ck_assert_msg(root != NULL, "%s", e.text);
	gen = json_integer_value(json_object_get(root, "generation"));
	json_decref(root);
	return gen;
}

/* A digest for tags past 255 too. */
static void
digest_n(uint8_t d[32], unsigned tag)
{
	memset(d, 0xbb, 32);
	d[2] = (uint8_t)(tag >> 8);
	d[3] = (uint8_t)tag;
}

/*
 * Every kind of change, for the journal tests: pending changes (1-4), a
 * ticket (1, bob), consumed (1), a ticket (2, carol), denied (3), and bob
 * locked out by five wrong codes on 4.  Returns with the clock 200 s on.
 */
static void
every_change(char id1[13], char id3[13], char id4[13], const char **bobs)
{
	char id2[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	REQ(1, id1, &r, ap);
	REQ(2, id2, &r, ap);
	REQ(3, id3, &r, ap);
	REQ(4, id4, &r, ap);
	*bobs = code(KEY_BOB, 0);
	approve_ok(id1, "bob", *bobs);
	ck_assert_int_eq(REQ(1, id1, &r, ap), NEED_NONE);
	approve_ok(id2, "carol", code(KEY_CAROL, 0));
	ck_assert_int_eq(approvals_deny(fx.a, id3, "carol", &r), 0);
	for (int i = 0; i < 5; i++) {
		fx.now += 40;
		approve_bad(id4, "bob", wrong(KEY_BOB), APPROVAL_INVALID_OTP);
	}
}

/* What every_change() left, as the behaviour shows it. */
static void
check_every_change(const char *id1, const char *id3, const char *id4)
{
	char id[13], ap[APPROVAL_NAME_MAX];
	const char *r;

	ck_assert_str_eq(show_state(id1), "consumed");
	ck_assert_str_eq(show_state(id3), "denied");
	ck_assert_str_eq(show_state(id4), "pending");
	approve_bad(id4, "bob", code(KEY_BOB, 0), APPROVAL_LOCKED_OUT);
	ck_assert_int_eq(REQ(2, id, &r, ap), NEED_NONE);
	ck_assert_str_eq(ap, "carol");
	ck_assert_int_eq(REQ(3, id, &r, ap), NEED_APPROVAL);
	ck_assert_str_eq(show_state(id3), "denied");
}

START_TEST(journal_replay)
{
	char id1[13], id3[13], id4[13], id5[13], id6[13];
	char ap[APPROVAL_NAME_MAX];
	const char *r, *bobs, *c;
	int64_t gen = state_generation();

	/* Without compaction: all of it comes from the journal. */
	every_change(id1, id3, id4, &bobs);
	ck_assert_int_eq(state_generation(), gen);
	crash_reopen();
	check_every_change(id1, id3, id4);

	/* A reset, bob's last step and his recent attempts survive too. */
	ck_assert_int_eq(approvals_reset_operator(fx.a, "bob", &r), 0);
	crash_reopen();
	fx.now += 40;
	REQ(5, id5, &r, ap);
	REQ(6, id6, &r, ap);
	c = code(KEY_BOB, 0);
	approve_ok(id5, "bob", c);
	crash_reopen();
	approve_bad(id6, "bob", c, APPROVAL_REPLAYED_OTP);
	crash_reopen();
	approve_bad(id6, "bob", wrong(KEY_BOB), APPROVAL_INVALID_OTP);
	crash_reopen();
	/* Four codes in 30 s: the three before count. */
	approve_bad(id6, "bob", code(KEY_BOB, 0), APPROVAL_RATE_LIMITED);
	ck_assert_str_eq(show_state(id5), "approved");
	/* Each start after a crash folded the journal in, once. */
	ck_assert_int_eq(state_generation(), gen + 5);
}
END_TEST

/* The same with a compaction (a clean stop) half-way: both files count. */
START_TEST(journal_replay_compacted)
{
	char id1[13], id3[13], id4[13], id5[13], id6[13], ap[APPROVAL_NAME_MAX];
	const char *r, *bobs;
	int64_t gen;

	every_change(id1, id3, id4, &bobs);
	gen = state_generation();
	reopen();
	ck_assert_int_gt(state_generation(), gen);
	ck_assert_int_eq(file_size(fx.journal), 0);
	REQ(5, id5, &r, ap);
	REQ(6, id6, &r, ap);
	fx.now += 60;
	approve_ok(id5, "carol", code(KEY_CAROL, 0));
	ck_assert_int_eq(approvals_deny(fx.a, id6, "alice", &r), 0);
	crash_reopen();
	check_every_change(id1, id3, id4);
	ck_assert_str_eq(show_state(id5), "approved");
	ck_assert_str_eq(show_state(id6), "denied");
}
END_TEST

/* A crash in the middle of a write leaves part of a line: ignored. */
START_TEST(journal_torn)
{
	static const char *const torn[] = {
		"{\"generation\":1,\"op\":\"deny\",\"changes\":[{\"id\":\"aa",
		"{\"generation\":1,\"op\":\"consume\"}",	/* no newline */
		"\n",
		"{\"generation\":1,\"op\":\"re\n",
		"\0\0\0\0",	/* a size the data never caught up with */
	};
	char id1[13], id3[13], id4[13], *before, *after;
	const char *bobs;
	struct image im;

	every_change(id1, id3, id4, &bobs);
	before = views();
	image_take(&im);
	crash(&im);
	for (size_t i = 0; i < sizeof(torn) / sizeof(torn[0]); i++) {
		/* The NULs: strlen() would see none of them. */
		struct image cut = image_with(&im, im.jlen, torn[i],
		    i == 4 ? 4 : strlen(torn[i]));

		image_put(&cut);
		free(cut.journal);
		reopen();
		after = views();
		same_views(after, before);
		free(after);
		/* Cut away: the next line does not follow the torn one. */
		ck_assert_int_eq(file_size(fx.journal), 0);
		approvals_free(fx.a);
		fx.a = NULL;
	}
	image_put(&im);
	reopen();
	check_every_change(id1, id3, id4);
	image_free(&im);
	free(before);
}
END_TEST

/* A damaged line anywhere but at the end refuses the start. */
static void
open_refused(const struct image *im, const char *want)
{
	struct approvals *a = NULL;
	struct err e = ERR_INIT;
	char *s, *j;
	size_t slen, jlen;

	image_put(im);
	ck_assert_int_eq(approvals_open(&fx.o, &fx.env, NULL, &a, &e), -1);
	ck_assert_ptr_null(a);
	ck_assert_msg(strstr(err_msg(&e), want) != NULL, "%s", err_msg(&e));
	/* A refused start changes nothing on disk. */
	s = read_opt(fx.state, &slen);
	j = read_opt(fx.journal, &jlen);
	ck_assert_uint_eq(slen, im->slen);
	ck_assert_uint_eq(jlen, im->jlen);
	ck_assert_int_eq(memcmp(s, im->state, slen), 0);
	if (jlen > 0)
		ck_assert_int_eq(memcmp(j, im->journal, jlen), 0);
	free(s);
	free(j);
}

START_TEST(journal_corrupt)
{
	char id1[13], id3[13], id4[13], line[256], *nl;
	const char *bobs;
	struct image im, bad;
	int64_t gen;
	size_t first;

	every_change(id1, id3, id4, &bobs);
	gen = state_generation();
	image_take(&im);
	crash(&im);
	ck_assert_ptr_nonnull(nl = memchr(im.journal, '\n', im.jlen));
	first = (size_t)(nl - im.journal) + 1;
	ck_assert_uint_lt(first, im.jlen);

	/*
	 * Garbage, or a line that is not a record, before others.  After
	 * "G": a record of the current generation, this on its end.
	 */
	static const char *const middle[] = {
		"{garbage\n", "[]\n", "\n", "G}\n",
		"G,\"op\":\"x\",\"changes\":[{\"id\":1}]}\n",
		"G,\"op\":\"x\",\"drop\":[\"aa\"]}\n",
		"G,\"op\":\"x\",\"operators\":{}}\n",
		"G,\"op\":\"x\",\"global_failures\":1}\n",
		"G,\"op\":\"x\",\"op\":\"y\"}\n",
		"G,\"op\":\"x\",\"extra\":1}\n",
	};
	for (size_t i = 0; i < sizeof(middle) / sizeof(middle[0]); i++) {
		if (middle[i][0] == 'G')
			snprintf(line, sizeof(line), "{\"generation\":%lld%s",
			    (long long)gen, middle[i] + 1);
		else
			snprintf(line, sizeof(line), "%s", middle[i]);
		bad = image_with(&im, first, line, strlen(line));
		open_refused(&bad, ":2: corrupt approval journal");
		free(bad.journal);
	}

	/* A whole last line that is JSON but not a valid record: damage. */
	snprintf(line, sizeof(line), "{\"generation\":%lld,\"op\":\"deny\","
	    "\"changes\":[{\"id\":\"zz\"}]}\n", (long long)gen);
	bad = image_with(&im, im.jlen, line, strlen(line));
	open_refused(&bad, "corrupt approval journal");
	free(bad.journal);

	/* Lines newer than the state file: it is not the one they follow. */
	snprintf(line, sizeof(line), "{\"generation\":%lld,\"op\":\"deny\"}\n",
	    (long long)gen + 1);
	bad = image_with(&im, im.jlen, line, strlen(line));
	open_refused(&bad, "newer than the state file");
	free(bad.journal);

	/* A journal with lines and no state file: refused, not restarted. */
	ck_assert_int_eq(unlink(fx.state), 0);
	{
		struct approvals *a = NULL;
		struct err e = ERR_INIT;

		ck_assert_int_eq(approvals_open(&fx.o, &fx.env, NULL, &a, &e), -1);
		ck_assert_msg(strstr(err_msg(&e), "without its state file") !=
		    NULL, "%s", err_msg(&e));
		ck_assert_int_eq(access(fx.state, F_OK), -1);
	}

	/* Put back whole, it opens with everything in it. */
	image_put(&im);
	reopen();
	check_every_change(id1, id3, id4);
	image_free(&im);
}
END_TEST

/*
 * The journal stays under max(64 KiB, twice the state file): compaction
 * writes a new state file of the next generation, and what it wrote reads
 * back as it was, with or without the journal lines that followed it.
 */
#define NCOMPACT	80

START_TEST(journal_compaction)
{
	char id[13], ap[APPROVAL_NAME_MAX], big[8001], *before, *after;
	enum approval_need need;
	const char *r;
	int64_t gen0, gen;
	uint8_t d[32];
	long jmax = 0;
	json_t *list;

	/*
	 * Texts of 8000 bytes (all kept) make lines of 8 KiB: few calls, few
	 * fdatasyncs, for a slow disk's sake, and still many compactions.
	 */
	gen0 = state_generation();
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (unsigned i = 0; i < NCOMPACT; i++) {
		long j, s, limit;

		digest_n(d, i);
		ck_assert_int_eq(approvals_require(fx.a, d, big,
		    "locked.example", "registrar1", "alice", &need, id, &r,
		    ap), 0);
		ck_assert_str_eq(r, APPROVAL_REQUIRED);
		if (i % 2 == 1)
			ck_assert_int_eq(approvals_deny(fx.a, id, "bob", &r),
			    0);
		j = file_size(fx.journal);
		s = file_size(fx.state);
		limit = 2 * s > 65536 ? 2 * s : 65536;
		ck_assert_msg(j <= limit, "journal %ld bytes, state %ld", j,
		    s);
		if (j > jmax)
			jmax = j;
		if (i == NCOMPACT / 3)
			crash_reopen();
	}
	gen = state_generation();
	/* By size at about 5, 12 and 60 changes; and the start at 26. */
	ck_assert_int_ge(gen - gen0, 4);
	ck_assert_int_gt(jmax, 60000);
	ck_assert_int_gt(file_size(fx.journal), 0);
	crash_reopen();
	ck_assert_int_eq(state_generation(), gen + 1);
	list = approvals_list_json(fx.a);
	ck_assert_uint_eq(json_array_size(list), NCOMPACT);
	json_decref(list);
	/* And the same after a clean stop. */
	before = views();
	reopen();
	after = views();
	same_views(after, before);
	free(before);
	free(after);
}
END_TEST

/*
 * A crash after compaction wrote the new state file and before it emptied
 * the journal: the old lines are in the state file already, and skipped.
 * A temporary file left by a crash before the rename is ignored.
 */
START_TEST(journal_compaction_cut)
{
	char id1[13], id3[13], id4[13], id5[13], ap[APPROVAL_NAME_MAX];
	char tmp[160], *before, *after, *old;
	const char *r, *bobs;
	struct image im, cut;
	size_t oldlen;
	int64_t gen;

	every_change(id1, id3, id4, &bobs);
	gen = state_generation();
	old = read_opt(fx.journal, &oldlen);
	ck_assert_uint_gt(oldlen, 0);
	before = views();
	/* The clean stop compacts: state file of gen + 1, journal empty. */
	approvals_free(fx.a);
	fx.a = NULL;
	ck_assert_int_eq(state_generation(), gen + 1);
	ck_assert_int_eq(file_size(fx.journal), 0);
	/* ...but say emptying it never reached the disk. */
	write_file(fx.journal, old, oldlen);
	snprintf(tmp, sizeof(tmp), "%s.tmp", fx.state);
	write_file(tmp, "{\"version\":1,\"gen", 17);
	reopen();
	after = views();
	same_views(after, before);
	free(after);
	check_every_change(id1, id3, id4);

	/*
	 * Old lines (several state files old, by now) then current ones: the
	 * gateway never appends after old lines, but if they were there,
	 * only the current ones would count.  Replaying the old ones would
	 * turn 2 (consumed since) back into a ticket.
	 */
	free(before);
	reopen();
	REQ(5, id5, &r, ap);
	fx.now += 30;
	approve_ok(id5, "carol", code(KEY_CAROL, 0));
	image_take(&im);
	ck_assert_uint_gt(im.jlen, 0);
	cut = image_with(&im, 0, old, oldlen);
	before = views();
	crash(&cut);
	reopen();
	after = views();
	same_views(after, before);
	ck_assert_str_eq(show_state(id5), "approved");
	free(before);
	free(after);
	free(old);
	free(cut.journal);
	image_free(&im);
}
END_TEST

/* A state file from before the journal (no generation) still loads. */
START_TEST(journal_upgrade)
{
	char id[13], ap[APPROVAL_NAME_MAX], *text;
	const char *r;
	json_t *st;

	REQ(1, id, &r, ap);
	approve_ok(id, "bob", code(KEY_BOB, 0));
	st = state_file();
	approvals_free(fx.a);
	fx.a = NULL;
	ck_assert_int_eq(json_object_del(st, "generation"), 0);
	ck_assert_ptr_nonnull(text = json_dumps(st, JSON_COMPACT));
	json_decref(st);
	write_file(fx.state, text, strlen(text));
	free(text);
	ck_assert_int_eq(unlink(fx.journal), 0);
	reopen();
	ck_assert_int_eq(file_size(fx.journal), 0);
	ck_assert_int_eq(state_generation(), 1);
	ck_assert_str_eq(show_state(id), "approved");
	approve_bad(id, "carol", code(KEY_CAROL, 0), APPROVAL_NOT_PENDING);
	ck_assert_int_eq(REQ(1, id, &r, ap), NEED_NONE);
	crash_reopen();
	ck_assert_str_eq(show_state(id), "consumed");
}
END_TEST

/*
 * Changes purge() forgot are journaled too: a change opened again after
 * its old record was purged comes after those opened in between, on disk
 * as in memory.
 */
START_TEST(journal_purge)
{
	char id1[13], id2[13], id3[13], ap[APPROVAL_NAME_MAX], *first;
	const char *r;
	json_t *list;

	fx.o.pending_ttl = 60;
	reopen();
	REQ(1, id1, &r, ap);
	REQ(3, id3, &r, ap);
	ck_assert_int_eq(approvals_deny(fx.a, id1, "bob", &r), 0);
	fx.now += 121;		/* both closed and past keeping */
	REQ(2, id2, &r, ap);
	REQ(1, id1, &r, ap);
	list = approvals_list_json(fx.a);
	ck_assert_uint_eq(json_array_size(list), 2);
	first = strdup(json_string_value(json_object_get(json_array_get(list,
	    0), "id")));
	json_decref(list);
	ck_assert_str_eq(first, id2);
	free(first);
	/* A later line does not forget it again. */
	ck_assert_int_eq(approvals_deny(fx.a, id2, "bob", &r), 0);
	crash_reopen();
	ck_assert_str_eq(show_state(id1), "pending");
	ck_assert_ptr_null(approvals_object(fx.a, id3));
}
END_TEST

/*
 * When the journal cannot be written, a change is still made durable as a
 * whole state file, as before the journal; once it can be, lines follow.
 */
START_TEST(journal_fallback)
{
	char id1[13], id2[13], id3[13], id4[13], ap[APPROVAL_NAME_MAX];
	const char *r;
	int64_t gen;
	int fd;

	REQ(1, id1, &r, ap);
	gen = state_generation();
	/* A directory where the journal was: it can be neither written nor
	 * emptied. */
	ck_assert_int_eq(unlink(fx.journal), 0);
	ck_assert_int_eq(mkdir(fx.journal, 0700), 0);
	approve_ok(id1, "bob", code(KEY_BOB, 0));
	ck_assert_int_eq(state_generation(), gen + 1);
	REQ(2, id2, &r, ap);
	ck_assert_int_eq(state_generation(), gen + 2);
	ck_assert_int_eq(rmdir(fx.journal), 0);
	/* The next change makes a journal again, with its state file. */
	ck_assert_int_eq(REQ(1, id1, &r, ap), NEED_NONE);
	ck_assert_int_eq(state_generation(), gen + 3);
	ck_assert_int_eq(file_size(fx.journal), 0);
	ck_assert_int_eq(approvals_deny(fx.a, id2, "carol", &r), 0);
	ck_assert_int_eq(state_generation(), gen + 3);
	ck_assert_int_gt(file_size(fx.journal), 0);
	crash_reopen();
	ck_assert_str_eq(show_state(id1), "consumed");
	ck_assert_str_eq(show_state(id2), "denied");

	/*
	 * Bytes behind the last line we wrote (part of a line we could not
	 * cut off again): a line appended after them would be lost in them,
	 * so the change goes into a new state file instead.
	 */
	gen = state_generation();
	REQ(3, id3, &r, ap);
	ck_assert_int_gt(fd = open(fx.journal, O_WRONLY | O_APPEND), -1);
	ck_assert_int_eq(write(fd, "{\"gen", 5), 5);
	close(fd);
	REQ(4, id4, &r, ap);
	ck_assert_int_eq(state_generation(), gen + 1);
	ck_assert_int_eq(approvals_deny(fx.a, id3, "bob", &r), 0);
	crash_reopen();
	ck_assert_str_eq(show_state(id3), "denied");
	ck_assert_str_eq(show_state(id4), "pending");
}
END_TEST

static Suite *
approval_suite(void)
{
	Suite *s = suite_create("approval");
	TCase *tc = tcase_create("approval");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, happy_path);
	tcase_add_test(tc, pending_caps);
	tcase_add_test(tc, self_and_unknown);
	tcase_add_test(tc, wrong_code_counted);
	tcase_add_test(tc, replay);
	tcase_add_test(tc, skew);
	tcase_add_test(tc, lockout);
	tcase_add_test(tc, rate_limit);
	tcase_add_test(tc, global_cap);
	tcase_add_test(tc, ticket_expiry);
	tcase_add_test(tc, pending_expiry);
	tcase_add_test(tc, binding);
	tcase_add_test(tc, deny);
	tcase_add_test(tc, id_prefix);
	tcase_add_test(tc, survives_reopen);
	tcase_add_test(tc, corrupt_state);
	tcase_add_test(tc, storage_failure);
	tcase_add_test(tc, no_secrets);
	tcase_add_test(tc, revalidate);
	tcase_add_test(tc, json_views);
	tcase_add_test(tc, journal_replay);
	tcase_add_test(tc, journal_replay_compacted);
	tcase_add_test(tc, journal_torn);
	tcase_add_test(tc, journal_corrupt);
	tcase_add_test(tc, journal_compaction);
	tcase_add_test(tc, journal_compaction_cut);
	tcase_add_test(tc, journal_upgrade);
	tcase_add_test(tc, journal_purge);
	tcase_add_test(tc, journal_fallback);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_SUITE(approval_suite)
