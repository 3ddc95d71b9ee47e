/*
 * approval-bench: what one new pending change costs with N changes already
 * pending (issue #11), with the approval state on DIR's file system.  A
 * measurement, not a test: it prints figures and fails only if a call
 * does.
 *
 *   approval-bench [-d DIR] [-r REPS] [N ...]
 *
 * (defaults: DIR ".", REPS 200, N 1000 and 4000).
 *
 * For each N it writes a state file holding N pending changes (the
 * version 1 format, so every version of approval.c can read it), opens it,
 * times REPS further approvals_require() calls that each create a pending
 * change, and the approvals_free() after them.  Per call it prints the
 * mean (what the gateway pays on average, journal compactions included),
 * the median and the slowest call.  Only the public API is used, so the
 * same file links against an older libeppgw.a for a before/after figure.
 * `make bench` runs it with DIR the build directory.
 *
 * fdatasync dominates, so DIR must be on the disk the gateway would use:
 * a tmpfs makes every figure meaningless.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "approval.h"
#include "err.h"

#define T0	1700000000LL

static int64_t
bench_clock(void *arg)
{
	return *(int64_t *)arg;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* Change number i: its digest (the number in the first bytes, so the
 * 12-digit ids differ), its canonical text and its object. */
static void
change_of(unsigned i, uint8_t d[32], char *canonical, size_t clen,
    char *object, size_t olen)
{
	memset(d, 0x5a, 32);
	d[0] = (uint8_t)(i >> 24);
	d[1] = (uint8_t)(i >> 16);
	d[2] = (uint8_t)(i >> 8);
	d[3] = (uint8_t)i;
	snprintf(object, olen, "d%u.example", i);
	snprintf(canonical, clen, "eppgw-change/1\nclid=registrar1\n"
	    "command=domain:update\nobject=%s\nadd.ns=ns1.elsewhere.example\n"
	    "rem.ns=ns1.%s\n", object, object);
}

static void
hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* A version 1 state file with n pending changes. */
static int
write_state(const char *path, unsigned n, int64_t now)
{
	json_t *changes = json_array(), *root;
	char canonical[256], object[64], full[65], req[32];
	uint8_t d[32];
	int rc;

	for (unsigned i = 0; i < n; i++) {
		change_of(i, d, canonical, sizeof(canonical), object,
		    sizeof(object));
		hex(d, 32, full);
		snprintf(req, sizeof(req), "registrar%u", i % 50);
		json_array_append_new(changes, json_pack("{s:s%, s:s, s:s, "
		    "s:s, s:s, s:s, s:I, s:I, s:s}", "id", full, (size_t)12,
		    "digest", full, "canonical", canonical, "object", object,
		    "clid", "registrar1", "requester", req,
		    "created", (json_int_t)now,
		    "expires", (json_int_t)(now + 86400), "state", "pending"));
	}
	root = json_pack("{s:i, s:o, s:[], s:[]}", "version", 1, "changes",
	    changes, "operators", "global_failures");
	if (root == NULL)
		return -1;
	rc = json_dump_file(root, path, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	return rc;
}

static long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int
run(const char *dir, unsigned n, unsigned reps)
{
	struct approval_conf o;
	struct approval_env env;
	struct approvals *a = NULL;
	struct err e = ERR_INIT;
	char path[512], jpath[600], canonical[256], object[64];
	char id[13], approver[APPROVAL_NAME_MAX], req[32];
	const char *reason;
	enum approval_need need;
	double *ms, t, open_ms, free_ms, sum = 0;
	int64_t now = T0;
	uint8_t d[32];
	int rc = -1;

	snprintf(path, sizeof(path), "%s/approval-bench.json", dir);
	snprintf(jpath, sizeof(jpath), "%s.journal", path);
	unlink(path);
	unlink(jpath);
	if ((ms = calloc(reps, sizeof(*ms))) == NULL)
		return -1;
	if (write_state(path, n, now) == -1) {
		fprintf(stderr, "%s: cannot write\n", path);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.state_path = path;
	o.max_pending = n + reps + 1;
	o.max_pending_requester = n + reps + 1;
	memset(&env, 0, sizeof(env));
	env.clock = bench_clock;
	env.clock_arg = &now;
	t = now_ms();
	if (approvals_open(&o, &env, NULL, &a, &e) == -1) {
		fprintf(stderr, "%s\n", err_msg(&e));
		goto out;
	}
	open_ms = now_ms() - t;
	for (unsigned r = 0; r < reps; r++) {
		change_of(n + r, d, canonical, sizeof(canonical), object,
		    sizeof(object));
		snprintf(req, sizeof(req), "registrar%u", r % 50);
		t = now_ms();
		if (approvals_require(a, d, canonical, object, "registrar1",
		    req, &need, id, &reason, approver) == -1 ||
		    need != NEED_APPROVAL || id[0] == '\0') {
			fprintf(stderr, "call %u failed: %s\n", r, reason);
			goto out;
		}
		ms[r] = now_ms() - t;
		sum += ms[r];
	}
	qsort(ms, reps, sizeof(*ms), cmp_double);
	printf("%5u pending: %7.3f ms mean, %7.3f median, %7.3f max per new "
	    "change; open %.1f ms; files %ld + %ld bytes", n, sum / reps,
	    ms[reps / 2], ms[reps - 1], open_ms, file_size(path),
	    file_size(jpath));
	t = now_ms();
	approvals_free(a);
	a = NULL;
	free_ms = now_ms() - t;
	printf("; close %.1f ms\n", free_ms);
	rc = 0;
 out:
	approvals_free(a);
	free(ms);
	unlink(path);
	unlink(jpath);
	return rc;
}

int
main(int argc, char *argv[])
{
	const char *dir = ".";
	unsigned reps = 200;
	int ch, rc = 0;

	while ((ch = getopt(argc, argv, "d:r:")) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'r':
			reps = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: approval-bench [-d DIR] "
			    "[-r REPS] [N ...]\n");
			return 2;
		}
	}
	if (reps == 0)
		reps = 1;
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		rc |= run(dir, 1000, reps);
		rc |= run(dir, 4000, reps);
	}
	for (int i = 0; i < argc; i++)
		rc |= run(dir, (unsigned)strtoul(argv[i], NULL, 10), reps);
	return rc == 0 ? 0 : 1;
}
